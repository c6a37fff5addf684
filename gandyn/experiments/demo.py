"""A tiny 1D GAN, the smoke test of the engine: data N(4, 0.5^2), z ~ U(-1, 1),
generator 1-16-1 (tanh), discriminator 1-32-1 (ReLU), Adam (b1 = 0.5, as Radford et al.
2016 recommend for GANs), non-saturating generator loss, Algorithm 1 with k = 1
(Goodfellow et al. 2014). Returns a :class:`Demo` record; :func:`gandyn.plotting.demo_figure`
draws it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from gandyn.engine import optim
from gandyn.engine.gan import GAN
from gandyn.engine.nn import MLP
from gandyn.engine.trainer import StreamBatches, Trainer
from gandyn.errors import DivergedError
from gandyn.rng import streams

__all__ = ["Demo", "run_demo", "train", "DATA_MEAN", "DATA_STD"]

DATA_MEAN, DATA_STD = 4.0, 0.5


@dataclass(frozen=True, eq=False)
class Demo:
    """:func:`run_demo`'s trained GAN, evaluated.

    Attributes
    ----------
    x : ndarray, shape (400,)
        The grid: the data's ``mean +- 4 std``, widened to the samples' 0.1% and 99.9% quantiles.
    p_data : ndarray, shape (400,)
        The data density on ``x``.
    d : ndarray, shape (400,)
        ``D(x)``, a probability.
    samples : ndarray, shape (n_eval,)
        Generator samples (from the run's ``eval`` stream).
    bins : ndarray, shape (80,)
        The histogram's bin edges, over ``x``'s range.
    loss_d, loss_g : ndarray, shape (steps,)
        Each player's minibatch loss at every iteration.
    theta_g, theta_d : ndarray
        The final flat parameters of G and D.
    steps, seed : int
        The iterations trained and the seed.
    """

    x: np.ndarray
    p_data: np.ndarray
    d: np.ndarray
    samples: np.ndarray
    bins: np.ndarray
    loss_d: np.ndarray
    loss_g: np.ndarray
    theta_g: np.ndarray
    theta_d: np.ndarray
    steps: int
    seed: int


def train(gan, seed: int, steps: int, lr: float, batch: int, desc: str, progress: bool) -> tuple:
    """Train ``gan`` on ``N(DATA_MEAN, DATA_STD^2)`` by Algorithm 1 (k = 1) with Adam of step ``lr``
    (b1 = 0.5) for both players, minibatches of ``batch``, from the streams of ``seed``.

    Returns ``(trainer, losses (steps, 2), streams)``.

    Raises
    ------
    DivergedError
        A loss or a parameter became NaN or inf (the iteration named).
    """
    s = streams(seed)
    batches = StreamBatches(lambda rng, m: rng.normal(DATA_MEAN, DATA_STD, size=(m, 1)), gan.latent, s["data"],
                            s["latent"])
    run = Trainer(gan, optim.adam(lr, b1=0.5), optim.adam(lr, b1=0.5), gan.G.init(s["g_init"]),
                  gan.D.init(s["d_init"]), batches, batch=batch)
    hist = np.empty((steps, 2))
    with tqdm(range(steps), desc=desc, disable=not progress) as bar, np.errstate(all="ignore"):
        for i in bar:
            hist[i] = run.step()
            if not np.isfinite([*hist[i], run.theta_g @ run.theta_g, run.theta_d @ run.theta_d]).all():
                raise DivergedError(f"training diverged at iteration {i + 1} (a loss or a parameter became NaN or "
                                    f"inf; lr={lr:g}: try a smaller step size)", i + 1)
            if i % 50 == 0:
                bar.set_postfix(loss_d=f"{hist[i, 0]:.3f}", loss_g=f"{hist[i, 1]:.3f}", refresh=False)
    return run, hist, s


def run_demo(seed: int = 0, steps: int = 1000, lr: float = 3e-3, batch: int = 128,
             hidden: int = 16, n_eval: int = 20000, progress: bool = True) -> Demo:
    """Train the tiny 1D GAN (:func:`train`) and evaluate it on a grid (a :class:`Demo`)."""
    if steps < 1 or batch < 1 or hidden < 1 or not (np.isfinite(lr) and lr > 0):
        raise ValueError("steps, batch and hidden must be >= 1 and lr a finite number > 0")
    gan = GAN(MLP((1, hidden, 1), ("tanh", "identity")), MLP((1, 2 * hidden, 1), ("relu", "identity")))
    run, hist, s = train(gan, seed, steps, lr, batch, "demo", progress)
    samples = gan.G(run.theta_g, gan.sample_z(s["eval"], n_eval))[:, 0]
    lo = min(DATA_MEAN - 4 * DATA_STD, np.quantile(samples, 0.001))
    hi = max(DATA_MEAN + 4 * DATA_STD, np.quantile(samples, 0.999))
    x = np.linspace(lo, hi, 400)
    return Demo(x, np.exp(-0.5 * ((x - DATA_MEAN) / DATA_STD) ** 2) / (DATA_STD * np.sqrt(2 * np.pi)),
                gan.d_prob(run.theta_d, x[:, None]), samples, np.linspace(lo, hi, 80), hist[:, 0], hist[:, 1],
                run.theta_g, run.theta_d, steps, seed)
