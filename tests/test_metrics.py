"""Parzen-window log-likelihood, Inception score, Frechet distance, kernel Inception
distance and mode histogram: against slow direct computations, closed forms and independent
formulas; and every input at which a metric would mislead is refused or warned about."""
import math
import warnings

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
    with pytest.raises(ValueError, match="splits must be an integer >= 1"):
        metrics.inception_score(np.eye(3), splits=0)
    with pytest.raises(ValueError, match="splits must be an integer"):
        metrics.inception_score(np.eye(3)[[0, 1, 2] * 4], splits=2.5)


def test_inception_score_refuses_splits_smaller_than_the_number_of_classes():
    # One sample per split scores exactly 1 whatever the predictions (the split's marginal
    # is its one prediction): np.eye(10) in 10 splits used to return (1.0, 0.0).
    with pytest.raises(ValueError, match="10 splits of 10 classes needs at least 100 samples"):
        metrics.inception_score(np.eye(10), 10)
    # The reason for the minimum: a split of m samples has score exp(I(x; y)) <= m
    # (I <= H(x) = log m, Cover & Thomas 2006, Section 2.4). m distinct one-hot predictions
    # reach it, so with m < C the score measures the split size, not the generator:
    for m in (1, 3, 7):
        p = np.eye(10)[:m]
        score = math.exp(np.mean(stats.entropy(p.mean(axis=0)) - stats.entropy(p, axis=1)))
        assert score == pytest.approx(m, rel=1e-12)
    # at the minimum, 10 samples per split, the full range [1, 10] is reachable
    assert metrics.inception_min_samples(10, 10) == 100
    assert metrics.inception_score(np.eye(10)[np.arange(100) % 10], 10)[0] == pytest.approx(10.0, rel=1e-12)
    with pytest.raises(ValueError, match="at least 100"):
        metrics.inception_score(np.eye(10)[np.arange(99) % 10], 10)


@pytest.mark.parametrize("probs,needle", [
    (np.full((20, 1), 1.0), "at least 2 classes"),
    (np.array([[1.5, -0.5]] * 20), r"in \[0, 1\]"),
    (np.array([[0.5, 0.4]] * 20), "row 0 sums to 0.9"),
    (np.array([[np.nan, 1.0]] * 20), "NaN or inf"),
    (np.array([["a", "b"]] * 20), "real numbers"),
    (np.ones(20), "2-D"),
])
def test_inception_score_names_the_broken_precondition(probs, needle):
    with pytest.raises(ValueError, match=needle):
        metrics.inception_score(probs, splits=2)


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
    # (computable, and warned about as biased)
    rng = np.random.default_rng(7)
    f1, f2 = rng.normal(size=(50, 64)), rng.normal(size=(50, 64)) + 0.5
    with pytest.warns(metrics.SampleSizeWarning):
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
    with pytest.raises(ValueError, match="cov1 is not positive semi-definite"):
        metrics.frechet_distance(np.zeros(2), -np.eye(2), np.zeros(2), np.eye(2))
    # C1 = C2 = -I: (C1 C2)^(1/2) = I and the formula gives -2 - 2 + 4 = 0, a "perfect" score
    # for matrices that are not covariances. Dowson & Landau 1982 assume symmetric PSD.
    with pytest.raises(ValueError, match="not positive semi-definite"):
        metrics.frechet_distance([0, 0], -np.eye(2), [0, 0], -np.eye(2))


@pytest.mark.parametrize("scale", [1e-20, 1.0, 1e20])
def test_covariance_check_is_relative_to_the_matrix_scale(scale):
    rng = np.random.default_rng(11)
    a = rng.normal(size=(6, 3))
    c = scale * (a @ a.T)  # PSD of rank 3: round-off leaves eigenvalues ~ -1e-16 * scale
    np.testing.assert_array_equal(metrics.check_covariance(c), c)
    assert metrics.frechet_distance(np.zeros(6), c, np.zeros(6), c) == pytest.approx(0.0, abs=1e-6 * scale)
    bad = c - 1e-3 * np.trace(c) * np.eye(6)  # smallest eigenvalue -1e-3 tr(c)
    with pytest.raises(ValueError, match="smallest eigenvalue"):
        metrics.check_covariance(bad, "cov2")
    skew = c.copy()
    skew[0, 1] += 1e-3 * np.abs(c).max()
    with pytest.raises(ValueError, match="cov is not symmetric"):
        metrics.check_covariance(skew)


def test_covariance_check_allows_rounding_of_the_input_precision_only():
    # A rank-deficient covariance whose zero eigenvalues sit at -1e-8 of the largest: that
    # is float32 rounding (tolerance 10 k eps32 = 7.6e-5 for k = 64), accepted as float32;
    # in float64 (tolerance 10 k eps64 = 1.4e-13) it is a genuinely indefinite matrix.
    rng = np.random.default_rng(12)
    a = rng.normal(size=(64, 49))
    c = a @ a.T
    c -= 1e-8 * np.linalg.eigvalsh(c)[-1] * np.eye(64)
    metrics.check_covariance(c.astype(np.float32))
    with pytest.raises(ValueError, match="positive semi-definite"):
        metrics.check_covariance(c)


