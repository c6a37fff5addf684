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

__all__ = ["atomic_path", "write_text", "write_json", "write_csv", "ensure_dir", "check_dir_path", "remove_stale_temps",
           "output_folder", "incomplete_by", "check_same_config", "first_difference", "write_run_record",
           "remove_run_record", "check_memory", "available_memory", "format_bytes", "MANIFEST", "INCOMPLETE",
           "RUN_RECORD"]

#: Written last into a command's output folder: the files of the run that completed.
MANIFEST = "manifest.json"
#: Present in an output folder while a command writes into it (and after it was killed).
INCOMPLETE = "INCOMPLETE"


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


def ensure_dir(path) -> Path:
    """Create the output folder; a file in its place is an error naming it."""
    path = check_dir_path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_dir_path(path) -> Path:
    """``path`` as a Path, after checking that it could be a folder (no file is in the
    way of it or of a parent); creates nothing."""
    path = Path(path)
    for p in (path, *path.parents):
        if p.exists() and not p.is_dir():
            raise ValueError(f"--out {path}: {p} exists and is not a directory")
    return path


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


@contextlib.contextmanager
def output_folder(path, command: str) -> Iterator[Path]:
    """The output folder of a command that writes several files, complete or visibly not.

    While the command runs the folder holds a file :data:`INCOMPLETE` (which stays if
    the process is killed: the folder may then mix new and earlier outputs); the
    :data:`MANIFEST` of an earlier run is removed first. On success the manifest
    (the files written, with their sizes) is written last and the marker removed.
    On an error the marker stays, unless the folder was created here and nothing
    else was written: then the folder is removed again. Stale temporary files of
    the written names (from a killed earlier run) are removed at the end.

    Yields the folder. The manifest lists the files (not hidden) written into the
    folder after the marker.
    """
    from gandyn.errors import UsageError, begin_work

    path = Path(path)
    existed = path.exists()
    other = incomplete_by(path)
    if other is not None and other != command:
        raise UsageError(f"--out {path}: the folder is marked {INCOMPLETE} by `gandyn {other}`, stopped before it "
                         f"finished; give another folder, or finish or delete that run")
    out = ensure_dir(path)
    begin_work()
    marker = out / INCOMPLETE
    try:
        write_text(marker, f"gandyn {command} is writing into this folder, or was stopped before it finished: "
                           f"its files may mix this run's outputs and earlier ones. {MANIFEST} lists the files "
                           "of a run that completed.\n")
        (out / MANIFEST).unlink(missing_ok=True)
    except BaseException:
        remove_if_empty(out, existed, marker)
        raise
    try:
        yield out
    except BaseException:
        remove_if_empty(out, existed, marker)
        raise
    written = sorted(p.name for p in out.iterdir()
                     if p.is_file() and not p.name.startswith(".") and p.name not in (INCOMPLETE, MANIFEST)
                     and p.stat().st_mtime_ns >= marker.stat().st_mtime_ns)
    remove_stale_temps(out, written)
    write_json(out / MANIFEST, {"command": command, "complete": True,
                                "files": {n: (out / n).stat().st_size for n in written}})
    marker.unlink(missing_ok=True)


def incomplete_by(path) -> str | None:
    """The command that marked the folder ``path`` :data:`INCOMPLETE` (read from the
    marker's first words, ``gandyn COMMAND is writing ...``), or None when the folder is
    not so marked."""
    marker = Path(path) / INCOMPLETE
    try:
        text = marker.read_text()
    except (OSError, UnicodeDecodeError):
        return None
    head = text.split(" is writing into this folder", 1)[0]
    return head.removeprefix("gandyn ").strip() if head.startswith("gandyn ") and head != text else "?"


def check_same_config(path, name: str, config: dict, command: str) -> None:
    """Refuse to continue into the folder ``path`` a run of another configuration: when
    ``path/name`` exists and holds a JSON object whose ``config`` differs from ``config``
    (compared after a JSON round trip), a :class:`~gandyn.errors.UsageError` names the
    first differing field. A missing file is no objection.
    """
    from gandyn.errors import UsageError

    f = Path(path) / name
    if not f.is_file():
        return
    try:
        old = json.loads(f.read_text()).get("config")
    except (OSError, ValueError, AttributeError):
        raise UsageError(f"--out {path}: {f.name} is not a run record of `gandyn {command}`; "
                         "give another folder") from None
    new = json.loads(json.dumps(config))
    if old == new:
        return
    field = first_difference(old, new)
    raise UsageError(f"--out {path} holds a run of `gandyn {command}` with another configuration (first difference: "
                     f"{field}); give another folder, or the same options to continue that run")


#: The record of a run (``{"command", "config"}``) kept in the folder of its partial results
#: (finished shards or checkpoints), so that a rerun can tell whether it continues the same run
#: (:func:`check_same_config`).
RUN_RECORD = "run.json"


def write_run_record(folder, command: str, config) -> None:
    """Write ``folder/RUN_RECORD`` for ``gandyn command`` with ``config`` (JSON-able), unless
    it is there: a run calls it before it keeps its first partial result in ``folder``."""
    folder = Path(folder)
    if not (folder / RUN_RECORD).exists():
        write_json(folder / RUN_RECORD, {"command": command, "config": config})


def remove_run_record(folder) -> None:
    """Remove ``folder/RUN_RECORD``, then ``folder`` if it is empty: the run completed, its
    partial results are in its outputs (the caller removed them first)."""
    folder = Path(folder)
    (folder / RUN_RECORD).unlink(missing_ok=True)
    try:
        folder.rmdir()
    except OSError:
        pass


def first_difference(a, b, where: str = "") -> str:
    """The first place (``key``, ``key.sub``, ``key[i]``) where two JSON values differ,
    with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in [*a, *(k for k in b if k not in a)]:
            if k not in a or k not in b or a[k] != b[k]:
                if k in a and k in b:
                    return first_difference(a[k], b[k], f"{where}.{k}" if where else str(k))
                return f"{where + '.' if where else ''}{k}: {a.get(k, '(none)')!r} there, {b.get(k, '(none)')!r} here"
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_difference(x, y, f"{where}[{i}]")
    return f"{where or 'config'}: {a!r} there, {b!r} here"


def remove_if_empty(out: Path, existed: bool, marker: Path | None = None) -> None:
    """Remove the folder ``out`` again if this run created it (``existed`` false) and wrote
    nothing into it but ``marker``, so that a failed command leaves no empty output folder."""
    out = Path(out)
    if existed or not out.is_dir() or any(marker is None or p.name != marker.name for p in out.iterdir()):
        return  # an earlier folder, or files were written: the marker stays
    if marker is not None:
        marker.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        out.rmdir()


def available_memory() -> int | None:
    """Bytes of memory this process may use: the physical memory (``MemAvailable``
    on Linux when readable), or None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"  # pragma: no cover


def check_memory(nbytes: float, what: str) -> None:
    """Refuse up front (``ValueError`` naming ``what`` and the sizes) work whose arrays
    need more than the available memory."""
    avail = available_memory()
    if avail is not None and nbytes > avail:
        raise ValueError(f"{what} needs about {format_bytes(nbytes)} of memory, more than the "
                         f"{format_bytes(avail)} available")
