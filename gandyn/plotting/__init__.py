"""Figures. This package imports matplotlib (Agg backend); nothing else in gandyn
does, so load it only to draw. Experiments return arrays; functions here turn
them into figures and save them as PNG and PDF, atomically. One submodule per
area (``plotting.theory``, ``plotting.games``, ...); shared styles and
:func:`save` live here.

Colours follow Goodfellow et al. 2014, Figure 1: data black dotted, generator
green solid, discriminator blue dashed.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gandyn.io import atomic_path  # noqa: E402

__all__ = ["save", "demo_figure", "DATA_STYLE", "GEN_STYLE", "DISC_STYLE"]

DATA_STYLE = dict(color="black", linestyle=":", linewidth=2.0)
GEN_STYLE = dict(color="green", linestyle="-", linewidth=1.8)
DISC_STYLE = dict(color="blue", linestyle="--", linewidth=1.8)


def save(fig, stem, formats=("png", "pdf"), dpi=150) -> list[Path]:
    """Save ``fig`` as ``stem.png`` and ``stem.pdf`` (atomically) and close it."""
    paths = []
    try:
        for fmt in formats:
            path = Path(f"{stem}.{fmt}")
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight")
            paths.append(path)
    finally:
        plt.close(fig)
    return paths


def demo_figure(result):
    """Data density, histogram of generator samples and D(x) on one axis, from a
    :class:`~gandyn.experiments.demo.Demo`."""
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(result.samples, bins=result.bins, density=True, color="green", alpha=0.3,
            label="generator samples (histogram)")
    ax.plot(result.x, result.p_data, label=r"$p_\mathrm{data}$", **DATA_STYLE)
    ax.plot(result.x, result.d, label=r"$D(x)$", **DISC_STYLE)
    ax.axhline(0.5, color="gray", linewidth=0.6)
    ax.set_xlabel("x")
    ax.set_title(f"1D GAN after {result.steps} steps "
                 f"(generator mean {result.samples.mean():.2f}, sd {result.samples.std():.2f})")
    ax.legend(loc="upper left", fontsize=8)
    return fig
