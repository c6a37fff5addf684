"""The HTML report of ``gandyn reproduce``: the runs behind the results pages in docs/, each
*part* into ``DIR/<part>/``, and ``DIR/index.html`` (:mod:`gandyn.app.html`) showing every
figure, every table, each check with its bound and whether it holds, the versions, seeds and
wall time of each part (``DIR/reproduce.json`` holds the same as JSON).

A part (:data:`PARTS`) is the ``gandyn`` command lines that make it, its figures and tables,
and the checks read back from its files; :func:`reproduce` runs the command lines with the
function it is given (the command line's own runner), so this layer knows commands only as
their words.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from gandyn.app.folders import check_dir_path
from gandyn.app.machine import THREAD_VARIABLES
from gandyn.io import write_json, write_text

#: Marks DIR/reproduce.json as written by this command (an earlier output may be replaced).
MARK = "gandyn reproduce"

#: Tolerance of the closed forms of `gandyn nash` (docs/games.md: all tested to 1e-10).
CLOSED_FORM_TOL = 1e-10

#: A 1D GAN run counts as converged below this final JSD, in nats (`gandyn gan1d --threshold`).
JSD_CONVERGED = 0.1


# --- what a part is


@dataclass(frozen=True)
class Figure:
    """A figure of a part: ``stem`` relative to the part's folder (PNG shown, PDF linked)."""

    stem: str
    caption: str
    optional: bool = False  # written only by some profiles (a missing optional figure is no failure)
    ext: str = "png"


@dataclass(frozen=True)
class Table:
    """A CSV or JSON file of a part, shown as an HTML table."""

    path: str
    caption: str
    max_rows: int | None = None


@dataclass
class Check:
    """One number of a part: with a bound, a check that passes or fails; without, a measurement."""

    name: str
    value: object
    bound: str | None = None
    ok: bool | None = None


@dataclass(frozen=True)
class Context:
    profile: str  # "full", "quick" (or "tiny", the test suite's smallest settings)
    seed: int
    data_dir: str | None
    quiet: bool


@dataclass(frozen=True)
class Part:
    """One entry of :data:`PARTS`: a folder name, what it shows, the ``gandyn``
    command lines that make it (``commands(ctx, folder)``), its figures and tables,
    and ``checks(folder)`` reading the checks and measurements back from its files."""

    name: str
    title: str
    docs: str
    about: str
    commands: Callable[[Context, Path], list[list[str]]]
    figures: tuple[Figure, ...]
    tables: tuple[Table, ...]
    checks: Callable[[Path], list[Check]]
    needs_mnist: bool = False


def _pick(ctx: Context, **options) -> list[str]:
    return list(options[ctx.profile])


# --- gan1d


def _gan1d_commands(ctx, d):
    return [["gan1d", "--out", str(d), *_pick(ctx, full=[], quick=["--no-animation"],
                                              tiny=["--steps", "200", "--record-every", "25", "--no-animation"])]]


def _gan1d_checks(d):
    import numpy as np

    from gandyn import history

    a, meta = history.load(d / "history.npz")
    it = a["it"]
    return [
        Check(f"JSD(p_data || p_g) at the last record (iteration {int(it[-1])})", float(a["jsd"][-1]),
              f"< {JSD_CONVERGED:g} nats (converged)", bool(a["jsd"][-1] < JSD_CONVERGED)),
        Check("max over records of V(D, G) - C(G) (Prop. 1: C(G) = max over D of V(D, G))",
              float(np.max(a["v"] - a["c"])), "<= 1e-6", bool(np.max(a["v"] - a["c"]) <= 1e-6)),
        Check("JSD at the first record (log 2 = 0.6931 when the supports are disjoint)", float(a["jsd"][0])),
        Check("binned JSD at the last record", float(a["jsd_binned"][-1])),
        Check("C(G) at the last record (-log 4 = -1.3863)", float(a["c"][-1])),
        Check("iterations of panels (a)-(d)", ", ".join(str(int(it[r])) for r in meta["panels"].values())),
    ]


