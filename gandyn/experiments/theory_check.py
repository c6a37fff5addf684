"""The numerical verification behind ``gandyn theory`` (Goodfellow et al. 2014, Prop. 1, Thm. 1).

- part (a), analytic: over a family of pairs (p_data, p_g), ``V(D*, G)`` by quadrature
  against ``-log 4 + 2 JSD`` (JSD by its own quadrature), and three closed forms:
  U[0,1] vs U[s,1+s] gives ``C(G) = -2(1-s) log 2``; equal distributions give
  ``-log 4``; disjoint supports give 0 (JSD = log 2).
- part (b), learned: a discriminator trained on samples (:func:`gandyn.theory.optimal_d.fit_discriminator`)
  against D* where ``p_data + p_g`` exceeds 1% of its maximum, and
  ``V(D_learned, G)`` against ``C(G)``.
- part (c), maximality: ``V(D* + eps h, G) <= V(D*, G)`` for random bounded h.
- part (l), every loss of :data:`gandyn.engine.losses.LOSSES` (and LSGAN with Mao et al.'s
  Theorem 1 labels): each identity of :func:`gandyn.theory.gan_losses.identities`
  (D's value at its optimum against its divergence: JSD, LSGAN's Pearson chi^2,
  TV, W_1, the f-divergences) over :func:`loss_family`, one row per identity with
  the largest error; for the relativistic losses, that D's maximised objective is a
  divergence on random distributions on a few points (0 at p = q, positive otherwise,
  :func:`gandyn.theory.relativistic_divergence`); and closed forms for shifted normals.

Every function returns plain records (rows of a long table: part, pair, metric,
value, bound, ok); :mod:`gandyn.plotting.theory` draws them.
"""
from __future__ import annotations

from math import log

import numpy as np
from scipy.special import expit

from gandyn import theory as T
from gandyn.engine import losses as L
from gandyn.theory.optimal_d import fit_discriminator
from gandyn.distributions import Mixture, Normal, Uniform
from gandyn.rng import as_rng

__all__ = ["analytic_family", "closed_form_cases", "learned_pairs", "part_a", "part_b", "part_c",
           "random_bounded_function", "BOUNDS", "row", "loss_family", "part_losses"]

#: The bound each check must meet (see docs/theory.md).
BOUNDS = {"identity": 1e-8, "closed_form": 1e-8, "sup": 0.03, "rms": 0.01, "value_gap": 0.01,
          "maximality": 0.0}


def row(part, pair, metric, value, bound=None, ok=None, **extra) -> dict:
    """One line of the result table; with a ``bound`` and no ``ok``, ``ok`` is ``value <= bound``."""
    if ok is None and bound is not None:
        ok = bool(value <= bound)
    r = {"part": part, "pair": pair, "metric": metric, "value": float(value),
         "bound": None if bound is None else float(bound), "ok": ok}
    r.update(extra)
    return r


def analytic_family() -> list[tuple[str, object, object]]:
    """``(name, p_data, p_g)``: Gaussians with shifted means and scales, mixtures, uniforms."""
    fam = []
    for mu in (0.0, 0.5, 1.0, 2.0, 4.0):
        fam.append((f"N(0,1) vs N({mu:g},1)", Normal(0.0, 1.0), Normal(mu, 1.0)))
    for s in (0.25, 0.5, 2.0, 4.0):
        fam.append((f"N(0,1) vs N(0,{s:g})", Normal(0.0, 1.0), Normal(0.0, s)))
    fam.append(("N(0,1) vs N(2,0.5)", Normal(0.0, 1.0), Normal(2.0, 0.5)))
    bimodal = Mixture([Normal(-2.0, 0.5), Normal(2.0, 0.5)], [0.5, 0.5])
    fam.append(("bimodal vs N(0,1.5)", bimodal, Normal(0.0, 1.5)))
    fam.append(("bimodal vs N(2,0.5) (mode collapse)", bimodal, Normal(2.0, 0.5)))
    fam.append(("3-mixture vs U(-3,3)",
                Mixture([Normal(-2.0, 0.3), Uniform(-0.5, 0.5), Normal(2.0, 0.6)], [0.3, 0.3, 0.4]),
                Uniform(-3.0, 3.0)))
    fam.append(("U(0,1) vs N(0.5,0.3)", Uniform(0.0, 1.0), Normal(0.5, 0.3)))
    fam.append(("U(0,1) vs U(-0.5,2)", Uniform(0.0, 1.0), Uniform(-0.5, 2.0)))
    return fam


