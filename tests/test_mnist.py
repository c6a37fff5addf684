"""MNIST training: config, data order, a few iterations, checkpoint and bit-for-bit
resume (in process and by SIGINT to the CLI), NaN guard, the commands."""
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from gandyn.data import EpochSampler
from gandyn.experiments import mnist
from gandyn.experiments.mnist import NETWORKS, MnistConfig, nested

from _mnist_dir import HAVE_MNIST, SHARED, blob_images
SMALL = dict(z_dim=8, hidden_g=(16,), hidden_d=(16,), n_train=200)


def config(small=True, **kw):
    """A config: the small one (batch 16) or the default, with ``kw``, flat settings
    (:func:`gandyn.experiments.mnist.nested`)."""
    return MnistConfig(**nested({**SMALL, "batch": 16, **kw} if small else kw))


@pytest.fixture(scope="module")
def images():
    """200 synthetic 'digits' (:func:`_mnist_dir.blob_images`)."""
    return blob_images()


def test_default_config_is_the_talks():
    c = MnistConfig()
    gan = c.gan()
    assert gan.D.sizes == (784, 128, 1) and gan.D.activations == ("relu", "identity")
    assert gan.G.sizes == (100, 128, 784) and gan.G.activations == ("relu", "sigmoid")
    t = c.training
    assert (t.batch, t.k, t.loss, c.networks.latent, t.optimizer, c.lr_g, c.lr_d) == (128, 1, "nonsat", "uniform",
                                                                             "adam", 1e-3, 1e-3)
    assert gan.G.dtype == np.float32 and c.n_train == 55_000
    assert MnistConfig(networks=NETWORKS.replace(hidden_g=(1200, 1200))).gan().G.sizes == (100, 1200, 1200, 784)
    assert MnistConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    c2 = config(small=False, g_ema=0.999, hidden_d=(64, 32), d_dropout=(0.2, 0.5, 0.5), label_smooth=0.1)
    assert MnistConfig.from_dict(json.loads(json.dumps(c2.to_dict()))) == c2
    assert c2.gan().d_dropout == (0.2, 0.5, 0.5) and c2.gan().label_smooth == 0.1


@pytest.mark.parametrize("bad", [dict(k=0), dict(loss="wasserstein"), dict(optimizer="rmsprop"),
                                 dict(batch=300, n_train=200), dict(hidden_act="gelu"),
                                 dict(d_dropout=(0.5,)), dict(d_dropout=(0.5, 1.0)), dict(label_smooth=1.0),
                                 dict(g_ema=1.0)])
def test_bad_config(bad):
    with pytest.raises(ValueError):
        config(small=False, **bad)


def test_epoch_sampler_visits_every_image_once_per_epoch():
    imgs = np.arange(10, dtype=np.uint8)[:, None].repeat(784, axis=1)
    s, rng = EpochSampler(imgs), np.random.default_rng(1)
    seen = np.concatenate([s.indices(rng, 3) for _ in range(10)])  # 30 = three epochs
    for e in range(3):
        assert sorted(seen[10 * e: 10 * e + 10]) == list(range(10))
    x = s(rng, 4)
    assert x.dtype == np.float32 and x.shape == (4, 784)
    np.testing.assert_allclose(x[:, 0] * 255, np.round(x[:, 0] * 255), atol=1e-4)
    assert 0 <= x.min() and x.max() <= 1


