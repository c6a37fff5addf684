"""Distributions against scipy.stats (an independent implementation), closed forms and sampling."""
import numpy as np
import pytest
from scipy import integrate, stats

from gandyn.distributions import Mixture, Normal, Normal2D, Uniform, grid2d, parse, ring2d, text

X = np.linspace(-12.0, 12.0, 241)


@pytest.mark.parametrize("ours,ref", [
    (Normal(0.3, 1.7), stats.norm(0.3, 1.7)),
    (Normal(-4.0, 0.05), stats.norm(-4.0, 0.05)),
    (Uniform(-1.0, 2.5), stats.uniform(-1.0, 3.5)),
])
def test_pdf_logpdf_cdf_match_scipy(ours, ref):
    np.testing.assert_allclose(ours.pdf(X), ref.pdf(X), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ours.cdf(X), ref.cdf(X), rtol=1e-12, atol=1e-300)
    inside = np.isfinite(ref.logpdf(X))
    np.testing.assert_allclose(ours.logpdf(X[inside]), ref.logpdf(X[inside]), rtol=1e-12)
    assert np.all(np.isneginf(ours.logpdf(X[~inside])))
    assert ours.mean() == pytest.approx(ref.mean()) and ours.var() == pytest.approx(ref.var())


def test_mixture_pdf_cdf_logpdf_are_weighted_sums():
    comps = [Normal(-2.0, 0.5), Uniform(0.0, 1.0), Normal(3.0, 2.0)]
    w = [0.2, 0.5, 0.3]
    m = Mixture(comps, w)
    ref = sum(wi * c.pdf(X) for wi, c in zip(w, comps))
    np.testing.assert_allclose(m.pdf(X), ref, rtol=1e-13)
    np.testing.assert_allclose(np.exp(m.logpdf(X)), ref, rtol=1e-12)
    np.testing.assert_allclose(m.cdf(X), sum(wi * c.cdf(X) for wi, c in zip(w, comps)), rtol=1e-13)
    # far in the tail the log-density stays finite (log-sum-exp), where pdf underflows
    assert np.isfinite(m.logpdf(200.0)) and m.pdf(200.0) == 0.0
    mu = sum(wi * c.mean() for wi, c in zip(w, comps))
    var = sum(wi * (c.var() + c.mean() ** 2) for wi, c in zip(w, comps)) - mu ** 2
    assert m.mean() == pytest.approx(mu) and m.var() == pytest.approx(var)


@pytest.mark.parametrize("dist", [
    Normal(1.0, 0.2), Uniform(-3.0, -1.0),
    Mixture([Normal(-5.0, 0.1), Uniform(0.0, 2.0), Normal(4.0, 1.0)], [0.3, 0.3, 0.4]),
])
def test_pdf_integrates_to_one_within_bounds_and_bounds_hold_the_mass(dist):
    lo, hi = dist.bounds(1e-12)
    pts = [v for v in dist.breakpoints + dist.centers if lo < v < hi]
    edges = np.unique([lo, hi, *pts])
    mass = sum(integrate.quad(lambda t: float(dist.pdf(t)), a, b, epsabs=1e-14, limit=200)[0]
               for a, b in zip(edges[:-1], edges[1:]))
    assert mass == pytest.approx(1.0, abs=1e-10)
    assert 1.0 - (dist.cdf(hi) - dist.cdf(lo)) <= 1e-12 * 1.01


def test_normal_bounds_leave_tail_over_two_each_side():
    lo, hi = Normal(2.0, 3.0).bounds(1e-6)
    assert stats.norm(2.0, 3.0).cdf(lo) == pytest.approx(5e-7, rel=1e-6)
    assert stats.norm(2.0, 3.0).sf(hi) == pytest.approx(5e-7, rel=1e-6)


def test_breakpoints_and_centers():
    m = Mixture([Uniform(0.0, 1.0), Uniform(0.5, 2.0), Normal(5.0, 1.0)], [0.2, 0.3, 0.5])
    assert m.breakpoints == (0.0, 0.5, 1.0, 2.0)
    assert m.centers == (0.5, 1.25, 5.0)
    assert Normal(1.0, 2.0).breakpoints == ()


