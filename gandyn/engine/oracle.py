"""The field oracle: what a training method sees of the game of one minibatch.

A training method (:mod:`gandyn.engine.methods`) is written against an *oracle* of the
iteration's minibatch at the current point ``theta = (theta_G, theta_D)``: the players'
losses and their gradients, the game field

    omega = (grad_G L_G, grad_D L_D),

and products with the game Jacobian ``J = D omega`` (Mescheder, Nowozin & Geiger 2017,
Sec. 3; Balduzzi et al. 2018, Sec. 3; the sign convention of :mod:`gandyn.games.game`)

    J = [[H_GG L_G,  J_GD],      J_GD = D_D grad_G L_G,
         [J_DG,      H_DD L_D]], J_DG = D_G grad_D L_D.

Two implementations share one interface (and, in :class:`Oracle`, the parts that do not
depend on how the products are computed), so a method is written once:

- :class:`FieldOracle` (here), the engine's, by the hand-written backward passes and
  R-passes of :mod:`gandyn.engine.second_order` (one model, ``theta (n,)``, or a
  population, ``theta (P, n)``); :meth:`Trainer.oracle <gandyn.engine.trainer.Trainer.oracle>`
  draws the minibatch and returns it;
- :class:`gandyn.games.game.GameOracle`, the toy games', by autograd, its arrays traceable
  so that a step's Jacobian (:func:`gandyn.games.dynamics.step_matrix`) is autograd's.

The interface (``F`` an oracle; ``None`` for a zero vector or a row not asked for):

==========================  ==============================================================
``F.loss_g, F.loss_d``      the players' losses, shape ``()`` or ``(P,)``
``F.grad_g, F.grad_d``      the field ``omega = (grad_G L_G, grad_D L_D)``, like ``theta``
``F.jvp(v_g, v_d, rows)``   ``J v``: ``(H_GG L_G v_G + J_GD v_D, J_DG v_G + H_DD L_D v_D)``
``F.vjp(u_g, u_d, rows)``   ``J^T u``: ``(H_GG L_G u_G + J_DG^T u_D, J_GD^T u_G + H_DD L_D u_D)``
``F.cross(rows)``           ``(grad_G L_D, grad_D L_G)``, each player's gradient of the other's cost
``F.hvp(player, v)``        a player's own Hessian times ``v``: ``H_GG L_G v`` or ``H_DD L_D v``
``F.at(theta_g, theta_d)``  the oracle of the same minibatch at another point
``F.solve(A, b, ...)``      ``x`` with ``A x = b`` for a linear map ``A`` of arrays like ``b``, per model
``F.antisymmetric``         whether ``J_DG = -J_GD^T`` (a zero-sum game)
``F.dot(a, b)``             per-model inner product over the last axis, shape ``(1,)`` or ``(P, 1)``
``F.xp``                    the array namespace of its arrays (numpy, or autograd.numpy)
==========================  ==============================================================

Methods must keep their arithmetic to operators and ``F.xp`` functions: an in-place
operator (``g += a``) updates an engine array in place and rebinds a traced one, so the
same line serves both. For a zero-sum loss G's cost in :meth:`cross` is ``V = -L_D``
(Goodfellow et al. 2014, eq. 1), whose data term the engine's G loss leaves out.
"""
from __future__ import annotations

import numpy as np

from gandyn.engine import second_order
from gandyn.engine.workspace import Workspace, as_workspace

__all__ = ["FieldOracle", "Oracle"]


class Oracle:
    """What every field oracle shares, written once: the players' own Hessian products from
    the oracle's :meth:`jvp`, the per-model inner product :meth:`dot`, and the check of a
    ``rows`` argument. A subclass supplies the
    rest of the interface above (:class:`FieldOracle`, :class:`gandyn.games.game.GameOracle`)."""

    check_rows = staticmethod(second_order.check_rows)

    def hvp(self, player: str, v):
        """A player's own Hessian times ``v``: ``H_GG L_G v`` (``player='g'``, ``v`` like
        theta_g) or ``H_DD L_D v`` (``'d'``), the diagonal blocks of ``J``.

        Raises
        ------
        ValueError
            ``player`` not 'g' or 'd' (or what the subclass's :meth:`jvp` raises).
        """
        if player == "g":
            return self.jvp(v, None, rows="g")[0]
        if player == "d":
            return self.jvp(None, v, rows="d")[1]
        raise ValueError(f"player must be 'g' or 'd', got {player!r}")

    @classmethod
    def dot(cls, a, b):
        """Per-model inner products over the last axis, in the oracle's namespace ``xp``:
        shape ``(1,)`` or ``(P, 1)``."""
        return cls.xp.sum(a * b, axis=-1, keepdims=True)


