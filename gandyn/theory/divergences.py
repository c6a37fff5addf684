"""The optimal discriminator and the Jensen-Shannon identity of Goodfellow et al. 2014.

For densities ``p = p_data`` and ``q = p_g`` on the real line and a discriminator
``D: R -> [0, 1]``, the value function (eq. 1, written as an integral over x as in
the proof of Proposition 1) is::

    V(D, G) = int p(x) log D(x) + q(x) log(1 - D(x)) dx.

**Proposition 1.** For fixed G, V is maximised pointwise: ``y -> a log y + b log(1 - y)``
with ``a, b >= 0``, ``a + b > 0`` has its maximum on [0, 1] at ``y = a/(a + b)``, so::

    D*(x) = p(x) / (p(x) + q(x)).

**Theorem 1.** Substituting D* gives the virtual training criterion::

    C(G) = max_D V(D, G) = -log 4 + KL(p || m) + KL(q || m) = -log 4 + 2 JSD(p || q),

``m = (p + q)/2``; its global minimum ``-log 4`` is reached iff ``q = p``.

Two families of functions:

* on a grid (arrays of density values, trapezoid rule; cheap enough to call
  during training): :func:`d_star`, :func:`d_star_logit`, :func:`value_grid`,
  :func:`kl_grid`, :func:`jsd_grid`, and :func:`jsd_terms` (the pointwise JSD, whose sum is
  the JSD of two discrete distributions);
* on distributions (objects with ``pdf``, ``logpdf``, ``bounds`` and optionally
  ``breakpoints``, ``centers``, ``rvs``, e.g. :mod:`gandyn.distributions`), by
  adaptive quadrature (:func:`scipy.integrate.quad`, returning its error
  estimate) or by Monte Carlo (returning the standard error): :func:`value`,
  :func:`c_of_g`, :func:`kl`, :func:`jsd`.

All logarithms are natural (nats); ``0 log 0 = 0``.

>>> from gandyn.distributions import Uniform
>>> p, q = Uniform(0.0, 1.0), Uniform(0.5, 1.5)
>>> r = c_of_g(p, q)                      # -2 (1 - s) log 2 with s = 1/2
>>> round(r.value, 12), round(-log(2.0), 12)
(-0.69314718056, -0.69314718056)
>>> round(jsd(p, q).value, 12) == round(log(2.0) / 2, 12)
True
"""
from __future__ import annotations

from math import log, sqrt
from typing import Callable, NamedTuple

import numpy as np
from scipy.special import entr, log_expit, xlogy

from gandyn.distributions import merge_intervals
from gandyn.rng import as_rng

__all__ = [
    "Estimate", "d_star", "d_star_logit", "d_star_function", "value_grid", "kl_grid", "jsd_grid", "jsd_terms", "check_grid_density",
    "value", "c_of_g", "kl", "jsd", "check_density", "integration_points", "d_star_perturbation",
    "LOG2", "LOG4",
]

LOG2 = log(2.0)
LOG4 = log(4.0)


class Estimate(NamedTuple):
    """A number and its uncertainty.

    ``method`` 'quad': ``error`` is the sum of :func:`scipy.integrate.quad`'s
    absolute error estimates over the pieces; 'mc': ``error`` is the standard
    error of the Monte Carlo mean; 'exact': ``error`` is 0 (e.g. an infinite
    KL). ``n`` counts integrand evaluations (quad) or samples (mc).
    """

    value: float
    error: float
    method: str
    n: int


# --- pointwise: the optimal discriminator


def d_star(p_data, p_g) -> np.ndarray:
    """``D*(x) = p_data(x) / (p_data(x) + p_g(x))`` (Goodfellow et al. 2014, Prop. 1, eq. 2).

    Where both densities vanish D* is defined as 1/2: there the integrand of V
    is ``0 log D + 0 log(1 - D) = 0`` for every D, so any value is optimal, and
    1/2 is the one symmetric in the two distributions, the limit of D* where
    p_data = p_g > 0, and the answer of a discriminator with no evidence either
    way (it keeps ``log D`` finite, too).

    Parameters
    ----------
    p_data, p_g : arrays of non-negative density values (broadcast together)
    """
    p = np.asarray(p_data, dtype=np.float64)
    q = np.asarray(p_g, dtype=np.float64)
    if np.any(p < 0) or np.any(q < 0):
        raise ValueError("p_data and p_g must be non-negative densities")
    s = p + q
    both_zero = s == 0
    return np.where(both_zero, 0.5, p / np.where(both_zero, 1.0, s))


