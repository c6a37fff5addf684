"""The experiments behind ``gandyn nash``: results as arrays and records.

Plotting lives in :mod:`gandyn.plotting.games`; the command
(:mod:`gandyn.cli.nash`) wires the two. Everything here is deterministic
given ``seed``.

- :func:`dirac_panels`: Dirac-GAN trajectories of every method and regulariser
  (Mescheder, Geiger & Nowozin 2018, Sec. 2-3 and their DiracGAN notebooks:
  ``h = 0.2``, ``theta_0 = psi_0 = 1``, 500 steps).
- :func:`vector_fields`: the field ``-omega`` each variant follows.
- :func:`spectra`: ``J``'s eigenvalues at the equilibria.
- :func:`step_map`: the largest stable step against the regularisation weight,
  numerically and in closed form (:mod:`gandyn.games.closed_forms`).
- :func:`closed_form_checks`: every closed form of the games documentation against autograd.
- :func:`talk_claim`: own-Hessian blocks at GAN equilibria (Dirac-GAN, Gaussian
  GAN, an exact MLP equilibrium and a trained MLP GAN).
- :func:`large_game`: ARPACK on the matrix-free Jacobian of a large MLP GAN.
- :func:`loss_variants`, :func:`loss_spectra`, :func:`loss_closed_forms`: the Dirac-GAN of any
  loss of :mod:`gandyn.engine.losses`, with a gradient penalty (``gandyn nash --loss``).
"""
from __future__ import annotations

import time
from itertools import product

import numpy as np
from tqdm.auto import tqdm

from gandyn import games
from gandyn.games import closed_forms as cf, dynamics as dy, nash
from gandyn.engine import losses as L, optim
from gandyn.engine.gan import GAN
from gandyn.engine.trainer import StreamBatches, Trainer
from gandyn.engine.nn import MLP
from gandyn.rng import streams

__all__ = ["dirac_variants", "dirac_panels", "vector_fields", "spectra", "step_map", "talk_claim", "large_game",
           "textbook_points", "closed_form_checks", "loss_variants", "loss_spectra", "loss_closed_forms"]

