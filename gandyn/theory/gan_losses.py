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
for ``W_1``), so :func:`evaluate_identity` compares two independent quadratures.

References: [G14] Goodfellow et al. 2014; [M17] Mao et al. 2017, "Least squares
GANs"; [N16] Nowozin, Cseke & Tomioka 2016, "f-GAN"; [A17] Arjovsky, Chintala &
Bottou 2017, "Wasserstein GAN" (Kantorovich-Rubinstein duality, their eq. 2);
for 1-D ``W_1 = int |F_p - F_q|`` see Villani 2009, Remark 2.19 / Vallender 1974.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from gandyn.engine import losses as _losses
from gandyn.theory.divergences import (Estimate, _quad, kl_to_mixture_integrand, check_density, integration_points,
                                       jsd, kl)

__all__ = [
    "d_value_at_optimum", "g_criterion_at_optimum", "pearson_chi2", "triangular_discrimination",
    "squared_hellinger", "total_variation", "wasserstein1", "optimal_critic", "critic_value",
    "f_divergence", "Identity", "identities", "evaluate_identity", "crossings", "Critic", "DIVERGENCES",
    "stationarity", "relativistic_divergence",
]


def _f1(x):
    return np.asarray(x, dtype=np.float64).reshape(())


def crossings(fun: Callable, edges, n: int = 4001) -> list[float]:
    """Points in ``(edges[0], edges[-1])`` where ``fun`` changes sign: sign changes
    between the nonzero values on ``n`` equally spaced points (and the edges),
    refined by Brent's method to ``xtol = 1e-14``. ``fun`` takes an array of points.
    Used as breakpoints of kinked integrands (``|p - q|``, ``|F_p - F_q|``)."""
    from scipy.optimize import brentq  # here: importing scipy.optimize costs every command a quarter second

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

    kinked = any(t.divergence == "total_variation" for t in L.theory)  # |p - q|: cut where p = q
    edges = _density_edges(p_data, p_g) if kinked else _ip(p_data, p_g)
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


#: The divergences a loss's theory (:class:`gandyn.engine.losses.OptimumIdentity`) may name, each
#: ``(p, q) -> float`` by its own integrand.
DIVERGENCES: dict[str, Callable] = {
    "jsd": lambda p, q: jsd(p, q).value,
    "kl": lambda p, q: kl(p, q).value,
    "reverse_kl": lambda p, q: kl(q, p).value,
    "kl_q_to_mixture": lambda p, q: _kl_to_mixture(q, p).value,
    "pearson_chi2": lambda p, q: pearson_chi2(p, q).value,
    "squared_hellinger": lambda p, q: squared_hellinger(p, q).value,
    "total_variation": lambda p, q: total_variation(p, q).value,
    "triangular_discrimination": lambda p, q: triangular_discrimination(p, q).value,
    "wasserstein1": lambda p, q: wasserstein1(p, q).value,
}


def _rhs(spec):
    """``(p, q) -> scale * divergence + shift`` of an :class:`~gandyn.engine.losses.OptimumIdentity`;
    its ``divergence`` is a name of :data:`DIVERGENCES` or ``((name, coefficient), ...)``."""
    terms = ((spec.divergence, 1.0),) if isinstance(spec.divergence, str) else tuple(spec.divergence)
    for name, _ in terms:
        if name not in DIVERGENCES:
            raise ValueError(f"unknown divergence {name!r} in a loss's theory; choose from {', '.join(DIVERGENCES)}")
    return lambda p, q: spec.scale * sum(c * DIVERGENCES[n](p, q) for n, c in terms) + spec.shift


def stationarity(loss, p_data, p_g) -> Estimate:
    """``int |p d_real'(o*) + q d_fake'(o*)| dx``: zero when the loss's stated optimal D
    minimises D's loss pointwise (first-order condition of Goodfellow et al. 2014, Prop. 1's
    argument); for a user loss that states ``optimal_d``."""
    L = _losses.get(loss)

    def f(x):
        lp, lq = _lpq(p_data, p_g, x)
        with np.errstate(all="ignore"):
            o = _f1(L.optimal_d_log(lp, lq))
            out = (np.exp(lp) * float(L.d_real.df(o)) if lp > -np.inf else 0.0) + (
                np.exp(lq) * float(L.d_fake.df(o)) if lq > -np.inf else 0.0)
        return abs(out)

    return _quad(f, _ip(p_data, p_g))


