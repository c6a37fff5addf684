"""Learning dynamics on any game, each method written once.

A method is a pair ``(init, step)`` on a flat *state* ``s``: the parameters
``z`` first, then whatever the method remembers (optimistic GD keeps the last
game form). ``s = init(game, z0)``; ``s = step(game, s, h)``. Every player
descends its own cost, so the only field a method sees is the game form
``omega`` of :mod:`gandyn.games` (and, for SGA, consensus, CGD, LA, LOLA and SOS,
products with the game Jacobian; LOLA, SOS and the unrolled GAN also each player's
gradient of the other's cost); nothing is written per player or per game.

Step sizes: ``h`` is a number, or a pair ``(h_G, h_D)`` for two time-scale
updates (Heusel et al. 2017, TTUR), which every method accepts.

Steps are written with :mod:`autograd.numpy`, so the Jacobian of one step at a
fixed point (:func:`step_matrix`) is formed by autograd from the same code;
its spectral radius decides local convergence of the discrete dynamics
(Mescheder, Nowozin & Geiger 2017, Prop. 3). The regularisers R1, R2 and
instance noise (Mescheder, Geiger & Nowozin 2018) change the players' costs and
live in :func:`gandyn.games.gan_game`; consensus optimisation is both a game
transform (:func:`gandyn.games.consensus_game`) and the method :func:`consensus` here.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import autograd.numpy as anp
import numpy as np
from autograd import grad, jacobian
from autograd.tracer import getval
from tqdm.auto import tqdm

from gandyn.engine import methods as engine_methods
from gandyn.engine.registry import Registry
from gandyn.games.game import Game

__all__ = [
    "Method", "simgd", "altgd", "extragradient", "optimistic", "consensus", "sga", "cgd", "lookahead",
    "la", "lola", "sos", "unrolled", "trajectory", "step_matrix", "spectral_radius", "METHODS", "make",
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


def simgd() -> Method:
    """Simultaneous gradient descent: ``z <- z - h omega(z)``."""
    def step(game, s, h):
        return s - _rates(game, h) * game.omega(s)

    return Method("simultaneous GD", _plain_init, step)


def altgd(k_d: int = 1, k_g: int = 1, d_first: bool = True) -> Method:
    """Alternating gradient descent: ``k_d`` discriminator steps, each on the
    current ``theta_G``, then ``k_g`` generator steps on the new ``theta_D``
    (Goodfellow et al. 2014, Algorithm 1, which updates D first). ``d_first =
    False`` updates G first, as the Dirac-GAN notebooks of Mescheder et al. 2018 do.
    """
    if k_d < 1 or k_g < 1:
        raise ValueError(f"k_d and k_g must be >= 1, got {k_d}, {k_g}")

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

    order = "D first" if d_first else "G first"
    return Method(f"alternating GD ({k_d} D, {k_g} G, {order})", _plain_init, step)


def extragradient() -> Method:
    """Extragradient (Korpelevich 1976): ``z' = z - h omega(z - h omega(z))``."""
    def step(game, s, h):
        r = _rates(game, h)
        return s - r * game.omega(s - r * game.omega(s))

    return Method("extragradient", _plain_init, step)


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
    :func:`gandyn.games.consensus_game`."""
    if not gamma >= 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")

    def step(game, s, h):
        return s - _rates(game, h) * (game.omega(s) + gamma * game.vjp_traced(s, game.omega(s)))

    return Method(f"consensus (gamma={gamma:g})", _plain_init, step)


def sga(lam: float = 1.0, align: bool = True, eps: float = 0.1) -> Method:
    """Symplectic gradient adjustment (Balduzzi et al. 2018, Algorithm 1):
    ``z <- z - h (xi + lambda A^T xi)`` with ``xi = omega``, ``A = (J - J^T)/2``,
    so ``A^T xi = (J^T xi - J xi)/2``. With ``align``, the sign of lambda is
    ``sign(<xi, grad H><A^T xi, grad H>/d + eps)`` with ``grad H = J^T xi``,
    ``H = ||xi||^2/2`` [Balduzzi et al. 2018, Sec. 4, eq. 6 and Algorithm 1]."""
    if not lam > 0:
        raise ValueError(f"lam must be > 0, got {lam}")
    engine_methods.SGA(lam=lam, align=align, eps=eps)  # the engine method's checks

    def step(game, s, h):
        xi = game.omega(s)
        jt = game.vjp_traced(s, xi)
        at = 0.5 * (jt - game.jvp_traced(s, xi))
        sign = 1.0
        if align:
            sign = anp.sign(anp.dot(xi, jt) * anp.dot(at, jt) / game.n + eps)
        return s - _rates(game, h) * (xi + lam * sign * at)

    return Method(f"SGA (lambda={lam:g})", _plain_init, step)


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


def _cross(game: Game, s):
    """``(grad_G f_D, grad_D f_G)``: each player's gradient of the other's cost (traceable)."""
    return grad(game.cost_d)(s)[: game.n_g], grad(game.cost_g)(s)[game.n_g:]


def _shaping(game: Game, s, chi: bool):
    """``(xi, H_o xi, chi)`` at ``s``: the game form, its product with the off-diagonal
    blocks of ``J`` and, if asked, the shaping term (else None) of Letcher et al. 2019, Sec. 3."""
    n_g = game.n_g
    xi = game.omega(s)
    zg, zd = anp.zeros(n_g), anp.zeros(game.n_d)
    h_o = anp.concatenate([game.jvp_traced(s, anp.concatenate([zg, xi[n_g:]]))[:n_g],   # J_GD xi_D
                           game.jvp_traced(s, anp.concatenate([xi[:n_g], zd]))[n_g:]])  # J_DG xi_G
    if not chi:
        return xi, h_o, None
    c_g, c_d = _cross(game, s)
    x = anp.concatenate([game.vjp_traced(s, anp.concatenate([zg, c_d]))[:n_g],   # J_DG^T grad_D f_G
                         game.vjp_traced(s, anp.concatenate([c_g, zd]))[n_g:]])  # J_GD^T grad_G f_D
    return xi, h_o, x


def _lookahead_rate(alpha, h) -> float:
    """``alpha``, or D's step size when it is None."""
    return _pair(h)[1] if alpha is None else float(alpha)


