"""Training methods for GANs of the engine: how one iteration turns the two players'
gradients into updates. Each method is registered in :data:`METHODS` and trains one
model or a population with any optimizer (its step sizes included).

Every method draws its minibatches in the order of Algorithm 1 (a real batch and
noise for D, then noise for G) and evaluates the players' gradients through
:meth:`Trainer.field <gandyn.engine.trainer.Trainer.field>`:

- ``altgd``: Algorithm 1 of Goodfellow et al. 2014, ``k`` D steps, then one G step at the
  updated D (alternating gradient descent);
- ``simgd``: simultaneous gradient descent, both players step from the same point;
- ``extragradient``: Korpelevich 1976, stochastic, with fresh samples at the extrapolated
  point (Gidel et al. 2019, Eq. 19-20); with Adam it is their ExtraAdam (Algorithm 4), the
  moments see both gradients;
- ``optimistic``: ``theta <- theta - 2 s_t + s_{t-1}`` with ``s_t`` the optimizer's step
  (Daskalakis, Ilyas, Syrgkanis & Zeng 2018, Eq. 4 with SGD; their Optimistic Adam,
  Algorithm 1, with Adam);
- ``consensus`` (Mescheder, Nowozin & Geiger 2017), ``sga`` (symplectic gradient adjustment,
  Balduzzi et al. 2018) and ``cgd`` (competitive gradient descent, Schafer & Anandkumar
  2019), with exact Jacobian products from the hand-written second-order pass;
- ``lookahead``: lookahead-minmax (Chavdarova et al. 2021, Algorithm 1) around another
  method, every ``k_la`` steps both players move ``alpha`` of the way from their slow
  weights to the fast ones and restart from there.

With plain SGD of step ``h`` on a fixed batch each method equals its counterpart of
:mod:`gandyn.games.dynamics` on the same GAN as a game (tested to 1e-10).

A method is an object with ``name``, ``init(trainer) -> state``,
``step(trainer, state) -> (loss_d, loss_g, state)`` and ``draws(k) -> (n_real, n_noise)``,
the minibatches of data and of noise one iteration draws (sources that serve per-seed blocks
of draws, as the 1-D population experiment's, size their blocks by it); registering one makes
it available to every trainer, configuration and command by name.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from gandyn.engine.nn import _buffer
from gandyn.engine.registry import Registry

__all__ = ["METHODS", "as_method", "AltGD", "SimGD", "Extragradient", "Optimistic", "Lookahead", "Consensus", "SGA",
           "CGD"]


@dataclass(frozen=True)
class AltGD:
    """Algorithm 1 (Goodfellow et al. 2014): ``k`` discriminator steps, each on a fresh
    real minibatch and fresh noise, then one generator step on fresh noise at the
    updated discriminator. ``k`` is the trainer's."""

    name: str = "altgd"

    def init(self, tr) -> Any:
        return None

    def draws(self, k: int) -> tuple[int, int]:
        return k, k + 1

    def step(self, tr, state):
        for _ in range(tr.k - 1):
            x_real, z_d = tr.draw_d()
            gd = tr.d_grad(x_real, z_d)
            tr.state_d = tr.opt_d.update(tr.theta_d, gd, tr.state_d)
        tr.draw()
        # D's update does not change G: one G forward serves D's step and G's step
        loss_d, gd, hs = tr.d_step_grad()
        tr.state_d = tr.opt_d.update(tr.theta_d, gd, tr.state_d)
        loss_g, gg = tr.g_step_grad(hs)
        tr.state_g = tr.opt_g.update(tr.theta_g, gg, tr.state_g)
        return loss_d, loss_g, state


@dataclass(frozen=True)
class SimGD:
    """Simultaneous gradient descent: both gradients at the same point, then both
    updates (the dynamics of Ratliff, Burden & Sastry 2013 and Mescheder et al. 2017)."""

    name: str = "simgd"

    def init(self, tr) -> Any:
        return None

    def draws(self, k: int) -> tuple[int, int]:
        return 1, 2

    def step(self, tr, state):
        tr.draw()
        loss_d, gd, loss_g, gg = tr.field()
        tr.state_d = tr.opt_d.update(tr.theta_d, gd, tr.state_d)
        tr.state_g = tr.opt_g.update(tr.theta_g, gg, tr.state_g)
        return loss_d, loss_g, state


