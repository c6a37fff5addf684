"""Learning dynamics on any game: the training methods of the engine, run on a game.

A method here is a pair ``(init, step)`` on a flat *state* ``s``: the parameters
``z`` first, then whatever the method remembers (optimistic GD keeps the last
game form). ``s = init(game, z0)``; ``s = step(game, s, h)``. Every player
descends its own cost, so the only field a method sees is the game form
``omega`` of :mod:`gandyn.games` (and, for SGA, consensus, CGD, LA, LOLA, SOS and
``nk``, products with the game Jacobian; LOLA, SOS and the unrolled GAN also each
player's gradient of the other's cost); nothing is written per player or per game.

Most methods are the engine's own method objects (:mod:`gandyn.engine.methods`; one
registry, :data:`METHODS`), run by :class:`GameTrainer`, which gives them the trainer's
interface on a game: the autograd field oracle :class:`gandyn.games.game.GameOracle` and
plain gradient steps (:func:`as_dynamics`). ``simgd``, ``altgd`` (D first, one G step),
``extragradient``, ``consensus``, ``sga``, ``la``, ``lola``, ``sos``, ``unrolled``, ``nk`` and
any method registered later run this way; ``altgd``'s other orders (``k_g > 1``, G first),
``optimistic`` (the engine's remembers the optimizer's step in buffers), ``cgd`` (the engine
solves by GMRES, which autograd cannot trace) and ``lookahead`` (the engine's updates the
parameters in place) have their own game steps here.

Step sizes: ``h`` is a number, or a pair ``(h_G, h_D)`` for two time-scale
updates (Heusel et al. 2017, TTUR), which every method accepts.

Steps are written with operators and :mod:`autograd.numpy` (the engine's methods with
their oracle's ``xp``), so the Jacobian of one step at a fixed point
(:func:`step_matrix`) is formed by autograd from the same code;
its spectral radius decides local convergence of the discrete dynamics
(Mescheder, Nowozin & Geiger 2017, Prop. 3). The regularisers R1, R2 and
instance noise (Mescheder, Geiger & Nowozin 2018) change the players' costs and
live in :func:`gandyn.games.gan_game`; consensus optimisation is both a game
transform (:func:`gandyn.games.consensus_game`, for its Jacobian) and the method
:func:`consensus` here.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import autograd.numpy as anp
import numpy as np
from autograd import jacobian
from tqdm.auto import tqdm

from gandyn.engine import methods as engine_methods
from gandyn.engine.methods import METHODS
from gandyn.games.game import Game, GameOracle

__all__ = [
    "Method", "GameTrainer", "as_dynamics", "simgd", "altgd", "extragradient", "optimistic", "consensus", "sga",
    "cgd", "lookahead", "la", "lola", "sos", "unrolled", "trajectory", "step_matrix", "spectral_radius",
    "METHODS", "make",
]


class Method(NamedTuple):
    name: str
    init: Callable  # (game, z0) -> state s
    step: Callable  # (game, s, h) -> s   (autograd-traceable)


def _rates(game: Game, h):
    """The per-coordinate step: ``h`` everywhere, or ``h_G`` on theta_G and ``h_D`` on theta_D."""
    if np.ndim(h) == 0:
        h = float(h)
        if not h > 0:
            raise ValueError(f"step size h must be > 0, got {h}")
        return h
    hg, hd = (float(x) for x in h)
    if not (hg > 0 and hd > 0):
        raise ValueError(f"step sizes (h_G, h_D) must be > 0, got {h}")
    return np.concatenate([np.full(game.n_g, hg), np.full(game.n_d, hd)])


def _pair(h):
    return (float(h), float(h)) if np.ndim(h) == 0 else tuple(float(x) for x in h)


def _plain_init(game, z0):
    return np.array(z0, dtype=np.float64).reshape(-1)


class _Descent:
    """A player's plain gradient step of size ``h`` on a game, written without in-place
    operations (autograd traces it): ``update(theta, d, state)`` sets the player's
    parameters to ``theta - h d``; the optimizer interface of the engine's methods."""

    def __init__(self, trainer, player: str, h: float):
        self.trainer, self.attr, self.h = trainer, "theta_" + player, h
        self.hparams = {"lr": h}

    def init(self, theta):
        return None

    def update(self, theta, direction, state):
        setattr(self.trainer, self.attr, theta - self.h * direction)
        return state


