"""The 1D GAN experiment: training lowers the JSD, a population equals separate runs,
the history round-trips, and the exact p_g of a monotone G is a density that matches
a histogram of samples."""
import numpy as np
import pytest

from gandyn import cli, history
from gandyn.theory.density import generator_density
from gandyn.distributions import Uniform
from gandyn.engine.trainer import StreamBatches, Trainer
from gandyn.engine.methods import LA, LOLA, Lookahead
from gandyn.engine.training import TrainingConfig
from gandyn.engine.population import BLOCK, Population
from gandyn.experiments import gan1d
from gandyn.experiments.gan1d import (binned_jsd, pick_panels, record_run,
                          replace_training, sweep, sweep_rows, sweep_setups)
from gandyn.engine.nn import MLP
from gandyn.rng import streams
from gandyn.theory import LOG2, jsd_grid


def test_short_fixed_seed_run_lowers_jsd_by_a_large_factor():
    arrays, meta = record_run(gan1d.setup(), seed=0, steps=1500, record_every=500)
    j = arrays["jsd"]
    assert j[0] > 0.6  # G starts near 0, far from N(4, 0.5^2): JSD near log 2
    assert j[-1] < j[0] / 8, j
    assert arrays["it"].tolist() == [0, 500, 1000, 1500]
    np.testing.assert_allclose(arrays["c"], -np.log(4) + 2 * j)  # Theorem 1
    assert np.all(arrays["v"] <= arrays["c"] + 1e-9)              # C(G) = max_D V(D, G)


def make(**kw):
    """A 1-D GAN's setup from ``kw`` split between its data, training choices and networks."""
    t = {k: kw.pop(k) for k in list(kw) if k in TrainingConfig.__dataclass_fields__}
    return gan1d.setup(kw.pop("data", gan1d.DATA), training=gan1d.TRAINING.replace(**t),
                       networks=gan1d.NETWORKS.replace(**kw))


@pytest.mark.parametrize("kw", [dict(optimizer="adam"), dict(optimizer="momentum", k=2, loss="minimax"),
                                dict(optimizer="sgd", latent="normal", data="0.3*N(-1, 0.3) + 0.7*U(1, 2)")])
def test_population_equals_separate_runs(kw):
    setup = make(batch=8, hidden_g=5, hidden_d=7, **kw)
    seeds = [0, 1, 2, 1, 0]
    lr_d = [1e-2, 2e-2, 3e-3, 1e-2, 5e-3]
    lr_g = [1e-3, 2e-2, 3e-3, 5e-3, 1e-2]
    steps = BLOCK + 11  # crosses a block of pre-drawn minibatches
    pop = Population(setup, seeds, lr_d=lr_d, lr_g=lr_g, chunk=2)
    pop.advance(steps)
    for p in range(len(seeds)):
        one = Population(setup, seeds[p], lr_d=lr_d[p], lr_g=lr_g[p])  # theta (n,), inputs (m, 1)
        for _ in range(steps):  # one iteration at a time: draws do not depend on how we call
            one.advance(1)
        assert one.theta_g.ndim == 1
        np.testing.assert_allclose(pop.theta_g[p], one.theta_g, rtol=0, atol=1e-12)
        np.testing.assert_allclose(pop.theta_d[p], one.theta_d, rtol=0, atol=1e-12)
    assert not np.allclose(pop.theta_g[0], pop.theta_g[4])  # same seed, other step sizes


def test_population_is_algorithm_1_of_the_engine():
    """For normal data the block-drawn minibatches are the numbers a trainer drawing from
    the seed's streams one minibatch at a time gets, so the two agree bit for bit."""
    setup = gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=6, hidden_d=5), training=gan1d.TRAINING.replace(batch=16, k=2, optimizer="momentum"))
    tr = Population(setup, 3, lr_d=1e-2, lr_g=2e-2)
    tr.advance(100)
    s = streams(3)
    gan = setup.gan
    batches = StreamBatches(lambda r, m: r.normal(4.0, 0.5, size=(m, 1)), gan.latent, s["data"], s["latent"])
    run = Trainer(gan, setup.training.make_optimizer(2e-2), setup.training.make_optimizer(1e-2), gan.G.init(s["g_init"]),
                  gan.D.init(s["d_init"]), batches, batch=16, k=2)
    for _ in range(100):
        run.step()
    assert run.theta_g.tobytes() == tr.theta_g.tobytes() and run.theta_d.tobytes() == tr.theta_d.tobytes()


