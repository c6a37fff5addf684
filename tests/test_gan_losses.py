"""Loss objects (gandyn.engine.losses) and their theory (gandyn.theory.gan_losses)."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import elementwise_grad, grad
from hypothesis import given, settings, strategies as st
from scipy.special import log_expit

from gandyn import games
from gandyn import theory as T
from gandyn.engine import losses as L
from gandyn.engine.gan import GAN
from gandyn.engine.nn import MLP
from gandyn.testing import distributions1d, mixtures, normals, uniforms
from gandyn.distributions import Mixture, Normal, Uniform
from gandyn.engine.workspace import Workspace

pytestmark = pytest.mark.filterwarnings("ignore:Output seems independent of input")

NAMES = L.LOSSES.names()
SEPARABLE = [n for n in NAMES if L.get(n).separable]
#: every separable loss with parameters too
MADE = [L.get(n) for n in SEPARABLE] + [L.get("ls", a=-1, b=1, c=0), L.get("ls", a=0.5, b=2.0, c=-1.0),
                                        L.get("nonsat", label_smooth=0.1), L.get("minimax", label_smooth=0.3)]
IDS = [m.label for m in MADE]


def _all_pairs(o_r, o_f):
    """A user's coupled loss: every real output against every fake one (not a registered loss)."""
    return anp.mean(anp.logaddexp(0.0, o_f[..., None, :] - o_r[..., :, None]), axis=(-1, -2))


#: the coupled losses: the relativistic ones and a user-defined one (G's loss the non-saturating twin)
USER = L.custom(_all_pairs, lambda o_r, o_f: _all_pairs(o_f, o_r) + 0.1 * anp.mean(o_r ** 2, axis=-1), name="pairs")
COUPLED = [L.get(n) for n in NAMES if not L.get(n).separable] + [USER]
ALL = MADE + COUPLED
ALL_IDS = IDS + [c.label for c in COUPLED]


def _sizes(loss, m_r=7, m_f=5):
    return (m_r, m_r) if loss.paired else (m_r, m_f)
#: losses whose value grows like exp(|o|): bounded outputs
EXPONENTIAL = {"kl", "reverse-kl", "hellinger"}
TERMS = ("d_real", "d_fake", "g_fake")


def _outputs(loss, n=41):
    lim = 30.0 if loss.name in EXPONENTIAL else 60.0
    return np.concatenate([np.linspace(-lim, lim, n), [-1.37, 0.413, 2.5]])


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))


@pytest.mark.parametrize("loss", MADE, ids=IDS)
def test_first_and_second_derivatives_equal_autograds(loss):
    o = _outputs(loss)
    o = o[np.abs(np.abs(o) - 1.0) > 1e-9]  # off the hinge's kinks
    for t in TERMS:
        el = getattr(loss, t)
        assert _rel(el.f(o), el.traced(o)) <= 1e-12, t
        assert _rel(el.df(o), elementwise_grad(el.traced)(o)) <= 1e-12, t
        assert _rel(el.d2f(o), elementwise_grad(elementwise_grad(el.traced))(o)) <= 1e-12, t


def _hvp_autograd(fun, orl, ofk, t_r, t_f):
    """Autograd's Hessian-vector product of a scalar ``fun(o_r, o_f)`` in output space."""
    g = grad(lambda oo: fun(oo[0], oo[1]))
    return grad(lambda oo: anp.sum(g(oo)[0] * t_r) + anp.sum(g(oo)[1] * t_f))((orl, ofk))


