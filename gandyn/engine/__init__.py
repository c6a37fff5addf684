"""The engine: flat parameter vectors, MLPs with hand-written backward passes, GAN
losses as objects (:class:`~gandyn.engine.losses.Loss`, the registry ``LOSSES``), optimizers on flat vectors and the one trainer of Algorithm 1,
its complete state for checkpoints (:mod:`gandyn.engine.checkpoint`) and populations of GANs
trained at once, each model with its own seed, step sizes and method (:mod:`gandyn.engine.population`).

It imports nothing of gandyn above it (only :mod:`gandyn.rng` and :mod:`gandyn.distributions`); the theory, games,
metrics and experiments build on it.

>>> from gandyn.engine import MLP
>>> MLP((2, 3, 1), ("relu", "identity")).layout.size
13
"""
from gandyn.engine import gan, latents, layout, losses, methods, nn, optim, oracle, registry, trainer, workspace
from gandyn.engine.gan import GAN
from gandyn.engine.latents import LATENTS, as_latent
from gandyn.engine.layout import Layout
from gandyn.engine.losses import LOSSES, Loss
from gandyn.engine.nn import ACTIVATIONS, INITIALIZERS, MLP, dropout_masks
from gandyn.engine.optim import OPTIMIZERS
from gandyn.engine.oracle import FieldOracle
from gandyn.engine.registry import Registry
from gandyn.engine.trainer import FixedBatches, StreamBatches, Trainer
from gandyn.engine.workspace import Workspace

__all__ = ["GAN", "Trainer", "StreamBatches", "FixedBatches", "FieldOracle", "Layout", "LOSSES", "Loss", "MLP", "ACTIVATIONS",
           "INITIALIZERS", "LATENTS", "OPTIMIZERS", "Registry", "Workspace", "as_latent", "dropout_masks",
           "gan", "latents", "layout", "losses", "methods", "nn", "optim", "oracle", "registry", "trainer", "workspace"]
