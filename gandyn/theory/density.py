"""The density p_g of a 1-D generator network x = G(z), on a grid.

Where G is strictly monotone on the support of the latent z, p_g follows exactly
from the change of variables (e.g. Casella & Berger 2002, Theorem 2.1.5)::

    p_g(x) = p_z(G^{-1}(x)) / |G'(G^{-1}(x))|,

with ``G'`` from the network's hand-written backward pass w.r.t. its input
(:meth:`gandyn.engine.nn.MLP.backward` with ``inputs=True``). The inverse is found on
a fine z grid and polished by Newton steps, so the result is exact to rounding.

Otherwise (a non-monotone G, including a collapsed, constant one) p_g is a
Gaussian kernel density estimate from ``n_samples`` draws of G(z), with a
stated bandwidth rule (Silverman 1986, eq. 3.31, by default). The method used
and the bandwidth are recorded in the result.

>>> import numpy as np
>>> from gandyn.engine.nn import MLP
>>> G = MLP((1, 1), ("identity",))                       # G(z) = w z + b
>>> theta = np.array([2.0, 3.0])                        # w = 2, b = 3: x ~ U(1, 5)
>>> res = generator_density(G, theta, np.linspace(0.0, 6.0, 7))
>>> res.method, res.pdf.tolist()
('change_of_variables', [0.0, 0.25, 0.25, 0.25, 0.25, 0.25, 0.0])
"""
from __future__ import annotations

from math import pi, sqrt
from typing import NamedTuple

import numpy as np

from gandyn.distributions import Distribution, Uniform
from gandyn.engine.latents import as_latent
from gandyn.engine.nn import MLP

__all__ = ["GeneratorDensity", "generator_density", "latent_interval", "kde", "bandwidth", "METHODS"]

METHODS = ("auto", "change_of_variables", "kde")



def latent_interval(latent: str | Distribution) -> tuple[float, float]:
    """The z interval of the change of variables: a uniform latent's support, else the
    interval holding all but 1e-12 of the mass (for N(0, 1): +-Phi^{-1}(1 - 5e-13) =
    +-7.13)."""
    latent = as_latent(latent)
    if isinstance(latent, Uniform):
        return latent.low, latent.high
    return latent.bounds(1e-12)


class GeneratorDensity(NamedTuple):
    """p_g on a grid, and how it was obtained.

    ``x`` (n,) the grid; ``pdf`` (n,) the density there; ``method``
    'change_of_variables' or 'kde'; ``bandwidth`` the KDE bandwidth (None for
    the change of variables); ``rule`` the bandwidth rule (None, 'silverman',
    'scott' or 'fixed'); ``support`` the interval G maps the latent interval
    onto (for the change of variables; the sample range for the KDE).
    """

    x: np.ndarray
    pdf: np.ndarray
    method: str
    bandwidth: float | None
    rule: str | None
    support: tuple[float, float]

    def mass(self) -> float:
        """Trapezoid integral of ``pdf`` over the grid (close to 1 when the
        grid covers p_g and resolves it)."""
        return float(np.trapezoid(self.pdf, self.x))


