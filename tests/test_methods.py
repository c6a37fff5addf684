"""Training methods of the engine: with SGD on a fixed batch each equals its counterpart
in gandyn.games.dynamics on the same GAN as a game (float64, to 1e-10); populations equal
separate runs; lookahead and the method registry."""
import re

import numpy as np
import pytest

from gandyn import games
from gandyn.engine import GAN, MLP, FixedBatches, Trainer, optim
from gandyn.engine.methods import LOLA, METHODS, NK, SOS, Lookahead, Unrolled, as_method
from gandyn.games import dynamics as dy

H = 0.05
D_BIAS = -1  # D's output bias is the last entry of its flat layout


def _setup(seed=0, m=6, loss="nonsat", scale=1.0):
    rng = np.random.default_rng(seed)
    G = MLP((2, 5, 2), ("tanh", "identity"))
    D = MLP((2, 6, 1), ("tanh", "identity"))
    gan = GAN(G, D, loss=loss)
    x = rng.normal(1.0, 0.5, size=(m, 2))
    z = rng.uniform(-1, 1, size=(m, 2))
    return gan, x, z, scale * G.init(rng), scale * D.init(rng)


def _engine(method, steps, loss="nonsat", scale=1.0, **kw):
    if method == "cgd":  # an iterative solve against the games' dense one: to far below the tests' 1e-10
        method = METHODS["cgd"](rtol=1e-13)
    gan, x, z, tg, td = _setup(loss=loss, scale=scale)
    tr = Trainer(gan, optim.sgd(H), optim.sgd(H), tg, td, FixedBatches(x, z), batch=len(x), method=method, **kw)
    for _ in range(steps):
        tr.step()
    return np.concatenate([tr.theta_g, tr.theta_d])


def _game(method, steps, loss="nonsat", scale=1.0):
    gan, x, z, tg, td = _setup(loss=loss, scale=scale)
    game = games.mlp_gan_game(gan, x, z)
    return dy.trajectory(method, game, np.concatenate([tg, td]), H, steps)[-1]


@pytest.mark.parametrize("name, game_method", [
    ("simgd", dy.simgd()), ("altgd", dy.altgd(d_first=True)),
    ("extragradient", dy.extragradient()), ("optimistic", dy.optimistic()),
    ("consensus", dy.consensus(1.0)), ("sga", dy.sga(1.0)), ("cgd", dy.cgd()),
])
def test_engine_method_equals_the_game_dynamics(name, game_method):
    a, b = _engine(name, 12), _game(game_method, 12)
    assert np.max(np.abs(a - b)) < 1e-10 * max(1.0, np.max(np.abs(b)))


@pytest.mark.parametrize("loss", ["ragan", "rsgan"])
@pytest.mark.parametrize("name, game_method", [
    ("simgd", dy.simgd()), ("altgd", dy.altgd(d_first=True)), ("extragradient", dy.extragradient()),
    ("consensus", dy.consensus(1.0)), ("sga", dy.sga(1.0)), ("cgd", dy.cgd()), ("lola", dy.lola()),
    ("sos", dy.sos()), ("unrolled", dy.unrolled()),
])
def test_methods_with_a_coupled_loss_equal_the_game_dynamics(name, game_method, loss):
    """A relativistic loss: G's loss reads D's outputs on the real rows (its step runs D on
    them), its cross gradient has a real-row term, and J's products see the real rows'
    tangent; every method still equals autograd's through the games' code."""
    a, b = _engine(name, 8, loss=loss), _game(game_method, 8, loss=loss)
    assert np.max(np.abs(a - b)) < 1e-10 * max(1.0, np.max(np.abs(b)))


def test_altgd_with_k_equals_the_game_with_k_d():
    a, b = _engine("altgd", 6, k=3), _game(dy.altgd(k_d=3, d_first=True), 6)
    assert np.max(np.abs(a - b)) < 1e-10 * max(1.0, np.max(np.abs(b)))