class GameTrainer:
    """The interface of :class:`gandyn.engine.trainer.Trainer` that the engine's methods use
    (:mod:`gandyn.engine.methods`), on a game at ``z = concat(theta_G, theta_D)``.

    ``oracle()`` is the game's field oracle at the current point (:meth:`Game.oracle`,
    autograd; its losses None, since the dynamics discard them); ``draw``, ``draw_d`` draw
    nothing (a game is one fixed batch); ``field``, ``d_grad``, ``d_step_grad``, ``g_step_grad`` are the game form's rows; ``opt_g``,
    ``opt_d`` are plain gradient steps of sizes ``h_G``, ``h_D`` that rebind ``theta_g``,
    ``theta_d`` (nothing is written in place, so a step is traceable); ``step_size`` gives
    ``h_G`` or ``h_D``; ``point``/``set_point`` read and set the parameters; ``k`` is the
    number of D steps per G step of ``altgd``; ``population`` is None.

    Parameters
    ----------
    game : Game
    z : array (n,)
    h : float or (h_G, h_D)
    k : int

    Raises
    ------
    ValueError
        A step size that is not > 0.
    """

    population = None

    def __init__(self, game: Game, z, h, k: int = 1):
        _rates(game, h)  # validate
        self.game, self.k, self.it = game, int(k), 0
        self.theta_g, self.theta_d = z[: game.n_g], z[game.n_g:]
        hg, hd = _pair(h)
        self.opt_g, self.opt_d = _Descent(self, "g", hg), _Descent(self, "d", hd)
        self.state_g = self.state_d = None

    @property
    def z(self):
        """``concat(theta_G, theta_D)``."""
        return anp.concatenate([self.theta_g, self.theta_d])

    def oracle(self) -> GameOracle:
        return GameOracle(self.game, self.theta_g, self.theta_d, losses=False)

    def draw(self) -> None:
        return None

    def draw_d(self):
        return None, None

    def field(self):
        F = self.oracle()
        return F.loss_d, F.grad_d, F.loss_g, F.grad_g

    def d_grad(self, x_real, z):
        return self.game.grad_d(self.z)

    def d_step_grad(self):
        F = self.oracle()
        return F.loss_d, F.grad_d, None

    def g_step_grad(self, hs):
        F = self.oracle()
        return F.loss_g, F.grad_g

    def step_size(self, player: str) -> float:
        if player not in ("g", "d"):
            raise ValueError(f"player must be 'g' or 'd', got {player!r}")
        return (self.opt_g if player == "g" else self.opt_d).h

    def point(self, out=None):
        return self.theta_g, self.theta_d

    def set_point(self, theta_g, theta_d) -> None:
        self.theta_g, self.theta_d = theta_g, theta_d


def as_dynamics(method, name: str | None = None, k: int = 1) -> Method:
    """A training method of the engine (an object of :mod:`gandyn.engine.methods`, or a name
    of :data:`METHODS`) as a game method: each step runs ``method.init`` and ``method.step``
    on a :class:`GameTrainer` at the state (plain gradient steps of size ``h`` or
    ``(h_G, h_D)``), so the update is the engine's own code, and :func:`step_matrix` its
    autograd Jacobian. Methods that remember something between steps (``optimistic``,
    ``lookahead``) are not for this.

    Raises
    ------
    ValueError
        An unknown name, or ``optimistic``, ``lookahead`` or ``cgd``, which have their own game
        steps here (:func:`optimistic`, :func:`lookahead`, :func:`cgd`).
    """
    method = engine_methods.as_method(method)
    if isinstance(method, (engine_methods.Optimistic, engine_methods.Lookahead, engine_methods.CGD)):
        raise ValueError(f"the {method.name} method has its own game step: use dynamics.{method.name}")

    def step(game, s, h):
        tr = GameTrainer(game, s, h, k)
        method.step(tr, method.init(tr))
        return tr.z

    return Method(method.name if name is None else name, _plain_init, step)