def test_sampling_is_reproducible_and_matches_moments():
    m = Mixture([Normal(-2.0, 0.5), Uniform(1.0, 3.0)], [0.4, 0.6])
    a, b = m.rvs(200_000, rng=1), m.rvs(200_000, rng=1)
    np.testing.assert_array_equal(a, b)
    # mean within 5 standard errors; KS test against the mixture cdf
    assert abs(a.mean() - m.mean()) < 5 * m.std() / np.sqrt(a.size)
    assert stats.kstest(a[:20_000], m.cdf).pvalue > 1e-3
    assert Normal().rvs((3, 4), rng=0).shape == (3, 4)


@pytest.mark.parametrize("make,needle", [
    (lambda: Normal(0.0, 0.0), "scale"),
    (lambda: Normal(0.0, -1.0), "scale"),
    (lambda: Normal(float("nan"), 1.0), "loc"),
    (lambda: Uniform(1.0, 1.0), "low"),
    (lambda: Uniform(2.0, 1.0), "low"),
    (lambda: Mixture([Normal(), Normal(1.0)], [0.5, 0.6]), "weights"),
    (lambda: Mixture([Normal(), Normal(1.0)], [1.5, -0.5]), "weights"),
    (lambda: Mixture([Normal()], [0.5, 0.5]), "weights"),
    (lambda: Mixture([], []), "components"),
    (lambda: Mixture([Normal(), Normal2D()], [0.5, 0.5]), "components"),
    (lambda: Normal2D((0.0, 0.0), ((1.0, 2.0), (2.0, 1.0))), "cov"),
    (lambda: Normal2D((0.0, 0.0), ((1.0, 0.1), (0.2, 1.0))), "cov"),
    (lambda: Normal().bounds(0.0), "tail"),
])
def test_bad_parameters_raise_value_error_naming_them(make, needle):
    with pytest.raises(ValueError, match=needle):
        make()


def test_normal2d_matches_scipy_multivariate_normal():
    cov = ((2.0, 0.6), (0.6, 0.5))
    n = Normal2D((1.0, -1.0), cov)
    x = np.random.default_rng(0).normal(size=(50, 2)) * 2
    np.testing.assert_allclose(n.logpdf(x), stats.multivariate_normal([1.0, -1.0], cov).logpdf(x), rtol=1e-12)
    s = n.rvs(100_000, rng=2)
    np.testing.assert_allclose(np.cov(s.T), cov, atol=0.03)
    lo, hi = n.bounds(1e-6)
    assert np.all(lo < s.min(axis=0)) and np.all(hi > s.max(axis=0))


def test_ring_and_grid_have_their_modes_where_the_papers_put_them():
    r = ring2d(8, radius=2.0, scale=0.02)
    peak = 1.0 / 8 / (2 * np.pi * 0.02 ** 2)
    assert r.pdf(np.array([0.0, 2.0])) == pytest.approx(peak, rel=1e-9)
    assert r.pdf(np.array([0.0, 0.0])) == 0.0
    g = grid2d(5, spacing=2.0, scale=0.05)
    assert len(g.components) == 25
    assert g.pdf(np.array([4.0, -4.0])) == pytest.approx(1.0 / 25 / (2 * np.pi * 0.05 ** 2), rel=1e-9)
    s = g.rvs(1000, rng=0)
    assert s.shape == (1000, 2) and np.all(np.abs(s) < 4.5)


def test_parse():
    assert parse("N(4, 0.5)") == Normal(4.0, 0.5)
    assert parse(" U(-1,1e0) ") == Uniform(-1.0, 1.0)
    m = parse("0.25*N(-2, .5) + 0.75*U(1, 3)")
    assert isinstance(m, Mixture) and m.weights == (0.25, 0.75)
    for bad in ["N(4)", "X(1, 2)", "", "0.5*N(0,1) + 0.6*N(1,1)", "N(0, -1)"]:
        with pytest.raises(ValueError, match="data"):
            parse(bad)
    with pytest.raises(ValueError, match="1-D"):
        parse(ring2d())


def test_text_round_trip():
    for d in [Normal(4.0, 0.5), Uniform(-1.0, 3.0), Mixture([Normal(-2.0, 0.1), Uniform(1.0, 3.0)], [0.3, 0.7])]:
        assert parse(text(d)) == d
    with pytest.raises(ValueError, match="no text form"):
        text(ring2d())
