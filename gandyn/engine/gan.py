"""A GAN of two MLPs and one iteration of Algorithm 1 (Goodfellow et al. 2014).

The discriminator outputs one number ``o(x)``: a logit ``l(x)`` with
``D(x) = sigma(l(x))`` for the cross-entropy losses, a critic value for the others.
Each player minimises its own loss, given by a :class:`~gandyn.engine.losses.Loss`
(:mod:`gandyn.engine.losses`): D ``mean d_real(o_real) + mean d_fake(o_fake)``
(for 'nonsat' and 'minimax' the cross-entropy ``-V(D, G)``), G ``mean g_fake(o_fake)``
(e.g. the minimax loss ``E log(1 - D(G(z)))`` or the non-saturating
``-E log D(G(z))``). Their gradients are formed here by the hand-written
backward passes of :mod:`gandyn.engine.nn`; the optimizers of :mod:`gandyn.engine.optim` then
descend them, so no update is written twice.

Both steps work on a population: ``theta (P, n)`` with inputs ``(P, m, d)``.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from gandyn.engine import losses  # noqa: I001
from gandyn.engine.nn import MLP, _buffer, dropout_masks
from gandyn.engine.optim import Optimizer, ema_update
from gandyn.rng import as_rng

__all__ = ["GAN", "Run", "LATENTS", "sample_latent"]

LATENTS = ("uniform", "normal")


def _sub(ws: dict | None, name: str) -> dict | None:
    return None if ws is None else ws.setdefault(name, {})


def _flush_tiny(g: np.ndarray) -> None:
    """Set loss gradients below ``sqrt(tiny)`` of their dtype to zero, in place.

    A confident discriminator has logits of size ~100, so ``sigma(-|l|)/m`` is far
    below float32's smallest normal number (1.2e-38). Subnormal operands make
    x86 GEMMs ~100x slower (microcode assists; TensorFlow avoids them by running
    with flush-to-zero), and they would reach every weight gradient of the
    backward pass. Values below ``sqrt(tiny)`` (1.1e-19 in float32) are at least
    17 orders of magnitude below ``1/m``; dropping them changes an Adam step by
    less than ``lr * 1e-19 / eps``. (Subnormals: IEEE 754-2008, Sec. 3.4; their
    slow path on x86: Intel 64 and IA-32 Architectures Optimization Reference
    Manual, "floating-point assists".)
    """
    g[np.abs(g) < np.sqrt(np.finfo(g.dtype).tiny)] = 0


def sample_latent(rng, shape, latent: str = "uniform", dtype=np.float64, out: np.ndarray | None = None) -> np.ndarray:
    """Latent noise ``z ~ U(-1, 1)`` (the talk's ``sample_Z``) or ``N(0, I)``, of
    ``shape``, in ``dtype``.

    In float32 the uniform noise is drawn directly in float32 as ``2u - 1``,
    ``u ~ U[0, 1)`` (half the cost of drawing float64 and converting). ``out``
    receives the draws, the same values as without it: drawn in place when it is
    C-contiguous of ``shape`` and ``dtype``, else copied into it.
    """
    rng = as_rng(rng)
    if latent not in LATENTS:
        raise ValueError(f"unknown latent {latent!r}; choose from {', '.join(LATENTS)}")
    dtype = np.dtype(dtype)
    if out is not None and (out.shape != tuple(shape) or out.dtype != dtype or not out.flags.c_contiguous):
        out[...] = sample_latent(rng, shape, latent, dtype)
        return out
    if latent == "uniform":
        if dtype == np.float32:
            z = rng.random(shape, dtype=np.float32, out=out)
            z *= 2
            z -= 1
            return z
        z = rng.uniform(-1.0, 1.0, size=shape).astype(dtype, copy=False)
    else:
        z = rng.standard_normal(size=shape, dtype=dtype, out=out)
    if out is not None and z is not out:
        out[...] = z
        return out
    return z


@dataclass(frozen=True)
class GAN:
    """Generator ``G: R^{d_z} -> R^{d_x}`` and discriminator ``D: R^{d_x} -> logit``.

    Parameters
    ----------
    G, D : MLP
        ``G.sizes[-1] == D.sizes[0]`` and ``D.sizes[-1] == 1``.
    loss : str or Loss
        The players' losses: a name of :data:`~gandyn.engine.losses.LOSSES`
        ('nonsat', 'minimax', 'ls', 'hinge', 'wgan', 'kl', ...) or a
        :class:`~gandyn.engine.losses.Loss` (``losses.get('ls', a=-1, b=1, c=0)``,
        ``losses.custom(...)``). A loss whose value or gradient is not finite
        raises :class:`~gandyn.engine.losses.NonFiniteLossError`.
    latent : {'uniform', 'normal'}
        ``z ~ U(-1, 1)^{d_z}`` (the talk's ``sample_Z``) or ``N(0, I)``.
    d_dropout : tuple of float
        Dropout probability of the input of each of D's layers while training
        (:func:`~gandyn.engine.nn.dropout_masks`); empty = none. Applied in both players'
        steps when a dropout ``rng`` is passed, never when D is only evaluated.
    label_smooth : float
        One-sided label smoothing of D's loss (:func:`~gandyn.engine.losses.d_loss`),
        for a loss named 'nonsat' or 'minimax' (it is their ``smooth`` parameter).
    """

    G: MLP
    D: MLP
    loss: Any = "nonsat"
    latent: str = "uniform"
    d_dropout: tuple = ()
    label_smooth: float = 0.0
    _loss: losses.Loss = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.G.sizes[-1] != self.D.sizes[0]:
            raise ValueError(f"G outputs {self.G.sizes[-1]} features but D takes {self.D.sizes[0]}")
        if self.D.sizes[-1] != 1:
            raise ValueError(f"D must output one logit, has {self.D.sizes[-1]} outputs")
        if self.D.activations[-1] != "identity":
            raise ValueError("D's last activation must be 'identity' (it outputs a logit)")
        if self.latent not in LATENTS:
            raise ValueError(f"unknown latent {self.latent!r}; choose from {', '.join(LATENTS)}")
        if self.label_smooth:
            if isinstance(self.loss, losses.Loss) or self.loss not in ("nonsat", "minimax"):
                raise ValueError(f"label_smooth applies to the losses 'nonsat' and 'minimax' by name, not {self.loss!r}"
                                 " (give the loss object its own parameters)")
            if not 0 <= self.label_smooth < 1:
                raise ValueError(f"label_smooth must be in [0, 1), got {self.label_smooth}")
            object.__setattr__(self, "_loss", losses.get(self.loss, smooth=self.label_smooth))
        else:
            object.__setattr__(self, "_loss", losses.get(self.loss))
        drop = tuple(float(p) for p in self.d_dropout)
        if drop and len(drop) != self.D.n_layers:
            raise ValueError(f"d_dropout needs one probability per D layer ({self.D.n_layers}), got {len(drop)}")
        if any(not 0 <= p < 1 for p in drop):
            raise ValueError(f"dropout probabilities must be in [0, 1), got {drop}")
        object.__setattr__(self, "d_dropout", drop if any(drop) else ())
        if not 0 <= self.label_smooth < 1:
            raise ValueError(f"label_smooth must be in [0, 1), got {self.label_smooth}")

    @property
    def loss_fn(self) -> losses.Loss:
        """The :class:`~gandyn.engine.losses.Loss` both players' steps use."""
        return self._loss

    @property
    def g_loss(self) -> str:
        """The loss's name (read-only; the constructor argument is ``loss``)."""
        return self._loss.name

    @property
    def z_dim(self) -> int:
        return self.G.sizes[0]

    def sample_z(self, rng, m: int, population: int | None = None, out: np.ndarray | None = None) -> np.ndarray:
        """Latent noise, shape ``(m, d_z)`` or ``(P, m, d_z)``, in G's dtype
        (:func:`sample_latent`), into ``out`` if given."""
        shape = ((m, self.z_dim) if population is None else (population, m, self.z_dim))
        return sample_latent(rng, shape, self.latent, self.G.dtype, out=out)

    def _d_masks(self, rng, lead):
        if rng is None or not self.d_dropout:
            return None
        return dropout_masks(rng, self.d_dropout, self.D.sizes, lead, self.D.dtype)

    def d_loss_grad(self, theta_g, theta_d, x_real, z, grad=None, ws: dict | None = None, rng=None):
        """D's loss (``-V`` for the cross-entropy losses) on a minibatch and its gradient
        w.r.t. ``theta_d``.

        D runs once on real and generated samples stacked along the batch axis,
        so each layer is one GEMM; G writes its samples straight into the lower
        half of that stacked input. G's backward pass is not run. ``ws`` is a
        workspace dict kept by the caller between calls (see :meth:`MLP.forward
        <gandyn.engine.nn.MLP.forward>`): with it no large array is allocated. ``rng``
        draws D's dropout masks (when the GAN has ``d_dropout``).

        Returns ``(loss, grad_d, logit_real, logit_fake)``.
        """
        x_real = np.asarray(x_real, dtype=self.D.dtype)
        m, m_fake = x_real.shape[-2], np.shape(z)[-2]
        lead = np.broadcast_shapes(x_real.shape[:-2], theta_g.shape[:-1], np.shape(z)[:-2])
        shape = lead + (m + m_fake, self.D.sizes[0])
        X = np.empty(shape, self.D.dtype) if ws is None else _buffer(ws, "d_input", shape, self.D.dtype)
        self.G.forward(theta_g, z, out=X[..., m:, :], ws=_sub(ws, "G"))
        X[..., :m, :] = x_real
        return self._d_part(theta_d, X, m, grad, ws, rng)

    def _d_part(self, theta_d, X, m, grad, ws, rng):
        """D's loss and gradient on the stacked input ``X``: ``m`` real rows, then fakes."""
        masks = self._d_masks(rng, X.shape[:-1])
        hs = self.D.forward(theta_d, X, ws=_sub(ws, "D"), masks=masks)
        logits = hs[-1][..., 0]
        loss, g_real, g_fake = self._loss.d_loss(logits[..., :m], logits[..., m:])
        g_out = np.concatenate([g_real, g_fake], axis=-1)[..., None]
        _flush_tiny(g_out)
        grad, _ = self.D.backward(theta_d, hs, g_out, params=True, inputs=False, grad=grad, ws=_sub(ws, "D"),
                                  masks=masks)
        return loss, grad, logits[..., :m].copy(), logits[..., m:].copy()

    def g_loss_grad(self, theta_g, theta_d, z, grad=None, ws: dict | None = None, rng=None):
        """G's loss on a minibatch of noise and its gradient w.r.t. ``theta_g``.

        Chain rule through D by its backward pass w.r.t. the input only (no
        weight gradients of D are formed), then G's backward pass. ``ws`` and
        ``rng`` (D's dropout): as in :meth:`d_loss_grad`.

        Returns ``(loss, grad_g, logit_fake)``.
        """
        hs_g = self.G.forward(theta_g, z, ws=_sub(ws, "G"))
        return self._g_part(theta_g, theta_d, hs_g, grad, ws, rng)

    def _g_part(self, theta_g, theta_d, hs_g, grad, ws, rng):
        """G's loss and gradient given G's forward pass ``hs_g`` on the step's noise."""
        wg, wd = _sub(ws, "G"), _sub(ws, "Dg")
        masks = self._d_masks(rng, hs_g[-1].shape[:-1])
        hs_d = self.D.forward(theta_d, hs_g[-1], ws=wd, masks=masks)
        logit = hs_d[-1][..., 0]
        loss, g_logit = self._loss.g_loss(logit)
        g_logit = g_logit[..., None]
        _flush_tiny(g_logit)
        _, g_x = self.D.backward(theta_d, hs_d, g_logit, params=False, inputs=True, ws=wd, masks=masks)
        grad, _ = self.G.backward(theta_g, hs_g, g_x, params=True, inputs=False, grad=grad, ws=wg)
        return loss, grad, logit.copy()

    def d_prob(self, theta_d, x) -> np.ndarray:
        """``D(x) = sigma(l(x))``, shape ``x.shape[:-1]`` (a probability for the
        logit losses; for a critic loss, the sigmoid of the critic value)."""
        return losses.sigmoid(self.D(theta_d, x)[..., 0])


@dataclass
class Run:
    """Everything that changes during training: parameters, optimizer states,
    random streams, iteration count. Algorithm 1 of Goodfellow et al. 2014 is
    :meth:`step`.

    ``sample_real(rng, m)`` draws a minibatch of data. Randomness comes from
    named streams, ``data`` (real minibatches), ``latent`` (noise) and, when D
    has dropout, ``rng_dropout`` (its masks), so extra evaluation that draws from
    other streams never changes the run.

    ``g_ema = beta > 0`` keeps ``theta_g_ema``, the exponential moving average of
    G's parameters after each G step (:func:`~gandyn.engine.optim.ema_update`; Yazici
    et al. 2019), starting from G's initial parameters.
    """

    gan: GAN
    opt_g: Optimizer
    opt_d: Optimizer
    theta_g: np.ndarray
    theta_d: np.ndarray
    sample_real: Callable[[np.random.Generator, int], np.ndarray]
    rng_data: np.random.Generator
    rng_latent: np.random.Generator
    batch: int = 64
    k: int = 1
    it: int = 0
    state_g: Any = None
    state_d: Any = None
    rng_dropout: np.random.Generator | None = None
    g_ema: float = 0.0
    theta_g_ema: np.ndarray | None = None

    def __post_init__(self):
        if not 0 <= self.g_ema < 1:
            raise ValueError(f"g_ema must be in [0, 1), got {self.g_ema}")
        if self.gan.d_dropout and self.rng_dropout is None:
            raise ValueError("the GAN has D dropout: pass rng_dropout")
        if self.g_ema and self.theta_g_ema is None:
            self.theta_g_ema = self.theta_g.copy()
        self._ema_scratch = np.empty_like(self.theta_g) if self.g_ema else None
        if self.k < 1:
            raise ValueError(f"k (discriminator steps per generator step) must be >= 1, got {self.k}")
        if self.batch < 1:
            raise ValueError(f"batch must be >= 1, got {self.batch}")
        if self.state_g is None:
            self.state_g = self.opt_g.init(self.theta_g)
        if self.state_d is None:
            self.state_d = self.opt_d.init(self.theta_d)
        self._grad_g = np.empty_like(self.theta_g)
        self._grad_d = np.empty_like(self.theta_d)
        self._ws: dict = {}  # reusable buffers of the forward and backward passes
        self._sampler = (None, False)  # (sample_real, whether it takes out=)

    def _fill_real(self, dst: np.ndarray) -> None:
        """A real minibatch into ``dst``: written there by the sampler when it takes
        ``out=`` (as :class:`gandyn.experiments.mnist.EpochSampler` does), else copied."""
        f = self.sample_real
        if self._sampler[0] is not f:
            try:
                takes_out = "out" in inspect.signature(f).parameters
            except (TypeError, ValueError):
                takes_out = False
            self._sampler = (f, takes_out)
        if self._sampler[1]:
            x = f(self.rng_data, dst.shape[-2], out=dst)
            if x is dst:
                return
        else:
            x = f(self.rng_data, dst.shape[-2])
        dst[...] = x

    @property
    def population(self) -> int | None:
        return None if self.theta_g.ndim == 1 else self.theta_g.shape[0]

    def step(self) -> tuple[np.ndarray, np.ndarray]:
        """One iteration: ``k`` discriminator steps, each on a fresh real minibatch
        and fresh noise, then one generator step on fresh noise. Returns the last
        D loss and the G loss (before their updates).

        D's update does not change G, so G runs once on the noise of the last D
        step and of the G step together (one GEMM per layer instead of two), writing
        its samples into D's stacked input after the real minibatch, which the
        sampler writes in place when it takes ``out=``. The random draws are those
        of :meth:`d_loss_grad` followed by :meth:`g_loss_grad` (tested)."""
        gan, m, P = self.gan, self.batch, self.population
        for _ in range(self.k - 1):
            x = self.sample_real(self.rng_data, m)
            z = gan.sample_z(self.rng_latent, m, P)
            loss_d, gd, _, _ = gan.d_loss_grad(self.theta_g, self.theta_d, x, z, grad=self._grad_d, ws=self._ws,
                                               rng=self.rng_dropout)
            self.state_d = self.opt_d.update(self.theta_d, gd, self.state_d)
        lead = () if P is None else (P,)
        ws, dt = self._ws, gan.D.dtype
        X = _buffer(ws, "step_input", lead + (3 * m, gan.D.sizes[0]), dt)
        self._fill_real(X[..., :m, :])
        Z = _buffer(ws, "step_noise", lead + (2 * m, gan.z_dim), gan.G.dtype)
        gan.sample_z(self.rng_latent, m, P, out=Z[..., :m, :])
        gan.sample_z(self.rng_latent, m, P, out=Z[..., m:, :])
        hs = gan.G.forward(self.theta_g, Z, out=X[..., m:, :], ws=_sub(ws, "G2"))
        loss_d, gd, _, _ = gan._d_part(self.theta_d, X[..., :2 * m, :], m, self._grad_d, ws, self.rng_dropout)
        self.state_d = self.opt_d.update(self.theta_d, gd, self.state_d)
        hs_g = [h[..., m:, :] for h in hs]  # the G step's rows of every layer
        loss_g, gg, _ = gan._g_part(self.theta_g, self.theta_d, hs_g, self._grad_g, ws, self.rng_dropout)
        self.state_g = self.opt_g.update(self.theta_g, gg, self.state_g)
        if self.g_ema:
            ema_update(self.theta_g_ema, self.theta_g, self.g_ema, self._ema_scratch)
        self.it += 1
        return loss_d, loss_g
