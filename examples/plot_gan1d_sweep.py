"""
A population sweep over step sizes and its convergence map
===========================================================

gandyn trains many small GANs at once: a *population* stacks the parameters of ``P`` models
along a leading axis, and every matrix product of the engine serves all of them. Here
``10 x 10`` pairs of step sizes ``(lr_D, lr_G)`` times 2 seeds, 200 one-dimensional GANs,
train in one population; each ends with its Jensen-Shannon divergence to the data. The
command ``gandyn gan1d --sweep`` does the same on a 32 x 32 grid with 3 seeds.
"""

# %%
# The sweep
# ---------
# Models that share a seed share their initial parameters and their minibatches (common
# random numbers), so along each axis of the map only the step size changes.
import matplotlib.pyplot as plt
import numpy as np

from gandyn.experiments import gan1d
from gandyn.plotting.gan1d import convergence_map

setup = gan1d.setup()  # N(4, 0.5^2) data, U(-1, 1) noise, 1-16-1 MLPs, Adam
lrs = np.logspace(-4, -1, 10)
arrays, meta = gan1d.sweep(setup, lr_g_values=lrs, lr_d_values=lrs, seeds=[0, 1], steps=1200, threshold=0.1)
jsd = arrays["jsd"][0, 0]  # (seeds, lr_d, lr_g) of the only k and loss
print(f"{arrays['converged'].mean():.0%} of {jsd.size} runs reach a JSD below {meta['threshold']} nats")

# %%
# The convergence map
# -------------------
# Left, the median final JSD over seeds (white line: the threshold); right, the share of
# seeds below the threshold. Too small a step size has not moved G to the data in 1200
# iterations; too large a one makes training oscillate or diverge.
convergence_map(arrays, meta)
plt.show()

# %%
# The same numbers as table rows (one per model), for a data frame or a CSV file
rows = gan1d.sweep_rows(arrays)
best = min(rows, key=lambda r: r["jsd"])
print(len(rows), "rows; best:", best)
