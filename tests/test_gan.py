import numpy as np
import pytest
from autograd import grad
from hypothesis import given, strategies as st

import _reference as ref
from gandyn.engine import optim
from gandyn.engine.gan import GAN
from gandyn.engine.latents import as_latent
from gandyn.engine.trainer import StreamBatches, Trainer
from gandyn.engine.nn import MLP, dropout_masks
from gandyn.engine.workspace import Workspace
from gandyn.rng import stream, streams


def _trainer(gan, opt_g, opt_d, theta_g, theta_d, sample_real, rng_data, rng_latent, *, g_ema=0.0, **kw):
    """An engine Trainer drawing from two streams (the MNIST way); ``g_ema`` wraps G's
    optimizer in a moving average."""
    if g_ema:
        opt_g = optim.averaged(opt_g, g_ema)
    return Trainer(gan, opt_g, opt_d, theta_g, theta_d, StreamBatches(sample_real, gan.latent, rng_data, rng_latent),
                   **kw)


def _gan(loss="nonsat", dtype=np.float64):
    return GAN(MLP((2, 5, 3), ("relu", "identity"), dtype=dtype),
               MLP((3, 4, 1), ("leaky_relu", "identity"), dtype=dtype), loss=loss)


@given(st.integers(0, 2**32 - 1), st.sampled_from(["nonsat", "minimax"]))
def test_step_gradients_match_autograd(seed, kind):
    gan = _gan(kind)
    rng = np.random.default_rng(seed)
    tg, td = gan.G.init(rng), gan.D.init(rng)
    x, z = rng.normal(size=(6, 3)), gan.sample_z(rng, 5)
    G = lambda tg, z: ref.mlp(gan.G.sizes, gan.G.activations, tg, z)
    D = lambda td, x: ref.mlp(gan.D.sizes, gan.D.activations, td, x)[:, 0]

    def cost_d(td):  # -V(D, G), Goodfellow et al. 2014, eq. 1
        return -(ref.log_sigmoid(D(td, x)).mean() + ref.log_sigmoid(-D(td, G(tg, z))).mean())

    def cost_g(tg):
        l = D(td, G(tg, z))
        return ref.log_sigmoid(-l).mean() if kind == "minimax" else -ref.log_sigmoid(l).mean()

    loss, gd, _, _ = gan.d_loss_grad(tg, td, x, z)
    np.testing.assert_allclose(loss, cost_d(td), rtol=1e-12)
    np.testing.assert_allclose(gd, grad(cost_d)(td), rtol=1e-6, atol=1e-12)
    loss, gg, _ = gan.g_loss_grad(tg, td, z)
    np.testing.assert_allclose(loss, cost_g(tg), rtol=1e-12)
    np.testing.assert_allclose(gg, grad(cost_g)(tg), rtol=1e-6, atol=1e-12)


@given(st.integers(0, 2**32 - 1), st.sampled_from(["nonsat", "minimax"]), st.floats(0.0, 0.3))
def test_dropout_and_smoothing_step_gradients_match_autograd(seed, kind, a):
    """D with dropout on its input and hidden layer and one-sided label smoothing:
    both players' gradients equal autograd's on the same masks. The masks come from
    the rng passed in, drawn for the D step (real and fake stacked) and the G step."""
    G = MLP((2, 5, 3), ("relu", "identity"))
    D = MLP((3, 4, 1), ("leaky_relu", "identity"))
    gan = GAN(G, D, loss=kind, d_dropout=(0.2, 0.5), label_smooth=a)
    rng = np.random.default_rng(seed)
    tg, td = gan.G.init(rng), gan.D.init(rng)
    x, z = rng.normal(size=(6, 3)), gan.sample_z(rng, 5)
    masks_d = dropout_masks(np.random.default_rng(seed + 1), (0.2, 0.5), D.sizes, (11,))
    masks_g = dropout_masks(np.random.default_rng(seed + 2), (0.2, 0.5), D.sizes, (5,))
    Gf = lambda tg, z: ref.mlp(G.sizes, G.activations, tg, z)

    def cost_d(td):
        l = ref.mlp(D.sizes, D.activations, td, np.concatenate([x, Gf(tg, z)]), masks_d)[:, 0]
        real = (1 - a) * ref.log_sigmoid(l[:6]) + a * ref.log_sigmoid(-l[:6])
        return -(real.mean() + ref.log_sigmoid(-l[6:]).mean())

    def cost_g(tg):
        l = ref.mlp(D.sizes, D.activations, td, Gf(tg, z), masks_g)[:, 0]
        return ref.log_sigmoid(-l).mean() if kind == "minimax" else -ref.log_sigmoid(l).mean()

    loss, gd, _, _ = gan.d_loss_grad(tg, td, x, z, rng=np.random.default_rng(seed + 1))
    np.testing.assert_allclose(loss, cost_d(td), rtol=1e-12)
    np.testing.assert_allclose(gd, grad(cost_d)(td), rtol=1e-6, atol=1e-12)
    loss, gg, _ = gan.g_loss_grad(tg, td, z, rng=np.random.default_rng(seed + 2), ws=Workspace())
    np.testing.assert_allclose(loss, cost_g(tg), rtol=1e-12)
    np.testing.assert_allclose(gg, grad(cost_g)(tg), rtol=1e-6, atol=1e-12)
    # without an rng D is evaluated as is (no masks): the plain gradient
    plain = GAN(G, D, loss=kind)
    np.testing.assert_array_equal(gan.g_loss_grad(tg, td, z)[1], plain.g_loss_grad(tg, td, z)[1])


