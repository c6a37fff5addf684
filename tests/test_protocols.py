"""Published protocols (goodfellow2014 for MNIST, pacgan for the mode-collapse benchmark), the
networks they need in the population trainer (packing, batch-norm G, maxout D), and the success
table's uncertainty columns."""
import json

import numpy as np
import pytest

from gandyn.cli import build_parser, fill_common, main
from gandyn.distributions import grid2d
from gandyn.engine import optim
from gandyn.engine.methods import as_method
from gandyn.experiments import mnist, mog
from gandyn.engine.population import Networks, Population, Setup
from gandyn.metrics import mean_se, wilson_interval
from gandyn.rng import stream


def _mnist_config(*argv):
    args = build_parser().parse_args(["mnist", "train", *argv])
    fill_common(args, "mnist-train")
    from gandyn.cli.mnist import _config

    return _config(args)


def test_goodfellow2014_sets_every_setting_of_mnist_yaml(capsys):
    c = _mnist_config("--protocol", "goodfellow2014")
    for k, v in mnist.PROTOCOLS["goodfellow2014"]["settings"].items():
        k = "act_g" if k == "hidden_act" else k  # both players' activation
        part = next(p for p in (c.training, c.networks, c) if hasattr(p, k))
        assert getattr(part, k) == (as_method(v) if k == "method" else v), k
    assert c.networks.act_d == c.networks.act_g
    assert c.protocol == "goodfellow2014" and capsys.readouterr().err == ""
    G, D = c.gan().G, c.gan().D
    assert G.sizes == (100, 1200, 1200, 784) and D.sizes == (784, 240, 240, 1) and D.pieces == (5, 5, None)
    assert c.n_params()[1] == D.n_params and c.n_params()[0] == G.n_params
    opt_g, opt_d = c.optimizers()
    lr, mu = opt_g.hparams["lr"], opt_g.hparams["mu"]
    assert lr(1) == 0.1 and lr(2) == pytest.approx(0.1 / 1.000004, rel=1e-15) and lr(10 ** 7) == 1e-6
    assert opt_d.hparams["lr"](1) == 0.05
    # pylearn2's MomentumAdjustor(start=1, saturate=250): 0.5 in epoch 1, +0.2/249 per epoch, 0.7 from epoch 250
    assert mu(1) == mu(500) == 0.5 and mu(501) == pytest.approx(0.5 + 0.2 / 249) and mu(249 * 500 + 1) == 0.7


def test_an_option_replaces_a_protocol_setting_with_a_note(capsys):
    c = _mnist_config("--protocol", "goodfellow2014", "--hidden-g", "64", "--lr", "0.01")
    assert c.networks.hidden_g == (64,) and c.lr_g == c.lr_d == 0.01 and c.networks.d_pieces == 5
    assert c.protocol == "goodfellow2014 with --hidden-g 64, --lr-g 0.01, --lr-d 0.01"
    err = capsys.readouterr().err
    assert "--protocol goodfellow2014 sets --hidden-g 1200 1200; --hidden-g 64 replaces it" in err


def test_an_option_given_with_the_commands_default_still_replaces_a_protocol_setting(capsys):
    # the talk's latent is uniform, goodfellow2014's normal: --latent uniform is a deliberate change
    assert mnist.MnistConfig().networks.latent == "uniform"
    c = _mnist_config("--protocol", "goodfellow2014", "--latent", "uniform", "--batch", "128", "--z-dim", "100")
    assert c.networks.latent == "uniform" and c.training.batch == 128 and c.networks.z_dim == 100
    assert c.protocol == "goodfellow2014 with --latent uniform, --batch 128"
    err = capsys.readouterr().err
    assert "--protocol goodfellow2014 sets --latent normal; --latent uniform replaces it" in err
    assert "--z-dim" not in err  # given, but equal to the protocol's


def test_a_protocol_setting_equal_to_the_default_is_named_when_an_option_changes_it(capsys):
    # goodfellow2014's loss is nonsat, the command's default too
    c = _mnist_config("--protocol", "goodfellow2014", "--loss", "minimax")
    assert c.training.loss == "minimax" and c.protocol == "goodfellow2014 with --loss minimax"
    assert "--protocol goodfellow2014 sets --loss nonsat; --loss minimax replaces it" in capsys.readouterr().err


