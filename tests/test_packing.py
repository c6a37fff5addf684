"""Packing (Lin et al. 2018, PacGAN): D scores ``p`` samples concatenated, real and generated
ones packed separately. Every first- and second-order path of the engine against an autograd
reference of the packed game (float64, <= 1e-12 relative), populations against separate models,
and the refusals."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad, jacobian

from gandyn.engine import optim
from gandyn.engine import second_order as so
from gandyn.engine.gan import GAN, pack_rows, unpack_rows
from gandyn.engine.nn import MLP
from gandyn.engine.penalties import make_penalty
from gandyn.engine.trainer import FixedBatches, Trainer
from gandyn.engine.workspace import Workspace
from gandyn.games.traced import mlp_forward
from _reference import close as _close




def _sp(o):
    return anp.logaddexp(0.0, o)


# the players' losses of packed outputs o_r, o_f (means), traceable by autograd
_REF = {
    "nonsat": (lambda o_r, o_f: anp.mean(_sp(-o_r)) + anp.mean(_sp(o_f)), lambda o_r, o_f: anp.mean(_sp(-o_f))),
    "minimax": (lambda o_r, o_f: anp.mean(_sp(-o_r)) + anp.mean(_sp(o_f)), lambda o_r, o_f: -anp.mean(_sp(o_f))),
    "wgan": (lambda o_r, o_f: anp.mean(o_f) - anp.mean(o_r), lambda o_r, o_f: -anp.mean(o_f)),
    # relativistic average: a loss of both output vectors (Jolicoeur-Martineau 2019, eq. 7-8)
    "ragan": (lambda o_r, o_f: anp.mean(_sp(-(o_r - anp.mean(o_f)))) + anp.mean(_sp(o_f - anp.mean(o_r))),
              lambda o_r, o_f: anp.mean(_sp(-(o_f - anp.mean(o_r)))) + anp.mean(_sp(o_r - anp.mean(o_f)))),
}


def _gan(loss, p, bn=False):
    G = MLP((2, 6, 5, 3), ("relu" if bn else "tanh", "tanh", "identity"),
            batch_norm=(True, True, False) if bn else None)
    D = MLP((3 * p, 8, 4, 1), ("identity", "tanh", "identity"), pieces=(3, None, None))  # a maxout first layer
    return GAN(G, D, loss=loss, latent="normal", pack=p)


def _reference(gan, x, z):
    """The packed game by autograd: omega = (grad_G L_G, grad_D L_D) and its Jacobian."""
    fd, fg = _REF[gan.loss]
    p, n_g = gan.pack, gan.G.n_params

    def outputs(t):
        tg, td = t[:n_g], t[n_g:]
        xf = mlp_forward(gan.G, tg, z)
        o_r = mlp_forward(gan.D, td, anp.reshape(x, (x.shape[0] // p, -1)))[:, 0]
        o_f = mlp_forward(gan.D, td, anp.reshape(xf, (z.shape[0] // p, -1)))[:, 0]
        return o_r, o_f

    LD = lambda t: fd(*outputs(t))  # noqa: E731
    LG = lambda t: fg(*outputs(t))  # noqa: E731

    def omega(t):
        return anp.concatenate([grad(LG)(t)[:n_g], grad(LD)(t)[n_g:]])

    cross = lambda t: anp.concatenate([grad(LD)(t)[:n_g], grad(LG)(t)[n_g:]])  # noqa: E731
    return LD, LG, omega, cross


def _point(gan, seed, m=12):
    rng = np.random.default_rng(seed)
    tg = gan.G.init(rng) + 0.1 * rng.standard_normal(gan.G.n_params)
    td = gan.D.init(rng) + 0.1 * rng.standard_normal(gan.D.n_params)
    x = rng.normal(0.5, 1.0, (m, gan.G.sizes[-1]))
    z = rng.standard_normal((m, 2))
    return rng, tg, td, x, z


def _population(gan, seed, P, m):
    """A population of P models at their initial parameters, each with its own batch of m rows."""
    rng = np.random.default_rng(seed)
    TG = np.stack([gan.G.init(rng) for _ in range(P)])
    TD = np.stack([gan.D.init(rng) for _ in range(P)])
    X, Z = rng.standard_normal((P, m, 3)), rng.standard_normal((P, m, 2))
    return rng, TG, TD, X, Z


@pytest.mark.parametrize("loss, p, bn", [("nonsat", 3, False), ("minimax", 2, True), ("wgan", 4, False),
                                         ("ragan", 3, True)])
def test_packed_gradients_and_products_equal_autograd(loss, p, bn):
    gan = _gan(loss, p, bn)
    rng, tg, td, x, z = _point(gan, 1)
    LD, LG, omega, cross = _reference(gan, x, z)
    t = np.concatenate([tg, td])
    n_g = gan.G.n_params
    ld, gd, lr, lf = gan.d_loss_grad(tg, td, x, z)
    assert lr.shape == lf.shape == (12 // p,)
    _close(ld, LD(t))
    _close(gd, grad(LD)(t)[n_g:])
    lg, gg, _ = gan.g_loss_grad(tg, td, z, x_real=x)
    _close(lg, LG(t))
    _close(gg, grad(LG)(t)[:n_g])
    _close(np.concatenate(so.game_field(gan, tg, td, x, z)), omega(t))
    _close(np.concatenate(so.cross_grads(gan, tg, td, x, z)), cross(t))
    J = jacobian(omega)(t)
    ws = Workspace()
    for _ in range(2):  # the second time through the workspace's buffers
        v = rng.standard_normal(t.size)
        jg, jd = so.game_jvp(gan, tg, td, x, z, v[:n_g], v[n_g:], ws=ws)
        _close(np.concatenate([jg, jd]), J @ v)
        ug, ud = so.game_vjp(gan, tg, td, x, z, v[:n_g], v[n_g:], ws=ws)
        _close(np.concatenate([ug, ud]), J.T @ v)
        jg, _ = so.game_jvp(gan, tg, td, x, z, v[:n_g], None, rows="g", ws=ws)
        _close(jg, J[:n_g, :n_g] @ v[:n_g])


def test_packed_products_of_a_population_equal_separate_models():
    gan = _gan("nonsat", 2)
    P = 3
    rng, TG, TD, X, Z = _population(gan, 3, P, m=8)
    VG, VD = rng.standard_normal(TG.shape), rng.standard_normal(TD.shape)
    jg, jd = so.game_jvp(gan, TG, TD, X, Z, VG, VD)
    _, gd, _, _ = gan.d_loss_grad(TG, TD, X, Z)
    for i in range(P):
        a, b = so.game_jvp(gan, TG[i], TD[i], X[i], Z[i], VG[i], VD[i])
        _close(jg[i], a)
        _close(jd[i], b)
        _close(gd[i], gan.d_loss_grad(TG[i], TD[i], X[i], Z[i])[1])


def test_pack_rows_groups_consecutive_samples():
    x = np.arange(12.0).reshape(6, 2)
    packed = pack_rows(x, 3)
    assert packed.tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    assert np.shares_memory(packed, x)
    assert np.array_equal(unpack_rows(packed, 3), x)
    assert pack_rows(x, 1) is x


def test_packed_trainer_step_is_the_packed_gradient_step():
    """One Algorithm-1 iteration with SGD on fixed batches: D's step is the packed gradient,
    G's the packed gradient at the updated D (a population of two, each its own batch)."""
    gan = _gan("nonsat", 2)
    m = 6
    _, TG, TD, X, Z = _population(gan, 5, P=2, m=m)
    tg, td = TG.copy(), TD.copy()
    run = Trainer(gan, optim.sgd(lr=0.1), optim.sgd(lr=0.1), tg, td, FixedBatches(X, Z), batch=m)
    run.step()
    want_d = TD - 0.1 * gan.d_loss_grad(TG, TD, X, Z)[1]
    _close(td, want_d)
    _close(tg, TG - 0.1 * gan.g_loss_grad(TG, want_d, Z)[1])


def test_packing_refusals():
    gan = _gan("nonsat", 3)
    rng, tg, td, x, z = _point(gan, 2, m=12)
    with pytest.raises(ValueError, match="divisible by 3"):
        gan.d_loss_grad(tg, td, x[:10], z)
    with pytest.raises(ValueError, match="divisible by 3"):
        so.game_jvp(gan, tg, td, x, z[:10], None, None)
    with pytest.raises(ValueError, match="divisible by 3"):
        Trainer(gan, optim.sgd(), optim.sgd(), tg, td, FixedBatches(x, z), batch=10)
    with pytest.raises(ValueError, match="packed D"):
        Trainer(gan, optim.sgd(), optim.sgd(), tg, td, FixedBatches(x, z), batch=12, penalty=make_penalty("r1", 1.0))
    with pytest.raises(ValueError, match="pack \\* 3"):
        GAN(gan.G, MLP((3, 4, 1), ("tanh", "identity")), pack=3)
    with pytest.raises(ValueError, match="pack must be"):
        GAN(gan.G, gan.D, pack=0)
    from gandyn import games

    with pytest.raises(ValueError, match="packed GAN"):
        games.mlp_gan_game(gan, x, z)