def test_history_round_trips(tmp_path):
    arrays, meta = record_run(gan1d.setup(training=gan1d.TRAINING.replace(batch=16)), seed=1, steps=40, record_every=10)
    path = history.save(tmp_path / "h.npz", arrays, meta)
    back, meta2 = history.load(path)
    assert meta2 == meta and set(back) == set(arrays)
    for name, a in arrays.items():
        assert back[name].dtype == a.dtype and np.array_equal(back[name], a), name
    assert arrays["p_g"].dtype == np.float32 and arrays["p_g"].shape == (5, arrays["x"].size)
    with pytest.raises(ValueError, match="npz"):
        history.save(tmp_path / "h.txt", arrays, meta)
    again, _ = record_run(gan1d.setup(training=gan1d.TRAINING.replace(batch=16)), seed=1, steps=40, record_every=10)  # deterministic for a seed
    assert all(np.array_equal(again[name], a) for name, a in arrays.items())


def _monotone_g(seed=0):
    """A 1-16-1 tanh generator with positive weights: strictly increasing."""
    G = MLP((1, 16, 1), ("tanh", "identity"))
    rng = np.random.default_rng(seed)
    theta = G.init(rng)
    (W1, b1), (W2, b2) = G.views(theta)
    W1[...] = np.abs(W1) + 0.1
    b1[...] = rng.normal(0, 1.0, size=b1.shape)
    W2[...] = np.abs(W2) * 0.3 + 0.05
    b2[...] = 4.0
    return G, theta


@pytest.mark.parametrize("latent", ["uniform", "normal"])
def test_exact_pg_of_monotone_g_integrates_to_one_and_matches_a_histogram(latent):
    G, theta = _monotone_g()
    z = np.linspace(-7, 7, 2001) if latent == "normal" else np.linspace(-1, 1, 2001)
    gz = G(theta, z[:, None])[:, 0]
    x = np.linspace(gz.min() - 0.5, gz.max() + 0.5, 4001)
    res = generator_density(G, theta, x, latent)
    assert res.method == "change_of_variables"
    assert abs(res.mass() - 1.0) < 2e-3
    rng = np.random.default_rng(5)
    n = 400_000
    zs = rng.uniform(-1, 1, (n, 1)) if latent == "uniform" else rng.standard_normal((n, 1))
    edges = np.linspace(x[0], x[-1], 41)
    counts, _ = np.histogram(G(theta, zs)[:, 0], bins=edges)
    frac = counts / n
    # exact bin masses: trapezoid of the exact pdf over each bin (100 grid steps per bin)
    exact = np.array([np.trapezoid(res.pdf[i * 100:(i + 1) * 100 + 1], x[i * 100:(i + 1) * 100 + 1])
                      for i in range(40)])
    se = np.sqrt(np.maximum(exact * (1 - exact), 1e-12) / n)
    assert np.all(np.abs(frac - exact) < 5 * se + 2e-4), np.max(np.abs(frac - exact) / (se + 1e-9))


def test_binned_jsd_agrees_with_grid_jsd_of_the_exact_density():
    G, theta = _monotone_g(1)
    setup = gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=16))
    assert setup.gan.G == G
    x = np.linspace(-6.0, 14.0, 8001)
    q = generator_density(G, theta, x, "uniform").pdf
    exact = jsd_grid(x, setup.data.pdf(x), q)
    got = binned_jsd(setup, theta, -2.0, 10.0, bins=400, n_z=1 << 15)
    assert 0.05 < exact < 0.65 and abs(got - exact) < 3e-3, (got, exact)


