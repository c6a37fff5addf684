"""Exact second-order products of a GAN of two engine MLPs, by hand.

A GAN of ``G: z -> x`` and ``D: x -> o`` (one output, a logit) on a minibatch
``x_r`` (``m_r`` rows, weights ``w_r``) and noise ``z`` (``m_f`` rows, weights ``w_f``;
default: ``1/m``, a mean), with elementwise losses ``phi_r, phi_f, psi``:

    L_D = sum_i w_r,i phi_r(o(x_r,i)) + sum_k w_f,k phi_f(o(G(z_k)))
    L_G = sum_k w_f,k psi(o(G(z_k)))

(the losses of :mod:`gandyn.engine.losses`: ``phi_r(o) = softplus(-o)``,
``phi_f(o) = softplus(o)``, ``psi(o) = softplus(-o)`` (non-saturating) or
``-softplus(o)`` (minimax); Goodfellow et al. 2014, eq. 1 and Sec. 3), or with a coupled
loss ``L_D(o_r, o_f)``, ``L_G(o_r, o_f)`` of both output vectors (the relativistic losses;
means only), whose gradients and Hessian-vector products in output space the
:class:`~gandyn.engine.losses.Loss` gives (``d_loss``, ``d_hvp``, ``g_loss``, ``g_hvp``). Then
``grad_D L_G`` has a real-row term ``sum_i dL_G/do_r,i grad_D o(x_r,i)``, and the tangent of
``dL_G/do_f`` along ``v_D`` involves the tangent of D's outputs on the real rows. The game form
is ``omega = (grad_G L_G, grad_D L_D)`` and its Jacobian

    J = [[H_GG L_G,       D_D grad_G L_G],
         [D_G grad_D L_D, H_DD L_D     ]]

(Mescheder, Nowozin & Geiger 2017, Sec. 3; Balduzzi et al. 2018, Sec. 3; the sign
convention of :mod:`gandyn.games.game`).

- :func:`game_jvp`: ``J v = R_v{omega}``, the directional derivative of both players'
  gradients along ``v = (v_G, v_D)``: one forward pass, one tangent pass
  (Pearlmutter 1994, Sec. 4) and the R-backward passes of D (for ``L_D``, and for
  ``L_G`` down to the samples) and of G.
- :func:`game_vjp`: ``J^T u``. Each block of ``J^T`` is a mixed second derivative of one
  scalar cost, so by the symmetry of second derivatives
  ``J^T u = (H_GG L_G u_G + d/dD grad_G L_D [u_D], d/dG grad_D L_G [u_G] + H_DD L_D u_D)``:
  two R-passes, along ``(u_G, 0)`` for ``L_G`` and ``(0, u_D)`` for ``L_D``, sharing one forward
  pass and (being linear in the tangent of ``dL/dx``) one R-backward pass through G.
- :func:`cross_grads`: each player's gradient of the *other* player's cost,
  ``(grad_G L_D, grad_D L_G)``, which the game form leaves out: backward passes on the
  generated rows only (a separable ``L_G`` does not see the data; a coupled one adds its
  real rows). Opponent shaping (LOLA, SOS) and the
  unrolled GAN need them. For a zero-sum loss they are ``-omega``; for the non-saturating
  loss they are not.
- :func:`penalty_grad`: ``P = sum_i w_i (||grad_x o(x_i)|| - c)^2`` and ``dP/dtheta_D``: R1/R2
  (``c = 0``; Mescheder, Geiger & Nowozin 2018, eq. 9-10, ``gamma/2 P``) and WGAN-GP
  (``c = 1``; Gulrajani et al. 2017, eq. 3, ``lambda P`` on interpolates). A double
  backward by hand: one backward pass for ``g_i = grad_x o(x_i)``, then, with the cotangent
  ``u_i = 2 w_i (1 - c/||g_i||) g_i``, ``dP/dtheta = sum_i d/dtheta <u_i, g_i> =
  sum_i D_x(grad_theta o(x_i))[u_i]``: the R-operator of D's parameter gradient along the
  *input* direction ``u`` (mixed partials commute).

Packing (``gan.pack = p > 1``, Lin et al. 2018): D scores packed rows of ``p`` samples
(:func:`~gandyn.engine.gan.pack_rows`), so the sums run over the ``m_r / p`` and ``m_f / p``
packed outputs (weights have that many entries); the tangent of G's samples is packed on its
way into D, and D's input gradients are unpacked on their way back to G.

Conventions: arrays as in :mod:`gandyn.engine.nn` (single model ``theta (n,)`` or a
population ``theta (P, n)`` with inputs ``(P, m, d)``); float32 or float64, the MLPs'
dtype. Dropout is not supported here. The loss is the GAN's ``loss_fn`` or a
:class:`~gandyn.engine.losses.Loss` given as ``losses=``; a triple ``(phi_r, phi_f, psi)``
of :class:`~gandyn.engine.losses.Elementwise` terms (any objects with ``df`` and ``d2f``) is a
separable loss. A coupled loss takes no weights other than means (ValueError).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gandyn.engine import losses
from gandyn.engine.gan import pack_rows, unpack_rows
from gandyn.engine.losses import Loss
from gandyn.engine.nn import MLP, Passes, _acc, _bshape, _tail, flush_tiny
from gandyn.engine.workspace import Workspace, as_workspace

__all__ = [
    "SOFTPLUS", "SOFTPLUS_NEG", "NEG_SOFTPLUS",
    "Primal", "primal", "game_jvp", "game_vjp", "game_field", "cross_grads", "penalty_grad",
]


#: ``softplus(o) = log(1 + e^o)``: D's loss on a generated sample (label 0).
SOFTPLUS = losses.get("nonsat").d_fake
#: ``softplus(-o) = -log sigma(o)``: D's loss on data (label 1), G's non-saturating loss.
SOFTPLUS_NEG = losses.get("nonsat").d_real
#: ``-softplus(o) = log sigma(-o) = log(1 - D)``: G's minimax loss.
NEG_SOFTPLUS = losses.get("minimax").g_fake


# --- helpers


def _setup(gan, theta_g, theta_d, x_real, z, loss, primal, w_real, w_fake, ws, rows="gd"):
    """What the products start from: ``rows`` checked, checked inputs, the loss terms
    (:func:`_terms`), the forward passes (or the given ones), the weights of the sums, the
    workspace (``ws`` itself, or a fresh one for None) and the packing ``(p, m_f)``: samples
    per D input and D's generated rows."""
    check_rows(rows)
    ws = as_workspace(ws)
    x_real, z = _check(gan, theta_g, theta_d, x_real, z)
    terms = _terms(gan if loss is None else loss)
    fwd = _forward(gan, theta_g, theta_d, x_real, z, ws) if primal is None else primal
    m, mf = fwd[2], z.shape[-2] // _pk(gan)
    if isinstance(terms, Loss):  # coupled: sums are means
        _uniform(w_real, m, "w_real", terms)
        _uniform(w_fake, mf, "w_fake", terms)
    return z, terms, fwd, (_weights(w_real, m, gan.D.dtype), _weights(w_fake, mf, gan.D.dtype)), ws, (_pk(gan), mf)


