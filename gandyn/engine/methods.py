"""Training methods for GANs of the engine: how one iteration turns the two players'
gradients into updates. Each method is registered in :data:`METHODS` and trains one
model or a population with any optimizer (its step sizes included).

Every method draws its minibatches in the order of Algorithm 1 (a real batch and
noise for D, then noise for G) and evaluates the players' gradients through
:meth:`Trainer.losses_grads <gandyn.engine.trainer.Trainer.losses_grads>`:

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
- ``nk``: the gradient-norm regulariser of Nagarajan & Kolter 2017 (Sec. 5), G descends
  its loss plus ``gamma ||grad_D L_D||^2``, by one transposed Jacobian product.

With plain SGD of step ``h`` on a fixed batch each method equals its counterpart of
:mod:`gandyn.games.dynamics` on the same GAN as a game (tested to 1e-10).

A method is an object with ``name``, ``init(trainer) -> state``,
``step(trainer, state) -> (loss_d, loss_g, state)`` and ``draws(k) -> (n_real, n_noise)``,
the minibatches of data and of noise one iteration draws (sources that serve per-seed blocks
of draws, as the 1-D population experiment's, size their blocks by it); registering one makes
it available to every trainer, configuration and command by name, and to the toy games
(:func:`gandyn.games.dynamics.make`). Its step uses only the public interface of
:class:`~gandyn.engine.trainer.Trainer`:

- ``tr.oracle()``: draw one minibatch, return its field oracle at the current point
  (:mod:`gandyn.engine.oracle`: losses, gradients, ``J v``, ``J^T u``, cross gradients,
  own Hessian products, the oracle at another point);
- ``tr.draw()``, ``tr.draw_d()``, ``tr.losses_grads()``, ``tr.d_grad(x, z)``, ``tr.d_step_grad()``,
  ``tr.g_step_grad(hs)``: Algorithm 1's minibatches and gradients, with separate noise for
  D's and G's steps;
- ``tr.opt_g``, ``tr.opt_d``, ``tr.state_g``, ``tr.state_d``: each player's optimizer and
  its state (``tr.state_d = tr.opt_d.update(tr.theta_d, direction, tr.state_d)`` steps D);
- ``tr.theta_g``, ``tr.theta_d``, ``tr.point()``, ``tr.set_point(g, d)``, ``tr.step_size(player)``,
  ``tr.buffer(key, like)``, ``tr.assign(dst, value)``, ``tr.k``, ``tr.it``, ``tr.population``.

:class:`gandyn.games.dynamics.GameTrainer` provides the same names on a toy game (autograd
oracle, plain gradient steps of size ``h`` or ``(h_G, h_D)``), so a method written with them
and with operators, ``F.dot`` and ``F.xp`` functions only (no ``np.copyto`` or writes into
slices of a traced array) runs on both, and its step's Jacobian on a game is autograd's.
The rules that hold for both: an in-place operator on an array updates an engine array and
rebinds a traced one, so its result is what counts (``theta = tr.theta_g; theta -= s`` and
then ``tr.set_point(theta, ...)``, which on the engine skips an array that is already the
parameters); arrays kept in the method's state between steps are written by
``state[key] = tr.assign(state[key], value)``; copies of the parameters come from
``tr.point()``; a linear solve is the oracle's ``F.solve`` (iterative on the engine, exact and
dense on a game). A method whose state carries information from one step to the next says
so by ``memory = True`` (optimistic, lookahead): the games then keep its state in theirs.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Callable

import numpy as np

from gandyn.engine.optim import project
from gandyn.engine.registry import Registry

__all__ = ["METHODS", "as_method", "method_label", "method_to_dict", "method_from_dict", "AltGD", "SimGD", "Extragradient", "Optimistic", "Lookahead", "Consensus", "SGA",
           "CGD", "LA", "LOLA", "SOS", "Unrolled", "NK", "check_penalty"]


def _check_number(name: str, value, low: float, inclusive: bool = False):
    """A real, finite number ``> low`` (``>= low`` with ``inclusive``), else a one-line ValueError."""
    ok = (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
          and np.isfinite(value) and (value >= low if inclusive else value > low))
    if not ok:
        raise ValueError(f"{name} must be a finite number {'>=' if inclusive else '>'} {low:g}, got {value!r}")


def _check_int(name: str, value, low: int):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or int(value) != value or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def _check_bool(name: str, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be true or false, got {value!r}")


#: The metadata of a method's field that configurations and commands do not take (the toy
#: games' options; :class:`~gandyn.engine.training.TrainingConfig` refuses them).
_GAMES_ONLY = {"option": False}


@dataclass(frozen=True)
class AltGD:
    """Alternating gradient descent. By default Algorithm 1 (Goodfellow et al. 2014): ``k``
    discriminator steps, each on a fresh real minibatch and fresh noise, then one generator
    step on fresh noise at the updated discriminator; ``k`` is ``k_d``, else the trainer's.

    ``k_g > 1`` generator steps, or the generator first (``d_first = False``, the order of the
    Dirac-GAN notebooks of Mescheder et al. 2018), are the toy games' orders
    (:func:`gandyn.games.dynamics.altgd`): each step at the other player's latest
    parameters. The engine's trainer refuses them (:meth:`init`). These three are options of
    the object, not of configurations and commands, where ``k`` is the trainer's.

    Raises
    ------
    ValueError
        ``k_d`` or ``k_g`` not an integer >= 1, ``d_first`` not a bool.
    """

    k_d: int | None = field(default=None, metadata=_GAMES_ONLY)
    k_g: int = field(default=1, metadata=_GAMES_ONLY)
    d_first: bool = field(default=True, metadata=_GAMES_ONLY)
    name: str = "altgd"

    def __post_init__(self):
        if self.k_d is not None:
            _check_int("k_d", self.k_d, 1)
        _check_int("k_g", self.k_g, 1)
        _check_bool("d_first", self.d_first)

    @property
    def _algorithm_1(self) -> bool:
        return self.k_g == 1 and self.d_first

    def init(self, tr) -> Any:
        if not (self._algorithm_1 or hasattr(tr, "g_grad")):
            raise ValueError("altgd with k_g > 1 or G first runs on the toy games only (gandyn.games.dynamics.altgd); "
                             "the trainer's altgd is Algorithm 1: k D steps, then one G step")
        return None

    def draws(self, k: int) -> tuple[int, int]:
        k_d = k if self.k_d is None else int(self.k_d)
        return k_d, k_d + int(self.k_g)

    def step(self, tr, state):
        k_d = tr.k if self.k_d is None else int(self.k_d)
        if not self._algorithm_1:  # each player's steps at the other's latest parameters
            loss_d = loss_g = None
            for who in ("dg" if self.d_first else "gd"):
                for _ in range(k_d if who == "d" else int(self.k_g)):
                    if who == "d":
                        gd = tr.d_grad(*tr.draw_d())
                        tr.state_d = tr.opt_d.update(tr.theta_d, gd, tr.state_d)
                    else:
                        loss_g, gg = tr.g_grad()
                        tr.state_g = tr.opt_g.update(tr.theta_g, gg, tr.state_g)
            return loss_d, loss_g, state
        for _ in range(k_d - 1):
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
        loss_d, gd, loss_g, gg = tr.losses_grads()
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
        return tr.point()

    def step(self, tr, state):
        start = tr.point(out=state)
        tr.draw()
        loss_d, gd, loss_g, gg = tr.losses_grads()
        tr.state_d = tr.opt_d.update(tr.theta_d, gd, tr.state_d)
        tr.state_g = tr.opt_g.update(tr.theta_g, gg, tr.state_g)
        tr.draw()
        _, gd, _, gg = tr.losses_grads()
        tr.set_point(*start)
        tr.state_d = tr.opt_d.update(tr.theta_d, gd, tr.state_d)
        tr.state_g = tr.opt_g.update(tr.theta_g, gg, tr.state_g)
        return loss_d, loss_g, start  # the state's arrays (the engine's point writes into them)


@dataclass(frozen=True)
class Optimistic:
    """Optimistic gradient descent ``theta_{t+1} = theta_t - 2 s_t + s_{t-1}``, ``s_t``
    the step the optimizer takes along ``omega(theta_t)``; the first step is a plain
    one (``s_{-1} = s_0``). With SGD, ``s_t = h omega(theta_t)``: Daskalakis et al. 2018,
    Eq. 4; with Adam, their Optimistic Adam (Algorithm 1). The state keeps ``s_{t-1}``
    (``'g'``, ``'d'``) and whether the next step is the first."""

    name: str = "optimistic"
    memory = True  # the state carries s_{t-1} from one iteration to the next

    def draws(self, k: int) -> tuple[int, int]:
        return 1, 2

    def init(self, tr) -> Any:
        return {"g": np.zeros_like(tr.theta_g), "d": np.zeros_like(tr.theta_d), "first": True}

    def step(self, tr, state):
        tr.draw()
        loss_d, gd, loss_g, gg = tr.losses_grads()
        s_g, s_d = tr.point(out=(tr.buffer(("optimistic", "g"), tr.theta_g),
                                 tr.buffer(("optimistic", "d"), tr.theta_d)))  # theta_t
        tr.state_g = tr.opt_g.update(tr.theta_g, gg, tr.state_g)
        tr.state_d = tr.opt_d.update(tr.theta_d, gd, tr.state_d)
        s_g -= tr.theta_g  # this step's s_t
        s_d -= tr.theta_d
        if not state["first"]:
            theta_g, theta_d = tr.theta_g, tr.theta_d
            theta_g -= s_g  # -2 s_t in all
            theta_g += state["g"]  # + s_{t-1}
            theta_d -= s_d
            theta_d += state["d"]
            tr.set_point(theta_g, theta_d)
        state["g"] = tr.assign(state["g"], s_g)  # s_{t-1} <- s_t
        state["d"] = tr.assign(state["d"], s_d)
        state["first"] = False
        return loss_d, loss_g, state


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
    memory = True  # the slow weights and the count of inner steps

    def __post_init__(self):
        _check_int("k_la", self.k_la, 1)
        if not 0 < self.alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {self.alpha!r}")
        object.__setattr__(self, "inner", as_method(self.inner))
        if isinstance(self.inner, Lookahead):
            raise ValueError("lookahead's inner method must be another method")

    def draws(self, k: int) -> tuple[int, int]:
        return self.inner.draws(k)

    @property
    def takes_penalty(self) -> bool:
        """Whether the inner method takes a gradient penalty (:func:`check_penalty`)."""
        return getattr(self.inner, "takes_penalty", True)

    def init(self, tr) -> Any:
        slow_g, slow_d = tr.point()  # copies
        state = {"inner": self.inner.init(tr), "slow_g": slow_g, "slow_d": slow_d, "n": 0}
        project(tr.opt_g, state["slow_g"])  # a constrained player's slow weights are feasible (weight clipping)
        project(tr.opt_d, state["slow_d"])
        return state

    def step(self, tr, state):
        loss_d, loss_g, state["inner"] = self.inner.step(tr, state["inner"])
        state["n"] += 1
        if state["n"] % self.k_la == 0:
            theta_g, theta_d, slow_g, slow_d = tr.theta_g, tr.theta_d, state["slow_g"], state["slow_d"]
            theta_g -= slow_g  # slow + alpha (fast - slow)
            theta_g *= self.alpha
            slow_g += theta_g
            project(tr.opt_g, slow_g)
            theta_d -= slow_d
            theta_d *= self.alpha
            slow_d += theta_d
            project(tr.opt_d, slow_d)
            state["slow_g"], state["slow_d"] = slow_g, slow_d
            tr.set_point(slow_g, slow_d)  # the fast weights restart there
        return loss_d, loss_g, state


def _d_rate(tr, value, method: str, option: str):
    """``value``, or D's step size at this iteration when it is None (a number, or per-model
    ``(P, 1)`` step sizes of a population: :meth:`Trainer.step_size
    <gandyn.engine.trainer.Trainer.step_size>`). Raises ValueError when D's optimizer has no
    step size or a single model has several."""
    if value is not None:
        return value
    lr = tr.step_size("d")
    if lr is None:
        raise ValueError(f"{method} needs {option} when D's step size is not one number per model")
    return lr


class _SecondOrder:
    """Methods on the field oracle of one minibatch (:meth:`Trainer.oracle
    <gandyn.engine.trainer.Trainer.oracle>`), with exact Jacobian products: one real batch
    and one noise batch per iteration (G's noise drawn for the stream's order), no
    spectral normalisation or D dropout (the trainer refuses them)."""

    needs_products = True

    def draws(self, k: int) -> tuple[int, int]:
        return 1, 2

    def init(self, tr) -> Any:
        return None


@dataclass(frozen=True)
class Consensus(_SecondOrder):
    """Consensus optimisation (Mescheder, Nowozin & Geiger 2017, Algorithm 2): each player
    descends ``omega + gamma J^T omega`` (the field of the game with the penalty
    ``gamma ||omega||^2 / 2`` on both costs), ``J^T omega`` by one hand-written product.
    With a gradient penalty ``R`` on D, ``omega`` and ``J`` are the penalised game's:
    ``J^T u`` gains ``(B^T u_D, H_DD R u_D)``, ``B = D_G grad_D R``
    (:mod:`gandyn.engine.penalty_products`)."""

    gamma: float = 1.0
    name: str = "consensus"

    def __post_init__(self):
        _check_number("gamma", self.gamma, 0.0, inclusive=True)

    def step(self, tr, state):
        F = tr.oracle()
        loss_d, gd, loss_g, gg = F.loss_d, F.grad_d, F.loss_g, F.grad_g
        ug, ud = F.vjp(gg, gd)  # J^T omega of the game trained (its penalty's blocks included)
        gg += self.gamma * ug
        gd += self.gamma * ud
        tr.state_d = tr.opt_d.update(tr.theta_d, gd, tr.state_d)
        tr.state_g = tr.opt_g.update(tr.theta_g, gg, tr.state_g)
        return loss_d, loss_g, state


@dataclass(frozen=True)
class SGA(_SecondOrder):
    """Symplectic gradient adjustment (Balduzzi et al. 2018, Algorithm 1):
    ``xi + lambda A^T xi``, ``A^T xi = (J^T xi - J xi)/2``; with ``align`` the sign of
    lambda is ``sign(<xi, J^T xi><A^T xi, J^T xi>/d + eps)`` (their Sec. 4), per model.
    With a gradient penalty, ``xi`` and ``J`` are the penalised game's (as in :class:`Consensus`)."""

    lam: float = 1.0
    align: bool = True
    eps: float = 0.1
    name: str = "sga"

    def __post_init__(self):
        _check_number("lam", self.lam, 0.0)
        _check_bool("align", self.align)
        _check_number("eps", self.eps, 0.0, inclusive=True)

    def step(self, tr, state):
        F = tr.oracle()
        loss_d, gd, loss_g, gg = F.loss_d, F.grad_d, F.loss_g, F.grad_g
        tg_, td_ = F.vjp(gg, gd)
        jg, jd = F.jvp(gg, gd)
        ag, ad = 0.5 * (tg_ - jg), 0.5 * (td_ - jd)
        lam = self.lam
        if self.align:
            n = gg.shape[-1] + gd.shape[-1]
            dot = F.dot
            lam = self.lam * F.xp.sign((dot(gg, tg_) + dot(gd, td_)) * (dot(ag, tg_) + dot(ad, td_)) / n + self.eps)
        gg += lam * ag
        gd += lam * ad
        tr.state_d = tr.opt_d.update(tr.theta_d, gd, tr.state_d)
        tr.state_g = tr.opt_g.update(tr.theta_g, gg, tr.state_g)
        return loss_d, loss_g, state


