"""Figures of game dynamics: Dirac-GAN trajectories and vector fields, spectra of
the game Jacobian with the stability disc, the largest stable step against the
regularisation weight, and the own-Hessian blocks at GAN equilibria. Each
function takes the records of :mod:`gandyn.experiments.game_study` and returns a figure."""
from __future__ import annotations

import numpy as np

from gandyn.plotting import plt

__all__ = ["dirac_grid", "vector_field_figure", "spectrum_figure", "step_map_figure", "talk_claim_figure"]

_TRAJ = dict(color="green", linewidth=1.0)


def _arrows(ax, vf, name, color="0.65"):
    U, V = vf.fields[name]
    n = np.hypot(U, V)
    n[n == 0] = 1.0
    ax.quiver(vf.theta, vf.psi, U / n, V / n, color=color, angles="xy", pivot="mid", width=0.004,
              headwidth=3.5, scale=1.2 * vf.theta.shape[0])


def dirac_grid(panels, vf, h, ncols: int = 4):
    """One panel per (variant, method) (a list of :class:`~gandyn.experiments.game_study.Panel`): the
    trajectory from (1, 1) over the direction of the variant's field (unit arrows; ``vf`` a
    :class:`~gandyn.experiments.game_study.VectorFields`); the equilibrium (0, 0) is the black dot."""
    n = len(panels)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.1 * ncols, 3.0 * nrows), squeeze=False)
    lim = float(np.abs(vf.theta).max())
    for ax, p in zip(axes.flat, panels):
        _arrows(ax, vf, p.variant)
        tr = p.traj
        ax.plot(tr[:, 0], tr[:, 1], **_TRAJ)
        ax.plot(tr[0, 0], tr[0, 1], "o", color="green", markersize=4)
        ax.plot(0, 0, "o", color="black", markersize=4)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_title(f"{p.title}\nfinal |z| = {p.dist:.2g}", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel(r"$\theta$ (generator)", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel(r"$\psi$ (discriminator)", fontsize=8)
    fig.suptitle(f"Dirac-GAN (Mescheder et al. 2018): {len(panels[0].traj) - 1} steps of size h = {h:g} "
                 r"from $(\theta_0, \psi_0) = (1, 1)$", fontsize=10)
    fig.tight_layout()
    return fig


def vector_field_figure(vf, ncols: int = 3):
    """Streamplots of ``-omega`` (the direction of gradient play) per variant of ``vf``, a
    :class:`~gandyn.experiments.game_study.VectorFields`."""
    names = list(vf.fields)
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 3.2 * nrows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        U, V = vf.fields[name]
        speed = np.hypot(U, V)
        ax.streamplot(vf.theta, vf.psi, U, V, color=speed, cmap="viridis", density=1.0, linewidth=0.8)
        ax.plot(0, 0, "o", color="black", markersize=4)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(r"$\theta$", fontsize=8)
        ax.set_ylabel(r"$\psi$", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    fig.suptitle(r"Dirac-GAN vector fields $-\omega(\theta, \psi)$", fontsize=10)
    fig.tight_layout()
    return fig


def _spectrum_panel(ax, lam, r, ext, labels=True):
    """Eigenvalues ``lam`` on ``[-ext, ext]^2`` with the stability disc (centre and radius ``r``)."""
    ax.add_patch(plt.Circle((r, 0), r, color="tab:blue", alpha=0.12, linewidth=0))
    ax.axvline(0, color="gray", linewidth=0.8)
    ax.axhline(0, color="gray", linewidth=0.5)
    good = lam.real > 1e-12
    ax.plot(lam.real[good], lam.imag[good], "o", color="tab:blue", markersize=5, linestyle="none")
    ax.plot(lam.real[~good], lam.imag[~good], "x", color="tab:red", markersize=6, mew=1.5, linestyle="none")
    if labels:
        pts, counts = np.unique(np.round(lam, 6), return_counts=True)
        for z, c in zip(pts, counts):
            if c > 1:
                ax.annotate(f"{c}", (z.real, z.imag), xytext=(4, 3), textcoords="offset points", fontsize=7)
    ax.set_xlim(-ext, ext)
    ax.set_ylim(-ext, ext)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=7)


def spectrum_figure(spectra: dict, h: float, ncols: int = 4):
    """Eigenvalues of ``J`` in the complex plane, one panel per game, each zoomed to
    its own spectrum (so that eigenvalues near 0 stay apart), with the disc
    ``|1 - h lambda| < 1`` (centre and radius ``1/h``) where simultaneous GD with
    step ``h`` is stable. Eigenvalues with Re > 0 (stable for the flow) are blue
    dots, the others red crosses; a number beside a point is its multiplicity. A
    panel whose eigenvalues near 0 would pile up next to a far one gets a zoomed inset."""
    names = list(spectra)
    n = len(names)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 2.9 * nrows + 0.6), squeeze=False)
    r = 1.0 / h
    for ax, name in zip(axes.flat, names):
        lam = np.atleast_1d(np.asarray(spectra[name], dtype=complex))
        ext = max(1.25 * float(np.abs(lam).max()), 0.25)
        _spectrum_panel(ax, lam, r, ext)
        ax.set_title(name, fontsize=8)
        small = np.abs(lam) < ext / 20
        if small.any() and not small.all():  # a cluster near 0 next to a far eigenvalue: zoom in
            e2 = max(1.3 * float(np.abs(lam[np.abs(lam) < ext / 5]).max()), ext / 100)
            ins = ax.inset_axes([0.1, 0.56, 0.4, 0.4])
            _spectrum_panel(ins, lam, r, e2, labels=False)
            ins.set_xticks([])
            ins.set_yticks([])
            ins.text(0.97, 0.03, f"zoom: $\\pm${e2:.2g}", transform=ins.transAxes, ha="right", va="bottom",
                     fontsize=6)
            ax.indicate_inset_zoom(ins, edgecolor="0.4")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    for j, ax in enumerate(axes.flat[:n]):
        if j // ncols == nrows - 1 or j + ncols >= n:
            ax.set_xlabel(r"Re $\lambda$", fontsize=8)
        if j % ncols == 0:
            ax.set_ylabel(r"Im $\lambda$", fontsize=8)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Line2D([], [], marker="o", color="tab:blue", linestyle="none", label=r"eigenvalue, Re $\lambda > 0$"),
               Line2D([], [], marker="x", color="tab:red", mew=1.5, linestyle="none",
                      label=r"eigenvalue, Re $\lambda \leq 0$"),
               Patch(color="tab:blue", alpha=0.25, label=f"$|1 - h\\lambda| < 1$ (GD with h = {h:g} is stable)")]
    fig.legend(handles=handles, loc="upper center", ncol=3, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 1 - 0.45 / fig.get_figheight()))
    fig.suptitle(r"Spectrum of the game Jacobian J at each equilibrium (stable for $\dot z = -\omega$ "
                 r"iff every Re $\lambda > 0$); each panel has its own scale", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.7 / fig.get_figheight()))
    return fig