@dataclass(frozen=True)
class Extragradient:
    """Extragradient: extrapolate ``theta' = theta - s(omega(theta))``, then step from
    ``theta`` along ``omega(theta')`` on a fresh minibatch (Korpelevich 1976; Gidel et al.
    2019, Eq. 19-20 and ExtraAdam, their Algorithm 4, where the optimizer's state sees
    both gradients). Two gradient evaluations per iteration."""

    name: str = "extragradient"

    def draws(self, k: int) -> tuple[int, int]:
        return 2, 4

    def init(self, tr) -> Any:
        return np.empty_like(tr.theta_g), np.empty_like(tr.theta_d)

    def step(self, tr, state):
        g0, d0 = state
        np.copyto(g0, tr.theta_g)
        np.copyto(d0, tr.theta_d)
        tr.draw()
        loss_d, gd, loss_g, gg = tr.field()
        tr.state_d = tr.opt_d.update(tr.theta_d, gd, tr.state_d)
        tr.state_g = tr.opt_g.update(tr.theta_g, gg, tr.state_g)
        tr.draw()
        _, gd, _, gg = tr.field()
        np.copyto(tr.theta_g, g0)
        np.copyto(tr.theta_d, d0)
        tr.state_d = tr.opt_d.update(tr.theta_d, gd, tr.state_d)
        tr.state_g = tr.opt_g.update(tr.theta_g, gg, tr.state_g)
        return loss_d, loss_g, state


@dataclass(frozen=True)
class Optimistic:
    """Optimistic gradient descent ``theta_{t+1} = theta_t - 2 s_t + s_{t-1}``, ``s_t``
    the step the optimizer takes along ``omega(theta_t)``; the first step is a plain
    one (``s_{-1} = s_0``). With SGD, ``s_t = h omega(theta_t)``: Daskalakis et al. 2018,
    Eq. 4; with Adam, their Optimistic Adam (Algorithm 1)."""

    name: str = "optimistic"

    def draws(self, k: int) -> tuple[int, int]:
        return 1, 2

    def init(self, tr) -> Any:
        return {"g": np.empty_like(tr.theta_g), "d": np.empty_like(tr.theta_d), "first": True}

    def step(self, tr, state):
        tr.draw()
        loss_d, gd, loss_g, gg = tr.field()
        first = state["first"]
        tr.state_g = self._update(tr.opt_g, tr.theta_g, gg, tr.state_g, state["g"], first, tr._ws, "g")
        tr.state_d = self._update(tr.opt_d, tr.theta_d, gd, tr.state_d, state["d"], first, tr._ws, "d")
        state["first"] = False
        return loss_d, loss_g, state

    @staticmethod
    def _update(opt, theta, grad, opt_state, prev, first, ws, who):
        """One player's optimistic step; ``prev`` (``s_{t-1}``) becomes ``s_t``."""
        s = _buffer(ws, ("optimistic", who), theta.shape, theta.dtype)
        np.copyto(s, theta)
        opt_state = opt.update(theta, grad, opt_state)
        s -= theta  # this step's s_t
        if not first:
            theta -= s  # -2 s_t in all
            theta += prev  # + s_{t-1}
        np.copyto(prev, s)
        return opt_state


@dataclass(frozen=True)
class Lookahead:
    """Lookahead-minmax (Chavdarova et al. 2021, Algorithm 1): run ``inner`` for ``k_la``
    steps ("fast" weights); then both players' slow weights move ``alpha`` of the way
    to the fast ones, ``slow <- slow + alpha (fast - slow)``, and the fast weights
    restart from them. The inner optimizers' states carry on."""

    inner: Any = AltGD()
    k_la: int = 5
    alpha: float = 0.5
    name: str = "lookahead"

    def __post_init__(self):
        if int(self.k_la) != self.k_la or self.k_la < 1:
            raise ValueError(f"k_la must be an integer >= 1, got {self.k_la!r}")
        if not 0 < self.alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {self.alpha!r}")
        object.__setattr__(self, "inner", as_method(self.inner))

    def draws(self, k: int) -> tuple[int, int]:
        return self.inner.draws(k)

    def init(self, tr) -> Any:
        return {"inner": self.inner.init(tr), "slow_g": tr.theta_g.copy(), "slow_d": tr.theta_d.copy(), "n": 0}

    def step(self, tr, state):
        loss_d, loss_g, state["inner"] = self.inner.step(tr, state["inner"])
        state["n"] += 1
        if state["n"] % self.k_la == 0:
            for theta, slow in ((tr.theta_g, state["slow_g"]), (tr.theta_d, state["slow_d"])):
                theta -= slow
                theta *= self.alpha
                slow += theta
                np.copyto(theta, slow)
        return loss_d, loss_g, state


