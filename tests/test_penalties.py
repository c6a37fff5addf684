"""Gradient penalties and weight clipping in training: one D step with SGD moves D's
parameters by the gradient of loss + penalty that autograd computes from the formulas
(float64, 1e-12); populations equal separate runs; pairings the literature does not use
are refused."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import elementwise_grad, grad

import _reference as ref
from gandyn.engine import GAN, MLP, FixedBatches, Trainer, optim
from gandyn.engine.penalties import PENALTIES, check_pairing, make_penalty

SIZES_G, SIZES_D = (2, 4, 3), (3, 5, 1)
ACTS_G, ACTS_D = ("tanh", "identity"), ("tanh", "identity")


def _problem(seed=0, m=6):
    rng = np.random.default_rng(seed)
    G, D = MLP(SIZES_G, ACTS_G), MLP(SIZES_D, ACTS_D)
    return (GAN(G, D, loss="nonsat"), rng.normal(size=(m, 3)), rng.normal(size=(m, 2)), G.init(rng),
            D.init(rng) * 2.0)


def _reference_d_grad(name, gamma, x, xf, td, e=None):
    """D's loss (softplus(-o_real) + softplus(o_fake), means) plus the penalty, by autograd."""
    def o(theta, pts):
        return ref.mlp(SIZES_D, ACTS_D, theta, pts)[:, 0]

    def total(theta):
        loss = anp.mean(anp.logaddexp(0.0, -o(theta, x))) + anp.mean(anp.logaddexp(0.0, o(theta, xf)))
        pts = {"r1": x, "r2": xf, "gp": None if e is None else e * x + (1 - e) * xf}[name]
        gx = elementwise_grad(lambda p: o(theta, p))(pts)
        norm = anp.sqrt(anp.sum(gx ** 2, axis=1))
        if name == "gp":
            return loss + gamma * anp.mean((norm - 1.0) ** 2)
        return loss + 0.5 * gamma * anp.mean(norm ** 2)

    return grad(total)(td)


