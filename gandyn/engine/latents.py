"""The latent distributions of generators, by name: ``z ~ U(-1, 1)^{d_z}`` (the talk's
``sample_Z``) and ``N(0, I)``.

A latent is a distribution object of :mod:`gandyn.distributions` (any 1-D one whose
``rvs`` takes ``dtype`` and ``out``); its coordinates are independent. Configs name
it (``"uniform"``, ``"normal"``), and :data:`LATENTS` turns the name into the object.

>>> from gandyn.engine.latents import LATENTS, as_latent, latent_name
>>> LATENTS.names()
('uniform', 'normal')
>>> as_latent("uniform")
Uniform(low=-1.0, high=1.0)
>>> latent_name(as_latent("normal"))
'normal'
"""
from __future__ import annotations

from gandyn.distributions import Distribution, Normal, Uniform
from gandyn.engine.registry import Registry

__all__ = ["LATENTS", "as_latent", "latent_name"]

#: The named latents.
LATENTS: Registry[Distribution] = Registry("latent")
LATENTS.register("uniform", Uniform(-1.0, 1.0))
LATENTS.register("normal", Normal(0.0, 1.0))


def as_latent(latent: str | Distribution) -> Distribution:
    """The latent distribution for a name of :data:`LATENTS` or a 1-D distribution object.

    Raises
    ------
    ValueError
        An unknown name (the message lists the choices), or a distribution that is not 1-D.
    """
    if isinstance(latent, Distribution):
        if latent.dim != 1:
            raise ValueError(f"a latent distribution is 1-D per coordinate, got dim {latent.dim}")
        return latent
    return LATENTS[latent]


def latent_name(latent: str | Distribution) -> str:
    """The registry name of a latent (for configs and history files), else its ``repr``."""
    dist = as_latent(latent)
    for name, d in LATENTS.items():
        if d == dist:
            return name
    return repr(dist)
