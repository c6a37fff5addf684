"""The MNIST classifier: its loss against autograd, the shifts, training on synthetic data,
storage, and the shipped weights on real MNIST (skipped when the data is absent)."""
import argparse
import json
from pathlib import Path

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from hypothesis import given, strategies as st

from gandyn.cli import mnist as cli_mnist
from gandyn.metrics import classifier as C
from gandyn import metrics

from _mnist_dir import SHARED as MNIST  # $GANDYN_DATA, then ../shared/data/mnist
seeds = st.integers(0, 2**32 - 1)


def _ce_reference(logits, labels):
    """-(1/m) sum_i [l_{i,y_i} - log sum_c exp l_{i,c}], in autograd.numpy."""
    m = logits.shape[0]
    lse = anp.log(anp.sum(anp.exp(logits - anp.max(logits, axis=1, keepdims=True)), axis=1)) \
        + anp.max(logits, axis=1)
    onehot = np.eye(logits.shape[1])[labels]
    return -anp.sum(anp.sum(logits * onehot, axis=1) - lse) / m


@given(seeds, st.integers(1, 16), st.integers(2, 12), st.floats(0.1, 30.0))
def test_softmax_cross_entropy_and_gradient_match_autograd(seed, m, c, scale):
    rng = np.random.default_rng(seed)
    logits = scale * rng.normal(size=(m, c))
    labels = rng.integers(0, c, size=m)
    loss, g = C.softmax_cross_entropy(logits, labels)
    assert loss == pytest.approx(float(_ce_reference(logits, labels)), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(g, grad(_ce_reference)(logits, labels), rtol=1e-9, atol=1e-12)


def test_softmax_cross_entropy_is_finite_for_huge_logits():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]])
    loss, g = C.softmax_cross_entropy(logits, np.array([1, 1]))
    # first row: the label's logit is 2e4 below the maximum
    assert loss == pytest.approx(2e4 / 2)
    np.testing.assert_allclose(g, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-12)


def test_classifier_backward_through_mlp_matches_autograd():
    # the full loss of the network: hand-written MLP backward fed by our loss gradient
    import _reference as ref

    net = C.make_net(hidden=(6, 5), dtype=np.float64)
    rng = np.random.default_rng(0)
    net = type(net)((12, 6, 5, 10), net.activations)
    theta = net.init(rng)
    x, y = rng.random((9, 12)), rng.integers(0, 10, size=9)
    hs = net.forward(theta, x)
    _, g = C.softmax_cross_entropy(hs[-1], y)
    got, _ = net.backward(theta, hs, g)
    f = lambda th: _ce_reference(ref.mlp(net.sizes, net.activations, th, x), y)  # noqa: E731
    np.testing.assert_allclose(got, grad(f)(theta), rtol=1e-8, atol=1e-12)


def test_shift_images_translates_each_image():
    # a single bright pixel at the centre lands on one of the (2s+1)^2 neighbouring
    # positions; over many images every offset occurs
    s = 2
    x = np.zeros((500, 784), dtype=np.float32)
    x[:, 14 * 28 + 14] = 1.0
    out = C.shift_images(x, s, np.random.default_rng(0))
    assert out.shape == x.shape
    assert np.all(out.sum(axis=1) == 1.0)
    r, c = np.divmod(np.argmax(out, axis=1), 28)
    assert set(zip(r - 14, c - 14)) == {(i, j) for i in range(-s, s + 1) for j in range(-s, s + 1)}
    np.testing.assert_array_equal(C.shift_images(x, 0, 0), x)


def _blobs(rng, n, noise=0.15):
    """Ten well-separated synthetic 'digits': fixed random prototypes plus noise, uint8."""
    protos = np.random.default_rng(123).random((10, 784)) > 0.7
    y = rng.integers(0, 10, size=n)
    x = np.clip(protos[y] + noise * rng.normal(size=(n, 784)), 0, 1)
    return (255 * x).astype(np.uint8), y.astype(np.uint8)


def test_training_learns_synthetic_digits():
    rng = np.random.default_rng(1)
    x, y = _blobs(rng, 600)
    xt, yt = _blobs(rng, 300)
    clf = C.train_classifier(x, y, 0, hidden=(32,), epochs=3, batch=50, max_shift=0, progress=False)
    assert clf.meta["train_loss"][-1] < clf.meta["train_loss"][0]
    assert clf.accuracy(xt, yt) > 0.95
    assert clf.theta.dtype == np.float32