def test_binned_jsd_closed_forms():
    """G(z) = w z + b with z ~ U(-1, 1) is U(b - w, b + w); JSD(U(0,2) || U(s, s+2)) =
    (s/2) log 2 for 0 <= s <= 2 (the overlap 2 - s contributes nothing)."""
    setup = gan1d.setup(Uniform(0.0, 2.0), networks=gan1d.NETWORKS.replace(hidden_g=1, act_g="identity"))
    (W1, b1), (W2, b2) = setup.gan.G.views(th := np.zeros((3, setup.gan.G.n_params)))
    W1[...], W2[...] = 1.0, 1.0
    b2[:, 0, 0] = [1.0, 1.5, 20.0]  # shifts s = 0, 0.5 and disjoint
    got = binned_jsd(setup, th, -1.0, 4.0, bins=500, n_z=1 << 14)
    np.testing.assert_allclose(got, [0.0, 0.25 * LOG2, LOG2], atol=2e-3)


def test_sweep_cells_equal_their_own_runs():
    setup = gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=4, hidden_d=4), training=gan1d.TRAINING.replace(batch=8))
    lrs = [1e-3, 1e-2]
    arrays, meta = sweep(setup, lr_g_values=lrs, lr_d_values=lrs, seeds=[0, 1], steps=30, ks=[1, 2], losses=["nonsat", "minimax"],
                         checks=2, chunk=3, n_z=1024)
    assert arrays["jsd"].shape == (2, 2, 2, 2, 2) and arrays["jsd_checks"].shape == (2, 2, 2, 2, 2, 2)
    assert arrays["check_it"].tolist() == [15, 30]
    rows = sweep_rows(arrays)
    assert len(rows) == 32
    row = next(r for r in rows if (r["k"], r["loss"], r["seed"], r["lr_d"], r["lr_g"]) == (2, "minimax", 1, 1e-2, 1e-3))
    one = Population(replace_training(setup, k=2, loss="minimax"), 1, lr_d=1e-2, lr_g=1e-3)
    one.advance(30)
    lo, hi = setup.data.bounds(1e-9)
    w = hi - lo
    assert row["jsd"] == pytest.approx(binned_jsd(one.setup, one.theta_g, lo - w / 4, hi + w / 4, n_z=1024),
                                       abs=1e-12)


def test_pick_panels_follows_its_rules():
    jsd = np.array([0.69, 0.69, 0.6, 0.5, 0.2, 0.3, 0.05, 0.04])
    gap = np.array([0.3, 0.3, 0.1, 0.2, 0.2, 0.1, 0.0, 0.0])
    p = pick_panels({"it": np.arange(8) * 10, "jsd": jsd, "gap": gap})
    # (b): smallest gap before JSD first falls below 0.345 (index 4); (c): first JSD <= 0.3 after it
    assert p == {"a": 1, "b": 2, "c": 4, "d": 7}


@pytest.mark.parametrize("kw,needle", [(dict(k=0), "k"), (dict(hidden_g=0), "hidden_g"), (dict(loss="wasserstein"), "loss"),
                                       (dict(act_d="swish"), "act_d"), (dict(optimizer="rmsprop"), "optimizer")])
def test_bad_setups(kw, needle):
    with pytest.raises(ValueError, match=needle):
        make(**kw)


def test_bad_rates_and_seeds():
    with pytest.raises(ValueError, match="lr_d"):
        Population(gan1d.setup(), [0, 1], lr_d=[-1e-3, 1e-3], lr_g=1e-3)
    with pytest.raises(ValueError, match="lr_g"):
        Population(gan1d.setup(), [0, 1], lr_d=1e-3, lr_g=[1e-3, 1e-3, 1e-3])
    with pytest.raises(ValueError, match="seeds"):
        Population(gan1d.setup(), [-1], lr_d=1e-3, lr_g=1e-3)


def _gandyn(capsys, *args):
    """Run ``gandyn gan1d ARGS`` in this process: (exit status, stdout, stderr)."""
    try:
        code = cli.main(["gan1d", *args])
    except SystemExit as e:  # argparse errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("args,needle", [
    (["--lr-d", "-1"], "--lr-d"), (["--lr-g", "0"], "--lr-g"), (["--k", "0"], "--k"),
    (["--hidden-g", "0"], "--hidden-g"), (["--hidden-d", "-2"], "--hidden-d"), (["--loss", "wasserstein"], "--loss"), (["--clip", "0.01"], "clipping"),
    (["--act-g", "swish"], "--act-g"), (["--data", "N(4)"], "data"),
    (["--sweep", "--lr-min", "1", "--lr-max", "0.1"], "--lr-min"),
])
def test_bad_options_one_line_exit_2(args, needle, tmp_path, capsys):
    code, out, err = _gandyn(capsys, *args, "--out", str(tmp_path), "--quiet")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and needle in lines[0] and "Traceback" not in err


