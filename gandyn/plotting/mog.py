"""Figures of the 2-D mode-collapse benchmark (:mod:`gandyn.experiments.mog`)."""
from __future__ import annotations

import numpy as np

import matplotlib.pyplot as plt

__all__ = ["samples_figure", "success_figure", "best_lr"]


def best_lr(res: dict, method: str) -> float:
    """The step size of ``method`` with the highest success rate (ties: higher median
    high-quality share, then the smaller step size)."""
    sel = res["method"] == method
    best = None
    for lr in np.unique(res["lr"][sel]):
        s = sel & (res["lr"] == lr)
        key = (res["success"][s].mean(), np.median(res["high_quality"][s]), -lr)
        if best is None or key > best[0]:
            best = (key, float(lr))
    return best[1]


def _note(cfg, sep: str) -> str:
    """The run's training choices that differ from the defaults, after ``sep`` (or nothing)."""
    from gandyn.experiments.mog import training_changes

    note = training_changes(cfg)
    return f"{sep}{note}" if note else ""


def samples_figure(cfg, res: dict, method: str, data_points: np.ndarray, centers: np.ndarray):
    """Generator samples over training for the shown seeds of ``method`` at its best step
    size: rows seeds, columns check iterations; data in grey, centres as black crosses."""
    lr = best_lr(res, method)
    rows = res["samples_rows"]
    pick = [i for i, r in enumerate(rows) if res["method"][np.searchsorted(res["rows"], r)] == method
            and res["lr"][np.searchsorted(res["rows"], r)] == lr]
    its = res["check_it"]
    C = len(its)
    n = max(len(pick), 1)
    fig, axes = plt.subplots(n, C, figsize=(2.3 * C, 2.3 * n + 0.4), squeeze=False, sharex=True, sharey=True)
    lo = centers.min(axis=0) - 1.0
    hi = centers.max(axis=0) + 1.0
    K = centers.shape[0]
    for a, i in enumerate(pick):
        r = rows[i]
        j = np.searchsorted(res["rows"], r)
        for c in range(C):
            ax = axes[a, c]
            ax.scatter(data_points[:, 0], data_points[:, 1], s=2, color="0.7", label="data", rasterized=True)
            x = res["samples"][c, i]
            ax.scatter(x[:, 0], x[:, 1], s=2, color="green", alpha=0.6, label="G samples", rasterized=True)
            ax.scatter(centers[:, 0], centers[:, 1], s=12, marker="x", color="black", linewidths=0.8,
                       label="mode centres")
            ax.set_xlim(lo[0], hi[0])
            ax.set_ylim(lo[1], hi[1])
            ax.set_aspect("equal")
            ax.set_title(f"seed {int(res['seed'][j])}, it {int(its[c])}\n"
                         f"{int(res['modes_checks'][c, j])}/{K} modes, "
                         f"HQ {100 * res['high_quality_checks'][c, j]:.0f}%", fontsize=7)
            if a == n - 1:
                ax.set_xlabel("$x_1$")
            if c == 0:
                ax.set_ylabel("$x_2$")
    n_seeds = int(((res["method"] == method) & (res["lr"] == lr)).sum())
    fig.suptitle(f"{cfg.data}: {method}, lr_G={lr:g}, lr_D={lr * cfg.ttur:g}{_note(cfg, ', ')} "
                 f"({len(pick)} of {n_seeds} seeds shown)", fontsize=9)
    fig.tight_layout(rect=(0, 0.06 if n == 1 else 0.03, 1, 1))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7, markerscale=2, frameon=False)
    return fig


def success_figure(cfg, res: dict):
    """Over training, for every method and step size: the success rate (every mode covered
    and >= hq_target high-quality samples), the share of seeds covering every mode, and the
    median high-quality share."""
    its = res["check_it"]
    K = int(res["n_modes"])
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.9), sharex=True)
    styles = ["-", "--", ":", "-."]
    for mi, m in enumerate(cfg.labels):
        for li, lr in enumerate(cfg.lrs):
            sel = (res["method"] == m) & (res["lr"] == lr)
            if not sel.any():
                continue
            kw = dict(color=f"C{mi}", linestyle=styles[li % len(styles)], marker="o", markersize=3,
                      label=f"{m}, lr_G={lr:g}")
            axes[0].plot(its, 100 * res["success_checks"][:, sel].mean(axis=1), **kw)
            axes[1].plot(its, 100 * (res["modes_checks"][:, sel] == K).mean(axis=1), **kw)
            axes[2].plot(its, 100 * np.median(res["high_quality_checks"][:, sel], axis=1), **kw)
    axes[0].set_ylabel(f"success rate (% of seeds):\nall {K} modes and HQ >= {100 * cfg.hq_target:.0f}%")
    axes[1].set_ylabel(f"% of seeds covering all {K} modes")
    axes[2].set_ylabel("median high-quality share (%)")
    for ax in axes:
        ax.set_xlabel("iteration")
        ax.set_ylim(-3, 103)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{cfg.data}: {cfg.seeds} seeds per method and step size{_note(cfg, '; ')}", fontsize=10)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, max(1, len(labels))), fontsize=8, frameon=False)
    return fig
