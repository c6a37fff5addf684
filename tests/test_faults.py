"""Reliability under faults: SIGKILL during a checkpoint write (bit-for-bit resume, no
temporary file left), a full disk, divergence hidden in the optimizer states, broken
checkpoints, folders that are complete or visibly incomplete, divergence reported
with its iteration."""
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gandyn import io
from gandyn.app import folders, machine
from gandyn.engine.checkpoint import nonfinite, state_arrays
from gandyn.experiments import mnist
from gandyn.experiments.mnist import NETWORKS, MnistConfig

from _mnist_dir import HAVE_MNIST, SHARED, blob_images

SMALL = dict(networks=NETWORKS.replace(z_dim=8, hidden_g=16, hidden_d=16), n_train=200)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def images():
    """200 synthetic 'digits' (:func:`_mnist_dir.blob_images`)."""
    return blob_images()


def _read(path):
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return arrays, json.loads(str(arrays.pop("meta")))


def _same(a, b):
    (xa, ma), (xb, mb) = a, b
    assert ma == mb and xa.keys() == xb.keys()
    for k in xa:
        assert xa[k].dtype == xb[k].dtype and xa[k].tobytes() == xb[k].tobytes(), k


def _temps(folder):
    return sorted(p.name for p in Path(folder).rglob(".*") if p.is_file())


# --- SIGKILL during a checkpoint write


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _train_argv(out, *extra):
    return [sys.executable, "-m", "gandyn", "mnist", "train", "--out", str(out), "--iters", "150",
            "--n-train", "300", "--batch", "16", "--z-dim", "8", "--hidden-g", "16", "--hidden-d", "16",
            "--grid-every", "0", "--quiet", "--data-dir", str(SHARED), *extra]


