"""Exact second-order products of a gradient penalty of D, for the methods that differentiate
the penalised game (consensus, SGA, CGD). Single models ``theta (n,)`` and populations
``theta (P, n)`` (inputs ``(P, m, d)``) as everywhere in the engine.

The penalty ``P(theta_D) = scale * sum_i w_i (||grad_x o(x_i)|| - c)^2`` of
:func:`gandyn.engine.second_order.penalty_grad` (R1/R2: ``c = 0``, ``scale = gamma/2``;
WGAN-GP: ``c = 1``, ``scale = lambda``) at fixed points ``x_i`` has the Hessian-vector
product::

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
Tested against autograd to 1e-12 in float64 (tanh, sigmoid, ReLU and leaky-ReLU networks).

The pass runs the engine's own MLP code on complex arrays (complex128 for a float64 D,
complex64 for float32): about four real GEMMs per complex one.

R2 and WGAN-GP also depend on G's parameters, through the points ``x(theta_G)`` (the samples
``G(z)``, or the interpolates ``e x_r + (1 - e) G(z)``). The penalised game's Jacobian then
gains, in D's rows, ``B = D_G grad_D P`` next to ``H_DD P``:

- :func:`penalty_jvp`: ``B v_G + H_DD P v_D``, by one complex step along ``(v_G, v_D)``
  through G's forward pass and the penalty gradient;
- :func:`penalty_vjp`: ``(B^T u_D, H_DD P u_D)``. By the symmetry of mixed partials
  ``B^T u_D = d/dr grad_G P(theta_G, theta_D + r u_D)``, with
  ``grad_G P = (dx/dtheta_G)^T grad_x P`` and ``grad_x P_i = H_xx o(x_i) u_i``
  (:func:`penalty_input_grad`, hand-written): one complex step along ``u_D``.

The complex MLPs are the engine's :class:`~gandyn.engine.nn.MLP` with a complex dtype set
after construction (the class accepts float32 and float64 only): its passes are written
with ufuncs and matmuls that hold for complex arrays, and no ``abs`` or conjugate enters.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from gandyn.engine.nn import MLP
from gandyn.engine.second_order import one_output, penalty_grad
from gandyn.engine.workspace import Workspace

__all__ = ["penalty_hvp", "penalty_input_grad", "penalty_jvp", "penalty_vjp"]

_STEP = {np.dtype(np.float64): 1e-20, np.dtype(np.float32): 1e-10}
_COMPLEX = {np.dtype(np.float64): np.complex128, np.dtype(np.float32): np.complex64}


def _complex_mlp(D: MLP) -> MLP:
    """``D`` with complex arrays: the same layers (maxout pieces and batch norm included),
    activations and layout."""
    Dc = replace(D)
    object.__setattr__(Dc, "dtype", _COMPLEX[np.dtype(D.dtype)])
    return Dc


def penalty_hvp(D: MLP, theta_d, x, v, *, center: float = 0.0, scale: float = 1.0, w=None,
                ws: Workspace | None = None) -> np.ndarray:
    """``H_DD P v``, the Hessian of the gradient penalty w.r.t. D's parameters times ``v``, exact.

    Parameters
    ----------
    D : MLP with one output (float32 or float64)
    theta_d : array (n,) or (P, n)
    x : array (m, d) or (P, m, d)
        The points the penalty is taken at (held fixed).
    v : array like theta_d
    center, scale, w : as in :func:`gandyn.engine.second_order.penalty_grad`
    ws : Workspace, optional
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
    h = _step(dt, v)
    th = np.asarray(theta_d, dtype=dt) + 1j * (h * v)
    _, g = penalty_grad(_complex_mlp(D), th, np.asarray(x, dtype=dt), center=center, w=w, scale=scale, ws=ws)
    return (g.imag / h).astype(dt, copy=False)


def penalty_input_grad(D: MLP, theta_d, x, *, center: float = 0.0, scale: float = 1.0, w=None):
    """The penalty of :func:`~gandyn.engine.second_order.penalty_grad` with its gradients in
    D's parameters and in the points, by a hand-written double backward.

    ``grad_x_i P = H_xx o(x_i) u_i`` and ``grad_D P = sum_i D_x(grad_D o(x_i))[u_i]`` with
    ``u_i = 2 scale w_i (1 - c/||g_i||) g_i``, ``g_i = grad_x o(x_i)``: one backward pass for
    ``g``, one tangent pass along the input direction ``u``, one R-backward pass for both.

    Returns
    -------
    value : float or array (P,)
    grad_d : array like theta_d
    grad_x : array like x

    Raises
    ------
    ValueError
        If D has more than one output or ``x`` does not fit D.
    """
    one_output(D)
    dt = D.dtype
    hs = D.forward(theta_d, x)
    m = hs[-1].shape[-2]
    ones = np.ones(hs[-1].shape, dt)
    _, gx = D.backward(theta_d, hs, ones, params=False, inputs=True)
    w = np.asarray(1.0 / m if w is None else w, dtype=dt)
    sq = np.einsum("...i,...i->...", gx, gx)
    if center:
        nrm = np.sqrt(sq)
        dev = nrm - center
        value = scale * np.sum(w * dev * dev, axis=-1)
        coef = (2 * scale * w) * np.divide(dev, nrm, out=np.zeros_like(dev), where=nrm != 0)
    else:
        value = scale * np.sum(w * sq, axis=-1)
        coef = np.broadcast_to(np.asarray(2 * scale * w, dtype=dt), sq.shape)
    u = gx * coef[..., None]
    rs = D.tangent(theta_d, hs, None, dx=u)
    g, _, rgx = D.backward_r(theta_d, hs, rs, None, ones, None, params=True, inputs=True, input_grad=False)
    return value, g, np.zeros_like(gx) if rgx is None else rgx


