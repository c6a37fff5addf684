"""Families of 1-D distribution pairs ``(p_data, p_g)`` to test GAN theory on, some with
their criterion or divergences in closed form, and random bounded test functions.

- :func:`analytic_family`: Gaussians with shifted means and scales, mixtures (one a
  mode-collapse pair), uniforms: smooth, multimodal and compactly supported cases.
- :func:`closed_form_cases`: pairs whose ``C(G) = -log 4 + 2 JSD`` is known in closed form
  (Goodfellow et al. 2014, Thm. 1): shifted uniforms, equal and disjoint distributions.
- :func:`loss_family`: pairs for the identities of every loss
  (:func:`gandyn.theory.gan_losses.identities`), two with a divergence that is infinite.
- :data:`SHIFTED_NORMAL_D_VALUE`: ``-min L_D`` at the optimal D for ``N(0, 1)`` vs
  ``N(mu, 1)`` in closed form, per loss.
- :func:`random_bounded_function`: a random smooth ``g: R -> [-1, 1]``.

>>> from gandyn import theory
>>> name, p, q, c = closed_form_cases()[2]
>>> name, abs(theory.c_of_g(p, q).value - c) < 1e-12
('U(0,1) vs U(0.25,1.25)', True)
"""
from __future__ import annotations

from math import log
from typing import Callable

import numpy as np
from scipy.special import ndtr

from gandyn.distributions import Mixture, Normal, Uniform
from gandyn.rng import as_rng

__all__ = ["analytic_family", "closed_form_cases", "loss_family", "SHIFTED_NORMAL_D_VALUE", "random_bounded_function"]


def _bimodal() -> Mixture:
    return Mixture([Normal(-2.0, 0.5), Normal(2.0, 0.5)], [0.5, 0.5])


def analytic_family() -> list[tuple[str, object, object]]:
    """``(name, p_data, p_g)``: ``N(0,1)`` against ``N(mu,1)`` (``mu`` in 0, 0.5, 1, 2, 4) and
    ``N(0,s)`` (``s`` in 0.25, 0.5, 2, 4) and ``N(2,0.5)``; a bimodal mixture against a wide
    normal and against one of its modes (mode collapse); a three-component mixture against
    ``U(-3,3)``; ``U(0,1)`` against a normal and a wider uniform. 15 pairs."""
    fam = [(f"N(0,1) vs N({mu:g},1)", Normal(0.0, 1.0), Normal(mu, 1.0)) for mu in (0.0, 0.5, 1.0, 2.0, 4.0)]
    fam += [(f"N(0,1) vs N(0,{s:g})", Normal(0.0, 1.0), Normal(0.0, s)) for s in (0.25, 0.5, 2.0, 4.0)]
    return fam + [
        ("N(0,1) vs N(2,0.5)", Normal(0.0, 1.0), Normal(2.0, 0.5)),
        ("bimodal vs N(0,1.5)", _bimodal(), Normal(0.0, 1.5)),
        ("bimodal vs N(2,0.5) (mode collapse)", _bimodal(), Normal(2.0, 0.5)),
        ("3-mixture vs U(-3,3)", Mixture([Normal(-2.0, 0.3), Uniform(-0.5, 0.5), Normal(2.0, 0.6)], [0.3, 0.3, 0.4]),
         Uniform(-3.0, 3.0)),
        ("U(0,1) vs N(0.5,0.3)", Uniform(0.0, 1.0), Normal(0.5, 0.3)),
        ("U(0,1) vs U(-0.5,2)", Uniform(0.0, 1.0), Uniform(-0.5, 2.0)),
    ]


