"""
The Dirac-GAN: every training method, its eigenvalues and trajectories
======================================================================

Mescheder, Geiger & Nowozin (2018, "Which training methods for GANs do actually
converge?") reduce GAN training to two numbers: the data is a point mass at 0, the generator
a point mass at ``theta`` and the discriminator's logit ``-psi x``. The equilibrium is
``(theta, psi) = (0, 0)``, where the game Jacobian is ``J = [[0, c], [-c, 0]]`` with
``c = 1/2``: a pure rotation. Whether a method converges is decided by the spectral radius
of the Jacobian of *one step* of it at the equilibrium (below 1: locally convergent).

:mod:`gandyn.games.dynamics` has every method as an ``(init, step)`` pair, and
:func:`~gandyn.games.dynamics.step_matrix` differentiates one step of the method's own
code with autograd, so the eigenvalues below are measured, not derived.
"""

# %%
# The methods and the regularised games
# -------------------------------------
# Most entries are training methods on the plain Dirac-GAN; R1 and instance noise change the
# players' costs (a different game, :func:`gandyn.games.dirac_gan`) and are trained by
# simultaneous gradient descent.
import matplotlib.pyplot as plt
import numpy as np

from gandyn import games
from gandyn.games import dynamics as dy

h = 0.5
c = games.C_DIRAC
plain = games.dirac_gan()
cases = {
    "SimGD": (dy.simgd(), plain),
    "AltGD": (dy.altgd(), plain),
    "extragradient": (dy.extragradient(), plain),
    "optimistic": (dy.optimistic(), plain),
    "consensus (gamma=1)": (dy.consensus(1.0), plain),
    "SGA": (dy.sga(1.0), plain),
    "CGD": (dy.cgd(), plain),
    "LA": (dy.la(), plain),
    "LOLA": (dy.lola(), plain),
    "SOS": (dy.sos(), plain),
    "unrolled (K=5)": (dy.unrolled(5), plain),
    "lookahead(SimGD)": (dy.lookahead("simgd"), plain),
    "Nagarajan-Kolter": (dy.make("nk"), plain),
    "R1 (gamma=0.3)": (dy.simgd(), games.dirac_gan(r1=0.3)),
    "instance noise (sigma=1)": (dy.simgd(), games.dirac_gan(noise_std=1.0)),
}

# %%
# Spectral radius of one step at the equilibrium
# ----------------------------------------------
# The step matrix of a method that remembers something (optimistic GD keeps the last
# gradient) is larger than 2 x 2; its spectral radius is still the rate.
radius = {}
for name, (method, game) in cases.items():
    M = dy.step_matrix(method, game, np.zeros(2), h)
    radius[name] = dy.spectral_radius(M)
    print(f"{name:26s} spectral radius {radius[name]:.6f}")

# %%
# Two closed forms to check against (Mescheder et al. 2018, Lemma 2.3 and Section 3):
# one SimGD step multiplies ``theta^2 + psi^2`` by ``1 + h^2 c^2``, so its radius is
# ``sqrt(1 + h^2 c^2) > 1``; consensus optimisation moves the eigenvalues of ``J`` to
# ``gamma c^2 +- i c``, so a step of size ``h`` has radius ``|1 - h (gamma c^2 + i c)|``.
print("SimGD:    ", abs(radius["SimGD"] - np.sqrt(1 + h * h * c * c)))
print("consensus:", abs(radius["consensus (gamma=1)"] - abs(1 - h * (c * c + 1j * c))))

# %%
# Eigenvalues of the step matrices
# --------------------------------
# Inside the unit circle: the iterates contract to the equilibrium; on it (AltGD): they cycle;
# outside (SimGD): they spiral out.
fig, axes = plt.subplots(3, 5, figsize=(13, 8), sharex=True, sharey=True)
t = np.linspace(0, 2 * np.pi, 200)
for ax, (name, (method, game)) in zip(axes.flat, cases.items()):
    lam = np.linalg.eigvals(dy.step_matrix(method, game, np.zeros(2), h))
    ax.plot(np.cos(t), np.sin(t), color="gray", linewidth=0.6)
    ax.plot(lam.real, lam.imag, "o", color="tab:red" if radius[name] > 1 + 1e-12 else "tab:blue")
    ax.set_title(f"{name}\nradius {radius[name]:.4f}", fontsize=8)
    ax.set_aspect("equal")
    ax.set_xlim(-0.3, 1.3)
    ax.set_ylim(-0.8, 0.8)
fig.suptitle(f"eigenvalues of one step at the equilibrium, h = {h}", fontsize=10)
fig.tight_layout()
plt.show()

# %%
# Trajectories from (1, 1)
# ------------------------
# :func:`~gandyn.games.dynamics.trajectory` runs 150 steps of each method.
fig, axes = plt.subplots(3, 5, figsize=(13, 8), sharex=True, sharey=True)
for ax, (name, (method, game)) in zip(axes.flat, cases.items()):
    z = dy.trajectory(method, game, [1.0, 1.0], h, 150)
    ax.plot(z[:, 0], z[:, 1], linewidth=0.8)
    ax.plot([1.0], [1.0], "k.", markersize=5)
    ax.plot([0.0], [0.0], "*", color="black", markersize=7)
    ax.set_title(f"{name}\n|z_150| = {np.linalg.norm(z[-1]):.2g}", fontsize=8)
    ax.set_xlim(-2.5, 2.5)
    ax.set_ylim(-2.5, 2.5)
    ax.set_aspect("equal")
fig.supxlabel(r"$\theta$ (generator)")  # the axes are shared: one label for the grid
fig.supylabel(r"$\psi$ (discriminator)")
fig.tight_layout()
plt.show()
