"""
A new training method on the field oracle, with its closed form
===============================================================

A training method in gandyn is a small object whose ``step`` is written against the
*field oracle* of one minibatch (:mod:`gandyn.engine.oracle`): the players' gradients
``omega = (grad_G L_G, grad_D L_D)``, Jacobian-vector products ``J v`` and transposed ones
``J^T u``. The engine supplies the oracle by hand-written passes for MLP GANs, the toy games
by autograd, so the same object trains networks *and* has an exact step matrix on a game.

The method written here is **Hamiltonian gradient descent** (Balduzzi et al. 2018, Sec. 3;
Loizou et al. 2020): both players descend the Hamiltonian ``H(z) = ||omega(z)||^2 / 2``,
whose gradient is one transposed product, ``grad H = J^T omega``. It is not shipped with
gandyn (consensus optimisation, which is, adds ``gamma J^T omega`` to ``omega``).
"""

# %%
# The method: one class and one registry line
# -------------------------------------------
# ``draws(k)`` says how many minibatches of data and noise one iteration draws (the oracle
# draws one data batch and D's and G's noise, as a simultaneous step does); ``needs_products``
# asks for exact Jacobian products (the engine refuses spectral normalisation and D dropout
# with it); ``takes_penalty = False`` refuses D's gradient penalties, whose products the
# method would ignore.
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from gandyn import games
from gandyn.engine import GAN, MLP, FixedBatches, Trainer, optim
from gandyn.engine.methods import METHODS
from gandyn.games import dynamics as dy


@dataclass(frozen=True)
class Hamiltonian:
    name: str = "hamiltonian"
    needs_products = True
    takes_penalty = False

    def draws(self, k):
        return 1, 2

    def init(self, tr):
        return None

    def step(self, tr, state):
        F = tr.oracle()
        d_g, d_d = F.vjp(F.grad_g, F.grad_d)  # J^T omega = grad ||omega||^2 / 2
        tr.state_d = tr.opt_d.update(tr.theta_d, d_d, tr.state_d)
        tr.state_g = tr.opt_g.update(tr.theta_g, d_g, tr.state_g)
        return F.loss_d, F.loss_g, state


METHODS.register("hamiltonian", Hamiltonian, replace=True)

# %%
# Its closed form on the Dirac-GAN
# --------------------------------
# At the Dirac-GAN's equilibrium ``J = [[0, c], [-c, 0]]`` (``c = 1/2``, Mescheder et al.
# 2018), so ``J^T J = c^2 I`` and one step of size ``h`` is ``(1 - h c^2) I``: both
# eigenvalues are ``1 - h c^2``, real. Simultaneous GD's are ``1 +- i h c``, of modulus above 1.
# :func:`~gandyn.games.dynamics.step_matrix` differentiates the method's own ``step`` with
# autograd.
h, c = 0.5, games.C_DIRAC
dirac = games.dirac_gan()
M = dy.step_matrix(dy.make("hamiltonian"), dirac, np.zeros(2), h)
print("step matrix:\n", M)
print("largest error against 1 - h c^2:", np.max(np.abs(np.linalg.eigvals(M) - (1 - h * c * c))))

# %%
# The trajectories: SimGD spirals out, Hamiltonian descent goes straight in (it removes the
# rotation, where consensus optimisation only damps it).
fig, ax = plt.subplots(figsize=(5, 5))
for name, method in (("SimGD", dy.simgd()), ("consensus", dy.consensus(1.0)), ("Hamiltonian", dy.make("hamiltonian"))):
    z = dy.trajectory(method, dirac, [1.0, 1.0], h, 120)
    ax.plot(z[:, 0], z[:, 1], label=name, linewidth=1)
ax.plot([0], [0], "k*")
ax.set_xlabel(r"$\theta$ (generator)")
ax.set_ylabel(r"$\psi$ (discriminator)")
ax.set_aspect("equal")
ax.legend(frameon=False)
plt.show()

# %%
# The same object trains an MLP GAN
# ---------------------------------
# On a fixed batch (full-batch training) with plain gradient steps, Hamiltonian descent is
# gradient descent on ``H``, so ``||omega||`` falls step after step; simultaneous GD has no
# such quantity. The game of the same batch (:func:`gandyn.games.mlp_gan_game`) measures
# ``||omega||`` independently of the trainer.
rng = np.random.default_rng(0)
gan = GAN(MLP((1, 8, 1), ("tanh", "identity")), MLP((1, 8, 1), ("tanh", "identity")))
x, zlat = rng.normal(1.0, 0.5, (64, 1)), rng.uniform(-1, 1, (64, 1))
game = games.mlp_gan_game(gan, x, zlat)
tg, td = gan.G.init(rng), gan.D.init(rng)
norms = {}
for name in ("simgd", "hamiltonian"):
    tr = Trainer(gan, optim.sgd(0.05), optim.sgd(0.05), tg.copy(), td.copy(), FixedBatches(x, zlat),
                 batch=64, method=name)
    norms[name] = []
    for _ in range(300):
        norms[name].append(np.linalg.norm(game.field(np.concatenate([tr.theta_g, tr.theta_d]))))
        tr.step()
    print(f"{name:12s} ||omega||: {norms[name][0]:.3f} -> {norms[name][-1]:.4f}")

fig, ax = plt.subplots(figsize=(6, 3.5))
for name, v in norms.items():
    ax.semilogy(v, label=name)
ax.set_xlabel("iteration")
ax.set_ylabel(r"$\|\omega\|$ on the batch")
ax.legend(frameon=False)
fig.tight_layout()
plt.show()

# %%
print("H decreased at every step:", bool(np.all(np.diff(norms["hamiltonian"]) < 0)))
_ = METHODS.unregister("hamiltonian")  # this example's name only
