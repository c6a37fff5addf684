"""Maxout and batch-norm layers of the engine's MLP against autograd on an independent
forward (tests/_reference.py, written from Goodfellow et al. 2013, eq. 1, and Ioffe &
Szegedy 2015, Algorithms 1-2): outputs, gradients, Hessian-vector products, populations,
running statistics, and the GAN machinery (second-order products, the trainer)."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad, jacobian

import _reference as ref
from gandyn.engine import GAN, MLP, optim
from gandyn.engine.nn import Passes, dropout_masks
from gandyn.engine.second_order import SOFTPLUS, game_jvp, game_vjp
from gandyn.engine.trainer import FixedBatches, Trainer
from gandyn.engine.workspace import Workspace

#: (pieces, batch_norm, activations) of a 3-layer net (3, 4, 5, 2)
NETS = {
    "maxout": ((3, 2, None), None, ("identity", "identity", "identity")),
    "bn": (None, (True, True, False), ("relu", "tanh", "identity")),
    "bn-out": (None, (False, True, True), ("sigmoid", "leaky_relu", "tanh")),
    "both": ((2, None, None), (False, True, False), ("identity", "sigmoid", "identity")),
}
TOL = dict(rtol=1e-12, atol=1e-12)


def _net(kind, dtype=np.float64):
    pieces, bn, acts = NETS[kind]
    return MLP((3, 4, 5, 2), acts, dtype=dtype, pieces=pieces, batch_norm=bn)


def _ref(net, theta, x, stats=None, masks=None):
    return ref.mlp_layers(net.sizes, net.activations, theta, x, net.pieces, net.batch_norm, net.bn_eps,
                          stats=stats, masks=masks)


def _ref_stats(net, stats):
    """The running statistics of one model as the reference's per-layer (mean, std) pairs."""
    v = net.stats_layout.views(stats)
    return [(v[f"mean{l}"][0], v[f"std{l}"][0]) if b else None for l, b in enumerate(net.batch_norm, start=1)]


def _point(net, seed, m=6, P=None):
    rng = np.random.default_rng(seed)
    theta = net.init(rng, population=P)
    theta += rng.normal(0, 0.3, theta.shape)  # scales and shifts away from (1, 0)
    lead = () if P is None else (P,)
    x = rng.normal(size=lead + (m, 3))
    return theta, x, rng


def _close(a, b, tol=1e-12):
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, float(np.max(np.abs(b)))))


# softplus loss L = sum_i softplus(o_i) / m, the same in the engine and the reference
def _loss(m):
    return (SOFTPLUS.f, lambda o: SOFTPLUS.df(o) / m, lambda o: SOFTPLUS.d2f(o) / m)


def _ref_loss(net, stats=None):
    return lambda t, x: anp.sum(anp.logaddexp(0.0, _ref(net, t, x, stats))) / x.shape[0]


@pytest.mark.parametrize("kind", NETS)
def test_forward_and_gradients_equal_autograd(kind):
    net = _net(kind)
    theta, x, rng = _point(net, 0)
    g_out = rng.normal(size=(6, 2))
    hs = net.forward(theta, x)
    _close(hs[-1], _ref(net, theta, x))
    g_theta, g_x = net.backward(theta, hs, g_out, inputs=True)

    def f(t, x):
        return anp.sum(_ref(net, t, x) * g_out)

    _close(g_theta, grad(f, 0)(theta, x))
    _close(g_x, grad(f, 1)(theta, x))


