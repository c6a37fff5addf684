"""
A custom loss on the ring of 8 Gaussians
========================================

A GAN loss in gandyn is D's and G's loss as functions of D's outputs on a real and a
generated minibatch. :func:`gandyn.engine.losses.custom` takes only their *values*, written
with :mod:`autograd.numpy`, and forms their gradients (and Hessian-vector products) by
autograd on the outputs; the networks' passes stay hand-written. Registered under a name,
the loss is available to every trainer, configuration and command.

Here G's non-saturating loss gets an extra term that reads the *real* outputs too: the
squared gap between D's mean logit on real and on generated points,

.. math::

    L_G = \\frac1m\\sum_i \\log\\bigl(1 + e^{-o^\\mathrm{fake}_i}\\bigr)
          + \\lambda\\,\\bigl(\\overline{o^\\mathrm{real}} - \\overline{o^\\mathrm{fake}}\\bigr)^2,

and both losses train populations of GANs on the ring of 8 Gaussians (Metz et al. 2017),
the classic test of mode collapse.
"""

# %%
# Define and register the loss
# ----------------------------
# Each function takes the two output vectors (the batch on the last axis, population axes in
# front) and returns one value per model.
import autograd.numpy as anp
import matplotlib.pyplot as plt
import numpy as np

from gandyn.distributions import ring2d
from gandyn.engine import losses
from gandyn.engine.population import TRAINING, Networks, Population, Setup
from gandyn.metrics import mixture_modes, mode_coverage

LAMBDA = 0.5


def d_loss(o_real, o_fake):  # D's cross-entropy (Goodfellow et al. 2014, eq. 1)
    return anp.mean(anp.logaddexp(0.0, -o_real), axis=-1) + anp.mean(anp.logaddexp(0.0, o_fake), axis=-1)


def g_loss(o_real, o_fake):  # non-saturating, plus the gap of the mean logits
    gap = anp.mean(o_real, axis=-1) - anp.mean(o_fake, axis=-1)
    return anp.mean(anp.logaddexp(0.0, -o_fake), axis=-1) + LAMBDA * gap ** 2


def nonsat_matching():
    return losses.custom(d_loss, g_loss, name="nonsat-matching", source="this example")


losses.LOSSES.register("nonsat-matching", nonsat_matching, replace=True)
loss = losses.get("nonsat-matching")
print(loss.name, "| G's loss reads the real outputs:", loss.g_reads_real)

# %%
# Its gradients are autograd's; check one against a central difference
o_real, o_fake = np.array([0.3, -1.0, 2.0]), np.array([-0.5, 0.1, 1.5])
value, g_real, g_fake = loss.g_loss(o_real, o_fake)
e = 1e-6 * np.eye(3)[1]
fd = (g_loss(o_real, o_fake + e) - g_loss(o_real, o_fake - e)) / 2e-6
print(f"dL_G/do_fake[1]: autograd {g_fake[1]:.8f}, central difference {fd:.8f}")

# %%
# Train two small populations
# ---------------------------
# Four seeds each, 2000 iterations of alternating Adam steps, 2-64-64-2 networks. The
# same seeds under both losses start from the same parameters and see the same minibatches.
results = {}
for name in ("nonsat", "nonsat-matching"):
    setup = Setup(ring2d(), networks=Networks(hidden_g=(64, 64), hidden_d=(64, 64)), training=TRAINING.replace(loss=name))
    pop = Population(setup, seeds=range(4), lr_g=5e-3, lr_d=1e-2)
    pop.advance(2000)
    centres, sd = mixture_modes(setup.data)
    samples = pop.samples(1000)
    results[name] = (samples, mode_coverage(samples, centres, sd))
    cov = results[name][1]
    print(f"{name:16s} modes covered per seed {cov.modes.tolist()}, "
          f"high-quality share {np.round(cov.high_quality, 2).tolist()}")

# %%
# Samples of every model
# ----------------------
# Black crosses are the eight modes; the title gives the modes covered (a mode counts with
# at least one of 1000 samples within three standard deviations of it, Srivastava et al. 2017).
fig, axes = plt.subplots(2, 4, figsize=(12, 6.4), sharex=True, sharey=True)
for row, (name, (samples, cov)) in zip(axes, results.items()):
    for j, ax in enumerate(row):
        ax.scatter(samples[j, :, 0], samples[j, :, 1], s=2, color="green", alpha=0.4)
        ax.plot(centres[:, 0], centres[:, 1], "kx", markersize=6)
        ax.set_title(f"{name}, seed {j}: {int(cov.modes[j])}/8 modes", fontsize=9)
        ax.set_aspect("equal")
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
fig.tight_layout()
plt.show()

# %%
# Remove the name again (only needed because this script may run in a shared process)
_ = losses.LOSSES.unregister("nonsat-matching")
