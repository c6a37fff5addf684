"""A trained run read back from its folder as one typed record, whichever command wrote it.

:func:`load_run` reads the parameters a run kept along training and its configuration:

- ``gandyn gan1d``: ``history.npz`` (the parameters at every record; config
  :class:`gandyn.engine.population.Setup`, made by :func:`gandyn.experiments.gan1d.setup`);
- ``gandyn mnist train``: ``checkpoints/iter_*.npz`` kept with ``--keep-every``, else the final
  ``checkpoint.npz`` (config :class:`gandyn.experiments.mnist.MnistConfig`);
- ``gandyn mog`` with ``--keep-every``: ``snapshots_DATA.npz``, one model of the population
  (``model``: its index in ``models_DATA.csv`` or ``METHOD:SEED``; config
  :class:`gandyn.experiments.mog.MogConfig`).

Every run becomes a :class:`RunRecord`; ``gandyn landscape`` works on it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gandyn import history
from gandyn.engine.population import Networks
from gandyn.engine.training import TrainingConfig
from gandyn.experiments import gan1d, mnist, mog

__all__ = ["RunRecord", "load_run"]


@dataclass(frozen=True)
class RunRecord:
    """Parameters of one model along training and its configuration.

    Attributes
    ----------
    kind : {'gan1d', 'mnist', 'mog'}
        The command that wrote the run.
    config : population.Setup, MnistConfig or MogConfig
        The run's configuration (its ``training`` holds the training choices).
    seed : int
        The model's seed.
    iterations : int array (T,)
        Ascending iterations of the kept parameters.
    theta_g, theta_d : arrays (T, n_g), (T, n_d)
        G's and D's parameters there, in the training dtype (D's as trained: without
        spectral normalisation applied).
    meta : dict
        What else identifies the model and the files read (``files``; of a mog model its
        ``model`` index, ``method``, ``lr_g``, ``lr_d``, ``data``).
    stats_g : array (T, n_s) or None
        With a batch-norm G, its running statistics at each kept iteration (samples of the
        kept G are ``G(theta_g[t], z, stats_g[t])``, evaluation mode); else None.
    """

    kind: str
    config: Any
    seed: int
    iterations: np.ndarray
    theta_g: np.ndarray
    theta_d: np.ndarray
    meta: dict = field(default_factory=dict)
    stats_g: np.ndarray | None = None


def _gan1d(run: Path) -> RunRecord:
    path = run / "history.npz"
    arrays, meta = history.load(path)
    if "theta_g" not in arrays or "theta_d" not in arrays:
        raise ValueError(f"{path} keeps no parameters; rerun `gandyn gan1d`")
    s = meta["setup"]  # data: the text distributions.parse reads
    setup = gan1d.setup(s["data"], networks=Networks.from_dict(s["networks"]),
                        training=TrainingConfig.from_dict(s["training"]))
    return RunRecord("gan1d", setup, int(meta["seed"]), arrays["it"], arrays["theta_g"], arrays["theta_d"],
                     {"files": [str(path)]})


def _mnist(run: Path) -> RunRecord:
    files = sorted(run.glob("checkpoints/iter_*.npz")) or [f for f in [run / mnist.CHECKPOINT] if f.is_file()]
    if not files:
        raise ValueError(f"{run}: no checkpoints (checkpoints/iter_*.npz or {mnist.CHECKPOINT}); "
                         "train with `gandyn mnist train --keep-every N`")
    points, config = [], None
    for f in files:  # only the parameters are kept, not whole checkpoints
        tr = mnist.load_checkpoint(f)
        config = tr.config if config is None else config
        if tr.config.networks != config.networks:  # the checkpoints of one run share their networks
            raise ValueError(f"{f} is a checkpoint of another model than {files[0]}")
        points.append((tr.it, tr.trainer.theta_g, tr.trainer.theta_d, tr.trainer.stats_g))
    it, g, d, stats = map(np.array, zip(*sorted(points, key=lambda p: p[0])))
    return RunRecord("mnist", config, config.seed, it, g, d, {"files": [str(f) for f in files]},
                     stats if config.networks.g_batch_norm else None)


def _mog_sets(run: Path) -> list[str]:
    return [d for d in mog.DATASETS if (run / f"results_{d}.npz").is_file() or mog.snapshot_path(run, d).is_file()]


def _span(idx, seeds, method: str) -> str:
    """``'models 0-3 (altgd:0-3)'``, or the pairs one by one when not contiguous (a few shown)."""
    if np.all(np.diff(idx) == 1) and np.all(np.diff(seeds) == 1):
        ends = lambda a: f"{a[0]}" if a.size == 1 else f"{a[0]}-{a[-1]}"  # noqa: E731
        return f"model{'s' if idx.size > 1 else ''} {ends(idx)} ({method}:{ends(seeds)})"
    pairs = [f"{i} ({method}:{s})" for i, s in zip(idx, seeds)]
    return ", ".join(pairs[:6] + (["..."] if len(pairs) > 6 else []))


def _mog_model(arrays: dict, model, where: str) -> int:
    """The position in a mog snapshot file of ``model``: an index of ``models_DATA.csv``
    or ``'METHOD:SEED'``; None picks the only model."""
    methods, seeds, idx = arrays["method"].astype(str), arrays["seed"].astype(int), arrays["model"].astype(int)
    choices = "; ".join(_span(idx[methods == m], seeds[methods == m], m) for m in dict.fromkeys(methods))
    if model is None:
        if idx.size == 1:
            return 0
        raise ValueError(f"{where} holds {idx.size} models; choose one with --model I or --model METHOD:SEED: {choices}")
    text = str(model).strip()
    method, _, seed = text.rpartition(":")
    if not text.isdigit() and not (method and seed.isdigit()):
        raise ValueError(f"--model takes an index or METHOD:SEED, got {text!r}")
    hit = np.flatnonzero(idx == int(text) if text.isdigit() else (methods == method) & (seeds == int(seed)))
    if hit.size == 0:
        raise ValueError(f"{where} has no model {text}; choose from {choices}")
    if hit.size > 1:
        raise ValueError(f"{where} has {hit.size} models {text} (one per step size); choose by index: "
                         + ", ".join(f"{i} (lr_G {arrays['lr_g'][j]:g})" for j, i in zip(hit, idx[hit])))
    return int(hit[0])


def _mog(run: Path, model, data) -> RunRecord:
    ran = _mog_sets(run)  # the data set whose snapshots to read: ``data``, or the only one
    kept = [d for d in ran if mog.snapshot_path(run, d).is_file()]
    if data is None and len(kept) > 1:
        raise ValueError(f"{run} holds snapshots of {' and '.join(kept)}; choose one with --data")
    data = data or (kept + ran)[0]
    if data not in kept:
        raise ValueError(f"{run} has no {data} run (it has {', '.join(ran)})" if data not in ran else
                         f"{run}: the {data} run kept no snapshots; train with `gandyn mog --keep-every N`")
    path = mog.snapshot_path(run, data)
    arrays, cfg = mog.load_snapshots(path)
    j = _mog_model(arrays, model, str(path))
    T, R, gan = arrays["it"].size, arrays["model"].size, cfg.setup().gan
    for name, n, what in (("theta_g", gan.G.n_params, "parameters"), ("theta_d", gan.D.n_params, "parameters"),
                          ("stats_g", gan.G.stats_layout.size, "running statistics")):
        if name in arrays and arrays[name].shape != (T, R, n):
            raise ValueError(f"{path}: {name} has shape {arrays[name].shape}, not {(T, R, n)} "
                             f"(snapshots x models x {what} of its configuration)")
    info = {"model": int(arrays["model"][j]), "method": str(arrays["method"][j]), "lr_g": float(arrays["lr_g"][j]),
            "lr_d": float(arrays["lr_d"][j]), "data": cfg.data, "files": [str(path)]}
    return RunRecord("mog", cfg, int(arrays["seed"][j]), arrays["it"], arrays["theta_g"][:, j],
                     arrays["theta_d"][:, j], info, arrays["stats_g"][:, j] if "stats_g" in arrays else None)


def load_run(run, *, model=None, data=None) -> RunRecord:
    """Read a run folder (see the module docstring).

    Parameters
    ----------
    run : str or Path
        The run folder.
    model : int or str, optional
        The model of a ``gandyn mog`` run: its index in ``models_DATA.csv`` or
        ``'METHOD:SEED'``; may be left out when the run holds one model.
    data : str, optional
        The data set of a ``gandyn mog`` run; may be left out when the run kept
        snapshots of one data set.

    Returns
    -------
    RunRecord

    Raises
    ------
    ValueError
        A folder that is no run, without kept parameters, with checkpoints of different
        models, a mog run without snapshots, or an unknown model or data set (each named).
    """
    run = Path(run)
    if not run.is_dir():
        raise ValueError(f"no run folder {run}")
    if _mog_sets(run):
        return _mog(run, model, data)
    mnist_run = (run / "config.json").is_file() or (run / "checkpoints").is_dir() or (run / mnist.CHECKPOINT).is_file()
    if not mnist_run and not (run / "history.npz").is_file():
        raise ValueError(f"{run} is not a run of `gandyn mnist train`, `gandyn gan1d` or `gandyn mog` (no checkpoints)")
    if model is not None or data is not None:
        raise ValueError(f"--model and --data select a model of a `gandyn mog` run; {run} is none")
    return _mnist(run) if mnist_run else _gan1d(run)