def _pk(gan) -> int:
    """The GAN's packing degree (samples per D input; 1 for an object without one)."""
    return getattr(gan, "pack", 1)


def _terms(source):
    """The loss of a GAN (its ``loss_fn``) or a loss given: the triple ``(phi_r, phi_f, psi)``
    of a separable loss (or any triple of :class:`~gandyn.engine.losses.Elementwise`), the
    :class:`~gandyn.engine.losses.Loss` itself for a coupled one."""
    loss = getattr(source, "loss_fn", source)
    if isinstance(loss, Loss):
        return (loss.d_real, loss.d_fake, loss.g_fake) if loss.separable else loss
    return tuple(loss)


def _uniform(w, m: int, name: str, loss) -> None:
    """A coupled loss is defined on minibatch means: refuse other weights."""
    if w is not None and not np.allclose(np.asarray(w, dtype=np.float64), 1.0 / m, rtol=1e-12, atol=0.0):
        raise ValueError(f"loss {loss.label} couples real and fake outputs: weighted sums ({name}) are not "
                         "defined for it; use uniform weights")


def _split(ro, m: int, n: int):
    """``(t_real, t_fake)`` (None = 0) from a tangent ``ro (..., k, 1)`` of the last ``k`` rows of
    a stack of ``m`` real and ``n`` fake rows."""
    if ro is None:
        return None, None
    t = ro[..., 0]
    k = t.shape[-1]
    if k < m + n:
        full = np.zeros(t.shape[:-1] + (m + n,), dtype=t.dtype)
        full[..., m + n - k:] = t
        t = full
    return (t[..., :m] if k > n else None), t[..., m:]