@dataclass(frozen=True)
class CGD(_SecondOrder):
    """Competitive gradient descent (Schafer & Anandkumar 2019, Eq. 4, general sum): the
    players descend the preconditioned fields

        p_G = (I - eta^2 J_GD J_DG)^{-1} (omega_G - eta J_GD omega_D)
        p_D = (I - eta^2 J_DG J_GD)^{-1} (omega_D - eta J_DG omega_G) = omega_D - eta J_DG p_G

    (the second form from the local game's Nash equilibrium ``dx = -eta (omega_G + J_GD dy)``,
    ``dy = -eta (omega_D + J_DG dx)``, ``dx = -eta p_G``, ``dy = -eta p_D``: one solve, then
    one product). The off-diagonal blocks of ``J`` are applied matrix-free by the oracle
    (:func:`~gandyn.engine.second_order.game_jvp`, one forward pass per iteration shared by
    all products) and G's system is solved by the oracle's linear solve (``F.solve``): on the
    engine iteratively per model (:mod:`gandyn.engine.solvers`), by conjugate gradients when
    the loss is zero-sum (``J_DG = -J_GD^T``, so the matrix ``I + eta^2 J_GD J_GD^T`` is
    symmetric positive definite), else by GMRES; on a toy game exactly, by a dense solve of
    the matrix formed by autograd (which traces it). With SGD of
    step ``eta`` this is CGD; ``eta`` defaults to D's step size (per model in a population).
    With a gradient penalty the blocks are the penalised game's: R1 leaves them as they are;
    R2 and WGAN-GP add ``D_G grad_D R`` to ``J_DG`` (:mod:`gandyn.engine.penalty_products`),
    and the system is then solved by GMRES.

    Cost per iteration: the field, then ``2 + 2 k`` Jacobian-vector products, ``k`` the
    solve's products with the system matrix (each two Jacobian-vector products); ``k`` is
    small when ``eta ||J_GD||`` is.

    Parameters
    ----------
    eta : float > 0 or None
    rtol : float in (0, 1) or None
        Relative residual ``||b - A p_G|| / ||b||`` the solve stops at; default ``sqrt(eps)``
        of the parameters' dtype (:func:`~gandyn.engine.solvers.default_rtol`: 3.5e-4 in
        float32, 1.5e-8 in float64).
    maxiter : int >= 1
        At most this many products with the system matrix per solve.
    strict : bool
        Raise :class:`~gandyn.engine.solvers.ConvergenceError` when a solve stops at
        ``maxiter`` above ``rtol``; else warn (:class:`~gandyn.engine.solvers.ConvergenceWarning`)
        and step with the last iterate.

    Notes
    -----
    The trainer's ``method_state`` records the solves: a dict with ``iterations`` and
    ``residual`` of the last solve (shape ``()`` or ``(P,)``), and over all solves so far
    ``solves`` (their number), ``products`` (system products, per model) and
    ``unconverged`` (solves that stopped above ``rtol``, per model).

    Raises
    ------
    ValueError
        An option out of range (one line).
    """

    eta: float | None = None
    rtol: float | None = None
    maxiter: int = 100
    strict: bool = False
    name: str = "cgd"

    def __post_init__(self):
        if self.eta is not None:
            _check_number("eta", self.eta, 0.0)
        if self.rtol is not None:
            _check_number("rtol", self.rtol, 0.0)
            if not self.rtol < 1:
                raise ValueError(f"rtol must be in (0, 1), got {self.rtol!r}")
        _check_int("maxiter", self.maxiter, 1)
        _check_bool("strict", self.strict)

    def init(self, tr) -> Any:
        super().init(tr)
        lead = () if tr.population is None else (tr.population,)
        return {"iterations": np.zeros(lead, np.int64), "residual": np.zeros(lead), "solves": 0,
                "products": np.zeros(lead, np.int64), "unconverged": np.zeros(lead, np.int64)}

    def step(self, tr, state):
        from gandyn.engine import solvers

        e = _d_rate(tr, self.eta, "cgd", "eta")
        F = tr.oracle()
        loss_d, gd, loss_g, gg = F.loss_d, F.grad_d, F.loss_g, F.grad_g
        e2 = e * e

        def j_dg(v):  # J_DG v (with R2 or WGAN-GP, the penalty's block D_G grad_D R included)
            return F.jvp(v, None, rows="d")[1]

        def system(v):  # (I - eta^2 J_GD J_DG) v
            jg = F.jvp(None, j_dg(v), rows="g")[0]
            jg *= -e2
            jg += v
            return jg

        rhs = F.jvp(None, gd, rows="g")[0]  # J_GD omega_D
        rhs *= -e
        rhs += gg
        rtol = solvers.default_rtol(tr.theta_g.dtype) if self.rtol is None else self.rtol
        # J_DG = -J_GD^T makes the matrix I + eta^2 J_GD J_GD^T symmetric positive definite
        sol = F.solve(system, rhs, symmetric=F.antisymmetric, rtol=rtol, maxiter=self.maxiter)
        self._record(tr, state, sol, rtol)
        pg = sol.x
        pd = j_dg(pg)
        pd *= -e
        pd += gd
        tr.state_d = tr.opt_d.update(tr.theta_d, pd, tr.state_d)
        tr.state_g = tr.opt_g.update(tr.theta_g, pg, tr.state_g)
        return loss_d, loss_g, state

    def _record(self, tr, state, sol, rtol):
        from gandyn.engine import solvers

        state["iterations"] = np.array(sol.iterations)
        state["residual"] = np.array(sol.residual, dtype=np.float64)
        state["solves"] += 1
        state["products"] = state["products"] + sol.iterations
        bad = ~np.asarray(sol.converged)
        state["unconverged"] = state["unconverged"] + bad
        if bad.any():
            if self.strict:
                worst = float(np.max(sol.residual))
                raise solvers.ConvergenceError(
                    f"cgd: the linear solve of iteration {tr.it + 1} stopped at maxiter={self.maxiter} products with "
                    f"relative residual {worst:.3g} > rtol={rtol:.3g}"
                    + ("" if np.ndim(bad) == 0 else f" ({int(bad.sum())} of {bad.size} models)"))
            import warnings

            # one text for every such solve, so that Python's default filter shows it once per run
            warnings.warn(f"cgd: a linear solve stopped at maxiter={self.maxiter} products above rtol={rtol:.3g} "
                          "(each solve's residual and the count of such solves are in the trainer's method_state)",
                          solvers.ConvergenceWarning, stacklevel=4)


