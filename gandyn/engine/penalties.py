"""Gradient penalties of the discriminator, added to its loss in training: R1 and R2
(Mescheder, Geiger & Nowozin 2018, Eq. 9-10) and WGAN-GP (Gulrajani et al. 2017, Eq. 3).

``R1 = gamma/2 E_data ||grad_x D(x)||^2``, ``R2 = gamma/2 E_G ||grad_x D(x)||^2`` and
``GP = lambda E_xhat (||grad_x D(xhat)|| - 1)^2`` on ``xhat = e x_real + (1 - e) x_fake``,
``e ~ U[0, 1]`` per pair, where ``D`` is the discriminator's output (logit or critic
value). Their gradients w.r.t. D's parameters come from the hand-written double backward
of :func:`gandyn.engine.second_order.penalty_grad`; populations work as everywhere else.

Each loss knows the penalties the literature uses it with, and whether weight clipping
is (:attr:`Loss.penalties <gandyn.engine.losses.Loss>`, ``Loss.clip``); configs refuse
other pairs before any work (:func:`check_pairing`). Weight clipping (Arjovsky et al.
2017) is a projection of D's parameters after each step, an optimizer wrapper:
:func:`gandyn.engine.optim.clipped`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gandyn.engine.registry import Registry
from gandyn.engine.second_order import penalty_grad

__all__ = ["Penalty", "PENALTIES", "make_penalty", "check_pairing", "check_training"]


@dataclass(frozen=True)
class Penalty:
    """A gradient penalty on D (see the module docstring).

    Parameters
    ----------
    name : {'r1', 'r2', 'gp'}
    weight : float
        ``gamma`` (R1, R2) or ``lambda`` (GP), > 0.
    """

    name: str
    weight: float
    on: str  # "real", "fake" or "interpolates"
    center: float
    source: str

    def __call__(self, D, theta_d, x_real, x_fake, rng, grad_out, ws):
        """``(value, grad)`` at D's parameters on the step's real and generated rows;
        ``grad`` is written into ``grad_out``. ``rng`` draws the interpolation weights."""
        if self.on == "real":
            x = x_real
        elif self.on == "fake":
            x = x_fake
        else:
            e = rng.random(x_real.shape[:-1] + (1,)).astype(x_real.dtype)
            x = x_real * e + x_fake * (1 - e)
        return penalty_grad(D, theta_d, np.ascontiguousarray(x), center=self.center, scale=self.scale,
                            grad=grad_out, ws=ws)

    @property
    def scale(self) -> float:
        """The factor of ``sum_i w_i (||g_i|| - c)^2``: ``gamma/2`` (R1, R2), ``lambda`` (GP)."""
        return 0.5 * self.weight if self.center == 0 else self.weight


_SPECS = {
    "r1": ("real", 0.0,
           "Mescheder, Geiger & Nowozin 2018, Eq. 9; their analysis covers the cross-entropy losses and WGAN"),
    "r2": ("fake", 0.0, "Mescheder, Geiger & Nowozin 2018, Eq. 10"),
    "gp": ("interpolates", 1.0,
           "Gulrajani et al. 2017, Eq. 3 (WGAN); with the non-saturating and least-squares losses: Fedus et al. "
           "2018 and Kurach et al. 2019; with the relativistic standard losses: Jolicoeur-Martineau 2019, Sec. 5"),
}

#: The penalties by name; each entry makes a :class:`Penalty` from its weight.
PENALTIES: Registry = Registry("penalty")
for _name, (_on, _c, _src) in _SPECS.items():
    PENALTIES.register(_name, lambda weight, n=_name, o=_on, c=_c, s=_src: Penalty(n, float(weight), o, c, s))


def make_penalty(name: str, weight: float) -> Penalty:
    """A penalty by name and weight.

    Raises
    ------
    ValueError
        An unknown name (the choices listed) or a weight that is not positive and finite.
    """
    factory = PENALTIES[name]
    if not (np.isfinite(weight) and weight > 0):
        raise ValueError(f"the {name} penalty weight must be positive and finite, got {weight!r}")
    return factory(weight)


def _registered_with(test) -> list[str]:
    """The registered losses (default parameters) for which ``test(loss)`` holds."""
    from gandyn.engine.losses import LOSSES, get

    return [n for n in LOSSES.names() if test(get(n))]


def check_pairing(loss, penalty: str | None = None, clip: float | None = None) -> None:
    """Refuse a penalty or clipping with a loss (a name or a :class:`~gandyn.engine.losses.Loss`)
    that does not state it (``loss.penalties``, ``loss.clip``: what the literature uses it
    with); one line naming both and the registered losses it goes with."""
    from gandyn.engine.losses import get

    L = get(loss)
    if penalty is not None:
        p = PENALTIES[penalty](1.0)
        if penalty not in L.penalties:
            raise ValueError(f"the {penalty} penalty is not used with the {L.label!r} loss; it goes with "
                             f"{', '.join(_registered_with(lambda x: penalty in x.penalties))} ({p.source})")
    if clip is not None and not L.clip:
        raise ValueError(f"weight clipping is not used with the {L.label!r} loss; it goes with "
                         f"{', '.join(_registered_with(lambda x: x.clip))} (Arjovsky, Chintala & Bottou 2017)")


def check_training(loss: str, method, penalty: str | None, penalty_weight: float, clip: float | None) -> None:
    """Validate a config's training names and options at once (the one place configs and
    the command line check them): the loss is registered, the method (an object, or a
    registered name) takes the penalty, the penalty and
    its weight are valid, ``clip`` is positive, and the pairing is one the literature uses."""
    from gandyn.engine.losses import LOSSES
    from gandyn.engine.methods import METHODS, check_penalty

    LOSSES.check(loss, "loss")
    if isinstance(method, str):
        method = METHODS[METHODS.check(method, "method")]
    if penalty is not None:
        make_penalty(penalty, penalty_weight)
        check_penalty(method)
    if clip is not None and not (np.isfinite(clip) and clip > 0):
        raise ValueError(f"clip must be positive and finite, got {clip!r}")
    check_pairing(loss, penalty, clip)