def _check_grid(x) -> np.ndarray:
    """``x`` as a float64 array, after checking it is a finite, increasing 1-D grid (ValueError)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size < 2 or not np.all(np.isfinite(x)) or np.any(np.diff(x) <= 0):
        raise ValueError("x_grid must be a finite, strictly increasing 1-D array of >= 2 points")
    return x


def _g_and_slope(G: MLP, theta, z):
    """``G(z)`` and ``G'(z)`` for z of shape (m,), by one forward and one backward pass.

    Each output depends on its own input only, so backpropagating ones gives
    ``dG(z_i)/dz_i`` in row i.
    """
    hs = G.forward(theta, z[:, None])
    _, gz = G.backward(theta, hs, np.ones_like(hs[-1]), params=False, inputs=True)
    return hs[-1][:, 0].astype(np.float64), gz[:, 0].astype(np.float64)


def bandwidth(samples, rule: str = "silverman") -> float:
    """Gaussian-kernel bandwidth of a 1-D sample.

    'silverman': ``0.9 min(sd, IQR/1.34) n^{-1/5}`` (Silverman 1986, eq. 3.31);
    'scott': ``sd n^{-1/5}`` (Scott 1992, eq. 6.18 with the normal-reference
    constant rounded to 1; scipy.stats.gaussian_kde's default).
    """
    s = np.asarray(samples, dtype=np.float64)
    n = s.size
    if n < 2:
        raise ValueError(f"samples must hold at least 2 values, got {n}")
    sd = float(s.std(ddof=1))
    if rule == "silverman":
        q75, q25 = np.percentile(s, [75, 25])
        spread = min(sd, (q75 - q25) / 1.34) if q75 > q25 else sd
        return 0.9 * spread * n ** -0.2
    if rule == "scott":
        return sd * n ** -0.2
    raise ValueError(f"unknown bandwidth rule {rule!r}; choose from silverman, scott")


def kde(samples, x, h: float, chunk: int = 2048) -> np.ndarray:
    """Gaussian kernel density estimate ``mean_i phi((x - s_i)/h)/h`` at ``x``
    (Silverman 1986, eq. 2.2a)."""
    s = np.asarray(samples, dtype=np.float64).ravel()
    x = np.asarray(x, dtype=np.float64)
    if not h > 0:
        raise ValueError(f"bandwidth must be > 0, got {h!r}")
    out = np.zeros(x.shape)
    flat = out.reshape(-1)
    xf = x.reshape(-1)
    for i in range(0, s.size, chunk):
        u = (xf[:, None] - s[None, i:i + chunk]) / h
        flat += np.exp(-0.5 * u * u).sum(axis=1)
    return out / (s.size * h * sqrt(2 * pi))


def generator_density(G: MLP, theta_g, x_grid, latent: str = "uniform", rng=None, *,
                      method: str = "auto", n_z: int = 4097, n_samples: int = 20000,
                      bandwidth_rule: str | float = "silverman") -> GeneratorDensity:
    """The density of ``x = G(z)``, ``z ~ p_z``, on ``x_grid``.

    Parameters
    ----------
    G : MLP
        A generator with one input and one output, ``G.sizes = (1, ..., 1)``.
    theta_g : array (n,)
        Its parameters.
    x_grid : array (k,)
        Strictly increasing points at which to evaluate p_g.
    latent : str or Distribution
        The latent (:func:`~gandyn.engine.latents.as_latent`): ``'uniform'``
        (``U(-1, 1)``), ``'normal'`` (``N(0, 1)``) or a 1-D distribution.
    rng : seed or Generator
        Draws the KDE's samples (unused by the change of variables).
    method : {'auto', 'change_of_variables', 'kde'}
        'auto' uses the change of variables when G' has one strict sign on a
        grid of ``n_z`` latent points, else the KDE. Asking for the change of
        variables with a non-monotone G is a ValueError.
    n_z : int
        Latent grid size for the monotonicity check and the first guess of
        ``G^{-1}`` (then polished by three Newton steps).
    n_samples : int
        KDE sample size.
    bandwidth_rule : 'silverman', 'scott' or float
        The KDE bandwidth rule (see :func:`bandwidth`) or a bandwidth. A rule's
        bandwidth is raised to the grid spacing if it is smaller, since a
        narrower kernel cannot be resolved on the grid (this happens when G has
        collapsed to a point).

    Returns
    -------
    GeneratorDensity
    """
    if G.sizes[0] != 1 or G.sizes[-1] != 1:
        raise ValueError(f"G must map 1-D z to 1-D x, has sizes {G.sizes}")
    theta_g = np.asarray(theta_g)
    if theta_g.shape != (G.n_params,):
        raise ValueError(f"theta_g must have shape ({G.n_params},), got {theta_g.shape}")
    latent = as_latent(latent)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    if int(n_z) < 3 or int(n_samples) < 2:
        raise ValueError("n_z must be >= 3 and n_samples >= 2")
    x = _check_grid(x_grid)

    zlo, zhi = latent_interval(latent)
    z = np.linspace(zlo, zhi, int(n_z))
    gx, slope = _g_and_slope(G, theta_g, z)
    sign = np.sign(slope)
    monotone = bool(np.all(sign == sign[0]) and sign[0] != 0 and np.all(np.diff(gx) * sign[0] > 0))

    if method == "change_of_variables" and not monotone:
        raise ValueError("G is not strictly monotone on the latent support; use method='kde' or 'auto'")
    if monotone and method != "kde":
        return _change_of_variables(G, theta_g, x, latent, z, gx, sign[0])

    samples = G(theta_g, latent.rvs((int(n_samples), 1), rng, dtype=np.float64))[:, 0].astype(np.float64)
    if isinstance(bandwidth_rule, str):
        h = max(bandwidth(samples, bandwidth_rule), float(np.min(np.diff(x))))
        rule = bandwidth_rule
    else:
        h, rule = float(bandwidth_rule), "fixed"
        if not h > 0:
            raise ValueError(f"bandwidth_rule must be 'silverman', 'scott' or a number > 0, got {bandwidth_rule!r}")
    return GeneratorDensity(x, kde(samples, x, h), "kde", h, rule,
                            (float(samples.min()), float(samples.max())))


def _change_of_variables(G, theta, x, latent, z, gx, sign):
    zlo, zhi = z[0], z[-1]
    # the table (G(z_i), z_i) sorted by G, for the first guess of G^{-1}
    order = slice(None) if sign > 0 else slice(None, None, -1)
    xs, zs = gx[order], z[order]
    lo, hi = float(xs[0]), float(xs[-1])
    pdf = np.zeros_like(x)
    inside = (x >= lo) & (x <= hi)
    if np.any(inside):
        xi = x[inside]
        zi = np.interp(xi, xs, zs)
        for _ in range(3):  # Newton on G(z) = x; G' has one strict sign here
            g, s = _g_and_slope(G, theta, zi)
            zi = np.clip(zi - (g - xi) / s, zlo, zhi)
        _, s = _g_and_slope(G, theta, zi)
        pdf[inside] = np.exp(latent.logpdf(zi)) / np.abs(s)
    return GeneratorDensity(x, pdf, "change_of_variables", None, None, (lo, hi))