def test_run_keeps_a_moving_average_of_the_generator():
    """g_ema: after each step theta_g_ema <- b theta_g_ema + (1-b) theta_g (Yazici et al.
    2019), starting from G's initial parameters; the training itself is unchanged."""
    plain = _run(5, steps=0)
    g0 = plain.theta_g.copy()
    gan = _gan()
    s = streams(5)
    real = lambda r, m: r.normal(1.0, 0.3, size=(m, 3))
    run = _trainer(gan, optim.make("adam", lr=1e-2), optim.make("adam", lr=1e-2), gan.G.init(s["g_init"]),
              gan.D.init(s["d_init"]), real, s["data"], s["latent"], batch=8, g_ema=0.9)
    avg = g0.copy()
    for _ in range(10):
        run.step()
        avg = 0.9 * avg + 0.1 * run.theta_g
    np.testing.assert_allclose(run.state_g.average, avg, rtol=1e-12, atol=1e-15)
    assert run.theta_g.tobytes() == _run(5, steps=10).theta_g.tobytes()
    with pytest.raises(ValueError, match="rng_dropout"):
        _trainer(GAN(gan.G, gan.D, d_dropout=(0.5, 0.0)), optim.sgd(), optim.sgd(), run.theta_g, run.theta_d, real,
            s["data"], s["latent"])


@pytest.mark.parametrize("k, P, dtype, drop, out", [(1, None, np.float64, (), False), (2, None, np.float32, (0.2, 0.5), True),
                                                   (1, 3, np.float64, (0.0, 0.5), False), (3, 2, np.float32, (), True)])
def test_step_equals_algorithm_1_written_out(k, P, dtype, drop, out):
    """Trainer.step (G's forward shared by the last D step and the G step, the real batch
    written in place) equals Algorithm 1 written with d_loss_grad and g_loss_grad:
    the same draws from every stream, the same parameters."""
    G = MLP((2, 5, 3), ("relu", "sigmoid"), dtype=dtype)
    D = MLP((3, 4, 1), ("leaky_relu", "identity"), dtype=dtype)
    gan = GAN(G, D, d_dropout=drop)
    lead = () if P is None else (P,)

    def sampler(r, m, out=None):
        x = r.normal(1.0, 0.3, size=lead + (m, 3)).astype(dtype)
        if out is None:
            return x
        out[...] = x
        return out

    real = sampler if out else (lambda r, m: sampler(r, m))

    def make():
        s = streams(11)
        tg = np.stack([G.init(s["g_init"]) for _ in range(P)]) if P else G.init(s["g_init"])
        td = np.stack([D.init(s["d_init"]) for _ in range(P)]) if P else D.init(s["d_init"])
        return _trainer(gan, optim.adam(1e-2), optim.adam(1e-2), tg, td, real, s["data"], s["latent"], batch=8, k=k,
                   rng_dropout=stream(11, "dropout") if drop else None)

    run, ref_run = make(), make()
    tg, td = ref_run.theta_g, ref_run.theta_d
    og, od = ref_run.opt_g, ref_run.opt_d
    sg, sd = og.init(tg), od.init(td)
    rd = ref_run.rng_dropout
    for _ in range(5):
        run.step()
        for _ in range(k):
            x = sampler(ref_run.batches.rng_data, 8)
            z = gan.sample_z(ref_run.batches.rng_latent, 8, P)
            _, gd, _, _ = gan.d_loss_grad(tg, td, x, z, rng=rd)
            sd = od.update(td, gd, sd)
        z = gan.sample_z(ref_run.batches.rng_latent, 8, P)
        _, gg, _ = gan.g_loss_grad(tg, td, z, rng=rd)
        sg = og.update(tg, gg, sg)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(run.theta_g, tg, rtol=tol, atol=tol)
    np.testing.assert_allclose(run.theta_d, td, rtol=tol, atol=tol)
    assert run.batches.rng_latent.bit_generator.state == ref_run.batches.rng_latent.bit_generator.state
    assert run.batches.rng_data.bit_generator.state == ref_run.batches.rng_data.bit_generator.state


