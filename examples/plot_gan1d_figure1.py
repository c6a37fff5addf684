"""
Figure 1 of the 1-D GAN, from a real run
========================================

Goodfellow et al. (2014) illustrate training with a schematic (their Figure 1): the data
density (black dots), the generator's density (green), the discriminator (blue dashes), and
the map ``x = G(z)`` drawn as arrows from a ``z`` line to the ``x`` line. Here the four
panels come from an actual run: a 1-16-1 tanh generator fed ``z ~ U(-1, 1)`` learns
``p_data = N(4, 0.5^2)`` against a 1-16-1 ReLU discriminator, with Adam.
"""

# %%
# Train and record
# ----------------
# :func:`gandyn.experiments.gan1d.record_run` trains one GAN with the engine's trainer
# (Algorithm 1, ``k = 1``) and, every ``record_every`` iterations, records the theory's
# quantities on a fixed grid: ``p_g`` (an exact change of variables when ``G`` is
# monotone), ``D``, the optimal ``D* = p_data / (p_data + p_g)`` and
# ``JSD(p_data || p_g)``. The command ``gandyn gan1d`` does the same with 3000 iterations.
import matplotlib.pyplot as plt

from gandyn.experiments import gan1d
from gandyn.plotting.gan1d import figure1, jsd_curves

setup = gan1d.setup()  # N(4, 0.5^2) data, U(-1, 1) noise, 1-16-1 MLPs, minibatch 64, Adam
arrays, meta = gan1d.record_run(setup, seed=0, lr_g=2e-3, lr_d=2e-3, steps=1500, record_every=50)
print(f"JSD after {meta['steps']} iterations: {arrays['jsd'][-1]:.3f} nats (log 2 = 0.693 at the start)")

# %%
# The four panels
# ---------------
# :func:`~gandyn.experiments.gan1d.pick_panels` picks them from the history by fixed rules:
# (a) early, (b) D closest to D* before the JSD has halved, (c) the first later record with
# half of (b)'s JSD, (d) the last record.
panels = gan1d.pick_panels(arrays)
print({letter: int(arrays["it"][r]) for letter, r in panels.items()})
figure1(arrays, panels)
plt.show()

# %%
# The value of the game along the run
# -----------------------------------
# Theorem 1 of the paper: ``C(G) = max_D V(D, G) = -log 4 + 2 JSD(p_data || p_g)``, whose
# minimum ``-log 4`` is reached only at ``p_g = p_data``. The oscillation is the rotation
# around the equilibrium that the Dirac-GAN example studies.
jsd_curves(arrays)
plt.show()
