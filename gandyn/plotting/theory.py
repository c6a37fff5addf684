"""Figures of the optimal-discriminator theory (Goodfellow et al. 2014, Prop. 1, Thm. 1).
Each function takes the records of :mod:`gandyn.experiments.theory_check` and returns a figure."""
from __future__ import annotations

import numpy as np

from gandyn.plotting import DATA_STYLE, DISC_STYLE, GEN_STYLE, plt

__all__ = ["learned_figure", "c_vs_jsd_figure", "maximality_figure"]

_DSTAR_STYLE = dict(color="lightskyblue", linestyle="-", linewidth=4.0, alpha=0.8)


def learned_figure(curves, ncols: int = 3):
    """One panel per pair: p_data (black dotted), p_g (green solid), D_learned
    (blue dashed) over D* (thick light blue), as in Goodfellow et al. 2014, Figure 1;
    the shaded band is where the errors are measured (p_data + p_g > 1% of its max)."""
    n = len(curves)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), squeeze=False)
    for ax, c in zip(axes.flat, curves):
        x = c["x"]
        r = x[c["region"]]
        ax.axvspan(r[0], r[-1], color="0.93", zorder=0)
        ax.plot(x, c["d_star"], label=r"$D^*$", **_DSTAR_STYLE)
        ax.plot(x, c["p_data"], label=r"$p_\mathrm{data}$", **DATA_STYLE)
        ax.plot(x, c["p_g"], label=r"$p_g$", **GEN_STYLE)
        ax.plot(x, c["d_learned"], label=r"$D$ learned", **DISC_STYLE)
        ax.set_title(f"{c['pair']}\nsup {c['sup']:.4f}, RMS {c['rms']:.4f}, "
                     f"C - V {c['gap']:.1e}", fontsize=8)
        ax.set_ylim(-0.02, max(1.05, 1.05 * max(c["p_data"].max(), c["p_g"].max())))
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def c_vs_jsd_figure(points):
    """C(G) = V(D*, G) against JSD(p_data || p_g), each by its own quadrature, on
    the line -log 4 + 2 JSD of Theorem 1."""
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    t = np.linspace(0.0, np.log(2.0), 50)
    ax.plot(t, -np.log(4.0) + 2 * t, color="0.5", linewidth=1.0, label=r"$-\log 4 + 2\,\mathrm{JSD}$")
    for kind, marker in (("family", "o"), ("closed form", "s")):
        pts = [p for p in points if p["kind"] == kind]
        ax.plot([p["jsd"] for p in pts], [p["c"] for p in pts], marker, markersize=5, fillstyle="none",
                linestyle="none", label=kind)
    ax.set_xlabel(r"$\mathrm{JSD}(p_\mathrm{data} \,\|\, p_g)$ (nats)")
    ax.set_ylabel(r"$C(G) = V(D^*, G)$")
    ax.set_title("Theorem 1: C(G) lies on the line")
    ax.legend(fontsize=8)
    return fig


def maximality_figure(points):
    """``V(D*, G) - V(D* + eps h, G)`` against eps for every pair and perturbation
    (log-log; all positive, and growing like eps^2)."""
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    eps = np.array([p["eps"] for p in points])
    drop = -np.array([p["delta"] for p in points])
    ok = drop > 0
    ax.loglog(eps[ok], drop[ok], ".", color="blue", alpha=0.3, markersize=4)
    e = np.unique(eps)
    ref = np.median(drop[(eps == e[0]) & ok]) if np.any((eps == e[0]) & ok) else 1.0
    ax.loglog(e, ref * (e / e[0]) ** 2, color="0.4", linewidth=1.0, label=r"$\propto \epsilon^2$")
    ax.set_xlabel(r"$\epsilon$")
    ax.set_ylabel(r"$V(D^*, G) - V(D^* + \epsilon h, G)$")
    ax.set_title(f"D* is a maximum: {int(np.sum(~ok))} of {drop.size} drops <= 0")
    ax.legend(fontsize=8)
    return fig