def test_cli_writes_figure1_curves_animation_and_history(tmp_path, capsys):
    code, out, err = _gandyn(capsys, "--out", str(tmp_path), "--steps", "80", "--record-every", "20",
                             "--batch", "16", "--quiet")
    assert code == 0, err
    assert "JSD(p_data || p_g): 0.6931 at iteration 0" in out
    for name in ("figure1.png", "figure1.pdf", "jsd.png", "jsd.pdf", "history.npz"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert (tmp_path / "gan1d.gif").read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    arrays, meta = history.load(tmp_path / "history.npz")
    assert meta["panels"]["d"] == 4 and arrays["it"][-1] == 80
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_cli_sweep_writes_map_and_csv(tmp_path, capsys):
    code, out, err = _gandyn(capsys, "--sweep", "--out", str(tmp_path), "--steps", "20", "--grid", "3",
                             "--seeds", "2", "--hidden-g", "4", "--hidden-d", "4", "--batch", "8", "--quiet")
    assert code == 0, err
    lines = (tmp_path / "sweep.csv").read_text().splitlines()
    assert lines[0] == "k,loss,seed,lr_d,lr_g,jsd,converged" and len(lines) == 1 + 18
    assert (tmp_path / "convergence_map.png").stat().st_size > 0
    assert "18 GANs, 20 steps each" in out and "converged" in out


@pytest.mark.parametrize("method", ["simgd", "extragradient", "optimistic", "consensus"])
def test_population_serves_every_method_the_draws_of_a_single_run(method):
    """Methods draw different numbers of minibatches per iteration (extragradient two of
    each); the per-seed blocks serve exactly what a trainer drawing from the seed's streams
    gets, so the two agree bit for bit."""
    setup = gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=5, hidden_d=4), training=gan1d.TRAINING.replace(batch=8, method=method))
    tr = Population(setup, 2, lr_d=1e-2, lr_g=2e-2)
    tr.advance(70)  # past one block of draws
    s = streams(2)
    gan = setup.gan
    batches = StreamBatches(lambda r, m: r.normal(4.0, 0.5, size=(m, 1)), gan.latent, s["data"], s["latent"])
    run = Trainer(gan, setup.training.make_optimizer(2e-2), setup.training.make_optimizer(1e-2), gan.G.init(s["g_init"]),
                  gan.D.init(s["d_init"]), batches, batch=8, method=method)
    for _ in range(70):
        run.step()
    assert run.theta_g.tobytes() == tr.theta_g.tobytes() and run.theta_d.tobytes() == tr.theta_d.tobytes()


