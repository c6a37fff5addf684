"""The landscape of a trained GAN along training: the eigenvalues of the game Jacobian
``J`` and of the players' own Hessians ``H_GG``, ``H_DD`` at each snapshot, the
Ratliff-Burden-Sastry verdict there, the Hessian spectral densities, and the path angle
between snapshots (Berard et al. 2020). Behind ``gandyn landscape``.

A run is read from its folder as one record (:func:`gandyn.experiments.runs.load_run`); its
game is evaluated in float64 on a fixed batch:

- ``gandyn mnist train`` runs: the first ``batch`` training images and ``batch`` latent
  draws from the run seed's ``landscape`` stream, D without dropout;
- ``gandyn gan1d`` runs: the data and latent expectations are exact Gauss-Hermite /
  Gauss-Legendre quadratures (``batch`` nodes) for normal or uniform data, else a fixed
  sample of ``batch`` points;
- ``gandyn mog`` runs kept with ``--keep-every`` (one model of the population): ``batch``
  points of the data set and ``batch`` latent draws from the model seed's ``landscape``
  stream.

Everything is matrix-free (:mod:`gandyn.games.spectra`); each eigenpair carries its
residual and a converged flag. A run trained with spectral normalisation of D is analysed
at the discriminator training applies, every weight matrix divided by its largest
singular value (:func:`gandyn.engine.spectral_norm.normalized_exact`): the game's D
parameters are the normalised weights.
"""
from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from gandyn import games
from gandyn.distributions import Normal, Uniform
from gandyn.engine import GAN
from gandyn.engine.spectral_norm import normalized_exact
from gandyn.games import spectra
from gandyn.experiments import gan1d
from gandyn.experiments.runs import RunRecord, load_run
from gandyn.rng import stream

__all__ = ["Snapshot", "LandscapeRun", "load_landscape", "analyse"]


@dataclass(frozen=True)
class Snapshot:
    """Parameters of a run at one iteration (float64): a kept snapshot, or the parameters of a
    checkpoint."""

    iteration: int
    theta_g: np.ndarray
    theta_d: np.ndarray

    @property
    def z(self) -> np.ndarray:
        return np.concatenate([self.theta_g, self.theta_d])


@dataclass
class LandscapeRun:
    """A run ready for analysis: its kind, the float64 game on the evaluation batch and
    its snapshots (ascending iterations)."""

    kind: str
    game: games.Game
    snapshots: list[Snapshot]
    meta: dict = field(default_factory=dict)


def _evaluation_set(rec: RunRecord, gan: GAN, batch: int, data_dir) -> tuple:
    """The data and latent points of the game with their weights (None: equal): of MNIST the
    first ``batch`` training images, of mog ``batch`` points of the data set, each with ``batch``
    latent draws of the seed's ``landscape`` stream; of the 1-D GAN exact Gauss-Hermite /
    Gauss-Legendre quadratures of ``batch`` nodes for normal or uniform data and latents, else
    a fixed sample of ``batch`` data points."""
    rng = stream(rec.seed, "landscape")
    if rec.kind == "mnist":
        from gandyn.data import load_mnist

        images, _ = load_mnist("train", data_dir=data_dir, progress=False)
        if batch > rec.config.n_train:
            raise ValueError(f"--batch {batch} exceeds the run's {rec.config.n_train} training images")
        return images[:batch].astype(np.float64) / 255.0, None, gan.sample_z(rng, batch), None
    if rec.kind == "mog":
        setup = rec.config.setup()
        x = np.asarray(setup.data.rvs(batch, rng), np.float64).reshape(batch, setup.dim)
        return x, None, gan.sample_z(rng, batch), None

    def quadrature(d):
        if isinstance(d, Uniform):
            return games.uniform_quadrature(batch, d.low, d.high)
        return games.normal_quadrature(batch, d.loc, d.scale) if isinstance(d, Normal) else None
    data, latent = rec.config.data, quadrature(gan.latent)
    if latent is None:
        raise ValueError(f"the landscape of a 1-D run needs a uniform or normal latent, not {gan.latent!r}")
    x = quadrature(data)
    if x is None:  # a data distribution without a quadrature: a sample
        x = data.rvs(batch, rng)[:, None], None
    return *x, *latent


def _mog_scores(path: Path, info: dict) -> dict:
    """``{'scores': ...}``, the model's final scores from the row of the run's ``models_DATA.csv``
    with its method, seed and ``lr_g`` (a run stopped by a failed shard holds fewer rows);
    ``{}`` when the file is missing or unreadable or has no single such row (the scores are
    only shown)."""
    import csv

    def same(r):
        with contextlib.suppress(KeyError, TypeError, ValueError):  # a malformed row is no row of this model
            return (r["method"], int(r["seed"]), float(r["lr_g"])) == (info["method"], info["seed"], info["lr_g"])
        return False

    rows = []  # a file that cannot be read: no scores to show
    with contextlib.suppress(OSError, UnicodeDecodeError, csv.Error), open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if same(r)]
    return {"scores": {k: rows[0].get(k) for k in ("modes", "high_quality", "reverse_kl", "success")}} \
        if len(rows) == 1 else {}


