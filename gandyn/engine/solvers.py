"""Krylov solvers of linear systems ``A x = b``, batched over a population of models:
``b`` is ``(n,)`` or ``(P, n)`` and ``matvec`` maps arrays of that shape (one system per
model, ``A`` applied to all models at once, as the engine's Jacobian products are). Each
model stops on its own: once its relative residual ``||b - A x|| / ||b||`` is at most
``rtol`` its solution is frozen (its later products are computed with the population's
but not used) and its count of products stops.

- :func:`cg`: conjugate gradients (Hestenes & Stiefel 1952; Saad 2003, Algorithm 6.18),
  for symmetric positive definite ``A``; the residual is the recursive one.
- :func:`gmres`: restarted GMRES (Saad & Schultz 1986; Saad 2003, Algorithm 6.11 with
  Givens rotations, Sec. 6.5.3), for any non-singular ``A``; the residual is the
  least-squares one of the Arnoldi relation.

Both start from ``x_0 = 0``, count ``maxiter`` in products with ``A`` (GMRES's
restarts included: a restart costs one product for the true residual), and return a
:class:`Solve` with each model's number of products and final relative residual.
:func:`default_rtol` is ``sqrt(eps)`` of the dtype.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

__all__ = ["Solve", "cg", "gmres", "default_rtol", "ConvergenceWarning", "ConvergenceError"]


class ConvergenceWarning(UserWarning):
    """A linear solve stopped at ``maxiter`` products above its tolerance."""


class ConvergenceError(ArithmeticError):
    """A linear solve stopped at ``maxiter`` products above its tolerance (raised instead
    of :class:`ConvergenceWarning` when the caller asks for it)."""


class Solve(NamedTuple):
    """A batched solve: ``x`` like ``b``; ``iterations`` (products with ``A``) and
    ``residual`` (relative residual ``||b - A x|| / ||b||``, 0 for ``b = 0``) of shape
    ``()`` or ``(P,)``; ``converged`` whether ``residual <= rtol``."""

    x: np.ndarray
    iterations: np.ndarray
    residual: np.ndarray
    converged: np.ndarray


def default_rtol(dtype) -> float:
    """``sqrt(eps)`` of ``dtype``: about 3.5e-4 in float32 and 1.5e-8 in float64, the
    accuracy a residual computed in that precision can be trusted to."""
    return float(np.sqrt(np.finfo(dtype).eps))


def _batched(matvec, b, rtol, maxiter):
    """The checked system as a population: ``(B, single, apply)`` with ``B`` the right-hand
    sides ``(P, n)`` (a single ``b (n,)`` is a population of one, ``single``) and ``apply``
    ``matvec`` on arrays ``(P, n)``. ValueError as :func:`cg` says."""
    if not 0 < rtol < 1:
        raise ValueError(f"rtol must be in (0, 1), got {rtol!r}")
    if isinstance(maxiter, (bool, np.bool_)) or int(maxiter) != maxiter or maxiter < 1:
        raise ValueError(f"maxiter must be an integer >= 1, got {maxiter!r}")
    b = np.asarray(b)
    if b.ndim not in (1, 2):
        raise ValueError(f"b must be (n,) or (P, n), got shape {b.shape}")
    single = b.ndim == 1

    def apply(v):
        out = matvec(v[0] if single else v)
        return out[None] if single else out

    return (b[None] if single else b), single, apply


def _dot(a, b):
    return np.einsum("pi,pi->p", a, b)


def _ratio(num, den):
    """``num / den`` where ``den > 0``, else 0 (no warning)."""
    return np.divide(num, den, out=np.zeros(np.broadcast_shapes(np.shape(num), np.shape(den)),
                                            dtype=np.result_type(num, den)), where=den > 0)


def _result(x, its, res, rtol, single):
    conv = res <= rtol
    if single:
        return Solve(x[0], its[0], res[0], conv[0])
    return Solve(x, its, res, conv)


def cg(matvec: Callable[[np.ndarray], np.ndarray], b, *, rtol: float, maxiter: int) -> Solve:
    """Conjugate gradients for symmetric positive definite ``A``, per model.

    Parameters
    ----------
    matvec : callable ``v (n,) or (P, n) -> A v`` (same shape)
    b : array (n,) or (P, n)
    rtol : float in (0, 1)
        Stop a model when ``||r_k|| <= rtol ||b||`` (``r_k`` the recursive residual).
    maxiter : int >= 1
        At most this many products with ``A``.

    Returns
    -------
    :class:`Solve`
        ``x``, and per model the products used, the relative residual (the recursive
        one) and whether it reached ``rtol``.

    Raises
    ------
    ValueError
        rtol outside (0, 1), maxiter not an integer >= 1, or b not 1-D or 2-D.
    """
    B, single, apply = _batched(matvec, b, rtol, maxiter)
    x = np.zeros_like(B)
    r = B.copy()
    p = r.copy()
    rr = _dot(r, r)
    bnorm = np.sqrt(rr)
    tol2 = (rtol * bnorm) ** 2
    active = rr > tol2
    its = np.zeros(len(B), dtype=np.int64)
    for _ in range(int(maxiter)):
        if not active.any():
            break
        ap = apply(p)
        alpha = _ratio(rr, _dot(p, ap)) * active  # frozen models: alpha = 0
        x += alpha[:, None] * p
        r -= alpha[:, None] * ap
        rr_new = _dot(r, r)
        beta = _ratio(rr_new, rr) * active
        p *= beta[:, None]
        p += r
        its += active
        rr = np.where(active, rr_new, rr)
        active &= rr > tol2
    return _result(x, its, _ratio(np.sqrt(rr), bnorm), rtol, single)


def gmres(matvec: Callable[[np.ndarray], np.ndarray], b, *, rtol: float, maxiter: int,
          restart: int = 50) -> Solve:
    """Restarted GMRES for any non-singular ``A``, per model: each cycle builds an
    orthonormal Krylov basis by modified Gram-Schmidt (Arnoldi) with Givens rotations
    on the Hessenberg matrix, so each model's residual norm is known after every product.

    Parameters
    ----------
    matvec, b, rtol, maxiter : as in :func:`cg` (``maxiter`` counts every product,
        the restarts' residuals included)
    restart : int >= 1
        Basis vectors per cycle (memory: ``restart + 1`` vectors like ``b``).

    Returns
    -------
    :class:`Solve`
        As :func:`cg`; the residual is the one GMRES tracks (Givens-updated within a cycle,
        recomputed as ``b - A x`` at each restart).

    Raises
    ------
    ValueError
        As :func:`cg`, or restart below 1.
    """
    B, single, apply = _batched(matvec, b, rtol, maxiter)
    if int(restart) != restart or restart < 1:
        raise ValueError(f"restart must be an integer >= 1, got {restart!r}")
    P = len(B)
    x = np.zeros_like(B)
    bnorm = np.sqrt(_dot(B, B))
    r, beta = B.copy(), bnorm.copy()
    res = _ratio(beta, bnorm)
    active = res > rtol
    its = np.zeros(P, dtype=np.int64)
    used = 0
    while active.any() and used < maxiter:
        m = min(int(restart), int(maxiter) - used)
        V = [r * _ratio(1.0, beta)[:, None]]
        H = np.zeros((P, m + 1, m), dtype=B.dtype)
        cs = np.zeros((P, m), dtype=B.dtype)
        sn = np.zeros((P, m), dtype=B.dtype)
        g = np.zeros((P, m + 1), dtype=B.dtype)
        g[:, 0] = beta
        cols = np.zeros(P, dtype=np.int64)  # basis vectors each model uses this cycle
        cycle = active.copy()
        for j in range(m):
            w = apply(V[j])
            used += 1
            for i in range(j + 1):  # modified Gram-Schmidt
                h = _dot(w, V[i])
                H[:, i, j] = h
                w -= h[:, None] * V[i]
            hn = np.sqrt(_dot(w, w))
            H[:, j + 1, j] = hn
            for i in range(j):  # the previous rotations on the new column
                t = cs[:, i] * H[:, i, j] + sn[:, i] * H[:, i + 1, j]
                H[:, i + 1, j] = -sn[:, i] * H[:, i, j] + cs[:, i] * H[:, i + 1, j]
                H[:, i, j] = t
            d = np.hypot(H[:, j, j], hn)
            cs[:, j] = np.where(d > 0, _ratio(H[:, j, j], d), 1.0)
            sn[:, j] = _ratio(hn, d)
            H[:, j, j] = d
            H[:, j + 1, j] = 0
            g[:, j + 1] = -sn[:, j] * g[:, j]
            g[:, j] *= cs[:, j]
            cols += cycle
            its += cycle
            res = np.where(cycle, _ratio(np.abs(g[:, j + 1]), bnorm), res)
            cycle &= res > rtol
            V.append(w * _ratio(1.0, hn)[:, None])
            if not cycle.any():
                break
        k = int(cols.max())
        y = np.zeros((P, k), dtype=B.dtype)
        for i in range(k - 1, -1, -1):  # back substitution, each model on its own columns
            s = g[:, i] - np.einsum("pl,pl->p", H[:, i, i + 1:k], y[:, i + 1:])
            y[:, i] = np.where(i < cols, _ratio(s, H[:, i, i]), 0.0)
        for i in range(k):
            x += y[:, i:i + 1] * V[i]
        active = res > rtol
        if active.any() and used < maxiter:  # restart from the true residual
            r = B - apply(x)
            used += 1
            its += active
            beta = np.sqrt(_dot(r, r))
            res = np.where(active, _ratio(beta, bnorm), res)
            active = res > rtol
    return _result(x, its, res, rtol, single)
