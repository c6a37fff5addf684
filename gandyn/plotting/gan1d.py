"""Figures of the 1D GAN (:mod:`gandyn.experiments.gan1d`): Figure 1 of Goodfellow et al. 2014 from a
real history, the JSD and C(G) curves, the animation, and the sweep's convergence map.

Colours as in the paper's Figure 1 (:data:`gandyn.plotting.DATA_STYLE` etc.):
data black dotted, p_g green solid, D blue dashed.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt
from matplotlib import animation as mpl_animation
from matplotlib.colors import LogNorm
from matplotlib.ticker import FormatStrFormatter, MaxNLocator, NullFormatter

from gandyn.io import atomic_path
from gandyn.plotting import DATA_STYLE, DISC_STYLE, GEN_STYLE

__all__ = ["figure1", "jsd_curves", "animate", "convergence_map", "LOG4"]

LOG4 = float(np.log(4.0))


def _xlim(arrays):
    """The x range where anything happens: data or any recorded p_g above 1e-3 of its peak."""
    x = arrays["x"]
    pd, pg = np.nan_to_num(arrays["p_data"]), np.nan_to_num(arrays["p_g"]).max(axis=0)
    mass = np.maximum(pd / max(float(pd.max()), 1e-300), pg / max(float(pg.max()), 1e-300))
    on = np.flatnonzero(mass > 1e-3)
    if on.size == 0:  # nothing on the grid stands out: the whole grid
        return float(x[0]), float(x[-1])
    return float(x[on[0]]), float(x[on[-1]])


def _panel(ax, arrays, r, ymax, xlim, letter=None, first=False, last=False):
    """One panel of Figure 1: densities (left scale) and D (right scale, 0 to 1) above,
    the z -> x mapping below the axis. A p_g peak above the panel is clipped and its
    height written next to it."""
    x = arrays["x"]
    ax.plot(x, arrays["p_data"], **DATA_STYLE, label=r"$p_\mathrm{data}$")
    pg = arrays["p_g"][r]
    ax.plot(x, pg, **GEN_STYLE, label=r"$p_g$", clip_on=True)
    ax.plot(x, arrays["d"][r] * ymax, **DISC_STYLE, label=r"$D(x)$ (right scale)")
    lo, hi = xlim
    ax.hlines(0.5 * ymax, lo, hi, color="0.55", linewidth=0.8, linestyle="-.", label=r"$D = 1/2$")
    top = 1.05 * ymax
    if float(pg.max()) > top:  # a spike: clipped at the top, its height written beside it
        i = int(np.argmax(pg))
        right = x[i] > 0.5 * (xlim[0] + xlim[1])  # the label on the side with room, off D's scale
        ax.annotate(f"$p_g$ peak {float(pg.max()):.3g}", xy=(x[i], top), xytext=(-6 if right else 6, -4),
                    textcoords="offset points", ha="right" if right else "left", va="top", fontsize=7,
                    color="green",
                    arrowprops=dict(arrowstyle="-", color="green", linewidth=0.6))
    zm, xm = arrays["z_map"], arrays["x_map"][r]
    lo_, hi_ = xlim
    centre = float(np.median(xm))
    if float(np.trapezoid(pg, x)) < 0.5 and lo_ <= centre <= hi_:
        # G maps (almost) every z to one point: p_g is a spike narrower than the grid's cells
        ax.annotate(f"$p_g$: a point mass near x = {centre:.2f}", xy=(centre, 0.0), xytext=(centre, 0.6 * ymax),
                    textcoords="data", ha="center", va="bottom", fontsize=7, color="green",
                    arrowprops=dict(arrowstyle="->", color="green", linewidth=0.6))
    # z -> x mapping, drawn as in the paper: z on a lower line, x on the axis line
    zx = lo + (zm - zm.min()) / max(float(np.ptp(zm)), 1e-12) * (hi - lo)
    yx, yz = -0.08 * ymax, -0.38 * ymax
    ax.hlines([yx, yz], lo, hi, color="black", linewidth=0.8)
    for a, b in zip(zx, xm):
        ax.annotate("", xy=(np.clip(b, lo, hi), yx), xytext=(a, yz),
                    arrowprops=dict(arrowstyle="->", color="black", linewidth=0.6, shrinkA=0, shrinkB=0))
    ax.text(lo, yx, "x ", ha="right", va="center", fontsize=9)
    ax.text(lo, yz, "z ", ha="right", va="center", fontsize=9)
    ax.set_xlim(lo, hi)
    ax.set_ylim(-0.45 * ymax, top)
    # the density scale on the left, D's on the right, both only above the mapping
    ticks = [t for t in MaxNLocator(nbins=4).tick_values(0.0, ymax) if 0 <= t <= ymax * 1.001]
    ax.set_yticks(ticks)
    ax.spines["left"].set_bounds(0.0, ymax)
    ax.spines[["right", "top"]].set_visible(False)
    ax.tick_params(labelsize=7)
    d_ax = ax.secondary_yaxis("right", functions=(lambda y: y / ymax, lambda d: d * ymax))
    d_ax.set_yticks([0.0, 0.5, 1.0])
    d_ax.spines["right"].set_bounds(0.0, 1.0)
    d_ax.tick_params(labelsize=7, colors="blue")
    d_ax.spines["right"].set_color("blue")
    if first:
        ax.set_ylabel("density", fontsize=8)
    if last:
        d_ax.set_ylabel(r"$D(x)$", fontsize=8, color="blue")
    it, jsd = int(arrays["it"][r]), float(arrays["jsd"][r])
    title = f"iteration {it}, JSD {jsd:.3f}"
    ax.set_title(f"({letter}) {title}" if letter else title, fontsize=9)


def figure1(arrays: dict, panels: dict):
    """Figure 1 (a)-(d) of Goodfellow et al. 2014 drawn from a real training history
    (``panels`` from :func:`gandyn.experiments.gan1d.pick_panels`). Densities share the
    left scale, D the right one (0 to 1, with the line D = 1/2); the legend sits above
    the panels; a p_g spike taller than 2.5 times p_data's peak is clipped and labelled."""
    xlim = _xlim(arrays)
    ymax = 1.1 * max(float(arrays["p_data"].max()), *(float(arrays["p_g"][r].max()) for r in panels.values()))
    ymax = min(ymax, 2.5 * float(arrays["p_data"].max()))
    n = len(panels)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.6), squeeze=False)
    axes = axes[0]
    for j, (ax, (letter, r)) in enumerate(zip(axes, panels.items())):
        _panel(ax, arrays, r, ymax, xlim, letter, first=j == 0, last=j == n - 1)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def jsd_curves(arrays: dict):
    """JSD(p_data || p_g) and C(G) = -log 4 + 2 JSD against iteration, with the
    global minimum -log 4 of C (Goodfellow et al. 2014, Theorem 1)."""
    it = arrays["it"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    jsd = np.maximum(arrays["jsd"], 1e-6)
    a1.semilogy(it, jsd, color="green", label=r"on the grid ($p_g$ exact or KDE)")
    lows = [float(jsd.min())]
    if "jsd_binned" in arrays:
        jb = np.maximum(arrays["jsd_binned"], 1e-6)
        lows.append(float(jb.min()))
        a1.semilogy(it, jb, color="green", linewidth=0.8, linestyle="--", label="binned (no smoothing)")
    log2 = float(np.log(2.0))
    a1.axhline(log2, color="gray", linewidth=0.8, linestyle=":", label="log 2 (disjoint supports)")
    a1.set_ylim(0.7 * min(lows), 3.0 * log2)  # room above log 2 for the legend
    ticks = [t for t in (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
             if 0.7 * min(lows) <= t]
    if len(ticks) >= 2:  # plain numbers, not 6 x 10^-1
        a1.set_yticks(ticks)
        a1.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        a1.yaxis.set_minor_formatter(NullFormatter())
    a1.set_xlabel("iteration")
    a1.set_ylabel(r"JSD$(p_\mathrm{data}\,\|\,p_g)$ [nats]")
    a1.legend(fontsize=8, frameon=False, loc="upper right", ncol=1)
    a1.set_title("Jensen-Shannon divergence", fontsize=9)
    a2.plot(it, arrays["c"], color="green", label=r"$C(G)=\max_D V(D,G)$")
    a2.plot(it, arrays["v"], color="blue", linewidth=0.8, alpha=0.7, label=r"$V(D,G)$ of the trained D")
    a2.axhline(-LOG4, color="black", linestyle="--", linewidth=0.9, label=r"$-\log 4$ (minimum of $C$)")
    lo = min(float(np.min(arrays["c"])), float(np.min(arrays["v"])), -LOG4)
    hi = max(float(np.max(arrays["c"])), float(np.max(arrays["v"])))
    a2.set_ylim(lo - 0.05 * (hi - lo), hi + 0.45 * (hi - lo))  # room at the top for the legend
    a2.set_xlabel("iteration")
    a2.set_ylabel(r"$V(D, G)$ [nats]")
    a2.legend(fontsize=8, frameon=False, loc="upper right")
    a2.set_title(r"value of the game, $C(G) = -\log 4 + 2\,\mathrm{JSD}$", fontsize=9)
    fig.tight_layout()
    return fig


def animate(arrays: dict, stem, fps: int = 12, dpi: int = 80, mp4: bool | None = None,
            max_frames: int = 80) -> list[Path]:
    """An animation of p_data, p_g and D over the records: ``stem.gif`` by
    matplotlib's PillowWriter, and ``stem.mp4`` when ffmpeg is on the PATH (or
    ``mp4=False`` to skip it). At most ``max_frames`` evenly spaced records are
    shown (first and last included). Written atomically; returns the paths."""
    x = arrays["x"]
    xlim = _xlim(arrays)
    ymax = 1.15 * float(arrays["p_data"].max())
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.plot(x, arrays["p_data"], **DATA_STYLE, label=r"$p_\mathrm{data}$")
    (lg,) = ax.plot(x, arrays["p_g"][0], **GEN_STYLE, label=r"$p_g$")
    (ld,) = ax.plot(x, arrays["d"][0] * ymax, **DISC_STYLE, label=r"$D(x)$ (right scale)")
    ax.axhline(0.5 * ymax, color="0.55", linewidth=0.8, linestyle="-.", label=r"$D = 1/2$")
    ax.set_xlim(*xlim)
    ax.set_ylim(0, 1.05 * ymax)
    ax.set_xlabel("x", fontsize=8)
    ax.set_ylabel("density", fontsize=8)
    ax.tick_params(labelsize=7)
    d_ax = ax.secondary_yaxis("right", functions=(lambda y: y / ymax, lambda d: d * ymax))
    d_ax.set_yticks([0.0, 0.5, 1.0])
    d_ax.tick_params(labelsize=7, colors="blue")
    d_ax.set_ylabel(r"$D(x)$", fontsize=8, color="blue")
    title = fig.suptitle("", y=0.99, fontsize=9)
    fig.legend(loc="upper center", ncol=4, fontsize=7, frameon=False, bbox_to_anchor=(0.5, 0.93))
    fig.tight_layout(rect=(0, 0, 1, 0.85))

    def frame(r):
        lg.set_ydata(np.minimum(arrays["p_g"][r], 2 * ymax))
        ld.set_ydata(arrays["d"][r] * ymax)
        title.set_text(f"iteration {int(arrays['it'][r])}   JSD {float(arrays['jsd'][r]):.3f} nats")
        return lg, ld, title

    R = len(arrays["it"])
    frames = np.unique(np.linspace(0, R - 1, min(R, max(2, int(max_frames)))).round().astype(int))
    anim = mpl_animation.FuncAnimation(fig, frame, frames=frames, blit=False)
    paths = []
    with atomic_path(Path(f"{stem}.gif")) as tmp:
        anim.save(tmp, writer=mpl_animation.PillowWriter(fps=fps), dpi=dpi)
    paths.append(Path(f"{stem}.gif"))
    if mp4 is None:
        mp4 = shutil.which("ffmpeg") is not None
    if mp4:
        with atomic_path(Path(f"{stem}.mp4")) as tmp:
            anim.save(tmp, writer=mpl_animation.FFMpegWriter(fps=fps), dpi=dpi)
        paths.append(Path(f"{stem}.mp4"))
    plt.close(fig)
    return paths


def convergence_map(arrays: dict, meta: dict, k_index: int = 0, loss_index: int = 0):
    """Final JSD over the (lr_D, lr_G) grid: the median over seeds as a heatmap
    (log colour scale), and the fraction of seeds with JSD below the threshold."""
    jsd = arrays["jsd"][k_index, loss_index]          # (S, Ld, Lg)
    conv = arrays["converged"][k_index, loss_index]
    lr_d, lr_g = arrays["lr_d"], arrays["lr_g"]
    thr = meta["threshold"]
    med = np.median(jsd, axis=0)
    frac = conv.mean(axis=0)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.4), constrained_layout=True)
    ext = dict(shading="nearest")
    m1 = a1.pcolormesh(lr_g, lr_d, np.maximum(med, 1e-4), norm=LogNorm(vmin=max(1e-3, med.min()), vmax=np.log(2)),
                       cmap="viridis_r", **ext)
    fig.colorbar(m1, ax=a1, label="median final JSD [nats]")
    a1.contour(lr_g, lr_d, med, levels=[thr], colors="white", linewidths=1.0)
    m2 = a2.pcolormesh(lr_g, lr_d, frac, vmin=0, vmax=1, cmap="Greens", **ext)
    fig.colorbar(m2, ax=a2, label=f"fraction of seeds with JSD < {thr:g}")
    k, loss = int(arrays["ks"][k_index]), str(arrays["losses"][loss_index])
    S = jsd.shape[0]
    for ax in (a1, a2):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"$\eta_G$ (generator step size)")
        ax.set_ylabel(r"$\eta_D$ (discriminator step size)")
        ax.plot([lr_g[0], lr_g[-1]], [lr_g[0], lr_g[-1]], color="gray", linewidth=0.6, linestyle=":")
    opt = meta["setup"]["training"]["optimizer"]
    a1.set_title(f"{opt}, k={k}, {loss} loss, {meta['steps']} steps, {S} seeds per cell", fontsize=9)
    a2.set_title(f"converged: {conv.mean():.1%} of {conv.size} runs", fontsize=9)
    return fig
