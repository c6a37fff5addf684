import numpy as np
import pytest
from hypothesis import given, strategies as st

from gandyn.engine.layout import Layout
from gandyn.engine.nn import MLP

shapes = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=6)


def _layout(dims):
    return Layout([(f"a{i}", s) for i, s in enumerate(dims)])


@given(shapes, st.sampled_from([None, 1, 3]))
def test_views_cover_vector_exactly_without_overlap(dims, P):
    lay = _layout(dims)
    flat = lay.zeros(P)
    # Fill every view with its index + 1; each element of the vector must be
    # written exactly once (cover, no overlap).
    counts = np.zeros(lay.size, dtype=int)
    for i, v in enumerate(lay.view_list(flat)):
        if v.size:
            assert np.shares_memory(v, flat)
        v[...] += i + 1
        marker = np.zeros_like(flat)
        lay.view_list(marker)[i][...] = 1
        counts += (np.atleast_2d(marker)[0] != 0).astype(int)
    assert np.all(counts == 1)
    expected = np.concatenate([np.full(int(np.prod(s)), i + 1.0) for i, s in enumerate(dims)] + [[]])
    assert np.array_equal(np.atleast_2d(flat)[0], expected)


@given(shapes, st.sampled_from([None, 2]), st.integers(0, 2**32 - 1))
def test_flatten_views_round_trip(dims, P, seed):
    lay = _layout(dims)
    flat = np.random.default_rng(seed).normal(size=lay.zeros(P).shape)
    again = lay.flatten({k: v.copy() for k, v in lay.views(flat).items()}, population=P)
    assert np.array_equal(again, flat)


def test_views_are_zero_copy_both_ways():
    lay = Layout([("W1", (2, 3)), ("b1", (1, 3))])
    flat = np.zeros((4, lay.size))
    v = lay.views(flat)
    assert v["W1"].shape == (4, 2, 3) and v["b1"].shape == (4, 1, 3)
    v["W1"][2, 1, 0] = 7.0
    assert flat[2, 3] == 7.0
    flat[3, 6:] = [1, 2, 3]
    assert np.array_equal(v["b1"][3, 0], [1, 2, 3])


def test_bad_shapes_and_vectors_are_rejected():
    with pytest.raises(ValueError, match="duplicate"):
        Layout([("a", (1,)), ("a", (2,))])
    with pytest.raises(ValueError, match="negative"):
        Layout([("a", (-1,))])
    with pytest.raises(ValueError, match="shape"):
        Layout([("a", (2,))]).views(np.zeros(3))
    with pytest.raises(ValueError, match="missing"):
        Layout([("a", (2,))]).flatten({})
    with pytest.raises(ValueError, match="contiguous"):  # views would be silent copies
        Layout([("a", (2,))]).views(np.zeros(4)[::2])


def test_mlp_layout_names_and_order():
    net = MLP((784, 128, 1), ("relu", "identity"))
    assert net.layout.names == ("W1", "b1", "W2", "b2")
    assert net.n_params == 784 * 128 + 128 + 128 + 1
    assert net.layout.slice("b2") == slice(net.n_params - 1, net.n_params)


def test_remembered_views_are_those_of_the_same_array():
    """view_list remembers the views of recent vectors; a new array (even one with the
    same id after the old one is gone), a reshaped array or a population gets its own."""
    lay = Layout([("W", (2, 3)), ("b", (1, 3))])
    a = np.arange(lay.size, dtype=float)
    v1 = lay.view_list(a)
    v2 = lay.view_list(a)
    assert all(x is y for x, y in zip(v1, v2)) and v1 is not v2
    b = a.copy()
    vb = lay.view_list(b)
    vb[0][0, 0] = 100.0
    assert a[0] == 0.0 and b[0] == 100.0
    for _ in range(3 * Layout.CACHE):  # many short-lived vectors: ids get reused
        c = np.full(lay.size, 7.0)
        vc = lay.view_list(c)
        vc[1][0, 2] = -1.0
        assert c[-1] == -1.0 and np.all(c[:-1] == 7.0)
    P = np.zeros((4, lay.size))
    assert lay.view_list(P)[0].shape == (4, 2, 3)
    d = np.zeros(lay.size)
    lay.view_list(d)
    d.flags.writeable = False  # the same array made read-only: its views follow
    assert not lay.view_list(d)[0].flags.writeable
    e = np.zeros(lay.size)
    lay.view_list(e)
    e.dtype = np.int64  # reinterpreted in place: views of the new dtype
    assert lay.view_list(e)[0].dtype == np.int64
    with pytest.raises(ValueError, match="contiguous"):
        lay.view_list(np.zeros((lay.size, 2))[:, 0])


def test_layout_pickles_after_use():
    import pickle

    from gandyn.engine.nn import MLP

    net = MLP((3, 4, 1), ("relu", "identity"))
    theta = net.init(0)
    net.forward(theta, np.ones((2, 3)))
    net2 = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(net2(theta, np.ones((2, 3))), net(theta, np.ones((2, 3))))
