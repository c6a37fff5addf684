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
    the grey band is where the errors are measured (p_data + p_g > 1% of its max).
    The legend takes a free panel if there is one, else it sits above the panels."""
    n = len(curves)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.3 * nrows + 0.4), squeeze=False)
    for j, (ax, c) in enumerate(zip(axes.flat, curves)):
        x = c["x"]
        r = x[c["region"]]
        ax.axvspan(r[0], r[-1], color="0.93", zorder=0,
                   label=r"where errors are measured: $p_\mathrm{data} + p_g$ > 1% of its max")
        ax.plot(x, c["d_star"], label=r"$D^* = p_\mathrm{data} / (p_\mathrm{data} + p_g)$", **_DSTAR_STYLE)
        ax.plot(x, c["p_data"], label=r"$p_\mathrm{data}$", **DATA_STYLE)
        ax.plot(x, c["p_g"], label=r"$p_g$", **GEN_STYLE)
        ax.plot(x, c["d_learned"], label=r"$D$ learned from samples", **DISC_STYLE)
        ax.set_title(f"{c['pair']}\nsup {c['sup']:.4f}, RMS {c['rms']:.4f}, "
                     f"C(G) - V(D, G) {c['gap']:.1e}", fontsize=8)
        ax.set_ylim(-0.02, max(1.05, 1.05 * max(c["p_data"].max(), c["p_g"].max())))
        ax.tick_params(labelsize=7)
        if j // ncols == nrows - 1 or j + ncols >= n:  # the lowest panel of its column
            ax.set_xlabel("x", fontsize=8)
        if j % ncols == 0:
            ax.set_ylabel(r"density;  $D(x)$", fontsize=8)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    spare = list(axes.flat)[n:]
    for ax in spare:
        ax.axis("off")
    if spare:
        spare[0].legend(handles, labels, loc="center", fontsize=8, frameon=False)
        fig.tight_layout()
    else:
        fig.legend(handles, labels, loc="upper center", ncol=3, fontsize=8, frameon=False)
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))
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
    (log-log; all positive, and growing like eps^2). The title says in words how
    many perturbations lowered V; any that did not cannot be drawn on the log scale
    and are counted there."""
    fig, ax = plt.subplots(figsize=(5.6, 4.4))
    eps = np.array([p["eps"] for p in points])
    drop = -np.array([p["delta"] for p in points])
    ok = drop > 0
    n_pairs = len({p["pair"] for p in points})
    ax.loglog(eps[ok], drop[ok], ".", color="blue", alpha=0.3, markersize=4,
              label=r"one pair, one random $h$, one $\epsilon$")
    e = np.unique(eps)
    ref = np.median(drop[(eps == e[0]) & ok]) if np.any((eps == e[0]) & ok) else 1.0
    ax.loglog(e, ref * (e / e[0]) ** 2, color="0.4", linewidth=1.0, label=r"$\propto \epsilon^2$")
    ax.set_xlabel(r"$\epsilon$ (size of the perturbation $h$ of $D^*$)")
    ax.set_ylabel(r"drop of the value: $V(D^*, G) - V(D^* + \epsilon h, G)$")
    bad = int(np.sum(~ok))
    verdict = (f"all {drop.size} perturbations lower V" if bad == 0 else
               f"{bad} of {drop.size} perturbations do not lower V (not drawn)")
    ax.set_title(f"D* is a maximum of V: {verdict}\n"
                 f"({n_pairs} pairs x {drop.size // max(n_pairs * e.size, 1)} random h x {e.size} values of "
                 r"$\epsilon$)", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