class FieldOracle(Oracle):
    """The engine's field oracle: the game of one minibatch ``(x_real, z)`` (the same noise
    for both players) at ``(theta_g, theta_d)``, for a GAN of two engine MLPs.

    Parameters
    ----------
    gan : :class:`gandyn.engine.gan.GAN`
    theta_g, theta_d : arrays (n_G,), (n_D,) or populations (P, n_G), (P, n_D)
        The point; the oracle is valid while they do not change.
    x_real : array (m, d_x) or (P, m, d_x)
    z : array (m, d_z) or (P, m, d_z)
    loss_d, grad_d, loss_g, grad_g : optional
        The losses and gradients at this point when already computed (the trainer passes
        its own, D's with its gradient penalty); else computed on first use, without penalty.
    ws : :class:`~gandyn.engine.workspace.Workspace`, optional
        Workspace kept between calls (the trainer's).
    penalty : :class:`~gandyn.engine.penalties.Penalty`, optional
        D's gradient penalty ``R`` (R1, R2, WGAN-GP): the game is then the penalised one,
        ``L_D + R``, and :meth:`jvp`, :meth:`vjp` and :meth:`hvp` include ``R``'s blocks,
        ``H_DD R`` and, for a penalty on generated points (R2, WGAN-GP), ``D_G grad_D R``
        (:mod:`gandyn.engine.penalty_products`, exact). ``grad_d`` must then include it.
    penalty_eps : array (m, 1) or (P, m, 1), optional
        WGAN-GP's interpolation weights of this minibatch (the draws ``grad_d`` used).

    Notes
    -----
    The products (:meth:`jvp`, :meth:`vjp`, :meth:`cross`, :meth:`hvp`) are exact for the
    game's losses, by :mod:`gandyn.engine.second_order` (Pearlmutter 1994) and the penalty's
    products; they share one forward pass at this point, done at the first product. They
    refuse D dropout. :meth:`cross` and :meth:`at` are the unpenalised game's and refuse an
    oracle with a penalty.
    ``grad_g`` and ``grad_d`` may be the trainer's buffers: a method may update them in place
    (after its calls of :meth:`cross`, which reads them for a zero-sum loss).
    """

    xp = np

    def __init__(self, gan, theta_g, theta_d, x_real, z, *, loss_d=None, grad_d=None, loss_g=None, grad_g=None,
                 ws: Workspace | None = None, penalty=None, penalty_eps=None):
        self.gan, self.theta_g, self.theta_d, self.x_real, self.z = gan, theta_g, theta_d, x_real, z
        self.penalty, self._eps = penalty, penalty_eps
        self._loss_d, self._grad_d, self._loss_g, self._grad_g = loss_d, grad_d, loss_g, grad_g
        self._ws = as_workspace(ws)
        self._primal = None
        self._token = object()

    # --- losses and the field

    def _d(self):
        """``(L_D, omega_D)``, evaluated on first use."""
        if self._grad_d is None:
            self._loss_d, self._grad_d, _, _ = self.gan.d_loss_grad(self.theta_g, self.theta_d, self.x_real, self.z,
                                                                    ws=self._ws.sub("at"))
        return self._loss_d, self._grad_d

    def _g(self):
        """``(L_G, omega_G)``, evaluated on first use."""
        if self._grad_g is None:
            x_real = self.x_real if self.gan.loss_fn.g_reads_real else None
            self._loss_g, self._grad_g, _ = self.gan.g_loss_grad(self.theta_g, self.theta_d, self.z,
                                                                 ws=self._ws.sub("at"), x_real=x_real)
        return self._loss_g, self._grad_g

    @property
    def loss_d(self):
        """D's loss ``L_D``, shape ``()`` or ``(P,)``."""
        return self._d()[0]

    @property
    def grad_d(self) -> np.ndarray:
        """``omega_D = grad_D L_D``, like ``theta_d``."""
        return self._d()[1]

    @property
    def loss_g(self):
        """G's loss ``L_G``, shape ``()`` or ``(P,)``."""
        return self._g()[0]

    @property
    def grad_g(self) -> np.ndarray:
        """``omega_G = grad_G L_G``, like ``theta_g``."""
        return self._g()[1]

    @property
    def penalty_couples(self) -> bool:
        """Whether the penalty reads generated points (R2, WGAN-GP), so that ``J_DG`` has its
        block ``D_G grad_D R`` (and ``J_DG = -J_GD^T`` fails even for a zero-sum loss)."""
        return self.penalty is not None and self.penalty.on != "real"

    def _unpenalised(self, what: str) -> None:
        if self.penalty is not None:
            raise ValueError(f"{what} is the unpenalised game's: not available with the {self.penalty.name} "
                             "penalty (a method that needs it refuses penalties)")

    # --- products with the game Jacobian

    def _so(self) -> dict:
        """The keywords of the second-order passes: this point's forward passes, done once
        (again if another oracle has run its own in the shared workspace meanwhile)."""
        if self.gan.d_dropout:
            raise ValueError("exact Jacobian products: D dropout is not supported")
        ws = self._ws.sub("so")
        if self._primal is None or ws.owner is not self._token:
            self._primal = second_order.primal(self.gan, self.theta_g, self.theta_d, self.x_real, self.z, ws=ws)
            ws.owner = self._token
        return {"primal": self._primal, "ws": ws}

    def _args(self):
        return self.gan, self.theta_g, self.theta_d, self.x_real, self.z

    def jvp(self, v_g, v_d, rows: str = "gd"):
        """``J v`` (:func:`gandyn.engine.second_order.game_jvp`).

        Parameters
        ----------
        v_g, v_d : arrays like theta_g, theta_d, or None (zero)
        rows : 'gd', 'g' or 'd'
            The rows to form (``'g'`` with ``v_d = None`` is ``H_GG L_G v_G``).

        Returns
        -------
        (Jv_G, Jv_D) : ``(H_GG L_G v_G + J_GD v_D, J_DG v_G + H_DD L_D v_D)``, None for a row
            not asked for.

        Raises
        ------
        ValueError
            An unknown ``rows``, or a GAN with D dropout.
        """
        jg, jd = second_order.game_jvp(*self._args(), v_g, v_d, rows=rows, **self._so())
        if self.penalty is not None and jd is not None and not (v_d is None and v_g is None):
            from gandyn.engine.penalty_products import penalty_jvp

            jd += penalty_jvp(self.penalty, self.gan.G, self.gan.D, self.theta_g, self.theta_d, self.x_real,
                              self.z, v_g, v_d, e=self._eps)
        return jg, jd

    def vjp(self, u_g, u_d, rows: str = "gd"):
        """``J^T u = (H_GG L_G u_G + J_DG^T u_D, J_GD^T u_G + H_DD L_D u_D)``
        (:func:`gandyn.engine.second_order.game_vjp`); ``u_g, u_d`` like theta_g, theta_d,
        or None (zero); ``rows`` 'g' or 'd' forms one part only (None for the other), with
        fewer passes. Raises ValueError for an unknown ``rows`` or a GAN with D dropout."""
        tg, td = second_order.game_vjp(*self._args(), u_g, u_d, rows=rows, **self._so())
        if self.penalty is not None and u_d is not None:
            from gandyn.engine.penalty_products import penalty_vjp

            bt, hu = penalty_vjp(self.penalty, self.gan.G, self.gan.D, self.theta_g, self.theta_d, self.x_real,
                                 self.z, u_d, e=self._eps)
            if td is not None:
                td += hu
            if bt is not None and tg is not None:
                tg += bt
        return tg, td

    def cross(self, rows: str = "gd"):
        """Each player's gradient of the other's cost, ``(grad_G L_D, grad_D L_G)`` (None for a
        row not asked for: ``rows`` 'g' or 'd'). For a zero-sum loss G's cost is
        ``V = -L_D`` (Goodfellow et al. 2014, eq. 1), so they are ``(-omega_G, -omega_D)``;
        else :func:`gandyn.engine.second_order.cross_grads`.

        Raises
        ------
        ValueError
            An unknown ``rows``, or a GAN with D dropout.
        """
        self._unpenalised("cross")
        if self.gan.loss_fn.zero_sum:
            self.check_rows(rows)
            return (-self.grad_g if "g" in rows else None), (-self.grad_d if "d" in rows else None)
        return second_order.cross_grads(*self._args(), rows=rows, **self._so())

    def at(self, theta_g=None, theta_d=None) -> "FieldOracle":
        """The oracle of the same minibatch at ``(theta_g, theta_d)`` (None: this point's);
        its losses and gradients are the unpenalised ones, computed on first use. Raises
        ValueError for an oracle with a penalty."""
        self._unpenalised("the oracle at another point")
        return FieldOracle(self.gan, self.theta_g if theta_g is None else theta_g,
                           self.theta_d if theta_d is None else theta_d, self.x_real, self.z, ws=self._ws)

    @property
    def antisymmetric(self) -> bool:
        """Whether ``J_DG = -J_GD^T``: a zero-sum loss and no penalty on generated points."""
        return bool(self.gan.loss_fn.zero_sum) and not self.penalty_couples

    @staticmethod
    def solve(matvec, b, *, symmetric: bool = False, rtol: float | None = None, maxiter: int = 100):
        """Solve ``A x = b`` per model, ``A`` the linear map ``matvec`` (arrays like ``b``,
        ``(n,)`` or ``(P, n)``), iteratively (:mod:`gandyn.engine.solvers`, from ``x_0 = 0``):
        conjugate gradients when ``symmetric`` (``A`` symmetric positive definite), else
        restarted GMRES; each model stops at relative residual ``rtol`` (default ``sqrt(eps)``
        of ``b``'s dtype) or after ``maxiter`` products.

        Returns
        -------
        :class:`~gandyn.engine.solvers.Solve`
            ``x``, and per model the products used, the relative residual, whether converged.

        Raises
        ------
        ValueError
            rtol outside (0, 1), maxiter not an integer >= 1.
        """
        from gandyn.engine import solvers

        rtol = solvers.default_rtol(b.dtype) if rtol is None else rtol
        return (solvers.cg if symmetric else solvers.gmres)(matvec, b, rtol=rtol, maxiter=maxiter)

