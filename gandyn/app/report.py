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

import contextlib
import io
import json
import os
import platform
import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Callable

import numpy as np

from gandyn import __version__, history
from gandyn.app import html as H
from gandyn.app.folders import check_dir_path
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


# --- what a part is


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
    and ``checks(folder)`` reading the checks and measurements back from its files.

    A figure or table is a dict as in ``parts.json``: ``path`` (relative to the part's
    folder; a figure's image is shown, a PDF of the same name linked; a table is a CSV or
    JSON file), ``caption``, and optionally ``optional`` (a figure written only by some
    profiles: its absence is no failure) or ``max_rows`` (of a table: the rows shown)."""

    name: str
    title: str
    docs: str
    about: str
    commands: Callable[[Context, Path], list[list[str]]]
    figures: tuple[dict, ...]
    tables: tuple[dict, ...]
    checks: Callable[[Path], list[Check]]
    needs_mnist: bool = False


def _command(*words: str, **options: str):
    """The ``commands`` of a part made by one command line: ``WORDS --out FOLDER`` and the
    options of the profile (``full``, ``quick`` or ``tiny``; none if not given)."""
    return lambda ctx, d: [[*words, "--out", str(d), *options.get(ctx.profile, "").split()]]


def _mnist_commands(ctx, d):
    data = ["--data-dir", ctx.data_dir] if ctx.data_dir else []
    iters, every, window, samples = {"full": "10000 1000 200 10000", "quick": "1000 250 50 1000",
                                     "tiny": "40 20 5 100"}[ctx.profile].split()
    train, ckpt = d / "train", d / "train" / "checkpoint.npz"
    return [
        ["mnist", "train", "--iters", iters, "--checkpoint-every", "0", "--grid-every", every,
         "--out", str(train), *data],
        ["mnist", "sample", "--checkpoint", str(ckpt), "--n", "64", "--out", str(d / "sample")],
        ["mnist", "eval", "--checkpoint", str(ckpt), "--samples", samples, "--out", str(d / "eval"), *data],
        ["mnist", "plot", "--run", str(train), "--window", window, "--out", str(d / "plot")],
    ]


# --- the checks of each part, read back from its files


def _gan1d_checks(d):
    a, meta = history.load(d / "history.npz")
    it, jsd, gap = a["it"], a["jsd"], float(np.max(a["v"] - a["c"]))
    return [
        Check(f"JSD(p_data || p_g) at the last record (iteration {int(it[-1])})", float(jsd[-1]),
              f"< {JSD_CONVERGED:g} nats (converged)", bool(jsd[-1] < JSD_CONVERGED)),
        Check("max over records of V(D, G) - C(G) (Prop. 1: C(G) = max over D of V(D, G))", gap, "<= 1e-6",
              gap <= 1e-6),
        Check("JSD at the first record (log 2 = 0.6931 when the supports are disjoint)", float(jsd[0])),
        Check("binned JSD at the last record", float(a["jsd_binned"][-1])),
        Check("C(G) at the last record (-log 4 = -1.3863)", float(a["c"][-1])),
        Check("iterations of panels (a)-(d)", ", ".join(str(int(it[r])) for r in meta["panels"].values())),
    ]


def _sweep_checks(d):
    a, meta = history.load(d / "sweep.npz")
    j, k = a["jsd"], int(np.count_nonzero(a["converged"]))
    lo, hi = wilson_interval(k, j.size)
    return [
        Check("every final (binned) JSD finite and in [0, log 2]", f"{j.min():.4g} to {j.max():.4g}",
              "in [0, 0.6931]", bool(np.all(np.isfinite(j)) and j.min() >= 0 and j.max() <= np.log(2) + 1e-6)),
        Check(f"GANs trained ({len(a['lr_d'])} x {len(a['lr_g'])} step sizes x {len(a['seeds'])} seeds), "
              f"{meta['steps']} steps each", int(j.size)),
        Check(f"converged (final JSD < {meta['threshold']:g} nats), 95% Wilson interval",
              f"{k / j.size:.1%} [{lo:.1%}, {hi:.1%}]"),
        Check("final JSD (nats): median; mean +- s.e.", f"{np.median(j):.4g}; {format_pm(*mean_se(j), '.4g')}"),
        Check("wall time of the population (s)", float(meta["wall_seconds"])),
    ]


def _theory_checks(d):
    groups: dict = {}
    for r in json.loads((d / "theory_table.json").read_text())["rows"]:
        if r["bound"] is not None:
            groups.setdefault((r["part"], r["metric"]), []).append(r)
    # (c) is a change of V that must not be positive; the others are errors, bounded in size
    return [Check(f"({part}) {metric}: max over {len(rows)} rows",
                  max(r["value"] if part == "c" else abs(r["value"]) for r in rows), f"<= {rows[0]['bound']:g}",
                  all(r["ok"] is True for r in rows)) for (part, metric), rows in groups.items()]


def _nash_checks(d):
    rows, verdicts, summary = (json.loads((d / f).read_text()) for f in ("closed_forms.json", "verdicts.json",
                                                                          "summary.json"))
    tr = summary["talk_claim"]["trained"]
    return [Check(f"{r['name']} ({r['source']}; {r['cases']} cases): max error", r["error"],
                  f"<= {CLOSED_FORM_TOL:g}", r["error"] <= CLOSED_FORM_TOL) for r in rows] + [
        Check("points classified (Ratliff-Burden-Sastry verdicts, see verdicts.csv)", len(verdicts)),
        Check("differential Nash points among them", sum(bool(v.get("differential_nash")) for v in verdicts)),
        Check(f"{tr['label']}: max |eig H_GG| / max |eig H_DD|",
              f"{tr['max_abs_eig_HGG']:.4g} / {tr['max_abs_eig_HDD']:.4g}"),
    ]


def _mnist_checks(d):
    losses = read_losses(d / "train" / "losses.csv", finite=False)
    s = json.loads((d / "eval" / "eval.json").read_text())["samples"]
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
    commands = {
        "gan1d": _command("gan1d", quick="--no-animation", tiny="--steps 200 --record-every 25 --no-animation"),
        "sweep": _command("gan1d", "--sweep", quick="--grid 8 --seeds 1", tiny="--grid 3 --seeds 1 --steps 100"),
        "theory": _command("theory", quick="--quick --max-steps 1000",
                           tiny="--quick --max-steps 300 --perturbations 1"),
        "nash": _command("nash", quick="--train-steps 1000 --large-hidden 0 --map-points 31",
                         tiny="--steps 50 --train-steps 100 --field-grid 5 --map-points 5 --large-hidden 0"),
        "mnist": _mnist_commands}
    checks = {"gan1d": _gan1d_checks, "sweep": _sweep_checks, "theory": _theory_checks, "nash": _nash_checks,
              "mnist": _mnist_checks}
    return tuple(Part(**{**d, "commands": commands[d["name"]], "checks": checks[d["name"]]})
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
    commands: list = field(default_factory=list)  # {"argv" (the folder written DIR), "seconds", "status"}
    checks: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    seconds: float | None = None
    log: str = ""


def _check_out(text) -> tuple[Path, bool]:
    """``--out`` as a Path, and whether it holds an earlier output; a one-line
    ValueError if it cannot be used (nothing is created here)."""
    if text is None or not str(text).strip():
        raise ValueError("--out must name a folder, got an empty string")
    path, earlier = check_dir_path(text), False
    if path.exists():
        try:
            entries = list(path.iterdir())
        except OSError as e:
            raise ValueError(f"--out {path}: cannot read the folder ({e.strerror})") from None
        with contextlib.suppress(OSError, ValueError, AttributeError):
            earlier = json.loads((path / "reproduce.json").read_text()).get("written_by") == MARK
        if entries and not earlier:
            raise ValueError(f"--out {path}: the folder is not empty and holds no earlier `gandyn reproduce` "
                             "output; choose a new or empty folder")
    anchor = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise ValueError(f"--out {path}: cannot write in {anchor} (permission denied)")
    return path, earlier


def _mnist_source(data_dir, needed: bool, quiet: bool) -> tuple[bool, str]:
    """Whether the MNIST part can run, and where its data comes from (or why it is skipped).
    With ``data_dir`` (and a part that ``needed`` it) its files are found or downloaded
    now, before any work; a bad ``data_dir`` is a one-line ValueError."""
    from gandyn.data import FILES, find_file, locate, search_dirs

    if data_dir is not None:
        if not str(data_dir).strip():
            raise ValueError("--data-dir must name a folder, got an empty string")
        if Path(data_dir).exists() and not Path(data_dir).is_dir():
            raise ValueError(f"--data-dir {data_dir}: not a directory")
        for spec in FILES.values() if needed else ():
            locate(spec, search_dirs(data_dir), progress=not quiet)
        return True, f"MNIST from --data-dir {data_dir}"
    dirs = search_dirs(None)
    found = [find_file(spec, dirs) for spec in FILES.values()]
    if all(found):
        return True, f"MNIST from {found[0].parent}"
    return False, ("the MNIST files are not in " + " or ".join(str(d) for d in dirs)
                   + "; pass --data-dir D to use a folder that holds them (or to download them into it)")


def versions() -> dict:
    try:
        blas = "{name} {version}".format(**np.show_config(mode="dicts")["Build Dependencies"]["blas"])
    except Exception:  # the layout of numpy's build information is not a stable API
        blas = "unknown"
    threads = ", ".join(f"{k}={os.environ[k]}" for k in THREAD_VARIABLES if k in os.environ) or "library default"
    return {"gandyn": __version__, "python": platform.python_version(),
            **{name: version(name) for name in ("numpy", "scipy", "matplotlib", "tqdm")},
            "BLAS": blas, "BLAS threads": threads, "platform": platform.platform(), "cpus": os.cpu_count()}


def _held(checks) -> tuple[int, int]:
    """How many of ``checks`` hold, of how many with a bound."""
    return sum(c.ok is True for c in checks), sum(c.ok is not None for c in checks)


def reproduce(out, run_command: Callable[[list[str]], int], profile: str = "full", seed: int = 0, data_dir=None,
              quiet: bool = False, parts: tuple[Part, ...] = PARTS) -> int:
    """Run ``parts`` into ``out``/<part>/ and write ``out``/index.html and reproduce.json;
    ``run_command(argv)`` runs one command line (the words after ``gandyn``) in this process
    and returns its exit status (a ``SystemExit`` for a bad command line).
    Returns 0 if every part that ran passed its checks, else 1."""
    if profile not in _SETTINGS:
        raise ValueError(f"unknown profile {profile!r}")
    path, earlier = _check_out(out)
    mnist_ok, mnist_note = _mnist_source(data_dir, any(p.needs_mnist for p in parts), quiet)
    ctx = Context(profile, int(seed), None if data_dir is None else str(data_dir), quiet)
    words = ["gandyn reproduce", *(["--quick"] if profile == "quick" else []), f"--seed {seed}",
             *(["(smallest settings, as the test suite runs it)"] if profile == "tiny" else []),
             *([f"--data-dir {data_dir}"] if data_dir else []), "--out DIR"]
    run_info = {"command": " ".join(words), "profile": profile, "seed": int(seed),
                "started_utc": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                "versions": versions(), "seconds": None}
    results, t_start = [Result(p) for p in parts], time.perf_counter()
    created = [p for p in (path, *path.parents) if not p.exists()]
    try:  # the first page and record: the folder made, and a probe that files can be written there
        _write(path, run_info, results)
    except OSError as e:
        for p in created:
            with contextlib.suppress(OSError):
                p.rmdir()
        raise ValueError(f"--out {path}: cannot write there ({e.strerror or e})") from None
    for i, res in enumerate(results, 1):
        part, folder = res.part, path / res.part.name
        if earlier and folder.is_dir():
            shutil.rmtree(folder)  # an earlier run's part: replaced, never mixed with this run's files
        if not quiet:
            print(f"part {i} of {len(parts)}: {part.name} ({part.title})", file=sys.stderr, flush=True)
        res.note = mnist_note if part.needs_mnist else ""
        try:
            if part.needs_mnist and not mnist_ok:
                res.status = "skipped"
            else:
                _run_part(res, ctx, folder, run_command)
        finally:  # the page and record after each part, also when interrupted
            run_info["seconds"] = time.perf_counter() - t_start
            _write(path, run_info, results)
        (held, bounded), t = _held(res.checks), "" if res.seconds is None else f" in {res.seconds:.1f} s"
        if res.status in ("pass", "fail"):
            t += f", {held} of {bounded} checks hold" + (f"; missing {', '.join(res.missing)}" if res.missing else "")
        elif res.note:
            t += f": {res.note}"
        print(f"part {i} of {len(parts)}: {part.name}: {res.status}{t}", file=sys.stderr, flush=True)

    bad = [r.part.name for r in results if r.status in ("fail", "error")]
    skipped = sum(r.status == "skipped" for r in results)
    print(f"{sum(r.status == 'pass' for r in results)} of {len(parts)} parts pass"
          + (f", {len(bad)} failed ({', '.join(bad)})" if bad else "") + (f", {skipped} skipped" if skipped else "")
          + "; {} of {} checks hold".format(*_held([c for r in results for c in r.checks]))
          + f"; {run_info['seconds']:.0f} s; wrote {path / 'index.html'}")
    return 1 if bad else 0


def _run_part(res: Result, ctx: Context, folder: Path, run_command: Callable[[list[str]], int]) -> None:
    t0, log = time.perf_counter(), io.StringIO()
    try:
        for argv in res.part.commands(ctx, folder):
            argv = [*argv, "--seed", str(ctx.seed)] + (["--quiet"] if ctx.quiet else [])
            entry = {"argv": [_dir_words(a, folder.parent) for a in argv], "seconds": None, "status": None}
            res.commands.append(entry)
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
        res.checks = res.part.checks(folder)
        res.missing = [f["path"] for f in (*res.part.figures, *res.part.tables)
                       if not f.get("optional") and not (folder / f["path"]).is_file()]
        failed = res.missing or any(c.ok is False for c in res.checks) or any(c["status"] for c in res.commands)
        res.status = "fail" if failed else "pass"
    except (Exception, KeyboardInterrupt) as e:  # the part could not complete: say why, keep nothing half-made
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(e, KeyboardInterrupt):
            res.status, res.note = "interrupted", "interrupted; its files were removed"
            raise
        res.status, res.note = "error", " ".join(f"{type(e).__name__}: {e}".split())
    finally:
        res.seconds = time.perf_counter() - t0
        res.log = _dir_words(log.getvalue(), folder.parent)


# --- the page


def _write(path: Path, run_info: dict, results: list[Result]) -> None:
    write_text(path / "index.html", page(path, run_info, results))
    write_json(path / "reproduce.json", {"written_by": MARK, **run_info, "parts": [
        {"name": r.part.name, "title": r.part.title, "status": r.status, "note": r.note, "seconds": r.seconds,
         "missing": r.missing, "commands": r.commands, "checks": [asdict(c) for c in r.checks]} for r in results]})


def _dir_words(text: str, root: Path) -> str:
    """``text`` with the output folder written as DIR wherever it starts a path."""
    return re.sub(r"(?<![\w./-])" + re.escape(str(root)) + r"(?=[/\s,;:)]|$)", "DIR", text)


_BADGE = {"pass": ("pass", "pass"), "fail": ("FAIL", "fail"), "error": ("ERROR", "fail"),
          "skipped": ("skipped", "skip"), "pending": ("not run yet", "info"), "interrupted": ("interrupted", "fail")}

_SETTINGS = {"full": "full: each command's defaults, except where a part's commands say otherwise",
             "quick": "quick: smaller settings of every part (see each part's commands); "
                      "numbers differ from the docs' full runs",
             "tiny": "tiny: the smallest settings, a smoke run"}


def page(path: Path, run_info: dict, results: list[Result]) -> str:
    """The HTML of index.html."""
    secs = run_info["seconds"]
    body = ["<h1>gandyn: reproduced figures and tables</h1>",
            "<p class='lead'>Every figure and table of the results pages in <code>docs/</code>, "
            "recomputed by <code>gandyn reproduce</code>"
            + ("" if all(r.status != "pending" for r in results) else " (<strong>run in progress or stopped</strong>:"
               " parts marked \"not run yet\" have not completed)") + ".</p>"]
    info = {"command": run_info["command"], "settings": _SETTINGS[run_info["profile"]], "seed": run_info["seed"],
            "started": run_info["started_utc"], "wall time": "" if secs is None else f"{secs:.1f} s"}
    body.append(H.kv_table(info, ("", "value")))
    body.append("<p>The same as JSON: <a href='reproduce.json'>reproduce.json</a>. "
                "<code>DIR</code> below is the folder of this page.</p>")
    rows = []
    for i, r in enumerate(results, 1):
        name, (held, bounded) = H.esc(r.part.name), _held(r.checks)
        rows.append({"#": i, "part": f"<a href='#{name}'>{name}</a>", "what": H.esc(r.part.title),
                     "status": H.badge(*_BADGE[r.status]), "checks": f"{held} of {bounded} hold" if bounded else "",
                     "seconds": "" if r.seconds is None else f"{r.seconds:.1f}",
                     "folder": f"<a href='{name}/'>{name}/</a>" if r.status in ("pass", "fail") else ""})
    body += ["<h3>Parts</h3>", H.table(rows, raw=frozenset({"part", "what", "status", "folder"})),
             "<h3>Versions</h3>", H.kv_table(run_info["versions"], ("", "version"))]
    body += [_section(i, r, path) for i, r in enumerate(results, 1)]
    return H.document("gandyn reproduce", "\n".join(body))


def _section(i: int, r: Result, root: Path) -> str:
    p, folder = r.part, root / r.part.name
    s = [f"<h2 id='{H.esc(p.name)}'>{i}. {H.esc(p.title)} {H.badge(*_BADGE[r.status])}</h2>",
         f"<p>{H.esc(p.about)} See <code>{H.esc(p.docs)}</code>.</p>"]
    if r.note:
        s.append(f"<p class='{'error' if r.status in ('error', 'interrupted') else 'note'}'>{H.esc(r.note)}</p>")
    if r.status in ("pending", "skipped"):
        return "\n".join(s)
    if r.commands:
        s.append("<h3>Commands</h3>")
        s.append(H.table([{"command": "gandyn " + " ".join(c["argv"]), "exit status": c["status"],
                           "seconds": "" if c["seconds"] is None else f"{c['seconds']:.1f}"} for c in r.commands]))
        argv = r.commands[0]["argv"]
        s.append(f"<p>Seed {argv[argv.index('--seed') + 1]}; wall time of the part {r.seconds:.1f} s.</p>")
    log = ([f"<details><summary>console output</summary><pre>{H.esc(r.log.strip())}</pre></details>"]
           if r.log.strip() else [])
    if r.status not in ("pass", "fail"):  # what a part that completed shows: checks, figures, tables, files
        return "\n".join(s + log)
    if r.checks:
        s.append("<h3>Checks and measurements</h3>")
        s.append(H.table([{"quantity": c.name, "value": c.value, "bound": c.bound,
                           "result": "" if c.ok is None else H.badge(*_BADGE["pass" if c.ok else "fail"])}
                          for c in r.checks], raw=frozenset({"result"}), align=False))
    if r.missing:
        s.append(f"<p class='error'>missing: {H.esc(', '.join(r.missing))}</p>")
    figs = [f for f in p.figures if (folder / f["path"]).is_file()]
    s += ["<h3>Figures</h3>"] if figs else []
    for f in figs:
        pdf = Path(f["path"]).with_suffix(".pdf").as_posix()
        s.append(H.figure(f"{p.name}/{f['path']}", f["caption"],
                          {"PDF": f"{p.name}/{pdf}"} if (folder / pdf).is_file() else {}))
    tables = [t for t in p.tables if (folder / t["path"]).is_file()]
    s += ["<h3>Tables</h3>"] if tables else []
    for t in tables:
        rel = H.esc(f"{p.name}/{t['path']}")
        try:
            html, n = H.table_file(folder / t["path"], max_rows=t.get("max_rows"))
        except (OSError, ValueError) as e:
            html, n = f"<p class='error'>cannot read {rel}: {H.esc(e)}</p>", 0
        s.append(f"<details{' open' if n <= 30 else ''}><summary><code>{rel}</code>: {H.esc(t['caption'])} ({n:,} rows)"
                 f"</summary><p><a href='{rel}'>{rel}</a></p>{_dir_words(html, root)}</details>")
    files = sorted(f.relative_to(root).as_posix() for f in folder.rglob("*") if f.is_file())
    s.append(f"<details><summary>all {len(files)} files of this part</summary><ul>"
             + "".join(f"<li><a href='{H.esc(f)}'>{H.esc(f)}</a></li>" for f in files) + "</ul></details>")
    return "\n".join(s + log)