def test_workspace_gives_the_same_gradients_as_fresh_arrays():
    """The reusable buffers of a workspace (what every Trainer uses) change nothing, call after call."""
    gan = _gan("minimax")
    rng = np.random.default_rng(9)
    tg, td = gan.G.init(rng), gan.D.init(rng)
    ws = Workspace()
    for _ in range(3):
        x, z = rng.normal(size=(6, 3)), gan.sample_z(rng, 5)
        ref_d = gan.d_loss_grad(tg, td, x, z)
        ref_g = gan.g_loss_grad(tg, td, z)
        got_d = gan.d_loss_grad(tg, td, x, z, ws=ws)
        got_g = gan.g_loss_grad(tg, td, z, ws=ws)
        for a, b in zip(ref_d + ref_g, got_d + got_g):
            np.testing.assert_array_equal(a, b)
        td = td + 0.01 * ref_d[1]


def _run(seed, steps=30, gan=None, opt="adam", k=1):
    gan = gan or _gan()
    s = streams(seed)
    real = lambda r, m: r.normal(1.0, 0.3, size=(m, 3))
    run = _trainer(gan, optim.make(opt, lr=1e-2), optim.make(opt, lr=1e-2), gan.G.init(s["g_init"]),
              gan.D.init(s["d_init"]), real, s["data"], s["latent"], batch=8, k=k)
    for _ in range(steps):
        run.step()
    return run


@pytest.mark.parametrize("opt", ["sgd", "momentum", "adam"])
def test_seed_gives_bitwise_identical_runs(opt):
    a, b, c = _run(3, opt=opt), _run(3, opt=opt), _run(4, opt=opt)
    assert a.theta_g.tobytes() == b.theta_g.tobytes() and a.theta_d.tobytes() == b.theta_d.tobytes()
    assert not np.array_equal(a.theta_g, c.theta_g)


def test_other_streams_do_not_change_a_run():
    """Drawing from the eval stream (as logging and plotting do) leaves training alone."""
    a = _run(7)
    s = streams(7)
    gan = _gan()
    real = lambda r, m: r.normal(1.0, 0.3, size=(m, 3))
    run = _trainer(gan, optim.adam(1e-2), optim.adam(1e-2), gan.G.init(s["g_init"]), gan.D.init(s["d_init"]),
              real, s["data"], s["latent"], batch=8)
    ev = stream(7, "eval")
    for _ in range(30):
        run.step()
        gan.G(run.theta_g, gan.sample_z(ev, 100))  # "logging"
    assert run.theta_g.tobytes() == a.theta_g.tobytes()


def test_population_run_equals_separate_runs():
    gan, P, steps = _gan(), 3, 20
    singles = []
    for p in range(P):
        s = streams(p)
        singles.append(dict(tg=gan.G.init(s["g_init"]), td=gan.D.init(s["d_init"]),
                            x=[s["data"].normal(1.0, 0.3, size=(8, 3)) for _ in range(steps)],
                            z=[gan.sample_z(s["latent"], 8) for _ in range(2 * steps)]))
    lrs = np.array([[1e-3], [1e-2], [3e-2]])
    TG = np.stack([d["tg"] for d in singles])
    TD = np.stack([d["td"] for d in singles])
    og, od = optim.adam(lrs), optim.adam(lrs)
    sg, sd = og.init(TG), od.init(TD)
    for t in range(steps):
        X = np.stack([d["x"][t] for d in singles])
        Zd = np.stack([d["z"][2 * t] for d in singles])
        Zg = np.stack([d["z"][2 * t + 1] for d in singles])
        _, gd, _, _ = gan.d_loss_grad(TG, TD, X, Zd)
        sd = od.update(TD, gd, sd)
        _, gg, _ = gan.g_loss_grad(TG, TD, Zg)
        sg = og.update(TG, gg, sg)
    for p, d in enumerate(singles):
        tg, td = d["tg"].copy(), d["td"].copy()
        og1, od1 = optim.adam(float(lrs[p, 0])), optim.adam(float(lrs[p, 0]))
        s1, s2 = og1.init(tg), od1.init(td)
        for t in range(steps):
            _, gd, _, _ = gan.d_loss_grad(tg, td, d["x"][t], d["z"][2 * t])
            s2 = od1.update(td, gd, s2)
            _, gg, _ = gan.g_loss_grad(tg, td, d["z"][2 * t + 1])
            s1 = og1.update(tg, gg, s1)
        np.testing.assert_allclose(TG[p], tg, rtol=0, atol=1e-12)
        np.testing.assert_allclose(TD[p], td, rtol=0, atol=1e-12)