def _col(a, dt):
    out = np.asarray(a, dtype=dt)[..., None]
    flush_tiny(out, float64=False)
    return out


def _d_out(terms, w_r, w_f, o, ro, m):
    """``g = dL_D/do`` on the stacked outputs ``o (..., m + m_f)`` and its tangent ``R{g}`` along
    ``ro`` (tangent of the last rows, or None), as ``(..., rows, 1)`` arrays."""
    if not isinstance(terms, Loss):
        return _d_loss_out(terms[0], terms[1], w_r, w_f, o, ro, m)
    o_r, o_f = o[..., :m], o[..., m:]
    _, g_r, g_f = terms.d_loss(o_r, o_f)
    g = _col(np.concatenate([g_r, g_f], axis=-1), o.dtype)
    if ro is None:
        return g, None
    h_r, h_f = terms.d_hvp(o_r, o_f, *_split(ro, m, o.shape[-1] - m))
    return g, _col(np.concatenate([h_r, h_f], axis=-1), o.dtype)


def _g_out(terms, w_f, o, m, ro):
    """G's loss on the stacked outputs: ``(g_f, r_f, g_r, r_r)``, ``dL_G/do`` on the fake and
    the real rows and their tangents along ``ro`` (as in :func:`_d_out`), ``(..., rows, 1)``;
    the real rows' terms are None for a loss whose G loss does not read them."""
    if not isinstance(terms, Loss):
        ro_f = None if ro is None else _tail(ro, min(o.shape[-1] - m, ro.shape[-2]))
        return _loss_out(terms[2], w_f, o[..., m:], ro_f) + (None, None)
    reads = terms.g_reads_real
    o_r, o_f = (o[..., :m] if reads else None), o[..., m:]
    _, g_r, g_f = terms.g_loss(o_r, o_f)
    g_r = _col(g_r, o.dtype) if reads else None
    if ro is None:
        return _col(g_f, o.dtype), None, g_r, None
    t_r, t_f = _split(ro, m, o.shape[-1] - m)
    h_r, h_f = terms.g_hvp(o_r, o_f, t_r, t_f)
    return _col(g_f, o.dtype), _col(h_f, o.dtype), g_r, (_col(h_r, o.dtype) if reads else None)


def _weights(w, m: int, dtype) -> np.ndarray:
    if w is None:
        return np.asarray(1.0 / m, dtype=dtype)
    w = np.asarray(w, dtype=dtype)
    if w.shape[-1:] != (m,):
        raise ValueError(f"weights must have {m} entries along their last axis, got shape {w.shape}")
    return w


def _loss_out(loss, w, o, ro, flush: bool = True):
    """``g = w f'(o)`` and ``R{g} = w f''(o) R{o}`` as ``(..., m, 1)`` arrays (``ro``:
    ``(..., k, 1)`` tangent of the last ``k`` rows, or None), flushed (:func:`flush_tiny`)
    unless ``flush`` is false."""
    df, d2f = loss.df, loss.d2f
    g = np.multiply(w, df(o), dtype=o.dtype)[..., None]
    if flush:
        flush_tiny(g, float64=False)
    if ro is None:
        return g, None
    k = ro.shape[-2]
    wk = w if np.ndim(w) == 0 else w[..., w.shape[-1] - k:]
    r = np.multiply(wk, d2f(o[..., o.shape[-1] - k:]), dtype=o.dtype)[..., None]
    r *= ro
    if flush:
        flush_tiny(r, float64=False)
    return g, r


def _rows_tail(rs: list, k: int) -> list:
    """Tangents restricted to the last ``k`` rows (with the derivatives the tangent pass kept,
    :attr:`Passes.deriv <gandyn.engine.nn.Passes.deriv>`, restricted likewise)."""
    out = Passes([None if r is None else _tail(r, min(k, r.shape[-2])) for r in rs])
    out.deriv = tuple(None if d is None else _tail(d, min(k, d.shape[-2])) for d in getattr(rs, "deriv", ()))
    return out


def check_rows(rows: str) -> None:
    """Refuse a ``rows`` argument other than 'gd', 'g' or 'd' (ValueError)."""
    if rows not in ("gd", "g", "d"):
        raise ValueError(f"rows must be 'gd', 'g' or 'd', got {rows!r}")


