"""A training history in one compact file: named arrays plus a JSON header.

The file is a compressed ``.npz`` (:func:`numpy.savez_compressed`): every
array under its own name, and the metadata (settings, seed, units) as JSON in
the entry ``__meta__``. Written atomically (:mod:`gandyn.io`); read back
exactly, dtypes included, without pickles.

>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "h.npz")
>>> _ = save(path, {"jsd": np.array([0.6, 0.1])}, {"seed": 3})
>>> arrays, meta = load(path)
>>> arrays["jsd"].tolist(), meta
([0.6, 0.1], {'seed': 3})
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import numpy as np

from gandyn.io import atomic_path

__all__ = ["save", "load"]

_META = "__meta__"


def save(path, arrays: Mapping[str, np.ndarray], meta: Mapping | None = None) -> Path:
    """Write ``arrays`` and the JSON-able ``meta`` to ``path`` (``.npz``)."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"history path must end in .npz, got {path}")
    if _META in arrays:
        raise ValueError(f"{_META!r} is reserved for the metadata")
    out = {}
    for name, a in arrays.items():
        a = np.asarray(a)
        if a.dtype == object:
            raise ValueError(f"array {name!r} has dtype object; store numbers or strings")
        out[name] = a
    out[_META] = np.array(json.dumps(dict(meta or {}), sort_keys=True))
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **out)
    return path


def load(path) -> tuple[dict[str, np.ndarray], dict]:
    """Read a history written by :func:`save`: ``(arrays, meta)``."""
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {name: f[name] for name in f.files if name != _META}
            meta = json.loads(str(f[_META])) if _META in f.files else {}
    except (zipfile.BadZipFile, EOFError, KeyError, json.JSONDecodeError) as e:  # truncated or not ours
        raise ValueError(f"{path} is not a readable history file (truncated, or not an .npz written by gandyn: "
                         f"{type(e).__name__})") from None
    return arrays, meta