class _SecondOrder:
    """Shared by the methods that need products with the game Jacobian: the field and the
    products on ONE minibatch (the same noise for both players, as the game of that batch
    is defined), by the hand-written second-order pass (:mod:`gandyn.engine.second_order`)."""

    def _field_one_batch(self, tr):
        x_real, z = tr.draw_d()
        z_g = tr._buffers()[1][..., tr.batch:, :]
        tr.batches.noise(z_g)  # G's draw, kept for the stream's order
        z_g[...] = z  # the game of this batch: the same noise for both players
        loss_d, gd, loss_g, gg = tr.field()
        # views of the trainer's buffers, which the Jacobian products (their own workspace) leave alone
        return x_real, z, loss_d, gd, loss_g, gg

    @staticmethod
    def _jvp(tr, x, z, vg, vd, rows="gd"):
        from gandyn.engine.second_order import game_jvp
        return game_jvp(tr.gan, tr.theta_g, tr.theta_d, x, z, vg, vd, rows=rows, ws=tr._ws.setdefault("so", {}))

    @staticmethod
    def _vjp(tr, x, z, ug, ud):
        from gandyn.engine.second_order import game_vjp
        return game_vjp(tr.gan, tr.theta_g, tr.theta_d, x, z, ug, ud, ws=tr._ws.setdefault("so", {}))

    needs_products = True

    def draws(self, k: int) -> tuple[int, int]:
        return 1, 2

    def init(self, tr) -> Any:
        if tr.gan.d_dropout:
            raise ValueError(f"{self.name} needs exact Jacobian products: D dropout is not supported")
        return None


@dataclass(frozen=True)
class Consensus(_SecondOrder):
    """Consensus optimisation (Mescheder, Nowozin & Geiger 2017, Algorithm 2): each player
    descends ``omega + gamma J^T omega`` (the field of the game with the penalty
    ``gamma ||omega||^2 / 2`` on both costs), ``J^T omega`` by one hand-written product."""

    gamma: float = 1.0
    name: str = "consensus"

    def step(self, tr, state):
        x, z, loss_d, gd, loss_g, gg = self._field_one_batch(tr)
        ug, ud = self._vjp(tr, x, z, gg, gd)
        gg += self.gamma * ug
        gd += self.gamma * ud
        tr.state_d = tr.opt_d.update(tr.theta_d, gd, tr.state_d)
        tr.state_g = tr.opt_g.update(tr.theta_g, gg, tr.state_g)
        return loss_d, loss_g, state


@dataclass(frozen=True)
class SGA(_SecondOrder):
    """Symplectic gradient adjustment (Balduzzi et al. 2018, Algorithm 1):
    ``xi + lambda A^T xi``, ``A^T xi = (J^T xi - J xi)/2``; with ``align`` the sign of
    lambda is ``sign(<xi, J^T xi><A^T xi, J^T xi>/d + eps)`` (their Sec. 4), per model."""

    lam: float = 1.0
    align: bool = True
    eps: float = 0.1
    name: str = "sga"

    def step(self, tr, state):
        x, z, loss_d, gd, loss_g, gg = self._field_one_batch(tr)
        tg_, td_ = self._vjp(tr, x, z, gg, gd)
        jg, jd = self._jvp(tr, x, z, gg, gd)
        ag, ad = 0.5 * (tg_ - jg), 0.5 * (td_ - jd)
        lam = self.lam
        if self.align:
            n = gg.shape[-1] + gd.shape[-1]

            def dot(a, b):
                return np.sum(a * b, axis=-1, keepdims=True)

            lam = self.lam * np.sign((dot(gg, tg_) + dot(gd, td_)) * (dot(ag, tg_) + dot(ad, td_)) / n + self.eps)
        gg += lam * ag
        gd += lam * ad
        tr.state_d = tr.opt_d.update(tr.theta_d, gd, tr.state_d)
        tr.state_g = tr.opt_g.update(tr.theta_g, gg, tr.state_g)
        return loss_d, loss_g, state


