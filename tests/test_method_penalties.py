"""The method x penalty matrix: every registered engine method with every gradient penalty
(none, R1, R2, WGAN-GP) on one model and on a population equals, with plain SGD on a fixed
batch (float64, a few steps, to 1e-10), the same method of gandyn.games.dynamics on the
penalised game (gandyn.games.mlp_gan_game with r1/r2/gp of the same weight), or the
pairing is refused up front with a one-line ValueError. The loss is a parameter of the
matrix. Also: the penalty's exact Hessian-vector product against autograd."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import elementwise_grad, grad

import _reference as ref
from gandyn import games
from gandyn.engine import GAN, MLP, FixedBatches, Trainer, optim
from gandyn.engine.methods import CGD, METHODS, Lookahead, check_penalty
from gandyn.engine.penalties import check_training, make_penalty
from gandyn.games import dynamics as dy

LOSSES = ("nonsat", "minimax", "ragan")  # two separable losses and a coupled one (Jolicoeur-Martineau 2019)
PENALTIES = (None, "r1", "r2", "gp")
WEIGHT = 0.7
H = np.array([0.05, 0.03])  # per-model SGD steps of the population; model 0 alone
STEPS = 2
K_LA = 2


def _engine_method(name):
    """The engine method of ``name`` with options matching its games counterpart."""
    if name == "lookahead":
        return Lookahead("altgd", k_la=K_LA)
    if name == "cgd":
        return CGD(rtol=1e-13)
    return name


def _game_method(name):
    if name == "lookahead":
        return dy.lookahead(dy.altgd(), K_LA, 0.5)
    return dy.make(name)


def _problem(seed, m=4):
    rng = np.random.default_rng(seed)
    G = MLP((2, 4, 2), ("tanh", "identity"))
    D = MLP((2, 5, 1), ("tanh", "identity"))
    return rng.normal(1.0, 0.5, size=(m, 2)), rng.uniform(-1, 1, size=(m, 2)), G.init(rng), D.init(rng), G, D


class _FixedDraws:
    """A stand-in for the penalty's generator: the same interpolation weights every draw."""

    def __init__(self, e):
        self.e = e

    def random(self, shape):
        return np.broadcast_to(self.e, shape).copy()


def _eps(P, m=4):
    return np.random.default_rng(7).uniform(0.1, 0.9, size=(P, m, 1))


def _trainer(name, loss, penalty, population):
    P = 2 if population else 1
    probs = [_problem(s) for s in range(P)]
    G, D = probs[0][4], probs[0][5]
    gan = GAN(G, D, loss=loss)
    if population:
        X, Z = np.stack([p[0] for p in probs]), np.stack([p[1] for p in probs])
        TG, TD = np.stack([p[2] for p in probs]), np.stack([p[3] for p in probs])
        lr = H[:, None]
        e = _eps(P)
    else:
        X, Z, TG, TD = probs[0][:4]
        lr = float(H[0])
        e = _eps(1)[0]
    pen = None if penalty is None else make_penalty(penalty, WEIGHT)
    return Trainer(gan, optim.sgd(lr), optim.sgd(lr), TG.copy(), TD.copy(), FixedBatches(X, Z), batch=4,
                   method=_engine_method(name), penalty=pen, rng_penalty=_FixedDraws(e)), probs


def _game_run(name, loss, penalty, prob, h, e):
    x, z, tg, td, G, D = prob
    opts = {} if penalty is None else {penalty: WEIGHT}
    if penalty == "gp":
        opts["gp_eps"] = e[:, 0]
    game = games.mlp_gan_game(GAN(G, D, loss=loss), x, z, **opts)
    return dy.trajectory(_game_method(name), game, np.concatenate([tg, td]), h, STEPS)[-1]


def _refused(name, penalty):
    """The engine's answer for the pairing: None if taken, else the refusal's message."""
    try:
        check_penalty(METHODS[name] if name != "lookahead" else _engine_method(name))
    except ValueError as err:
        return str(err)
    return None


