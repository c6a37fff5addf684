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

from gandyn.io import atomic_path
from gandyn.plotting import DATA_STYLE, DISC_STYLE, GEN_STYLE

__all__ = ["figure1", "jsd_curves", "animate", "convergence_map", "LOG4"]

LOG4 = float(np.log(4.0))


def _xlim(arrays):
    """The x range where anything happens: data or any recorded p_g above 1e-3 of its peak."""
    x = arrays["x"]
    mass = np.maximum(arrays["p_data"] / arrays["p_data"].max(), arrays["p_g"].max(axis=0) / max(
        float(arrays["p_g"].max()), 1e-300))
    on = np.flatnonzero(mass > 1e-3)
    return float(x[on[0]]), float(x[on[-1]])


def _panel(ax, arrays, r, ymax, xlim, letter=None):
    """One panel of Figure 1: densities and D above, the z -> x mapping below the axis."""
    x = arrays["x"]
    ax.plot(x, arrays["p_data"], **DATA_STYLE, label=r"$p_\mathrm{data}$")
    ax.plot(x, arrays["p_g"][r], **GEN_STYLE, label=r"$p_g$")
    ax.plot(x, arrays["d"][r] * ymax, **DISC_STYLE, label=r"$D$ (scaled: 1 at top)")
    # z -> x mapping, drawn as in the paper: z on a lower line, x on the axis line
    lo, hi = xlim
    zm, xm = arrays["z_map"], arrays["x_map"][r]
    zx = lo + (zm - zm.min()) / max(float(np.ptp(zm)), 1e-12) * (hi - lo)
    yx, yz = -0.08 * ymax, -0.38 * ymax
    ax.hlines([yx, yz], lo, hi, color="black", linewidth=0.8)
    for a, b in zip(zx, xm):
        ax.annotate("", xy=(np.clip(b, lo, hi), yx), xytext=(a, yz),
                    arrowprops=dict(arrowstyle="->", color="black", linewidth=0.6, shrinkA=0, shrinkB=0))
    ax.text(lo, yx, "x ", ha="right", va="center", fontsize=9)
    ax.text(lo, yz, "z ", ha="right", va="center", fontsize=9)
    ax.set_xlim(lo, hi)
    ax.set_ylim(-0.45 * ymax, 1.05 * ymax)
    ax.set_yticks([])
    ax.spines[["left", "right", "top"]].set_visible(False)
    it, jsd = int(arrays["it"][r]), float(arrays["jsd"][r])
    title = f"iteration {it}, JSD {jsd:.3f}"
    ax.set_title(f"({letter}) {title}" if letter else title, fontsize=9)


def figure1(arrays: dict, panels: dict):
    """Figure 1 (a)-(d) of Goodfellow et al. 2014 drawn from a real training history
    (``panels`` from :func:`gandyn.experiments.gan1d.pick_panels`)."""
    xlim = _xlim(arrays)
    ymax = 1.1 * max(float(arrays["p_data"].max()), *(float(arrays["p_g"][r].max()) for r in panels.values()))
    ymax = min(ymax, 2.5 * float(arrays["p_data"].max()))
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.4))
    for ax, (letter, r) in zip(axes, panels.items()):
        _panel(ax, arrays, r, ymax, xlim, letter)
    axes[0].legend(loc="upper left", fontsize=7, frameon=False)
    return fig


def jsd_curves(arrays: dict):
    """JSD(p_data || p_g) and C(G) = -log 4 + 2 JSD against iteration, with the
    global minimum -log 4 of C (Goodfellow et al. 2014, Theorem 1)."""
    it = arrays["it"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.4))
    a1.semilogy(it, np.maximum(arrays["jsd"], 1e-6), color="green", label="on the grid (p_g exact or KDE)")
    if "jsd_binned" in arrays:
        a1.semilogy(it, np.maximum(arrays["jsd_binned"], 1e-6), color="green", linewidth=0.8, linestyle="--",
                    label="binned (no smoothing)")
        a1.legend(fontsize=8, frameon=False, loc="lower left")
    a1.axhline(np.log(2.0), color="gray", linewidth=0.8, linestyle=":")
    a1.text(it[-1], np.log(2.0), "log 2", ha="right", va="bottom", fontsize=8, color="gray")
    a1.set_xlabel("iteration")
    a1.set_ylabel(r"JSD$(p_\mathrm{data}\,\|\,p_g)$ [nats]")
    a2.plot(it, arrays["c"], color="green", label=r"$C(G)=\max_D V(D,G)$")
    a2.plot(it, arrays["v"], color="blue", linewidth=0.8, alpha=0.7, label=r"$V(D,G)$ of the trained D")
    a2.axhline(-LOG4, color="black", linestyle="--", linewidth=0.9, label=r"$-\log 4$")
    a2.set_xlabel("iteration")
    a2.legend(fontsize=8, frameon=False)
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
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(x, arrays["p_data"], **DATA_STYLE, label=r"$p_\mathrm{data}$")
    (lg,) = ax.plot(x, arrays["p_g"][0], **GEN_STYLE, label=r"$p_g$")
    (ld,) = ax.plot(x, arrays["d"][0] * ymax, **DISC_STYLE, label=r"$D$ (1 at top)")
    ax.axhline(0.5 * ymax, color="gray", linewidth=0.5)
    ax.set_xlim(*xlim)
    ax.set_ylim(0, 1.05 * ymax)
    ax.set_yticks([])
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    title = ax.set_title("", fontsize=9)

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
    opt = meta["setup"]["optimizer"]
    a1.set_title(f"{opt}, k={k}, {loss} loss, {meta['steps']} steps, {S} seeds per cell", fontsize=9)
    a2.set_title(f"converged: {conv.mean():.1%} of {conv.size} runs", fontsize=9)
    return fig
