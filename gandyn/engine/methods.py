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
- ``la``, ``lola`` and ``sos``: look-ahead, learning with opponent-learning awareness
  (Foerster et al. 2018) and stable opponent shaping (Letcher et al. 2019, Sec. 3 and
  Algorithm 1), with the same exact products and each player's gradient of the other's cost;
- ``unrolled``: the unrolled GAN (Metz et al. 2017, Sec. 2.2), G's gradient through ``K``
  unrolled plain gradient steps of D, by a reverse pass of Jacobian products;
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

from dataclasses import dataclass, fields
from typing import Any, Callable

import numpy as np

from gandyn.engine.nn import _buffer
from gandyn.engine.optim import project
from gandyn.engine.registry import Registry

__all__ = ["METHODS", "as_method", "make_method", "check_method", "method_options", "parse_method_options", "check_method_options", "AltGD", "SimGD", "Extragradient", "Optimistic", "Lookahead", "Consensus", "SGA",
           "CGD", "LA", "LOLA", "SOS", "Unrolled", "check_penalty"]


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
    restart from them. The inner optimizers' states carry on. A player whose optimizer
    projects (weight clipping) has its slow weights projected too, from the start and
    at every synchronisation."""

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

    @property
    def takes_penalty(self) -> bool:
        """Whether the inner method takes a gradient penalty (:func:`check_penalty`)."""
        return getattr(self.inner, "takes_penalty", True)

    def init(self, tr) -> Any:
        state = {"inner": self.inner.init(tr), "slow_g": tr.theta_g.copy(), "slow_d": tr.theta_d.copy(), "n": 0}
        project(tr.opt_g, state["slow_g"])  # a constrained player's slow weights are feasible (weight clipping)
        project(tr.opt_d, state["slow_d"])
        return state

    def step(self, tr, state):
        loss_d, loss_g, state["inner"] = self.inner.step(tr, state["inner"])
        state["n"] += 1
        if state["n"] % self.k_la == 0:
            for theta, slow, opt in ((tr.theta_g, state["slow_g"], tr.opt_g), (tr.theta_d, state["slow_d"], tr.opt_d)):
                theta -= slow
                theta *= self.alpha
                slow += theta
                project(opt, slow)
                np.copyto(theta, slow)
        return loss_d, loss_g, state


def _d_rate(tr, value, method: str, option: str):
    """``value``, or D's step size at this iteration when it is None: a number, per-model
    ``(P, 1)`` step sizes of a population, or a schedule's value at the coming step.
    Raises ValueError when D's optimizer has no step size or a single model has several."""
    if value is not None:
        return value
    hp = tr.opt_d.hparams or {}
    while "lr" not in hp and hasattr(hp.get("opt"), "hparams"):  # through wrappers (clipped, averaged)
        hp = hp["opt"].hparams or {}
    lr = hp.get("lr")
    if callable(lr):
        lr = lr(tr.it + 1)
    if lr is None or (np.ndim(lr) > 0 and (tr.population is None or np.shape(lr) != (tr.population, 1))):
        raise ValueError(f"{method} needs {option} when D's step size is not one number per model")
    return lr if np.ndim(lr) > 0 else float(lr)


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
    def _primal(tr, x, z):
        """The forward passes at the current point, shared by the step's products."""
        from gandyn.engine.second_order import primal
        return primal(tr.gan, tr.theta_g, tr.theta_d, x, z, ws=tr._ws.setdefault("so", {}))

    @staticmethod
    def _jvp(tr, x, z, vg, vd, rows="gd", primal=None):
        from gandyn.engine.second_order import game_jvp
        return game_jvp(tr.gan, tr.theta_g, tr.theta_d, x, z, vg, vd, rows=rows, primal=primal,
                        ws=tr._ws.setdefault("so", {}))

    @staticmethod
    def _vjp(tr, x, z, ug, ud, primal=None, theta_d=None):
        from gandyn.engine.second_order import game_vjp
        td = tr.theta_d if theta_d is None else theta_d
        return game_vjp(tr.gan, tr.theta_g, td, x, z, ug, ud, primal=primal, ws=tr._ws.setdefault("so", {}))

    @staticmethod
    def _cross(tr, x, z, gg, gd, theta_d=None, rows="gd", primal=None):
        """Each player's gradient of the other's cost, ``(grad_G L_D, grad_D L_G)`` (None for a
        row not asked for), given the field ``(gg, gd)`` at the same point. For a zero-sum loss
        G's cost is ``V = -L_D`` (Goodfellow et al. 2014, eq. 1), so they are ``(-gg, -gd)``
        (the engine's G loss leaves out V's data term, which G's gradient does not see but
        these do); else :func:`~gandyn.engine.second_order.cross_grads`."""
        if tr.gan.loss_fn.zero_sum:
            return (-gg if "g" in rows else None), (-gd if "d" in rows else None)
        from gandyn.engine.second_order import cross_grads
        td = tr.theta_d if theta_d is None else theta_d
        return cross_grads(tr.gan, tr.theta_g, td, x, z, rows=rows, primal=primal, ws=tr._ws.setdefault("so", {}))

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
        return float(_d_rate(tr, self.eta, "cgd", "eta"))

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


