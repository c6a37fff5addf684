"""The 1D GAN of Goodfellow et al. 2014, Figure 1, trained for real: one run or a population.

A :class:`Setup` fixes everything except the seed and the two step sizes: data
``p_data`` (any 1-D distribution of :mod:`gandyn.distributions`, default
N(4, 0.5^2)), latent ``z ~ U(-1, 1)`` or N(0, 1), generator and discriminator
MLPs ``1-h-1``, the generator loss, the optimizer, the minibatch size ``m`` and
``k``, the number of discriminator steps per generator step (Algorithm 1).

A :class:`Population` runs Algorithm 1 for ``P`` models at once on the engine's
population axis (``theta (P, n)``, inputs ``(P, m, 1)``, step sizes ``(P, 1)``),
each model with its own seed, ``lr_D`` and ``lr_G``. Every random draw of model
``p`` comes from the named streams of its own seed (:mod:`gandyn.rng`), so a
population of ``P`` models equals ``P`` separate runs; models that share a seed
share their initial parameters and their noise (common random numbers), which
is what a sweep over step sizes wants. Minibatches are drawn in blocks of
:data:`BLOCK` iterations per seed; for normal and uniform data this is the same
sequence of numbers a single run draws one minibatch at a time from its streams.

Evaluation: :func:`snapshot` gives the quantities of the theory on a grid for
one model (p_g from :func:`gandyn.theory.density.generator_density`, D, D*, JSD, V, C);
:func:`binned_jsd` gives the JSD of a whole population at once, cheaply.

>>> setup = Setup(batch=16)
>>> tr = Population(setup, seeds=[0, 0, 1], lr_d=[1e-2, 3e-2, 1e-2], lr_g=1e-2)
>>> loss_d, loss_g = tr.advance(5)
>>> loss_d.shape, tr.it
((3,), 5)
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from scipy.special import entr, ndtr

from gandyn.distributions import Distribution, Mixture, Normal, Uniform
from gandyn.engine import optim
from gandyn.engine.gan import GAN
from gandyn.engine.latents import LATENTS, as_latent
from gandyn.engine.losses import LOSSES, sigmoid
from gandyn.engine.penalties import check_training, make_penalty
from gandyn.engine.nn import ACTIVATIONS, MLP
from gandyn.engine.spectral_norm import SpectralNorm
from gandyn.engine.trainer import Trainer
from gandyn.experiments.shards import on_cluster
from gandyn.rng import stream
from gandyn.theory.density import generator_density
from gandyn.theory import LOG2, LOG4, d_star, jsd_grid, value_grid

__all__ = ["Setup", "Population", "parse_data", "snapshot", "binned_jsd", "grid_for", "z_map_points",
           "converged", "record_run", "pick_panels", "sweep", "sweep_on_cluster", "merge_sweeps", "sweep_rows",
           "replace_setup", "BLOCK"]

#: Iterations of minibatches drawn at once per seed (a constant, so that the draws
#: never depend on the population size or on how training is split into calls).
BLOCK = 64



# --- the data distribution from a short text


_NUM = r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
_COMP = re.compile(rf"^\s*(?:{_NUM}\*)?\s*([NU])\s*\({_NUM},{_NUM}\)\s*$")


def parse_data(spec: str | Distribution) -> Distribution:
    """A 1-D distribution from text: ``N(loc, scale)``, ``U(low, high)``, or a
    mixture ``w1*N(..) + w2*U(..)`` (weights on the simplex).

    >>> parse_data("N(4, 0.5)")
    Normal(loc=4.0, scale=0.5)
    >>> parse_data("0.5*N(-2,0.5) + 0.5*N(2,0.5)").weights
    (0.5, 0.5)
    """
    if isinstance(spec, Distribution):
        if spec.dim != 1:
            raise ValueError("data must be a 1-D distribution")
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"data must be a text like 'N(4, 0.5)', got {spec!r}")
    comps, weights = [], []
    for part in spec.split("+"):
        m = _COMP.match(part)
        if m is None:
            raise ValueError(f"data: cannot read {part.strip()!r}; write N(loc, scale), U(low, high) "
                             "or a mixture like 0.5*N(-2, 0.5) + 0.5*N(2, 0.5)")
        w, kind, a, b = m.groups()
        try:
            comps.append(Normal(float(a), float(b)) if kind == "N" else Uniform(float(a), float(b)))
        except ValueError as e:
            raise ValueError(f"data {part.strip()!r}: {e}") from None
        weights.append(1.0 if w is None else float(w))
    if len(comps) == 1 and weights[0] == 1.0:
        return comps[0]
    try:
        return Mixture(comps, weights)
    except ValueError as e:
        raise ValueError(f"data {spec.strip()!r}: {e}") from None


# --- the experiment's fixed choices


@dataclass(frozen=True)
class Setup:
    """Everything of a 1D GAN run except the seed and the step sizes.

    Parameters
    ----------
    data : Distribution or str
        ``p_data`` (see :func:`parse_data`). Default N(4, 0.5^2).
    latent : {'uniform', 'normal'}
        ``z ~ U(-1, 1)`` or ``N(0, 1)``.
    hidden_g, hidden_d : int
        Hidden widths ``h`` of the 1-h-1 generator and discriminator.
    act_g, act_d : str
        Their hidden activations (:data:`gandyn.engine.nn.ACTIVATIONS`); output layers
        are linear (D outputs a logit).
    loss : str
        The GAN loss (:data:`gandyn.engine.losses.LOSSES`; ``nonsat``: Goodfellow et al.
        2014, Section 3). For losses whose D is not a probability (``wgan``,
        ``hinge``, f-GANs) the curve drawn as "D" is ``sigma(output)``.
    method : str
        The training method (:data:`gandyn.engine.methods.METHODS`; ``altgd`` is
        Algorithm 1).
    penalty : str or None
        A gradient penalty on D (``r1``, ``r2``, ``gp``) of weight ``penalty_weight``.
    clip : float or None
        Weight clipping of D to ``[-clip, clip]`` (WGAN).
    spectral_norm : bool
        Spectral normalisation of D's weights (Miyato et al. 2018).
    optimizer : {'momentum', 'adam', 'sgd'}
        Both players' optimizer; the paper used SGD with momentum (Section 5).
    mu : float
        Momentum coefficient (``optimizer='momentum'``).
    b1 : float
        Adam's first-moment decay (0.5, as Radford et al. 2016 advise for GANs).
    batch : int
        Minibatch size ``m`` of data and of noise.
    k : int
        Discriminator steps per generator step (Algorithm 1).
    dtype : numpy dtype
        float64 (default) or float32.
    g_ema : float
        Decay of an exponential moving average of G's parameters (0 = off; Yazici et
        al. 2019, :func:`gandyn.engine.optim.averaged`). When on, the evaluated
        generator (p_g, the JSD, Figure 1) is the average; training goes on with
        the iterates.
    """

    data: Distribution | str = "N(4, 0.5)"
    latent: str = "uniform"
    hidden_g: int = 16
    hidden_d: int = 16
    act_g: str = "tanh"
    act_d: str = "relu"
    loss: str = "nonsat"
    optimizer: str = "adam"
    mu: float = 0.9
    b1: float = 0.5
    batch: int = 64
    k: int = 1
    dtype: type = np.float64
    method: str = "altgd"
    penalty: str | None = None
    penalty_weight: float = 10.0
    clip: float | None = None
    spectral_norm: bool = False
    g_ema: float = 0.0
    gan: GAN = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "data", parse_data(self.data))
        for name in ("hidden_g", "hidden_d", "batch", "k"):
            v = getattr(self, name)
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        for name in ("act_g", "act_d"):
            ACTIVATIONS.check(getattr(self, name), name)
        check_training(self.loss, self.method, self.penalty, self.penalty_weight, self.clip)
        LATENTS.check(self.latent, "latent")
        optim.OPTIMIZERS.check(self.optimizer, "optimizer")
        if not 0 <= self.mu < 1 or not 0 <= self.b1 < 1:
            raise ValueError(f"mu and b1 must be in [0, 1), got mu={self.mu!r}, b1={self.b1!r}")
        if not 0 <= self.g_ema < 1:
            raise ValueError(f"g_ema must be in [0, 1), got {self.g_ema!r}")
        G = MLP((1, self.hidden_g, 1), (self.act_g, "identity"), dtype=self.dtype)
        D = MLP((1, self.hidden_d, 1), (self.act_d, "identity"), dtype=self.dtype)
        object.__setattr__(self, "gan", GAN(G, D, loss=self.loss, latent=self.latent))

    def make_optimizer(self, lr) -> optim.Optimizer:
        """The optimizer with step size ``lr`` (a number, a ``(P, 1)`` array or a schedule)."""
        return optim.make(self.optimizer, lr=lr, mu=self.mu, b1=self.b1)

    def make_g_optimizer(self, lr) -> optim.Optimizer:
        """G's optimizer: :meth:`make_optimizer`, averaged when ``g_ema`` is set."""
        opt = self.make_optimizer(lr)
        return optim.averaged(opt, self.g_ema) if self.g_ema else opt

    def make_d_optimizer(self, lr) -> optim.Optimizer:
        """D's optimizer: :meth:`make_optimizer`, clipped when ``clip`` is set."""
        opt = self.make_optimizer(lr)
        return opt if self.clip is None else optim.clipped(opt, self.clip)

    def describe(self) -> dict:
        """The setup as plain JSON-able values (for history files and captions)."""
        return {"data": repr(self.data), "latent": self.latent, "hidden_g": self.hidden_g,
                "hidden_d": self.hidden_d, "act_g": self.act_g, "act_d": self.act_d, "loss": self.loss,
                "optimizer": self.optimizer, "mu": self.mu, "b1": self.b1, "batch": self.batch,
                "k": self.k, "dtype": np.dtype(self.dtype).name, "method": self.method, "penalty": self.penalty,
                "penalty_weight": self.penalty_weight, "clip": self.clip, "spectral_norm": self.spectral_norm,
                "g_ema": self.g_ema}


