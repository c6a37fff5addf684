"""`gandyn reproduce`: the page renders in headless Chromium with every image loaded,
its checks and statuses agree with the files, and bad --out values fail before any work.

The end-to-end run uses the smallest settings of every part (profile "tiny"), not --quick."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from _mnist_dir import HAVE_MNIST, SHARED
from gandyn.metrics.intervals import wilson_interval

ROOT = Path(__file__).resolve().parents[1]
# one BLAS thread: on a busy machine two threads slow the tiny MNIST training many times over
ENV = {"OPENBLAS_NUM_THREADS": "1", **os.environ,
       "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
                 if shutil.which(n)), None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not found (Debian: apt-get install "
                                                             "chromium); the page is not rendered")

# After the page has loaded, list the images that did not load (naturalWidth 0) in the title.
PROBE = ("<script>window.addEventListener('load', () => {"
         "const bad = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
         ".map(i => i.getAttribute('src'));"
         "document.title = 'IMAGES ' + document.images.length + ' BROKEN ' + JSON.stringify(bad);});</script>")


def _python(code: str, env=None, cwd=None):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env or ENV, cwd=cwd)


def _no_mnist_env(tmp: Path) -> dict:
    (tmp / "empty").mkdir(exist_ok=True)
    return {**ENV, "GANDYN_DATA": str(tmp / "empty"), "XDG_CACHE_HOME": str(tmp / "cache")}


def _reproduce(out, *, parts="R.PARTS", data_dir=None, env=None):
    code = ("from gandyn.app import report as R\nfrom gandyn.cli.reproduce import run_command\n"
            f"raise SystemExit(R.reproduce({str(out)!r}, run_command, profile='tiny', data_dir={data_dir!r}, "
            f"quiet=True, parts={parts}))\n")
    return _python(code, env=env)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """One run of every part at its smallest settings (MNIST only where the files are)."""
    tmp = tmp_path_factory.mktemp("reproduce")
    out = tmp / "out"
    if HAVE_MNIST:
        r = _reproduce(out, data_dir=str(SHARED))
    else:
        r = _reproduce(out, env=_no_mnist_env(tmp))
    assert (out / "index.html").is_file(), r.stderr
    return out, r


def _render(html: Path) -> str:
    """The title the probe script sets, after Chromium has loaded ``html``."""
    r = subprocess.run([CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--virtual-time-budget=30000",
                        "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120)
    m = re.search(r"<title>(IMAGES \d+ BROKEN .*?)</title>", r.stdout)
    assert m, f"Chromium did not run the probe (exit status {r.returncode}): {r.stderr[-500:]}"
    return m.group(1)


def _probe_copy(out: Path, extra: str = "") -> Path:
    """index.html with the probe (and ``extra``) before </body>, in the same folder so
    relative paths resolve the same way."""
    html = (out / "index.html").read_text()
    assert html.count("</body>") == 1
    probe = out / "_probe.html"
    probe.write_text(html.replace("</body>", extra + PROBE + "</body>"))
    return probe


@needs_chromium
def test_every_image_of_the_page_loads_in_chromium(page):
    out, _ = page
    title = _render(_probe_copy(out))
    n_img = len(re.findall(r"<img ", (out / "index.html").read_text()))
    assert n_img >= 10  # figures of gan1d, sweep, theory and nash at least (MNIST adds more where found)
    assert title == f"IMAGES {n_img} BROKEN []"


@needs_chromium
def test_the_chromium_probe_catches_a_missing_and_a_corrupt_image(page):
    out, _ = page
    (out / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not an image" * 10)
    try:
        title = _render(_probe_copy(out, "<img src='gan1d/nope.png'><img src='corrupt.png'>"))
    finally:
        (out / "corrupt.png").unlink()
    n, bad = re.fullmatch(r"IMAGES (\d+) BROKEN (.*)", title).groups()
    assert json.loads(bad) == ["gan1d/nope.png", "corrupt.png"]


def test_page_shows_every_part_check_and_figure_by_relative_path(page):
    out, r = page
    html = (out / "index.html").read_text()
    record = json.loads((out / "reproduce.json").read_text())
    statuses = {p["name"]: p["status"] for p in record["parts"]}
    assert set(statuses) == {"gan1d", "sweep", "theory", "nash", "mnist"}
    assert statuses["mnist"] == ("pass" if HAVE_MNIST else "skipped")
    for name in ("sweep", "theory", "nash"):
        assert statuses[name] == "pass", (name, r.stderr)
    # the exit status says whether every part that ran holds its checks
    assert r.returncode == (0 if all(s in ("pass", "skipped") for s in statuses.values()) else 1)
    # every src is relative and names a file of the run; no absolute path of the run on the page
    srcs = re.findall(r"<img src='([^']+)'", html)
    assert srcs and all(not s.startswith("/") and (out / s).is_file() for s in srcs)
    assert str(out) not in html and str(out) not in (out / "reproduce.json").read_text()
    for stem in ("gan1d/figure1", "gan1d/jsd", "sweep/convergence_map", "theory/theory_learned",
                 "nash/dirac_trajectories", "nash/step_map"):
        assert f"<img src='{stem}.png'" in html and f"href='{stem}.pdf'" in html
    # checks with bounds and results: the nash closed forms against 1e-10, the theory bounds
    nash = next(p for p in record["parts"] if p["name"] == "nash")
    closed = [c for c in nash["checks"] if c["bound"] == "<= 1e-10"]
    assert len(closed) >= 15 and all(c["ok"] and c["value"] <= 1e-10 for c in closed)
    theory = next(p for p in record["parts"] if p["name"] == "theory")
    assert {c["bound"] for c in theory["checks"]} >= {"<= 1e-08", "<= 0.03", "<= 0"}
    assert html.count("class='badge pass'>pass<") >= len(closed)
    # a rate carries its 95% Wilson interval (metrics.intervals), recomputed from the sweep's file
    sweep = next(p for p in record["parts"] if p["name"] == "sweep")
    rate = next(c for c in sweep["checks"] if "Wilson" in c["name"])
    conv = np.load(out / "sweep" / "sweep.npz")["converged"]
    lo, hi = wilson_interval(int(conv.sum()), conv.size)
    assert rate["value"] == f"{conv.mean():.1%} [{lo:.1%}, {hi:.1%}]"
    # tables rendered, versions and seeds listed
    assert "<th>error</th>" in html and "<th>metric</th>" in html
    for word in ("numpy", "scipy", "python", "gandyn"):
        assert f"<td>{word}</td>" in html
    assert "--seed 0" in html and "wall time" in html
    if not HAVE_MNIST:
        assert "the MNIST files are not in" in html and not (out / "mnist").exists()


def test_a_part_that_cannot_complete_is_an_error_and_leaves_no_files(tmp_path):
    parts = ("({'name': 'broken', 'title': 'a part with a bad option', 'docs': 'docs/theory.md', 'about': 'x', "
             "'commands': ['theory --out {out} --perturbations 0'], 'figures': [], 'tables': [], 'checks': None},)")
    r = _reproduce(tmp_path / "out", parts=parts)
    assert r.returncode == 1
    record = json.loads((tmp_path / "out" / "reproduce.json").read_text())
    assert record["parts"][0]["status"] == "error" and "bad arguments" in record["parts"][0]["note"]
    assert not (tmp_path / "out" / "broken").exists()
    assert "ERROR" in (tmp_path / "out" / "index.html").read_text()


def test_rerun_into_an_earlier_output_replaces_its_parts(tmp_path):
    out = tmp_path / "out"
    env = _no_mnist_env(tmp_path)
    assert _reproduce(out, parts="(R.PARTS[-1],)", env=env).returncode == 0  # MNIST: skipped, no data
    (out / "mnist").mkdir()
    (out / "mnist" / "stale.txt").write_text("from an earlier run")
    r = _reproduce(out, parts="(R.PARTS[-1],)", env=env)
    assert r.returncode == 0, r.stderr
    assert not (out / "mnist").exists()  # a skipped part keeps no earlier files
    assert json.loads((out / "reproduce.json").read_text())["parts"][0]["status"] == "skipped"


@pytest.mark.parametrize("case", ["empty", "file", "under_a_file", "not_empty", "unwritable"])
def test_bad_out_is_one_line_exit_2_before_any_work(tmp_path, case):
    (tmp_path / "f").write_text("x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("x")
    ro = tmp_path / "ro"
    ro.mkdir()
    out = {"empty": "", "file": str(tmp_path / "f"), "under_a_file": str(tmp_path / "f" / "out"),
           "not_empty": str(tmp_path / "full"), "unwritable": str(ro / "a" / "b")}[case]
    if case == "unwritable":
        ro.chmod(0o500)
        if os.access(ro, os.W_OK):
            ro.chmod(0o700)
            pytest.skip("running as a user who may write anywhere (root): no unwritable folder to test with")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    try:
        r = subprocess.run([sys.executable, "-m", "gandyn", "reproduce", "--quick", "--out", out],
                           capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=60)
    finally:
        ro.chmod(0o700)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "--out" in r.stderr and "Traceback" not in r.stderr
    assert r.stdout == ""
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing created


def test_html_cells_are_escaped():
    from gandyn.app import html as H

    html = H.table([{"a": "<script>x</script>", "b": 0.000123456, "c": "1.5e-16"}])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert ">0.0001235<" in html and ">1.5e-16<" in html


def test_out_that_cannot_be_written_is_refused_and_leaves_no_folder(tmp_path, monkeypatch):
    """The two guards of an unwritable --out, also where the tests run as root: the
    permission check before any work, and the probe file when the folder is made."""
    import tempfile

    from gandyn.app import report as R

    monkeypatch.setattr(R.os, "access", lambda path, mode: False)
    with pytest.raises(ValueError, match=r"--out .*: cannot write in .* \(permission denied\)"):
        R.reproduce(tmp_path / "a" / "b", None, profile="tiny", parts=())
    monkeypatch.undo()

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(ValueError, match=r"--out .*: cannot write there \(Permission denied\)"):
        R.reproduce(tmp_path / "a" / "b", None, profile="tiny", parts=())
    assert list(tmp_path.iterdir()) == []  # the folders made for the probe are gone again


def test_a_data_dir_without_mnist_fails_before_any_work(tmp_path, capsys, monkeypatch):
    """--data-dir is checked (the files found or fetched) before the first part runs."""
    import gandyn.data
    from gandyn.cli import main

    def missing(spec, dirs, *a, **k):
        raise FileNotFoundError(f"MNIST file {spec.name}.gz not found in {dirs[0]}")

    monkeypatch.setattr(gandyn.data, "locate", missing)
    out = tmp_path / "rp"
    assert main(["reproduce", "--quick", "--data-dir", str(tmp_path / "none"), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not found" in err[0]
    assert not out.exists()


def test_command_lines_of_parts_json_keep_paths_with_spaces_whole():
    """A part's command lines come from parts.json: ``{out}`` and ``{data}`` stay one word each
    (paths with spaces), ``{options}`` and the other settings are the profile's."""
    from gandyn.app import report as R

    parts = {p["name"]: p for p in R.PARTS}
    out = Path("my out") / "mnist"
    mnist = [R._argv(t, out, "my data", parts["mnist"]["settings"]["quick"]) for t in parts["mnist"]["commands"]]
    assert mnist[0] == ["mnist", "train", "--iters", "1000", "--checkpoint-every", "0", "--grid-every", "250",
                        "--out", "my out/mnist/train", "--data-dir", "my data"]
    assert mnist[1][:3] == ["mnist", "sample", "--checkpoint"] and mnist[1][3] == "my out/mnist/train/checkpoint.npz"
    assert R._argv(parts["sweep"]["commands"][0], Path("o"), None, parts["sweep"]["settings"]["tiny"]) == [
        "gan1d", "--sweep", "--out", "o", "--grid", "3", "--seeds", "1", "--steps", "100"]
    assert R._argv(parts["nash"]["commands"][0], Path("o"), "d", {}) == ["nash", "--out", "o"]  # full: the defaults


def test_the_page_shows_any_json_table_file(tmp_path):
    # a JSON table that is neither a list of objects nor an object is shown as it is, not a crash
    from gandyn.app.html import table_file

    for i, value in enumerate(([1, 2, 3], 5, [[1, 2], [3, 4]])):
        p = tmp_path / f"t{i}.json"
        p.write_text(json.dumps(value))
        html, _ = table_file(p)
        assert html.startswith("<pre>") and json.dumps(value, indent=1) in html
