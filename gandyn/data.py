"""MNIST (LeCun, Cortes & Burges 1998) from its four standard IDX files.

Where the files are looked for, in order:

1. ``data_dir`` (the CLI's ``--data-dir``),
2. the environment variable ``GANDYN_DATA``,
3. the user cache folder ``$XDG_CACHE_HOME/gandyn/mnist`` (default ``~/.cache/gandyn/mnist``).

Each file may be gzipped (``train-images-idx3-ubyte.gz``) or raw
(``train-images-idx3-ubyte``). If a file is in none of these folders it is
downloaded into the first of them that is set (``data_dir``, else
``GANDYN_DATA``, else the cache) from a list of public mirrors, with a progress
bar; the download is streamed into a temporary file, its SHA-256 checked, and
only then renamed into place, so an interrupted or corrupted download never
leaves a file behind.

How a file is checked before use (a file that fails any check is never used;
the error names it):

- a gzipped file must have the known SHA-256 of the canonical ``.gz`` file;
- a raw file must have the known SHA-256 of the canonical file's decompressed
  bytes (digests computed once from the canonical files and recorded in
  :data:`FILES`), so a raw copy is held to the same standard as a gzipped one;
- either way the IDX header is parsed: magic number ``0x0803`` (unsigned bytes,
  3 dimensions) for images, ``0x0801`` for labels, the dimensions
  ``(N, 28, 28)`` / ``(N,)`` as expected, and exactly ``prod(dims)`` bytes of
  data (a truncated or padded file is rejected);
- labels must be digits 0-9 and the image and label counts must agree.

IDX format: http://yann.lecun.com/exdb/mnist/ ("FILE FORMATS FOR THE MNIST
DATABASE"): two zero bytes, a type code (``0x08`` = unsigned byte), the number
of dimensions, then each dimension as a big-endian 32-bit integer, then the data.

Images stay ``uint8``; :class:`EpochSampler` serves them in reshuffled epochs and converts
each minibatch to float32 in [0, 1].
"""
from __future__ import annotations

import gzip
import hashlib
import os
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from gandyn.io import atomic_path

__all__ = [
    "load_mnist", "read_idx", "parse_idx", "IdxFile", "FILES", "MIRRORS",
    "search_dirs", "cache_dir", "find_file", "fetch", "locate", "EpochSampler",
]

#: Public MNIST mirrors, tried in order. Each serves the four ``.gz`` files under
#: their standard names. (The first two are the ones torchvision and TensorFlow use.)
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

SPLITS = ("train", "test")


@dataclass(frozen=True)
class IdxFile:
    """One IDX file: its standard name (without ``.gz``), the array shape it must
    hold, and the SHA-256 of the gzipped file and of its decompressed bytes."""

    name: str
    shape: tuple[int, ...]
    gz_sha256: str
    raw_sha256: str