def _check(gan, theta_g, theta_d, x_real, z):
    """``(x_real, z)`` as arrays of D's and G's dtypes, after checking the shapes against the
    networks and the packing (one-line ValueError)."""
    G, D = gan.G, gan.D
    x_real = np.asarray(x_real, dtype=D.dtype)
    z = np.asarray(z, dtype=G.dtype)
    if D.sizes[-1] != 1:
        raise ValueError(f"D must have one output, has {D.sizes[-1]}")
    if x_real.shape[-1] != G.sizes[-1] or z.shape[-1] != G.sizes[0]:
        raise ValueError(f"x_real must have {G.sizes[-1]} features and z {G.sizes[0]}, "
                         f"got {x_real.shape} and {z.shape}")
    p = _pk(gan)
    if x_real.shape[-2] % p or z.shape[-2] % p:
        raise ValueError(f"packing {p} samples per D input needs minibatches divisible by {p}, got "
                         f"{x_real.shape[-2]} real and {z.shape[-2]} noise rows")
    if np.shape(theta_g)[-1] != G.n_params or np.shape(theta_d)[-1] != D.n_params:
        raise ValueError(f"theta_g must have {G.n_params} and theta_d {D.n_params} entries along the last axis")
    return x_real, z


def _forward(gan, theta_g, theta_d, x_real, z, ws):
    """G on the noise, written under the data rows of D's stacked input, and D on it."""
    G, D = gan.G, gan.D
    m = x_real.shape[-2]
    lead = _bshape(x_real.shape[:-2], z.shape[:-2], np.shape(theta_g)[:-1], np.shape(theta_d)[:-1])
    p = _pk(gan)
    X = ws.buffer("so_input", lead + (m + z.shape[-2], G.sizes[-1]), D.dtype)
    hs_g = G.forward(theta_g, z, out=X[..., m:, :], ws=ws.sub("G"))
    X[..., :m, :] = x_real
    hs_d = D.forward(theta_d, pack_rows(X, p), ws=ws.sub("D"))  # with packing, m / p real rows
    return hs_g, hs_d, m // p


def _fake(hs_d, m):
    return [h[..., m:, :] for h in hs_d]


def _real(hs_d, m):
    return [h[..., :m, :] for h in hs_d]


# --- the game Jacobian, matrix-free


class Primal(NamedTuple):
    """The forward passes every product at one point shares: G's on the noise and D's on
    the stacked batch ``[x_real; G(z)]`` (``m`` data rows of D's input: packed rows for a
    packed GAN)."""

    hs_g: list
    hs_d: list
    m: int


def primal(gan, theta_g, theta_d, x_real, z, *, ws: Workspace | None = None) -> Primal:
    """The forward passes at ``(theta_g, theta_d)``, to pass as ``primal=`` to
    :func:`game_jvp` and :func:`game_vjp` for many products at the same point (e.g. the
    matrix-vector products of an eigenvalue solver): each then skips them (3 of the
    18 first-layer-sized GEMMs of a ``J v`` of the MNIST GAN). With a workspace ``ws`` the
    arrays live there; keep passing the same ``ws`` (the products use other buffers of it)
    and do not run another :func:`primal` or product without ``primal=`` on it meanwhile.

    Raises ValueError on shapes that do not fit the networks.
    """
    x_real, z = _check(gan, theta_g, theta_d, x_real, z)
    return Primal(*_forward(gan, theta_g, theta_d, x_real, z, as_workspace(ws)))