class _Shaping(_SecondOrder):
    """LA, LOLA and SOS (Letcher et al. 2019, Sec. 3) on the game of one minibatch: from the
    field ``xi``, ``H_o xi = (J_GD xi_D, J_DG xi_G)`` by two Jacobian products and, for the
    shaping term, ``chi = (J_DG^T grad_D L_G, J_GD^T grad_G L_D)`` by two transposed ones and
    the players' gradients of each other's cost, all after one shared forward pass. Each
    player then descends its part of ``xi_0 - p alpha chi``, ``xi_0 = xi - alpha H_o xi``,
    with ``alpha`` the opponent's step size in the look-ahead, the option ``opponent_lr``
    (default: D's step size, per model in a population)."""

    shaping = True
    takes_penalty = False  # the products and cross gradients are the unpenalised game's

    def _weight(self, F, xi, xi_0, alpha_chi):
        """``p`` of ``xi_0 - p alpha chi``: 1 (LOLA), per model for SOS."""
        return 1.0

    def step(self, tr, state):
        F = tr.oracle()
        loss_d, gd, loss_g, gg = F.loss_d, F.grad_d, F.loss_g, F.grad_g
        a = _d_rate(tr, self.opponent_lr, self.name, "opponent_lr")
        x0_g = F.jvp(None, gd, rows="g")[0]  # J_GD xi_D
        x0_d = F.jvp(gg, None, rows="d")[1]  # J_DG xi_G
        if self.shaping:
            cg, cd = F.cross()
            ac_g = a * F.vjp(None, cd, rows="g")[0]  # alpha J_DG^T grad_D L_G
            ac_d = a * F.vjp(cg, None, rows="d")[1]  # alpha J_GD^T grad_G L_D
        x0_g *= -a  # xi_0 = xi - alpha H_o xi, in place
        x0_g += gg
        x0_d *= -a
        x0_d += gd
        if self.shaping:
            p = self._weight(F, (gg, gd), (x0_g, x0_d), (ac_g, ac_d))
            x0_g -= p * ac_g
            x0_d -= p * ac_d
        tr.state_d = tr.opt_d.update(tr.theta_d, x0_d, tr.state_d)
        tr.state_g = tr.opt_g.update(tr.theta_g, x0_g, tr.state_g)
        return loss_d, loss_g, state