#: The four canonical files, by ``(split, kind)``. ``gz_sha256`` as listed for the
#: canonical ``.gz`` files; ``raw_sha256`` is the SHA-256 of their decompressed bytes.
FILES: dict[tuple[str, str], IdxFile] = {(split, kind): IdxFile(name, shape, gz, raw) for split, kind, name, shape, gz, raw in (
    ("train", "images", "train-images-idx3-ubyte", (60000, 28, 28), "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    ("train", "labels", "train-labels-idx1-ubyte", (60000,), "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    ("test", "images", "t10k-images-idx3-ubyte", (10000, 28, 28), "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    ("test", "labels", "t10k-labels-idx1-ubyte", (10000,), "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
)}

_CHUNK = 1 << 16


# --- parsing


def parse_idx(buf: bytes, shape: tuple[int, ...] | None = None, where: str = "IDX data") -> np.ndarray:
    """Parse an IDX buffer of unsigned bytes into a uint8 array.

    Parameters
    ----------
    buf : bytes
        The whole (decompressed) file.
    shape : tuple of int, optional
        The dimensions the header must declare; ``None`` accepts any.
    where : str
        Named in error messages (usually the file path).

    Raises
    ------
    ValueError
        Wrong magic number, unexpected dimensions, or a data length that is not
        exactly ``prod(dims)`` bytes (truncated or padded file).

    Examples
    --------
    >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
    array([7, 8, 9], dtype=uint8)
    """
    if len(buf) < 4:
        raise ValueError(f"{where}: too short for an IDX header ({len(buf)} bytes)")
    zero, code, ndim = buf[0:2], buf[2], buf[3]
    if zero != b"\x00\x00" or code != 0x08 or ndim < 1:
        magic = int.from_bytes(buf[0:4], "big")
        want = "" if shape is None else f" (expected 0x{0x0800 + len(shape):08x})"
        raise ValueError(f"{where}: bad magic number 0x{magic:08x}{want}; not an IDX file of unsigned bytes")
    if shape is not None and ndim != len(shape):
        raise ValueError(f"{where}: IDX file has {ndim} dimensions, expected {len(shape)}")
    head = 4 + 4 * ndim
    if len(buf) < head:
        raise ValueError(f"{where}: truncated IDX header")
    dims = tuple(int.from_bytes(buf[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if shape is not None and dims != tuple(shape):
        raise ValueError(f"{where}: IDX dimensions {dims}, expected {tuple(shape)}")
    n = prod(dims)
    if len(buf) - head != n:
        kind = "truncated" if len(buf) - head < n else "has trailing bytes"
        raise ValueError(f"{where}: {kind}: {len(buf) - head} data bytes, header declares {n}")
    return np.frombuffer(buf, dtype=np.uint8, offset=head).reshape(dims).copy()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_idx(path, spec: IdxFile | None = None) -> np.ndarray:
    """Read and check one IDX file, gzipped (name ends in ``.gz``) or raw.

    With ``spec`` the file must have the spec's SHA-256 (of the ``.gz`` file, or
    of the raw bytes for a raw file) and shape; without it only the IDX
    structure is checked. Any failure is a ValueError naming the file.
    """
    path = Path(path)
    data = path.read_bytes()
    gz = path.suffix == ".gz"
    if spec is not None:
        want = spec.gz_sha256 if gz else spec.raw_sha256
        got = _sha256(data)
        if got != want:
            raise ValueError(f"{path}: SHA-256 {got[:16]}... does not match the known "
                             f"{want[:16]}... (corrupt or not the canonical file); delete or replace it")
    if gz:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"{path}: not a valid gzip file ({e})") from None
    return parse_idx(data, None if spec is None else spec.shape, where=str(path))


# --- where the files live


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/gandyn/mnist``, or ``~/.cache/gandyn/mnist`` when unset."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gandyn" / "mnist"


def search_dirs(data_dir=None) -> list[Path]:
    """The folders searched, in order: ``data_dir``, ``$GANDYN_DATA``, the cache."""
    dirs = [Path(data_dir)] if data_dir else []
    env = os.environ.get("GANDYN_DATA")
    if env:
        dirs.append(Path(env))
    dirs.append(cache_dir())
    return dirs


def find_file(spec: IdxFile, dirs: Iterable[Path]) -> Path | None:
    """The first ``name.gz`` or ``name`` found in ``dirs`` (in order), or None."""
    for d in dirs:
        for fname in (spec.name + ".gz", spec.name):
            p = Path(d) / fname
            if p.is_file():
                return p
    return None


# --- download


def fetch(spec: IdxFile, dest_dir, mirrors: Iterable[str] = MIRRORS, progress: bool = True,
             timeout: float = 30.0) -> Path:
    """Fetch ``spec.name + '.gz'`` into ``dest_dir`` from the first mirror that
    serves it with the right SHA-256; written atomically (temporary file, hash
    checked, then renamed). Raises OSError when no mirror delivers a good copy."""
    from tqdm.auto import tqdm

    fname = spec.name + ".gz"
    dest = Path(dest_dir) / fname
    errors = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + fname
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp, atomic_path(dest) as tmp:
                total = resp.headers.get("Content-Length")
                h = hashlib.sha256()
                with open(tmp, "wb") as f, tqdm(total=int(total) if total else None, unit="B",
                                                unit_scale=True, desc=fname, disable=not progress) as bar:
                    while chunk := resp.read(_CHUNK):
                        f.write(chunk)
                        h.update(chunk)
                        bar.update(len(chunk))
                if h.hexdigest() != spec.gz_sha256:
                    raise _BadDownload(f"{url}: SHA-256 mismatch")
            return dest
        except _BadDownload as e:
            errors.append(str(e))
        except (urllib.error.URLError, OSError, ValueError) as e:
            errors.append(f"{url}: {getattr(e, 'reason', None) or e}")
    raise OSError("; ".join(errors) or "no mirrors given")


class _BadDownload(Exception):
    pass


# --- the loader


def locate(spec: IdxFile, dirs: list[Path], download: bool = True, progress: bool = True, *,
           mirrors: Iterable[str] = MIRRORS, timeout: float = 30.0) -> Path:
    """The path of the file ``spec``: found in ``dirs`` (:func:`find_file`), else fetched
    into ``dirs[0]`` (:func:`fetch`) when ``download``.

    Raises
    ------
    FileNotFoundError
        Missing and not downloaded (one line saying where to put it).
    """
    path = find_file(spec, dirs)
    if path is None:
        if not download:
            raise FileNotFoundError(_missing(spec, dirs, "downloads disabled"))
        try:
            path = fetch(spec, dirs[0], mirrors, progress, timeout)
        except OSError as e:
            raise FileNotFoundError(_missing(spec, dirs, f"download failed: {e}")) from None
    return path


def load_mnist(split: str = "train", data_dir=None, download: bool = True, progress: bool = True,
               *, mirrors: Iterable[str] = MIRRORS, files: Mapping[tuple[str, str], IdxFile] = FILES,
               timeout: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """MNIST images and labels of one split.

    Parameters
    ----------
    split : {'train', 'test'}
        60,000 training or 10,000 test digits.
    data_dir : path, optional
        Searched first (then ``$GANDYN_DATA``, then the cache folder, see the
        module docstring); downloads go here when given.
    download : bool
        Fetch missing files from :data:`MIRRORS`; when false a missing file is an error.
    progress : bool
        Show a download progress bar.
    mirrors, files, timeout
        Mirror URLs, expected files and digests, and the per-request timeout
        (injectable for tests).

    Returns
    -------
    images : uint8 array (N, 784)
        Row-major 28x28 pixels, 0 = background, 255 = ink.
    labels : uint8 array (N,)
        Digits 0-9.

    Raises
    ------
    ValueError
        Bad ``split``, or a found file that fails a check (the message names it).
    FileNotFoundError
        A file is missing and could not be downloaded (one line saying where to put it).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    dirs = search_dirs(data_dir)
    out = {}
    for kind in ("images", "labels"):
        spec = files[(split, kind)]
        out[kind] = read_idx(locate(spec, dirs, download, progress, mirrors=mirrors, timeout=timeout), spec)
    images, labels = out["images"], out["labels"]
    if len(images) != len(labels):
        raise ValueError(f"MNIST {split}: {len(images)} images but {len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise ValueError(f"MNIST {split}: labels must be digits 0-9, found {int(labels.max())}")
    return images.reshape(len(images), -1), labels


def _missing(spec: IdxFile, dirs: list[Path], why: str) -> str:
    return (f"MNIST file {spec.name}.gz not found in {', '.join(str(d) for d in dirs)} ({why}); "
            f"put the four MNIST files (gzipped or raw) in {dirs[0]}, or pass --data-dir / set GANDYN_DATA")


class EpochSampler:
    """Minibatches in reshuffled epochs, as TensorFlow's MNIST ``DataSet.next_batch``
    (``tensorflow/contrib/learn/python/learn/datasets/mnist.py``) serves the talk's
    code: a permutation of the images per epoch, consecutive slices of it, and a
    batch that crosses an epoch's end takes the rest of the old epoch followed by
    the start of a new permutation. Returns float32 pixels in [0, 1].

    Its state (the permutation and the position in it) goes into checkpoints.
    """

    def __init__(self, images: np.ndarray):
        if images.dtype != np.uint8 or images.ndim != 2:
            raise ValueError(f"images must be a uint8 array (N, d), got {images.dtype} {images.shape}")
        self.images = images
        self.perm: np.ndarray | None = None
        self.pos = 0
        self._scale = np.float32(1 / 255)

    def indices(self, rng: np.random.Generator, m: int) -> np.ndarray:
        n = len(self.images)
        if m > n:
            raise ValueError(f"batch {m} exceeds the {n} training images")
        if self.perm is None:
            self.perm, self.pos = rng.permutation(n), 0
        end = self.pos + m
        if end <= n:
            idx = self.perm[self.pos:end]
            self.pos = end
            return idx
        rest = self.perm[self.pos:]
        self.perm = rng.permutation(n)
        self.pos = m - len(rest)
        return np.concatenate([rest, self.perm[:self.pos]])

    def __call__(self, rng: np.random.Generator, m: int, out: np.ndarray | None = None) -> np.ndarray:
        x = np.take(self.images, self.indices(rng, m), axis=0)
        return np.multiply(x, self._scale, out=out, dtype=np.float32)
