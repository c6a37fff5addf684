"""Theory functions by closed form (Goodfellow et al. 2014, Prop. 1, Thm. 1), against a
second method (quadrature vs Monte Carlo vs grid), and the generator density p_g."""
from math import log, pi

import numpy as np
import pytest
from scipy import integrate

from gandyn import theory as T
from gandyn.theory.density import bandwidth, generator_density, kde
from gandyn.distributions import Mixture, Normal, Normal2D, Uniform, merge_intervals, ring2d
from gandyn.engine.nn import MLP


def kl_normal(p, q):
    """KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2/s1) + (s1^2 + (m1-m2)^2)/(2 s2^2) - 1/2."""
    return log(q.scale / p.scale) + (p.scale ** 2 + (p.loc - q.loc) ** 2) / (2 * q.scale ** 2) - 0.5


@pytest.mark.parametrize("s", [0.0, 0.1, 0.37, 0.5, 0.9, 1.0])
def test_shifted_uniforms_c_of_g_closed_form(s):
    # U[0,1] vs U[s,1+s]: D* = 1/2 on the overlap, 1 or 0 elsewhere, so C(G) = -2(1-s) log 2
    p, q = Uniform(0.0, 1.0), Uniform(s, 1.0 + s)
    expected = -2 * (1 - s) * log(2)
    assert T.c_of_g(p, q).value == pytest.approx(expected, abs=1e-12)
    assert T.value(T.d_star_function(p, q), p, q).value == pytest.approx(expected, abs=1e-12)
    assert T.jsd(p, q).value == pytest.approx(s * log(2), abs=1e-12)


def test_disjoint_supports_give_c_zero_and_jsd_log2():
    p, q = Uniform(0.0, 1.0), Uniform(3.0, 5.0)
    assert T.c_of_g(p, q).value == pytest.approx(0.0, abs=1e-14)
    assert T.jsd(p, q).value == pytest.approx(log(2), abs=1e-12)
    assert T.kl(p, q).value == np.inf


@pytest.mark.parametrize("p,q", [
    (Normal(0.0, 1.0), Normal(1.0, 1.0)), (Normal(0.0, 0.3), Normal(-2.0, 4.0)),
    (Normal(5.0, 2.0), Normal(5.0, 0.5)),
])
def test_kl_of_normals_closed_form_by_quad_and_mc(p, q):
    exact = kl_normal(p, q)
    r = T.kl(p, q)
    assert r.value == pytest.approx(exact, abs=1e-10) and r.error < 1e-8 and r.method == "quad"
    mc = T.kl(p, q, method="mc", n=50_000, rng=0)
    assert abs(mc.value - exact) < 5 * mc.error and mc.method == "mc"


@pytest.mark.parametrize("p,q", [
    (Normal(0.0, 1.0), Normal(1.5, 0.7)),
    (Mixture([Normal(-2.0, 0.5), Uniform(0.0, 1.0)], [0.5, 0.5]), Normal(0.0, 2.0)),
    (Uniform(0.0, 1.0), Normal(0.5, 0.2)),
])
def test_theorem_1_identity_and_mc_agreement(p, q):
    v = T.value(T.d_star_function(p, q, logit=True), p, q, logit=True).value
    j = T.jsd(p, q)
    assert abs(v - (-T.LOG4 + 2 * j.value)) <= 1e-10
    assert T.c_of_g(p, q).value == pytest.approx(v, abs=1e-11)
    for est, ref in [(T.jsd(p, q, method="mc", n=40_000, rng=1), j.value),
                     (T.c_of_g(p, q, method="mc", n=40_000, rng=2), v),
                     (T.value(T.d_star_function(p, q, logit=True), p, q, logit=True, method="mc", n=40_000, rng=3), v)]:
        assert abs(est.value - ref) < 5 * est.error