def simgd() -> Method:
    """Simultaneous gradient descent: ``z <- z - h omega(z)`` (the engine's ``simgd``)."""
    return as_dynamics(engine_methods.SimGD(), "simultaneous GD")


def altgd(k_d: int = 1, k_g: int = 1, d_first: bool = True) -> Method:
    """Alternating gradient descent: ``k_d`` discriminator steps, each on the
    current ``theta_G``, then ``k_g`` generator steps on the new ``theta_D``
    (Goodfellow et al. 2014, Algorithm 1, which updates D first). ``d_first =
    False`` updates G first, as the Dirac-GAN notebooks of Mescheder et al. 2018 do.
    With one G step after the D steps (the defaults) this is the engine's ``altgd`` with
    ``k = k_d``; the other orders are the games' own.
    """
    if k_d < 1 or k_g < 1:
        raise ValueError(f"k_d and k_g must be >= 1, got {k_d}, {k_g}")
    order = "D first" if d_first else "G first"
    label = f"alternating GD ({k_d} D, {k_g} G, {order})"
    if k_g == 1 and d_first:
        return as_dynamics(engine_methods.AltGD(), label, k=k_d)

    def step(game, s, h):
        hg, hd = _pair(h)
        theta, psi = s[: game.n_g], s[game.n_g:]

        def d_steps(theta, psi):
            for _ in range(k_d):
                psi = psi - hd * game.grad_d(anp.concatenate([theta, psi]))
            return psi

        def g_steps(theta, psi):
            for _ in range(k_g):
                theta = theta - hg * game.grad_g(anp.concatenate([theta, psi]))
            return theta

        if d_first:
            psi = d_steps(theta, psi)
            theta = g_steps(theta, psi)
        else:
            theta = g_steps(theta, psi)
            psi = d_steps(theta, psi)
        return anp.concatenate([theta, psi])

    return Method(label, _plain_init, step)


def extragradient() -> Method:
    """Extragradient (Korpelevich 1976): ``z' = z - h omega(z - h omega(z))`` (the engine's
    ``extragradient``)."""
    return as_dynamics(engine_methods.Extragradient(), "extragradient")


def optimistic() -> Method:
    """Optimistic gradient descent (Daskalakis, Ilyas, Syrgkanis & Zeng 2018, eq. 4):
    ``z_{t+1} = z_t - 2 h omega(z_t) + h omega(z_{t-1})``. The state is
    ``(z_t, omega(z_{t-1}))``; ``init`` sets the remembered gradient to the
    *current* one, ``omega(z_0)``, so the first step is a plain gradient step
    (starting from zero would make it a double step)."""
    def init(game, z0):
        z0 = _plain_init(game, z0)
        return np.concatenate([z0, np.asarray(game.omega(z0))])

    def step(game, s, h):
        r = _rates(game, h)
        z, g_prev = s[: game.n], s[game.n:]
        g = game.omega(z)
        return anp.concatenate([z - 2.0 * r * g + r * g_prev, g])

    return Method("optimistic GD", init, step)


def consensus(gamma: float = 1.0) -> Method:
    """Consensus optimisation (Mescheder, Nowozin & Geiger 2017, Algorithm 2):
    ``z <- z - h (omega + gamma J^T omega)``, i.e. simultaneous GD on
    :func:`gandyn.games.consensus_game` (the engine's ``consensus``)."""
    if not gamma >= 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    return as_dynamics(engine_methods.Consensus(gamma=gamma), f"consensus (gamma={gamma:g})")