# --- sweep


def _sweep_commands(ctx, d):
    return [["gan1d", "--sweep", "--out", str(d),
             *_pick(ctx, full=[], quick=["--grid", "8", "--seeds", "1"],
                    tiny=["--grid", "3", "--seeds", "1", "--steps", "100"])]]


def _sweep_checks(d):
    import numpy as np

    from gandyn import history

    from gandyn.metrics.intervals import format_pm, mean_se, wilson_interval

    a, meta = history.load(d / "sweep.npz")
    j = a["jsd"]
    k = int(np.count_nonzero(a["converged"]))
    lo, hi = wilson_interval(k, j.size)
    ok = bool(np.all(np.isfinite(j)) and j.min() >= 0 and j.max() <= np.log(2) + 1e-6)
    return [
        Check("every final (binned) JSD finite and in [0, log 2]", f"{j.min():.4g} to {j.max():.4g}",
              "in [0, 0.6931]", ok),
        Check(f"GANs trained ({len(a['lr_d'])} x {len(a['lr_g'])} step sizes x {len(a['seeds'])} seeds), "
              f"{meta['steps']} steps each", int(j.size)),
        Check(f"converged (final JSD < {meta['threshold']:g} nats), 95% Wilson interval",
              f"{k / j.size:.1%} [{lo:.1%}, {hi:.1%}]"),
        Check("final JSD (nats): median; mean +- s.e.", f"{np.median(j):.4g}; {format_pm(*mean_se(j), '.4g')}"),
        Check("wall time of the population (s)", float(meta["wall_seconds"])),
    ]


# --- theory


def _theory_commands(ctx, d):
    return [["theory", "--out", str(d), *_pick(ctx, full=[], quick=["--quick", "--max-steps", "1000"],
                                               tiny=["--quick", "--max-steps", "300", "--perturbations", "1"])]]


def _theory_checks(d):
    import json

    data = json.loads((d / "theory_table.json").read_text())
    groups: dict = {}
    for r in data["rows"]:
        if r["bound"] is not None:
            groups.setdefault((r["part"], r["metric"]), []).append(r)
    checks = []
    for (part, metric), rows in groups.items():
        if part == "c":  # a change of V that must not be positive
            value, bound = max(r["value"] for r in rows), f"<= {rows[0]['bound']:g}"
        else:
            value, bound = max(abs(r["value"]) for r in rows), f"<= {rows[0]['bound']:g}"
        checks.append(Check(f"({part}) {metric}: max over {len(rows)} rows", value, bound,
                            all(r["ok"] is True for r in rows)))
    return checks


# --- nash


def _nash_commands(ctx, d):
    return [["nash", "--out", str(d),
             *_pick(ctx, full=[], quick=["--train-steps", "1000", "--large-hidden", "0", "--map-points", "31"],
                    tiny=["--steps", "50", "--train-steps", "100", "--field-grid", "5", "--map-points", "5",
                          "--large-hidden", "0"])]]


def _nash_checks(d):
    import json

    rows = json.loads((d / "closed_forms.json").read_text())
    checks = [Check(f"{r['name']} ({r['source']}; {r['cases']} cases): max error", r["error"],
                    f"<= {CLOSED_FORM_TOL:g}", r["error"] <= CLOSED_FORM_TOL) for r in rows]
    verdicts = json.loads((d / "verdicts.json").read_text())
    s = json.loads((d / "summary.json").read_text())
    tr = s["talk_claim"]["trained"]
    checks += [
        Check("points classified (Ratliff-Burden-Sastry verdicts, see verdicts.csv)", len(verdicts)),
        Check("differential Nash points among them", sum(bool(v.get("differential_nash")) for v in verdicts)),
        Check(f"{tr['label']}: max |eig H_GG| / max |eig H_DD|",
              f"{tr['max_abs_eig_HGG']:.4g} / {tr['max_abs_eig_HDD']:.4g}"),
    ]
    return checks


# --- mnist