def test_training_changes_parameters_and_losses_stay_finite(images, tmp_path):
    tr = mnist.new_run(config(), images)
    g0, d0 = tr.trainer.theta_g.copy(), tr.trainer.theta_d.copy()
    res = mnist.train(tr, 20, tmp_path, progress=False)
    assert res["iteration"] == 20 and not res["interrupted"]
    assert not np.array_equal(g0, tr.trainer.theta_g) and not np.array_equal(d0, tr.trainer.theta_d)
    assert np.all(np.isfinite(tr.losses)) and tr.losses.shape == (20, 2)
    # at initialisation D ~ 1/2, so its loss -V is near log 4 (Goodfellow et al. 2014, Theorem 1)
    assert abs(tr.losses[0, 0] - np.log(4)) < 0.5
    rows = (tmp_path / "losses.csv").read_text().splitlines()
    assert rows[0] == "iteration,loss_d,loss_g" and len(rows) == 21
    np.testing.assert_allclose(mnist.read_losses(tmp_path / "losses.csv"), tr.losses, rtol=1e-5)  # 6 digits


def test_read_losses_refuses_a_non_finite_loss_unless_asked(tmp_path):
    path = mnist.write_losses(tmp_path / "losses.csv", np.array([[1.0, 2.0], [np.nan, 3.0]], np.float32))
    with pytest.raises(ValueError, match="loss of iteration 2 is not finite"):
        mnist.read_losses(path)
    got = mnist.read_losses(path, finite=False)  # the report's check counts it as failed
    assert got.shape == (2, 2) and np.isnan(got[1, 0]) and got[1, 1] == 3.0


@pytest.mark.parametrize("opt", [dict(optimizer="momentum", mu=0.5, lr_g=0.05, lr_d=0.05),
                                 dict(optimizer="sgd", loss="minimax", k=2), dict(latent="normal")])
def test_options_train(images, tmp_path, opt):
    tr = mnist.new_run(config(**opt), images)
    mnist.train(tr, 5, tmp_path, progress=False)
    assert np.all(np.isfinite(tr.losses))


def _same(a, b):
    for name in ("theta_g", "theta_d"):
        np.testing.assert_array_equal(getattr(a.trainer, name), getattr(b.trainer, name))
    def leaves(state):  # the arrays and counters of a (nested) optimizer state
        for x in state:
            yield from (leaves(x) if isinstance(x, tuple) else (x,))

    for sa, sb in ((a.trainer.state_g, b.trainer.state_g), (a.trainer.state_d, b.trainer.state_d)):
        for x, y in zip(leaves(sa), leaves(sb), strict=True):
            np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert a.trainer.batches.rng_latent.bit_generator.state == b.trainer.batches.rng_latent.bit_generator.state
    assert (a.g_average is None) == (b.g_average is None)
    if a.g_average is not None:
        np.testing.assert_array_equal(a.g_average, b.g_average)
    if a.trainer.rng_dropout is not None:
        assert a.trainer.rng_dropout.bit_generator.state == b.trainer.rng_dropout.bit_generator.state
    assert (a.trainer.stats_g is None) == (b.trainer.stats_g is None)
    if a.trainer.stats_g is not None:  # G's batch norm: its running statistics
        np.testing.assert_array_equal(a.trainer.stats_g, b.trainer.stats_g)


@pytest.mark.parametrize("opt", [{}, dict(optimizer="momentum", k=2),
                                 dict(d_dropout=(0.2, 0.5), label_smooth=0.1, g_ema=0.99),
                                 # goodfellow2014's pieces: maxout D, dropout, simultaneous steps, schedules
                                 dict(d_pieces=3, d_dropout=(0.2, 0.5), method="simgd", optimizer="momentum",
                                      mu=0.5, mu_final=0.7, mu_saturate=3, lr_decay=1.01, lr_min=1e-4,
                                      init="uniform_0.05", d_init="uniform_0.005", latent="normal"),
                                 dict(g_batch_norm=True, hidden_g=(16, 8), optimizer="momentum", k=2)])