def test_value_accepts_logits_and_checks_probabilities():
    p, q = Normal(0.0, 1.0), Normal(1.0, 1.0)
    # log D*/(1-D*) = log p - log q = 1/2 - x for these two normals
    logit = lambda x: 0.5 - x  # noqa: E731
    v = T.value(logit, p, q, logit=True).value
    assert v == pytest.approx(T.c_of_g(p, q).value, abs=1e-11)
    with pytest.raises(ValueError, match="probabilities"):
        T.value(lambda x: 2.0 + 0 * x, p, q)


def test_d_star_defined_value_and_logit():
    d = T.d_star(np.array([0.0, 1.0, 0.0, 2.0]), np.array([0.0, 0.0, 3.0, 2.0]))
    np.testing.assert_array_equal(d, [0.5, 1.0, 0.0, 0.5])
    l = T.d_star_logit(np.array([-np.inf, 0.0, -np.inf, -800.0]), np.array([-np.inf, -np.inf, 0.0, -801.0]))
    np.testing.assert_array_equal(l, [0.0, np.inf, -np.inf, 1.0])
    with pytest.raises(ValueError, match="non-negative"):
        T.d_star(np.array([-1.0]), np.array([1.0]))


def test_grid_functions_agree_with_quadrature():
    p, q = Normal(0.0, 1.0), Mixture([Normal(-1.0, 0.5), Normal(2.0, 0.8)], [0.4, 0.6])
    x = np.linspace(-10.0, 10.0, 4001)
    P, Q = p.pdf(x), q.pdf(x)
    assert T.jsd_grid(x, P, Q) == pytest.approx(T.jsd(p, q).value, abs=1e-8)
    assert T.kl_grid(x, P, Q) == pytest.approx(T.kl(p, q).value, abs=1e-7)
    L = T.d_star_logit(p.logpdf(x), q.logpdf(x))
    assert T.value_grid(x, L, P, Q, logit=True) == pytest.approx(T.c_of_g(p, q).value, abs=1e-8)
    # in probability space D* rounds to 1 where q/p < eps, and log(1 - D*) = -inf there
    assert T.value_grid(x, T.d_star(P, Q), P, Q) == -np.inf
    assert T.kl_grid(x, P, np.where(x < 0, 2 * Q, 0.0), tol=None) == np.inf


def test_jsd_grid_stays_in_range_on_a_coarse_grid():
    x = np.linspace(-3.0, 3.0, 7)
    p = np.array([0, 0, 0, 0.5, 0, 0, 0])
    q = np.array([0, 0, 0, 0, 0, 0, 0.5])
    assert 0.0 <= T.jsd_grid(x, p, q, tol=None) <= log(2) * 0.5 * np.trapezoid(p + q, x) + 1e-15


@pytest.mark.parametrize("bad,needle", [
    (dict(p=np.full(5, 3.0)), "integrates"),
    (dict(p=np.array([0.0, 1.0, -1.0, 1.0, 0.0])), "non-negative"),
    (dict(p=np.ones(4)), "one value per grid point"),
    (dict(x=np.array([0.0, 1.0, 1.0, 2.0, 3.0])), "strictly increasing"),
])
def test_grid_bad_input_names_the_argument(bad, needle):
    args = dict(x=np.linspace(0.0, 4.0, 5), p=np.full(5, 0.25), q=np.full(5, 0.25))
    args.update(bad)
    with pytest.raises(ValueError, match=needle):
        T.jsd_grid(args["x"], args["p"], args["q"])


class _Unnormalised:
    """A density that integrates to 2: must be rejected."""

    def pdf(self, x):
        return 2.0 * Normal().pdf(x)

    def logpdf(self, x):
        return log(2.0) + Normal().logpdf(x)

    def bounds(self, tail=1e-12):
        return Normal().bounds(tail)


@pytest.mark.parametrize("fn", [T.jsd, T.kl, T.c_of_g])
def test_quad_functions_reject_densities_that_do_not_integrate_to_one(fn):
    with pytest.raises(ValueError, match="p_g|q.*integrates|integrates"):
        fn(Normal(), _Unnormalised())
    with pytest.raises(ValueError, match="method"):
        fn(Normal(), Normal(), method="simpson")


# --- supports: KL = inf, JSD = log 2 and C(G) = 0 where the support says so