def test_g_ema_averages_g_and_leaves_training_unchanged():
    """--g-ema: the average follows optim.ema_update from the initial parameters,
    training is bit for bit that of the run without it, and the records evaluate the
    average (a population's average is its rows' averages)."""
    plain, avg = gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=5, hidden_d=4), training=gan1d.TRAINING.replace(batch=8)), gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=5, hidden_d=4), training=gan1d.TRAINING.replace(batch=8, g_ema=0.9))
    a = Population(plain, [0, 1, 2], lr_d=1e-2, lr_g=[1e-2, 2e-2, 3e-2], chunk=2)
    b = Population(avg, [0, 1, 2], lr_d=1e-2, lr_g=[1e-2, 2e-2, 3e-2], chunk=2)
    assert a.g_average is None and np.array_equal(a.theta_g_eval, a.theta_g)
    ref = b.theta_g.copy()
    for _ in range(30):
        a.advance(1)
        b.advance(1)
        ref += 0.1 * (b.theta_g - ref)
    assert a.theta_g.tobytes() == b.theta_g.tobytes() and a.theta_d.tobytes() == b.theta_d.tobytes()
    np.testing.assert_allclose(b.g_average, ref, rtol=0, atol=1e-12)
    assert not np.array_equal(b.theta_g_eval, b.theta_g) and b.g_average.shape == b.theta_g.shape
    arrays, meta = record_run(avg, seed=1, steps=20, record_every=10)
    one = Population(avg, 1, lr_d=2e-3, lr_g=2e-3)
    one.advance(20)
    np.testing.assert_allclose(arrays["theta_g_average"][-1], one.g_average, rtol=0, atol=1e-12)
    np.testing.assert_allclose(arrays["theta_g"][-1], one.theta_g, rtol=0, atol=1e-12)
    assert arrays["jsd_binned"][-1] == binned_jsd(avg, one.g_average, arrays["x"][0], arrays["x"][-1], bins=400)
    assert meta["setup"]["training"]["g_ema"] == 0.9
    with pytest.raises(ValueError, match="g_ema"):
        gan1d.setup(training=gan1d.TRAINING.replace(g_ema=1.0))


def test_records_draw_the_spectrally_normalised_d():
    setup = gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=4, hidden_d=5), training=gan1d.TRAINING.replace(batch=8, spectral_norm=True))
    arrays, _ = record_run(setup, seed=0, steps=20, record_every=10)
    one = Population(setup, 0, lr_d=2e-3, lr_g=2e-3)
    one.advance(20)
    w = [W for W, _ in setup.gan.D.views(one.theta_d_eval)]
    assert np.linalg.norm(w[0], 2) == pytest.approx(1, rel=1e-3)  # (1, h): sigma is the row's norm, exactly
    d = 1 / (1 + np.exp(-setup.gan.D(one.theta_d_eval, arrays["x"][:, None])[:, 0]))
    np.testing.assert_allclose(arrays["d"][-1], d, rtol=1e-6)
    assert not np.allclose(arrays["d"][-1], 1 / (1 + np.exp(-setup.gan.D(one.theta_d, arrays["x"][:, None])[:, 0])))


def test_cli_g_ema(tmp_path, capsys):
    code, out, err = _gandyn(capsys, "--out", str(tmp_path), "--steps", "80", "--record-every", "20",
                             "--batch", "16", "--g-ema", "0.99", "--no-animation", "--quiet")
    assert code == 0, err
    arrays, meta = history.load(tmp_path / "history.npz")
    assert meta["setup"]["training"]["g_ema"] == 0.99 and arrays["theta_g_average"].shape == arrays["theta_g"].shape
    code, out, err = _gandyn(capsys, "--out", str(tmp_path), "--g-ema", "1", "--quiet")
    assert code == 2 and "--g-ema" in err


def test_sweep_evaluates_the_average_of_g():
    setup = gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=4, hidden_d=4, dtype=np.float32), training=gan1d.TRAINING.replace(batch=8, g_ema=0.9))
    arrays, meta = sweep(setup, lr_g_values=[1e-2, 3e-2], lr_d_values=[1e-2], seeds=[0], steps=30, checks=1)
    pop = Population(setup, [0, 0], lr_d=1e-2, lr_g=[1e-2, 3e-2])
    pop.advance(30)
    lo, hi = setup.data.bounds(1e-9)
    lo, hi = lo - 0.25 * (hi - lo), hi + 0.25 * (hi - lo)
    np.testing.assert_array_equal(arrays["jsd"][0, 0, 0, 0], binned_jsd(setup, pop.g_average, lo, hi, n_z=4096))
    assert meta["setup"]["training"]["g_ema"] == 0.9


def test_penalty_and_spectral_norm_draws_are_per_seed():
    """WGAN-GP's interpolation weights and spectral normalisation's first vectors come from
    each model's own seed: a population row equals the single run of its seed, rows sharing a
    seed are equal, and the chunking changes nothing."""
    for kw in (dict(loss="wgan", penalty="gp"), dict(spectral_norm=True)):
        s = make(batch=16, hidden_g=5, hidden_d=4, **kw)
        pop = Population(s, [0, 1, 0], lr_g=1e-2, lr_d=1e-2, chunk=2)
        pop.advance(6)
        one = Population(s, 1, lr_g=1e-2, lr_d=1e-2)
        one.advance(6)
        np.testing.assert_allclose(pop.theta_d[1], one.theta_d, rtol=0, atol=1e-12)
        np.testing.assert_allclose(pop.theta_d[0], pop.theta_d[2], rtol=0, atol=1e-12)


