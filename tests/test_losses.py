import numpy as np
import pytest
from autograd import grad
from hypothesis import given, strategies as st

import _reference as ref
from gandyn.engine import losses

big = st.floats(-1e4, 1e4)
logit_lists = st.lists(big, min_size=1, max_size=20)


def _np(xs):
    return np.asarray(xs, dtype=np.float64)


@given(logit_lists, logit_lists)
def test_d_loss_is_finite_and_exact_for_huge_logits(lr, lf):
    lr, lf = _np(lr), _np(lf)
    loss, g_real, g_fake = losses.d_loss_minimax(lr, lf)
    assert np.isfinite(loss) and np.all(np.isfinite(g_real)) and np.all(np.isfinite(g_fake))
    # -log sigma(l) = log(1 + e^{-l}) = max(-l, 0) + log1p(e^{-|l|}), computed in closed form
    sp = lambda t: np.maximum(t, 0) + np.log1p(np.exp(-np.abs(t)))
    np.testing.assert_allclose(loss, sp(-lr).mean() + sp(lf).mean(), rtol=1e-14)
    assert loss >= 0
    np.testing.assert_allclose(-losses.value(lr, lf), loss, rtol=1e-14)


@given(logit_lists)
def test_generator_losses_are_finite_and_exact(lf):
    lf = _np(lf)
    sp = lambda t: np.maximum(t, 0) + np.log1p(np.exp(-np.abs(t)))
    v, g = losses.g_loss_minimax(lf)
    np.testing.assert_allclose(v, -sp(lf).mean(), rtol=1e-14)
    assert np.all(np.isfinite(g)) and np.all(g <= 0)
    v, g = losses.g_loss_nonsat(lf)
    np.testing.assert_allclose(v, sp(-lf).mean(), rtol=1e-14)
    assert np.all(np.isfinite(g)) and np.all(g <= 0)


def test_extreme_logits_exact_values():
    # softplus(1e4) = 1e4 exactly in float64; softplus(-1e4) = e^{-1e4} underflows to 0
    loss, g_real, g_fake = losses.d_loss_minimax(np.array([-1e4]), np.array([1e4]))
    assert loss == 2e4 and g_real[0] == -1.0 and g_fake[0] == 1.0
    v, g = losses.g_loss_nonsat(np.array([1e4]))
    assert v == 0.0 and g[0] == 0.0
    v, g = losses.g_loss_minimax(np.array([-1e4]))
    assert v == 0.0 and g[0] == 0.0
    # sigma(-30) relative accuracy (the case a tanh form loses)
    _, g = losses.g_loss_minimax(np.array([-30.0]))
    np.testing.assert_allclose(-g[0], 1 / (1 + np.exp(30.0)), rtol=1e-15)


