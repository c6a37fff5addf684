"""Training methods of the engine: with SGD on a fixed batch each equals its counterpart
in gandyn.games.dynamics on the same GAN as a game (float64, to 1e-10); populations equal
separate runs; lookahead and the method registry."""
import re

import numpy as np
import pytest

from gandyn import games
from gandyn.engine import GAN, MLP, FixedBatches, Trainer, optim
from gandyn.engine.methods import LOLA, METHODS, SOS, Lookahead, Unrolled, as_method
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
    ("la", dy.la()), ("lola", dy.lola()), ("sos", dy.sos()), (SOS(alpha=0.3, b=0.9), dy.sos(0.3, b=0.9)),
    (LOLA(alpha=0.3), dy.lola(0.3)), ("unrolled", dy.unrolled()), (Unrolled(unroll=3, eta_u=0.1), dy.unrolled(3, 0.1)),
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


def test_sos_weight_equals_the_games_on_every_branch():
    """SOS's p = min(p1, p2) (Letcher et al. 2019, Algorithm 1; a = 0.5, b = 0.4) per model,
    engine (vectorised) and games, on xi = xi_0 = s e, alpha chi = c xi_0 (|e| = 1), where
    <-alpha chi, xi_0> = -c s^2 and p1 = min(1, a / c) for c > 0 (derived):
    s = 0.1, c = -1: p1 = 1, p2 = 0.01; s = 1, c = -1: 1; s = 1, c = 2: p1 = 0.25;
    s = 1, c = 0.25: p1 = min(1, 2) = 1; s = 0.3, c = 2: min(0.25, 0.09) = 0.09."""
    from gandyn.games.dynamics import _sos_weight

    e = np.random.default_rng(4).standard_normal(7)
    e /= np.linalg.norm(e)
    cases = [(0.1, -1.0, 0.01), (1.0, -1.0, 1.0), (1.0, 2.0, 0.25), (1.0, 0.25, 1.0), (0.3, 2.0, 0.09)]
    sos = SOS(a=0.5, b=0.4)
    for s_, c, p in cases:
        xi, ac = s_ * e, c * s_ * e
        assert abs(_sos_weight(xi, xi, ac, 0.5, 0.4) - p) < 1e-15
        got = sos._weight((xi[:3], xi[3:]), (xi[:3], xi[3:]), (ac[:3], ac[3:]))
        assert got.shape == (1,) and abs(got[0] - p) < 1e-15
    xi = np.stack([s_ * e for s_, _, _ in cases])  # a population: one weight per model, (P, 1)
    ac = np.stack([c * s_ * e for s_, c, _ in cases])
    got = sos._weight((xi[:, :3], xi[:, 3:]), (xi[:, :3], xi[:, 3:]), (ac[:, :3], ac[:, 3:]))
    np.testing.assert_allclose(got[:, 0], [p for _, _, p in cases], rtol=0, atol=1e-15)


def test_shaping_and_unrolled_refuse_penalties_and_bad_options():
    from gandyn.engine.penalties import check_training, make_penalty

    gan, x, z, tg, td = _setup()
    for name in ("la", "lola", "sos", "unrolled"):
        with pytest.raises(ValueError, match=f"the {name} method differentiates the unpenalised game"):
            Trainer(gan, optim.sgd(H), optim.sgd(H), tg.copy(), td.copy(), FixedBatches(x, z), batch=len(x),
                    method=name, penalty=make_penalty("r1", 1.0))
        with pytest.raises(ValueError, match="unpenalised"):
            check_training("nonsat", name, "r1", 1.0, None)
    check_training("nonsat", "lola", None, 1.0, None)
    with pytest.raises(ValueError, match="the lookahead method differentiates"):
        Trainer(gan, optim.sgd(H), optim.sgd(H), tg.copy(), td.copy(), FixedBatches(x, z), batch=len(x),
                method=Lookahead("lola"), penalty=make_penalty("r1", 1.0))
    for bad in (lambda: LOLA(alpha=0.0), lambda: SOS(a=1.5), lambda: SOS(b=0.0), lambda: Unrolled(unroll=-1),
                lambda: Unrolled(unroll=2.5), lambda: Unrolled(eta_u=-0.1)):
        with pytest.raises(ValueError):
            bad()
    tr = Trainer(gan, optim.sgd(H), optim.sgd(np.array([H, H])), tg.copy(), td.copy(), FixedBatches(x, z),
                 batch=len(x), method="lola")
    with pytest.raises(ValueError, match="lola needs alpha when D's step size is not one number per model"):
        tr.step()


