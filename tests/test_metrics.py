"""Parzen-window log-likelihood, Inception score, Frechet distance and mode histogram:
against slow direct computations, closed forms and independent formulas."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from scipy import linalg, stats
from scipy.special import logsumexp

from gandyn import metrics

seeds = st.integers(0, 2**32 - 1)


# --- Parzen window (Goodfellow et al. 2014, Section 5)


def _parzen_direct(x, mu, sigma):
    """log (1/N) sum_j N(x_i; mu_j, sigma^2 I), one density at a time with scipy."""
    out = []
    for xi in x:
        logs = [stats.multivariate_normal(mean=m, cov=sigma**2 * np.eye(x.shape[1])).logpdf(xi) for m in mu]
        out.append(logsumexp(logs) - math.log(len(mu)))
    return np.array(out)


@given(seeds, st.integers(1, 9), st.integers(1, 12), st.integers(1, 6), st.integers(1, 10),
       st.floats(0.05, 2.0))
def test_parzen_equals_direct_slow_computation(seed, n, N, d, batch, sigma):
    rng = np.random.default_rng(seed)
    x, mu = rng.random((n, d)), rng.random((N, d))
    got = metrics.parzen_log_likelihood(x, mu, sigma, batch_size=batch)
    np.testing.assert_allclose(got, _parzen_direct(x, mu, sigma), rtol=1e-10, atol=1e-9)


def test_parzen_several_sigmas_equal_one_at_a_time():
    rng = np.random.default_rng(1)
    x, mu = rng.random((20, 30)), rng.random((50, 30))
    sig = metrics.PARZEN_SIGMAS
    many = metrics.parzen_log_likelihood(x, mu, sig, batch_size=7)
    assert many.shape == (10, 20)
    for k, s in enumerate(sig):
        np.testing.assert_allclose(many[k], metrics.parzen_log_likelihood(x, mu, s), rtol=1e-13)


@pytest.mark.parametrize("sigma", [0.1, 0.3, 1.0])
def test_parzen_samples_equal_to_test_points_closed_form(sigma):
    # Centres at the vertices of a regular simplex, 10 e_i: every pairwise squared distance
    # is D = 200, so with x = mu each point gets its own kernel (exponent 0) and N-1 kernels
    # at exponent -D / (2 sigma^2):
    # log p(x_i) = log(1 + (N-1) e^{-D/2sigma^2}) - log N - (d/2) log(2 pi sigma^2).
    N = d = 12
    mu = 10.0 * np.eye(N)
    D = 200.0
    expect = (math.log1p((N - 1) * math.exp(-D / (2 * sigma**2))) - math.log(N)
              - 0.5 * d * math.log(2 * math.pi * sigma**2))
    got = metrics.parzen_log_likelihood(mu, mu, sigma)
    np.testing.assert_allclose(got, expect, rtol=1e-12)


def test_parzen_points_far_from_every_centre_stay_finite():
    # exp(-D / 2 sigma^2) underflows for every centre; the shifted log-sum-exp does not.
    x = np.full((2, 784), 1.0)
    mu = np.zeros((3, 784))
    got = metrics.parzen_log_likelihood(x, mu, 0.1)
    expect = -784 / (2 * 0.01) - 0.5 * 784 * math.log(2 * math.pi * 0.01)
    np.testing.assert_allclose(got, expect, rtol=1e-12)


def test_parzen_one_centre_is_a_gaussian_density():
    rng = np.random.default_rng(3)
    x, mu = rng.random((5, 784)), rng.random((1, 784))
    got = metrics.parzen_log_likelihood(x, mu, 0.25)
    expect = stats.multivariate_normal(mu[0], 0.25**2 * np.eye(784)).logpdf(x)
    np.testing.assert_allclose(got, expect, rtol=1e-12)


def test_cross_validation_picks_the_best_width_and_reports_mean_and_se():
    rng = np.random.default_rng(4)
    # centres and points from the same Gaussian of scale 0.3: a mid-range width wins
    mu = 0.3 * rng.normal(size=(400, 3))
    valid = 0.3 * rng.normal(size=(200, 3))
    test = 0.3 * rng.normal(size=(100, 3))
    sigma, curve = metrics.cross_validate_sigma(mu, valid)
    means = [metrics.parzen_log_likelihood(valid, mu, s).mean() for s in metrics.PARZEN_SIGMAS]
    np.testing.assert_allclose(curve, means, rtol=1e-12)
    assert sigma == metrics.PARZEN_SIGMAS[int(np.argmax(means))]
    assert metrics.PARZEN_SIGMAS[0] < sigma < metrics.PARZEN_SIGMAS[-1]
    res = metrics.parzen_evaluate(mu, valid, test)
    ll = metrics.parzen_log_likelihood(test, mu, sigma)
    assert res["sigma"] == sigma
    assert res["mean"] == pytest.approx(ll.mean(), rel=1e-13)
    assert res["se"] == pytest.approx(ll.std() / 10.0, rel=1e-13)


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan, [0.1, 0.0]])
def test_parzen_rejects_bad_sigma(bad):
    with pytest.raises(ValueError, match="sigma"):
        metrics.parzen_log_likelihood(np.zeros((2, 3)), np.zeros((2, 3)), bad)


def test_parzen_rejects_mismatched_dims():
    with pytest.raises(ValueError, match="dims"):
        metrics.parzen_log_likelihood(np.zeros((2, 3)), np.zeros((2, 4)), 0.1)


# --- Inception score (Salimans et al. 2016, Section 4)


def test_inception_score_of_identical_predictions_is_one():
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(10))
    mean, std = metrics.inception_score(np.tile(p, (1000, 1)))
    assert mean == pytest.approx(1.0, abs=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("k", [1, 2, 5, 10])
def test_inception_score_of_balanced_one_hot_is_number_of_classes(k):
    # one-hot over k classes, each split balanced: KL = log k for every sample
    p = np.eye(10)[np.arange(1000) % k]
    mean, std = metrics.inception_score(p, splits=10)
    assert mean == pytest.approx(k, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_inception_score_two_soft_classes_closed_form():
    # half the samples (0.9, 0.1), half (0.1, 0.9): p(y) = (1/2, 1/2),
    # KL = 0.9 log 1.8 + 0.1 log 0.2 for every sample
    p = np.array([[0.9, 0.1], [0.1, 0.9]] * 50)
    mean, _ = metrics.inception_score(p, splits=5)
    assert mean == pytest.approx(math.exp(0.9 * math.log(1.8) + 0.1 * math.log(0.2)), rel=1e-12)


@given(seeds, st.integers(1, 5), st.floats(0.05, 5.0))
def test_inception_score_equals_entropy_difference(seed, splits, conc):
    # E_x KL(p(y|x) || p(y)) = H(p(y)) - E_x H(p(y|x)), the mutual information of x and y
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(10, conc), size=200)
    p /= p.sum(axis=1, keepdims=True)
    scores = [math.exp(stats.entropy(q.mean(axis=0)) - np.mean(stats.entropy(q, axis=1)))
              for q in np.array_split(p, splits)]
    mean, std = metrics.inception_score(p, splits)
    assert mean == pytest.approx(np.mean(scores), rel=1e-9)
    assert std == pytest.approx(np.std(scores), rel=1e-6, abs=1e-9)
    assert 1.0 - 1e-12 <= mean <= 10.0


@pytest.mark.parametrize("probs", [np.full((10, 3), 0.5), -np.eye(3)[[0, 1] * 5]])
def test_inception_score_rejects_non_probabilities(probs):
    with pytest.raises(ValueError, match="probs"):
        metrics.inception_score(probs, splits=2)


def test_inception_score_rejects_too_many_splits():
    with pytest.raises(ValueError, match="splits"):
        metrics.inception_score(np.eye(3), splits=4)


# --- Frechet distance (Heusel et al. 2017, eq. 6)


def _random_spd(rng, k, rank=None):
    a = rng.normal(size=(k, rank or k))
    return a @ a.T / k + (0 if rank else 0.1 * np.eye(k))


def _fid_symmetric(m1, c1, m2, c2):
    """Independent form: Tr (C1 C2)^{1/2} = Tr (C1^{1/2} C2 C1^{1/2})^{1/2}, by eigh."""
    w, v = np.linalg.eigh(c1)
    r1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = np.linalg.eigvalsh(r1 @ c2 @ r1)
    return np.sum((m1 - m2) ** 2) + np.trace(c1) + np.trace(c2) - 2 * np.sum(np.sqrt(np.clip(inner, 0, None)))


@given(seeds, st.integers(1, 20))
def test_fid_of_identical_gaussians_is_zero(seed, k):
    rng = np.random.default_rng(seed)
    m, c = rng.normal(size=k), _random_spd(rng, k)
    assert metrics.frechet_distance(m, c, m, c) == pytest.approx(0.0, abs=1e-8 * (1 + np.trace(c)))


def test_fid_of_isotropic_gaussians_closed_form():
    # ||m1 - m2||^2 + Tr(a^2 I + b^2 I - 2 a b I) = ||m1 - m2||^2 + k (a - b)^2
    k, a, b = 7, 0.5, 2.0
    m1, m2 = np.zeros(k), np.arange(k, dtype=float)
    got = metrics.frechet_distance(m1, a**2 * np.eye(k), m2, b**2 * np.eye(k))
    assert got == pytest.approx(np.sum(m2**2) + k * (a - b) ** 2, rel=1e-12)


def test_fid_one_dimensional_closed_form():
    # W2^2 of N(m1, s1^2) and N(m2, s2^2) = (m1 - m2)^2 + (s1 - s2)^2
    assert metrics.frechet_distance([1.0], [[4.0]], [-2.0], [[0.25]]) == pytest.approx(9 + 1.5**2, rel=1e-12)


@given(seeds, st.integers(2, 30))
def test_fid_matches_symmetric_formula(seed, k):
    rng = np.random.default_rng(seed)
    m1, m2 = rng.normal(size=k), rng.normal(size=k)
    c1, c2 = _random_spd(rng, k), _random_spd(rng, k)
    got = metrics.frechet_distance(m1, c1, m2, c2)
    assert got == pytest.approx(_fid_symmetric(m1, c1, m2, c2), rel=1e-7, abs=1e-8)


def test_fid_with_singular_covariances_from_dead_features():
    # two features are constant (dead ReLU units) in both sets: the remaining block decides
    rng = np.random.default_rng(6)
    k = 10
    c1, c2 = _random_spd(rng, k), _random_spd(rng, k)
    for c in (c1, c2):
        c[:2, :] = 0
        c[:, :2] = 0
    m1, m2 = rng.normal(size=k), rng.normal(size=k)
    got = metrics.frechet_distance(m1, c1, m2, c2)
    expect = _fid_symmetric(m1[2:], c1[2:, 2:], m2[2:], c2[2:, 2:]) + np.sum((m1[:2] - m2[:2]) ** 2)
    assert got == pytest.approx(expect, rel=1e-5)


def test_fid_of_low_rank_covariances_from_few_samples():
    # 50 samples of 64 features: rank-deficient sample covariances, as with few samples
    rng = np.random.default_rng(7)
    f1, f2 = rng.normal(size=(50, 64)), rng.normal(size=(50, 64)) + 0.5
    m1, c1 = metrics.gaussian_stats(f1)
    m2, c2 = metrics.gaussian_stats(f2)
    got = metrics.frechet_distance(m1, c1, m2, c2)
    assert np.isfinite(got)
    assert got == pytest.approx(_fid_symmetric(m1, c1, m2, c2), rel=1e-4)


def test_gaussian_stats_are_mean_and_unbiased_covariance():
    rng = np.random.default_rng(8)
    f = rng.normal(size=(30, 4))
    m, c = metrics.gaussian_stats(f)
    np.testing.assert_allclose(m, f.mean(axis=0), rtol=1e-13)
    centred = f - f.mean(axis=0)
    np.testing.assert_allclose(c, centred.T @ centred / 29, rtol=1e-12)


def test_fid_rejects_mismatched_shapes_and_non_psd():
    with pytest.raises(ValueError, match="shapes"):
        metrics.frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    # a negative-definite "covariance": its product's square root is imaginary
    with pytest.raises(ValueError, match="imaginary|square root"):
        metrics.frechet_distance(np.zeros(2), -np.eye(2), np.zeros(2), np.eye(2))


# --- mode coverage


def test_mode_histogram_counts_argmax():
    p = np.eye(10)[[3, 3, 3, 7, 0]]
    res = metrics.mode_histogram(p)
    assert res["counts"] == [1, 0, 0, 3, 0, 0, 0, 1, 0, 0]
    assert res["covered"] == 3
    assert res["fractions"][3] == pytest.approx(0.6)


def test_sq_distances_are_exact_zero_or_positive():
    rng = np.random.default_rng(9)
    x = rng.random((50, 784))
    d = metrics.sq_distances(x, x)
    assert np.all(d >= 0)
    np.testing.assert_allclose(np.diag(d), 0, atol=1e-10)
    np.testing.assert_allclose(d, ((x[:, None] - x[None]) ** 2).sum(-1), rtol=1e-10, atol=1e-10)


def test_sqrtm_is_scipys():
    # the helper is scipy's sqrtm plus a residual: check the residual is the documented one
    a = np.array([[4.0, 1.0], [1.0, 3.0]])
    root, err = metrics.scores._sqrtm(a)
    np.testing.assert_allclose(root, linalg.sqrtm(a))
    assert err < 1e-12
