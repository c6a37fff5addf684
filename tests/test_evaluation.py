"""The evaluation front end: which data each metric sees, JSON output, the CLI hooks and
figures. Real MNIST is replaced by small synthetic arrays of the right layout."""
import argparse
import json

import numpy as np
import pytest

from gandyn.metrics import classifier as C
from gandyn.cli import mnist as cli_mnist
from gandyn.experiments import evaluation as E
from gandyn import metrics


@pytest.fixture(scope="module")
def fake():
    """600 'training' images, 100 test images (the fewest the Inception score's 10 splits
    of 10 classes accept), a small random classifier; the data slices are scaled down to
    match (see ``patched``)."""
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, size=(600, 784), dtype=np.uint8)
    test = rng.integers(0, 256, size=(100, 784), dtype=np.uint8)
    labels = rng.integers(0, 10, size=100).astype(np.uint8)
    net = C.make_net(hidden=(16, 8))
    clf = C.Classifier(net, net.init(rng), {"hidden": [16, 8], "test_accuracy": 0.5})
    return train, test, labels, clf


@pytest.fixture
def patched(fake, monkeypatch):
    train, test, labels, clf = fake
    seen = {}

    def load(data_dir, progress):
        seen["data_dir"] = data_dir
        return train, test, labels

    monkeypatch.setattr(E, "_load", load)
    # the protocol's slices, shrunk: GAN training images, Parzen validation, real centres
    monkeypatch.setattr(E, "GAN_TRAIN", slice(0, 550))
    monkeypatch.setattr(E, "PARZEN_VALID", slice(550, 600))
    monkeypatch.setattr(E, "PARZEN_REAL", slice(0, 100))
    return seen


def test_evaluate_samples_follows_the_protocol(fake, patched):
    train, test, labels, clf = fake
    samples = np.random.default_rng(1).random((120, 784)).astype(np.float32)
    res = E.evaluate_samples(samples, data_dir="somewhere", progress=False, classifier=clf)
    assert patched["data_dir"] == "somewhere"
    json.dumps(res)  # JSON-serialisable
    # Parzen: centres = samples, width chosen on the held-out slice, scored on the test set
    x = samples.astype(np.float64)
    expect = metrics.parzen_evaluate(x, train[550:600] / 255.0, test / 255.0)
    for key in ("sigma", "mean", "se", "valid_mean_ll"):
        assert res["parzen"][key] == pytest.approx(expect[key], rel=1e-12)
    assert res["parzen"]["valid"] == "train[550:600]"
    # classifier metrics: IS over 10 splits of the samples, FID against the GAN's training set
    probs = clf.probs(samples)
    assert (res["inception_score"]["mean"], res["inception_score"]["std"]) == \
        pytest.approx(metrics.inception_score(probs, 10), rel=1e-12)
    feats = clf.outputs(samples)[0]
    ref = metrics.gaussian_stats(clf.outputs(train[:550])[0])
    assert res["fid"]["value"] == pytest.approx(
        metrics.frechet_distance(*metrics.gaussian_stats(feats), *ref), rel=1e-9)
    assert res["fid"]["reference"] == "train[0:550]"
    assert res["modes"] == metrics.mode_histogram(probs)
    assert res["n"] == 120
    # KID: the same features and reference as the FID, subsets drawn with the fixed seed
    assert (res["kid"]["mean"], res["kid"]["std"]) == pytest.approx(
        metrics.kernel_inception_distance(feats, clf.outputs(train[:550])[0], rng=E.KID_SEED), rel=1e-9)
    assert res["kid"]["subset_size"] == 120 and res["kid"]["reference"] == "train[0:550]"
    assert "warning" not in res["fid"]  # 120 samples of 8 features: a regular covariance


def test_rng_only_reorders_the_inception_splits(fake, patched):
    clf = fake[3]
    samples = np.random.default_rng(2).random((100, 784)).astype(np.float32)
    a = E.evaluate_samples(samples, progress=False, classifier=clf)
    b = E.evaluate_samples(samples, progress=False, classifier=clf, rng=5)
    shuffled = samples[np.random.default_rng(5).permutation(100)]
    c = E.evaluate_samples(shuffled, progress=False, classifier=clf)
    assert a["parzen"]["mean"] == b["parzen"]["mean"]
    # The float32 classifier sees the rows in another order, and a GEMM's rounding depends on
    # the BLAS kernel and on the row blocking, so the probabilities agree only to float32
    # precision; a different split moves the score by far more (3e-4 relative here, with
    # 100 samples in splits of 10 and the random classifier's scores near 1).
    assert b["inception_score"]["mean"] == pytest.approx(c["inception_score"]["mean"], rel=1e-5)
    d = E.evaluate_samples(samples, progress=False, classifier=clf, rng=6)
    assert abs(d["inception_score"]["mean"] - b["inception_score"]["mean"]) > 1e-4 * b["inception_score"]["mean"]
    assert a["fid"]["value"] == pytest.approx(b["fid"]["value"], rel=1e-9)