def load_landscape(run, *, batch: int | None = None, data_dir=None, at=None, model=None, data=None) -> LandscapeRun:
    """Read a run folder (:func:`gandyn.experiments.runs.load_run`) and build its game.

    Parameters
    ----------
    run : str or Path
        The run folder.
    batch : int, optional
        The size of the evaluation set (default: 256 for MNIST, 64 for the 1-D GAN,
        512 for the 2-D benchmark).
    data_dir : str, optional
        The MNIST folder (MNIST runs only).
    at : sequence of int, optional
        Only the snapshots at these iterations.
    model, data : optional
        The model and data set of a ``gandyn mog`` run (:func:`gandyn.experiments.runs.load_run`).

    Returns
    -------
    LandscapeRun

    Raises
    ------
    ValueError
        A folder that is no run, without snapshots, with snapshots of different
        models, ``at`` iterations that have no snapshot, a mog run without
        snapshots, or an unknown model or data set (each named).
    """
    if batch is not None and int(batch) < 1:
        raise ValueError(f"--batch must be >= 1, got {batch}")
    rec = load_run(run, model=model, data=data)
    batch, c = int(batch or {"mnist": 256, "gan1d": 64, "mog": 512}[rec.kind]), rec.config
    gan = c.gan() if rec.kind == "mnist" else c.gan if rec.kind == "gan1d" else c.setup().gan
    gan = GAN(replace(gan.G, dtype=np.float64), replace(gan.D, dtype=np.float64), loss=c.training.loss,
              latent=gan.latent)  # in float64, D without dropout
    x, wx, z, wz = _evaluation_set(rec, gan, batch, data_dir)
    name = {"mnist": "MNIST GAN", "gan1d": "1-D GAN"}.get(rec.kind) or f"{c.data} GAN"
    meta = {"setup": gan1d.describe(c)} if rec.kind == "gan1d" else {"config": c.to_dict()}
    meta |= {"batch": batch, **({"checkpoints": rec.meta["files"]} if rec.kind == "mnist" else {})}
    if rec.kind == "mog":
        meta |= {k: rec.seed if k == "seed" else rec.meta[k] for k in ("model", "method", "seed", "lr_g", "lr_d")}
        meta |= _mog_scores(Path(run) / f"models_{c.data}.csv", meta)
    # D's parameters as training applies them: with spectral normalisation every weight matrix divided by
    # its largest singular value (exact; the training's power iteration estimates it)
    points = [Snapshot(int(i), np.asarray(g, np.float64), normalized_exact(gan.D, np.asarray(d, np.float64))
                       if c.training.spectral_norm else np.asarray(d, np.float64))
              for i, g, d in zip(rec.iterations, rec.theta_g, rec.theta_d)]
    if at is not None:
        have = {p.iteration: p for p in points}
        if missing := [str(int(i)) for i in at if int(i) not in have]:
            raise ValueError(f"{rec.meta['files'][0] if rec.kind == 'mog' else run} has no snapshot at iteration "
                             f"{', '.join(missing)} (it has {', '.join(map(str, sorted(have)))})")
        points = [have[i] for i in sorted(set(map(int, at)))]
    return LandscapeRun(rec.kind, games.mlp_gan_game(gan, x, z, w_real=wx, w_latent=wz, name=name), points, meta)


#: Games with at most this many parameters are checked against their dense spectra.
DENSE_MAX = 1000