def closed_form_cases() -> list[tuple[str, object, object, float]]:
    """``(name, p_data, p_g, C(G) in closed form)``."""
    cases = []
    for s in (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0):
        cases.append((f"U(0,1) vs U({s:g},{1 + s:g})", Uniform(0.0, 1.0), Uniform(s, 1.0 + s),
                      -2 * (1 - s) * log(2)))
    same = Mixture([Normal(-1.0, 0.4), Uniform(0.0, 2.0)], [0.3, 0.7])
    cases.append(("equal: N(1,2) vs N(1,2)", Normal(1.0, 2.0), Normal(1.0, 2.0), -log(4)))
    cases.append(("equal: mixture vs itself", same, same, -log(4)))
    cases.append(("disjoint: U(0,1) vs U(2,3)", Uniform(0.0, 1.0), Uniform(2.0, 3.0), 0.0))
    cases.append(("disjoint: U(-2,-1) vs mixture of uniforms", Uniform(-2.0, -1.0),
                  Mixture([Uniform(0.0, 1.0), Uniform(3.0, 5.0)], [0.5, 0.5]), 0.0))
    return cases


def part_a() -> tuple[list[dict], list[dict]]:
    """Theorem 1 over the family and the closed forms.

    Returns ``(rows, points)``; ``points`` holds ``(name, jsd, c)`` for the C-vs-JSD figure.
    """
    rows, points = [], []
    for name, p, q, exact in [(*pair, None) for pair in analytic_family()] + closed_form_cases():
        v = T.value(T.d_star_function(p, q, logit=True), p, q, logit=True)  # V(D*, G), D* in logit space
        j = T.jsd(p, q)
        diff = abs(v.value - (-T.LOG4 + 2 * j.value))
        if exact is None:  # the family: the two sides of the identity
            rows.append(row("a", name, "V(D*,G)", v.value, quad_error=v.error))
            rows.append(row("a", name, "JSD", j.value, quad_error=j.error))
        else:
            d1 = abs(v.value - exact)
            rows.append(row("a", name, "|C(G) - closed form|", d1, BOUNDS["closed_form"], closed_form=exact, c=v.value))
        rows.append(row("a", name, "|V(D*,G) - (-log4 + 2 JSD)|", diff, BOUNDS["identity"]))
        points.append({"pair": name, "jsd": j.value, "c": v.value,
                       "kind": "family" if exact is None else "closed form"})
    return rows, points


def learned_pairs(quick: bool = False) -> list[tuple[str, object, object, bool]]:
    """``(name, p_data, p_g, bounded)``: the Gaussian pairs the bounds apply to, and
    one mixture pair reported without a bound."""
    pairs = [("N(0,1) vs N(1,1)", Normal(0.0, 1.0), Normal(1.0, 1.0), True)]
    if quick:
        return pairs
    pairs += [
        ("N(0,1) vs N(0,2)", Normal(0.0, 1.0), Normal(0.0, 2.0), True),
        ("N(0,1) vs N(2,0.5)", Normal(0.0, 1.0), Normal(2.0, 0.5), True),
        ("N(-1,1) vs N(1.5,1.5)", Normal(-1.0, 1.0), Normal(1.5, 1.5), True),
        ("bimodal vs N(0,1.5)", Mixture([Normal(-2.0, 0.5), Normal(2.0, 0.5)], [0.5, 0.5]),
         Normal(0.0, 1.5), False),
    ]
    return pairs


