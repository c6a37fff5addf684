"""Sample metrics: Parzen-window log-likelihood, Inception score, Frechet distance, kernel
Inception distance, mode histograms, and the MNIST classifier gandyn trains itself for them.

Public names are re-exported here: ``gandyn.metrics.frechet_distance``.
"""
from gandyn.metrics import classifier, scores
from gandyn.metrics.scores import *  # noqa: F401,F403
from gandyn.metrics.scores import __all__ as _scores_all

__all__ = [*_scores_all, "classifier", "scores"]