def test_training_moves_generator_toward_data():
    """A 1-D GAN fit: N(4, 0.5^2) from U(-1, 1); the generator mean must travel from ~0 to ~4."""
    from gandyn.experiments.demo import run_demo
    res = run_demo(seed=0, steps=1000, progress=False, n_eval=5000)
    assert abs(res.samples.mean() - 4.0) < 0.5
    assert np.all(np.isfinite(res.loss_d)) and np.all(np.isfinite(res.loss_g))


def test_float32_gan_steps_stay_float32():
    gan = _gan(dtype=np.float32)
    run = _run(0, steps=3, gan=gan)
    assert run.theta_g.dtype == run.theta_d.dtype == np.float32


def test_bad_gan_configurations():
    G = MLP((2, 3), ("identity",))
    with pytest.raises(ValueError, match="takes"):
        GAN(G, MLP((4, 1), ("identity",)))
    with pytest.raises(ValueError, match="one logit"):
        GAN(G, MLP((3, 2), ("identity",)))
    with pytest.raises(ValueError, match="logit"):
        GAN(G, MLP((3, 1), ("sigmoid",)))
    with pytest.raises(ValueError, match="latent"):
        GAN(G, MLP((3, 1), ("identity",)), latent="cauchy")
    with pytest.raises(ValueError, match="one probability per D layer"):
        GAN(G, MLP((3, 1), ("identity",)), d_dropout=(0.1, 0.1))
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        GAN(G, MLP((3, 1), ("identity",)), d_dropout=(1.0,))
    with pytest.raises(ValueError, match="label_smooth"):
        GAN(G, MLP((3, 1), ("identity",)), label_smooth=-0.1)
    with pytest.raises(ValueError, match="k"):
        _run(0, steps=0, k=0)


@pytest.mark.parametrize("latent", ["uniform", "normal"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_latent_into_a_buffer_draws_the_same_values(latent, dtype):
    dist = as_latent(latent)
    a = dist.rvs((5, 3), np.random.default_rng(4), dtype=dtype)
    assert a.dtype == dtype
    buf = np.empty((10, 3), dtype)
    got = dist.rvs((5, 3), np.random.default_rng(4), dtype=dtype, out=buf[:5])
    np.testing.assert_array_equal(got, a)
    np.testing.assert_array_equal(buf[:5], a)
    strided = np.empty((5, 6), dtype)[:, ::2]  # not contiguous: filled through a copy
    np.testing.assert_array_equal(dist.rvs((5, 3), np.random.default_rng(4), dtype=dtype, out=strided), a)
    if dtype == np.float64:  # the float64 draws are the distribution's own
        np.testing.assert_array_equal(a, dist.rvs((5, 3), np.random.default_rng(4)))
    with pytest.raises(ValueError, match="unknown latent 'cauchy'; choose from uniform, normal"):
        as_latent("cauchy")


def test_step_uses_what_the_sampler_returns():
    """A sampler that takes out= but returns another array (ignoring out) trains the same
    as one without out=; so does one that fills out."""
    gan = _gan()
    data = np.random.default_rng(0).normal(1.0, 0.3, size=(64, 3))

    def plain(r, m):
        return data[r.integers(0, 64, m)]

    def ignores_out(r, m, out=None):
        return data[r.integers(0, 64, m)]

    def fills_out(r, m, out=None):
        np.take(data, r.integers(0, 64, m), axis=0, out=out)
        return out

    thetas = []
    for sampler in (plain, ignores_out, fills_out):
        s = streams(2)
        run = _trainer(gan, optim.adam(1e-2), optim.adam(1e-2), gan.G.init(s["g_init"]), gan.D.init(s["d_init"]),
                  sampler, s["data"], s["latent"], batch=8)
        for _ in range(10):
            run.step()
        thetas.append(run.theta_g.copy())
    np.testing.assert_array_equal(thetas[0], thetas[1])
    np.testing.assert_array_equal(thetas[0], thetas[2])