@pytest.mark.parametrize("kind", NETS)
@pytest.mark.parametrize("rows", [6, 2])
def test_hvp_and_r_passes_equal_autograd(kind, rows):
    """``MLP.hvp`` (tangent + backward_r) is d/dr of the gradients along (v, dx), dx moving the
    last ``rows`` rows: through the batch mean and variance every row's gradient moves."""
    net = _net(kind)
    theta, x, rng = _point(net, 1)
    v, dx = rng.normal(size=theta.shape), rng.normal(size=(rows, 3))
    full = np.zeros_like(x)
    full[6 - rows:] = dx
    hv, rgx = net.hvp(theta, x, v, dx=dx, loss=_loss(6), inputs=True, ws=Workspace())
    L = _ref_loss(net)
    path = lambda r: (theta + r * v, x + r * full)  # noqa: E731
    _close(hv, jacobian(lambda r: grad(L, 0)(*path(r)))(0.0))
    _close(rgx, jacobian(lambda r: grad(L, 1)(*path(r)))(0.0))
    # parameter direction alone, and input direction alone
    _close(net.hvp(theta, x, v, loss=_loss(6))[0], jacobian(lambda r: grad(L, 0)(theta + r * v, x))(0.0))
    _close(net.hvp(theta, x, None, dx=dx, loss=_loss(6))[0], jacobian(lambda r: grad(L, 0)(theta, x + r * full))(0.0))


@pytest.mark.parametrize("kind", ["bn", "both"])
@pytest.mark.parametrize("shared", [False, True])
def test_population_equals_each_models_own_run(kind, shared):
    """Each model of a population normalises over its own batch: its output, gradient and
    H v equal a single run of that model (batch ``(P, m, d)`` or one ``(m, d)`` for all)."""
    net = _net(kind)
    P = 3
    theta, x, rng = _point(net, 2, P=P)
    x = x[0] if shared else x
    v = rng.normal(size=theta.shape)
    hs = net.forward(theta, x, ws=Workspace())
    g_out = rng.normal(size=hs[-1].shape)
    g, gx = net.backward(theta, hs, g_out, inputs=True)
    hv, rgx = net.hvp(theta, x, v, dx=x[..., 3:, :], loss=_loss(6), inputs=True, ws=Workspace())
    for p in range(P):
        xp = x if shared else x[p]
        hs_p = net.forward(theta[p], xp)
        _close(hs[-1][p], hs_p[-1])
        g_p, gx_p = net.backward(theta[p], hs_p, g_out[p], inputs=True)
        _close(g[p], g_p)
        _close(gx[p] if not shared else gx[p], gx_p)
        hv_p, rgx_p = net.hvp(theta[p], xp, v[p], dx=xp[3:], loss=_loss(6), inputs=True)
        _close(hv[p], hv_p)
        _close(rgx[p], rgx_p)


@pytest.mark.parametrize("kind", ["bn", "bn-out", "both"])
def test_evaluation_mode_uses_the_running_statistics(kind):
    """With ``stats`` the layers normalise by the running (mean, std), not the batch's:
    outputs, gradients and H v are those of that fixed affine map (autograd), each row on its
    own (a batch of one row works), and differ from training mode."""
    net = _net(kind)
    P = 2
    theta, x, rng = _point(net, 3, P=P)
    stats = net.init_stats(P)
    assert stats.shape == (P, net.stats_layout.size)
    stats += rng.uniform(0.1, 0.5, stats.shape)
    v = rng.normal(size=theta.shape)
    hs = net.forward(theta, x, stats=stats)
    g, _ = net.backward(theta, hs, np.ones(hs[-1].shape))
    hv, _ = net.hvp(theta, x, v, loss=_loss(6), stats=stats)
    for p in range(P):
        rs = _ref_stats(net, stats[p])
        _close(hs[-1][p], _ref(net, theta[p], x[p], rs))
        _close(net(theta[p], x[p, :1], stats=stats[p]), _ref(net, theta[p], x[p, :1], rs))
        _close(g[p], grad(lambda t: anp.sum(_ref(net, t, x[p], rs)))(theta[p]))
        L = _ref_loss(net, rs)
        _close(hv[p], jacobian(lambda r: grad(L, 0)(theta[p] + r * v[p], x[p]))(0.0))
    assert np.max(np.abs(hs[-1] - net(theta, x))) > 1e-3


