"""Probability distributions with known densities: the ``p_data`` and ``p_g`` of GAN theory.

1-D: :class:`Normal`, :class:`Uniform`, :class:`Mixture`. 2-D (for toy GANs):
:class:`Normal2D`, a :class:`Mixture` of them, and the two classic toy data sets
:func:`ring2d` and :func:`grid2d`. A 1-D normal, uniform or mixture of them also has a short
text form, ``N(4, 0.5)``, ``U(1, 3)``, ``0.5*N(-2, 0.5) + 0.5*U(1, 3)``: :func:`parse` reads it,
:func:`text` writes it.

Method names follow :mod:`scipy.stats` where they overlap: ``pdf``, ``logpdf``,
``cdf`` (1-D only), ``rvs(size, rng)``, ``mean()``, ``var()``, ``std()``. Two
more serve quadrature and plotting grids:

================== ============================================================
``bounds(tail)``   an interval (a box in 2-D) holding all but ``tail`` of the mass;
``breakpoints``    points where the density jumps or has a kink (uniform edges),
                   where adaptive quadrature must split its interval;
``centers``        the location of each bump (component means, uniform midpoints),
                   where quadrature should also split so that no narrow bump of a
                   wide interval goes unseen;
``support``        where the density is positive, exactly: in 1-D a sorted tuple of
                   disjoint closed intervals ``((lo, hi), ...)`` (``+-inf`` allowed),
                   in 2-D a tuple of boxes ``(((lo0, hi0), (lo1, hi1)), ...)``. The
                   divergences use it to decide ``KL = inf`` by set arithmetic, with no
                   tail of the mass left unseen.
================== ============================================================

Densities are evaluated in closed form (no scipy.stats objects), in float64,
without floating-point warnings: ``logpdf`` is ``-inf`` off the support and
``pdf`` underflows quietly to 0.

>>> p = Mixture([Normal(-1.0, 0.5), Uniform(0.0, 2.0)], [0.25, 0.75])
>>> round(float(p.pdf(1.0)), 6)
0.375067
>>> p.breakpoints
(0.0, 2.0)
>>> float(p.cdf(100.0))
1.0
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from math import isfinite, log, pi

import numpy as np
from scipy.special import log_ndtr, ndtr, ndtri

from gandyn.rng import as_rng

__all__ = ["Distribution", "Normal", "Uniform", "Mixture", "Normal2D", "ring2d", "grid2d",
           "merge_intervals", "parse", "text"]

_LOG_SQRT_2PI = 0.5 * log(2 * pi)
_INF = float("inf")


def merge_intervals(intervals) -> tuple[tuple[float, float], ...]:
    """The union of closed intervals ``(lo, hi)`` as a sorted tuple of disjoint ones
    (touching intervals are merged)."""
    out: list[list[float]] = []
    for lo, hi in sorted((float(a), float(b)) for a, b in intervals):
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((a, b) for a, b in out)


def _finite(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def _check_tail(tail: float) -> float:
    """``tail`` as a float, after checking it is in (0, 1) (ValueError)."""
    if not 0 < tail < 1:
        raise ValueError(f"tail must be in (0, 1), got {tail!r}")
    return float(tail)


def _into(out, shape, dtype, draw) -> np.ndarray:
    """``draw(shape, dtype, out)`` with ``dtype`` taken from ``out`` when not given;
    an ``out`` of another shape, dtype or layout receives a copy of fresh draws."""
    dtype = np.dtype(out.dtype if dtype is None and out is not None else dtype or np.float64)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"draws are float32 or float64, got {dtype}")
    if out is None:
        return draw(shape, dtype, None)
    if out.shape != shape or out.dtype != dtype or not out.flags.c_contiguous:
        out[...] = draw(shape, dtype, None)
        return out
    z = draw(shape, dtype, out)
    if z is not out:
        out[...] = z
    return out


def _size(size) -> tuple[int, ...]:
    shape = (size,) if np.ndim(size) == 0 else tuple(size)
    if any(int(s) < 0 for s in shape):
        raise ValueError(f"size must be non-negative, got {size!r}")
    return tuple(int(s) for s in shape)


class Distribution:
    """Base of all distributions here: ``pdf`` from ``logpdf``, ``std`` from ``var``.

    Subclasses set ``dim`` (1 or 2) and implement ``logpdf``, ``rvs``,
    ``bounds``, ``mean``, ``var``, ``breakpoints`` and ``centers``.
    """

    dim: int = 1

    def pdf(self, x) -> np.ndarray:
        """The density at ``x`` (shape ``(...)``, or ``(..., 2)`` in 2-D)."""
        return np.exp(self.logpdf(x))

    def std(self):
        """Standard deviation (per coordinate in 2-D)."""
        return np.sqrt(self.var())

    def _x(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.dim > 1 and (x.ndim == 0 or x.shape[-1] != self.dim):
            raise ValueError(f"x must have shape (..., {self.dim}), got {x.shape}")
        return x


@dataclass(frozen=True)
class Normal(Distribution):
    """The normal distribution ``N(loc, scale^2)``.

    ``logpdf(x) = -(x - loc)^2 / (2 scale^2) - log scale - log sqrt(2 pi)``.
    """

    loc: float = 0.0
    scale: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "loc", _finite("loc", self.loc))
        scale = _finite("scale", self.scale)
        if scale <= 0:
            raise ValueError(f"scale must be > 0, got {self.scale!r}")
        object.__setattr__(self, "scale", scale)

    def logpdf(self, x) -> np.ndarray:
        z = (self._x(x) - self.loc) / self.scale
        return -0.5 * z * z - (log(self.scale) + _LOG_SQRT_2PI)

    def cdf(self, x) -> np.ndarray:
        return ndtr((self._x(x) - self.loc) / self.scale)

    def logcdf(self, x) -> np.ndarray:
        return log_ndtr((self._x(x) - self.loc) / self.scale)

    def ppf(self, q) -> np.ndarray:
        """The quantile function ``loc + scale * Phi^{-1}(q)``."""
        z = ndtri(np.asarray(q, dtype=np.float64))
        return z if (self.loc, self.scale) == (0.0, 1.0) else self.loc + self.scale * z

    def rvs(self, size=1, rng=None, *, dtype=None, out: np.ndarray | None = None) -> np.ndarray:
        """Draws of shape ``size``. With ``dtype`` (float32 or float64) or ``out``, the
        draws are ``loc + scale * rng.standard_normal(size, dtype)``, written into
        ``out`` when given (drawn in place when ``out`` is C-contiguous of that
        shape and dtype): the form a generator's latent noise takes."""
        rng = as_rng(rng)
        if dtype is None and out is None:
            return rng.normal(self.loc, self.scale, size=_size(size))
        return _into(out, _size(size), dtype, lambda shape, dt, o: self._standard(rng, shape, dt, o))

    def _standard(self, rng, shape, dtype, out):
        z = rng.standard_normal(size=shape, dtype=dtype, out=out)
        if self.scale != 1.0:
            z *= self.scale
        if self.loc != 0.0:
            z += self.loc
        return z

    def mean(self) -> float:
        return self.loc

    def var(self) -> float:
        return self.scale ** 2

    def bounds(self, tail: float = 1e-12) -> tuple[float, float]:
        """``loc -+ scale * Phi^{-1}(1 - tail/2)``: each side holds ``tail/2``."""
        k = -float(ndtri(_check_tail(tail) / 2))
        return self.loc - k * self.scale, self.loc + k * self.scale

    @property
    def breakpoints(self) -> tuple[float, ...]:
        return ()

    @property
    def centers(self) -> tuple[float, ...]:
        return (self.loc,)

    @property
    def support(self) -> tuple[tuple[float, float], ...]:
        """The whole line: the normal density is positive everywhere."""
        return ((-_INF, _INF),)