@pytest.mark.skipif(not HAVE_MNIST, reason="MNIST files not available")
def test_sigkill_during_a_checkpoint_write_resumes_bit_for_bit_and_leaves_no_temp_file(tmp_path):
    ref, run = tmp_path / "ref", tmp_path / "run"
    r = subprocess.run(_train_argv(ref, "--checkpoint-every", "0"), env=_env(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # a checkpoint per iteration; kill as soon as one is being written after the first exists
    p = subprocess.Popen(_train_argv(run, "--checkpoint-every", "1"), env=_env(),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    caught = False
    while p.poll() is None and time.monotonic() < deadline:
        if (run / "checkpoint.npz").exists() and any(run.glob(".checkpoint.*.npz")):
            p.send_signal(signal.SIGKILL)
            caught = True
            break
        time.sleep(0.0002)
    p.wait()
    assert caught, "the run ended before a checkpoint write was seen"
    # whether or not the kill left a temporary file, plant one as a killed writer leaves it
    (run / ".checkpoint.zz99zz_9.npz").write_bytes(b"PK\x03\x04 half written")
    (run / ".losses.abcdefgh.csv").write_text("iteration,loss")
    stranger = run / ".checkpoint.npz.keep"  # not of the writer's naming pattern: kept
    stranger.write_text("x")
    it_killed = _read(run / "checkpoint.npz")[1]["iteration"]
    assert 1 <= it_killed < 150
    r = subprocess.run(_train_argv(run, "--resume", "--checkpoint-every", "0"), env=_env(), capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    _same(_read(run / "checkpoint.npz"), _read(ref / "checkpoint.npz"))
    assert _temps(run) == [stranger.name]
    cfg = json.loads((run / "config.json").read_text())
    assert cfg == _read(run / "checkpoint.npz")[1]["config"]


def test_stale_temp_files_of_the_runs_own_names_are_removed_by_the_next_run(tmp_path, images):
    (tmp_path / "grids").mkdir()
    planted = [tmp_path / ".checkpoint.ab12cd_3.npz", tmp_path / ".losses.q1w2e3r4.csv",
               tmp_path / ".config.a1b2c3d4.json", tmp_path / "grids" / ".iter_0000020.zz00zz00.png"]
    kept = [tmp_path / ".hidden_note", tmp_path / "grids" / ".iter_x.png", tmp_path / "notes.txt"]
    for p in planted + kept:
        p.write_text("x")
    tr = mnist.new_run(MnistConfig(training=MnistConfig.training.replace(batch=16), **SMALL), images)
    mnist.train(tr, 5, tmp_path, checkpoint_every=0, progress=False)
    assert not any(p.exists() for p in planted) and all(p.exists() for p in kept)


# --- a full disk


def test_full_disk_names_the_file_and_says_the_last_checkpoint_is_intact(tmp_path, images, monkeypatch):
    tr = mnist.new_run(MnistConfig(training=MnistConfig.training.replace(batch=16), **SMALL), images)
    mnist.train(tr, 10, tmp_path, checkpoint_every=0, progress=False)
    before = (tmp_path / "checkpoint.npz").read_bytes()
    tr = mnist.load_checkpoint(tmp_path / "checkpoint.npz", images)

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    with pytest.raises(OSError) as e:
        mnist.train(tr, 20, tmp_path, checkpoint_every=0, progress=False)
    msg = str(e.value)
    assert str(tmp_path / "checkpoint.npz") in msg and "No space left" in msg
    assert "iteration 10" in msg and "intact" in msg
    assert (tmp_path / "checkpoint.npz").read_bytes() == before and _temps(tmp_path) == []


def test_atomic_path_names_the_file_when_the_error_names_none(tmp_path):
    with pytest.raises(OSError, match="cannot write .*out.txt: No space"):
        with io.atomic_path(tmp_path / "out.txt"):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert list(tmp_path.iterdir()) == []


# --- divergence the losses do not show


def test_adam_state_overflow_stops_the_run_and_config_json_stays_with_the_checkpoint(tmp_path, images):
    tr = mnist.new_run(MnistConfig(training=MnistConfig.training.replace(batch=16), **SMALL), images)
    mnist.train(tr, 20, tmp_path, checkpoint_every=0, progress=False)
    cfg0 = json.loads((tmp_path / "config.json").read_text())
    assert cfg0["lr_d"] == 1e-3
    tr = mnist.load_checkpoint(tmp_path / "checkpoint.npz", images, lr_d=1e10)
    with pytest.raises(mnist.NonFiniteError) as e:
        mnist.train(tr, 400, tmp_path, checkpoint_every=7, progress=False)
    msg = str(e.value)
    assert "optimizer state" in msg and "at iteration" in msg and "intact" in msg
    # the losses and parameters stayed finite: only the guard on the states caught it
    assert np.isfinite(tr.trainer.theta_g).all() and np.isfinite(tr.losses[:tr.it]).all()
    arrays, meta = _read(tmp_path / "checkpoint.npz")
    assert all(np.isfinite(a).all() for a in arrays.values() if a.dtype.kind == "f")
    assert json.loads((tmp_path / "config.json").read_text()) == meta["config"]
    assert int(msg.split("at iteration ")[1].split(";")[0]) > meta["iteration"]


def test_the_g_average_is_guarded_and_no_checkpoint_saves_non_finite_state(tmp_path, images):
    tr = mnist.new_run(MnistConfig(training=MnistConfig.training.replace(batch=16, g_ema=0.99), **SMALL), images)
    mnist.train(tr, 4, tmp_path, checkpoint_every=0, progress=False)
    tr.g_average[3] = np.inf
    assert nonfinite(state_arrays(tr.trainer)) == "moving average of G's parameters"
    with pytest.raises(mnist.NonFiniteError, match="theta_g_ema"):
        mnist.save_checkpoint(tmp_path / "x.npz", tr)
    assert not (tmp_path / "x.npz").exists() and _temps(tmp_path) == []
    with pytest.raises(mnist.NonFiniteError, match="moving average of G's parameters at iteration 10"):
        mnist.train(tr, 30, tmp_path, checkpoint_every=0, progress=False)


# --- checkpoints that must be refused


def _rewrite(src, dst, arrays=None, meta=None):
    a, m = _read(src)
    a.update(arrays or {})
    m.update(meta or {})
    with open(dst, "wb") as f:
        np.savez(f, meta=np.array(json.dumps(m)), **a)
    return dst


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory, images):
    d = tmp_path_factory.mktemp("ckpt")
    tr = mnist.new_run(MnistConfig(training=MnistConfig.training.replace(batch=16), **SMALL), images)
    mnist.train(tr, 10, d, checkpoint_every=0, progress=False)
    return d / "checkpoint.npz"


@pytest.mark.parametrize("change,needle", [
    (dict(arrays={"theta_g": None}), "theta_g holds NaN"),
    (dict(meta={"sampler_pos": 10**9}), "sampler position"),
    (dict(meta={"sampler_pos": -1}), "sampler position"),
    (dict(meta={"iteration": -5}), "iteration"),
    (dict(meta={"iteration": 3}), "losses has shape"),
    (dict(arrays={"sampler_perm": np.zeros(200, np.int64)}), "permutation"),
    (dict(arrays={"sampler_perm": np.arange(199)}), "permutation"),
])
def test_broken_checkpoints_are_refused_in_one_line(tmp_path, ckpt, change, needle):
    arrays = change.get("arrays")
    if arrays and arrays.get("theta_g", 0) is None:
        a, _ = _read(ckpt)
        arrays = {"theta_g": np.full_like(a["theta_g"], np.nan)}
    bad = _rewrite(ckpt, tmp_path / "bad.npz", arrays, change.get("meta"))
    with pytest.raises(ValueError) as e:
        mnist.load_checkpoint(bad)
    assert needle in str(e.value) and str(bad) in str(e.value) and "\n" not in str(e.value)


def test_a_non_npz_file_is_not_a_checkpoint_and_no_pickle_is_suggested(tmp_path):
    f = tmp_path / "some.png"
    f.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(ValueError) as e:
        mnist.load_checkpoint(f)
    assert str(f) in str(e.value) and "not an .npz" in str(e.value) and "pickle" not in str(e.value)


def test_n_train_beyond_the_training_split_is_refused():
    MnistConfig(n_train=55_000)
    with pytest.raises(ValueError, match="55,000"):
        MnistConfig(n_train=55_001)


# --- output folders complete or visibly incomplete


def test_output_folder_marks_an_unfinished_run_and_writes_a_manifest_last(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    io.write_text(out / "old.csv", "earlier run")
    io.write_json(out / folders.MANIFEST, {"files": {"old.csv": 11}})
    with pytest.raises(RuntimeError):
        with folders.output_folder(out, "test") as o:
            io.write_text(o / "new.csv", "half of a run")
            raise RuntimeError("killed")
    # interrupted: the marker stays, the earlier manifest is gone
    assert (out / folders.INCOMPLETE).is_file() and not (out / folders.MANIFEST).exists()
    with folders.output_folder(out, "test") as o:
        time.sleep(0.01)
        io.write_text(o / "new.csv", "a whole run")
    assert not (out / folders.INCOMPLETE).exists()
    assert json.loads((out / folders.MANIFEST).read_text())["files"] == {"new.csv": 11}


def test_a_failing_command_leaves_no_new_folder(tmp_path):
    out = tmp_path / "a" / "b"
    with pytest.raises(ValueError):
        with folders.output_folder(out, "test"):
            raise ValueError("bad input found late")
    assert not out.exists()


def test_check_memory_names_the_size():
    machine.check_memory(1, "one byte")
    with pytest.raises(ValueError, match=r"--n 10 needs about .* PB of memory"):
        machine.check_memory(10**18, "--n 10")


# --- divergence reported with its iteration


def test_gan1d_divergence_names_the_iteration():
    from gandyn.experiments import gan1d

    with pytest.raises(gan1d.DivergedError, match=r"training diverged at iteration \d+"):
        gan1d.record_run(gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=4, hidden_d=4), training=gan1d.TRAINING.replace(batch=8)), 0, lr_d=1e300, steps=20, record_every=5,
                         grid=41, n_samples=200)


def test_gan1d_sweep_records_diverged_models():
    from gandyn.experiments import gan1d

    arrays, _ = gan1d.sweep(gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=4, hidden_d=4, dtype=np.float32), training=gan1d.TRAINING.replace(batch=8)),
                            lr_g_values=[1e-3], lr_d_values=[1e-3, 1e200], seeds=[0], steps=10, checks=2)
    div = arrays["diverged_at"][0, 0, 0]
    assert div[0, 0] == -1 and div[1, 0] > 0
    assert arrays["jsd"][0, 0, 0, 1, 0] == pytest.approx(np.log(2)) and not arrays["converged"][0, 0, 0, 1, 0]


