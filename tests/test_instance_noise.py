"""Instance noise (Sonderby et al. 2017; Mescheder et al. 2018, Sec. 3.3): the schedules'
closed forms, the noisy engine step against a hand computation (autograd on the same noise
draws), populations equal to their seeds' single runs, refusals up front."""
import numpy as np
import pytest
from autograd import grad

import autograd.numpy as anp
from gandyn.engine import GAN, MLP, FixedBatches, Trainer, optim
from gandyn.engine.instance_noise import InstanceNoise
from gandyn.engine.methods import Consensus, Lookahead, Optimistic
from gandyn.engine.training import TrainingConfig
from gandyn.games.traced import mlp_forward


def test_schedules_have_their_closed_forms():
    t = np.arange(1, 13)
    lin = InstanceNoise(0.4, "linear", until=8)
    np.testing.assert_allclose([lin.std(i) for i in t], np.where(t <= 8, 0.4 * (1 - (t - 1) / 8), 0.0), atol=1e-15)
    ex = InstanceNoise(0.4, "exponential", until=8)
    np.testing.assert_allclose([ex.std(i) for i in t], np.where(t <= 8, 0.4 * 0.01 ** ((t - 1) / 8), 0.0),
                               rtol=1e-14)
    assert [InstanceNoise(0.4).std(i) for i in (1, 10 ** 6)] == [0.4, 0.4]
    assert [InstanceNoise(0.4, until=3).std(i) for i in (3, 4)] == [0.4, 0.0]


@pytest.mark.parametrize("kw, needle", [(dict(sigma=-0.1), ">= 0"), (dict(sigma=float("nan")), "finite"),
                                        (dict(sigma=0.1, schedule="cosine"), "one of constant"),
                                        (dict(sigma=0.1, schedule="linear"), "needs noise_until"),
                                        (dict(sigma=0.1, schedule="exponential", until=0), "integer >= 1")])
def test_bad_settings_are_refused_in_one_line(kw, needle):
    with pytest.raises(ValueError, match=needle) as e:
        InstanceNoise(**kw)
    assert "\n" not in str(e.value)
    cfg = dict(instance_noise=kw["sigma"], noise_schedule=kw.get("schedule", "constant"), noise_until=kw.get("until"))
    with pytest.raises(ValueError, match=needle):
        TrainingConfig(**cfg)


def test_methods_with_exact_products_refuse_it():
    with pytest.raises(ValueError, match="instance noise is not supported"):
        TrainingConfig(method=Lookahead(inner=Consensus()), instance_noise=0.1)
    G, D = MLP((1, 3, 1), ("tanh", "identity")), MLP((1, 3, 1), ("tanh", "identity"))
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="instance noise is not supported"):
        Trainer(GAN(G, D), optim.sgd(0.1), optim.sgd(0.1), G.init(rng), D.init(rng),
                FixedBatches(np.zeros((4, 1)), np.zeros((4, 1))), batch=4, method="sga",
                instance_noise=InstanceNoise(0.1), rng_noise=rng)
    with pytest.raises(ValueError, match="consensus method needs exact Jacobian products: instance noise"):
        Trainer(GAN(G, D), optim.sgd(0.1), optim.sgd(0.1), G.init(rng), D.init(rng),  # the inner method's products
                FixedBatches(np.zeros((4, 1)), np.zeros((4, 1))), batch=4, method=Lookahead(inner=Consensus()),
                instance_noise=InstanceNoise(0.1), rng_noise=rng)


def _softplus(t):
    return anp.logaddexp(0.0, t)