@given(st.lists(st.floats(-30, 30), min_size=1, max_size=10), st.lists(st.floats(-30, 30), min_size=1, max_size=10))
def test_loss_gradients_match_autograd(lr, lf):
    lr, lf = _np(lr), _np(lf)
    f_d = lambda a, b: -(ref.log_sigmoid(a).mean() + ref.log_sigmoid(-b).mean())
    _, g_real, g_fake = losses.d_loss_minimax(lr, lf)
    np.testing.assert_allclose(g_real, grad(f_d, 0)(lr, lf), rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(g_fake, grad(f_d, 1)(lr, lf), rtol=1e-10, atol=1e-300)
    _, g = losses.g_loss_minimax(lf)
    np.testing.assert_allclose(g, grad(lambda b: ref.log_sigmoid(-b).mean())(lf), rtol=1e-10, atol=1e-300)
    _, g = losses.g_loss_nonsat(lf)
    np.testing.assert_allclose(g, grad(lambda b: -ref.log_sigmoid(b).mean())(lf), rtol=1e-10, atol=1e-300)


def test_population_losses_reduce_over_the_last_axis():
    rng = np.random.default_rng(0)
    lr, lf = rng.normal(size=(3, 5)), rng.normal(size=(3, 7))
    loss, g_real, g_fake = losses.d_loss_minimax(lr, lf)
    assert loss.shape == (3,)
    for p in range(3):
        lp, grp, gfp = losses.d_loss_minimax(lr[p], lf[p])
        assert loss[p] == lp
        np.testing.assert_array_equal(g_real[p], grp)
        np.testing.assert_array_equal(g_fake[p], gfp)


@given(st.floats(1e-3, 1e3), st.floats(1e-3, 1e3))
def test_lemma_behind_proposition_1(a, b):
    """Goodfellow et al. 2014, proof of Prop. 1: y -> a log y + b log(1-y) attains its
    maximum on (0, 1) at y = a/(a+b). In logit form y = sigma(l) the objective is
    a log sigma(l) + b log sigma(-l) = -(a+b) * [cross-entropy], i.e. -d_loss weighted."""
    f = lambda y: a * np.log(y) + b * np.log1p(-y)
    y_star = a / (a + b)
    ys = np.linspace(1e-6, 1 - 1e-6, 20001)
    assert f(y_star) >= f(ys).max() - 1e-9 * (a + b)
    # stationarity: f'(y*) = a/y* - b/(1-y*) = 0
    assert abs(a / y_star - b / (1 - y_star)) <= 1e-9 * (a + b) / min(y_star, 1 - y_star)
    # the same maximiser through the engine's loss on logits: weighted D loss gradient is zero
    l_star = np.log(a) - np.log(b)
    _, g_real, g_fake = losses.d_loss_minimax(np.array([l_star]), np.array([l_star]))
    assert abs(a * g_real[0] + b * g_fake[0]) <= 1e-12 * (a + b)


def test_empty_minibatch_in_the_fast_paths_is_one_line_value_error():
    """An empty minibatch has no mean: a one-line ValueError, not a ZeroDivisionError."""
    e = np.zeros(0)
    for call in (lambda: losses.g_loss_nonsat(e), lambda: losses.g_loss_minimax(e),
                 lambda: losses.d_loss_minimax(e, e), lambda: losses.d_loss_minimax(np.zeros(2), e), lambda: losses.value(e, e),
                 lambda: losses.d_loss_minimax(np.zeros((3, 0)), np.zeros((3, 2)))):
        with pytest.raises(ValueError, match="empty minibatch") as err:
            call()
        assert "\n" not in str(err.value)


@given(st.lists(st.floats(-30, 30), min_size=1, max_size=10), st.lists(st.floats(-30, 30), min_size=1, max_size=10),
       st.floats(0.0, 0.5))
def test_label_smoothing_loss_and_gradient(lr, lf, a):
    """One-sided label smoothing (Salimans et al. 2016, Sec. 3.4): cross-entropy with
    target 1-a for data and 0 for samples; a = 0 is the plain loss."""
    lr, lf = _np(lr), _np(lf)

    def f(x, y):
        return -(((1 - a) * ref.log_sigmoid(x) + a * ref.log_sigmoid(-x)).mean() + ref.log_sigmoid(-y).mean())

    loss, g_real, g_fake = losses.d_loss_minimax(lr, lf, a)
    np.testing.assert_allclose(loss, f(lr, lf), rtol=1e-12)
    np.testing.assert_allclose(g_real, grad(f, 0)(lr, lf), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(g_fake, grad(f, 1)(lr, lf), rtol=1e-10, atol=1e-300)
    if a == 0:
        np.testing.assert_array_equal(losses.d_loss_minimax(lr, lf)[1], g_real)


@given(st.floats(1e-3, 1e3), st.floats(1e-3, 1e3), st.floats(0.0, 0.5))
def test_label_smoothing_optimal_discriminator(p_data, p_g, a):
    """With data target 1-a the pointwise optimum is D*(x) = (1-a) p_data / (p_data + p_g)
    (Salimans et al. 2016, Sec. 3.4): the density-weighted loss gradient vanishes there."""
    d_star = (1 - a) * p_data / (p_data + p_g)
    l_star = np.log(d_star) - np.log1p(-d_star)
    _, g_real, g_fake = losses.d_loss_minimax(np.array([l_star]), np.array([l_star]), a)
    assert abs(p_data * g_real[0] + p_g * g_fake[0]) <= 1e-12 * (p_data + p_g)


def test_label_smoothing_out_of_range():
    with pytest.raises(ValueError, match="label smoothing"):
        losses.d_loss_minimax(np.zeros(2), np.zeros(2), 1.0)
