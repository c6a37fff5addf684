"""The numerical verification behind ``gandyn theory`` (Goodfellow et al. 2014, Prop. 1, Thm. 1).

- part (a), analytic: over :func:`gandyn.theory.analytic_family`, ``V(D*, G)`` by quadrature
  against ``-log 4 + 2 JSD`` (JSD by its own quadrature), and the closed forms of
  :func:`gandyn.theory.closed_form_cases` (shifted uniforms, equal and disjoint distributions).
- part (b), learned: a discriminator trained on samples (:func:`gandyn.theory.optimal_d.fit_discriminator`)
  against D* where ``p_data + p_g`` exceeds 1% of its maximum, and
  ``V(D_learned, G)`` against ``C(G)``.
- part (c), maximality: ``V(D* + eps h, G) <= V(D*, G)`` for random bounded h
  (:func:`gandyn.theory.d_star_perturbation`).
- part (l), every loss of :data:`gandyn.engine.losses.LOSSES` (and LSGAN with Mao et al.'s
  Theorem 1 labels): each identity of :func:`gandyn.theory.gan_losses.identities`
  (D's value at its optimum against its divergence: JSD, LSGAN's Pearson chi^2,
  TV, W_1, the f-divergences) over :func:`gandyn.theory.loss_family`, one row per identity with
  the largest error; for the relativistic losses, that D's maximised objective is a
  divergence on random distributions on a few points (0 at p = q, positive otherwise,
  :func:`gandyn.theory.relativistic_divergence`); and the closed forms for shifted normals
  (:data:`gandyn.theory.SHIFTED_NORMAL_D_VALUE`).

Every function returns plain records (rows of a long table: part, pair, metric,
value, bound, ok); :mod:`gandyn.plotting.theory` draws them.
"""
from __future__ import annotations

import numpy as np

from gandyn import theory as T
from gandyn.engine import losses as L
from gandyn.theory.optimal_d import fit_discriminator
from gandyn.distributions import Mixture, Normal
from gandyn.rng import as_rng

__all__ = ["learned_pairs", "part_a", "part_b", "part_c", "BOUNDS", "row", "part_losses"]

#: The bound each check must meet (see docs/theory.md).
BOUNDS = {"identity": 1e-8, "closed_form": 1e-8, "sup": 0.03, "rms": 0.01, "value_gap": 0.01,
          "maximality": 0.0}


def row(part, pair, metric, value, bound=None, ok=None, **extra) -> dict:
    """One line of the result table; with a ``bound`` and no ``ok``, ``ok`` is ``value <= bound``."""
    if ok is None and bound is not None:
        ok = bool(value <= bound)
    return {"part": part, "pair": pair, "metric": metric, "value": float(value),
            "bound": None if bound is None else float(bound), "ok": ok, **extra}


def part_a() -> tuple[list[dict], list[dict]]:
    """Theorem 1 over the family and the closed forms.

    Returns ``(rows, points)``; ``points`` holds ``(name, jsd, c)`` for the C-vs-JSD figure.
    """
    rows, points = [], []
    for name, p, q, exact in [(*pair, None) for pair in T.analytic_family()] + T.closed_form_cases():
        v = T.value(T.d_star_function(p, q, logit=True), p, q, logit=True)  # V(D*, G), D* in logit space
        j = T.jsd(p, q)
        if exact is None:  # the family: the two sides of the identity
            rows += [row("a", name, "V(D*,G)", v.value, quad_error=v.error),
                     row("a", name, "JSD", j.value, quad_error=j.error)]
        else:
            rows.append(row("a", name, "|C(G) - closed form|", abs(v.value - exact), BOUNDS["closed_form"],
                            closed_form=exact, c=v.value))
        rows.append(row("a", name, "|V(D*,G) - (-log4 + 2 JSD)|", abs(v.value - (-T.LOG4 + 2 * j.value)),
                        BOUNDS["identity"]))
        points.append({"pair": name, "jsd": j.value, "c": v.value,
                       "kind": "family" if exact is None else "closed form"})
    return rows, points