def _points(on: str, x_real, x_fake, e):
    """The penalty's points: data, samples or interpolates ``e x_r + (1 - e) x_f``."""
    if on == "real":
        return x_real
    if on == "fake":
        return x_fake
    return x_real * e + x_fake * (1 - e)


def _step(dt, *vs):
    """Per model ``h``, shape ``(1,)`` or ``(P, 1)``, with ``h max|v|`` over the directions
    ``vs`` equal to the complex step of ``dt``."""
    big = np.maximum.reduce([np.max(np.abs(v), axis=-1, keepdims=True) for v in vs if v is not None])
    return _STEP[dt] / np.where(big > 0, big, 1).astype(dt)


def penalty_jvp(penalty, G: MLP, D: MLP, theta_g, theta_d, x_real, z, v_g, v_d, *, e=None):
    """D's rows of the penalised Jacobian's extra part times ``v``: ``B v_G + H_DD P v_D``,
    ``B = D_G grad_D P``, exact (complex step through G and the penalty gradient).

    Parameters
    ----------
    penalty : :class:`~gandyn.engine.penalties.Penalty` (its ``on``, ``center``, ``scale``)
    G, D : the MLPs; theta_g, theta_d : arrays (n,) or (P, n)
    x_real : array (m, d) or (P, m, d); z : the noise of the samples
    v_g, v_d : directions like theta_g, theta_d, or None (zero)
    e : array (m, 1) or (P, m, 1)
        The interpolation weights (WGAN-GP).

    Returns
    -------
    array like theta_d
    """
    dt = np.dtype(D.dtype)
    if penalty.on == "real":
        v_g = None
    if v_g is None and v_d is None:
        return np.zeros(np.shape(theta_d), dt)
    h = _step(dt, v_g, v_d)
    td = np.asarray(theta_d, dtype=dt) + (0j if v_d is None else 1j * (h * v_d))
    if penalty.on == "real":
        x_fake = None
    else:
        tg = np.asarray(theta_g, dtype=dt) + (0j if v_g is None else 1j * (h * v_g))
        x_fake = _complex_mlp(G).forward(tg, z)[-1]
    x = _points(penalty.on, x_real, x_fake, e)
    _, g = penalty_grad(_complex_mlp(D), td, x, center=penalty.center, scale=penalty.scale)
    return (g.imag / h).astype(dt, copy=False)


def penalty_vjp(penalty, G: MLP, D: MLP, theta_g, theta_d, x_real, z, u_d, *, e=None):
    """The penalised Jacobian's extra part transposed times ``(u_G, u_D)``:
    ``(B^T u_D, H_DD P u_D)`` (it does not see ``u_G``), exact; ``B^T u_D`` is None for R1
    (the points do not depend on G). Parameters as in :func:`penalty_jvp`.

    Returns
    -------
    (array like theta_g or None, array like theta_d)
    """
    if penalty.on == "real":
        return None, penalty_hvp(D, theta_d, x_real, u_d, center=penalty.center, scale=penalty.scale)
    dt = np.dtype(D.dtype)
    h = _step(dt, u_d)
    td = np.asarray(theta_d, dtype=dt) + 1j * (h * np.asarray(u_d, dtype=dt))
    Dc = _complex_mlp(D)
    Gc = _complex_mlp(G)
    tg = np.asarray(theta_g, dtype=Gc.dtype)
    hs_g = Gc.forward(tg, z)
    x = _points(penalty.on, x_real, hs_g[-1], e)
    _, g, gx = penalty_input_grad(Dc, td, x, center=penalty.center, scale=penalty.scale)
    if penalty.on == "interpolates":
        gx = gx * (1 - e)
    gg, _ = Gc.backward(tg, hs_g, gx, params=True, inputs=False)
    return (gg.imag / h).astype(dt, copy=False), (g.imag / h).astype(dt, copy=False)
