"""Mode coverage of a mixture: the protocol of Srivastava et al. 2017 (VEEGAN, Section 5.1,
Table 1) and Lin et al. 2018 (PacGAN, Section 5, Table 1), for a population of generators.

Given generator samples ``x (P, n, d)`` (or ``(n, d)``) and a mixture of isotropic
Gaussians with centres ``mu_1 .. mu_K`` and standard deviation ``sigma``:

* each sample is assigned to its nearest centre, ``k(x) = argmin_k |x - mu_k|``;
* a sample is *high quality* if it lies within ``3 sigma`` of that centre,
  ``|x - mu_k(x)| < 3 sigma`` (both papers; the PacGAN code measures the
  Mahalanobis distance to the nearest centre, the same thing for isotropic modes);
* the mode histogram ``c_k`` counts the high-quality samples assigned to mode ``k``;
* a mode is *covered* (VEEGAN: "captured"; PacGAN: "recovered") if ``c_k >= min_count``.
  Both papers count a mode once at least one high-quality sample is nearest to it
  (VEEGAN: "the number of mixture components whose mean is nearest to at least one
  high quality sample"; PacGAN's evaluation code counts the non-zero entries of
  ``c``), so ``min_count = 1`` is the published rule; a larger ``min_count`` is stricter;
* the high-quality share is ``sum_k c_k / n``;
* the reverse KL (PacGAN, Table 1) is ``KL(q || u) = sum_k q_k log(K q_k)`` between the
  normalised histogram ``q = c / sum c`` and the uniform distribution over the ``K``
  modes (0 for an even spread, ``log K`` when one mode takes every sample; ``log K``
  by convention when no sample is of high quality).

Both papers draw 2,500 samples per trained model (VEEGAN averages five runs, PacGAN
ten). Everything here is vectorised over the population axis.

>>> import numpy as np
>>> centers = np.array([[0.0, 0.0], [10.0, 0.0]])
>>> x = np.array([[0.0, 0.01], [10.0, 0.0], [5.0, 5.0], [0.02, 0.0]])
>>> cov = mode_coverage(x, centers, scale=0.01)
>>> cov.counts.tolist(), int(cov.modes), float(cov.high_quality)
([2, 1], 2, 0.75)
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["ModeCoverage", "mode_coverage", "mixture_modes", "reverse_kl_uniform"]


class ModeCoverage(NamedTuple):
    """Mode-coverage results; leading axes are the population's (none for one model).

    ``counts`` (int, ``(..., K)``): high-quality samples nearest to each mode; ``modes``
    (int, ``(...)``): modes with ``counts >= min_count``; ``high_quality`` (float): share
    of samples within ``radius * scale`` of their nearest centre; ``reverse_kl`` (float):
    ``KL(q || uniform)`` of the normalised counts, nats; ``covered_all`` (bool): every mode
    covered.
    """

    counts: np.ndarray
    modes: np.ndarray
    high_quality: np.ndarray
    reverse_kl: np.ndarray
    covered_all: np.ndarray


def mixture_modes(dist) -> tuple[np.ndarray, float]:
    """The centres ``(K, d)`` and the common standard deviation of a mixture of isotropic
    normals (such as :func:`gandyn.distributions.ring2d` and :func:`~gandyn.distributions.grid2d`).

    Raises
    ------
    ValueError
        A distribution that is not such a mixture (components of unequal or
        anisotropic spread).
    """
    comps = getattr(dist, "components", None)
    if not comps:
        raise ValueError(f"need a mixture of isotropic normals, got {dist!r}")
    centers, scales = [], []
    for c in comps:
        var = np.atleast_1d(np.asarray(c.var(), dtype=np.float64))
        cov = getattr(c, "cov", None)
        if cov is not None and (np.asarray(cov)[0, 1] != 0 or not np.allclose(var, var[0])):
            raise ValueError("mode coverage needs isotropic components")
        centers.append(np.atleast_1d(np.asarray(c.mean(), dtype=np.float64)))
        scales.append(float(np.sqrt(var[0])))
    if not np.allclose(scales, scales[0], rtol=1e-12):
        raise ValueError("mode coverage needs components of one standard deviation")
    return np.stack(centers), scales[0]


def reverse_kl_uniform(counts) -> np.ndarray:
    """``KL(q || u) = sum_k q_k log(K q_k)`` for ``q = counts / sum(counts)`` over the last
    axis and ``u`` uniform on its ``K`` entries; ``log K`` where all counts are 0.

    >>> float(reverse_kl_uniform([5, 5, 5, 5]))
    0.0
    >>> round(float(reverse_kl_uniform([4, 0, 0, 0])), 6) == round(float(np.log(4)), 6)
    True
    """
    c = np.asarray(counts, dtype=np.float64)
    K = c.shape[-1]
    tot = c.sum(axis=-1, keepdims=True)
    q = np.divide(c, tot, out=np.zeros_like(c), where=tot > 0)
    terms = np.where(q > 0, q * np.log(np.where(q > 0, q * K, 1.0)), 0.0)
    kl = terms.sum(axis=-1)
    return np.where(tot[..., 0] > 0, np.maximum(kl, 0.0), np.log(K))


def mode_coverage(x, centers, scale: float, *, radius: float = 3.0, min_count: int = 1,
                  chunk: int = 64) -> ModeCoverage:
    """Mode coverage of samples ``x`` of shape ``(n, d)`` or ``(P, n, d)`` (see the module
    docstring for the formulas).

    Parameters
    ----------
    x : array (..., n, d)
    centers : array (K, d)
        The mixture's centres.
    scale : float
        Standard deviation ``sigma`` of every component.
    radius : float
        High quality: within ``radius * sigma`` of the nearest centre (3 in both papers).
    min_count : int
        High-quality samples a mode needs to count as covered (1 in both papers).
    chunk : int
        Models processed at once (memory ``chunk * n * K``); the result does not depend on it.

    Returns
    -------
    ModeCoverage

    Raises
    ------
    ValueError
        Mismatched dimensions, a non-positive ``scale`` or ``radius``, ``min_count < 1``
        or no samples.
    """
    x = np.asarray(x)
    centers = np.asarray(centers, dtype=np.float64)
    if centers.ndim != 2 or x.ndim < 2 or x.shape[-1] != centers.shape[1]:
        raise ValueError(f"samples (..., n, d) and centres (K, d) must share d, got {x.shape} and {centers.shape}")
    if x.shape[-2] == 0:
        raise ValueError("need at least one sample")
    if not (np.isfinite(scale) and scale > 0 and np.isfinite(radius) and radius > 0):
        raise ValueError(f"scale and radius must be positive, got scale={scale!r}, radius={radius!r}")
    if int(min_count) != min_count or min_count < 1:
        raise ValueError(f"min_count must be an integer >= 1, got {min_count!r}")
    lead, (n, d) = x.shape[:-2], x.shape[-2:]
    flat = x.reshape((-1, n, d))
    K = centers.shape[0]
    counts = np.zeros((flat.shape[0], K), dtype=np.int64)
    hq = np.zeros(flat.shape[0], dtype=np.int64)
    lim2 = (radius * scale) ** 2
    for i in range(0, flat.shape[0], chunk):
        xi = flat[i:i + chunk].astype(np.float64)  # (c, n, d)
        # squared distances to every centre, exactly as |x - mu|^2 (no cancellation)
        d2 = ((xi[:, :, None, :] - centers) ** 2).sum(axis=-1)  # (c, n, K)
        k = d2.argmin(axis=-1)
        good = np.take_along_axis(d2, k[..., None], axis=-1)[..., 0] < lim2
        # NaN samples (a diverged generator) compare False: never high quality
        c = good.shape[0]
        idx = (k + K * np.arange(c)[:, None])[good]
        counts[i:i + c] = np.bincount(idx, minlength=c * K).reshape(c, K)
        hq[i:i + c] = good.sum(axis=1)
    counts = counts.reshape(lead + (K,))
    modes = (counts >= min_count).sum(axis=-1)
    share = (hq / n).reshape(lead)
    return ModeCoverage(counts, modes, share, reverse_kl_uniform(counts), modes == K)
