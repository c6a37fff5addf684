"""Populations of GANs on data of any dimension, trained at once on the engine's stacked
:class:`~gandyn.engine.trainer.Trainer`: per-model seeds, step sizes and methods.

A :class:`Setup` fixes the data (any distribution of :mod:`gandyn.distributions` whose
``rvs(n, rng)`` gives ``(n, d)``, or ``(n,)`` for 1-D data), the latent ``z`` of ``z_dim``
independent coordinates, the generator ``z_dim - hidden_g... - d`` and discriminator
``d - hidden_d... - 1`` MLPs and the training choices (a
:class:`~gandyn.engine.training.TrainingConfig`: loss, optimizer, minibatch size, ...).
A :class:`Population` then trains ``P`` models at once, model ``p`` with its own seed,
``lr_g``, ``lr_d``, training method (an object of :mod:`gandyn.engine.methods`, or a
registered name for the method with its defaults) and ``k`` (D steps per G step of
``altgd``).

Models with the same method and ``k`` form a *group*; a group is cut, in model order,
into *units* of at most ``chunk`` models, and each unit is one engine
:class:`~gandyn.engine.trainer.Trainer` (``theta (c, n)``, inputs ``(c, m, d)``, step sizes
``(c, 1)``). Every random draw of model ``p`` comes from the named streams of its seed
(:mod:`gandyn.rng`): ``g_init`` and ``d_init`` its initial parameters, ``data`` and
``latent`` its minibatches, ``eval`` the latent points it is evaluated on. Minibatches
are drawn per model in blocks of :data:`BLOCK` batches of ``m`` rows, so the numbers a
model sees never depend on which models share its unit. A unit's arithmetic is that of
its stacked GEMMs; building only some units (``units=``, as the shards of a distributed
sweep do) runs exactly the same stacks, so every model's numbers are the same bits as in
the full population.

A diverging model overflows to inf or NaN in its own rows only: training and sampling run with
NumPy's floating-point warnings off (:meth:`Population.advance`, :meth:`Population.samples`),
and a diverged model is found by its parameters (:func:`gandyn.errors.healthy`); a single run's
loss raises on a non-finite value (:class:`~gandyn.engine.losses.NonFiniteLossError`).

>>> from gandyn.distributions import ring2d
>>> setup = Setup(ring2d(), networks=Networks(hidden_g=(16,), hidden_d=(16,)), training=TRAINING.replace(batch=8))
>>> pop = Population(setup, seeds=[0, 1, 2], lr_g=1e-3, lr_d=[1e-3, 2e-3, 1e-3],
...                  method=["altgd", "simgd", "altgd"])
>>> [u.rows.tolist() for u in pop.units]
[[0, 2], [1]]
>>> _ = pop.advance(3)
>>> pop.samples(5).shape
(3, 5, 2)
"""
from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from typing import Any, NamedTuple

import numpy as np

from gandyn.distributions import Distribution
from gandyn.engine.gan import GAN
from gandyn.engine.latents import LATENTS
from gandyn.engine.nn import ACTIVATIONS, INITIALIZERS, hidden_mlp
from gandyn.engine.trainer import Trainer
from gandyn.engine.training import JsonConfig, TrainingConfig, check_int, check_networks
from gandyn.rng import stream

__all__ = ["Networks", "Setup", "TRAINING", "Population", "Unit", "check_seeds", "check_iterations", "BLOCK"]

#: Minibatches drawn at once per model and stream (a constant: the draws never depend
#: on the population, its units or how training is split into calls).
BLOCK = 64


def _quiet():
    """NumPy's floating-point warnings off, where models train and sample (a diverging model's
    overflow stays in its own rows)."""
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


def _widths(name, v) -> tuple[int, ...]:
    t = (v,) if isinstance(v, (int, np.integer)) else tuple(v)
    if any(isinstance(h, (bool, np.bool_)) or not isinstance(h, (int, np.integer)) or h < 1 for h in t):
        raise ValueError(f"{name} must be hidden widths (integers >= 1), got {v!r}")
    return tuple(int(h) for h in t)


