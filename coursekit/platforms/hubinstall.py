"""What the hub demo installs: the proxy (npm, the version hub/package.json pins), the users' Python environment
(the pinned requirements and this kit) and MathJax where the accounts can read it."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from coursekit.platforms.hubaccounts import check_reachable, reachable
from coursekit.platforms.hublayout import HUB_FILES, MATHJAX_MODULES, REPO, SYSTEM_PYTHON, TEST_ONLY_PACKAGES, HubError


# --- the proxy (npm) --------------------------------------------------------------------------------

def install_proxy(layout, log=print):
    """configurable-http-proxy at the pinned version, installed with npm into the state folder."""
    binary = layout.proxy_dir / "node_modules" / ".bin" / "configurable-http-proxy"
    wanted = json.loads((HUB_FILES / "package.json").read_text())["dependencies"]["configurable-http-proxy"]
    if binary.exists() and _proxy_version(binary) == wanted:
        return binary
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            raise HubError(f"{tool} is missing: JupyterHub's proxy runs on nodejs (Debian: apt-get install nodejs npm).")
    layout.proxy_dir.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(HUB_FILES / name, layout.proxy_dir / name)
    log(f"Installing configurable-http-proxy {wanted} from the npm registry into {layout.proxy_dir} ...")
    done = subprocess.run(["npm", "ci", "--prefix", str(layout.proxy_dir), "--no-audit", "--no-fund",
                           "--loglevel=error"], capture_output=True, text=True)
    if done.returncode != 0 or _proxy_version(binary) != wanted:
        raise HubError(f"npm could not install configurable-http-proxy {wanted}:\n{done.stdout}{done.stderr}")
    return binary


def _proxy_version(binary):
    try:
        return subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None


# --- the users' Python environment ------------------------------------------------------------------
#
# Every user's server runs from an environment of its own in the state folder: the kit's own .venv may
# sit on an interpreter other accounts cannot run (e.g. under /root/.pyenv), and it is an editable install
# of the repository. The users' environment has requirements.txt's pins (without the test tools) and a
# copy of the kit (isograde, coursekit), reinstalled at each start, that the instructor grades with.

def users_python():
    """An interpreter every account may run: this one's base if others can reach it, else Debian's."""
    base = Path(sys._base_executable).resolve()
    if reachable(base) and reachable(Path(sys.base_prefix).resolve()):
        return base
    if Path(SYSTEM_PYTHON).exists():
        return Path(SYSTEM_PYTHON)
    raise HubError(f"no Python that the demo's accounts may run: {base} is in a folder only root enters, and "
                   f"{SYSTEM_PYTHON} is missing (Debian: apt-get install python3 python3-venv).")


def users_requirements():
    lines = []
    for line in (REPO / "requirements.txt").read_text().splitlines():
        name = line.split("==")[0].split("[")[0].strip().lower()
        if line.strip() and not line.lstrip().startswith("#") and name not in TEST_ONLY_PACKAGES:
            lines.append(line.strip())
    return "\n".join(lines) + "\n"


def install_users_env(layout, log=print):
    """Create (once per requirements) the users' environment; reinstall the kit into it. Returns its bin/."""
    env, wanted = layout.env_dir, users_requirements()
    stamp = env / "coursekit-requirements.txt"
    pip = [str(env / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    if not stamp.exists() or stamp.read_text() != wanted:
        if not (env / "bin" / "python").exists():
            python = users_python()
            log(f"Creating the users' Python environment in {env} (from {python}; a few minutes) ...")
            _run_or_fail([str(python), "-m", "venv", str(env)],
                         "cannot create the users' environment (Debian: apt-get install python3-venv)")
        else:
            log(f"Updating the users' Python environment in {env} to requirements.txt ...")
        requirements = env / "requirements.txt"
        requirements.write_text(wanted)
        _run_or_fail(pip + ["-r", str(requirements)], "pip could not install the users' environment")
        stamp.write_text(wanted)
    kit_stamp, kit = env / "coursekit-kit.sha256", kit_digest()
    if not kit_stamp.exists() or kit_stamp.read_text() != kit:
        _run_or_fail(pip + ["--no-deps", "--force-reinstall", "--no-cache-dir", str(REPO)],
                     "pip could not install the kit into the users' environment", cwd=layout.cache)
        kit_stamp.write_text(kit)
    return env / "bin"


def kit_digest():
    """A digest of the kit's packages as they are now (the users' copy is reinstalled when it changes)."""
    digest = hashlib.sha256()
    templates = [path for path in REPO.glob("coursekit/templates/**/*") if path.is_file()]  # the formgrader's page
    for path in sorted([REPO / "pyproject.toml", *REPO.glob("coursekit/**/*.py"), *REPO.glob("isograde/**/*.py"),
                        *templates]):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _run_or_fail(command, what, cwd=None):
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    if done.returncode != 0:
        raise HubError(f"{what}: `{' '.join(command)}` failed:\n" + "\n".join((done.stdout + done.stderr).splitlines()[-15:]))


def users_mathjax(layout, log=print):
    """The node_modules holding MathJax for the instructor's feedback pages: the checkout's when the demo's
    accounts can reach it, else (a checkout in a folder only its owner enters: a home folder, a private
    temporary folder) a copy in the cache, refreshed when npm's record of the installed packages changes."""
    if not (MATHJAX_MODULES / "mathjax-full" / "package.json").is_file():
        raise HubError(f"MathJax is not installed in {MATHJAX_MODULES} (feedback pages need it): run `make` first.")
    if reachable(MATHJAX_MODULES):
        return MATHJAX_MODULES
    copy, record = layout.cache / "node_modules", ".package-lock.json"  # npm's record of what it installed
    wanted = (MATHJAX_MODULES / record).read_bytes() if (MATHJAX_MODULES / record).is_file() else None
    if wanted is None or not (copy / record).is_file() or (copy / record).read_bytes() != wanted:
        log(f"Copying MathJax into {copy} (the demo's accounts cannot reach {MATHJAX_MODULES}) ...")
        partial = layout.cache / "node_modules.partial"
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(MATHJAX_MODULES, partial, symlinks=True)
        for root, folders, files in os.walk(partial):
            os.chmod(root, 0o755)
            for name in files:
                path = os.path.join(root, name)
                if not os.path.islink(path):
                    os.chmod(path, os.stat(path).st_mode | 0o444)
        shutil.rmtree(copy, ignore_errors=True)
        os.replace(partial, copy)
    check_reachable(copy, "MathJax for the feedback pages")
    return copy