def _mnist_commands(ctx, d):
    data = ["--data-dir", ctx.data_dir] if ctx.data_dir else []
    iters, every, window, samples = {"full": ("10000", "1000", "200", "10000"),
                                     "quick": ("1000", "250", "50", "1000"),
                                     "tiny": ("40", "20", "5", "100")}[ctx.profile]
    train, ckpt = d / "train", d / "train" / "checkpoint.npz"
    return [
        ["mnist", "train", "--iters", iters, "--checkpoint-every", "0", "--grid-every", every,
         "--out", str(train), *data],
        ["mnist", "sample", "--checkpoint", str(ckpt), "--n", "64", "--out", str(d / "sample")],
        ["mnist", "eval", "--checkpoint", str(ckpt), "--samples", samples, "--out", str(d / "eval"), *data],
        ["mnist", "plot", "--run", str(train), "--window", window, "--out", str(d / "plot")],
    ]


def _mnist_checks(d):
    import json

    import numpy as np

    from gandyn.experiments.mnist import read_losses

    losses = read_losses(d / "train" / "losses.csv", finite=False)
    e = json.loads((d / "eval" / "eval.json").read_text())
    s = e["samples"]
    return [
        Check("training losses finite at every iteration", f"{len(losses):,} iterations", "finite",
              bool(np.all(np.isfinite(losses)))),
        Check(f"Parzen log-likelihood of the test set (nats, {s['n']:,} samples, sigma {s['parzen']['sigma']:.3g})",
              f"{s['parzen']['mean']:.1f} +- {s['parzen']['se']:.1f}"),
        Check("Inception score (gandyn's MNIST classifier)",
              f"{s['inception_score']['mean']:.3f} +- {s['inception_score']['std']:.3f}"),
        Check("Frechet distance (classifier features)", float(s["fid"]["value"])),
        Check("digits covered (of 10)", int(s["modes"]["covered"])),
    ]


def _parts() -> tuple[Part, ...]:
    """The parts of ``parts.json`` (next to this module: each part's name, title, docs page,
    description, figures and tables), with their command lines and checks from here."""
    import json

    commands = {"gan1d": _gan1d_commands, "sweep": _sweep_commands, "theory": _theory_commands,
                "nash": _nash_commands, "mnist": _mnist_commands}
    checks = {"gan1d": _gan1d_checks, "sweep": _sweep_checks, "theory": _theory_checks, "nash": _nash_checks,
              "mnist": _mnist_checks}
    return tuple(Part(**{**d, "commands": commands[d["name"]], "checks": checks[d["name"]],
                         "figures": tuple(Figure(**f) for f in d["figures"]),
                         "tables": tuple(Table(**t) for t in d["tables"])})
                 for d in json.loads(Path(__file__).with_name("parts.json").read_text()))


#: The parts, in the order they run and appear on the page. A new capability adds one entry
#: to ``parts.json`` and its command lines and checks here.
PARTS: tuple[Part, ...] = _parts()


# --- the run


@dataclass
class Result:
    """What happened to one part."""

    part: Part
    status: str = "pending"  # pending, pass, fail, error, skipped, interrupted
    note: str = ""
    commands: list = field(default_factory=list)  # {"argv", "seconds", "status"}
    checks: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    seconds: float | None = None
    log: str = ""


def _check_out(text) -> tuple[Path, bool]:
    """``--out`` as a Path, and whether it holds an earlier output; a one-line
    ValueError if it cannot be used (nothing is created here)."""
    if text is None or not str(text).strip():
        raise ValueError("--out must name a folder, got an empty string")
    path = check_dir_path(text)
    earlier = False
    if path.exists():
        try:
            entries = list(path.iterdir())
        except OSError as e:
            raise ValueError(f"--out {path}: cannot read the folder ({e.strerror})") from None
        earlier = _is_earlier_output(path)
        if entries and not earlier:
            raise ValueError(f"--out {path}: the folder is not empty and holds no earlier `gandyn reproduce` "
                             "output; choose a new or empty folder")
    anchor = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise ValueError(f"--out {path}: cannot write in {anchor} (permission denied)")
    return path, earlier


