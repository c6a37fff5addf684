"""Properties of GAN math (Goodfellow et al. 2014, Prop. 1, Thm. 1) with the public
strategies of gandyn.testing. Quadrature makes each example cost milliseconds, so
examples are capped per test."""
from math import log

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gandyn import theory as T
from gandyn.testing import discriminators, distributions1d, normals, probabilities

FEW = settings(max_examples=25, deadline=None)


@FEW
@given(distributions1d(), distributions1d())
def test_jsd_is_symmetric_and_between_0_and_log2(p, q):
    a, b = T.jsd(p, q).value, T.jsd(q, p).value
    assert abs(a - b) <= 1e-9
    assert -1e-12 <= a <= log(2) + 1e-12


@FEW
@given(distributions1d())
def test_jsd_is_zero_and_c_is_minus_log4_for_equal_distributions(p):
    assert abs(T.jsd(p, p).value) <= 1e-12
    assert abs(T.c_of_g(p, p).value + T.LOG4) <= 1e-10


@FEW
@given(normals(), normals())
def test_c_of_g_above_minus_log4_with_equality_iff_equal(p, q):
    c = T.c_of_g(p, q).value
    assume(abs(p.loc - q.loc) + abs(p.scale - q.scale) > 1e-2)
    # strictly above -log 4 when p != q: 2 JSD > 0
    assert c > -T.LOG4 + 1e-9
    assert abs(c - (-T.LOG4 + 2 * T.jsd(p, q).value)) <= 1e-8


@FEW
@given(distributions1d(), distributions1d(), st.lists(st.floats(-10, 10), min_size=1, max_size=20))
def test_d_star_in_unit_interval_and_half_where_densities_equal(p, q, xs):
    x = np.asarray(xs)
    d = T.d_star(p.pdf(x), q.pdf(x))
    assert np.all((d >= 0) & (d <= 1))
    same = T.d_star(p.pdf(x), p.pdf(x))
    np.testing.assert_array_equal(same, 0.5)


@FEW
@given(distributions1d(), distributions1d(), discriminators())
def test_any_discriminator_scores_at_most_d_star(p, q, D):
    v = T.value(D.logit, p, q, logit=True, epsabs=1e-11, epsrel=1e-10).value
    assert v <= T.c_of_g(p, q).value + 1e-9


@settings(max_examples=200, deadline=None)
@given(st.floats(0.01, 10.0), st.floats(0.01, 10.0), probabilities(1e-6))
def test_a_log_y_plus_b_log_1_minus_y_peaks_at_a_over_a_plus_b(a, b, y):
    # Goodfellow et al. 2014, proof of Prop. 1: the maximum on [0, 1] is at a/(a + b)
    f = lambda t: a * np.log(t) + b * np.log1p(-t)  # noqa: E731
    best = f(a / (a + b))
    assert f(y) <= best + 1e-12 * (1 + abs(best))
    # and D* is that maximiser pointwise, with a = p_data(x), b = p_g(x)
    assert T.d_star(a, b) == a / (a + b)