def test_real_ceilings_use_real_images_in_place_of_samples(fake, patched):
    train, test, labels, clf = fake
    res = E.real_ceilings(progress=False, classifier=clf)
    json.dumps(res)
    expect = metrics.parzen_evaluate(train[:100] / 255.0, train[550:600] / 255.0, test / 255.0)
    assert res["parzen"]["mean"] == pytest.approx(expect["mean"], rel=1e-12)
    assert res["parzen"]["kernel_centres"] == "train[0:100]"
    assert res["inception_score"]["mean"] == pytest.approx(
        metrics.inception_score(clf.probs(test), 10)[0], rel=1e-12)
    assert res["classifier"]["measured_test_accuracy"] == clf.accuracy(test, labels)
    assert sum(res["label_fractions"]) == pytest.approx(1.0)


def test_samples_are_validated(fake, patched):
    with pytest.raises(ValueError, match="samples"):
        E.evaluate_samples(np.full((20, 784), 1.5, np.float32), progress=False, classifier=fake[3])
    with pytest.raises(ValueError, match="samples"):
        E.evaluate_samples(np.zeros((20, 10), np.float32), progress=False, classifier=fake[3])


def test_run_eval_hook_writes_json_and_figures(fake, patched, tmp_path, capsys):
    clf = fake[3]
    path = C.save_classifier(tmp_path / "clf.npz", clf)
    p = argparse.ArgumentParser()
    cli_mnist.add_eval_arguments(p)
    args = p.parse_args(["--classifier", str(path), "--ceilings"])
    assert args.samples == E.N_SAMPLES
    args.out, args.quiet = str(tmp_path / "out"), True
    samples = np.random.default_rng(3).random((100, 784)).astype(np.float32)
    res = cli_mnist.run_eval(args, samples)
    out = tmp_path / "out"
    assert json.loads((out / "eval.json").read_text()) == json.loads(json.dumps(res))
    assert set(res) == {"samples", "ceilings"}
    for stem in ("modes", "parzen_sigma"):
        for ext in ("png", "pdf"):
            assert (out / f"{stem}.{ext}").stat().st_size > 1000
    text = capsys.readouterr().out
    assert "Parzen log-likelihood" in text and "ceiling" in text
    assert "kernel Inception distance" in text and "kid" in res["samples"] and "kid" in res["ceilings"]


def test_too_few_samples_are_refused_and_a_singular_covariance_is_reported(fake, patched):
    clf = fake[3]
    # 10 samples: one per Inception-score split would score exactly 1 whatever they are
    with pytest.raises(ValueError, match="at least 100"):
        E.evaluate_samples(np.random.default_rng(4).random((10, 784)).astype(np.float32),
                           progress=False, classifier=clf)
    # 100 samples of 128 features: a singular covariance, so the FID carries a warning
    # naming the number needed (features + 1), and the summary prints it
    net = C.make_net(hidden=(16, 128))
    wide = C.Classifier(net, net.init(np.random.default_rng(5)), {"hidden": [16, 128]})
    res = E.evaluate_samples(np.random.default_rng(6).random((100, 784)).astype(np.float32),
                             progress=False, classifier=wide)
    assert "at least 129 samples" in res["fid"]["warning"]
    assert "warning: Frechet distance" in E.summary(res)


@pytest.mark.slow
def test_real_ceilings_on_real_mnist():
    # ~25 s of float64 GEMMs: run on demand (pytest -m slow). Real images must beat
    # Goodfellow et al. 2014's adversarial nets (225 +- 2 nats, Table 1) under the same
    # Parzen protocol, and the classifier must recognise the real test set.
    from _mnist_dir import HAVE_MNIST, SHARED as data  # $GANDYN_DATA, then ../shared/data/mnist

    if not HAVE_MNIST:
        pytest.skip(f"real MNIST not found in {data}")
    res = E.real_ceilings(data_dir=data, progress=False)
    assert res["parzen"]["mean"] > 225
    assert res["parzen"]["sigma"] in metrics.PARZEN_SIGMAS[1:-1]
    assert res["inception_score"]["mean"] > 9.0
    assert res["fid"]["value"] < 5.0
    assert res["modes"]["covered"] == 10
    assert res["classifier"]["measured_test_accuracy"] >= 0.98


def test_cli_eval_refuses_too_few_samples_in_one_line(tmp_path, capsys):
    # before any checkpoint or data is read: `--samples 10` used to print IS 1.000 +- 0.000
    from gandyn.cli import main

    with pytest.raises(SystemExit) as e:  # the option's type refuses it
        main(["mnist", "eval", "--checkpoint", str(tmp_path / "none.npz"), "--samples", "10",
              "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1
    assert "argument --samples: must be an integer >= 100" in err and "Traceback" not in err
