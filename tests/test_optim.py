import numpy as np
import pytest
from autograd.misc.optimizers import adam as ag_adam
from hypothesis import given, strategies as st

from gandyn.engine import optim

A = np.array([[3.0, 0.5], [0.5, 1.0]])
x_quad = np.array([1.0, -2.0])


def quad_grad(x):
    """f(x) = 1/2 (x - x*)^T A (x - x*), minimum at x*."""
    return A @ (x - x_quad)


def rosen_grad(x):
    """Rosenbrock (1960): f = (1 - x)^2 + 100 (y - x^2)^2, minimum at (1, 1)."""
    return np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2), 200 * (x[1] - x[0] ** 2)])


def _run(opt, g, x0, steps):
    x = np.array(x0, dtype=float)
    state = opt.init(x)
    for _ in range(steps):
        state = opt.update(x, g(x), state)
    return x


@pytest.mark.parametrize("opt", [optim.sgd(0.1), optim.momentum(0.05, 0.9), optim.momentum(0.05, 0.9, nesterov=True),
                                 optim.adam(0.05)], ids=["sgd", "momentum", "nesterov", "adam"])
def test_converges_on_quadratic(opt):
    x = _run(opt, quad_grad, [5.0, 5.0], 2000)
    np.testing.assert_allclose(x, x_quad, atol=1e-6)


@pytest.mark.parametrize("opt,steps", [(optim.sgd(1e-3), 60000), (optim.momentum(1e-4, 0.9), 60000),
                                       (optim.adam(1e-2), 20000)], ids=["sgd", "momentum", "adam"])
def test_converges_on_rosenbrock(opt, steps):
    x = _run(opt, rosen_grad, [-1.2, 1.0], steps)
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-3)


@given(st.integers(0, 2**32 - 1), st.floats(1e-4, 1e-1), st.integers(1, 50))
def test_adam_equals_autograd_step_for_step(seed, lr, n):
    rng = np.random.default_rng(seed)
    gs = rng.normal(size=(n, 7)) * rng.uniform(1e-3, 1e2, size=(n, 1))
    x0 = rng.normal(size=7)
    ref = []
    ag_adam(lambda x, i: gs[i], x0.copy(), callback=lambda x, i, g: ref.append(x.copy()),
            num_iters=n, step_size=lr)
    ref_final = ag_adam(lambda x, i: gs[i], x0.copy(), num_iters=n, step_size=lr)
    ref = ref[1:] + [ref_final]
    opt = optim.adam(lr)
    x = x0.copy()
    state = opt.init(x)
    for i in range(n):
        state = opt.update(x, gs[i], state)
        np.testing.assert_allclose(x, ref[i], rtol=1e-12, atol=1e-14)
    assert state.t == n


def test_adam_eps_hat_form_matches_its_formula():
    g = np.array([1e-3, -2.0, 5.0])
    opt = optim.adam(0.1, eps_hat=True)
    x = np.zeros(3)
    st_ = opt.init(x)
    for _ in range(3):
        st_ = opt.update(x, g, st_)
    # constant gradient: m = (1-b1^t) g, v = (1-b2^t) g^2, summed over t = 1..3 (Kingma & Ba, Sec. 2)
    expect = -sum(0.1 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) * (1 - 0.9 ** t) * g
                  / (np.sqrt((1 - 0.999 ** t) * g * g) + 1e-8) for t in (1, 2, 3))
    np.testing.assert_allclose(x, expect, rtol=1e-12)
    # its state holds the exponentially weighted sums m/(1-b1) and v/(1-b2)
    np.testing.assert_allclose(st_.m_sum, (1 - 0.9 ** 3) / (1 - 0.9) * g, rtol=1e-12)
    np.testing.assert_allclose(st_.v_sum, (1 - 0.999 ** 3) / (1 - 0.999) * g * g, rtol=1e-12)


@given(st.integers(0, 2**32 - 1), st.floats(1e-4, 1e-1), st.floats(0.0, 0.95), st.integers(1, 30))
def test_adam_eps_hat_equals_the_moment_form(seed, lr, b1, n):
    """The sums form of the epsilon-hat update equals the textbook moments m, v
    (Kingma & Ba 2015, Section 2, last paragraph) on random gradients."""
    rng = np.random.default_rng(seed)
    gs = rng.normal(size=(n, 5)) * rng.uniform(1e-3, 10, size=(n, 1))
    x = rng.normal(size=5)
    ref, m, v = x.copy(), np.zeros(5), np.zeros(5)
    opt = optim.adam(lr, b1=b1, eps_hat=True)
    state = opt.init(x)
    for t, g in enumerate(gs, start=1):
        state = opt.update(x, g, state)
        m = b1 * m + (1 - b1) * g
        v = 0.999 * v + 0.001 * g * g
        ref -= lr * np.sqrt(1 - 0.999 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + 1e-8)
        np.testing.assert_allclose(x, ref, rtol=1e-10, atol=1e-12)


