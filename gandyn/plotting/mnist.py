"""Figures of MNIST training: sample grids (the talk's 4x4 ``plot(samples)``), grids
over training time, and loss curves."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from matplotlib.ticker import FuncFormatter, MaxNLocator

from gandyn.io import atomic_path
from gandyn.plotting import plt

__all__ = ["tile", "save_grid", "read_grid", "grid_figure", "grids_over_time_figure", "loss_figure",
           "running_window", "running_mean"]


def tile(samples: np.ndarray, cols: int | None = None, pad: int = 2) -> np.ndarray:
    """Arrange ``samples (n, 784)`` in [0, 1] as one image of 28x28 tiles, row by row,
    ``pad`` pixels of white between tiles; returns float (H, W) with ink = 1."""
    x = np.asarray(samples, dtype=np.float64).reshape(-1, 28, 28)
    n = len(x)
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    img = np.zeros((rows * (28 + pad) + pad, cols * (28 + pad) + pad))
    for i in range(n):
        r, c = divmod(i, cols)
        img[pad + r * (28 + pad): pad + r * (28 + pad) + 28, pad + c * (28 + pad): pad + c * (28 + pad) + 28] = x[i]
    return np.clip(img, 0.0, 1.0)


def save_grid(samples: np.ndarray, path, scale: int = 3) -> Path:
    """The talk's 4x4 grid of samples as a PNG (ink dark on white), written atomically.
    No figure is made, so this is cheap enough to call during training."""
    img = tile(samples)
    img = np.kron(img, np.ones((scale, scale)))
    path = Path(path)
    with atomic_path(path) as tmp:
        plt.imsave(tmp, img, cmap="Greys", vmin=0.0, vmax=1.0, format="png")
    return path


def grid_figure(samples: np.ndarray, title: str = ""):
    """A figure of a grid of samples."""
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(tile(samples), cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def grids_over_time_figure(grids: list[tuple[int, np.ndarray]]):
    """Sample grids from the same fixed noise at several iterations, side by side.

    ``grids``: ``[(iteration, samples (16, 784) or an image (H, W[, C])), ...]``
    (images as :func:`save_grid` wrote them, read back with :func:`read_grid`).
    """
    n = len(grids)
    fig, axes = plt.subplots(1, n, figsize=(1.9 * n, 2.2), squeeze=False)
    for ax, (it, s) in zip(axes[0], grids):
        s = np.asarray(s)
        if s.ndim == 2 and s.shape[1] == 784:
            ax.imshow(tile(s), cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
        else:
            ax.imshow(s, interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(f"{it:,}", fontsize=9)
    fig.suptitle("samples from one fixed noise batch, by training iteration", fontsize=10)
    return fig


def read_grid(path) -> np.ndarray:
    """A grid PNG written by :func:`save_grid`, as an RGB(A) array."""
    try:
        return plt.imread(path)
    except (OSError, SyntaxError, ValueError) as e:  # PIL reports a non-PNG as SyntaxError
        raise ValueError(f"{path} is not a readable PNG ({' '.join(str(e).split())})") from None


def running_window(n: int, window: int) -> int:
    """The running-mean window used for ``n`` iterations: ``window``, but at most a
    tenth of the run, so that a short run still gets a curve (1: no running mean)."""
    return int(max(1, min(int(window), n // 10)))


def running_mean(values: np.ndarray, w: int) -> np.ndarray:
    """Means of ``values`` over windows of ``w`` consecutive entries (``len - w + 1`` of them)."""
    c = np.cumsum(np.insert(np.asarray(values, dtype=np.float64), 0, 0.0))
    return (c[w:] - c[:-w]) / w


def loss_figure(losses: np.ndarray, window: int = 500, title: str = ""):
    """Both players' losses per iteration (light) and their running means over
    ``window`` iterations (at most a tenth of the run, see :func:`running_window`;
    none for runs under 20 iterations); the dotted lines are ``log 4``, D's loss
    ``-V`` at the equilibrium ``D = 1/2`` (Goodfellow et al. 2014, Theorem 1), and
    ``log 2``, the non-saturating G loss there."""
    losses = np.asarray(losses, dtype=np.float64)
    it = np.arange(1, len(losses) + 1)
    w = running_window(len(losses), window)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for j, (name, color) in enumerate((("D loss $-V$", "blue"), ("G loss", "green"))):
        if w > 1:
            ax.plot(it, losses[:, j], color=color, alpha=0.15, linewidth=0.5)
            ax.plot(it[w - 1:], running_mean(losses[:, j], w), color=color, linewidth=1.5,
                    label=f"{name}, running mean over {w:,} iterations")
        else:  # too short for a running mean: the raw losses, labelled as such
            ax.plot(it, losses[:, j], color=color, linewidth=1.0, marker=".", markersize=3,
                    label=f"{name}, per iteration")
    ax.axhline(np.log(4), color="black", linestyle=":", linewidth=1, label="log 4 (D), log 2 (G) at D = 1/2")
    ax.axhline(np.log(2), color="black", linestyle=":", linewidth=1)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss (nats)")
    ax.set_xlim(0, max(len(losses), 2) + 0.5)
    ax.set_ylim(0, max(4.0, float(np.quantile(losses, 0.99)) if losses.size else 4.0))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    ax.legend(fontsize=8, loc="upper right")
    if title:
        ax.set_title(title, fontsize=10)
    return fig