@pytest.mark.parametrize("loss", ALL, ids=ALL_IDS)
def test_d_and_g_loss_gradients_and_hvps_are_autograds(loss):
    """Both players' losses, their gradients w.r.t. both output vectors and their
    Hessian-vector products in output space equal autograd's on the traced values, 1e-12."""
    rng = np.random.default_rng(0)
    lim = 5.0 if loss.name in EXPONENTIAL else 20.0
    m_r, m_f = _sizes(loss)
    orl, ofk = rng.uniform(-lim, lim, m_r), rng.uniform(-lim, lim, m_f)
    t_r, t_f = rng.normal(size=m_r), rng.normal(size=m_f)
    for name, value_grad, hvp, traced in (("d", loss.d_loss, loss.d_hvp, loss.d_traced),
                                          ("g", loss.g_loss, loss.g_hvp, loss.g_traced)):
        v, gr, gf = value_grad(orl, ofk)
        ar, af = grad(lambda oo: traced(oo[0], oo[1]))((orl, ofk))
        assert _rel(v, traced(orl, ofk)) <= 1e-12, name
        assert _rel(gr, ar) <= 1e-12 and _rel(gf, af) <= 1e-12, name
        hr, hf = hvp(orl, ofk, t_r, t_f)
        br, bf = _hvp_autograd(traced, orl, ofk, t_r, t_f)
        assert _rel(hr, br) <= 1e-12 and _rel(hf, bf) <= 1e-12, name
    if not loss.g_reads_real:  # G's step may skip the real rows
        v, none, gf = loss.g_loss(None, ofk)
        assert none is None and _rel(gf, loss.g_loss(orl, ofk)[2]) == 0
        assert np.all(loss.g_loss(orl, ofk)[1] == 0)


@pytest.mark.parametrize("loss", ALL, ids=ALL_IDS)
def test_population_equals_separate_calls_and_dtype_is_kept(loss):
    rng = np.random.default_rng(1)
    m_r, m_f = _sizes(loss, 6, 5)
    orl, ofk = rng.uniform(-4, 4, (3, m_r)), rng.uniform(-4, 4, (3, m_f))
    t_r, t_f = rng.normal(size=(3, m_r)), rng.normal(size=(3, m_f))
    v, gr, gf = loss.d_loss(orl, ofk)
    vg, ggr, gg = loss.g_loss(orl, ofk)
    h = loss.d_hvp(orl, ofk, t_r, t_f) + loss.g_hvp(orl, ofk, t_r, t_f)
    assert v.shape == vg.shape == (3,) and gr.shape == ggr.shape == orl.shape and gf.shape == gg.shape == ofk.shape
    for p in range(3):
        a = loss.d_loss(orl[p], ofk[p]) + loss.g_loss(orl[p], ofk[p])
        for got, want in zip((v, gr, gf, vg, ggr, gg), a):
            np.testing.assert_allclose(got[p], want, rtol=1e-14, atol=1e-300)
        b = loss.d_hvp(orl[p], ofk[p], t_r[p], t_f[p]) + loss.g_hvp(orl[p], ofk[p], t_r[p], t_f[p])
        for got, want in zip(h, b):
            np.testing.assert_allclose(got[p], want, rtol=1e-14, atol=1e-300)
    o32 = orl.astype(np.float32), ofk.astype(np.float32)
    assert all(a.dtype == np.float32 for a in loss.d_loss(*o32)[1:] + loss.g_loss(*o32)[1:])
    assert all(a.dtype == np.float32 for a in loss.d_hvp(*o32, *o32) + loss.g_hvp(*o32, *o32))


@pytest.mark.parametrize("loss", ALL, ids=ALL_IDS)
def test_empty_minibatch_is_one_line_value_error(loss):
    e, one = np.zeros(0), np.zeros(1)
    for call in (lambda: loss.d_loss(e, e), lambda: loss.d_loss(one, e), lambda: loss.g_loss(e, e),
                 lambda: loss.g_loss(None, e), lambda: loss.d_hvp(e, one, None, None), lambda: loss.g_hvp(e, e, e, e)):
        with pytest.raises(ValueError, match="empty minibatch"):
            call()


def test_relativistic_paired_loss_needs_equal_batch_sizes():
    with pytest.raises(ValueError, match="rsgan.*equal real and fake batch sizes, got 3 and 4"):
        L.get("rsgan").d_loss(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="reads D's outputs on real data"):
        L.get("ragan").g_loss(None, np.zeros(4))