# --- training: Algorithm 1 for a population


def _seeds(seeds):
    a = np.asarray(seeds)
    if a.ndim > 1 or a.size == 0 or a.dtype.kind not in "iu" or np.any(a < 0):
        raise ValueError(f"seeds must be a non-negative integer or a 1-D list of them, got {seeds!r}")
    return a


def _rates(name, lr, P):
    a = np.asarray(lr, dtype=np.float64)
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"{name} must be positive and finite, got {lr!r}")
    if P is None:
        if a.ndim:
            raise ValueError(f"{name} must be a number for a single run (one seed)")
        return float(a)
    try:
        return np.broadcast_to(a, (P,)).copy()
    except ValueError:
        raise ValueError(f"{name} must be a number or hold one value per seed ({P})") from None


class _SeedBlocks:
    """The minibatch source of one slice of a :class:`Population`: rows ``rows`` of the
    current per-seed block, D's ``k`` real batches and ``k + 1`` noise batches in the
    order :class:`~gandyn.engine.trainer.Trainer` asks for them."""

    def __init__(self, pop: "Population", rows):
        self.pop, self.rows = pop, rows
        self._real = self._noise = 0

    def start(self):
        self._real = self._noise = 0

    def real(self, out):
        out[...] = self.pop._batch(0, self._real, self.rows)
        self._real += 1

    def noise(self, out):
        out[...] = self.pop._batch(1, self._noise, self.rows)
        self._noise += 1