def identities(loss) -> list[Identity]:
    """The identities of ``loss`` (a name or :class:`~gandyn.engine.losses.Loss`) that
    :func:`evaluate_identity` compares, from the theory the loss states (``loss.theory``,
    :class:`gandyn.engine.losses.OptimumIdentity`): ``-min L_D`` (side ``'d'``), G's criterion at the
    optimum (``'g'``; ``'g+'`` with the term G cannot change) against ``scale * divergence +
    shift``. A separable loss that states ``optimal_d`` but no identity gets the stationarity
    of D's loss at it (:func:`stationarity`, 0). ``[]`` when it states nothing (the smoothed
    cross-entropy, the relativistic losses: see :func:`relativistic_divergence`)."""
    L = _losses.get(loss)
    lab = L.label
    sides = {"d": lambda p, q: d_value_at_optimum(L, p, q),
             "g": lambda p, q: g_criterion_at_optimum(L, p, q),
             "g+": lambda p, q: g_criterion_at_optimum(L, p, q, extended=True)}
    out = []
    for spec in L.theory:
        if spec.side not in sides:
            raise ValueError(f"loss {lab}: an identity's side must be 'd', 'g' or 'g+', got {spec.side!r}")
        out.append(Identity(lab, spec.label, sides[spec.side], _rhs(spec), spec.source))
    if not out and L.has_optimal_d and L.separable:
        out.append(Identity(lab, "int |p d_real'(o*) + q d_fake'(o*)| = 0", lambda p, q: stationarity(L, p, q),
                            lambda p, q: 0.0, "the stated optimal D is stationary (Goodfellow et al. 2014, Prop. 1)"))
    return out


def _kl_to_mixture(a, b) -> Estimate:
    """``KL(a || m)``, ``m = (a + b)/2``, by quadrature in log space."""
    return _quad(kl_to_mixture_integrand(a, b), _ip(a, b))


def evaluate_identity(identity: Identity, p, q) -> dict:
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



# --- relativistic losses: the divergence of the maximised objective


def relativistic_divergence(loss, p, q, *, restarts: int = 4, rng=0) -> float:
    """``L_D(C = 0) - min_C L_D(C)`` for distributions on one finite support: real outputs
    drawn from the probability vector ``p``, fake ones from ``q``, D's output ``C`` free at
    each support point (the population loss :meth:`Loss.expected_d_loss
    <gandyn.engine.losses.Loss.expected_d_loss>`), minimised by
    :func:`scipy.optimize.minimize` (BFGS, then Nelder-Mead from the best point; ``restarts``
    random starts besides ``C = 0``).

    Jolicoeur-Martineau 2020 ("On relativistic f-divergences", ICML, Thm. 1) shows that the
    maximised relativistic objective is a divergence: ``>= 0`` (``C = 0`` is feasible) and
    ``0`` iff ``p = q``. The tests check both on random supports.

    Parameters
    ----------
    loss : name or Loss with a population form (separable, or a registered relativistic one)
    p, q : arrays (n,) of probabilities on the same support

    Raises
    ------
    ValueError
        ``p``, ``q`` not probability vectors of one length.
    """
    from scipy.optimize import minimize

    L = _losses.get(loss)
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    for name, w in (("p", p), ("q", q)):
        if w.ndim != 1 or w.shape != p.shape or np.any(w < 0) or not abs(w.sum() - 1.0) < 1e-9:
            raise ValueError(f"{name} must be a probability vector of length {p.size}")
    n = p.size

    def f(c):
        return L.expected_d_loss(c, p, q)

    zero = f(np.zeros(n))
    best = zero
    gen = np.random.default_rng(rng)
    for c0 in [np.zeros(n)] + [gen.normal(size=n) for _ in range(restarts)]:
        r = minimize(f, c0, method="BFGS", options={"gtol": 1e-12, "maxiter": 2000})
        r = minimize(f, r.x, method="Nelder-Mead", options={"xatol": 1e-12, "fatol": 1e-15, "maxiter": 20000})
        best = min(best, float(r.fun))
    return zero - best
