"""The hand-written second-order passes (gandyn.engine.nn R-operator, gandyn.engine.second_order)
against autograd (float64, <= 1e-12 relative), central differences of the hand-written
gradients, and a loop over single models for populations."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad, make_jvp

from gandyn import games
from gandyn.engine import losses
from gandyn.engine import second_order as so
from gandyn.engine.gan import GAN
from gandyn.engine.nn import ACTIVATIONS, MLP
from gandyn.engine.workspace import Workspace
from gandyn.games.traced import mlp_forward
from _reference import close as _close

SOFTPLUS = so.SOFTPLUS  # phi(o) = softplus(o): every derivative non-zero




def _net(act, dtype=np.float64, out=2):
    # act in the first and last hidden layer; a smooth layer in between exercises the curvature terms
    mid = "sigmoid" if act == "tanh" else "tanh"
    return MLP((3, 5, 4, out), (act, mid, act), dtype=dtype)


def _point(net, rng, m=6):
    theta = net.init(rng)
    theta += 0.1 * rng.standard_normal(theta.shape)  # non-zero biases
    x = rng.standard_normal((m, net.sizes[0]))
    return theta, x


def _case(act, seed):
    """A net of ``act``, a point ``(theta, x)`` and directions ``(v, dx)`` for them."""
    rng = np.random.default_rng(seed)
    net = _net(act)
    theta, x = _point(net, rng)
    return net, theta, x, rng.standard_normal(theta.shape), rng.standard_normal(x.shape)


def _loss_sum(net, phi):
    return lambda t, xx: anp.sum(phi(mlp_forward(net, t, xx)))


def _softplus(o):
    return anp.logaddexp(0.0, o)


# --- the MLP R-operator


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_hvp_and_mixed_products_equal_autograd(act):
    net, theta, x, v, dx = _case(act, seed=1)
    L = _loss_sum(net, _softplus)
    g_theta, g_x = grad(L, 0), grad(L, 1)

    def along(f, vv, dd):
        return make_jvp(lambda r: f(theta + r * vv, x + r * dd))(0.0)(1.0)[1]

    zero_t, zero_x = np.zeros_like(theta), np.zeros_like(x)
    for vv, dd in [(v, dx), (v, None), (None, dx)]:
        hv, rgx = net.hvp(theta, x, vv, dx=dd, loss=SOFTPLUS, inputs=True)
        vv0 = zero_t if vv is None else vv
        dd0 = zero_x if dd is None else dd
        _close(hv, along(g_theta, vv0, dd0))
        _close(rgx, along(g_x, vv0, dd0))


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_hvp_equals_central_differences_of_the_handwritten_gradient(act):
    net, theta, x, v, dx = _case(act, seed=2)

    def grads(t, xx):
        hs = net.forward(t, xx)
        return net.backward(t, hs, SOFTPLUS.df(hs[-1]), inputs=True)

    eps = 1e-6
    (gp, gxp), (gm, gxm) = grads(theta + eps * v, x + eps * dx), grads(theta - eps * v, x - eps * dx)
    hv, rgx = net.hvp(theta, x, v, dx=dx, loss=SOFTPLUS, inputs=True)
    _close(hv, (gp - gm) / (2 * eps), 1e-6)
    _close(rgx, (gxp - gxm) / (2 * eps), 1e-6)


@pytest.mark.parametrize("shared_x", [False, True])
def test_population_equals_separate_models(shared_x):
    rng = np.random.default_rng(3)
    net = _net("tanh")
    P = 3
    theta = np.stack([_point(net, rng)[0] for _ in range(P)])
    x = rng.standard_normal((6, 3)) if shared_x else rng.standard_normal((P, 6, 3))
    v, dx = rng.standard_normal(theta.shape), rng.standard_normal((P, 6, 3))
    hv, rgx = net.hvp(theta, x, v, dx=dx, loss=SOFTPLUS, inputs=True, ws=Workspace())
    assert hv.shape == theta.shape and rgx.shape == (P, 6, 3)
    for p in range(P):
        hp, rp = net.hvp(theta[p], x if shared_x else x[p], v[p], dx=dx[p], loss=SOFTPLUS, inputs=True)
        _close(hv[p], hp, 1e-13)
        _close(rgx[p], rp, 1e-13)


def test_tangent_of_the_last_rows_equals_a_zero_padded_direction():
    rng = np.random.default_rng(4)
    net = _net("sigmoid")
    theta, x = _point(net, rng)
    v, dx = rng.standard_normal(theta.shape), rng.standard_normal((2, 3))
    full = np.zeros_like(x)
    full[-2:] = dx
    for vv in (v, None):
        hv, rgx = net.hvp(theta, x, vv, dx=dx, loss=SOFTPLUS, inputs=True)
        hv_f, rgx_f = net.hvp(theta, x, vv, dx=full, loss=SOFTPLUS, inputs=True)
        _close(hv, hv_f, 1e-14)
        _close(rgx, rgx_f, 1e-14)


def test_zero_direction_and_workspace():
    rng = np.random.default_rng(5)
    net = _net("tanh")
    theta, x = _point(net, rng)
    hv, rgx = net.hvp(theta, x, None, loss=SOFTPLUS, inputs=True)
    assert not hv.any() and not rgx.any()
    v = rng.standard_normal(theta.shape)
    ws = Workspace()
    first = net.hvp(theta, x, v, loss=SOFTPLUS, ws=ws)[0].copy()
    again = net.hvp(theta, x, v, loss=SOFTPLUS, ws=ws)[0]
    _close(again, first, 1e-15)
    _close(first, net.hvp(theta, x, v, loss=SOFTPLUS)[0], 1e-15)


def test_tangent_of_the_input_gradient_alone():
    rng = np.random.default_rng(14)
    net = _net("tanh")
    theta, x = _point(net, rng)
    v = rng.standard_normal(theta.shape)
    hs = net.forward(theta, x)
    rs = net.tangent(theta, hs, v)
    g_out = SOFTPLUS.df(hs[-1])
    r_out = SOFTPLUS.d2f(hs[-1]) * rs[-1]
    _, gx, rgx = net.backward_r(theta, hs, rs, v, g_out, r_out, params=False, inputs=True)
    _, gx2, rgx2 = net.backward_r(theta, hs, rs, v, g_out, r_out, params=False, inputs=True, input_grad=False)
    assert gx2 is None
    _close(rgx2, rgx, 1e-15)
    _close(gx, net.backward(theta, hs, g_out, params=False, inputs=True)[1], 1e-14)


def test_float32_follows_float64():
    rng = np.random.default_rng(6)
    n64, n32 = _net("tanh"), _net("tanh", np.float32)
    theta, x = _point(n64, rng)
    v = rng.standard_normal(theta.shape)
    h64, _ = n64.hvp(theta, x, v, loss=SOFTPLUS)
    h32, _ = n32.hvp(theta.astype(np.float32), x.astype(np.float32), v.astype(np.float32), loss=SOFTPLUS)
    assert h32.dtype == np.float32
    _close(h32, h64, 1e-5)


def test_bad_directions_raise():
    net = _net("relu")
    theta, x = _point(net, np.random.default_rng(0))
    hs = net.forward(theta, x)
    with pytest.raises(ValueError, match="shape of theta"):
        net.tangent(theta, hs, np.ones(3))
    with pytest.raises(ValueError, match="dx must have shape"):
        net.tangent(theta, hs, None, dx=np.ones((7, 3)))
    with pytest.raises(ValueError, match="dx must have shape"):
        net.tangent(theta, hs, None, dx=np.ones((6, 2)))


# --- loss triples


_SMOOTHED = losses.get("nonsat", label_smooth=0.2)


@pytest.mark.parametrize("loss", [so.SOFTPLUS, so.SOFTPLUS_NEG, so.NEG_SOFTPLUS, _SMOOTHED.d_real, _SMOOTHED.d_fake,
                                  _SMOOTHED.g_fake])
def test_loss_triples_are_consistent(loss):
    o = np.linspace(-30, 30, 41)
    eps = 1e-6
    _close(loss.df(o), (loss.f(o + eps) - loss.f(o - eps)) / (2 * eps), 1e-7)
    _close(loss.d2f(o), (loss.df(o + eps) - loss.df(o - eps)) / (2 * eps), 1e-7)


# --- the game Jacobian


def _gan(loss="nonsat", d_act="tanh"):
    return GAN(MLP((2, 5, 3), ("tanh", "sigmoid")), MLP((3, 4, 1), (d_act, "identity")), loss=loss,
               latent="normal")


def _dense(gan, x, z, w_r=None, w_f=None, seed=0):
    game = games.mlp_gan_game(gan, x, z, w_real=w_r, w_latent=w_f)
    rng = np.random.default_rng(seed)
    point = np.concatenate([gan.G.init(rng), gan.D.init(rng)])
    point += 0.1 * rng.standard_normal(point.shape)
    return game, point, game.jacobian(point)


@pytest.mark.parametrize("loss, d_act, weighted", [("nonsat", "tanh", False), ("minimax", "sigmoid", True),
                                                     ("nonsat", "relu", True)])
def test_game_jvp_and_vjp_equal_the_dense_autograd_jacobian(loss, d_act, weighted):
    rng = np.random.default_rng(8)
    gan = _gan(loss, d_act)
    x, z = rng.normal(1.0, 0.5, (7, 3)), rng.standard_normal((6, 2))
    w_r = rng.dirichlet(np.ones(7)) if weighted else None
    w_f = rng.dirichlet(np.ones(6)) if weighted else None
    game, point, J = _dense(gan, x, z, w_r, w_f)
    tg, td = game.split(point)
    ws = Workspace()
    for _ in range(2):  # the second time through the workspace's buffers
        v = rng.standard_normal(game.n)
        vg, vd = game.split(v)
        jg, jd = so.game_jvp(gan, tg, td, x, z, vg, vd, w_real=w_r, w_fake=w_f, ws=ws)
        _close(np.concatenate([jg, jd]), J @ v)
        ug, ud = so.game_vjp(gan, tg, td, x, z, vg, vd, w_real=w_r, w_fake=w_f, ws=ws)
        _close(np.concatenate([ug, ud]), J.T @ v)
        jg, _ = so.game_jvp(gan, tg, td, x, z, vg, None, w_real=w_r, w_fake=w_f, rows="g", ws=ws)
        _close(jg, J[: game.n_g, : game.n_g] @ vg)
        _, jd = so.game_jvp(gan, tg, td, x, z, None, vd, w_real=w_r, w_fake=w_f, rows="d", ws=ws)
        _close(jd, J[game.n_g:, game.n_g:] @ vd)
        ug, ud = so.game_vjp(gan, tg, td, x, z, None, vd, w_real=w_r, w_fake=w_f, ws=ws)
        _close(np.concatenate([ug, ud]), J.T[:, game.n_g:] @ vd)
        for u_g, u_d in ((vg, vd), (None, vd), (vg, None)):  # one part of J^T u, by fewer passes
            u = np.concatenate([np.zeros(game.n_g) if u_g is None else u_g, np.zeros(game.n_d) if u_d is None else u_d])
            ug, ud = so.game_vjp(gan, tg, td, x, z, u_g, u_d, w_real=w_r, w_fake=w_f, rows="g", ws=ws)
            assert ud is None
            _close(ug, (J.T @ u)[: game.n_g])
            ug, ud = so.game_vjp(gan, tg, td, x, z, u_g, u_d, w_real=w_r, w_fake=w_f, rows="d", ws=ws)
            assert ug is None
            _close(ud, (J.T @ u)[game.n_g:])


def test_one_part_of_the_transposed_product_skips_the_other_parts_passes(monkeypatch):
    """rows='g' of J^T (0, u_D) (LOLA's J_DG^T u_D): no pass of the L_G part, and D's tangent and
    R-backward pass on the generated rows only, one R-backward pass of each network; rows='d' of
    J^T (u_G, 0) (J_GD^T u_G): no pass through G's R-backward, none with input gradients; J_GD v_D
    (G's rows of J (0, v_D)) without D's plain input gradient. Counted by call (deterministic)."""
    rng = np.random.default_rng(4)
    gan = _gan("nonsat", "tanh")
    x, z = rng.normal(1.0, 0.5, (7, 3)), rng.standard_normal((6, 2))
    tg, td = gan.G.init(rng), gan.D.init(rng)
    vg, vd = rng.standard_normal(tg.shape), rng.standard_normal(td.shape)
    p = so.primal(gan, tg, td, x, z)
    calls = []
    for name in ("tangent", "backward_r", "backward"):
        def spy(self, theta, hs, *a, _f=getattr(MLP, name), _n=name, **k):
            calls.append((_n, "G" if self is gan.G else "D", hs[0].shape[-2], k.get("inputs", False),
                          k.get("input_grad", True)))
            return _f(self, theta, hs, *a, **k)
        monkeypatch.setattr(MLP, name, spy)

    def passes(u_g, u_d, rows):
        calls.clear()
        so.game_vjp(gan, tg, td, x, z, u_g, u_d, rows=rows, primal=p)
        return [c for c in calls if not (c[0] == "tangent" and c[1] == "G" and (u_g is None))]

    full = passes(None, vd, "gd")
    part = passes(None, vd, "g")
    assert [c[:3] for c in part] == [("tangent", "D", 6), ("backward_r", "D", 6), ("backward_r", "G", 6)]
    assert len(full) == 6 and ("backward_r", "D", 13, False, True) in full  # H_DD u_D over the whole batch
    part = passes(vg, None, "d")
    assert [c[:3] for c in part] == [("tangent", "G", 6), ("tangent", "D", 6), ("backward_r", "D", 6),
                                     ("tangent", "D", 13), ("backward_r", "D", 13)]
    assert not any(c[3] for c in part)
    full = passes(vg, None, "gd")
    assert len(full) == 7 and ("backward_r", "G", 6, False, True) in full
    assert ("backward_r", "D", 6, True, True) in full
    # J_GD v_D (G's rows of J (0, v_D)): D's input R-backward pass without dL_G/dx itself
    calls.clear()
    so.game_jvp(gan, tg, td, x, z, None, vd, rows="g", primal=p)
    assert ("backward_r", "D", 6, True, False) in calls


def test_products_reuse_a_primal_pass():
    rng = np.random.default_rng(15)
    gan = _gan("minimax", "sigmoid")
    x, z = rng.standard_normal((7, 3)), rng.standard_normal((6, 2))
    tg, td = gan.G.init(rng), gan.D.init(rng)
    ws = Workspace()
    p = so.primal(gan, tg, td, x, z, ws=ws)
    for _ in range(2):
        vg, vd = rng.standard_normal(tg.shape), rng.standard_normal(td.shape)
        for f in (so.game_jvp, so.game_vjp):
            a = f(gan, tg, td, x, z, vg, vd, primal=p, ws=ws)
            b = f(gan, tg, td, x, z, vg, vd)
            _close(np.concatenate(a), np.concatenate(b), 1e-15)


@pytest.mark.parametrize("shared", [False, True])
def test_game_products_of_a_population_equal_separate_models(shared):
    rng = np.random.default_rng(9)
    gan = _gan()
    P = 3
    tg = np.stack([gan.G.init(rng) for _ in range(P)])
    td = np.stack([gan.D.init(rng) for _ in range(P)])
    if shared:  # one minibatch and one noise batch for every model
        x, z = rng.standard_normal((7, 3)), rng.standard_normal((6, 2))
        xs, zs = [x] * P, [z] * P
    else:
        x, z = rng.standard_normal((P, 7, 3)), rng.standard_normal((P, 6, 2))
        xs, zs = x, z
    vg, vd = rng.standard_normal(tg.shape), rng.standard_normal(td.shape)
    jg, jd = so.game_jvp(gan, tg, td, x, z, vg, vd, ws=Workspace())
    ug, ud = so.game_vjp(gan, tg, td, x, z, vg, vd, ws=Workspace())
    for p in range(P):
        a, b = so.game_jvp(gan, tg[p], td[p], xs[p], zs[p], vg[p], vd[p])
        _close(jg[p], a, 1e-13)
        _close(jd[p], b, 1e-13)
        a, b = so.game_vjp(gan, tg[p], td[p], xs[p], zs[p], vg[p], vd[p])
        _close(ug[p], a, 1e-13)
        _close(ud[p], b, 1e-13)


def test_game_jvp_float32_follows_float64():
    rng = np.random.default_rng(10)
    gan64 = _gan()
    gan32 = GAN(MLP((2, 5, 3), ("tanh", "sigmoid"), np.float32), MLP((3, 4, 1), ("tanh", "identity"), np.float32))
    tg, td = gan64.G.init(rng), gan64.D.init(rng)
    x, z = rng.standard_normal((7, 3)), rng.standard_normal((6, 2))
    vg, vd = rng.standard_normal(tg.shape), rng.standard_normal(td.shape)
    a = np.concatenate(so.game_jvp(gan64, tg, td, x, z, vg, vd))
    f = np.float32
    b = np.concatenate(so.game_jvp(gan32, tg.astype(f), td.astype(f), x, z, vg.astype(f), vd.astype(f)))
    assert b.dtype == np.float32
    _close(b, a, 1e-5)


def test_engine_game_uses_the_handwritten_products():
    rng = np.random.default_rng(11)
    gan = _gan("minimax")
    x, z = rng.standard_normal((7, 3)), rng.standard_normal((6, 2))
    game, point, J = _dense(gan, x, z)
    assert "engine" in {f for f in vars(game)}  # the hand-written path
    op = game.operator(point)
    v = rng.standard_normal(game.n)
    _close(op.matvec(v), J @ v)
    _close(op.rmatvec(v), J.T @ v)
    _close(game.jvp(point, v), np.asarray(game.jvp_traced(point, v)))
    _close(game.field(point), np.asarray(game.field_traced(point)))  # omega by the hand-written backward passes
    for player, sl in (("g", slice(0, game.n_g)), ("d", slice(game.n_g, game.n))):
        w = v[sl]
        _close(game.block_operator(point, player).matvec(w), J[sl, sl] @ w)
    with pytest.raises(ValueError, match="player"):
        game.block_operator(point, "x")
    # an operator does its forward passes once: many products, interleaved, stay exact
    bg = game.block_operator(point, "g")
    for _ in range(3):
        v = rng.standard_normal(game.n)
        _close(op.matvec(v), J @ v)
        _close(bg.matvec(v[: game.n_g]), J[: game.n_g, : game.n_g] @ v[: game.n_g])
        _close(op.rmatvec(v), J.T @ v)
        _close(game.vjp(point, v), J.T @ v)
    regularised = games.mlp_gan_game(gan, x, z, r1=0.5)
    assert "engine" not in vars(regularised)  # autograd keeps what the passes do not cover


# --- gradient penalties


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("center", [0.0, 1.0])
def test_penalty_gradient_equals_autograd(act, center):
    rng = np.random.default_rng(12)
    D = MLP((3, 5, 4, 1), (act, "tanh" if act != "tanh" else "sigmoid", "identity"))
    theta, x = _point(D, rng)
    w = rng.dirichlet(np.ones(len(x)))

    def P(t):
        gx = grad(lambda xx: anp.sum(mlp_forward(D, t, xx)))(x)
        n = anp.sqrt(anp.sum(gx * gx, axis=1))
        return 5.0 * anp.dot(w, (n - center) ** 2)

    value, g = so.penalty_grad(D, theta, x, center=center, w=w, scale=5.0)
    _close(value, P(theta))
    _close(g, grad(P)(theta))
    hs = D.forward(theta, x)
    value2, g2 = so.penalty_grad(D, theta, x, center=center, w=w, scale=5.0, hs=hs, grad=np.empty_like(theta),
                                 ws=Workspace())
    _close(g2, g, 1e-15)


def test_penalty_gradient_equals_central_differences_and_population():
    rng = np.random.default_rng(13)
    D = MLP((3, 6, 1), ("tanh", "identity"))
    P = 3
    theta = np.stack([_point(D, rng)[0] for _ in range(P)])
    x = rng.standard_normal((P, 5, 3))
    values, g = so.penalty_grad(D, theta, x, ws=Workspace())
    assert values.shape == (P,) and g.shape == theta.shape
    for p in range(P):
        vp, gp = so.penalty_grad(D, theta[p], x[p])
        _close(values[p], vp, 1e-13)
        _close(g[p], gp, 1e-13)
    v = rng.standard_normal(theta[0].shape)
    eps = 1e-6
    fd = (so.penalty_grad(D, theta[0] + eps * v, x[0])[0] - so.penalty_grad(D, theta[0] - eps * v, x[0])[0]) / (2 * eps)
    _close(np.dot(g[0], v), fd, 1e-6)


def test_penalty_needs_one_output():
    D = MLP((3, 4, 2), ("relu", "identity"))
    with pytest.raises(ValueError, match="one output"):
        so.penalty_grad(D, D.init(np.random.default_rng(0)), np.ones((2, 3)))


@pytest.mark.parametrize("loss", ["ls", "hinge", "wgan", "pearson", "js"])
def test_engine_game_products_are_exact_for_every_loss(loss):
    """mlp_gan_game's hand-written J v and J^T u use the loss object's second derivatives:
    equal to the dense autograd Jacobian of the same game for losses beyond cross-entropy."""
    from gandyn import games

    rng = np.random.default_rng(3)
    gan = GAN(MLP((2, 5, 3), ("tanh", "identity")), MLP((3, 4, 1), ("tanh", "identity")), loss=loss)
    x, z = rng.normal(0.5, 0.5, (7, 3)), rng.standard_normal((6, 2))
    game = games.mlp_gan_game(gan, x, z)
    point = np.concatenate([gan.G.init(rng), gan.D.init(rng)]) * 0.5
    J = game.jacobian(point)
    v = rng.standard_normal(game.n)
    _close(game.jvp(point, v), J @ v)
    _close(game.vjp(point, v), J.T @ v)
    _close(game.field(point), np.asarray(game.field_traced(point)))


@pytest.mark.parametrize("loss", ["nonsat", "minimax"])
def test_game_field_equals_autograd_with_weights_and_populations(loss):
    """omega by hand (second_order.game_field) against autograd's gradient of the same weighted
    sums, for one model and a population of three."""
    from gandyn import games

    rng = np.random.default_rng(5)
    gan = _gan(loss)
    x, z = rng.standard_normal((7, 3)), rng.standard_normal((6, 2))
    wr, wf = rng.uniform(0.1, 1.0, 7), rng.uniform(0.1, 1.0, 6)
    wr, wf = wr / wr.sum(), wf / wf.sum()
    game = games.mlp_gan_game(gan, x, z, w_real=wr, w_latent=wf)
    pts = np.stack([np.concatenate([gan.G.init(rng), gan.D.init(rng)]) for _ in range(3)])
    pts += 0.1 * rng.standard_normal(pts.shape)
    for p in pts:
        _close(game.field(p), np.asarray(game.field_traced(p)))
    wg, wd = so.game_field(gan, pts[:, : game.n_g], pts[:, game.n_g:], x, z, w_real=wr, w_fake=wf)
    for i, p in enumerate(pts):
        _close(np.concatenate([wg[i], wd[i]]), np.asarray(game.field_traced(p)))


# --- each player's gradient of the other's cost


@pytest.mark.parametrize("loss, weighted", [("nonsat", False), ("minimax", True), ("ls", False)])
def test_cross_gradients_equal_autograd(loss, weighted):
    """grad_G L_D and grad_D L_G (the engine's losses: G's sees the generated rows only)
    against autograd of the traced costs; for the zero-sum 'minimax' grad_G L_D = -grad_G L_G
    and grad_D L_G is minus the generated rows' part of grad_D L_D, for 'nonsat' neither."""
    rng = np.random.default_rng(12)
    gan = _gan(loss)
    x, z = rng.normal(1.0, 0.5, (7, 3)), rng.standard_normal((6, 2))
    w_r = rng.dirichlet(np.ones(7)) if weighted else None
    w_f = rng.dirichlet(np.ones(6)) if weighted else np.full(6, 1 / 6)
    game, point, _ = _dense(gan, x, z, w_r, w_f if weighted else None)
    tg, td = game.split(point)
    L = gan.loss_fn

    def g_cost(t):  # the engine's G loss: its generated rows only
        xf = mlp_forward(gan.G, t[: game.n_g], z)
        return anp.dot(w_f, L.g_fake.traced(mlp_forward(gan.D, t[game.n_g:], xf)[:, 0]))

    def d_fake(t):  # D's loss on the generated rows
        xf = mlp_forward(gan.G, t[: game.n_g], z)
        return anp.dot(w_f, L.d_fake.traced(mlp_forward(gan.D, t[game.n_g:], xf)[:, 0]))

    ws = Workspace()
    for _ in range(2):  # the second time through the workspace's buffers
        cg, cd = so.cross_grads(gan, tg, td, x, z, w_real=w_r, w_fake=w_f if weighted else None, ws=ws)
        _close(cg, grad(game.cost_d)(point)[: game.n_g])
        _close(cd, grad(g_cost)(point)[game.n_g:])
    assert so.cross_grads(gan, tg, td, x, z, rows="g")[1] is None
    assert so.cross_grads(gan, tg, td, x, z, rows="d")[0] is None
    omega_g = np.asarray(game.field_traced(point))[: game.n_g]
    if loss == "minimax":
        _close(cg, -omega_g, 1e-13)
        _close(cd, -grad(d_fake)(point)[game.n_g:], 1e-13)
    else:
        assert np.max(np.abs(cg + omega_g)) > 1e-3
        assert np.max(np.abs(cd + grad(d_fake)(point)[game.n_g:])) > 1e-3
    with pytest.raises(ValueError, match="rows"):
        so.cross_grads(gan, tg, td, x, z, rows="x")


def test_cross_gradients_of_a_population_equal_separate_models():
    rng = np.random.default_rng(13)
    gan, P = _gan(), 3
    tg = np.stack([gan.G.init(rng) for _ in range(P)])
    td = np.stack([gan.D.init(rng) for _ in range(P)])
    x, z = rng.standard_normal((P, 7, 3)), rng.standard_normal((P, 6, 2))
    cg, cd = so.cross_grads(gan, tg, td, x, z, ws=Workspace())
    for p in range(P):
        a, b = so.cross_grads(gan, tg[p], td[p], x[p], z[p])
        _close(cg[p], a, 1e-13)
        _close(cd[p], b, 1e-13)


# --- coupled losses (a function of both output vectors): the relativistic ones and a user's


def _pairs(o_r, o_f):
    return anp.mean(anp.logaddexp(0.0, o_f[..., None, :] - o_r[..., :, None]), axis=(-1, -2))


_USER = losses.custom(_pairs, lambda o_r, o_f: _pairs(o_f, o_r) + 0.1 * anp.mean(o_r ** 2, axis=-1), name="pairs")


@pytest.mark.parametrize("loss", ["ragan", "rsgan", "ralsgan", _USER], ids=lambda x: getattr(x, "name", x))
def test_coupled_loss_products_equal_the_autograd_game(loss):
    """J v, J^T u, the field and the cross gradients by hand equal the autograd game's
    (mlp_gan_game, whose costs are the loss's traced functions of both output vectors), 1e-10:
    for a coupled G loss, R{dL_G/do_fake} involves the tangent of D's outputs on the real rows
    along v_D, and grad_D L_G has a real-row term."""
    rng = np.random.default_rng(21)
    gan = _gan(loss, "tanh")
    x, z = rng.normal(1.0, 0.5, (6, 3)), rng.standard_normal((6, 2))
    game, point, J = _dense(gan, x, z, seed=3)
    tg, td = game.split(point)
    L = gan.loss_fn
    assert L.g_reads_real

    def g_cost(t):
        return L.g_traced(mlp_forward(gan.D, t[game.n_g:], x)[:, 0],
                          mlp_forward(gan.D, t[game.n_g:], mlp_forward(gan.G, t[: game.n_g], z))[:, 0])

    ws = Workspace()
    for _ in range(2):
        v = rng.standard_normal(game.n)
        vg, vd = game.split(v)
        _close(np.concatenate(so.game_jvp(gan, tg, td, x, z, vg, vd, ws=ws)), J @ v, 1e-10)
        _close(np.concatenate(so.game_vjp(gan, tg, td, x, z, vg, vd, ws=ws)), J.T @ v, 1e-10)
        _close(so.game_jvp(gan, tg, td, x, z, None, vd, rows="g", ws=ws)[0], J[: game.n_g, game.n_g:] @ vd, 1e-10)
        _close(so.game_jvp(gan, tg, td, x, z, vg, None, rows="d", ws=ws)[1], J[game.n_g:, : game.n_g] @ vg, 1e-10)
        _close(so.game_vjp(gan, tg, td, x, z, None, vd, rows="g", ws=ws)[0], J.T[: game.n_g, game.n_g:] @ vd, 1e-10)
        _close(so.game_vjp(gan, tg, td, x, z, vg, None, rows="d", ws=ws)[1], J.T[game.n_g:, : game.n_g] @ vg, 1e-10)
        _close(np.concatenate(so.game_field(gan, tg, td, x, z, ws=ws)), np.asarray(game.field_traced(point)), 1e-10)
        cg, cd = so.cross_grads(gan, tg, td, x, z, ws=ws)
        _close(cg, grad(game.cost_d)(point)[: game.n_g], 1e-10)
        _close(cd, grad(g_cost)(point)[game.n_g:], 1e-10)
    _close(game.jvp(point, v), J @ v, 1e-10)  # the engine game's hand-written products
    _close(game.vjp(point, v), J.T @ v, 1e-10)


@pytest.mark.parametrize("loss", ["ragan", _USER], ids=lambda x: getattr(x, "name", x))
def test_coupled_loss_products_of_a_population_equal_the_autograd_game(loss):
    rng = np.random.default_rng(22)
    gan, P = _gan(loss, "tanh"), 3
    x, z = rng.normal(1.0, 0.5, (P, 5, 3)), rng.standard_normal((P, 4, 2))
    pts = np.stack([np.concatenate([gan.G.init(rng), gan.D.init(rng)]) for _ in range(P)])
    n_g = gan.G.n_params
    tg, td = pts[:, :n_g], pts[:, n_g:]
    v = rng.standard_normal(pts.shape)
    jg, jd = so.game_jvp(gan, tg, td, x, z, v[:, :n_g], v[:, n_g:], ws=Workspace())
    ug, ud = so.game_vjp(gan, tg, td, x, z, v[:, :n_g], v[:, n_g:], ws=Workspace())
    cg, cd = so.cross_grads(gan, tg, td, x, z, ws=Workspace())
    wg, wd = so.game_field(gan, tg, td, x, z)
    for p in range(P):
        game = games.mlp_gan_game(gan, x[p], z[p])
        J = game.jacobian(pts[p])
        _close(np.concatenate([jg[p], jd[p]]), J @ v[p], 1e-10)
        _close(np.concatenate([ug[p], ud[p]]), J.T @ v[p], 1e-10)
        _close(np.concatenate([wg[p], wd[p]]), np.asarray(game.field_traced(pts[p])), 1e-10)
        a, b = so.cross_grads(gan, tg[p], td[p], x[p], z[p])
        _close(cg[p], a, 1e-12)
        _close(cd[p], b, 1e-12)


def test_coupled_loss_refuses_weights():
    rng = np.random.default_rng(23)
    gan = _gan("ragan")
    x, z = rng.standard_normal((5, 3)), rng.standard_normal((4, 2))
    tg, td = gan.G.init(rng), gan.D.init(rng)
    w = rng.dirichlet(np.ones(5))
    with pytest.raises(ValueError, match="couples real and fake outputs"):
        so.game_jvp(gan, tg, td, x, z, None, None, w_real=w)
    with pytest.raises(ValueError, match="couples real and fake outputs"):
        games.mlp_gan_game(gan, x, z, w_real=w)
    so.game_field(gan, tg, td, x, z, w_real=np.full(5, 0.2))  # means are fine
