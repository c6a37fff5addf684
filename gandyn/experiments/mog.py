"""The 2-D mode-collapse benchmark (ring of 8 and grid of 25 Gaussians) as populations.

Every combination of training method x step size x seed is one GAN of a
:class:`gandyn.engine.population.Population`; all of them train at once, and each is
scored by the mode-coverage protocol of Srivastava et al. 2017 (VEEGAN) and Lin et al.
2018 (PacGAN) (:func:`gandyn.metrics.mode_coverage`: 2,500 samples, high quality within
3 sigma of the nearest centre, modes covered, reverse KL of the mode histogram).

A run *succeeds* when it covers every mode and at least ``hq_target`` (90%) of its
samples are of high quality. Where the papers report a mean over 5 or 10 runs, the
table here reports, per data set, method and step size, the success rate over seeds and
the medians of modes, high-quality share and reverse KL.

Training is split into *shards*: lists of the population's units (models with the same
method stacked into one engine trainer; :func:`gandyn.engine.population.plan_units`).
:func:`run_shard` trains one shard of a :class:`MogConfig`, so a shard can run in this
process or on a Dask worker with the same result, to the bit; :func:`merge` puts the shards
together (:func:`gandyn.app.backends.run_mog` runs them on a backend).

>>> cfg = MogConfig(data="ring8", methods=["altgd"], lrs=[1e-3], seeds=2, steps=4, checks=2,
...                 networks=Networks(hidden_g=(8,), hidden_d=(8,)), training=TRAINING.replace(batch=8), n_eval=50)
>>> res = merge(cfg, [run_shard(cfg, [i]) for i in range(len(units_of(cfg)))])
>>> res["modes"].shape, res["check_it"].tolist()
((2,), [2, 4])
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from gandyn import history
from gandyn.distributions import grid2d, ring2d
from gandyn.engine.methods import method_label, method_to_dict
from gandyn.engine.registry import Registry
from gandyn.engine.training import JsonConfig, TrainingConfig, check_int, check_protocol
from gandyn.errors import healthy
from gandyn.engine.population import BLOCK, TRAINING, Networks, Population, Setup, check_iterations, plan_units
from gandyn.metrics.intervals import rate_columns, spread_columns
from gandyn.metrics.modes import mixture_modes, mode_coverage

__all__ = ["DATASETS", "PUBLISHED", "PROTOCOLS", "SNAPSHOTS", "QUICK", "MogConfig", "training_changes", "models_of",
           "keep_iterations", "nested", "run_shard", "merge", "success_table", "row_statistics",
           "diverged_models", "snapshot_path", "save_snapshots", "load_snapshots", "memory_bytes"]

#: The entries of a run's results that hold its snapshots (kept parameters): the iterations
#: ``keep_it (T,)`` and ``theta_g, theta_d (T, R, n)`` (model order of ``rows``); with a batch-norm G
#: also its running statistics ``stats_g (T, R, n_s)``.
SNAPSHOTS = ("keep_it", "theta_g", "theta_d", "stats_g")
#: A model's scores at each check (fields of :class:`~gandyn.metrics.modes.ModeCoverage`).
SCORES = ("modes", "high_quality", "reverse_kl", "counts")

#: The data sets by name, each a function of no arguments that returns a 2-D
#: :class:`~gandyn.distributions.Mixture` of Gaussians (its modes are what the run scores):
#: ring of 8 (radius 2, sd 0.02; Metz et al. 2017, Section 3.1) and grid of 5 x 5 (spacing 2,
#: sd 0.05; Srivastava et al. 2017, Section 5.1).
DATASETS: Registry[Callable] = Registry("data set")
DATASETS.register("ring8", ring2d)
DATASETS.register("grid25", grid2d)
#: PacGAN's ring (Lin et al. 2018; their synthetic_data_experiments/2DRing_GAN&PacGAN/config.py):
#: 8 modes on the unit circle, sd 0.01 (the same ratio as ring8's 2 and 0.02).
DATASETS.register("ring8_unit", partial(ring2d, radius=1.0, scale=0.01))

#: Published protocols of the benchmark: each a source and the settings it states, flat: fields of
#: :class:`MogConfig`, of its ``networks`` and of its ``training`` (:func:`nested` sorts them). ``pacgan``: Lin et al. 2018, their synthetic_data_experiments
#: (``2DGrid_GAN&PacGAN/config.py``, ``2DRing_GAN&PacGAN/config.py``, ``pacgan_task.py``): G four
#: hidden layers of 400 ReLU units with batch normalisation (no biases there), D three maxout
#: layers of 200 units x 5 pieces, weights N(0, 0.02^2) and biases 0, z ~ N(0, I_2), the
#: non-saturating loss, Adam (lr 1e-4 for both, beta1 0.8; Blocks' Adam, the epsilon-hat form),
#: both players updated at once on one minibatch (ALI's ``ali_algorithm``: simultaneous gradient
#: descent), 100 packed D inputs per side (``batch = 100 * pack`` samples), 400 epochs of 100,000
#: samples (400,000 iterations), 2,500 samples scored; their data: the grid as ``grid25``, the ring
#: as ``ring8_unit``. ``pack`` (``--pack M``) is PacGAN's degree (1: their GAN row).
PROTOCOLS: Registry[dict] = Registry("mode-collapse protocol")
PROTOCOLS.register("pacgan", {
    "source": "Lin et al. 2018 (PacGAN); fjxmlzn/PacGAN synthetic_data_experiments (config.py, pacgan_task.py)",
    "settings": {"hidden_g": (400, 400, 400, 400), "g_batch_norm": True, "hidden_d": (200, 200, 200),
                 "d_pieces": 5, "init": "normal_0.02", "z_dim": 2, "latent": "normal", "loss": "nonsat",
                 "methods": ["simgd"], "optimizer": "adam", "adam_tf": True, "lrs": [1e-4], "ttur": 1.0,
                 "b1": 0.8, "b2": 0.999, "eps": 1e-8, "decay": 1.0, "k": 1, "steps": 400_000, "n_eval": 2500,
                 "seeds": 10},
    "batch_per_pack": 100,
    "data": {"ring8": "ring8_unit", "grid25": "grid25"},
    "differs": ("fresh data every step (theirs: a fixed set of 100,000 samples in shuffled epochs); G's "
                "step draws its own noise (theirs: the D step's samples); G's batch norm normalises over "
                "the whole noise batch of 100 * pack samples (theirs: G runs once per pack slot, over 100 "
                "samples each)"),
})

_VEEGAN = "Srivastava et al. 2017 (VEEGAN), Table 1: mean of 5 runs, +- not given"
_PACGAN = "Lin et al. 2018 (PacGAN), Table 1: mean +- s.e. of 10 runs"

#: Published rows: modes captured, % high-quality samples (and reverse KL for PacGAN), each a
#: mean over ``runs`` runs; PacGAN's with their standard errors (``*_se``; the table of their
#: repository's synthetic_data_experiments/results), VEEGAN's without (the paper gives none:
#: None). Percentages in percent. VEEGAN's ring and grid, PacGAN's grid: as here; PacGAN's ring
#: has radius 1 and sd 0.01 (the same ratio as here; their code,
#: synthetic_data_experiments/2DRing_GAN&PacGAN). Each row below: data, method, modes, high
#: quality, reverse KL, source, and PacGAN's ``(modes, high quality, reverse KL)`` standard errors.
PUBLISHED = [
    {"data": data, "method": method, "modes": modes, "high_quality": hq, "reverse_kl": kl, "source": source,
     "protocol": "paper", "runs": 10 if source == _PACGAN else 5,
     "modes_se": se and se[0], "high_quality_se": se and se[1], "reverse_kl_se": se and se[2]}
    for data, method, modes, hq, kl, source, se in [
        ("ring8", "GAN", 1.0, 99.3, None, _VEEGAN, None),
        ("ring8", "ALI", 2.8, 0.13, None, _VEEGAN, None),
        ("ring8", "Unrolled GAN", 7.6, 35.6, None, _VEEGAN, None),
        ("ring8", "VEEGAN", 8.0, 52.9, None, _VEEGAN, None),
        ("ring8", "GAN", 6.3, 98.2, 0.45, _PACGAN, (0.5, 0.2, 0.09)),
        ("ring8", "ALI", 6.6, 97.6, 0.36, _PACGAN, (0.3, 0.4, 0.04)),
        ("ring8", "PacGAN2", 7.9, 95.6, 0.07, _PACGAN, (0.1, 2.0, 0.03)),
        ("ring8", "PacGAN3", 7.8, 97.7, 0.1, _PACGAN, (0.1, 0.3, 0.02)),
        ("ring8", "PacGAN4", 7.8, 95.9, 0.07, _PACGAN, (0.1, 1.4, 0.02)),
        ("grid25", "GAN", 3.3, 0.5, None, _VEEGAN, None),
        ("grid25", "ALI", 15.8, 1.6, None, _VEEGAN, None),
        ("grid25", "Unrolled GAN", 23.6, 16.0, None, _VEEGAN, None),
        ("grid25", "VEEGAN", 24.6, 40.0, None, _VEEGAN, None),
        ("grid25", "GAN", 17.3, 94.8, 0.7, _PACGAN, (0.8, 0.7, 0.07)),
        ("grid25", "ALI", 24.1, 95.7, 0.14, _PACGAN, (0.4, 0.6, 0.03)),
        ("grid25", "PacGAN2", 23.8, 91.3, 0.13, _PACGAN, (0.7, 0.8, 0.04)),
        ("grid25", "PacGAN3", 24.6, 94.2, 0.06, _PACGAN, (0.4, 0.4, 0.02)),
        ("grid25", "PacGAN4", 24.8, 93.6, 0.04, _PACGAN, (0.2, 0.6, 0.01)),
    ]
]


#: The overrides of ``gandyn mog --quick``, a smoke run: two methods, 4 seeds, 200
#: iterations, 32-32 networks, 1,000 scored samples.
QUICK = {"methods": ("altgd", "extragradient"), "seeds": 4, "steps": 200,
         "networks": Networks(hidden_g=(32, 32), hidden_d=(32, 32)), "n_eval": 1000}


def nested(settings: dict, base: dict | None = None) -> dict:
    """Flat settings (each a field of :class:`MogConfig`, of :class:`~gandyn.engine.population.Networks`
    or of :class:`~gandyn.engine.training.TrainingConfig`, as :data:`PROTOCOLS` and the command
    line name them) as :class:`MogConfig`'s keywords: the networks' and the training choices'
    put into ``networks`` and ``training``, those of ``base`` (keywords too, e.g. :data:`QUICK`)
    or else the defaults, with the changes.

    >>> kw = nested({"seeds": 2, "hidden_g": (8,), "batch": 16}, QUICK)
    >>> kw["seeds"], kw["steps"], kw["networks"].hidden_g, kw["networks"].hidden_d, kw["training"].batch
    (2, 200, (8,), (32, 32), 16)
    """
    kw, rest = dict(base or {}), dict(settings)
    for name in ("networks", "training"):
        part = kw.get(name, getattr(MogConfig, name))
        kw[name] = part.replace(**{k: rest.pop(k) for k in list(rest) if k in part.__dataclass_fields__})
    return kw | rest


@dataclass(frozen=True, kw_only=True)
class MogConfig(JsonConfig):
    """A run of the benchmark on one data set, validated (its defaults are the documented
    benchmark's, those of ``gandyn mog``).

    Models are ``methods x lrs x seeds`` (seeds ``seed .. seed + seeds - 1``), with
    ``lr_g = lr`` and ``lr_d = ttur * lr``. With ``decay < 1`` both step sizes decay
    exponentially over training, ``lr(t) = lr * decay^(t / steps)`` at iteration ``t``.
    With ``keep_every > 0`` every model's parameters are kept at iteration 0, every
    ``keep_every`` iterations and at the end (:func:`keep_iterations`), with a batch-norm G
    its running statistics too.

    Parameters
    ----------
    data : str
        A data set of :data:`DATASETS`.
    methods : tuple of method objects or str
        Training methods of distinct :attr:`labels` (objects of :mod:`gandyn.engine.methods`
        with their options, e.g. ``Unrolled(unroll=10)``; a registered name is the method
        with its defaults); every one must pair with ``training``.
    lrs : tuple of float
        G's step sizes; ``ttur`` is ``lr_D / lr_G``.
    seeds, seed, steps, checks : int
        Seeds per method and step size, the first seed, training iterations, and the
        evaluations during training (at most ``steps``).
    networks : Networks
        G and D (default :class:`~gandyn.engine.population.Networks` with its defaults;
        PacGAN's: :data:`PROTOCOLS`).
    training : TrainingConfig
        The training choices (default :data:`gandyn.engine.population.TRAINING`:
        Adam with ``b1 = 0.5``, batch 128); its ``method`` is unused (the run names
        ``methods``).
    chunk : int
        Models per stacked unit (results do not depend on it).
    protocol : str
        The published protocol the run follows (:data:`PROTOCOLS`; the tables' protocol
        column), or ``""``.
    n_eval, n_show, min_count, hq_target
        Samples scored per model, seeds whose samples are kept for figures, high-quality
        samples a mode needs to count as covered, and the high-quality share a success needs.

    Raises
    ------
    ValueError
        An unknown data set, method or training choice, a pairing the literature does not
        use, or a bad number (the message names it).
    """

    data: str = "ring8"
    methods: tuple = ("altgd",)
    lrs: tuple = (5e-3,)
    ttur: float = 2.0
    seeds: int = 100
    seed: int = 0
    steps: int = 4000
    checks: int = 5
    keep_every: int = 0
    networks: Networks = Networks()
    training: TrainingConfig = TRAINING
    decay: float = 0.1
    chunk: int = 50
    n_eval: int = 2500
    n_show: int = 3
    min_count: int = 1
    hq_target: float = 0.9
    protocol: str = ""

    def __post_init__(self):
        self.setup()  # the data set, the networks with the data and the training choices
        if not isinstance(self.methods, (list, tuple)):
            raise ValueError(f"methods must be a list of methods, got {self.methods!r}")
        methods = tuple(self.training.check_method(m) for m in self.methods)
        labels = [method_label(m) for m in methods]
        if not methods or len(set(labels)) != len(labels):
            raise ValueError(f"methods must have distinct names, got {labels}")
        lrs = tuple(float(v) for v in self.lrs)
        if not lrs or any(not (np.isfinite(v) and v > 0) for v in lrs) or not self.ttur > 0:
            raise ValueError(f"step sizes and ttur must be positive, got lrs={list(lrs)}, ttur={self.ttur}")
        if len(set(lrs)) != len(lrs):
            raise ValueError(f"step sizes must be distinct (each would be trained and counted twice), got {list(lrs)}")
        dtype = np.dtype(self.networks.dtype).name
        with np.errstate(over="ignore"):
            big = [v for v in lrs if not np.isfinite(np.asarray([v, v * self.ttur], dtype=dtype)).all()]
        if big:
            raise ValueError(f"step size {big[0]:g} (lr_d = {self.ttur:g} x {big[0]:g}) is not a finite {dtype} "
                             "number")
        ints = ("seeds", "steps", "checks", "chunk", "n_eval", "min_count", "seed", "keep_every", "n_show")
        fixed = {name: check_int(name, getattr(self, name), int(name not in ints[-3:])) for name in ints}  # >= 1, >= 0
        for name in ("decay", "hq_target"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)!r}")
        fixed |= {name: float(getattr(self, name)) for name in ("ttur", "decay", "hq_target")}
        fixed |= {"methods": methods, "lrs": lrs, "checks": min(fixed["checks"], fixed["steps"])}
        for name, value in fixed.items():
            object.__setattr__(self, name, value)
        check_protocol(self.protocol, PROTOCOLS)

    @property
    def labels(self) -> tuple[str, ...]:
        """The methods' names as the results and tables show them
        (:func:`~gandyn.engine.methods.method_label`: ``lookahead:INNER`` for lookahead)."""
        return tuple(method_label(m) for m in self.methods)

    def setup(self) -> Setup:
        """The :class:`~gandyn.engine.population.Setup` of the run's models."""
        return Setup(DATASETS[self.data](), networks=self.networks, training=self.training)


def training_changes(cfg: MogConfig) -> str:
    """The training choices that differ from the benchmark's (:data:`TRAINING`, and the step
    sizes' ``ttur`` and ``decay`` of :class:`MogConfig`), as ``"name=value, ..."``, with the
    methods' options as ``method.option=value``; ``""`` for the defaults."""
    mine, default = cfg.training.to_dict(), TRAINING.to_dict()
    changed = [f"{k}={getattr(cfg, k):g}" for k in ("ttur", "decay") if getattr(cfg, k) != getattr(MogConfig, k)]
    changed += [f"{k}={v}" for k, v in mine.items() if k != "method" and v != default[k]]
    for m in dict.fromkeys(x for m in cfg.methods for x in (m, getattr(m, "inner", None)) if x is not None):
        base = method_to_dict(type(m)())  # the defaults of its class
        changed += [f"{m.name}.{k}={v}" for k, v in method_to_dict(m).items() if k != "inner" and v != base.get(k)]
    return ", ".join(changed)


def models_of(cfg: MogConfig) -> dict:
    """The models of a configuration, method-major: ``method``, ``lr``, ``lr_g``, ``lr_d``,
    ``seed`` (arrays of length ``P``), and ``show`` (the first ``n_show`` seeds of each
    method and step size, whose samples are kept for figures)."""
    mi, li, si = np.indices((len(cfg.methods), len(cfg.lrs), cfg.seeds)).reshape(3, -1)
    lr = np.asarray(cfg.lrs)[li]
    return {"method": np.asarray(cfg.labels)[mi], "lr": lr, "lr_g": lr, "lr_d": lr * cfg.ttur,
            "seed": cfg.seed + si, "show": si < cfg.n_show}


def units_of(cfg: MogConfig):
    """The units of the run's population (:func:`~gandyn.engine.population.plan_units`), each
    trained as one engine trainer; shards are lists of them."""
    m = models_of(cfg)
    return plan_units(list(m["method"]), [cfg.training.k] * m["seed"].size, cfg.chunk)


def memory_bytes(cfg: MogConfig, jobs: int = 1) -> int:
    """A rough upper estimate of the bytes a run of ``cfg`` needs with ``jobs`` processes,
    each holding one unit at a time: per model of a unit its parameters with gradients and
    optimizer states, a block of minibatches (:data:`gandyn.engine.population.BLOCK`)
    and a step's activations (in the setup's dtype), and its ``n_eval`` evaluation points
    with their distances to every mode (float64); per model of the run its records and
    kept parameters.

    Returns
    -------
    int
        Bytes (an estimate for :func:`gandyn.app.machine.check_memory`, not a measurement).
    """
    setup = cfg.setup()
    G, D = setup.gan.G, setup.gan.D
    n = G.n_params + D.n_params
    d, zd, m, K = setup.dim, cfg.networks.z_dim, cfg.training.batch, len(mixture_modes(setup.data)[0])
    width = sum(G.sizes) + sum(D.sizes)
    item = np.dtype(cfg.networks.dtype).itemsize
    per_model = item * (8 * n + BLOCK * m * (d + zd) * 2 + 6 * m * width) + 8 * cfg.n_eval * (zd + d + K + 2)
    P = len(cfg.methods) * len(cfg.lrs) * cfg.seeds
    unit = min(cfg.chunk, P)
    jobs = min(max(1, jobs), len(cfg.methods) * -(-len(cfg.lrs) * cfg.seeds // cfg.chunk))  # units, not built
    records = 8 * (cfg.checks + 1) * (3 + K) + item * n * len(keep_iterations(cfg))
    return int(jobs * unit * per_model + P * records
               + 8 * cfg.n_show * len(cfg.methods) * len(cfg.lrs) * (cfg.checks + 1) * 500 * d)


def keep_iterations(cfg: MogConfig) -> np.ndarray:
    """The iterations whose parameters a run keeps: 0, ``keep_every``, ``2 keep_every``, ...
    and the last; empty without ``keep_every``.

    Returns
    -------
    int array (T,)
        Ascending iterations in ``[0, steps]``.
    """
    if cfg.keep_every < 1:
        return np.zeros(0, int)
    return np.union1d(np.arange(0, cfg.steps + 1, cfg.keep_every), [cfg.steps])


def run_shard(cfg: MogConfig, units, progress: Callable[[int], None] | None = None, block: int = 25) -> dict:
    """Train the units ``units`` of a configuration and score their models.

    Each unit is built and trained alone (its stacking is fixed by the configuration, so
    the result of each model does not depend on the shard). ``progress(n)`` is called
    after every ``block`` iterations of a unit.

    Returns
    -------
    dict
        ``rows (R,)`` model indices; at the check iterations ``check_it (C,)``:
        ``modes, high_quality, reverse_kl (C, R)``, ``counts (C, R, K)``; ``samples_rows``
        the shown models among ``rows`` and ``samples (C, R_show, n_show_pts, 2)``; with
        ``keep_every``, at the iterations ``keep_it (T,)`` of :func:`keep_iterations`, the
        parameters ``theta_g, theta_d (T, R, n)`` (and with ``g_batch_norm`` G's running
        statistics ``stats_g (T, R, n_s)``).
    """
    setup = cfg.setup()
    mods = models_of(cfg)
    centers, scale = mixture_modes(setup.data)
    checks = check_iterations(cfg.steps, cfg.checks)
    keep = keep_iterations(cfg)
    by_label = dict(zip(cfg.labels, cfg.methods))
    parts = []
    for u in units:
        pop = Population(setup, mods["seed"], lr_g=mods["lr_g"], lr_d=mods["lr_d"],
                         method=[by_label[m] for m in mods["method"]], k=cfg.training.k, chunk=cfg.chunk, units=[u])
        z = pop.eval_latent(cfg.n_eval)
        covs, samples = [], []
        kept = [(*pop.params(), pop.stats_g)] if keep.size else []  # stats_g: a batch-norm G's, else None
        show = mods["show"][pop.rows]
        diverged_at = np.full(pop.rows.size, -1, np.int64)
        for t in np.union1d(checks, keep[1:]):
            while pop.it < t:
                n = min(block, int(t) - pop.it)
                for _ in range(n):  # the step sizes of iteration it (with decay 1: the initial ones, bit for bit)
                    pop.set_lr_factor(cfg.decay ** (pop.it / cfg.steps))
                    pop.advance(1)
                # a diverged model (a parameter NaN, inf or beyond gandyn.errors.BOUND) trains on, in its
                # own rows (the others' bits do not change): marked here with the iteration it was found at
                diverged_at[~healthy(*pop.params()) & (diverged_at < 0)] = pop.it
                if progress is not None:
                    progress(n * pop.rows.size)
            if t in keep:
                kept.append((*pop.params(), pop.stats_g))
            if t not in checks:
                continue
            x = pop.samples(cfg.n_eval, z)
            x[diverged_at >= 0] = np.inf  # a diverged model's samples: scored as covering no mode
            covs.append(mode_coverage(x, centers, scale, min_count=cfg.min_count))
            samples.append(x[show, :min(500, cfg.n_eval)].astype(np.float32))
        part = {"rows": pop.rows, "samples_rows": pop.rows[show], "diverged_at": diverged_at,
                **{key: np.stack([getattr(c, key) for c in covs]) for key in SCORES}, "samples": np.stack(samples)}
        snaps = dict(zip(SNAPSHOTS[1:], zip(*kept)))  # theta_g, theta_d, stats_g at the keep points
        part |= {key: np.stack(v) for key, v in snaps.items() if v[0] is not None}
        parts.append(part)
    return _concat(parts) | {"check_it": checks, **({"keep_it": keep} if keep.size else {})}


def _concat(parts: list[dict]) -> dict:
    """The per-model entries of shards' (or units') results, concatenated: ``rows``, ``samples_rows``
    and ``diverged_at`` along their axis 0, the others (checks or keep points first) along axis 1."""
    return {k: np.concatenate([p[k] for p in parts], axis=int(k not in ("rows", "samples_rows", "diverged_at")))
            for k in parts[0] if k not in ("check_it", "keep_it")}


def diverged_models(cfg: MogConfig, res: dict) -> list[str]:
    """The diverged models of a run's results, as ``METHOD lr=LR seed=S (iteration I)``."""
    at = res["diverged_at"]
    return [f"{res['method'][i]} lr={res['lr'][i]:g} seed={res['seed'][i]} (iteration {at[i]})"
            for i in np.flatnonzero(at >= 0)]


def merge(cfg: MogConfig, parts: list[dict]) -> dict:
    """The shards' results in model order, with the per-model final scores and success;
    models of missing shards are left out (``rows`` says which are present)."""
    mods = models_of(cfg)
    cat = _concat(parts)
    o, so = (np.argsort(cat[k], kind="stable") for k in ("rows", "samples_rows"))
    res = {"rows": cat["rows"][o], "check_it": parts[0]["check_it"], "samples_rows": cat["samples_rows"][so],
           "diverged_at": cat["diverged_at"][o], **{f"{key}_checks": cat[key][:, o] for key in SCORES},
           "samples": cat["samples"][:, so]}
    if "keep_it" in parts[0]:
        res |= {"keep_it": parts[0]["keep_it"], **{key: cat[key][:, o] for key in SNAPSHOTS[1:] if key in cat}}
    res |= {key: res[f"{key}_checks"][-1] for key in SCORES}
    K = res["counts"].shape[-1]
    res["success_checks"] = (res["modes_checks"] == K) & (res["high_quality_checks"] >= cfg.hq_target)
    res["success_checks"] &= res["diverged_at"] < 0
    res["success"] = res["success_checks"][-1]
    res |= {key: mods[key][res["rows"]] for key in ("method", "lr", "lr_g", "lr_d", "seed")}
    res["n_modes"] = np.int64(K)
    return res


def success_table(cfg: MogConfig, res: dict) -> list[dict]:
    """One row per method and step size: the protocol (``cfg.protocol``, else ``"gandyn"``),
    seeds run, models diverged (dropped: the statistics are over the healthy models, NaN when
    none is), iterations, then :func:`row_statistics` of the healthy seeds (success rate with
    its 95% Wilson interval, share covering every mode likewise, median and mean +- standard
    error of modes, high-quality share and reverse KL; percentages in percent) and the run's
    wall time (``res["wall_seconds"]``, all rows of a data set trained together)."""
    K, div = int(res["n_modes"]), res["diverged_at"] >= 0
    runs = [(m, lr, (res["method"] == m) & (res["lr"] == lr)) for m in cfg.labels for lr in cfg.lrs]
    return [{"data": cfg.data, "method": m, "protocol": cfg.protocol or "gandyn", "lr_g": lr, "lr_d": lr * cfg.ttur,
             "seeds": int(run.sum()), "diverged": int((run & div).sum()), "steps": int(cfg.steps),
             **row_statistics(*(res[k][run & ~div] for k in ("success", "modes", "high_quality", "reverse_kl")), K),
             "wall_seconds": float(res.get("wall_seconds", float("nan")))} for m, lr, run in runs if run.any()]


def row_statistics(success, modes, high_quality, reverse_kl, n_modes: int) -> dict:
    """The statistics of one table row over its runs (one entry per run in each array):

    - ``success_pct`` with its 95% Wilson interval ``success_lo_pct, success_hi_pct``
      (:func:`~gandyn.metrics.intervals.rate_columns`), and the same for the share of runs
      covering all ``n_modes`` modes (``all_modes_*``);
    - median, mean and standard error of the mean (:func:`~gandyn.metrics.intervals.spread_columns`) of
      the modes covered, the high-quality share (in percent) and the reverse KL.

    Every percentage is in percent (0-100), as the published rows (:data:`PUBLISHED`) give them.
    With no run (every model of the row diverged) every statistic is NaN.
    """
    return {**rate_columns("success", success), **rate_columns("all_modes", np.asarray(modes) == n_modes),
            **spread_columns("modes", modes), **spread_columns("high_quality_pct", 100.0 * np.asarray(high_quality)),
            **spread_columns("reverse_kl", reverse_kl)}


def snapshot_path(out, data: str):
    """The snapshot file (the kept parameters) of data set ``data`` in the run folder ``out``.

    Returns
    -------
    pathlib.Path
        ``out/snapshots_DATA.npz`` (written by runs with ``keep_every``; read by
        :func:`load_snapshots` and ``gandyn landscape``).
    """
    from pathlib import Path

    return Path(out) / f"snapshots_{data}.npz"


def save_snapshots(cfg: MogConfig, res: dict, out):
    """Write the kept parameters of a run with ``keep_every`` (:data:`SNAPSHOTS`).

    The file (:func:`snapshot_path`, a :mod:`gandyn.history` file) holds ``it (T,)``;
    per model ``model`` (its index in the population), ``method``, ``seed``, ``lr_g``,
    ``lr_d`` ``(R,)``; ``theta_g, theta_d (T, R, n)`` in the training dtype; with a batch-norm G
    its running statistics ``stats_g (T, R, n_s)`` (the samples of a kept model are
    ``G(theta_g, z, stats_g)``, evaluation mode); and the configuration in its metadata.

    Parameters
    ----------
    cfg : MogConfig
        The configuration.
    res : dict
        The results of :func:`run` or :func:`merge`.
    out : str or Path
        The run folder.

    Returns
    -------
    Path or None
        The file written, or None for a run that keeps no snapshots.
    """
    if "keep_it" not in res:
        return None
    arrays = {"it": res["keep_it"], "model": res["rows"], "method": np.asarray(res["method"]).astype(str),
              **{k: res[k] for k in ("seed", "lr_g", "lr_d", *SNAPSHOTS[1:]) if k in res}}
    return history.save(snapshot_path(out, cfg.data), arrays,
                        {"config": cfg.to_dict(), "source": "gandyn.experiments.mog"})


def load_snapshots(path) -> tuple[dict, dict]:
    """Read a file of :func:`save_snapshots`.

    Returns
    -------
    arrays : dict of ndarray
        ``it``, ``model``, ``method``, ``seed``, ``lr_g``, ``lr_d``, ``theta_g``, ``theta_d``
        (and ``stats_g`` with a batch-norm G).
    config : MogConfig
        The run's configuration.

    Raises
    ------
    ValueError
        A file that is not such a file (its missing entries named).
    """
    try:
        arrays, meta = history.load(path)
    except (OSError, ValueError, EOFError) as e:  # not an npz, truncated, or pickled
        raise ValueError(f"{path} is not a snapshot file of `gandyn mog` ({type(e).__name__})") from None
    missing = [k for k in ("it", "model", "method", "seed", "theta_g", "theta_d") if k not in arrays]
    if missing or "config" not in meta:
        raise ValueError(f"{path} is not a snapshot file of `gandyn mog` (no {', '.join(missing or ['config'])})")
    cfg = MogConfig.from_dict(meta["config"])
    if cfg.networks.g_batch_norm and "stats_g" not in arrays:
        raise ValueError(f"{path} is not a snapshot file of `gandyn mog` (no stats_g: the running statistics of "
                         "its batch-norm G)")
    return arrays, cfg