def _dot(a, b):
    """Per-model inner products over the last axis: shape ``(1,)`` or ``(P, 1)``."""
    return np.sum(a * b, axis=-1, keepdims=True)


class _Shaping(_SecondOrder):
    """LA, LOLA and SOS (Letcher et al. 2019, Sec. 3) on the game of one minibatch: from the
    field ``xi``, ``H_o xi = (J_GD xi_D, J_DG xi_G)`` by two Jacobian products and, for the
    shaping term, ``chi = (J_DG^T grad_D L_G, J_GD^T grad_G L_D)`` by two transposed ones and
    the players' gradients of each other's cost, all after one shared forward pass. Each
    player then descends its part of ``xi_0 - p alpha chi``, ``xi_0 = xi - alpha H_o xi``.
    ``alpha`` defaults to D's step size (per model in a population)."""

    shaping = True
    takes_penalty = False  # the products and cross gradients are the unpenalised game's

    def _weight(self, xi, xi_0, alpha_chi):
        """``p`` of ``xi_0 - p alpha chi``: 1 (LOLA), per model for SOS."""
        return 1.0

    def step(self, tr, state):
        x, z, loss_d, gd, loss_g, gg = self._field_one_batch(tr)
        a = _d_rate(tr, self.alpha, self.name, "alpha")
        pr = self._primal(tr, x, z)
        x0_g = self._jvp(tr, x, z, None, gd, rows="g", primal=pr)[0]  # J_GD xi_D
        x0_d = self._jvp(tr, x, z, gg, None, rows="d", primal=pr)[1]  # J_DG xi_G
        if self.shaping:
            cg, cd = self._cross(tr, x, z, gg, gd, primal=pr)
            ac_g = a * self._vjp(tr, x, z, None, cd, primal=pr)[0]  # alpha J_DG^T grad_D L_G
            ac_d = a * self._vjp(tr, x, z, cg, None, primal=pr)[1]  # alpha J_GD^T grad_G L_D
        for h_o, xi in ((x0_g, gg), (x0_d, gd)):  # xi_0 = xi - alpha H_o xi, in place
            h_o *= -a
            h_o += xi
        if self.shaping:
            p = self._weight((gg, gd), (x0_g, x0_d), (ac_g, ac_d))
            x0_g -= p * ac_g
            x0_d -= p * ac_d
        tr.state_d = tr.opt_d.update(tr.theta_d, x0_d, tr.state_d)
        tr.state_g = tr.opt_g.update(tr.theta_g, x0_g, tr.state_g)
        return loss_d, loss_g, state


def _check_alpha(alpha):
    if alpha is not None and not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha!r}")


@dataclass(frozen=True)
class LA(_Shaping):
    """Look-ahead (Zhang & Lesser 2010; Letcher et al. 2019, Sec. 3): each player descends
    ``xi_0 = (I - alpha H_o) xi``, its gradient at the opponent's look-ahead point with the
    opponent's step held constant. Not ``lookahead`` (Chavdarova et al.'s optimizer)."""

    alpha: float | None = None
    name: str = "la"
    shaping = False

    def __post_init__(self):
        _check_alpha(self.alpha)


@dataclass(frozen=True)
class LOLA(_Shaping):
    """Learning with opponent-learning awareness (Foerster et al. 2018) in the form of
    Letcher et al. 2019, Sec. 3: ``xi_0 - alpha chi``, ``chi_G = J_DG^T grad_D L_G``,
    ``chi_D = J_GD^T grad_G L_D``; for a zero-sum loss G's cost is ``V = -L_D``."""

    alpha: float | None = None
    name: str = "lola"

    def __post_init__(self):
        _check_alpha(self.alpha)


