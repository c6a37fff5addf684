"""GAN losses on logits, each returning its value and its gradient w.r.t. the logits.

With ``D(x) = sigma(l(x))`` the value function of Goodfellow et al. 2014, eq. 1 is

    V(D, G) = E_data[log D(x)] + E_z[log(1 - D(G(z)))]
            = E_data[log sigma(l_real)] + E_z[log sigma(-l_fake)],

since ``1 - sigma(l) = sigma(-l)``. Everything is written with
``log sigma(l) = -softplus(-l)``, evaluated by :func:`scipy.special.log_expit`,
which is finite and accurate to the last bit for any finite logit (no
``log(sigmoid(l))`` in probability space). Expectations are minibatch means over
the *last* axis: logits of shape ``(..., m)`` give values of shape ``(...)``,
so a population ``(P, m)`` gives ``P`` losses, and the gradient of each loss is
w.r.t. its own logits (the ``1/m`` included).

Every loss here is *minimised* by its player.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit

__all__ = [
    "softplus", "log_sigmoid", "sigmoid", "value", "d_loss",
    "g_loss_minimax", "g_loss_nonsat", "g_loss", "G_LOSSES",
]


def sigmoid(l):
    """``1 / (1 + exp(-l))``, exact in floating point for any logit."""
    return expit(l)


def log_sigmoid(l):
    """``log sigma(l) = -softplus(-l)``, finite for any finite ``l``."""
    return log_expit(l)


def softplus(l):
    """``log(1 + exp(l)) = -log sigma(-l)``."""
    return -log_expit(-np.asarray(l))


def _m(l) -> int:
    return np.shape(l)[-1]


def value(logit_real, logit_fake):
    """Minibatch estimate of V(D, G), Goodfellow et al. 2014, eq. 1.

    ``mean log sigma(l_real) + mean log sigma(-l_fake)``; shape ``(...)``.
    """
    return log_expit(logit_real).mean(axis=-1) + log_expit(-np.asarray(logit_fake)).mean(axis=-1)


def d_loss(logit_real, logit_fake, smooth: float = 0.0):
    """The discriminator's loss ``-V(D, G)`` (it ascends V, Goodfellow et al. 2014,
    Algorithm 1), i.e. sigmoid cross-entropy with labels 1 for data, 0 for samples.

    ``smooth = a > 0`` is one-sided label smoothing (Salimans et al. 2016, Section
    3.4): the data's target is ``1 - a`` instead of 1, samples keep target 0. Its
    optimal discriminator is ``(1-a) p_data / (p_data + p_g)``.

    Returns
    -------
    loss : array (...)
        ``mean[(1-a) softplus(-l_real) + a softplus(l_real)] + mean softplus(l_fake)``.
    g_real, g_fake : arrays like the logits
        ``(a - sigma(-l_real))/m`` and ``sigma(l_fake)/m``.
    """
    if not 0 <= smooth < 1:
        raise ValueError(f"label smoothing must be in [0, 1), got {smooth}")
    lr = np.asarray(logit_real)
    lf = np.asarray(logit_fake)
    if smooth:
        real = (1 - smooth) * log_expit(lr) + smooth * log_expit(-lr)
    else:
        real = log_expit(lr)
    loss = -(real.mean(axis=-1) + log_expit(-lf).mean(axis=-1))
    g_real = expit(-lr)
    if smooth:
        g_real -= smooth
    g_real *= -1.0 / _m(lr)
    g_fake = expit(lf)
    g_fake *= 1.0 / _m(lf)
    return loss, g_real, g_fake


def g_loss_minimax(logit_fake):
    """The generator's minimax loss ``mean log(1 - D(G(z)))`` (eq. 1; Algorithm 1
    descends it). Saturates (gradient -> 0) when D rejects samples confidently.

    Returns ``(mean log sigma(-l), -sigma(l)/m)``.
    """
    lf = np.asarray(logit_fake)
    loss = log_expit(-lf).mean(axis=-1)
    g = expit(lf)
    g *= -1.0 / _m(lf)
    return loss, g


def g_loss_nonsat(logit_fake):
    """The non-saturating generator loss ``-mean log D(G(z))`` (Goodfellow et al.
    2014, Section 3, the paragraph after eq. 1).

    Returns ``(mean softplus(-l), -sigma(-l)/m)``.
    """
    lf = np.asarray(logit_fake)
    loss = -log_expit(lf).mean(axis=-1)
    g = expit(-lf)
    g *= -1.0 / _m(lf)
    return loss, g


G_LOSSES = {"minimax": g_loss_minimax, "nonsat": g_loss_nonsat}


def g_loss(kind: str):
    """The generator loss function named ``kind`` ('minimax' or 'nonsat')."""
    try:
        return G_LOSSES[kind]
    except KeyError:
        raise ValueError(f"unknown generator loss {kind!r}; choose from {', '.join(G_LOSSES)}") from None