def part_b(seed: int = 0, quick: bool = False, progress: bool = False, **fit_kw):
    """Train D on samples for each pair of :func:`learned_pairs` and compare with D*.

    Errors are measured on a 2001-point grid where ``p_data + p_g > 0.01 max``;
    RMS is the root mean square over those (equally spaced) points.
    Returns ``(rows, curves)``; ``curves`` holds the arrays for the figure.
    """
    from tqdm.auto import tqdm

    rows, curves = [], []
    pairs = learned_pairs(quick)
    # one bar over all pairs: each fit advances it by max_steps (a fit that stops on a
    # plateau jumps to the end of its share), so it ends at 100%
    max_steps = int(fit_kw.get("max_steps", 20_000))
    bar = tqdm(total=len(pairs) * max_steps, desc=f"(b) training D: pair 1 of {len(pairs)}",
               disable=not progress, unit="step", leave=False)
    for i, (name, p, q, bounded) in enumerate(pairs):
        bar.set_description(f"(b) training D: pair {i + 1} of {len(pairs)}", refresh=False)
        fit = fit_discriminator(lambda r, m, p=p: p.rvs(m, r), lambda r, m, q=q: q.rvs(m, r),
                                seed + i, progress=bar if progress else False, **fit_kw)
        x = np.linspace(min(p.bounds(1e-9)[0], q.bounds(1e-9)[0]), max(p.bounds(1e-9)[1], q.bounds(1e-9)[1]), 2001)
        pp, qq = p.pdf(x), q.pdf(x)
        s = pp + qq
        region = s > 0.01 * s.max()
        ds = T.d_star(pp, qq)
        dl = fit.prob(x)
        err = np.abs(dl - ds)[region]
        sup, rms = float(err.max()), float(np.sqrt(np.mean(err ** 2)))
        v = T.value(fit.logit, p, q, logit=True, epsabs=1e-10, epsrel=1e-8)
        c = T.c_of_g(p, q)
        gap = c.value - v.value
        extra = dict(steps=fit.steps, stopped=fit.stopped, final_loss=fit.final_loss)
        for metric, value, bound, more in (
                ("sup |D_learned - D*|", sup, BOUNDS["sup"], {"x_at": float(x[region][np.argmax(err)])}),
                ("RMS |D_learned - D*|", rms, BOUNDS["rms"], {}),
                ("C(G) - V(D_learned,G)", gap, BOUNDS["value_gap"],
                 {"c": c.value, "v": v.value, "quad_error": v.error})):
            rows.append(row("b", name, metric, value, bound if bounded else None,
                            (abs(value) <= bound) if bounded else None, **more, **extra))
        curves.append({"pair": name, "x": x, "p_data": pp, "p_g": qq, "d_star": ds, "d_learned": dl,
                       "region": region, "sup": sup, "rms": rms, "gap": gap, "steps": fit.steps})
    bar.close()
    return rows, curves


def random_bounded_function(rng, k: int = 6, scale: float = 3.0):
    """A random ``g: R -> [-1, 1]``: ``sum_j a_j cos(w_j x + phi_j) / sum_j |a_j|``
    with ``a ~ N(0,1)``, ``w ~ U(0, scale)``, ``phi ~ U(0, 2 pi)``."""
    rng = as_rng(rng)
    a = rng.standard_normal(k)
    w = rng.uniform(0.0, scale, k)
    phi = rng.uniform(0.0, 2 * np.pi, k)
    a = a / np.abs(a).sum()
    return lambda x: np.cos(np.multiply.outer(np.asarray(x, dtype=float), w) + phi) @ a


def part_c(seed: int = 0, n_h: int = 10, eps=(1e-3, 1e-2, 0.1, 0.5)):
    """Maximality of D* over the analytic family: for random ``g`` with ``|g| <= 1`` the
    perturbation ``h = D*(1 - D*) g`` keeps ``D* + eps h`` in [0, 1] for eps <= 1,
    and the exact change

        V(D* + eps h) - V(D*) = int p log(1 + eps (1 - D*) g) + q log(1 - eps D* g) dx

    (log D and log(1 - D) split, so no ``log(1 - D*)`` is formed) must be <= 0.
    Returns ``(rows, points)``; points hold every (pair, eps, delta) for the figure.
    """
    rng = as_rng(seed)
    rows, points = [], []
    for name, p, q in analytic_family():
        worst = -np.inf
        for _ in range(n_h):
            g = random_bounded_function(rng)
            for e in eps:
                def f(x, g=g, e=e):
                    lp, lq = p.logpdf(x), q.logpdf(x)
                    l = T.d_star_logit(lp, lq)
                    out = 0.0
                    if lp > -np.inf:
                        out += np.exp(lp) * np.log1p(e * expit(-l) * g(x))
                    if lq > -np.inf:
                        out += np.exp(lq) * np.log1p(-e * expit(l) * g(x))
                    return float(out)
                d = T.divergences._quad(f, T.integration_points(p, q), 1e-14, 1e-10)
                worst = max(worst, d.value)
                points.append({"pair": name, "eps": e, "delta": d.value})
        rows.append(row("c", name, "max V(D*+eps h,G) - V(D*,G)", worst, BOUNDS["maximality"], n_h=n_h, eps=list(eps)))
    return rows, points