class Population:
    """``P`` independent 1D GANs trained at once by Algorithm 1 (the engine's
    :class:`~gandyn.engine.trainer.Trainer`), each with its own seed and step sizes.

    Parameters
    ----------
    setup : Setup
    seeds : int or sequence of int
        One seed per model (an int: a single run, parameters of shape ``(n,)``).
        Model ``p`` draws its initial parameters from the streams ``g_init``,
        ``d_init`` of its seed, data from ``data`` and noise from ``latent``.
    lr_g, lr_d : float or sequence
        Step sizes, one per model or shared (keyword-only).
    chunk : int, optional
        Models stepped together (the population is trained in slices of this many
        rows, one engine trainer each, which keeps the working arrays in cache);
        results do not depend on it.
    """

    def __init__(self, setup: Setup, seeds, *, lr_g, lr_d, chunk: int | None = 128):
        seeds = _seeds(seeds)
        self.setup, self.gan = setup, setup.gan
        self.P = None if seeds.ndim == 0 else int(seeds.size)
        self.seeds = seeds
        self.lr_d, self.lr_g = _rates("lr_d", lr_d, self.P), _rates("lr_g", lr_g, self.P)
        uniq, idx = np.unique(seeds.ravel(), return_inverse=True)
        self._idx = idx
        self._all = bool(uniq.size == idx.size and np.all(idx == np.arange(idx.size)))
        G, D = self.gan.G, self.gan.D
        tg = np.stack([G.init(stream(int(s), "g_init")) for s in uniq])
        td = np.stack([D.init(stream(int(s), "d_init")) for s in uniq])
        if self.P is None:
            self.theta_g, self.theta_d = tg[0].copy(), td[0].copy()
            slices = [Ellipsis]
        else:
            self.theta_g, self.theta_d = tg[idx], td[idx]
            c = self.P if chunk is None else int(chunk)
            if c < 1:
                raise ValueError(f"chunk must be >= 1, got {chunk!r}")
            slices = [slice(i, i + c) for i in range(0, self.P, c)]
        self._rng_data = [stream(int(s), "data") for s in uniq]
        self._rng_latent = [stream(int(s), "latent") for s in uniq]
        self._parts = []
        penalty = None if setup.penalty is None else make_penalty(setup.penalty, setup.penalty_weight)
        for sl in slices:
            lr_d = self.lr_d if self.P is None else self.lr_d[sl, None]
            lr_g = self.lr_g if self.P is None else self.lr_g[sl, None]
            src = _SeedBlocks(self, sl)
            tr = Trainer(self.gan, setup.make_g_optimizer(lr_g), setup.make_d_optimizer(lr_d),
                         self.theta_g[sl], self.theta_d[sl], src, batch=setup.batch, k=setup.k, method=setup.method,
                         penalty=penalty, rng_penalty=stream(int(uniq[0]), "penalty") if penalty else None,
                         spectral_norm=SpectralNorm(self.gan.D, self.theta_d[sl], stream(int(uniq[0]), "spectral_norm"))
                         if setup.spectral_norm else None)
            self._parts.append((sl, src, tr))
        self._draws = self._parts[0][2].method.draws(setup.k)
        self._block = None
        self._pos = BLOCK
        self.it = 0

    @property
    def g_average(self) -> np.ndarray | None:
        """The moving average of G's parameters (``setup.g_ema > 0``; shaped like
        ``theta_g``), else None."""
        if not self.setup.g_ema:
            return None
        avgs = [tr.state_g.average for _, _, tr in self._parts]
        return avgs[0] if len(avgs) == 1 else np.concatenate(avgs)

    @property
    def theta_g_eval(self) -> np.ndarray:
        """The generator that is evaluated: the moving average when the setup keeps
        one, else the trained parameters."""
        avg = self.g_average
        return self.theta_g if avg is None else avg

    @property
    def theta_d_eval(self) -> np.ndarray:
        """D's parameters as training applies them: with spectral normalisation every
        weight matrix divided by its spectral norm (at the current power-iteration
        vectors), else ``theta_d`` itself."""
        if not self.setup.spectral_norm:
            return self.theta_d
        out = np.empty_like(self.theta_d)
        for sl, _, tr in self._parts:
            tr.spectral_norm.refresh(tr.theta_d)
            tr.spectral_norm.normalized(tr.theta_d, out[sl])
        return out

    def _refill(self):
        """The next :data:`BLOCK` iterations of minibatches, per seed: data
        ``(S, BLOCK, n_real, m, 1)`` and noise ``(S, BLOCK, n_noise, m, 1)`` (for Algorithm 1
        ``k`` and ``k + 1``: D's batches, then G's; other methods draw what
        ``method.draws(k)`` says), in the order a single run draws them from its streams."""
        s, gan = self.setup, self.gan
        m, dt = s.batch, s.dtype
        nr, nz = self._draws
        x = np.stack([s.data.rvs(BLOCK * nr * m, r) for r in self._rng_data])
        z = np.stack([gan.sample_z(r, BLOCK * nz * m) for r in self._rng_latent])
        self._block = (x.reshape(-1, BLOCK, nr, m, 1).astype(dt, copy=False),
                       z.reshape(-1, BLOCK, nz, m, 1))
        self._pos = 0

    def _batch(self, which, j, rows):
        """Minibatch ``j`` of this iteration (``which`` 0: data, 1: noise) for the models
        ``rows``: ``(c, m, 1)`` (or ``(m, 1)`` for a single run)."""
        a, t = self._block[which], self._pos
        if self.P is None:
            return a[0, t, j]
        return a[rows, t, j] if self._all else a[self._idx[rows], t, j]

    def advance(self, n: int = 1, keep: bool = False):
        """Run ``n`` iterations of Algorithm 1.

        Returns the discriminator's loss (of its last step) and the generator's
        loss, each before its update: of the last iteration, shape ``()`` or
        ``(P,)``, or with ``keep`` of every iteration, shape ``(n,)`` or ``(n, P)``.
        """
        shape = () if self.P is None else (self.P,)
        ld = np.empty((n,) + shape if keep else shape)
        lg = np.empty_like(ld)
        for i in range(n):
            if self._pos >= BLOCK:
                self._refill()
            out_d = ld[i, ...] if keep else ld
            out_g = lg[i, ...] if keep else lg
            for sl, src, tr in self._parts:
                src.start()
                out_d[sl], out_g[sl] = tr.step()
            self._pos += 1
            self.it += 1
        return ld, lg


