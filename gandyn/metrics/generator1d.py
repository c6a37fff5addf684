"""A 1-D generator against 1-D data, evaluated: an evaluation grid covering both
(:func:`grid_for`), the latent quantiles Figure 1 maps (:func:`z_map_points`), the theory's
quantities of one model on the grid (:func:`theory_at`: p_g, D, D*, JSD, C(G), V) and the JSD
of a whole population from bin masses (:func:`binned_jsd`). Pure functions of a
:class:`~gandyn.engine.population.Setup` and parameters; :mod:`gandyn.experiments.gan1d`
records them along training (and re-exports them: ``gan1d.binned_jsd``)."""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from gandyn.distributions import Distribution, Uniform
from gandyn.engine.latents import as_latent
from gandyn.engine.losses import sigmoid
from gandyn.engine.nn import MLP
from gandyn.engine.population import Setup
from gandyn.theory import LOG2, LOG4, d_star, jsd_grid, jsd_terms, value_grid
from gandyn.theory.density import generator_density

__all__ = ["grid_for", "z_map_points", "theory_at", "binned_jsd"]


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
        g = G(theta_g, np.linspace(*z_range, 257)[:, None])[:, 0]
        lo, hi = min(lo, float(g.min())), max(hi, float(g.max()))
    w = hi - lo
    return np.linspace(lo - margin * w, hi + margin * w, int(n))


def z_map_points(latent, n: int = 15) -> np.ndarray:
    """Latent points drawn under the x axis in Figure 1: equally spaced quantiles of p_z."""
    return as_latent(latent).ppf((np.arange(n) + 0.5) / n)


def theory_at(setup: Setup, theta_g, theta_d, x, rng=None, n_samples: int = 5000) -> dict:
    """The theory's quantities for one model on the grid ``x``.

    ``p_g`` from :func:`gandyn.theory.density.generator_density` (exact change of
    variables when G is monotone, else a KDE with ``n_samples`` draws from
    ``rng``); ``d = D(x)``; ``d_star = p_data/(p_data + p_g)`` (Goodfellow et al.
    2014, Prop. 1); ``jsd`` JSD(p_data || p_g) by :func:`gandyn.theory.jsd_grid`
    plus ``log(2)/2`` times any p_g mass off the grid (where p_data vanishes, the
    JSD integrand is ``q log(2)/2``); ``c = -log 4 + 2 JSD`` (Theorem 1);
    ``v`` = V(D, G) on the grid (eq. 1; by :func:`gandyn.theory.value_grid`).
    """
    dens = generator_density(setup.gan.G, theta_g, x, setup.networks.latent, rng, n_samples=n_samples)
    p = setup.data.pdf(x)
    q = dens.pdf
    off_grid = max(0.0, 1.0 - float(np.trapezoid(q, x)))
    jsd = min(jsd_grid(x, p, q, tol=None) + 0.5 * LOG2 * off_grid, LOG2)
    logit = setup.gan.D(theta_d, x[:, None].astype(setup.networks.dtype))[:, 0].astype(np.float64)
    return {"p_g": q, "method": dens.method, "d": sigmoid(logit), "d_star": d_star(p, q), "jsd": jsd,
            "c": -LOG4 + 2.0 * jsd, "v": value_grid(x, logit, p, q, tol=None, logit=True)}


def binned_jsd(setup: Setup, theta_g, lo: float, hi: float, bins: int = 400,
               n_z: int = 8192, chunk: int = 256) -> np.ndarray:
    """JSD(p_data || p_g) of a population, from bin masses: cheap and for any G.

    The line is cut into ``bins`` equal bins on ``[lo, hi]`` plus the two
    half-lines outside. p_data's bin masses are differences of its cdf; p_g's
    are the fractions of ``n_z`` equally spaced latent quantiles
    ``z_i = F_z^{-1}((i + 1/2)/n_z)`` that G maps into each bin (for a monotone G
    this is the exact mass to within ``1/n_z`` per bin). The JSD of the two
    discrete distributions (Lin 1991), the sum of
    :func:`gandyn.theory.jsd_terms` with the binary entropy ``H``::

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
    single, tg = np.ndim(theta_g) == 1, np.atleast_2d(theta_g)
    if not hi > lo or bins < 1 or n_z < 2:
        raise ValueError("need lo < hi, bins >= 1 and n_z >= 2")
    edges = np.linspace(lo, hi, bins + 1)
    p = np.diff(np.concatenate([[0.0], setup.data.cdf(edges), [1.0]]))  # (bins + 2,): below lo, the bins, above hi
    z = z_map_points(setup.networks.latent, n_z)[:, None].astype(setup.networks.dtype)  # the latent's quantiles
    out = np.empty(tg.shape[0])
    nb = bins + 2
    for i in range(0, tg.shape[0], chunk):
        g = setup.gan.G(tg[i:i + chunk], z)[..., 0]  # (c, n_z)
        b = np.searchsorted(edges, g, side="right")  # 0 below lo, bins + 1 above hi
        c = g.shape[0]
        counts = np.bincount((b + nb * np.arange(c)[:, None]).ravel(), minlength=c * nb)
        out[i:i + c] = jsd_terms(p, counts.reshape(c, nb) / n_z).sum(axis=1)
    return float(out[0]) if single else out