def _is_earlier_output(path: Path) -> bool:
    import json

    try:
        return json.loads((path / "reproduce.json").read_text()).get("written_by") == MARK
    except (OSError, ValueError, AttributeError):
        return False


def _make_out(path: Path) -> None:
    """Create ``path`` and probe that a file can be written in it; on failure remove
    the folders created here and raise a one-line ValueError."""
    import tempfile

    created = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".probe.", dir=path)
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        for p in created:
            try:
                p.rmdir()
            except OSError:
                pass
        raise ValueError(f"--out {path}: cannot write there ({e.strerror or e})") from None


def _mnist_source(data_dir) -> tuple[bool, str]:
    """Whether the MNIST part can run, and where its data comes from (or why it is skipped)."""
    from gandyn.data import FILES, find_file, search_dirs

    if data_dir:
        return True, f"MNIST from --data-dir {data_dir}"
    dirs = search_dirs(None)
    found = [find_file(spec, dirs) for spec in FILES.values()]
    if all(found):
        return True, f"MNIST from {found[0].parent}"
    return False, ("the MNIST files are not in " + " or ".join(str(d) for d in dirs)
                   + "; pass --data-dir D to use a folder that holds them (or to download them into it)")


def versions() -> dict:
    import platform

    import matplotlib
    import numpy
    import scipy
    import tqdm

    from gandyn import __version__

    try:
        blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas['name']} {blas['version']}"
    except Exception:  # the layout of numpy's build information is not a stable API
        blas = "unknown"
    threads = ", ".join(f"{k}={os.environ[k]}" for k in THREAD_VARIABLES if k in os.environ) or "library default"
    return {"gandyn": __version__, "python": platform.python_version(), "numpy": numpy.__version__,
            "scipy": scipy.__version__, "matplotlib": matplotlib.__version__, "tqdm": tqdm.__version__,
            "BLAS": blas, "BLAS threads": threads, "platform": platform.platform(), "cpus": os.cpu_count()}


def reproduce(out, run_command: Callable[[list[str]], int], profile: str = "full", seed: int = 0, data_dir=None,
              quiet: bool = False, parts: tuple[Part, ...] = PARTS) -> int:
    """Run ``parts`` into ``out``/<part>/ and write ``out``/index.html and reproduce.json;
    ``run_command(argv)`` runs one command line (the words after ``gandyn``) in this process
    and returns its exit status (a ``SystemExit`` for a bad command line).
    Returns 0 if every part that ran passed its checks, else 1."""
    import shutil
    import sys
    import time
    from datetime import datetime, timezone

    if profile not in ("full", "quick", "tiny"):
        raise ValueError(f"unknown profile {profile!r}")
    path, earlier = _check_out(out)
    if data_dir is not None:
        if not str(data_dir).strip():
            raise ValueError("--data-dir must name a folder, got an empty string")
        if Path(data_dir).exists() and not Path(data_dir).is_dir():
            raise ValueError(f"--data-dir {data_dir}: not a directory")
        if any(p.needs_mnist for p in parts):  # the files found (or downloaded) before any work
            from gandyn.data import FILES, locate, search_dirs

            for spec in FILES.values():
                locate(spec, search_dirs(data_dir), progress=not quiet)
    ctx = Context(profile, int(seed), None if data_dir is None else str(data_dir), quiet)
    mnist_ok, mnist_note = _mnist_source(ctx.data_dir)
    _make_out(path)

    run_info = {"command": _command_line(profile, seed, data_dir, path), "profile": profile, "seed": int(seed),
                "started_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
                "versions": versions(), "seconds": None}
    results = [Result(p) for p in parts]
    t_start = time.perf_counter()
    _write(path, run_info, results)
    n = len(parts)
    for i, res in enumerate(results, 1):
        part = res.part
        folder = path / part.name
        if earlier and folder.is_dir():
            shutil.rmtree(folder)  # an earlier run's part: replaced, never mixed with this run's files
        if not quiet:
            print(f"part {i} of {n}: {part.name} ({part.title})", file=sys.stderr, flush=True)
        if part.needs_mnist and not mnist_ok:
            res.status, res.note = "skipped", mnist_note
        else:
            if part.needs_mnist:
                res.note = mnist_note
            try:
                _run_part(res, ctx, folder, run_command)
            except KeyboardInterrupt:
                res.status, res.note = "interrupted", "interrupted; its files were removed"
                shutil.rmtree(folder, ignore_errors=True)
                run_info["seconds"] = time.perf_counter() - t_start
                _write(path, run_info, results)
                raise
        print(f"part {i} of {n}: {part.name}: {_verdict(res)}", file=sys.stderr, flush=True)
        run_info["seconds"] = time.perf_counter() - t_start
        _write(path, run_info, results)

    bad = [r for r in results if r.status in ("fail", "error")]
    n_checks = sum(c.ok is not None for r in results for c in r.checks)
    n_failed = sum(c.ok is False for r in results for c in r.checks)
    print(f"{sum(r.status == 'pass' for r in results)} of {n} parts pass"
          + (f", {len(bad)} failed ({', '.join(r.part.name for r in bad)})" if bad else "")
          + (f", {sum(r.status == 'skipped' for r in results)} skipped" if any(r.status == "skipped" for r in results) else "")
          + f"; {n_checks - n_failed} of {n_checks} checks hold; {run_info['seconds']:.0f} s; "
          f"wrote {path / 'index.html'}")
    return 1 if bad else 0


