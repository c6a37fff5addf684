"""Multilayer perceptrons on flat parameter vectors, with a hand-written backward pass.

Each activation's forward and backward sit side by side; so do the MLP's.
The forward pass keeps each layer's output ``h_l``; every supported activation's
derivative is a function of its output, so nothing else needs storing.

Shapes
------
single model      ``theta (n,)``,    ``x (m, d)``     -> output ``(m, d_out)``
population of P   ``theta (P, n)``,  ``x (P, m, d)``  -> output ``(P, m, d_out)``
(``x (m, d)`` with ``theta (P, n)`` feeds the same batch to every model.)

Layer ``l`` (1-based, as in the talk's ``D_W1, D_b1``) computes
``a_l = h_{l-1} W_l + b_l``, ``h_l = act_l(a_l)``, with ``W_l`` of shape
``(d_{l-1}, d_l)`` and ``b_l`` of shape ``(1, d_l)``. Backpropagation
(Rumelhart, Hinton & Williams 1986) gives, for ``g_l = dL/da_l``:
``dL/dW_l = h_{l-1}^T g_l``, ``dL/db_l = sum_batch g_l``,
``dL/dh_{l-1} = g_l W_l^T``.

Second order (:meth:`MLP.tangent`, :meth:`MLP.backward_r`, :meth:`MLP.hvp`): Pearlmutter's
R-operator (Pearlmutter 1994, "Fast exact multiplication by the Hessian", Neural
Computation 6(1), Sec. 3-4), ``R{f} = d/dr f(theta + r v, x + r dx) |_{r=0}``, applied to
every quantity of the forward and backward passes; see docs/second_order.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import sqrt
from typing import Callable, NamedTuple

import numpy as np
from scipy.linalg import blas as _blas

from gandyn.engine.layout import Layout
from gandyn.engine.registry import Registry
from gandyn.rng import as_rng

__all__ = ["MLP", "ACTIVATIONS", "INITIALIZERS", "dropout_masks"]


# --- activations: forward (in place on the pre-activation) and backward (from the output)


class Activation(NamedTuple):
    forward: Callable[[np.ndarray], np.ndarray]
    #: backward(g, h, out) -> dL/da given g = dL/dh and the output h, written into
    #: ``out`` (an array like g, possibly g itself) or a new array when ``out`` is None.
    backward: Callable[[np.ndarray, np.ndarray, np.ndarray | None], np.ndarray]


def _identity_fwd(a):
    return a


def _identity_bwd(g, h, out):
    if out is None or out is g:
        return g
    np.copyto(out, g)
    return out


def _relu_fwd(a):
    return np.maximum(a, 0, out=a)


def _relu_bwd(g, h, out):
    # relu'(a) = 1[a > 0] = 1[h > 0]
    return np.multiply(g, h > 0, out=out)


def _tanh_fwd(a):
    return np.tanh(a, out=a)


def _tanh_bwd(g, h, out):
    # tanh'(a) = 1 - tanh(a)^2 = 1 - h^2
    d = np.multiply(h, h, out=None if out is g else out)
    np.subtract(1, d, out=d)
    return np.multiply(g, d, out=d if out is None else out)


def _sigmoid_fwd(a):
    # sigma(a) = (1 + tanh(a/2)) / 2, an exact identity; numpy's SIMD tanh makes this
    # ~5x faster than scipy's expit on float32, with absolute error below one ulp of 1.
    np.multiply(a, 0.5, out=a)
    np.tanh(a, out=a)
    np.multiply(a, 0.5, out=a)
    return np.add(a, 0.5, out=a)


def _sigmoid_bwd(g, h, out):
    # sigma'(a) = sigma(a) (1 - sigma(a)) = h (1 - h)
    d = np.subtract(1, h, out=None if out is g else out)
    d *= h
    return np.multiply(g, d, out=d if out is None else out)


def _leaky_relu(slope: float) -> Activation:
    def fwd(a):
        # h = a for a > 0, slope * a otherwise (Maas, Hannun & Ng 2013)
        return np.multiply(a, slope, out=a, where=a < 0)

    def bwd(g, h, out):
        # slope > 0, so sign(h) = sign(a): derivative 1 for h > 0, slope otherwise
        if out is None:
            out = g.copy()
        elif out is not g:
            np.copyto(out, g)
        return np.multiply(out, slope, out=out, where=h <= 0)

    return Activation(fwd, bwd)


def _fixed(act: Activation) -> Callable[[float], Activation]:
    return lambda slope: act


#: The activations by name; each entry maps the leaky slope to the :class:`Activation`.
ACTIVATIONS: Registry[Callable[[float], Activation]] = Registry("activation")
ACTIVATIONS.register("identity", _fixed(Activation(_identity_fwd, _identity_bwd)))
ACTIVATIONS.register("relu", _fixed(Activation(_relu_fwd, _relu_bwd)))
ACTIVATIONS.register("leaky_relu", _leaky_relu)
ACTIVATIONS.register("tanh", _fixed(Activation(_tanh_fwd, _tanh_bwd)))
ACTIVATIONS.register("sigmoid", _fixed(Activation(_sigmoid_fwd, _sigmoid_bwd)))


def _activation(name: str, slope: float) -> Activation:
    return ACTIVATIONS[name](slope)


# --- second order: act''(a) / act'(a) as a function of the output h (None where act'' = 0 a.e.)
#
# R{g_l} = act'(a) R{dL/dh_l} + act''(a) R{a_l} dL/dh_l, and act''(a) R{a} = (act''/act')(h) R{h}:
# tanh'' = -2 tanh tanh', so the ratio is -2h; sigma'' = (1 - 2 sigma) sigma', the ratio 1 - 2h.
# relu, leaky_relu and identity are piecewise linear: act'' = 0 (almost everywhere).


def _tanh_curv(h, out):
    return np.multiply(h, -2, out=out)


def _sigmoid_curv(h, out):
    np.multiply(h, -2, out=out)
    return np.add(out, 1, out=out)


_CURV = {"tanh": _tanh_curv, "sigmoid": _sigmoid_curv}


def _tanh_deriv(h, out):
    np.multiply(h, h, out=out)
    return np.subtract(1, out, out=out)


def _sigmoid_deriv(h, out):
    np.subtract(1, h, out=out)
    return np.multiply(out, h, out=out)


#: act'(a) from the output, formed once when the R-backward pass needs it twice
_DERIV = {"tanh": _tanh_deriv, "sigmoid": _sigmoid_deriv}


# --- initializers


def _xavier_talk(rng, fan_in, fan_out, size, dtype):
    """Normal, std = 1/sqrt(fan_in/2): the talk's ``xavier_init`` (wiseodd/generative-models,
    vanilla_gan/gan_tensorflow.py), i.e. He et al. 2015, eq. 10."""
    std = 1.0 / sqrt(fan_in / 2.0)
    return rng.normal(0.0, std, size=size).astype(dtype, copy=False)


def _glorot_uniform(rng, fan_in, fan_out, size, dtype):
    """Uniform on [-r, r], r = sqrt(6/(fan_in+fan_out)): Glorot & Bengio 2010, eq. 16."""
    r = sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-r, r, size=size).astype(dtype, copy=False)


#: The weight initialisations by name (biases start at zero).
INITIALIZERS: Registry[Callable] = Registry("init scheme")
INITIALIZERS.register("xavier_talk", _xavier_talk)
INITIALIZERS.register("glorot_uniform", _glorot_uniform)


# --- the MLP


def _swap(a: np.ndarray) -> np.ndarray:
    return a.swapaxes(-1, -2)


def _matmul_shape(a: np.ndarray, b: np.ndarray) -> tuple[int, ...]:
    if a.ndim == 2 and b.ndim == 2:  # the common case, without broadcast_shapes' overhead
        return (a.shape[0], b.shape[1])
    return np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])


def _stored(ws: dict | None, key, shape) -> np.ndarray | None:
    """The workspace array :func:`_buffer` keeps under ``key`` and ``shape``, if any."""
    return None if ws is None else ws.get((key, shape))


def _buffer(ws: dict | None, key, shape, dtype) -> np.ndarray | None:
    """A reusable array from the workspace ``ws`` (None without one)."""
    if ws is None:
        return None
    buf = _stored(ws, key, shape)
    if buf is None or buf.dtype != dtype:
        buf = ws[(key, shape)] = np.empty(shape, dtype=dtype)
    return buf


def _mm(a: np.ndarray, b: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """``a @ b``; with an inner dimension of 1 (a 1-D input, a 1-D output's
    backward pass) the product is an outer product, done as a broadcast multiply:
    the same single rounding per entry as GEMM, without BLAS call overhead."""
    if a.shape[-1] == 1:
        return np.multiply(a, b, out=out)
    return np.matmul(a, b, out=out)


def _ones(ws: dict | None, m: int, dtype) -> np.ndarray:
    """A ``(1, m)`` row of ones (kept in the workspace when there is one)."""
    if ws is None:
        return np.ones((1, m), dtype=dtype)
    key = ("ones", m, np.dtype(dtype).str)
    buf = ws.get(key)
    if buf is None:
        buf = ws[key] = np.ones((1, m), dtype=dtype)
    return buf


_GEMM = {np.dtype(np.float32): _blas.sgemm, np.dtype(np.float64): _blas.dgemm}


# --- second-order helpers. A *tangent* R{a} is None when it is identically zero, and may
# have k <= m rows: it is then the tangent of the last k rows of ``a``, the others being 0.


def _own(ws: dict | None, key, shape, dtype) -> np.ndarray:
    """A workspace buffer, or a new array without a workspace (never a caller's array);
    :func:`_buffer` inlined (the R-passes ask for many)."""
    if ws is None:
        return np.empty(shape, dtype=dtype)
    buf = ws.get((key, shape))
    if buf is None or buf.dtype != dtype:
        buf = ws[(key, shape)] = np.empty(shape, dtype=dtype)
    return buf


def _tail(a: np.ndarray, k: int) -> np.ndarray:
    """The last ``k`` rows of ``a`` (``a`` itself when it has ``k`` rows)."""
    return a if a.shape[-2] == k else a[..., a.shape[-2] - k:, :]


def _acc(acc: np.ndarray | None, term: np.ndarray | None) -> np.ndarray | None:
    """``acc + term`` for two tangents (None = 0; fewer rows = the last rows), written into
    whichever has more rows when its shape allows (both must be arrays the caller owns)."""
    if acc is None:
        return term
    if term is None:
        return acc
    if acc.shape[-2] < term.shape[-2]:
        acc, term = term, acc
    dst = _tail(acc, term.shape[-2])
    if _bshape(dst.shape, term.shape) == dst.shape:
        dst += term
        return acc
    lead = np.broadcast_shapes(acc.shape[:-2], term.shape[:-2])
    full = np.zeros(lead + acc.shape[-2:], dtype=np.result_type(acc, term))
    full[...] = acc
    _tail(full, term.shape[-2])[...] += term
    return full


def _fortran_operand(a: np.ndarray):
    """``(array, trans)`` with ``op(array) = a.T`` Fortran-contiguous for BLAS, or None."""
    if a.T.flags.f_contiguous:
        return a.T, 0
    if a.flags.f_contiguous:
        return a, 1
    return None


def _mm_add(a: np.ndarray, b: np.ndarray, out: np.ndarray, ws: dict | None = None, key=None) -> np.ndarray:
    """``out += a @ b`` (``out`` an array the caller owns, shaped like the product).

    For 2-D float operands this is one BLAS GEMM with ``beta = 1`` (the sum formed in
    the GEMM's output, no temporary and no extra pass over ``out``): with C-ordered
    arrays, ``out^T += b^T a^T`` in Fortran order, transposed views passed as ``trans``
    (BLAS, Dongarra et al. 1990, xGEMM). Otherwise a product and an addition."""
    if (out.ndim == 2 and a.ndim == 2 and b.ndim == 2 and a.shape[-1] > 1 and out.flags.c_contiguous
            and a.dtype == b.dtype == out.dtype and out.dtype in _GEMM and out.size):
        pa, pb = _fortran_operand(b), _fortran_operand(a)
        if pa is not None and pb is not None:
            res = _GEMM[out.dtype](1.0, pa[0], pb[0], beta=1.0, c=out.T, trans_a=pa[1], trans_b=pb[1],
                                   overwrite_c=1)
            if not np.shares_memory(res, out):  # never expected for a Fortran-ordered c; be safe
                out[...] = res.T
            return out
    out += _mm(a, b, _own(ws, key, _matmul_shape(a, b), out.dtype) if key is not None else None)
    return out


def _bshape(*shapes) -> tuple:
    """``np.broadcast_shapes`` with a fast path for equal shapes (the common case)."""
    first = shapes[0]
    if all(s == first for s in shapes[1:]):
        return first
    return np.broadcast_shapes(*shapes)


def _full_rows(r: np.ndarray | None, shape: tuple, dtype) -> np.ndarray:
    """A tangent (None = 0; fewer rows = the last rows) as a dense array of ``shape``."""
    out = np.zeros(shape, dtype=dtype)
    if r is not None:
        _tail(out, r.shape[-2])[...] = r
    return out


def dropout_masks(rng, drop: tuple[float, ...], sizes: tuple[int, ...], lead: tuple[int, ...],
                  dtype=np.float64) -> list:
    """Inverted-dropout masks for an MLP with layer widths ``sizes``: for layer ``l``
    with ``drop[l] = p > 0`` an array of shape ``lead + (sizes[l],)`` (``lead`` is
    the batch shape, e.g. ``(m,)`` or ``(P, m)``) whose entries are 0 with
    probability ``p`` and ``1/(1-p)`` otherwise, else None.

    Dropout: Srivastava et al. 2014, JMLR 15, eq. in Section 4 (``r ~ Bernoulli(1-p)``,
    ``h~ = r * h``); scaling the kept units by ``1/(1-p)`` while training instead of
    the weights by ``1-p`` at test time (their Section 10) keeps ``E[h~] = h``, so the
    network is used unchanged without masks. Goodfellow et al. 2014 trained their
    MNIST discriminator with dropout (Section 5).
    """
    if len(drop) != len(sizes) - 1:
        raise ValueError(f"need one dropout probability per layer ({len(sizes) - 1}), got {len(drop)}")
    rng = as_rng(rng)
    masks = []
    for p, d in zip(drop, sizes[:-1]):
        if not 0 <= p < 1:
            raise ValueError(f"dropout probabilities must be in [0, 1), got {p}")
        if p == 0:
            masks.append(None)
            continue
        u = rng.random(tuple(lead) + (d,), dtype=np.dtype(dtype).type)
        keep = u >= p
        masks.append(np.multiply(keep, np.dtype(dtype).type(1 / (1 - p)), out=u))
    return masks


def _width(s) -> int:
    """A layer width: an integer (``3`` or ``3.0``), never a fraction truncated."""
    try:
        w = int(s)
        ok = not isinstance(s, (bool, np.bool_)) and w == s
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"layer widths must be integers, got {s!r}")
    return w


@dataclass(frozen=True)
class MLP:
    """A fully connected network on a flat parameter vector.

    Parameters
    ----------
    sizes : tuple of int
        Layer widths ``(d_0, d_1, ..., d_L)``; ``d_0`` is the input dimension.
    activations : tuple of str
        One per layer (``L`` names) from :data:`ACTIVATIONS`.
    dtype : numpy dtype
        ``float64`` for theory, ``float32`` for MNIST.
    slope : float
        Negative-side slope of ``leaky_relu`` (0 < slope < 1).

    Examples
    --------
    >>> import numpy as np
    >>> net = MLP((3, 4, 1), ("relu", "identity"))
    >>> theta = net.init(np.random.default_rng(0))
    >>> x = np.ones((5, 3))
    >>> hs = net.forward(theta, x)
    >>> grad, gx = net.backward(theta, hs, np.ones((5, 1)), inputs=True)
    >>> grad.shape, gx.shape
    ((21,), (5, 3))
    """

    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    dtype: type = np.float64
    slope: float = 0.2
    layout: Layout = field(init=False, repr=False, compare=False)
    _acts: tuple[Activation, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        sizes = tuple(_width(s) for s in self.sizes)
        acts = tuple(self.activations)
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least an input and an output width, got {sizes}")
        if any(s < 1 for s in sizes):
            raise ValueError(f"every layer width must be >= 1, got sizes={sizes}")
        if len(acts) != len(sizes) - 1:
            raise ValueError(f"need {len(sizes) - 1} activations for sizes={sizes}, got {len(acts)}")
        if not 0 < self.slope < 1:
            raise ValueError(f"slope must be in (0, 1), got {self.slope}")
        dtype = np.dtype(self.dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        object.__setattr__(self, "sizes", sizes)
        object.__setattr__(self, "activations", acts)
        object.__setattr__(self, "dtype", dtype.type)
        object.__setattr__(self, "_acts", tuple(_activation(a, self.slope) for a in acts))
        blocks = []
        for l in range(1, len(sizes)):
            blocks += [(f"W{l}", (sizes[l - 1], sizes[l])), (f"b{l}", (1, sizes[l]))]
        object.__setattr__(self, "layout", Layout(blocks))

    @property
    def n_params(self) -> int:
        return self.layout.size

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    def views(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """``[(W_1, b_1), ..., (W_L, b_L)]`` as zero-copy views into ``theta``."""
        v = self.layout.view_list(theta)
        return list(zip(v[0::2], v[1::2]))

    def init(self, rng=None, scheme: str = "xavier_talk", population: int | None = None) -> np.ndarray:
        """A new flat parameter vector: weights by ``scheme``, biases zero.

        ``population=P`` draws ``P`` models at once, shape ``(P, n)``. To make
        model ``p`` equal a single run seeded with ``rng_p``, stack single inits
        instead: ``np.stack([net.init(r) for r in rngs])``.
        """
        draw = INITIALIZERS[scheme]
        rng = as_rng(rng)
        theta = self.layout.zeros(population, self.dtype)
        lead = () if population is None else (int(population),)
        for W, _ in self.views(theta):
            fan_in, fan_out = W.shape[-2:]
            W[...] = draw(rng, fan_in, fan_out, lead + (fan_in, fan_out), self.dtype)
        return theta

    def forward(self, theta: np.ndarray, x: np.ndarray, *, out: np.ndarray | None = None,
                ws: dict | None = None, masks: list | None = None) -> list[np.ndarray]:
        """Run the network; returns ``[x, h_1, ..., h_L]`` (``h_L`` is the output).

        Pass the list to :meth:`backward`. Do not modify it in between.

        ``out`` receives the output ``h_L`` (e.g. a slice of a bigger buffer). With a
        workspace ``ws`` (a dict the caller keeps between calls) the hidden layers are
        written into buffers kept there instead of new arrays: the returned list is
        then only valid until the next call with the same ``ws``.

        ``masks`` (dropout, from :func:`dropout_masks`): one entry per layer, None or
        an array multiplied into that layer's *input* ``h_{l-1}`` before its product
        with ``W_l``. The returned ``h`` are the values before masking; pass the same
        masks to :meth:`backward`.
        """
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim < 2 or x.shape[-1] != self.sizes[0]:
            raise ValueError(f"input must be an array (N, {self.sizes[0]}) of {self.sizes[0]} features (or "
                             f"(P, N, {self.sizes[0]}) for a population), got shape {x.shape}")
        masks = self._check_masks(masks)
        v = self.layout.view_list(theta)
        hs = [x]
        h = x
        last = self.n_layers - 1
        for l, act in enumerate(self._acts):
            W = v[2 * l]
            if masks[l] is not None:
                h = np.multiply(h, masks[l], out=_buffer(ws, ("drop", l), np.broadcast_shapes(h.shape, masks[l].shape),
                                                          self.dtype))
            buf = out if l == last and out is not None else _buffer(ws, ("h", l), _matmul_shape(h, W), self.dtype)
            a = _mm(h, W, buf)
            a += v[2 * l + 1]
            h = act.forward(a)
            hs.append(h)
        return hs

    def _masked_input(self, h, mask, l, ws):
        """Layer ``l``'s masked input ``h * mask``: with a workspace, the product that
        :meth:`forward` left in it (the pair forward/backward shares ``ws``); else anew."""
        left = _stored(ws, ("drop", l), np.broadcast_shapes(h.shape, mask.shape))
        return left if left is not None else np.multiply(h, mask)

    def _check_masks(self, masks):
        if masks is None:
            return (None,) * self.n_layers
        if len(masks) != self.n_layers:
            raise ValueError(f"need one dropout mask (or None) per layer ({self.n_layers}), got {len(masks)}")
        return masks

    def __call__(self, theta: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The network's output only."""
        return self.forward(theta, x)[-1]

    def backward(self, theta: np.ndarray, hs: list[np.ndarray], g_out: np.ndarray, *,
                 params: bool = True, inputs: bool = False, grad: np.ndarray | None = None,
                 ws: dict | None = None, masks: list | None = None):
        """Backpropagate ``g_out = dL/dh_L`` through the network.

        Parameters
        ----------
        theta : array (n,) or (P, n)
            The parameters ``forward`` ran with.
        hs : list of arrays
            What :meth:`forward` returned.
        g_out : array, shape of the output
            Gradient of the loss with respect to the output (batch reduction
            included, e.g. ``1/m`` for a mean).
        params : bool
            Compute ``dL/dtheta``. When false, no weight or bias gradient is formed.
        inputs : bool
            Compute ``dL/dx``. When false, the first layer's ``g W^T`` is skipped.
        grad : array like ``theta``, optional
            Buffer for ``dL/dtheta``; written through layout views, no copies.
        ws : dict, optional
            Workspace for the intermediate gradients (see :meth:`forward`); the
            returned ``g_x`` then lives there until the next call with ``ws``.
        masks : list, optional
            The dropout masks ``forward`` ran with: the input of layer ``l`` was
            ``h_{l-1} * mask_l``, so ``dL/dW_l = (h_{l-1} * mask_l)^T g_l`` and
            ``dL/dh_{l-1} = (g_l W_l^T) * mask_l``.

        Returns
        -------
        grad : array like ``theta``, or None when ``params`` is false
        g_x : array like ``x``, or None when ``inputs`` is false
        """
        v = self.layout.view_list(theta)
        masks = self._check_masks(masks)
        if params:
            if grad is None:
                grad = np.empty(theta.shape, dtype=self.dtype)
            gv = self.layout.view_list(grad)
        else:
            grad = None
        g = g_out
        own = False  # never overwrite the caller's g_out
        for l in range(self.n_layers - 1, -1, -1):
            h = hs[l + 1]
            dst = g if own else _buffer(ws, ("ga", l), h.shape, self.dtype)
            g = self._acts[l].backward(g, h, dst)
            if params:
                inp = hs[l] if masks[l] is None else self._masked_input(hs[l], masks[l], l, ws)
                np.matmul(_swap(inp), g, out=gv[2 * l])
                # sum over the batch as a product with ones: a BLAS call, faster than a
                # reduction over the middle axis of a (P, m, d) population array
                np.matmul(_ones(ws, g.shape[-2], self.dtype), g, out=gv[2 * l + 1])
            if l == 0 and not inputs:
                break
            Wt = _swap(v[2 * l])
            g = _mm(g, Wt, _buffer(ws, ("gh", l), _matmul_shape(g, Wt), self.dtype))
            if masks[l] is not None:
                g *= masks[l]
            own = True
        return grad, (g if inputs else None)

    # --- second order: Pearlmutter's R-operator over the forward and backward passes

    def _direction(self, v, theta):
        if v is None:
            return None
        v = np.asarray(v, dtype=self.dtype)
        if v.shape != np.shape(theta):
            raise ValueError(f"direction v must have the shape of theta {np.shape(theta)}, got {v.shape}")
        return self.layout.view_list(v)

    def tangent(self, theta: np.ndarray, hs: list[np.ndarray], v: np.ndarray | None = None,
                dx: np.ndarray | None = None, *, ws: dict | None = None) -> list:
        """The forward pass's tangents ``R{h_l}`` along a parameter direction ``v`` and
        an input direction ``dx`` (Pearlmutter 1994, Sec. 4, the "R{forward pass}").

        ``R{f} = d/dr f(theta + r v, x + r dx)`` at ``r = 0``. Layer by layer,

            R{a_l} = R{h_{l-1}} W_l + h_{l-1} V_l + c_l,    R{h_l} = act'(a_l) * R{a_l},

        with ``(V_l, c_l)`` the blocks of ``v`` in :attr:`layout` (``R{h_0} = dx``).

        Parameters
        ----------
        theta : array (n,) or (P, n)
        hs : list of arrays
            What :meth:`forward` returned for ``theta`` (no dropout masks).
        v : array like ``theta``, or None (the zero direction)
        dx : array (..., k, d_0) or None
            Direction of the *last* ``k <= m`` input rows (the other rows do not move);
            None = no input direction.
        ws : dict, optional
            Workspace; the tangents then live there until the next call with ``ws``.

        Returns
        -------
        list ``[R{h_0}, ..., R{h_L}]``: None where the tangent is identically zero; an
        array with fewer rows than ``h_l`` is the tangent of its last rows (others 0).

        Raises
        ------
        ValueError
            If ``v`` is not shaped like ``theta`` or ``dx`` does not fit the input.
        """
        L = self.n_layers
        dv = self._direction(v, theta)
        if dx is not None:
            dx = np.asarray(dx, dtype=self.dtype)
            x = hs[0]
            if dx.ndim < 2 or dx.shape[-1] != self.sizes[0] or dx.shape[-2] > x.shape[-2]:
                raise ValueError(f"dx must have shape (..., k <= {x.shape[-2]}, {self.sizes[0]}), got {dx.shape}")
        if dv is None and dx is None:
            return [None] * (L + 1)
        wv = self.layout.view_list(theta)
        rs = [dx]
        r = dx
        for l, act in enumerate(self._acts):
            h_prev, h = hs[l], hs[l + 1]
            ra = None
            if dv is not None:
                ra = _mm(h_prev, dv[2 * l], _own(ws, ("r_a", l), _matmul_shape(h_prev, dv[2 * l]), self.dtype))
                ra += dv[2 * l + 1]
            if r is not None:
                W = wv[2 * l]
                if ra is not None and ra.shape[-2] >= r.shape[-2] and _bshape(ra.shape[:-2], r.shape[:-2],
                                                                                W.shape[:-2]) == ra.shape[:-2]:
                    _mm_add(r, W, _tail(ra, r.shape[-2]), ws, ("r_t", l))
                else:
                    ra = _acc(ra, _mm(r, W, _own(ws, ("r_t", l), _matmul_shape(r, W), self.dtype)))
            if ra is None:
                rs.append(None)
                r = None
                continue
            hk = _tail(h, ra.shape[-2])
            r = act.backward(ra, hk, _own(ws, ("r_h", l), _bshape(ra.shape, hk.shape), self.dtype))
            rs.append(r)
        return rs

    def _uses_g(self, rs, top, direction, inputs, input_grad) -> bool:
        """Whether a layer ``j <= top`` of an R-backward pass uses the plain backward
        quantity ``g_j`` (else ``dL/dh_top`` need not be formed): for its curvature term
        (a tangent ``R{h_{j+1}}`` and ``act_j'' != 0``), for ``R{h_j}^T g_j``, for ``g_j V_j^T``
        (a parameter direction, below the first layer or with input gradients), or for ``dL/dx``."""
        for j in range(top + 1):
            if rs[j] is not None or (rs[j + 1] is not None and self.activations[j] in _CURV):
                return True
            if direction and (j > 0 or inputs):
                return True
        return inputs and input_grad

    def backward_r(self, theta: np.ndarray, hs: list[np.ndarray], rs: list, v: np.ndarray | None,
                   g_out: np.ndarray, r_out: np.ndarray | None, *, params: bool = True, inputs: bool = False,
                   input_grad: bool = True, r_grad: np.ndarray | None = None, ws: dict | None = None):
        """The R-operator of the backward pass: ``R{dL/dtheta}`` and ``R{dL/dx}``
        (Pearlmutter 1994, Sec. 4, the "R{backward pass}").

        With ``g_l = dL/da_l`` and ``gh_l = dL/dh_l`` (``gh_L = g_out``):

            g_l       = act'(a_l) gh_l
            R{g_l}    = act'(a_l) R{gh_l} + act''(a_l) R{a_l} gh_l
            R{dL/dW_l} = h_{l-1}^T R{g_l} + R{h_{l-1}}^T g_l,   R{dL/db_l} = sum_batch R{g_l}
            R{gh_{l-1}} = R{g_l} W_l^T + g_l V_l^T

        where ``act''(a) R{a} = (act''/act')(h) R{h}`` is formed from the stored output
        (``-2h`` for tanh, ``1 - 2h`` for sigmoid, 0 for the piecewise linear ones).
        For ``L = sum_i phi(o_i)`` pass ``g_out = phi'(o)`` and ``r_out = phi''(o) R{o}``:
        ``R{dL/dtheta}`` is then the Hessian-vector product ``H v`` along ``(v, dx)``;
        with ``v = None`` and an input direction ``dx`` it is the mixed product
        ``(d^2 L / dtheta dx) dx``; ``R{dL/dx}`` with ``dx = None`` is ``(d^2 L / dx dtheta) v``.

        Parameters
        ----------
        theta : array (n,) or (P, n)
        hs : list of arrays
            From :meth:`forward` (no dropout masks).
        rs : list
            From :meth:`tangent` with the same ``v`` (tangent conventions there).
        v : array like ``theta``, or None
            The parameter direction (the ``g_l V_l^T`` terms).
        g_out : array, shape of the output
            ``dL/dh_L`` (batch reduction included).
        r_out : array or None
            ``R{dL/dh_L}``; None when zero; fewer rows = the last rows.
        params, inputs : bool
            Form ``R{dL/dtheta}``; form ``dL/dx`` and ``R{dL/dx}``.
        input_grad : bool
            With ``inputs``, also form ``dL/dx`` itself (False: only its tangent, one GEMM less).
        r_grad : array like ``theta``, optional
            Buffer for ``R{dL/dtheta}``.
        ws : dict, optional
            Workspace (as in :meth:`backward`); the input gradients then live there.

        Returns
        -------
        r_grad : array like ``theta`` or None (``params`` false)
        g_x : array like the input, or None (``inputs`` or ``input_grad`` false)
        r_g_x : the tangent of ``g_x`` (None when zero, fewer rows = last rows), or None

        Raises
        ------
        ValueError
            If ``v`` is not shaped like ``theta``.
        """
        dt = self.dtype
        wv = self.layout.view_list(theta)
        dv = self._direction(v, theta)
        if params:
            if r_grad is None:
                r_grad = np.empty(np.shape(theta), dtype=dt)
            rgv = self.layout.view_list(r_grad)
        gh, rgh = g_out, r_out
        for l in range(self.n_layers - 1, -1, -1):
            act = self._acts[l]
            h, rh, h_prev, rh_prev = hs[l + 1], rs[l + 1], hs[l], rs[l]
            name = self.activations[l]
            deriv = _DERIV.get(name) if gh is not None and rgh is not None else None
            if deriv is not None:  # act'(a) once, for g and R{g}
                d = deriv(h, _own(ws, ("r_d", l), h.shape, dt))
                g = np.multiply(d, gh, out=_own(ws, ("r_g", l), _bshape(gh.shape, h.shape), dt))
                dk = _tail(d, rgh.shape[-2])
                rg = np.multiply(dk, rgh, out=_own(ws, ("r_rg", l), _bshape(rgh.shape, dk.shape), dt))
            else:
                g = None if gh is None else act.backward(gh, h, _own(ws, ("r_g", l), _bshape(gh.shape, h.shape), dt))
                rg = None
                if rgh is not None:
                    hk = _tail(h, rgh.shape[-2])
                    rg = act.backward(rgh, hk, _own(ws, ("r_rg", l), _bshape(rgh.shape, hk.shape), dt))
            curv = _CURV.get(name)
            if curv is not None and rh is not None:
                k = rh.shape[-2]
                hk, ghk = _tail(h, k), _tail(gh, k)
                c = curv(hk, _own(ws, ("r_c", l), _bshape(hk.shape, rh.shape, ghk.shape), dt))
                c *= rh
                c *= ghk
                rg = _acc(rg, c)
            if params:
                W_r, b_r = rgv[2 * l], rgv[2 * l + 1]
                if rg is None:
                    b_r[...] = 0
                else:
                    np.matmul(_swap(_tail(h_prev, rg.shape[-2])), rg, out=W_r)
                    np.matmul(_ones(ws, rg.shape[-2], dt), rg, out=b_r)
                if rh_prev is not None:
                    gk = _tail(g, rh_prev.shape[-2])
                    if rg is None:
                        np.matmul(_swap(rh_prev), gk, out=W_r)
                    else:
                        _mm_add(_swap(rh_prev), gk, W_r, ws, ("r_w", l))
                elif rg is None:
                    W_r[...] = 0
            if l == 0 and not inputs:
                break
            Wt = _swap(wv[2 * l])
            need = input_grad if l == 0 else self._uses_g(rs, l - 1, dv is not None, inputs, input_grad)
            gh_new = _mm(g, Wt, _own(ws, ("r_gh", l), _matmul_shape(g, Wt), dt)) if need else None
            rgh_new = None
            if dv is not None and g is not None:  # g V^T has every row: the sum goes there
                Vt = _swap(dv[2 * l])
                rgh_new = _mm(g, Vt, _own(ws, ("r_gv", l), _matmul_shape(g, Vt), dt))
            if rg is not None:
                if rgh_new is not None and _bshape(rgh_new.shape[:-2], rg.shape[:-2],
                                                   Wt.shape[:-2]) == rgh_new.shape[:-2]:
                    _mm_add(rg, Wt, _tail(rgh_new, rg.shape[-2]), ws, ("r_rgh", l))
                else:
                    rgh_new = _acc(_mm(rg, Wt, _own(ws, ("r_rgh", l), _matmul_shape(rg, Wt), dt)), rgh_new)
            gh, rgh = gh_new, rgh_new
        if not inputs:
            return (r_grad if params else None), None, None
        return (r_grad if params else None), (gh if input_grad else None), rgh

    def hvp(self, theta: np.ndarray, x: np.ndarray, v: np.ndarray | None = None, *, loss,
            dx: np.ndarray | None = None, inputs: bool = False, ws: dict | None = None):
        """Hessian-vector products of ``L(theta, x) = sum_i phi(o_i)`` (``o`` the output,
        ``phi`` elementwise; a mean is a ``phi`` carrying the ``1/m``), in one forward,
        one tangent and one backward pass (Pearlmutter 1994, Sec. 4).

        Parameters
        ----------
        theta : array (n,) or (P, n); x : array (m, d_0) or (P, m, d_0)
        v : array like ``theta``, or None
        loss : triple ``(phi, dphi, d2phi)`` of elementwise functions (only the
            derivatives are used), e.g. :class:`gandyn.engine.losses.Elementwise`.
        dx : array like ``x``, or None
        inputs : bool
            Also return ``R{dL/dx}``.

        Returns
        -------
        r_grad : array like ``theta``
            ``H_{theta theta} v + H_{theta x} dx``.
        r_g_x : array like ``x`` (``H_{x theta} v + H_{x x} dx``), or None when ``inputs`` is false.

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP((2, 3, 1), ("tanh", "identity"))
        >>> theta = net.init(np.random.default_rng(0))
        >>> sq = (lambda o: o ** 2 / 2, lambda o: o, lambda o: np.ones_like(o))
        >>> hv, _ = net.hvp(theta, np.ones((4, 2)), np.ones(net.n_params), loss=sq)
        >>> hv.shape
        (13,)
        """
        dphi, d2phi = (loss.df, loss.d2f) if hasattr(loss, "d2f") else tuple(loss)[1:]
        hs = self.forward(theta, x, ws=ws)
        rs = self.tangent(theta, hs, v, dx, ws=ws)
        o = hs[-1]
        g_out = np.asarray(dphi(o), dtype=self.dtype)
        r_out = None
        if rs[-1] is not None:
            r_out = np.multiply(d2phi(_tail(o, rs[-1].shape[-2])), rs[-1], dtype=self.dtype)
        r_grad, _, r_gx = self.backward_r(theta, hs, rs, v, g_out, r_out, params=True, inputs=inputs, ws=ws)
        if not inputs:
            return r_grad, None
        shape = np.broadcast_shapes(hs[0].shape, hs[1].shape[:-1] + (self.sizes[0],))
        return r_grad, _full_rows(r_gx, shape, self.dtype)
