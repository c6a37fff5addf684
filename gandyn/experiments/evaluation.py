"""Evaluation of MNIST generators the way the literature does it: Parzen-window
log-likelihood by the protocol of Goodfellow et al. 2014 (Table 1), a classifier-based
Inception score (Salimans et al. 2016), Frechet distance (Heusel et al. 2017) and kernel
Inception distance (Binkowski et al. 2018), and mode coverage (the histogram of predicted
digits). The formulas are in :mod:`gandyn.metrics`,
the classifier in :mod:`gandyn.metrics.classifier`; this module fixes which data they see.

Data splits (MNIST training images ``train[i]``, test images ``test[i]``, in file order):

- Parzen kernel centres: the 10,000 samples; for the ceiling, ``train[0:10000]`` (real
  images the GAN was trained on, in place of samples).
- Parzen window width: chosen from ``numpy.logspace(-1, 0, 10)`` by mean log-likelihood of
  ``train[55000:56000]``, the first 1,000 of the held-out images ``train[55000:60000]``
  (Goodfellow et al.'s code took the first 1,000 of its validation images
  ``train[50000:60000]``; the GAN here trains on ``train[0:55000]``).
- Parzen log-likelihood: mean +- standard error over the 10,000 test images, in nats.
- Inception score: the samples' class probabilities, 10 splits, mean +- std; it needs at
  least 100 samples (:func:`min_samples`: each split at least one sample per class).
- Frechet distance: features of the classifier's last hidden layer, samples against the
  GAN's training images ``train[0:55000]``; the ceiling is the test set against the same.
  With no more samples than features (256) the covariance is singular: the result then
  carries a ``warning`` naming the number needed.
- Kernel Inception distance: the same features and reference; 100 subsets of
  ``min(1000, N)`` rows of each, drawn by a generator seeded with :data:`KID_SEED`, mean
  +- std of the unbiased MMD^2 estimates (Binkowski et al.'s code).
- Mode coverage: counts of the classifier's predicted digit over the samples.

The ceiling (:func:`real_ceilings`) runs the same metrics on real images: what a perfect
generator would score with the same estimators and sample sizes.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from gandyn import metrics
from gandyn.metrics.classifier import Classifier, as_unit_images, load_classifier

__all__ = ["N_SAMPLES", "SPLITS", "N_CLASSES", "KID_SEED", "min_samples", "evaluate_samples",
           "real_ceilings", "classifier_metrics", "summary"]

#: Samples per evaluation (Goodfellow et al. 2014 drew 10,000; so do IS and FID reports).
N_SAMPLES = 10_000
#: Inception-score splits (Salimans et al. 2016's code).
SPLITS = 10
#: Classes of the MNIST classifier.
N_CLASSES = 10
#: Seed of the generator that draws the kernel Inception distance's subsets.
KID_SEED = 0
GAN_TRAIN = slice(0, 55_000)
PARZEN_VALID = slice(55_000, 56_000)
PARZEN_REAL = slice(0, 10_000)


def _name(s: slice, split: str) -> str:
    return f"{split}[{s.start}:{s.stop}]"


def _load(data_dir, progress):
    from gandyn.data import load_mnist

    return (load_mnist("train", data_dir=data_dir, progress=progress)[0],
            *load_mnist("test", data_dir=data_dir, progress=progress))  # train, test, test labels


def _unit64(images, name):
    """Images as float64 in [0, 1]; uint8 are divided by 255 in float64."""
    a = np.asarray(images)
    if a.dtype == np.uint8:
        as_unit_images(a[:1], name)  # shape check
        return a / 255.0
    return as_unit_images(a, name).astype(np.float64)


def min_samples(splits: int = SPLITS, n_classes: int = N_CLASSES) -> int:
    """The fewest samples the evaluation accepts: those the Inception score needs,
    ``splits * n_classes`` (100; :func:`gandyn.metrics.inception_min_samples`)."""
    return metrics.inception_min_samples(n_classes, splits)


def _reference(clf: Classifier, images) -> tuple:
    """``(mu, cov, features)`` of the classifier features of real ``images``."""
    feats = clf.outputs(images)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", metrics.SampleSizeWarning)  # reported for the samples
        mu, cov = metrics.gaussian_stats(feats)
    return mu, cov, feats


def classifier_metrics(images, *, reference, clf: Classifier, rng=None, splits: int = SPLITS) -> dict:
    """Inception score, Frechet distance, kernel Inception distance and mode histogram of
    ``images`` (N, 784) under the classifier ``clf``.

    ``reference = (mu, cov)`` is the feature Gaussian of the real images the Frechet
    distance compares with; ``(mu, cov, features)`` adds their features, and with them the
    kernel Inception distance. ``rng`` (optional) shuffles the images before the
    Inception-score splits; ``None`` keeps their order (deterministic). The KID's subsets
    come from a generator seeded with :data:`KID_SEED`.

    Raises
    ------
    ValueError
        With fewer than ``splits * classes`` images (:func:`min_samples`).
    A sample size at which a metric is biased (the Frechet distance with no more images
    than features) is recorded as that metric's ``warning``.
    """
    from scipy.special import softmax

    feats, logits = clf.outputs(images)
    probs = softmax(logits, axis=1)
    if rng is not None:
        probs = probs[np.random.default_rng(rng).permutation(probs.shape[0])]
    is_mean, is_std = metrics.inception_score(probs, splits)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", metrics.SampleSizeWarning)
        mu, cov = metrics.gaussian_stats(feats)
    described = f"classifier hidden layer {clf.net.n_layers - 1} ({feats.shape[1]} units)"
    out = {"inception_score": {"mean": is_mean, "std": is_std, "splits": int(splits)},
           "fid": {"value": metrics.frechet_distance(mu, cov, *reference[:2]), "features": described}}
    if msgs := [str(w.message) for w in caught if issubclass(w.category, metrics.SampleSizeWarning)]:
        out["fid"]["warning"] = "; ".join(msgs)
    if len(reference) > 2:
        kid_mean, kid_std = metrics.kernel_inception_distance(feats, reference[2], rng=KID_SEED)
        out["kid"] = {"mean": kid_mean, "std": kid_std, "subsets": metrics.KID_SUBSETS,
                      "subset_size": min(metrics.KID_SUBSET_SIZE, feats.shape[0], reference[2].shape[0]),
                      "seed": KID_SEED, "features": described}
    out["modes"] = metrics.mode_histogram(probs)
    return out


def _scores(images, centres, kernel_centres: str, clf: Classifier, train, test, progress: bool,
            valid: slice | None = None, rng=None) -> dict:
    """The Parzen estimate with the kernel ``centres`` (named ``kernel_centres``; its width chosen
    on ``train[valid]``, default :data:`PARZEN_VALID`), with its wall-clock time in ``seconds``,
    and the classifier metrics of ``images`` against ``train[GAN_TRAIN]``; each names its data."""
    valid = PARZEN_VALID if valid is None else valid
    t0 = time.perf_counter()
    parzen = metrics.parzen_evaluate(_unit64(centres, "centres"), _unit64(train[valid], "valid"),
                                     _unit64(test, "test"), progress=progress)
    parzen.update(seconds=round(time.perf_counter() - t0, 2), kernel_centres=kernel_centres,
                  valid=_name(valid, "train"), test="test[0:10000]", unit="nats")
    reference = _reference(clf, train[GAN_TRAIN])
    out = {"parzen": parzen, **classifier_metrics(images, reference=reference, clf=clf, rng=rng)}
    for key in [k for k in ("fid", "kid") if k in out]:
        out[key]["reference"] = _name(GAN_TRAIN, "train")
    out["classifier"] = {k: clf.meta[k] for k in ("test_accuracy", "hidden", "seed") if k in clf.meta}
    return out


def evaluate_samples(samples, *, data_dir=None, rng=None, progress: bool = True,
                     classifier: Classifier | str | None = None, parzen_valid: slice | None = None) -> dict:
    """Every metric of generated MNIST ``samples`` (see the module docstring for the data).

    Parameters
    ----------
    samples : float32 array (N, 784) in [0, 1]
        ``N = 10,000`` (:data:`N_SAMPLES`) for numbers comparable with Goodfellow et al.
        2014, Table 1.
    data_dir : path, optional
        Where MNIST is (see :func:`gandyn.data.load_mnist`; downloaded if absent).
    rng : optional
        Shuffles the samples before the Inception-score splits (``None``: their order).
    classifier : Classifier or path, optional
        Default: the classifier shipped with gandyn.
    parzen_valid : slice, optional
        The training images the Parzen window width is cross-validated on (default
        :data:`PARZEN_VALID`, ``55000:56000``; Goodfellow et al.'s ``parzen_ll.py`` uses
        ``50000:51000``, the first 1,000 of their validation set). Must not overlap the images
        the generator trained on (the caller's responsibility).

    Returns
    -------
    dict, JSON-serialisable: ``parzen`` (``mean``, ``se`` in nats, ``sigma``, the
    cross-validation curve, ``seconds``), ``inception_score`` (``mean``, ``std``), ``fid``
    (``value``, and a ``warning`` below 257 samples), ``kid`` (``mean``, ``std``, subsets),
    ``modes`` (``counts``, ``fractions``, ``covered``), ``classifier``.

    Raises
    ------
    ValueError
        With fewer than :func:`min_samples` samples (100), before any data is loaded.
    """
    x = as_unit_images(samples, "samples")
    if x.shape[0] < min_samples():
        raise ValueError(f"samples: the evaluation needs at least {min_samples()} (the Inception score's "
                         f"{SPLITS} splits need {N_CLASSES} samples each), got {x.shape[0]}")
    clf = classifier if isinstance(classifier, Classifier) else load_classifier(classifier)
    train, test, _ = _load(data_dir, progress)
    return {"n": int(x.shape[0]), **_scores(x, x, "samples", clf, train, test, progress, parzen_valid, rng)}


def real_ceilings(*, data_dir=None, progress: bool = True, classifier: Classifier | str | None = None) -> dict:
    """The metrics of real images in place of samples, the ceiling a generator can reach
    with the same estimators: Parzen with ``train[0:10000]`` as kernel centres (Goodfellow
    et al.'s protocol otherwise unchanged); Inception score, Frechet distance (against
    ``train[0:55000]``) and mode histogram of the 10,000 test images; the classifier's
    test accuracy and the test labels' histogram.

    Returns
    -------
    dict like :func:`evaluate_samples`'s (``parzen`` with real training images as
    centres; ``inception_score``, ``fid``, ``kid``, ``modes`` of the test images), plus
    ``label_fractions`` (the test labels' histogram) and the classifier's
    ``measured_test_accuracy``; JSON-serialisable.
    """
    clf = classifier if isinstance(classifier, Classifier) else load_classifier(classifier)
    train, test, labels = _load(data_dir, progress)
    out = _scores(test, train[PARZEN_REAL], _name(PARZEN_REAL, "train"), clf, train, test, progress)
    for key in ("inception_score", "fid", "kid", "modes"):
        out[key]["images"] = "test[0:10000]"
    out["label_fractions"] = [float(c) for c in np.bincount(labels, minlength=10) / labels.size]
    out["classifier"]["measured_test_accuracy"] = clf.accuracy(test, labels)
    return out


def _kid_text(k: dict) -> str:
    """The KID as printed: mean +- the spread over subsets, in 3 significant digits (a KID is
    often below 1e-3); when every subset was a whole set (fewer samples than the subset
    size) the subsets do not vary and no spread is printed, but the subset size is."""
    if k["std"] == 0 and k.get("subset_size", 0) < metrics.KID_SUBSET_SIZE:
        return f"{k['mean']:.3g} (one estimate on all {k['subset_size']} samples: fewer than a subset of " \
               f"{metrics.KID_SUBSET_SIZE:,}, so no spread)"
    return f"{k['mean']:.3g} +- {k['std']:.2g}"


def summary(result: dict) -> str:
    """One line per metric, for the terminal; a metric's warning follows it."""
    p, s, f = result["parzen"], result["inception_score"], result["fid"]
    lines = [f"Parzen log-likelihood {p['mean']:.1f} +- {p['se']:.1f} nats (sigma {p['sigma']:.3f}, "
             f"{p['seconds']:.0f} s)",
             f"Inception score {s['mean']:.3f} +- {s['std']:.3f}; Frechet distance {f['value']:.3f}"]
    if "kid" in result:
        lines[-1] += f"; kernel Inception distance {_kid_text(result['kid'])}"
    if "warning" in f:
        lines.append(f"warning: Frechet distance: {f['warning']}")
    if m := result.get("modes"):
        lines.append(f"modes covered {m['covered']}/10, counts {m['counts']}")
    return "\n".join(lines)