@pytest.mark.parametrize("args,needle", [
    (([0, 0], [[1, 0], [0, np.nan]], [0, 0], np.eye(2)), "cov1 contains NaN"),
    (([0, np.inf], np.eye(2), [0, 0], np.eye(2)), "mu1 contains NaN"),
    (([0, 0], np.eye(2), [0, 0], np.ones((2, 3))), "cov2 must be a square matrix"),
    (([0, 0], np.eye(2), [0, 0], [[1, 2], [0, 1]]), "cov2 is not symmetric"),
])
def test_fid_names_the_bad_argument(args, needle):
    with pytest.raises(ValueError, match=needle):
        metrics.frechet_distance(*args)


def test_gaussian_stats_warns_when_the_covariance_must_be_singular():
    # n samples span at most n - 1 directions around their mean: with n <= k the covariance
    # is singular whatever the data; the warning names the number needed, k + 1.
    rng = np.random.default_rng(13)
    with pytest.warns(metrics.SampleSizeWarning, match="needs at least 65 samples"):
        _, c = metrics.gaussian_stats(rng.normal(size=(64, 64)))
    assert np.linalg.matrix_rank(c) == 63
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics.gaussian_stats(rng.normal(size=(65, 64)))
    with pytest.raises(ValueError, match="at least 2 rows"):
        metrics.gaussian_stats(np.zeros((1, 3)))


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


@pytest.mark.parametrize("s", [1e-20, 1e20])
def test_fid_is_homogeneous_in_the_scale_of_the_features(s):
    # features scaled by a: means by a, covariances by a^2, so d^2 by a^2 = s (Heusel et al.
    # eq. 6 is homogeneous of degree 1 in (mu mu^T, C)); rank-deficient covariances
    # (20 samples of 30 features) take the regularised path, whose eps is relative too
    rng = np.random.default_rng(14)
    f1, f2 = rng.normal(size=(20, 30)), 0.5 + 2 * rng.normal(size=(20, 30))
    with pytest.warns(metrics.SampleSizeWarning):
        ref = metrics.frechet_distance(*metrics.gaussian_stats(f1), *metrics.gaussian_stats(f2))
        got = metrics.frechet_distance(*metrics.gaussian_stats(math.sqrt(s) * f1),
                                       *metrics.gaussian_stats(math.sqrt(s) * f2))
    assert got == pytest.approx(s * ref, rel=1e-6)


# --- kernel Inception distance (Binkowski et al. 2018, Section 4, eq. 4)


def _mmd2_double_loop(x, y):
    """Eq. 4 of Binkowski et al. 2018 term by term, one kernel value at a time."""
    d = x.shape[1]
    k = lambda a, b: (float(np.dot(a, b)) / d + 1.0) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


@given(seeds, st.integers(2, 9), st.integers(2, 9), st.integers(1, 6))
def test_mmd2_unbiased_equals_double_loop(seed, m, n, d):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(m, d)), 1.0 + 0.5 * rng.normal(size=(n, d))
    assert metrics.mmd2_unbiased(x, y) == pytest.approx(_mmd2_double_loop(x, y), rel=1e-10, abs=1e-12)


def test_mmd2_of_point_masses_is_the_kernel_distance():
    # every row of x is a, of y is b: each sum of eq. 4 is a constant, so the unbiased
    # estimate is exactly k(a, a) + k(b, b) - 2 k(a, b) = ||phi(a) - phi(b)||^2;
    # a = e1, b = e2 in d = 4: 2 (1/4 + 1)^3 - 2 (0 + 1)^3 = 1.90625
    a, b = np.eye(4)[0], np.eye(4)[1]
    got = metrics.mmd2_unbiased(np.tile(a, (5, 1)), np.tile(b, (3, 1)))
    assert got == pytest.approx(2 * 1.25 ** 3 - 2, rel=1e-14)


def test_mmd2_of_one_set_against_itself_closed_form():
    # x against itself (not an independent sample): eq. 4 gives
    # 2 mean_{i != j} K - 2 mean_{i, j} K = (2/m) (mean_{i != j} K - mean_i K_ii),
    # negative here: the unbiased estimate is "around 0" only for independent sets
    rng = np.random.default_rng(15)
    x = rng.normal(size=(40, 5))
    K = (x @ x.T / 5 + 1) ** 3
    m = 40
    off = (K.sum() - np.trace(K)) / (m * (m - 1))
    assert metrics.mmd2_unbiased(x, x) == pytest.approx(2 / m * (off - np.trace(K) / m), rel=1e-10)