def loss_family(quick: bool = False) -> list[tuple[str, object, object]]:
    """``(name, p_data, p_g)`` for the loss identities: shifted and scaled normals, a
    mixture, and uniform supports (some divergences are infinite on the last two:
    both sides must then be infinite)."""
    fam = [("N(0,1) vs N(1,1)", Normal(0.0, 1.0), Normal(1.0, 1.0))]
    if quick:
        return fam
    return fam + [
        ("N(0,1) vs N(0.5,1)", Normal(0.0, 1.0), Normal(0.5, 1.0)),
        ("N(0,1) vs N(2,1)", Normal(0.0, 1.0), Normal(2.0, 1.0)),
        ("N(0,1) vs N(0,2)", Normal(0.0, 1.0), Normal(0.0, 2.0)),
        ("N(0,1) vs N(1,1.5)", Normal(0.0, 1.0), Normal(1.0, 1.5)),
        ("bimodal vs N(0,1.5)", Mixture([Normal(-2.0, 0.5), Normal(2.0, 0.5)], [0.5, 0.5]), Normal(0.0, 1.5)),
        ("U(0,1) vs N(0.5,0.5)", Uniform(0.0, 1.0), Normal(0.5, 0.5)),
        ("U(0,1) vs U(-0.5,2)", Uniform(0.0, 1.0), Uniform(-0.5, 2.0)),
    ]


def _loss_list():
    return [L.get(n) for n in L.LOSSES.names()] + [L.get("ls", a=-1.0, b=1.0, c=0.0)]


def part_losses(quick: bool = False) -> list[dict]:
    """One row per (loss, identity): the largest ``|lhs - rhs|`` over :func:`loss_family`
    (``lhs`` from the loss's own functions at its optimal D, ``rhs`` the divergence by
    its own quadrature), bound ``BOUNDS['identity']``; then closed forms for
    ``N(0,1)`` vs ``N(mu,1)``: ``KL = mu^2/2``, ``chi^2 = e^{mu^2} - 1``,
    ``H^2 = 2(1 - e^{-mu^2/8})``, ``TV = 2 Phi(mu/2) - 1``, ``W_1 = mu``."""
    from scipy.stats import norm

    rows = []
    fam = loss_family(quick)
    for loss in _loss_list():
        for ident in T.identities(loss):
            worst, worst_pair, n_inf, qerr = -1.0, None, 0, 0.0
            for name, p, q in fam:
                r = T.evaluate_identity(ident, p, q)
                n_inf += not r["finite"]
                qerr = max(qerr, r["quad_error"])
                if r["error"] > worst:
                    worst, worst_pair = r["error"], name
            rows.append(row("l", f"{len(fam)} pairs", f"{loss.label}: {ident.label}", worst, BOUNDS["identity"],
                            loss=loss.label, identity=ident.label, worst_pair=worst_pair, infinite_pairs=int(n_inf),
                            quad_error=qerr, source=ident.source))
    rng = np.random.default_rng(0)
    pairs = [(rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))) for n in (3, 4) for _ in range(1 if quick else 3)]
    for loss in _loss_list():
        if loss.separable:
            continue
        same = max(abs(T.relativistic_divergence(loss, p, p)) for p, _ in pairs)
        apart = min(T.relativistic_divergence(loss, p, q) for p, q in pairs)
        b = BOUNDS["identity"]
        rows.append(row("l", f"{len(pairs)} pairs on 3-4 points", f"{loss.label}: max D-objective is a divergence "
                        "(|value at p = q|; min over p != q > 0)", same, b, bool(same <= b and apart > 0),
                        loss=loss.label, identity="relativistic divergence", min_divergence=apart,
                        source="Jolicoeur-Martineau 2020, ICML, Thm. 1"))
    closed = {"kl": lambda mu: mu * mu / 2, "pearson": lambda mu: np.expm1(mu * mu),
              "hellinger": lambda mu: 2 * (1 - np.exp(-mu * mu / 8)),
              "hinge": lambda mu: 2 * (2 * norm.cdf(mu / 2) - 1) - 2, "wgan": lambda mu: mu}
    for name, form in closed.items():
        errs = [abs(T.d_value_at_optimum(name, Normal(0.0, 1.0), Normal(mu, 1.0)).value - form(mu))
                for mu in ((1.0,) if quick else (0.5, 1.0, 2.0))]
        e = max(errs)
        rows.append(row("l", "N(0,1) vs N(mu,1)", f"{name}: -min L_D closed form", e, BOUNDS["closed_form"],
                        loss=name, identity="closed form", source="closed form"))
    return rows
