"""The 1D GAN of Goodfellow et al. 2014, Figure 1, trained for real: one run or a population.

A run is the general :class:`~gandyn.engine.population.Setup` of :func:`setup`: data
``p_data`` (any 1-D distribution of :mod:`gandyn.distributions`, default :data:`DATA`,
N(4, 0.5^2)), the networks :data:`NETWORKS` (latent ``z ~ U(-1, 1)``, generator and
discriminator MLPs ``1-h-1``) and the training choices :data:`TRAINING` (the loss, the
optimizer, the minibatch size ``m`` and ``k``, the number of discriminator steps per
generator step of Algorithm 1), each of them changed as a whole.

Training is the general :class:`~gandyn.engine.population.Population`:
``P`` models at once on the engine's population axis (``theta (P, n)``,
inputs ``(P, m, 1)``, step sizes ``(P, 1)``), each with its own seed, ``lr_D`` and ``lr_G``,
or a single run (``theta (n,)``). Every random draw of model ``p`` comes from the named
streams of its own seed (:mod:`gandyn.rng`), so a population of ``P`` models equals ``P``
separate runs; models that share a seed share their initial parameters and their noise
(common random numbers), which is what a sweep over step sizes wants. Minibatches are drawn
per seed in blocks of :data:`~gandyn.engine.population.BLOCK` minibatches; for normal and
uniform data this is the same sequence of numbers a single run draws one minibatch at a time
from its streams.

Evaluation (:mod:`gandyn.metrics.generator1d`, re-exported here): :func:`theory_at` gives the
quantities of the theory on a grid for one model (p_g from
:func:`gandyn.theory.density.generator_density`, D, D*, JSD, V, C); :func:`binned_jsd` gives the
JSD of a whole population at once, cheaply.

>>> from gandyn.engine.population import Population
>>> tr = Population(setup(training=TRAINING.replace(batch=16)), seeds=[0, 0, 1], lr_d=[1e-2, 3e-2, 1e-2], lr_g=1e-2)
>>> loss_d, loss_g = tr.advance(5)
>>> loss_d.shape, tr.it
((3,), 5)
"""
from __future__ import annotations

import contextlib
from dataclasses import replace

import numpy as np

from gandyn import distributions
from gandyn.engine.methods import method_label
from gandyn.engine.training import TrainingConfig, check_int
from gandyn.errors import BOUND, DivergedError, UsageError, healthy
from gandyn.engine.population import Networks, Population, Setup, check_iterations, check_seeds
from gandyn.metrics.generator1d import binned_jsd, grid_for, theory_at, z_map_points  # re-exported: gan1d.binned_jsd
from gandyn.metrics.intervals import rate_columns, spread_columns
from gandyn.rng import stream
from gandyn.theory import LOG2

__all__ = ["setup", "describe", "theory_at", "binned_jsd", "grid_for", "z_map_points",
           "record_run", "pick_panels", "sweep", "merge_sweeps", "sweep_rows",
           "sweep_summary", "replace_training", "sweep_setups", "TRAINING", "NETWORKS", "DATA"]


# --- the experiment's fixed choices


#: The data of Goodfellow et al. 2014, Figure 1 (as :func:`gandyn.distributions.parse` reads it).
DATA = "N(4, 0.5)"

#: The 1-D GAN's training choices: Adam with ``b1 = 0.5``, minibatches of 64, Algorithm 1
#: with ``k = 1``. For losses whose D is not a probability (``wgan``, ``hinge``, f-GANs) the
#: curve drawn as "D" is ``sigma(output)``; with ``g_ema`` the evaluated generator (p_g, the
#: JSD, Figure 1) is G's moving average, while training goes on with the iterates.
TRAINING = TrainingConfig(b1=0.5, batch=64)

#: The 1-D GAN's networks: ``z ~ U(-1, 1)`` (``z_dim = 1``; or ``latent="normal"``), generator
#: and discriminator ``1-h-1`` MLPs with ``h = 16`` (tuples of widths for deeper ones), tanh in
#: G and ReLU in D (outputs linear, D's a logit), the talk's ``xavier_talk`` initialisation, float64.
NETWORKS = Networks(z_dim=1, latent="uniform", hidden_g=16, hidden_d=16, act_g="tanh", act_d="relu",
                    init="xavier_talk", dtype=np.float64)


