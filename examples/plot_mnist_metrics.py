"""
A short MNIST run, scored by Parzen, IS, FID and KID
====================================================

The vanilla GAN of Goodfellow et al. (2014) on MNIST, with the small networks of the talk
gandyn grew from (G: 100-128-784, D: 784-128-1, ReLU, Adam), trained for 3000
iterations, then scored the ways the literature does: the Parzen-window
log-likelihood of test digits (Goodfellow et al. 2014, Table 1), the Inception score
(Salimans et al. 2016), the Frechet distance (Heusel et al. 2017) and the kernel Inception
distance (Binkowski et al. 2018), the last three on the features of the small MNIST
classifier shipped with gandyn (:mod:`gandyn.metrics.classifier`).

The four MNIST files are looked for in the folder named by the environment variable
``GANDYN_DATA``, then in ``../shared/data/mnist`` beside the repository; without them the
example says so and stops (``gandyn mnist train`` downloads them). The sample sizes here are
small, for speed: the numbers are not comparable with published ones, which use 10,000
samples (``gandyn mnist eval``).
"""

# %%
# Find the data
# -------------
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from gandyn import metrics
from gandyn.data import load_mnist
from gandyn.experiments.mnist import MnistConfig, generate, new_run
from gandyn.metrics.classifier import load_classifier
from gandyn.plotting.mnist import tile
from gandyn.rng import stream

try:
    here = Path(__file__).resolve().parent.parent  # the repository, when run as a script
except NameError:  # in a notebook
    here = Path.cwd().parent
candidates = [Path(d) for d in (os.environ.get("GANDYN_DATA"),) if d] + [here.parent / "shared" / "data" / "mnist"]
train = test = None
for folder in candidates:
    try:
        train, _ = load_mnist("train", data_dir=folder, download=False, progress=False)
        test, _ = load_mnist("test", data_dir=folder, download=False, progress=False)
        break
    except FileNotFoundError:
        continue
if train is None:
    print("MNIST files not found in", ", ".join(map(str, candidates)), "- skipping this example")
    fig, ax = plt.subplots(figsize=(6, 1.5))
    ax.text(0.5, 0.5, "MNIST files not found: example skipped", ha="center", va="center")
    ax.axis("off")
    plt.show()
else:
    print(f"{len(train)} training and {len(test)} test images")

# %%
# Train
# -----
# :func:`~gandyn.experiments.mnist.new_run` builds the run of a
# :class:`~gandyn.experiments.mnist.MnistConfig` (the talk's defaults) on the training
# images; its engine trainer takes one step of Algorithm 1 per call. The talk's step sizes
# are 1e-3; twice that gets further in a short run. After 3000 iterations the digits are only
# beginning to form (the talk trains for 100,000), and the scores below say so.
STEPS = 3000
if train is not None:
    run = new_run(MnistConfig(seed=0, lr_g=2e-3, lr_d=2e-3), train)
    losses = np.array([run.trainer.step() for _ in range(STEPS)], dtype=np.float64)
    samples = generate(run, 2000, stream(0, "eval"))  # float32 (2000, 784) in [0, 1]

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1.4, 1]})
    w = 50
    for j, (name, color) in enumerate((("D's loss", "blue"), ("G's loss", "green"))):
        a1.plot(np.convolve(losses[:, j], np.ones(w) / w, mode="valid"), color=color, label=name)
    a1.set_xlabel("iteration")
    a1.set_title(f"minibatch losses (running mean of {w})", fontsize=9)
    a1.legend(frameon=False)
    a2.imshow(tile(samples[:36].reshape(-1, 28, 28), cols=6), cmap="gray_r")
    a2.set_title(f"36 samples after {STEPS} iterations", fontsize=9)
    a2.axis("off")
    fig.tight_layout()
    plt.show()

# %%
# Score
# -----
# Parzen: a Gaussian kernel on every sample; its width chosen on 500 held-out training
# images, the log-likelihood averaged over 1000 test images (nats). The classifier metrics
# compare the samples' features with those of 2000 training images.
if train is not None:
    def unit(x):
        return x.astype(np.float64) / 255.0

    parzen = metrics.parzen_evaluate(samples.astype(np.float64), unit(train[55_000:55_500]), unit(test[:1000]))
    clf = load_classifier()
    feats, logits = clf.outputs(samples)
    real_feats, real_logits = clf.outputs(train[:2000])
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    is_mean, is_std = metrics.inception_score(probs, splits=10)
    fid = metrics.frechet_distance(*metrics.gaussian_stats(feats), *metrics.gaussian_stats(real_feats))
    kid_mean, kid_std = metrics.kernel_inception_distance(feats, real_feats, rng=0)
    print(f"Parzen log-likelihood {parzen['mean']:.1f} +- {parzen['se']:.1f} nats (sigma {parzen['sigma']:.3f})")
    print(f"Inception score {is_mean:.2f} +- {is_std:.2f} (10 for a perfect, balanced generator)")
    print(f"Frechet distance {fid:.2f}; kernel Inception distance {kid_mean:.4f} +- {kid_std:.4f}")

    # %%
    # The predicted digits of the samples: a collapsed generator leaves some out
    modes = metrics.mode_histogram(probs)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(range(10), modes["counts"], color="green")
    ax.axhline(len(samples) / 10, color="gray", linestyle="--", linewidth=0.8, label="uniform")
    ax.set_xticks(range(10))
    ax.set_xlabel("digit predicted by the classifier")
    ax.set_ylabel("samples")
    ax.legend(frameon=False)
    fig.tight_layout()
    plt.show()
