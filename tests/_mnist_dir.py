"""Where the tests find the real MNIST files: ``$GANDYN_DATA``, then ``../shared/data/mnist``
beside the clone. Tests that need them skip cleanly when neither folder holds them."""
import os
from pathlib import Path

_FILES = ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte")


def _has_mnist(folder: Path) -> bool:
    return folder.is_dir() and all(
        (folder / f).is_file() or (folder / (f + ".gz")).is_file() for f in _FILES)


def real_mnist_dir() -> Path:
    """The first folder that holds the MNIST IDX files (plain or gzipped)."""
    candidates = []
    if os.environ.get("GANDYN_DATA"):
        candidates.append(Path(os.environ["GANDYN_DATA"]))
    candidates.append(Path(__file__).resolve().parents[2] / "shared/data/mnist")
    for c in candidates:
        if _has_mnist(c):
            return c
    return candidates[-1]


SHARED = real_mnist_dir()
HAVE_MNIST = _has_mnist(SHARED)


def blob_images(n: int = 200, seed: int = 0):
    """``n`` synthetic 'digits': blobs of ink at random places (uint8, (n, 784))."""
    import numpy as np

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:28, :28]
    c = rng.uniform(8, 20, size=(n, 2, 1, 1))
    img = 255 * np.exp(-((yy - c[:, 0]) ** 2 + (xx - c[:, 1]) ** 2) / 18.0)
    return img.reshape(n, 784).astype(np.uint8)