def setup(data: distributions.Distribution | str = DATA, *, networks: Networks = NETWORKS,
          training: TrainingConfig = TRAINING) -> Setup:
    """Everything of a 1D GAN run except the seed and the step sizes: the population
    :class:`~gandyn.engine.population.Setup` of ``data`` (a 1-D distribution or its text,
    :func:`gandyn.distributions.parse`), ``networks`` and ``training`` (the 1-D GAN's by default).

    >>> s = setup(networks=NETWORKS.replace(hidden_g=8))
    >>> s.networks.hidden_g, s.networks.hidden_d, s.training.batch
    ((8,), (16,), 64)
    """
    return Setup(distributions.parse(data), networks=networks, training=training)


def describe(s: Setup) -> dict:
    """:meth:`Setup.describe <gandyn.engine.population.Setup.describe>` with the data as its
    text (:func:`gandyn.distributions.text`) when it has one, so that :func:`setup` rebuilds the setup from it."""
    d = s.describe()
    with contextlib.suppress(ValueError):  # a distribution of the user's own: its repr, for reading only
        d["data"] = distributions.text(s.data)
    return d


# --- one run, recorded


def record_run(setup: Setup, seed: int = 0, *, lr_g: float = 2e-3, lr_d: float = 2e-3, steps: int = 3000,
               record_every: int = 25, grid: int = 401, n_samples: int = 5000, n_map: int = 15,
               progress: bool = False) -> tuple[dict, dict]:
    """Train one 1D GAN and record the theory's quantities along the way.

    Every ``record_every`` iterations (and at 0 and ``steps``) the history gets
    :func:`theory_at` on a fixed grid (p_g, D, D*, JSD, C(G), V(D, G)), the
    mean ``|D - D*|`` weighted by ``(p_data + p_g)/2`` (how far D is from the
    optimal discriminator of the current G), and ``G`` at ``n_map`` latent
    points (the z -> x mapping of Figure 1). Both minibatch losses are kept for
    every iteration. KDE draws (for a non-monotone G) come from the run's
    ``eval`` stream, so recording never changes training.

    Returns
    -------
    arrays : dict of arrays
        ``x (n,)``, ``p_data (n,)``, ``it (R,)``, ``p_g, d, d_star (R, n)``,
        ``jsd, c, v, gap (R,)``, ``jsd_binned (R,)`` (:func:`binned_jsd` on the
        grid's cells: free of the KDE's smoothing, which biases ``jsd`` low when
        G is not monotone), ``exact (R,)`` (1 where p_g came from the change
        of variables), ``z_map (n_map,)``, ``x_map (R, n_map)``,
        ``loss_d, loss_g (steps,)``, and the parameters at each record, ``theta_g
        (R, n_g)``, ``theta_d (R, n_d)`` (the run's checkpoints, e.g. for
        ``gandyn landscape``). Curves on the grid are stored as float32.
        With ``setup.training.g_ema`` the evaluated generator (p_g, the JSDs, D*, the gap,
        ``x_map``) is the moving average of G's parameters, recorded as
        ``theta_g_average (R, n_g)``; ``theta_g`` stays the trained parameters.
        D is drawn as training applies it (:attr:`~gandyn.engine.population.Population.theta_d_eval`: with
        spectral normalisation, the normalised weights); ``theta_d`` holds the raw ones.
    meta : dict
        The setup, seed, step sizes and recording settings.
    """
    from tqdm.auto import tqdm

    steps, record_every = check_int("steps", steps), check_int("record_every", record_every)
    tr = Population(setup, int(seed), lr_g=lr_g, lr_d=lr_d)
    x = grid_for(setup.data, tr.theta_g, setup.gan.G, setup.networks.latent, n=grid)
    p = setup.data.pdf(x)
    _check_resolved(setup.data, x, p)
    z_map = z_map_points(setup.networks.latent, n_map)
    ev = stream(int(seed), "eval")
    rec: dict[str, list] = {}

    def record():
        tg = tr.theta_g_eval
        s = theory_at(setup, tg, tr.theta_d_eval, x, ev, n_samples)
        row = {"it": tr.it, **{name: s[name].astype(np.float32) for name in ("p_g", "d", "d_star")}, "jsd": s["jsd"],
               "jsd_binned": binned_jsd(setup, tg, x[0], x[-1], bins=grid - 1), "c": s["c"], "v": s["v"],
               "gap": float(np.trapezoid(np.abs(s["d"] - s["d_star"]) * (0.5 * (p + s["p_g"])), x)),
               "exact": s["method"] == "change_of_variables",
               "x_map": setup.gan.G(tg, z_map[:, None].astype(setup.networks.dtype))[:, 0].astype(np.float64),
               "theta_g": tr.theta_g.copy(), "theta_d": tr.theta_d.copy()}
        if setup.training.g_ema:
            row["theta_g_average"] = tg.copy()
        for name, value in row.items():
            rec.setdefault(name, []).append(value)
        return s["jsd"]

    loss_d, loss_g = np.empty(steps), np.empty(steps)
    with tqdm(total=steps, desc="gan1d", disable=not progress) as bar:
        bar.set_postfix(jsd=f"{record():.4f}", refresh=False)
        while tr.it < steps:
            i, n = tr.it, min(record_every, steps - tr.it)
            loss_d[i:i + n], loss_g[i:i + n] = tr.advance(n, keep=True)
            bad = ~healthy(loss_d[i:i + n], loss_g[i:i + n])  # the one divergence criterion, per iteration
            if bad.any() or not healthy(np.concatenate([tr.theta_g, tr.theta_d])).all():
                at = i + 1 + int(np.argmax(bad)) if bad.any() else tr.it
                raise DivergedError(f"training diverged at iteration {at} (a loss or a parameter became NaN, inf "
                                    f"or larger than {BOUND:g}; lr_d={lr_d:g}, lr_g={lr_g:g}: try smaller step "
                                    "sizes)", at)
            bar.update(n)
            bar.set_postfix(jsd=f"{record():.4f}", refresh=False)
    arrays = {"x": x, "p_data": p, "z_map": z_map, "loss_d": loss_d, "loss_g": loss_g,
              **{name: np.array(v) for name, v in rec.items()}}
    meta = {"setup": describe(setup), "seed": int(seed), "lr_d": float(lr_d), "lr_g": float(lr_g),
            "steps": steps, "record_every": record_every, "n_samples": int(n_samples),
            "jsd_units": "nats", "source": "gandyn.experiments.gan1d.record_run"}
    return arrays, meta