def sga(lam: float = 1.0, align: bool = True, eps: float = 0.1) -> Method:
    """Symplectic gradient adjustment (Balduzzi et al. 2018, Algorithm 1):
    ``z <- z - h (xi + lambda A^T xi)`` with ``xi = omega``, ``A = (J - J^T)/2``,
    so ``A^T xi = (J^T xi - J xi)/2``. With ``align``, the sign of lambda is
    ``sign(<xi, grad H><A^T xi, grad H>/d + eps)`` with ``grad H = J^T xi``,
    ``H = ||xi||^2/2`` [Balduzzi et al. 2018, Sec. 4, eq. 6 and Algorithm 1] (the engine's
    ``sga``)."""
    if not lam > 0:
        raise ValueError(f"lam must be > 0, got {lam}")
    return as_dynamics(engine_methods.SGA(lam=lam, align=align, eps=eps), f"SGA (lambda={lam:g})")


def cgd(eta: float | None = None) -> Method:
    """Competitive gradient descent (Schafer & Anandkumar 2019, Eq. 4, general-sum form):
    each player's step is the Nash equilibrium of the bilinear approximation of the game,

        dx = -eta (I - eta^2 J_GD J_DG)^{-1} (omega_G - eta J_GD omega_D)
        dy = -eta (I - eta^2 J_DG J_GD)^{-1} (omega_D - eta J_DG omega_G)

    with ``J_GD = D_D grad_G f_G`` and ``J_DG = D_G grad_D f_D`` the off-diagonal blocks
    of ``J``; ``eta`` defaults to the step ``h`` (the paper's single step size). On the
    bilinear game ``f = x y`` its step matrix has spectral radius
    ``1/sqrt(1 + eta^2)`` (tested): it converges for every step size. Dense solves
    here (autograd-traceable, small games); the engine's version solves matrix-free."""
    if eta is not None:
        engine_methods.CGD(eta=eta)  # the engine method's checks

    def step(game, s, h):
        e = _pair(h)[0] if eta is None else float(eta)
        J = jacobian(game.omega)(s)
        n_g = game.n_g
        a, b = J[:n_g, n_g:], J[n_g:, :n_g]  # J_GD, J_DG
        w = game.omega(s)
        wg, wd = w[:n_g], w[n_g:]
        dx = anp.linalg.solve(anp.eye(n_g) - e * e * anp.dot(a, b), wg - e * anp.dot(a, wd))
        dy = anp.linalg.solve(anp.eye(game.n_d) - e * e * anp.dot(b, a), wd - e * anp.dot(b, wg))
        return s - _rates(game, h) * anp.concatenate([dx, dy])

    return Method("competitive GD" + ("" if eta is None else f" (eta={eta:g})"), _plain_init, step)


def _look_ahead(label: str, alpha, shaping: bool) -> Method:
    """LA or, with ``shaping``, LOLA: the engine's methods."""
    method = (engine_methods.LOLA if shaping else engine_methods.LA)(alpha=alpha)
    return as_dynamics(method, label + ("" if alpha is None else f" (alpha={alpha:g})"))


def la(alpha: float | None = None) -> Method:
    """Look-ahead (LA; Zhang & Lesser 2010, in the form of Letcher et al. 2019, Sec. 3):
    each player differentiates its cost at the opponent's look-ahead point but treats
    the opponent's step as a constant (no shaping):

        xi_0 = (I - alpha H_o) xi,   z <- z - h xi_0

    ``H_o`` the off-diagonal blocks of ``J`` (``H_o xi = (J_GD omega_D, J_DG omega_G)``),
    ``alpha`` the look-ahead rate (default: D's step size). On ``f = x y`` the step
    matrix is ``I - h (A + alpha I)``: spectral radius ``sqrt((1 - h alpha)^2 + h^2)``.
    Not the lookahead-minmax optimizer of the engine (``lookahead``).

    Raises
    ------
    ValueError
        alpha <= 0.
    """
    return _look_ahead("LA", alpha, shaping=False)