def _check_opponent_lr(opponent_lr):
    if opponent_lr is not None:
        _check_number("opponent_lr", opponent_lr, 0.0)


@dataclass(frozen=True)
class LA(_Shaping):
    """Look-ahead (Zhang & Lesser 2010; Letcher et al. 2019, Sec. 3): each player descends
    ``xi_0 = (I - alpha H_o) xi``, its gradient at the opponent's look-ahead point with the
    opponent's step held constant (``alpha``: ``opponent_lr``). Not ``lookahead``
    (Chavdarova et al.'s optimizer)."""

    opponent_lr: float | None = None
    name: str = "la"
    shaping = False

    def __post_init__(self):
        _check_opponent_lr(self.opponent_lr)


@dataclass(frozen=True)
class LOLA(_Shaping):
    """Learning with opponent-learning awareness (Foerster et al. 2018) in the form of
    Letcher et al. 2019, Sec. 3: ``xi_0 - alpha chi``, ``chi_G = J_DG^T grad_D L_G``,
    ``chi_D = J_GD^T grad_G L_D``; for a zero-sum loss G's cost is ``V = -L_D``."""

    opponent_lr: float | None = None
    name: str = "lola"

    def __post_init__(self):
        _check_opponent_lr(self.opponent_lr)


@dataclass(frozen=True)
class SOS(_Shaping):
    """Stable opponent shaping (Letcher et al. 2019, Algorithm 1): ``xi_0 - p alpha chi``
    with, per model, ``p = min(p1, p2)``, ``p1 = 1`` if ``<-alpha chi, xi_0> >= 0`` else
    ``min(1, -a ||xi_0||^2 / <-alpha chi, xi_0>)``, ``p2 = ||xi||^2`` if ``||xi|| < b`` else 1
    (norms and inner products over both players' parameters)."""

    opponent_lr: float | None = None
    a: float = 0.5
    b: float = 0.1
    name: str = "sos"

    def __post_init__(self):
        _check_opponent_lr(self.opponent_lr)
        if not (0 < self.a < 1 and 0 < self.b < 1):
            raise ValueError(f"a and b must be in (0, 1), got a={self.a!r}, b={self.b!r}")

    def _weight(self, F, xi, xi_0, alpha_chi):
        xp, dot = F.xp, F.dot
        d = -(dot(alpha_chi[0], xi_0[0]) + dot(alpha_chi[1], xi_0[1]))
        n0 = dot(xi_0[0], xi_0[0]) + dot(xi_0[1], xi_0[1])
        safe = xp.where(d < 0, d, -1.0)
        p1 = xp.where(d < 0, xp.minimum(1.0, -self.a * n0 / safe), 1.0)
        n2 = dot(xi[0], xi[0]) + dot(xi[1], xi[1])
        p2 = xp.where(xp.sqrt(n2) < self.b, n2, 1.0)
        return xp.minimum(p1, p2)


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
        _check_int("unroll", self.unroll, 0)
        if self.eta_u is not None:
            _check_number("eta_u", self.eta_u, 0.0)

    def step(self, tr, state):
        F = tr.oracle()
        loss_d, gd, loss_g, gg = F.loss_d, F.grad_d, F.loss_g, F.grad_g
        if self.unroll:
            gg = self._unrolled_grad(F, _d_rate(tr, self.eta_u, self.name, "eta_u"))
        tr.state_d = tr.opt_d.update(tr.theta_d, gd, tr.state_d)
        tr.state_g = tr.opt_g.update(tr.theta_g, gg, tr.state_g)
        return loss_d, loss_g, state

    def _unrolled_grad(self, F, e):
        """G's gradient of ``L_G(theta_G, theta_D^K(theta_G))`` on the oracle ``F`` of the
        current point (the oracles of the unrolled points by ``F.at``)."""
        K = int(self.unroll)
        path = [F]  # the oracles at theta_D^0 .. theta_D^K
        for k in range(K):
            path.append(F.at(theta_d=_minus(path[k].theta_d, e * path[k].grad_d)))
        g = path[K].grad_g  # d_G L_G at theta_D^K
        v = path[K].cross(rows="d")[1]  # grad_D of G's cost there
        for k in range(K - 1, -1, -1):
            a, b = path[k].vjp(None, v)
            a *= e
            b *= e
            g -= a
            v -= b
        return g


