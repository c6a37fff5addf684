"""Every training method with every optimizer wrapper: weight clipping keeps a player's
iterates (and lookahead's slow weights) in the box after every step, G's moving average
is the average of the iterates each iteration ends with, and spectral normalisation is
applied at every gradient evaluation of the methods that take it (the others refuse it
up front)."""
import numpy as np
import pytest

from gandyn.engine import GAN, MLP, FixedBatches, Trainer, optim
from gandyn.engine.methods import METHODS, Extragradient, Lookahead, Optimistic, method_label
from gandyn.engine.spectral_norm import SpectralNorm
from gandyn.engine.training import TrainingConfig

SPECS = [METHODS[name]() for name in sorted(METHODS.names())] + [Lookahead(inner=Optimistic()),
                                                                  Lookahead(inner=Extragradient())]
IDS = [method_label(m) for m in SPECS]
C = 0.01


def _setup(seed=0, m=6, loss="wgan"):
    rng = np.random.default_rng(seed)
    G = MLP((2, 5, 2), ("tanh", "identity"))
    D = MLP((2, 6, 1), ("tanh", "identity"))
    x = rng.normal(1.0, 0.5, size=(m, 2))
    z = rng.uniform(-1, 1, size=(m, 2))
    return GAN(G, D, loss=loss), x, z, G.init(rng), D.init(rng)


def _trainer(spec, opt_g, opt_d, loss="wgan", **kw):
    gan, x, z, tg, td = _setup(loss=loss)
    method = TrainingConfig(loss=loss, method=spec).method
    return Trainer(gan, opt_g, opt_d, tg, td, FixedBatches(x, z), batch=len(x), method=method, **kw)


def _slow(tr):
    state = tr.method_state
    return state["slow_d"] if isinstance(state, dict) and "slow_d" in state else None


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_clipping_keeps_every_method_in_the_box(spec):
    """WGAN's weight clipping (Arjovsky et al. 2017, Algorithm 1, c = 0.01) with a large step:
    D's weights, fast and slow, stay in [-c, c] after every step of every method (optimistic
    once left it: 0.59 -> 18 -> 2,257 -> 277,583 at iterations 0/10/20/30)."""
    TrainingConfig(loss="wgan", method=spec, clip=C)  # accepted
    tr = _trainer(spec, optim.sgd(0.05), optim.clipped(optim.sgd(0.5), C))
    assert np.abs(tr.theta_d).max() > 10 * C  # D starts outside the box
    if _slow(tr) is not None:
        assert np.abs(_slow(tr)).max() <= C
    moved = 0.0
    for _ in range(12):
        before = tr.theta_d.copy()
        tr.step()
        assert np.abs(tr.theta_d).max() <= C
        if _slow(tr) is not None:
            assert np.abs(_slow(tr)).max() <= C
        moved = max(moved, float(np.abs(tr.theta_d - before).max()))
    assert moved > 0


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_g_average_is_the_average_of_the_iterates(spec):
    """Yazici et al. 2019's EMA of G: avg_t = beta avg_{t-1} + (1 - beta) theta_t over the
    iterates each iteration ends with, whatever the method does within an iteration
    (extragradient's extrapolated point, an optimistic step before its correction and
    lookahead's synchronisation are not iterates)."""
    beta = 0.7
    tr = _trainer(spec, optim.averaged(optim.sgd(0.05), beta), optim.sgd(0.05), loss="nonsat")
    avg = tr.theta_g.copy()
    for _ in range(11):
        tr.step()
        avg = beta * avg + (1 - beta) * tr.theta_g
        np.testing.assert_allclose(tr.state_g.average, avg, rtol=1e-13, atol=1e-15)
    plain = _trainer(spec, optim.sgd(0.05), optim.sgd(0.05), loss="nonsat")
    for _ in range(11):
        plain.step()
    np.testing.assert_array_equal(plain.theta_g, tr.theta_g)  # the average never feeds back


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_spectral_norm_is_applied_at_every_gradient_or_refused(spec, monkeypatch):
    """Every gradient a method evaluates sees D's W / sigma(W), sigma = u^T W v at the current
    W with the iteration's power-iteration vectors (Miyato et al. 2018, Algorithm 1); the
    methods that need exact Jacobian products refuse spectral normalisation up front."""
    if any(getattr(m, "needs_products", False) for m in (spec, getattr(spec, "inner", None))):
        with pytest.raises(ValueError, match="spectral normalisation"):
            TrainingConfig(method=spec, spectral_norm=True)
        gan, x, z, tg, td = _setup(loss="nonsat")
        with pytest.raises(ValueError, match="spectral normalisation"):
            Trainer(gan, optim.sgd(0.05), optim.sgd(0.05), tg, td, FixedBatches(x, z), batch=len(x),
                    method=TrainingConfig(method=spec).method,
                    spectral_norm=SpectralNorm(gan.D, td, np.random.default_rng(1)))
        return
    TrainingConfig(method=spec, spectral_norm=True)
    gan, x, z, tg, td = _setup(loss="nonsat")
    sn = SpectralNorm(gan.D, td, np.random.default_rng(1))
    tr = Trainer(gan, optim.sgd(0.05), optim.sgd(0.05), tg, td, FixedBatches(x, z), batch=len(x),
                 method=TrainingConfig(method=spec).method, spectral_norm=sn)
    seen = []

    def normalised(theta_d):
        expect = tr.theta_d.copy()
        for (W, _), u, v in zip(gan.D.views(expect), sn.u, sn.v):
            W /= u @ W @ v
        np.testing.assert_allclose(theta_d, expect, rtol=1e-13)

    def spy(part, at):
        def wrapped(self, *a, **k):
            normalised(a[at])
            seen.append(part.__name__)
            return part(self, *a, **k)
        return wrapped

    monkeypatch.setattr(GAN, "_d_part", spy(GAN._d_part, 0))
    monkeypatch.setattr(GAN, "_g_part", spy(GAN._g_part, 1))
    for _ in range(6):
        tr.step()
    assert seen.count("_d_part") >= 6 and seen.count("_g_part") >= 6 and np.all(np.isfinite(tr.theta_d))