def _check_resolved(data, x, p) -> None:
    """Refuse (:class:`gandyn.errors.UsageError`) data the evaluation grid ``x`` does not
    resolve: its density ``p`` on the grid must integrate to 1 within 2%."""
    mass = float(np.trapezoid(p, x))
    if not abs(mass - 1.0) <= 0.02:
        raise UsageError(f"data {data}: the evaluation grid (spacing {x[1] - x[0]:.3g} on [{x[0]:.3g}, {x[-1]:.3g}]) "
                         f"does not resolve it (its density integrates to {mass:.3g} there); give the data a scale "
                         f"of at least {3 * (x[1] - x[0]):.2g}")


def pick_panels(arrays: dict) -> dict:
    """The four records shown as Figure 1 (a)-(d) of Goodfellow et al. 2014, picked
    from a real history by fixed rules:

    (a) *early*: the first record after iteration 0 (D has started to learn,
        p_g is still far from p_data);
    (b) *D trained toward D\\**: among the records before JSD has first fallen
        below half its initial value, the one whose D is closest to D*
        (smallest ``gap``);
    (c) *after G updates*: the first later record where the JSD is at most half
        that of (b) (G has moved toward the data);
    (d) *convergence*: the last record.
    """
    jsd, gap, R = arrays["jsd"], arrays["gap"], len(arrays["it"])
    if R < 5:
        raise ValueError("the history needs at least 5 records for Figure 1")
    a = 1
    below = np.flatnonzero(jsd[a + 1:] <= 0.5 * jsd[0]) + a + 1
    # b <= R - 3, so that (c) can come after (b) and before (d)
    end = min(int(below[0]) if below.size else R - 2, R - 2)
    window = np.arange(a + 1, max(end, a + 2))
    b = int(window[np.argmin(gap[window])])
    later = np.flatnonzero(jsd[b + 1:R - 1] <= 0.5 * jsd[b]) + b + 1
    c = int(later[0]) if later.size else min(b + 1, R - 2)
    return {"a": a, "b": b, "c": c, "d": R - 1}