def test_relativistic_losses_are_the_papers_equations():
    """Jolicoeur-Martineau 2019, Sec. 4 (RSGAN, Algorithm 1; RaSGAN, RaLSGAN, RaHingeGAN, Sec. 4.2),
    written out here with scipy's log-sigmoid on small vectors."""
    rng = np.random.default_rng(5)
    r, f = rng.normal(size=4), rng.normal(size=4)
    a, b = r - f.mean(), f - r.mean()
    want = {"rsgan": (-log_expit(r - f).mean(), -log_expit(f - r).mean()),
            "ragan": (-log_expit(a).mean() - log_expit(-b).mean(), -log_expit(b).mean() - log_expit(-a).mean()),
            "ralsgan": (((a - 1) ** 2).mean() + ((b + 1) ** 2).mean(), ((b - 1) ** 2).mean() + ((a + 1) ** 2).mean()),
            "rahinge": (np.maximum(0, 1 - a).mean() + np.maximum(0, 1 + b).mean(),
                        np.maximum(0, 1 - b).mean() + np.maximum(0, 1 + a).mean())}
    for name, (ld, lg) in want.items():
        loss = L.get(name)
        assert loss.g_reads_real and not loss.separable and not loss.zero_sum
        np.testing.assert_allclose(loss.d_loss(r, f)[0], ld, rtol=1e-14)
        np.testing.assert_allclose(loss.g_loss(r, f)[0], lg, rtol=1e-14)


def test_custom_coupled_loss_errors():
    with pytest.raises(TypeError, match="autograd"):
        L.custom(lambda o_r, o_f: anp.mean(np.where(o_r > 0, o_r, 0 * o_r), axis=-1) + anp.mean(o_f, axis=-1))
    with pytest.raises(TypeError, match="one value per model"):
        L.custom(lambda o_r, o_f: o_r - o_f)
    with pytest.raises(TypeError, match="function"):
        L.custom(3.0)
    zs = L.custom(lambda o_r, o_f: anp.mean(o_f, axis=-1) - anp.mean(o_r, axis=-1))
    assert zs.zero_sum and zs.g_reads_real
    fake_only = L.custom(_all_pairs, lambda o_r, o_f: anp.mean(anp.logaddexp(0.0, -o_f), axis=-1))
    assert not fake_only.g_reads_real


@pytest.mark.parametrize("name", [n for n in NAMES if n not in EXPONENTIAL])
@given(st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=12), st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=12))
@settings(max_examples=25)
def test_logit_space_losses_are_finite_for_huge_outputs(name, a, b):
    loss = L.get(name)
    if loss.paired:
        b = (b * len(a))[: len(a)]
    v, gr, gf = loss.d_loss(np.array(a), np.array(b))
    vg, ggr, gg = loss.g_loss(np.array(a), np.array(b))
    assert all(np.all(np.isfinite(x)) for x in (v, gr, gf, vg, ggr, gg))


def test_cross_entropy_objects_are_the_old_fast_paths_bit_for_bit():
    rng = np.random.default_rng(2)
    for dt in (np.float32, np.float64):
        lr, lf = rng.normal(0, 30, (2, 9)).astype(dt), rng.normal(0, 30, (2, 8)).astype(dt)
        for s in (0.0, 0.1):
            for a, b in zip(L.get("nonsat", label_smooth=s).d_loss(lr, lf), L.d_loss_minimax(lr, lf, s)):
                np.testing.assert_array_equal(a, b)
        for name, fast in (("nonsat", L.g_loss_nonsat), ("minimax", L.g_loss_minimax)):
            v, none, g = L.get(name).g_loss(None, lf)
            assert none is None
            for a, b in zip((v, g), fast(lf)):
                np.testing.assert_array_equal(a, b)
    # and the generic path of the same functions agrees to rounding
    o = rng.normal(0, 5, 11)
    loss = L.get("nonsat", label_smooth=0.2)
    np.testing.assert_allclose(loss.d_real.f(o).mean() + loss.d_fake.f(o).mean(), L.d_loss_minimax(o, o, 0.2)[0], rtol=1e-14)