@dataclass(frozen=True)
class SOS(_Shaping):
    """Stable opponent shaping (Letcher et al. 2019, Algorithm 1): ``xi_0 - p alpha chi``
    with, per model, ``p = min(p1, p2)``, ``p1 = 1`` if ``<-alpha chi, xi_0> >= 0`` else
    ``min(1, -a ||xi_0||^2 / <-alpha chi, xi_0>)``, ``p2 = ||xi||^2`` if ``||xi|| < b`` else 1
    (norms and inner products over both players' parameters)."""

    alpha: float | None = None
    a: float = 0.5
    b: float = 0.1
    name: str = "sos"

    def __post_init__(self):
        _check_alpha(self.alpha)
        if not (0 < self.a < 1 and 0 < self.b < 1):
            raise ValueError(f"a and b must be in (0, 1), got a={self.a!r}, b={self.b!r}")

    def _weight(self, xi, xi_0, alpha_chi):
        d = -(_dot(alpha_chi[0], xi_0[0]) + _dot(alpha_chi[1], xi_0[1]))
        n0 = _dot(xi_0[0], xi_0[0]) + _dot(xi_0[1], xi_0[1])
        safe = np.where(d < 0, d, -1.0)
        p1 = np.where(d < 0, np.minimum(1.0, -self.a * n0 / safe), 1.0)
        n2 = _dot(xi[0], xi[0]) + _dot(xi[1], xi[1])
        p2 = np.where(np.sqrt(n2) < self.b, n2, 1.0)
        return np.minimum(p1, p2)


@dataclass(frozen=True)
class Unrolled(_SecondOrder):
    """The unrolled GAN (Metz, Poole, Pfau & Sohl-Dickstein 2017, Sec. 2.2): D takes a plain
    step; G descends the gradient of its cost at D unrolled ``unroll = K`` steps ahead on
    the same minibatch, ``theta_D^{k+1} = theta_D^k - eta_u grad_D L_D(theta_G, theta_D^k)``,
    differentiated through the unrolled steps by a reverse pass::

        v_K = grad_D L_G(theta_G, theta_D^K),  g = d_G L_G(theta_G, theta_D^K)
        for k = K-1 .. 0:  (a, b) = J^T(theta_G, theta_D^k) (0, v_{k+1})
                           g -= eta_u a   (a = J_DG^T v_{k+1})
                           v_k = v_{k+1} - eta_u b   (b = H_DD L_D v_{k+1})

    one transposed Jacobian product per unrolled step. The unrolled steps are plain
    gradient steps of size ``eta_u`` (default: D's step size) whatever D's optimizer (the
    paper unrolls Adam); this keeps the reverse pass exact and equal to the games' version.
    For a zero-sum loss G's cost is ``V = -L_D``, whose data term depends on the unrolled D.
    ``K = 0`` is ``simgd``. Reports G's loss at the current point."""

    unroll: int = 5
    eta_u: float | None = None
    name: str = "unrolled"
    takes_penalty = False  # the unrolled steps and products are the unpenalised game's

    def __post_init__(self):
        if int(self.unroll) != self.unroll or self.unroll < 0:
            raise ValueError(f"unroll must be an integer >= 0, got {self.unroll!r}")
        if self.eta_u is not None and not self.eta_u > 0:
            raise ValueError(f"eta_u must be > 0, got {self.eta_u!r}")

    def step(self, tr, state):
        x, z, loss_d, gd, loss_g, gg = self._field_one_batch(tr)
        if self.unroll:
            gg = self._unrolled_grad(tr, x, z, gd, _d_rate(tr, self.eta_u, self.name, "eta_u"))
        tr.state_d = tr.opt_d.update(tr.theta_d, gd, tr.state_d)
        tr.state_g = tr.opt_g.update(tr.theta_g, gg, tr.state_g)
        return loss_d, loss_g, state

    def _unrolled_grad(self, tr, x, z, gd, e):
        """G's gradient of ``L_G(theta_G, theta_D^K(theta_G))``; ``gd`` is D's gradient at ``theta_D``."""
        gan, K, ws = tr.gan, int(self.unroll), tr._ws.setdefault("unrolled", {})
        path = _buffer(ws, "path", (K + 1,) + tr.theta_d.shape, tr.theta_d.dtype)  # theta_D^0 .. theta_D^K
        gk = _buffer(ws, "grad", tr.theta_d.shape, tr.theta_d.dtype)
        path[0] = tr.theta_d
        path[1] = path[0] - e * gd
        for k in range(1, K):
            gan.d_loss_grad(tr.theta_g, path[k], x, z, grad=gk, ws=ws)
            path[k + 1] = path[k] - e * gk
        td = path[K]
        _, g, _ = gan.g_loss_grad(tr.theta_g, td, z, ws=ws, x_real=x)  # d_G L_G at theta_D^K
        if gan.loss_fn.zero_sum:
            gan.d_loss_grad(tr.theta_g, td, x, z, grad=gk, ws=ws)
            v = -gk
        else:
            v = self._cross(tr, x, z, None, None, theta_d=td, rows="d")[1]
        for k in range(K - 1, -1, -1):
            a, b = self._vjp(tr, x, z, None, v, theta_d=path[k])
            a *= e
            b *= e
            g -= a
            v -= b
        return g


