"""Autograd-traceable twins of the engine's forward passes.

The hand-written engine (:mod:`gandyn.engine.nn`, :mod:`gandyn.engine.losses`) is the hot
path for training. Game Jacobians and Hessian-vector products need second (and,
for gradient penalties, third) derivatives of the players' costs, which autograd
forms by tracing code written with :mod:`autograd.numpy`. The functions here read
the *same* flat parameter layout as :class:`gandyn.engine.nn.MLP` (its
:attr:`~gandyn.engine.nn.MLP.layout`), so a point ``theta`` of the engine is a point of
the traced function, and tests check that both forwards agree.

Shapes: ``theta (n,)`` (one model, no population axis), ``x (m, d)``.
"""
from __future__ import annotations

import autograd.numpy as anp

from gandyn.engine.nn import MLP

__all__ = ["mlp_forward", "log_sigmoid", "ACTIVATIONS"]


def _leaky(slope):
    # h = a for a > 0, slope * a otherwise (Maas, Hannun & Ng 2013)
    return lambda a: anp.where(a > 0, a, slope * a)


#: Traceable activations; ``sigmoid(a) = (1 + tanh(a/2))/2`` is exact and never overflows.
ACTIVATIONS = {
    "identity": lambda a: a,
    "relu": lambda a: anp.maximum(a, 0.0),
    "tanh": anp.tanh,
    "sigmoid": lambda a: 0.5 * (anp.tanh(0.5 * a) + 1.0),
}


def _act(net: MLP, name: str):
    return _leaky(net.slope) if name == "leaky_relu" else ACTIVATIONS[name]


def mlp_forward(net: MLP, theta, x):
    """The output of ``net`` at ``theta`` on inputs ``x``, traceable by autograd.

    Layer ``l`` computes ``h_l = act_l(h_{l-1} W_l + b_l)`` (as :mod:`gandyn.engine.nn`),
    reading ``W_l`` and ``b_l`` from the slices of ``net.layout``; a maxout layer the max
    over each unit's ``k`` pieces, a batch-norm layer
    ``act_l(gamma_l (a - mean(a)) / sqrt(var(a) + eps) + beta_l)`` with ``a = h_{l-1} W_l`` and the
    statistics of the rows of ``x`` (training mode).

    Parameters
    ----------
    net : MLP
    theta : array (n,)
        Flat parameters in ``net.layout``.
    x : array (m, d_0)

    Returns
    -------
    array (m, d_L)
    """
    if anp.ndim(theta) != 1 or anp.shape(theta)[0] != net.n_params:
        raise ValueError(f"theta must have shape ({net.n_params},), got {anp.shape(theta)}")
    lay = net.layout
    h = x
    shapes = dict(zip(lay.names, lay.shapes))
    for l, act in enumerate(net.activations, start=1):
        W = anp.reshape(theta[lay.slice(f"W{l}")], shapes[f"W{l}"])
        if net.batch_norm is not None and net.batch_norm[l - 1]:
            a = anp.dot(h, W)
            c = a - anp.mean(a, axis=0)
            xh = c / anp.sqrt(anp.mean(c * c, axis=0) + net.bn_eps)
            h = _act(net, act)(theta[lay.slice(f"gamma{l}")] * xh + theta[lay.slice(f"beta{l}")])
            continue
        a = anp.dot(h, W) + theta[lay.slice(f"b{l}")]
        k = None if net.pieces is None else net.pieces[l - 1]
        if k is not None:
            h = anp.max(anp.reshape(a, (anp.shape(a)[0], net.sizes[l], k)), axis=2)
        else:
            h = _act(net, act)(a)
    return h


def log_sigmoid(l):
    """``log sigma(l) = -log(1 + e^{-l})``, finite for every finite ``l`` (traceable)."""
    return -anp.logaddexp(0.0, -l)
