"""An MNIST digit classifier trained by gandyn's own engine, for classifier-based sample
metrics (Inception score, Frechet distance, mode coverage; see :mod:`gandyn.experiments.evaluation`).

The network is a :class:`gandyn.engine.nn.MLP` ``784-256(ReLU)-256(ReLU)-10`` whose output is
logits; the loss is the softmax cross-entropy written here with its gradient; the optimizer
is :func:`gandyn.engine.optim.adam`. Training images are shifted at random by up to two pixels
each way (the "distortions" that improve MLPs on MNIST, LeCun, Bottou, Bengio & Haffner
1998, Section III.C; Simard, Steinkraus & Platt 2003).

The shipped weights (``gandyn/resources/mnist_classifier.npz``) are stored as float16 (one
flat vector of 269,322 parameters, 0.5 MB) and computed with in float32; the reported test
accuracy is that of the stored float16 weights. They were made by
:func:`train_classifier` with its defaults and ``rng = gandyn.rng.stream(0,
"classifier")``, which is what ``gandyn mnist classifier --seed 0``
(``gandyn mnist classifier``) runs. Later engine changes altered the rounding of the
forward and backward passes, so the command now trains a classifier of the same
quality (98.51% test accuracy) with other bits; the shipped file stays the
reference all documented scores use.
"""
from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from scipy.special import log_softmax, softmax

from gandyn.io import atomic_path
from gandyn.engine.nn import MLP
from gandyn.rng import as_rng

__all__ = [
    "softmax_cross_entropy", "make_net", "train_classifier", "Classifier", "save_classifier",
    "load_classifier", "DEFAULT_PATH", "shift_images", "as_unit_images",
]

N_CLASSES = 10
SIDE = 28
#: Where the shipped weights live inside the package.
DEFAULT_PATH = "resources/mnist_classifier.npz"


def as_unit_images(images, name: str = "images") -> np.ndarray:
    """Images ``(n, 784)`` as float32 in [0, 1]: uint8 are divided by 255, floats must
    already lie in [0, 1] (a generator's sigmoid output)."""
    a = np.asarray(images)
    if a.ndim != 2 or a.shape[1] != SIDE * SIDE:
        raise ValueError(f"{name} must have shape (n, {SIDE * SIDE}), got {a.shape}")
    if a.dtype == np.uint8:
        return a.astype(np.float32) / np.float32(255)
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{name} must be uint8 or floating point, got {a.dtype}")
    if not np.all(np.isfinite(a)) or a.size and (a.min() < 0 or a.max() > 1):
        raise ValueError(f"{name} must be finite and in [0, 1]")
    return a.astype(np.float32, copy=False)


# --- the loss, forward and backward side by side


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy of integer ``labels`` under ``logits (m, C)``, and its
    gradient with respect to the logits.

    ``L = -(1/m) sum_i log softmax(l_i)[y_i]``, with ``log softmax(l) = l - logsumexp(l)``
    (finite for any finite logits); ``dL/dl_i = (softmax(l_i) - onehot(y_i)) / m``
    (Bridle 1990; Goodfellow, Bengio & Courville 2016, Section 6.2.2.3).
    """
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    m = logits.shape[0]
    if logits.ndim != 2 or labels.shape != (m,):
        raise ValueError(f"logits must be (m, C) and labels (m,), got {logits.shape} and {labels.shape}")
    rows = np.arange(m)
    logp = log_softmax(logits, axis=1)
    loss = -float(logp[rows, labels].mean())
    grad = np.exp(logp)
    grad[rows, labels] -= 1
    grad *= 1.0 / m
    return loss, grad


def make_net(hidden=(256, 256), dtype=np.float32) -> MLP:
    """The classifier's architecture: ``784 - hidden (ReLU) - 10`` logits."""
    hidden = tuple(int(h) for h in hidden)
    return MLP((SIDE * SIDE, *hidden, N_CLASSES), ("relu",) * len(hidden) + ("identity",), dtype=dtype)


def shift_images(x: np.ndarray, max_shift: int, rng) -> np.ndarray:
    """Translate each image ``(m, 784)`` by its own random whole-pixel offset in
    ``[-max_shift, max_shift]`` along each axis, filling with 0 (background)."""
    if max_shift == 0:
        return x
    rng = as_rng(rng)
    m = x.shape[0]
    s = int(max_shift)
    padded = np.zeros((m, SIDE + 2 * s, SIDE + 2 * s), dtype=x.dtype)
    padded[:, s:s + SIDE, s:s + SIDE] = x.reshape(m, SIDE, SIDE)
    oy, ox = rng.integers(0, 2 * s + 1, size=(2, m))
    idx = np.arange(SIDE)
    out = padded[np.arange(m)[:, None, None], (oy[:, None] + idx)[:, :, None], (ox[:, None] + idx)[:, None, :]]
    return out.reshape(m, SIDE * SIDE)


# --- a trained classifier


@dataclass(frozen=True)
class Classifier:
    """A trained classifier: its network, flat parameters and metadata (how it was made)."""

    net: MLP
    theta: np.ndarray
    meta: dict = field(default_factory=dict)

    def outputs(self, images, batch: int = 2000) -> tuple[np.ndarray, np.ndarray]:
        """Last hidden layer features ``(n, hidden[-1])`` and logits ``(n, 10)``, float64.

        ``images`` uint8 or float in [0, 1] (see :func:`as_unit_images`).
        """
        x = np.asarray(images)
        as_unit_images(x[:1])  # shape and dtype check before any work
        feats = np.empty((x.shape[0], self.net.sizes[-2]))
        logits = np.empty((x.shape[0], N_CLASSES))
        for start in range(0, x.shape[0], batch):
            # converted one batch at a time: 55,000 images as float32 would take 170 MB
            hs = self.net.forward(self.theta, as_unit_images(x[start:start + batch]))
            feats[start:start + batch] = hs[-2]
            logits[start:start + batch] = hs[-1]
        return feats, logits

    def probs(self, images) -> np.ndarray:
        """``p(y|x)``, shape ``(n, 10)``, float64 rows summing to 1."""
        return softmax(self.outputs(images)[1], axis=1)

    def predict(self, images) -> np.ndarray:
        return np.argmax(self.outputs(images)[1], axis=1)

    def accuracy(self, images, labels) -> float:
        return float(np.mean(self.predict(images) == np.asarray(labels)))