def check_seeds(seeds) -> np.ndarray:
    """Seeds as a 1-D integer array ``(P,)`` (one int: ``(1,)``).

    Raises
    ------
    ValueError
        Not a non-negative integer or a non-empty 1-D list of them.
    """
    a = np.asarray(seeds)
    if a.ndim > 1 or a.size == 0 or a.dtype.kind not in "iu" or np.any(a < 0):
        raise ValueError(f"seeds must be a non-negative integer or a 1-D list of them, got {seeds!r}")
    return a.reshape(-1)


def check_iterations(steps: int, checks: int) -> np.ndarray:
    """The ``checks`` iterations at which a population is scored, evenly spaced, the last ``steps``."""
    return np.unique(np.linspace(0, steps, checks + 1).round().astype(int)[1:])


#: The training choices of a population given none: Adam with ``b1 = 0.5`` (Radford et al.
#: 2016's for GANs), batch 128, Algorithm 1 with ``k = 1``.
TRAINING = TrainingConfig(b1=0.5)


@dataclass(frozen=True, kw_only=True)
class Networks(JsonConfig):
    """The two MLPs of a population's models, validated (keyword-only fields): the
    generator ``z_dim - hidden_g... - d`` and the discriminator ``pack d - hidden_d... - 1``
    (``d`` the data's dimension). :class:`Setup` and the experiments' configurations hold one
    as their ``networks``, so each field is declared, defaulted and checked once here; its JSON
    form (:meth:`~gandyn.engine.training.JsonConfig.to_dict`) writes the dtype by name.

    Parameters
    ----------
    z_dim : int
        Latent dimension.
    latent : {'normal', 'uniform'}
        Each latent coordinate ``N(0, 1)`` or ``U(-1, 1)``.
    hidden_g, hidden_d : int or tuple of int
        Hidden widths of G and D (all hidden layers use ``act_g`` / ``act_d``; outputs are
        linear, D's a logit); an int is one hidden layer.
    act_g, act_d : str
        Hidden activations (:data:`gandyn.engine.nn.ACTIVATIONS`).
    init : str
        Weight initialisation (:data:`gandyn.engine.nn.INITIALIZERS`).
    d_init : str
        D's weight initialisation (``""``: ``init``, both players alike); the JSON form
        holds it only when set, so a config without it reads back the same.
    dtype : float32 or float64
        The networks' float type (a name, e.g. ``"float32"``, is made the type).
    pack : int
        Samples per D input (PacGAN's packing, :class:`~gandyn.engine.gan.GAN`; 1 = none); D's
        input dimension is ``pack`` times the data's, and the training batch must be a multiple of it.
    g_batch_norm : bool
        Batch normalisation in each of G's hidden layers (PacGAN's generator; no biases there);
        samples for evaluation use each model's running statistics.
    d_pieces : int
        Maxout pieces of each of D's hidden layers (1 = none, ``act_d`` then applies).

    Raises
    ------
    ValueError
        A field out of its range (the message names it).

    >>> Networks(hidden_g=16, dtype="float64").to_dict()["hidden_g"], Networks().replace(z_dim=5).z_dim
    ([16], 5)
    """

    z_dim: int = 2
    latent: str = "normal"
    hidden_g: tuple = (64, 64)
    hidden_d: tuple = (64, 64)
    act_g: str = "relu"
    act_d: str = "relu"
    init: str = "glorot_uniform"
    d_init: str = ""
    dtype: type = np.float32
    pack: int = 1
    g_batch_norm: bool = False
    d_pieces: int = 1

    def __post_init__(self):
        for name in ("z_dim", "pack", "d_pieces"):
            object.__setattr__(self, name, check_int(name, getattr(self, name)))
        for name in ("hidden_g", "hidden_d"):
            object.__setattr__(self, name, _widths(name, getattr(self, name)))
        for name in ("act_g", "act_d"):
            ACTIVATIONS.check(getattr(self, name), name)
        LATENTS.check(self.latent, "latent")
        INITIALIZERS.check(self.init, "init")
        INITIALIZERS.check(self.d_init or self.init, "d_init")
        if np.dtype(self.dtype) not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype!r}")
        object.__setattr__(self, "dtype", np.dtype(self.dtype).type)
        if not isinstance(self.g_batch_norm, (bool, np.bool_)):
            raise ValueError(f"g_batch_norm must be True or False, got {self.g_batch_norm!r}")
        object.__setattr__(self, "g_batch_norm", bool(self.g_batch_norm))

    def to_dict(self) -> dict:
        """:meth:`JsonConfig.to_dict <gandyn.engine.training.JsonConfig.to_dict>`, ``d_init`` only when set."""
        return {k: v for k, v in super().to_dict().items() if k != "d_init" or v}


