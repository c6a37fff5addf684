"""Learning dynamics on any game: the training methods of the engine, run on a game.

A method here is a pair ``(init, step)`` on a flat *state* ``s``: the parameters
``z`` first, then whatever the method remembers from one step to the next (optimistic
GD its last step, lookahead-minmax its slow weights). ``s = init(game, z0)``;
``s = step(game, s, h)``. Every player descends its own cost, so the only field a
method sees is the game form ``omega`` of :mod:`gandyn.games` (and, for SGA, consensus,
CGD, LA, LOLA, SOS and ``nk``, products with the game Jacobian; LOLA, SOS and the
unrolled GAN also each player's gradient of the other's cost); nothing is written per
player or per game.

Every method is the engine's own method object (:mod:`gandyn.engine.methods`; one
registry, :data:`METHODS`), run by :class:`GameTrainer`, which gives it the trainer's
interface on a game: the autograd field oracle :class:`gandyn.games.game.GameOracle`
(whose linear solve, for CGD, is an exact dense one) and plain gradient steps
(:func:`as_dynamics`). The functions named after the methods (``simgd``, ``altgd``,
``optimistic``, ``cgd``, ``lookahead``, ...) build them with the games' option names and
labels; the update rules live in :mod:`gandyn.engine.methods` only.

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

from typing import Any, Callable, NamedTuple

import autograd.numpy as anp
import numpy as np
from autograd import jacobian
from autograd.tracer import getval
from tqdm.auto import tqdm

from gandyn.engine import methods as engine_methods
from gandyn.engine.methods import METHODS
from gandyn.games.game import Game, GameOracle

__all__ = [
    "Method", "GameTrainer", "as_dynamics", "simgd", "altgd", "extragradient", "optimistic", "consensus", "sga",
    "cgd", "lookahead", "la", "lola", "sos", "unrolled", "iterates", "trajectory", "step_matrix", "spectral_radius",
    "METHODS", "make",
]


class Method(NamedTuple):
    name: str
    init: Callable  # (game, z0) -> state s
    step: Callable  # (game, s, h) -> s   (autograd-traceable)
    method: Any = None  # the engine method it runs (:func:`as_dynamics`), if any


def _pair(h) -> tuple[float, float]:
    """The players' steps ``(h_G, h_D)`` from ``h`` (both) or ``(h_G, h_D)``.

    Raises
    ------
    ValueError
        A step size that is not > 0.
    """
    if np.ndim(h) == 0:
        h = float(h)
        if not h > 0:
            raise ValueError(f"step size h must be > 0, got {h}")
        return h, h
    hg, hd = (float(x) for x in h)
    if not (hg > 0 and hd > 0):
        raise ValueError(f"step sizes (h_G, h_D) must be > 0, got {h}")
    return hg, hd


def _plain_init(game, z0):
    return np.array(z0, dtype=np.float64).reshape(-1)


class _Descent:
    """A player's plain gradient step of size ``h`` on a game, written without in-place
    operations (autograd traces it): ``update(theta, d, state)`` sets the player's
    parameters to ``theta - h d``; the optimizer interface of the engine's methods."""

    project = None  # no constraint

    def __init__(self, trainer, player: str, h: float | None):
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
    nothing (a game is one fixed batch); ``losses_grads``, ``d_grad``, ``d_step_grad``,
    ``g_step_grad``, ``g_grad`` are the game form's rows; ``opt_g``, ``opt_d`` are plain
    gradient steps of sizes ``h_G``, ``h_D`` that rebind ``theta_g``, ``theta_d`` (nothing is
    written in place, so a step is traceable); ``step_size`` gives ``h_G`` or ``h_D``;
    ``point``/``set_point`` read and set the parameters (``point`` gives copies);
    ``assign(dst, value)`` is ``value`` and ``buffer`` a scratch array (the engine's keep a
    method's state in its own arrays); ``k`` is the number of D steps per G step of
    ``altgd``; ``population`` is None.

    Parameters
    ----------
    game : Game
    z : array (n,)
        Copied when not traced: a method may update the trainer's arrays in place.
    h : float or (h_G, h_D), or None
        None: no step size (for a method's ``init``, which takes no step).
    k : int

    Raises
    ------
    ValueError
        A step size that is not > 0.
    """

    population = None

    def __init__(self, game: Game, z, h, k: int = 1):
        self.game, self.k, self.it = game, int(k), 0
        self.theta_g, self.theta_d = z[: game.n_g] + 0.0, z[game.n_g: game.n] + 0.0
        hg, hd = (None, None) if h is None else _pair(h)
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

    def losses_grads(self):
        F = self.oracle()
        return F.loss_d, F.grad_d, F.loss_g, F.grad_g

    def d_grad(self, x_real, z):
        return self.game.grad_d(self.z)

    def g_grad(self):
        """G's loss (None) and gradient at the current point: a G step of its own."""
        return None, self.game.grad_g(self.z)

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
        return self.theta_g + 0.0, self.theta_d + 0.0

    def set_point(self, theta_g, theta_d) -> None:
        self.theta_g, self.theta_d = theta_g, theta_d

    @staticmethod
    def assign(dst, value):
        return value

    @staticmethod
    def buffer(key, like):
        return np.zeros(np.shape(like))


def _flatten(state) -> list:
    """The numbers of a method's state (arrays, dicts and tuples of them, counters and
    flags), in order, as flat arrays; None and other objects hold none."""
    if isinstance(state, dict):
        return [a for v in state.values() for a in _flatten(v)]
    if isinstance(state, (tuple, list)):
        return [a for v in state for a in _flatten(v)]
    if isinstance(state, (bool, int, float)):
        return [np.array([float(state)])]
    if hasattr(state, "shape"):
        return [anp.reshape(state, (-1,))]
    return []


def _unflatten(template, flat, pos: int = 0):
    """The state shaped like ``template`` (a state of :func:`_flatten`'s kinds) from
    ``flat[pos:]``: arrays are copies (or traced slices), counters and flags plain numbers
    of their type. Returns ``(state, next position)``."""
    if isinstance(template, dict):
        out = {}
        for key, v in template.items():
            out[key], pos = _unflatten(v, flat, pos)
        return out, pos
    if isinstance(template, (tuple, list)):
        items = []
        for v in template:
            item, pos = _unflatten(v, flat, pos)
            items.append(item)
        return type(template)(items), pos
    if isinstance(template, (bool, int, float)):
        return type(template)(getval(flat[pos])), pos + 1
    if hasattr(template, "shape"):
        size = int(np.prod(template.shape))
        return anp.reshape(flat[pos: pos + size], template.shape) + 0.0, pos + size
    return template, pos


def as_dynamics(method, name: str | None = None, k: int = 1, cycle: int = 1) -> Method:
    """A training method of the engine (an object of :mod:`gandyn.engine.methods`, or a name
    of :data:`METHODS`) as a game method: each step runs ``method.step`` ``cycle`` times on a
    :class:`GameTrainer` at the state (plain gradient steps of size ``h`` or ``(h_G, h_D)``),
    so the update is the engine's own code, and :func:`step_matrix` its autograd Jacobian.

    A method whose ``memory`` is true (optimistic GD, lookahead-minmax) keeps its state
    between steps: the game state is ``z`` followed by the numbers of the method's state
    (its arrays, counters and flags); any other method starts every step from ``init``.

    Raises
    ------
    ValueError
        An unknown name, or ``cycle`` not an integer >= 1.
    """
    method = engine_methods.as_method(method)
    if isinstance(cycle, (bool, np.bool_)) or int(cycle) != cycle or cycle < 1:
        raise ValueError(f"cycle must be an integer >= 1, got {cycle!r}")
    memory = bool(getattr(method, "memory", False))

    def init(game, z0):
        z0 = _plain_init(game, z0)
        if not memory:
            return z0
        return anp.concatenate([z0] + _flatten(method.init(GameTrainer(game, z0, None, k))))

    def step(game, s, h):
        tr = GameTrainer(game, s, h, k)
        state = method.init(tr)
        if memory:
            state, _ = _unflatten(state, s, game.n)
        for _ in range(int(cycle)):
            _, _, state = method.step(tr, state)
        return anp.concatenate([tr.z] + _flatten(state)) if memory else tr.z

    return Method(method.name if name is None else name, init, step, method)


def simgd() -> Method:
    """Simultaneous gradient descent: ``z <- z - h omega(z)`` (the engine's ``simgd``)."""
    return as_dynamics(engine_methods.SimGD(), "simultaneous GD")


def altgd(k_d: int = 1, k_g: int = 1, d_first: bool = True) -> Method:
    """Alternating gradient descent: ``k_d`` discriminator steps, each on the
    current ``theta_G``, then ``k_g`` generator steps on the new ``theta_D``
    (Goodfellow et al. 2014, Algorithm 1, which updates D first). ``d_first =
    False`` updates G first, as the Dirac-GAN notebooks of Mescheder et al. 2018 do.
    The engine's ``altgd`` with these options (:class:`~gandyn.engine.methods.AltGD`;
    the engine's trainer runs the D-first order with one G step, ``k = k_d``).

    Raises
    ------
    ValueError
        ``k_d`` or ``k_g`` not an integer >= 1.
    """
    method = engine_methods.AltGD(k_d=k_d, k_g=k_g, d_first=d_first)
    order = "D first" if d_first else "G first"
    return as_dynamics(method, f"alternating GD ({k_d} D, {k_g} G, {order})")


def extragradient() -> Method:
    """Extragradient (Korpelevich 1976): ``z' = z - h omega(z - h omega(z))`` (the engine's
    ``extragradient``)."""
    return as_dynamics(engine_methods.Extragradient(), "extragradient")


def optimistic() -> Method:
    """Optimistic gradient descent (Daskalakis, Ilyas, Syrgkanis & Zeng 2018, eq. 4):
    ``z_{t+1} = z_t - 2 h omega(z_t) + h omega(z_{t-1})`` (the engine's ``optimistic``). The
    state is ``(z_t, h omega(z_{t-1}), first)``; the first step is a plain gradient step
    (the remembered step is the current one; starting from zero would make it a double
    step), and :func:`step_matrix` takes the Jacobian of the steps after it."""
    return as_dynamics(engine_methods.Optimistic(), "optimistic GD")


def consensus(gamma: float = 1.0) -> Method:
    """Consensus optimisation (Mescheder, Nowozin & Geiger 2017, Algorithm 2):
    ``z <- z - h (omega + gamma J^T omega)``, i.e. simultaneous GD on
    :func:`gandyn.games.consensus_game` (the engine's ``consensus``).

    Raises
    ------
    ValueError
        gamma not a finite number >= 0 (the engine's check).
    """
    return as_dynamics(engine_methods.Consensus(gamma=gamma), f"consensus (gamma={gamma:g})")


def sga(lam: float = 1.0, align: bool = True, eps: float = 0.1) -> Method:
    """Symplectic gradient adjustment (Balduzzi et al. 2018, Algorithm 1):
    ``z <- z - h (xi + lambda A^T xi)`` with ``xi = omega``, ``A = (J - J^T)/2``,
    so ``A^T xi = (J^T xi - J xi)/2``. With ``align``, the sign of lambda is
    ``sign(<xi, grad H><A^T xi, grad H>/d + eps)`` with ``grad H = J^T xi``,
    ``H = ||xi||^2/2`` [Balduzzi et al. 2018, Sec. 4, eq. 6 and Algorithm 1] (the engine's
    ``sga``).

    Raises
    ------
    ValueError
        lam not a finite number > 0, eps not one >= 0, align not a bool (the engine's checks).
    """
    return as_dynamics(engine_methods.SGA(lam=lam, align=align, eps=eps), f"SGA (lambda={lam:g})")


def cgd(eta: float | None = None) -> Method:
    """Competitive gradient descent (Schafer & Anandkumar 2019, Eq. 4, general-sum form):
    each player's step is the Nash equilibrium of the bilinear approximation of the game,

        dx = -eta (I - eta^2 J_GD J_DG)^{-1} (omega_G - eta J_GD omega_D)
        dy = -eta (I - eta^2 J_DG J_GD)^{-1} (omega_D - eta J_DG omega_G)

    with ``J_GD = D_D grad_G f_G`` and ``J_DG = D_G grad_D f_D`` the off-diagonal blocks
    of ``J``; ``eta`` defaults to D's step size (the paper's single step size ``h``). On the
    bilinear game ``f = x y`` its step matrix has spectral radius
    ``1/sqrt(1 + eta^2)`` (tested): it converges for every step size. The engine's ``cgd``
    (:class:`~gandyn.engine.methods.CGD`), whose linear solve is the game oracle's exact
    dense one here (autograd-traceable, small games).

    Raises
    ------
    ValueError
        eta <= 0.
    """
    return as_dynamics(engine_methods.CGD(eta=eta), "competitive GD" + ("" if eta is None else f" (eta={eta:g})"))


def _look_ahead(label: str, opponent_lr, shaping: bool) -> Method:
    """LA or, with ``shaping``, LOLA: the engine's methods."""
    method = (engine_methods.LOLA if shaping else engine_methods.LA)(opponent_lr=opponent_lr)
    return as_dynamics(method, label + ("" if opponent_lr is None else f" (alpha={opponent_lr:g})"))


def la(opponent_lr: float | None = None) -> Method:
    """Look-ahead (LA; Zhang & Lesser 2010, in the form of Letcher et al. 2019, Sec. 3):
    each player differentiates its cost at the opponent's look-ahead point but treats
    the opponent's step as a constant (no shaping):

        xi_0 = (I - alpha H_o) xi,   z <- z - h xi_0

    ``H_o`` the off-diagonal blocks of ``J`` (``H_o xi = (J_GD omega_D, J_DG omega_G)``),
    ``alpha = opponent_lr`` the opponent's step in the look-ahead (default: D's step size). On ``f = x y`` the step
    matrix is ``I - h (A + alpha I)``: spectral radius ``sqrt((1 - h alpha)^2 + h^2)``.
    Not the lookahead-minmax optimizer of the engine (``lookahead``).

    Raises
    ------
    ValueError
        opponent_lr <= 0.
    """
    return _look_ahead("LA", opponent_lr, shaping=False)


def lola(opponent_lr: float | None = None) -> Method:
    """Learning with opponent-learning awareness (LOLA; Foerster et al. 2018), in
    the form of Letcher et al. 2019, Sec. 3: each player descends its cost at the
    opponent's look-ahead point ``theta_j - alpha grad_j f_j``, to first order in ``alpha``,

        xi_LOLA = xi_0 - alpha chi,   xi_0 = (I - alpha H_o) xi,
        chi_G = J_DG^T grad_D f_G,    chi_D = J_GD^T grad_G f_D

    (``chi = diag(H_o^T grad L)``; ``J_DG = D_G grad_D f_D``, ``J_GD = D_D grad_G f_G``).
    ``chi`` needs each player's gradient of the *other's* cost, which ``omega`` does
    not hold unless the game is zero-sum (then ``grad_D f_G = -omega_D``). ``alpha =
    opponent_lr`` defaults to D's step size. On ``f = x y``: ``xi_LOLA = xi + 2 alpha z``, step matrix
    ``I - h (A + 2 alpha I)``, spectral radius ``sqrt((1 - 2 h alpha)^2 + h^2)``.

    Raises
    ------
    ValueError
        opponent_lr <= 0.
    """
    return _look_ahead("LOLA", opponent_lr, shaping=True)


def sos(opponent_lr: float | None = None, a: float = 0.5, b: float = 0.1) -> Method:
    """Stable opponent shaping (SOS; Letcher et al. 2019, Algorithm 1): LOLA's shaping
    term scaled down where it would turn the step against LA's or near a fixed point,

        xi_p = xi_0 - p alpha chi,   p = min(p1, p2),
        p1 = 1 if <-alpha chi, xi_0> >= 0 else min(1, -a ||xi_0||^2 / <-alpha chi, xi_0>),
        p2 = ||xi||^2 if ||xi|| < b else 1,

    with ``alpha = opponent_lr`` as in :func:`lola` and ``a, b`` in ``(0, 1)`` (defaults 0.5 and
    0.1, the paper's). ``p chi`` vanishes to
    third order at a fixed point (``p2 = ||xi||^2``), so SOS's step matrix there is LA's;
    on ``f = x y``, ``<chi, xi_0> = 0`` gives ``p1 = 1``, so away from the fixed point
    (``||xi|| >= b``) SOS steps as LOLA does.

    Raises
    ------
    ValueError
        opponent_lr <= 0, a outside (0, 1) or b <= 0.
    """
    return as_dynamics(engine_methods.SOS(opponent_lr=opponent_lr, a=a, b=b),
                       "SOS" + ("" if opponent_lr is None else f" (alpha={opponent_lr:g})"))


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
    """Lookahead-minmax (Chavdarova et al. 2021, Algorithm 1) around ``inner`` (a name of
    :data:`METHODS`, or a method of this module): the engine's ``lookahead``, one step here
    a whole cycle, ``k_la`` steps of ``inner`` from the slow weights ``z`` ("fast" weights
    ``z_k``), then ``z <- z + alpha (z_k - z)``; whatever else the inner method remembers
    (optimistic GD's last step) carries on. Its step matrix at a fixed point is
    ``(1 - alpha) I + alpha M^k_la`` on ``z``, ``M`` the inner step's: with ``simgd`` on
    ``f = x y``, whose ``M`` has eigenvalues ``1 -+ i h``, the spectral radius is
    ``|1 - alpha + alpha (1 - i h)^k_la|`` (Chavdarova et al. 2021, Sec. 3; tested).

    Raises
    ------
    ValueError
        an unknown inner method, one that does not run an engine method or lookahead itself, k_la not an
        integer >= 1, or alpha outside (0, 1].
    """
    inner = make(inner) if isinstance(inner, str) else inner
    if getattr(inner, "method", None) is None:
        raise ValueError(f"lookahead's inner method must run an engine method (make, as_dynamics), got {inner!r}")
    if isinstance(inner.method, engine_methods.Lookahead):
        raise ValueError("lookahead's inner method must be another method (as for the engine's lookahead:INNER)")
    method = engine_methods.Lookahead(inner=inner.method, k_la=k_la, alpha=alpha)
    return as_dynamics(method, f"lookahead-minmax ({inner.name}, k={k_la}, alpha={alpha:g})", cycle=k_la)


#: The front ends of the built-in methods on games, by their engine names (each a factory
#: of a :class:`Method`, with the games' option names); :func:`make` wraps any other method
#: of :data:`METHODS` by :func:`as_dynamics`.
_FRONT_ENDS = {f.__name__: f for f in (simgd, altgd, extragradient, optimistic, consensus, sga, cgd, la, lola, sos,
                                       unrolled, lookahead)}


def make(name: str, **options) -> Method:
    """A method by name (:data:`METHODS`, the engine's one registry), e.g.
    ``make("altgd", k_d=5)`` or ``make("nk", gamma=0.3)``: the built-in front ends of this
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


def iterates(method: Method, game: Game, z0, h, steps: int, progress: bool = False):
    """The iterates ``z_0, z_1, ..`` of ``steps`` steps from ``z0``, each ``(n,)``, as a generator;
    it ends early when an iterate leaves the floats (non-finite or beyond 1e150). An error of a
    step (e.g. a ValueError where the game's field is not defined) reaches the caller there.

    Raises
    ------
    ValueError
        ``steps < 0``, bad step sizes, or ``z0`` of the wrong size.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    _pair(h)  # validate
    s = method.init(game, z0)
    if s.shape[0] < game.n:
        raise ValueError(f"z0 must have {game.n} entries")
    yield s[: game.n]
    for _ in tqdm(range(1, steps + 1), desc=method.name, disable=not progress):
        s = np.asarray(method.step(game, s, h), dtype=np.float64)
        if not np.all(np.isfinite(s)) or np.abs(s).max() > 1e150:
            return
        yield s[: game.n]


def trajectory(method: Method, game: Game, z0, h, steps: int, progress: bool = False) -> np.ndarray:
    """Run ``steps`` steps from ``z0``; returns the iterates ``z_0 .. z_steps``, ``(steps + 1, n)``
    (:func:`iterates`).

    Stops early (the rest filled with NaN) if an iterate leaves the floats.
    """
    out = np.full((steps + 1, game.n), np.nan) if steps >= 0 else None
    for t, z in enumerate(iterates(method, game, z0, h, steps, progress)):
        out[t] = z
    return out


def step_matrix(method: Method, game: Game, z_star, h) -> np.ndarray:
    """The Jacobian of one step of ``method`` at the fixed point ``z_star``
    (state ``init(game, z_star)``), by autograd through the step's own code. A method
    with a memory (a state longer than ``z``: optimistic GD's last step) takes one step
    from there first, which fills its memory (at a fixed point with the fixed point's
    values), and the Jacobian is that of the steps after it, at ``z_star``: a matrix on
    the whole state.

    For a linear game it *is* the step; its spectral radius < 1 means local
    convergence (Ostrowski's theorem; Mescheder et al. 2017, Prop. 3).
    """
    s = method.init(game, z_star)
    if s.shape[0] > game.n:  # a memory: fill it by one step, then the steps after it from z_star
        s = np.concatenate([s[: game.n], np.asarray(method.step(game, s, h), dtype=np.float64)[game.n:]])
    return np.asarray(jacobian(lambda w: method.step(game, w, h))(s))


def spectral_radius(M) -> float:
    """``max |eigenvalue|`` of a square matrix."""
    return float(np.abs(np.linalg.eigvals(np.asarray(M))).max())