def test_training_is_reproducible_from_the_seed():
    x, y = _blobs(np.random.default_rng(2), 200)
    a = C.train_classifier(x, y, 7, hidden=(8,), epochs=1, batch=64, progress=False)
    b = C.train_classifier(x, y, 7, hidden=(8,), epochs=1, batch=64, progress=False)
    np.testing.assert_array_equal(a.theta, b.theta)


def test_training_rejects_bad_labels():
    x, _ = _blobs(np.random.default_rng(2), 10)
    with pytest.raises(ValueError, match="labels"):
        C.train_classifier(x, np.full(10, 10), 0, progress=False)


def test_save_load_round_trip_is_float16(tmp_path):
    x, y = _blobs(np.random.default_rng(3), 100)
    clf = C.train_classifier(x, y, 0, hidden=(16,), epochs=1, progress=False)
    path = C.save_classifier(tmp_path / "c.npz", clf, note="test")
    back = C.load_classifier(path)
    assert back.net == clf.net
    np.testing.assert_array_equal(back.theta, clf.theta.astype(np.float16).astype(np.float32))
    assert back.meta["note"] == "test" and back.meta["epochs"] == 1
    assert not list(tmp_path.glob(".c.*"))  # no temporary left behind


def test_load_rejects_missing_and_foreign_files(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        C.load_classifier(tmp_path / "nope.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a gandyn classifier"):
        C.load_classifier(tmp_path / "other.npz")


def test_as_unit_images_validates():
    assert C.as_unit_images(np.full((1, 784), 255, np.uint8)).max() == 1.0
    with pytest.raises(ValueError, match="samples"):
        C.as_unit_images(np.full((1, 784), 2.0), "samples")
    with pytest.raises(ValueError, match="shape"):
        C.as_unit_images(np.zeros((1, 28, 28)))


def test_run_classifier_hook_writes_weights(tmp_path, monkeypatch, capsys):
    import gandyn.data

    rng = np.random.default_rng(4)
    splits = {"train": _blobs(rng, 300), "test": _blobs(rng, 100)}
    monkeypatch.setattr(gandyn.data, "load_mnist", lambda split, **kw: splits[split])
    p = argparse.ArgumentParser()
    cli_mnist.add_classifier_arguments(p)
    args = p.parse_args(["--epochs", "2", "--hidden", "16", "--max-shift", "1"])
    args.seed, args.out, args.quiet = 0, str(tmp_path), True
    assert cli_mnist.run_classifier(args) == 0
    clf = C.load_classifier(tmp_path / "mnist_classifier.npz")
    info = json.loads((tmp_path / "classifier.json").read_text())
    assert clf.meta["test_accuracy"] == info["test_accuracy"] == clf.accuracy(*splits["test"])
    assert info["hidden"] == [16] and info["seed"] == 0
    assert "test accuracy" in capsys.readouterr().out


# --- the shipped weights


def test_shipped_weights_are_small_and_load():
    clf = C.load_classifier()
    path = Path(C.__file__).parents[1] / C.DEFAULT_PATH
    assert path.stat().st_size < 1_000_000
    assert clf.net.sizes == (784, 256, 256, 10)
    assert clf.meta["test_accuracy"] >= 0.98


@pytest.fixture(scope="module")
def mnist_test():
    if not MNIST.is_dir():
        pytest.skip(f"real MNIST not found in {MNIST}")
    from gandyn.data import load_mnist

    return load_mnist("test", data_dir=MNIST, download=False, progress=False)


def test_shipped_classifier_accuracy_on_real_test_set(mnist_test):
    clf = C.load_classifier()
    acc = clf.accuracy(*mnist_test)
    assert acc >= 0.98
    assert acc == pytest.approx(clf.meta["test_accuracy"], abs=1e-12)


def test_inception_score_of_real_test_images(mnist_test):
    # a 98%-accurate classifier on nearly balanced real digits: IS near its maximum 10
    # (Salimans et al. 2016: real data scores highest); the shipped weights give 9.40,
    # their mean prediction entropy being 0.059 nats (exp(log 10 - 0.059) = 9.43)
    mean, std = metrics.inception_score(C.load_classifier().probs(mnist_test[0]), 10)
    assert 9.0 <= mean <= 10.0
    assert std < 0.5