@pytest.mark.parametrize("method, k", [("simgd", 1), ("altgd", 2)])
def test_noisy_step_equals_the_hand_computation(method, k):
    """Two iterations with plain SGD on a fixed batch: D descends
    mean softplus(-o(x + s e_r)) + mean softplus(o(G(z) + s e_f)) and G descends
    mean softplus(-o(G(z) + s e_g)) (the non-saturating loss, Goodfellow et al. 2014, Sec. 3)
    with s = sigma_t and the noise drawn in the engine's order (each D evaluation: 2m rows,
    real then fake; each G evaluation: m rows), by autograd on the same draws."""
    rng = np.random.default_rng(4)
    G, D = MLP((2, 5, 2), ("tanh", "tanh")), MLP((2, 6, 1), ("tanh", "identity"))
    m, h = 5, 0.1
    x, z = rng.normal(1.0, 0.5, (m, 2)), rng.uniform(-1, 1, (m, 2))
    tg, td = G.init(rng), D.init(rng)
    noise = InstanceNoise(0.3, "linear", until=4)
    tr = Trainer(GAN(G, D), optim.sgd(h), optim.sgd(h), tg.copy(), td.copy(), FixedBatches(x, z), batch=m, k=k,
                 method=method, instance_noise=noise, rng_noise=np.random.default_rng(9))

    def cost_d(psi, theta, s, e):
        xr, xf = x + s * e[:m], mlp_forward(G, theta, z) + s * e[m:]
        return anp.mean(_softplus(-mlp_forward(D, psi, xr)[:, 0])) + anp.mean(_softplus(mlp_forward(D, psi, xf)[:, 0]))

    def cost_g(theta, psi, s, e):
        return anp.mean(_softplus(-mlp_forward(D, psi, mlp_forward(G, theta, z) + s * e)[:, 0]))

    draws = np.random.default_rng(9)
    for t in (1, 2):
        s = noise.std(t)
        tr.step()
        if method == "simgd":
            e_d, e_g = draws.standard_normal((2 * m, 2)), draws.standard_normal((m, 2))
            gd, gg = grad(cost_d)(td, tg, s, e_d), grad(cost_g)(tg, td, s, e_g)
            td, tg = td - h * gd, tg - h * gg
        else:
            for _ in range(k):
                td = td - h * grad(cost_d)(td, tg, s, draws.standard_normal((2 * m, 2)))
            tg = tg - h * grad(cost_g)(tg, td, s, draws.standard_normal((m, 2)))
        np.testing.assert_allclose(tr.theta_d, td, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(tr.theta_g, tg, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("method", ["altgd", "extragradient", Lookahead(inner=Optimistic())],
                         ids=["altgd", "extragradient", "lookahead:optimistic"])
def test_population_rows_equal_their_seeds_single_runs(method):
    from gandyn.experiments import gan1d
    from gandyn.engine.population import Population

    s = gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=3, hidden_d=4), training=gan1d.TRAINING.replace(batch=8, method=method, k=2, instance_noise=0.5, noise_schedule="exponential", noise_until=6))
    pop = Population(s, [2, 0, 2], lr_g=1e-2, lr_d=1e-2)
    pop.advance(9)
    for row, seed in enumerate([2, 0, 2]):
        one = Population(s, seed, lr_g=1e-2, lr_d=1e-2)
        one.advance(9)
        np.testing.assert_allclose(pop.theta_g[row], one.theta_g, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(pop.theta_d[row], one.theta_d, rtol=1e-12, atol=1e-14)
    plain = Population(gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=3, hidden_d=4), training=gan1d.TRAINING.replace(batch=8, method=method, k=2)), 0, lr_g=1e-2, lr_d=1e-2)
    plain.advance(9)
    assert not np.allclose(plain.theta_d, pop.theta_d[1])  # the noise changed training


def test_a_penalty_sees_the_noisy_points():
    """R1 with instance noise: D descends its loss plus gamma/2 mean ||grad_x o(x + s e_r)||^2 at
    the noisy real points D sees (Mescheder et al. 2018, eq. 9, on the noisy data), checked by
    autograd on the same draws for one simgd step."""
    from gandyn.engine.penalties import make_penalty

    rng = np.random.default_rng(6)
    G, D = MLP((2, 4, 2), ("tanh", "identity")), MLP((2, 5, 1), ("tanh", "identity"))
    m, h, gamma, s = 4, 0.1, 2.0, 0.4
    x, z = rng.normal(size=(m, 2)), rng.uniform(-1, 1, (m, 2))
    tg, td = G.init(rng), D.init(rng)
    tr = Trainer(GAN(G, D), optim.sgd(h), optim.sgd(h), tg.copy(), td.copy(), FixedBatches(x, z), batch=m,
                 method="simgd", penalty=make_penalty("r1", gamma), instance_noise=InstanceNoise(s),
                 rng_noise=np.random.default_rng(2))
    tr.step()
    e = np.random.default_rng(2).standard_normal((2 * m, 2))

    def d_cost(psi):
        xr, xf = x + s * e[:m], mlp_forward(G, tg, z) + s * e[m:]
        gx = grad(lambda xx: anp.sum(mlp_forward(D, psi, xx)))(xr)
        return (anp.mean(_softplus(-mlp_forward(D, psi, xr)[:, 0])) + anp.mean(_softplus(mlp_forward(D, psi, xf)[:, 0]))
                + 0.5 * gamma * anp.mean(anp.sum(gx * gx, axis=1)))

    np.testing.assert_allclose(tr.theta_d, td - h * grad(d_cost)(td), rtol=1e-12, atol=1e-14)