C = games.C_DIRAC


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
                 sigma: float = 1.0, progress: bool = False, variants: dict | None = None) -> list[dict]:
    """Trajectories: every variant under simultaneous and alternating GD (G first,
    as the notebooks), then extragradient, optimistic GD, SGA and a two time-scale
    step ``(h, 2h)`` on the plain GAN. Each panel: ``title``, ``variant``, ``method``,
    ``traj (steps+1, 2)``, ``dist`` (final distance to the equilibrium, at the last
    finite iterate), ``diverged_at`` (the first step whose iterate left the floats
    or exceeded 1e150, the rest of ``traj`` NaN; None if none did).

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
    for name, game, method, hh, label in tqdm(jobs, desc="Dirac-GAN trajectories", disable=not progress,
                                              leave=False):
        tr, stopped = np.full((steps + 1, game.n), np.nan), None
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # divergence is reported below
            try:  # dynamics.trajectory, stopping where the field is not differentiable
                for t, z in enumerate(dy.iterates(method, game, np.asarray(z0, dtype=float), hh, steps)):
                    tr[t] = z
            except ValueError as e:
                stopped = str(e)
        finite = np.isfinite(tr).all(axis=1)
        at = None if finite.all() else int(np.argmin(finite))
        out.append({"title": f"{name}: {label}", "variant": name, "method": label, "traj": tr,
                    "dist": float(np.hypot(*tr[finite][-1])), "diverged_at": None if stopped else at,
                    "stopped_at": at if stopped else None, "stopped": stopped})
    return out


def vector_fields(lim: float = 2.0, n: int = 21, gamma: float = 0.3, sigma: float = 1.0,
                  variants: dict | None = None) -> dict:
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
            try:
                V[i] = -np.asarray(game.field_traced(z))
            except ValueError:  # not differentiable here (WGAN-GP's |psi| at psi = 0)
                pass
        fields[name] = (V[:, 0].reshape(T.shape), V[:, 1].reshape(T.shape))
    return {"theta": T, "psi": P, "fields": fields}


def spectra(gamma: float = 0.3, sigma: float = 1.0) -> dict:
    """Eigenvalues of ``J`` at the equilibrium of each Dirac-GAN variant and at the
    textbook points."""
    out = loss_spectra(dirac_variants(gamma, sigma))[0]
    return out | {game.name: np.linalg.eigvals(game.jacobian(z)) for _, game, z in textbook_points()
                  if not game.name.startswith("Dirac")}


def _dirac(consensus=None, **kw) -> games.Game:
    """:func:`gandyn.games.dirac_gan` with ``kw``, or the consensus game of weight ``consensus`` on it."""
    return games.dirac_gan(**kw) if consensus is None else games.consensus_game(games.dirac_gan(**kw), consensus)


def step_map(weights=None, hs=None) -> dict:
    """For R1, consensus and instance noise on the Dirac-GAN: the spectrum of
    ``J`` by autograd at each weight, the largest stable step (numerical and
    closed form), and the spectral radius ``max |1 - h lambda|`` of one
    simultaneous GD step on a ``(weight, h)`` grid."""
    weights = np.linspace(0.0, 3.0, 61) if weights is None else np.asarray(weights, dtype=float)
    hs = np.linspace(0.01, 4.0, 200) if hs is None else np.asarray(hs, dtype=float)
    out = {"weights": weights, "hs": hs}
    for kind, key in (("r1", "r1"), ("consensus", "consensus"), ("noise", "noise_std")):
        lams = np.array([np.linalg.eigvals(_dirac(**{key: w}).jacobian(np.zeros(2))) for w in weights])
        closed = [cf.dirac_eigenvalues(**{key: w}) for w in weights]
        out[kind] = {"h_max": np.array([nash.largest_stable_step(l) for l in lams]), "eigs": lams,
                     "h_max_closed": np.array([nash.largest_stable_step(l) for l in closed]),
                     "rho": np.abs(1.0 - hs[None, :, None] * lams[:, None, :]).max(axis=-1)}  # (weights, hs)
    return out


def textbook_points() -> list[tuple[str, games.Game, np.ndarray]]:
    """``(point name, game, z)`` for every built-in game's named points."""
    gs = [*dirac_variants().values(), games.bilinear(), games.stable_not_nash(), games.nash_saddle(),
          games.general_sum_nash_unstable(), games.gaussian_gan(), games.gaussian_gan(r1=1.0)]
    return [(name, g, z) for g in gs for name, z in g.points.items()]


def _block_summary(game, z, label):
    hg, hd = game.blocks(z)
    eg, ed = np.linalg.eigvalsh(0.5 * (hg + hg.T)), np.linalg.eigvalsh(0.5 * (hd + hd.T))
    return {"label": label, "eig_g": eg, "eig_d": ed, "omega_norm": float(np.linalg.norm(game.field_traced(z))),
            "norm_g": float(np.abs(eg).max()), "norm_d": float(np.abs(ed).max())}


