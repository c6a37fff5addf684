"""A gandyn plugin for the tests: registers a loss, a training method and a 2-D data set.

- ``plugin-nonsat``: the non-saturating loss of Goodfellow et al. 2014 written as a
  user-defined separable loss (:func:`gandyn.engine.losses.separable`), so it trains as ``nonsat``
  does up to rounding;
- ``plugin-simgd``: simultaneous gradient descent under another name (the method protocol
  of :mod:`gandyn.engine.methods`: ``name``, ``init``, ``step``, ``draws``), so it trains as
  ``simgd`` does;
- ``plugin-ring4``: a ring of 4 Gaussians for ``gandyn mog``.
"""
from dataclasses import dataclass

import autograd.numpy as anp

from gandyn.distributions import ring2d
from gandyn.engine.losses import LOSSES, separable
from gandyn.engine.methods import METHODS, SimGD
from gandyn.experiments.mog import DATASETS


@LOSSES.register("plugin-nonsat")
def plugin_nonsat():
    return separable(d_real=lambda o: anp.logaddexp(0.0, -o), d_fake=lambda o: anp.logaddexp(0.0, o),
                     g_fake=lambda o: anp.logaddexp(0.0, -o), name="plugin-nonsat")


@dataclass(frozen=True)
class PluginSimGD(SimGD):
    """Simultaneous gradient descent, registered by a plugin."""

    name: str = "plugin-simgd"


METHODS.register(PluginSimGD.name, PluginSimGD)
DATASETS.register("plugin-ring4", lambda: ring2d(4))