class _Opaque:
    """A distribution that declares no support (only pdf, logpdf, bounds, rvs)."""

    def __init__(self, d):
        self.d = d

    def pdf(self, x):
        return self.d.pdf(x)

    def logpdf(self, x):
        return self.d.logpdf(x)

    def bounds(self, tail=1e-12):
        return self.d.bounds(tail)

    def rvs(self, size=1, rng=None):
        return self.d.rvs(size, rng)


@pytest.mark.parametrize("method", ["quad", "mc"])
def test_kl_is_infinite_when_p_has_mass_outside_qs_support(method):
    # N(0, 1) puts 2 Phi(-8) = 1.2e-15 of its mass outside [-8, 8], where U(-8, 8) has
    # density 0: KL = int p log(p/0) = inf (Cover & Thomas 2006, eq. 2.26 and the
    # convention p log(p/0) = inf). It used to return 1.3537, integrating only p's bounds.
    r = T.kl(Normal(0.0, 1.0), Uniform(-8.0, 8.0), method=method, n=1000, rng=0)
    assert r.value == np.inf and r.method == "exact"
    # the same without declared supports: found by probing log-densities far in p's tail
    assert T.kl(_Opaque(Normal(0.0, 1.0)), _Opaque(Uniform(-8.0, 8.0))).value == np.inf
    # a mixture with a gap: U(0, 3) has mass in (1, 2), where the mixture has none
    gap = Mixture([Uniform(0.0, 1.0), Uniform(2.0, 3.0)], [0.5, 0.5])
    assert T.kl(Uniform(0.0, 3.0), gap, method=method, n=1000, rng=0).value == np.inf


def test_kl_is_finite_when_q_covers_p():
    # KL(U(-8, 8) || N(0, 1)) = -log 16 + log sqrt(2 pi) + E[x^2]/2, E[x^2] = 16^2/12
    expect = -log(16.0) + 0.5 * log(2 * pi) + 16.0 ** 2 / 24
    r = T.kl(Uniform(-8.0, 8.0), Normal(0.0, 1.0))
    assert r.method == "quad" and r.value == pytest.approx(expect, abs=1e-10)
    mc = T.kl(Uniform(-8.0, 8.0), Normal(0.0, 1.0), method="mc", n=20_000, rng=4)
    assert abs(mc.value - expect) < 5 * mc.error
    # a mixture with a gap inside a uniform: KL = log(density ratio) = log(0.5 / (1/3))
    gap = Mixture([Uniform(0.0, 1.0), Uniform(2.0, 3.0)], [0.5, 0.5])
    assert T.kl(gap, Uniform(0.0, 3.0)).value == pytest.approx(log(1.5), abs=1e-12)


@pytest.mark.parametrize("p,q", [
    (Normal(0.0, 1e-3), Normal(100.0, 1e-3)),       # narrow bumps in a wide interval
    (Uniform(0.0, 1.0), Uniform(1.0, 2.0)),          # touching supports: overlap of length 0
    (Mixture([Uniform(0.0, 1.0), Uniform(2.0, 3.0)], [0.5, 0.5]), Uniform(1.0, 2.0)),
])
def test_disjoint_supports_give_jsd_log2_and_c_zero(p, q):
    # Lin 1991; C(G) = -log 4 + 2 JSD (Goodfellow et al. 2014, Thm. 1): JSD = log 2 and C(G) = 0 iff
    # p and q are mutually singular. N(0, 1e-3) vs N(100, 1e-3) used to give log(2)/2:
    # quadrature missed half of each bump.
    # (the normals are not exactly singular, but overlap by about e^-(5e9): quadrature's
    # tolerance is the error here)
    assert T.jsd(p, q).value == pytest.approx(log(2), abs=1e-10)
    assert T.c_of_g(p, q).value == pytest.approx(0.0, abs=1e-10)
    mc = T.jsd(p, q, method="mc", n=1000, rng=5)
    assert mc.value == pytest.approx(log(2), abs=1e-12)