def game_jvp(gan, theta_g, theta_d, x_real, z, v_g, v_d, *, w_real=None, w_fake=None, losses=None,
             rows: str = "gd", out_g=None, out_d=None, primal: Primal | None = None, ws: Workspace | None = None):
    """The game Jacobian times a vector, ``J v = d/dr omega(theta + r v)`` at ``r = 0``, exact.

    Parameters
    ----------
    gan : :class:`gandyn.engine.gan.GAN` (or any object with MLPs ``G`` and ``D``)
    theta_g, theta_d : arrays (n_G,), (n_D,) or populations (P, n_G), (P, n_D)
    x_real : array (m_r, d_x) or (P, m_r, d_x); z : array (m_f, d_z) or (P, m_f, d_z)
    v_g, v_d : arrays like theta_g, theta_d, or None (zero)
    w_real, w_fake : weights (m_r,), (m_f,) of the sums (default ``1/m``: means)
    losses : :class:`~gandyn.engine.losses.Loss` or a triple ``(phi_r, phi_f, psi)`` of
        elementwise terms (default: ``gan.loss_fn``)
    rows : 'gd', 'g' or 'd'
        Which players' rows of ``J v`` to form (``'g'`` with ``v_d = None`` is ``H_GG L_G v_G``).
    out_g, out_d : optional buffers for the rows
    primal : :class:`Primal`, optional
        The forward passes at this very point (:func:`primal`), reused instead of rerun.
    ws : Workspace, optional
        Workspace kept between calls (no large allocations after the first).

    Returns
    -------
    (Jv_G, Jv_D) : arrays like theta_g, theta_d (None for a row not asked for)
        ``Jv_G = H_GG L_G v_G + D_D grad_G L_G v_D``, ``Jv_D = D_G grad_D L_D v_G + H_DD L_D v_D``.

    Raises
    ------
    ValueError
        On shapes that do not fit the networks, an unknown ``rows``, or weights other than means
        with a coupled loss.
    """
    G, D = gan.G, gan.D
    z, terms, (hs_g, hs_d, m), (w_r, w_f), ws, (p, mf) = _setup(gan, theta_g, theta_d, x_real, z, losses, primal,
                                                                w_real, w_fake, ws, rows)
    rs_g = G.tangent(theta_g, hs_g, v_g, ws=ws.sub("G"))
    dx = None if rs_g[-1] is None else pack_rows(rs_g[-1], p)  # the tangent of D's generated inputs
    o = hs_d[-1][..., 0]
    jv_g = jv_d = None
    rs_d = None
    if "d" in rows or getattr(terms, "g_reads_real", False):  # a coupled G loss sees the real rows' tangent
        rs_d = D.tangent(theta_d, hs_d, v_d, dx=dx, ws=ws.sub("D"))
    if "d" in rows:
        g_out, r_out = _d_out(terms, w_r, w_f, o, rs_d[-1], m)
        jv_d, _, _ = D.backward_r(theta_d, hs_d, rs_d, v_d, g_out, r_out, params=True, inputs=False,
                                  r_grad=out_d, ws=ws.sub("D_r"))
    if "g" in rows:
        hs_f = _fake(hs_d, m)
        if rs_d is not None:
            rs_f = _rows_tail(rs_d, mf)  # its first entry is dx
        else:
            rs_f = D.tangent(theta_d, hs_f, v_d, dx=dx, ws=ws.sub("D"))
        g_out, r_out, _, _ = _g_out(terms, w_f, o, m, rs_f[-1] if rs_d is None else rs_d[-1])
        # dL_G/dx itself only for G's R-terms along v_G (or its batch norm)
        plain = v_g is not None or getattr(G, "batch_norm", None) is not None
        _, gx, rgx = D.backward_r(theta_d, hs_f, rs_f, v_d, g_out, r_out, params=False, inputs=True,
                                  input_grad=plain, ws=ws.sub("D_g"))
        jv_g, _, _ = G.backward_r(theta_g, hs_g, rs_g, v_g, _unpack(gx, p), _unpack(rgx, p), params=True,
                                  r_grad=out_g, ws=ws.sub("G_r"))
    return jv_g, jv_d


def _unpack(r, p):
    return None if r is None else unpack_rows(r, p)


def _d_loss_out(phi_r, phi_f, w_r, w_f, o, ro, m):
    """D's loss on the stacked logits ``o (..., m + m_f)``: ``g = dL_D/do`` and ``R{g}``
    as ``(..., rows, 1)`` arrays (``ro``: tangent of the last rows, or None), by
    :func:`_loss_out` on the real and the fake rows."""
    mf = o.shape[-1] - m
    k = 0 if ro is None else ro.shape[-2]
    g_r, r_r = _loss_out(phi_r, w_r, o[..., :m], ro[..., :k - mf, :] if k > mf else None, flush=False)
    g_f, r_f = _loss_out(phi_f, w_f, o[..., m:], None if ro is None else _tail(ro, min(k, mf)), flush=False)
    g = np.concatenate([g_r, g_f], axis=-2)
    flush_tiny(g, float64=False)
    if ro is None:
        return g, None
    r = r_f if r_r is None else np.concatenate([r_r, r_f], axis=-2)
    flush_tiny(r, float64=False)
    return g, r