@dataclass(frozen=True)
class Setup:
    """Everything of a population of GANs except the per-model seed, step sizes and method:
    the data, the two MLPs (a :class:`Networks`) and the training choices (a
    :class:`~gandyn.engine.training.TrainingConfig`; each model's instance noise from its
    seed's ``instance_noise`` stream). Every field but ``data`` is a keyword.

    Parameters
    ----------
    data : Distribution
        ``p_data``; ``rvs(n, rng)`` gives ``(n, d)`` (or ``(n,)`` when ``d = 1``).
    networks : Networks
        G and D (default ``Networks()``: 64-64 ReLU MLPs, ``z ~ N(0, I_2)``, float32).
    training : TrainingConfig
        The loss, method, ``k``, batch, optimizer, penalty, ... (default :data:`TRAINING`);
        its ``method`` and ``k`` are those of models given none (:class:`Population` takes
        them per model). With ``g_ema`` :attr:`Population.theta_g_eval` is G's moving
        average, while training goes on with the iterates.

    Raises
    ------
    ValueError
        A field out of its range or an unsupported pairing (the message names it).
    """

    data: Distribution
    _: KW_ONLY
    networks: Networks = Networks()
    training: TrainingConfig = TRAINING
    gan: GAN = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.data, Distribution):
            raise ValueError(f"data must be a gandyn.distributions.Distribution, got {self.data!r}")
        if not isinstance(n := self.networks, Networks):
            raise ValueError(f"networks must be a Networks, got {n!r}")
        check_networks(self.training, n.g_batch_norm, n.hidden_g)
        d = int(self.data.dim)
        G = hidden_mlp((n.z_dim, *n.hidden_g, d), n.act_g, batch_norm=n.g_batch_norm, dtype=n.dtype)
        D = hidden_mlp((n.pack * d, *n.hidden_d, 1), n.act_d, pieces=n.d_pieces, dtype=n.dtype)
        if self.training.batch % n.pack:
            raise ValueError(f"batch ({self.training.batch}) must be a multiple of pack ({n.pack})")
        if n.pack > 1 and self.training.penalty is not None:
            raise ValueError("gradient penalties are not defined here for a packed D (pack > 1)")
        object.__setattr__(self, "gan", GAN(G, D, loss=self.training.loss, latent=n.latent, pack=n.pack))

    @property
    def dim(self) -> int:
        return int(self.data.dim)

    def draw_data(self, n: int, rng) -> np.ndarray:
        """``n`` data points ``(n, d)`` in the networks' dtype."""
        x = np.asarray(self.data.rvs(n, rng))
        return x.reshape(n, self.dim).astype(self.networks.dtype, copy=False)

    def draw_latent(self, n: int, rng) -> np.ndarray:
        """``n`` latent points ``(n, z_dim)`` in the networks' dtype."""
        return self.gan.latent.rvs((n, self.networks.z_dim), rng, dtype=self.networks.dtype)

    def describe(self) -> dict:
        """The setup as plain JSON-able values: the data as its ``repr``, the networks and the
        training choices as their dicts (:meth:`~gandyn.engine.training.JsonConfig.to_dict`)."""
        return {"data": repr(self.data), "networks": self.networks.to_dict(), "training": self.training.to_dict()}


