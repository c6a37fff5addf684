"""Figures of the sample-quality evaluation (:mod:`gandyn.experiments.evaluation`): mode coverage and
the Parzen window-width cross-validation curve."""
from __future__ import annotations

import numpy as np

from matplotlib.ticker import FuncFormatter, LogFormatter, MaxNLocator

from gandyn.plotting import DATA_STYLE, GEN_STYLE, plt

__all__ = ["mode_coverage_figure", "parzen_sigma_figure", "metrics_over_training_figure"]

#: Goodfellow et al. 2014, Table 1: Parzen log-likelihood of adversarial nets on MNIST.
GOODFELLOW_PARZEN = 225.0


def mode_coverage_figure(modes: dict, reference=None, title: str | None = None):
    """Bars: fraction of samples the classifier assigns to each digit (generator colour);
    ``reference`` (e.g. the same for the real test images, which ``gandyn mnist eval
    --ceilings`` passes) as a black dotted step; the uniform 1/10 as a grey line."""
    frac = np.asarray(modes["fractions"])
    digits = np.arange(frac.size)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.bar(digits, frac, color=GEN_STYLE["color"], alpha=0.5, label="samples (predicted digit)")
    if reference is not None:
        ref = np.asarray(reference)
        ax.step(np.append(digits, digits[-1] + 1) - 0.5, np.append(ref, ref[-1]), where="post",
                label="real test images (predicted digit)", **DATA_STYLE)
    ax.axhline(1 / frac.size, color="gray", linewidth=0.6, label=f"uniform (1/{frac.size})")
    ax.set_xticks(digits)
    ax.set_xlabel("digit")
    ax.set_ylabel("fraction")
    n = sum(modes["counts"])
    ax.set_title(title or f"mode coverage: {modes['covered']}/{frac.size} digits over {n} samples")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)  # outside the bars
    fig.tight_layout()
    return fig


def parzen_sigma_figure(parzen: dict, title: str | None = None):
    """Mean held-out log-likelihood against the window width (log axis), the chosen
    width marked (Goodfellow et al. 2014, Section 5, cross-validation of sigma)."""
    s = np.asarray(parzen["sigmas"])
    ll = np.asarray(parzen["valid_mean_ll"])
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.semilogx(s, ll, marker="o", **GEN_STYLE)
    ax.axvline(parzen["sigma"], color="gray", linewidth=0.8)
    ax.set_xlabel(r"window width $\sigma$")
    ax.set_ylabel("mean log-likelihood (nats)")
    ax.set_title(title or (f"Parzen: sigma = {parzen['sigma']:.3f}, test "
                           f"{parzen['mean']:.1f} +- {parzen['se']:.1f} nats"))
    return fig


def metrics_over_training_figure(series: dict, title: str | None = None):
    """Parzen log-likelihood (+- standard error), Inception score (+- std over splits)
    and Frechet distance (log axis) against the training iteration, one line per
    entry of ``series``: ``label -> list of eval results`` (the dicts ``gandyn mnist
    eval`` writes, each with ``iteration`` and ``samples``). The Parzen panel marks
    adversarial nets' 225 nats of Goodfellow et al. 2014, Table 1. The legend sits
    above the panels; the iteration axis is plain numbers (no offset) and is widened
    when all evaluations are at one iteration."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    its = []
    for label, results in series.items():
        results = sorted(results, key=lambda r: r["iteration"])
        it = np.array([r["iteration"] for r in results])
        its.extend(it.tolist())
        s = [r["samples"] for r in results]
        p, pse = np.array([x["parzen"]["mean"] for x in s]), np.array([x["parzen"]["se"] for x in s])
        i, isd = (np.array([x["inception_score"][k] for x in s]) for k in ("mean", "std"))
        f = np.array([x["fid"]["value"] for x in s])
        line = axes[0].errorbar(it, p, yerr=pse, marker="o", markersize=3, capsize=2, label=label)[0]
        axes[1].errorbar(it, i, yerr=isd, marker="o", markersize=3, capsize=2, color=line.get_color())
        axes[2].semilogy(it, f, marker="o", markersize=3, color=line.get_color())
    axes[0].axhline(GOODFELLOW_PARZEN, color="gray", linestyle="--", linewidth=0.8,
                    label="adversarial nets, Goodfellow et al. 2014")
    lo, hi = (min(its), max(its)) if its else (0, 1)
    pad = 0.05 * (hi - lo) if hi > lo else max(0.5, 0.1 * abs(hi))
    for ax, name in zip(axes, ("Parzen log-likelihood (nats)", "Inception score (classifier)",
                               "Frechet distance (classifier)")):
        ax.set_xlabel("iteration")
        ax.set_title(name, fontsize=10)
        ax.set_xlim(lo - pad, hi + pad)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))  # 20,000: no offset, no run-on
        if ax is not axes[2]:
            ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    axes[2].yaxis.set_major_formatter(LogFormatter(minor_thresholds=(2, 0.5)))  # 20, not 2 x 10^1
    axes[2].yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
    axes[0].set_ylabel("nats (higher is better)")
    axes[1].set_ylabel("score (higher is better)")
    axes[2].set_ylabel("distance (lower is better)")
    handles, labels = axes[0].get_legend_handles_labels()
    ref = labels.index("adversarial nets, Goodfellow et al. 2014")  # the runs first, the reference last
    handles.append(handles.pop(ref))
    labels.append(labels.pop(ref))
    h_in = fig.get_figheight()
    top = 1.0
    if title:
        fig.suptitle(title, y=0.995, va="top")
        top -= 0.3 / h_in
    ncol = min(len(labels), 4)
    fig.legend(handles, labels, loc="upper center", ncol=ncol, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, top))
    rows = -(-len(labels) // ncol)
    fig.tight_layout(rect=(0, 0, 1, top - (0.02 + 0.17 * rows) / h_in))
    return fig
