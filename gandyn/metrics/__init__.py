"""Sample metrics: Parzen-window log-likelihood, Inception score, Frechet distance, kernel
Inception distance, mode histograms, mode coverage of mixtures (:mod:`~gandyn.metrics.modes`), the uncertainty of a table's rates and means
(:mod:`~gandyn.metrics.intervals`: Wilson intervals, standard errors), and the MNIST classifier gandyn
trains itself for them.

Public names are re-exported here: ``gandyn.metrics.frechet_distance``.
"""
from gandyn.metrics import classifier, intervals, modes, scores
from gandyn.metrics.intervals import Z95, format_pm, mean_se, rate_columns, spread_columns, wilson_interval
from gandyn.metrics.modes import ModeCoverage, mixture_modes, mode_coverage, reverse_kl_uniform
from gandyn.metrics.scores import *  # noqa: F401,F403
from gandyn.metrics.scores import __all__ as _scores_all

__all__ = [*_scores_all, "ModeCoverage", "mixture_modes", "mode_coverage", "reverse_kl_uniform",
           "Z95", "wilson_interval", "mean_se", "format_pm", "rate_columns", "spread_columns", "classifier", "intervals", "modes", "scores"]
