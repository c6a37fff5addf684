"""Files written whole or not at all: write to a temporary file in the target's
folder, then ``os.replace`` it into place (atomic on POSIX), so an interrupted
run never leaves a half-written figure, table or checkpoint."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path", "write_text", "write_json", "write_csv", "remove_stale_temps"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it to ``path``,
    on error delete it. The temporary keeps ``path``'s suffix, so writers that
    infer a format from the extension (matplotlib, numpy) still work."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"cannot write {path}: it is a directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        try:
            yield tmp
        except OSError as e:
            if e.filename is not None or not e.strerror:
                raise
            # name the file whose writing failed (a full disk names no file)
            raise type(e)(e.errno, f"cannot write {path}: {e.strerror}") from None
        # mkstemp creates mode 0600; give the file the mode a plain open() would
        os.chmod(tmp, 0o666 & ~_umask())
        with open(tmp, "rb+") as f:  # on disk before the rename, so a crash never leaves it empty
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json(path, obj) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_csv(path, rows) -> Path:
    """A table (a list of dicts) as CSV, atomically. The header is the union of the
    rows' keys in order of appearance; lists and dicts are written as JSON."""
    import csv
    import io

    keys: list = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n", restval="")
    w.writeheader()
    for r in rows:
        w.writerow({k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in r.items()})
    return write_text(path, buf.getvalue())


_TEMP_TAIL = r"\.[A-Za-z0-9_]{8}"  # tempfile.mkstemp's random part


def remove_stale_temps(folder, names) -> list[Path]:
    """Delete the hidden temporary files :func:`atomic_path` leaves behind when a process
    is killed mid-write (``.checkpoint.ab12cd_3.npz`` for ``checkpoint.npz``), for each
    final file name in ``names``; a name may hold a glob ``*`` (``iter_*.png``). Only
    files of exactly that naming pattern are touched. Returns the deleted paths."""
    import fnmatch
    import re

    folder = Path(folder)
    if not folder.is_dir():
        return []
    pats = []
    for name in names:
        p = Path(name)
        stem = fnmatch.translate(p.stem).removeprefix("(?s:").removesuffix(")\\Z")
        pats.append(re.compile(r"\." + stem + _TEMP_TAIL + re.escape(p.suffix) + r"\Z"))
    gone = []
    for f in folder.iterdir():
        if f.name.startswith(".") and any(p.match(f.name) for p in pats) and f.is_file():
            f.unlink(missing_ok=True)
            gone.append(f)
    return gone