def test_jsd_stays_finite_and_below_log2_with_partial_overlap():
    # the normal component overlaps U(3, 4) at 6-7 sd: finite, just below log 2
    p = Mixture([Normal(0.0, 1e-3), Normal(10.0, 1.0)], [0.5, 0.5])
    T.check_density(p)  # a narrow bump far from the other is integrated, not missed
    j = T.jsd(p, Uniform(3.0, 4.0)).value
    assert log(2) - 1e-6 < j < log(2)


def test_supports_are_merged_intervals():
    assert merge_intervals([(2.0, 3.0), (0.0, 1.0), (1.0, 1.5)]) == ((0.0, 1.5), (2.0, 3.0))
    m = Mixture([Uniform(0.0, 1.0), Uniform(0.5, 2.0), Uniform(3.0, 4.0)], [0.2, 0.3, 0.5])
    assert m.support == ((0.0, 2.0), (3.0, 4.0))
    assert Mixture([Uniform(0.0, 1.0), Normal()], [0.5, 0.5]).support == ((-np.inf, np.inf),)


# --- N-D distributions: Monte Carlo where it applies, a one-line error where not


def _jsd_isotropic_2d(s1, s2):
    """JSD of N(0, s1^2 I_2) and N(0, s2^2 I_2) by 1-D quadrature over the radius: the density
    ratio depends on x only through r = |x|, so the JSD equals that of the radii's Rayleigh
    distributions, density r/s^2 exp(-r^2 / (2 s^2))."""
    def logray(r, s):
        return np.log(r) - 2 * np.log(s) - r * r / (2 * s * s)

    def f(r):
        a, b = logray(r, s1), logray(r, s2)
        m = np.logaddexp(a, b) - log(2)
        return 0.5 * (np.exp(a) * (a - m) + np.exp(b) * (b - m))

    return integrate.quad(f, 0, 20 * max(s1, s2), epsabs=1e-13, limit=200, points=[s1, s2])[0]


def test_jsd_and_kl_of_2d_rings_by_monte_carlo():
    # ring2d's 8 modes are 1.53 apart, 30 sd of the wider one: the mixtures' JSD and KL are
    # those of one mode pair to within e^-450. Same-mean isotropic Gaussians in 2-D:
    # KL(N(0, a^2 I) || N(0, b^2 I)) = 2 log(b/a) + a^2/b^2 - 1.
    p, q = ring2d(), ring2d(scale=0.05)
    j = T.jsd(p, q, method="mc", n=20_000, rng=6)
    assert j.method == "mc" and abs(j.value - _jsd_isotropic_2d(0.02, 0.05)) < 5 * j.error
    k = T.kl(p, q, method="mc", n=20_000, rng=7)
    assert abs(k.value - (2 * log(2.5) + 0.16 - 1)) < 5 * k.error
    c = T.c_of_g(p, q, method="mc", n=20_000, rng=8)
    assert abs(c.value - (-T.LOG4 + 2 * _jsd_isotropic_2d(0.02, 0.05))) < 5 * c.error
    # V(D = 1/2, G) = log(1/2) + log(1/2) = -log 4 exactly, D taking (n, 2) arrays
    v = T.value(lambda x: np.full(x.shape[0], 0.5), p, q, method="mc", n=100, rng=9)
    assert v.value == pytest.approx(-T.LOG4, abs=1e-14)


@pytest.mark.parametrize("fn", [T.jsd, T.kl, T.c_of_g])
def test_quadrature_of_2d_distributions_is_a_one_line_error(fn):
    with pytest.raises(ValueError, match="quadrature is 1-D only.*method='mc'"):
        fn(ring2d(), ring2d(scale=0.05))
    with pytest.raises(ValueError, match="is 2-D but (q|p_g) is 1-D"):
        fn(Normal2D(), Normal(), method="mc")  # "p" or "p_data"