def _look_ahead(label: str, alpha, shaping: bool) -> Method:
    """LA (``xi - alpha H_o xi``) or, with ``shaping``, LOLA (``... - alpha chi``)."""
    (engine_methods.LOLA if shaping else engine_methods.LA)(alpha=alpha)  # the engine method's checks

    def step(game, s, h):
        a = _lookahead_rate(alpha, h)
        xi, h_o, chi = _shaping(game, s, chi=shaping)
        d = xi - a * h_o
        return s - _rates(game, h) * (d - a * chi if shaping else d)

    return Method(label + ("" if alpha is None else f" (alpha={alpha:g})"), _plain_init, step)


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


def _sos_weight(xi, xi_0, alpha_chi, a: float, b: float):
    """SOS's ``p = min(p1, p2)`` (see :func:`sos`), traceable: the branches are taken on
    the values, as in the algorithm."""
    d = -anp.dot(alpha_chi, xi_0)
    p1 = 1.0
    if getval(d) < 0:
        q = -a * anp.dot(xi_0, xi_0) / d
        p1 = q if getval(q) < 1.0 else 1.0
    n2 = anp.dot(xi, xi)
    p2 = n2 if np.sqrt(getval(n2)) < b else 1.0
    return p2 if getval(p2) < getval(p1) else p1


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
    engine_methods.SOS(alpha=alpha, a=a, b=b)  # the engine method's checks

    def step(game, s, h):
        al = _lookahead_rate(alpha, h)
        xi, h_o, chi = _shaping(game, s, chi=True)
        xi_0 = xi - al * h_o
        p = _sos_weight(xi, xi_0, al * chi, a, b)
        return s - _rates(game, h) * (xi_0 - p * al * chi)

    return Method("SOS" + ("" if alpha is None else f" (alpha={alpha:g})"), _plain_init, step)


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
    engine_methods.Unrolled(unroll=unroll, eta_u=eta_u)  # the engine method's checks
    k_steps = int(unroll)

    def step(game, s, h):
        e = _pair(h)[1] if eta_u is None else float(eta_u)
        theta, psi = s[: game.n_g], s[game.n_g:]

        def surrogate(t):
            p = psi
            for _ in range(k_steps):
                p = p - e * game.grad_d(anp.concatenate([t, p]))
            return game.cost_g(anp.concatenate([t, p]))

        field = anp.concatenate([grad(surrogate)(theta), game.grad_d(s)])
        return s - _rates(game, h) * field

    return Method(f"unrolled GAN (K={k_steps})", _plain_init, step)


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


#: The dynamics methods by name (each a factory of a :class:`Method`).
METHODS: Registry[Callable[..., Method]] = Registry("method")
for _factory in (simgd, altgd, extragradient, optimistic, consensus, sga, cgd, la, lola, sos, unrolled, lookahead):
    METHODS.register(_factory.__name__, _factory)


def make(name: str, **options) -> Method:
    """A method by name, e.g. ``make("altgd", k_d=5)``.

    Raises
    ------
    ValueError
        An unknown name (the message lists :data:`METHODS`).
    """
    return METHODS[name](**options)


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

