"""The hand-written backward pass against autograd, on the same forward function."""
import numpy as np
import pytest
from autograd import grad
from hypothesis import given, strategies as st

import _reference as ref
from gandyn.engine.nn import ACTIVATIONS, MLP, dropout_masks
from gandyn.engine.workspace import Workspace

sizes = st.lists(st.integers(1, 8), min_size=2, max_size=4)
seeds = st.integers(0, 2**32 - 1)
scales = st.floats(0.1, 2.0)


def _problem(sizes, acts, seed, scale, batch, P=None):
    net = MLP(tuple(sizes), tuple(acts))
    rng = np.random.default_rng(seed)
    lead = () if P is None else (P,)
    # Bounded, tie-free parameters: normal draws (ties with relu's kink have
    # probability zero), scaled into a bounded range.
    theta = np.clip(rng.normal(0, scale, size=lead + (net.n_params,)), -5, 5)
    x = rng.uniform(-2, 2, size=lead + (batch, sizes[0]))
    g_out = rng.normal(size=lead + (batch, sizes[-1]))
    return net, theta, x, g_out


@given(sizes, st.sampled_from(ACTIVATIONS.names()), seeds, scales, st.integers(1, 16))
def test_gradients_match_autograd(sizes, act, seed, scale, batch):
    acts = [act] * (len(sizes) - 1)
    net, theta, x, g_out = _problem(sizes, acts, seed, scale, batch)

    def f(theta, x):
        return np.sum(ref.mlp(net.sizes, acts, theta, x) * g_out)

    y = net(theta, x)
    np.testing.assert_allclose(y, ref.mlp(net.sizes, acts, theta, x), rtol=1e-12, atol=1e-12)
    g_theta, g_x = net.backward(theta, net.forward(theta, x), g_out, inputs=True)
    np.testing.assert_allclose(g_theta, grad(f, 0)(theta, x), rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(g_x, grad(f, 1)(theta, x), rtol=1e-6, atol=1e-10)


@given(sizes, st.sampled_from(ACTIVATIONS.names()), seeds, st.integers(1, 16), st.floats(0.0, 0.9), st.booleans())
def test_dropout_gradients_match_autograd(sizes, act, seed, batch, p, ws):
    """With dropout masks on every layer's input (Srivastava et al. 2014), forward
    and backward are those of the masked network, checked against autograd."""
    acts = [act] * (len(sizes) - 1)
    net, theta, x, g_out = _problem(sizes, acts, seed, 1.0, batch)
    drop = tuple(p if l % 2 == 0 else 0.0 for l in range(net.n_layers))
    masks = dropout_masks(np.random.default_rng(seed + 1), drop, net.sizes, (batch,))

    def f(theta, x):
        return np.sum(ref.mlp(net.sizes, acts, theta, x, masks) * g_out)

    w = Workspace() if ws else None
    hs = net.forward(theta, x, masks=masks, ws=w)
    np.testing.assert_allclose(hs[-1], ref.mlp(net.sizes, acts, theta, x, masks), rtol=1e-12, atol=1e-12)
    g_theta, g_x = net.backward(theta, hs, g_out, inputs=True, masks=masks, ws=w)
    np.testing.assert_allclose(g_theta, grad(f, 0)(theta, x), rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(g_x, grad(f, 1)(theta, x), rtol=1e-6, atol=1e-10)


def test_dropout_masks_drop_at_rate_p_and_keep_the_mean():
    drop = (0.2, 0.5, 0.0)
    masks = dropout_masks(np.random.default_rng(0), drop, (784, 256, 128, 1), (4096,), np.float32)
    assert masks[2] is None
    for p, m in zip(drop[:2], masks[:2]):
        assert m.dtype == np.float32
        assert set(np.unique(m).tolist()) == {0.0, np.float32(1 / (1 - p))}
        # Bernoulli: fraction dropped within 5 standard errors of p; E[mask] = 1
        se = np.sqrt(p * (1 - p) / m.size)
        assert abs(np.mean(m == 0) - p) < 5 * se
        assert abs(m.mean() - 1) < 5 * se / (1 - p)
    with pytest.raises(ValueError, match="one dropout probability per layer"):
        dropout_masks(0, (0.5,), (3, 2, 1), (4,))
    with pytest.raises(ValueError, match=r"in \[0, 1\)"):
        dropout_masks(0, (1.0, 0.0), (3, 2, 1), (4,))


@given(st.lists(st.sampled_from(ACTIVATIONS.names()), min_size=1, max_size=3), seeds, st.integers(1, 5),
       st.integers(1, 8))
def test_population_equals_separate_models(acts, seed, P, batch):
    sizes = [3] + [4] * (len(acts) - 1) + [2]
    net, theta, x, g_out = _problem(sizes, acts, seed, 1.0, batch, P=P)
    hs = net.forward(theta, x)
    g_theta, g_x = net.backward(theta, hs, g_out, inputs=True)
    for p in range(P):
        hs1 = net.forward(theta[p], x[p])
        g1, gx1 = net.backward(theta[p], hs1, g_out[p], inputs=True)
        np.testing.assert_allclose(hs[-1][p], hs1[-1], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(g_theta[p], g1, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(g_x[p], gx1, rtol=1e-13, atol=1e-15)


def test_population_shares_one_batch():
    net, theta, x, g_out = _problem([2, 5, 1], ["tanh", "identity"], 1, 1.0, 6, P=3)
    shared = x[0]
    g_theta, _ = net.backward(theta, net.forward(theta, shared), g_out)
    for p in range(3):
        g1, _ = net.backward(theta[p], net.forward(theta[p], shared), g_out[p])
        np.testing.assert_allclose(g_theta[p], g1, rtol=1e-13)


def test_backward_skips_what_nobody_asked_for():
    net, theta, x, g_out = _problem([3, 6, 1], ["relu", "identity"], 2, 1.0, 5)
    hs = net.forward(theta, x)
    g_theta, g_x = net.backward(theta, hs, g_out, params=False, inputs=True)
    assert g_theta is None
    _, g_x_full = net.backward(theta, hs, g_out, params=True, inputs=True)
    np.testing.assert_array_equal(g_x, g_x_full)
    g_theta, g_x = net.backward(theta, hs, g_out)
    assert g_x is None and g_theta.shape == theta.shape


def test_backward_writes_into_the_given_buffer_and_keeps_g_out():
    net, theta, x, g_out = _problem([3, 4, 4, 2], ["sigmoid", "leaky_relu", "tanh"], 3, 1.0, 7)
    buf = np.full_like(theta, np.nan)
    before = g_out.copy()
    out, _ = net.backward(theta, net.forward(theta, x), g_out, grad=buf)
    assert out is buf and np.all(np.isfinite(buf))
    np.testing.assert_array_equal(g_out, before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype):
    net = MLP((4, 3, 2), ("relu", "sigmoid"), dtype=dtype)
    theta = net.init(np.random.default_rng(0))
    hs = net.forward(theta, np.ones((5, 4), dtype=dtype))
    g, gx = net.backward(theta, hs, np.ones((5, 2), dtype=dtype), inputs=True)
    assert theta.dtype == hs[-1].dtype == g.dtype == gx.dtype == dtype


def test_initializers_have_the_stated_scale():
    net = MLP((400, 300, 1), ("relu", "identity"))
    rng = np.random.default_rng(0)
    (W1, b1), (W2, b2) = net.views(net.init(rng, "xavier_talk"))
    # the talk's xavier_init: std = 1/sqrt(fan_in/2)
    assert abs(W1.std() / np.sqrt(2 / 400) - 1) < 0.01
    assert abs(W1.mean()) < 0.002 and not b1.any() and not b2.any()
    (W1, _), _ = net.views(net.init(rng, "glorot_uniform"))
    r = np.sqrt(6 / 700)  # Glorot & Bengio 2010, eq. 16
    assert np.abs(W1).max() <= r and np.abs(W1).max() > 0.99 * r
    assert abs(W1.var() / (r * r / 3) - 1) < 0.02


def test_init_depends_on_rng_only():
    net = MLP((3, 5, 1), ("tanh", "identity"))
    a = net.init(np.random.default_rng(5))
    b = net.init(np.random.default_rng(5))
    c = net.init(np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert net.init(np.random.default_rng(5), population=4).shape == (4, net.n_params)


def test_bad_configurations_are_rejected():
    with pytest.raises(ValueError, match="activation"):
        MLP((2, 2), ("swish",))
    with pytest.raises(ValueError, match="need 2 activations"):
        MLP((2, 3, 1), ("relu",))
    with pytest.raises(ValueError, match=">= 1"):
        MLP((2, 0, 1), ("relu", "identity"))
    with pytest.raises(ValueError, match="init scheme"):
        MLP((2, 1), ("identity",)).init(0, scheme="orthogonal")
    with pytest.raises(ValueError, match="features"):
        MLP((2, 1), ("identity",))(np.zeros(3), np.zeros((4, 3)))
