"""The experiments behind ``gandyn nash``: results as arrays and records.

Plotting lives in :mod:`gandyn.plotting.games`; the command
(:mod:`gandyn.cli.nash`) wires the two. Everything here is deterministic
given ``seed``.

- :func:`dirac_panels`: Dirac-GAN trajectories of every method and regulariser
  (Mescheder, Geiger & Nowozin 2018, Sec. 2-3 and their DiracGAN notebooks:
  ``h = 0.2``, ``theta_0 = psi_0 = 1``, 500 steps), one :class:`Panel` each.
- :func:`vector_fields`: the field ``-omega`` each variant follows (a :class:`VectorFields`).
- :func:`spectra`: ``J``'s eigenvalues at the equilibria.
- :func:`step_map`: the largest stable step against the regularisation weight,
  numerically and in closed form (:mod:`gandyn.games.closed_forms`; a :class:`StepMap`).
- :func:`talk_claim`: own-Hessian blocks at GAN equilibria (Dirac-GAN, Gaussian
  GAN, an exact MLP equilibrium and a trained MLP GAN; a :class:`TalkClaim`).
- :func:`large_game`: ARPACK on the matrix-free Jacobian of a large MLP GAN (a :class:`LargeGame`).
- :func:`loss_variants`, :func:`loss_spectra`, :func:`loss_closed_forms`: the Dirac-GAN of any
  loss of :mod:`gandyn.engine.losses`, with a gradient penalty (``gandyn nash --loss``).
- :func:`panels_summary`, :func:`loss_summary`, :meth:`TalkClaim.summary`, :meth:`LargeGame.summary`:
  the records' entries of ``summary.json``.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from gandyn import games
from gandyn.games import closed_forms as cf, dynamics as dy, nash
from gandyn.engine import losses as L
from gandyn.engine.gan import GAN
from gandyn.engine.nn import MLP
from gandyn.experiments.demo import train
from gandyn.rng import streams

__all__ = ["Panel", "VectorFields", "StableSteps", "StepMap", "Blocks", "TalkClaim", "LargeGame", "dirac_variants",
           "dirac_panels", "panels_summary", "vector_fields", "spectra", "step_map", "talk_claim", "large_game",
           "textbook_points", "loss_variants", "loss_spectra", "loss_closed_forms", "loss_summary"]


@dataclass(frozen=True, eq=False)
class Panel:
    """One Dirac-GAN trajectory of :func:`dirac_panels`.

    Attributes
    ----------
    variant : str
        The game's name (a key of :func:`dirac_variants`, or of the ``variants`` given).
    method : str
        The method's label: ``'simultaneous'``, ``'alternating'``, ``'extragradient'``, ...
    traj : ndarray, shape (steps + 1, 2)
        The iterates ``(theta, psi)`` from ``z0``; NaN from the step where it diverged or stopped.
    diverged_at : int or None
        The first step whose iterate left the floats or exceeded 1e150 (None if none did).
    stopped_at : int or None
        The step that landed where the field is not differentiable (WGAN-GP at ``psi = 0``) and
        ended the trajectory; None unless a step was refused.
    stopped : str or None
        Why it stopped there (the refusal's message); None when ``stopped_at`` is.
    """

    variant: str
    method: str
    traj: np.ndarray
    diverged_at: int | None = None
    stopped_at: int | None = None
    stopped: str | None = None

    @property
    def title(self) -> str:
        """``'variant: method'``: the panel's title, and its key in ``summary.json``."""
        return f"{self.variant}: {self.method}"

    @property
    def final(self) -> np.ndarray:
        """The last finite iterate ``(theta, psi)``, shape (2,)."""
        return self.traj[np.isfinite(self.traj).all(axis=1)][-1]

    @property
    def dist(self) -> float:
        """The final distance to the equilibrium ``(0, 0)``: ``|final|``."""
        return float(np.hypot(*self.final))


@dataclass(frozen=True, eq=False)
class VectorFields:
    """The fields ``-omega`` of :func:`vector_fields` on a grid of ``(theta, psi)``.

    Attributes
    ----------
    theta, psi : ndarray, shape (n, n)
        The grid (:func:`numpy.meshgrid`: ``theta`` varies along a row, ``psi`` down a column).
    fields : dict of str to (ndarray, ndarray)
        ``-omega``'s components ``(U, V)`` along ``theta`` and ``psi``, each (n, n), by variant; NaN
        where the field is not defined.
    """

    theta: np.ndarray
    psi: np.ndarray
    fields: dict


@dataclass(frozen=True, eq=False)
class StableSteps:
    """One regulariser's row of a :class:`StepMap`.

    Attributes
    ----------
    eigs : ndarray, shape (weights, 2), complex
        ``J``'s eigenvalues at the equilibrium ``(0, 0)`` by autograd, per weight.
    h_max, h_max_closed : ndarray, shape (weights,)
        The largest stable step of simultaneous GD from ``eigs`` and from the closed form.
    rho : ndarray, shape (weights, hs)
        The spectral radius ``max |1 - h lambda|`` of one simultaneous GD step.
    """

    eigs: np.ndarray
    h_max: np.ndarray
    h_max_closed: np.ndarray
    rho: np.ndarray


@dataclass(frozen=True, eq=False)
class StepMap:
    """:func:`step_map`: the largest stable step against the regularisation weight.

    Attributes
    ----------
    weights : ndarray, shape (weights,)
        The regularisation weights (R1 and consensus ``gamma``, instance noise ``sigma``).
    hs : ndarray, shape (hs,)
        The step sizes of the ``rho`` grid.
    r1, consensus, noise : StableSteps
        R1, consensus and instance noise on the Dirac-GAN.
    """

    weights: np.ndarray
    hs: np.ndarray
    r1: StableSteps
    consensus: StableSteps
    noise: StableSteps


@dataclass(frozen=True, eq=False)
class Blocks:
    """The own-Hessian blocks at one point of a game: an entry of :class:`TalkClaim`.

    Attributes
    ----------
    label : str
        The point, as the figure and ``summary.json`` name it.
    eig_g, eig_d : ndarray, shapes (n_G,) and (n_D,)
        The eigenvalues (ascending) of the symmetric parts of ``H_GG`` (G's loss w.r.t. G's
        parameters) and ``H_DD`` (D's loss w.r.t. D's).
    omega_norm : float
        ``||omega(z)||``, the norm of the game's field there (0 at a critical point).
    verdict : Verdict or None
        :func:`gandyn.games.nash.classify` of the point (the MLP GANs' points only).
    """

    label: str
    eig_g: np.ndarray
    eig_d: np.ndarray
    omega_norm: float
    verdict: nash.Verdict | None = None

    @property
    def norm_g(self) -> float:
        """``max |eig H_GG|``."""
        return float(np.abs(self.eig_g).max())

    @property
    def norm_d(self) -> float:
        """``max |eig H_DD|``."""
        return float(np.abs(self.eig_d).max())

    def summary(self) -> dict:
        """The point's entry of ``summary.json``'s ``talk_claim``."""
        return {"label": self.label, "max_abs_eig_HGG": self.norm_g, "max_abs_eig_HDD": self.norm_d,
                "omega_norm": self.omega_norm}


@dataclass(frozen=True, eq=False)
class TalkClaim:
    """:func:`talk_claim`: the own-Hessian blocks at four points, and the trained generator.

    Attributes
    ----------
    dirac, gaussian, exact, trained : Blocks
        The Dirac-GAN at ``(0, 0)``, the Gaussian GAN at ``(mean, std, 0)``, the MLP GAN's exact
        equilibrium and the trained MLP GAN (the last two with their verdicts).
    g_mean, g_std : float
        The trained generator's mean and standard deviation (by quadrature over the latent).
    d_on_support : ndarray, shape (7,)
        The trained ``D(x)``, a probability, at ``x = 2.5, 3, ..., 5.5``.
    train_seconds : float
        Wall-clock seconds of the training.
    """

    dirac: Blocks
    gaussian: Blocks
    exact: Blocks
    trained: Blocks
    g_mean: float
    g_std: float
    d_on_support: np.ndarray
    train_seconds: float

    @property
    def entries(self) -> tuple[Blocks, Blocks, Blocks, Blocks]:
        """``(dirac, gaussian, exact, trained)``."""
        return self.dirac, self.gaussian, self.exact, self.trained

    def summary(self) -> dict:
        """``summary.json``'s ``talk_claim`` (each point's :meth:`Blocks.summary`) and ``trained_generator``."""
        return {"talk_claim": dict(zip(("dirac", "gaussian", "exact", "trained"), (b.summary() for b in self.entries))),
                "trained_generator": {"mean": self.g_mean, "std": self.g_std,
                                      "D_on_support": self.d_on_support.tolist(), "train_seconds": self.train_seconds}}


@dataclass(frozen=True, eq=False)
class LargeGame:
    """:func:`large_game`: a large MLP GAN classified by ARPACK.

    Attributes
    ----------
    verdict : Verdict
        :func:`gandyn.games.nash.classify` at the initialisation.
    n : int
        The parameters of both players.
    seconds_matvec, seconds_classify : float
        Wall-clock seconds of one product ``J v`` and of the classification.
    """

    verdict: nash.Verdict
    n: int
    seconds_matvec: float
    seconds_classify: float

    def summary(self) -> dict:
        """``summary.json``'s ``large_game``: all but the verdict (which ``verdicts.json`` holds)."""
        return {"n": self.n, "seconds_matvec": self.seconds_matvec, "seconds_classify": self.seconds_classify}


def dirac_variants(gamma: float = 0.3, sigma: float = 1.0) -> dict:
    """The Dirac-GAN variants of the DiracGAN notebooks (regularisation 0.3, noise std 1)."""
    return {
        "GAN": games.dirac_gan(),
        "NS-GAN": games.dirac_gan("nonsat"),
        f"R1 ($\\gamma$={gamma:g})": games.dirac_gan(r1=gamma),
        f"R2 ($\\gamma$={gamma:g})": games.dirac_gan(r2=gamma),
        f"instance noise ($\\sigma$={sigma:g})": games.dirac_gan(noise_std=sigma),
        f"consensus ($\\gamma$={gamma:g})": _dirac(consensus=gamma),
    }


def dirac_panels(h: float = 0.2, z0=(1.0, 1.0), steps: int = 500, gamma: float = 0.3,
                 sigma: float = 1.0, progress: bool = False, variants: dict | None = None) -> list[Panel]:
    """Trajectories: every variant under simultaneous and alternating GD (G first,
    as the notebooks), then extragradient, optimistic GD, SGA and a two time-scale
    step ``(h, 2h)`` on the plain GAN, one :class:`Panel` each.

    ``variants`` (name -> game, e.g. :func:`loss_variants`): these games instead of
    :func:`dirac_variants`, each under simultaneous and alternating GD, and extragradient and
    optimistic GD on the first. A step that lands where the field is not differentiable
    (WGAN-GP at ``psi = 0``) ends its trajectory there (the rest NaN; ``stopped_at`` the step,
    ``stopped`` the reason; both None otherwise)."""
    default = variants is None
    variants = dirac_variants(gamma, sigma) if default else variants
    jobs = [(name, game, method, h, label) for name, game in variants.items()
            for method, label in ((dy.simgd(), "simultaneous"), (dy.altgd(d_first=False), "alternating"))]
    first, base = next(iter(variants.items()))  # the plain game ("GAN" of the default variants)
    jobs += [(first, base, dy.extragradient(), h, "extragradient"), (first, base, dy.optimistic(), h, "optimistic")]
    if default:
        jobs += [(first, base, dy.sga(), h, "SGA ($\\lambda$=1)"),
                 (first, base, dy.simgd(), (h, 2 * h), f"TTUR ($h_G$={h:g}, $h_D$={2 * h:g})")]
    out = []
    for name, game, method, hh, label in tqdm(jobs, desc="Dirac-GAN trajectories", disable=not progress):
        tr, stopped = np.full((steps + 1, game.n), np.nan), None
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # divergence is reported below
            try:  # dynamics.trajectory, stopping where the field is not differentiable
                for t, z in enumerate(dy.iterates(method, game, np.asarray(z0, dtype=float), hh, steps)):
                    tr[t] = z
            except ValueError as e:
                stopped = str(e)
        finite = np.isfinite(tr).all(axis=1)
        at = None if finite.all() else int(np.argmin(finite))
        out.append(Panel(name, label, tr, diverged_at=None if stopped else at, stopped_at=at if stopped else None,
                         stopped=stopped))
    return out


def panels_summary(panels: list[Panel]) -> dict:
    """``summary.json``'s ``dirac_final_distance`` (every panel's :attr:`Panel.dist`) and
    ``dirac_diverged_at`` (the step, for the panels that diverged), both by title."""
    return {"dirac_final_distance": {p.title: p.dist for p in panels},
            "dirac_diverged_at": {p.title: p.diverged_at for p in panels if p.diverged_at is not None}}


def vector_fields(lim: float = 2.0, n: int = 21, gamma: float = 0.3, sigma: float = 1.0,
                  variants: dict | None = None) -> VectorFields:
    """``-omega`` on an ``n x n`` grid of ``(theta, psi)`` for each Dirac-GAN variant
    (and SGA's adjusted field), the direction gradient play moves in; ``variants`` (name ->
    game) instead of :func:`dirac_variants`. At a grid point where a field is not defined (WGAN-GP
    at ``psi = 0``: ValueError) it is NaN."""
    grid = np.linspace(-lim, lim, n)
    T, P = np.meshgrid(grid, grid)
    fields = {}
    for name, game in (dirac_variants(gamma, sigma) if variants is None else variants).items():
        V = np.full((T.size, game.n), np.nan)
        for i, z in enumerate(np.column_stack([T.ravel(), P.ravel()])):
            with contextlib.suppress(ValueError):  # not differentiable here (WGAN-GP's |psi| at psi = 0)
                V[i] = -np.asarray(game.field_traced(z))
        fields[name] = (V[:, 0].reshape(T.shape), V[:, 1].reshape(T.shape))
    return VectorFields(T, P, fields)


def spectra(gamma: float = 0.3, sigma: float = 1.0) -> dict:
    """Eigenvalues of ``J`` at the equilibrium of each Dirac-GAN variant and at the
    textbook points."""
    out = loss_spectra(dirac_variants(gamma, sigma))[0]
    return out | {game.name: np.linalg.eigvals(game.jacobian(z)) for _, game, z in textbook_points()
                  if not game.name.startswith("Dirac")}


def _dirac(consensus=None, **kw) -> games.Game:
    """:func:`gandyn.games.dirac_gan` with ``kw``, or the consensus game of weight ``consensus`` on it."""
    return games.dirac_gan(**kw) if consensus is None else games.consensus_game(games.dirac_gan(**kw), consensus)


def step_map(weights=None, hs=None) -> StepMap:
    """For R1, consensus and instance noise on the Dirac-GAN: the spectrum of
    ``J`` by autograd at each weight, the largest stable step (numerical and
    closed form), and the spectral radius ``max |1 - h lambda|`` of one
    simultaneous GD step on a ``(weight, h)`` grid."""
    weights = np.linspace(0.0, 3.0, 61) if weights is None else np.asarray(weights, dtype=float)
    hs = np.linspace(0.01, 4.0, 200) if hs is None else np.asarray(hs, dtype=float)
    rows = {}
    for kind, key in (("r1", "r1"), ("consensus", "consensus"), ("noise", "noise_std")):
        lams = np.array([np.linalg.eigvals(_dirac(**{key: w}).jacobian(np.zeros(2))) for w in weights])
        closed = [cf.dirac_eigenvalues(**{key: w}) for w in weights]
        rows[kind] = StableSteps(lams, np.array([nash.largest_stable_step(l) for l in lams]),
                                 np.array([nash.largest_stable_step(l) for l in closed]),
                                 np.abs(1.0 - hs[None, :, None] * lams[:, None, :]).max(axis=-1))  # (weights, hs)
    return StepMap(weights, hs, **rows)


def textbook_points() -> list[tuple[str, games.Game, np.ndarray]]:
    """``(point name, game, z)`` for every built-in game's named points."""
    gs = [*dirac_variants().values(), games.bilinear(), games.stable_not_nash(), games.nash_saddle(),
          games.general_sum_nash_unstable(), games.gaussian_gan(), games.gaussian_gan(r1=1.0)]
    return [(name, g, z) for g in gs for name, z in g.points.items()]


def _blocks(game, z, label, point=None) -> Blocks:
    """The :class:`Blocks` of ``game`` at ``z``, with the verdict of ``z`` named ``point`` if given."""
    hg, hd = game.blocks(z)
    return Blocks(label, np.linalg.eigvalsh(0.5 * (hg + hg.T)), np.linalg.eigvalsh(0.5 * (hd + hd.T)),
                  float(np.linalg.norm(game.field_traced(z))),
                  None if point is None else nash.classify(game, z, point=point))


def talk_claim(seed: int = 0, steps: int = 3000, nodes: int = 48, progress: bool = False) -> TalkClaim:
    """The talk's claim, computed: at a GAN equilibrium the generator's own
    Hessian block vanishes.

    1. Dirac-GAN at ``(0, 0)``: ``H_GG = 0`` exactly.
    2. Gaussian GAN (affine G) at ``(mean, std, 0)``: ``H_GG = 0`` exactly.
    3. A 1-D MLP GAN (G 1-8-1 tanh, D 1-16-1 tanh, normal latent, non-saturating
       loss) trained with the engine (Adam 2e-3, b1 = 0.5, batch 256) on
       ``N(4, 0.5^2)`` (:func:`gandyn.experiments.demo.train`), evaluated on Gauss-Hermite
       quadrature (``nodes`` points).
    4. The exact equilibrium of the same architecture: data = the trained
       generator's own distribution (same quadrature), D's last layer zeroed so
       ``D = 1/2`` everywhere: ``omega = 0`` and ``H_GG = 0`` exactly.
    """
    gg = games.gaussian_gan()
    dirac = _blocks(games.dirac_gan(), np.zeros(2), "Dirac-GAN at (0, 0)")
    gaussian = _blocks(gg, gg.points["equilibrium"], "Gaussian GAN at (mean, std, 0)")
    gan = GAN(MLP((1, 8, 1), ("tanh", "identity")), MLP((1, 16, 1), ("tanh", "identity")), loss="nonsat",
              latent="normal")
    t0 = time.perf_counter()
    run = train(gan, seed, steps, 2e-3, 256, "train 1-D MLP GAN", progress)[0]
    train_s = time.perf_counter() - t0
    zq, wq = games.normal_quadrature(nodes)
    xq, wx = games.normal_quadrature(nodes, 4.0, 0.5)
    game = games.mlp_gan_game(gan, xq, zq, w_real=wx, w_latent=wq, name="1-D MLP GAN, trained")
    z = np.concatenate([run.theta_g, run.theta_d])
    samples = gan.G(run.theta_g, zq)[:, 0]
    trained = _blocks(game, z, f"trained 1-D MLP GAN ({steps} Adam steps)", f"after {steps} steps")
    realizable, z_star = games.realizable_equilibrium(gan, run.theta_g, run.theta_d, zq, w_latent=wq,
                                                      name="1-D MLP GAN, realizable")
    exact = _blocks(realizable, z_star, "MLP GAN exact equilibrium (D = 1/2)", "p_g = p_data, D = 1/2")
    return TalkClaim(dirac, gaussian, exact, trained,
                     g_mean=float(wq @ samples), g_std=float(np.sqrt(wq @ (samples - wq @ samples) ** 2)),
                     d_on_support=gan.d_prob(run.theta_d, np.linspace(2.5, 5.5, 7)[:, None]), train_seconds=train_s)


def large_game(hidden: int = 64, batch: int = 64, k: int = 4, maxiter: int = 100, seed: int = 0) -> LargeGame:
    """A 1-D MLP GAN with two hidden layers of ``hidden`` units in each player
    (``hidden = 256`` gives about 1e5 parameters) classified at its
    initialisation from ARPACK alone (``dense_max = 0``): extreme eigenvalues of
    ``J`` and of both own-Hessian blocks from matrix-free products, never forming ``J``."""
    if hidden < 2 or batch < 1 or k < 1:
        raise ValueError("hidden must be >= 2, batch and k >= 1")
    s = streams(seed)
    net = MLP((1, hidden, hidden, 1), ("tanh", "tanh", "identity"))  # G and D alike
    gan = GAN(net, net, loss="minimax", latent="normal")
    rng = s["eval"]
    game = games.mlp_gan_game(gan, rng.normal(4.0, 0.5, size=(batch, 1)), rng.standard_normal((batch, 1)),
                              name=f"MLP GAN 1-{hidden}-{hidden}-1 x2")
    z = np.concatenate([net.init(s["g_init"]), net.init(s["d_init"])])
    op = game.operator(z)
    t0 = time.perf_counter()
    op.matvec(np.ones(game.n))
    t1 = time.perf_counter()
    verdict = nash.classify(game, z, point="initialisation", dense_max=0, k=k, maxiter=maxiter, rng=seed)
    return LargeGame(verdict, game.n, t1 - t0, time.perf_counter() - t1)


# --- gandyn nash --loss: the Dirac-GAN of any loss, with a penalty


def loss_variants(loss: str, penalty: str | None = None, weight: float = 0.3, gp_target: float = 1.0) -> dict:
    """The Dirac-GAN of ``loss`` (:func:`gandyn.games.dirac_gan`), and with ``penalty`` if given:
    ``'r1'``/``'r2'`` of weight ``gamma = weight`` (``gamma/2 psi^2``: on the Dirac-GAN
    ``||grad_x o|| = |psi|`` on data and samples alike) or ``'gp'`` of weight ``lambda = weight``
    and target ``gp_target`` (``lambda (|psi| - gp_target)^2``, Gulrajani et al. 2017, eq. 3;
    Mescheder, Geiger & Nowozin 2018, Sec. 3.2, write ``gamma/2 (|psi| - g0)^2``, i.e.
    ``lambda = gamma/2``). Returns ``{name: game}``, the plain loss first.

    Raises
    ------
    ValueError
        An unknown loss or penalty, a weight that is not positive, or a pairing the literature
        does not use (:func:`gandyn.engine.penalties.check_pairing`).
    """
    from gandyn.engine.penalties import check_pairing, make_penalty

    label = L.get(loss).label
    out = {label: games.dirac_gan(loss)}
    if penalty is not None:
        make_penalty(penalty, weight)
        check_pairing(loss, penalty)
        name = (f"{label} + GP ($\\lambda$={weight:g}, target {gp_target:g})" if penalty == "gp"
                else f"{label} + {penalty.upper()} ($\\gamma$={weight:g})")
        out[name] = games.dirac_gan(loss, gp_target=gp_target, **{penalty: weight})
    return out


def loss_spectra(variants: dict) -> tuple[dict, dict]:
    """``J``'s eigenvalues at the Dirac-GAN's point ``(0, 0)`` for each game of ``variants``, and
    a note for each game where ``J`` is not defined there (WGAN-GP: ``|psi|`` is not
    differentiable at ``psi = 0``, and ``(0, 0)`` is not stationary: D's one-sided gradients are
    ``-+2 lambda gp_target``). Returns ``(spectra, skipped)``, both dicts by name."""
    out, skipped = {}, {}
    for name, game in variants.items():
        try:
            out[name] = np.linalg.eigvals(game.jacobian(np.zeros(2)))
        except ValueError as e:
            skipped[name] = f"equilibrium skipped: {e}"
    return out, skipped


def loss_closed_forms(loss: str, penalty: str | None = None, weight: float = 0.3) -> list[dict]:
    """The closed form of ``J(0, 0)``'s eigenvalues on the Dirac-GAN of any loss
    (:func:`gandyn.games.closed_forms.dirac_eigenvalues`: ``gamma/2 +- sqrt(gamma^2/4 + a b)``,
    ``gamma`` the R1/R2 weight) against autograd's, for each game of :func:`loss_variants`.
    Each row: ``name``, ``source``, ``closed`` and ``measured`` (as strings), ``error`` (max abs),
    or a ``note`` where there is none (WGAN-GP, not differentiable at ``psi = 0``)."""
    rows = []
    for (name, game), kw in zip(loss_variants(loss, penalty, weight).items(), ({}, {penalty: weight})):
        row = {"name": f"{name}: eig J(0,0) = gamma/2 +- sqrt(gamma^2/4 + g'(0) d'(0))",
               "source": "M18 Sec. 3 (Dirac-GAN); gandyn.games.dirac_gan", "closed": "", "measured": "",
               "error": float("nan"), "note": ""}
        if "gp" in kw:
            row["note"] = "no equilibrium at (0, 0): |psi| is not differentiable at psi = 0 (WGAN-GP; M18 Sec. 3.2)"
        else:
            closed, measured = cf.dirac_eigenvalues(loss, **kw), np.linalg.eigvals(game.jacobian(np.zeros(2)))
            row |= {"closed": " ".join(f"{v:.6g}" for v in closed), "measured": " ".join(f"{v:.6g}" for v in measured),
                    "error": cf.spectrum_distance(measured, closed)}
        rows.append(row)
    return rows


def loss_summary(panels: list[Panel], spectra: dict, skipped: dict) -> dict:
    """``summary.json`` of ``gandyn nash --loss`` but the options: :func:`panels_summary`, with each
    trajectory's ``dirac_final_point`` ``[theta, psi]`` and the ``dirac_stopped`` ``[step, reason]``,
    by title, and :func:`loss_spectra`'s ``spectra`` (``[re, im]`` pairs) and ``spectra_skipped``."""
    return panels_summary(panels) | {
        "dirac_final_point": {p.title: p.final.tolist() for p in panels},
        "dirac_stopped": {p.title: [p.stopped_at, p.stopped] for p in panels if p.stopped},
        "spectra": {k: [[float(v.real), float(v.imag)] for v in lam] for k, lam in spectra.items()},
        "spectra_skipped": skipped}