@pytest.mark.parametrize("population", [False, True], ids=["one", "population"])
@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("name", METHODS.names())
@pytest.mark.parametrize("loss", LOSSES)
def test_method_with_penalty_equals_the_penalised_game_or_is_refused(loss, name, penalty, population):
    why = None if penalty is None else _refused(name, penalty)
    if why is not None:
        assert "\n" not in why and name in why
        with pytest.raises(ValueError) as err:
            _trainer(name, loss, penalty, population)
        assert str(err.value) == why
        return
    tr, probs = _trainer(name, loss, penalty, population)
    steps = STEPS * K_LA if name == "lookahead" else STEPS  # a games lookahead step is a cycle
    for _ in range(steps):
        tr.step()
    e = _eps(2 if population else 1)
    for p in range(2 if population else 1):
        got = np.concatenate([tr.theta_g[p], tr.theta_d[p]]) if population else np.concatenate([tr.theta_g, tr.theta_d])
        want = _game_run(name, loss, penalty, probs[p], float(H[p]), e[p])
        assert np.all(np.isfinite(want))
        assert np.max(np.abs(got - want)) < 1e-10 * max(1.0, np.max(np.abs(want))), (p, np.max(np.abs(got - want)))


def test_refusals_are_the_same_in_the_config_check():
    """check_training (configs, the CLI) refuses what the trainer refuses, with the same line:
    the methods that differentiate the unpenalised game (LA, LOLA, SOS, unrolled, NK)."""
    refused = set()
    for name in METHODS.names():
        for penalty in ("r1", "r2", "gp"):
            why = _refused(name, penalty)
            if why is None:
                continue
            refused.add(name)
            with pytest.raises(ValueError) as err:
                check_training("nonsat", name, penalty, 1.0, None)
            assert str(err.value) == why
    assert refused == {"la", "lola", "sos", "unrolled", "nk"}


@pytest.mark.parametrize("acts", [("tanh", "identity"), ("relu", "identity"), ("leaky_relu", "tanh", "identity")])
@pytest.mark.parametrize("center", [0.0, 1.0])
@pytest.mark.parametrize("population", [False, True])
def test_penalty_hvp_equals_autograd(acts, center, population):
    """H_DD P v of P = s mean (||grad_x o|| - c)^2 by complex step of the hand-written
    penalty gradient equals autograd's double gradient (float64, 1e-12 relative)."""
    from gandyn.engine.penalty_products import penalty_hvp

    sizes = (3, 16, 1) if len(acts) == 2 else (3, 8, 8, 1)  # wide: no row with every ReLU off
    D = MLP(sizes, acts)
    rng = np.random.default_rng(1)
    P = 2 if population else None
    td, x = 2.0 * D.init(rng, population=P), rng.normal(size=(6, 3) if P is None else (P, 6, 3))
    v = rng.normal(size=td.shape)
    got = penalty_hvp(D, td, x, v, center=center, scale=0.7)

    def pen(th, pts):
        gx = elementwise_grad(lambda q: ref.mlp(sizes, acts, th, q)[:, 0])(pts)
        sq = anp.sum(gx ** 2, axis=1)  # without sqrt at c = 0: a dead ReLU row has g = 0
        return 0.7 * anp.mean(sq if center == 0 else (anp.sqrt(sq) - center) ** 2)

    for p in range(P or 1):
        th, pts, vv = (td, x, v) if P is None else (td[p], x[p], v[p])
        want = grad(lambda t: anp.dot(grad(pen)(t, pts), vv))(th)
        g = got if P is None else got[p]
        assert np.max(np.abs(g - want)) < 1e-12 * np.max(np.abs(want))


def test_penalty_hvp_of_a_maxout_d_equals_autograd():
    """The complex copy of D keeps its maxout layer (Goodfellow et al. 2013, eq. 1): H_DD P v
    equals autograd's double gradient of the reference network (float64, 1e-12 relative)."""
    from gandyn.engine.penalty_products import penalty_hvp

    sizes, acts, pieces = (3, 6, 1), ("identity", "identity"), (3, None)
    D = MLP(sizes, acts, pieces=pieces)
    rng = np.random.default_rng(2)
    td, x = D.init(rng), rng.normal(size=(5, 3))
    v = rng.normal(size=td.shape)
    got = penalty_hvp(D, td, x, v, center=1.0, scale=0.7)

    def pen(th):
        gx = elementwise_grad(lambda q: ref.mlp_layers(sizes, acts, th, q, pieces=pieces)[:, 0])(x)
        return 0.7 * anp.mean((anp.sqrt(anp.sum(gx ** 2, axis=1)) - 1.0) ** 2)

    want = grad(lambda t: anp.dot(grad(pen)(t), v))(td)
    assert np.max(np.abs(got - want)) < 1e-12 * np.max(np.abs(want))