def lola(alpha: float | None = None) -> Method:
    """Learning with opponent-learning awareness (LOLA; Foerster et al. 2018), in
    the form of Letcher et al. 2019, Sec. 3: each player descends its cost at the
    opponent's look-ahead point ``theta_j - alpha grad_j f_j``, to first order in ``alpha``,

        xi_LOLA = xi_0 - alpha chi,   xi_0 = (I - alpha H_o) xi,
        chi_G = J_DG^T grad_D f_G,    chi_D = J_GD^T grad_G f_D

    (``chi = diag(H_o^T grad L)``; ``J_DG = D_G grad_D f_D``, ``J_GD = D_D grad_G f_G``).
    ``chi`` needs each player's gradient of the *other's* cost, which ``omega`` does
    not hold unless the game is zero-sum (then ``grad_D f_G = -omega_D``). ``alpha``
    defaults to D's step size. On ``f = x y``: ``xi_LOLA = xi + 2 alpha z``, step matrix
    ``I - h (A + 2 alpha I)``, spectral radius ``sqrt((1 - 2 h alpha)^2 + h^2)``.

    Raises
    ------
    ValueError
        alpha <= 0.
    """
    return _look_ahead("LOLA", alpha, shaping=True)


def sos(alpha: float | None = None, a: float = 0.5, b: float = 0.1) -> Method:
    """Stable opponent shaping (SOS; Letcher et al. 2019, Algorithm 1): LOLA's shaping
    term scaled down where it would turn the step against LA's or near a fixed point,

        xi_p = xi_0 - p alpha chi,   p = min(p1, p2),
        p1 = 1 if <-alpha chi, xi_0> >= 0 else min(1, -a ||xi_0||^2 / <-alpha chi, xi_0>),
        p2 = ||xi||^2 if ||xi|| < b else 1,

    with ``a, b`` in ``(0, 1)`` (defaults 0.5 and 0.1, the paper's). ``p chi`` vanishes to
    third order at a fixed point (``p2 = ||xi||^2``), so SOS's step matrix there is LA's;
    on ``f = x y``, ``<chi, xi_0> = 0`` gives ``p1 = 1``, so away from the fixed point
    (``||xi|| >= b``) SOS steps as LOLA does.

    Raises
    ------
    ValueError
        alpha <= 0, a outside (0, 1) or b <= 0.
    """
    return as_dynamics(engine_methods.SOS(alpha=alpha, a=a, b=b), "SOS" + ("" if alpha is None else f" (alpha={alpha:g})"))


def unrolled(unroll: int = 5, eta_u: float | None = None) -> Method:
    """The unrolled GAN (Metz, Poole, Pfau & Sohl-Dickstein 2017, Sec. 2.2): D
    takes a plain step; G descends its cost at D unrolled ``K = unroll`` gradient steps
    ahead, differentiated through the unrolled steps,

        psi_0 = psi,  psi_{k+1} = psi_k - eta_u grad_D f_D(theta, psi_k),
        theta <- theta - h_G d/dtheta f_G(theta, psi_K(theta, psi)),
        psi <- psi - h_D grad_D f_D(theta, psi)

    (both from the same point). The unrolled steps are plain gradient steps of size
    ``eta_u`` (default: D's step size). On ``f = x y``: ``psi_K = y + K eta_u x``, G's field
    ``y + 2 K eta_u x``, step matrix ``I - h [[2 K eta_u, 1], [-1, 0]]``; for
    ``K eta_u < 1`` its spectral radius is ``sqrt(1 + h^2 - 2 K h eta_u)``.

    Raises
    ------
    ValueError
        unroll not an integer >= 0, or eta_u <= 0.
    """
    return as_dynamics(engine_methods.Unrolled(unroll=unroll, eta_u=eta_u), f"unrolled GAN (K={int(unroll)})")