def test_unknown_loss_is_one_line_listing_the_choices():
    with pytest.raises(ValueError) as e:
        L.get("wasserstein")
    msg = str(e.value)
    assert "\n" not in msg and all(n in msg for n in NAMES)
    with pytest.raises(ValueError, match="unknown loss"):
        GAN(MLP((1, 2, 1), ("tanh", "identity")), MLP((1, 2, 1), ("tanh", "identity")), loss="lsgan")
    with pytest.raises(ValueError, match="already made"):
        L.get(L.get("ls"), a=1)
    with pytest.raises(ValueError, match="a != b"):
        L.get("ls", a=1, b=1)
    with pytest.raises(ValueError, match="smoothing"):
        L.get("nonsat", label_smooth=1.0)


# --- f-GANs: Table 2 of Nowozin et al. 2016, written out independently

TABLE2 = {  # (g_f(v), f*(t), f'(u))
    "kl": (lambda v: v, lambda t: np.exp(t - 1), lambda u: 1 + np.log(u)),
    "reverse-kl": (lambda v: -np.exp(-v), lambda t: -1 - np.log(-t), lambda u: -1 / u),
    "pearson": (lambda v: v, lambda t: t * t / 4 + t, lambda u: 2 * (u - 1)),
    "hellinger": (lambda v: 1 - np.exp(-v), lambda t: t / (1 - t), lambda u: 1 - 1 / np.sqrt(u)),
    "js": (lambda v: np.log(2) - np.log1p(np.exp(-v)), lambda t: -np.log(2 - np.exp(t)),
           lambda u: np.log(2 * u / (1 + u))),
}