def test_default_rates_follow_a_step_size_schedule():
    """alpha and eta_u default to D's step size at the coming step: a schedule's value."""
    sched = optim.piecewise(((0, H), (3, 2 * H)))
    for method, explicit in (("lola", LOLA(alpha=2 * H)), ("unrolled", Unrolled(eta_u=2 * H))):
        gan, x, z, tg, td = _setup()
        runs = []
        for m in (method, explicit):
            tr = Trainer(gan, optim.sgd(H), optim.sgd(sched), tg.copy(), td.copy(), FixedBatches(x, z),
                         batch=len(x), method=m, it=3)
            tr.state_d = tr.state_d._replace(t=3)
            tr.step()
            runs.append(np.concatenate([tr.theta_g, tr.theta_d]))
        np.testing.assert_array_equal(*runs)


@pytest.mark.parametrize("name", ["simgd", "extragradient", "optimistic", "lookahead", "consensus", "sga",
                                  "la", "lola", "sos", "unrolled"])
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
            "la", "lola", "sos", "unrolled"} <= set(METHODS.names())
    with pytest.raises(ValueError, match="unknown method 'adagrad-gan'; choose from altgd"):
        as_method("adagrad-gan")
    with pytest.raises(ValueError, match="init and step"):
        as_method(object())


# --- method options from the command line


def test_parse_method_options_casts_and_routes_each_key():
    from gandyn.engine.methods import parse_method_options

    got = parse_method_options(["unrolled", "lola", "sos", "simgd"], ["unroll=3", "alpha=0.25", "b=0.5"])
    assert got == {"unrolled": {"unroll": 3}, "lola": {"alpha": 0.25}, "sos": {"alpha": 0.25, "b": 0.5}}
    assert isinstance(got["unrolled"]["unroll"], int)
    assert parse_method_options(["lookahead:sga"], ["k-la=7"]) == {"lookahead": {"k_la": 7}}
    assert parse_method_options(["sga"], ["align=false"]) == {"sga": {"align": False}}


@pytest.mark.parametrize("methods, items, msg", [
    (["altgd", "simgd"], ["unroll=3"], "none of the methods (altgd, simgd) takes it"),
    (["unrolled"], ["unroll"], "write KEY=VALUE"),
    (["unrolled"], ["unroll=2.5"], "not an int"),
    (["lola"], ["alpha=nan"], "not finite"),
    (["unrolled"], ["unroll=-1"], "unroll must be an integer >= 0"),
    (["sga"], ["align=maybe"], "not a bool"),
])
def test_parse_method_options_refuses_with_one_line(methods, items, msg):
    from gandyn.engine.methods import parse_method_options

    with pytest.raises(ValueError, match=re.escape(msg)):
        parse_method_options(methods, items)


def test_method_options_reach_the_population_trainers():
    from gandyn.distributions import ring2d
    from gandyn.experiments.population import Population, Setup

    setup = Setup(ring2d(), hidden_g=(4,), hidden_d=(4,), batch=4, method_options={"unrolled": {"unroll": 3}})
    pop = Population(setup, [0, 1], lr_g=1e-3, lr_d=1e-3, method=["unrolled", "lola"],
                     method_options={"lola": {"alpha": 0.5}})
    got = {tr.method.name: tr.method for _, tr in pop._trainers}
    assert got["unrolled"].unroll == 3 and got["lola"].alpha == 0.5
    with pytest.raises(ValueError, match="takes no option"):
        Setup(ring2d(), method_options={"altgd": {"unroll": 3}})


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


def test_method_options_qualified_merged_and_checked():
    from gandyn.distributions import ring2d
    from gandyn.engine.methods import check_method_options, parse_method_options
    from gandyn.experiments.population import Population, Setup

    assert parse_method_options(["lola", "lookahead:simgd"], ["lola.alpha=2"]) == {"lola": {"alpha": 2.0}}
    with pytest.raises(ValueError, match="not one of the methods"):
        parse_method_options(["lola"], ["sga.lam=1"])
    for bad in ({"unrolled": {"unroll": None}}, {"la": {"alpha": "0.1"}}, {"sos": {"alpha": float("inf")}}):
        with pytest.raises(ValueError):
            check_method_options(bad)
    setup = Setup(ring2d(), hidden_g=(4,), hidden_d=(4,), batch=4, method="sos", method_options={"sos": {"alpha": 0.1}})
    pop = Population(setup, [0], lr_g=1e-3, lr_d=1e-3, method_options={"sos": {"a": 0.3}})
    m = pop._trainers[0][1].method
    assert (m.alpha, m.a) == (0.1, 0.3)  # merged per method, not replaced
