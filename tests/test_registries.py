"""Registries (one per kind of name), step-size schedules and optimizer wrappers."""
import numpy as np
import pytest

from gandyn.engine import optim
from gandyn.engine.latents import LATENTS, as_latent
from gandyn.engine.nn import ACTIVATIONS, INITIALIZERS
from gandyn.engine.registry import Registry
from gandyn.experiments import mog
from gandyn.games import dynamics


def test_registry_names_errors_and_duplicates():
    r = Registry("widget")
    r.register("a", 1)

    @r.register("b")
    def b():
        return 2

    assert r.names() == ("a", "b") and r["b"] is b and "a" in r and len(r) == 2
    with pytest.raises(ValueError, match=r"^unknown widget 'c'; choose from a, b$"):
        r["c"]
    with pytest.raises(ValueError, match=r"^size: unknown widget 'c'; choose from a, b$"):
        r.check("c", "size")
    with pytest.raises(ValueError, match="already registered"):
        r.register("a", 3)
    r.register("a", 3, replace=True)
    assert r["a"] == 3


@pytest.mark.parametrize("registry, kind", [(optim.OPTIMIZERS, "optimizer"), (ACTIVATIONS, "activation"),
                                            (INITIALIZERS, "init scheme"), (LATENTS, "latent"),
                                            (dynamics.METHODS, "method"), (mog.DATASETS, "data set")])
def test_every_kind_of_name_has_one_registry(registry, kind):
    assert isinstance(registry, Registry) and registry.kind == kind and len(registry) >= 2
    with pytest.raises(ValueError, match=f"unknown {kind} 'nope'; choose from {', '.join(registry.names())}"):
        registry["nope"]


def test_make_takes_the_options_the_optimizer_knows():
    opt = optim.make("momentum", lr=0.1, mu=0.5, b1=0.9, eps_hat=True)  # b1, eps_hat are Adam's
    assert opt.hparams == {"lr": 0.1, "mu": 0.5, "nesterov": False}
    assert optim.make("adam", lr=1e-3, mu=0.9).hparams["b1"] == 0.9


def test_piecewise_schedule():
    lr = optim.piecewise([(0, 1.0), (10, 0.5), (20, 0.25)])
    assert [lr(t) for t in (1, 10, 11, 20, 21, 10**6)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    for bad in ([], [(1, 1.0)], [(0, 1.0), (0, 2.0)], [(0, -1.0)]):
        with pytest.raises(ValueError):
            optim.piecewise(bad)


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_a_constant_schedule_is_the_number_bit_for_bit(name):
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(7, 5))
    thetas = []
    for lr in (0.03, lambda t: 0.03):
        opt = optim.make(name, lr=lr)
        theta = np.ones(5)
        state = opt.init(theta)
        for g in grads:
            state = opt.update(theta, g, state)
        thetas.append(theta)
    assert thetas[0].tobytes() == thetas[1].tobytes()


def test_schedule_sees_the_step_count():
    """SGD with lr(t) = 1/t: theta_T = theta_0 - sum_t g/t (harmonic sum)."""
    opt = optim.sgd(lambda t: 1.0 / t)
    theta = np.zeros(2)
    state = opt.init(theta)
    for _ in range(4):
        state = opt.update(theta, np.ones(2), state)
    np.testing.assert_allclose(theta, -(1 + 1 / 2 + 1 / 3 + 1 / 4), rtol=1e-15)
    bad = optim.sgd(lambda t: -1.0)
    with pytest.raises(ValueError, match="schedule gave -1.0 at step 1"):
        bad.update(theta, np.ones(2), bad.init(theta))


def test_averaged_wraps_any_optimizer():
    """The inner steps are the plain optimizer's; the average is the EMA of the iterates
    (Yazici et al. 2019) starting at the initial parameters, taken where an iteration ends
    (optim.finish)."""
    rng = np.random.default_rng(1)
    grads = rng.normal(size=(6, 4))
    plain, wrapped = optim.adam(0.1), optim.averaged(optim.adam(0.1), 0.8)
    t1, t2 = np.ones(4), np.ones(4)
    s1, s2 = plain.init(t1), wrapped.init(t2)
    avg = t2.copy()
    for g in grads:
        s1 = plain.update(t1, g, s1)
        s2 = optim.finish(wrapped, t2, wrapped.update(t2, g, s2))
        avg = 0.8 * avg + 0.2 * t2
    assert t1.tobytes() == t2.tobytes()
    np.testing.assert_allclose(s2.average, avg, rtol=1e-14)
    with pytest.raises(ValueError, match="decay"):
        optim.averaged(optim.sgd(), 1.0)


def test_latents_are_distributions():
    u, n = as_latent("uniform"), as_latent("normal")
    assert (u.low, u.high) == (-1.0, 1.0) and (n.loc, n.scale) == (0.0, 1.0)
    q = np.array([0.0, 0.25, 0.5, 1.0])
    np.testing.assert_array_equal(u.ppf(q), 2 * q - 1)  # the talk's U(-1, 1) quantiles
    np.testing.assert_allclose(n.cdf(n.ppf(q[1:3])), q[1:3], rtol=1e-15)
    assert as_latent(u) is u