def step_map_figure(sm):
    """Per regulariser of ``sm`` (a :class:`~gandyn.experiments.game_study.StepMap`), ``log10`` of
    the spectral radius of one simultaneous GD step over (weight, h); the largest stable step
    computed by autograd (gold) and in closed form (black dashed), which lie on top of each other."""
    kinds = [("r1", sm.r1, r"R1 weight $\gamma$"), ("consensus", sm.consensus, r"consensus weight $\gamma$"),
             ("noise", sm.noise, r"instance noise $\sigma$")]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), constrained_layout=True)
    w, hs = sm.weights, sm.hs
    for ax, (kind, steps, label) in zip(axes, kinds):
        im = ax.pcolormesh(w, hs, np.log10(steps.rho.T), cmap="RdBu_r", vmin=-0.5, vmax=0.5, shading="auto")
        ax.plot(w, steps.h_max, color="gold", linewidth=3.5, label=r"$h_{\max}$ (autograd J)")
        ax.plot(w, steps.h_max_closed, "k--", linewidth=1.2, label=r"$h_{\max}$ (closed form)")
        ax.set_ylim(hs.min(), hs.max())
        ax.set_xlabel(label)
        ax.set_ylabel("step size h")
        ax.set_title(f"Dirac-GAN, {kind}", fontsize=10)
        ax.legend(fontsize=7, loc="upper right")
    fig.colorbar(im, ax=axes, label=r"$\log_{10}$ spectral radius of $I - hJ$ (< 0: converges)")
    fig.suptitle(r"Largest stable step $h_{\max} = \min_\lambda 2\,\mathrm{Re}\,\lambda / |\lambda|^2$ "
                 "against the regularisation weight", fontsize=10)
    return fig


def talk_claim_figure(blocks, floor: float = 1e-18):
    """Sorted ``|eigenvalues|`` of the generator's and the discriminator's own
    Hessian at each point of ``blocks`` (a :class:`~gandyn.experiments.game_study.TalkClaim`, its
    four points, or any sequence of :class:`~gandyn.experiments.game_study.Blocks`), one panel each,
    log scale; exact zeros drawn at ``floor`` (the grey line). All panels share the y range; x runs
    over the eigenvalues' indices."""
    from matplotlib.ticker import MaxNLocator

    blocks = getattr(blocks, "entries", blocks)

    top = max([1.0] + [float(np.abs(np.concatenate([np.ravel(s.eig_d), np.ravel(s.eig_g)])).max()) for s in blocks])
    fig, axes = plt.subplots(1, len(blocks), figsize=(3.6 * len(blocks), 3.8), squeeze=False, sharey=True)
    for ax, s in zip(axes[0], blocks):
        size = max(np.size(s.eig_d), np.size(s.eig_g), 1)
        ax.axhline(floor, color="0.6", linewidth=0.8, zorder=0, label=f"exact 0 (drawn at {floor:g})")
        for eig, style, lab in ((s.eig_d, dict(color="blue", marker="s", alpha=0.6), r"$H_{DD} f_D$"),
                                (s.eig_g, dict(color="green", marker="o", markerfacecolor="none",
                                               markeredgewidth=1.3, zorder=3), r"$H_{GG} f_G$")):
            a = np.sort(np.maximum(np.abs(np.ravel(eig)), floor))[::-1]
            ax.semilogy(np.arange(1, a.size + 1), a, linestyle="none", markersize=4, label=lab, **style)
        ax.set_title(f"{s.label}\n$\\|\\omega\\|$ = {s.omega_norm:.2g}", fontsize=8)
        ax.set_xlabel("index (sorted by |eigenvalue|)", fontsize=8)
        ax.set_xlim(0.5 - 0.02 * size, size + 0.5 + 0.02 * size)  # never degenerate, even for one eigenvalue
        if size <= 6:
            ax.set_xticks(np.arange(1, size + 1))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
        ax.set_ylim(floor / 30, top * 30)
        ax.tick_params(labelsize=7)
    axes[0, 0].set_ylabel("|eigenvalue| of the own-Hessian block", fontsize=8)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=3, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 0.95))
    fig.suptitle("The talk's claim: the generator's own Hessian vanishes at the GAN equilibrium", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig
