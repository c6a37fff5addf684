"""Figures of ``gandyn landscape``: eigenvalue trajectories along training, the complex
plane of J's eigenvalues per snapshot, the Hessian spectral densities and the path angle."""
from __future__ import annotations

import numpy as np

from gandyn.plotting import plt

__all__ = ["trajectories_figure", "complex_plane_figure", "densities_figure", "path_angle_figure"]

BLOCKS = {"j": "game Jacobian J", "g": r"$H_{GG}$ (generator)", "d": r"$H_{DD}$ (discriminator)"}


def _name(result: dict) -> str:
    """The run's name in titles: its kind, and for a model of ``gandyn mog`` its data set,
    method and seed."""
    meta = result.get("meta", {})
    if result["kind"] == "mog" and "method" in meta:
        return f"{meta['config']['data']} GAN ({meta['method']}, seed {meta['seed']})"
    return f"{result['kind']} GAN"


def _rows(rows, **match):
    return [r for r in rows if all(r[k] == v for k, v in match.items())]


def trajectories_figure(result: dict):
    """The extreme eigenvalues of H_GG, H_DD (both ends) and J (largest modulus, smallest
    real part) against the iteration; non-converged ones hollow."""
    its = sorted({p["iteration"] for p in result["points"]})
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, block in zip(axes, ("g", "d", "j")):
        searches = (("LA", "largest"), ("SA", "smallest")) if block != "j" else (
            ("LM", "largest modulus |λ|"), ("SR", "smallest real part"))
        for (which, label), colour in zip(searches, ("tab:red", "tab:blue")):
            for conv, face in ((True, colour), (False, "none")):
                pts = [(r["iteration"], abs(complex(r["real"], r["imag"])) if which == "LM" else r["real"])
                       for r in _rows(result["eigenvalues"], block=block, which=which) if r["converged"] == conv]
                if pts:
                    x, y = np.array(pts).T
                    ax.scatter(x, y, s=14, facecolors=face, edgecolors=colour,
                               label=f"{label}{'' if conv else ' (not converged)'}")
        ax.axhline(0.0, color="gray", linewidth=0.6)
        ax.set_yscale("symlog", linthresh=1e-3)
        ax.set_xlabel("iteration")
        ax.set_ylabel("eigenvalue" if block != "j" else "|λ| or Re λ")
        ax.set_title(BLOCKS[block])
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)  # below: hides no point
        if len(its) == 1:
            ax.set_xlim(its[0] - 1, its[0] + 1)
    fig.suptitle(f"{_name(result)}: top-{result['k']} eigenvalues at each snapshot (symlog scale)")
    fig.tight_layout()
    return fig


def complex_plane_figure(result: dict):
    """J's eigenvalues found at each snapshot in the complex plane, one colour per snapshot."""
    its = sorted({p["iteration"] for p in result["points"]})
    fig, ax = plt.subplots(figsize=(6.5, 5))
    cmap = plt.get_cmap("viridis")
    for i, it in enumerate(its):
        rows = _rows(result["eigenvalues"], block="j", iteration=it)
        lam = np.array([complex(r["real"], r["imag"]) for r in rows])
        ax.scatter(lam.real, lam.imag, s=16, color=cmap(i / max(len(its) - 1, 1)), label=f"iteration {it:,}")
    ax.axvline(0.0, color="gray", linewidth=0.6)
    ax.axhline(0.0, color="gray", linewidth=0.6)
    ax.set_xscale("symlog", linthresh=1e-2)
    ax.set_yscale("symlog", linthresh=1e-2)
    ax.margins(0.06)  # no point on the frame
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
    ax.set_xlabel("Re λ (stable when > 0)")
    ax.set_ylabel("Im λ")
    ax.set_title(f"{_name(result)}: eigenvalues of the game Jacobian J found by ARPACK", fontsize=10)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    return fig


def densities_figure(result: dict):
    """The spectral densities of H_GG and H_DD (stochastic Lanczos quadrature, Ghorbani et al.
    2019) per snapshot, on one grid and with one kernel width per block."""
    its = sorted({p["iteration"] for p in result["points"]})
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    cmap = plt.get_cmap("viridis")
    for ax, block in zip(axes, ("g", "d")):
        for i, it in enumerate(its):
            rows = _rows(result["density"], block=block, iteration=it)
            t = np.array([r["t"] for r in rows])
            d = np.array([r["density"] for r in rows])
            ax.plot(t, d, color=cmap(i / max(len(its) - 1, 1)), label=f"iteration {it:,}")
        ax.set_yscale("log")
        top = max((r["density"] for r in result["density"] if r["block"] == block), default=1.0)
        ax.set_ylim(top * 1e-7, top * 3)
        ax.set_xlabel("eigenvalue")
        ax.set_ylabel("spectral density")
        sigma = result.get("density_sigma", {}).get(block)
        ax.set_title(BLOCKS[block] + (f", Gaussian kernel width {sigma:.2g}" if sigma else ""))
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))  # outside: hides no curve
    fig.suptitle(f"{_name(result)}: spectral densities by stochastic Lanczos quadrature")
    fig.tight_layout()
    return fig


def path_angle_figure(result: dict):
    """Berard et al. 2020's path angle: ||omega|| and the cosine between omega and the
    segment between consecutive snapshots, against the position on the segment."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    segs = sorted({(r["from"], r["to"]) for r in result["path"]})
    cmap = plt.get_cmap("viridis")
    for i, (a, b) in enumerate(segs):
        rows = _rows(result["path"], **{"from": a, "to": b})
        al = np.array([r["alpha"] for r in rows])
        c = cmap(i / max(len(segs) - 1, 1))
        axes[0].plot(al, [r["norm"] for r in rows], color=c, label=f"{a:,} → {b:,}")
        axes[1].plot(al, [r["cos"] for r in rows], color=c, label=f"{a:,} → {b:,}")
    axes[0].set_yscale("log")
    axes[0].set_ylabel(r"$\|\omega(z_\alpha)\|$")
    axes[1].set_ylabel(r"cos angle($\omega(z_\alpha)$, $z_1 - z_0$)")
    axes[1].set_ylim(-1.05, 1.05)
    axes[1].axhline(0.0, color="gray", linewidth=0.6)
    for ax in axes:
        ax.set_xlabel(r"$\alpha$ on the segment $z_\alpha = z_0 + \alpha (z_1 - z_0)$")
    if segs:  # outside: hides no curve
        axes[1].legend(fontsize=7, title="iterations", loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(f"{_name(result)}: path angle between consecutive snapshots (Berard et al. 2020)")
    fig.tight_layout()
    return fig
