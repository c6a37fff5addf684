"""
The optimal discriminator and the Jensen-Shannon identity
=========================================================

Section 4 of Goodfellow et al. (2014) in numbers. For a fixed generator, the discriminator
that maximises ``V(D, G) = E_data[log D] + E_G[log(1 - D)]`` is
``D*(x) = p_data(x) / (p_data(x) + p_g(x))`` (Proposition 1), and at ``D*`` the value is
``C(G) = -log 4 + 2 JSD(p_data || p_g)`` (Theorem 1). :mod:`gandyn.theory` computes every
term by quadrature (or Monte Carlo, with a standard error), and can train a real MLP
discriminator to compare with ``D*``.
"""

# %%
# D* for a data set and a generator
# ---------------------------------
# The data is a mixture of two Gaussians, the "generator" a single wide Gaussian.
import matplotlib.pyplot as plt
import numpy as np

from gandyn import theory
from gandyn.distributions import Mixture, Normal

p_data = Mixture([Normal(-2.0, 0.5), Normal(2.0, 0.5)], [0.5, 0.5])
p_g = Normal(0.5, 1.5)
x = np.linspace(-5.0, 6.0, 1101)
d_star = theory.d_star(p_data.pdf(x), p_g.pdf(x))

# %%
# A trained discriminator approaches D*
# -------------------------------------
# :func:`gandyn.theory.fit_discriminator` trains a 1-64-1 ReLU network with Adam on fresh
# samples of both distributions until its validation loss stops improving.
fit = theory.fit_discriminator(lambda rng, m: p_data.rvs(m, rng), lambda rng, m: p_g.rvs(m, rng),
                               seed=0, max_steps=3000)
print(f"trained for {fit.steps} steps ({fit.stopped}); mean |D - D*| under (p_data + p_g)/2 = "
      f"{np.trapezoid(np.abs(fit.prob(x) - d_star) * 0.5 * (p_data.pdf(x) + p_g.pdf(x)), x):.4f}")

fig, ax = plt.subplots(figsize=(7, 3.8))
ax.plot(x, p_data.pdf(x), color="black", linestyle=":", linewidth=2, label=r"$p_\mathrm{data}$")
ax.plot(x, p_g.pdf(x), color="green", label=r"$p_g$")
ax2 = ax.twinx()
ax2.plot(x, d_star, color="blue", linestyle="--", label=r"$D^* = p_\mathrm{data}/(p_\mathrm{data}+p_g)$")
ax2.plot(x, fit.prob(x), color="tab:orange", linewidth=1, label="trained MLP discriminator")
ax2.set_ylim(0, 1.05)
ax.set_xlabel("x")
ax.set_ylabel("density")
ax2.set_ylabel("D(x)")
fig.legend(loc="upper center", ncol=2, fontsize=8, frameon=False)
fig.tight_layout(rect=(0, 0, 1, 0.88))
plt.show()

# %%
# C(G) = -log 4 + 2 JSD along a family of generators
# --------------------------------------------------
# Slide the generator ``N(mu, 1)`` across the data ``N(0, 1)``. For each ``mu``:
# the value at ``D*`` (:func:`gandyn.theory.value` on D*'s logits, by quadrature), and the JSD
# (:func:`gandyn.theory.jsd`). The identity holds to rounding; the JSD tends to ``log 2``
# as the supports separate, and ``C(G)`` reaches its minimum ``-log 4`` only at ``mu = 0``.
p = Normal(0.0, 1.0)
mus = np.linspace(-6.0, 6.0, 49)
c_of_g, jsd = [], []
for mu in mus:
    q = Normal(float(mu), 1.0)
    c_of_g.append(theory.value(theory.d_star_function(p, q, logit=True), p, q, logit=True).value)
    jsd.append(theory.jsd(p, q).value)
c_of_g, jsd = np.array(c_of_g), np.array(jsd)
print(f"max |C(G) - (-log 4 + 2 JSD)| = {np.max(np.abs(c_of_g - (-theory.LOG4 + 2 * jsd))):.1e}")

fig, ax = plt.subplots(figsize=(7, 3.6))
ax.plot(mus, c_of_g, color="green", label=r"$C(G) = V(D^*, G)$ (quadrature)")
ax.plot(mus, -theory.LOG4 + 2 * jsd, "o", color="black", markersize=3,
        label=r"$-\log 4 + 2\,\mathrm{JSD}(p_\mathrm{data}\,\|\,p_g)$")
ax.axhline(-theory.LOG4, color="gray", linestyle="--", linewidth=0.8, label=r"$-\log 4$")
ax.axhline(0.0, color="gray", linestyle=":", linewidth=0.8, label=r"$0$ (JSD = log 2)")
ax.set_xlabel(r"generator mean $\mu$ ($p_g = N(\mu, 1)$, $p_\mathrm{data} = N(0, 1)$)")
ax.set_ylabel("nats")
ax.legend(fontsize=8, frameon=False)
fig.tight_layout()
plt.show()
