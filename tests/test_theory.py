"""Theory functions by closed form (Goodfellow et al. 2014, Prop. 1, Thm. 1), against a
second method (quadrature vs Monte Carlo vs grid), and the generator density p_g."""
from math import log

import numpy as np
import pytest

from gandyn import theory as T
from gandyn.theory.density import bandwidth, generator_density, kde
from gandyn.distributions import Mixture, Normal, Uniform
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