class _PerSeed:
    """The named stream of each distinct seed among a unit's models: a draw is made once per
    distinct seed and served to every model of that seed (common random numbers), so a
    model's numbers never depend on which models share its unit."""

    def __init__(self, seeds, name: str):
        uniq, inv = np.unique(np.asarray(seeds), return_inverse=True)
        self.rngs = [stream(int(x), name) for x in uniq]
        self.inv = inv.ravel()
        # seeds distinct and ascending: the draws are the rows as they are
        self.identity = bool(uniq.size == self.inv.size and np.all(self.inv == np.arange(uniq.size)))

    def draw(self, f) -> np.ndarray:
        """``f(rng)`` for each distinct seed, stacked: ``(S, ...)``."""
        return np.stack([f(r) for r in self.rngs])

    def rows(self, a, sl=slice(None)) -> np.ndarray:
        """The rows of the unit's models from per-seed draws ``a (S, ...)``: ``(c, ...)``."""
        return a[:, sl] if self.identity else a[self.inv, sl]


class _Streams:
    """Per-model minibatches for one unit: ``(S, BLOCK*m, d)`` blocks drawn per distinct seed
    from its ``data`` and ``latent`` streams (:class:`_PerSeed`), served ``m`` rows at a time
    to each model, ``(c, m, d)`` (``(m, d)`` for a single run)."""

    def __init__(self, setup: Setup, seeds, single: bool = False):
        self.single = single
        # per stream: its seeds, its draw of n rows, the current block and the position in it
        self._src = {name: [_PerSeed(seeds, name), draw, None, 0]
                     for name, draw in (("data", setup.draw_data), ("latent", setup.draw_latent))}

    def _serve(self, name, out):
        m = out.shape[-2]
        src = self._src[name]
        seeds, draw, block, pos = src
        if block is None or pos + m > block.shape[1]:
            block, pos = seeds.draw(lambda r: draw(BLOCK * m, r)), 0
        b = seeds.rows(block, slice(pos, pos + m))
        out[...] = b[0] if self.single else b
        src[2:] = block, pos + m

    def real(self, out):
        self._serve("data", out)

    def noise(self, out):
        self._serve("latent", out)


class _SeedRandom:
    """Random numbers for one unit as a ``Generator``-like object (``random``,
    ``standard_normal``) drawing ``(c, ...)`` per seed (:class:`_PerSeed`: ``shape[1:]`` once
    for each distinct seed); a single run draws from its seed's stream as it is."""

    def __init__(self, seeds, name: str, single: bool = False):
        self._seeds, self._single = _PerSeed(seeds, name), single

    def _draw(self, method: str, shape):
        if self._single:
            return getattr(self._seeds.rngs[0], method)(shape)
        return self._seeds.rows(self._seeds.draw(lambda r: getattr(r, method)(tuple(shape[1:]))))

    def random(self, shape):
        return self._draw("random", shape)

    def standard_normal(self, shape):
        return self._draw("standard_normal", shape)


class Unit(NamedTuple):
    """Models trained as one engine population: their rows in the population, method and k."""

    index: int
    method: Any
    k: int
    rows: np.ndarray


def plan_units(methods, ks, chunk: int) -> list[Unit]:
    """Groups of equal (method, k), in order of first appearance, cut into units of at
    most ``chunk`` models in model order."""
    keys: dict = {}
    for p, key in enumerate(zip(methods, ks)):
        keys.setdefault(key, []).append(p)
    units = []
    for (method, k), rows in keys.items():
        for i in range(0, len(rows), chunk):
            units.append(Unit(len(units), method, int(k), np.asarray(rows[i:i + chunk])))
    return units