def _command_line(profile, seed, data_dir, path) -> str:
    words = ["gandyn", "reproduce"] + (["--quick"] if profile == "quick" else []) + [f"--seed {seed}"]
    if profile == "tiny":
        words.append("(smallest settings, as the test suite runs it)")
    if data_dir:
        words.append(f"--data-dir {data_dir}")
    return " ".join(words + ["--out DIR"])


def _verdict(res: Result) -> str:
    held = sum(c.ok is True for c in res.checks)
    bounded = sum(c.ok is not None for c in res.checks)
    t = f" in {res.seconds:.1f} s" if res.seconds is not None else ""
    if res.status in ("pass", "fail"):
        return f"{res.status}{t}, {held} of {bounded} checks hold" + (
            f"; missing {', '.join(res.missing)}" if res.missing else "")
    return f"{res.status}{t}" + (f": {res.note}" if res.note else "")


def _run_part(res: Result, ctx: Context, folder: Path, run_command: Callable[[list[str]], int]) -> None:
    import contextlib
    import io
    import time

    t0 = time.perf_counter()
    log = io.StringIO()
    status = "pass"
    try:
        for argv in res.part.commands(ctx, folder):
            argv = [*argv, "--seed", str(ctx.seed)] + (["--quiet"] if ctx.quiet else [])
            entry = {"argv": argv, "seconds": None, "status": None}
            res.commands.append(entry)
            t = time.perf_counter()
            print("$ gandyn " + " ".join(argv), file=log)
            try:
                with contextlib.redirect_stdout(log):
                    rc = int(run_command(argv) or 0)
            except SystemExit as e:  # a bad command line of this module (argparse printed why)
                raise RuntimeError(f"gandyn {' '.join(argv[:2])}: bad arguments (exit status {e.code})") from None
            entry["seconds"], entry["status"] = time.perf_counter() - t, rc
            if rc == 130:  # the command caught Ctrl-C itself (mnist train): stop here too
                raise KeyboardInterrupt
            if rc != 0:
                status = "fail"
        res.checks = res.part.checks(folder)
        for f in res.part.figures:
            if not f.optional and not (folder / f"{f.stem}.{f.ext}").is_file():
                res.missing.append(f"{f.stem}.{f.ext}")
        for tb in res.part.tables:
            if not (folder / tb.path).is_file():
                res.missing.append(tb.path)
        if res.missing or any(c.ok is False for c in res.checks):
            status = "fail"
        res.status = status
    except Exception as e:  # the part could not complete: say why, keep nothing half-made
        import shutil

        res.status, res.note = "error", " ".join(f"{type(e).__name__}: {e}".split())
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        res.seconds = time.perf_counter() - t0
        res.log = _dir_words(log.getvalue(), folder.parent)