def analyse(run: LandscapeRun, *, k: int = 10, tol: float = 1e-8, slq_vectors: int = 4, slq_steps: int = 60,
            path_points: int = 21, maxiter: int | None = None, progress: bool = False, rng=0,
            dense_max: int = DENSE_MAX, done=None, keep=None) -> dict:
    """The landscape at each snapshot of ``run``.

    The verdicts (stable: every eigenvalue of ``J`` has a positive real part; differential
    Nash: critical with positive definite own Hessians) are taken from the dense spectra
    when the game has at most ``dense_max`` parameters (the searches' values are kept and
    compared); else from the matrix-free searches, ``'certified'`` when a converged eigenpair
    or the symmetric part's bound decides them and ``'unverified'`` otherwise (``check``
    of each point; :func:`~gandyn.games.spectra.certify_verdicts`).

    Returns a dict of plain rows: ``eigenvalues`` (iteration, block, which, k, real,
    imag, residual, converged), ``density`` (iteration, block, t, density), ``path``
    (from, to, alpha, norm, cos), ``points`` (per snapshot: ``||omega||``, the
    extreme eigenvalues of each block, the verdict and how it is known, time and
    operator products).

    With ``keep`` each snapshot's results (a JSON-able dict) are given to ``keep(iteration,
    result)`` as it is finished, and those in ``done`` (``{iteration: result}``, kept by an
    earlier call) are taken from there, so that an analysis stopped midway continues where
    it stopped. With an integer ``rng`` each snapshot's searches draw from their own fresh
    stream, so the results do not depend on which were kept before.
    """
    from tqdm.auto import tqdm

    game = run.game
    eig_rows, dens_rows, path_rows, points, quad = [], [], [], [], {}
    bar = tqdm(run.snapshots, desc="landscape", unit="snapshot", disable=not progress)
    for i, cp in enumerate(bar):
        bar.set_description(f"landscape: snapshot {i + 1} of {len(run.snapshots)} (iteration {cp.iteration})")
        if (got := (done or {}).get(cp.iteration)) is None:  # compute it
            t0, z, ext, nq = time.perf_counter(), cp.z, {}, {}
            wn = float(np.linalg.norm(game.field(z)))
            spec = spectra.game_spectrum(game, z, k=k, tol=tol, maxiter=maxiter, rng=rng)
            searches = [(block, pairs) for block, s in spec.items() for pairs in s.values()]
            rows = [{"iteration": cp.iteration, "block": block, "which": pairs.which, "k": j + 1,
                     "real": float(np.real(v)), "imag": float(np.imag(v)), "residual": float(r), "converged": bool(c)}
                    for block, pairs in searches
                    for j, (v, r, c) in enumerate(zip(pairs.values, pairs.residuals, pairs.converged))]
            products = sum(pairs.products for _, pairs in searches) + 2 * slq_vectors * slq_steps  # and SLQ's
            for block in ("g", "d"):
                la, sa = spec[block]["LA"], spec[block]["SA"]
                nodes, weights = spectra.slq_density(game.block_operator(z, block), n_vectors=slq_vectors,
                                                     steps=slq_steps, rng=rng)
                nq[block] = [nodes.tolist(), weights.tolist()]
                top = max(float(np.abs(nodes).max()), 1e-300)
                ext[block] = {"max": float(la.values.max()), "min": float(sa.values.min()),
                              "converged": bool(la.converged.all() and sa.converged.all()),
                              "mass_near_zero": float(weights[np.abs(nodes) <= 1e-3 * top].sum())}
            ext["j"] = {"max_modulus": float(np.abs(spec["j"]["LM"].values).max()),
                        "min_real": float(spec["j"]["SR"].values.real.min()),
                        "max_real": float(spec["j"]["LR"].values.real.max()),
                        "converged": bool(all(p.converged.all() for p in spec["j"].values()))}
            check, used = spectra.certify_verdicts(ext, spec, game, z, dense_max=dense_max, tol=tol, maxiter=maxiter,
                                                   rng=rng)
            eps = tol * max(1.0, ext["j"]["max_modulus"])
            pd = bool(ext["g"]["min"] > eps and ext["d"]["min"] > eps)  # both own Hessians positive definite
            verdict = {"omega_norm": wn, "critical": wn <= eps, "differential_nash": bool(wn <= eps and pd),
                       "own_hessians_positive_definite": pd, "stable": bool(ext["j"]["min_real"] > eps),
                       "converged": bool(all(ext[b]["converged"] for b in ("j", "g", "d")))}
            got = {"eigenvalues": rows, "quad": nq, "point": {"iteration": cp.iteration, **verdict, "check": check,
                   **ext, "seconds": time.perf_counter() - t0, "products": products + used}}
            if keep is not None:
                keep(cp.iteration, got)
        eig_rows += got["eigenvalues"]
        points.append(got["point"])
        for block, (nodes, weights) in got["quad"].items():
            quad.setdefault(block, []).append((cp.iteration, np.asarray(nodes, float), np.asarray(weights, float)))
    sigmas = {}
    for block, runs in quad.items():  # one grid and one kernel width per block, for comparison
        allnodes = np.concatenate([n for _, n, _ in runs])
        lo, hi = float(allnodes.min()), float(allnodes.max())
        width = max(hi - lo, 1e-12)
        sigmas[block] = 0.01 * width
        t = np.linspace(lo - 0.05 * width, hi + 0.05 * width, 401)
        for it, nodes, weights in runs:
            dens_rows += [{"iteration": it, "block": block, "t": float(a), "density": float(b)}
                          for a, b in zip(t, spectra.density_on_grid(nodes, weights, t, sigmas[block]))]
    for a, b in zip(run.snapshots, run.snapshots[1:]):
        alpha, norm, cos = spectra.path_angle(game, a.z, b.z, path_points)
        path_rows += [{"from": a.iteration, "to": b.iteration, "alpha": float(x), "norm": float(n), "cos": float(c)}
                      for x, n, c in zip(alpha, norm, cos)]
    return {"kind": run.kind, "n_g": game.n_g, "n_d": game.n_d, "k": k, "tol": tol, "dense_max": dense_max,
            "density_sigma": sigmas, "eigenvalues": eig_rows, "density": dens_rows, "path": path_rows, "points": points,
            "meta": json.loads(json.dumps(run.meta, default=str))}