def _minus(a, b):
    """``a - b`` in ``a``'s dtype, rounded once (as written into a buffer like ``a``) for an
    engine array; plain ``a - b`` for the games' traced values."""
    if isinstance(a, np.ndarray):
        out = a.copy()
        out -= b
        return out
    return a - b


@dataclass(frozen=True)
class NK(_SecondOrder):
    """The gradient-norm regulariser of Nagarajan & Kolter 2017 (Sec. 5; "Gradient descent
    GAN optimization is locally stable"): D descends its loss, G descends its loss plus
    ``gamma ||grad_D L_D||^2`` (their ``V + eta ||grad_D V||^2`` with ``L_D = -V``; ``gamma``
    here, the weight of a gradient-norm regulariser as in :class:`Consensus`), both
    simultaneously from the same point of one minibatch:

        d_G = grad_G L_G + gamma grad_G ||grad_D L_D||^2 = omega_G + 2 gamma J_DG^T omega_D,
        d_D = omega_D,

    ``J_DG^T omega_D`` by one transposed Jacobian product (the G row of ``J^T (0, omega_D)``).
    Near an equilibrium it adds ``2 gamma J_DG^T J_DG`` to G's block of the Jacobian, which
    makes it locally stable where simultaneous GD is not (their Theorem 3.1, for WGAN too).
    Their code's weight is ``eta = 0.5`` (``gamma`` here). D's gradient penalties are refused: the products
    are the unpenalised game's."""

    gamma: float = 0.5
    name: str = "nk"
    takes_penalty = False

    def __post_init__(self):
        _check_number("gamma", self.gamma, 0.0, inclusive=True)

    def step(self, tr, state):
        F = tr.oracle()
        loss_d, gd, loss_g, gg = F.loss_d, F.grad_d, F.loss_g, F.grad_g
        gg += 2 * self.gamma * F.vjp(None, gd, rows="g")[0]  # gamma grad_G ||omega_D||^2
        tr.state_d = tr.opt_d.update(tr.theta_d, gd, tr.state_d)
        tr.state_g = tr.opt_g.update(tr.theta_g, gg, tr.state_g)
        return loss_d, loss_g, state


