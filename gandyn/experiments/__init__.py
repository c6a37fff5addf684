"""The reproductions built on the library: the 1D GAN (:mod:`~gandyn.experiments.gan1d`),
the theory check (:mod:`~gandyn.experiments.theory_check`), the game study
(:mod:`~gandyn.experiments.game_study`), the MNIST GAN (:mod:`~gandyn.experiments.mnist`)
with its evaluation protocol (:mod:`~gandyn.experiments.evaluation`), and the demo.

Submodules are imported on use (``from gandyn.experiments import gan1d``).
"""
