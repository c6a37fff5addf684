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
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import sqrt
from typing import Callable, NamedTuple

import numpy as np

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
