"""Theory for every GAN loss: the optimal discriminator and the divergence it turns
the game into, verified by quadrature.

For a loss of :mod:`gandyn.engine.losses` D minimises, pointwise in x,
``p(x) d_real(o) + q(x) d_fake(o)`` (``p = p_data``, ``q = p_g``; the argument
of Goodfellow et al. 2014, Prop. 1), so its optimal output ``o*(x)`` is a function
of the two density values (:meth:`Loss.optimal_d <gandyn.engine.losses.Loss.optimal_d>`),
and D's value at the optimum,

    -min_D L_D = -int p d_real(o*) + q d_fake(o*) dx,

is a divergence (an integral probability metric for WGAN):

======================  =============================================  ==================================
loss                    ``o*``                                         ``-min L_D`` (and G's criterion)
======================  =============================================  ==================================
nonsat, minimax         ``log(p/q)`` (D* = p/(p+q))                    ``-log 4 + 2 JSD`` [G14, Thm. 1]
ls(a, b, c)             ``(b p + a q)/(p + q)`` [M17, eq. 6]           ``(b-a)^2 Delta/8 - (b-a)^2/4``;
                                                                       G: ``(a+b-2c)^2/4 + (b-a)^2 Delta/8``
                                                                       (= ``Delta/2`` under Thm. 1) [M17]
hinge                   ``sign(p - q)``                                ``2 TV - 2``
wgan                    ``f*(x) = int^x sign(F_q - F_p)`` (critic)     ``W_1 = int |F_p - F_q|`` [A17]
kl, reverse-kl, ...     ``g_f^{-1}(f'(p/q))``, ``T* = f'(p/q)``        ``D_f(P || Q)`` [N16, eq. 4-5]
======================  =============================================  ==================================

``Delta = int (p - q)^2/(p + q)`` is Mao et al.'s ``chi^2_Pearson(p + q || 2q)``
(their Thm. 1: ``2 C(G) = int (2q - (p + q))^2/(p + q)``), and ``TV = 1/2 int |p - q|``.
The nonsat generator's criterion at D* is ``E_q[-log D*] = KL(q || p) - KL(q || m) + log 2``,
``m = (p + q)/2`` (derived; its gradient is Arjovsky & Bottou 2017, Thm. 2.5's).

Each left-hand side here is computed from the loss's *own* elementwise functions
at ``o*``; each right-hand side from the divergence's own integrand (or the CDFs,
for ``W_1``), so :func:`check_identity` compares two independent quadratures.

References: [G14] Goodfellow et al. 2014; [M17] Mao et al. 2017, "Least squares
GANs"; [N16] Nowozin, Cseke & Tomioka 2016, "f-GAN"; [A17] Arjovsky, Chintala &
Bottou 2017, "Wasserstein GAN" (Kantorovich-Rubinstein duality, their eq. 2);
for 1-D ``W_1 = int |F_p - F_q|`` see Villani 2009, Remark 2.19 / Vallender 1974.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
from scipy.optimize import brentq

from gandyn.engine import losses as _losses
from gandyn.theory.divergences import (LOG2, LOG4, Estimate, _quad, kl_to_mixture_integrand, check_density, integration_points,
                                       jsd, kl)

__all__ = [
    "d_value_at_optimum", "g_criterion_at_optimum", "pearson_chi2", "triangular_discrimination",
    "squared_hellinger", "total_variation", "wasserstein1", "optimal_critic", "critic_value",
    "f_divergence", "Identity", "identities", "check_identity", "crossings", "Critic",
]


def _f1(x):
    return np.asarray(x, dtype=np.float64).reshape(())


def crossings(fun: Callable, edges, n: int = 4001) -> list[float]:
    """Points in ``(edges[0], edges[-1])`` where ``fun`` changes sign: sign changes
    between the nonzero values on ``n`` equally spaced points (and the edges),
    refined by Brent's method to ``xtol = 1e-14``. ``fun`` takes an array of points.
    Used as breakpoints of kinked integrands (``|p - q|``, ``|F_p - F_q|``)."""
    lo, hi = float(edges[0]), float(edges[-1])
    x = np.unique(np.concatenate([np.linspace(lo, hi, n), np.asarray(edges, dtype=float)]))

    def g(t):
        with np.errstate(invalid="ignore"):
            return np.clip(np.nan_to_num(np.asarray(fun(t), dtype=np.float64)), -1e300, 1e300)

    s = np.sign(g(x))
    nz = np.flatnonzero(s != 0)
    out = []
    for i, j in zip(nz[:-1], nz[1:]):
        if s[i] != s[j]:
            out.append(float(brentq(lambda t: float(g(np.array([t]))[0]), x[i], x[j], xtol=1e-14,
                                    rtol=4 * np.finfo(float).eps)))
    return out


#: Integration range: all but ``TAIL`` of each distribution's mass. Narrower than the
#: Goodfellow-theory default (1e-14) because integrands such as ``p^2/q`` (Pearson)
#: put mass where both densities are small.
TAIL = 1e-30


def _ip(p, q):
    return integration_points(p, q, tail=TAIL)


def _edges(p, q, extra=()):
    e = _ip(p, q)
    return np.unique(np.concatenate([e, [t for t in extra if e[0] < t < e[-1]]]))


def _log_diff(p, q):
    """``x -> log p(x) - log q(x)`` with ``-inf - -inf`` taken as 0 (for crossings)."""
    def f(x):
        a, b = p.logpdf(x), q.logpdf(x)
        same = a == b
        return np.where(same, 0.0, a - np.where(same, 0.0, b))
    return f


def _density_edges(p, q):
    """Integration pieces cut also where ``p = q`` (kinks of ``|p - q|``, ``min(p, q)``)."""
    e = _ip(p, q)
    return _edges(p, q, crossings(_log_diff(p, q), e))


def _lpq(p, q, x):
    return float(p.logpdf(x)), float(q.logpdf(x))


# --- the loss's side: its own functions at the optimal output


def d_value_at_optimum(loss, p_data, p_g) -> Estimate:
    """``-min_D L_D = -int p d_real(o*) + q d_fake(o*) dx`` by quadrature of
    :meth:`Loss.value_at_optimum_log <gandyn.engine.losses.Loss.value_at_optimum_log>`
    (``o* = loss.optimal_d``, the loss's own ``d_real``, ``d_fake``).

    For ``wgan`` (no pointwise optimum) the value ``E_p f* - E_q f*`` of the optimal
    1-Lipschitz critic :func:`optimal_critic`. Raises ValueError where the value
    is infinite (a divergence between distributions that are not mutually
    absolutely continuous where it needs them to be).
    """
    L = _losses.get(loss)
    check_density(p_data, "p_data")
    check_density(p_g, "p_g")
    if not L.has_optimal_d:
        return critic_value(optimal_critic(p_data, p_g), p_data, p_g)

    def f(x):
        lp, lq = _lpq(p_data, p_g, x)
        with np.errstate(all="ignore"):
            out = float(L.value_at_optimum_log(lp, lq))
        if not np.isfinite(out):
            raise ValueError(f"{L.label}: D's value at the optimum is infinite at x = {x:g} "
                             "(the divergence is infinite for this pair)")
        return out

    edges = _density_edges(p_data, p_g) if L.name == "hinge" else _ip(p_data, p_g)
    return _quad(f, edges)


def g_criterion_at_optimum(loss, p_data, p_g, extended: bool = False) -> Estimate:
    """G's loss against the optimal D, ``int q g_fake(o*) dx``; with ``extended``
    also ``+ int p g_fake(o*) dx`` (Mao et al. 2017, eq. 7: the term G cannot
    change, added to make LSGAN's criterion a divergence)."""
    L = _losses.get(loss)
    check_density(p_data, "p_data")
    check_density(p_g, "p_g")

    def f(x):
        lp, lq = _lpq(p_data, p_g, x)
        with np.errstate(all="ignore"):
            o = _f1(L.optimal_d_log(lp, lq))
            g = float(L.g_fake.f(o))
            out = np.exp(lq) * g if lq > -np.inf else 0.0
            if extended and lp > -np.inf:
                out += np.exp(lp) * g
        if not np.isfinite(out):
            raise ValueError(f"{L.label}: G's criterion at the optimum is infinite at x = {x:g}")
        return out

    return _quad(f, _ip(p_data, p_g))


# --- the divergences, each by its own integrand


def pearson_chi2(p, q) -> Estimate:
    """``chi^2(P || Q) = int (p - q)^2 / q = int q (p/q - 1)^2 dx`` (Pearson 1900;
    the f-divergence of ``f(u) = (u - 1)^2``, Nowozin et al. 2016, Table 1).
    ``inf`` when q vanishes where p does not."""
    def f(x):
        lp, lq = _lpq(p, q, x)
        if lp == -np.inf:
            return float(np.exp(lq))
        if lq == -np.inf:
            return np.inf
        return float(np.exp(lq) * np.expm1(lp - lq) ** 2)

    return _finite(_quad(f, _ip(p, q)))


def _finite(e: Estimate) -> Estimate:
    return e if np.isfinite(e.value) else Estimate(float("inf"), 0.0, "exact", e.n)


def triangular_discrimination(p, q) -> Estimate:
    """``Delta(p, q) = int (p - q)^2 / (p + q) dx`` in ``[0, 2]`` (Vincze 1981, Le Cam
    1986; Mao et al. 2017, Thm. 1 write it ``chi^2_Pearson(p + q || 2q)``),
    computed as ``int (p + q) tanh^2((log p - log q)/2)``."""
    def f(x):
        lp, lq = _lpq(p, q, x)
        if lp == lq == -np.inf:
            return 0.0
        t = 1.0 if (lp == -np.inf or lq == -np.inf) else np.tanh(0.5 * (lp - lq))
        return float(np.exp(np.logaddexp(lp, lq)) * t * t)

    return _quad(f, _ip(p, q))


def squared_hellinger(p, q) -> Estimate:
    """``H^2 = int (sqrt p - sqrt q)^2 dx`` in ``[0, 2]`` (the f-divergence of
    ``f(u) = (sqrt u - 1)^2``, Nowozin et al. 2016, Table 1; no factor 1/2)."""
    def f(x):
        lp, lq = _lpq(p, q, x)
        return float((np.exp(0.5 * lp) - np.exp(0.5 * lq)) ** 2)

    return _quad(f, _ip(p, q))


def total_variation(p, q) -> Estimate:
    """``TV(P, Q) = sup_A |P(A) - Q(A)| = 1/2 int |p - q| dx`` in ``[0, 1]``, the
    pieces cut where ``p = q``."""
    def f(x):
        return 0.5 * abs(float(p.pdf(np.array([x]))[0]) - float(q.pdf(np.array([x]))[0]))

    return _quad(f, _density_edges(p, q))


def f_divergence(fgan, p, q) -> Estimate:
    """``D_f(P || Q) = int q f(p/q) dx`` for the ``f`` of an f-GAN loss
    (:class:`~gandyn.engine.losses.FGan`, Nowozin et al. 2016, eq. 2), evaluated
    directly (no logarithms saved): a check of the loss's ``f`` against its ``f*``
    and ``g_f``. Needs ``q > 0`` wherever ``p > 0``."""
    def f(x):
        pp, qq = float(p.pdf(np.array([x]))[0]), float(q.pdf(np.array([x]))[0])
        if qq == 0.0:
            if pp == 0.0:
                return 0.0
            return np.inf
        with np.errstate(divide="ignore"):
            return qq * float(fgan.f(np.array(pp / qq)))

    return _finite(_quad(f, _ip(p, q)))


def _cdf_diff(p, q):
    def f(x):
        x = np.asarray(x, dtype=np.float64)
        d = p.cdf(np.atleast_1d(x)) - q.cdf(np.atleast_1d(x))
        return d.reshape(x.shape) if x.ndim else float(d[0])
    return f


def _cdf_edges(p, q):
    e = _ip(p, q)
    return _edges(p, q, crossings(_cdf_diff(p, q), e))


def wasserstein1(p, q) -> Estimate:
    """``W_1(P, Q) = int |F_P(x) - F_Q(x)| dx`` for 1-D distributions with CDFs
    (Vallender 1974; Villani 2009, Remark 2.19), the pieces cut where the CDFs
    cross."""
    dcdf = _cdf_diff(p, q)
    return _quad(lambda x: abs(dcdf(x)), _cdf_edges(p, q))


class Critic(NamedTuple):
    """A piecewise-linear 1-Lipschitz critic: ``f(x) = values[j] + slopes[j] (x - knots[j])``
    on ``[knots[j], knots[j+1]]`` (constant continuation outside)."""

    knots: np.ndarray
    slopes: np.ndarray
    values: np.ndarray

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        xc = np.clip(x, self.knots[0], self.knots[-1])
        j = np.clip(np.searchsorted(self.knots, xc, side="right") - 1, 0, len(self.slopes) - 1)
        return self.values[j] + self.slopes[j] * (xc - self.knots[j])


def optimal_critic(p, q) -> Critic:
    """The optimal WGAN critic in 1-D: ``f*(x) = int_{lo}^x sign(F_q - F_p)(t) dt``.

    Integrating by parts, ``E_p f - E_q f = int f'(x) (F_q(x) - F_p(x)) dx``
    for Lipschitz ``f`` (both CDFs integrable tails), which over ``|f'| <= 1`` is
    largest for ``f' = sign(F_q - F_p)``, where it equals ``int |F_p - F_q| = W_1``
    (Kantorovich-Rubinstein duality; Arjovsky et al. 2017, eq. 2). ``f*`` is
    piecewise linear with knots where the CDFs cross, 0 at the left end ``lo``.
    """
    e = _cdf_edges(p, q)
    dcdf = _cdf_diff(p, q)
    knots = np.asarray(e, dtype=np.float64)
    def sign_on(a, b):  # F_q - F_p keeps its sign between knots; far in a tail it rounds to 0,
        t = np.linspace(a, b, 11)[1:-1]  # so take the sign where it is largest on the piece
        d = -np.asarray(dcdf(t), dtype=np.float64)
        return np.sign(d[np.argmax(np.abs(d))])

    slopes = np.array([sign_on(a, b) for a, b in zip(knots[:-1], knots[1:])])
    values = np.concatenate([[0.0], np.cumsum(slopes * np.diff(knots))])
    return Critic(knots, slopes, values)


def critic_value(critic: Callable, p, q) -> Estimate:
    """``E_p f - E_q f = int f(x) (p(x) - q(x)) dx`` by quadrature (the WGAN value of a
    critic ``f``; D's loss is its negative)."""
    edges = _ip(p, q)
    if isinstance(critic, Critic):
        edges = _edges(p, q, critic.knots)

    def f(x):
        xx = np.array([x])
        return float(critic(xx)[0]) * (float(p.pdf(xx)[0]) - float(q.pdf(xx)[0]))

    return _quad(f, edges)


# --- the identities


class Identity(NamedTuple):
    """``lhs(p, q) = rhs(p, q)``: ``lhs`` from the loss's functions at the optimum,
    ``rhs`` from a divergence's own integrand."""

    loss: str
    label: str
    lhs: Callable
    rhs: Callable
    source: str


def _v(e):
    return e.value if isinstance(e, Estimate) else float(e)


def identities(loss) -> list[Identity]:
    """The identities of ``loss`` (a name or :class:`~gandyn.engine.losses.Loss`) that
    :func:`check_identity` verifies; ``[]`` for a custom loss or parameters without one
    (the smoothed cross-entropy)."""
    L = _losses.get(loss)
    lab, n = L.label, L.name
    dv = lambda p, q: d_value_at_optimum(L, p, q)  # noqa: E731
    out = []
    if n in ("nonsat", "minimax") and not L.params:
        out.append(Identity(lab, "-min L_D = -log 4 + 2 JSD", dv, lambda p, q: -LOG4 + 2 * jsd(p, q).value,
                            "Goodfellow et al. 2014, Prop. 1 and Thm. 1"))
        if n == "nonsat":
            out.append(Identity(lab, "E_q[-log D*] = KL(q||p) - KL(q||m) + log 2",
                                lambda p, q: g_criterion_at_optimum(L, p, q),
                                lambda p, q: kl(q, p).value - _kl_to_mixture(q, p).value + LOG2,
                                "derived (cf. Arjovsky & Bottou 2017, Thm. 2.5)"))
    elif n == "ls":
        a, b, c = L.params["a"], L.params["b"], L.params["c"]
        out.append(Identity(lab, "-min L_D = (b-a)^2 Delta/8 - (b-a)^2/4", dv,
                            lambda p, q: (b - a) ** 2 * triangular_discrimination(p, q).value / 8 - (b - a) ** 2 / 4,
                            "Mao et al. 2017, eq. 6 (D*); Delta = chi^2_Pearson(p+q || 2q)"))
        thm = b - c == 1 and b - a == 2
        out.append(Identity(lab, "C(G) = chi^2_Pearson(p+q || 2q)/2" if thm
                            else "C(G) = (a+b-2c)^2/4 + (b-a)^2 Delta/8",
                            lambda p, q: g_criterion_at_optimum(L, p, q, extended=True),
                            lambda p, q: ((a + b - 2 * c) ** 2 / 4
                                          + (b - a) ** 2 * triangular_discrimination(p, q).value / 8),
                            "Mao et al. 2017, Thm. 1 (eq. 8)" if thm
                            else "Mao et al. 2017, eq. 7-8 (general a, b, c; derived)"))
    elif n == "hinge":
        out.append(Identity(lab, "-min L_D = 2 TV - 2", dv, lambda p, q: 2 * total_variation(p, q).value - 2,
                            "Lim & Ye 2017; D* = sign(p - q) (derived)"))
    elif n == "wgan":
        out.append(Identity(lab, "E_p f* - E_q f* = W_1 = int |F_p - F_q|", dv,
                            lambda p, q: wasserstein1(p, q).value,
                            "Arjovsky et al. 2017, eq. 2 (Kantorovich-Rubinstein); Vallender 1974"))
    elif L.fgan is not None:
        rhs = {"kl": lambda p, q: kl(p, q).value, "reverse-kl": lambda p, q: kl(q, p).value,
               "pearson": lambda p, q: pearson_chi2(p, q).value,
               "hellinger": lambda p, q: squared_hellinger(p, q).value,
               "js": lambda p, q: 2 * jsd(p, q).value}.get(n)
        if rhs is not None:
            out.append(Identity(lab, f"F(T*) = D_f = {L.fgan.name}", dv, rhs,
                                "Nowozin et al. 2016, eq. 4-5 (T* = f'(p/q)) and Table 2"))
    return out


def _kl_to_mixture(a, b) -> Estimate:
    """``KL(a || m)``, ``m = (a + b)/2``, by quadrature in log space."""
    return _quad(kl_to_mixture_integrand(a, b), _ip(a, b))


def check_identity(identity: Identity, p, q) -> dict:
    """Both sides of ``identity`` for ``(p, q)`` and ``|lhs - rhs|``.

    A side that is infinite (the quadrature of the loss raises ValueError, or the
    divergence is ``inf``) counts as ``inf``; two infinite sides agree (error 0,
    ``finite`` False)."""
    try:
        lhs = identity.lhs(p, q)
        lv, qerr = _v(lhs), (lhs.error if isinstance(lhs, Estimate) else 0.0)
    except ValueError as err:
        if "infinite" not in str(err):
            raise
        lv, qerr = float("inf"), 0.0
    rhs = _v(identity.rhs(p, q))
    both_inf = np.isinf(lv) and np.isinf(rhs)
    error = 0.0 if both_inf else abs(lv - rhs)
    return {"loss": identity.loss, "identity": identity.label, "lhs": lv, "rhs": rhs, "error": float(error),
            "finite": not bool(both_inf), "quad_error": float(qerr), "source": identity.source}