def test_another_optimizer_drops_the_protocols_momentum_settings_and_names_them(capsys):
    c = _mnist_config("--protocol", "goodfellow2014", "--optimizer", "adam")
    assert c.training.optimizer == "adam" and c.mu_final is None and c.training.mu == mnist.MnistConfig.training.mu
    assert c.protocol == "goodfellow2014 with --optimizer adam" and c.networks.d_pieces == 5
    err = capsys.readouterr().err
    assert "momentum ramp (--mu-final 0.7) is dropped" in err and "the protocol's --mu is dropped" in err
    # an option the user gives that the optimizer does not take is still refused
    with pytest.raises(ValueError, match="--mu has no effect"):
        _mnist_config("--protocol", "goodfellow2014", "--optimizer", "adam", "--mu", "0.5")


def test_apply_protocol_needs_the_options_of_build_parser():
    import argparse

    from gandyn.cli import apply_protocol

    with pytest.raises(TypeError, match="build_parser"):
        apply_protocol("mog", "pacgan", {"steps": 5}, argparse.Namespace(steps=10), mog.MogConfig.training)


def test_momentum_schedule_is_the_sutskever_step_at_constant_rates():
    x, y = np.ones(3), np.ones(3)
    a, b = optim.momentum(lr=0.1, mu=0.5), optim.momentum(lr=lambda t: 0.1, mu=lambda t: 0.5)
    sa, sb = a.init(x), b.init(y)
    for g in np.random.default_rng(0).normal(size=(5, 3)):
        sa, sb = a.update(x, g, sa), b.update(y, g, sb)
    assert np.array_equal(x, y)
    with pytest.raises(ValueError, match="momentum schedule"):
        bad = optim.momentum(mu=lambda t: 1.0)
        bad.update(x, x, bad.init(x))


def test_pacgan_network_and_packing_in_the_population():
    s = Setup(grid2d(), networks=Networks(hidden_g=(16, 16), hidden_d=(12,), g_batch_norm=True, d_pieces=3, pack=4,
                                          init="normal_0.02", dtype=np.float64),
              training=Setup.training.replace(batch=8))
    G, D = s.gan.G, s.gan.D
    assert D.sizes[0] == 8 and s.gan.pack == 4 and G.batch_norm == (True, True, False) and D.pieces == (3, None)
    pop = Population(s, np.arange(3), lr_g=1e-3, lr_d=1e-3)
    pop.advance(2)
    x = pop.samples(50)
    assert x.shape == (3, 50, 2) and np.isfinite(x).all()
    # samples in evaluation mode: each model's running statistics, so a sample does not depend on the others
    tr = pop._trainers[0][1]
    z = pop.eval_latent(50)[0]
    assert np.allclose(G(tr.theta_g[:1], z[:1, :7], tr.stats_g[:1])[0], x[0, :7])
    with pytest.raises(ValueError, match="multiple of pack"):
        Setup(grid2d(), networks=Networks(pack=3), training=Setup.training.replace(batch=8))
    with pytest.raises(ValueError, match="packed D"):
        Setup(grid2d(), networks=Networks(pack=2), training=Setup.training.replace(batch=8, penalty="r1"))
    with pytest.raises(ValueError, match="batch-norm G"):
        Setup(grid2d(), networks=Networks(g_batch_norm=True), training=Setup.training.replace(g_ema=0.9))
    with pytest.raises(ValueError, match="hidden_g has none"):
        Setup(grid2d(), networks=Networks(g_batch_norm=True, hidden_g=()))


def test_pacgan_protocol_config(tmp_path, capsys):
    out = tmp_path / "p"
    assert main(["mog", "--protocol", "pacgan", "--pack", "2", "--steps", "2", "--checks", "1", "--seeds", "2",
                 "--n-eval", "100", "--hidden-g", "8", "--hidden-d", "6", "--data", "ring8", "--jobs", "1",
                 "--out", str(out), "--quiet"]) == 0
    t = json.loads((out / "table.json").read_text())
    cfg = t["config"][0]
    net = cfg["networks"]
    assert cfg["data"] == "ring8_unit" and cfg["training"]["batch"] == 200 and net["pack"] == 2 and net["g_batch_norm"]
    assert net["d_pieces"] == 5 and net["hidden_g"] == [8] and cfg["training"]["b1"] == 0.8 and cfg["lrs"] == [1e-4] \
        and cfg["methods"] == [{"name": "simgd"}]
    assert cfg["protocol"].startswith("pacgan with ") and "--hidden-g 8" in cfg["protocol"]
    row = t["gandyn"][0]
    assert row["protocol"] == cfg["protocol"] and row["steps"] == 2 and "success_lo_pct" in row
    err = capsys.readouterr().err
    assert "--protocol pacgan sets --steps 400000; --steps 2 replaces it" in err
    assert main(["mog", "--protocol", "pacgan", "--quick", "--out", str(tmp_path / "q")]) == 2