def test_running_statistics_are_a_moving_average_of_the_batch_statistics():
    """``update_stats``: mean <- (1 - mom) mean + mom mu_B, std <- (1 - mom) std + mom
    sqrt(var_B + eps) with the biased batch variance (Blocks' population statistics, updated
    as PacGAN does with mom = 0.05), for each model of a population."""
    net = MLP((3, 4, 2), ("relu", "identity"), batch_norm=(True, False), bn_momentum=0.25)
    theta, x, _ = _point(net, 4, P=2)
    stats = net.init_stats(2)
    np.testing.assert_array_equal(net.stats_layout.views(stats)["std1"], 1.0)
    for step in range(2):
        before = stats.copy()
        hs = net.forward(theta, x + step)
        assert net.update_stats(stats, hs) is stats
        a = (x + step) @ net.layout.views(theta)["W1"]
        mu = a.mean(axis=1, keepdims=True)
        sd = np.sqrt(((a - mu) ** 2).mean(axis=1, keepdims=True) + 1e-4)
        v0, v1 = net.stats_layout.views(before), net.stats_layout.views(stats)
        _close(v1["mean1"], 0.75 * v0["mean1"] + 0.25 * mu)
        _close(v1["std1"], 0.75 * v0["std1"] + 0.25 * sd)
    with pytest.raises(ValueError, match="training-mode"):
        net.update_stats(stats, net.forward(theta, x, stats=stats))


def test_maxout_with_dropout_masks_equals_autograd():
    """Dropout on the input of every layer (as in Goodfellow et al. 2014's maxout D) with
    maxout: masks multiply the max of the previous layer's pieces."""
    net = MLP((3, 5, 4, 1), ("identity", "identity", "identity"), pieces=(3, 2, None))
    theta, x, rng = _point(net, 5, m=7)
    masks = dropout_masks(rng, (0.2, 0.5, 0.5), net.sizes, (7,))
    g_out = rng.normal(size=(7, 1))
    for ws in (None, Workspace()):
        hs = net.forward(theta, x, masks=masks, ws=ws)
        _close(hs[-1], _ref(net, theta, x, masks=masks))
        g, gx = net.backward(theta, hs, g_out, inputs=True, masks=masks, ws=ws)
        f = lambda t, x: anp.sum(_ref(net, t, x, masks=masks) * g_out)  # noqa: E731
        _close(g, grad(f, 0)(theta, x))
        _close(gx, grad(f, 1)(theta, x))


