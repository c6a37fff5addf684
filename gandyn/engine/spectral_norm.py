"""Spectral normalisation of the discriminator (Miyato, Kataoka, Koyama & Yoshida 2018).

Each weight matrix ``W`` of D (``x @ W`` layout, shape ``(in, out)``) is used as
``W_SN = W / sigma(W)``, ``sigma(W)`` its largest singular value estimated by one step of
power iteration per training step from vectors ``u`` (length ``in``) that persist across
steps (their Algorithm 1): ``v = W^T u / ||W^T u||``, ``u = W v / ||W v||``,
``sigma = u^T W v``. Biases are left as they are.

The gradient w.r.t. ``W`` treats ``u`` and ``v`` as constants (their Eq. 12):

    dL/dW = (G - <G, W_SN> u v^T) / sigma,   G = dL/dW_SN.

Populations: ``theta (P, n)`` with ``u (P, in)`` per layer. The vectors ``u`` are the
state that checkpoints keep.
"""
from __future__ import annotations

import numpy as np

from gandyn.engine.nn import MLP

__all__ = ["SpectralNorm", "normalized_exact"]


def normalized_exact(net: MLP, theta: np.ndarray) -> np.ndarray:
    """``theta`` (shape ``(n,)``) with every weight matrix ``W`` replaced by ``W / sigma(W)``,
    ``sigma(W)`` its largest singular value computed exactly (``numpy.linalg.norm(W, 2)``):
    the discriminator a spectrally normalised training applies, whose power iteration
    estimates ``sigma(W)`` (Miyato et al. 2018, Sec. 2.1). Returns a new array.

    Raises
    ------
    ValueError
        ``theta`` not of shape ``(net.n_params,)``.
    """
    theta = np.asarray(theta)
    if theta.shape != (net.n_params,):
        raise ValueError(f"theta must have shape ({net.n_params},), got {theta.shape}")
    out = theta.copy()
    for W, _ in net.views(out):
        W /= np.linalg.norm(W, 2)
    return out


class SpectralNorm:
    """Spectral normalisation of every weight matrix of an MLP.

    Parameters
    ----------
    net : MLP
    theta : array (n,) or (P, n)
        Parameters whose shape fixes the population axis.
    rng : Generator
        Draws the initial ``u`` (standard normal, normalised).
    """

    def __init__(self, net: MLP, theta: np.ndarray, rng):
        self.net = net
        lead = theta.shape[:-1]
        self.u = []
        for l in range(net.n_layers):
            u = rng.standard_normal(lead + (net.sizes[l],)).astype(net.dtype)
            u /= np.linalg.norm(u, axis=-1, keepdims=True)
            self.u.append(u)
        self.v = [None] * net.n_layers
        self.sigma = [None] * net.n_layers

    def _weights(self, theta):
        return [w for w, _ in self.net.views(theta)]

    def power_iteration(self, theta) -> None:
        """One step of power iteration per layer (updates ``u``, ``v``, ``sigma``)."""
        for l, W in enumerate(self._weights(theta)):
            v = np.einsum("...io,...i->...o", W, self.u[l])
            v /= np.linalg.norm(v, axis=-1, keepdims=True)
            u = np.einsum("...io,...o->...i", W, v)
            u /= np.linalg.norm(u, axis=-1, keepdims=True)
            self.u[l], self.v[l] = u, v
        self.refresh(theta)

    def refresh(self, theta) -> None:
        """``sigma = u^T W v`` at the current weights (``u``, ``v`` kept)."""
        for l, W in enumerate(self._weights(theta)):
            if self.v[l] is None:
                v = np.einsum("...io,...i->...o", W, self.u[l])
                self.v[l] = v / np.linalg.norm(v, axis=-1, keepdims=True)
            self.sigma[l] = np.einsum("...i,...io,...o->...", self.u[l], W, self.v[l])

    def normalized(self, theta, out: np.ndarray) -> np.ndarray:
        """``theta`` with every ``W`` replaced by ``W / sigma``, into ``out``."""
        np.copyto(out, theta)
        for (W, _), s in zip(self.net.views(out), self.sigma):
            W /= s[..., None, None] if np.ndim(s) else s
        return out

    def backward(self, theta_sn, grad_sn, out: np.ndarray) -> np.ndarray:
        """The gradient w.r.t. the raw parameters from the one w.r.t. the normalised ones
        (Miyato et al. 2018, Eq. 12), into ``out``."""
        np.copyto(out, grad_sn)
        for l, ((G, _), (Wsn, _)) in enumerate(zip(self.net.views(out), self.net.views(theta_sn))):
            s = self.sigma[l]
            inner = np.einsum("...io,...io->...", G, Wsn)
            G -= inner[..., None, None] * np.einsum("...i,...o->...io", self.u[l], self.v[l])
            G /= s[..., None, None] if np.ndim(s) else s
        return out

    def state(self) -> list[np.ndarray]:
        return self.u

    def set_state(self, u: list[np.ndarray]) -> None:
        if len(u) != len(self.u) or any(a.shape != b.shape for a, b in zip(u, self.u)):
            raise ValueError("spectral-norm vectors do not fit the discriminator")
        self.u = [np.array(a, dtype=self.net.dtype) for a in u]
        self.v = [None] * len(self.u)
