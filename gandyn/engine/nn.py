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

Two other kinds of layer (``pieces=``, ``batch_norm=`` of :class:`MLP`): maxout, ``h_l`` the max
over each unit's ``k`` pieces of ``a_l`` (Goodfellow et al. 2013; the forward pass then keeps
the pieces ``a_l``), and batch normalisation of ``a_l = h_{l-1} W_l`` over the batch with a learnt
scale and shift (Ioffe & Szegedy 2015; the pass also keeps the normalised ``a_l`` and the batch
statistics, see :class:`Passes`); every pass below goes through both exactly.

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
from gandyn.engine.workspace import Workspace, as_workspace
from gandyn.rng import as_rng

__all__ = ["MLP", "ACTIVATIONS", "INITIALIZERS", "Passes", "dropout_masks", "flush_tiny", "hidden_mlp"]


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


def _normal(std: float) -> Callable:
    def draw(rng, fan_in, fan_out, size, dtype):
        return rng.normal(0.0, std, size=size).astype(dtype, copy=False)
    draw.__doc__ = f"Normal, mean 0, std {std}, whatever the fan-in."
    return draw


def _uniform(r: float) -> Callable:
    def draw(rng, fan_in, fan_out, size, dtype):
        return rng.uniform(-r, r, size=size).astype(dtype, copy=False)
    draw.__doc__ = f"Uniform on [-{r}, {r}], whatever the fan-in."
    return draw


#: The weight initialisations by name (biases start at zero; batch-norm scales at one).
#: 'normal_0.02': N(0, 0.02^2), Radford et al. 2016 (DCGAN, Sec. 4) and PacGAN's synthetic
#: experiments (Lin et al. 2018, IsotropicGaussian(0.02)); 'uniform_0.05' and 'uniform_0.005':
#: pylearn2's ``irange`` of Goodfellow et al. 2014's MNIST generator and discriminator.
INITIALIZERS: Registry[Callable] = Registry("init scheme")
INITIALIZERS.register("xavier_talk", _xavier_talk)
INITIALIZERS.register("glorot_uniform", _glorot_uniform)
INITIALIZERS.register("normal_0.02", _normal(0.02))
INITIALIZERS.register("uniform_0.05", _uniform(0.05))
INITIALIZERS.register("uniform_0.005", _uniform(0.005))


# --- the MLP


def _swap(a: np.ndarray) -> np.ndarray:
    return a.swapaxes(-1, -2)


def _matmul_shape(a: np.ndarray, b: np.ndarray) -> tuple[int, ...]:
    if a.ndim == 2 and b.ndim == 2:  # the common case, without broadcast_shapes' overhead
        return (a.shape[0], b.shape[1])
    return np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])


