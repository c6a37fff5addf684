"""Classify a point of a game: critical, differential Nash, non-degenerate, stable.

Following Ratliff, Burden & Sastry [1], for a game with form ``omega`` and game
Jacobian ``J`` (:mod:`gandyn.games`), a point ``z`` is

- *critical* when ``omega(z) = 0`` (here ``||omega(z)|| <= tol``) [1, Def. 2];
- a *differential Nash equilibrium* when it is critical and each player's own
  Hessian (``H_GG f_G``, ``H_DD f_D``, the diagonal blocks of ``J``) is positive
  definite [1, Def. 3]; such a point is a strict local Nash equilibrium [1, Thm. 2];
- *non-degenerate* when ``J`` is nonsingular [1, Def. 4] (reported with the
  smallest singular value of ``J``);
- *locally asymptotically stable* for gradient play ``dz/dt = -omega(z)`` when
  every eigenvalue of ``J`` has positive real part [1, Prop. 2; Khalil 2002, Thm. 4.7];
- *stable for step h*: the map ``z -> z - h omega(z)`` has Jacobian ``I - h J``,
  so its fixed point attracts iff ``|1 - h lambda| < 1`` for every eigenvalue
  ``lambda`` of ``J`` (Mescheder, Nowozin & Geiger 2017, Prop. 3). Writing
  ``lambda = a + ib``, ``|1 - h lambda|^2 = 1 - 2ha + h^2 (a^2 + b^2)``, so the
  largest stable step is ``h_max = min_lambda 2a/|lambda|^2`` (0 if some ``a <= 0``).

Small games are classified from the dense ``J``; large ones (``n > dense_max``)
from ARPACK (:func:`scipy.sparse.linalg.eigs`/``eigsh``) on the matrix-free
operators, which find a few extreme eigenvalues only: the report says so.

[1] Ratliff, Burden & Sastry, "Characterization and computation of local Nash
    equilibria in continuous games", Allerton 2013.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigs, eigsh

from gandyn.games.game import Game

__all__ = ["Verdict", "classify", "largest_stable_step", "step_stable", "extreme_eigenvalues"]


def largest_stable_step(eigenvalues) -> float:
    """``min over lambda of 2 Re(lambda)/|lambda|^2``: gradient descent with step
    ``h`` is locally stable iff ``0 < h < h_max``. 0 when some ``Re(lambda) <= 0``;
    ``inf`` for an empty spectrum."""
    lam = np.asarray(eigenvalues, dtype=complex).ravel()
    if lam.size == 0:
        return float("inf")
    if np.any(lam.real <= 0):
        return 0.0
    return float(np.min(2.0 * lam.real / np.abs(lam) ** 2))


def step_stable(eigenvalues, h: float) -> bool:
    """``max |1 - h lambda| < 1``: simultaneous gradient descent with step ``h``
    is locally stable at a critical point with this spectrum."""
    lam = np.asarray(eigenvalues, dtype=complex).ravel()
    return bool(np.all(np.abs(1.0 - h * lam) < 1.0))


@dataclass(frozen=True)
class Verdict:
    """The classification of one point (see the module docstring).

    ``eig_g``, ``eig_d`` are the own-Hessian blocks' eigenvalues (ascending;
    for large games the smallest and largest few); ``spectrum`` is ``J``'s
    spectrum (for large games a few extreme eigenvalues, ``exact = False``).
    """

    game: str
    point: str
    n_g: int
    n_d: int
    omega_norm: float
    critical: bool
    eig_g: np.ndarray
    eig_d: np.ndarray
    nash: bool
    sigma_min: float
    nondegenerate: bool | None
    spectrum: np.ndarray
    stable: bool
    h: float | None
    step_stable: bool | None
    h_max: float
    tol: float
    exact: bool = True
    notes: tuple = field(default=())

    def as_dict(self) -> dict:
        """JSON-ready: complex numbers as ``[re, im]`` pairs."""
        return {
            "game": self.game, "point": self.point, "n_g": self.n_g, "n_d": self.n_d,
            "omega_norm": self.omega_norm, "critical": self.critical,
            "differential_nash": self.nash, "nondegenerate": self.nondegenerate,
            "sigma_min": self.sigma_min, "stable": self.stable, "h": self.h,
            "step_stable": self.step_stable, "h_max": self.h_max,
            "eig_g": [float(x) for x in self.eig_g], "eig_d": [float(x) for x in self.eig_d],
            "spectrum": [[float(x.real), float(x.imag)] for x in self.spectrum],
            "tol": self.tol, "exact": self.exact, "notes": list(self.notes),
        }

    def row(self) -> dict:
        """One flat row for a CSV table of verdicts."""
        lam = self.spectrum
        return {
            "game": self.game, "point": self.point, "n": self.n_g + self.n_d,
            "omega_norm": f"{self.omega_norm:.3e}", "critical": self.critical,
            "differential_nash": self.nash, "nondegenerate": self.nondegenerate,
            "sigma_min": f"{self.sigma_min:.6g}", "stable": self.stable,
            "h": "" if self.h is None else f"{self.h:g}",
            "step_stable": "" if self.step_stable is None else self.step_stable,
            "h_max": f"{self.h_max:.6g}",
            "min_eig_g": f"{self.eig_g.min():.6g}" if self.eig_g.size else "",
            "max_abs_eig_g": f"{np.abs(self.eig_g).max():.6g}" if self.eig_g.size else "",
            "min_eig_d": f"{self.eig_d.min():.6g}" if self.eig_d.size else "",
            "max_abs_eig_d": f"{np.abs(self.eig_d).max():.6g}" if self.eig_d.size else "",
            "min_re_lambda": f"{lam.real.min():.6g}" if lam.size else "",
            "max_abs_lambda": f"{np.abs(lam).max():.6g}" if lam.size else "",
            "exact": self.exact,
        }

    def report(self, max_listed: int = 8) -> str:
        """A readable report."""
        def yn(b):
            return "n/a" if b is None else ("yes" if b else "no")

        def cx(x):
            return f"{x.real:+.6g}{x.imag:+.6g}i" if abs(x.imag) > 0 else f"{x.real:+.6g}"

        def lst(a, f=lambda x: f"{x:+.6g}"):
            a = list(a)
            s = ", ".join(f(x) for x in a[:max_listed])
            return s + (f", ... ({len(a)} in all)" if len(a) > max_listed else "")

        src = "dense J" if self.exact else "ARPACK, extreme eigenvalues only"
        lines = [
            f"{self.game} at {self.point} (n_G = {self.n_g}, n_D = {self.n_d}; {src})",
            f"  critical              {yn(self.critical)}   ||omega|| = {self.omega_norm:.3e} (tol {self.tol:g})",
            f"  differential Nash     {yn(self.nash)}   own Hessians positive definite:"
            f" G {yn(self.eig_g.size and self.eig_g.min() > self.tol)},"
            f" D {yn(self.eig_d.size and self.eig_d.min() > self.tol)}",
            f"    eig H_GG f_G        {lst(self.eig_g)}",
            f"    eig H_DD f_D        {lst(self.eig_d)}",
            f"  non-degenerate        {yn(self.nondegenerate)}   sigma_min(J) = {self.sigma_min:.6g}",
            f"  stable (dz/dt=-omega) {yn(self.stable)}   min Re lambda = "
            f"{self.spectrum.real.min():+.6g}" if self.spectrum.size else "",
            f"    spectrum of J       {lst(self.spectrum, cx)}",
            f"  largest stable step   h_max = {self.h_max:.6g}",
        ]
        if self.h is not None:
            lines.append(f"  stable for h = {self.h:g}    {yn(self.step_stable)}   "
                         f"max |1 - h lambda| = {np.abs(1 - self.h * self.spectrum).max():.6g}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(l for l in lines if l)


def extreme_eigenvalues(op: LinearOperator, k: int = 6, which: str = "LM", symmetric: bool = False,
                        tol: float = 1e-8, maxiter: int | None = None, rng=None):
    """A few extreme eigenvalues of a matrix-free operator by ARPACK
    (Lehoucq, Sorensen & Yang 1998): ``eigsh`` (Lanczos) when ``symmetric``,
    else ``eigs`` (Arnoldi). ``which`` as in scipy ('LM', 'SR', 'LR', 'SA', 'LA').

    Returns ``(eigenvalues, converged)``; when ARPACK stops before all ``k``
    converge, the converged ones are returned with ``converged = False``.
    """
    n = op.shape[0]
    if n < 3:
        raise ValueError("ARPACK needs n >= 3; use the dense Jacobian")
    k = min(k, n - 2)
    v0 = np.random.default_rng(rng).standard_normal(n)
    try:
        if symmetric:
            vals = eigsh(op, k=k, which=which, tol=tol, maxiter=maxiter, v0=v0, return_eigenvectors=False)
        else:
            vals = eigs(op, k=k, which=which, tol=tol, maxiter=maxiter, v0=v0, return_eigenvectors=False)
        return np.sort_complex(np.asarray(vals)) if not symmetric else np.sort(vals), True
    except ArpackNoConvergence as e:
        vals = np.asarray(e.eigenvalues)
        return (np.sort(vals.real) if symmetric else np.sort_complex(vals)), False


def classify(game: Game, z, *, point: str = "z", h: float | None = None, tol: float = 1e-8,
             dense_max: int = 1500, k: int = 6, maxiter: int = 300, sigma_min: bool = False,
             rng=0) -> Verdict:
    """Classify the point ``z`` of ``game`` (Ratliff, Burden & Sastry 2013).

    Parameters
    ----------
    game : Game
    z : array (n,)
    point : str
        A name for the report.
    h : float, optional
        Step size whose discrete stability is reported.
    tol : float
        Criticality ``||omega|| <= tol``; positive definiteness means smallest
        eigenvalue ``> tol``; non-degeneracy ``sigma_min(J) > tol``; stability
        ``Re(lambda) > tol`` for every eigenvalue (so that a round-off
        ``+1e-17`` is not mistaken for a positive real part).
    dense_max : int
        Up to this ``n`` the dense Jacobian is formed; above it ARPACK finds
        ``k`` extreme eigenvalues of each operator.
    k, maxiter : int
        ARPACK's number of eigenvalues and iteration cap (large games only).
    sigma_min : bool
        Large games only: also estimate ``sigma_min(J)`` by Lanczos on ``J^T J``
        (off by default: GAN Jacobians have a cluster of near-zero singular
        values that Lanczos resolves slowly; the verdict then reports NaN).
    """
    z = np.asarray(z, dtype=np.float64).ravel()
    if z.shape != (game.n,):
        raise ValueError(f"z must have {game.n} entries, got {z.size}")
    if not np.all(np.isfinite(z)):
        raise ValueError(f"z must be finite, got {z.tolist() if z.size <= 8 else 'non-finite entries'}")
    if h is not None and not (np.isfinite(h) and h > 0):
        raise ValueError(f"h must be a finite number > 0, got {h}")
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol}")
    with np.errstate(over="ignore", invalid="ignore"):
        wn = float(np.linalg.norm(np.asarray(game.field_traced(z))))
    if not np.isfinite(wn):
        raise ValueError(f"the gradient field at {point} is not finite (overflow at this point)")
    notes = []
    if game.n <= dense_max:
        with np.errstate(over="ignore", invalid="ignore"):
            J = game.jacobian(z)
        if not np.all(np.isfinite(J)):
            raise ValueError(f"the Jacobian at {point} is not finite (overflow at this point)")
        eg = np.linalg.eigvalsh(_sym(J[: game.n_g, : game.n_g]))
        ed = np.linalg.eigvalsh(_sym(J[game.n_g:, game.n_g:]))
        lam = np.linalg.eigvals(J)
        lam = lam[np.lexsort((lam.imag, lam.real))]
        smin = float(np.linalg.svd(J, compute_uv=False).min())
        exact = True
    else:
        eg = _block_extremes(game, z, "g", k, rng, maxiter, notes)
        ed = _block_extremes(game, z, "d", k, rng, maxiter, notes)
        op = game.operator(z)
        lam, smin = _arpack_spectrum(op, k, rng, maxiter, notes, sigma_min)
        notes.append("large game: the spectrum lists ARPACK's extreme eigenvalues (largest modulus "
                     "and smallest real part); h_max is computed from them")
        exact = False
    critical = wn <= tol
    nash = bool(critical and eg.size and ed.size and eg.min() > tol and ed.min() > tol)
    stable = bool(lam.size and np.all(lam.real > tol))
    hmax = largest_stable_step(np.where(np.abs(lam.real) <= tol, 0.0, lam.real) + 1j * lam.imag)
    return Verdict(game.name, point, game.n_g, game.n_d, wn, bool(critical), eg, ed, nash, smin,
                   None if np.isnan(smin) else bool(smin > tol), lam, stable, h, None if h is None else step_stable(lam, h),
                   hmax, tol, exact, tuple(notes))


def _shifted(op, shift):
    """``op - shift I`` as a LinearOperator."""
    return LinearOperator(op.shape, matvec=lambda v: op.matvec(v) - shift * np.ravel(v),
                          rmatvec=lambda v: op.rmatvec(v) - shift * np.ravel(v), dtype=np.float64)


def _arpack_spectrum(op, k, rng, maxiter, notes, sigma_min):
    """Extreme eigenvalues of ``J`` and ``sigma_min(J)`` from matrix-free products.

    Eigenvalues of largest modulus converge fast in Arnoldi; those of smallest
    real part are found as the largest-modulus eigenvalues of ``J - rho I``
    (``rho`` = the spectral radius found first), and ``sigma_min(J)^2`` as
    ``s + mu_min`` where ``mu_min`` is the smallest eigenvalue of ``J^T J - s I``
    with ``s >= ||J||^2``, its largest in modulus (Lanczos): shifts that turn an interior-looking search
    into an extreme one (Saad 2011, Numerical Methods for Large Eigenvalue
    Problems, Sec. 4.1 and 7.1).
    """
    lm, ok = extreme_eigenvalues(op, k, "LM", rng=rng, maxiter=maxiter)
    if not ok:
        notes.append(f"ARPACK 'LM' on J: {lm.size} of {k} converged")
    rho = float(np.abs(lm).max()) if lm.size else 1.0
    mu, ok = extreme_eigenvalues(_shifted(op, rho), k, "LM", rng=rng, maxiter=maxiter)
    if not ok:
        notes.append(f"ARPACK on J - rho I (smallest real part): {mu.size} of {k} converged")
    lam = np.concatenate([lm, mu + rho])
    lam = lam[np.lexsort((lam.imag, lam.real))]
    keep = np.ones(lam.size, bool)
    keep[1:] = np.abs(np.diff(lam)) > 1e-6 * max(rho, 1.0)  # the two searches may find the same one
    lam = lam[keep]
    if not sigma_min:
        notes.append("sigma_min(J) not computed (pass sigma_min=True; slow when J has a cluster near 0)")
        return lam, float("nan")
    jtj = LinearOperator(op.shape, matvec=lambda v: op.rmatvec(op.matvec(v)), dtype=np.float64)
    top, ok1 = extreme_eigenvalues(jtj, 1, "LA", symmetric=True, rng=rng, maxiter=maxiter)
    s = 1.01 * float(top.max()) if top.size else 0.0
    low, ok2 = extreme_eigenvalues(_shifted(jtj, s), 1, "SA", symmetric=True, rng=rng, maxiter=maxiter)
    smin = float(np.sqrt(max(low.min() + s, 0.0))) if low.size else float("nan")
    if not (ok1 and ok2):
        notes.append("sigma_min(J) did not converge")
    return lam, smin


def _sym(H):
    return 0.5 * (H + H.T)


def _block_extremes(game, z, player, k, rng, maxiter, notes):
    op = game.block_operator(z, player)
    n = op.shape[0]
    if n <= 200:  # small block: dense from n matrix-free products
        H = np.column_stack([op.matvec(e) for e in np.eye(n)])
        return np.linalg.eigvalsh(_sym(H))
    out = []
    for which in ("SA", "LA"):
        vals, ok = extreme_eigenvalues(op, k, which, symmetric=True, rng=rng, maxiter=maxiter)
        if not ok:
            notes.append(f"ARPACK '{which}' on H_{player.upper() * 2} did not fully converge")
        out.append(vals)
    return np.unique(np.concatenate(out))