def test_momentum_equals_sutskever_form():
    rng = np.random.default_rng(1)
    gs = rng.normal(size=(20, 4))
    x = np.zeros(4)
    opt = optim.momentum(0.1, 0.8)
    s = opt.init(x)
    y, v = np.zeros(4), np.zeros(4)
    for g in gs:
        s = opt.update(x, g, s)
        v = 0.8 * v - 0.1 * g  # Sutskever et al. 2013, eq. 1-2
        y = y + v
    np.testing.assert_allclose(x, y, rtol=1e-12)


@pytest.mark.parametrize("make", [lambda lr: optim.sgd(lr), lambda lr: optim.momentum(lr),
                                  lambda lr: optim.adam(lr)])
def test_population_step_sizes(make):
    rng = np.random.default_rng(2)
    lrs = np.array([[1e-3], [1e-2], [1e-1]])
    gs = rng.normal(size=(5, 3, 4))
    X = np.ones((3, 4))
    opt = make(lrs)
    s = opt.init(X)
    for g in gs:
        s = opt.update(X, g, s)
    for p in range(3):
        x = np.ones(4)
        o = make(float(lrs[p, 0]))
        sp = o.init(x)
        for g in gs:
            sp = o.update(x, g[p], sp)
        np.testing.assert_allclose(X[p], x, rtol=1e-14)


def test_float32_stays_float32():
    x = np.ones(5, dtype=np.float32)
    for opt in (optim.sgd(), optim.momentum(), optim.adam()):
        s = opt.init(x)
        opt.update(x, np.ones(5, dtype=np.float32), s)
        assert x.dtype == np.float32


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match="lr"):
        optim.adam(-1)
    with pytest.raises(ValueError, match="b1"):
        optim.adam(b1=1.0)
    with pytest.raises(ValueError, match="mu"):
        optim.momentum(mu=-0.1)
    with pytest.raises(ValueError, match="unknown optimizer"):
        optim.make("lbfgs")
    assert optim.make("adam", lr=2e-4).hparams["lr"] == 2e-4


@given(st.floats(0.0, 0.999), st.integers(1, 50), st.integers(0, 2**32 - 1))
def test_ema_update_closed_form(decay, n, seed):
    """EMA of the iterates (Yazici et al. 2019): after n updates towards a constant c,
    avg_n = c + decay^n (avg_0 - c); after one update towards theta_1, the convex
    combination decay avg_0 + (1-decay) theta_1."""
    rng = np.random.default_rng(seed)
    avg0, c = rng.normal(size=7), rng.normal(size=7)
    avg = avg0.copy()
    for _ in range(n):
        optim.ema_update(avg, c, decay)
    np.testing.assert_allclose(avg, c + decay ** n * (avg0 - c), rtol=1e-9, atol=1e-12)
    avg = avg0.copy()
    optim.ema_update(avg, c, decay)
    np.testing.assert_allclose(avg, decay * avg0 + (1 - decay) * c, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="decay"):
        optim.ema_update(avg, c, 1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flush_subnormal_zeroes_exactly_the_subnormals(dtype):
    fi = np.finfo(dtype)
    vals = np.array([0.0, -0.0, fi.tiny, -fi.tiny, fi.tiny / 2, -fi.tiny / 3, fi.smallest_subnormal,
                     1.5, -2.5e-30, fi.max, np.inf, -np.inf, np.nan], dtype=dtype)
    a = vals.copy()
    optim.flush_subnormal(a, np.empty_like(a))
    sub = (vals != 0) & (np.abs(vals) < fi.tiny)
    assert np.all(a[sub] == 0)
    np.testing.assert_array_equal(a[~sub], vals[~sub])  # normals, zeros, inf and nan untouched


def test_adam_flushes_decayed_moments():
    """A coordinate with gradient 0 after the first step: m decays by b1 per step. Adam
    sets subnormal moments to 0 every FLUSH_EVERY steps, so none is left at such a
    step; the other coordinate follows the unflushed formula."""
    opt = optim.adam(1e-3, eps_hat=True)
    theta = np.zeros(2, np.float32)
    st = opt.init(theta)
    st = opt.update(theta, np.array([1.0, 1.0], np.float32), st)
    tiny = np.finfo(np.float32).tiny
    for _ in range(2000):
        st = opt.update(theta, np.array([0.0, 1.0], np.float32), st)
        if st.t % optim.FLUSH_EVERY == 0:
            assert not np.any((st.m_sum != 0) & (np.abs(st.m_sum) < tiny))
    assert st.m_sum[0] == 0 and st.v_sum[0] > 0  # V decays by b2 = 0.999: still normal
    np.testing.assert_allclose(st.m_sum[1], 1 / (1 - 0.9), rtol=1e-5)  # sum of 0.9^i


def test_adam_on_float16_and_byte_swapped_vectors():
    """The subnormal flush applies to native float32/float64 only; other dtypes keep working."""
    for dtype in (np.float16, np.dtype(">f8")):
        x = np.ones(3, dtype=dtype)
        opt = optim.adam(1e-2)
        st_ = opt.init(x)
        for _ in range(2 * optim.FLUSH_EVERY):
            st_ = opt.update(x, np.ones(3, dtype=dtype), st_)
        assert np.all(x < 1)