def test_gp_means_lambda_in_engine_and_games():
    """The gp weight is Gulrajani et al.'s lambda (2017, eq. 3) in the games as in the engine
    (tests/test_penalties.py): D's cost grows by lambda mean_i (||grad_x o(xhat_i)|| - 1)^2."""
    x, z, tg, td, G, D = _problem(0)
    e = _eps(1)[0][:, 0]
    zz = np.concatenate([tg, td])
    plain = games.mlp_gan_game(GAN(G, D), x, z)
    pen = games.mlp_gan_game(GAN(G, D), x, z, gp=WEIGHT, gp_eps=e)
    xh = e[:, None] * x + (1 - e)[:, None] * G(tg, z)
    gx = elementwise_grad(lambda q: ref.mlp(D.sizes, D.activations, td, q)[:, 0])(xh)
    want = WEIGHT * np.mean((np.sqrt(np.sum(gx ** 2, axis=1)) - 1.0) ** 2)
    assert abs(pen.cost_d(zz) - plain.cost_d(zz) - want) < 1e-14


@pytest.mark.parametrize("on", ["real", "fake", "interpolates"])
@pytest.mark.parametrize("population", [False, True])
def test_penalty_jacobian_products_equal_autograd(on, population):
    """The penalised game's extra Jacobian part in D's rows, ``[B, H_DD P]`` with
    ``B = D_G grad_D P``, times v and transposed times u, equals autograd's (1e-12)."""
    from gandyn.engine.penalty_products import penalty_input_grad, penalty_jvp, penalty_vjp

    name = {"real": "r1", "fake": "r2", "interpolates": "gp"}[on]
    pen = make_penalty(name, 1.3)
    P = 2 if population else None
    rng = np.random.default_rng(3)
    G, D = MLP((2, 4, 3), ("tanh", "sigmoid")), MLP((3, 5, 1), ("tanh", "identity"))
    tg, td = G.init(rng, population=P), 2.0 * D.init(rng, population=P)
    lead = () if P is None else (P,)
    x, z, e = rng.normal(size=lead + (4, 3)), rng.normal(size=lead + (4, 2)), rng.uniform(size=lead + (4, 1))
    vg, vd, ud = rng.normal(size=tg.shape), rng.normal(size=td.shape), rng.normal(size=td.shape)
    jv = penalty_jvp(pen, G, D, tg, td, x, z, vg, vd, e=e)
    tu_g, tu_d = penalty_vjp(pen, G, D, tg, td, x, z, ud, e=e)
    for p in range(P or 1):
        sel = (lambda a: a) if P is None else (lambda a: a[p])
        xp, zp, ep = sel(x), sel(z), sel(e)

        def R(a, b):
            xf = ref.mlp(G.sizes, G.activations, a, zp)
            pts = {"real": xp, "fake": xf, "interpolates": ep * xp + (1 - ep) * xf}[on]
            gx = elementwise_grad(lambda q: ref.mlp(D.sizes, D.activations, b, q)[:, 0])(pts)
            sq = anp.sum(gx ** 2, axis=1)
            return pen.scale * anp.mean(sq if pen.center == 0 else (anp.sqrt(sq) - pen.center) ** 2)

        a0, b0 = sel(tg), sel(td)
        grad_d = grad(R, 1)
        # J v = d/dt grad_D R(a + t v_G, b + t v_D) at t = 0, by autograd on a scalar t
        want_jv = np.array([grad(lambda t: grad_d(a0 + t * sel(vg), b0 + t * sel(vd))[i])(0.0)
                            for i in range(len(b0))])
        want_tg = None if on == "real" else grad(lambda a: anp.dot(grad_d(a, b0), sel(ud)))(a0)
        want_td = grad(lambda b: anp.dot(grad_d(a0, b), sel(ud)))(b0)
        assert np.max(np.abs(sel(jv) - want_jv)) < 1e-12 * np.max(np.abs(want_jv))
        assert np.max(np.abs(sel(tu_d) - want_td)) < 1e-12 * np.max(np.abs(want_td))
        if on == "real":
            assert tu_g is None
        else:
            assert np.max(np.abs(sel(tu_g) - want_tg)) < 1e-12 * np.max(np.abs(want_tg))
        if on != "real":
            _, gd_, gx_ = penalty_input_grad(D, b0, xp, center=pen.center, scale=pen.scale)
            want_gx = grad(lambda q: pen.scale * anp.mean(
                (lambda s: s if pen.center == 0 else (anp.sqrt(s) - pen.center) ** 2)(anp.sum(
                    elementwise_grad(lambda y: ref.mlp(D.sizes, D.activations, b0, y)[:, 0])(q) ** 2, axis=1))))(xp)
            assert np.max(np.abs(gx_ - want_gx)) < 1e-12 * np.max(np.abs(want_gx))