# --- evaluation


def grid_for(data: Distribution, theta_g=None, G: MLP | None = None, latent="uniform",
             n: int = 401, tail: float = 1e-6, margin: float = 0.25) -> np.ndarray:
    """An evaluation grid covering ``p_data`` (all but ``tail`` of its mass) and,
    if given, the initial generator's range ``G([z_lo, z_hi])`` (a uniform latent's
    support, else its central interval of +-3 standard deviations' mass), widened by
    ``margin`` of its width on each side."""
    lo, hi = data.bounds(tail)
    if theta_g is not None:
        p_z = as_latent(latent)
        z_range = (p_z.low, p_z.high) if isinstance(p_z, Uniform) else p_z.ppf(ndtr(np.array([-3.0, 3.0])))
        z = np.linspace(*z_range, 257)
        g = G(theta_g, z[:, None])[:, 0]
        lo, hi = min(lo, float(g.min())), max(hi, float(g.max()))
    w = hi - lo
    return np.linspace(lo - margin * w, hi + margin * w, int(n))


def z_map_points(latent, n: int = 15) -> np.ndarray:
    """Latent points drawn under the x axis in Figure 1: equally spaced quantiles of p_z."""
    return as_latent(latent).ppf((np.arange(n) + 0.5) / n)


def snapshot(setup: Setup, theta_g, theta_d, x, rng=None, n_samples: int = 5000) -> dict:
    """The theory's quantities for one model on the grid ``x``.

    ``p_g`` from :func:`gandyn.theory.density.generator_density` (exact change of
    variables when G is monotone, else a KDE with ``n_samples`` draws from
    ``rng``); ``d = D(x)``; ``d_star = p_data/(p_data + p_g)`` (Goodfellow et al.
    2014, Prop. 1); ``jsd`` JSD(p_data || p_g) by :func:`gandyn.theory.jsd_grid`
    plus ``log(2)/2`` times any p_g mass off the grid (where p_data vanishes, the
    JSD integrand is ``q log(2)/2``); ``c = -log 4 + 2 JSD`` (Theorem 1);
    ``v`` = V(D, G) on the grid (eq. 1; by :func:`gandyn.theory.value_grid`).
    """
    gan = setup.gan
    dens = generator_density(gan.G, theta_g, x, setup.latent, rng, n_samples=n_samples)
    p = setup.data.pdf(x)
    q = dens.pdf
    off_grid = max(0.0, 1.0 - float(np.trapezoid(q, x)))
    jsd = min(jsd_grid(x, p, q, tol=None) + 0.5 * LOG2 * off_grid, LOG2)
    logit = gan.D(theta_d, x[:, None].astype(setup.dtype))[:, 0].astype(np.float64)
    d = sigmoid(logit)
    return {"p_g": q, "method": dens.method, "d": d, "d_star": d_star(p, q), "jsd": jsd,
            "c": -LOG4 + 2.0 * jsd, "v": value_grid(x, logit, p, q, tol=None, logit=True)}