#: The training methods by name; each entry builds the method from its options.
METHODS: Registry[Callable[..., Any]] = Registry("method")
for _cls in (AltGD, SimGD, Extragradient, Optimistic, Lookahead, Consensus, SGA, CGD, LA, LOLA, SOS, Unrolled):
    METHODS.register(_cls.name, _cls)  # the dataclass field's default is the name


def check_penalty(method) -> None:
    """Refuse a gradient penalty for a method (object or registered class) whose
    ``takes_penalty`` is false: LA, LOLA, SOS and the unrolled GAN differentiate the game
    without it.

    Raises
    ------
    ValueError
        One line naming the method.
    """
    if not getattr(method, "takes_penalty", True):
        raise ValueError(f"the {method.name} method differentiates the unpenalised game: "
                         "a gradient penalty is not supported with it")


def check_method(spec: str) -> str:
    """Validate a method name: one of :data:`METHODS`, or ``'lookahead:INNER'``
    (lookahead-minmax around the method ``INNER``). Returns it.

    Raises
    ------
    ValueError
        Not a name, an unknown name (the message lists the choices), or an inner method
        given to a method other than lookahead.
    """
    if not isinstance(spec, str):
        raise ValueError(f"a method is a name, got {spec!r}")
    outer, colon, inner = spec.partition(":")
    METHODS.check(outer, "method")
    if colon:
        if outer != "lookahead":
            raise ValueError(f"method {spec!r}: only lookahead takes an inner method (lookahead:INNER)")
        if inner == "lookahead" or inner.startswith("lookahead:"):
            raise ValueError(f"method {spec!r}: lookahead's inner method must be another method")
        METHODS.check(inner, "inner method")
    return spec


def as_method(method, **options):
    """A method object from a name of :func:`check_method` (built with ``options``; of
    ``'lookahead:INNER'``, lookahead takes them and ``INNER`` is built with its defaults:
    :func:`make_method` gives each its own) or an object with ``init`` and ``step``.

    Raises
    ------
    ValueError
        An unknown name (the message lists the choices).
    """
    if isinstance(method, str):
        return make_method(method, {check_method(method).partition(":")[0]: options})
    if not (hasattr(method, "init") and hasattr(method, "step")):
        raise ValueError(f"a method needs init and step, got {method!r}")
    return method


def make_method(spec: str, options: dict | None = None):
    """The method of ``spec`` (:func:`check_method`) with each method's options from
    ``options = {method: {option: value}}``: of ``'lookahead:INNER'``, lookahead takes
    ``options['lookahead']`` and the inner method ``options[INNER]``.

    >>> m = make_method("lookahead:unrolled", {"lookahead": {"k_la": 3}, "unrolled": {"unroll": 2}})
    >>> m.k_la, m.inner.name, m.inner.unroll
    (3, 'unrolled', 2)

    Raises
    ------
    ValueError
        An unknown name, or an option the method refuses.
    """
    options = options or {}
    outer, _, inner = check_method(spec).partition(":")
    own = dict(options.get(outer, {}))
    if inner:
        own["inner"] = METHODS[inner](**options.get(inner, {}))
    return METHODS[outer](**own)


def method_options(name: str) -> dict[str, str]:
    """The options a registered method takes: ``{option: type}`` (``int``, ``float`` or
    ``bool``) from its dataclass fields, without ``name`` and ``inner``."""
    cls = METHODS[name]
    out = {}
    for f in fields(cls):
        if f.name in ("name", "inner"):
            continue
        t = str(f.type)
        out[f.name] = "bool" if "bool" in t else "int" if t.startswith("int") else "float"
    return out


