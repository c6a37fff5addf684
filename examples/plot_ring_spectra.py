"""
Eigenvalues along training of a ring model
==========================================

Near an equilibrium, the game Jacobian ``J = d omega / dz`` decides what simultaneous
training does: eigenvalues with negative real parts push away, large imaginary parts rotate
(Mescheder et al. 2017; Berard et al. 2020 measure this on real GANs). The players' own
Hessians ``H_GG``, ``H_DD`` (the diagonal blocks of ``J``) decide whether a point is a
differential Nash equilibrium (both positive definite; Ratliff, Burden & Sastry 2013).

Here one GAN learns the ring of 8 Gaussians, and at six checkpoints the *whole* spectrum of
``J`` and of the two blocks is computed on a fixed batch (:func:`gandyn.games.spectra.dense_spectrum`,
from the engine's exact Jacobian-vector products). ``gandyn landscape`` does the same for
saved runs, with matrix-free searches for large networks.
"""

# %%
# Train, keeping checkpoints
# --------------------------
import matplotlib.pyplot as plt
import numpy as np

from gandyn import games
from gandyn.distributions import ring2d
from gandyn.engine.population import Networks, Population, Setup
from gandyn.games import spectra
from gandyn.rng import stream

setup = Setup(ring2d(), networks=Networks(hidden_g=(16, 16), hidden_d=(16, 16)))  # Adam b1 = 0.5, batch 128
pop = Population(setup, 0, lr_g=5e-3, lr_d=1e-2)  # one seed: a single run
checkpoints = {}
for it in (0, 250, 500, 1000, 2000, 3000):
    pop.advance(it - pop.it)
    checkpoints[it] = np.concatenate([pop.theta_g, pop.theta_d]).astype(np.float64)

# %%
# The game of a fixed batch
# -------------------------
# 256 data points and 256 latent draws from the seed's ``eval`` stream;
# :func:`gandyn.games.mlp_gan_game` makes the GAN a game at ``z = concat(theta_G, theta_D)``
# in the engine's own layout, so a checkpoint is a point of it.
rng = stream(0, "eval")
game = games.mlp_gan_game(setup.gan, setup.draw_data(256, rng), setup.gan.latent.rvs((256, setup.networks.z_dim), rng))
print(f"{game.n_g} generator and {game.n - game.n_g} discriminator parameters")

spec = {it: spectra.dense_spectrum(game, z) for it, z in checkpoints.items()}
for it, s in spec.items():
    print(f"iteration {it:5d}: ||omega|| = {np.linalg.norm(game.field(checkpoints[it])):.3f}, "
          f"Re eig J in [{s['j'].real.min():7.3f}, {s['j'].real.max():7.3f}], "
          f"max |Im| = {np.abs(s['j'].imag).max():.3f}, "
          f"min eig H_GG = {s['g'][0]:7.3f}, min eig H_DD = {s['d'][0]:7.3f}")

# %%
# The spectrum of J in the complex plane
# --------------------------------------
# The real axis is on a symmetric log scale: the few large eigenvalues (the stiff directions
# of the generator) and the many near zero both show.
fig, axes = plt.subplots(2, 3, figsize=(12, 6.5), sharex=True, sharey=True)
for ax, (it, s) in zip(axes.flat, spec.items()):
    lam = s["j"]
    ax.scatter(lam.real, lam.imag, s=6, color="tab:blue")
    ax.axvline(0.0, color="gray", linewidth=0.6)
    ax.set_xscale("symlog", linthresh=1e-2)
    ax.set_xticks([-10, -0.1, 0, 0.1, 10, 1000])
    ax.set_title(f"iteration {it}", fontsize=9)
fig.supxlabel(r"Re $\lambda(J)$")  # the axes are shared: one label for the grid
fig.supylabel(r"Im $\lambda(J)$")
fig.tight_layout()
plt.show()

# %%
# Extreme eigenvalues along training
# ----------------------------------
# Negative eigenvalues of ``H_GG`` or ``H_DD`` mean a player could still lower its own cost
# by moving alone: the run is not at a differential Nash equilibrium.
its = list(spec)
fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
a1.plot(its, [spec[i]["g"][0] for i in its], "o-", color="green", label=r"min eig $H_{GG}$")
a1.plot(its, [spec[i]["d"][0] for i in its], "o-", color="blue", label=r"min eig $H_{DD}$")
a1.plot(its, [spec[i]["j"].real.min() for i in its], "o-", color="black", label=r"min Re eig $J$")
a1.axhline(0.0, color="gray", linewidth=0.6)
a1.set_xlabel("iteration")
a1.legend(frameon=False, fontsize=8)
a2.semilogy(its, [spec[i]["g"][-1] for i in its], "o-", color="green", label=r"max eig $H_{GG}$")
a2.semilogy(its, [spec[i]["d"][-1] for i in its], "o-", color="blue", label=r"max eig $H_{DD}$")
a2.semilogy(its, [np.abs(spec[i]["j"].imag).max() for i in its], "o-", color="black", label=r"max |Im eig $J$|")
a2.set_xlabel("iteration")
a2.legend(frameon=False, fontsize=8)
fig.tight_layout()
plt.show()

# %%
# The matrix-free search agrees with the dense spectrum
# -----------------------------------------------------
# For networks too large to form ``J``, :func:`gandyn.games.spectra.game_spectrum` finds the
# extreme eigenpairs by ARPACK from products alone, each with its residual.
found = spectra.game_spectrum(game, checkpoints[3000], k=4, blocks=("g",))
top = found["g"]["LA"]
print("largest eigenvalues of H_GG, matrix-free:", np.sort(top.values)[::-1].round(6))
print("                                   dense:", spec[3000]["g"][::-1][:4].round(6))