def test_kl_grid_with_log_densities_survives_underflow():
    # N(0, 1) against N(0, 0.01^2): q underflows to 0 for |x| > 0.39 while p does not, so
    # the density grid reads q = 0 and says inf; the log-density grid gives the closed form
    # log(s2/s1) + (s1^2 + (m1 - m2)^2)/(2 s2^2) - 1/2.
    p, q = Normal(0.0, 1.0), Normal(0.0, 0.01)
    x = np.linspace(-10.0, 10.0, 200_001)
    assert T.kl_grid(x, p.pdf(x), q.pdf(x)) == np.inf
    got = T.kl_grid(x, p.logpdf(x), q.logpdf(x), log=True)
    assert got == pytest.approx(kl_normal(p, q), rel=1e-9)
    # and a genuine zero of q still gives inf in log space
    u = Uniform(-1.0, 1.0)
    assert T.kl_grid(x, p.logpdf(x), u.logpdf(x), log=True) == np.inf
    with pytest.raises(ValueError, match="log-densities"):
        T.kl_grid(x, p.logpdf(x), np.full(x.shape, np.nan), log=True)


# --- generator density p_g


def test_affine_generator_with_normal_latent_gives_a_normal():
    G = MLP((1, 1), ("identity",))
    x = np.linspace(-8.0, 12.0, 501)
    r = generator_density(G, np.array([-2.0, 3.0]), x, "normal")  # x = 3 - 2 z ~ N(3, 2^2)
    assert r.method == "change_of_variables" and r.bandwidth is None
    np.testing.assert_allclose(r.pdf, Normal(3.0, 2.0).pdf(x), rtol=1e-12, atol=1e-300)


def test_tanh_generator_change_of_variables_matches_a_histogram():
    G = MLP((1, 16, 1), ("tanh", "identity"))
    theta = G.init(np.random.default_rng(3))
    x = np.linspace(-2.0, 2.0, 801)
    r = generator_density(G, theta, x, "normal")
    assert r.method == "change_of_variables" and r.mass() == pytest.approx(1.0, abs=1e-6)
    s = G(theta, np.random.default_rng(1).standard_normal((400_000, 1)))[:, 0]
    h, e = np.histogram(s, bins=40, range=r.support, density=True)
    c = 0.5 * (e[1:] + e[:-1])
    # bin average vs midpoint value: within 5 sd of the histogram's binomial noise plus 2%
    sd = np.sqrt(h / (s.size * np.diff(e)))
    assert np.all(np.abs(np.interp(c, x, r.pdf) - h) < 5 * sd + 0.02 * h.max())


def test_non_monotone_generator_falls_back_to_kde_and_records_it():
    G = MLP((1, 1, 1), ("tanh", "identity"))
    # G(z) = tanh(3 z)^... use |z|-like shape: two tanh units would be needed; square via 1-2-1
    G = MLP((1, 2, 1), ("tanh", "identity"))
    theta = G.layout.flatten({"W1": [[3.0, -3.0]], "b1": [[0.0, 0.0]], "W2": [[1.0], [1.0]], "b2": [[0.0]]})
    # tanh(3z) + tanh(-3z) = 0: constant, collapsed generator
    x = np.linspace(-1.0, 1.0, 201)
    r = generator_density(G, theta, x, "uniform", rng=0)
    assert r.method == "kde" and r.rule == "silverman" and r.bandwidth == pytest.approx(0.01)
    assert r.mass() == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ValueError, match="monotone"):
        generator_density(G, theta, x, "uniform", method="change_of_variables")
    # a genuinely non-monotone G: x = z^2-like bump
    theta = G.layout.flatten({"W1": [[3.0, -3.0]], "b1": [[-1.0, -1.0]], "W2": [[1.0], [1.0]], "b2": [[0.0]]})
    r = generator_density(G, theta, np.linspace(-3.0, 1.0, 801), "uniform", rng=0, n_samples=5000)
    assert r.method == "kde" and r.mass() == pytest.approx(1.0, abs=1e-2)