# --- the page


def _write(path: Path, run_info: dict, results: list[Result]) -> None:
    write_text(path / "index.html", page(path, run_info, results))
    write_json(path / "reproduce.json", {
        "written_by": MARK, **run_info,
        "parts": [{"name": r.part.name, "title": r.part.title, "status": r.status, "note": r.note,
                   "seconds": r.seconds, "missing": r.missing,
                   "commands": [{**c, "argv": _shown(c["argv"], path)} for c in r.commands],
                   "checks": [{"name": c.name, "value": c.value, "bound": c.bound, "ok": c.ok} for c in r.checks]}
                  for r in results]})


def _shown(argv: list[str], root: Path) -> list[str]:
    """Command-line words with the output folder written as DIR."""
    prefix = str(root)
    return [("DIR" + a[len(prefix):]) if a == prefix or a.startswith(prefix + os.sep) else a for a in argv]


def _dir_words(text: str, root: Path) -> str:
    """``text`` with the output folder written as DIR wherever it starts a path."""
    import re

    return re.sub(r"(?<![\w./-])" + re.escape(str(root)) + r"(?=[/\s,;:)]|$)", "DIR", text)


_BADGE = {"pass": ("pass", "pass"), "fail": ("FAIL", "fail"), "error": ("ERROR", "fail"),
          "skipped": ("skipped", "skip"), "pending": ("not run yet", "info"), "interrupted": ("interrupted", "fail")}


def page(path: Path, run_info: dict, results: list[Result]) -> str:
    """The HTML of index.html."""
    from gandyn.app import html as H

    secs = run_info["seconds"]
    done = all(r.status not in ("pending",) for r in results)
    body = ["<h1>gandyn: reproduced figures and tables</h1>",
            "<p class='lead'>Every figure and table of the results pages in <code>docs/</code>, "
            "recomputed by <code>gandyn reproduce</code>"
            + ("" if done else " (<strong>run in progress or stopped</strong>: parts marked "
               "\"not run yet\" have not completed)") + ".</p>"]
    settings = {"full": "full: each command's defaults, except where a part's commands say otherwise",
                "quick": "quick: smaller settings of every part (see each part's commands); "
                         "numbers differ from the docs' full runs",
                "tiny": "tiny: the smallest settings, a smoke run"}[run_info["profile"]]
    info = {"command": run_info["command"], "settings": settings, "seed": run_info["seed"],
            "started": run_info["started_utc"],
            "wall time": "" if secs is None else f"{secs:.1f} s"}
    body.append(H.table([{"": k, "value": v} for k, v in info.items()], columns=["", "value"], align=False))
    body.append("<p>The same as JSON: <a href='reproduce.json'>reproduce.json</a>. "
                "<code>DIR</code> below is the folder of this page.</p>")

    rows = []
    for i, r in enumerate(results, 1):
        label, kind = _BADGE[r.status]
        bounded = [c for c in r.checks if c.ok is not None]
        rows.append({"#": i, "part": f"<a href='#{H.esc(r.part.name)}'>{H.esc(r.part.name)}</a>",
                     "what": H.esc(r.part.title), "status": H.badge(label, kind),
                     "checks": (f"{sum(c.ok for c in bounded)} of {len(bounded)} hold" if bounded else ""),
                     "seconds": "" if r.seconds is None else f"{r.seconds:.1f}",
                     "folder": f"<a href='{H.esc(r.part.name)}/'>{H.esc(r.part.name)}/</a>"
                     if r.status in ("pass", "fail") else ""})
    body.append("<h3>Parts</h3>")
    body.append(H.table(rows, raw=frozenset({"part", "what", "status", "folder"})))
    v = run_info["versions"]
    body.append("<h3>Versions</h3>")
    body.append(H.table([{"": k, "version": v[k]} for k in v], columns=["", "version"], align=False))

    for i, r in enumerate(results, 1):
        body.append(_section(i, r, path, H))
    return H.document("gandyn reproduce", "\n".join(body))


