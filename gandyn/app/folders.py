"""The contracts of a command's output folder: written whole or visibly not.

A command that writes several files opens its folder with :func:`output_folder`: a marker
:data:`INCOMPLETE` while it writes (it stays if the process is killed), the
:data:`MANIFEST` of the files written last. A run that keeps partial results (finished
shards, checkpoints) keeps its configuration next to them in :data:`RUN_RECORD`, so that a
rerun into the same folder continues it only with the same configuration
(:func:`check_same_run`).
"""
from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path
from typing import Iterator

from gandyn.errors import UsageError, begin_work
from gandyn.io import remove_stale_temps, write_json, write_text

__all__ = ["ensure_dir", "check_dir_path", "output_folder", "incomplete_by", "first_difference", "write_run_record",
           "check_same_run", "MANIFEST", "INCOMPLETE", "RUN_RECORD"]

#: Written last into a command's output folder: the files of the run that completed.
MANIFEST = "manifest.json"
#: Present in an output folder while a command writes into it (and after it was killed).
INCOMPLETE = "INCOMPLETE"


def ensure_dir(path) -> Path:
    """Create the output folder; a file in its place is an error naming it."""
    path = Path(path)
    _make(path)
    return path


def _make(path: Path) -> list[Path]:
    """Make the folder ``path`` with its parents, and return the folders made, innermost first;
    a one-line :class:`~gandyn.errors.UsageError` when a file (or dangling link) stands where it or
    a parent would be, or the folder cannot be made."""
    try:
        for p in (path, *path.parents):
            if p.is_symlink() and not p.exists():
                raise UsageError(f"--out {path}: {p} is a symbolic link to nothing")
            if p.exists() and not p.is_dir():
                raise UsageError(f"--out {path}: {p} exists and is not a directory")
        full = Path(os.path.abspath(path))  # '..' resolved: the folders this call makes
        made = [p for p in (full, *full.parents) if not p.exists()]
        for attempt in range(3):  # a concurrent probe may remove a parent between two of mkdir's steps
            try:
                full.mkdir(parents=True, exist_ok=True)
                return made
            except FileNotFoundError:
                if attempt == 2:
                    raise
    except OSError as e:
        raise UsageError(f"--out {path}: the folder cannot be made ({e.strerror or e})") from None


def check_dir_path(path) -> Path:
    """``path`` as a Path, after checking that it could be a folder: no file is in the way of
    it or of a parent, and a missing folder can be made (made and removed again; a folder
    another process has put something into meanwhile stays). Raises a one-line
    :class:`~gandyn.errors.UsageError` naming the problem; nothing is left."""
    path = Path(path)
    for p in _make(path):  # innermost first; one in use by another process stays, and so do its parents
        try:
            p.rmdir()
        except OSError:
            break
    return path


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
    existed = Path(path).exists()
    if (other := incomplete_by(path)) not in (None, command):
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
        yield out
    except BaseException:  # a folder created here that holds nothing but the marker is removed again
        if not existed and {p.name for p in out.iterdir()} <= {INCOMPLETE}:
            marker.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # a file written meanwhile keeps the folder
                out.rmdir()
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
    try:
        text = (Path(path) / INCOMPLETE).read_text()
    except (OSError, UnicodeDecodeError):
        return None
    m = re.match(r"gandyn (.*?) is writing into this folder", text, re.S)
    return m.group(1).strip() if m else "?"


#: The record of a run (``{"command", "config"}``) kept in the folder of its partial results
#: (finished shards or checkpoints), so that a rerun can tell whether it continues the same run
#: (:func:`check_same_run`).
RUN_RECORD = "run.json"


def write_run_record(folder, command: str, config) -> None:
    """Write ``folder/RUN_RECORD`` for ``gandyn command`` with ``config`` (JSON-able), unless
    it is there: a run calls it before it keeps its first partial result in ``folder``."""
    if not (record := Path(folder) / RUN_RECORD).exists():
        write_json(record, {"command": command, "config": config})


def check_same_run(out, command: str, config, partial: str, final: str = RUN_RECORD) -> None:
    """Refuse the output folder ``out`` when it holds a run of ``gandyn command`` with another
    configuration than ``config`` (compared after a JSON round trip): a stopped run, by the record
    of its partial results (``out/partial/``:data:`RUN_RECORD`), or a finished one, by the JSON
    object of its file ``out/final``, each with a ``config``. A
    :class:`~gandyn.errors.UsageError` names the first differing field (:func:`first_difference`),
    or a record that is not one; missing files are no objection."""
    new = json.loads(json.dumps(config))
    for f in (Path(out) / partial / RUN_RECORD, Path(out) / final):
        if not f.is_file():
            continue
        try:
            old = json.loads(f.read_text()).get("config")
        except (OSError, ValueError, AttributeError):
            raise UsageError(f"--out {out}: {f.name} is not a run record of `gandyn {command}`; "
                             "give another folder") from None
        if old != new:
            raise UsageError(f"--out {out} holds a run of `gandyn {command}` with another configuration (first "
                             f"difference: {first_difference(old, new)}); give another folder, or the same options "
                             "to continue that run")


def first_difference(a, b, where: str = "") -> str:
    """The first place (``key``, ``key.sub``, ``key[i]``) where two JSON values differ,
    with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in [*a, *(k for k in b if k not in a)]:
            if k not in a or k not in b or a[k] != b[k]:  # a missing value shows as '(none)'
                return first_difference(a.get(k, "(none)"), b.get(k, "(none)"), f"{where}.{k}" if where else str(k))
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_difference(x, y, f"{where}[{i}]")
    return f"{where or 'config'}: {a!r} there, {b!r} here"
