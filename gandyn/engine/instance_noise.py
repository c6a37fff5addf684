"""Instance noise: Gaussian noise added to every real and generated input of D during
training (Sonderby, Caballero, Theis, Shi & Huszar 2017, Appendix C; Mescheder, Geiger &
Nowozin 2018, Sec. 3.3).

At iteration ``t = 1, 2, ...`` of training, every point D sees, real or generated, is
``x + sigma_t eps`` with ``eps ~ N(0, I)`` drawn afresh for every point and every
evaluation. D and G then play the game between the data and the generator's
distributions each convolved with ``N(0, sigma_t^2 I)``, whose supports overlap (the
motivation of Sonderby et al.); G's gradient passes through the noisy points
(``d(G(z) + sigma eps)/d theta_G = dG(z)/d theta_G``). A gradient penalty is evaluated on
the same noisy points D sees.

The noise is meant to be annealed to 0 (Sonderby et al. anneal it during training), so the
schedules are

- ``'constant'``: ``sigma_t = sigma`` (until ``t = until`` when given, then 0);
- ``'linear'``: ``sigma_t = sigma (1 - (t - 1) / until)`` until ``t = until``, then 0;
- ``'exponential'``: ``sigma_t = sigma 100^(-(t - 1) / until)`` until ``t = until``
  (down to ``sigma / 100`` there), then 0.

>>> noise = InstanceNoise(0.5, "linear", until=4)
>>> [noise.std(t) for t in range(1, 7)]
[0.5, 0.375, 0.25, 0.125, 0.0, 0.0]
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["InstanceNoise", "SCHEDULES"]

#: The annealing schedules of the noise's standard deviation.
SCHEDULES = ("constant", "linear", "exponential")


@dataclass(frozen=True)
class InstanceNoise:
    """The standard deviation ``sigma_t`` of instance noise at each iteration.

    Parameters
    ----------
    sigma : float
        The standard deviation at the first iteration, > 0.
    schedule : {'constant', 'linear', 'exponential'}
        How ``sigma_t`` is annealed (see the module docstring).
    until : int, optional
        The last iteration with noise (required by the annealed schedules; the constant
        one without it never ends).

    Raises
    ------
    ValueError
        ``sigma`` not a finite number > 0, an unknown schedule, or ``until`` missing (an
        annealed schedule) or not an integer >= 1.
    """

    sigma: float
    schedule: str = "constant"
    until: int | None = None

    def __post_init__(self):
        check(self.sigma, self.schedule, self.until)
        if not self.sigma > 0:
            raise ValueError(f"the instance noise's std must be > 0, got {self.sigma!r}")

    def std(self, t: int) -> float:
        """``sigma_t`` at iteration ``t >= 1``."""
        if self.until is not None and t > self.until:
            return 0.0
        if self.schedule == "constant":
            return self.sigma
        frac = (t - 1) / self.until
        if self.schedule == "linear":
            return self.sigma * (1.0 - frac)
        return self.sigma * 100.0 ** -frac

    def add(self, x: np.ndarray, t: int, rng) -> None:
        """``x += sigma_t eps`` in place, ``eps`` of ``x``'s shape from ``rng.standard_normal``
        (a Generator, or a population's per-seed source); nothing is drawn when ``sigma_t = 0``."""
        s = self.std(t)
        if s:
            eps = rng.standard_normal(x.shape)
            eps *= s
            x += eps


def check(sigma, schedule: str, until) -> None:
    """Validate instance noise's settings (:class:`InstanceNoise`; ``sigma = 0`` is off).

    Raises
    ------
    ValueError
        One line naming the bad setting.
    """
    if isinstance(sigma, (bool, np.bool_)) or not isinstance(sigma, (int, float, np.integer, np.floating)) \
            or not math.isfinite(sigma) or sigma < 0:
        raise ValueError(f"the instance noise's std must be a finite number >= 0, got {sigma!r}")
    if schedule not in SCHEDULES:
        raise ValueError(f"the instance noise schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    if until is None and (schedule == "constant" or not sigma):  # no end needed (or no noise at all)
        return
    if isinstance(until, (bool, np.bool_)) or not isinstance(until, (int, np.integer)) or until < 1:
        raise ValueError(f"the {schedule} instance noise schedule needs noise_until (--noise-until), the last "
                         f"iteration with noise, an integer >= 1; got {until!r}")
