"""A GAN of two MLPs: the discriminator's and the generator's loss and gradient on a minibatch.

The discriminator outputs one number ``o(x)``: a logit ``l(x)`` with
``D(x) = sigma(l(x))`` for the cross-entropy losses, a critic value for the others.
Each player minimises its own loss, given by a :class:`~gandyn.engine.losses.Loss`
(:mod:`gandyn.engine.losses`), a function of D's outputs on a real and a generated
minibatch: for a separable loss D's is ``mean d_real(o_real) + mean d_fake(o_fake)``
(for 'nonsat' and 'minimax' the cross-entropy ``-V(D, G)``) and G's ``mean g_fake(o_fake)``
(e.g. the minimax loss ``E log(1 - D(G(z)))`` or the non-saturating
``-E log D(G(z))``); a relativistic loss couples the two vectors, and when G's loss reads
the real outputs (``loss.g_reads_real``) G's step runs D on a real minibatch too. Their gradients are formed here by the hand-written
backward passes of :mod:`gandyn.engine.nn`; the optimizers of :mod:`gandyn.engine.optim` then
descend them, so no update is written twice.

Both steps work on a population: ``theta (P, n)`` with inputs ``(P, m, d)``.

**Packing** (Lin et al. 2018, PacGAN, Sec. 3): with ``pack = p > 1`` D scores ``p`` samples at
once, concatenated (its input dimension is ``p d``). A minibatch of ``m`` real samples gives
``m / p`` packed real rows, and likewise the fakes, each side packed separately
(:func:`pack_rows`: rows ``k p, ..., k p + p - 1`` form packed row ``k``); the losses are the
means over the packed outputs. G's batch norm, if any, normalises over its whole noise batch.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from gandyn.engine import losses  # noqa: I001
from gandyn.engine.latents import as_latent
from gandyn.engine.nn import MLP, dropout_masks, flush_tiny
from gandyn.engine.workspace import Workspace, as_workspace

__all__ = ["GAN", "pack_rows", "unpack_rows"]


def pack_rows(x: np.ndarray, p: int) -> np.ndarray:
    """Packed rows: ``(..., n, d) -> (..., n / p, p d)``, packed row ``k`` the concatenation of
    rows ``k p, ..., k p + p - 1`` (PacGAN's ``concatenate(..., axis=1)``; Lin et al. 2018, Sec. 3).
    A view when the last two axes are C-contiguous, else a copy; ``x`` itself for ``p = 1``.

    Raises
    ------
    ValueError
        ``p`` does not divide the number of rows.
    """
    if p == 1:
        return x
    n, d = x.shape[-2:]
    if n % p:
        raise ValueError(f"packing {p} samples per D input needs a batch divisible by {p}, got {n} rows")
    return x.reshape(x.shape[:-2] + (n // p, p * d))


def unpack_rows(g: np.ndarray, p: int) -> np.ndarray:
    """The inverse of :func:`pack_rows`: ``(..., n, p d) -> (..., n p, d)`` (e.g. D's input
    gradient back to the samples)."""
    if p == 1:
        return g
    n, pd = g.shape[-2:]
    return g.reshape(g.shape[:-2] + (n * p, pd // p))


@dataclass(frozen=True)
class GAN:
    """Generator ``G: R^{d_z} -> R^{d_x}`` and discriminator ``D: R^{d_x} -> logit``.

    Parameters
    ----------
    G, D : MLP
        ``pack * G.sizes[-1] == D.sizes[0]`` and ``D.sizes[-1] == 1``.
    loss : str or Loss
        The players' losses: a name of :data:`~gandyn.engine.losses.LOSSES`
        ('nonsat', 'minimax', 'ls', 'hinge', 'wgan', 'kl', ...) or a
        :class:`~gandyn.engine.losses.Loss` (``losses.get('ls', a=-1, b=1, c=0)``,
        ``losses.custom(...)``). A loss whose value or gradient is not finite
        raises :class:`~gandyn.engine.losses.NonFiniteLossError`.
    latent : str or Distribution
        The latent distribution of each coordinate of ``z``: a name of
        :data:`~gandyn.engine.latents.LATENTS` (``'uniform'``: ``U(-1, 1)``, the
        talk's ``sample_Z``; ``'normal'``: ``N(0, 1)``) or a distribution object;
        stored as the object.
    d_dropout : tuple of float
        Dropout probability of the input of each of D's layers while training
        (:func:`~gandyn.engine.nn.dropout_masks`); empty = none. Applied in both players'
        steps when a dropout ``rng`` is passed, never when D is only evaluated.
    label_smooth : float
        One-sided label smoothing of D's loss (:func:`~gandyn.engine.losses.d_loss_minimax`),
        for a loss named 'nonsat' or 'minimax' (their parameter of the same name).
    pack : int
        Samples per D input (PacGAN's packing degree, Lin et al. 2018; 1 = none): D takes
        ``pack`` samples concatenated, real and generated ones packed separately
        (:func:`pack_rows`); every minibatch size must be a multiple of it.
    """

    G: MLP
    D: MLP
    loss: Any = "nonsat"
    latent: Any = "uniform"
    d_dropout: tuple = ()
    label_smooth: float = 0.0
    pack: int = 1
    _loss: losses.Loss = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if int(self.pack) != self.pack or self.pack < 1:
            raise ValueError(f"pack must be an integer >= 1, got {self.pack!r}")
        object.__setattr__(self, "pack", int(self.pack))
        if self.pack * self.G.sizes[-1] != self.D.sizes[0]:
            if self.pack == 1:
                raise ValueError(f"G outputs {self.G.sizes[-1]} features but D takes {self.D.sizes[0]}")
            raise ValueError(f"D must take pack * {self.G.sizes[-1]} = {self.pack * self.G.sizes[-1]} inputs "
                             f"(G outputs {self.G.sizes[-1]} features, pack {self.pack}), takes {self.D.sizes[0]}")
        if self.D.sizes[-1] != 1:
            raise ValueError(f"D must output one logit, has {self.D.sizes[-1]} outputs")
        if self.D.activations[-1] != "identity":
            raise ValueError("D's last activation must be 'identity' (it outputs a logit)")
        object.__setattr__(self, "latent", as_latent(self.latent))
        if self.label_smooth:
            if isinstance(self.loss, losses.Loss) or self.loss not in ("nonsat", "minimax"):
                raise ValueError(f"label_smooth applies to the losses 'nonsat' and 'minimax' by name, not {self.loss!r}"
                                 " (give the loss object its own parameters)")
            if not 0 <= self.label_smooth < 1:
                raise ValueError(f"label_smooth must be in [0, 1), got {self.label_smooth}")
            object.__setattr__(self, "_loss", losses.get(self.loss, label_smooth=self.label_smooth))
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

    def unchecked(self) -> "GAN":
        """This GAN, with a loss that does not raise on non-finite values (for populations,
        whose models are independent rows: one model's NaN stays in its own row and the
        population finds it by its parameters). The arithmetic is the same."""
        if not self._loss.check_finite:
            return self
        out = replace(self)
        object.__setattr__(out, "_loss", replace(self._loss, check_finite=False))
        return out

    @property
    def z_dim(self) -> int:
        return self.G.sizes[0]

    @property
    def x_dim(self) -> int:
        """The dimension of one sample (G's output; D's input is ``pack`` of them)."""
        return self.G.sizes[-1]

    def sample_z(self, rng, m: int, population: int | None = None, out: np.ndarray | None = None) -> np.ndarray:
        """Latent noise, shape ``(m, d_z)`` or ``(P, m, d_z)``, in G's dtype, into ``out``
        if given (drawn in place when ``out`` is C-contiguous of that shape and dtype)."""
        shape = ((m, self.z_dim) if population is None else (population, m, self.z_dim))
        return self.latent.rvs(shape, rng, dtype=self.G.dtype, out=out)

    def _d_masks(self, rng, lead):
        if rng is None or not self.d_dropout:
            return None
        return dropout_masks(rng, self.d_dropout, self.D.sizes, lead, self.D.dtype)

    def d_loss_grad(self, theta_g, theta_d, x_real, z, grad=None, ws: Workspace | None = None, rng=None):
        """D's loss (``-V`` for the cross-entropy losses) on a minibatch and its gradient
        w.r.t. ``theta_d``.

        D runs once on real and generated samples stacked along the batch axis,
        so each layer is one GEMM; G writes its samples straight into the lower
        half of that stacked input. G's backward pass is not run. ``ws`` is a
        :class:`~gandyn.engine.workspace.Workspace` kept by the caller between calls (see :meth:`MLP.forward
        <gandyn.engine.nn.MLP.forward>`): with it no large array is allocated. ``rng``
        draws D's dropout masks (when the GAN has ``d_dropout``).

        Returns ``(loss, grad_d, logit_real, logit_fake)``.
        """
        x_real = np.asarray(x_real, dtype=self.D.dtype)
        m, m_fake = x_real.shape[-2], np.shape(z)[-2]
        lead = np.broadcast_shapes(x_real.shape[:-2], theta_g.shape[:-1], np.shape(z)[:-2])
        shape = lead + (m + m_fake, self.x_dim)
        ws = as_workspace(ws)
        X = ws.buffer("d_input", shape, self.D.dtype)
        self.G.forward(theta_g, z, out=X[..., m:, :], ws=ws.sub("G"))
        X[..., :m, :] = x_real
        return self._d_part(theta_d, X, m, grad, ws, rng)

    def _d_part(self, theta_d, X, m, grad, ws, rng):
        """D's loss and gradient on the stacked samples ``X``: ``m`` real rows, then fakes
        (each side packed, :func:`pack_rows`)."""
        if self.pack > 1:
            nf = X.shape[-2] - m
            if m % self.pack or nf % self.pack:
                pack_rows(X[..., :m, :] if m % self.pack else X[..., m:, :], self.pack)  # raises
            X, m = pack_rows(X, self.pack), m // self.pack
        masks = self._d_masks(rng, X.shape[:-1])
        hs = self.D.forward(theta_d, X, ws=ws.sub("D"), masks=masks)
        logits = hs[-1][..., 0]
        loss, g_real, g_fake = self._loss.d_loss(logits[..., :m], logits[..., m:])
        g_out = np.concatenate([g_real, g_fake], axis=-1)[..., None]
        flush_tiny(g_out)
        grad, _ = self.D.backward(theta_d, hs, g_out, params=True, inputs=False, grad=grad, ws=ws.sub("D"),
                                  masks=masks)
        return loss, grad, logits[..., :m].copy(), logits[..., m:].copy()

    def g_loss_grad(self, theta_g, theta_d, z, grad=None, ws: Workspace | None = None, rng=None, x_real=None):
        """G's loss on a minibatch of noise and its gradient w.r.t. ``theta_g``.

        Chain rule through D by its backward pass w.r.t. the input only (no
        weight gradients of D are formed), then G's backward pass. ``ws`` and
        ``rng`` (D's dropout): as in :meth:`d_loss_grad`. ``x_real`` (``(m, d)`` or
        ``(P, m, d)``): the real minibatch, needed (and only read) when G's loss reads
        D's outputs on real data (``loss_fn.g_reads_real``, the relativistic losses); D
        then runs forward on it (its outputs do not depend on G, so no backward pass).

        Returns ``(loss, grad_g, logit_fake)``.

        Raises
        ------
        ValueError
            ``x_real`` missing for a loss whose G loss reads real outputs.
        """
        ws = as_workspace(ws)
        hs_g = self.G.forward(theta_g, z, ws=ws.sub("G"))
        return self._g_part(theta_g, theta_d, hs_g, grad, ws, rng, x_real)

    def _real_outputs(self, theta_d, x_real, ws, rng):
        """D's outputs on the real rows for G's step (None when G's loss does not read them)."""
        if not self._loss.g_reads_real:
            return None
        if x_real is None:
            raise ValueError(f"loss {self._loss.label}: G's loss reads D's outputs on real data; pass x_real")
        x_real = pack_rows(np.asarray(x_real, dtype=self.D.dtype), self.pack)
        masks = self._d_masks(rng, x_real.shape[:-1])
        return self.D.forward(theta_d, x_real, ws=ws.sub("Dr"), masks=masks)[-1][..., 0]

    def _g_part(self, theta_g, theta_d, hs_g, grad, ws, rng, x_real=None, x_fake=None):
        """G's loss and gradient given G's forward pass ``hs_g`` on the step's noise (and the
        real rows ``x_real`` when G's loss reads them); D reads ``x_fake`` when given (G's
        outputs plus instance noise), else G's outputs ``hs_g[-1]``."""
        wg, wd = ws.sub("G"), ws.sub("Dg")
        x_d = pack_rows(hs_g[-1] if x_fake is None else x_fake, self.pack)
        masks = self._d_masks(rng, x_d.shape[:-1])
        hs_d = self.D.forward(theta_d, x_d, ws=wd, masks=masks)
        logit = hs_d[-1][..., 0]
        loss, _, g_logit = self._loss.g_loss(self._real_outputs(theta_d, x_real, ws, rng), logit)
        g_logit = g_logit[..., None]
        flush_tiny(g_logit)
        _, g_x = self.D.backward(theta_d, hs_d, g_logit, params=False, inputs=True, ws=wd, masks=masks)
        grad, _ = self.G.backward(theta_g, hs_g, unpack_rows(g_x, self.pack), params=True, inputs=False, grad=grad,
                                  ws=wg)
        return loss, grad, logit.copy()

    def d_prob(self, theta_d, x) -> np.ndarray:
        """``D(x) = sigma(l(x))``, shape ``x.shape[:-1]`` (a probability for the
        logit losses; for a critic loss, the sigmoid of the critic value); with packing, of
        the packed rows of ``x`` (shape ``x.shape[:-2] + (m / pack,)``)."""
        x = pack_rows(np.asarray(x), self.pack)
        return losses.sigmoid(self.D(theta_d, x)[..., 0])