def talk_claim(seed: int = 0, steps: int = 3000, nodes: int = 48, progress: bool = False) -> dict:
    """The talk's claim, computed: at a GAN equilibrium the generator's own
    Hessian block vanishes.

    1. Dirac-GAN at ``(0, 0)``: ``H_GG = 0`` exactly.
    2. Gaussian GAN (affine G) at ``(mean, std, 0)``: ``H_GG = 0`` exactly.
    3. A 1-D MLP GAN (G 1-8-1 tanh, D 1-16-1 tanh, normal latent, non-saturating
       loss) trained with the engine (Adam 2e-3, b1 = 0.5, batch 256) on
       ``N(4, 0.5^2)``, evaluated on Gauss-Hermite quadrature (``nodes`` points).
    4. The exact equilibrium of the same architecture: data = the trained
       generator's own distribution (same quadrature), D's last layer zeroed so
       ``D = 1/2`` everywhere: ``omega = 0`` and ``H_GG = 0`` exactly.
    """
    gg = games.gaussian_gan()
    out = {"dirac": _block_summary(games.dirac_gan(), np.zeros(2), "Dirac-GAN at (0, 0)"),
           "gaussian": _block_summary(gg, gg.points["equilibrium"], "Gaussian GAN at (mean, std, 0)")}
    s = streams(seed)
    gan = GAN(MLP((1, 8, 1), ("tanh", "identity")), MLP((1, 16, 1), ("tanh", "identity")), loss="nonsat",
              latent="normal")
    batches = StreamBatches(lambda rng, m: rng.normal(4.0, 0.5, size=(m, 1)), gan.latent, s["data"], s["latent"])
    run = Trainer(gan, optim.adam(2e-3, b1=0.5), optim.adam(2e-3, b1=0.5), gan.G.init(s["g_init"]),
                  gan.D.init(s["d_init"]), batches, batch=256)
    t0 = time.perf_counter()
    for _ in tqdm(range(steps), desc="train 1-D MLP GAN", disable=not progress, leave=False):
        run.step()
    train_s = time.perf_counter() - t0
    zq, wq = games.normal_quadrature(nodes)
    xq, wx = games.normal_quadrature(nodes, 4.0, 0.5)
    game = games.mlp_gan_game(gan, xq, zq, w_real=wx, w_latent=wq, name="1-D MLP GAN, trained")
    z = np.concatenate([run.theta_g, run.theta_d])
    samples = gan.G(run.theta_g, zq)[:, 0]
    out["trained"] = _block_summary(game, z, f"trained 1-D MLP GAN ({steps} Adam steps)") | {
        "verdict": nash.classify(game, z, point=f"after {steps} steps"), "train_seconds": train_s,
        "d_on_support": gan.d_prob(run.theta_d, np.linspace(2.5, 5.5, 7)[:, None]),
        "g_mean": float(wq @ samples), "g_std": float(np.sqrt(wq @ (samples - wq @ samples) ** 2))}

    exact, z_star = games.realizable_equilibrium(gan, run.theta_g, run.theta_d, zq, w_latent=wq,
                                                 name="1-D MLP GAN, realizable")
    out["exact"] = _block_summary(exact, z_star, "MLP GAN exact equilibrium (D = 1/2)") | {
        "verdict": nash.classify(exact, z_star, point="p_g = p_data, D = 1/2")}
    return out


def large_game(hidden: int = 64, batch: int = 64, k: int = 4, maxiter: int = 100, seed: int = 0) -> dict:
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
    return {"verdict": verdict, "n": game.n, "seconds_matvec": t1 - t0, "seconds_classify": time.perf_counter() - t1}


