"""Training methods of the engine: with SGD on a fixed batch each equals its counterpart
in gandyn.games.dynamics on the same GAN as a game (float64, to 1e-10); populations equal
separate runs; lookahead and the method registry."""
import numpy as np
import pytest

from gandyn import games
from gandyn.engine import GAN, MLP, FixedBatches, Trainer, optim
from gandyn.engine.methods import METHODS, Lookahead, as_method
from gandyn.games import dynamics as dy

H = 0.05


def _setup(seed=0, m=6):
    rng = np.random.default_rng(seed)
    G = MLP((2, 5, 2), ("tanh", "identity"))
    D = MLP((2, 6, 1), ("tanh", "identity"))
    gan = GAN(G, D, loss="nonsat")
    x = rng.normal(1.0, 0.5, size=(m, 2))
    z = rng.uniform(-1, 1, size=(m, 2))
    return gan, x, z, G.init(rng), D.init(rng)


def _engine(method, steps, **kw):
    gan, x, z, tg, td = _setup()
    tr = Trainer(gan, optim.sgd(H), optim.sgd(H), tg, td, FixedBatches(x, z), batch=len(x), method=method, **kw)
    for _ in range(steps):
        tr.step()
    return np.concatenate([tr.theta_g, tr.theta_d])


def _game(method, steps):
    gan, x, z, tg, td = _setup()
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


@pytest.mark.parametrize("name", ["simgd", "extragradient", "optimistic", "lookahead", "consensus", "sga"])
def test_population_equals_separate_runs(name):
    """Three models with their own data, noise, parameters and step sizes at once."""
    P, m, steps = 3, 5, 8
    setups = [_setup(seed=s, m=m) for s in range(P)]
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
        np.testing.assert_allclose(pop.theta_d[p], one.theta_d, rtol=1e-12, atol=1e-14)


def test_method_registry():
    assert {"altgd", "simgd", "extragradient", "optimistic", "lookahead", "consensus", "sga", "cgd"} <= set(METHODS.names())
    with pytest.raises(ValueError, match="unknown method 'adagrad-gan'; choose from altgd"):
        as_method("adagrad-gan")
    with pytest.raises(ValueError, match="init and step"):
        as_method(object())