def test_layout_init_and_float32():
    """Blocks: maxout W (d_in, k d), b (1, k d); batch norm W, gamma, beta (no bias). init
    draws the weights, zero biases and shifts, unit scales; float32 follows float64."""
    net = MLP((2, 3, 4, 1), ("identity", "relu", "identity"), pieces=(5, None, None),
              batch_norm=(False, True, False))
    assert net.layout.names == ("W1", "b1", "W2", "gamma2", "beta2", "W3", "b3")
    assert net.layout.shapes[:2] == ((2, 15), (1, 15))
    assert net.stats_layout.names == ("mean2", "std2")
    theta = net.init(np.random.default_rng(0), scheme="normal_0.02")
    v = net.layout.views(theta)
    np.testing.assert_array_equal(v["gamma2"], 1.0)
    np.testing.assert_array_equal(v["beta2"], 0.0)
    assert abs(np.std(v["W1"]) - 0.02) < 0.01
    assert [b is None for _, b in net.views(theta)] == [False, True, False]
    n32 = MLP(net.sizes, net.activations, np.float32, pieces=net.pieces, batch_norm=net.batch_norm)
    x = np.random.default_rng(1).normal(size=(8, 2))
    y32 = n32(theta.astype(np.float32), x.astype(np.float32))
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, net(theta, x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("bad, match", [
    (dict(pieces=(1, None)), "k >= 2"),
    (dict(pieces=(2.5, None)), "k >= 2"),
    (dict(pieces=(None, 2)), "output layer"),
    (dict(pieces=(2,)), "one entry per layer"),
    (dict(pieces=2), "one entry per layer"),
    (dict(pieces=(2, None), batch_norm=(True, False)), "both maxout and batch"),
    (dict(batch_norm=(True, False), bn_eps=0.0), "bn_eps"),
], ids=["one-piece", "fraction", "output", "length", "not-a-tuple", "both", "eps"])
def test_bad_layer_specs_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        MLP((2, 3, 1), ("identity", "identity"), **bad)


def test_refusals_of_batch_norm():
    with pytest.raises(ValueError, match="takes the activation 'identity'"):
        MLP((2, 3, 1), ("relu", "identity"), pieces=(2, None))
    net = _net("bn")
    theta, x, _ = _point(net, 6)
    with pytest.raises(ValueError, match="at least 2 rows"):
        net.forward(theta, x[:1])
    hs = net.forward(theta, x)
    assert isinstance(hs, Passes)
    with pytest.raises(ValueError, match="some of its rows"):  # rows of a pass are not a pass
        net.backward(theta, [h[2:] for h in hs], np.ones((4, 2)))
    with pytest.raises(ValueError, match="no batch-norm layer"):
        _net("maxout")(theta[:10], x, stats=np.zeros(0))


# --- the GAN machinery: a batch-norm G (PacGAN's) and a maxout D (Goodfellow et al.'s)


def _gan():
    G = MLP((2, 4, 4, 2), ("relu", "relu", "identity"), batch_norm=(True, True, False))
    D = MLP((2, 5, 3, 1), ("identity", "identity", "identity"), pieces=(3, 2, None))
    return GAN(G, D)


def _gan_point(gan, seed):
    rng = np.random.default_rng(seed)
    tg = gan.G.init(rng) + rng.normal(0, 0.2, gan.G.n_params)
    td = gan.D.init(rng) + rng.normal(0, 0.2, gan.D.n_params)
    return tg, td, rng.normal(size=(5, 2)), rng.normal(size=(4, 2)), rng


def _ref_costs(gan):
    """L_D = mean softplus(-o(x)) + mean softplus(o(G(z))), L_G = mean softplus(-o(G(z)))
    (Goodfellow et al. 2014, eq. 1, non-saturating G), G's batch norm over the noise batch."""
    G, D = gan.G, gan.D

    def o(net, t, x):
        return _ref(net, t, x)

    def L_D(tg, td, x, z):
        return (anp.mean(anp.logaddexp(0.0, -o(D, td, x))) + anp.mean(anp.logaddexp(0.0, o(D, td, o(G, tg, z)))))

    def L_G(tg, td, z):
        return anp.mean(anp.logaddexp(0.0, -o(D, td, o(G, tg, z))))

    return L_D, L_G


def test_game_products_with_batch_norm_g_and_maxout_d_equal_autograd():
    """``J v`` and ``J^T u`` of the game (grad_G L_G, grad_D L_D) by the hand-written
    R-passes equal the dense autograd Jacobian of the reference game."""
    gan = _gan()
    tg, td, x, z, rng = _gan_point(gan, 7)
    L_D, L_G = _ref_costs(gan)
    nG = gan.G.n_params

    def field(w):
        return anp.concatenate([grad(L_G, 0)(w[:nG], w[nG:], z), grad(L_D, 1)(w[:nG], w[nG:], x, z)])

    J = jacobian(field)(np.concatenate([tg, td]))
    v, u = rng.normal(size=J.shape[1]), rng.normal(size=J.shape[0])
    jg, jd = game_jvp(gan, tg, td, x, z, v[:nG], v[nG:], ws=Workspace())
    _close(np.concatenate([jg, jd]), J @ v)
    ug, ud = game_vjp(gan, tg, td, x, z, u[:nG], u[nG:], ws=Workspace())
    _close(np.concatenate([ug, ud]), J.T @ u)


def test_trainer_sgd_step_equals_autograd_and_updates_the_running_statistics():
    """One Algorithm-1 iteration with SGD on a fixed batch: D descends grad_D L_D (G's batch
    norm over the D step's noise), then G descends grad_G L_G at the updated D (over the G
    step's own noise batch, its statistics folded into the running ones)."""
    gan = _gan()
    tg, td, x, z, _ = _gan_point(gan, 8)
    x = x[:4]
    L_D, L_G = _ref_costs(gan)
    h = 0.1
    td1 = td - h * grad(L_D, 1)(tg, td, x, z)
    tg1 = tg - h * grad(L_G, 0)(tg, td1, z)
    stats = gan.G.init_stats()
    tr = Trainer(gan, optim.sgd(h), optim.sgd(h), tg.copy(), td.copy(), FixedBatches(x, z), batch=4)
    tr.step()
    _close(tr.theta_d, td1)
    _close(tr.theta_g, tg1)
    _close(tr.stats_g, gan.G.update_stats(stats, gan.G.forward(tg, z)))
    with pytest.raises(ValueError, match="batch norm in D"):
        bn_d = MLP((2, 3, 1), ("relu", "identity"), batch_norm=(True, False))
        Trainer(GAN(gan.G, bn_d), optim.sgd(h), optim.sgd(h), tg, bn_d.init(0), FixedBatches(x, z), batch=4)


def test_mlp_gan_game_traces_maxout_and_batch_norm():
    """:func:`gandyn.games.mlp_gan_game` of such a GAN: its traced field equals the reference
    game's, and its engine products equal autograd's Jacobian of the traced field."""
    from gandyn import games

    gan = _gan()
    tg, td, x, z, rng = _gan_point(gan, 9)
    game = games.mlp_gan_game(gan, x, z)
    point = np.concatenate([tg, td])
    L_D, L_G = _ref_costs(gan)
    _close(game.field(point), np.concatenate([grad(L_G, 0)(tg, td, z), grad(L_D, 1)(tg, td, x, z)]))
    J = game.jacobian(point)
    v = rng.normal(size=game.n)
    _close(game.jvp(point, v), J @ v)
    _close(game.vjp(point, v), J.T @ v)
    bn_d = MLP((2, 3, 1), ("relu", "identity"), batch_norm=(True, False))
    with pytest.raises(ValueError, match="batch norm"):
        games.mlp_gan_game(GAN(gan.G, bn_d), x, z)


@pytest.mark.parametrize("center", [0.0, 1.0])
def test_gradient_penalty_of_a_maxout_d_equals_autograd(center):
    """R1 (c = 0) and WGAN-GP's term (c = 1) by the hand-written double backward through
    maxout layers: value and gradient equal autograd's."""
    from gandyn.engine.second_order import penalty_grad

    D = _gan().D
    _, td, x, _, _ = _gan_point(_gan(), 10)

    def P(t):
        gx = jacobian(lambda xx: _ref(D, t, xx)[:, 0])(x)  # (m, m, d): row i's gradient at [i, i]
        g = anp.stack([gx[i, i] for i in range(x.shape[0])])
        return anp.mean((anp.sqrt(anp.sum(g * g, axis=1)) - center) ** 2)

    value, g = penalty_grad(D, td, x, center=center)
    _close(value, P(td))
    _close(g, grad(P)(td))


def test_population_trainer_equals_each_models_own_trainer():
    """A population of batch-norm G / maxout D GANs trained together: every model, its
    running statistics included, follows its own single run."""
    gan = _gan()
    P, m = 2, 4
    rng = np.random.default_rng(11)
    tg = np.stack([gan.G.init(rng) for _ in range(P)])
    td = np.stack([gan.D.init(rng) for _ in range(P)])
    x, z = rng.normal(size=(P, m, 2)), rng.normal(size=(P, m, 2))
    opt = optim.adam(1e-2, b1=0.5)
    tr = Trainer(gan, opt, opt, tg.copy(), td.copy(), FixedBatches(x, z), batch=m)
    for _ in range(3):
        tr.step()
    assert tr.stats_g.shape == (P, gan.G.stats_layout.size)
    for p in range(P):
        one = Trainer(gan, opt, opt, tg[p].copy(), td[p].copy(), FixedBatches(x[p], z[p]), batch=m)
        for _ in range(3):
            one.step()
        _close(tr.theta_g[p], one.theta_g, 1e-10)
        _close(tr.theta_d[p], one.theta_d, 1e-10)
        _close(tr.stats_g[p], one.stats_g, 1e-10)