def _section(i: int, r: Result, root: Path, H) -> str:
    p = r.part
    label, kind = _BADGE[r.status]
    s = [f"<h2 id='{H.esc(p.name)}'>{i}. {H.esc(p.title)} {H.badge(label, kind)}</h2>",
         f"<p>{H.esc(p.about)} See <code>{H.esc(p.docs)}</code>.</p>"]
    if r.note:
        cls = "error" if r.status in ("error", "interrupted") else "note"
        s.append(f"<p class='{cls}'>{H.esc(r.note)}</p>")
    if r.status in ("pending", "skipped"):
        return "\n".join(s)
    if r.commands:
        s.append("<h3>Commands</h3>")
        s.append(H.table([{"command": "gandyn " + " ".join(_shown(c["argv"], root)),
                           "exit status": "" if c["status"] is None else c["status"],
                           "seconds": "" if c["seconds"] is None else f"{c['seconds']:.1f}"}
                          for c in r.commands]))
        s.append(f"<p>Seed {r.commands[0]['argv'][r.commands[0]['argv'].index('--seed') + 1]}; "
                 f"wall time of the part {r.seconds:.1f} s.</p>")
    if r.status not in ("pass", "fail"):
        return "\n".join(s + _log(r, H))
    if r.checks:
        s.append("<h3>Checks and measurements</h3>")
        rows = []
        for c in r.checks:
            res = "" if c.ok is None else H.badge("pass" if c.ok else "FAIL", "pass" if c.ok else "fail")
            rows.append({"quantity": H.esc(c.name), "value": H.esc(H.fmt(c.value)),
                         "bound": H.esc(c.bound or ""), "result": res})
        s.append(H.table(rows, raw=frozenset({"quantity", "value", "bound", "result"})))
    if r.missing:
        s.append(f"<p class='error'>missing: {H.esc(', '.join(r.missing))}</p>")
    folder = root / p.name
    figs = [f for f in p.figures if (folder / f"{f.stem}.{f.ext}").is_file()]
    if figs:
        s.append("<h3>Figures</h3>")
        for f in figs:
            rel = f"{p.name}/{f.stem}"
            links = {"PDF": f"{rel}.pdf"} if (folder / f"{f.stem}.pdf").is_file() else {}
            s.append(H.figure(f"{rel}.{f.ext}", f.caption, links))
    tables = [t for t in p.tables if (folder / t.path).is_file()]
    if tables:
        s.append("<h3>Tables</h3>")
        for t in tables:
            rel = f"{p.name}/{t.path}"
            try:
                html = _dir_words(H.table_file(folder / t.path, max_rows=t.max_rows), root)
                n = H.count_rows(folder / t.path)
            except (OSError, ValueError) as e:
                html, n = f"<p class='error'>cannot read {H.esc(rel)}: {H.esc(e)}</p>", 0
            s.append(f"<details{' open' if n <= 30 else ''}><summary><code>{H.esc(rel)}</code>: {H.esc(t.caption)} ({n:,} rows)</summary>"
                     f"<p><a href='{H.esc(rel)}'>{H.esc(rel)}</a></p>{html}</details>")
    files = sorted(f.relative_to(root).as_posix() for f in folder.rglob("*") if f.is_file())
    s.append(f"<details><summary>all {len(files)} files of this part</summary><ul>"
             + "".join(f"<li><a href='{H.esc(f)}'>{H.esc(f)}</a></li>" for f in files) + "</ul></details>")
    return "\n".join(s + _log(r, H))


def _log(r: Result, H) -> list[str]:
    if not r.log.strip():
        return []
    return [f"<details><summary>console output</summary><pre>{H.esc(r.log.strip())}</pre></details>"]