@dataclass(frozen=True)
class CGD(_SecondOrder):
    """Competitive gradient descent (Schafer & Anandkumar 2019, Eq. 4, general sum): the
    players descend the preconditioned fields

        (I - eta^2 J_GD J_DG)^{-1} (omega_G - eta J_GD omega_D)
        (I - eta^2 J_DG J_GD)^{-1} (omega_D - eta J_DG omega_G)

    with the off-diagonal blocks of ``J`` applied matrix-free and the systems solved by
    GMRES (:func:`scipy.sparse.linalg.gmres`; symmetric positive definite for zero-sum
    losses, where it is conjugate-gradient-like) to relative residual ``rtol``. With SGD
    of step ``eta`` this is CGD; ``eta`` defaults to D's step size. One model at a time
    for populations (each its own system)."""

    eta: float | None = None
    rtol: float = 1e-12
    maxiter: int = 200
    name: str = "cgd"

    def _eta(self, tr):
        if self.eta is not None:
            return float(self.eta)
        lr = (tr.opt_d.hparams or {}).get("lr")
        if lr is None or callable(lr) or np.ndim(lr) > 0:
            raise ValueError("cgd needs eta when D's step size is not one number")
        return float(lr)

    def _solve(self, tr, x, z, rhs, first, second, e):
        """``(I - e^2 B A) u = rhs``: ``A`` maps the ``first`` player's vectors to the other's
        rows, ``B`` back."""
        from scipy.sparse.linalg import LinearOperator, gmres

        n = rhs.shape[-1]

        def mv(v):
            v = np.ascontiguousarray(v, dtype=rhs.dtype)
            av = self._block(tr, x, z, first, v)
            return v - e * e * self._block(tr, x, z, second, av)

        op = LinearOperator((n, n), matvec=mv, dtype=rhs.dtype)
        u, info = gmres(op, rhs, rtol=self.rtol, atol=0.0, restart=min(n, 50), maxiter=self.maxiter)
        if info < 0:
            raise ValueError(f"cgd: GMRES failed (info {info})")
        return u

    def _block(self, tr, x, z, player, v):
        """``J_DG v`` (player 'g': v is G's vector, D's rows) or ``J_GD v`` (player 'd')."""
        if player == "g":
            return self._jvp(tr, x, z, v, None, rows="d")[1]
        return self._jvp(tr, x, z, None, v, rows="g")[0]

    def step(self, tr, state):
        if tr.population is not None:
            raise ValueError("cgd trains one model at a time (each model solves its own system)")
        e = self._eta(tr)
        x, z, loss_d, gd, loss_g, gg = self._field_one_batch(tr)
        rg = gg - e * self._block(tr, x, z, "d", gd)  # omega_G - eta J_GD omega_D
        rd = gd - e * self._block(tr, x, z, "g", gg)  # omega_D - eta J_DG omega_G
        pg = self._solve(tr, x, z, rg, "g", "d", e)  # (I - eta^2 J_GD J_DG) pg = rg
        pd = self._solve(tr, x, z, rd, "d", "g", e)
        tr.state_d = tr.opt_d.update(tr.theta_d, pd, tr.state_d)
        tr.state_g = tr.opt_g.update(tr.theta_g, pg, tr.state_g)
        return loss_d, loss_g, state


#: The training methods by name; each entry builds the method from its options.
METHODS: Registry[Callable[..., Any]] = Registry("method")
for _cls in (AltGD, SimGD, Extragradient, Optimistic, Lookahead, Consensus, SGA, CGD):
    METHODS.register(_cls.name, _cls)  # the dataclass field's default is the name


def as_method(method, **options):
    """A method object from a name of :data:`METHODS` (built with ``options``) or an
    object with ``init`` and ``step``.

    Raises
    ------
    ValueError
        An unknown name (the message lists the choices).
    """
    if isinstance(method, str):
        return METHODS[method](**options)
    if not (hasattr(method, "init") and hasattr(method, "step")):
        raise ValueError(f"a method needs init and step, got {method!r}")
    return method