def _cast(kind: str, key: str, text: str):
    try:
        if kind == "bool":
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return text.lower() in ("true", "1")
        value = int(text) if kind == "int" else float(text)
    except ValueError:
        raise ValueError(f"method option {key}: {text!r} is not {'an' if kind == 'int' else 'a'} {kind}") from None
    if kind == "float" and not np.isfinite(value):
        raise ValueError(f"method option {key}: {text!r} is not finite")
    return value


def parse_method_options(methods, items) -> dict[str, dict]:
    """Options of training methods from ``KEY=VALUE`` texts (``--method-option unroll=10``):
    each key goes to every method of ``methods`` (names of :data:`METHODS`; of a
    ``'lookahead:INNER'`` spec, lookahead and ``INNER``) that has an option of that name,
    its value cast to the option's type; ``METHOD.KEY=VALUE`` (``lola.alpha=0.1``) goes to
    that method only (``alpha`` is the look-ahead rate of la, lola and sos, but lookahead's
    interpolation weight). Returns ``{method: {key: value}}``; the methods
    then validate the values when built.

    Raises
    ------
    ValueError
        A text without ``=``, a key none of ``methods`` takes (the message lists what each
        takes), a value of the wrong type.
    """
    names = list(dict.fromkeys(name for m in methods for name in str(m).split(":")))
    takes = {m: method_options(m) for m in names}
    out: dict[str, dict] = {}
    for item in items or ():
        key, eq, text = str(item).partition("=")
        key = key.strip().replace("-", "_")
        if not eq or not key:
            raise ValueError(f"method option {item!r}: write KEY=VALUE or METHOD.KEY=VALUE, e.g. unroll=10")
        only, dot, bare = key.rpartition(".")
        if dot:  # METHOD.KEY: that method's option only
            if only not in names:
                raise ValueError(f"method option {key!r}: {only!r} is not one of the methods ({', '.join(names)})")
            key = bare
        owners = [m for m in names if key in takes[m] and (not dot or m == only)]
        for spec in methods:  # lookahead:INNER: one key naming two options of one run is ambiguous
            pair = [m for m in str(spec).split(":") if m in owners]
            if len(pair) == 2:
                raise ValueError(f"method option {key!r}: both {pair[0]} and {pair[1]} of {spec} take it "
                                 f"(different options); write {pair[0]}.{key}=... or {pair[1]}.{key}=...")
        if not owners:
            offer = "; ".join(f"{m}: {', '.join(takes[m]) or 'none'}" for m in names)
            raise ValueError(f"method option {key!r}: none of the methods ({', '.join(names)}) takes it "
                             f"(options: {offer})")
        for m in owners:
            out.setdefault(m, {})[key] = _cast(takes[m][key], key, text.strip())
    return check_method_options(out)


def check_method_options(options) -> dict[str, dict]:
    """Validate ``{method: {option: value}}`` (names of :data:`METHODS` and their
    :func:`method_options`) by building each method with its options; returns a plain copy.

    Raises
    ------
    ValueError
        An unknown method or option name (the choices listed), or a value the method refuses.
    """
    if not isinstance(options, dict):
        raise ValueError(f"method options must be a dict of dicts by method name, got {options!r}")
    out = {}
    for m, opts in options.items():
        METHODS.check(m, "method of the method options")
        if not isinstance(opts, dict):
            raise ValueError(f"the options of {m} must be a dict, got {opts!r}")
        bad = sorted(set(opts) - set(method_options(m)))
        if bad:
            raise ValueError(f"method {m} takes no option {', '.join(bad)} "
                             f"(it takes: {', '.join(method_options(m)) or 'none'})")
        for k, v in opts.items():
            if isinstance(v, str) or (v is not None and not isinstance(v, (bool, int, float, np.number))):
                raise ValueError(f"method {m}: option {k} must be a number, got {v!r}")
            if isinstance(v, (float, np.floating)) and not np.isfinite(v):
                raise ValueError(f"method {m}: option {k} must be finite, got {v!r}")
        try:
            METHODS[m](**opts)  # the method's own checks, up front
        except TypeError as e:
            raise ValueError(f"method {m}: {e}") from None
        out[m] = dict(opts)
    return out