def binned_jsd(setup: Setup, theta_g, lo: float, hi: float, bins: int = 400,
               n_z: int = 8192, chunk: int = 256) -> np.ndarray:
    """JSD(p_data || p_g) of a population, from bin masses: cheap and for any G.

    The line is cut into ``bins`` equal bins on ``[lo, hi]`` plus the two
    half-lines outside. p_data's bin masses are differences of its cdf; p_g's
    are the fractions of ``n_z`` equally spaced latent quantiles
    ``z_i = F_z^{-1}((i + 1/2)/n_z)`` that G maps into each bin (for a monotone G
    this is the exact mass to within ``1/n_z`` per bin). The JSD of the two
    discrete distributions (Lin 1991), written as in
    :func:`gandyn.theory.jsd_grid` with the binary entropy ``H``::

        JSD = sum_b (p_b + q_b)/2 (log 2 - H(p_b / (p_b + q_b))),

    is at most the JSD of the densities (binning only merges outcomes) and
    tends to it as the bins shrink.

    Parameters
    ----------
    theta_g : array (P, n) or (n,)
    Returns
    -------
    array (P,) (or a float for ``theta_g (n,)``)
    """
    theta_g = np.asarray(theta_g)
    single = theta_g.ndim == 1
    tg = theta_g[None] if single else theta_g
    if not hi > lo or bins < 1 or n_z < 2:
        raise ValueError("need lo < hi, bins >= 1 and n_z >= 2")
    edges = np.linspace(lo, hi, bins + 1)
    cdf = np.concatenate([[0.0], setup.data.cdf(edges), [1.0]])
    p = np.diff(cdf)  # (bins + 2,): below lo, the bins, above hi
    q_mid = (np.arange(n_z) + 0.5) / n_z
    z = as_latent(setup.latent).ppf(q_mid)[:, None].astype(setup.dtype)
    out = np.empty(tg.shape[0])
    nb = bins + 2
    for i in range(0, tg.shape[0], chunk):
        g = setup.gan.G(tg[i:i + chunk], z)[..., 0]  # (c, n_z)
        b = np.searchsorted(edges, g, side="right")  # 0 below lo, bins + 1 above hi
        c = g.shape[0]
        counts = np.bincount((b + nb * np.arange(c)[:, None]).ravel(), minlength=c * nb)
        q = counts.reshape(c, nb) / n_z
        s = p + q
        a = d_star(p, q)
        out[i:i + c] = np.maximum(0.5 * s * (LOG2 - entr(a) - entr(1.0 - a)), 0.0).sum(axis=1)
    return float(out[0]) if single else out


