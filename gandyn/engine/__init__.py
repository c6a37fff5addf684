"""The engine: flat parameter vectors, MLPs with hand-written backward passes, GAN
losses as objects (:class:`~gandyn.engine.losses.Loss`, the registry ``LOSSES``), optimizers on flat vectors and the one trainer of Algorithm 1.

It imports nothing of gandyn above it (only :mod:`gandyn.rng`); the theory, games,
metrics and experiments build on it.

>>> from gandyn.engine import MLP
>>> MLP((2, 3, 1), ("relu", "identity")).layout.size
13
"""
from gandyn.engine import gan, layout, losses, nn, optim
from gandyn.engine.gan import GAN, Run, sample_latent
from gandyn.engine.layout import Layout
from gandyn.engine.losses import LOSSES, Loss
from gandyn.engine.nn import ACTIVATIONS, INITIALIZERS, MLP, dropout_masks

__all__ = ["GAN", "Run", "sample_latent", "Layout", "LOSSES", "Loss", "MLP", "ACTIVATIONS", "INITIALIZERS", "dropout_masks",
           "gan", "layout", "losses", "nn", "optim"]
