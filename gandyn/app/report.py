"""The report of ``gandyn reproduce``: the runs behind the results pages in docs/, each
*part* into ``DIR/<part>/``, and one record of the run, written after each part as
``DIR/reproduce.json`` and rendered as ``DIR/index.html`` (:mod:`gandyn.app.html`): every
figure, every table, each check with its bound and whether it holds, the versions, seeds
and wall time of each part.

A part (:data:`PARTS`) is an entry of ``parts.json``: its name, title, docs page,
description, the ``gandyn`` command lines that make it and their settings per profile,
its figures and tables; and the checks read back from its files (:data:`CHECKS`).
:func:`reproduce` runs the command lines with the function it is given (the command
line's own runner), so this layer knows commands only as their words.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import shutil
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Callable

import numpy as np

from gandyn import __version__, history
from gandyn.app.folders import check_dir_path
from gandyn.app.html import SETTINGS, dir_words, held, page
from gandyn.app.machine import THREAD_VARIABLES
from gandyn.experiments.mnist import read_losses
from gandyn.io import write_json, write_text
from gandyn.metrics.intervals import format_pm, mean_se, wilson_interval

#: Marks DIR/reproduce.json as written by this command (an earlier output may be replaced).
MARK = "gandyn reproduce"

#: Tolerance of the closed forms of `gandyn nash` (docs/games.md: all tested to 1e-10).
CLOSED_FORM_TOL = 1e-10

#: A 1D GAN run counts as converged below this final JSD, in nats (`gandyn gan1d --threshold`).
JSD_CONVERGED = 0.1


# --- the checks of each part, read back from its files: (name, value, bound, holds) of a check,
# (name, value) of a measurement


def _gan1d_checks(d):
    a, meta = history.load(d / "history.npz")
    it, jsd, gap = a["it"], a["jsd"], float(np.max(a["v"] - a["c"]))
    return [
        (f"JSD(p_data || p_g) at the last record (iteration {int(it[-1])})", float(jsd[-1]),
         f"< {JSD_CONVERGED:g} nats (converged)", bool(jsd[-1] < JSD_CONVERGED)),
        ("max over records of V(D, G) - C(G) (Prop. 1: C(G) = max over D of V(D, G))", gap, "<= 1e-6", gap <= 1e-6),
        ("JSD at the first record (log 2 = 0.6931 when the supports are disjoint)", float(jsd[0])),
        ("binned JSD at the last record", float(a["jsd_binned"][-1])),
        ("C(G) at the last record (-log 4 = -1.3863)", float(a["c"][-1])),
        ("iterations of panels (a)-(d)", ", ".join(str(int(it[r])) for r in meta["panels"].values())),
    ]


def _sweep_checks(d):
    a, meta = history.load(d / "sweep.npz")
    j, k = a["jsd"], int(np.count_nonzero(a["converged"]))
    lo, hi = wilson_interval(k, j.size)
    return [
        ("every final (binned) JSD finite and in [0, log 2]", f"{j.min():.4g} to {j.max():.4g}",
         "in [0, 0.6931]", bool(np.all(np.isfinite(j)) and j.min() >= 0 and j.max() <= np.log(2) + 1e-6)),
        (f"GANs trained ({len(a['lr_d'])} x {len(a['lr_g'])} step sizes x {len(a['seeds'])} seeds), "
         f"{meta['steps']} steps each", int(j.size)),
        (f"converged (final JSD < {meta['threshold']:g} nats), 95% Wilson interval",
         f"{k / j.size:.1%} [{lo:.1%}, {hi:.1%}]"),
        ("final JSD (nats): median; mean +- s.e.", f"{np.median(j):.4g}; {format_pm(*mean_se(j), '.4g')}"),
        ("wall time of the population (s)", float(meta["wall_seconds"])),
    ]


def _theory_checks(d):
    groups: dict = {}
    for r in json.loads((d / "theory_table.json").read_text())["rows"]:
        if r["bound"] is not None:
            groups.setdefault((r["part"], r["metric"]), []).append(r)
    # (c) is a change of V that must not be positive; the others are errors, bounded in size
    return [(f"({part}) {metric}: max over {len(rows)} rows",
             max(r["value"] if part == "c" else abs(r["value"]) for r in rows), f"<= {rows[0]['bound']:g}",
             all(r["ok"] is True for r in rows)) for (part, metric), rows in groups.items()]


def _nash_checks(d):
    rows, verdicts, summary = (json.loads((d / f).read_text()) for f in ("closed_forms.json", "verdicts.json",
                                                                          "summary.json"))
    tr = summary["talk_claim"]["trained"]
    return [(f"{r['name']} ({r['source']}; {r['cases']} cases): max error", r["error"],
             f"<= {CLOSED_FORM_TOL:g}", r["error"] <= CLOSED_FORM_TOL) for r in rows] + [
        ("points classified (Ratliff-Burden-Sastry verdicts, see verdicts.csv)", len(verdicts)),
        ("differential Nash points among them", sum(bool(v.get("differential_nash")) for v in verdicts)),
        (f"{tr['label']}: max |eig H_GG| / max |eig H_DD|",
         f"{tr['max_abs_eig_HGG']:.4g} / {tr['max_abs_eig_HDD']:.4g}"),
    ]


def _mnist_checks(d):
    losses = read_losses(d / "train" / "losses.csv", finite=False)
    s = json.loads((d / "eval" / "eval.json").read_text())["samples"]
    return [
        ("training losses finite at every iteration", f"{len(losses):,} iterations", "finite",
         bool(np.all(np.isfinite(losses)))),
        (f"Parzen log-likelihood of the test set (nats, {s['n']:,} samples, sigma {s['parzen']['sigma']:.3g})",
         f"{s['parzen']['mean']:.1f} +- {s['parzen']['se']:.1f}"),
        ("Inception score (gandyn's MNIST classifier)",
         f"{s['inception_score']['mean']:.3f} +- {s['inception_score']['std']:.3f}"),
        ("Frechet distance (classifier features)", float(s["fid"]["value"])),
        ("digits covered (of 10)", int(s["modes"]["covered"])),
    ]


#: The checks of each part, ``checks(folder)``: a list of ``(name, value, bound, holds)`` (a check)
#: or ``(name, value)`` (a measurement).
CHECKS = {"gan1d": _gan1d_checks, "sweep": _sweep_checks, "theory": _theory_checks, "nash": _nash_checks,
          "mnist": _mnist_checks}

#: The parts, in the order they run and appear on the page: the entries of ``parts.json``
#: (next to this module), each with its ``checks``. A new capability adds one entry to
#: ``parts.json`` and its checks here.
#:
#: An entry: ``name`` (its folder), ``title``, ``docs``, ``about``; ``commands``, command
#: lines after ``gandyn`` in which ``{out}`` is the part's folder, a word ``{data}`` is
#: ``--data-dir D`` when given, a word ``{options}`` and any other ``{name}`` are taken from
#: ``settings[profile]`` (``full``, ``quick`` or ``tiny``; none if not given); ``figures``
#: and ``tables``, each a ``path`` (relative to the part's folder; a figure's image is
#: shown, a PDF of the same name linked; a table is a CSV or JSON file), a ``caption``,
#: and optionally ``optional`` (a figure written only by some profiles: its absence is no
#: failure) or ``max_rows`` (of a table: the rows shown); ``needs_mnist``.
PARTS: tuple[dict, ...] = tuple({**p, "checks": CHECKS[p["name"]]}
                                for p in json.loads(Path(__file__).with_name("parts.json").read_text()))


def _argv(template: str, out: Path, data_dir, setting: dict) -> list[str]:
    """The words of a command line of ``parts.json`` (see :data:`PARTS`)."""
    lists = {"{data}": ["--data-dir", str(data_dir)] if data_dir else [],
             "{options}": setting.get("options", "").split()}
    return [w for word in template.split()
            for w in (lists[word] if word in lists else [word.format(out=out, **setting)])]


# --- the run


def _check_out(text) -> tuple[Path, bool]:
    """``--out`` as a Path, and whether it holds an earlier output; a one-line
    ValueError (:class:`~gandyn.errors.UsageError`) if it cannot be used (nothing is left here:
    :func:`~gandyn.app.folders.check_dir_path` removes the folders it makes to find out)."""
    if text is None or not str(text).strip():
        raise ValueError("--out must name a folder, got an empty string")
    path, earlier = check_dir_path(text), False
    anchor = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not os.access(anchor, os.W_OK | os.X_OK | (os.R_OK if anchor == path else 0)):  # --out itself: listed below
        raise ValueError(f"--out {path}: cannot write in {anchor} (permission denied)")
    with contextlib.suppress(OSError, ValueError, AttributeError):
        earlier = json.loads((path / "reproduce.json").read_text()).get("written_by") == MARK
    if path.exists() and any(path.iterdir()) and not earlier:
        raise ValueError(f"--out {path}: the folder is not empty and holds no earlier `gandyn reproduce` "
                         "output; choose a new or empty folder")
    return path, earlier


def _mnist_source(data_dir, needed: bool, quiet: bool) -> tuple[bool, str]:
    """Whether the MNIST part can run, and where its data comes from (or why it is skipped).
    With ``data_dir`` (and a part that ``needed`` it) its files are found or downloaded
    now, before any work (:func:`gandyn.data.locate`); a bad ``data_dir`` is a one-line
    ValueError."""
    from gandyn.data import FILES, locate, search_dirs

    if data_dir is not None and (not str(data_dir).strip() or Path(data_dir).exists() and not Path(data_dir).is_dir()):
        raise ValueError(f"--data-dir {str(data_dir)!r}: not a directory")
    dirs = search_dirs(data_dir)
    if data_dir is not None:  # found or downloaded, if a part needs them
        for spec in FILES.values() if needed else ():
            locate(spec, dirs, progress=not quiet)
        return True, f"MNIST from --data-dir {data_dir}"
    try:  # found, not downloaded
        found = [locate(spec, dirs, download=False) for spec in FILES.values()]
    except FileNotFoundError:
        return False, ("the MNIST files are not in " + " or ".join(str(d) for d in dirs)
                       + "; pass --data-dir D to use a folder that holds them (or to download them into it)")
    return True, f"MNIST from {found[0].parent}"


def versions() -> dict:
    try:
        blas = "{name} {version}".format(**np.show_config(mode="dicts")["Build Dependencies"]["blas"])
    except Exception:  # the layout of numpy's build information is not a stable API
        blas = "unknown"
    threads = ", ".join(f"{k}={os.environ[k]}" for k in THREAD_VARIABLES if k in os.environ) or "library default"
    return {"gandyn": __version__, "python": platform.python_version(),
            **{name: version(name) for name in ("numpy", "scipy", "matplotlib", "tqdm")},
            "BLAS": blas, "BLAS threads": threads, "platform": platform.platform(), "cpus": os.cpu_count()}


def reproduce(out, run_command: Callable[[list[str]], int], profile: str = "full", seed: int = 0, data_dir=None,
              quiet: bool = False, parts: tuple[dict, ...] = PARTS) -> int:
    """Run ``parts`` into ``out``/<part>/ and write ``out``/index.html and reproduce.json;
    ``run_command(argv)`` runs one command line (the words after ``gandyn``) in this process
    and returns its exit status (a ``SystemExit`` for a bad command line).
    Returns 0 if every part that ran passed its checks, else 1."""
    if profile not in SETTINGS:
        raise ValueError(f"unknown profile {profile!r}")
    path, earlier = _check_out(out)
    mnist_ok, mnist_note = _mnist_source(data_dir, any(p.get("needs_mnist") for p in parts), quiet)
    words = ["gandyn reproduce", *(["--quick"] if profile == "quick" else []), f"--seed {seed}",
             *(["(smallest settings, as the test suite runs it)"] if profile == "tiny" else []),
             *([f"--data-dir {data_dir}"] if data_dir else []), "--out DIR"]
    # the record of the run, written as reproduce.json (each part's console output, its log, only on the page)
    record = {"written_by": MARK, "command": " ".join(words), "profile": profile, "seed": int(seed),
              "started_utc": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "versions": versions(),
              "seconds": None, "parts": [{"name": p["name"], "title": p["title"], "status": "pending", "note": "",
                                          "seconds": None, "missing": [], "commands": [], "checks": []} for p in parts]}
    t_start = time.perf_counter()
    created = [p for p in (path, *path.parents) if not p.exists()]
    try:  # the first page and record: the folder made, and a probe that files can be written there
        _write(path, record, parts)
    except OSError as e:
        for p in created:  # the folders made for the record, if still empty
            with contextlib.suppress(OSError):
                p.rmdir()
        raise ValueError(f"--out {path}: cannot write there ({e.strerror or e})") from None
    for i, (part, res) in enumerate(zip(parts, record["parts"]), 1):
        folder = path / part["name"]
        if earlier and folder.is_dir():
            shutil.rmtree(folder)  # an earlier run's part: replaced, never mixed with this run's files
        if not quiet:
            print(f"part {i} of {len(parts)}: {part['name']} ({part['title']})", file=sys.stderr, flush=True)
        res["note"] = mnist_note if part.get("needs_mnist") else ""
        try:
            if part.get("needs_mnist") and not mnist_ok:
                res["status"] = "skipped"
            else:
                argvs = [[*_argv(t, folder, data_dir, part.get("settings", {}).get(profile, {})), "--seed", str(seed),
                          *(["--quiet"] if quiet else [])] for t in part["commands"]]
                _run_part(res, part, folder, argvs, run_command)
        finally:  # the page and record after each part, also when interrupted
            record["seconds"] = time.perf_counter() - t_start
            _write(path, record, parts)
        (n_held, n_bounded), done = held(res["checks"]), res["status"] in ("pass", "fail")
        print(f"part {i} of {len(parts)}: {part['name']}: {res['status']}"
              + ("" if res["seconds"] is None else f" in {res['seconds']:.1f} s")
              + (f", {n_held} of {n_bounded} checks hold" if done else f": {res['note']}" if res["note"] else "")
              + (f"; missing {', '.join(res['missing'])}" if done and res["missing"] else ""),
              file=sys.stderr, flush=True)

    bad = [r["name"] for r in record["parts"] if r["status"] in ("fail", "error")]
    skipped = sum(r["status"] == "skipped" for r in record["parts"])
    print(f"{sum(r['status'] == 'pass' for r in record['parts'])} of {len(parts)} parts pass"
          + (f", {len(bad)} failed ({', '.join(bad)})" if bad else "") + (f", {skipped} skipped" if skipped else "")
          + "; {} of {} checks hold".format(*held([c for r in record["parts"] for c in r["checks"]]))
          + f"; {record['seconds']:.0f} s; wrote {path / 'index.html'}")
    return 1 if bad else 0


def _run_part(res: dict, part: dict, folder: Path, argvs: list[list[str]], run_command) -> None:
    """Run the command lines ``argvs`` of ``part`` into ``folder`` and fill in its entry ``res``
    of the record: each command's words (the folder written DIR), exit status and seconds, the
    part's checks, missing files, status (pass, fail, error or interrupted), note and console output."""
    t0, log = time.perf_counter(), io.StringIO()
    try:
        for argv in argvs:
            entry = {"argv": [dir_words(a, folder.parent) for a in argv], "seconds": None, "status": None}
            res["commands"].append(entry)
            t = time.perf_counter()
            print("$ gandyn " + " ".join(argv), file=log)
            try:
                with contextlib.redirect_stdout(log):
                    entry["status"] = int(run_command(argv) or 0)
            except SystemExit as e:  # a bad command line of this module (argparse printed why)
                raise RuntimeError(f"gandyn {' '.join(argv[:2])}: bad arguments (exit status {e.code})") from None
            entry["seconds"] = time.perf_counter() - t
            if entry["status"] == 130:  # the command caught Ctrl-C itself (mnist train): stop here too
                raise KeyboardInterrupt
        # each as {"name", "value", "bound", "ok"}, a measurement's bound and ok None
        res["checks"] = [dict(zip(("name", "value", "bound", "ok"), (*c, None, None))) for c in part["checks"](folder)]
        res["missing"] = [f["path"] for f in (*part["figures"], *part["tables"])
                          if not f.get("optional") and not (folder / f["path"]).is_file()]
        failed = any(c["ok"] is False for c in res["checks"]) or any(c["status"] for c in res["commands"])
        res["status"] = "fail" if failed or res["missing"] else "pass"
    except (Exception, KeyboardInterrupt) as e:  # the part could not complete: say why, keep nothing half-made
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(e, KeyboardInterrupt):
            res["status"], res["note"] = "interrupted", "interrupted; its files were removed"
            raise
        res["status"], res["note"] = "error", " ".join(f"{type(e).__name__}: {e}".split())
    finally:
        res["seconds"] = time.perf_counter() - t0
        res["log"] = dir_words(log.getvalue(), folder.parent)


def _write(path: Path, record: dict, parts) -> None:
    """index.html and reproduce.json (the record without the parts' console output) of the run so far."""
    write_text(path / "index.html", page(record, parts, path))
    write_json(path / "reproduce.json", {**record, "parts": [{k: v for k, v in r.items() if k != "log"}
                                                            for r in record["parts"]]})