class DivergedError(ValueError):
    """Training left the floats (a NaN or inf in a loss or a parameter)."""


def _finite_rows(*arrays) -> np.ndarray:
    """Per population member (rows of ``(P, n)`` arrays, or a single ``(n,)``): all finite."""
    ok = None
    for a in arrays:
        a = np.asarray(a)
        r = np.isfinite(a).all(axis=-1) if a.ndim else np.isfinite(a)
        ok = r if ok is None else ok & r
    return ok


def _advance_quietly(tr, n, keep=False):
    """``tr.advance`` with overflow left to the divergence checks (no warnings)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return tr.advance(n, keep=keep)


def converged(jsd, threshold: float):
    """JSD below ``threshold`` (nats)."""
    return np.asarray(jsd) < threshold



# --- one run, recorded


def record_run(setup: Setup, seed: int = 0, *, lr_g: float = 2e-3, lr_d: float = 2e-3, steps: int = 3000,
               record_every: int = 25, grid: int = 401, n_samples: int = 5000, n_map: int = 15,
               progress: bool = False) -> tuple[dict, dict]:
    """Train one 1D GAN and record the theory's quantities along the way.

    Every ``record_every`` iterations (and at 0 and ``steps``) the history gets
    :func:`snapshot` on a fixed grid (p_g, D, D*, JSD, C(G), V(D, G)), the
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
        With ``setup.g_ema`` the evaluated generator (p_g, the JSDs, D*, the gap,
        ``x_map``) is the moving average of G's parameters, recorded as
        ``theta_g_average (R, n_g)``; ``theta_g`` stays the trained parameters.
        D is drawn as training applies it (:attr:`Population.theta_d_eval`: with
        spectral normalisation, the normalised weights); ``theta_d`` holds the raw ones.
    meta : dict
        The setup, seed, step sizes and recording settings.
    """
    from tqdm.auto import tqdm

    for name, v in (("steps", steps), ("record_every", record_every)):
        if int(v) < 1:
            raise ValueError(f"{name} must be >= 1, got {v!r}")
    tr = Population(setup, int(seed), lr_g=lr_g, lr_d=lr_d)
    gan = setup.gan
    x = grid_for(setup.data, tr.theta_g, gan.G, setup.latent, n=grid)
    p = setup.data.pdf(x)
    z_map = z_map_points(setup.latent, n_map)
    ev = stream(int(seed), "eval")
    names = ["it", "p_g", "d", "d_star", "jsd", "jsd_binned", "c", "v", "gap", "exact", "x_map", "theta_g", "theta_d"]
    rec = {name: [] for name in names + (["theta_g_average"] if setup.g_ema else [])}

    def record():
        tg = tr.theta_g_eval
        s = snapshot(setup, tg, tr.theta_d_eval, x, ev, n_samples)
        w = 0.5 * (p + s["p_g"])
        rec["it"].append(tr.it)
        for name in ("p_g", "d", "d_star"):
            rec[name].append(s[name].astype(np.float32))
        for name in ("jsd", "c", "v"):
            rec[name].append(s[name])
        rec["gap"].append(float(np.trapezoid(np.abs(s["d"] - s["d_star"]) * w, x)))
        rec["jsd_binned"].append(binned_jsd(setup, tg, x[0], x[-1], bins=grid - 1))
        rec["exact"].append(s["method"] == "change_of_variables")
        rec["x_map"].append(gan.G(tg, z_map[:, None].astype(setup.dtype))[:, 0].astype(np.float64))
        rec["theta_g"].append(tr.theta_g.copy())
        rec["theta_d"].append(tr.theta_d.copy())
        if setup.g_ema:
            rec["theta_g_average"].append(tg.copy())
        return s["jsd"]

    loss_d, loss_g = np.empty(steps), np.empty(steps)
    bar = tqdm(total=steps, desc="gan1d", disable=not progress, leave=False)
    bar.set_postfix(jsd=f"{record():.4f}", refresh=False)
    while tr.it < steps:
        n = min(record_every, steps - tr.it)
        i = tr.it
        loss_d[i:i + n], loss_g[i:i + n] = _advance_quietly(tr, n, keep=True)
        bad = ~(np.isfinite(loss_d[i:i + n]) & np.isfinite(loss_g[i:i + n]))
        if bad.any() or not _finite_rows(tr.theta_g, tr.theta_d):
            bar.close()
            at = i + 1 + int(np.argmax(bad)) if bad.any() else tr.it
            raise DivergedError(f"training diverged at iteration {at} (a loss or a parameter became NaN or inf; "
                                f"lr_d={lr_d:g}, lr_g={lr_g:g}: try smaller step sizes)")
        bar.update(n)
        bar.set_postfix(jsd=f"{record():.4f}", refresh=False)
    bar.close()
    arrays = {"x": x, "p_data": p, "z_map": z_map, "loss_d": loss_d, "loss_g": loss_g,
              **{name: np.array(v) for name, v in rec.items()}}
    meta = {"setup": setup.describe(), "seed": int(seed), "lr_d": float(lr_d), "lr_g": float(lr_g),
            "steps": int(steps), "record_every": int(record_every), "n_samples": int(n_samples),
            "jsd_units": "nats", "source": "gandyn.experiments.gan1d.record_run"}
    return arrays, meta


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
    it, jsd, gap = arrays["it"], arrays["jsd"], arrays["gap"]
    R = len(it)
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

    Models with the same ``k`` and loss run as one population (:class:`Population`);
    all other settings come from ``setup``. Models that share a seed share their
    initial parameters and noise, so differences along the step-size axes are
    due to the step sizes alone. The JSD is :func:`binned_jsd` (400 bins on the
    data's range widened by 25% on each side, plus the two half-lines) of the
    evaluated G (:attr:`Population.theta_g_eval`: the moving average with
    ``setup.g_ema``); it is
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

    lr_d_values = np.asarray(lr_d_values, dtype=np.float64).ravel()
    lr_g_values = np.asarray(lr_g_values, dtype=np.float64).ravel()
    seeds = _seeds(list(seeds))
    ks = [int(k) for k in ks]
    losses = list(losses)
    if int(steps) < 1 or int(checks) < 1:
        raise ValueError("steps and checks must be >= 1")
    if any(k < 1 for k in ks):
        raise ValueError(f"every k must be >= 1, got {ks}")
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold!r}")
    for lo in losses:
        LOSSES.check(lo, "loss")
    S, Ld, Lg = seeds.size, lr_d_values.size, lr_g_values.size
    sd, ld, lg = np.meshgrid(seeds, lr_d_values, lr_g_values, indexing="ij")
    check_it = np.unique(np.linspace(0, steps, checks + 1).round().astype(int)[1:])
    lo, hi = setup.data.bounds(1e-9)
    lo, hi = lo - 0.25 * (hi - lo), hi + 0.25 * (hi - lo)
    out = np.empty((len(check_it), len(ks), len(losses), S, Ld, Lg))
    diverged_at = np.full((len(ks), len(losses), S, Ld, Lg), -1, dtype=np.int64)
    n_pop = len(ks) * len(losses)

    def what(a, b):
        return f"gan1d sweep: population {a * len(losses) + b + 1} of {n_pop} ({sd.size} GANs, k={ks[a]}, {losses[b]})"

    bar = tqdm(total=n_pop * int(steps), desc=what(0, 0), unit="it", disable=not progress, leave=False)
    for a, k in enumerate(ks):
        for b, loss in enumerate(losses):
            s = replace_setup(setup, k=k, loss=loss)
            bar.set_description(what(a, b), refresh=False)
            tr = Population(s, sd.ravel(), lr_g=lg.ravel(), lr_d=ld.ravel(), chunk=chunk)
            for c, t in enumerate(check_it):
                while tr.it < t:  # one iteration at a time: the bar moves (tqdm limits its redraws)
                    _advance_quietly(tr, 1)
                    bar.update(1)
                tg = tr.theta_g_eval
                ok = _finite_rows(tr.theta_g, tr.theta_d, tg)
                at = diverged_at[a, b].reshape(-1)
                at[(~ok) & (at < 0)] = tr.it
                # a diverged G (parameters NaN or inf) puts its mass nowhere near the data:
                # its JSD is log 2, the value for disjoint supports
                with np.errstate(over="ignore", invalid="ignore"):
                    j = binned_jsd(s, np.where(ok[:, None], tg, 0), lo, hi, n_z=n_z)
                j[~ok] = LOG2
                out[c, a, b] = j.reshape(S, Ld, Lg)
                bar.set_postfix(median_jsd=f"{np.median(j):.4f}", refresh=False)
    bar.close()
    arrays = {"lr_d": lr_d_values, "lr_g": lr_g_values, "seeds": seeds, "ks": np.array(ks),
              "losses": np.array(losses), "check_it": check_it, "jsd_checks": out, "jsd": out[-1],
              "converged": converged(out[-1], threshold), "diverged_at": diverged_at}
    meta = {"setup": setup.describe(), "steps": int(steps), "threshold": float(threshold),
            "jsd": f"binned_jsd, 400 bins on [{lo:.4g}, {hi:.4g}] + 2 tails, n_z={n_z}",
            "jsd_units": "nats", "source": "gandyn.experiments.gan1d.sweep"}
    return arrays, meta


def merge_sweeps(parts) -> tuple[dict, dict]:
    """One sweep from :func:`sweep` results over disjoint seeds, ``[(arrays, meta), ...]`` in
    seed order: the per-model arrays concatenated along the seed axis, the meta of the first."""
    arrays, meta = dict(parts[0][0]), dict(parts[0][1])
    arrays["seeds"] = np.concatenate([a["seeds"] for a, _ in parts])
    for key, axis in (("jsd", 2), ("converged", 2), ("diverged_at", 2), ("jsd_checks", 3)):
        arrays[key] = np.concatenate([a[key] for a, _ in parts], axis=axis)
    return arrays, meta


def _sweep_seed(setup: Setup, seed: int, kw: dict):
    return sweep(setup, seeds=[seed], **kw)


def sweep_on_cluster(setup: Setup, client, *, seeds, progress: bool = False, **kw) -> tuple[dict, dict]:
    """:func:`sweep` on a Dask cluster (``client``, a :class:`dask.distributed.Client`),
    one shard per seed; every model draws from its own seed's streams, so the result
    equals ``sweep(setup, seeds=seeds, **kw)``. The progress bar counts finished shards.

    Raises
    ------
    gandyn.experiments.shards.ShardError
        A shard failed: it names the shard (the ``i``-th seed) and its ``partial`` is
        the sweep of the seeds that finished (:func:`merge_sweeps`), or None.
    """
    seeds = [int(s) for s in _seeds(list(seeds))]
    return merge_sweeps(on_cluster(client, _sweep_seed, [(setup, s, kw) for s in seeds], merge=merge_sweeps,
                                   name="gan1d sweep", progress=progress))


def replace_setup(setup: Setup, **changes) -> Setup:
    """A copy of ``setup`` with some fields changed (and validated again)."""
    kw = {f: getattr(setup, f) for f in setup.__dataclass_fields__ if f != "gan"}
    kw.update(changes)
    return Setup(**kw)


def sweep_rows(arrays: dict) -> list[dict]:
    """The sweep as table rows: k, loss, seed, lr_d, lr_g, final JSD, converged."""
    rows = []
    jsd, conv = arrays["jsd"], arrays["converged"]
    for a, k in enumerate(arrays["ks"]):
        for b, loss in enumerate(arrays["losses"]):
            for s, seed in enumerate(arrays["seeds"]):
                for i, lr_d in enumerate(arrays["lr_d"]):
                    for j, lr_g in enumerate(arrays["lr_g"]):
                        rows.append({"k": int(k), "loss": str(loss), "seed": int(seed), "lr_d": float(lr_d),
                                     "lr_g": float(lr_g), "jsd": float(jsd[a, b, s, i, j]),
                                     "converged": bool(conv[a, b, s, i, j])})
    return rows
