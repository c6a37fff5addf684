"""Spectra of large games, matrix-free: extreme eigenpairs with their residuals, Hessian
spectral densities by stochastic Lanczos quadrature, and the path angle.

Everything here needs only products with the game Jacobian ``J`` (and its symmetric
diagonal blocks ``H_GG``, ``H_DD``) through :meth:`Game.operator
<gandyn.games.game.Game.operator>` and :meth:`Game.block_operator
<gandyn.games.game.Game.block_operator>`, so it scales to GANs with 10^5-10^6
parameters when those products are fast.

- :func:`eigenpairs`: a few eigenvalues of one end of a spectrum by ARPACK (Arnoldi for
  ``J``, Lanczos for the symmetric blocks; Lehoucq, Sorensen & Yang 1998), each with
  its residual ``||A v - lambda v|| / ||v||`` and a converged flag. An eigenpair that
  did not converge is reported and marked, never dropped. The small end of a
  symmetric spectrum is found as the large end of ``s I - A`` with ``s`` above the
  top eigenvalue; the smallest real parts of ``J`` by Arnoldi's own ``'SR'`` selection
  of Ritz values (a shift changes no Krylov space, only which Ritz values a restart
  keeps, and ``|lambda - rho|`` does not order eigenvalues by real part). The Krylov
  space has at least :data:`MIN_NCV` vectors whatever ``k`` (Lehoucq et al. 1998,
  Sec. 4.5: too small a space converges to the wrong end). A converged eigenpair is an
  eigenpair of ``A`` to within its residual, but an iterative search can miss the
  extreme one, so the verdicts are checked (:func:`dense_spectrum`, :func:`real_part_bounds`).
- :func:`dense_spectrum`: the eigenvalues of the dense ``J`` (``n`` products) and of
  its symmetric diagonal blocks, for small games: the reference the searches are
  checked against.
- :func:`real_part_bounds`: ``lambda_min(S) <= Re lambda(J) <= lambda_max(S)`` for the
  symmetric part ``S = (J + J^T)/2`` (Bendixson 1902; Horn & Johnson 1991, Topics,
  Property 1.2.5 of the field of values): ``lambda_min(S) > 0`` certifies that every
  eigenvalue of ``J`` has a positive real part, without finding it.
- :func:`certify_verdicts`: how the extreme eigenvalues behind the stability and Nash
  verdicts are known: dense, certified (by a converged eigenpair or Bendixson's bound)
  or unverified.
- :func:`slq_density`: the spectral density of a symmetric operator by stochastic
  Lanczos quadrature (Ghorbani, Krishnan & Xiao 2019, Sec. 3; Golub & Meurant 2010):
  ``n_v`` Rademacher vectors, ``m`` Lanczos steps each with full
  reorthogonalisation; the Ritz values ``theta_j`` and squared first components
  ``tau_j`` of the eigenvectors of each tridiagonal matrix give the quadrature
  ``phi(t) ~ (1/n_v) sum_l sum_j tau_j^l g_sigma(t - theta_j^l)``, which integrates to 1.
- :func:`path_angle`: Berard, Gidel, Almahairi, Vincent & Lacoste-Julien 2020
  ("A Closer Look at the Optimization Landscapes of GANs", Sec. 4): along the
  segment ``z(alpha) = z0 + alpha (z1 - z0)`` the norm of the game field
  ``||omega(z(alpha))||`` and the cosine of the angle between ``omega(z(alpha))`` and
  the direction ``z1 - z0``. Near a rotational (Hamiltonian) equilibrium the
  cosine stays near 0 (angle near 90 degrees); for a potential game it changes
  sign where the segment crosses the minimum.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, LinearOperator, eigs, eigsh

from gandyn.games.game import Game

__all__ = ["Eigenpairs", "eigenpairs", "game_spectrum", "dense_spectrum", "real_part_bounds", "certify_verdicts",
           "slq_density", "density_on_grid", "path_angle", "WHICH_J", "WHICH_H", "MIN_NCV"]

#: The searches on the game Jacobian: largest modulus, largest real part, and smallest
#: real part (nearest the imaginary axis when the point is stable).
WHICH_J = ("LM", "LR", "SR")
#: The searches on a symmetric block: its largest and its smallest (algebraic) eigenvalues.
WHICH_H = ("LA", "SA")
#: The fewest Arnoldi/Lanczos vectors of a search, whatever the number of eigenvalues wanted.
MIN_NCV = 20


@dataclass(frozen=True)
class Eigenpairs:
    """Eigenvalues found by one ARPACK search, each with its residual.

    ``values`` (k,) complex (real for symmetric operators), ``residuals`` (k,)
    ``||A v - lambda v|| / ||v||``, ``converged`` (k,) bool (``residual <= tol_res``
    and returned by ARPACK as converged), ``which`` the search, ``products`` the
    operator products it used.
    """

    values: np.ndarray
    residuals: np.ndarray
    converged: np.ndarray
    which: str
    products: int


class _Counting(LinearOperator):
    """An operator that counts its products (``matvec`` and ``rmatvec``)."""

    def __init__(self, op, shift: float = 0.0, scale: float = 1.0):
        super().__init__(np.float64, op.shape)
        self.op, self.shift, self.scale, self.count = op, shift, scale, 0

    def _matvec(self, v):
        self.count += 1
        v = np.ascontiguousarray(np.ravel(v))
        return self.scale * self.op.matvec(v) - self.shift * v

    def _rmatvec(self, v):
        self.count += 1
        v = np.ascontiguousarray(np.ravel(v))
        return self.scale * self.op.rmatvec(v) - self.shift * v


def eigenpairs(op: LinearOperator, k: int = 6, which: str = "LM", *, symmetric: bool = False,
               tol: float = 1e-8, maxiter: int | None = None, rng=None, tol_res: float | None = None,
               top: float | None = None) -> Eigenpairs:
    """``k`` eigenvalues of ``op`` at one end of its spectrum, with residuals.

    Parameters
    ----------
    op : LinearOperator, shape (n, n)
    k : int
        Eigenvalues wanted (at most ``n - 2``).
    which : {'LM', 'LR', 'SR'} or, with ``symmetric``, {'LA', 'SA'}
        ARPACK's search. For ``'SA'`` on a symmetric operator the search runs as
        ``'LA'`` on ``s I - A`` with ``s = top`` (found first when not given), so
        the small end converges as fast as the large one; ``'SR'`` is Arnoldi's own
        selection of the Ritz values of smallest real part.
    symmetric : bool
        Lanczos (``eigsh``) instead of Arnoldi (``eigs``).
    tol, maxiter : ARPACK's relative accuracy and iteration cap.
    tol_res : float, optional
        Residual below which an eigenpair counts as converged (default
        ``sqrt(tol) * max(1, |lambda_max|)``).

    Returns
    -------
    Eigenpairs

    Raises
    ------
    ValueError
        ``n < 3`` (use a dense method) or an unknown ``which``.
    """
    n = op.shape[0]
    if n < 3:
        raise ValueError("ARPACK needs n >= 3; use numpy.linalg.eigvals")
    allowed = WHICH_H if symmetric else WHICH_J + ("SM",)
    if which not in allowed:
        raise ValueError(f"which must be one of {', '.join(allowed)}, got {which!r}")
    k = int(min(k, n - 2))
    ncv = int(min(n, max(2 * k + 1, 3 * k, MIN_NCV)))  # a wider Krylov space: fewer restarts, whatever k
    v0 = np.random.default_rng(rng).standard_normal(n)
    shift, scale, products = 0.0, 1.0, 0
    if symmetric and which == "SA":
        if top is None:
            first = eigenpairs(op, 1, "LA", symmetric=True, tol=tol, maxiter=maxiter, rng=rng)
            products += first.products
            top = float(first.values.real.max()) if first.values.size else 0.0
        shift, scale = -abs(top) * 1.01 - 1e-12, -1.0  # s I - A with s > lambda_max: its top is A's bottom
    counted = _Counting(op, shift=shift, scale=scale)
    search = "LA" if symmetric else which
    try:
        if symmetric:
            vals, vecs = eigsh(counted, k=k, which=search, tol=tol, maxiter=maxiter, v0=v0, ncv=ncv)
        else:
            vals, vecs = eigs(counted, k=k, which=search, tol=tol, maxiter=maxiter, v0=v0, ncv=ncv)
    except ArpackNoConvergence as e:
        vals, vecs = np.asarray(e.eigenvalues), np.asarray(e.eigenvectors)
    except ArpackError as e:
        # ARPACK stops on a Krylov space that vanishes at once ("starting vector is zero"):
        # the operator is zero, every eigenvalue is 0 and every vector an eigenvector
        if "error -9:" not in str(e) or not _is_zero(op, rng):
            raise
        vecs = np.linalg.qr(np.random.default_rng(rng).standard_normal((n, k)))[0]
        vals = np.full(k, -shift if scale == -1.0 else 0.0)  # those of the searched operator
    products += counted.count
    # back to A's eigenvalues: counted = scale A - shift I
    vals = (np.asarray(vals) + shift) / scale
    vals = vals.astype(complex) if np.iscomplexobj(vecs) else vals
    res = np.empty(vals.size)
    for j in range(vals.size):
        v = vecs[:, j]
        av = op.matvec(np.ascontiguousarray(v.real))
        if np.iscomplexobj(v):
            av = av + 1j * op.matvec(np.ascontiguousarray(v.imag))
        rq = np.vdot(v, av) / np.vdot(v, v)  # the Rayleigh quotient: no worse, and sharper after a shift
        r0, r1 = (np.linalg.norm(av - lam * v) for lam in (vals[j], rq))
        if r1 < r0:
            vals[j] = rq if np.iscomplexobj(vals) else rq.real
        res[j] = min(r0, r1) / max(np.linalg.norm(v), 1e-300)
    products += vals.size * (2 if np.iscomplexobj(vecs) else 1)
    scale_ref = max(1.0, float(np.abs(vals).max())) if vals.size else 1.0
    limit = np.sqrt(tol) * scale_ref if tol_res is None else tol_res
    conv = res <= limit  # a pair ARPACK gave up on is kept, and marked by its residual
    if which in ("LA", "LR"):
        order = np.argsort(-vals.real, kind="stable")
    elif which in ("SA", "SR"):
        order = np.argsort(vals.real, kind="stable")
    else:
        order = np.argsort(-np.abs(vals), kind="stable")
    vals = vals[order].real if symmetric else vals[order].astype(complex)
    return Eigenpairs(vals, res[order], conv[order], which, products)


def _is_zero(op, rng, tries: int = 3) -> bool:
    """Whether the operator maps ``tries`` random vectors to exactly zero (then, with
    probability one, it is the zero operator)."""
    g = np.random.default_rng(rng)
    return all(not np.any(op.matvec(g.standard_normal(op.shape[0]))) for _ in range(tries))


def game_spectrum(game: Game, z, *, k: int = 10, blocks=("j", "g", "d"), tol: float = 1e-8,
                  maxiter: int | None = None, rng=0) -> dict:
    """The extreme eigenpairs of ``J`` (searches :data:`WHICH_J`) and of the blocks
    ``H_GG``, ``H_DD`` (both ends, :data:`WHICH_H`) at ``z``.

    Returns ``{block: {which: Eigenpairs}}`` with blocks ``'j'``, ``'g'``, ``'d'``.
    """
    z = np.asarray(z, dtype=np.float64).ravel()
    out: dict = {}
    for block in blocks:
        if block == "j":
            op = game.operator(z)
            lm = eigenpairs(op, k, "LM", tol=tol, maxiter=maxiter, rng=rng)
            out["j"] = {"LM": lm, "LR": eigenpairs(op, k, "LR", tol=tol, maxiter=maxiter, rng=rng),
                        "SR": eigenpairs(op, k, "SR", tol=tol, maxiter=maxiter, rng=rng)}
        elif block in ("g", "d"):
            op = game.block_operator(z, block)
            la = eigenpairs(op, k, "LA", symmetric=True, tol=tol, maxiter=maxiter, rng=rng)
            top = float(la.values.max()) if la.values.size else 0.0
            sa = eigenpairs(op, k, "SA", symmetric=True, tol=tol, maxiter=maxiter, rng=rng, top=top)
            out[block] = {"LA": la, "SA": sa}
        else:
            raise ValueError(f"blocks are 'j', 'g' and 'd', got {block!r}")
    return out


def dense_spectrum(game: Game, z) -> dict:
    """The dense spectra at ``z`` of a small game: ``{'j': eigenvalues of J (n,) complex,
    'g': of H_GG (n_g,), 'd': of H_DD (n_d,)}`` (the blocks' ascending, their symmetric
    parts, which are the blocks to rounding). ``J`` is formed column by column from ``n``
    products with :meth:`Game.operator <gandyn.games.game.Game.operator>`: the reference
    of the matrix-free searches, ``O(n^3)`` time and ``O(n^2)`` memory."""
    z = np.asarray(z, dtype=np.float64).ravel()
    op = game.operator(z)
    J = np.column_stack([op.matvec(e) for e in np.eye(game.n)])
    n = game.n_g
    sym = [0.5 * (H + H.T) for H in (J[:n, :n], J[n:, n:])]
    return {"j": np.linalg.eigvals(J), "g": np.linalg.eigvalsh(sym[0]), "d": np.linalg.eigvalsh(sym[1])}


def real_part_bounds(op: LinearOperator, *, tol: float = 1e-8, maxiter: int | None = None, rng=0) -> Eigenpairs:
    """Bounds on the real parts of the eigenvalues of ``op``: the extreme eigenpairs of its
    symmetric part ``S = (A + A^T)/2`` (one ``matvec`` and one ``rmatvec`` per product).

    Every eigenvalue ``lambda`` of ``A`` has ``lambda_min(S) <= Re lambda <= lambda_max(S)``
    (Bendixson 1902: ``Re lambda = v^* S v`` for a unit eigenvector ``v``). Returns the
    :class:`Eigenpairs` of the ``'SA'`` search on ``S`` (one value): when it is positive
    (and converged), every eigenvalue of ``A`` has a positive real part.
    """
    def mv(v):
        v = np.ascontiguousarray(np.ravel(v))
        return 0.5 * (op.matvec(v) + op.rmatvec(v))

    n = op.shape[0]
    s = LinearOperator((n, n), matvec=mv, rmatvec=mv, dtype=np.float64)
    pairs = eigenpairs(s, 1, "SA", symmetric=True, tol=tol, maxiter=maxiter, rng=rng)
    return Eigenpairs(pairs.values, pairs.residuals, pairs.converged, "S:SA", 2 * pairs.products)


def certify_verdicts(ext: dict, spec: dict, game: Game, z, *, dense_max: int, tol: float = 1e-8,
                     maxiter: int | None = None, rng=0) -> tuple[dict, int]:
    """How the eigenvalues behind the stability and Nash verdicts at ``z`` are known.

    A matrix-free search can miss the extreme eigenvalue, so its values alone only
    suggest a verdict. With ``n`` the game's parameters and ``s = max(1, |lambda|_max)``
    (``ext['j']['max_modulus']``, the searches' largest modulus):

    - ``'dense'`` when ``n <= dense_max``: the extremes are replaced by those of
      :func:`dense_spectrum` (the searches' own kept as ``min_real_search`` /
      ``min_search``) and ``ext['searches_agree']`` says whether the searches' smallest
      values are the dense ones to ``1e-6 s``;
    - else ``'certified'``: for stability, a converged ``'SR'`` eigenpair of ``J`` with
      ``Re lambda <= tol s`` decides 'not stable', or a converged smallest eigenvalue of
      the symmetric part ``S = (J + J^T)/2`` above ``tol s`` decides 'stable', since
      ``Re lambda(J) >= lambda_min(S)`` (Bendixson 1902; :func:`real_part_bounds`);
      for Nash, a converged ``'SA'`` eigenpair of ``H_GG`` or ``H_DD`` at or below
      ``tol s`` decides 'not positive definite';
    - else ``'unverified'`` (the searches' values stand).

    Parameters
    ----------
    ext : dict
        The searches' extremes, updated in place: ``ext['j']`` with ``'max_modulus'``,
        ``'min_real'``, ``'max_real'``; ``ext['g']``, ``ext['d']`` with ``'min'``,
        ``'max'``. Gains ``'searches_agree'`` (dense) or ``ext['j']['symmetric_part_min']``
        (the Bendixson bound, else).
    spec : dict
        :func:`game_spectrum` at ``z``: ``{'j': {'SR': Eigenpairs, ...}, 'g': {'SA': ...},
        'd': {'SA': ...}}``.
    game : Game
    z : array (n,)
    dense_max : int
        Largest ``n`` checked against the dense spectra (``O(n^3)`` time, ``O(n^2)`` memory).
    tol, maxiter, rng : as :func:`real_part_bounds`; ``tol`` also sets the margin ``tol s``.

    Returns
    -------
    check : dict
        ``{'stable': how, 'nash': how}``, each ``'dense'``, ``'certified'`` or ``'unverified'``.
    products : int
        Operator products used (``n`` for the dense spectra).
    """
    scale = max(1.0, ext["j"]["max_modulus"])  # the searches' (the dense one below may replace it)
    if game.n <= dense_max:
        dense = dense_spectrum(game, z)
        found = {"j": ext["j"]["min_real"], "g": ext["g"]["min"], "d": ext["d"]["min"]}
        exact = {"j": float(dense["j"].real.min()), "g": float(dense["g"].min()), "d": float(dense["d"].min())}
        ext["j"].update(min_real_search=found["j"], min_real=exact["j"], max_real=float(dense["j"].real.max()),
                        max_modulus=float(np.abs(dense["j"]).max()))
        for b in ("g", "d"):
            ext[b].update(min_search=found[b], min=exact[b], max=float(dense[b].max()))
        ext["searches_agree"] = bool(all(abs(found[b] - exact[b]) <= 1e-6 * scale for b in found))
        return {"stable": "dense", "nash": "dense"}, game.n
    bound = real_part_bounds(game.operator(z), tol=tol, maxiter=maxiter, rng=rng)
    ext["j"]["symmetric_part_min"] = float(bound.values.min()) if bound.values.size else float("nan")
    sr = spec["j"]["SR"]
    if np.any(sr.converged & (sr.values.real <= tol * scale)):
        stable = "certified"  # a true eigenvalue with Re <= 0: not stable
    elif bound.converged.all() and bound.values.size and ext["j"]["symmetric_part_min"] > tol * scale:
        stable = "certified"  # Bendixson: every Re lambda >= lambda_min(S) > 0
    else:
        stable = "unverified"
    sa = [spec[b]["SA"] for b in ("g", "d")]
    nash = "certified" if any(np.any(p.converged & (p.values <= tol * scale)) for p in sa) else "unverified"
    return {"stable": stable, "nash": nash}, bound.products


def _lanczos(op, v, m):
    """``m`` steps of Lanczos with full reorthogonalisation from ``v``: the tridiagonal
    ``(alpha (m,), beta (m-1,))`` (fewer steps if an invariant subspace is found)."""
    n = v.size
    m = min(m, n)
    Q = np.empty((m, n))
    alpha, beta = np.empty(m), np.empty(max(m - 1, 0))
    q = v / np.linalg.norm(v)
    for j in range(m):
        Q[j] = q
        w = np.array(op.matvec(q), dtype=np.float64)
        alpha[j] = q @ w
        w -= Q[: j + 1].T @ (Q[: j + 1] @ w)  # full reorthogonalisation
        w -= Q[: j + 1].T @ (Q[: j + 1] @ w)  # twice is enough (Parlett 1998)
        if j == m - 1:
            break
        b = np.linalg.norm(w)
        if b < 1e-12 * max(1.0, abs(alpha[j])):
            return alpha[: j + 1], beta[:j]
        beta[j] = b
        q = w / b
    return alpha, beta


def slq_density(op: LinearOperator, *, n_vectors: int = 4, steps: int = 60, rng=0):
    """Stochastic Lanczos quadrature of a symmetric operator's spectrum (Ghorbani,
    Krishnan & Xiao 2019, Sec. 3).

    Returns ``(nodes (L,), weights (L,))``: the Ritz values of every run and their
    weights ``tau / n_vectors``; the weights are non-negative and sum to 1, and
    ``sum w g(node)`` estimates ``(1/n) tr g(A)`` for smooth ``g``.

    Raises
    ------
    ValueError
        ``n_vectors`` or ``steps`` below 1.
    """
    if int(n_vectors) < 1 or int(steps) < 1:
        raise ValueError("n_vectors and steps must be >= 1")
    rng = np.random.default_rng(rng)
    n = op.shape[0]
    nodes, weights = [], []
    for _ in range(int(n_vectors)):
        v = rng.choice([-1.0, 1.0], size=n)
        a, b = _lanczos(op, v, int(steps))
        T = np.diag(a) + np.diag(b, 1) + np.diag(b, -1)
        theta, U = np.linalg.eigh(T)
        nodes.append(theta)
        weights.append(U[0] ** 2 / n_vectors)
    return np.concatenate(nodes), np.concatenate(weights)


def density_on_grid(nodes, weights, grid, sigma: float | None = None) -> np.ndarray:
    """``phi(t) = sum_j w_j N(t; node_j, sigma^2)`` on ``grid`` (a Gaussian-smoothed
    quadrature; Ghorbani et al. 2019, Eq. 6). Default ``sigma``: 1% of the node range."""
    nodes, weights, grid = (np.asarray(a, dtype=np.float64) for a in (nodes, weights, grid))
    if sigma is None:
        sigma = 0.01 * max(float(np.ptp(nodes)), 1e-12)
    d = (grid[:, None] - nodes[None, :]) / sigma
    return (np.exp(-0.5 * d * d) @ weights) / (sigma * np.sqrt(2 * np.pi))


def path_angle(game: Game, z0, z1, n: int = 51):
    """The path-angle profile of Berard et al. 2020 (Sec. 4) on the segment from ``z0``
    to ``z1``.

    Returns ``(alpha (n,), norm (n,), cos (n,))``: ``||omega(z(alpha))||`` and
    ``<omega(z(alpha)), z1 - z0> / (||omega|| ||z1 - z0||)`` (0 where ``omega = 0``).

    Raises
    ------
    ValueError
        ``z0 == z1`` or shapes that do not match the game.
    """
    z0, z1 = (np.asarray(a, dtype=np.float64).ravel() for a in (z0, z1))
    if z0.shape != (game.n,) or z1.shape != (game.n,):
        raise ValueError(f"z0 and z1 must have {game.n} entries")
    d = z1 - z0
    nd = float(np.linalg.norm(d))
    if nd == 0:
        raise ValueError("z0 and z1 are the same point: no path")
    alpha = np.linspace(0.0, 1.0, int(n))
    norm, cos = np.empty(alpha.size), np.empty(alpha.size)
    for i, a in enumerate(alpha):
        w = game.field(z0 + a * d)
        norm[i] = np.linalg.norm(w)
        cos[i] = (w @ d) / (norm[i] * nd) if norm[i] > 0 else 0.0
    return alpha, norm, cos