def game_vjp(gan, theta_g, theta_d, x_real, z, u_g, u_d, *, w_real=None, w_fake=None, losses=None,
             rows: str = "gd", primal: Primal | None = None, ws: Workspace | None = None):
    """The transposed product ``J^T u = grad_theta <omega(theta), u>``, exact.

    By the symmetry of each cost's second derivatives,

        (J^T u)_G = H_GG L_G u_G + d/dr grad_G L_D(theta_G, theta_D + r u_D)
        (J^T u)_D = d/dr grad_D L_G(theta_G + r u_G, theta_D) + H_DD L_D u_D

    so two R-passes (Pearlmutter 1994), along ``(u_G, 0)`` for ``L_G`` and along
    ``(0, u_D)`` for ``L_D``, after one shared forward pass; their passes through G are
    one (the R-backward pass is linear in the tangent of ``dL/dx`` and the second moves
    no G parameter). Parameters as in
    :func:`game_jvp` (``u_g, u_d`` like ``theta_g, theta_d``, None = zero; ``primal`` and
    ``rows`` likewise: ``rows='g'`` skips D's part, its R-backward pass over the whole batch,
    and with ``u_g = None`` the ``L_G`` pass, D's tangent then on the generated rows only
    (separable losses); ``rows='d'`` skips the passes through G and the input gradients).

    Returns
    -------
    ((J^T u)_G, (J^T u)_D) : arrays like theta_g, theta_d (None for a row not asked for)
    """
    G, D = gan.G, gan.D
    z, terms, (hs_g, hs_d, m), (w_r, w_f), ws, (p, mf) = _setup(gan, theta_g, theta_d, x_real, z, losses, primal,
                                                                w_real, w_fake, ws, rows)
    o = hs_d[-1][..., 0]
    hs_f = _fake(hs_d, m)
    want_g, want_d = "g" in rows, "d" in rows
    out_g = out_d = gx = rgx = None
    # L_G along (u_G, 0): D's part of J^T u, and dL_G/dx with its tangent for G
    rs_g = G.tangent(theta_g, hs_g, u_g, ws=ws.sub("G"))
    if want_d or u_g is not None or getattr(G, "batch_norm", None) is not None:  # else it adds nothing
        rs_f = D.tangent(theta_d, hs_f, None, dx=None if rs_g[-1] is None else pack_rows(rs_g[-1], p),
                         ws=ws.sub("D"))
        g_out, r_out, _, r_real = _g_out(terms, w_f, o, m, rs_f[-1])
        out_d, gx, rgx = D.backward_r(theta_d, hs_f, rs_f, None, g_out, r_out, params=want_d, inputs=want_g,
                                      ws=ws.sub("D_g"))
        if want_d and r_real is not None:  # a coupled G loss: along u_G its real rows' weights move
            rr, _ = D.backward(theta_d, _real(hs_d, m), r_real, params=True, inputs=False, ws=ws.sub("D_gr"))
            out_d += rr
    # L_D along (0, u_D): D's part, and the tangent of dL_D/dx on the samples (for G's part of a
    # separable loss, the samples' tangent is all it needs; a coupled one reads the data rows')
    whole = want_d or isinstance(terms, Loss)
    rs_d = D.tangent(theta_d, hs_d if whole else hs_f, u_d, ws=ws.sub("D"))
    g_out, r_out = _d_out(terms, w_r, w_f, o, rs_d[-1], m)
    if want_d:
        rD, _, _ = D.backward_r(theta_d, hs_d, rs_d, u_d, g_out, r_out, params=True, inputs=False,
                                ws=ws.sub("D_r"))
        out_d += rD
    if want_g:
        r_f = None if r_out is None else _tail(r_out, min(mf, r_out.shape[-2]))
        _, _, rgx_d = D.backward_r(theta_d, hs_f, _rows_tail(rs_d, mf), u_d, g_out[..., m:, :], r_f,
                                   params=False, inputs=True, input_grad=False, ws=ws.sub("D_g2"))
        # G's part: the R-backward pass is linear in R{dL/dx}, and the L_D pass moves no G
        # parameter, so both passes through G are one, with the summed input tangents
        out_g, _, _ = G.backward_r(theta_g, hs_g, rs_g, u_g, _unpack(gx, p), _unpack(_acc(rgx, rgx_d), p),
                                   params=True, ws=ws.sub("G_r"))
    return out_g, out_d


