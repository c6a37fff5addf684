"""Two-player differentiable games on one flat vector ``z = concat(theta_G, theta_D)``.

Each player minimises its own cost: the generator ``f_G(z)`` over ``theta_G``,
the discriminator ``f_D(z)`` over ``theta_D`` (a zero-sum game has
``f_G = V``, ``f_D = -V``). The *game form* (the simultaneous gradient) is

    omega(z) = (grad_G f_G(z), grad_D f_D(z))                          [1, Def. 2; 2, eq. 2]

and the *game Jacobian* ``J = D omega`` is

    J = [[H_GG f_G, D_D grad_G f_G],
         [D_G grad_D f_D, H_DD f_D]],

whose diagonal blocks are the players' own Hessians [1, Def. 3]. Gradient play
``dz/dt = -omega(z)`` is locally asymptotically stable at a critical point when
every eigenvalue of ``J`` has positive real part [1, Prop. 2; 3, Sec. 2].
``J = S + A`` splits into its symmetric part ``S = (J + J^T)/2`` (the
"potential" part) and antisymmetric part ``A = (J - J^T)/2`` (the "Hamiltonian",
rotational part) [2, Sec. 3, eq. 3].

Sign convention
---------------
gandyn's ``omega`` is the field every player *descends*. Mescheder, Geiger &
Nowozin [3] write the gradient vector field of a GAN whose generator minimises
and whose discriminator maximises ``L`` as ``v = (-grad_theta L, grad_psi L)``,
so ``v = -omega`` and ``v' = -J``: their "eigenvalues with negative real part"
are our eigenvalues with positive real part. Every closed form of [3] quoted in
this package is converted explicitly.

Dense Jacobians (:meth:`Game.jacobian`) are for small games; large games use the
matrix-free products ``J v`` and ``J^T u`` (:meth:`Game.jvp`, :meth:`Game.vjp`),
exposed as a :class:`scipy.sparse.linalg.LinearOperator` (:meth:`Game.operator`),
each costing a few gradient evaluations (reverse-over-reverse autograd).

References
----------
[1] Ratliff, Burden & Sastry, "Characterization and computation of local Nash
    equilibria in continuous games", Allerton 2013.

[2] Balduzzi, Racaniere, Martens, Foerster, Tuyls & Graepel, "The mechanics of
    n-player differentiable games", ICML 2018.

[3] Mescheder, Geiger & Nowozin, "Which training methods for GANs do actually
    converge?", ICML 2018.

[4] Mescheder, Nowozin & Geiger, "The numerics of GANs", NIPS 2017.
[5] Goodfellow et al., "Generative adversarial nets", NIPS 2014.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from math import pi, sqrt
from typing import Any, Callable, NamedTuple

import autograd.numpy as anp
import numpy as np
from autograd import grad, jacobian
from autograd.extend import defvjp, primitive
from autograd.tracer import getval
from numpy.polynomial.hermite_e import hermegauss
from numpy.polynomial.legendre import leggauss
from scipy.sparse.linalg import LinearOperator

from gandyn.engine import losses, second_order
from gandyn.engine.nn import MLP
from gandyn.engine.oracle import Oracle
from gandyn.engine.workspace import Workspace
from gandyn.games.traced import log_sigmoid, mlp_forward

__all__ = [
    "Game", "GameOracle", "zero_sum", "consensus_game", "sym_antisym",
    "gan_game", "normal_quadrature", "uniform_quadrature",
    "bilinear", "dirac_gan", "stable_not_nash", "nash_saddle", "general_sum_nash_unstable",
    "gaussian_gan", "gaussian_gan_jacobian", "mlp_gan_game", "realizable_equilibrium", "C_DIRAC", "F2_DIRAC",
]

#: ``c = f'(0) = 1/2`` and ``f''(0) = -1/4`` for ``f(t) = -log(1 + e^{-t})`` [3, Sec. 2.2].
C_DIRAC = 0.5
F2_DIRAC = -0.25


def _flat(z, n) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64).reshape(-1)
    if z.shape != (n,):
        raise ValueError(f"z must have {n} entries, got {z.size}")
    return z


@dataclass(frozen=True)
class Game:
    """A two-player game on flat parameters.

    Parameters
    ----------
    cost_g, cost_d : callable ``z (n,) -> float``
        The players' costs, written with :mod:`autograd.numpy` so that autograd
        can differentiate them (twice, for Jacobian products).
    n_g, n_d : int
        ``z[:n_g]`` is ``theta_G``, ``z[n_g:]`` is ``theta_D``.
    name : str
    value : callable or None
        For a zero-sum game, ``V`` with ``f_G = V``, ``f_D = -V`` (then one
        gradient gives both players'). Use :func:`zero_sum` to build one.
    points : dict
        Named points of interest (equilibria), each an array ``(n,)``.
    """

    cost_g: Callable
    cost_d: Callable
    n_g: int
    n_d: int
    name: str = "game"
    value: Callable | None = None
    points: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.n_g < 1 or self.n_d < 1:
            raise ValueError(f"each player needs >= 1 parameter, got n_g={self.n_g}, n_d={self.n_d}")

    @property
    def n(self) -> int:
        return self.n_g + self.n_d

    @property
    def is_zero_sum(self) -> bool:
        return self.value is not None

    def split(self, z):
        """``(theta_G, theta_D)``, views of ``z``."""
        return z[: self.n_g], z[self.n_g:]

    # --- the game form

    def field_traced(self, z):
        """``omega(z) = (grad_G f_G, grad_D f_D)``, shape ``(n,)`` (traceable)."""
        if self.value is not None:
            g = grad(self.value)(z)
            return anp.concatenate([g[: self.n_g], -g[self.n_g:]])
        return anp.concatenate([self.grad_g(z), self.grad_d(z)])

    def field(self, z) -> np.ndarray:
        """``omega(z) = (grad_G f_G, grad_D f_D)`` as a float64 array ``(n,)``, outside
        autograd (for values, not tracing): the autograd game's :meth:`field_traced`; games of
        engine MLPs (:func:`mlp_gan_game`) compute it by the hand-written backward passes.

        Raises
        ------
        ValueError
            ``z`` does not have ``n`` entries.
        """
        return np.asarray(self.field_traced(_flat(z, self.n)), dtype=np.float64)

    def grad_g(self, z):
        """``grad_{theta_G} f_G(z)``, shape ``(n_g,)``."""
        return grad(self.cost_g)(z)[: self.n_g]

    def grad_d(self, z):
        """``grad_{theta_D} f_D(z)``, shape ``(n_d,)``."""
        return grad(self.cost_d)(z)[self.n_g:]

    # --- the game Jacobian, dense and matrix-free

    def jacobian(self, z) -> np.ndarray:
        """The dense game Jacobian ``J = D omega (z)``, shape ``(n, n)``, by autograd.

        For small games only (``n`` reverse passes of ``omega``); use
        :meth:`operator` for large ones.
        """
        return np.asarray(jacobian(self.field_traced)(_flat(z, self.n)))

    def jvp(self, z, v) -> np.ndarray:
        """``J v`` without forming ``J``: each player's Hessian-vector product
        ``H f_i v = grad_z <grad f_i, v>`` (Pearlmutter 1994) restricted to its rows."""
        return np.asarray(self.jvp_traced(_flat(z, self.n), _flat(v, self.n)))

    def vjp(self, z, u) -> np.ndarray:
        """``J^T u = grad_z <omega(z), u>`` without forming ``J``."""
        return np.asarray(self.vjp_traced(_flat(z, self.n), _flat(u, self.n)))

    def jvp_traced(self, z, v):
        """:meth:`jvp` for use inside autograd-traced code (no input checks)."""
        if self.value is not None:
            hv = _hvp(self.value, z, v)
            return anp.concatenate([hv[: self.n_g], -hv[self.n_g:]])
        return anp.concatenate([_hvp(self.cost_g, z, v)[: self.n_g], _hvp(self.cost_d, z, v)[self.n_g:]])

    def vjp_traced(self, z, u):
        """:meth:`vjp` for use inside autograd-traced code (no input checks)."""
        return grad(lambda w: anp.dot(self.field_traced(w), u))(z)

    def operator(self, z) -> LinearOperator:
        """``J`` at ``z`` as a :class:`~scipy.sparse.linalg.LinearOperator`
        (``matvec = J v``, ``rmatvec = J^T u``), for ARPACK and Krylov solvers."""
        z = _flat(z, self.n).copy()
        return LinearOperator((self.n, self.n), matvec=lambda v: self.jvp(z, v),
                              rmatvec=lambda u: self.vjp(z, u), dtype=np.float64)

    def block_operator(self, z, player: str) -> LinearOperator:
        """A player's own Hessian (``H_GG f_G`` or ``H_DD f_D``), matrix-free and symmetric."""
        z = _flat(z, self.n).copy()
        if player == "g":
            lo, hi, cost = 0, self.n_g, self.cost_g
        elif player == "d":
            lo, hi, cost = self.n_g, self.n, self.cost_d
        else:
            raise ValueError(f"player must be 'g' or 'd', got {player!r}")

        def mv(v):
            full = np.zeros(self.n)
            full[lo:hi] = np.ravel(v)
            return np.asarray(_hvp(cost, z, full))[lo:hi]

        return LinearOperator((hi - lo, hi - lo), matvec=mv, rmatvec=mv, dtype=np.float64)

    def oracle(self, theta_g, theta_d) -> "GameOracle":
        """The field oracle of the game at ``(theta_g, theta_d)`` (:class:`GameOracle`), what
        the training methods of :mod:`gandyn.engine.methods` see; traceable by autograd."""
        return GameOracle(self, theta_g, theta_d)

    def blocks(self, z) -> tuple[np.ndarray, np.ndarray]:
        """The players' own Hessians ``(H_GG f_G, H_DD f_D)`` (dense), the
        diagonal blocks of ``J`` [1, Def. 3]."""
        z = _flat(z, self.n)
        hg = jacobian(self.grad_g)(z)[:, : self.n_g]
        hd = jacobian(self.grad_d)(z)[:, self.n_g:]
        return np.asarray(hg), np.asarray(hd)


def _hvp(f, z, v):
    return grad(lambda w: anp.dot(grad(f)(w), v))(z)


class GameOracle(Oracle):
    """The field oracle of :mod:`gandyn.engine.oracle` on a game, by autograd: the players'
    costs ``f_G, f_D`` (``loss_g``, ``loss_d``), the game form ``omega = (grad_G f_G,
    grad_D f_D)`` (``grad_g``, ``grad_d``), ``J v`` (:meth:`jvp`), ``J^T u`` (:meth:`vjp`), the
    cross gradients ``(grad_G f_D, grad_D f_G)`` (:meth:`cross`), the own Hessians' products
    (:meth:`hvp`), the oracle at another point (:meth:`at`), an exact dense linear
    :meth:`solve`, :attr:`antisymmetric`, ``dot`` and ``xp = autograd.numpy``. Every value is a
    function of ``(theta_g, theta_d)`` written with autograd.numpy, so a method's step built
    on it is traceable (its Jacobian is
    :func:`gandyn.games.dynamics.step_matrix`'s). Single vectors, ``theta_g (n_g,)``,
    ``theta_d (n_d,)``; every value is computed on first use. With ``losses=False`` the
    losses are None (the game dynamics, which discard them, save their evaluation).
    """

    xp = anp

    def __init__(self, game: Game, theta_g, theta_d, losses: bool = True):
        self.game, self.theta_g, self.theta_d, self.losses = game, theta_g, theta_d, losses
        self.z = anp.concatenate([theta_g, theta_d])
        self._omega = None

    def _field(self):
        if self._omega is None:
            self._omega = self.game.field_traced(self.z)
        return self._omega

    @property
    def loss_g(self):
        """``f_G`` (None without ``losses``)."""
        return self.game.cost_g(self.z) if self.losses else None

    @property
    def loss_d(self):
        """``f_D`` (None without ``losses``)."""
        return self.game.cost_d(self.z) if self.losses else None

    @property
    def grad_g(self):
        """``omega_G = grad_G f_G``, shape ``(n_g,)`` (a fresh array: the method's to change)."""
        return self._field()[: self.game.n_g] + 0.0

    @property
    def grad_d(self):
        """``omega_D = grad_D f_D``, shape ``(n_d,)`` (a fresh array)."""
        return self._field()[self.game.n_g:] + 0.0

    def _join(self, a, b):
        g = self.game
        return anp.concatenate([anp.zeros(g.n_g) if a is None else a, anp.zeros(g.n_d) if b is None else b])

    def _rows(self, w, rows):
        self.check_rows(rows)
        n_g = self.game.n_g
        return (w[:n_g] if "g" in rows else None), (w[n_g:] if "d" in rows else None)

    def jvp(self, v_g, v_d, rows: str = "gd"):
        """``J v`` as ``(rows of G, rows of D)`` (None for zero vectors or rows not asked for)."""
        return self._rows(self.game.jvp_traced(self.z, self._join(v_g, v_d)), rows)

    def vjp(self, u_g, u_d, rows: str = "gd"):
        """``J^T u`` as ``(G's part, D's part)`` (None for a part not asked for)."""
        return self._rows(self.game.vjp_traced(self.z, self._join(u_g, u_d)), rows)

    def cross(self, rows: str = "gd"):
        """``(grad_G f_D, grad_D f_G)``, each player's gradient of the other's cost."""
        g = self.game
        self.check_rows(rows)
        cg = grad(g.cost_d)(self.z)[: g.n_g] if "g" in rows else None
        cd = grad(g.cost_g)(self.z)[g.n_g:] if "d" in rows else None
        return cg, cd

    def at(self, theta_g=None, theta_d=None) -> "GameOracle":
        """The oracle at ``(theta_g, theta_d)`` (None: this point's)."""
        return GameOracle(self.game, self.theta_g if theta_g is None else theta_g,
                          self.theta_d if theta_d is None else theta_d, self.losses)

    @property
    def antisymmetric(self) -> bool:
        """Whether ``J_DG = -J_GD^T``: the game is zero-sum (``f_D = -f_G``)."""
        return self.game.is_zero_sum

    @staticmethod
    def solve(matvec, b, *, symmetric: bool = False, rtol=None, maxiter=None):
        """Solve ``A x = b`` exactly: ``A``, the linear map ``matvec`` on arrays like ``b``
        ``(k,)``, formed as the Jacobian of ``matvec`` (autograd), then a dense LU solve
        (``autograd.numpy.linalg.solve``), traceable by autograd; ``symmetric``, ``rtol`` and
        ``maxiter`` (the engine's iterative solve's options) are not needed.

        Returns
        -------
        :class:`~gandyn.engine.solvers.Solve`
            ``x``; ``k`` products; the relative residual ``||b - A x|| / ||b||`` of the solve's
            rounding (0 for ``b = 0``); converged.
        """
        from gandyn.engine.solvers import Solve

        k = np.shape(b)[-1]
        A = jacobian(matvec)(np.zeros(k))  # A's columns, by reverse passes through one product
        x = anp.linalg.solve(A, b)
        Av, bv, xv = (np.asarray(getval(a)) for a in (A, b, x))
        nb = np.linalg.norm(bv)
        res = float(np.linalg.norm(bv - Av @ xv) / nb) if nb > 0 else 0.0
        return Solve(x, np.int64(k), res, True)


def sym_antisym(J) -> tuple[np.ndarray, np.ndarray]:
    """``S = (J + J^T)/2`` and ``A = (J - J^T)/2``: the potential and Hamiltonian
    parts of the game Jacobian [2, Sec. 3, eq. 3]. ``J = S + A``."""
    J = np.asarray(J, dtype=np.float64)
    if J.ndim != 2 or J.shape[0] != J.shape[1]:
        raise ValueError(f"J must be a square matrix, got shape {J.shape}")
    return 0.5 * (J + J.T), 0.5 * (J - J.T)


def zero_sum(value: Callable, n_g: int, n_d: int, name: str = "zero-sum game", points=None) -> Game:
    """The zero-sum game ``f_G = V``, ``f_D = -V`` (G minimises ``V``, D maximises it)."""
    return Game(value, lambda z: -value(z), n_g, n_d, name, value, dict(points or {}))


def consensus_game(game: Game, gamma: float) -> Game:
    """Consensus optimisation [4, Sec. 4, Algorithm 2]: each player adds
    ``gamma * L(z)``, ``L = ||omega(z)||^2 / 2``, to its cost, so that

        omega_gamma = omega + gamma * grad L = omega + gamma * J^T omega

    and, at a critical point, ``J_gamma = J + gamma * J^T J`` [4, Sec. 4; sign
    converted: [4] adds ``-gamma L`` to the utilities its players ascend].
    """
    if not gamma >= 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")

    def half_sq(z):
        w = game.field_traced(z)
        return 0.5 * anp.dot(w, w)

    return Game(lambda z: game.cost_g(z) + gamma * half_sq(z), lambda z: game.cost_d(z) + gamma * half_sq(z),
                game.n_g, game.n_d, f"{game.name} + consensus({gamma:g})", None, dict(game.points))


# --- textbook games


def bilinear() -> Game:
    """``f(x, y) = x y``; x minimises, y maximises. ``omega = (y, -x)``,
    ``J = [[0, 1], [-1, 0]]`` with eigenvalues ``+-i``: a pure rotation, the
    standard counter-example for simultaneous gradient descent
    (Daskalakis, Ilyas, Syrgkanis & Zeng 2018, Sec. 3; [2, Sec. 2])."""
    return zero_sum(lambda z: z[0] * z[1], 1, 1, "bilinear x*y", {"origin": np.zeros(2)})


def stable_not_nash() -> Game:
    """``f(x, y) = -x^2/2 + 2 x y - 3 y^2/2``, x minimises, y maximises.

    ``omega = (-x + 2y, -2x + 3y)``, ``J = [[-1, 2], [-2, 3]]``: trace 2, det 1,
    eigenvalues ``{1, 1}``, so gradient play converges to the origin although x's
    own Hessian is ``-1`` (x is at a local *maximum* of its cost): stable but not
    a differential Nash equilibrium (cf. Mazumdar, Ratliff & Sastry 2020, Sec. 3).
    """
    return zero_sum(lambda z: -0.5 * z[0] ** 2 + 2.0 * z[0] * z[1] - 1.5 * z[1] ** 2, 1, 1,
                    "stable, not Nash", {"origin": np.zeros(2)})


def nash_saddle(a: float = 1.0, b: float = 2.0) -> Game:
    """``V(x, y) = a x^2/2 + b x y - a y^2/2`` (x minimises, y maximises), ``a > 0``.

    The origin is a saddle of ``V`` and a differential Nash equilibrium (own
    Hessians ``a > 0``) with ``J = [[a, b], [-b, a]]``, eigenvalues ``a +- i b``:
    stable in continuous time, but gradient descent with step ``h`` diverges for
    ``h >= 2a/(a^2 + b^2)`` (0.4 for the defaults): Nash, yet unstable for large ``h``
    (from ``|1 - h lambda|^2 = (1 - h a)^2 + h^2 b^2 < 1``, the discrete stability
    condition of Mescheder et al. 2017, Sec. 3).
    """
    if not a > 0:
        raise ValueError(f"a must be > 0, got {a}")
    return zero_sum(lambda z: 0.5 * a * z[0] ** 2 + b * z[0] * z[1] - 0.5 * a * z[1] ** 2, 1, 1,
                    f"Nash saddle (a={a:g}, b={b:g})", {"origin": np.zeros(2)})


def general_sum_nash_unstable() -> Game:
    """``f_1 = x^2/2 + 2 x y``, ``f_2 = y^2/2 + 2 x y``: own Hessians ``1 > 0``
    (differential Nash at the origin), but ``J = [[1, 2], [2, 1]]`` has
    eigenvalues ``3, -1``: unstable even in continuous time. Shows that
    "differential Nash implies stable" needs the zero-sum structure
    (Mazumdar, Ratliff & Sastry 2020, Prop. 2)."""
    return Game(lambda z: 0.5 * z[0] ** 2 + 2.0 * z[0] * z[1], lambda z: 0.5 * z[1] ** 2 + 2.0 * z[0] * z[1],
                1, 1, "general-sum Nash, unstable", None, {"origin": np.zeros(2)})


# --- GAN games


def normal_quadrature(k: int, mean: float = 0.0, std: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes ``(k, 1)`` and weights ``(k,)`` for ``E_{N(mean, std^2)}``;
    exact for polynomials of degree ``<= 2k - 1`` (Golub & Welsch 1969)."""
    if k < 1 or not std > 0:
        raise ValueError(f"need k >= 1 and std > 0, got k={k}, std={std}")
    t, w = hermegauss(k)  # weight exp(-t^2/2); sum w = sqrt(2 pi)
    return (mean + std * t)[:, None], w / sqrt(2.0 * pi)


def uniform_quadrature(k: int, lo: float = -1.0, hi: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes ``(k, 1)`` and weights ``(k,)`` for ``E_{U(lo, hi)}``
    (Golub & Welsch 1969; numpy's ``leggauss``), mapped from [-1, 1] to [lo, hi]."""
    if k < 1 or not hi > lo:
        raise ValueError(f"need k >= 1 and hi > lo, got k={k}, lo={lo}, hi={hi}")
    t, w = leggauss(k)
    return (0.5 * (lo + hi) + 0.5 * (hi - lo) * t)[:, None], 0.5 * w


@primitive
def _row_norms(g):
    """``||g_i||`` of the rows of ``g`` (m, d): the gradient norms of the WGAN-GP penalty,
    whose derivative ``g_i / ||g_i||`` exists only where ``g_i != 0``."""
    return np.sqrt(np.sum(g * g, axis=1))


def _row_norms_vjp(ans, g):
    if np.any(getval(ans) == 0):
        raise ValueError("the WGAN-GP penalty is not differentiable here: grad_x o = 0 at an interpolate "
                         "(||grad_x o|| has no derivative at 0), so the game has no field or Jacobian at this point")
    return lambda v: v[:, None] * g / ans[:, None]


defvjp(_row_norms, _row_norms_vjp)


def _weights(w, m, name):
    if w is None:
        return np.full(m, 1.0 / m)
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (m,) or np.any(w < 0) or not abs(w.sum() - 1.0) < 1e-9:
        raise ValueError(f"{name} must be {m} non-negative weights summing to 1")
    return w


def gan_game(generator: Callable, logit: Callable, n_g: int, n_d: int, x_real, latent, *,
             w_real=None, w_latent=None, loss="minimax", r1: float = 0.0, r2: float = 0.0,
             gp: float = 0.0, gp_target: float = 1.0, gp_nodes: int = 3, gp_eps=None,
             noise=None, name: str = "GAN", points=None) -> Game:
    """A GAN game on finitely many weighted points, for any loss of
    :mod:`gandyn.engine.losses`.

    With D's output ``o_psi(x)`` (a logit for the cross-entropy losses) and the
    loss's elementwise functions (:class:`~gandyn.engine.losses.Loss`),

        f_D = sum_i w_i d_real(o(x_i)) + sum_k u_k d_fake(o(G_theta(z_k))) + R,
        f_G = sum_k u_k g_fake(o(G_theta(z_k)))

    (expectations as weighted sums: minibatch means, or quadrature rules such as
    :func:`normal_quadrature`). A coupled loss (the relativistic ones) gives
    ``f_D = L_D(o(x_real), o(G(z))) + R``, ``f_G = L_G(o(x_real), o(G(z)))`` on means
    (uniform weights only). For 'minimax' this is the game of Goodfellow et
    al. [5, eq. 1], ``f_G = V``, ``f_D = -V + R`` with

        V(theta, psi) = sum_i w_i log sigma(l(x_i)) + sum_k u_k log sigma(-l(G_theta(z_k))),

    and 'nonsat' has ``f_G = -sum_k u_k log sigma(l(G(z_k)))`` ([5, Sec. 3]). A
    zero-sum loss (``loss.zero_sum``: 'minimax', 'wgan', the f-GANs) without
    penalties gives a :func:`zero_sum` game with ``V = -f_D``.

    Regularisers, written once for every GAN game:

    - ``r1 = gamma``: ``R_1 = gamma/2 E_data ||grad_x o_psi(x)||^2`` [3, Sec. 4.1];
    - ``r2 = gamma``: ``R_2 = gamma/2 E_{p_theta} ||grad_x o_psi(x)||^2`` [3, Sec. 4.1],
      part of D's cost only (it depends on theta through the samples);
    - ``gp = lambda``: the WGAN-GP penalty ``lambda E_xhat (||grad_x o(xhat)|| - g0)^2``
      (Gulrajani et al. 2017, eq. 3 with ``g0 = 1``; the same ``lambda`` as the engine's
      ``gp`` penalty; [3, Sec. 3.2]'s ``gamma/2 (...)^2`` is ``gp = gamma/2``) at
      ``xhat = eps x + (1 - eps) G(z)`` for every pair of a real and a generated
      point, ``eps ~ U[0, 1]`` by a ``gp_nodes``-point Gauss-Legendre rule, ``g0 =
      gp_target``; or, with ``gp_eps`` (``(m,)`` weights in ``[0, 1]``, as many real as
      latent points), at the paired points ``xhat_i = eps_i x_i + (1 - eps_i) G(z_i)``
      with the real points' weights (the engine's interpolates for given draws). Not
      differentiable where ``grad_x o = 0`` at an interpolate: the field and the Jacobian
      raise ValueError there (e.g. the Dirac-GAN at ``psi = 0``);
    - ``noise = (eps (q, d), u (q,))``: instance noise, every real and generated
      point ``x`` replaced by ``x + eps_j`` with weight ``w * u_j`` [3, Sec. 3;
      Sonderby et al. 2017]; e.g. ``normal_quadrature(k, 0, sigma)`` in 1-D.

    ``||grad_x o||`` is the same for Mescheder's ``D_psi = -l``, so the penalties
    are those of [3] in either sign convention.

    Parameters
    ----------
    generator : callable ``(theta_G (n_g,), latent (m_f, d_z)) -> (m_f, d)``
    logit : callable ``(psi (n_d,), x (m, d)) -> (m,)``, row-wise (sample ``i``'s
        output depends on ``x_i`` only; the penalties rely on it).
    x_real : array (m_r, d); latent : array (m_f, d_z)
    w_real, w_latent : arrays of weights summing to one (default: uniform)
    loss : str or Loss
        A name of :data:`gandyn.engine.losses.LOSSES` or a loss object (its
        ``traced`` functions are differentiated by autograd).

    Raises
    ------
    ValueError
        For an unknown loss (one line listing the choices), negative penalty
        weights, or bad shapes or weights.
    """
    L = losses.get(loss)
    x_real = np.asarray(x_real, dtype=np.float64)
    latent = np.asarray(latent, dtype=np.float64)
    if x_real.ndim != 2 or latent.ndim != 2:
        raise ValueError("x_real and latent must be 2-D arrays (points, features)")
    w_r = _weights(w_real, len(x_real), "w_real")
    w_f = _weights(w_latent, len(latent), "w_latent")
    if r1 < 0 or r2 < 0 or gp < 0:
        raise ValueError(f"penalty weights must be >= 0, got r1={r1}, r2={r2}, gp={gp}")
    if gp and not (np.isfinite(gp_target) and gp_target >= 0):
        raise ValueError(f"gp_target must be a finite number >= 0, got {gp_target!r}")
    x0, wr0, wf0 = x_real, w_r, w_f  # before instance noise: the GP's pairs
    if noise is not None:
        eps, u = noise
        eps = np.asarray(eps, dtype=np.float64)
        if eps.ndim != 2 or eps.shape[1] != x_real.shape[1]:
            raise ValueError(f"noise points must have shape (q, {x_real.shape[1]})")
        u = _weights(u, len(eps), "noise weights")
        x_real = (x_real[:, None, :] + eps[None]).reshape(-1, x_real.shape[1])
        w_r = (w_r[:, None] * u[None]).reshape(-1)
        w_f = (w_f[:, None] * u[None]).reshape(-1)

    def fake(theta):
        xf = generator(theta, latent)
        if noise is not None:
            xf = anp.reshape(xf[:, None, :] + eps[None], (-1, x_real.shape[1]))
        return xf

    # the registered 'minimax' and 'nonsat' (they have the engine's fast paths), unsmoothed
    cross_entropy = L._fast_d is not None and not L.params

    if cross_entropy:  # the arithmetic of Goodfellow's V, as before the loss objects
        def value(z):
            theta, psi = z[:n_g], z[n_g:]
            return (anp.dot(w_r, log_sigmoid(logit(psi, x_real)))
                    + anp.dot(w_f, log_sigmoid(-logit(psi, fake(theta)))))

        def d_cost(z):
            return -value(z)
    elif L.separable:
        def d_cost(z):
            theta, psi = z[:n_g], z[n_g:]
            return (anp.dot(w_r, L.d_real.traced(logit(psi, x_real)))
                    + anp.dot(w_f, L.d_fake.traced(logit(psi, fake(theta)))))

        def value(z):
            return -d_cost(z)
    else:  # a coupled loss: a function of both output vectors, on means
        for w, nm in ((w_r, "w_real"), (w_f, "w_latent")):
            if not np.allclose(w, 1.0 / len(w), rtol=1e-12, atol=0.0):
                raise ValueError(f"loss {L.label} couples real and fake outputs: weighted sums ({nm}, or instance "
                                 "noise) are not defined for it; use uniform weights")

        def d_cost(z):
            theta, psi = z[:n_g], z[n_g:]
            return L.d_traced(logit(psi, x_real), logit(psi, fake(theta)))

        def value(z):
            return -d_cost(z)

    def grads(psi, x):
        return grad(lambda xx: anp.sum(logit(psi, xx)))(x)  # row i = grad_x o(x_i)

    def grad_sq(psi, x, w):
        gx = grads(psi, x)
        return anp.dot(w, anp.sum(gx * gx, axis=1))

    if gp and gp_eps is None:
        e_nodes, e_w = uniform_quadrature(gp_nodes, 0.0, 1.0)
        e_nodes = e_nodes[:, 0]
        w_gp = (wr0[:, None, None] * wf0[None, :, None] * e_w[None, None, :]).reshape(-1)
    elif gp:
        e_pair = np.asarray(gp_eps, dtype=np.float64).reshape(-1)
        if e_pair.shape != (len(x0),) or len(x0) != len(latent) or np.any((e_pair < 0) | (e_pair > 1)):
            raise ValueError(f"gp_eps must be {len(x0)} weights in [0, 1], one per pair of a real and a latent point")
        w_gp = wr0

    def gp_term(z):
        xf = generator(z[:n_g], latent)  # (m_f, d)
        if gp_eps is not None:
            xh = e_pair[:, None] * x0 + (1.0 - e_pair)[:, None] * xf
        else:
            xh = (e_nodes[None, None, :, None] * x0[:, None, None, :]
                  + (1.0 - e_nodes)[None, None, :, None] * xf[None, :, None, :])
            xh = anp.reshape(xh, (-1, x0.shape[1]))
        gx = grads(z[n_g:], xh)
        nrm = _row_norms(gx)  # refuses to differentiate where grad_x o = 0
        return anp.dot(w_gp, (nrm - gp_target) ** 2)

    def cost_d(z):
        c = d_cost(z)
        if r1:
            c = c + 0.5 * r1 * grad_sq(z[n_g:], x_real, w_r)
        if r2:
            c = c + 0.5 * r2 * grad_sq(z[n_g:], fake(z[:n_g]), w_f)
        if gp:
            c = c + gp * gp_term(z)
        return c

    if cross_entropy:
        def cost_g(z):
            if L.name == "minimax":
                return value(z)
            return -anp.dot(w_f, log_sigmoid(logit(z[n_g:], fake(z[:n_g]))))
    elif L.separable:
        def cost_g(z):
            return anp.dot(w_f, L.g_fake.traced(logit(z[n_g:], fake(z[:n_g]))))
    else:
        def cost_g(z):
            psi = z[n_g:]
            return L.g_traced(logit(psi, x_real), logit(psi, fake(z[:n_g])))

    tags = ([L.label] + [f"R1={r1:g}"] * bool(r1) + [f"R2={r2:g}"] * bool(r2)
            + [f"GP={gp:g}, g0={gp_target:g}"] * bool(gp) + ["noise"] * (noise is not None))
    full = f"{name} ({', '.join(tags)})"
    if L.zero_sum and not r1 and not r2 and not gp:
        return zero_sum(value, n_g, n_d, full, points)
    return Game(cost_g, cost_d, n_g, n_d, full, None, dict(points or {}))


def dirac_gan(loss="minimax", r1: float = 0.0, r2: float = 0.0, noise_std: float = 0.0,
              noise_nodes: int = 20, gp: float = 0.0, gp_target: float = 1.0) -> Game:
    """The Dirac-GAN [3, Sec. 2.2, Definition 2.1], for any loss.

    Data ``delta_0``, generator ``p_theta = delta_theta``, discriminator
    ``D_psi(x) = psi x`` in the convention of [3], whose ``D`` is large on
    *generated* points: ``L(theta, psi) = f(psi theta) + f(0)`` with
    ``f(t) = -log(1 + e^{-t})``. In gandyn's (Goodfellow's) convention the output
    that says "real" is ``o_psi(x) = -psi x``, which gives ``V = L`` exactly, so
    ``z = (theta, psi)`` is the same point in both papers. For WGAN ([3]'s
    ``f(t) = t``) ``V = psi theta``.

    For the cross-entropy loss ``J(0, 0) = [[0, c], [-c, 0]]``, ``c = f'(0) = 1/2``:
    eigenvalues ``+-i c``, both own Hessians 0, ``det J = c^2`` [3, Lemma 2.2,
    sign converted]. For any loss, ``f_D = d_real(0) + d_fake(-psi theta)`` and
    ``f_G = g_fake(-psi theta)`` give ``J(0, 0) = [[0, -g_fake'(0)], [-d_fake'(0), 0]]``,
    eigenvalues ``+-sqrt(g_fake'(0) d_fake'(0))`` (WGAN: ``+-i``, [3, Sec. 3.1]).
    ``noise_std > 0`` adds Gaussian instance noise, integrated by a
    ``noise_nodes``-point Gauss-Hermite rule (exact for the Jacobian at 0);
    ``gp``, ``gp_target``: the WGAN-GP penalty of :func:`gan_game` (there
    ``||grad_x o|| = |psi|``, so it is ``gp (|psi| - gp_target)^2``; [3, Sec. 3.2]'s
    ``gamma/2 (|psi| - g0)^2`` is ``gp = gamma/2``; not differentiable at ``psi = 0``,
    where the field and the Jacobian raise ValueError).
    """
    for name, v in (("r1", r1), ("r2", r2), ("noise_std", noise_std)):
        if not (np.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {v}")
    noise = normal_quadrature(noise_nodes, 0.0, noise_std) if noise_std > 0 else None
    return gan_game(lambda th, lat: anp.reshape(th, (1, 1)) + 0.0 * lat,
                    lambda psi, x: -psi[0] * x[:, 0], 1, 1, np.zeros((1, 1)), np.zeros((1, 1)),
                    loss=loss, r1=r1, r2=r2, gp=gp, gp_target=gp_target, gp_nodes=1, noise=noise,
                    name="Dirac-GAN", points={"equilibrium": np.zeros(2)})


def gaussian_gan(mean: float = 1.0, std: float = 0.5, nodes: int = 32, loss="minimax",
                 **regularisers) -> Game:
    """A 1-D Gaussian GAN with an affine generator and a quadratic discriminator.

    Data ``N(mean, std^2)``; ``G_theta(z) = a + b z``, ``z ~ N(0, 1)``,
    ``theta = (a, b)``; logit ``l_psi(x) = psi_0 + psi_1 x + psi_2 x^2``, the
    family that contains ``log p_data/p_theta`` for Gaussians, so the optimal
    discriminator of [5, Prop. 1] is representable. Expectations by
    ``nodes``-point Gauss-Hermite quadrature, exact for the polynomial integrands
    of ``J`` at the equilibrium ``(a, b, psi) = (mean, std, 0)``, where

        J = [[0, B], [-B^T, M/2]],  B = -[[0, 1/2, mean], [0, 0, std]],
        M = E[phi phi^T], phi(x) = (1, x, x^2), x ~ N(mean, std^2)

    (derived in docs/games.md). ``H_GG = 0`` (the talk's claim) yet ``M`` is
    positive definite and ``B`` has full row rank, so the equilibrium is
    locally asymptotically stable [3, Theorem 4.1's argument, Lemma G.2].
    """
    if not std > 0:
        raise ValueError(f"std must be > 0, got {std}")
    x, w = normal_quadrature(nodes, mean, std)
    t, _ = normal_quadrature(nodes)
    return gan_game(lambda th, lat: th[0] + th[1] * lat, lambda psi, xx: psi[0] + psi[1] * xx[:, 0]
                    + psi[2] * xx[:, 0] ** 2, 2, 3, x, t, w_real=w, w_latent=w, loss=loss,
                    name=f"Gaussian GAN N({mean:g}, {std:g}^2)", points={
                        "equilibrium": np.array([mean, std, 0.0, 0.0, 0.0])}, **regularisers)


def gaussian_gan_jacobian(mean: float, std: float) -> np.ndarray:
    """The closed-form ``J`` of :func:`gaussian_gan` at its equilibrium (see there)."""
    m = [1.0, mean, mean ** 2 + std ** 2, mean ** 3 + 3 * mean * std ** 2,
         mean ** 4 + 6 * mean ** 2 * std ** 2 + 3 * std ** 4]  # Gaussian moments
    M = np.array([[m[i + j] for j in range(3)] for i in range(3)])
    B = -np.array([[0.0, 0.5, mean], [0.0, 0.0, std]])
    return np.block([[np.zeros((2, 2)), B], [-B.T, 0.5 * M]])




@dataclass(frozen=True)
class _EngineGame(Game):
    """A :class:`Game` of two engine MLPs whose matrix-free products are hand-written:
    ``jvp``, ``vjp``, ``operator`` and ``block_operator`` run the R-passes of
    :mod:`gandyn.engine.second_order` (Pearlmutter 1994) in float64 instead of autograd;
    ``field`` (omega's values) runs the hand-written backward passes; everything else
    (dense ``jacobian``, ``*_traced``) is the autograd game's.
    The operators do the forward passes at their point once, for all their products."""

    engine: dict = field(default_factory=dict, repr=False, compare=False)

    def _at(self, z) -> "_AtPoint":
        return _AtPoint(self, _flat(z, self.n).copy())

    def field(self, z) -> np.ndarray:
        """``omega(z)`` by hand (:func:`gandyn.engine.second_order.game_field`), exact to rounding."""
        return _AtPoint(self, _flat(z, self.n), keep=False).field()

    def jvp(self, z, v) -> np.ndarray:
        """``J v`` by hand (:func:`gandyn.engine.second_order.game_jvp`), exact to rounding."""
        return _AtPoint(self, _flat(z, self.n), keep=False).jvp(v)

    def vjp(self, z, u) -> np.ndarray:
        """``J^T u`` by hand (:func:`gandyn.engine.second_order.game_vjp`), exact to rounding."""
        return _AtPoint(self, _flat(z, self.n), keep=False).vjp(u)

    def operator(self, z) -> LinearOperator:
        """``J`` at ``z`` as a :class:`~scipy.sparse.linalg.LinearOperator`, by hand."""
        at = self._at(z)
        return LinearOperator((self.n, self.n), matvec=at.jvp, rmatvec=at.vjp, dtype=np.float64)

    def block_operator(self, z, player: str) -> LinearOperator:
        """A player's own Hessian, matrix-free and symmetric, by one R-pass per product."""
        if player not in ("g", "d"):
            raise ValueError(f"player must be 'g' or 'd', got {player!r}")
        at = self._at(z)
        k = self.n_g if player == "g" else self.n_d
        mv = (lambda v: at.block(v, player))
        return LinearOperator((k, k), matvec=mv, rmatvec=mv, dtype=np.float64)


class _AtPoint:
    """The hand-written products of an :class:`_EngineGame` at one point ``z``; with
    ``keep`` the forward passes are done once (lazily) and reused by every product."""

    def __init__(self, game: _EngineGame, z: np.ndarray, keep: bool = True):
        e = game.engine
        self.game, self.keep = game, keep
        self.tg, self.td = game.split(z)
        self.ws = Workspace() if keep else e["ws"]
        self.kw = dict(w_real=e["w_real"], w_fake=e["w_fake"], losses=e["losses"])
        self.data = (e["gan"], self.tg, self.td, e["x_real"], e["latent"])
        self._primal = None

    def _opts(self):
        if self.keep and self._primal is None:
            self._primal = second_order.primal(*self.data, ws=self.ws)
        return dict(self.kw, primal=self._primal, ws=self.ws)

    def _split(self, v):
        return self.game.split(_flat(v, self.game.n))

    def field(self):
        return np.concatenate(second_order.game_field(*self.data, **self._opts()))

    def jvp(self, v):
        return np.concatenate(second_order.game_jvp(*self.data, *self._split(v), **self._opts()))

    def vjp(self, u):
        return np.concatenate(second_order.game_vjp(*self.data, *self._split(u), **self._opts()))

    def block(self, v, player):
        k = self.game.n_g if player == "g" else self.game.n_d
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        if v.shape != (k,):
            raise ValueError(f"v must have {k} entries, got {v.size}")
        vg, vd = (v, None) if player == "g" else (None, v)
        jg, jd = second_order.game_jvp(*self.data, vg, vd, rows=player, **self._opts())
        return jg if player == "g" else jd


def mlp_gan_game(gan, x_real, latent, *, w_real=None, w_latent=None, **options) -> Game:
    """Any MLP GAN of the engine (:class:`gandyn.engine.gan.GAN`) as a game.

    ``z = concat(theta_G, theta_D)`` in the engine's own flat layouts, so a
    trained ``(run.theta_g, run.theta_d)`` is a point of this game. The costs use
    the traced forwards of :mod:`gandyn.games.traced` and the GAN's loss (any
    registered or custom loss; ``loss=`` in ``options`` overrides it);
    ``options`` are those of :func:`gan_game` (``r1``, ``r2``, ``gp``, ``noise``).

    Without regularisers and noise, the matrix-free products ``jvp``, ``vjp``,
    ``operator`` and ``block_operator`` are the hand-written R-passes of
    :mod:`gandyn.engine.second_order` on float64 copies of the networks (exact, and
    much faster than autograd); with them, autograd's.
    """
    G, D = gan.G, gan.D
    if getattr(gan, "pack", 1) > 1:
        raise ValueError(f"a packed GAN (pack {gan.pack}) is not a game here: the autograd game scores single samples; "
                         "use gandyn.engine.second_order for its exact products")
    if getattr(D, "batch_norm", None) is not None:
        raise ValueError("a GAN whose D has batch norm is not a game of the engine (D's statistics would mix real and "
                         "generated rows)")
    loss = losses.get(options.pop("loss", gan.loss_fn))
    game = gan_game(lambda th, lat: mlp_forward(G, th, lat), lambda psi, x: mlp_forward(D, psi, x)[:, 0],
                    G.n_params, D.n_params, x_real, latent, w_real=w_real, w_latent=w_latent,
                    loss=loss, name=options.pop("name", "MLP GAN"), **options)
    if options.get("r1") or options.get("r2") or options.get("gp") or options.get("noise") is not None:
        return game
    x_real = np.asarray(x_real, dtype=np.float64)
    latent = np.asarray(latent, dtype=np.float64)
    pair = _Networks(replace(G, dtype=np.float64), replace(D, dtype=np.float64), loss)
    w_r, w_f = _weights(w_real, len(x_real), "w_real"), _weights(w_latent, len(latent), "w_latent")
    if not loss.separable:  # means (the game checked the weights are uniform)
        w_r = w_f = None
    engine = dict(gan=pair, x_real=x_real, latent=latent, w_real=w_r, w_fake=w_f, losses=loss, ws=Workspace())
    return _EngineGame(**{f.name: getattr(game, f.name) for f in fields(Game)}, engine=engine)


def realizable_equilibrium(gan, theta_g, theta_d, latent, *, w_latent=None,
                           name: str = "MLP GAN, realizable") -> tuple[Game, np.ndarray]:
    """An exact equilibrium of an MLP GAN of the engine, with ``p_g = p_data`` and ``D = 1/2``
    [5, Thm. 1]: the game (:func:`mlp_gan_game`) whose data are the generator's own samples
    ``x_k = G_theta(z_k)`` with the latent points' weights, and the point
    ``z* = (theta_g, theta_d*)``, ``theta_d*`` being ``theta_d`` with D's last layer zeroed.

    D's output is then 0 (``D = 1/2``) on every input, so ``grad_x o = 0``: G's gradient vanishes
    and its own Hessian ``H_GG f_G`` is exactly 0 (its cost is constant in ``theta`` near ``z*``:
    never a differential Nash equilibrium); D's gradient is
    ``(d_real'(0) + d_fake'(0)) sum_k u_k grad_psi o(x_k) = 0`` when ``o = 0`` is D's optimum at
    ``p = q``, as for the cross-entropy losses. So ``omega(z*) = 0``.

    Parameters
    ----------
    gan : :class:`gandyn.engine.gan.GAN`
    theta_g (n_g,), theta_d (n_d,) : the players' parameters (``theta_d`` is copied)
    latent : array (m, latent dim)
    w_latent : array (m,), optional; uniform by default

    Returns
    -------
    (game, z_star)

    Raises
    ------
    ValueError
        A coupled loss, or one with ``d_real'(0) + d_fake'(0) != 0`` (``D = 1/2`` is not its
        optimum at ``p = q``: no equilibrium of this form).
    """
    L = losses.get(gan.loss_fn)
    if not L.separable or L.d_real.df(np.zeros(1))[0] + L.d_fake.df(np.zeros(1))[0] != 0:
        raise ValueError(f"D = 1/2 is not an optimum of the {L.label!r} loss at p_g = p_data (its d_real'(0) + "
                         "d_fake'(0) must be 0, for a separable loss)")
    x_star = gan.G(theta_g, latent)
    game = mlp_gan_game(gan, x_star, latent, w_real=w_latent, w_latent=w_latent, name=name)
    psi = np.array(theta_d)  # a copy
    views = gan.D.layout.views(psi)
    views[f"W{gan.D.n_layers}"][...] = 0.0
    views[f"b{gan.D.n_layers}"][...] = 0.0
    return game, np.concatenate([theta_g, psi])


class _Networks(NamedTuple):
    G: MLP
    D: MLP
    loss_fn: Any