# --- the population sweep


def sweep(setup: Setup, *, lr_g_values, lr_d_values, seeds, steps: int = 1500, ks=(1,), losses=("nonsat",),
          checks: int = 5, threshold: float = 0.1, chunk: int | None = 128, n_z: int = 4096,
          progress: bool = False) -> tuple[dict, dict]:
    """Train one 1D GAN per (k, loss, seed, lr_D, lr_G) and measure the final JSD.

    Models with the same ``k`` and loss run as one population (:class:`~gandyn.engine.population.Population`);
    all other settings come from ``setup``. Models that share a seed share their
    initial parameters and noise, so differences along the step-size axes are
    due to the step sizes alone. The JSD is :func:`binned_jsd` (400 bins on the
    data's range widened by 25% on each side, plus the two half-lines) of the
    evaluated G (:attr:`~gandyn.engine.population.Population.theta_g_eval`: the moving average with
    ``setup.training.g_ema``); it is
    also computed at ``checks`` evenly spaced iterations (the progress bar shows
    its median).

    Returns
    -------
    arrays : dict
        ``lr_d (Ld,)``, ``lr_g (Lg,)``, ``seeds (S,)``, ``ks``, ``losses``,
        ``jsd (K, Lo, S, Ld, Lg)`` final JSD, ``check_it (C,)``,
        ``jsd_checks (C, K, Lo, S, Ld, Lg)``, ``converged`` (jsd < threshold),
        ``diverged_at (K, Lo, S, Ld, Lg)``: the check at which a model's parameters
        were first found NaN or inf (-1: never; its JSD is then log 2).
    meta : dict
    """
    from tqdm.auto import tqdm

    lr_d_values, lr_g_values = (np.asarray(v, dtype=np.float64).ravel() for v in (lr_d_values, lr_g_values))
    seeds, ks, losses = check_seeds(list(seeds)), [int(k) for k in ks], list(losses)
    steps, checks = check_int("steps", steps), check_int("checks", checks)
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold!r}")
    setups = sweep_setups(setup, ks, losses)  # every one validated before any training
    sd, ld, lg = np.meshgrid(seeds, lr_d_values, lr_g_values, indexing="ij")  # (S, Ld, Lg)
    check_it = check_iterations(steps, checks)
    lo, hi = grid_for(setup.data, tail=1e-9, n=2)  # the data's range widened by 25% on each side
    out = np.empty((len(check_it), len(ks), len(losses), *sd.shape))
    diverged_at = np.full((len(ks), len(losses), *sd.shape), -1, dtype=np.int64)
    n_pop = len(ks) * len(losses)

    def what(a, b):
        return f"gan1d sweep: population {a * len(losses) + b + 1} of {n_pop} ({sd.size} GANs, k={ks[a]}, {losses[b]})"

    with tqdm(total=n_pop * steps, desc=what(0, 0), unit="it", disable=not progress) as bar:
        for a, b in np.ndindex(len(ks), len(losses)):
            s = setups[ks[a], losses[b]]
            bar.set_description(what(a, b), refresh=False)
            tr = Population(s, sd.ravel(), lr_g=lg.ravel(), lr_d=ld.ravel(), chunk=chunk, rate_dtype=np.float64)
            for c, t in enumerate(check_it):
                while tr.it < t:  # one iteration at a time: the bar moves (tqdm limits its redraws)
                    tr.advance(1)
                    bar.update(1)
                tg = tr.theta_g_eval
                ok = healthy(tr.theta_g, tr.theta_d, tg)
                at = diverged_at[a, b].reshape(-1)
                at[(~ok) & (at < 0)] = tr.it
                # a diverged G (parameters NaN or inf) puts its mass nowhere near the data:
                # its JSD is log 2, the value for disjoint supports
                with np.errstate(over="ignore", invalid="ignore"):
                    j = binned_jsd(s, np.where(ok[:, None], tg, 0), lo, hi, n_z=n_z)
                j[~ok] = LOG2
                out[c, a, b] = j.reshape(sd.shape)
                bar.set_postfix(median_jsd=f"{np.median(j):.4f}", refresh=False)
    arrays = {"lr_d": lr_d_values, "lr_g": lr_g_values, "seeds": seeds, "ks": np.array(ks),
              "losses": np.array(losses), "check_it": check_it, "jsd_checks": out, "jsd": out[-1],
              "converged": out[-1] < threshold, "diverged_at": diverged_at}
    meta = {"setup": describe(setup), "steps": steps, "threshold": float(threshold),
            "jsd": f"binned_jsd, 400 bins on [{lo:.4g}, {hi:.4g}] + 2 tails, n_z={n_z}",
            "jsd_units": "nats", "source": "gandyn.experiments.gan1d.sweep"}
    return arrays, meta