def test_interrupt_and_resume_equals_uninterrupted(images, tmp_path, opt):
    """SIGINT at iteration 13 (delivered to this process), checkpoint, resume to 40."""
    cfg = config(**opt)
    full = mnist.new_run(cfg, images)
    mnist.train(full, 40, tmp_path / "full", progress=False, grid_every=0)

    def interrupt(tr):
        if tr.it == 13:
            os.kill(os.getpid(), signal.SIGINT)

    part = mnist.new_run(cfg, images)
    res = mnist.train(part, 40, tmp_path / "part", progress=False, callback=interrupt, checkpoint_every=5)
    assert res["interrupted"] and res["iteration"] == 13
    resumed = mnist.load_checkpoint(tmp_path / "part" / mnist.CHECKPOINT, images)
    assert resumed.it == 13
    mnist.train(resumed, 40, tmp_path / "part", progress=False)
    _same(full, resumed)
    assert (tmp_path / "full/losses.csv").read_text() == (tmp_path / "part/losses.csv").read_text()


def test_nan_guard_keeps_last_good_checkpoint(images, tmp_path):
    tr = mnist.new_run(config(), images)

    def poison(t):
        if t.it == 12:
            t.trainer.theta_d[3] = np.nan

    with np.errstate(all="ignore"):
        with pytest.raises(mnist.NonFiniteError, match="iteration 1[23]") as e:
            mnist.train(tr, 30, tmp_path, progress=False, checkpoint_every=10, callback=poison)
    assert "\n" not in str(e.value)
    good = mnist.load_checkpoint(tmp_path / mnist.CHECKPOINT, images)
    assert good.it == 10 and np.all(np.isfinite(good.trainer.theta_d))


def test_other_formats_are_refused(images, tmp_path):
    """A checkpoint of another format is refused with its format named."""
    import json

    tr = mnist.new_run(config(), images)
    mnist.train(tr, 2, tmp_path, progress=False, grid_every=0)
    with np.load(tmp_path / mnist.CHECKPOINT) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("meta")))
    assert meta["format"] == mnist.FORMAT
    meta["format"] = "gandyn.experiments.mnist/1"
    np.savez(tmp_path / "v1.npz", meta=np.array(json.dumps(meta)), **arrays)
    with pytest.raises(ValueError, match="format 'gandyn.experiments.mnist/1', written by an earlier gandyn; "
                                         "this version reads 'gandyn.experiments.mnist/"):
        mnist.load_checkpoint(tmp_path / "v1.npz", images)
    meta["format"] = "someone.else/5"
    np.savez(tmp_path / "other.npz", meta=np.array(json.dumps(meta)), **arrays)
    with pytest.raises(ValueError, match="not a gandyn MNIST checkpoint .format 'someone.else/5'"):
        mnist.load_checkpoint(tmp_path / "other.npz", images)


def test_checkpoint_rejects_garbage(tmp_path):
    p = tmp_path / "x.npz"
    p.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a gandyn MNIST checkpoint"):
        mnist.load_checkpoint(p)
    with pytest.raises(ValueError, match="no checkpoint"):
        mnist.load_checkpoint(tmp_path / "missing.npz")


def test_checkpoint_truncated_or_incomplete_is_a_value_error(images, tmp_path):
    """A checkpoint cut short (a crash outside gandyn's atomic writes, a partial copy) or
    missing an entry is refused with one ValueError, never a traceback of zipfile/KeyError."""
    import zipfile

    tr = mnist.new_run(config(), images)
    good = mnist.save_checkpoint(tmp_path / "good.npz", tr)
    data = good.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a gandyn MNIST checkpoint"):
        mnist.load_checkpoint(cut)
    partial = tmp_path / "partial.npz"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(partial, "w") as dst:
        for name in src.namelist():
            if name != "losses.npy":
                dst.writestr(name, src.read(name))
    with pytest.raises(ValueError, match="not a valid gandyn MNIST checkpoint"):
        mnist.load_checkpoint(partial, images)