def d_star_logit(logp_data, logp_g) -> np.ndarray:
    """The logit of D*, ``log p_data(x) - log p_g(x)``, from log-densities: exact
    where the densities underflow. 0 where both are ``-inf`` (D* = 1/2, see
    :func:`d_star`); ``+-inf`` where only one vanishes."""
    a = np.asarray(logp_data, dtype=np.float64)
    b = np.asarray(logp_g, dtype=np.float64)
    both = np.isneginf(a) & np.isneginf(b)
    return np.where(both, 0.0, a) - np.where(both, 0.0, b)


def _v_integrand(p, q, d):
    """``p log D + q log(1 - D)`` with ``0 log 0 = 0`` (scipy's xlogy)."""
    return xlogy(p, d) + xlogy(q, 1.0 - d)


def _v_integrand_logit(p, q, l):
    """``p log sigma(l) + q log sigma(-l)``, finite for finite l; 0 log 0 = 0."""
    with np.errstate(invalid="ignore"):  # 0 * (-inf) where a density vanishes and l = -+inf
        a = np.where(p > 0, p * log_expit(l), 0.0)
        b = np.where(q > 0, q * log_expit(-l), 0.0)
    return a + b


# --- on a grid (trapezoid rule)


def _grid(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size < 2 or not np.all(np.isfinite(x)) or np.any(np.diff(x) <= 0):
        raise ValueError("x must be a finite, strictly increasing 1-D grid of >= 2 points")
    return x


def check_grid_density(x, p, name: str = "p", tol: float | None = 1e-2) -> np.ndarray:
    """``p`` as a float array, after checking it is a density on the grid ``x``:
    finite, non-negative, one value per grid point, and (unless ``tol`` is None)
    a trapezoid integral within ``tol`` of 1. Raises ValueError naming ``name``."""
    p = np.asarray(p, dtype=np.float64)
    if p.shape != np.shape(x):
        raise ValueError(f"{name} must have one value per grid point ({np.shape(x)}), got {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    if tol is not None:
        mass = float(np.trapezoid(p, x))
        if abs(mass - 1.0) > tol:
            raise ValueError(f"{name} integrates to {mass:.6g} on the grid, not 1 (tolerance {tol:g})")
    return p


def value_grid(x, d, p_data, p_g, tol: float | None = 1e-2, logit: bool = False) -> float:
    """V(D, G) (Goodfellow et al. 2014, eq. 1) by the trapezoid rule on the grid
    ``x``, for discriminator values ``d`` in [0, 1] (or its logits, if ``logit``)
    and densities on the grid."""
    x = _grid(x)
    p = check_grid_density(x, p_data, "p_data", tol)
    q = check_grid_density(x, p_g, "p_g", tol)
    d = np.asarray(d, dtype=np.float64)
    if logit:
        if d.shape != x.shape or np.any(np.isnan(d)):
            raise ValueError("d must hold one logit per grid point")
        return float(np.trapezoid(_v_integrand_logit(p, q, d), x))
    if d.shape != x.shape or np.any(~(d >= 0)) or np.any(~(d <= 1)):
        raise ValueError("d must hold one value in [0, 1] per grid point")
    return float(np.trapezoid(_v_integrand(p, q, d), x))


def _grid_log_density(x, lp, name, tol) -> np.ndarray:
    lp = np.asarray(lp, dtype=np.float64)
    if lp.shape != np.shape(x):
        raise ValueError(f"{name} must have one value per grid point ({np.shape(x)}), got {lp.shape}")
    if np.any(np.isnan(lp)) or np.any(lp == np.inf):
        raise ValueError(f"{name} must hold log-densities (finite or -inf)")
    check_grid_density(x, np.exp(lp), name, tol)
    return lp


def kl_grid(x, p, q, tol: float | None = 1e-2, *, log: bool = False) -> float:
    """``KL(p || q) = int p log(p / q)`` by the trapezoid rule on ``x`` (Kullback &
    Leibler 1951); ``inf`` if ``q = 0`` at a grid point where ``p > 0`` (every grid
    point is checked; mass of p off the grid is not seen, which ``tol`` bounds).

    With ``log``, ``p`` and ``q`` are log-densities (``-inf`` where a density is 0):
    use them when q's density underflows to 0 where p's does not (e.g. a narrow q
    against a wide p), which would otherwise read as ``q = 0`` and give ``inf`` for a
    finite KL.
    """
    x = _grid(x)
    if log:
        lp = _grid_log_density(x, p, "p", tol)
        lq = _grid_log_density(x, q, "q", tol)
        pos = lp > -np.inf
        if np.any(pos & (lq == -np.inf)):
            return float("inf")
        f = np.zeros_like(lp)
        f[pos] = np.exp(lp[pos]) * (lp[pos] - lq[pos])
        return float(np.trapezoid(f, x))
    p = check_grid_density(x, p, "p", tol)
    q = check_grid_density(x, q, "q", tol)
    if np.any((p > 0) & (q == 0)):
        return float("inf")
    pos = p > 0
    f = np.zeros_like(p)
    f[pos] = p[pos] * (np.log(p[pos]) - np.log(q[pos]))
    return float(np.trapezoid(f, x))


def jsd_grid(x, p, q, tol: float | None = 1e-2) -> float:
    """``JSD(p || q) = KL(p || m)/2 + KL(q || m)/2``, ``m = (p + q)/2`` (Lin 1991),
    by the trapezoid rule on ``x``.

    Written pointwise as ``(p + q)/2 * (log 2 - H(p/(p + q)))`` with the binary
    entropy ``H(a) = -a log a - (1 - a) log(1 - a)``: the integrand lies in
    ``[0, (p + q) log 2 / 2]``, so the grid value does too, whatever the grid,
    and no logarithm of a vanishing density is taken.
    """
    x = _grid(x)
    p = check_grid_density(x, p, "p", tol)
    q = check_grid_density(x, q, "q", tol)
    return float(np.trapezoid(jsd_terms(p, q), x))


def jsd_terms(p, q) -> np.ndarray:
    """The pointwise Jensen-Shannon divergence (Lin 1991)::

        j = (p + q)/2 * (log 2 - H(p/(p + q))),   H(a) = -a log a - (1 - a) log(1 - a),

    which equals ``p/2 log(p/m) + q/2 log(q/m)``, ``m = (p + q)/2``, and lies in
    ``[0, (p + q) log 2 / 2]`` (rounding below 0 is clipped); 0 where ``p = q = 0``. Its integral
    over densities is :func:`jsd_grid`'s integrand; its sum over the outcomes of two discrete
    distributions (masses ``p_b, q_b``) is their JSD.

    Parameters
    ----------
    p, q : arrays of the same or broadcastable shapes
        Non-negative densities or masses.

    Returns
    -------
    array of the broadcast shape
    """
    a = d_star(p, q)
    return np.maximum(0.5 * (p + q) * (LOG2 - entr(a) - entr(1.0 - a)), 0.0)


# --- on distributions: quadrature and Monte Carlo


def _attr(dist, name, default=()):
    return tuple(getattr(dist, name, default))


def _dim(dist) -> int:
    return int(getattr(dist, "dim", 1))


def _leaves(dist):
    """``dist`` and, recursively, the components of positive weight of a mixture."""
    yield dist
    for w, c in zip(getattr(dist, "weights", ()), getattr(dist, "components", ())):
        if w > 0:
            yield from _leaves(c)


#: Besides ``tail``, the tails at which each bump's bounds cut the quadrature interval:
#: a bump narrow against the whole interval is then integrated on pieces of its own width.
_PIECE_TAILS = (1e-2, 1e-6)


def integration_points(*dists, tail: float = 1e-14) -> np.ndarray:
    """The interval holding all but ``tail`` of every distribution's mass, cut at
    their breakpoints and centers and at the bounds (at tails ``tail``, 1e-6 and 1e-2)
    of every mixture component: the pieces :func:`scipy.integrate.quad` sees. The cuts
    around each component keep a narrow bump far from the others on pieces of its own
    width, where quadrature cannot miss it. 1-D only."""
    los, his, pts = [], [], []
    for d in dists:
        if _dim(d) != 1:
            raise ValueError(f"quadrature is 1-D only, got a {_dim(d)}-D distribution; use method='mc'")
        lo, hi = d.bounds(tail)
        los.append(float(lo))
        his.append(float(hi))
        for leaf in _leaves(d):
            pts += [float(v) for v in _attr(leaf, "breakpoints") + _attr(leaf, "centers")]
            for t in (tail,) + _PIECE_TAILS:
                if t < 1 and callable(getattr(leaf, "bounds", None)):
                    pts += [float(v) for v in leaf.bounds(max(t, tail))]
    lo, hi = min(los), max(his)
    inner = [v for v in pts if lo < v < hi]
    return np.unique(np.array([lo, hi] + inner))


def kl_to_mixture_integrand(a, b) -> Callable[[float], float]:
    """``x -> a(x) log(a(x)/m(x))``, ``m = (a + b)/2``, in log space (0 where ``a = 0``): the
    integrand of ``KL(a || m)``, half of the JSD."""
    def f(x):
        la = float(a.logpdf(x))
        if la == -np.inf:
            return 0.0
        lm = float(np.logaddexp(la, float(b.logpdf(x)))) - LOG2
        return np.exp(la) * (la - lm)
    return f


def _quad(f: Callable[[float], float], edges, epsabs=1e-13, epsrel=1e-12) -> Estimate:
    from scipy import integrate  # here: importing it costs a third of a second, which every command would pay

    total, err, n = 0.0, 0.0, 0
    for a, b in zip(edges[:-1], edges[1:]):
        # with full_output quad appends a message when it hit a limit; its error estimate
        # (returned) then says how far to trust the value
        v, e, info, *_ = integrate.quad(f, a, b, epsabs=epsabs, epsrel=epsrel, limit=200, full_output=1)
        total += v
        err += e
        n += info["neval"]
    return Estimate(float(total), float(err), "quad", n)


def check_density(dist, name: str = "p", tol: float = 1e-6):
    """Check that ``dist.pdf`` integrates to 1 within ``tol`` over
    ``dist.bounds``; raise ValueError naming ``name`` if not. Returns ``dist``.
    1-D only (quadrature); for a distribution of more dimensions it raises."""
    for attr in ("pdf", "logpdf", "bounds"):
        if not callable(getattr(dist, attr, None)):
            raise ValueError(f"{name} must provide pdf, logpdf and bounds (missing {attr})")
    if _dim(dist) != 1:
        raise ValueError(f"{name} is {_dim(dist)}-D: quadrature is 1-D only; use method='mc'")
    mass = _quad(lambda x: float(dist.pdf(x)), integration_points(dist)).value
    if not abs(mass - 1.0) <= tol:
        raise ValueError(f"{name} integrates to {mass:.9g}, not 1 (tolerance {tol:g})")
    return dist


def _method(method):
    if method not in ("quad", "mc"):
        raise ValueError(f"unknown method {method!r}; choose from quad, mc")


def _check_pair(p, q, method, names=("p", "q")):
    """Validate two distributions for ``method``: quadrature needs 1-D densities that
    integrate to 1 (:func:`check_density`); Monte Carlo needs only ``logpdf`` and
    ``rvs`` (any dimension; 1-D densities are still checked by quadrature, cheaply), and
    both of one dimension."""
    _method(method)
    dims = (_dim(p), _dim(q))
    if dims[0] != dims[1]:
        raise ValueError(f"{names[0]} is {dims[0]}-D but {names[1]} is {dims[1]}-D")
    if method == "quad" or dims[0] == 1:
        if method == "quad" and dims[0] != 1:
            raise ValueError(f"quadrature is 1-D only, got {dims[0]}-D distributions; use method='mc'")
        check_density(p, names[0])
        check_density(q, names[1])
        return
    for name, d in zip(names, (p, q)):
        for attr in ("logpdf", "rvs"):
            if not callable(getattr(d, attr, None)):
                raise ValueError(f"{name} must provide logpdf and rvs for Monte Carlo (missing {attr})")


def _n(n):
    if int(n) < 2:
        raise ValueError(f"n must be >= 2, got {n!r}")
    return int(n)


def _mc(samples_p, samples_q=None, weight=1.0) -> Estimate:
    """Mean and standard error of ``weight * (mean f_p + mean f_q)``."""
    v = weight * samples_p.mean()
    var = weight ** 2 * samples_p.var(ddof=1) / samples_p.size
    n = samples_p.size
    if samples_q is not None:
        v += weight * samples_q.mean()
        var += weight ** 2 * samples_q.var(ddof=1) / samples_q.size
        n += samples_q.size
    return Estimate(float(v), float(sqrt(var)), "mc", n)


def value(D: Callable, p_data, p_g, *, logit: bool = False, method: str = "quad",
          n: int = 100_000, rng=None, tail: float = 1e-14, epsabs: float = 1e-13,
          epsrel: float = 1e-12) -> Estimate:
    """V(D, G) of Goodfellow et al. 2014, eq. 1, for densities ``p_data``, ``p_g``.

    Parameters
    ----------
    D : callable, x (k,) -> (k,)
        The discriminator's probabilities, or its logits if ``logit``.
    p_data, p_g : distributions
        Objects with ``pdf``, ``logpdf``, ``bounds`` (1-D, for 'quad'), or ``logpdf``
        and ``rvs`` (any dimension, for 'mc'; ``D`` then takes arrays ``(k, dim)``).
    method : {'quad', 'mc'}
        Adaptive quadrature of ``p log D + q log(1 - D)`` over the pieces of
        :func:`integration_points` (1-D only), or the sample means of eq. 1 with ``n``
        draws from each distribution.
    epsabs, epsrel : quad's tolerances per piece (loosen them for a D with
        kinks, such as a ReLU network).
    """
    _check_pair(p_data, p_g, method, ("p_data", "p_g"))

    def logs(x):
        out = np.asarray(D(np.asarray(x, dtype=np.float64)), dtype=np.float64)
        if logit:
            return log_expit(out), log_expit(-out)
        if np.any(~(out >= 0)) or np.any(~(out <= 1)):
            raise ValueError("D must return probabilities in [0, 1] (pass logit=True for logits)")
        with np.errstate(divide="ignore"):
            return np.log(out), np.log1p(-out)

    if method == "mc":
        rng = as_rng(rng)
        n = _n(n)
        a = logs(p_data.rvs(n, rng))[0]
        b = logs(p_g.rvs(n, rng))[1]
        return _mc(a, b)

    def f(x):
        x = np.array([x])
        p, q = p_data.pdf(x), p_g.pdf(x)
        out = np.asarray(D(x), dtype=np.float64)
        if logit:
            return float(_v_integrand_logit(p, q, out)[0])
        if not 0 <= out[0] <= 1:
            raise ValueError("D must return probabilities in [0, 1] (pass logit=True for logits)")
        return float(_v_integrand(p, q, out)[0])

    return _quad(f, integration_points(p_data, p_g, tail=tail), epsabs, epsrel)


def _log_ratio_to_sum(la, lb):
    """``log(a / (a + b))`` from ``log a``, ``log b`` (log D* for a = p_data)."""
    return la - np.logaddexp(la, lb)


def c_of_g(p_data, p_g, *, method: str = "quad", n: int = 100_000, rng=None,
           tail: float = 1e-14) -> Estimate:
    """``C(G) = max_D V(D, G) = V(D*, G)`` (Goodfellow et al. 2014, eq. 4), the
    integral of ``p log(p/(p+q)) + q log(q/(p+q))`` computed in log space, in
    ``[-log 4, 0]``: 0 exactly (method 'exact') when the supports are disjoint
    (then D* is 1 on p_data's and 0 on p_g's, Goodfellow et al. 2014, Thm. 1 with
    ``JSD = log 2``).

    'quad' is 1-D only; 'mc' needs only ``logpdf`` and ``rvs`` (any dimension).
    """
    _check_pair(p_data, p_g, method, ("p_data", "p_g"))
    if _disjoint(p_data, p_g):
        return Estimate(0.0, 0.0, "exact", 0)
    if method == "mc":
        rng = as_rng(rng)
        n = _n(n)
        x, y = p_data.rvs(n, rng), p_g.rvs(n, rng)
        return _mc(_log_ratio_to_sum(p_data.logpdf(x), p_g.logpdf(x)),
                   _log_ratio_to_sum(p_g.logpdf(y), p_data.logpdf(y)))

    def f(x):
        la, lb = float(p_data.logpdf(x)), float(p_g.logpdf(x))
        out = 0.0
        if la > -np.inf:
            out += np.exp(la) * float(_log_ratio_to_sum(la, lb))
        if lb > -np.inf:
            out += np.exp(lb) * float(_log_ratio_to_sum(lb, la))
        return out

    return _quad(f, integration_points(p_data, p_g, tail=tail))


def _uncovered_1d(a, b) -> float:
    """Length (Lebesgue measure) of the union of closed intervals ``a`` outside the union
    of closed intervals ``b``; ``inf`` if unbounded."""
    total = 0.0
    bm = merge_intervals(b)
    for lo, hi in merge_intervals(a):
        cur = lo  # [lo, cur] is accounted for
        for c, d in bm:
            if d <= cur:
                continue
            if c >= hi:
                break
            if c > cur:
                total += c - cur  # a gap of b inside [lo, hi]
            cur = d
            if cur >= hi:
                break
        if cur < hi:
            total += hi - cur
    return total


def _support_box_covered(box, q_boxes) -> bool:
    return any(all(c <= lo and d >= hi for (lo, hi), (c, d) in zip(box, qb)) for qb in q_boxes)


def _outside_support(p, q, tail: float = 1e-14) -> bool | None:
    """Does ``p`` put positive mass where ``q``'s density is 0?

    Exact where both declare ``support``: in 1-D, by set arithmetic on the intervals
    (the part of p's support outside q's has positive length); in N-D, False when each of
    p's boxes lies in one of q's (always so when q's support is the whole space), None
    (unknown) otherwise. A 1-D distribution without ``support`` is probed with ``logpdf``
    (so that no density underflows to 0) on a fine grid of p's bounds at tails ``tail`` and
    1e-300, its breakpoints and centers. N-D without ``support``: None (unknown).
    """
    sp, sq = getattr(p, "support", None), getattr(q, "support", None)
    if _dim(p) == 1:
        if sp is not None and sq is not None:
            return _uncovered_1d(sp, sq) > 0
        xs = []
        for t in (tail, 1e-300):
            try:
                lo, hi = (float(v) for v in p.bounds(t))
            except (ValueError, TypeError, OverflowError):
                continue
            if np.isfinite(lo) and np.isfinite(hi):
                xs.append(np.linspace(lo, hi, 4001))
        pts = np.array([float(v) for leaf in _leaves(p) for v in _attr(leaf, "breakpoints") + _attr(leaf, "centers")])
        x = np.unique(np.concatenate(xs + [pts]))
        with np.errstate(all="ignore"):
            return bool(np.any((np.asarray(p.logpdf(x)) > -np.inf) & (np.asarray(q.logpdf(x)) == -np.inf)))
    if sp is not None and sq is not None:
        if all(_support_box_covered(box, sq) for box in sp):
            return False
    return None


def _disjoint(p, q) -> bool:
    """True if both declare 1-D ``support`` and the supports overlap in a null set."""
    sp, sq = getattr(p, "support", None), getattr(q, "support", None)
    if _dim(p) != 1 or sp is None or sq is None:
        return False
    return _overlap_1d(sp, sq) == 0.0


def _overlap_1d(a, b) -> float:
    """Length of the intersection of the unions of closed intervals ``a`` and ``b``."""
    total = 0.0
    for lo, hi in merge_intervals(a):
        for c, d in merge_intervals(b):
            total += max(min(hi, d) - max(lo, c), 0.0)
    return total


def kl(p, q, *, method: str = "quad", n: int = 100_000, rng=None, tail: float = 1e-14) -> Estimate:
    """``KL(p || q) = int p log(p / q)`` (Kullback & Leibler 1951), nats.

    ``inf`` (method 'exact') when p puts positive mass where q's density is 0 (Cover &
    Thomas 2006, eq. 2.26 with ``p log(p/0) = inf``): decided over the whole support of
    p, exactly from the distributions' ``support`` where they declare it (a normal p has
    mass outside every bounded interval, so ``KL(N(0, 1) || U(-8, 8)) = inf``), otherwise
    by probing ``logpdf`` on a fine grid of p's bounds (1-D); with 'mc', also when a draw
    of p has ``q = 0``.

    'quad': adaptive quadrature over p's pieces (1-D only). 'mc': the mean of
    ``log p(x) - log q(x)``, ``x ~ p``, needing only ``logpdf`` and ``rvs`` (any
    dimension).
    """
    _check_pair(p, q, method)
    if _outside_support(p, q, tail):
        return Estimate(float("inf"), 0.0, "exact", 0)
    if method == "mc":
        x = p.rvs(_n(n), as_rng(rng))
        lp, lq = np.asarray(p.logpdf(x)), np.asarray(q.logpdf(x))
        if np.any(np.isneginf(lq) & (lp > -np.inf)):  # a draw of p where q = 0
            return Estimate(float("inf"), 0.0, "exact", int(x.shape[0]))
        return _mc(lp - lq)

    def f(x):
        la = float(p.logpdf(x))
        if la == -np.inf:
            return 0.0
        return np.exp(la) * (la - float(q.logpdf(x)))

    return _quad(f, integration_points(p, tail=tail))


def jsd(p, q, *, method: str = "quad", n: int = 100_000, rng=None, tail: float = 1e-14) -> Estimate:
    """``JSD(p || q) = KL(p || m)/2 + KL(q || m)/2``, ``m = (p + q)/2`` (Lin 1991;
    Goodfellow et al. 2014, eq. 6), nats, in ``[0, log 2]``: always finite (m is
    positive wherever p or q is), ``log 2`` exactly (method 'exact') when the supports
    are disjoint (the bound ``log 2`` is reached iff p and q are mutually singular,
    Lin 1991).

    'quad': the two KL integrals separately, ``log m = logaddexp(log p, log q) - log 2``
    (1-D only). 'mc': ``(mean_{x~p} log(2p/(p+q)) + mean_{y~q} log(2q/(p+q)))/2``,
    needing only ``logpdf`` and ``rvs`` (any dimension, e.g. :func:`ring2d`).
    """
    _check_pair(p, q, method)
    if _disjoint(p, q):
        return Estimate(LOG2, 0.0, "exact", 0)
    if method == "mc":
        rng = as_rng(rng)
        n = _n(n)
        x, y = p.rvs(n, rng), q.rvs(n, rng)
        return _mc(LOG2 + _log_ratio_to_sum(p.logpdf(x), q.logpdf(x)),
                   LOG2 + _log_ratio_to_sum(q.logpdf(y), p.logpdf(y)), weight=0.5)

    kl_to_m = kl_to_mixture_integrand

    edges = integration_points(p, q, tail=tail)
    r1, r2 = _quad(kl_to_m(p, q), edges), _quad(kl_to_m(q, p), edges)
    return Estimate(0.5 * (r1.value + r2.value), 0.5 * (r1.error + r2.error), "quad", r1.n + r2.n)


def d_star_function(p_data, p_g, logit: bool = False) -> Callable[[np.ndarray], np.ndarray]:
    """``x -> D*(x)`` for two distributions: probabilities (:func:`d_star`) or,
    with ``logit``, logits ``log p_data - log p_g`` (:func:`d_star_logit`).

    Use the logits with :func:`value` (``logit=True``): where ``p_g/p_data``
    is below machine epsilon the probability rounds to 1 and ``log(1 - D*)`` to
    ``-inf``, while its logit stays exact.
    """
    if logit:
        return lambda x: d_star_logit(p_data.logpdf(x), p_g.logpdf(x))
    return lambda x: d_star(p_data.pdf(x), p_g.pdf(x))


def d_star_perturbation(p_data, p_g, g: Callable[[float], float], eps: float) -> Estimate:
    """The exact change of ``V`` when D* is perturbed along a bounded function ``g``
    (``|g| <= 1``): with ``h = D*(1 - D*) g``, ``D* + eps h`` stays in [0, 1] for ``0 <= eps <= 1``
    and

        V(D* + eps h, G) - V(D*, G) = int p log(1 + eps (1 - D*) g) + q log(1 - eps D* g) dx  <= 0,

    which is at most 0 by Proposition 1 (Goodfellow et al. 2014: D* maximises ``V``
    pointwise). ``log D`` and ``log(1 - D)`` are split so no ``log(1 - D*)`` is formed; D* in
    logit space (:func:`d_star_logit`); adaptive quadrature over :func:`integration_points`.

    Parameters
    ----------
    p_data, p_g : 1-D distributions (``logpdf``, ``bounds``)
    g : callable ``float -> float`` with ``|g| <= 1`` (not checked)
    eps : float in [0, 1]

    Raises
    ------
    ValueError
        ``eps`` outside [0, 1].
    """
    from scipy.special import expit

    if not 0 <= eps <= 1:
        raise ValueError(f"eps must be in [0, 1] (D* + eps h must stay in [0, 1]), got {eps}")

    def f(x):
        lp, lq = p_data.logpdf(x), p_g.logpdf(x)
        l = d_star_logit(lp, lq)
        out = 0.0
        if lp > -np.inf:
            out += np.exp(lp) * np.log1p(eps * expit(-l) * g(x))
        if lq > -np.inf:
            out += np.exp(lq) * np.log1p(-eps * expit(l) * g(x))
        return float(out)

    return _quad(f, integration_points(p_data, p_g), 1e-14, 1e-10)