def _mm(a: np.ndarray, b: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """``a @ b``; with an inner dimension of 1 (a 1-D input, a 1-D output's
    backward pass) the product is an outer product, done as a broadcast multiply:
    the same single rounding per entry as GEMM, without BLAS call overhead."""
    if a.shape[-1] == 1:
        return np.multiply(a, b, out=out)
    return np.matmul(a, b, out=out)


_GEMM = {np.dtype(np.float32): _blas.sgemm, np.dtype(np.float64): _blas.dgemm}


#: ``sqrt(tiny)`` of each float dtype, the threshold of :func:`flush_tiny`
_SQRT_TINY = {np.dtype(t): np.sqrt(np.finfo(t).tiny) for t in (np.float32, np.float64)}


def flush_tiny(g: np.ndarray | None, *, float64: bool = True) -> None:
    """Set the entries of a loss gradient ``g = dL/do`` below ``sqrt(tiny)`` of its dtype to
    zero, in place, before a backward pass carries it into every weight gradient.

    The one policy of the engine on subnormal numbers. A confident discriminator has logits
    of size ~100, so ``sigma(-|l|)/m`` is far below float32's smallest normal number
    (1.2e-38). Subnormal operands make x86 GEMMs ~100x slower (microcode assists;
    TensorFlow avoids them by running with flush-to-zero), and they would reach every
    weight gradient of the backward pass. Values below ``sqrt(tiny)`` (1.1e-19 in float32)
    are at least 17 orders of magnitude below ``1/m``; dropping them changes an Adam step
    by less than ``lr * 1e-19 / eps``. (Subnormals: IEEE 754-2008, Sec. 3.4; their slow
    path on x86: Intel 64 and IA-32 Architectures Optimization Reference Manual,
    "floating-point assists".)

    The training steps (:mod:`gandyn.engine.gan`) flush every float dtype (in float64 below
    1.5e-154); the exact second-order products (:mod:`gandyn.engine.second_order`) pass
    ``float64=False`` and leave float64 (and complex) arrays as they are, so that they
    equal the mathematical definition in float64 (the dtype of the theory). None is left
    alone. (The optimizers' moments, state carried from step to step rather than a gradient
    about to be multiplied into every weight, are flushed by their own rule:
    :func:`gandyn.engine.optim.flush_subnormal`, exactly the subnormals, by their bits.)
    """
    if g is None:
        return
    t = g.dtype
    if g.size and (t == np.float32 or (float64 and t == np.float64)):
        a = np.abs(g)
        if a.min() < _SQRT_TINY[t]:  # rarely: then the entries below
            g[a < _SQRT_TINY[t]] = 0


# --- second-order helpers. A *tangent* R{a} is None when it is identically zero, and may
# have k <= m rows: it is then the tangent of the last k rows of ``a``, the others being 0.


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
    """``(array, trans)`` with ``op(array) = a.T`` Fortran-contiguous for BLAS, or None
    (``a.T`` is Fortran-contiguous exactly when ``a`` is C-contiguous)."""
    flags = a.flags
    if flags.c_contiguous:
        return a.T, 0
    if flags.f_contiguous:
        return a, 1
    return None


def _mm_add(a: np.ndarray, b: np.ndarray, out: np.ndarray, ws: Workspace | None = None, key=None) -> np.ndarray:
    """``out += a @ b`` (``out`` an array the caller owns, shaped like the product).

    For 2-D float operands this is one BLAS GEMM with ``beta = 1`` (the sum formed in
    the GEMM's output, no temporary and no extra pass over ``out``): with C-ordered
    arrays, ``out^T += b^T a^T`` in Fortran order, transposed views passed as ``trans``
    (BLAS, Dongarra et al. 1990, xGEMM). Otherwise a product and an addition."""
    if (out.ndim == 2 and a.ndim == 2 and b.ndim == 2 and a.shape[-1] > 1 and out.flags.c_contiguous
            and a.dtype == b.dtype == out.dtype and out.dtype in _GEMM and out.size):
        pa, pb = _fortran_operand(b), _fortran_operand(a)
        if pa is not None and pb is not None:
            c = out.T
            # positional (alpha, a, b, beta, c, trans_a, trans_b, overwrite_c): f2py parses them faster
            res = _GEMM[out.dtype](1.0, pa[0], pb[0], 1.0, c, pa[1], pb[1], 1)
            if res is not c:  # never expected for a Fortran-ordered c (f2py returns it); be safe
                out[...] = res.T
            return out
    out += _mm(a, b, None if key is None else ws.buffer(key, _matmul_shape(a, b), out.dtype))
    return out


def _bshape(*shapes) -> tuple:
    """``np.broadcast_shapes`` with a fast path for equal shapes (the common case)."""
    first = shapes[0]
    for s in shapes[1:]:
        if s != first:
            return np.broadcast_shapes(*shapes)
    return first


def _full_rows(r: np.ndarray | None, shape: tuple, dtype) -> np.ndarray:
    """A tangent (None = 0; fewer rows = the last rows) as a dense array of ``shape``."""
    out = np.zeros(shape, dtype=dtype)
    if r is not None:
        _tail(out, r.shape[-2])[...] = r
    return out


# --- maxout and batch normalisation: what a layer does between its product with W_l and its
# activation. Their forward, backward and R-operator pieces sit here side by side.


def _pieces(a: np.ndarray, k: int) -> np.ndarray:
    """A maxout layer's pre-activations ``(..., m, d*k)`` as ``(..., m, d, k)`` (a view): unit
    ``j``'s pieces are the columns ``j*k, ..., j*k + k - 1`` (pylearn2's and Blocks' order)."""
    return a.reshape(a.shape[:-1] + (a.shape[-1] // k, k))


def _arg_max(a: np.ndarray, k: int) -> np.ndarray:
    """The winning piece of every unit, ``(..., m, d)`` (the first on a tie, a null set)."""
    return np.argmax(_pieces(a, k), axis=-1)


def _maxout(a: np.ndarray, k: int, out: np.ndarray | None = None) -> np.ndarray:
    """``h_j = max_i a_{j,i}`` (Goodfellow et al. 2013, "Maxout networks", eq. 1)."""
    return np.max(_pieces(a, k), axis=-1, out=out)


def _scatter(g: np.ndarray, idx: np.ndarray, k: int) -> np.ndarray:
    """Backward (and R-backward) of maxout: ``dL/da_{j,i} = 1[i = i*_j] dL/dh_j``, the gradient
    to the winning piece, as ``(..., rows, d*k)`` (``g``: the last ``rows`` rows of ``idx``)."""
    idx = _tail(idx, g.shape[-2])
    shape = _bshape(g.shape, idx.shape)
    out = np.zeros(shape + (k,), dtype=g.dtype)
    np.put_along_axis(out, np.broadcast_to(idx, shape)[..., None], np.broadcast_to(g, shape)[..., None], axis=-1)
    return out.reshape(shape[:-1] + (shape[-1] * k,))


def _gather(r: np.ndarray, idx: np.ndarray, k: int) -> np.ndarray:
    """Tangent of maxout: ``R{h_j} = R{a_{j,i*_j}}``, the winning piece's tangent (the arg max is
    locally constant off the null set of ties); ``r`` the last rows of ``(..., m, d*k)``."""
    r = _pieces(r, k)
    idx = _tail(idx, r.shape[-3])
    shape = _bshape(r.shape[:-1], idx.shape)
    return np.take_along_axis(np.broadcast_to(r, shape + (k,)), np.broadcast_to(idx, shape)[..., None], axis=-1)[..., 0]


class _BN(NamedTuple):
    """What a batch-norm layer's forward pass keeps: ``xh`` the normalised input ``(..., m, d)``,
    ``s = sqrt(var + eps)`` and ``mu`` ``(..., 1, d)``, and whether they are the batch's own
    (training) or the running statistics (evaluation)."""

    xh: np.ndarray
    s: np.ndarray
    mu: np.ndarray
    train: bool


def _mean_rows(y: np.ndarray) -> np.ndarray:
    return np.mean(y, axis=-2, keepdims=True)


def _bn_project(y: np.ndarray, bn: _BN) -> np.ndarray:
    """``N(y)``: in training ``(y - mean(y) - xh mean(xh y)) / s`` (means over the batch), the
    Jacobian of ``xh = (a - mean(a)) / s(a)`` (Ioffe & Szegedy 2015, Sec. 3, the backward
    formulas; it is symmetric, so it maps both ``R{a} -> R{xh}`` and ``dL/dxh -> dL/da``);
    in evaluation ``y / s``."""
    if not bn.train:
        return y / bn.s
    out = y - _mean_rows(y)
    out -= bn.xh * _mean_rows(bn.xh * y)
    out /= bn.s
    return out


class Passes(list):
    """The list of a forward pass of a network with batch-norm layers, or of a tangent pass:
    ``[x, h_1, ..., h_L]`` (or their tangents) with ``bn``, per layer, what its batch
    normalisation kept (None elsewhere), and ``deriv`` (tangent passes). Its rows are coupled through the batch statistics,
    so a list of some rows of it is not a forward pass (the backward passes refuse one)."""

    bn: tuple = ()
    #: per layer, ``act'(a_l)`` of a tanh or sigmoid layer (a ReLU layer's: the mask ``h_l > 0``)
    #: that :meth:`MLP.tangent` formed (on the rows of its tangent) and :meth:`MLP.backward_r`
    #: reuses (None elsewhere)
    deriv: tuple = ()


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
    pieces : tuple of (int or None), or None
        Per layer: ``k >= 2`` makes it a maxout layer with ``k`` pieces,
        ``h_j = max_i (h_{l-1} W_{:, jk+i} + b_{jk+i})`` (Goodfellow et al. 2013, eq. 1), so
        ``W_l`` is ``(d_{l-1}, k d_l)`` and ``b_l`` ``(1, k d_l)``; its activation must be
        'identity' and it cannot be the output layer. None (or an empty tuple): no maxout.
    batch_norm : tuple of bool, or None
        Per layer: normalise ``a_l = h_{l-1} W_l`` over the batch and apply a learnt scale
        and shift, ``h_l = act_l(gamma_l (a_l - mu) / sqrt(var + eps) + beta_l)`` (Ioffe &
        Szegedy 2015, Algorithm 1); such a layer has no bias ``b_l`` (``beta_l`` takes its
        place), its blocks are ``W_l, gamma_l, beta_l``. Training mode uses each batch's own
        statistics (per model of a population); evaluation uses running statistics kept
        outside ``theta`` (:meth:`init_stats`, :meth:`update_stats`, ``stats=`` of
        :meth:`forward`).
    bn_eps : float
        ``eps`` of batch normalisation (1e-4: Blocks' ``BatchNormalization``, which
        PacGAN's synthetic experiments use).
    bn_momentum : float
        Weight of a new batch in the running statistics, ``r <- (1 - mom) r + mom r_batch``
        (0.05: PacGAN's synthetic experiments).

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
    pieces: tuple | None = None
    batch_norm: tuple | None = None
    bn_eps: float = 1e-4
    bn_momentum: float = 0.05
    layout: Layout = field(init=False, repr=False, compare=False)
    _acts: tuple[Activation, ...] = field(init=False, repr=False, compare=False)
    #: index in ``layout`` of each layer's first block (``W_l``)
    _blk: tuple[int, ...] = field(init=False, repr=False, compare=False)
    #: whether any layer is maxout or batch-normalised
    _special: bool = field(init=False, repr=False, compare=False)
    #: layout of the running statistics of the batch-norm layers (``mean_l``, ``std_l``)
    stats_layout: Layout = field(init=False, repr=False, compare=False)

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
        L = len(sizes) - 1
        pieces = self._per_layer(self.pieces, "pieces", L, None)
        bnorm = self._per_layer(self.batch_norm, "batch_norm", L, False)
        for l, (k, bn) in enumerate(zip(pieces, bnorm), start=1):
            if k is not None:
                if isinstance(k, (bool, np.bool_)) or int(k) != k or k < 2:
                    raise ValueError(f"a maxout layer needs an integer number of pieces k >= 2, got {k!r} (layer {l})")
                if acts[l - 1] != "identity":
                    raise ValueError(f"maxout layer {l} takes the activation 'identity' (the max is its "
                                     f"nonlinearity), got {acts[l - 1]!r}")
                if l == L:
                    raise ValueError("the output layer cannot be a maxout layer")
                if bn:
                    raise ValueError(f"layer {l} cannot be both maxout and batch-normalised")
        pieces = tuple(None if k is None else int(k) for k in pieces)
        bnorm = tuple(bool(b) for b in bnorm)
        if any(bnorm) and not (0 < self.bn_eps and 0 < self.bn_momentum <= 1):
            raise ValueError(f"bn_eps must be > 0 and bn_momentum in (0, 1], got {self.bn_eps}, {self.bn_momentum}")
        object.__setattr__(self, "pieces", pieces if any(k is not None for k in pieces) else None)
        object.__setattr__(self, "batch_norm", bnorm if any(bnorm) else None)
        object.__setattr__(self, "_special", self.pieces is not None or self.batch_norm is not None)
        blocks, starts, stats = [], [], []
        for l in range(1, len(sizes)):
            starts.append(len(blocks))
            width = sizes[l] * (pieces[l - 1] or 1)
            if bnorm[l - 1]:
                blocks += [(f"W{l}", (sizes[l - 1], width)), (f"gamma{l}", (1, width)), (f"beta{l}", (1, width))]
                stats += [(f"mean{l}", (1, width)), (f"std{l}", (1, width))]
            else:
                blocks += [(f"W{l}", (sizes[l - 1], width)), (f"b{l}", (1, width))]
        object.__setattr__(self, "layout", Layout(blocks))
        object.__setattr__(self, "_blk", tuple(starts))
        object.__setattr__(self, "stats_layout", Layout(stats))

    @staticmethod
    def _per_layer(spec, name, L, default):
        if spec is None or (isinstance(spec, tuple) and not spec):
            return (default,) * L
        try:
            spec = tuple(spec)
        except TypeError:
            raise ValueError(f"{name} must be a tuple with one entry per layer ({L}), got {spec!r}") from None
        if len(spec) != L:
            raise ValueError(f"{name} needs one entry per layer ({L}), got {len(spec)}")
        return spec

    def _kind(self, l: int) -> str:
        """Layer ``l`` (0-based): 'plain', 'maxout' or 'bn'."""
        if self.pieces is not None and self.pieces[l] is not None:
            return "maxout"
        if self.batch_norm is not None and self.batch_norm[l]:
            return "bn"
        return "plain"

    @property
    def n_params(self) -> int:
        return self.layout.size

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    def views(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """``[(W_1, b_1), ..., (W_L, b_L)]`` as zero-copy views into ``theta`` (``b_l`` is None
        for a batch-normalised layer: its ``gamma_l, beta_l`` are in ``layout.views``)."""
        v = self.layout.view_list(theta)
        if not self._special:
            return list(zip(v[0::2], v[1::2]))
        return [(v[i], None if self._kind(l) == "bn" else v[i + 1]) for l, i in enumerate(self._blk)]

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
        if self.batch_norm is not None:
            views = self.layout.views(theta)
            for l, bn in enumerate(self.batch_norm, start=1):
                if bn:
                    views[f"gamma{l}"][...] = 1
        return theta

    # --- running statistics of the batch-norm layers (state outside theta)

    def init_stats(self, population: int | None = None) -> np.ndarray:
        """The running statistics of the batch-norm layers at their start, a flat vector in
        :attr:`stats_layout` (blocks ``mean_l`` = 0 and ``std_l`` = 1 of each such layer, as
        Blocks starts them): ``(n_s,)``, or ``(P, n_s)`` for a population (one row per model).
        Save and restore it like ``theta`` (a plain array); empty for a net without batch norm."""
        stats = self.stats_layout.zeros(population, self.dtype)
        for name, view in self.stats_layout.views(stats).items():
            if name.startswith("std"):
                view[...] = 1
        return stats

    def update_stats(self, stats: np.ndarray, hs: list) -> np.ndarray:
        """Fold the batch statistics of a training-mode forward pass ``hs`` into the running
        statistics ``stats``, in place:

            mean_l <- (1 - mom) mean_l + mom mu_B,    std_l <- (1 - mom) std_l + mom sqrt(var_B + eps)

        with ``mom`` = :attr:`bn_momentum` (the population standard deviation is averaged, as
        Blocks' ``BatchNormalization`` keeps it and PacGAN updates it; ``var_B`` is the biased
        batch variance). Returns ``stats``.

        Raises
        ------
        ValueError
            If ``hs`` is not a whole training-mode forward pass of this network, or ``stats``
            does not fit it.
        """
        bns = getattr(hs, "bn", ())
        if self.batch_norm is None:
            return stats
        if len(bns) != self.n_layers or any(b is not None and not b.train for b in bns):
            raise ValueError("update_stats needs the whole training-mode forward pass (forward without stats=)")
        mom = self.dtype(self.bn_momentum)
        sv = self.stats_layout.views(stats)
        for l, b in enumerate(bns, start=1):
            if b is None:
                continue
            for name, new in ((f"mean{l}", b.mu), (f"std{l}", b.s)):
                r = sv[name]
                if r.shape != new.shape:
                    raise ValueError(f"stats {r.shape} do not fit the forward pass's statistics {new.shape}")
                r *= 1 - mom
                r += mom * new
        return stats

    def forward(self, theta: np.ndarray, x: np.ndarray, *, out: np.ndarray | None = None,
                ws: Workspace | None = None, masks: list | None = None,
                stats: np.ndarray | None = None) -> list[np.ndarray]:
        """Run the network; returns ``[x, h_1, ..., h_L]`` (``h_L`` is the output).

        Pass the list to :meth:`backward`. Do not modify it in between.

        ``out`` receives the output ``h_L`` (e.g. a slice of a bigger buffer). With a
        workspace ``ws`` (a :class:`~gandyn.engine.workspace.Workspace` the caller keeps between
        calls) the hidden layers are written into buffers kept there instead of new arrays:
        the returned list is then only valid until the next call with the same ``ws``.

        ``masks`` (dropout, from :func:`dropout_masks`): one entry per layer, None or
        an array multiplied into that layer's *input* ``h_{l-1}`` before its product
        with ``W_l``. The returned ``h`` are the values before masking; pass the same
        masks to :meth:`backward`.

        Maxout layers: the list's entry of a maxout layer ``l`` holds its ``k`` pieces
        ``a_l = h_{l-1} W_l + b_l``, ``(..., m, k d_l)``; ``h_l`` is their max over each unit's
        pieces (the next layer's input). Batch-norm layers: without ``stats`` (training
        mode) each layer normalises with its batch's own mean and biased variance, over the
        batch axis per model; with ``stats`` (evaluation mode; from :meth:`init_stats`,
        shaped ``(n_s,)`` or ``(P, n_s)`` like ``theta``) with the running statistics. The
        list is then a :class:`Passes` that also keeps what the backward passes need.

        Raises
        ------
        ValueError
            On an input that does not fit, a training-mode batch of one row with batch norm,
            or ``stats`` for a network without batch norm.
        """
        ws = as_workspace(ws)
        if self._special or stats is not None:
            return self._forward_layers(theta, x, out, ws, masks, stats)
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
                h = np.multiply(h, masks[l], out=ws.buffer(("drop", l), np.broadcast_shapes(h.shape, masks[l].shape),
                                                          self.dtype))
            buf = out if l == last and out is not None else ws.buffer(("h", l), _matmul_shape(h, W), self.dtype)
            a = _mm(h, W, buf)
            a += v[2 * l + 1]
            h = act.forward(a)
            hs.append(h)
        return hs

    def _check_input(self, x):
        """``x`` as an array of the network's dtype, after checking its features (ValueError)."""
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim < 2 or x.shape[-1] != self.sizes[0]:
            raise ValueError(f"input must be an array (N, {self.sizes[0]}) of {self.sizes[0]} features (or "
                             f"(P, N, {self.sizes[0]}) for a population), got shape {x.shape}")
        return x

    def _forward_layers(self, theta, x, out, ws, masks, stats):
        """:meth:`forward` of a network with maxout or batch-norm layers (the plain layers
        as there)."""
        x = self._check_input(x)
        if stats is not None and self.batch_norm is None:
            raise ValueError("stats (running statistics) were given but the network has no batch-norm layer")
        masks = self._check_masks(masks)
        v = self.layout.view_list(theta)
        sv = None if stats is None else self.stats_layout.views(np.asarray(stats, dtype=self.dtype))
        dt = self.dtype
        hs, bns = [x], []
        h = x
        last = self.n_layers - 1
        for l, act in enumerate(self._acts):
            i, kind = self._blk[l], self._kind(l)
            W = v[i]
            if masks[l] is not None:
                h = np.multiply(h, masks[l], out=ws.buffer(("drop", l), np.broadcast_shapes(h.shape, masks[l].shape),
                                                          dt))
            buf = out if l == last and out is not None else ws.buffer(("h", l), _matmul_shape(h, W), dt)
            a = _mm(h, W, buf)
            bn = None
            if kind == "bn":
                if stats is None:
                    if a.shape[-2] < 2:
                        raise ValueError(f"batch norm in training mode needs a batch of at least 2 rows, got "
                                         f"{a.shape[-2]} (pass stats= to evaluate with the running statistics)")
                    mu = _mean_rows(a)
                    xh = np.subtract(a, mu, out=ws.buffer(("bn_x", l), a.shape, dt))
                    s = _mean_rows(xh * xh)
                    s += dt(self.bn_eps)
                    np.sqrt(s, out=s)
                else:
                    mu, s = sv[f"mean{l + 1}"], sv[f"std{l + 1}"]
                    xh = np.subtract(a, mu, out=ws.buffer(("bn_x", l), _bshape(a.shape, mu.shape), dt))
                xh /= s
                bn = _BN(xh, s, mu, stats is None)
                a = np.multiply(xh, v[i + 1], out=a if a.shape == xh.shape else None)
                a += v[i + 2]
            else:
                a += v[i + 1]
            bns.append(bn)
            if kind == "maxout":
                hs.append(a)
                h = _maxout(a, self.pieces[l], ws.buffer(("mx", l), a.shape[:-1] + (self.sizes[l + 1],), dt))
            else:
                h = act.forward(a)
                hs.append(h)
        if self.batch_norm is None:
            return hs
        hs = Passes(hs)
        hs.bn = tuple(bns)
        return hs

    def _input(self, hs, l):
        """Layer ``l``'s (0-based) input ``h_{l-1}`` from a forward pass: ``hs[l]``, or the max
        over the pieces when layer ``l-1`` is maxout."""
        if l == 0 or self.pieces is None or self.pieces[l - 1] is None:
            return hs[l]
        return _maxout(hs[l], self.pieces[l - 1])

    def _bn_of(self, passes, what):
        bns = getattr(passes, "bn", None)
        if bns is None or len(bns) != self.n_layers:
            raise ValueError(f"batch-norm layers need the whole {what} pass this network returned (its batch "
                             "statistics couple the rows): a list of some of its rows is not one")
        return bns

    def _masked_input(self, h, mask, l, ws):
        """Layer ``l``'s masked input ``h * mask``: with a workspace, the product that
        :meth:`forward` left in it (the pair forward/backward shares ``ws``); else anew."""
        left = ws.stored(("drop", l), np.broadcast_shapes(h.shape, mask.shape))
        return left if left is not None else np.multiply(h, mask)

    def _check_masks(self, masks):
        """``masks`` (None: one None per layer), after checking there is one per layer (ValueError)."""
        if masks is None:
            return (None,) * self.n_layers
        if len(masks) != self.n_layers:
            raise ValueError(f"need one dropout mask (or None) per layer ({self.n_layers}), got {len(masks)}")
        return masks

    def __call__(self, theta: np.ndarray, x: np.ndarray, stats: np.ndarray | None = None) -> np.ndarray:
        """The network's output only (``stats``: evaluation mode of batch norm, as in :meth:`forward`)."""
        return self.forward(theta, x, stats=stats)[-1]

    def backward(self, theta: np.ndarray, hs: list[np.ndarray], g_out: np.ndarray, *,
                 params: bool = True, inputs: bool = False, grad: np.ndarray | None = None,
                 ws: Workspace | None = None, masks: list | None = None):
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
        ws : Workspace, optional
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

        Notes
        -----
        Through a maxout layer the gradient goes to each unit's winning piece; through a
        batch-norm layer ``u = gamma xh + beta``, ``dL/dgamma = sum_batch dL/du * xh``,
        ``dL/dbeta = sum_batch dL/du`` and, in training mode,
        ``dL/da = (gx - mean(gx) - xh mean(xh gx)) / s`` with ``gx = gamma dL/du`` (Ioffe &
        Szegedy 2015, Sec. 3); in evaluation mode ``gx / s``.
        """
        ws = as_workspace(ws)
        v = self.layout.view_list(theta)
        masks = self._check_masks(masks)
        if params:
            if grad is None:
                grad = np.empty(theta.shape, dtype=self.dtype)
            gv = self.layout.view_list(grad)
        else:
            grad = None
        bns = self._bn_of(hs, "forward") if self.batch_norm is not None else None
        g = g_out
        own = False  # never overwrite the caller's g_out
        for l in range(self.n_layers - 1, -1, -1):
            h = hs[l + 1]
            i, kind = self._blk[l], (self._kind(l) if self._special else "plain")
            if kind == "maxout":  # the gradient goes to each unit's winning piece
                g = _scatter(g, _arg_max(h, self.pieces[l]), self.pieces[l])
            else:
                dst = g if own else ws.buffer(("ga", l), h.shape, self.dtype)
                g = self._acts[l].backward(g, h, dst)
            if kind == "bn":  # u = gamma xh + beta: dL/dgamma, dL/dbeta, then dL/da = N(gamma dL/du)
                b = bns[l]
                if params:
                    ones = ws.ones(g.shape[-2], self.dtype)
                    np.matmul(ones, g * b.xh, out=gv[i + 1])
                    np.matmul(ones, g, out=gv[i + 2])
                g = _bn_project(g * v[i + 1], b)
            if params:
                inp = self._input(hs, l)
                inp = inp if masks[l] is None else self._masked_input(inp, masks[l], l, ws)
                np.matmul(_swap(inp), g, out=gv[i])
                # sum over the batch as a product with ones: a BLAS call, faster than a
                # reduction over the middle axis of a (P, m, d) population array
                if kind != "bn":
                    np.matmul(ws.ones(g.shape[-2], self.dtype), g, out=gv[i + 1])
            if l == 0 and not inputs:
                break
            Wt = _swap(v[i])
            g = _mm(g, Wt, ws.buffer(("gh", l), _matmul_shape(g, Wt), self.dtype))
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
                dx: np.ndarray | None = None, *, ws: Workspace | None = None) -> list:
        """The forward pass's tangents ``R{h_l}`` along a parameter direction ``v`` and
        an input direction ``dx`` (Pearlmutter 1994, Sec. 4, the "R{forward pass}").

        ``R{f} = d/dr f(theta + r v, x + r dx)`` at ``r = 0``. Layer by layer,

            R{a_l} = R{h_{l-1}} W_l + h_{l-1} V_l + c_l,    R{h_l} = act'(a_l) * R{a_l},

        with ``(V_l, c_l)`` the blocks of ``v`` in :attr:`layout` (``R{h_0} = dx``). A maxout
        unit's tangent is its winning piece's (the arg max is locally constant off the null
        set of ties); a batch-norm layer's, in training mode, moves every row with the batch
        statistics: ``R{xh} = (R{a} - mean(R{a}) - xh mean(xh R{a})) / s``,
        ``R{u} = gamma R{xh} + R{gamma} xh + R{beta}`` (kept, with ``R{s} = mean(xh R{a})``, in
        the returned :class:`Passes` for :meth:`backward_r`).

        Parameters
        ----------
        theta : array (n,) or (P, n)
        hs : list of arrays
            What :meth:`forward` returned for ``theta`` (no dropout masks).
        v : array like ``theta``, or None (the zero direction)
        dx : array (..., k, d_0) or None
            Direction of the *last* ``k <= m`` input rows (the other rows do not move);
            None = no input direction.
        ws : Workspace, optional
            Workspace; the tangents then live there until the next call with ``ws``.

        Returns
        -------
        list ``[R{h_0}, ..., R{h_L}]``: None where the tangent is identically zero; an
        array with fewer rows than ``h_l`` is the tangent of its last rows (others 0). A
        :class:`Passes` (the list, with what :meth:`backward_r` reuses) unless ``v`` and ``dx``
        are both None.

        Raises
        ------
        ValueError
            If ``v`` is not shaped like ``theta`` or ``dx`` does not fit the input.
        """
        L = self.n_layers
        ws = as_workspace(ws)
        dv = self._direction(v, theta)
        if dx is not None:
            dx = np.asarray(dx, dtype=self.dtype)
            x = hs[0]
            if dx.ndim < 2 or dx.shape[-1] != self.sizes[0] or dx.shape[-2] > x.shape[-2]:
                raise ValueError(f"dx must have shape (..., k <= {x.shape[-2]}, {self.sizes[0]}), got {dx.shape}")
        if dv is None and dx is None:
            return [None] * (L + 1)
        wv = self.layout.view_list(theta)
        bns = self._bn_of(hs, "forward") if self.batch_norm is not None else None
        rbn = [None] * L
        dd = [None] * L
        rs = [dx]
        r = dx
        for l, act in enumerate(self._acts):
            h_prev, h = self._input(hs, l), hs[l + 1]
            i, kind = self._blk[l], (self._kind(l) if self._special else "plain")
            ra = None
            if dv is not None:
                ra = _mm(h_prev, dv[i], ws.buffer(("r_a", l), _matmul_shape(h_prev, dv[i]), self.dtype))
                if kind != "bn":
                    ra += dv[i + 1]
            if r is not None:
                W = wv[i]
                if ra is not None and ra.shape[-2] >= r.shape[-2] and _bshape(ra.shape[:-2], r.shape[:-2],
                                                                                W.shape[:-2]) == ra.shape[:-2]:
                    _mm_add(r, W, _tail(ra, r.shape[-2]), ws, ("r_t", l))
                else:
                    ra = _acc(ra, _mm(r, W, ws.buffer(("r_t", l), _matmul_shape(r, W), self.dtype)))
            if ra is None:
                rs.append(None)
                r = None
                continue
            if kind == "maxout":  # the tangent of the winning piece
                r = _gather(ra, _arg_max(h, self.pieces[l]), self.pieces[l])
                rs.append(r)
                continue
            if kind == "bn":
                # R{xh} = N(R{a}) (every row moves with the batch mean and variance),
                # R{s} = mean(xh R{a}); R{u} = gamma R{xh} + R{gamma} xh + R{beta}
                b = bns[l]
                ra = _full_rows(ra, _bshape(b.xh.shape, ra.shape[:-2] + b.xh.shape[-2:]), self.dtype)
                rxh = _bn_project(ra, b)
                rbn[l] = (rxh, _mean_rows(b.xh * ra) if b.train else None)
                ra = rxh * wv[i + 1]
                if dv is not None:
                    ra += dv[i + 1] * b.xh
                    ra += dv[i + 2]
            hk = _tail(h, ra.shape[-2])
            name = self.activations[l]
            deriv = _DERIV.get(name)
            if deriv is not None and ra.shape == hk.shape:  # act'(a), kept for backward_r
                dd[l] = deriv(hk, ws.buffer(("r_dd", l), hk.shape, self.dtype))
                r = np.multiply(ra, dd[l], out=ws.buffer(("r_h", l), ra.shape, self.dtype))
            elif name == "relu" and ra.shape == hk.shape:  # relu'(a) = 1[h > 0], kept likewise
                dd[l] = np.greater(hk, 0, out=ws.buffer(("r_dd", l), hk.shape, np.bool_))
                r = np.multiply(ra, dd[l], out=ws.buffer(("r_h", l), ra.shape, self.dtype))
            else:
                r = act.backward(ra, hk, ws.buffer(("r_h", l), _bshape(ra.shape, hk.shape), self.dtype))
            rs.append(r)
        rs = Passes(rs)
        rs.deriv = tuple(dd)
        if bns is not None:
            rs.bn = tuple(rbn)
        return rs

    def _uses_g(self, rs, top, direction, inputs, input_grad) -> bool:
        """Whether a layer ``j <= top`` of an R-backward pass uses the plain backward
        quantity ``g_j`` (else ``dL/dh_top`` need not be formed): for its curvature term
        (a tangent ``R{h_{j+1}}`` and ``act_j'' != 0``), for ``R{h_j}^T g_j``, for ``g_j V_j^T``
        (a parameter direction, below the first layer or with input gradients), or for ``dL/dx``."""
        if self.batch_norm is not None and any(self.batch_norm[:top + 1]):
            return True  # a batch-norm layer's R-backward pass uses its g
        for j in range(top + 1):
            if rs[j] is not None or (rs[j + 1] is not None and self.activations[j] in _CURV):
                return True
            if direction and (j > 0 or inputs):
                return True
        return inputs and input_grad

    def backward_r(self, theta: np.ndarray, hs: list[np.ndarray], rs: list, v: np.ndarray | None,
                   g_out: np.ndarray, r_out: np.ndarray | None, *, params: bool = True, inputs: bool = False,
                   input_grad: bool = True, r_grad: np.ndarray | None = None, ws: Workspace | None = None):
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
        ws : Workspace, optional
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
        ws = as_workspace(ws)
        wv = self.layout.view_list(theta)
        dv = self._direction(v, theta)
        if params:
            if r_grad is None:
                r_grad = np.empty(np.shape(theta), dtype=dt)
            rgv = self.layout.view_list(r_grad)
        if self.batch_norm is not None:
            bns, rbns = self._bn_of(hs, "forward"), self._bn_of(rs, "tangent")
        kept = getattr(rs, "deriv", None)  # act'(a) of the tangent pass
        if kept is not None and len(kept) != self.n_layers:
            kept = None
        gh, rgh = g_out, r_out
        for l in range(self.n_layers - 1, -1, -1):
            act = self._acts[l]
            h, rh, h_prev, rh_prev = hs[l + 1], rs[l + 1], self._input(hs, l), rs[l]
            i, kind = self._blk[l], (self._kind(l) if self._special else "plain")
            name = self.activations[l]
            deriv = _DERIV.get(name) if gh is not None and rgh is not None else None
            need = (not (l == 0 and not inputs)
                    and (input_grad if l == 0 else self._uses_g(rs, l - 1, dv is not None, inputs, input_grad)))
            # g and R{g} in one array [g; R{g}] when both go through W^T: one GEMM for both
            pair = None
            if (need and kind == "plain" and name != "identity" and gh is not None and rgh is not None and h.ndim == 2
                    and h.shape[-1] > 1 and gh.shape == rgh.shape == h.shape and wv[i].ndim == 2):
                pair = ws.buffer(("r_pair", l), (2 * h.shape[0], h.shape[1]), dt)
            if kind == "maxout":  # g and R{g} go to each unit's winning piece
                k = self.pieces[l]
                idx = _arg_max(h, k)
                g = None if gh is None else _scatter(gh, idx, k)
                rg = None if rgh is None else _scatter(rgh, idx, k)
            elif deriv is not None:  # act'(a) once, for g and R{g}
                d = None if kept is None else kept[l]
                if d is None or d.shape != h.shape:
                    d = deriv(h, ws.buffer(("r_d", l), h.shape, dt))
                g = np.multiply(d, gh, out=ws.buffer(("r_g", l), _bshape(gh.shape, h.shape), dt)
                                if pair is None else pair[:h.shape[0]])
                dk = _tail(d, rgh.shape[-2])
                rg = np.multiply(dk, rgh, out=ws.buffer(("r_rg", l), _bshape(rgh.shape, dk.shape), dt)
                                 if pair is None else pair[h.shape[0]:])
            elif name == "identity":  # g = gh and R{g} = R{gh}: read, never written below
                g, rg = gh, rgh
                if gh is not None and gh.shape != h.shape:  # broadcast to h's shape
                    g = act.backward(gh, h, ws.buffer(("r_g", l), _bshape(gh.shape, h.shape), dt))
                if rgh is not None and rgh.shape != _tail(h, rgh.shape[-2]).shape:
                    hk = _tail(h, rgh.shape[-2])
                    rg = act.backward(rgh, hk, ws.buffer(("r_rg", l), _bshape(rgh.shape, hk.shape), dt))
            elif name == "relu" and kept is not None and kept[l] is not None and kept[l].shape == h.shape:
                mask = kept[l]  # relu'(a) = 1[h > 0] from the tangent pass
                g = None if gh is None else np.multiply(gh, mask, out=ws.buffer(
                    ("r_g", l), _bshape(gh.shape, h.shape), dt) if pair is None else pair[:h.shape[0]])
                rg = None
                if rgh is not None:
                    mk = _tail(mask, rgh.shape[-2])
                    rg = np.multiply(rgh, mk, out=ws.buffer(("r_rg", l), _bshape(rgh.shape, mk.shape), dt)
                                     if pair is None else pair[h.shape[0]:])
            elif pair is not None:
                g = act.backward(gh, h, pair[:h.shape[0]])
                rg = act.backward(rgh, h, pair[h.shape[0]:])
            else:
                g = None if gh is None else act.backward(gh, h, ws.buffer(("r_g", l), _bshape(gh.shape, h.shape), dt))
                rg = None
                if rgh is not None:
                    hk = _tail(h, rgh.shape[-2])
                    rg = act.backward(rgh, hk, ws.buffer(("r_rg", l), _bshape(rgh.shape, hk.shape), dt))
            curv = _CURV.get(name)
            if curv is not None and rh is not None:
                k = rh.shape[-2]
                hk, ghk = _tail(h, k), _tail(gh, k)
                c = curv(hk, ws.buffer(("r_c", l), _bshape(hk.shape, rh.shape, ghk.shape), dt))
                c *= rh
                c *= ghk
                rg = _acc(rg, c)
            if kind == "bn":
                g, rg = self._bn_backward_r(g, rg, bns[l], rbns[l], wv[i + 1], dv, i,
                                            rgv[i + 1: i + 3] if params else None, ws)
            if params and kind == "bn":
                W_r = rgv[i]
                if rg is None:
                    W_r[...] = 0
                else:
                    np.matmul(_swap(_tail(h_prev, rg.shape[-2])), rg, out=W_r)
                if rh_prev is not None:
                    _mm_add(_swap(rh_prev), _tail(g, rh_prev.shape[-2]), W_r, ws, ("r_w", l))
            elif params:
                W_r, b_r = rgv[i], rgv[i + 1]
                if rg is None:
                    b_r[...] = 0
                else:
                    np.matmul(_swap(_tail(h_prev, rg.shape[-2])), rg, out=W_r)
                    np.matmul(ws.ones(rg.shape[-2], dt), rg, out=b_r)
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
            Wt = _swap(wv[i])
            if pair is not None and (g.base is not pair or rg.base is not pair):
                pair = None  # never expected (g and R{g} are written into it above); be safe
            if pair is not None:  # [g; R{g}] W^T, then R{g} W^T += g V^T
                both = np.matmul(pair, Wt, out=ws.buffer(("r_pgh", l), (pair.shape[0], Wt.shape[-1]), dt))
                gh, rgh = both[:h.shape[0]], both[h.shape[0]:]
                if dv is not None:
                    _mm_add(g, _swap(dv[i]), rgh, ws, ("r_gv", l))
                continue
            gh_new = _mm(g, Wt, ws.buffer(("r_gh", l), _matmul_shape(g, Wt), dt)) if need else None
            rgh_new = None
            if dv is not None and g is not None:  # g V^T has every row: the sum goes there
                Vt = _swap(dv[i])
                rgh_new = _mm(g, Vt, ws.buffer(("r_gv", l), _matmul_shape(g, Vt), dt))
            if rg is not None:
                if rgh_new is not None and _bshape(rgh_new.shape[:-2], rg.shape[:-2],
                                                   Wt.shape[:-2]) == rgh_new.shape[:-2]:
                    _mm_add(rg, Wt, _tail(rgh_new, rg.shape[-2]), ws, ("r_rgh", l))
                else:
                    rgh_new = _acc(_mm(rg, Wt, ws.buffer(("r_rgh", l), _matmul_shape(rg, Wt), dt)), rgh_new)
            gh, rgh = gh_new, rgh_new
        if not inputs:
            return (r_grad if params else None), None, None
        return (r_grad if params else None), (gh if input_grad else None), rgh

    def _bn_backward_r(self, gu, rgu, b: _BN, rb, gamma, dv, i, r_params, ws):
        """The R-backward pass through a batch-norm layer's ``u = gamma xh + beta``,
        ``xh = (a - mu) / s``: given ``gu = dL/du`` and ``R{gu}`` (None = 0; fewer rows = the
        last rows), write ``R{dL/dgamma} = sum(R{gu} xh + gu R{xh})`` and
        ``R{dL/dbeta} = sum R{gu}`` into ``r_params`` (if given) and return
        ``(dL/da, R{dL/da})``. With ``gx = gamma gu``, ``dL/da = N(gx)`` and, in training,

            R{dL/da} = N(R{gx}) - (R{xh} mean(xh gx) + xh mean(R{xh} gx)) / s - dL/da R{s} / s

        (differentiating :func:`_bn_project` through the batch mean and variance), with
        ``R{gx} = gamma R{gu} + R{gamma} gu``; in evaluation ``R{dL/da} = R{gx} / s``."""
        dt = self.dtype
        rxh, rs = (None, None) if rb is None else rb
        if rgu is not None and rgu.shape[-2] < gu.shape[-2]:
            rgu = _full_rows(rgu, _bshape(gu.shape, rgu.shape[:-2] + gu.shape[-2:]), dt)
        if r_params is not None:
            ones = ws.ones(gu.shape[-2], dt)
            rgam, rbet = r_params
            rgam[...] = 0
            rbet[...] = 0
            if rgu is not None:
                rgam += ones @ (rgu * b.xh)
                rbet += ones @ rgu
            if rxh is not None:
                rgam += ones @ (gu * rxh)
        gx = gu * gamma
        da = _bn_project(gx, b)
        rgx = None if rgu is None else rgu * gamma
        if dv is not None:
            rgx = gu * dv[i + 1] if rgx is None else rgx + gu * dv[i + 1]
        rda = None if rgx is None else _bn_project(rgx, b)
        if b.train and rxh is not None:
            t = rxh * _mean_rows(b.xh * gx)
            t += b.xh * _mean_rows(rxh * gx)
            t += da * rs
            t /= b.s
            rda = -t if rda is None else np.subtract(rda, t, out=rda)
        return da, rda

    def hvp(self, theta: np.ndarray, x: np.ndarray, v: np.ndarray | None = None, *, loss,
            dx: np.ndarray | None = None, inputs: bool = False, ws: Workspace | None = None,
            stats: np.ndarray | None = None):
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
        stats : array, optional
            Running statistics: batch norm in evaluation mode (see :meth:`forward`).

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
        ws = as_workspace(ws)
        hs = self.forward(theta, x, ws=ws, stats=stats)
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


def hidden_mlp(sizes, act: str, out_act: str = "identity", *, pieces: int = 1, batch_norm: bool = False,
               dtype=np.float64) -> MLP:
    """An MLP whose hidden layers are all of one kind, and an output layer ``out_act``.

    Parameters
    ----------
    sizes : tuple of int
        ``(d_in, *hidden, d_out)``.
    act : str
        The hidden layers' activation; with ``pieces > 1`` they are maxout layers instead
        (the max over each unit's pieces is the nonlinearity; Goodfellow et al. 2013).
    out_act : str
        The output layer's activation.
    pieces : int
        Maxout pieces of every hidden layer (1: plain layers).
    batch_norm : bool
        Batch normalisation in every hidden layer (Ioffe & Szegedy 2015).
    dtype : float32 or float64

    Raises
    ------
    ValueError
        As :class:`MLP` (e.g. maxout together with batch norm).
    """
    n = len(sizes) - 2
    if pieces > 1:
        return MLP(tuple(sizes), ("identity",) * (n + 1), dtype=dtype, pieces=(pieces,) * n + (None,),
                   batch_norm=(True,) * n + (False,) if batch_norm else None)
    return MLP(tuple(sizes), (act,) * n + (out_act,), dtype=dtype,
               batch_norm=(True,) * n + (False,) if batch_norm else None)