@pytest.mark.parametrize("name", ["r1", "r2", "gp"])
def test_a_penalised_d_step_is_the_gradient_of_loss_plus_penalty(name):
    gan, x, z, tg, td = _problem()
    gamma, lr = 3.0, 0.1
    rng = np.random.default_rng(42)
    tr = Trainer(gan, optim.sgd(lr), optim.sgd(lr), tg.copy(), td.copy(), FixedBatches(x, z), batch=len(x),
                 method="simgd", penalty=make_penalty(name, gamma), rng_penalty=rng)
    tr.step()
    e = np.random.default_rng(42).random((len(x), 1)) if name == "gp" else None
    expect = td - lr * _reference_d_grad(name, gamma, x, gan.G(tg, z), td, e)
    np.testing.assert_allclose(tr.theta_d, expect, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", ["r1", "gp"])
def test_penalised_population_equals_separate_runs(name):
    P, m = 3, 5
    probs = [_problem(seed=s, m=m) for s in range(P)]
    gan = probs[0][0]
    X, Z = np.stack([p[1] for p in probs]), np.stack([p[2] for p in probs])
    TG, TD = np.stack([p[3] for p in probs]), np.stack([p[4] for p in probs])
    pop = Trainer(gan, optim.adam(1e-2), optim.adam(1e-2), TG.copy(), TD.copy(), FixedBatches(X, Z), batch=m,
                  penalty=make_penalty(name, 1.0), rng_penalty=np.random.default_rng(0))
    for _ in range(4):
        pop.step()
    if name == "gp":  # each model's interpolation weights are rows of the population's draw
        return
    for p in range(P):
        one = Trainer(gan, optim.adam(1e-2), optim.adam(1e-2), TG[p].copy(), TD[p].copy(), FixedBatches(X[p], Z[p]),
                      batch=m, penalty=make_penalty(name, 1.0))
        for _ in range(4):
            one.step()
        np.testing.assert_allclose(pop.theta_d[p], one.theta_d, rtol=1e-12, atol=1e-14)


def test_weight_clipping_projects_after_every_step():
    gan, x, z, tg, td = _problem()
    tr = Trainer(GAN(gan.G, gan.D, loss="wgan"), optim.adam(0.5), optim.clipped(optim.adam(0.5), 0.01), tg, td,
                 FixedBatches(x, z), batch=len(x))
    tr.step()
    assert np.abs(tr.theta_d).max() <= 0.01 and np.isclose(np.abs(tr.theta_d).max(), 0.01)


def test_pairing_reads_the_loss_object():
    """A user loss states what it is used with; the pairing rule reads the object, not a name."""
    import autograd.numpy as anp
    from gandyn.engine import losses

    mine = losses.separable(d_real=lambda o: anp.logaddexp(0.0, -o), penalties=("r1",), clip=True, name="mine")
    check_pairing(mine, "r1")
    check_pairing(mine, clip=0.01)
    with pytest.raises(ValueError, match="the gp penalty is not used with the 'mine' loss"):
        check_pairing(mine, "gp")


def test_pairings_the_literature_does_not_use_are_refused():
    check_pairing("wgan", "gp")
    check_pairing("nonsat", "r1")
    check_pairing("wgan", clip=0.01)
    with pytest.raises(ValueError, match="the gp penalty is not used with the 'kl' loss; it goes with nonsat, ls, "
                                         "wgan, rsgan, ragan"):
        check_pairing("kl", "gp")
    check_pairing("ragan", "gp")  # RaSGAN-GP, Jolicoeur-Martineau 2019, Sec. 5
    with pytest.raises(ValueError, match="the r1 penalty is not used with the 'rahinge' loss"):
        check_pairing("rahinge", "r1")
    with pytest.raises(ValueError, match="weight clipping is not used with the 'nonsat' loss"):
        check_pairing("nonsat", clip=0.01)
    with pytest.raises(ValueError, match="unknown penalty 'l2'; choose from r1, r2, gp"):
        make_penalty("l2", 1.0)
    with pytest.raises(ValueError, match="weight"):
        make_penalty("r1", -1.0)
    assert PENALTIES.names() == ("r1", "r2", "gp")


def test_spectral_norm_step_is_the_gradient_through_w_over_sigma():
    """Spectral normalisation (Miyato et al. 2018): D uses W / sigma, sigma = u^T W v after one
    power-iteration step; one SGD step of D moves theta by autograd's gradient of the loss of
    that function of theta (u, v held constant, their Eq. 12), to 1e-12."""
    from gandyn.engine.spectral_norm import SpectralNorm

    gan, x, z, tg, td = _problem()
    lr = 0.1
    sn = SpectralNorm(gan.D, td, np.random.default_rng(3))
    u0 = [u.copy() for u in sn.u]
    tr = Trainer(gan, optim.sgd(lr), optim.sgd(lr), tg.copy(), td.copy(), FixedBatches(x, z), batch=len(x),
                 method="simgd", spectral_norm=sn)
    tr.step()
    xf = gan.G(tg, z)
    # the reference: one power-iteration step from u0, then the loss of theta with W/sigma
    W = [w for w, _ in gan.D.views(td)]
    vs, us = [], []
    for l, w in enumerate(W):
        v = w.T @ u0[l]
        v /= np.linalg.norm(v)
        u = w @ v
        us.append(u / np.linalg.norm(u))
        vs.append(v)

    def loss(theta):
        parts, off = [], 0
        for l, (din, dout) in enumerate(zip(SIZES_D[:-1], SIZES_D[1:])):
            w = anp.reshape(theta[off:off + din * dout], (din, dout))
            sigma = anp.dot(us[l], anp.dot(w, vs[l]))
            parts += [anp.reshape(w / sigma, (-1,)), theta[off + din * dout: off + din * dout + dout]]
            off += din * dout + dout
        th = anp.concatenate(parts)
        o_r = ref.mlp(SIZES_D, ACTS_D, th, x)[:, 0]
        o_f = ref.mlp(SIZES_D, ACTS_D, th, xf)[:, 0]
        return anp.mean(anp.logaddexp(0.0, -o_r)) + anp.mean(anp.logaddexp(0.0, o_f))

    np.testing.assert_allclose(tr.theta_d, td - lr * grad(loss)(td), rtol=1e-12, atol=1e-13)


def test_spectral_norm_power_iteration_finds_the_largest_singular_value():
    from gandyn.engine.spectral_norm import SpectralNorm

    gan, x, z, tg, td = _problem()
    sn = SpectralNorm(gan.D, td, np.random.default_rng(0))
    for _ in range(200):
        sn.power_iteration(td)
    for (w, _), s in zip(gan.D.views(td), sn.sigma):
        assert s == pytest.approx(np.linalg.norm(w, 2), rel=1e-10)


def test_spectral_norm_population_equals_separate_runs_and_refuses_product_methods():
    from gandyn.engine.spectral_norm import SpectralNorm

    P, m = 3, 5
    probs = [_problem(seed=s, m=m) for s in range(P)]
    gan = probs[0][0]
    X, Z = np.stack([p[1] for p in probs]), np.stack([p[2] for p in probs])
    TG, TD = np.stack([p[3] for p in probs]), np.stack([p[4] for p in probs])
    sn = SpectralNorm(gan.D, TD, np.random.default_rng(0))
    u0 = [u.copy() for u in sn.u]
    pop = Trainer(gan, optim.adam(1e-2), optim.adam(1e-2), TG.copy(), TD.copy(), FixedBatches(X, Z), batch=m,
                  spectral_norm=sn)
    for _ in range(4):
        pop.step()
    for p in range(P):
        one_sn = SpectralNorm(gan.D, TD[p], np.random.default_rng(0))
        one_sn.set_state([u[p] for u in u0])
        one = Trainer(gan, optim.adam(1e-2), optim.adam(1e-2), TG[p].copy(), TD[p].copy(),
                      FixedBatches(X[p], Z[p]), batch=m, spectral_norm=one_sn)
        for _ in range(4):
            one.step()
        np.testing.assert_allclose(pop.theta_d[p], one.theta_d, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="spectral normalisation is not supported"):
        Trainer(gan, optim.sgd(0.1), optim.sgd(0.1), TG[0].copy(), TD[0].copy(), FixedBatches(X[0], Z[0]), batch=m,
                method="consensus", spectral_norm=SpectralNorm(gan.D, TD[0], np.random.default_rng(0)))