def closed_form_cases() -> list[tuple[str, object, object, float]]:
    """``(name, p_data, p_g, C(G))`` with ``C(G)`` in closed form:

    - ``U(0,1)`` vs ``U(s,1+s)``, ``0 <= s <= 1``: ``D* = 1/2`` on the overlap (length ``1-s``),
      1 or 0 elsewhere, so ``C(G) = -2 (1-s) log 2``;
    - equal distributions: ``-log 4`` (the global minimum, Goodfellow et al. 2014, Thm. 1);
    - disjoint supports: ``D*`` is 1 on one and 0 on the other, ``C(G) = 0`` (``JSD = log 2``).
    """
    cases = [(f"U(0,1) vs U({s:g},{1 + s:g})", Uniform(0.0, 1.0), Uniform(s, 1.0 + s), -2 * (1 - s) * log(2))
             for s in (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)]
    same = Mixture([Normal(-1.0, 0.4), Uniform(0.0, 2.0)], [0.3, 0.7])
    return cases + [
        ("equal: N(1,2) vs N(1,2)", Normal(1.0, 2.0), Normal(1.0, 2.0), -log(4)),
        ("equal: mixture vs itself", same, same, -log(4)),
        ("disjoint: U(0,1) vs U(2,3)", Uniform(0.0, 1.0), Uniform(2.0, 3.0), 0.0),
        ("disjoint: U(-2,-1) vs mixture of uniforms", Uniform(-2.0, -1.0),
         Mixture([Uniform(0.0, 1.0), Uniform(3.0, 5.0)], [0.5, 0.5]), 0.0),
    ]


def loss_family() -> list[tuple[str, object, object]]:
    """``(name, p_data, p_g)`` for the identities of every loss: shifted and scaled normals, a
    mixture, and uniform supports (some divergences are infinite on the last two: both sides of
    an identity must then be infinite). The first pair is ``N(0,1)`` vs ``N(1,1)``."""
    return [
        ("N(0,1) vs N(1,1)", Normal(0.0, 1.0), Normal(1.0, 1.0)),
        ("N(0,1) vs N(0.5,1)", Normal(0.0, 1.0), Normal(0.5, 1.0)),
        ("N(0,1) vs N(2,1)", Normal(0.0, 1.0), Normal(2.0, 1.0)),
        ("N(0,1) vs N(0,2)", Normal(0.0, 1.0), Normal(0.0, 2.0)),
        ("N(0,1) vs N(1,1.5)", Normal(0.0, 1.0), Normal(1.0, 1.5)),
        ("bimodal vs N(0,1.5)", _bimodal(), Normal(0.0, 1.5)),
        ("U(0,1) vs N(0.5,0.5)", Uniform(0.0, 1.0), Normal(0.5, 0.5)),
        ("U(0,1) vs U(-0.5,2)", Uniform(0.0, 1.0), Uniform(-0.5, 2.0)),
    ]


#: ``-min L_D`` at the optimal D (:func:`gandyn.theory.gan_losses.d_value_at_optimum`) for
#: ``p_data = N(0, 1)``, ``p_g = N(mu, 1)``, by loss name, as a function of ``mu``:
#: ``KL = mu^2/2``, Pearson ``chi^2 = e^{mu^2} - 1``, squared Hellinger ``2 (1 - e^{-mu^2/8})``,
#: hinge ``2 TV - 2`` with ``TV = 2 Phi(mu/2) - 1``, WGAN ``W_1 = mu`` (each by integrating the
#: two Gaussian densities; Nowozin et al. 2016, Table 1 for the f-divergences).
SHIFTED_NORMAL_D_VALUE: dict[str, Callable[[float], float]] = {
    "kl": lambda mu: mu * mu / 2, "pearson": lambda mu: np.expm1(mu * mu),
    "hellinger": lambda mu: 2 * (1 - np.exp(-mu * mu / 8)),
    "hinge": lambda mu: 2 * (2 * ndtr(mu / 2) - 1) - 2, "wgan": lambda mu: mu}


def random_bounded_function(rng, k: int = 6, scale: float = 3.0) -> Callable:
    """A random ``g: R -> [-1, 1]``::

        g(x) = sum_j a_j cos(w_j x + phi_j) / sum_j |a_j|

    with ``a ~ N(0, 1)``, ``w ~ U(0, scale)``, ``phi ~ U(0, 2 pi)``, ``k`` terms (drawn in that
    order from ``rng``). ``g`` maps an array of any shape to one of the same shape.
    """
    rng = as_rng(rng)
    a = rng.standard_normal(k)
    w = rng.uniform(0.0, scale, k)
    phi = rng.uniform(0.0, 2 * np.pi, k)
    a = a / np.abs(a).sum()
    return lambda x: np.cos(np.multiply.outer(np.asarray(x, dtype=float), w) + phi) @ a