def test_altgd_options_the_engine_takes_and_refuses():
    """k_d of the object is the trainer's k (the same run); k_g > 1 and G first are the games'
    orders, refused by the trainer in one line; configurations and commands take none of the
    three (k is the trainer's)."""
    from gandyn.cli import method_option_types, parse_methods
    from gandyn.engine.methods import AltGD
    from gandyn.engine.training import TrainingConfig

    np.testing.assert_array_equal(_engine(AltGD(k_d=3), 4), _engine("altgd", 4, k=3))
    assert AltGD(k_d=2).draws(5) == (2, 3) and AltGD(k_g=3).draws(2) == (2, 5)
    gan, x, z, tg, td = _setup()
    for m in (AltGD(k_g=2), AltGD(d_first=False)):
        with pytest.raises(ValueError, match="runs on the toy games only") as err:
            Trainer(gan, optim.sgd(H), optim.sgd(H), tg, td, FixedBatches(x, z), batch=len(x), method=m)
        assert "\n" not in str(err.value)
    for bad in (dict(k_d=0), dict(k_g=1.5), dict(d_first="no")):
        with pytest.raises(ValueError, match="k_d|k_g|d_first"):
            AltGD(**bad)
    assert method_option_types(AltGD) == {}
    with pytest.raises(ValueError, match="none of the methods"):
        parse_methods(["altgd"], ["k_g=2"])
    with pytest.raises(ValueError, match="toy games' options"):
        TrainingConfig(method=AltGD(k_d=3))


def test_lookahead_moves_slow_weights_alpha_of_the_way():
    """After k_la steps of the inner method, theta = slow + alpha (fast - slow)."""
    k_la, alpha = 4, 0.5
    fast = _engine("simgd", k_la)
    gan, x, z, tg, td = _setup()
    start = np.concatenate([tg, td])
    got = _engine(Lookahead("simgd", k_la=k_la, alpha=alpha), k_la)
    np.testing.assert_allclose(got, start + alpha * (fast - start), rtol=1e-13, atol=1e-15)
    with pytest.raises(ValueError, match="alpha"):
        Lookahead(alpha=0.0)


@pytest.mark.parametrize("loss", ["nonsat", "minimax"])
@pytest.mark.parametrize("method, game_method", [
    ("la", dy.la()), ("lola", dy.lola()), ("sos", dy.sos()), (SOS(opponent_lr=0.3, b=0.9), dy.sos(0.3, b=0.9)),
    (LOLA(opponent_lr=0.3), dy.lola(0.3)), ("unrolled", dy.unrolled()), (Unrolled(unroll=3, eta_u=0.1), dy.unrolled(3, 0.1)),
    ("nk", dy.make("nk")), (NK(gamma=2.0), dy.make("nk", gamma=2.0)),
])
def test_shaping_and_unrolled_equal_the_game_dynamics(method, game_method, loss):
    """LA, LOLA, SOS and the unrolled GAN on a zero-sum loss (G's cost V = -L_D, its
    gradient in D's parameters -omega_D) and on the non-saturating one (the hand-written
    cross gradient): the engine's steps equal autograd's through the games' code."""
    a, b = _engine(method, 12, loss=loss), _game(game_method, 12, loss=loss)
    assert np.max(np.abs(a - b)) < 1e-10 * max(1.0, np.max(np.abs(b)))


@pytest.mark.parametrize("loss", ["nonsat", "minimax"])
def test_sos_with_a_small_field_equals_the_game_dynamics(loss):
    """Parameters scaled by 0.3: ||xi|| = 0.67 < b = 0.9, so SOS's p = p2 = ||xi||^2 ~ 0.45
    (not LOLA's 1), per step; engine and games still agree."""
    a, b = _engine(SOS(b=0.9), 12, loss=loss, scale=0.3), _game(dy.sos(b=0.9), 12, loss=loss, scale=0.3)
    assert np.max(np.abs(a - b)) < 1e-10 * max(1.0, np.max(np.abs(b)))
    lola = _engine("lola", 12, loss=loss, scale=0.3)
    assert np.max(np.abs(a - lola)) > 1e-4


def test_unrolled_without_unrolling_is_simgd():
    np.testing.assert_array_equal(_engine(Unrolled(unroll=0), 5), _engine("simgd", 5))