def lookahead(inner: Method | str = "simgd", k_la: int = 5, alpha: float = 0.5) -> Method:
    """Lookahead-minmax (Chavdarova et al. 2021, Algorithm 1) around ``inner``: one step
    here is one whole cycle, ``k_la`` steps of ``inner`` from the slow weights ``z``
    ("fast" weights ``z_k``), then ``z <- z + alpha (z_k - z)``; whatever else the inner
    method remembers (optimistic GD's last field) carries on, as in the engine's
    ``lookahead``. Its step matrix at a fixed point is ``(1 - alpha) I + alpha M^k_la``,
    ``M`` the inner step's: with ``simgd`` on ``f = x y``, whose ``M`` has eigenvalues
    ``1 -+ i h``, the spectral radius is ``|1 - alpha + alpha (1 - i h)^k_la|``
    (Chavdarova et al. 2021, Sec. 3; tested).

    Raises
    ------
    ValueError
        an unknown inner method, k_la not an integer >= 1, or alpha outside (0, 1].
    """
    inner = make(inner) if isinstance(inner, str) else inner
    if isinstance(k_la, (bool, np.bool_)) or int(k_la) != k_la or k_la < 1:
        raise ValueError(f"k_la must be an integer >= 1, got {k_la!r}")
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")

    def step(game, s, h):
        fast = s
        for _ in range(int(k_la)):
            fast = inner.step(game, fast, h)
        z = s[: game.n]
        return anp.concatenate([z + alpha * (fast[: game.n] - z), fast[game.n:]])

    return Method(f"lookahead-minmax ({inner.name}, k={k_la}, alpha={alpha:g})", inner.init, step)


#: The front ends of the built-in methods on games, by their engine names (each a factory
#: of a :class:`Method`, with the games' option names); :func:`make` wraps any other method
#: of :data:`METHODS` by :func:`as_dynamics`.
_FRONT_ENDS = {f.__name__: f for f in (simgd, altgd, extragradient, optimistic, consensus, sga, cgd, la, lola, sos,
                                       unrolled, lookahead)}


def make(name: str, **options) -> Method:
    """A method by name (:data:`METHODS`, the engine's one registry), e.g.
    ``make("altgd", k_d=5)`` or ``make("nk", eta=0.3)``: the built-in front ends of this
    module take the games' options; any other method is the engine's object with
    ``options``, run by :func:`as_dynamics`.

    Raises
    ------
    ValueError
        An unknown name (the message lists :data:`METHODS`), or an option the method refuses.
    """
    METHODS.check(name)
    if name in _FRONT_ENDS:
        return _FRONT_ENDS[name](**options)
    try:
        return as_dynamics(METHODS[name](**options))
    except TypeError as e:
        raise ValueError(f"method {name}: {e}") from None


def trajectory(method: Method, game: Game, z0, h, steps: int, progress: bool = False) -> np.ndarray:
    """Run ``steps`` steps from ``z0``; returns the iterates ``z_0 .. z_steps``, ``(steps + 1, n)``.

    Stops early (the rest filled with NaN) if an iterate leaves the floats.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    _rates(game, h)  # validate
    s = method.init(game, z0)
    if s.shape[0] < game.n:
        raise ValueError(f"z0 must have {game.n} entries")
    out = np.full((steps + 1, game.n), np.nan)
    out[0] = s[: game.n]
    for t in tqdm(range(1, steps + 1), desc=method.name, disable=not progress, leave=False):
        s = np.asarray(method.step(game, s, h), dtype=np.float64)
        if not np.all(np.isfinite(s)) or np.abs(s).max() > 1e150:
            break
        out[t] = s[: game.n]
    return out


def step_matrix(method: Method, game: Game, z_star, h) -> np.ndarray:
    """The Jacobian of one step of ``method`` at the fixed point ``z_star``
    (state ``init(game, z_star)``), by autograd through the step's own code.

    For a linear game it *is* the step; its spectral radius < 1 means local
    convergence (Ostrowski's theorem; Mescheder et al. 2017, Prop. 3).
    """
    s = method.init(game, z_star)
    return np.asarray(jacobian(lambda w: method.step(game, w, h))(s))


def spectral_radius(M) -> float:
    """``max |eigenvalue|`` of a square matrix."""
    return float(np.abs(np.linalg.eigvals(np.asarray(M))).max())