def learned_pairs(quick: bool = False) -> list[tuple[str, object, object, bool]]:
    """``(name, p_data, p_g, bounded)``: the Gaussian pairs the bounds apply to, and
    one mixture pair reported without a bound."""
    pairs = [("N(0,1) vs N(1,1)", Normal(0.0, 1.0), Normal(1.0, 1.0), True),
             ("N(0,1) vs N(0,2)", Normal(0.0, 1.0), Normal(0.0, 2.0), True),
             ("N(0,1) vs N(2,0.5)", Normal(0.0, 1.0), Normal(2.0, 0.5), True),
             ("N(-1,1) vs N(1.5,1.5)", Normal(-1.0, 1.0), Normal(1.5, 1.5), True),
             ("bimodal vs N(0,1.5)", Mixture([Normal(-2.0, 0.5), Normal(2.0, 0.5)], [0.5, 0.5]), Normal(0.0, 1.5),
              False)]
    return pairs[:1] if quick else pairs


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
    with tqdm(total=len(pairs) * int(fit_kw.get("max_steps", 20_000)), desc=f"(b) training D: pair 1 of {len(pairs)}",
              disable=not progress, unit="step") as bar:
        for i, (name, p, q, bounded) in enumerate(pairs):
            bar.set_description(f"(b) training D: pair {i + 1} of {len(pairs)}", refresh=False)
            fit = fit_discriminator(lambda r, m, p=p: p.rvs(m, r), lambda r, m, q=q: q.rvs(m, r),
                                    seed + i, progress=bar if progress else False, **fit_kw)
            x = np.linspace(min(p.bounds(1e-9)[0], q.bounds(1e-9)[0]), max(p.bounds(1e-9)[1], q.bounds(1e-9)[1]), 2001)
            pp, qq = p.pdf(x), q.pdf(x)
            region = pp + qq > 0.01 * (pp + qq).max()
            ds, dl = T.d_star(pp, qq), fit.prob(x)
            err = np.abs(dl - ds)[region]
            sup, rms = float(err.max()), float(np.sqrt(np.mean(err ** 2)))
            v, c = T.value(fit.logit, p, q, logit=True, epsabs=1e-10, epsrel=1e-8), T.c_of_g(p, q)
            gap = c.value - v.value
            for metric, value, bound, more in (
                    ("sup |D_learned - D*|", sup, BOUNDS["sup"], {"x_at": float(x[region][np.argmax(err)])}),
                    ("RMS |D_learned - D*|", rms, BOUNDS["rms"], {}),
                    ("C(G) - V(D_learned,G)", gap, BOUNDS["value_gap"],
                     {"c": c.value, "v": v.value, "quad_error": v.error})):
                rows.append(row("b", name, metric, value, bound if bounded else None,
                                (abs(value) <= bound) if bounded else None, **more, steps=fit.steps,
                                stopped=fit.stopped, final_loss=fit.final_loss))
            curves.append({"pair": name, "x": x, "p_data": pp, "p_g": qq, "d_star": ds, "d_learned": dl,
                           "region": region, "sup": sup, "rms": rms, "gap": gap, "steps": fit.steps})
    return rows, curves


def part_c(seed: int = 0, n_h: int = 10, eps=(1e-3, 1e-2, 0.1, 0.5)):
    """Maximality of D* over :func:`gandyn.theory.analytic_family`: for ``n_h`` random ``g``
    (:func:`gandyn.theory.random_bounded_function`) and each ``eps``, the exact change
    ``V(D* + eps D*(1 - D*) g) - V(D*)`` (:func:`gandyn.theory.d_star_perturbation`) must be <= 0.
    Returns ``(rows, points)``; points hold every (pair, eps, delta) for the figure.
    """
    rng = as_rng(seed)
    rows, points = [], []
    for name, p, q in T.analytic_family():
        for _ in range(n_h):
            g = T.random_bounded_function(rng)
            points += [{"pair": name, "eps": e, "delta": T.d_star_perturbation(p, q, g, e).value} for e in eps]
        worst = max(pt["delta"] for pt in points if pt["pair"] == name)
        rows.append(row("c", name, "max V(D*+eps h,G) - V(D*,G)", worst, BOUNDS["maximality"], n_h=n_h, eps=list(eps)))
    return rows, points


def part_losses(quick: bool = False) -> list[dict]:
    """One row per (loss, identity): the largest ``|lhs - rhs|`` over :func:`loss_family`
    (``lhs`` from the loss's own functions at its optimal D, ``rhs`` the divergence by
    its own quadrature), bound ``BOUNDS['identity']``; then closed forms for
    ``N(0,1)`` vs ``N(mu,1)``: ``KL = mu^2/2``, ``chi^2 = e^{mu^2} - 1``,
    ``H^2 = 2(1 - e^{-mu^2/8})``, ``TV = 2 Phi(mu/2) - 1``, ``W_1 = mu``."""
    rows = []
    fam = T.loss_family()[:1] if quick else T.loss_family()
    made = [L.get(n) for n in L.LOSSES.names()] + [L.get("ls", a=-1.0, b=1.0, c=0.0)]
    for loss in made:
        for ident in T.identities(loss):
            res = [T.evaluate_identity(ident, p, q) for _, p, q in fam]
            worst = int(np.argmax([r["error"] for r in res]))  # the first pair of the largest error
            rows.append(row("l", f"{len(fam)} pairs", f"{loss.label}: {ident.label}", res[worst]["error"],
                            BOUNDS["identity"], loss=loss.label, identity=ident.label, worst_pair=fam[worst][0],
                            infinite_pairs=sum(not r["finite"] for r in res),
                            quad_error=max([0.0] + [r["quad_error"] for r in res]), source=ident.source))
    rng = np.random.default_rng(0)
    pairs = [(rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))) for n in (3, 4) for _ in range(1 if quick else 3)]
    for loss in (m for m in made if not m.separable):
        same = max(abs(T.relativistic_divergence(loss, p, p)) for p, _ in pairs)
        apart = min(T.relativistic_divergence(loss, p, q) for p, q in pairs)
        rows.append(row("l", f"{len(pairs)} pairs on 3-4 points", f"{loss.label}: max D-objective is a divergence "
                        "(|value at p = q|; min over p != q > 0)", same, BOUNDS["identity"],
                        bool(same <= BOUNDS["identity"] and apart > 0),
                        loss=loss.label, identity="relativistic divergence", min_divergence=apart,
                        source="Jolicoeur-Martineau 2020, ICML, Thm. 1"))
    for name, form in T.SHIFTED_NORMAL_D_VALUE.items():
        e = max(abs(T.d_value_at_optimum(name, Normal(0.0, 1.0), Normal(mu, 1.0)).value - form(mu))
                for mu in ((1.0,) if quick else (0.5, 1.0, 2.0)))
        rows.append(row("l", "N(0,1) vs N(mu,1)", f"{name}: -min L_D closed form", e, BOUNDS["closed_form"],
                        loss=name, identity="closed form", source="closed form"))
    return rows
