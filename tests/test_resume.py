"""Long commands that resume: a `gandyn mog` killed midway (SIGKILL) and run again trains only
its missing shards and writes the tables of a run never stopped; its workers die with it; a
folder of another configuration or left incomplete by another command is refused."""
import csv
import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gandyn import io
from gandyn.app import backends, folders
from gandyn.cli import main

ROOT = Path(__file__).resolve().parents[1]

MOG = ["--data", "ring8", "--methods", "altgd", "simgd", "--lrs", "1e-3", "--seeds", "3", "--steps", "150",
       "--checks", "2", "--hidden", "8", "--batch", "16", "--n-eval", "100", "--chunk", "1", "--quiet"]


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}


def _mog(out, *extra):
    return [sys.executable, "-m", "gandyn", "mog", *MOG, "--out", str(out), *extra]


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _table(d):
    return [{k: v for k, v in r.items() if k != "wall_seconds"} for r in csv.DictReader((d / "table.csv").open())]


def _results(d):
    with np.load(d / "results_ring8.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files if k != "__meta__"}


def _kill_after_first_shard(argv, folder, timeout=120):
    """Start ``argv``, SIGKILL it once a shard is stored in ``folder/shards`` (and before it
    ends); returns the pids of its children seen just before the kill."""
    p = subprocess.Popen(argv, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    kids = []
    try:
        while p.poll() is None and time.monotonic() < deadline:
            kids = _children(p.pid) or kids
            if any((folder / "shards").glob("ring8_*.npz")):
                kids = _children(p.pid) or kids
                p.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
    finally:
        if p.poll() is None and time.monotonic() >= deadline:
            p.kill()
        p.wait()
    assert p.returncode == -signal.SIGKILL, "the run ended before a shard was stored"
    return kids


@pytest.mark.parametrize("jobs", ["2"])
def test_a_killed_mog_resumes_to_the_tables_of_an_uninterrupted_run(tmp_path, jobs, capsys):
    ref, run = tmp_path / "ref", tmp_path / "run"
    assert main(["mog", *MOG, "--jobs", "1", "--out", str(ref)]) == 0
    kids = _kill_after_first_shard(_mog(run, "--jobs", jobs), run)
    if jobs == "2":  # its worker processes (and multiprocessing's helpers) die with it
        assert kids
        deadline = time.monotonic() + 10
        while any(_alive(k) for k in kids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(k) for k in kids)
    assert (run / folders.INCOMPLETE).is_file() and not (run / folders.MANIFEST).exists()
    stored = sorted((run / "shards").glob("ring8_*.npz"))
    assert 1 <= len(stored) < 6
    (run / ".table.ab12cd34.json").write_text("{")  # as a killed writer leaves it
    (run / "shards" / ".run.a1b2c3d4.json").write_text("{")
    (run / "shards" / ".ring8_0123456789ab.zz00zz00.npz").write_bytes(b"PK")
    r = subprocess.run(_mog(run, "--jobs", jobs), env=_env(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert _table(run) == _table(ref)
    a, b = _results(run), _results(ref)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes(), k
    assert (run / "models_ring8.csv").read_text() == (ref / "models_ring8.csv").read_text()
    assert not (run / folders.INCOMPLETE).exists() and (run / folders.MANIFEST).is_file()
    assert not (run / "shards").exists() and not [p.name for p in run.rglob(".*")]


def test_shards_stored_are_not_trained_again(tmp_path, monkeypatch, capsys):
    from gandyn.experiments import mog
    from gandyn.app.backends import ShardStore

    from gandyn.engine.population import Networks

    cfg = mog.MogConfig(data="ring8", methods=["altgd"], lrs=[1e-3], seeds=4, steps=6, checks=2,
                        networks=Networks(hidden_g=(4,), hidden_d=(4,)), training=mog.MogConfig.training.replace(batch=8), n_eval=50, chunk=1, ttur=1.0,
                        decay=1.0)
    whole = backends.run_mog(cfg)
    store = ShardStore(tmp_path, "ring8")
    real = mog.run_shard
    trained = []

    def counting(c, units, **kw):
        trained.append(list(units))
        if 2 in units:
            raise RuntimeError("stopped")
        return real(c, units, **kw)

    monkeypatch.setattr(mog, "run_shard", counting)
    with pytest.raises(backends.ShardError) as e:
        backends.run_mog(cfg, store=store)
    assert e.value.partial["rows"].tolist() == [0, 1]
    trained.clear()
    monkeypatch.setattr(mog, "run_shard", real)
    monkeypatch.setattr(mog, "run_shard", lambda c, units, **kw: trained.append(list(units)) or real(c, units, **kw))
    again = backends.run_mog(cfg, store=store)
    assert trained == [[2], [3]]
    for key in ("rows", "modes_checks", "high_quality_checks", "reverse_kl_checks", "counts_checks", "samples"):
        np.testing.assert_array_equal(whole[key], again[key])


def test_a_resumed_run_counts_the_wall_time_of_its_earlier_parts(tmp_path, monkeypatch):
    from gandyn.app.backends import ShardStore

    clock = iter(range(0, 10_000, 10))  # each reading of the clock 10 s after the last
    monkeypatch.setattr(backends.time, "perf_counter", lambda: float(next(clock)))
    first = ShardStore(tmp_path, "seed")
    assert first.load() == {} and first.earlier_seconds == 0  # started at 10 s
    first.save([0], {"x": np.zeros(1)})  # at 20 s: 10 s into the first part
    first.save([1], {"x": np.ones(1)})  # at 30 s: 20 s in; the part was then killed
    second = ShardStore(tmp_path, "seed")
    assert sorted(second.load()) == [(0,), (1,)] and second.earlier_seconds == 20
    second.save([2], {"x": np.ones(1)})  # 10 s into the second part
    third = ShardStore(tmp_path, "seed")
    assert len(third.load()) == 3 and third.earlier_seconds == 30


def test_a_folder_of_another_configuration_is_refused_naming_the_field(tmp_path, capsys):
    out = tmp_path / "o"
    small = [*MOG[:MOG.index("--steps")], "--steps", "4", "--checks", "1", "--hidden", "4", "--n-eval", "20",
             "--jobs", "1", "--quiet", "--out", str(out)]
    assert main(["mog", *small]) == 0
    capsys.readouterr()
    before = sorted(p.name for p in out.iterdir())
    assert main(["mog", *small, "--seed", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "another configuration" in err and "seed: 0 there, 1 here" in err
    assert sorted(p.name for p in out.iterdir()) == before


def test_a_folder_left_incomplete_by_another_command_is_refused(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    io.write_text(out / folders.INCOMPLETE, "gandyn gan1d --sweep is writing into this folder, or was stopped ...\n")
    code = main(["mog", "--quick", "--jobs", "1", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "gan1d --sweep" in err
    assert sorted(p.name for p in out.iterdir()) == [folders.INCOMPLETE]


def test_first_difference_names_the_path():
    assert folders.first_difference([{"a": 1, "b": [1, 2]}], [{"a": 1, "b": [1, 3]}]) == "[0].b[1]: 2 there, 3 here"
    assert folders.first_difference({"a": 1}, {"a": 1, "c": 2}) == "c: '(none)' there, 2 here"


# --- landscape: finished checkpoints kept, an internal fault is a bug (exit 1), not bad input


LS = ["--n-eigs", "3", "--slq-steps", "8", "--slq-vectors", "2", "--path-points", "5", "--batch", "12", "--quiet"]


@pytest.fixture(scope="module")
def gan1d_run(tmp_path_factory):
    from gandyn import history
    from gandyn.experiments import gan1d
    from gandyn.experiments.gan1d import TRAINING, record_run

    out = tmp_path_factory.mktemp("gan1d")
    arrays, meta = record_run(gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=3, hidden_d=4), training=TRAINING.replace(batch=16)), seed=0, steps=60,
                               record_every=20)
    history.save(out / "history.npz", arrays, meta)
    return out


def test_a_landscape_stopped_by_a_bug_says_so_and_resumes_from_its_finished_checkpoints(gan1d_run, tmp_path,
                                                                                         capsys, monkeypatch):
    from gandyn.experiments import landscape

    ref, out = tmp_path / "ref", tmp_path / "o"
    assert main(["landscape", "--run", str(gan1d_run), "--out", str(ref), *LS]) == 0
    real, calls = landscape.spectra.game_spectrum, []

    def faulty(*a, **k):  # an internal fault mid-run: a ValueError that is no fault of the input
        calls.append(1)
        if len(calls) == 3:
            raise ValueError("operands could not be broadcast together with shapes (3,) (4,)")
        return real(*a, **k)

    monkeypatch.setattr(landscape.spectra, "game_spectrum", faulty)
    capsys.readouterr()
    assert main(["landscape", "--run", str(gan1d_run), "--out", str(out), *LS]) == 1
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert "Traceback" in err and "bug in gandyn" in last and "broadcast" in last
    assert "raised at gandyn/experiments/landscape.py:" in last and "in analyse" in last  # gandyn's innermost frame
    assert (out / "INCOMPLETE").is_file() and not (out / "manifest.json").exists()
    shards = out / backends.SHARDS  # the two finished snapshots, each a whole shard, and the run's record
    assert sorted(backends.ShardStore(shards, "iteration").load()) == [(0,), (20,)]
    assert sorted(p.name for p in shards.iterdir() if not p.name.startswith("iteration_")) == ["run.json"]
    assert len(list(shards.iterdir())) == 3
    calls.clear()
    assert main(["landscape", "--run", str(gan1d_run), "--out", str(out), *LS]) == 0
    assert len(calls) == 2  # the two checkpoints not finished before
    assert (out / "eigenvalues.csv").read_text() == (ref / "eigenvalues.csv").read_text()
    assert (out / "density.csv").read_text() == (ref / "density.csv").read_text()
    assert not (out / "INCOMPLETE").exists() and (out / "manifest.json").is_file()
    assert not (out / backends.SHARDS).exists()
    # another configuration into the finished folder: refused, naming the field
    assert main(["landscape", "--run", str(gan1d_run), "--out", str(out), *LS[:-3], "--batch", "10", "--quiet"]) == 2
    assert "batch: 12 there, 10 here" in capsys.readouterr().err


def test_a_killed_landscape_leaves_its_folder_marked_and_resumes(gan1d_run, tmp_path):
    ref, out = tmp_path / "ref", tmp_path / "o"
    argv = [sys.executable, "-m", "gandyn", "landscape", "--run", str(gan1d_run), *LS]
    assert main(argv[3:] + ["--out", str(ref)]) == 0
    p = subprocess.Popen([*argv, "--out", str(out)], env=_env(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while p.poll() is None and time.monotonic() < deadline:
        if any((out / backends.SHARDS).glob("iteration_*.npz")):
            p.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    p.wait()
    assert p.returncode == -signal.SIGKILL, "the analysis ended before a checkpoint was kept"
    assert (out / folders.INCOMPLETE).is_file() and not (out / folders.MANIFEST).exists()
    r = subprocess.run([*argv, "--out", str(out)], env=_env(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (out / "eigenvalues.csv").read_text() == (ref / "eigenvalues.csv").read_text()
    assert (out / folders.MANIFEST).is_file() and not (out / folders.INCOMPLETE).exists()


# --- the 1-D sweep: finished seeds kept


SWEEP = ["gan1d", "--sweep", "--grid", "2", "--seeds", "3", "--steps", "20", "--hidden-g", "4", "--hidden-d", "4",
         "--batch", "8", "--quiet"]


def test_a_stopped_sweep_trains_only_its_missing_seeds_and_equals_an_uninterrupted_one(tmp_path, capsys,
                                                                                        monkeypatch):
    from gandyn.experiments import gan1d

    ref, out = tmp_path / "ref", tmp_path / "o"
    assert main([*SWEEP, "--out", str(ref)]) == 0
    real, seen = gan1d.sweep, []

    @functools.wraps(real)  # the command reads its defaults from the function's signature
    def stopped(setup, *, seeds, **kw):
        seen.append(list(seeds))
        if list(seeds) == [2]:
            raise KeyboardInterrupt
        return real(setup, seeds=seeds, **kw)

    monkeypatch.setattr(gan1d, "sweep", stopped)
    assert main([*SWEEP, "--out", str(out)]) == 130
    assert (out / folders.INCOMPLETE).is_file() and len(list((out / "shards").glob("seed_*.npz"))) == 2
    seen.clear()
    assert main([*SWEEP, "--out", str(out)]) == 130  # seeds 0 and 1 are not trained again
    assert seen == [[2]]
    monkeypatch.setattr(gan1d, "sweep", real)
    assert main([*SWEEP, "--out", str(out)]) == 0
    assert (out / "sweep.csv").read_text() == (ref / "sweep.csv").read_text()
    a, b = (np.load(d / "sweep.npz") for d in (out, ref))
    assert all(a[k].tobytes() == b[k].tobytes() for k in a.files if k != "__meta__")
    assert (out / folders.MANIFEST).is_file() and not (out / "shards").exists()
    capsys.readouterr()
    assert main([*SWEEP, "--threshold", "0.2", "--out", str(out)]) == 2
    assert "threshold: 0.1 there, 0.2 here" in capsys.readouterr().err


def test_a_bug_in_a_mog_shard_exits_1_and_says_where(tmp_path, capsys, monkeypatch):
    """An internal fault mid-run (a ValueError from a library function, no fault of the input):
    exit status 1 and a pointer, not "bad input" with status 2; the finished shards are kept."""
    from gandyn.experiments import mog

    real, calls = mog.mode_coverage, []

    def broken(*a, **k):
        calls.append(1)
        if len(calls) > 2:
            raise ValueError("operands could not be broadcast together")
        return real(*a, **k)

    monkeypatch.setattr(mog, "mode_coverage", broken)
    out = tmp_path / "o"
    small = [*MOG[:MOG.index("--steps")], "--steps", "4", "--checks", "2", "--hidden", "4", "--n-eval", "20",
             "--chunk", "1", "--jobs", "1", "--quiet", "--out", str(out)]
    assert main(["mog", *small]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "a bug in gandyn, raised at gandyn/experiments/mog.py:" in err
    assert "in run_shard" in err and "broadcast" in err
    assert (out / folders.INCOMPLETE).is_file() and len(list((out / "shards").glob("ring8_*.npz"))) == 1