@pytest.mark.parametrize("name", list(TABLE2))
def test_fgan_terms_are_minus_g_f_and_f_star_of_g_f(name):
    g_f, f_star, f_prime = TABLE2[name]
    loss = L.get(name)
    v = np.linspace(-6, 6, 25)
    np.testing.assert_allclose(loss.d_real(v), -g_f(v), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(loss.d_fake(v), f_star(g_f(v)), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(loss.g_fake(v), -f_star(g_f(v)), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(loss.fgan.activation(v), g_f(v), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(loss.fgan.conjugate(g_f(v)), f_star(g_f(v)), rtol=1e-12, atol=1e-13)
    # T* = g_f(v*) = f'(p/q) (Nowozin et al. 2016, Sec. 2.2)
    p, q = np.array([0.1, 0.5, 2.0, 0.3]), np.array([0.4, 0.5, 0.2, 0.31])
    np.testing.assert_allclose(g_f(loss.optimal_d(p, q)), f_prime(p / q), rtol=1e-12)
    np.testing.assert_allclose(loss.fgan.f_prime(p / q), f_prime(p / q), rtol=1e-12)
    assert abs(loss.fgan.f(np.array(1.0))) < 1e-15  # f(1) = 0


# --- pointwise optimality of o*


@pytest.mark.parametrize("loss", [m for m in MADE if m.has_optimal_d and m.name != "hinge"], ids=lambda m: m.label)
@given(st.floats(0.01, 10.0), st.floats(0.01, 10.0))
@settings(max_examples=40)
def test_optimal_output_is_the_pointwise_minimum(loss, p, q):
    o = loss.optimal_d(np.array([p]), np.array([q]))
    first = p * loss.d_real.df(o) + q * loss.d_fake.df(o)
    scale = p * abs(loss.d_real.df(o)) + q * abs(loss.d_fake.df(o)) + 1e-300
    assert abs(first[0]) <= 1e-12 * max(scale[0], 1.0)
    assert p * loss.d_real.d2f(o)[0] + q * loss.d_fake.d2f(o)[0] > 0
    best = p * loss.d_real.f(o) + q * loss.d_fake.f(o)
    for e in (-0.1, 0.1, -1.0, 1.0):
        assert best[0] <= p * loss.d_real.f(o + e)[0] + q * loss.d_fake.f(o + e)[0] + 1e-12


@given(st.floats(0.01, 10.0), st.floats(0.01, 10.0))
def test_hinge_optimum_is_sign_and_minimises_the_piecewise_linear_loss(p, q):
    loss = L.get("hinge")
    o = loss.optimal_d(np.array([p]), np.array([q]))[0]
    grid = np.linspace(-3, 3, 601)
    vals = p * loss.d_real(grid) + q * loss.d_fake(grid)
    assert p * loss.d_real(o) + q * loss.d_fake(o) <= vals.min() + 1e-12
    assert abs(p * loss.d_real(o) + q * loss.d_fake(o) - 2 * min(p, q)) <= 1e-12


def test_ls_optimum_and_smoothed_cross_entropy_optimum():
    p, q = np.array([0.2, 1.0, 0.0]), np.array([0.6, 1.0, 0.3])
    np.testing.assert_allclose(L.get("ls", a=-1, b=1, c=0).optimal_d(p, q), (p - q) / (p + q), rtol=1e-14)
    a = 0.2
    logit = L.get("nonsat", label_smooth=a).optimal_d(p, q)
    np.testing.assert_allclose(L.sigmoid(logit), (1 - a) * p / (p + q), rtol=1e-14)
    with pytest.raises(NotImplementedError, match="wgan"):
        L.get("wgan").optimal_d(p, q)


# --- identities by quadrature, to 1e-8

FAMILY = [
    ("N(0,1) vs N(0.5,1)", Normal(0.0, 1.0), Normal(0.5, 1.0)),
    ("N(0,1) vs N(0,2)", Normal(0.0, 1.0), Normal(0.0, 2.0)),
    ("bimodal vs N(0,1.5)", Mixture([Normal(-2.0, 0.5), Normal(2.0, 0.5)], [0.5, 0.5]), Normal(0.0, 1.5)),
    ("U(0,1) vs N(0.5,0.5)", Uniform(0.0, 1.0), Normal(0.5, 0.5)),
    ("U(0,1) vs U(-0.5,2)", Uniform(0.0, 1.0), Uniform(-0.5, 2.0)),
]


@pytest.mark.parametrize("loss", [m for m in MADE if T.identities(m)], ids=lambda m: m.label)
def test_identities_hold_to_1e_8_on_the_family(loss):
    for ident in T.identities(loss):
        for name, p, q in FAMILY:
            r = T.evaluate_identity(ident, p, q)
            assert r["error"] <= 1e-8, (ident.label, name, r)


def test_closed_forms_for_shifted_normals():
    from scipy.stats import norm

    for mu in (0.5, 1.0, 2.0):
        p, q = Normal(0.0, 1.0), Normal(mu, 1.0)
        assert abs(T.d_value_at_optimum("kl", p, q).value - mu * mu / 2) < 1e-10
        assert abs(T.d_value_at_optimum("pearson", p, q).value - np.expm1(mu * mu)) < 1e-9
        assert abs(T.d_value_at_optimum("hellinger", p, q).value - 2 * (1 - np.exp(-mu * mu / 8))) < 1e-10
        assert abs(T.d_value_at_optimum("hinge", p, q).value - (2 * (2 * norm.cdf(mu / 2) - 1) - 2)) < 1e-10
        assert abs(T.d_value_at_optimum("wgan", p, q).value - mu) < 1e-10
        assert abs(T.wasserstein1(p, q).value - mu) < 1e-10


def test_infinite_divergences_agree_on_both_sides():
    p, q = Uniform(0.0, 1.0), Normal(0.5, 0.5)  # q is not << p
    r = T.evaluate_identity(T.identities("reverse-kl")[0], p, q)
    assert r["lhs"] == r["rhs"] == np.inf and r["error"] == 0 and not r["finite"]


def test_f_divergence_of_the_losses_f_matches_the_named_divergence():
    p, q = Normal(0.0, 1.0), Normal(0.7, 1.3)
    named = {"kl": T.kl(p, q).value, "reverse-kl": T.kl(q, p).value, "pearson": T.pearson_chi2(p, q).value,
             "hellinger": T.squared_hellinger(p, q).value, "js": 2 * T.jsd(p, q).value}
    for n, v in named.items():
        assert abs(T.f_divergence(L.get(n).fgan, p, q).value - v) < 1e-8, n


@settings(max_examples=8, deadline=None)
@given(distributions1d(), distributions1d())
def test_bounded_identities_hold_for_any_pair(p, q):
    # these divergences are finite for every pair (JSD, TV, W_1, LSGAN's Delta); the Hellinger
    # f-GAN's exp(v*) overflows where the densities differ by more than e^1400
    for name in ("minimax", "ls", "hinge", "wgan", "js"):
        for ident in T.identities(name):
            r = T.evaluate_identity(ident, p, q)
            assert r["error"] <= 1e-8 * max(1.0, abs(r["rhs"])), (name, r)


@settings(max_examples=6, deadline=None)
@given(st.one_of(normals(), mixtures(normals())), st.one_of(normals(), uniforms()))
def test_optimal_critic_is_1_lipschitz_and_beats_other_critics(p, q):
    f = T.optimal_critic(p, q)
    assert np.all(np.abs(f.slopes) <= 1.0)
    w = T.wasserstein1(p, q).value
    assert abs(T.critic_value(f, p, q).value - w) <= 1e-8 * max(1.0, w)
    for k in (0.3, 1.0, 2.0):  # sin(k x)/k is 1-Lipschitz
        assert T.critic_value(lambda x, k=k: np.sin(k * x) / k, p, q).value <= w + 1e-9


# --- user-defined losses


def test_custom_loss_is_differentiated_for_the_user():
    loss = L.separable(d_real=lambda o: anp.logaddexp(0.0, -o) ** 2, d_fake=lambda o: anp.abs(o) ** 3, name="mine")
    o = np.array([-2.0, -0.3, 0.4, 1.5])
    np.testing.assert_allclose(loss.d_real.df(o), -2 * np.logaddexp(0, -o) * L.sigmoid(-o), rtol=1e-13)
    np.testing.assert_allclose(loss.d_fake.df(o), 3 * o * np.abs(o), rtol=1e-13)
    np.testing.assert_allclose(loss.d_fake.d2f(o), 6 * np.abs(o), rtol=1e-13)
    assert loss.zero_sum and np.allclose(loss.g_fake(o), -np.abs(o) ** 3)
    default = L.separable(g_fake=lambda o: o ** 2)
    np.testing.assert_allclose(default.d_real(o), -log_expit(o), rtol=1e-14)
    assert not default.zero_sum


def test_custom_loss_errors():
    with pytest.raises(TypeError, match="autograd"):
        L.separable(d_real=lambda o: np.where(o > 0, o ** 2, 0 * o))  # plain np.where drops the gradient
    with pytest.raises(TypeError, match="elementwise"):
        L.separable(d_real=lambda o: anp.sum(o ** 2))
    with pytest.raises(TypeError, match="function"):
        L.separable(d_real=3.0)
    bad = L.separable(g_fake=lambda o: anp.where(o > 3.0, anp.inf, -o), name="bad")
    with pytest.raises(L.NonFiniteLossError) as e:
        bad.g_loss(None, np.array([1.0, 4.0]))
    assert e.value.loss == "bad" and e.value.term == "g_loss"
    assert str(e.value.at_iteration(17)).startswith("iteration 17: loss 'bad'")
    assert isinstance(e.value, FloatingPointError)


# --- the engine and the games use the objects


def _gan(loss):
    return GAN(MLP((1, 3, 1), ("tanh", "identity")), MLP((1, 4, 1), ("tanh", "identity")), loss=loss,
               latent="normal")


@pytest.mark.parametrize("loss", ALL + [L.separable(d_real=lambda o: (o - 1) ** 2, g_fake=lambda o: -o)],
                         ids=ALL_IDS + ["custom"])
def test_gan_steps_equal_the_autograd_game_for_every_loss(loss):
    gan = _gan(loss)
    rng = np.random.default_rng(3)
    m_r, m_f = _sizes(loss, 7, 6)
    x, lat = rng.normal(1.0, 0.5, (m_r, 1)), rng.standard_normal((m_f, 1))
    game = games.mlp_gan_game(gan, x, lat)
    z = np.concatenate([gan.G.init(rng), gan.D.init(rng)])
    tg, td = z[: game.n_g], z[game.n_g:]
    loss_d, gd, _, _ = gan.d_loss_grad(tg, td, x, lat)
    loss_g, gg, _ = gan.g_loss_grad(tg, td, lat, x_real=x)
    if loss.g_reads_real:
        with pytest.raises(ValueError, match="pass x_real"):
            gan.g_loss_grad(tg, td, lat)
    else:
        np.testing.assert_array_equal(gan.g_loss_grad(tg, td, lat)[1], gg)
    assert abs(game.cost_d(z) - loss_d) < 1e-12
    # a zero-sum game's f_G = V = -f_D holds D's real term too: G's loss up to a constant
    const = -loss.d_real.f(gan.D(td, x)[:, 0]).mean() if game.is_zero_sum and loss.separable else 0.0
    assert abs(game.cost_g(z) - const - loss_g) < 1e-12
    np.testing.assert_allclose(game.field_traced(z), np.concatenate([gg, gd]), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("loss", ["ls", "ragan", "rsgan", USER], ids=lambda x: getattr(x, "name", x))
def test_gan_population_equals_separate_members(loss):
    gan = _gan(loss)
    rng = np.random.default_rng(4)
    tg = np.stack([gan.G.init(rng) for _ in range(3)])
    td = np.stack([gan.D.init(rng) for _ in range(3)])
    m_r, m_f = _sizes(gan.loss_fn, 5, 4)
    x, lat = rng.normal(size=(3, m_r, 1)), rng.normal(size=(3, m_f, 1))
    ld, gd, _, _ = gan.d_loss_grad(tg, td, x, lat)
    lg, gg, _ = gan.g_loss_grad(tg, td, lat, x_real=x, ws=Workspace())
    for p in range(3):
        a = gan.d_loss_grad(tg[p], td[p], x[p], lat[p])
        np.testing.assert_allclose(ld[p], a[0], rtol=1e-13)
        np.testing.assert_allclose(gd[p], a[1], rtol=1e-12, atol=1e-15)
        b = gan.g_loss_grad(tg[p], td[p], lat[p], x_real=x[p])
        np.testing.assert_allclose(lg[p], b[0], rtol=1e-13)
        np.testing.assert_allclose(gg[p], b[1], rtol=1e-12, atol=1e-15)


def test_gan_label_smoothing_is_the_loss_parameter():
    G, D = MLP((1, 3, 1), ("tanh", "identity")), MLP((1, 4, 1), ("tanh", "identity"))
    assert GAN(G, D, label_smooth=0.1).loss_fn.params == {"label_smooth": 0.1}
    with pytest.raises(ValueError, match="label_smooth"):
        GAN(G, D, loss="ls", label_smooth=0.1)


def test_dirac_gan_accepts_loss_names_and_objects():
    for loss in ("wgan", L.get("ls", a=-1, b=1, c=1)):
        lam = np.linalg.eigvals(games.dirac_gan(loss).jacobian(np.zeros(2)))
        np.testing.assert_allclose(sorted(lam.imag), [-1.0, 1.0], atol=1e-12)
        assert np.all(np.abs(lam.real) < 1e-12)
    assert games.dirac_gan("wgan").is_zero_sum and not games.dirac_gan("hinge").is_zero_sum


def test_value_at_optimum_pointwise():
    p, q = np.array([0.2, 1.0, 0.0, 0.5]), np.array([0.6, 1.0, 0.3, 0.0])
    ce = L.get("minimax").value_at_optimum(p, q)
    d = T.d_star(p, q)
    with np.errstate(divide="ignore", invalid="ignore"):
        want = np.where(p > 0, p * np.log(d), 0.0) + np.where(q > 0, q * np.log1p(-d), 0.0)
    np.testing.assert_allclose(ce, want, rtol=1e-14)
    np.testing.assert_allclose(L.get("hinge").value_at_optimum(p, q), -2 * np.minimum(p, q), rtol=1e-15)
    with pytest.raises(NotImplementedError):
        L.get("wgan").value_at_optimum(p, q)


@pytest.mark.parametrize("loss", ["ls", "hinge", "wgan", "js", "pearson", "reverse-kl", "hellinger", "kl",
                                  L.separable(d_real=lambda o: (o - 1) ** 2, d_fake=lambda o: o ** 2),
                                  "rsgan", "ragan", "ralsgan", "rahinge", USER],
                         ids=lambda x: getattr(x, "name", x))
def test_population_runs_train_with_any_loss(loss):
    from gandyn.engine import optim
    from gandyn.engine.trainer import StreamBatches, Trainer
    from gandyn.rng import streams

    gan = GAN(MLP((1, 6, 1), ("tanh", "identity")), MLP((1, 6, 1), ("tanh", "identity")), loss=loss)
    s = streams(0)
    P = 2
    tg = np.stack([gan.G.init(s["g_init"]) for _ in range(P)])
    td = np.stack([gan.D.init(s["d_init"]) for _ in range(P)])
    batches = StreamBatches(lambda r, m: r.normal(1.0, 0.5, (P, m, 1)), gan.latent, s["data"], s["latent"])
    run = Trainer(gan, optim.adam(1e-3), optim.adam(1e-3), tg, td, batches, batch=16, k=2)
    for _ in range(10):
        ld, lg = run.step()
        assert ld.shape == lg.shape == (P,) and np.all(np.isfinite(ld)) and np.all(np.isfinite(lg))
    assert np.all(np.isfinite(run.theta_g)) and np.all(np.isfinite(run.theta_d))


# --- theory the loss carries


@pytest.mark.parametrize("name", ["rsgan", "ragan", "ralsgan", "rahinge"])
def test_relativistic_objective_is_a_divergence(name):
    """Jolicoeur-Martineau 2020 (ICML), Thm. 1: D's maximised relativistic objective,
    ``L_D(C = 0) - min_C L_D(C)``, is >= 0 and 0 iff p = q. On random distributions on 3-4
    points, D's values there optimised by scipy (float64)."""
    rng = np.random.default_rng(11)
    for n in (3, 4):
        for _ in range(3):
            p, q = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
            assert 0.5 * np.abs(p - q).sum() > 0.05
            assert T.relativistic_divergence(name, p, q) > 1e-5
            assert abs(T.relativistic_divergence(name, p, p)) < 1e-10
    assert L.get(name).expected_d_loss(np.zeros(3), p[:3] / p[:3].sum(), q[:3] / q[:3].sum()) > 0
    with pytest.raises(ValueError, match="probability vector"):
        T.relativistic_divergence(name, [0.5, 0.6], [0.5, 0.5])


def test_a_user_loss_states_its_optimal_d_and_gets_it_checked():
    """d_real = (o - 1)^2, d_fake = o^2: o* = p/(p + q), min L_D = int pq/(p + q) = 1/2 - Delta/4."""
    kw = dict(d_real=lambda o: (o - 1.0) ** 2, d_fake=lambda o: o ** 2, g_fake=lambda o: (o - 1.0) ** 2)
    good = L.separable(**kw, name="sq", output="critic", optimal_d=lambda p, q: p / (p + q),
                       theory=(L.OptimumIdentity("d", "triangular_discrimination", 0.25, -0.5,
                                          "-min L_D = Delta/4 - 1/2", "derived"),))
    stated = L.separable(**kw, name="sq", optimal_d=lambda p, q: p / (p + q))
    wrong = L.separable(**kw, name="sq", optimal_d=lambda p, q: 0.5 * p / (p + q))
    p, q = Normal(0.0, 1.0), Normal(1.0, 1.5)
    for loss in (good, stated):
        (ident,) = T.identities(loss)
        assert T.evaluate_identity(ident, p, q)["error"] < 1e-8
    (ident,) = T.identities(wrong)
    assert T.evaluate_identity(ident, p, q)["error"] > 1e-2
    assert T.identities(L.separable(**kw)) == [] and T.identities("ragan") == []