def closed_form_checks(seed: int = 0) -> list[dict]:
    """Every closed form of the games documentation (:mod:`gandyn.games.closed_forms` and the
    built-in games' docstrings) against gandyn's computation. Each row: ``name``, ``source``,
    ``error`` (max abs), ``cases``. [M18]'s eigenvalues are of ``v' = -J``; the row names quote
    them in that sign, the library's forms are ``J``'s."""
    rows = []

    def add(name, source, errs):
        rows.append({"name": name, "source": source, "error": float(max(errs)), "cases": len(errs)})

    def eig_err(game, closed, z=np.zeros(2)):
        return cf.spectrum_distance(np.linalg.eigvals(game.jacobian(z)), closed)

    def dirac_err(**kw):  # the Dirac-GAN with kw (_dirac) against cf.dirac_eigenvalues(**kw)
        return eig_err(_dirac(**kw), cf.dirac_eigenvalues(**kw))

    z0 = np.zeros(2)
    d = games.dirac_gan()
    add("Dirac-GAN: eig J(0,0) = +-i c, c = f'(0) = 1/2", "M18 Lemma 2.2", [dirac_err()])
    hg, hd = d.blocks(z0)
    add("Dirac-GAN: own Hessian blocks H_GG = H_DD = 0", "M18 Sec. 2.2", [abs(hg).max(), abs(hd).max()])
    add("Dirac-GAN: det J(0,0) = c^2", "M18 Lemma 2.2", [abs(np.linalg.det(d.jacobian(z0)) - C * C)])
    rng = np.random.default_rng(seed)
    errs = []
    for _ in range(50):
        z, h = rng.uniform(-3, 3, 2), rng.uniform(0.01, 1.0)
        z1 = dy.simgd().step(d, z, h)
        errs.append(abs((z1 @ z1) / (z @ z) - cf.dirac_simgd_growth(z, h)))
    add("Dirac-GAN SimGD: |z'|^2 = (1 + h^2 f'(psi theta)^2) |z|^2", "M18 Lemma 2.3", errs)

    errs_det, errs_eig, errs_mod = [], [], []
    for (ng, nd), h, first in product([(1, 1), (1, 5), (3, 2)], (0.1, 0.5, 1.0, 1.5), (True, False)):
        alpha = ng * nd * h * h * C * C
        M = dy.step_matrix(dy.altgd(k_d=nd, k_g=ng, d_first=first), d, z0, h)
        lam = np.linalg.eigvals(M)
        errs_det.append(abs(np.linalg.det(M) - 1.0))
        errs_eig.append(cf.spectrum_distance(lam, cf.altgd_eigenvalues(alpha)))
        if alpha < 4 - 1e-3:
            errs_mod.append(abs(np.abs(lam).max() - 1.0))
    add("Dirac-GAN AltGD: det of the step = 1", "M18 Lemma 2.4", errs_det)
    add("Dirac-GAN AltGD: eig = 1 - a/2 +- sqrt((1 - a/2)^2 - 1), a = n_g n_d h^2 c^2", "M18 Lemma 2.4", errs_eig)
    add("Dirac-GAN AltGD: |eig| = 1 (cycles) for a <= 4", "M18 Lemma 2.4", errs_mod)

    for kind in ("r1", "r2"):
        add(f"Dirac-GAN {kind.upper()}: eig v' = -gamma/2 +- sqrt(gamma^2/4 - c^2)", "M18 Sec. 3-4 (gradient penalties)",
            [dirac_err(**{kind: g}) for g in (0.1, 0.3, 0.7, 1.0, 2.5)])
    add("Dirac-GAN consensus: eig v' = -gamma c^2 +- i c", "M18 Sec. 3 (consensus), M17",
        [dirac_err(consensus=g) for g in (0.1, 0.3, 1.0, 3.0)])
    add("Dirac-GAN instance noise: eig v' = f''(0) s^2 +- sqrt(f''(0)^2 s^4 - c^2)", "M18 Sec. 3 (instance noise)",
        [dirac_err(noise_std=s) for s in (0.3, 1.0, 1.5, 2.5)])

    # --- other losses and penalties on the Dirac-GAN (gandyn's J = -v' of [M18])
    add("Dirac-GAN WGAN: eig J(0,0) = +-i f'(0) = +-i, f(t) = t", "M18 Sec. 3.1 (WGAN)", [dirac_err(loss="wgan")])
    made = [L.get(n) for n in L.LOSSES.names()] + [L.get("ls", a=-1, b=1, c=0), L.get("ls", a=-1, b=1, c=1),
                                                   L.get("nonsat", label_smooth=0.2)]
    add(f"Dirac-GAN, every loss ({len(made)}): eig J(0,0) = +-sqrt(dL_G/do_f dL_D/do_f at 0)",
        "derived (M18 Sec. 2.2 with the loss's gradients; g_fake'(0) d_fake'(0) for a separable loss)",
        [dirac_err(loss=loss) for loss in made])
    errs = []
    for a, b_, c_ in [(0.0, 1.0, 1.0), (-1.0, 1.0, 0.0), (-1.0, 1.0, 1.0), (0.5, 2.0, -1.0)]:
        loss = L.get("ls", a=a, b=b_, c=c_)
        game = games.dirac_gan(loss)
        errs += [abs(game.jacobian(z0) - cf.dirac_jacobian(loss)).max(), eig_err(game, cf.dirac_eigenvalues(loss))]
    add("Dirac-GAN LSGAN(a,b,c): J(0,0) = [[0, c], [a, 0]], eig +-sqrt(a c) (0, 0 for Mao's (0,1,1), (-1,1,0))",
        "derived (M18 Sec. 2.2; Mao et al. 2017, eq. 2)", errs)
    errs = []
    for g, g0 in product((0.3, 1.0, 2.5), (0.3, 1.0)):
        game = games.dirac_gan("wgan", gp=g / 2, gp_target=g0)  # M18's gamma/2 (...)^2: gp = gamma/2
        errs += [eig_err(game, cf.dirac_eigenvalues("wgan", gp=g / 2), np.array(zz))
                 for zz in ([0.0, 0.4], [0.7, -0.2], [-1.0, 1.5])]
        jump = game.field_traced(np.array([0.0, 1e-13]))[1] - game.field_traced(np.array([0.0, -1e-13]))[1]
        errs.append(abs(jump + 2 * g * g0))
    add("Dirac-GAN WGAN-GP: one-sided eig v' = -gamma/2 +- sqrt(gamma^2/4 - 1) (psi != 0); "
        "omega_D jumps by -2 gamma g0 at psi = 0 (no Jacobian at the equilibrium)",
        "M18 Sec. 3.2 (WGAN-GP; DiracGAN notebook's field)", errs)
    add("Dirac-GAN R1/R2, other losses: eig v' = -gamma/2 +- sqrt(gamma^2/4 + g'(0) d'(0)) "
        "(WGAN: -gamma/2 +- sqrt(gamma^2/4 - 1))", "M18 Sec. 4.1 (penalties), derived for each loss",
        [dirac_err(loss=loss, **{kind: g}) for loss in ("wgan", "hinge", "js", "ls", "pearson") for kind in ("r1", "r2")
         for g in (0.3, 1.0, 2.5)])

    b = games.bilinear()

    def radius_err(method, name, h, w=1.0):
        return abs(dy.spectral_radius(dy.step_matrix(method, b, z0, h)) - cf.bilinear_radius(name, h, w))

    for label, name in (("simultaneous", "simgd"), ("alternating", "altgd"), ("extragradient", "extragradient"),
                        ("optimistic", "optimistic")):
        etas = (0.05, 0.2, 0.35, 0.49) if name == "optimistic" else (0.05, 0.3, 0.9, 1.5, 1.9)
        add(f"bilinear x*y, {label}: spectral radius", "derived (docs/games.md); Daskalakis et al. 2018; Korpelevich 1976",
            [radius_err(getattr(dy, name)(), name, e) for e in etas])
    add("bilinear, two time-scale SimGD: radius sqrt(1 + h_G h_D)", "derived (docs/games.md)",
        [radius_err(dy.simgd(), "simgd", hh) for hh in [(0.1, 0.3), (0.5, 0.05)]])
    for label, name in (("consensus: radius sqrt((1 - h gamma)^2 + h^2)", "consensus"),
                        ("SGA: radius sqrt((1 - h lambda)^2 + h^2)", "sga")):
        add(f"bilinear, {label}", "derived (docs/games.md)",
            [radius_err(getattr(dy, name)(w), name, e, w) for e, w in [(0.1, 1.0), (0.3, 0.5)]])

    Js = games.stable_not_nash().jacobian(z0)
    add("stable-not-Nash: J = [[-1, 2], [-2, 3]], eig {1, 1}", "derived (docs/games.md)",
        [abs(Js - np.array([[-1.0, 2], [-2, 3]])).max(), cf.spectrum_distance(np.linalg.eigvals(Js), [1, 1])])
    lam = np.linalg.eigvals(games.nash_saddle().jacobian(z0))
    add("Nash saddle: eig 1 +- 2i, h_max = 2/5", "derived (docs/games.md)",
        [cf.spectrum_distance(lam, [1 + 2j, 1 - 2j]), abs(nash.largest_stable_step(lam) - 0.4)])
    errs = []
    for mean, std in [(1.0, 0.5), (-2.0, 1.5), (0.0, 1.0)]:
        g = games.gaussian_gan(mean, std)
        ze = g.points["equilibrium"]
        errs += [abs(g.jacobian(ze) - games.gaussian_gan_jacobian(mean, std)).max(),
                 float(np.abs(g.field_traced(ze)).max())]
    add("Gaussian GAN (affine G): omega = 0 and J = [[0, B], [-B^T, M/2]]", "derived (docs/games.md)", errs)
    return rows


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