@dataclass(frozen=True)
class Uniform(Distribution):
    """The uniform distribution on ``[low, high]``, density ``1/(high - low)`` there."""

    low: float = 0.0
    high: float = 1.0

    def __post_init__(self):
        low, high = _finite("low", self.low), _finite("high", self.high)
        if not low < high:
            raise ValueError(f"low must be < high, got low={self.low!r}, high={self.high!r}")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    @property
    def width(self) -> float:
        return self.high - self.low

    def logpdf(self, x) -> np.ndarray:
        x = self._x(x)
        inside = (x >= self.low) & (x <= self.high)
        return np.where(inside, -log(self.width), -np.inf)

    def pdf(self, x) -> np.ndarray:
        x = self._x(x)
        return np.where((x >= self.low) & (x <= self.high), 1.0 / self.width, 0.0)

    def cdf(self, x) -> np.ndarray:
        return np.clip((self._x(x) - self.low) / self.width, 0.0, 1.0)

    def ppf(self, q) -> np.ndarray:
        """The quantile function ``low + (high - low) q``."""
        return self.width * np.asarray(q, dtype=np.float64) + self.low

    def rvs(self, size=1, rng=None, *, dtype=None, out: np.ndarray | None = None) -> np.ndarray:
        """Draws of shape ``size``. With ``dtype`` or ``out`` (a generator's latent
        noise): in float32 ``low + (high - low) u``, ``u ~ U[0, 1)`` drawn directly in
        float32 (half the cost of drawing float64 and converting; for ``U(-1, 1)``
        this is the talk's ``sample_Z``); in float64 ``rng.uniform(low, high)``;
        written into ``out`` when given."""
        rng = as_rng(rng)
        if dtype is None and out is None:
            return rng.uniform(self.low, self.high, size=_size(size))
        return _into(out, _size(size), dtype, lambda shape, dt, o: self._draw(rng, shape, dt, o))

    def _draw(self, rng, shape, dtype, out):
        if dtype == np.float32:
            z = rng.random(shape, dtype=np.float32, out=out)
            z *= self.width
            z += self.low
            return z
        z = rng.uniform(self.low, self.high, size=shape).astype(dtype, copy=False)
        if out is not None:
            out[...] = z
            return out
        return z

    def mean(self) -> float:
        return 0.5 * (self.low + self.high)

    def var(self) -> float:
        return self.width ** 2 / 12.0

    def bounds(self, tail: float = 1e-12) -> tuple[float, float]:
        """The support ``(low, high)`` (it holds all the mass, whatever ``tail``)."""
        _check_tail(tail)
        return self.low, self.high

    @property
    def breakpoints(self) -> tuple[float, ...]:
        return (self.low, self.high)

    @property
    def centers(self) -> tuple[float, ...]:
        return (self.mean(),)

    @property
    def support(self) -> tuple[tuple[float, float], ...]:
        """``[low, high]``."""
        return ((self.low, self.high),)