def test_demo_divergence_names_the_iteration():
    from gandyn.experiments.demo import run_demo

    with pytest.raises(ValueError, match=r"training diverged at iteration 1\b"):
        run_demo(steps=10, lr=1e300, hidden=4, batch=8, progress=False)


def test_dirac_panels_report_the_step_they_diverge_at():
    from gandyn.experiments import game_study as gs

    panels = gs.dirac_panels(h=1e300, steps=5)
    assert all(p.diverged_at == 1 for p in panels)
    assert all(p.diverged_at is None for p in gs.dirac_panels(h=0.05, steps=5))


# --- API input validation


def test_api_inputs_refused():
    from gandyn.engine.nn import MLP
    from gandyn.games import dirac_gan, nash

    with pytest.raises(ValueError, match="integers, got 3.5"):
        MLP((3.5, 4, 1), ("relu", "identity"))
    assert MLP((3.0, 4, 1), ("relu", "identity")).sizes == (3, 4, 1)
    m = MLP((3, 4, 1), ("relu", "identity"))
    with pytest.raises(ValueError, match=r"got shape \(3,\)"):
        m.forward(np.zeros(m.n_params), np.zeros(3))
    with pytest.raises(ValueError, match="z must be finite"):
        nash.classify(dirac_gan(), [np.nan, 0])
    with pytest.raises(ValueError, match="h must be a finite"):
        nash.classify(dirac_gan(), [0, 0], h=np.inf)
    with pytest.raises(ValueError, match="noise_std"):
        dirac_gan(noise_std=np.nan)
