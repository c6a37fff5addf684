"""Algorithm 1 of Goodfellow et al. 2014, written once: ``k`` discriminator steps, each on
a fresh real minibatch and fresh noise, then one generator step on fresh noise; each
player descends its own loss with its own optimizer.

The same :class:`Trainer` trains one GAN (``theta`` of shape ``(n,)``) or a population
(``(P, n)``, inputs ``(P, m, d)``): per-model step sizes are arrays or schedules of
the optimizers (:mod:`gandyn.engine.optim`), per-model random streams are the business
of the minibatch source. A source is any object with two methods,

``real(out)``   write the next real minibatch into ``out`` (``(m, d_x)`` or ``(P, m, d_x)``);
``noise(out)``  write the next latent noise into ``out`` (``(m, d_z)`` or ``(P, m, d_z)``),

called in the order of Algorithm 1: for each D step ``real`` then ``noise``, then
``noise`` once more for the G step. :class:`StreamBatches` draws them from two random
streams as training goes (the MNIST GAN); the 1-D population experiment serves
per-seed blocks of draws (:mod:`gandyn.experiments.gan1d`).

>>> from gandyn.engine import GAN, MLP, optim
>>> from gandyn.distributions import Normal
>>> from gandyn.rng import stream
>>> G = MLP((1, 8, 1), ("tanh", "identity")); D = MLP((1, 8, 1), ("relu", "identity"))
>>> gan = GAN(G, D)
>>> batches = StreamBatches(lambda rng, m: Normal(4, 0.5).rvs((m, 1), rng), gan.latent,
...                         stream(0, "data"), stream(0, "latent"))
>>> tr = Trainer(gan, optim.adam(1e-2, b1=0.5), optim.adam(1e-2, b1=0.5),
...              G.init(stream(0, "g_init")), D.init(stream(0, "d_init")), batches, batch=16)
>>> loss_d, loss_g = tr.step()
>>> tr.it, bool(loss_d > 0)
(1, True)
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Protocol

import numpy as np

from gandyn.distributions import Distribution
from gandyn.engine.gan import GAN, _sub
from gandyn.engine.nn import _buffer
from gandyn.engine.optim import Optimizer

__all__ = ["Trainer", "Batches", "StreamBatches"]


class Batches(Protocol):
    """A source of minibatches for :class:`Trainer` (see the module docstring)."""

    def real(self, out: np.ndarray) -> None: ...

    def noise(self, out: np.ndarray) -> None: ...


class StreamBatches:
    """Minibatches drawn as training goes: data by ``sample_real(rng_data, m)`` and
    latent noise from ``latent`` with ``rng_latent``.

    A ``sample_real`` that takes ``out=`` (as :class:`gandyn.experiments.mnist.EpochSampler`
    does) writes the minibatch in place; else its result is copied. The two streams
    are separate, so drawing extra noise or data for evaluation from other streams
    never changes a run (SPEC 7).
    """

    def __init__(self, sample_real: Callable[..., np.ndarray], latent: Distribution,
                 rng_data: np.random.Generator, rng_latent: np.random.Generator):
        self.sample_real, self.latent = sample_real, latent
        self.rng_data, self.rng_latent = rng_data, rng_latent
        self._sampler = (None, False)  # (sample_real, whether it takes out=)

    def real(self, out: np.ndarray) -> None:
        f = self.sample_real
        if self._sampler[0] is not f:
            try:
                takes_out = "out" in inspect.signature(f).parameters
            except (TypeError, ValueError):
                takes_out = False
            self._sampler = (f, takes_out)
        if self._sampler[1]:
            x = f(self.rng_data, out.shape[-2], out=out)
            if x is out:
                return
        else:
            x = f(self.rng_data, out.shape[-2])
        out[...] = x

    def noise(self, out: np.ndarray) -> None:
        self.latent.rvs(out.shape, self.rng_latent, dtype=out.dtype, out=out)


class Trainer:
    """Algorithm 1 of Goodfellow et al. 2014 on one GAN or a population.

    Parameters
    ----------
    gan : GAN
    opt_g, opt_d : Optimizer
        Each player's optimizer (step sizes: numbers, ``(P, 1)`` arrays or schedules).
        Wrappers such as :func:`~gandyn.engine.optim.averaged` (a moving average of G)
        compose here.
    theta_g, theta_d : ndarray, shape ``(n,)`` or ``(P, n)``
        The parameters, updated in place (views of a larger array stay views).
    batches : Batches
        The minibatch source.
    batch : int
        Minibatch size ``m`` of data and of noise.
    k : int
        Discriminator steps per generator step.
    rng_dropout : Generator, optional
        Draws D's dropout masks (required when the GAN has ``d_dropout``).
    state_g, state_d : optional
        Optimizer states to continue from (default: fresh).
    it : int
        Iterations done so far.

    Raises
    ------
    ValueError
        ``k`` or ``batch`` below 1, or a dropout GAN without ``rng_dropout``.
    """

    def __init__(self, gan: GAN, opt_g: Optimizer, opt_d: Optimizer, theta_g: np.ndarray, theta_d: np.ndarray,
                 batches: Batches, *, batch: int = 64, k: int = 1, rng_dropout: np.random.Generator | None = None,
                 state_g: Any = None, state_d: Any = None, it: int = 0):
        if int(k) != k or k < 1:
            raise ValueError(f"k (discriminator steps per generator step) must be an integer >= 1, got {k!r}")
        if int(batch) != batch or batch < 1:
            raise ValueError(f"batch must be an integer >= 1, got {batch!r}")
        if gan.d_dropout and rng_dropout is None:
            raise ValueError("the GAN has D dropout: pass rng_dropout")
        self.gan, self.opt_g, self.opt_d = gan, opt_g, opt_d
        self.theta_g, self.theta_d = theta_g, theta_d
        self.batches, self.batch, self.k = batches, int(batch), int(k)
        self.rng_dropout = rng_dropout
        self.state_g = opt_g.init(theta_g) if state_g is None else state_g
        self.state_d = opt_d.init(theta_d) if state_d is None else state_d
        self.it = int(it)
        self._grad_g = np.empty_like(theta_g)
        self._grad_d = np.empty_like(theta_d)
        self._ws: dict = {}  # reusable buffers of the forward and backward passes

    @property
    def population(self) -> int | None:
        return None if self.theta_g.ndim == 1 else self.theta_g.shape[0]

    def step(self) -> tuple[np.ndarray, np.ndarray]:
        """One iteration of Algorithm 1. Returns D's loss (of its last step) and G's
        loss, each before its update: shape ``()`` or ``(P,)``.

        D's update does not change G, so G runs once on the noise of the last D step
        and of the G step together (one GEMM per layer instead of two), writing its
        samples into D's stacked input after the real minibatch. The draws are those
        of Algorithm 1 written out step by step (tested)."""
        gan, m, P, ws, src = self.gan, self.batch, self.population, self._ws, self.batches
        lead = () if P is None else (P,)
        X = _buffer(ws, "step_input", lead + (3 * m, gan.D.sizes[0]), gan.D.dtype)
        Z = _buffer(ws, "step_noise", lead + (2 * m, gan.z_dim), gan.G.dtype)
        x_real, z_d, z_g = X[..., :m, :], Z[..., :m, :], Z[..., m:, :]
        for _ in range(self.k - 1):
            src.real(x_real)
            src.noise(z_d)
            _, gd, _, _ = gan.d_loss_grad(self.theta_g, self.theta_d, x_real, z_d, grad=self._grad_d, ws=ws,
                                          rng=self.rng_dropout)
            self.state_d = self.opt_d.update(self.theta_d, gd, self.state_d)
        src.real(x_real)
        src.noise(z_d)
        src.noise(z_g)
        hs = gan.G.forward(self.theta_g, Z, out=X[..., m:, :], ws=_sub(ws, "G2"))
        loss_d, gd, _, _ = gan._d_part(self.theta_d, X[..., :2 * m, :], m, self._grad_d, ws, self.rng_dropout)
        self.state_d = self.opt_d.update(self.theta_d, gd, self.state_d)
        hs_g = [h[..., m:, :] for h in hs]  # the G step's rows of every layer
        loss_g, gg, _ = gan._g_part(self.theta_g, self.theta_d, hs_g, self._grad_g, ws, self.rng_dropout)
        self.state_g = self.opt_g.update(self.theta_g, gg, self.state_g)
        self.it += 1
        return loss_d, loss_g