def game_field(gan, theta_g, theta_d, x_real, z, *, w_real=None, w_fake=None, losses=None,
               primal: Primal | None = None, ws: Workspace | None = None):
    """The game's field ``omega = (grad_G L_G, grad_D L_D)`` by one backward pass of each
    network, exact: ``grad_D L_D = sum_r w_r phi_r'(o_r) grad_D o_r + sum_k w_f,k phi_f'(o_k)
    grad_D o_k`` over the stacked batch, and ``grad_G L_G = sum_k w_f,k psi'(o_k)
    (dG(z_k)/dtheta_G)^T grad_x o(G(z_k))``. The same sums as :func:`game_jvp` differentiates
    (its ``J v`` is the derivative of this along ``v``). Parameters, and the ValueError on bad
    shapes, as in :func:`game_jvp`. Returns ``(omega_G, omega_D)``, arrays like theta_g, theta_d.
    """
    G, D = gan.G, gan.D
    z, terms, (hs_g, hs_d, m), (w_r, w_f), ws, _ = _setup(gan, theta_g, theta_d, x_real, z, losses, primal, w_real,
                                                          w_fake, ws)
    o = hs_d[-1][..., 0]
    g_out, _ = _d_out(terms, w_r, w_f, o, None, m)
    w_d, _ = D.backward(theta_d, hs_d, g_out, params=True, inputs=False, ws=ws.sub("field_D"))
    g_out, _, _, _ = _g_out(terms, w_f, o, m, None)
    _, gx = D.backward(theta_d, _fake(hs_d, m), g_out, params=False, inputs=True, ws=ws.sub("field_Dx"))
    w_g, _ = G.backward(theta_g, hs_g, unpack_rows(gx, _pk(gan)), params=True, inputs=False, ws=ws.sub("field_G"))
    return w_g, w_d


def cross_grads(gan, theta_g, theta_d, x_real, z, *, w_real=None, w_fake=None, losses=None, rows: str = "gd",
                primal: Primal | None = None, ws: Workspace | None = None):
    """The players' gradients of each other's cost, ``(grad_G L_D, grad_D L_G)``, exact.

    ``grad_D L_G = sum_k w_f,k psi'(o_k) grad_D o(G(z_k))``: D's parameter backward pass on
    the generated rows with G's loss derivative. ``grad_G L_D = sum_k w_f,k phi_f'(o_k)
    (dG(z_k)/dtheta_G)^T grad_x o(G(z_k))``: D's input backward pass on the generated rows
    with D's fake-loss derivative, then G's backward pass. For a zero-sum loss
    (``psi = -phi_f``) ``grad_G L_D = -grad_G L_G`` and ``grad_D L_G`` is minus the
    generated rows' part of ``grad_D L_D``; for the non-saturating loss neither holds.
    Parameters, and the ValueError on bad shapes or ``rows``, as in :func:`game_jvp`
    (``rows``: 'gd', 'g' for ``grad_G L_D`` only, 'd' for ``grad_D L_G`` only).
    Returns ``(grad_G L_D, grad_D L_G)``, arrays like theta_g, theta_d (None for a row
    not asked for).
    """
    G, D = gan.G, gan.D
    z, terms, (hs_g, hs_d, m), (w_r, w_f), ws, _ = _setup(gan, theta_g, theta_d, x_real, z, losses, primal, w_real,
                                                          w_fake, ws, rows)
    hs_f = _fake(hs_d, m)
    o = hs_d[-1][..., 0]
    coupled = isinstance(terms, Loss)
    g_ld = d_lg = None
    if "d" in rows:
        g_out, _, g_real, _ = _g_out(terms, w_f, o, m, None)
        if g_real is None:
            d_lg, _ = D.backward(theta_d, hs_f, g_out, params=True, inputs=False, ws=ws.sub("cross_D"))
        else:  # a coupled G loss has a real-row term too
            d_lg, _ = D.backward(theta_d, hs_d, np.concatenate([g_real, g_out], axis=-2), params=True, inputs=False,
                                 ws=ws.sub("cross_Dc"))
    if "g" in rows:
        if coupled:
            g_out = _d_out(terms, w_r, w_f, o, None, m)[0][..., m:, :]
        else:
            g_out, _ = _loss_out(terms[1], w_f, o[..., m:], None)
        _, gx = D.backward(theta_d, hs_f, g_out, params=False, inputs=True, ws=ws.sub("cross_D"))
        g_ld, _ = G.backward(theta_g, hs_g, unpack_rows(gx, _pk(gan)), params=True, inputs=False,
                             ws=ws.sub("cross_G"))
    return g_ld, d_lg