def test_pacgan_protocol_takes_hidden_for_both_players(tmp_path, capsys):
    # --hidden sets both players' widths over the protocol's, and the change is named
    out = tmp_path / "h"
    assert main(["mog", "--protocol", "pacgan", "--steps", "2", "--checks", "1", "--seeds", "1", "--n-eval", "100",
                 "--hidden", "8", "--hidden-d", "6", "--data", "ring8", "--jobs", "1", "--out", str(out),
                 "--quiet"]) == 0
    net = json.loads((out / "table.json").read_text())["config"][0]["networks"]
    assert net["hidden_g"] == [8] and net["hidden_d"] == [6]
    assert "--hidden-g 8 replaces it" in capsys.readouterr().err


def test_row_statistics_in_percent():
    success = np.array([True, False, True, True])
    modes = np.array([8, 7, 8, 8])
    hq = np.array([0.95, 0.5, 0.91, 0.99])
    rkl = np.array([0.01, 0.3, 0.02, 0.0])
    r = mog.row_statistics(success, modes, hq, rkl, 8)
    lo, hi = wilson_interval(3, 4)
    assert r["success_pct"] == 75.0 and r["success_lo_pct"] == 100 * lo and r["success_hi_pct"] == 100 * hi
    assert r["all_modes_pct"] == 75.0
    m, se = mean_se(100 * hq)
    assert r["mean_high_quality_pct"] == m and r["se_high_quality_pct"] == se and r["median_high_quality_pct"] == 93.0
    assert r["mean_modes"] == 7.75 and r["se_modes"] == pytest.approx(0.25)


def test_published_rows_carry_their_runs_and_errors():
    pac = [r for r in mog.PUBLISHED if "PacGAN" in r["source"]]
    vee = [r for r in mog.PUBLISHED if "VEEGAN" in r["source"]]
    assert len(pac) == 10 and all(r["runs"] == 10 and r["modes_se"] is not None for r in pac)
    assert all(r["runs"] == 5 and r["modes_se"] is None and "not given" in r["source"] for r in vee)
    # Lin et al. 2018, Table 1: PacGAN4 on the grid, 24.8 +- 0.2 modes, 93.6 +- 0.6 %, rKL 0.04 +- 0.01
    r = next(r for r in pac if r["data"] == "grid25" and r["method"] == "PacGAN4")
    assert (r["modes_se"], r["high_quality_se"], r["reverse_kl_se"]) == (0.2, 0.6, 0.01)
    from gandyn.metrics import mixture_modes

    centres, sd = mixture_modes(mog.DATASETS["ring8_unit"]())
    assert np.allclose(np.hypot(*centres.T), 1.0) and np.allclose(sd, 0.01)


def test_protocol_config_from_python_equals_the_command_lines():
    assert _mnist_config("--protocol", "goodfellow2014") == mnist.MnistConfig.of_protocol("goodfellow2014")


def test_networks_d_init_is_ds_own_initialisation():
    """``d_init`` (goodfellow2014's D) initialises D its own way, in populations as in MNIST runs;
    the JSON form holds it only when set, so networks without it read and write as before."""
    n = Networks(hidden_g=(4,), hidden_d=(4,), init="normal_0.02", d_init="uniform_0.005")
    pop = Population(Setup(grid2d(), networks=n), [3], lr_g=1e-3, lr_d=1e-3)
    tg, td = pop.params()
    np.testing.assert_array_equal(tg[0], pop.setup.gan.G.init(stream(3, "g_init"), scheme="normal_0.02"))
    np.testing.assert_array_equal(td[0], pop.setup.gan.D.init(stream(3, "d_init"), scheme="uniform_0.005"))
    assert Networks.from_dict(json.loads(json.dumps(n.to_dict()))) == n
    assert "d_init" not in Networks().to_dict() and Networks.from_dict(Networks().to_dict()) == Networks()
    with pytest.raises(ValueError, match="d_init"):
        Networks(d_init="bogus")
    run = mnist.MnistConfig.of_protocol("goodfellow2014").networks
    assert (run.init, run.d_init, run.act_g, run.act_d) == ("uniform_0.05", "uniform_0.005", "relu", "relu")
