"""Exact second-order products of a gradient penalty of D, for the methods that differentiate
the penalised game (consensus, SGA).

The penalty ``P(theta_D) = scale * sum_i w_i (||grad_x o(x_i)|| - c)^2`` of
:func:`gandyn.engine.second_order.penalty_grad` (R1/R2: ``c = 0``, ``scale = gamma/2``;
WGAN-GP: ``c = 1``, ``scale = lambda``) at fixed points ``x_i`` has the Hessian-vector
product

    H_DD P v = d/dr grad_D P(theta_D + r v) |_{r=0},

a third derivative of D's output (second in ``x``, then in ``theta_D`` twice). It is
formed here by complex-step differentiation (Squire & Trapp 1998; Martins, Sturdza &
Alonso 2003) of the hand-written penalty gradient:

    H_DD P v = Im grad_D P(theta_D + i h v) / h

which is exact to rounding when every operation of ``grad_D P`` is holomorphic in
``theta_D`` on the branch taken (tanh, sigmoid, the identity, products, sums, ``sqrt``
away from 0; ReLU and leaky ReLU are linear on each branch, chosen by the real part): the
remainder is ``O(h^2)``, and ``h`` is taken so small (``1e-20`` relative in double,
``1e-10`` in single precision) that it lies below the last bit. No difference of two
close numbers is formed, so there is no cancellation (unlike finite differences).
Tested against autograd to 1e-12 in float64 (tests/test_method_penalties.py).

The pass runs the engine's own MLP code on complex arrays (complex128 for a float64 D,
complex64 for float32): about four real GEMMs per complex one.
"""
from __future__ import annotations

import numpy as np

from gandyn.engine.nn import MLP
from gandyn.engine.second_order import penalty_grad

__all__ = ["penalty_hvp"]

_STEP = {np.dtype(np.float64): 1e-20, np.dtype(np.float32): 1e-10}
_COMPLEX = {np.dtype(np.float64): np.complex128, np.dtype(np.float32): np.complex64}


def _complex_mlp(D: MLP) -> MLP:
    """``D`` with complex arrays: the same layers, activations and layout."""
    Dc = MLP(D.sizes, D.activations, D.dtype, D.slope)
    object.__setattr__(Dc, "dtype", _COMPLEX[np.dtype(D.dtype)])
    return Dc


def penalty_hvp(D: MLP, theta_d, x, v, *, center: float = 0.0, scale: float = 1.0, w=None,
                ws: dict | None = None) -> np.ndarray:
    """``H_DD P v``, the Hessian of the gradient penalty w.r.t. D's parameters times ``v``, exact.

    Parameters
    ----------
    D : MLP with one output (float32 or float64)
    theta_d : array (n,) or (P, n)
    x : array (m, d) or (P, m, d)
        The points the penalty is taken at (held fixed).
    v : array like theta_d
    center, scale, w : as in :func:`gandyn.engine.second_order.penalty_grad`
    ws : dict, optional
        Workspace for the complex pass (kept between calls).

    Returns
    -------
    array like theta_d, D's dtype

    Raises
    ------
    ValueError
        If D has more than one output or ``x`` does not fit D.
    """
    dt = np.dtype(D.dtype)
    v = np.asarray(v, dtype=dt)
    big = np.max(np.abs(v), axis=-1, keepdims=True)
    h = _STEP[dt] / np.where(big > 0, big, 1).astype(dt)  # per model: h |v| = the step
    th = np.asarray(theta_d, dtype=dt) + 1j * (h * v)
    _, g = penalty_grad(_complex_mlp(D), th, np.asarray(x, dtype=dt), center=center, w=w, scale=scale, ws=ws)
    return (g.imag / h).astype(dt, copy=False)
