"""The theory of Goodfellow et al. 2014, Section 4: distributions (re-exported from
:mod:`gandyn.distributions`), the density of a
generator, the optimal discriminator, V(D, G), C(G), KL and JSD (quadrature, Monte
Carlo, grid), and fitting a discriminator to a fixed generator; and, for every loss
of :mod:`gandyn.engine.losses`, its optimal discriminator and divergence
(:mod:`gandyn.theory.gan_losses`: LSGAN, hinge, WGAN, f-GANs); families of distribution pairs
to test them on, some with closed forms (:mod:`gandyn.theory.families`).

Public names are re-exported here, so ``gandyn.theory.jsd`` is the name to use.
The hypothesis strategies for property tests of this math are in :mod:`gandyn.testing`.
"""
from gandyn import distributions
from gandyn.theory import density, divergences, families, gan_losses, optimal_d
from gandyn.theory.density import *  # noqa: F401,F403
from gandyn.theory.density import __all__ as _density_all
from gandyn.distributions import *  # noqa: F401,F403
from gandyn.distributions import __all__ as _distributions_all
from gandyn.theory.divergences import *  # noqa: F401,F403
from gandyn.theory.divergences import __all__ as _divergences_all
from gandyn.theory.families import *  # noqa: F401,F403
from gandyn.theory.families import __all__ as _families_all
from gandyn.theory.gan_losses import *  # noqa: F401,F403
from gandyn.theory.gan_losses import __all__ as _gan_losses_all
from gandyn.theory.optimal_d import *  # noqa: F401,F403
from gandyn.theory.optimal_d import __all__ as _optimal_d_all

__all__ = [*_distributions_all, *_density_all, *_divergences_all, *_families_all, *_gan_losses_all, *_optimal_d_all,
           "density", "distributions", "divergences", "families", "gan_losses", "optimal_d"]
