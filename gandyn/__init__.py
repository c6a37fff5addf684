"""gandyn: theory and training dynamics of generative adversarial networks, in NumPy.

Subpackages are imported on first use, so ``import gandyn`` is cheap and never
pulls in matplotlib::

    >>> import gandyn
    >>> gandyn.engine.MLP((2, 3, 1), ("relu", "identity")).layout.size
    13

Layers (a lower layer never imports a higher one; ``lint-imports`` checks it):

``engine``      flat vectors (``layout``), MLP forward/backward (``nn``), GAN losses on
                logits (``losses``), optimizers on flat vectors (``optim``), the GAN and
                the one trainer of Algorithm 1 (``gan``)
``theory``      distributions, generator densities, D*, V, C(G), KL, JSD, optimal-D fitting
``games``       two-player games on flat z, dynamics methods, Nash classification
``metrics``     Parzen, Inception score, Frechet distance, mode histograms, the classifier
``experiments`` the reproductions: ``gan1d``, ``theory_check``, ``game_study``, ``mnist``,
                ``evaluation``, ``demo``
``cli``, ``plotting`` the ``gandyn`` command and the figures (matplotlib, loaded to draw)

Top-level helpers: ``rng`` (named random streams, SPEC 7), ``io`` (atomic writes),
``history`` (training histories as .npz), ``data`` (MNIST files), ``plugins`` (the user's
modules that register names, loaded by the command line and by worker processes),
``testing`` (hypothesis strategies for GAN math).
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = {
    "engine", "theory", "games", "metrics", "experiments", "cli", "plotting",
    "rng", "io", "history", "data", "distributions", "plugins", "testing",
}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'gandyn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES)