def _per_model(name, v, P, cast):
    a = np.asarray(v, dtype=object if cast is str else None)
    if a.ndim == 0:
        return [cast(a.item())] * P
    if a.shape != (P,):
        raise ValueError(f"{name} must be one value or one per model ({P}), got {len(a)}")
    return [cast(x) for x in a]


class Population:
    """``P`` GANs of one :class:`Setup`, each with its own seed, step sizes, method and k,
    or a single run.

    Parameters
    ----------
    setup : Setup
    seeds : int or sequence of int
        One seed per model (models sharing a seed share initial parameters and noise:
        common random numbers, what a sweep over step sizes wants). An int is a single
        run: parameters ``(n,)``, minibatches ``(m, d)``, losses ``()``.
    lr_g, lr_d : float or sequence
        Step sizes, shared or one per model (keyword-only).
    method : method object, str, or a sequence of them, optional
        Training method per model (objects of :mod:`gandyn.engine.methods`, or registered
        names built with their defaults, :meth:`TrainingConfig.check_method
        <gandyn.engine.training.TrainingConfig.check_method>`); default ``setup.training.method``.
    k : int or sequence of int, optional
        D steps per G step per model (used by ``altgd``); default ``setup.training.k``.
    chunk : int or None
        Models per unit (one engine trainer each, which keeps the working arrays in
        cache); None: one unit per group. Results do not depend on it.
    units : sequence of int, optional
        Build and train only these units (see :attr:`units`); the others' models are
        absent from :attr:`rows`, :meth:`params` and :meth:`samples`.
    rate_dtype : dtype, optional
        Dtype of the per-model step-size arrays (default: the setup's dtype).

    Raises
    ------
    ValueError
        Bad seeds, step sizes, methods or k, with the choices named.
    """

    def __init__(self, setup: Setup, seeds, *, lr_g, lr_d, method=None, k=None, chunk: int | None = 128,
                 units=None, rate_dtype=None):
        single = np.ndim(seeds) == 0
        seeds = check_seeds(seeds)
        P = int(seeds.size)
        if single and (np.ndim(lr_g) or np.ndim(lr_d)):
            raise ValueError("lr_g and lr_d must be numbers for a single run (one seed)")
        lr_g = np.asarray(_per_model("lr_g", lr_g, P, float))
        lr_d = np.asarray(_per_model("lr_d", lr_d, P, float))
        for name, a in (("lr_g", lr_g), ("lr_d", lr_d)):
            if not np.all(np.isfinite(a)) or np.any(a <= 0):
                raise ValueError(f"{name} must be positive and finite")
        t = setup.training
        method = t.method if method is None else method
        if isinstance(method, str) or not isinstance(method, (list, tuple, np.ndarray)):
            method = [method] * P
        if len(method) != P:
            raise ValueError(f"method must be one value or one per model ({P}), got {len(method)}")
        made = {}  # each distinct method checked, and a name made into its object, once, here
        methods = [made[m] if m in made else made.setdefault(m, t.check_method(m)) for m in method]
        ks = _per_model("k", t.k if k is None else k, P, int)
        if any(v < 1 for v in ks):
            raise ValueError(f"every k must be >= 1, got {sorted(set(ks))}")
        if chunk is not None and int(chunk) < 1:
            raise ValueError(f"chunk must be >= 1, got {chunk!r}")
        self.setup, self.gan, self.single = setup, setup.gan, single
        if not single:  # a model that diverges must not stop the others: it is found by its parameters
            self.gan = self.gan.unchecked()
        #: Models in the population (None for a single run).
        self.P = None if single else P
        self.seeds, self.lr_g, self.lr_d, self.methods, self.ks = seeds, lr_g, lr_d, methods, np.asarray(ks)
        self.units = plan_units(methods, ks, P if chunk is None else int(chunk))
        wanted = range(len(self.units)) if units is None else sorted(set(int(u) for u in units))
        if not wanted:
            raise ValueError("units must name at least one unit")
        if any(not 0 <= u < len(self.units) for u in wanted):
            raise ValueError(f"units must be in 0..{len(self.units) - 1}, got {list(units)}")
        rate_dtype = setup.networks.dtype if rate_dtype is None else rate_dtype
        self._trainers, self._rates = [], []
        for u in (self.units[i] for i in wanted):
            s = seeds[u.rows]
            tg, td = self._init(s)
            if single:
                rg, rd = float(lr_g[0]), float(lr_d[0])
            else:
                rg, rd = lr_g[u.rows, None].astype(rate_dtype), lr_d[u.rows, None].astype(rate_dtype)
                self._rates.append((rg, rd, rg.copy(), rd.copy()))
            tr = t.trainer(self.gan, t.make_g_optimizer(rg), t.make_d_optimizer(rd), tg, td, _Streams(setup, s, single),
                           lambda name: _SeedRandom(s, name, single), k=u.k, method=u.method)
            self._trainers.append((u, tr))
        cat = np.concatenate([u.rows for u, _ in self._trainers]) if self._trainers else np.zeros(0, int)
        self._order = np.argsort(cat, kind="stable")
        #: The models built (all, or those of ``units``), ascending; results come in this order.
        self.rows = cat[self._order]
        self.it = 0

    def _init(self, seeds) -> tuple[np.ndarray, np.ndarray]:
        """Initial parameters of the models of ``seeds`` from their ``g_init`` and ``d_init``
        streams, drawn once per distinct seed: ``(c, n)`` each (``(n,)`` for a single run)."""
        G, D, n = self.gan.G, self.gan.D, self.setup.networks
        tg, td = (_PerSeed(seeds, name) for name in ("g_init", "d_init"))
        tg = tg.rows(tg.draw(lambda r: G.init(r, scheme=n.init)))
        td = td.rows(td.draw(lambda r: D.init(r, scheme=n.d_init or n.init)))
        return (tg[0], td[0]) if self.single else (tg, td)

    def advance(self, n: int = 1, keep: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Run ``n`` iterations of every model's method.

        Returns the D and G losses (D's of its last step, each before its update) of the last
        iteration, ``(len(rows),)`` in the order of :attr:`rows` (ascending model index; ``()``
        for a single run), or with ``keep`` of every iteration, ``(n, len(rows))`` (``(n,)``).
        Overflow raises no floating-point warning (a diverged model is found by its parameters).
        """
        n = int(n)
        ld = np.full((n if keep else 1, self.rows.size), np.nan)
        lg = np.full_like(ld, np.nan)
        with _quiet():
            for t in range(n):
                i, r = 0, t if keep else 0
                for u, tr in self._trainers:
                    ld[r, i:i + u.rows.size], lg[r, i:i + u.rows.size] = tr.step()
                    i += u.rows.size
                self.it += 1
        ld, lg = ld[:, self._order], lg[:, self._order]
        if self.single:
            ld, lg = ld[:, 0], lg[:, 0]
        return (ld, lg) if keep else (ld[0], lg[0])

    def set_lr_factor(self, factor: float) -> None:
        """Scale every model's step sizes to ``factor`` times their initial values (in place:
        the optimizers read the arrays at each step), for step-size decay by iteration."""
        if self.single:
            raise ValueError("set_lr_factor needs a population (a single run's step sizes are numbers)")
        for rg, rd, g0, d0 in self._rates:
            np.multiply(g0, factor, out=rg)
            np.multiply(d0, factor, out=rd)

    def params(self) -> tuple[np.ndarray, np.ndarray]:
        """``(theta_g, theta_d)``, each ``(len(rows), n)`` in the order of :attr:`rows`
        (copies; ``(n,)`` for a single run)."""
        g, d = self.theta_g, self.theta_d  # fresh arrays for a population; a single run's are live
        return (g.copy(), d.copy()) if self.single else (g, d)

    @property
    def theta_g(self) -> np.ndarray:
        """G's parameters: the live ``(n,)`` vector of a single run, else a copy ``(len(rows), n)``."""
        return self._gather([tr.theta_g for _, tr in self._trainers])

    @property
    def theta_d(self) -> np.ndarray:
        """D's parameters, as :attr:`theta_g`."""
        return self._gather([tr.theta_d for _, tr in self._trainers])

    def _gather(self, arrays) -> np.ndarray:
        """Per-unit arrays ``(c, n)`` as one ``(len(rows), n)`` in the order of :attr:`rows`
        (the single array of a single run)."""
        return arrays[0] if self.single else np.concatenate(arrays)[self._order]

    @property
    def stats_g(self) -> np.ndarray | None:
        """The running statistics of G's batch-norm layers (``setup.networks.g_batch_norm``;
        :meth:`~gandyn.engine.nn.MLP.init_stats`), ``(len(rows), n_s)`` in the order of
        :attr:`rows` (a copy; ``(n_s,)`` for a single run), else None. Samples use them."""
        if not self.setup.networks.g_batch_norm:
            return None
        return self._gather([tr.stats_g for _, tr in self._trainers]).copy()

    @property
    def g_average(self) -> np.ndarray | None:
        """The moving average of G's parameters (``setup.training.g_ema > 0``; shaped like
        :attr:`theta_g`), else None."""
        if not self.setup.training.g_ema:
            return None
        return self._gather([tr.state_g.average for _, tr in self._trainers])

    @property
    def theta_g_eval(self) -> np.ndarray:
        """The generator that is evaluated: the moving average when the setup keeps
        one, else the trained parameters."""
        return self._gather([self._g_eval(tr) for _, tr in self._trainers])

    def _g_eval(self, tr: Trainer) -> np.ndarray:
        """One unit's evaluated G: its moving average with ``g_ema``, else its parameters."""
        return tr.state_g.average if self.setup.training.g_ema else tr.theta_g

    @property
    def theta_d_eval(self) -> np.ndarray:
        """D's parameters as training applies them: with spectral normalisation every
        weight matrix divided by its spectral norm (at the current power-iteration
        vectors), else :attr:`theta_d` itself."""
        if not self.setup.training.spectral_norm:
            return self.theta_d
        outs = []
        for _, tr in self._trainers:
            out = np.empty_like(tr.theta_d)
            tr.spectral_norm.refresh(tr.theta_d)
            tr.spectral_norm.normalized(tr.theta_d, out)
            outs.append(out)
        return self._gather(outs)

    def eval_latent(self, n: int) -> list[np.ndarray]:
        """Each built unit's evaluation noise ``(c, n, z_dim)`` (a list in unit order), from its
        models' ``eval`` streams (the same points at every call)."""
        z = []
        for u, _ in self._trainers:
            seeds = _PerSeed(self.seeds[u.rows], "eval")  # drawn once per distinct seed
            z.append(seeds.rows(seeds.draw(lambda r: self.setup.draw_latent(n, r))))
        return [zu[0] for zu in z] if self.single else z

    def samples(self, n: int, z=None) -> np.ndarray:
        """``n`` samples per model of the evaluated generator (:attr:`theta_g_eval`: the moving
        average with ``setup.training.g_ema``), ``(len(rows), n, d)`` (``(n, d)`` for a single run), at
        the latent points of :meth:`eval_latent` (or ``z`` as it returns them)."""
        z = self.eval_latent(n) if z is None else z
        # a batch-norm G samples in evaluation mode, with each model's running statistics
        with _quiet():  # a diverged model's samples are inf or NaN
            return self._gather([self.gan.G(self._g_eval(tr), zu, tr.stats_g) for (_, tr), zu in zip(self._trainers, z)])
