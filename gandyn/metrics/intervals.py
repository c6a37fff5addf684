"""Uncertainty of the numbers a results table reports: a confidence interval for a success
rate and the standard error of a mean over runs.

- :func:`wilson_interval`: the score interval of a binomial proportion (Wilson 1927),
  which, unlike the Wald interval ``p +- z sqrt(p (1 - p) / n)``, stays inside ``[0, 1]`` and
  keeps close to its nominal coverage for the few runs (and the rates near 0 or 1) of a GAN
  benchmark (Agresti & Coull 1998; Newcombe 1998, method 3).
- :func:`mean_se`: the mean over runs and its standard error ``s / sqrt(n)`` (``s`` the sample
  standard deviation, ``n - 1`` in its denominator), as PacGAN's Table 1 reports (Lin et al. 2018:
  "averaged over 10 trials shown with the standard error").

>>> lo, hi = wilson_interval(81, 263)           # Newcombe 1998, Table I, example (a)
>>> round(lo, 4), round(hi, 4)
(0.2553, 0.3662)
>>> mean_se([1.0, 2.0, 3.0, 4.0])
(2.5, 0.6454972243679028)
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["Z95", "wilson_interval", "mean_se", "format_pm", "rate_columns", "spread_columns"]

#: The two-sided 95% quantile of the standard normal, ``Phi^{-1}(0.975)``.
Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``p = k / n`` (Wilson 1927, eq. for the
    limits of ``p``; Agresti & Coull 1998, eq. 2):

        (p + z^2 / (2n) -+ z sqrt(p (1 - p) / n + z^2 / (4 n^2))) / (1 + z^2 / n)

    the set of proportions ``pi`` that a two-sided score test of level ``2 (1 - Phi(z))`` does
    not reject (default ``z = 1.96``: 95%). At ``k = 0`` the lower limit is 0 and the upper
    ``z^2 / (n + z^2)``; symmetric at ``k = n``.

    Parameters
    ----------
    successes : int
        ``k``, with ``0 <= k <= n``.
    n : int
        Trials, ``>= 1``.
    z : float
        The normal quantile of the confidence level, > 0.

    Returns
    -------
    (lower, upper) : floats in ``[0, 1]``

    Raises
    ------
    ValueError
        ``n < 1``, ``k`` outside ``[0, n]`` or not a whole number, or ``z <= 0``.
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if int(successes) != successes or not 0 <= successes <= n:
        raise ValueError(f"successes must be an integer in [0, n] = [0, {n}], got {successes!r}")
    if not z > 0:
        raise ValueError(f"z must be > 0, got {z!r}")
    p, z2 = successes / n, z * z
    centre = p + z2 / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    den = 1 + z2 / n
    lo = 0.0 if successes == 0 else (centre - half) / den
    hi = 1.0 if successes == n else (centre + half) / den
    return lo, hi


def mean_se(values) -> tuple[float, float]:
    """The mean of ``values`` and its standard error ``s / sqrt(n)``, with the sample standard
    deviation ``s = sqrt(sum (x_i - mean)^2 / (n - 1))``.

    Parameters
    ----------
    values : array-like (n,)
        One number per run (non-finite values count as they are: a NaN gives NaN).

    Returns
    -------
    (mean, se) : floats; ``se`` is NaN for a single value.

    Raises
    ------
    ValueError
        No values.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("mean_se needs at least one value")
    mean = float(np.mean(x))
    if x.size == 1:
        return mean, float("nan")
    return mean, float(np.std(x, ddof=1) / math.sqrt(x.size))


def format_pm(mean, se, spec: str = ".2f") -> str:
    """``"mean+-se"`` in the format ``spec`` (``"mean"`` alone when ``se`` is None or NaN;
    ``"-"`` when ``mean`` is None)."""
    if mean is None:
        return "-"
    if se is None or not np.isfinite(se):
        return format(mean, spec)
    return f"{format(mean, spec)}+-{format(se, spec)}"


def rate_columns(name: str, outcomes) -> dict:
    """A success rate over runs as table columns: ``{name}_pct = 100 k / n`` and its 95% Wilson
    interval ``{name}_lo_pct, {name}_hi_pct`` (:func:`wilson_interval`), all in percent.

    Parameters
    ----------
    name : str
        The column prefix.
    outcomes : array-like of bool (n,) (any shape; flattened)
        One outcome per run; ``k`` is the number of true ones.

    Returns
    -------
    dict
        The three columns, in that order; NaN for ``n = 0`` (no run).

    >>> {k: round(v, 2) for k, v in rate_columns("converged", [True, False, False, False]).items()}
    {'converged_pct': 25.0, 'converged_lo_pct': 4.56, 'converged_hi_pct': 69.94}
    """
    x = np.asarray(outcomes, dtype=bool).ravel()
    n, k, nan = x.size, int(x.sum()), float("nan")
    lo, hi = wilson_interval(k, n) if n else (nan, nan)
    return {f"{name}_pct": 100.0 * k / n if n else nan, f"{name}_lo_pct": 100.0 * lo, f"{name}_hi_pct": 100.0 * hi}


def spread_columns(name: str, values) -> dict:
    """A quantity over runs as table columns: ``median_{name}``, ``mean_{name}`` and the standard
    error of the mean ``se_{name}`` (:func:`mean_se`).

    Parameters
    ----------
    name : str
        The column suffix.
    values : array-like (n,) (any shape; flattened)
        One number per run.

    Returns
    -------
    dict
        The three columns, in that order; NaN for ``n = 0`` (no run), ``se`` NaN for one run.

    >>> {k: round(v, 4) for k, v in spread_columns("jsd", [0.1, 0.3, 0.2]).items()}
    {'median_jsd': 0.2, 'mean_jsd': 0.2, 'se_jsd': 0.0577}
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    mean, se = mean_se(x) if x.size else (float("nan"),) * 2
    return {f"median_{name}": float(np.median(x)) if x.size else float("nan"), f"mean_{name}": mean, f"se_{name}": se}