# --- gradient penalties


def one_output(D) -> None:
    """Raise a one-line ValueError unless the network ``D`` has one output (a gradient penalty
    differentiates D's one output w.r.t. its input)."""
    if D.sizes[-1] != 1:
        raise ValueError(f"the penalty needs a D with one output, it has {D.sizes[-1]}")


def penalty_grad(D: MLP, theta_d, x, *, center: float = 0.0, w=None, scale: float = 1.0, hs=None, grad=None,
                 ws: Workspace | None = None):
    """A gradient penalty and its gradient w.r.t. D's parameters, by a hand-written double backward.

    ``P = scale * sum_i w_i (||g_i|| - c)^2`` with ``g_i = grad_x o(x_i)`` (``o`` D's one
    output, a logit), ``w_i = 1/m`` by default (a mean). With ``c = 0`` and
    ``scale = gamma/2`` this is R1 on data or R2 on samples (Mescheder, Geiger & Nowozin
    2018, eq. 9-10); with ``c = 1``, ``scale = lambda`` on interpolates ``x = e x_r + (1-e) x_f``
    it is WGAN-GP's term (Gulrajani et al. 2017, eq. 3).

    ``dP/dtheta = sum_i D_x(grad_theta o(x_i))[u_i]`` with ``u_i = 2 scale w_i (1 - c/||g_i||) g_i``
    (a subgradient 0 where ``g_i = 0`` and ``c > 0``): one backward pass for ``g``, one
    tangent pass along the input direction ``u`` and one R-backward pass
    (:meth:`MLP.tangent <gandyn.engine.nn.MLP.tangent>`, :meth:`MLP.backward_r
    <gandyn.engine.nn.MLP.backward_r>`). For a ReLU D most R-terms vanish and the extra cost
    is about three GEMMs of the first layer.

    Parameters
    ----------
    D : MLP with one output
    theta_d : array (n,) or (P, n)
    x : array (m, d) or (P, m, d)
    center, w, scale : see above
    hs : list, optional
        D's forward pass on ``x`` (:meth:`MLP.forward <gandyn.engine.nn.MLP.forward>`), e.g.
        the data rows of a training step's pass, to reuse.
    grad : array like theta_d, optional
        Buffer for the gradient.
    ws : Workspace, optional
        Workspace (not the one ``hs`` lives in).

    Returns
    -------
    value : float or array (P,)
    grad : array like theta_d

    Raises
    ------
    ValueError
        If D has more than one output or ``x`` does not fit D.
    """
    one_output(D)
    ws = as_workspace(ws)
    if hs is None:
        hs = D.forward(theta_d, x, ws=ws.sub("fwd"))
    elif hs[0].shape[-1] != D.sizes[0] or len(hs) != D.n_layers + 1:
        raise ValueError("hs must be D's forward pass on x")
    out = hs[-1]
    m = out.shape[-2]
    dt = D.dtype
    ones = ws.buffer("ones_out", out.shape, dt)
    ones.fill(1)
    wk = ws.sub("bwd")
    _, gx = D.backward(theta_d, hs, ones, params=False, inputs=True, ws=wk)
    w = _weights(w, m, dt)
    sq = np.einsum("...i,...i->...", gx, gx)
    if center:
        nrm = np.sqrt(sq)
        dev = nrm - center
        value = scale * np.sum(w * dev * dev, axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            coef = np.where(nrm > 0, dev / nrm, 0.0)
        coef = (2 * scale * w) * coef
    else:
        value = scale * np.sum(w * sq, axis=-1)
        coef = np.broadcast_to(np.asarray(2 * scale * w, dtype=dt), sq.shape)
    u = ws.buffer("u", gx.shape, dt)
    np.multiply(gx, coef[..., None], out=u)
    rs = D.tangent(theta_d, hs, None, dx=u, ws=ws.sub("tan"))
    g, _, _ = D.backward_r(theta_d, hs, rs, None, ones, None, params=True, inputs=False, r_grad=grad,
                           ws=ws.sub("r"))
    return value, g
