"""Hypothesis strategies for property tests of GAN math (imports hypothesis; not
imported by ``import gandyn``).

Every strategy is bounded: locations, scales and widths come from finite
intervals, so nothing unbounded ever reaches ``exp``. Use them in your own tests::

    from hypothesis import given
    from gandyn.testing import distributions1d
    from gandyn import theory

    @given(distributions1d(), distributions1d())
    def test_jsd_is_symmetric(p, q):
        assert abs(theory.jsd(p, q).value - theory.jsd(q, p).value) < 1e-9

>>> from hypothesis import given, settings
>>> from gandyn import theory
>>> @settings(max_examples=5, deadline=None)
... @given(normals())
... def check(p):
...     assert abs(theory.jsd(p, p).value) < 1e-12
>>> check()

"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from gandyn.distributions import Mixture, Normal, Uniform

__all__ = ["normals", "uniforms", "simplex_weights", "mixtures", "distributions1d",
           "BoundedFunction", "discriminators", "probabilities"]


def _float(lo, hi):
    return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)


def normals(loc=(-4.0, 4.0), scale=(0.2, 3.0)) -> st.SearchStrategy[Normal]:
    """``Normal(loc, scale)`` with loc and scale drawn from the given closed intervals."""
    return st.builds(Normal, _float(*loc), _float(*scale))


def uniforms(low=(-4.0, 4.0), width=(0.2, 4.0)) -> st.SearchStrategy[Uniform]:
    """``Uniform(low, low + width)``."""
    return st.builds(lambda a, w: Uniform(a, a + w), _float(*low), _float(*width))


def simplex_weights(k: int, min_weight: float = 0.01) -> st.SearchStrategy[list[float]]:
    """``k`` weights, each >= ``min_weight / k``-ish, summing to 1 (normalised draws)."""
    return st.lists(_float(min_weight, 1.0), min_size=k, max_size=k).map(
        lambda w: list(np.asarray(w) / np.sum(w)))


def mixtures(components=None, max_components: int = 3) -> st.SearchStrategy[Mixture]:
    """A mixture of 1 to ``max_components`` components (normals or uniforms by default)
    with weights on the simplex."""
    comp = components if components is not None else st.one_of(normals(), uniforms())
    return st.integers(1, max_components).flatmap(
        lambda k: st.builds(Mixture, st.lists(comp, min_size=k, max_size=k), simplex_weights(k)))


def distributions1d() -> st.SearchStrategy:
    """Any bounded 1-D distribution here: normal, uniform or mixture."""
    return st.one_of(normals(), uniforms(), mixtures())


class BoundedFunction:
    """``D(x) = sigma(c + sum_j a_j cos(w_j x + phi_j))`` with ``|c| + sum |a_j| <= max_logit``:
    a smooth discriminator with values in ``[sigma(-max_logit), sigma(max_logit)]``."""

    def __init__(self, c, a, w, phi):
        self.c, self.a, self.w, self.phi = float(c), np.asarray(a), np.asarray(w), np.asarray(phi)

    def logit(self, x):
        x = np.asarray(x, dtype=np.float64)
        return self.c + np.cos(np.multiply.outer(x, self.w) + self.phi) @ self.a

    def __call__(self, x):
        return 1.0 / (1.0 + np.exp(-self.logit(x)))

    def __repr__(self):
        return f"BoundedFunction(c={self.c:.3g}, a={self.a.round(3).tolist()}, w={self.w.round(3).tolist()})"


def discriminators(max_logit: float = 8.0, terms: int = 3) -> st.SearchStrategy[BoundedFunction]:
    """Discriminators as bounded functions of x (see :class:`BoundedFunction`)."""
    share = max_logit / (terms + 1)
    return st.builds(BoundedFunction, _float(-share, share),
                     st.lists(_float(-share, share), min_size=terms, max_size=terms),
                     st.lists(_float(0.0, 3.0), min_size=terms, max_size=terms),
                     st.lists(_float(0.0, 2 * np.pi), min_size=terms, max_size=terms))


def probabilities(margin: float = 0.0) -> st.SearchStrategy[float]:
    """A number in ``[margin, 1 - margin]``."""
    return _float(margin, 1.0 - margin)