def merge_sweeps(parts) -> tuple[dict, dict]:
    """One sweep from :func:`sweep` results over disjoint seeds, ``[(arrays, meta), ...]`` in
    seed order: the per-model arrays concatenated along the seed axis, the meta of the first."""
    arrays, meta = dict(parts[0][0]), dict(parts[0][1])
    for key, axis in (("seeds", 0), ("jsd", 2), ("converged", 2), ("diverged_at", 2), ("jsd_checks", 3)):
        arrays[key] = np.concatenate([a[key] for a, _ in parts], axis=axis)
    return arrays, meta


def replace_training(setup: Setup, **changes) -> Setup:
    """A copy of ``setup`` with some training choices changed (and validated again)."""
    return replace(setup, training=setup.training.replace(**changes))


def sweep_setups(setup: Setup, ks, losses, names=("ks", "losses")) -> dict:
    """The setups of a sweep over ``ks`` and ``losses``: ``{(k, loss): setup}``, each validated
    (:func:`replace_training`).

    Raises
    ------
    ValueError
        Values of ``ks`` or ``losses`` repeated (each would be trained and counted twice; named
        by ``names``), several ``ks`` with a method that takes no D steps per G step (each k
        would train the same GANs), or a ``(k, loss)`` the other training choices do not pair with.
    """
    for name, values in zip(names, (ks, losses)):
        if len(set(values)) != len(values):
            raise ValueError(f"{name} must be distinct (each would be trained and counted twice), got "
                             f"{' '.join(map(str, values))}")
    method = setup.training.method
    if len(ks) > 1 and method.draws(1) == method.draws(2):
        raise ValueError(f"{names[0]} {' '.join(map(str, ks))}: {method_label(method)} takes no D steps per G step "
                         "(altgd and lookahead around it do), so each k would train the same GANs")
    return {(k, lo): replace_training(setup, k=k, loss=lo) for k in ks for lo in losses}


def sweep_rows(arrays: dict) -> list[dict]:
    """The sweep as table rows: k, loss, seed, lr_d, lr_g, final JSD, converged (k outermost, lr_g
    innermost)."""
    jsd, conv = arrays["jsd"], arrays["converged"]  # (K, Lo, S, Ld, Lg)
    return [{"k": int(arrays["ks"][a]), "loss": str(arrays["losses"][b]), "seed": int(arrays["seeds"][s]),
             "lr_d": float(arrays["lr_d"][i]), "lr_g": float(arrays["lr_g"][j]), "jsd": float(jsd[a, b, s, i, j]),
             "converged": bool(conv[a, b, s, i, j])} for a, b, s, i, j in np.ndindex(jsd.shape)]


def sweep_summary(arrays: dict, wall_seconds: float = float("nan")) -> list[dict]:
    """The sweep's convergence rates with their uncertainty: one row per ``k`` and loss, over
    its seeds x step-size grid: runs, converged runs, the rate in percent with its 95% Wilson
    interval (:func:`~gandyn.metrics.intervals.rate_columns`), the median and mean +-
    standard error (:func:`~gandyn.metrics.intervals.spread_columns`) of the final JSD (nats), the
    iterations, and the whole sweep's wall time (all rows trained in one run)."""
    conv, steps = np.asarray(arrays["converged"]), int(arrays["check_it"][-1]) if "check_it" in arrays else None
    return [{"k": int(arrays["ks"][a]), "loss": str(arrays["losses"][b]), "runs": int(conv[a, b].size),
             "converged": int(conv[a, b].sum()), **rate_columns("converged", conv[a, b]),
             **spread_columns("jsd", arrays["jsd"][a, b]), "steps": steps, "wall_seconds": float(wall_seconds)}
            for a, b in np.ndindex(conv.shape[:2])]