@dataclass(frozen=True)
class Normal2D(Distribution):
    """The bivariate normal ``N(mean, cov)`` (``cov`` symmetric positive definite).

    ``logpdf(x) = -(x - mu)^T cov^{-1} (x - mu) / 2 - log det(2 pi cov) / 2``.
    """

    loc: tuple[float, float] = (0.0, 0.0)
    cov: tuple[tuple[float, float], tuple[float, float]] = ((1.0, 0.0), (0.0, 1.0))
    dim: int = field(default=2, init=False)
    _chol: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        loc = np.asarray(self.loc, dtype=np.float64)
        cov = np.asarray(self.cov, dtype=np.float64)
        if loc.shape != (2,) or not np.all(np.isfinite(loc)):
            raise ValueError(f"loc must be two finite numbers, got {self.loc!r}")
        if cov.shape != (2, 2) or not np.all(np.isfinite(cov)) or cov[0, 1] != cov[1, 0]:
            raise ValueError(f"cov must be a finite symmetric 2x2 matrix, got {self.cov!r}")
        if not (cov[0, 0] > 0 and cov[0, 0] * cov[1, 1] - cov[0, 1] ** 2 > 0):
            raise ValueError(f"cov must be positive definite, got {self.cov!r}")
        object.__setattr__(self, "loc", tuple(float(v) for v in loc))
        object.__setattr__(self, "cov", tuple(tuple(float(v) for v in row) for row in cov))
        object.__setattr__(self, "_chol", np.linalg.cholesky(cov))

    @classmethod
    def isotropic(cls, loc, scale: float) -> "Normal2D":
        """``N(loc, scale^2 I)``."""
        s = _finite("scale", scale)
        if s <= 0:
            raise ValueError(f"scale must be > 0, got {scale!r}")
        return cls(tuple(loc), ((s * s, 0.0), (0.0, s * s)))

    def logpdf(self, x) -> np.ndarray:
        d = self._x(x) - np.asarray(self.loc)
        L = self._chol
        # solve L u = d (2x2 lower triangular), then |u|^2 = d^T cov^{-1} d
        u0 = d[..., 0] / L[0, 0]
        u1 = (d[..., 1] - L[1, 0] * u0) / L[1, 1]
        logdet = 2.0 * (log(L[0, 0]) + log(L[1, 1]))
        return -0.5 * (u0 * u0 + u1 * u1) - 0.5 * logdet - 2 * _LOG_SQRT_2PI

    def rvs(self, size=1, rng=None) -> np.ndarray:
        e = as_rng(rng).standard_normal(size=_size(size) + (2,))
        return e @ self._chol.T + np.asarray(self.loc)

    def mean(self) -> np.ndarray:
        return np.asarray(self.loc)

    def var(self) -> np.ndarray:
        return np.diag(np.asarray(self.cov)).copy()

    def bounds(self, tail: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
        """A box ``(lo, hi)`` holding all but ``tail``: each of the four
        half-planes outside it holds at most ``tail/4`` (union bound)."""
        k = -float(ndtri(_check_tail(tail) / 4))
        sd = self.std()
        return self.mean() - k * sd, self.mean() + k * sd

    @property
    def breakpoints(self) -> tuple:
        return ()

    @property
    def centers(self) -> tuple:
        return (self.loc,)

    @property
    def support(self) -> tuple:
        """The whole plane (one unbounded box): the density is positive everywhere."""
        return (((-_INF, _INF), (-_INF, _INF)),)


@dataclass(frozen=True)
class Mixture(Distribution):
    """A finite mixture ``sum_k w_k p_k`` of distributions of one dimension.

    Parameters
    ----------
    components : sequence of Distribution
        All of the same ``dim`` (1-D or 2-D).
    weights : sequence of float
        On the simplex: non-negative, summing to 1 within ``1e-9``. They are
        renormalised to sum to 1 exactly (to rounding).
    """

    components: tuple = ()
    weights: tuple = ()
    dim: int = field(default=1, init=False)

    def __post_init__(self):
        comps = tuple(self.components)
        if not comps:
            raise ValueError("components must hold at least one distribution")
        if not all(isinstance(c, Distribution) for c in comps):
            raise ValueError("components must all be gandyn.distributions.Distribution objects")
        dims = {c.dim for c in comps}
        if len(dims) != 1:
            raise ValueError(f"components must all have the same dimension, got {sorted(dims)}")
        try:
            w = np.asarray(self.weights, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"weights must be numbers, got {self.weights!r}") from None
        if w.shape != (len(comps),):
            raise ValueError(f"weights must hold one number per component ({len(comps)}), got {self.weights!r}")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or abs(w.sum() - 1.0) > 1e-9:
            raise ValueError(f"weights must be on the simplex (>= 0, summing to 1), got {self.weights!r}")
        w = w / w.sum()
        object.__setattr__(self, "components", comps)
        object.__setattr__(self, "weights", tuple(float(v) for v in w))
        object.__setattr__(self, "dim", dims.pop())

    def _active(self):
        return [(w, c) for w, c in zip(self.weights, self.components) if w > 0]

    def pdf(self, x) -> np.ndarray:
        x = self._x(x)
        return sum(w * c.pdf(x) for w, c in self._active())

    def logpdf(self, x) -> np.ndarray:
        """``log sum_k w_k p_k(x)``, the finite mixture density (McLachlan & Peel 2000,
        eq. 1.1), by log-sum-exp (components with ``w_k = 0`` skipped)."""
        x = self._x(x)
        a = np.stack([log(w) + c.logpdf(x) for w, c in self._active()])
        m = a.max(axis=0)
        m_safe = np.where(np.isfinite(m), m, 0.0)
        s = np.exp(a - m_safe).sum(axis=0)
        with np.errstate(divide="ignore"):  # s == 0 exactly off every support: log 0 = -inf
            return m_safe + np.log(s)

    def cdf(self, x) -> np.ndarray:
        if self.dim != 1:
            raise ValueError("cdf is defined for 1-D distributions only")
        x = self._x(x)
        return np.minimum(sum(w * c.cdf(x) for w, c in self._active()), 1.0)

    def rvs(self, size=1, rng=None) -> np.ndarray:
        """Draw a component index ``k ~ Categorical(w)``, then ``x ~ p_k``."""
        rng = as_rng(rng)
        shape = _size(size)
        n = int(np.prod(shape))
        k = rng.choice(len(self.components), size=n, p=np.asarray(self.weights))
        tail = () if self.dim == 1 else (self.dim,)
        out = np.empty((n,) + tail)
        for i, c in enumerate(self.components):
            idx = np.flatnonzero(k == i)
            if idx.size:
                out[idx] = c.rvs(idx.size, rng)
        return out.reshape(shape + tail)

    def mean(self):
        return sum(w * np.asarray(c.mean()) for w, c in self._active())

    def var(self):
        """Law of total variance: ``sum w_k (var_k + mean_k^2) - mean^2``."""
        mu = self.mean()
        second = sum(w * (np.asarray(c.var()) + np.asarray(c.mean()) ** 2) for w, c in self._active())
        return np.maximum(second - mu ** 2, 0.0)

    def bounds(self, tail: float = 1e-12):
        """The hull of the components' ``bounds(tail)``: outside it each
        component, hence the mixture, has at most ``tail`` of its mass."""
        _check_tail(tail)
        bs = [c.bounds(tail) for _, c in self._active()]
        lo = np.min([np.asarray(b[0]) for b in bs], axis=0)
        hi = np.max([np.asarray(b[1]) for b in bs], axis=0)
        if self.dim == 1:
            return float(lo), float(hi)
        return lo, hi

    @property
    def breakpoints(self) -> tuple:
        if self.dim != 1:
            return ()
        return tuple(sorted({b for _, c in self._active() for b in c.breakpoints}))

    @property
    def support(self) -> tuple | None:
        """The union of the supports of the components of positive weight (merged in
        1-D); None if a component does not declare its support."""
        parts = [getattr(c, "support", None) for _, c in self._active()]
        if any(s is None for s in parts):
            return None
        if self.dim == 1:
            return merge_intervals(iv for s in parts for iv in s)
        return tuple(box for s in parts for box in s)

    @property
    def centers(self) -> tuple:
        if self.dim != 1:
            return tuple(ctr for _, c in self._active() for ctr in c.centers)
        return tuple(sorted({ctr for _, c in self._active() for ctr in c.centers}))


def ring2d(k: int = 8, radius: float = 2.0, scale: float = 0.02) -> Mixture:
    """``k`` equal-weight isotropic Gaussians of sd ``scale`` on a circle of
    ``radius``: the mode-collapse benchmark of Metz et al. 2017 (Unrolled GANs,
    Section 3.1: 8 modes, radius 2, sd 0.02)."""
    if int(k) < 1:
        raise ValueError(f"k must be >= 1, got {k!r}")
    angles = 2 * pi * np.arange(int(k)) / int(k)
    comps = [Normal2D.isotropic((radius * np.cos(a), radius * np.sin(a)), scale) for a in angles]
    return Mixture(comps, [1.0 / k] * k)


def grid2d(k: int = 5, spacing: float = 2.0, scale: float = 0.05) -> Mixture:
    """``k x k`` equal-weight isotropic Gaussians of sd ``scale`` on a square grid
    centred at the origin: the 25-mode grid of Srivastava et al. 2017 (VEEGAN,
    Section 5.1)."""
    if int(k) < 1:
        raise ValueError(f"k must be >= 1, got {k!r}")
    c = spacing * (np.arange(int(k)) - (int(k) - 1) / 2)
    comps = [Normal2D.isotropic((a, b), scale) for a in c for b in c]
    return Mixture(comps, [1.0 / len(comps)] * len(comps))


# --- the text form of a 1-D distribution


_NUM = r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
_COMP = re.compile(rf"^\s*(?:{_NUM}\*)?\s*([NU])\s*\({_NUM},{_NUM}\)\s*$")


def parse(spec: str | Distribution) -> Distribution:
    """A 1-D distribution from its text: ``N(loc, scale)`` (:class:`Normal`), ``U(low, high)``
    (:class:`Uniform`), or a :class:`Mixture` ``w1*N(..) + w2*U(..) + ...`` (weights on the
    simplex; a component without a weight has weight 1). Numbers are decimal floats (``1e-3``,
    ``.5``); spaces are free. A 1-D :class:`Distribution` is returned as it is.

    >>> parse("N(4, 0.5)")
    Normal(loc=4.0, scale=0.5)
    >>> parse("0.5*N(-2,0.5) + 0.5*N(2,0.5)").weights
    (0.5, 0.5)

    Raises
    ------
    ValueError
        Not a text (or empty), a part that is not ``[w*]N(a, b)`` or ``[w*]U(a, b)``, a
        component the class refuses (``scale <= 0``, ``low >= high``), weights off the simplex,
        or a distribution that is not 1-D; the message names the part and starts with ``data``.
    """
    if isinstance(spec, Distribution):
        if spec.dim != 1:
            raise ValueError("data must be a 1-D distribution")
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"data must be a text like 'N(4, 0.5)', got {spec!r}")
    comps, weights = [], []
    for part in re.split(r"(?<![eE])\+", spec):  # not the + of an exponent (1e+1)
        m = _COMP.match(part)
        if m is None:
            raise ValueError(f"data: cannot read {part.strip()!r}; write N(loc, scale), U(low, high) "
                             "or a mixture like 0.5*N(-2, 0.5) + 0.5*N(2, 0.5)")
        w, kind, a, b = m.groups()
        try:
            comps.append(Normal(float(a), float(b)) if kind == "N" else Uniform(float(a), float(b)))
        except ValueError as e:
            raise ValueError(f"data {part.strip()!r}: {e}") from None
        weights.append(1.0 if w is None else float(w))
    if len(comps) == 1 and weights[0] == 1.0:
        return comps[0]
    try:
        return Mixture(comps, weights)
    except ValueError as e:
        raise ValueError(f"data {spec.strip()!r}: {e}") from None


def text(dist: Distribution) -> str:
    """The text of a 1-D normal, uniform or mixture of them that :func:`parse` reads back
    exactly (floats by their shortest round-trip ``repr``).

    >>> text(parse("0.5*N(-2,0.5) + 0.5*U(1, 3)"))
    '0.5*N(-2.0, 0.5) + 0.5*U(1.0, 3.0)'

    Raises
    ------
    ValueError
        Another distribution (the text form has no name for it).
    """
    if isinstance(dist, Normal):
        return f"N({dist.loc!r}, {dist.scale!r})"
    if isinstance(dist, Uniform):
        return f"U({dist.low!r}, {dist.high!r})"
    if isinstance(dist, Mixture):
        return " + ".join(f"{float(w)!r}*{text(c)}" for w, c in zip(dist.weights, dist.components))
    raise ValueError(f"{dist!r} has no text form (normal, uniform or a mixture of them)")