def test_setup_is_hashable_and_validates_method_pairings():
    assert hash(gan1d.setup(training=gan1d.TRAINING.replace(batch=16))) == hash(gan1d.setup(training=gan1d.TRAINING.replace(batch=16)))
    with pytest.raises(ValueError, match="spectral normalisation"):
        gan1d.setup(training=gan1d.TRAINING.replace(spectral_norm=True, method="lola"))
    with pytest.raises(ValueError, match="the la method"):
        gan1d.setup(training=gan1d.TRAINING.replace(penalty="r1", method=Lookahead(inner=LA())))
    with pytest.raises(ValueError, match="spectral_norm must be True or False"):
        gan1d.setup(training=gan1d.TRAINING.replace(spectral_norm="no"))
    with pytest.raises(ValueError, match="seeds"):
        Population(gan1d.setup(), [[0, 1], [2, 3]], lr_d=1e-3, lr_g=1e-3)
    with pytest.raises(ValueError, match="at least one unit"):
        Population(gan1d.setup(), [0, 1], lr_d=1e-3, lr_g=1e-3, units=[])


def test_shaping_methods_read_the_step_size_through_clipping():
    """opponent_lr defaults to D's step size also when D's optimizer is clipped (WGAN)."""
    s = gan1d.setup(training=gan1d.TRAINING.replace(batch=16, loss="wgan", clip=0.01, method="lola"))
    a = Population(s, 1, lr_g=1e-3, lr_d=2e-3)
    a.advance(3)
    b = Population(replace_training(s, method=LOLA(opponent_lr=2e-3)), 1, lr_g=1e-3, lr_d=2e-3)
    b.advance(3)
    assert a.theta_g.tobytes() == b.theta_g.tobytes()


def test_sweep_refuses_a_bad_pairing_before_training():
    import time
    s = gan1d.setup(training=gan1d.TRAINING.replace(loss="wgan", clip=0.01))
    t = time.perf_counter()
    with pytest.raises(ValueError, match="clipping"):
        sweep(s, lr_g_values=[1e-3], lr_d_values=[1e-3], seeds=[0], steps=10**6, losses=["wgan", "nonsat"])
    assert time.perf_counter() - t < 5.0  # refused up front, not after a million steps
    with pytest.raises(ValueError, match="losses must be distinct.*got nonsat ls nonsat"):
        sweep(gan1d.setup(), lr_g_values=[1e-3], lr_d_values=[1e-3], seeds=[0], steps=10**6, losses=["nonsat", "ls", "nonsat"])
    setups = sweep_setups(gan1d.setup(), [1, 2], ["nonsat", "ls"])
    assert list(setups) == [(1, "nonsat"), (1, "ls"), (2, "nonsat"), (2, "ls")]
    assert (setups[2, "ls"].training.k, setups[2, "ls"].training.loss) == (2, "ls")
    simgd = gan1d.setup(training=gan1d.TRAINING.replace(method="simgd"))
    with pytest.raises(ValueError, match="ks 1 2: simgd takes no D steps per G step"):
        sweep_setups(simgd, [1, 2], ["nonsat"])
    assert list(sweep_setups(simgd, [1], ["nonsat"])) == [(1, "nonsat")]


def test_samples_come_from_the_evaluated_generator():
    s = gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=5, hidden_d=4), training=gan1d.TRAINING.replace(batch=8, g_ema=0.9))
    pop = Population(s, [0, 1], lr_g=1e-2, lr_d=1e-2)
    pop.advance(10)
    z = pop.eval_latent(4)
    np.testing.assert_array_equal(pop.samples(4, z), s.gan.G(pop.theta_g_eval, z[0]))
    assert not np.array_equal(pop.samples(4, z), s.gan.G(pop.theta_g, z[0]))