#: The training methods by name; each entry builds the method from its options.
METHODS: Registry[Callable[..., Any]] = Registry("method")
for _cls in (AltGD, SimGD, Extragradient, Optimistic, Lookahead, Consensus, SGA, CGD, LA, LOLA, SOS, Unrolled, NK):
    METHODS.register(_cls.name, _cls)  # the dataclass field's default is the name


def check_penalty(method) -> None:
    """Refuse a gradient penalty for a method (object or registered class) whose
    ``takes_penalty`` is false: LA, LOLA, SOS and the unrolled GAN differentiate the game
    without it. (Consensus, SGA and CGD take every penalty: they form the penalised game's
    products, :mod:`gandyn.engine.penalty_products`.)

    Raises
    ------
    ValueError
        One line naming the method.
    """
    if not getattr(method, "takes_penalty", True):
        raise ValueError(f"the {method.name} method differentiates the unpenalised game: "
                         "a gradient penalty is not supported with it")


def as_method(method):
    """The method object of ``method``: a method object (with ``init`` and ``step``) itself, or, for convenience at the public constructors (configurations,
    trainers, populations), a registered name, built with its defaults
    (``"cgd"`` is ``CGD()``). Nothing else is parsed: lookahead around another method is
    ``Lookahead(inner=...)``, options are the object's fields.

    >>> as_method("cgd") == CGD(), as_method(Lookahead(inner=SGA(lam=2.0))).inner.lam
    (True, 2.0)

    Raises
    ------
    ValueError
        An unknown name (the message lists the choices), or an object without ``init`` or
        ``step``.
    """
    if isinstance(method, str):
        if ":" in method:
            raise ValueError(f"method {method!r}: a method is a name or an object; lookahead around another "
                             "method is Lookahead(inner=...)")
        return METHODS[METHODS.check(method, "method")]()
    if not (hasattr(method, "init") and hasattr(method, "step")) or isinstance(method, type):
        raise ValueError(f"a method is an object with init and step, got {method!r}")
    return method