def test_grids_and_sampling(images, tmp_path):
    from gandyn.plotting.mnist import save_grid

    tr = mnist.new_run(config(), images)
    mnist.train(tr, 10, tmp_path, progress=False, grid_every=5, save_grid=save_grid)
    grids = sorted(p.name for p in (tmp_path / "grids").iterdir())
    assert grids == ["iter_0000000.png", "iter_0000005.png", "iter_0000010.png"]
    x = mnist.generate(tr, 50, np.random.default_rng(0), batch=16)
    assert x.shape == (50, 784) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    # the grid noise is fixed: the same samples every time
    np.testing.assert_array_equal(tr.samples(tr.grid_noise()), tr.samples(tr.grid_noise()))


def test_moving_average_generator_is_what_samples_come_from(images, tmp_path):
    tr = mnist.new_run(config(g_ema=0.9), images)
    mnist.train(tr, 10, tmp_path, progress=False, grid_every=0)
    run = tr.trainer
    assert not np.array_equal(tr.g_average, run.theta_g)
    z = tr.grid_noise()
    np.testing.assert_array_equal(tr.samples(z), run.gan.G(tr.g_average, z))
    np.testing.assert_array_equal(tr.samples(z, ema=False), run.gan.G(run.theta_g, z))
    x = mnist.generate(tr, 20, np.random.default_rng(0))
    np.testing.assert_array_equal(x, run.gan.G(tr.g_average, run.gan.sample_z(np.random.default_rng(0), 20)))
    loaded = mnist.load_checkpoint(tmp_path / mnist.CHECKPOINT)
    np.testing.assert_array_equal(loaded.g_average, tr.g_average)


def test_batch_norm_generator_samples_with_its_running_statistics(images, tmp_path):
    """A batch-norm G (Ioffe & Szegedy 2015) trains with batch statistics and folds them into
    running statistics at every G step; samples, grids and ``generate`` use the running ones
    (evaluation mode: a sample depends on its own z only), and the checkpoint keeps them."""
    cfg = config(g_batch_norm=True, hidden_g=(16, 8))
    tr = mnist.new_run(cfg, images)
    G, run = tr.gan.G, tr.trainer
    assert G.batch_norm == (True, True, False) and run.stats_g.shape == (G.stats_layout.size,)
    mnist.train(tr, 6, tmp_path, progress=False, grid_every=0)
    # 6 G steps from (mean 0, std 1): the running statistics moved
    assert not np.array_equal(run.stats_g, G.init_stats())
    z = tr.grid_noise()
    x = tr.samples(z)
    np.testing.assert_array_equal(x, G(run.theta_g, z, run.stats_g))
    assert np.abs(x - G(run.theta_g, z)).max() > 1e-3  # not the grid's own batch statistics
    # each row its own, and the chunks of generate don't matter: equal up to float32 rounding (a GEMM
    # of 3 or 7 rows may take another BLAS kernel than one of 16 or 40), where the batch's own
    # statistics would move the samples by more than 1e-3 (above)
    np.testing.assert_allclose(tr.samples(z[:3]), x[:3], rtol=0, atol=1e-6)
    a = mnist.generate(tr, 40, np.random.default_rng(0), batch=7)
    np.testing.assert_allclose(a, mnist.generate(tr, 40, np.random.default_rng(0)), rtol=0, atol=1e-6)
    loaded = mnist.load_checkpoint(tmp_path / mnist.CHECKPOINT)
    assert loaded.config == cfg and loaded.config.networks.g_batch_norm
    np.testing.assert_array_equal(loaded.trainer.stats_g, run.stats_g)
    np.testing.assert_array_equal(loaded.samples(z), x)
    with np.load(tmp_path / mnist.CHECKPOINT) as f:
        assert f["stats_g"].shape == run.stats_g.shape and f["stats_g"].dtype == np.float32
    assert MnistConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    d = config().to_dict()
    d["networks"].pop("g_batch_norm")  # a field left out reads as its default
    assert MnistConfig.from_dict(d) == config()
    with pytest.raises(ValueError, match="g_ema with a batch-norm G is not supported"):
        config(g_batch_norm=True, g_ema=0.99)
    with pytest.raises(ValueError, match="batch norm in G needs a batch of at least 2"):
        config(g_batch_norm=True, batch=1)
    with pytest.raises(ValueError, match="hidden_g has none"):
        config(g_batch_norm=True, hidden_g=())