@pytest.mark.parametrize("a,b", [(1.0, 1.0), (1.0, 1.5), (0.5, 1.0)])
def test_mmd2_of_isotropic_gaussians_closed_form(a, b):
    # x ~ N(0, a^2 I_d), y ~ N(0, b^2 I_d) independent: with s = x.y/d, E s = E s^3 = 0 and
    # E s^2 = a^2 b^2 / d, so E k(x, y) = E (1 + s)^3 = 1 + 3 a^2 b^2 / d and
    # MMD^2 = 3 (a^4 + b^4 - 2 a^2 b^2) / d = 3 (a^2 - b^2)^2 / d (0 for a = b).
    # The estimator is unbiased: the mean of 30 independent estimates is within 5
    # standard errors of it.
    d = 4
    truth = 3 * (a**2 - b**2) ** 2 / d
    rng = np.random.default_rng(16)
    est = np.array([metrics.mmd2_unbiased(a * rng.normal(size=(200, d)), b * rng.normal(size=(300, d)))
                    for _ in range(30)])
    se = est.std(ddof=1) / math.sqrt(est.size)
    assert abs(est.mean() - truth) < 5 * se
    if a != b:
        assert abs(est.mean() - truth) < 0.1 * truth


def test_mmd2_variance_estimate_matches_the_spread_of_independent_estimates():
    # The U-statistic variance 4(m-2)/(m(m-1)) zeta_1 + 2/(m(m-1)) zeta_2 with plug-in
    # zetas (Sutherland et al. 2017, appendix on Var MMD^2_U; Serfling 1980, 5.2.1 Lemma A):
    # its mean over 1000 independent pairs of
    # sets must match the variance of the 1000 estimates. Features uniform on [-1, 1]^3 keep
    # the kernel bounded; measured agreement 8% (shift 0.3) and 5% (no shift), the
    # empirical variance's own standard error being 3%.
    rng = np.random.default_rng(18)
    for shift in (0.0, 0.3):
        pairs = [(rng.uniform(-1, 1, size=(50, 3)), shift + rng.uniform(-1, 1, size=(50, 3)))
                 for _ in range(1000)]
        est = np.array([metrics.mmd2_unbiased(x, y) for x, y in pairs])
        var = np.array([metrics.mmd2_variance(x, y) for x, y in pairs])
        assert var.mean() == pytest.approx(est.var(ddof=1), rel=0.15)
    with pytest.raises(ValueError, match="same number of rows"):
        metrics.mmd2_variance(np.zeros((4, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="at least 3 rows"):
        metrics.mmd2_variance(np.zeros((2, 2)), np.ones((2, 2)))


def test_kid_is_the_subset_mean_of_eq4():
    rng = np.random.default_rng(17)
    x, y = rng.normal(size=(50, 6)), 0.3 + rng.normal(size=(70, 6))
    # subsets of 20 rows without replacement, drawn in the order of Binkowski et al.'s code
    # (features, then reference): a generator of the same seed replays the draws
    g = np.random.default_rng(3)
    expect = []
    for _ in range(4):
        xs = x[g.choice(50, 20, replace=False)]
        ys = y[g.choice(70, 20, replace=False)]
        expect.append(metrics.mmd2_unbiased(xs, ys))
    got = metrics.kernel_inception_distance(x, y, subset_size=20, n_subsets=4, rng=3)
    assert got == pytest.approx((np.mean(expect), np.std(expect)), rel=1e-12)
    # subsets as large as the sets: each is a permutation of them, and eq. 4 does not
    # depend on the order of the rows, so every estimate is eq. 4 on the full sets
    full = metrics.kernel_inception_distance(x, y[:50], subset_size=50, n_subsets=3, rng=1)
    assert full[0] == pytest.approx(metrics.mmd2_unbiased(x, y[:50]), rel=1e-12)
    assert full[1] <= 1e-12 * abs(full[0])


@pytest.mark.parametrize("kwargs,needle", [
    (dict(features=np.zeros((1, 3))), "features needs at least 2 rows"),
    (dict(reference=np.zeros((5, 4))), "dims"),
    (dict(subset_size=1), "subset_size .* >= 2"),
    (dict(n_subsets=0), "n_subsets must be an integer >= 1"),
    (dict(n_subsets=2.5), "n_subsets must be an integer"),
    (dict(features=np.full((5, 3), np.nan)), "NaN"),
])
def test_kid_refuses_meaningless_input(kwargs, needle):
    args = dict(features=np.ones((5, 3)), reference=np.zeros((6, 3)))
    args.update(kwargs)
    with pytest.raises(ValueError, match=needle):
        metrics.kernel_inception_distance(args.pop("features"), args.pop("reference"), **args)


# --- sample sizes of the Parzen estimate


def test_parzen_refuses_empty_sets_and_a_standard_error_of_one_point():
    with pytest.raises(ValueError, match="non-empty"):
        metrics.parzen_log_likelihood(np.zeros((0, 3)), np.zeros((2, 3)), 0.1)
    with pytest.raises(ValueError, match="mu must be a non-empty"):
        metrics.parzen_log_likelihood(np.zeros((2, 3)), np.zeros((0, 3)), 0.1)
    with pytest.raises(ValueError, match="at least 2 points for a standard error"):
        metrics.parzen_evaluate(np.zeros((4, 3)), np.zeros((2, 3)), np.zeros((1, 3)))