def method_label(method) -> str:
    """A method's name as tables and results show it (its command-line spelling without
    the options): its name, or of lookahead around another method, ``lookahead:INNER``.

    >>> method_label(Lookahead(inner=Extragradient(), k_la=3)), method_label(CGD(rtol=1e-6))
    ('lookahead:extragradient', 'cgd')
    """
    inner = getattr(method, "inner", None)
    return method.name if inner is None else f"{method.name}:{inner.name}"


def method_to_dict(method) -> dict:
    """A method as a small JSON-able dict: ``{"name": ..., field: value, ...}`` with every
    dataclass field (an ``inner`` method as such a dict too); :func:`method_from_dict` reads
    it back. A method that is not a dataclass is saved by its name alone.

    >>> method_to_dict(Lookahead(inner=CGD(rtol=1e-6), k_la=3))
    {'name': 'lookahead', 'inner': {'name': 'cgd', 'eta': None, 'rtol': 1e-06, 'maxiter': 100, 'strict': False}, \
'k_la': 3, 'alpha': 0.5}
    """
    out = {"name": method.name}
    if is_dataclass(method):
        for f in fields(method):
            if f.name != "name":
                v = getattr(method, f.name)
                out[f.name] = method_to_dict(v) if f.name == "inner" else v.item() if isinstance(v, np.generic) else v
    return out


def method_from_dict(d: dict):
    """The method of :func:`method_to_dict`'s dict: the registered class of ``d["name"]``
    built with the other entries (``inner`` from its own dict).

    Raises
    ------
    ValueError
        Not a dict with a registered ``name``, a field the method does not have (the
        message lists those it has), or a value the method refuses.
    """
    if not isinstance(d, dict) or not isinstance(d.get("name"), str):
        raise ValueError(f"a saved method is a dict with a name, got {d!r}")
    cls = METHODS[METHODS.check(d["name"], "method")]
    kw = {k: v for k, v in d.items() if k != "name"}
    if isinstance(kw.get("inner"), dict):
        kw["inner"] = method_from_dict(kw["inner"])
    have = [f.name for f in fields(cls) if f.name != "name"] if is_dataclass(cls) else []
    bad = sorted(set(kw) - set(have))
    if bad:
        raise ValueError(f"method {d['name']} has no field {', '.join(bad)} (it has: {', '.join(have) or 'none'})")
    return cls(**kw)