def test_cli_batch_norm_with_a_moving_average_is_refused(tmp_path, capsys):
    from gandyn.cli import main

    assert main(["mnist", "train", "--g-batch-norm", "--g-ema", "0.99", "--out", str(tmp_path / "bad"),
                 "--data-dir", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "g_ema with a batch-norm G is not supported" in err[0], err
    assert not (tmp_path / "bad").exists()


def test_kept_checkpoints_of_a_batch_norm_generator_hold_their_running_statistics(images, tmp_path):
    """``--keep-every``: each kept checkpoint holds the statistics of its iteration, and the run
    record (what ``gandyn landscape`` reads) carries them along with the parameters."""
    from gandyn.experiments.runs import load_run

    seen = {}
    tr = mnist.new_run(config(g_batch_norm=True), images)
    seen[0] = tr.trainer.stats_g.copy()
    mnist.train(tr, 6, tmp_path, progress=False, grid_every=0, keep_every=3,
                callback=lambda t: seen.__setitem__(t.it, t.trainer.stats_g.copy()))
    rec = load_run(tmp_path)
    assert rec.iterations.tolist() == [0, 3, 6] and rec.stats_g.shape == (3, tr.gan.G.stats_layout.size)
    for row, it in zip(rec.stats_g, rec.iterations):
        np.testing.assert_array_equal(row, seen[int(it)])
    assert not np.array_equal(rec.stats_g[1], rec.stats_g[2])
    plain = mnist.new_run(config(), images)
    mnist.train(plain, 3, tmp_path / "plain", progress=False, grid_every=0, keep_every=3)
    assert load_run(tmp_path / "plain").stats_g is None


def test_a_batch_norm_checkpoint_without_its_statistics_is_refused(images, tmp_path):
    tr = mnist.new_run(config(g_batch_norm=True), images)
    mnist.save_checkpoint(tmp_path / "c.npz", tr)
    with np.load(tmp_path / "c.npz") as f:
        arrays = {k: f[k] for k in f.files if k != "stats_g"}
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(ValueError, match="not a valid gandyn MNIST checkpoint.*stats_g"):
        mnist.load_checkpoint(tmp_path / "d.npz")


def _gandyn(*args, env=None, process=False):
    """``gandyn mnist ARGS``: in this process (the command line's ``main``, stdout and stderr
    captured; a usage error's ``SystemExit`` as its status), or as a process of its own with
    ``process`` or an ``env``. A CompletedProcess either way."""
    if process or env is not None:
        return subprocess.run([sys.executable, "-m", "gandyn", "mnist", *args], capture_output=True, text=True,
                              env=env)
    from gandyn import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(["mnist", *args])
        except SystemExit as e:
            code = e.code
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


@pytest.mark.skipif(not HAVE_MNIST, reason="real MNIST not found ($GANDYN_DATA or ../shared/data/mnist)")
def test_cli_kill_and_resume_equals_uninterrupted(tmp_path):
    """The real command on real MNIST (a small model): Ctrl-C mid-run, --resume, compare."""
    small = ["--z-dim", "10", "--hidden-g", "16", "--hidden-d", "16", "--batch", "32",
             "--data-dir", str(SHARED), "--quiet", "--grid-every", "0"]
    r = _gandyn("train", "--iters", "300", "--out", str(tmp_path / "full"), *small, process=True)
    assert r.returncode == 0, r.stderr
    part = tmp_path / "part"
    p = subprocess.Popen([sys.executable, "-m", "gandyn", "mnist", "train", "--iters", "100000000",
                          "--out", str(part), "--checkpoint-every", "50", *small],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (part / "checkpoint.npz").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    stopped = mnist.load_checkpoint(part / "checkpoint.npz").it
    assert 50 <= stopped < 300, f"interrupted at {stopped}; make the first run longer"
    r = _gandyn("train", "--iters", "300", "--out", str(part), "--resume", *small, process=True)
    assert r.returncode == 0, r.stderr
    a = mnist.load_checkpoint(tmp_path / "full" / "checkpoint.npz")
    b = mnist.load_checkpoint(part / "checkpoint.npz")
    _same(a, b)


@pytest.mark.skipif(not HAVE_MNIST, reason="real MNIST not found ($GANDYN_DATA or ../shared/data/mnist)")
def test_cli_sample(tmp_path, images):
    tr = mnist.new_run(config(), images)
    mnist.save_checkpoint(tmp_path / "c.npz", tr)
    r = _gandyn("sample", "--checkpoint", str(tmp_path / "c.npz"), "--out", str(tmp_path / "s"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "s/samples.png").is_file() and (tmp_path / "s/samples.pdf").is_file()


def test_cli_errors(tmp_path):
    r = _gandyn("sample", "--checkpoint", str(tmp_path / "none.npz"), "--out", str(tmp_path))
    assert r.returncode == 2 and "no checkpoint" in r.stderr and r.stderr.count("\n") == 1
    r = _gandyn("train", "--k", "0")
    assert r.returncode == 2
    r = _gandyn("train", "--d-dropout", "0.5", "--out", str(tmp_path / "bad"), "--data-dir", str(tmp_path / "none"))
    assert r.returncode == 2 and "d_dropout needs one probability per D layer (2)" in r.stderr and r.stderr.count("\n") == 1
    assert not (tmp_path / "bad").exists()


def test_cli_resume_refuses_options_that_would_change_the_run(images, tmp_path):
    """--resume keeps the saved config: a training or model option that differs from it is
    refused before any work (one line naming it and the saved value); the step sizes may change."""
    tr = mnist.new_run(config(), images)
    mnist.train(tr, 4, tmp_path / "run", progress=False, grid_every=0)
    assert mnist.checkpoint_config(tmp_path / "run" / mnist.CHECKPOINT) == tr.config
    none = str(tmp_path / "no-data")
    r = _gandyn("train", "--resume", "--out", str(tmp_path / "run"), "--iters", "8", "--optimizer", "sgd",
                "--hidden-g", "32", "--g-batch-norm", "--data-dir", none)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "--g-batch-norm True (saved: False)" in r.stderr
    assert "--optimizer 'sgd' (saved: 'adam')" in r.stderr and "--hidden-g (32,) (saved: (16,))" in r.stderr
    # an option given with the command's default value is given all the same
    r = _gandyn("train", "--resume", "--out", str(tmp_path / "run"), "--iters", "8", "--hidden-g", "128",
                "--data-dir", none)
    assert r.returncode == 2 and "--hidden-g (128,) (saved: (16,))" in r.stderr, r.stderr
    import os

    env = {k: v for k, v in os.environ.items() if k != "GANDYN_DATA"}  # no data anywhere but --data-dir
    r = _gandyn("train", "--resume", "--out", str(tmp_path / "run"), "--iters", "8", "--lr", "1e-4",
                "--data-dir", none, env=env)
    assert "would change it" not in r.stderr and "MNIST" in r.stderr  # past the check, to the data


def test_cli_refuses_options_that_take_no_effect(tmp_path):
    r = _gandyn("train", "--optimizer", "sgd", "--b1", "0.3", "--method", "simgd", "--k", "3",
                "--out", str(tmp_path / "bad"), "--data-dir", str(tmp_path / "none"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "--b1 has no effect: the sgd optimizer does not take it" in r.stderr and "--k has no effect" in r.stderr
    assert not (tmp_path / "bad").exists()


def test_cli_plot(images, tmp_path):
    from gandyn.plotting.mnist import save_grid

    tr = mnist.new_run(config(), images)
    mnist.train(tr, 12, tmp_path / "run", progress=False, grid_every=4, save_grid=save_grid)
    r = _gandyn("plot", "--run", str(tmp_path / "run"), "--out", str(tmp_path / "fig"), "--window", "3")
    assert r.returncode == 0, r.stderr
    for stem in ("losses", "grids_over_time"):
        assert (tmp_path / f"fig/{stem}.png").is_file() and (tmp_path / f"fig/{stem}.pdf").is_file()
    r = _gandyn("plot", "--run", str(tmp_path / "run"), "--out", str(tmp_path / "fig"), "--at", "5")
    assert r.returncode == 2 and "no grid for iterations [5]" in r.stderr


def test_cli_plot_metrics_over_training(images, tmp_path):
    """--evals: eval.json files of several checkpoints give the metrics-over-training figure,
    one line per generator (moving average / trained parameters); a foreign file is a one-line error."""
    from gandyn.plotting.mnist import save_grid

    tr = mnist.new_run(config(), images)
    mnist.train(tr, 4, tmp_path / "run", progress=False, grid_every=2, save_grid=save_grid)
    evals = []
    for it in (1000, 2000):
        for gen in ("moving average", "trained parameters"):
            d = tmp_path / f"eval_{it}_{gen[0]}"
            d.mkdir()
            (d / "eval.json").write_text(json.dumps({
                "iteration": it, "generator": gen, "samples": {
                    "parzen": {"mean": it / 10, "se": 1.0}, "inception_score": {"mean": 5.0, "std": 0.1},
                    "fid": {"value": 10.0}}}))
            evals.append(str(d))
    r = _gandyn("plot", "--run", str(tmp_path / "run"), "--out", str(tmp_path / "fig"), "--evals", *evals)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "fig/metrics.png").is_file() and (tmp_path / "fig/metrics.pdf").is_file()
    (tmp_path / "bad.json").write_text("{}")
    r = _gandyn("plot", "--run", str(tmp_path / "run"), "--out", str(tmp_path / "fig"), "--evals",
                str(tmp_path / "bad.json"))
    assert r.returncode == 2 and "not an eval.json" in r.stderr and r.stderr.count("\n") == 1


def test_resume_with_new_step_sizes(images, tmp_path):
    """load_checkpoint(lr_g=...): the config's schedule gets a piece at the checkpoint's
    iteration, the optimizer states carry over; halving lr halves Adam's next step exactly
    (same state); the saved config rebuilds the same schedule."""
    tr = mnist.new_run(config(), images)
    mnist.train(tr, 8, tmp_path, progress=False, grid_every=0)
    a = mnist.load_checkpoint(tmp_path / mnist.CHECKPOINT, images)
    b = mnist.load_checkpoint(tmp_path / mnist.CHECKPOINT, images, lr_g=5e-4)
    assert b.config.lr_g == ((0, 1e-3), (8, 5e-4)) and b.config.lr_d == 1e-3
    lr = b.trainer.opt_g.hparams["lr"]
    assert (lr(8), lr(9)) == (1e-3, 5e-4)
    g = np.ones_like(a.trainer.theta_g)
    ta, tb = a.trainer.theta_g.copy(), b.trainer.theta_g.copy()
    sa = a.trainer.opt_g.update(ta, g, a.trainer.state_g)
    sb = b.trainer.opt_g.update(tb, g, b.trainer.state_g)
    np.testing.assert_allclose(sb.step, 0.5 * sa.step, rtol=1e-6)
    mnist.train(b, 12, tmp_path / "b", progress=False, grid_every=0)
    again = mnist.load_checkpoint(tmp_path / "b" / mnist.CHECKPOINT)
    assert again.config.lr_g == ((0, 1e-3), (8, 5e-4))
    json.dumps(again.config.to_dict())
    c = mnist.load_checkpoint(tmp_path / "b" / mnist.CHECKPOINT, lr_g=2.5e-4)  # a third piece
    assert c.config.lr_g == ((0, 1e-3), (8, 5e-4), (12, 2.5e-4))


def test_cli_resume_without_checkpoint_and_bad_evals_fail_before_work(tmp_path):
    r = _gandyn("train", "--resume", "--out", str(tmp_path / "none"), "--data-dir", str(tmp_path / "nodata"))
    assert r.returncode == 2 and "no checkpoint" in r.stderr and r.stderr.count("\n") == 1
    r = _gandyn("plot", "--run", str(tmp_path), "--out", str(tmp_path / "fig"), "--evals", str(tmp_path / "x.json"))
    assert r.returncode == 2 and "no eval.json" in r.stderr and not (tmp_path / "fig").exists()


@pytest.mark.parametrize("opt", [dict(method="optimistic", penalty="r1", penalty_weight=1.0),
                                 dict(method="lookahead", loss="wgan", penalty="gp", optimizer="adam"),
                                 dict(method="extragradient", loss="wgan", clip=0.05),
                                 dict(loss="hinge", spectral_norm=True),
                                 dict(method="extragradient", instance_noise=0.3, noise_schedule="linear",
                                      noise_until=10),
                                 dict(method="consensus", g_batch_norm=True)])
def test_methods_and_penalties_resume_bit_for_bit(images, tmp_path, opt):
    """Method state (optimistic's last steps, lookahead's slow weights) and the penalty's
    random stream go into the checkpoint: interrupt at 7, resume to 15, equal."""
    cfg = config(**opt)
    full = mnist.new_run(cfg, images)
    mnist.train(full, 15, tmp_path / "full", progress=False, grid_every=0)
    part = mnist.new_run(cfg, images)
    mnist.train(part, 7, tmp_path / "part", progress=False, grid_every=0)
    resumed = mnist.load_checkpoint(tmp_path / "part" / mnist.CHECKPOINT, images)
    mnist.train(resumed, 15, tmp_path / "part", progress=False, grid_every=0)
    _same(full, resumed)


@pytest.mark.parametrize("bad, needle", [(dict(loss="kl", penalty="gp"), "gp penalty is not used with the 'kl' loss"),
                                         (dict(clip=0.01), "weight clipping is not used with the 'nonsat' loss"),
                                         (dict(method="sga-ish"), "unknown method"),
                                         (dict(loss="hinge", label_smooth=0.1), "label smoothing applies to the cross-entropy losses")])
def test_conflicting_options_are_refused(bad, needle):
    with pytest.raises(ValueError, match=needle):
        config(**bad)


def test_every_loss_trains_the_talks_gan_from_the_cli(tmp_path, capsys, monkeypatch):
    """`gandyn mnist train --loss NAME` for 20 iterations of the talk's GAN, every registered
    loss (WGAN with the gradient penalty it is used with); finite losses, a checkpoint. The
    real training images are read once."""
    import gandyn.data
    from gandyn.cli import main
    from gandyn.engine.losses import LOSSES

    real = gandyn.data.load_mnist("train", data_dir=SHARED, progress=False)
    monkeypatch.setattr(gandyn.data, "load_mnist", lambda split, **kw: real)

    for name in LOSSES.names():
        extra = ["--penalty", "gp", "--penalty-weight", "1"] if name == "wgan" else []
        out = tmp_path / name
        code = main(["mnist", "train", "--iters", "20", "--loss", name, *extra, "--grid-every", "0",
                     "--data-dir", str(SHARED), "--n-train", "1000", "--out", str(out), "--quiet"])
        assert code == 0, (name, capsys.readouterr().err)
        losses = np.loadtxt(out / "losses.csv", delimiter=",", skiprows=1)
        assert losses.shape == (20, 3) and np.all(np.isfinite(losses)), name
