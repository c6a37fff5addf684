"""gandyn: theory and training dynamics of generative adversarial networks, in NumPy.

Submodules are imported on first use, so ``import gandyn`` is cheap and never
pulls in matplotlib::

    >>> import gandyn
    >>> gandyn.nn.MLP((2, 3, 1), ("relu", "identity")).layout.size
    13

Modules (one concept each):

``layout``  flat parameter vectors and named zero-copy views
``nn``      MLP forward and hand-written backward pass, with a population axis
``losses``  GAN losses on logits (Goodfellow et al. 2014, eq. 1)
``optim``   SGD, momentum and Adam as ``(init, update)`` pairs on flat vectors
``rng``     named, independent random streams from one seed (NEP/SPEC 7)
``gan``     one discriminator step and one generator step of Algorithm 1
``distributions`` Normal, Uniform, mixtures (1-D and 2-D) with pdf, cdf, rvs, bounds
``density`` the density p_g of a 1-D generator network (change of variables or KDE)
``theory``  D*, V(D, G), C(G), KL and JSD (quadrature, Monte Carlo, grid)
``metrics`` Parzen log-likelihood, Inception score, Frechet distance, mode histogram
``classifier`` the MNIST classifier gandyn trains itself (shipped weights)
``evaluation`` MNIST sample metrics by Goodfellow et al. 2014's protocol, with real ceilings
``gan1d``   the 1D GAN of Goodfellow et al. 2014: training populations, Figure 1, sweeps
``history`` training histories in one compact .npz file
``traced``  autograd-traceable MLP forward on the engine's flat layout
``games``   two-player games on flat z, game form, Jacobian (dense / matrix-free), GAN games
``nash``    Ratliff-Burden-Sastry classification of a point (dense or ARPACK)
``dynamics`` SimGD, AltGD, extragradient, optimistic, consensus, SGA, TTUR on any game
``game_study`` the experiments of ``gandyn nash``
``data``    MNIST IDX files: search, mirror download, SHA-256 and format checks
``mnist``   the talk's vanilla GAN on MNIST: config, checkpoints, bit-for-bit resume, training
``plotting`` figures (imports matplotlib; load it only to draw)
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = {
    "layout", "nn", "losses", "optim", "rng", "gan", "io", "demo", "plotting", "cli",
    "data", "mnist",
    "distributions", "density", "theory", "discriminator", "theory_check",
    "gan1d", "history",
    "metrics", "classifier", "evaluation",
    "traced", "games", "nash", "dynamics", "game_study",
}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'gandyn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES)