def train_classifier(images, labels, rng=None, *, hidden=(256, 256), epochs: int = 20,
                     batch: int = 128, lr: float = 1e-3, lr_final: float = 1e-5,
                     max_shift: int = 2, progress: bool = True) -> Classifier:
    """Train the classifier by minibatch Adam on softmax cross-entropy.

    Each epoch visits the images in a new random order; each minibatch is shifted at
    random (:func:`shift_images`); the step size decays geometrically from ``lr`` in the
    first epoch to ``lr_final`` in the last. The optimizer state persists across epochs
    (only its step size changes; :func:`gandyn.engine.optim.adam`'s state does not depend on it).

    Parameters
    ----------
    images : uint8 array (N, 784)
    labels : integer array (N,) in 0..9
    rng : seed or Generator
        Draws the initial weights, the order of the data and the shifts.

    Returns
    -------
    Classifier, float32 parameters.
    """
    from tqdm.auto import tqdm

    from gandyn.engine import optim

    x_all = np.asarray(images)
    y_all = np.asarray(labels).astype(np.intp)
    if x_all.ndim != 2 or y_all.shape != (x_all.shape[0],):
        raise ValueError(f"images (N, 784) and labels (N,) expected, got {x_all.shape} and {y_all.shape}")
    if y_all.size and (y_all.min() < 0 or y_all.max() >= N_CLASSES):
        raise ValueError("labels must be digits 0..9")
    for name, v in (("epochs", epochs), ("batch", batch)):
        if int(v) < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    if not (lr > 0 and lr_final > 0 and math.isfinite(lr) and math.isfinite(lr_final)):
        raise ValueError(f"lr and lr_final must be positive, got {lr} and {lr_final}")
    if not 0 <= int(max_shift) < SIDE // 2:
        raise ValueError(f"max_shift must be in [0, {SIDE // 2 - 1}], got {max_shift}")
    rng = as_rng(rng)
    net = make_net(hidden)
    theta = net.init(rng)
    grad = np.empty_like(theta)
    state = optim.adam(lr).init(theta)
    n = x_all.shape[0]
    steps = -(-n // batch)
    decay = (lr_final / lr) ** (1.0 / max(epochs - 1, 1))
    bar = tqdm(total=epochs * steps, desc="classifier", unit="it", disable=not progress)
    history = []
    for epoch in range(epochs):
        opt = optim.adam(lr * decay ** epoch)
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            x = shift_images(as_unit_images(x_all[idx]), max_shift, rng)
            hs = net.forward(theta, x)
            loss, g = softmax_cross_entropy(hs[-1], y_all[idx])
            net.backward(theta, hs, g.astype(net.dtype, copy=False), grad=grad)
            state = opt.update(theta, grad, state)
            total += loss * idx.size
            bar.update()
        history.append(total / n)
        bar.set_postfix(loss=f"{history[-1]:.4f}")
    bar.close()
    meta = {"hidden": list(net.sizes[1:-1]), "epochs": int(epochs), "batch": int(batch),
            "lr": float(lr), "lr_final": float(lr_final), "max_shift": int(max_shift),
            "train_images": int(n), "train_loss": [float(h) for h in history]}
    return Classifier(net, theta, meta)


# --- storage


def save_classifier(path, clf: Classifier, **meta) -> Path:
    """Write ``clf`` as an ``.npz`` (atomically): the flat parameters as float16, the layer
    sizes and activations, and ``meta`` as JSON. float16 keeps 11 significant bits, enough
    for a classifier (its accuracy is measured on the stored weights)."""
    path = Path(path)
    theta16 = clf.theta.astype(np.float16)
    if not np.all(np.isfinite(theta16)):
        raise ValueError("parameters do not fit in float16")
    info = {**clf.meta, **meta}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, theta=theta16, sizes=np.array(clf.net.sizes),
                                activations=np.array(clf.net.activations),
                                meta=np.array(json.dumps(info, sort_keys=True)))
    return path


def load_classifier(path=None) -> Classifier:
    """Load a classifier written by :func:`save_classifier`; ``None`` loads the weights
    shipped with gandyn. Parameters are returned as float32."""
    if path is None:
        ref = resources.files("gandyn").joinpath(DEFAULT_PATH)
        with resources.as_file(ref) as p:
            return load_classifier(p)
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"classifier file {path} does not exist or is not a file")
    try:
        with np.load(path, allow_pickle=False) as z:
            sizes = tuple(int(s) for s in z["sizes"])
            acts = tuple(str(a) for a in z["activations"])
            theta = z["theta"].astype(np.float32)
            meta = json.loads(str(z["meta"]))
    except (KeyError, OSError, ValueError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path} is not a gandyn classifier file ({e})") from None
    net = MLP(sizes, acts, dtype=np.float32)
    if theta.shape != (net.n_params,):
        raise ValueError(f"{path}: {theta.shape[0]} parameters, architecture needs {net.n_params}")
    return Classifier(net, theta, meta)