def test_kde_and_bandwidth_rules():
    s = np.random.default_rng(0).normal(size=1000)
    h = bandwidth(s, "silverman")
    iqr = np.subtract(*np.percentile(s, [75, 25]))
    assert h == pytest.approx(0.9 * min(s.std(ddof=1), iqr / 1.34) * 1000 ** -0.2)
    assert bandwidth(s, "scott") == pytest.approx(s.std(ddof=1) * 1000 ** -0.2)
    x = np.linspace(-4.0, 4.0, 81)
    ref = np.array([np.mean(np.exp(-0.5 * ((xi - s) / h) ** 2)) / (h * np.sqrt(2 * np.pi)) for xi in x])
    np.testing.assert_allclose(kde(s, x, h, chunk=97), ref, rtol=1e-12)
    with pytest.raises(ValueError, match="rule"):
        bandwidth(s, "plugin")


# --- gandyn.theory.families and the perturbation of D*


def test_closed_form_cases_hold_by_quadrature():
    cases = T.closed_form_cases()
    assert len(cases) == 11 and len(T.analytic_family()) == 15 and T.loss_family()[0][0] == "N(0,1) vs N(1,1)"
    for name, p, q, c in cases:
        assert abs(T.c_of_g(p, q).value - c) < 1e-10, name


@pytest.mark.parametrize("name", sorted(T.SHIFTED_NORMAL_D_VALUE))
def test_shifted_normal_d_values_by_quadrature(name):
    # -min L_D at the optimal D against the closed form, N(0,1) vs N(mu,1); KL also against kl_normal
    for mu in (0.3, 1.7):
        p, q = Normal(0.0, 1.0), Normal(mu, 1.0)
        assert abs(T.d_value_at_optimum(name, p, q).value - T.SHIFTED_NORMAL_D_VALUE[name](mu)) < 1e-9
    kl = kl_normal(Normal(0.0, 1.0), Normal(1.7, 1.0))
    assert T.SHIFTED_NORMAL_D_VALUE["kl"](1.7) == pytest.approx(kl, abs=1e-14)


def test_random_bounded_function_is_bounded_and_seeded():
    x = np.linspace(-50.0, 50.0, 2001)
    g = T.random_bounded_function(3)
    assert np.abs(g(x)).max() <= 1.0 and np.array_equal(g(x), T.random_bounded_function(3)(x))
    assert g(np.zeros((2, 3))).shape == (2, 3)


def test_d_star_perturbation_never_increases_v_and_matches_a_direct_quadrature():
    # Prop. 1: D* maximises V, so the change is <= 0; here also V(D* + eps h) - V(D*) by value()
    p, q, eps = Normal(0.0, 1.0), Normal(1.0, 1.5), 0.3
    g = T.random_bounded_function(0)
    d = T.d_star_perturbation(p, q, g, eps)
    assert d.value < 0

    def dp(x):
        ds = T.d_star(p.pdf(x), q.pdf(x))
        return ds + eps * ds * (1 - ds) * g(x)

    direct = T.value(dp, p, q).value - T.c_of_g(p, q).value
    assert abs(d.value - direct) < 1e-9
    with pytest.raises(ValueError, match="eps"):
        T.d_star_perturbation(p, q, g, 1.5)


def test_jsd_terms_sum_is_the_discrete_jsd():
    # JSD = KL(p || m)/2 + KL(q || m)/2 of discrete distributions (Lin 1991, eq. 4.1), by its definition
    p, q = np.array([0.5, 0.3, 0.2, 0.0]), np.array([0.1, 0.1, 0.4, 0.4])
    m = (p + q) / 2
    kl = lambda a: float(np.sum(np.where(a > 0, a * np.log(np.where(a > 0, a, 1) / m), 0.0)))  # noqa: E731
    assert T.jsd_terms(p, q).sum() == pytest.approx(0.5 * kl(p) + 0.5 * kl(q), rel=1e-12)
    # disjoint supports: log 2; equal: 0; a population axis broadcasts
    assert T.jsd_terms(np.array([1.0, 0.0]), np.array([0.0, 1.0])).sum() == pytest.approx(log(2), rel=1e-15)
    assert T.jsd_terms(p, np.stack([p, q])).sum(axis=1)[0] == pytest.approx(0.0, abs=1e-16)