@pytest.mark.parametrize("loss", ["nonsat", "minimax"])
def test_nk_is_simgd_plus_the_gradient_of_ds_gradient_norm(loss):
    """One step of nk from the same point as simgd: G's step differs by h gamma grad_G ||omega_D||^2,
    checked against autograd's gradient of ||grad_D f_D||^2 on the game of the batch (an
    independent route: reverse over reverse, no Jacobian product); D's step is simgd's."""
    from autograd import grad
    import autograd.numpy as anp

    eta = 0.7
    gan, x, z, tg, td = _setup(loss=loss)
    game = games.mlp_gan_game(gan, x, z)
    n_g = game.n_g

    def sq(w):
        gd = game.grad_d(w)
        return anp.dot(gd, gd)

    reg = grad(sq)(np.concatenate([tg, td]))[:n_g]
    a, b = _engine(NK(gamma=eta), 1, loss=loss), _engine("simgd", 1, loss=loss)
    np.testing.assert_allclose(a[:n_g], b[:n_g] - H * eta * reg, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(a[n_g:], b[n_g:])
    assert np.max(np.abs(reg)) > 1e-3
    np.testing.assert_array_equal(_engine(NK(gamma=0.0), 5, loss=loss), _engine("simgd", 5, loss=loss))


def test_sos_weight_on_every_branch_for_both_oracles():
    """SOS's p = min(p1, p2) (Letcher et al. 2019, Algorithm 1; a = 0.5, b = 0.4), one code for
    the engine's oracle (numpy, per model) and the games' (autograd.numpy), on xi = xi_0 = s e,
    alpha chi = c xi_0 (|e| = 1), where <-alpha chi, xi_0> = -c s^2 and p1 = min(1, a / c) for
    c > 0 (derived): s = 0.1, c = -1: p1 = 1, p2 = 0.01; s = 1, c = -1: 1; s = 1, c = 2:
    p1 = 0.25; s = 1, c = 0.25: p1 = min(1, 2) = 1; s = 0.3, c = 2: min(0.25, 0.09) = 0.09."""
    from gandyn.engine.oracle import FieldOracle
    from gandyn.games.game import GameOracle

    e = np.random.default_rng(4).standard_normal(7)
    e /= np.linalg.norm(e)
    cases = [(0.1, -1.0, 0.01), (1.0, -1.0, 1.0), (1.0, 2.0, 0.25), (1.0, 0.25, 1.0), (0.3, 2.0, 0.09)]
    sos = SOS(a=0.5, b=0.4)
    for F in (FieldOracle, GameOracle):
        for s_, c, p in cases:
            xi, ac = s_ * e, c * s_ * e
            got = sos._weight(F, (xi[:3], xi[3:]), (xi[:3], xi[3:]), (ac[:3], ac[3:]))
            assert np.shape(got) == (1,) and abs(got[0] - p) < 1e-15
    xi = np.stack([s_ * e for s_, _, _ in cases])  # a population: one weight per model, (P, 1)
    ac = np.stack([c * s_ * e for s_, c, _ in cases])
    got = sos._weight(FieldOracle, (xi[:, :3], xi[:, 3:]), (xi[:, :3], xi[:, 3:]), (ac[:, :3], ac[:, 3:]))
    np.testing.assert_allclose(got[:, 0], [p for _, _, p in cases], rtol=0, atol=1e-15)


def test_shaping_and_unrolled_refuse_penalties_and_bad_options():
    from gandyn.engine.penalties import check_training, make_penalty

    gan, x, z, tg, td = _setup()
    for name in ("la", "lola", "sos", "unrolled", "nk"):
        with pytest.raises(ValueError, match=f"the {name} method differentiates the unpenalised game"):
            Trainer(gan, optim.sgd(H), optim.sgd(H), tg.copy(), td.copy(), FixedBatches(x, z), batch=len(x),
                    method=name, penalty=make_penalty("r1", 1.0))
        with pytest.raises(ValueError, match="unpenalised"):
            check_training("nonsat", name, "r1", 1.0, None)
    check_training("nonsat", "lola", None, 1.0, None)
    with pytest.raises(ValueError, match="the lookahead method differentiates"):
        Trainer(gan, optim.sgd(H), optim.sgd(H), tg.copy(), td.copy(), FixedBatches(x, z), batch=len(x),
                method=Lookahead("lola"), penalty=make_penalty("r1", 1.0))
    for bad in (lambda: LOLA(opponent_lr=0.0), lambda: SOS(a=1.5), lambda: SOS(b=0.0), lambda: Unrolled(unroll=-1),
                lambda: Unrolled(unroll=2.5), lambda: Unrolled(eta_u=-0.1)):
        with pytest.raises(ValueError):
            bad()
    tr = Trainer(gan, optim.sgd(H), optim.sgd(np.array([H, H])), tg.copy(), td.copy(), FixedBatches(x, z),
                 batch=len(x), method="lola")
    with pytest.raises(ValueError, match="lola needs opponent_lr when D's step size is not one number per model"):
        tr.step()


def test_default_rates_follow_a_step_size_schedule():
    """opponent_lr and eta_u default to D's step size at the coming step: a schedule's value."""
    sched = optim.piecewise(((0, H), (3, 2 * H)))
    for method, explicit in (("lola", LOLA(opponent_lr=2 * H)), ("unrolled", Unrolled(eta_u=2 * H))):
        gan, x, z, tg, td = _setup()
        runs = []
        for m in (method, explicit):
            tr = Trainer(gan, optim.sgd(H), optim.sgd(sched), tg.copy(), td.copy(), FixedBatches(x, z),
                         batch=len(x), method=m, it=3)
            tr.state_d = tr.state_d._replace(t=3)
            tr.step()
            runs.append(np.concatenate([tr.theta_g, tr.theta_d]))
        np.testing.assert_array_equal(*runs)


@pytest.mark.parametrize("name", ["simgd", "extragradient", "optimistic", "lookahead", "consensus", "sga", "cgd",
                                  "la", "lola", "sos", "unrolled", "nk"])
@pytest.mark.parametrize("loss", ["nonsat", "ragan"])
def test_population_equals_separate_runs(name, loss):
    """Three models with their own data, noise, parameters and step sizes at once."""
    P, m, steps = 3, 5, 8
    setups = [_setup(seed=s, m=m, loss=loss) for s in range(P)]
    gan = setups[0][0]
    lrs = np.array([0.02, 0.05, 0.1])
    X, Z = np.stack([s[1] for s in setups]), np.stack([s[2] for s in setups])
    TG, TD = np.stack([s[3] for s in setups]), np.stack([s[4] for s in setups])
    pop = Trainer(gan, optim.adam(lrs[:, None]), optim.adam(lrs[:, None]), TG.copy(), TD.copy(),
                  FixedBatches(X, Z), batch=m, method=name)
    for _ in range(steps):
        pop.step()
    for p in range(P):
        one = Trainer(gan, optim.adam(lrs[p]), optim.adam(lrs[p]), TG[p].copy(), TD[p].copy(),
                      FixedBatches(X[p], Z[p]), batch=m, method=name)
        for _ in range(steps):
            one.step()
        np.testing.assert_allclose(pop.theta_g[p], one.theta_g, rtol=1e-12, atol=1e-14)
        # a relativistic loss sees differences of D's outputs only: the gradient of D's output bias
        # is 0 up to rounding, which Adam (eps 1e-8) turns into tiny steps that differ between the runs
        k = D_BIAS if loss == "ragan" else None
        np.testing.assert_allclose(pop.theta_d[p, :k], one.theta_d[:k], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(pop.theta_d[p, k:], one.theta_d[k:], rtol=0, atol=1e-7)


def test_method_registry():
    assert {"altgd", "simgd", "extragradient", "optimistic", "lookahead", "consensus", "sga", "cgd",
            "la", "lola", "sos", "unrolled", "nk"} <= set(METHODS.names())
    with pytest.raises(ValueError, match="unknown method 'adagrad-gan'; choose from altgd"):
        as_method("adagrad-gan")
    with pytest.raises(ValueError, match="init and step"):
        as_method(object())


# --- method options from the command line


def test_parse_methods_casts_and_routes_each_key():
    """The command line's one parser: names and lookahead:INNER into objects, each KEY=VALUE
    to every method with that field, cast to the field's type."""
    from gandyn.cli import method_option_types, parse_methods
    from gandyn.engine.methods import CGD, SGA, SimGD

    got = parse_methods(["unrolled", "lola", "sos", "simgd"], ["unroll=3", "opponent_lr=0.25", "b=0.5"])
    assert got == [Unrolled(unroll=3), LOLA(opponent_lr=0.25), SOS(opponent_lr=0.25, b=0.5), SimGD()]
    assert type(got[0].unroll) is int and type(got[1].opponent_lr) is float
    assert parse_methods(["lookahead:sga"], ["k-la=7"]) == [Lookahead(inner=SGA(), k_la=7)]
    assert parse_methods(["sga"], ["align=false"]) == [SGA(align=False)]
    assert parse_methods([CGD(maxiter=7)], ["rtol=1e-6"]) == [CGD(maxiter=7, rtol=1e-6)]  # a default object
    assert method_option_types(CGD) == {"eta": float, "rtol": float, "maxiter": int, "strict": bool}


@pytest.mark.parametrize("methods, items, msg", [
    (["altgd", "simgd"], ["unroll=3"], "none of the methods (altgd, simgd) takes it"),
    (["unrolled"], ["unroll"], "write KEY=VALUE"),
    (["unrolled"], ["unroll=2.5"], "not an int"),
    (["lola"], ["opponent_lr=nan"], "not finite"),
    (["unrolled"], ["unroll=-1"], "unroll must be an integer >= 0"),
    (["sga"], ["align=maybe"], "not a bool"),
    (["adagrad"], [], "unknown method 'adagrad'; choose from altgd"),
    (["simgd:altgd"], [], "only lookahead takes an inner method"),
    (["lookahead:lookahead"], [], "inner method must be another method"),
    (["lookahead:"], [], "inner method: unknown method ''"),
])
def test_parse_methods_refuses_with_one_line(methods, items, msg):
    from gandyn.cli import parse_methods

    with pytest.raises(ValueError, match=re.escape(msg)) as err:
        parse_methods(methods, items)
    assert "\n" not in str(err.value)


def test_method_objects_reach_the_population_trainers():
    from gandyn.distributions import ring2d
    from gandyn.engine.population import Networks, Population, Setup

    setup = Setup(ring2d(), training=Setup.training.replace(batch=4, method=Unrolled(unroll=3)),
                  networks=Networks(hidden_g=(4,), hidden_d=(4,)))
    pop = Population(setup, [0, 1, 2, 3], lr_g=1e-3, lr_d=1e-3, method=[LOLA(opponent_lr=0.5), "lola", LOLA(), setup.training.method])
    assert [u.method for u in pop.units] == [LOLA(opponent_lr=0.5), LOLA(), Unrolled(unroll=3)]  # "lola" is LOLA()
    assert [u.rows.tolist() for u in pop.units] == [[0], [1, 2], [3]]
    assert [tr.method for _, tr in pop._trainers] == [u.method for u in pop.units]
    assert Population(setup, [0], lr_g=1e-3, lr_d=1e-3).units[0].method == Unrolled(unroll=3)
    with pytest.raises(ValueError, match="one per model"):
        Population(setup, [0, 1, 2], lr_g=1e-3, lr_d=1e-3, method=["lola", "sga"])


def test_cli_refuses_an_option_no_chosen_method_takes(tmp_path, capsys):
    from gandyn.cli import main

    for argv in (["gan1d", "--method", "altgd"], ["mog", "--methods", "altgd", "simgd"],
                 ["mnist", "train", "--method", "sga"]):
        out = tmp_path / argv[0]
        assert main([*argv, "--method-option", "unroll=2", "--out", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "unroll" in err[0] and "none of the methods" in err[0], err
        assert not out.exists()


@pytest.mark.parametrize("inner, game_inner", [("simgd", dy.simgd()), ("optimistic", dy.optimistic()),
                                               ("extragradient", dy.extragradient())])
def test_engine_lookahead_equals_the_game_dynamics(inner, game_inner):
    """Lookahead-minmax: 3 cycles of k_la = 4 engine steps equal 3 steps (cycles) of the games'
    lookahead, the inner method's state carried across cycles in both."""
    a = _engine(Lookahead(inner=inner, k_la=4, alpha=0.6), 12)
    b = _game(dy.lookahead(game_inner, 4, 0.6), 3)
    assert np.max(np.abs(a - b)) < 1e-10 * max(1.0, np.max(np.abs(b)))


def test_method_options_qualified_and_checked():
    from gandyn.cli import parse_methods
    from gandyn.engine.methods import SimGD

    assert parse_methods(["lola", "lookahead:simgd"], ["lola.opponent_lr=2"]) == [LOLA(opponent_lr=2.0), Lookahead(inner=SimGD())]
    with pytest.raises(ValueError, match="not one of the methods"):
        parse_methods(["lola"], ["sga.lam=1"])
    for bad in (dict(unroll=None), dict(unroll=-1)):
        with pytest.raises(ValueError, match="unroll must be an integer >= 0"):
            Unrolled(**bad)
    for bad in (dict(opponent_lr="0.1"), dict(opponent_lr=float("inf"))):
        with pytest.raises(ValueError, match="opponent_lr"):
            SOS(**bad)


# --- CGD's solves: per model, recorded, warned about; options checked up front


@pytest.mark.parametrize("loss", ["nonsat", "minimax"])
def test_cgd_records_its_solves_and_equals_the_game(loss):
    """CG (zero-sum, minimax) or GMRES (nonsat): each iteration one solve, its products and
    relative residual in the method state; the run equals the games' dense cgd."""
    from gandyn.engine.methods import CGD

    gan, x, z, tg, td = _setup(loss=loss)
    tr = Trainer(gan, optim.sgd(H), optim.sgd(H), tg, td, FixedBatches(x, z), batch=len(x), method=CGD(rtol=1e-13))
    for _ in range(12):
        tr.step()
    st = tr.method_state
    assert st["solves"] == 12 and st["unconverged"] == 0 and 1 <= st["iterations"] <= 100
    assert 0 < st["residual"] <= 1e-13 and st["products"] >= 12 * 1
    b = _game(dy.cgd(), 12, loss=loss)
    assert np.max(np.abs(np.concatenate([tr.theta_g, tr.theta_d]) - b)) < 1e-10 * max(1.0, np.max(np.abs(b)))


def test_cgd_warns_or_raises_when_a_solve_stops_short():
    from gandyn.engine.methods import CGD
    from gandyn.engine.solvers import ConvergenceError, ConvergenceWarning

    gan, x, z, tg, td = _setup(scale=3.0)
    for loss in ("nonsat", "minimax"):
        tr = Trainer(GAN(gan.G, gan.D, loss=loss), optim.sgd(1.0), optim.sgd(1.0), tg.copy(), td.copy(),
                     FixedBatches(x, z), batch=len(x), method=CGD(rtol=1e-14, maxiter=1))
        with pytest.warns(ConvergenceWarning, match="stopped at maxiter=1 products above rtol=1e-14"):
            tr.step()
        assert tr.method_state["unconverged"] == 1 and tr.method_state["residual"] > 1e-14
        tr = Trainer(GAN(gan.G, gan.D, loss=loss), optim.sgd(1.0), optim.sgd(1.0), tg.copy(), td.copy(),
                     FixedBatches(x, z), batch=len(x), method=CGD(rtol=1e-14, maxiter=1, strict=True))
        with pytest.raises(ConvergenceError, match="iteration 1 stopped at maxiter=1 products with relative residual"):
            tr.step()


def test_cgd_default_tolerance_follows_the_dtype():
    """float32: rtol = sqrt(eps32) ~ 3.5e-4; every solve reaches it (no warning)."""
    import warnings

    from gandyn.engine.solvers import ConvergenceWarning, default_rtol

    assert default_rtol(np.float32) == pytest.approx(3.4527e-4, rel=1e-4)
    assert default_rtol(np.float64) == pytest.approx(1.4901e-8, rel=1e-4)
    rng = np.random.default_rng(0)
    G = MLP((3, 8, 4), ("relu", "sigmoid"), np.float32)
    D = MLP((4, 8, 1), ("relu", "identity"), np.float32)
    x, z = rng.random((16, 4)).astype(np.float32), rng.uniform(-1, 1, (16, 3)).astype(np.float32)
    tr = Trainer(GAN(G, D), optim.adam(1e-3), optim.adam(1e-3), G.init(rng), D.init(rng), FixedBatches(x, z),
                 batch=16, method="cgd")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        for _ in range(5):
            tr.step()
    assert tr.method_state["residual"] <= default_rtol(np.float32)


@pytest.mark.parametrize("method, kw, msg", [
    ("cgd", dict(eta=0.0), "eta must be a finite number > 0"), ("cgd", dict(eta=-1.0), "eta"),
    ("cgd", dict(rtol=0.0), "rtol"), ("cgd", dict(rtol=1.0), "rtol must be in (0, 1)"), ("cgd", dict(rtol=-1e-3), "rtol"),
    ("cgd", dict(maxiter=0), "maxiter must be an integer >= 1"), ("cgd", dict(maxiter=2.5), "maxiter"),
    ("cgd", dict(maxiter=True), "maxiter"), ("cgd", dict(strict=1), "strict must be true or false"),
    ("consensus", dict(gamma=-1.0), "gamma must be a finite number >= 0"), ("consensus", dict(gamma=np.nan), "gamma"),
    ("sga", dict(eps=-0.1), "eps must be a finite number >= 0"), ("sga", dict(lam=0.0), "lam"),
    ("sga", dict(align="yes"), "align"),
])
def test_method_options_are_checked_when_the_method_is_made(method, kw, msg):
    with pytest.raises(ValueError, match=re.escape(msg)) as err:
        METHODS[method](**kw)
    assert "\n" not in str(err.value)


def test_cgd_maxiter_zero_from_the_command_line_is_one_line():
    from gandyn.cli import parse_methods
    from gandyn.engine.methods import CGD

    with pytest.raises(ValueError, match="maxiter must be an integer >= 1"):
        parse_methods(["cgd"], ["maxiter=0"])
    assert parse_methods(["cgd"], ["maxiter=7", "rtol=1e-6"]) == [CGD(maxiter=7, rtol=1e-6)]


def test_mog_trains_cgd_populations(tmp_path, capsys):
    from gandyn.cli import main

    out = tmp_path / "o"
    code = main(["mog", "--data", "ring8", "--methods", "cgd", "--seeds", "2", "--steps", "5", "--checks", "1",
                 "--hidden", "4", "--n-eval", "100", "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert (out / "table.csv").exists() and "cgd" in (out / "table.csv").read_text()


@pytest.mark.parametrize("loss", ["nonsat", "minimax"])
def test_the_field_oracles_of_engine_and_games_agree(loss):
    """The public oracle a method is written against: the engine's (Trainer.oracle, hand-written
    passes) and the game's (Game.oracle, autograd) on the same minibatch give the same field,
    J v, J^T u, cross gradients, own-Hessian products and the oracle at another point."""
    gan, x, z, tg, td = _setup(loss=loss)
    tr = Trainer(gan, optim.sgd(H), optim.sgd(H), tg.copy(), td.copy(), FixedBatches(x, z), batch=len(x),
                 method="simgd")
    F = tr.oracle()
    Q = games.mlp_gan_game(gan, x, z).oracle(tg, td)
    rng = np.random.default_rng(3)
    vg, vd = rng.standard_normal(tg.shape), rng.standard_normal(td.shape)

    def close(a, b):
        for p, q in zip(a, b):
            assert (p is None) == (q is None)
            if p is not None:
                np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-12)

    close((F.grad_g, F.grad_d, F.loss_d), (Q.grad_g, Q.grad_d, Q.loss_d))
    if loss == "nonsat":  # the zero-sum game's f_G = V has V's data term, the engine's L_G not
        close((F.loss_g,), (Q.loss_g,))
    for rows in ("gd", "g", "d"):
        close(F.jvp(vg, vd, rows=rows), Q.jvp(vg, vd, rows=rows))
        close(F.cross(rows=rows), Q.cross(rows=rows))
    close(F.vjp(vg, vd), Q.vjp(vg, vd))
    close(F.vjp(None, vd), Q.vjp(None, vd))
    for rows in ("g", "d"):
        for u in ((vg, vd), (None, vd), (vg, None)):
            close(F.vjp(*u, rows=rows), Q.vjp(*u, rows=rows))
    assert F.antisymmetric == Q.antisymmetric == (loss == "minimax")

    def system(O):  # CGD's matrix I - eta^2 J_GD J_DG
        return lambda v: v - 0.3 * O.jvp(None, O.jvp(v, None, rows="d")[1], rows="g")[0]

    a, b = F.solve(system(F), vg, symmetric=F.antisymmetric, rtol=1e-13), Q.solve(system(Q), vg)
    close((a.x,), (b.x,))
    assert a.converged and a.residual <= 1e-13 and b.converged and b.residual < 1e-13 and b.iterations == len(vg)
    close((F.hvp("g", vg), F.hvp("d", vd)), (Q.hvp("g", vg), Q.hvp("d", vd)))
    Fa, Qa = F.at(theta_d=td + 0.1 * vd), Q.at(theta_d=td + 0.1 * vd)
    close((Fa.grad_g, Fa.grad_d), (Qa.grad_g, Qa.grad_d))
    close(Fa.vjp(vg, None), Qa.vjp(vg, None))
    close(Fa.cross(), Qa.cross())
    close(F.jvp(vg, vd), Q.jvp(vg, vd))  # F's own forward passes again, after Fa's in the workspace
    np.testing.assert_allclose(F.dot(vg, vg), Q.dot(vg, vg), rtol=1e-13)
    for bad in (lambda: F.jvp(vg, vd, rows="x"), lambda: F.hvp("x", vg)):
        with pytest.raises(ValueError):
            bad()
