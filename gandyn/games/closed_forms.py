"""Closed forms of the built-in games: the Dirac-GAN's spectrum at its equilibrium for every
loss and regulariser, its step maps under simultaneous and alternating gradient descent, and
the spectral radius of every method's step on the bilinear game.

Every form is in gandyn's sign: eigenvalues of the game Jacobian ``J = D omega`` of the field
each player descends (:mod:`gandyn.games.game`). Mescheder, Geiger & Nowozin [1] state the
eigenvalues of ``v' = -J``; each of their forms is negated here, so a stable equilibrium has
eigenvalues with positive real part, and :func:`gandyn.games.nash.largest_stable_step` of
:func:`dirac_eigenvalues` is the largest stable step of simultaneous gradient descent.
:func:`verify` compares every form with autograd's (``gandyn nash`` writes its table as
``closed_forms.csv``).

References
----------
[1] Mescheder, Geiger & Nowozin, "Which training methods for GANs do actually converge?",
    ICML 2018.

[2] Mescheder, Nowozin & Geiger, "The numerics of GANs", NIPS 2017.
[3] Daskalakis, Ilyas, Syrgkanis & Zeng, "Training GANs with optimism", ICLR 2018.
[4] Korpelevich, "The extragradient method for finding saddle points and other problems", 1976.
"""
from __future__ import annotations

from itertools import product

import numpy as np
from scipy.special import expit

from gandyn.engine import losses
from gandyn.games import dynamics as dy, game as games, nash
from gandyn.games.game import C_DIRAC, F2_DIRAC

__all__ = ["dirac_slopes", "dirac_jacobian", "dirac_eigenvalues", "dirac_simgd_growth", "altgd_eigenvalues",
           "bilinear_radius", "spectrum_distance", "verify"]


def _pm(a, disc) -> np.ndarray:
    """The two roots ``a +- sqrt(disc)`` (complex square root)."""
    root = np.sqrt(complex(disc))
    return np.array([a + root, a - root])


def _check_weights(**weights) -> None:
    for name, v in weights.items():
        if not (np.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {v}")


def dirac_slopes(loss="minimax") -> tuple[float, float]:
    """``(a, b) = (dL_G/do_fake, dL_D/do_fake)`` at ``o_real = o_fake = 0`` (one output each):
    the two numbers the Dirac-GAN's Jacobian at its equilibrium depends on (:func:`dirac_jacobian`).

    For a separable loss these are ``g_fake'(0)`` and ``d_fake'(0)``; the cross-entropy losses
    have ``(-1/2, 1/2)`` (``c = f'(0) = 1/2`` of [1, Sec. 2.2]), WGAN and hinge ``(-1, 1)``.

    Raises
    ------
    ValueError
        An unknown loss.
    """
    L = losses.get(loss)
    zero = np.zeros(1)
    return float(L.g_loss(zero, zero)[2][0]), float(L.d_loss(zero, zero)[2][0])


def dirac_jacobian(loss="minimax", r1: float = 0.0, r2: float = 0.0) -> np.ndarray:
    """``J(0, 0)`` of :func:`gandyn.games.dirac_gan` ``(loss, r1=r1, r2=r2)``, shape ``(2, 2)``:

        J(0, 0) = [[0, -a], [-b, gamma]],   (a, b) = dirac_slopes(loss),  gamma = r1 + r2.

    Derived as [1, Sec. 2.2] with the loss's gradients: data ``delta_0`` gives ``o_real = 0``
    whatever ``psi``, ``o_fake = -psi theta``, so ``f_G = L_G(0, -psi theta)`` and
    ``f_D = L_D(0, -psi theta) + gamma/2 psi^2`` (on the Dirac-GAN ``||grad_x o|| = |psi|`` on
    data and samples alike, so R1 and R2 are the same penalty). Holds for a coupled loss too.
    For LSGAN ``(a, b, c)`` it is ``[[0, c], [a, 0]]`` (Mao et al. 2017, eq. 2).

    Raises
    ------
    ValueError
        An unknown loss, or a negative or non-finite weight.
    """
    _check_weights(r1=r1, r2=r2)
    a, b = dirac_slopes(loss)
    return np.array([[0.0, -a], [-b, r1 + r2]])


def dirac_eigenvalues(loss="minimax", *, r1: float = 0.0, r2: float = 0.0, gp: float = 0.0,
                      noise_std: float = 0.0, consensus: float = 0.0) -> np.ndarray:
    """The eigenvalues ``(2,)`` complex of ``J`` at the Dirac-GAN's equilibrium
    (:func:`gandyn.games.dirac_gan` with these options, or its
    :func:`~gandyn.games.consensus_game` of weight ``consensus``), in closed form:

    - R1/R2 (``gamma = r1 + r2``, any loss; ``gamma = 0`` without):
      ``lambda = gamma/2 +- sqrt(gamma^2/4 + a b)`` from :func:`dirac_jacobian` (cross-entropy:
      ``a b = -c^2``, [1, Sec. 3-4]; WGAN ``+-i`` without a penalty, [1, Sec. 3.1]);
    - WGAN-GP of weight ``gp`` (``loss = 'wgan'`` only): ``gp (|psi| - g0)^2`` has curvature
      ``gamma = 2 gp`` at every ``psi != 0``, so the same form holds one-sidedly there (at
      ``psi = 0`` there is no Jacobian; [1, Sec. 3.2]);
    - instance noise of std ``sigma`` (the cross-entropy losses only):
      ``lambda = -f''(0) sigma^2 +- sqrt(f''(0)^2 sigma^4 - c^2)``, ``f''(0) = -1/4`` [1, Sec. 3];
    - consensus of weight ``gamma`` (the cross-entropy losses only):
      ``lambda = gamma c^2 +- i c`` [1, Sec. 3; 2, Sec. 4].

    With :func:`gandyn.games.nash.largest_stable_step` these give the largest stable step of
    simultaneous gradient descent: for R1 ``gamma/c^2`` while ``gamma < 2c``, then
    ``2/lambda_+``; for consensus at most 2 (at ``gamma = 1/c``).

    Raises
    ------
    ValueError
        An unknown loss; a negative option; more than one kind of regulariser (penalties,
        noise, consensus); GP with a loss other than WGAN, noise or consensus with a loss
        other than the cross-entropy ones (no closed form here).
    """
    _check_weights(r1=r1, r2=r2, gp=gp, noise_std=noise_std, consensus=consensus)
    if sum(bool(v) for v in (r1 or r2 or gp, noise_std, consensus)) > 1:
        raise ValueError("no closed form here for a penalty, instance noise and consensus combined")
    L = losses.get(loss)
    if gp and L.name != "wgan":
        raise ValueError(f"the GP closed form is WGAN's (its Jacobian is constant off psi = 0), not {L.label!r}'s")
    if (noise_std or consensus) and not (L.name in ("minimax", "nonsat") and not L.params):
        raise ValueError("the instance-noise and consensus closed forms are the cross-entropy losses', "
                         f"not {L.label!r}'s")
    c = C_DIRAC
    if noise_std:
        s = noise_std
        return _pm(-F2_DIRAC * s * s, F2_DIRAC * F2_DIRAC * s ** 4 - c * c)
    if consensus:
        g = consensus
        return np.array([g * c * c + 1j * c, g * c * c - 1j * c])
    a, b = dirac_slopes(L)
    gamma = r1 + r2 + 2 * gp
    return _pm(gamma / 2, gamma * gamma / 4 + a * b)


def dirac_simgd_growth(z, h: float) -> float:
    """``|z'|^2 / |z|^2 = 1 + h^2 f'(psi theta)^2`` for one simultaneous gradient step
    ``z' = z - h omega(z)`` on the (cross-entropy) Dirac-GAN from ``z = (theta, psi)``, with
    ``f'(t) = sigma(-t)``: every step moves away from the equilibrium [1, Lemma 2.3]."""
    theta, psi = np.asarray(z, dtype=float)
    return 1 + h * h * expit(-theta * psi) ** 2


def altgd_eigenvalues(a: float) -> np.ndarray:
    """The eigenvalues ``(2,)`` of one step of alternating gradient descent (``n_g`` generator
    and ``n_d`` discriminator steps of size ``h``, either order) at a bilinear equilibrium
    with ``J = [[0, c], [-c, 0]]`` (the Dirac-GAN, the bilinear game with ``c = 1``):

        lambda = 1 - a/2 +- sqrt((1 - a/2)^2 - 1),   a = n_g n_d h^2 c^2;

    their product (the step's determinant) is 1, so for ``a <= 4`` both have modulus 1: the
    iterates circle the equilibrium [1, Lemma 2.4]."""
    b = 1 - a / 2
    return _pm(b, b * b - 1)


def bilinear_radius(method: str, h, weight: float = 1.0) -> float:
    """The spectral radius of one step of ``method`` (a name of :mod:`gandyn.games.dynamics`)
    with step ``h`` on :func:`gandyn.games.bilinear` (``J = [[0, 1], [-1, 0]]``), derived in
    the games documentation:

    - ``simgd``: ``sqrt(1 + h_G h_D)`` (``h`` a number or a pair ``(h_G, h_D)``);
    - ``altgd``: 1 for ``h <= 2`` ([1, Lemma 2.4]);
    - ``extragradient``: ``sqrt(1 - h^2 + h^4)`` [4];
    - ``optimistic``: ``sqrt((1 + sqrt(1 - 4 h^2))/2)`` for ``h <= 1/2`` [3];
    - ``consensus`` (weight ``gamma``) and ``sga`` (``lambda``): ``sqrt((1 - h w)^2 + h^2)``
      with ``w = weight``.

    Raises
    ------
    ValueError
        An unknown method, a pair of steps for a method other than ``simgd``, or ``h`` outside
        the range where the form holds.
    """
    if method != "simgd" and np.ndim(h):
        raise ValueError(f"a pair of step sizes has a closed form here for simgd only, not {method!r}")
    if method == "simgd":
        hg, hd = (h, h) if np.ndim(h) == 0 else h
        return np.sqrt(1 + hg * hd)
    limit = {"altgd": 2.0, "optimistic": 0.5}.get(method, np.inf)
    if not 0 < h <= limit:
        raise ValueError(f"the {method} closed form needs 0 < h <= {limit:g}, got {h}")
    if method == "altgd":
        return 1.0
    if method == "extragradient":
        return np.sqrt(1 - h * h + h ** 4)
    if method == "optimistic":
        return np.sqrt((1 + np.sqrt(1 - 4 * h * h)) / 2)
    if method in ("consensus", "sga"):
        return np.sqrt((1 - h * weight) ** 2 + h * h)
    raise ValueError(f"no closed form here for method {method!r}; known: simgd, altgd, extragradient, optimistic, "
                     "consensus, sga")


def spectrum_distance(a, b) -> float:
    """The largest ``|a_i - b_pi(i)|`` between two multisets of (complex) numbers of equal size,
    under the pairing ``pi`` of least total distance (:func:`scipy.optimize.linear_sum_assignment`):
    0 iff they are equal, so it compares a computed spectrum with a closed form."""
    from scipy.optimize import linear_sum_assignment

    a, b = np.atleast_1d(np.asarray(a, complex)), np.atleast_1d(np.asarray(b, complex))
    if a.shape != b.shape:
        raise ValueError(f"the multisets must have the same size, got {a.size} and {b.size}")
    cost = np.abs(a[:, None] - b[None, :])
    r, c = linear_sum_assignment(cost)
    return float(cost[r, c].max())


def verify(seed: int = 0) -> list[dict]:
    """Every closed form of this module and of the built-in games' docstrings against gandyn's
    computation (autograd's Jacobians, the dynamics' step matrices; ``gandyn nash`` writes the table
    as ``closed_forms.csv``): the Dirac-GAN [1, Lemmas 2.2-2.4, Sec. 3-4] with every loss,
    regulariser and penalty, the bilinear game under every method [1, 3, 4], the stable-not-Nash
    game, the Nash saddle and the Gaussian GAN. [1]'s eigenvalues are of ``v' = -J``; the row
    names quote them in that sign, the forms here are ``J``'s.

    Returns
    -------
    list of dict
        One row per closed form: ``name``, ``source``, ``error`` (the largest absolute
        difference over its cases; all below 1e-10 in float64) and ``cases``. ``seed`` draws
        the random points of the SimGD growth check.
    """
    rows = []

    def add(name, source, errs):
        rows.append({"name": name, "source": source, "error": float(max(errs)), "cases": len(errs)})

    def eig_err(game, closed, z=np.zeros(2)):
        return spectrum_distance(np.linalg.eigvals(game.jacobian(z)), closed)

    def dirac_err(consensus=0.0, **kw):  # the Dirac-GAN with kw (or its consensus game) against dirac_eigenvalues
        g = games.consensus_game(games.dirac_gan(**kw), consensus) if consensus else games.dirac_gan(**kw)
        return eig_err(g, dirac_eigenvalues(consensus=consensus, **kw))

    z0 = np.zeros(2)
    d = games.dirac_gan()
    add("Dirac-GAN: eig J(0,0) = +-i c, c = f'(0) = 1/2", "M18 Lemma 2.2", [dirac_err()])
    hg, hd = d.blocks(z0)
    add("Dirac-GAN: own Hessian blocks H_GG = H_DD = 0", "M18 Sec. 2.2", [abs(hg).max(), abs(hd).max()])
    add("Dirac-GAN: det J(0,0) = c^2", "M18 Lemma 2.2", [abs(np.linalg.det(d.jacobian(z0)) - C_DIRAC * C_DIRAC)])
    rng = np.random.default_rng(seed)
    errs = []
    for _ in range(50):
        z, h = rng.uniform(-3, 3, 2), rng.uniform(0.01, 1.0)
        z1 = dy.simgd().step(d, z, h)
        errs.append(abs((z1 @ z1) / (z @ z) - dirac_simgd_growth(z, h)))
    add("Dirac-GAN SimGD: |z'|^2 = (1 + h^2 f'(psi theta)^2) |z|^2", "M18 Lemma 2.3", errs)

    errs_det, errs_eig, errs_mod = [], [], []
    for (ng, nd), h, first in product([(1, 1), (1, 5), (3, 2)], (0.1, 0.5, 1.0, 1.5), (True, False)):
        alpha = ng * nd * h * h * C_DIRAC * C_DIRAC
        M = dy.step_matrix(dy.altgd(k_d=nd, k_g=ng, d_first=first), d, z0, h)
        lam = np.linalg.eigvals(M)
        errs_det.append(abs(np.linalg.det(M) - 1.0))
        errs_eig.append(spectrum_distance(lam, altgd_eigenvalues(alpha)))
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
    made = [losses.get(n) for n in losses.LOSSES.names()] + [losses.get("ls", a=-1, b=1, c=0),
                                                             losses.get("ls", a=-1, b=1, c=1),
                                                   losses.get("nonsat", label_smooth=0.2)]
    add(f"Dirac-GAN, every loss ({len(made)}): eig J(0,0) = +-sqrt(dL_G/do_f dL_D/do_f at 0)",
        "derived (M18 Sec. 2.2 with the loss's gradients; g_fake'(0) d_fake'(0) for a separable loss)",
        [dirac_err(loss=loss) for loss in made])
    errs = []
    for a, b_, c_ in [(0.0, 1.0, 1.0), (-1.0, 1.0, 0.0), (-1.0, 1.0, 1.0), (0.5, 2.0, -1.0)]:
        loss = losses.get("ls", a=a, b=b_, c=c_)
        game = games.dirac_gan(loss)
        errs += [abs(game.jacobian(z0) - dirac_jacobian(loss)).max(), eig_err(game, dirac_eigenvalues(loss))]
    add("Dirac-GAN LSGAN(a,b,c): J(0,0) = [[0, c], [a, 0]], eig +-sqrt(a c) (0, 0 for Mao's (0,1,1), (-1,1,0))",
        "derived (M18 Sec. 2.2; Mao et al. 2017, eq. 2)", errs)
    errs = []
    for g, g0 in product((0.3, 1.0, 2.5), (0.3, 1.0)):
        game = games.dirac_gan("wgan", gp=g / 2, gp_target=g0)  # M18's gamma/2 (...)^2: gp = gamma/2
        errs += [eig_err(game, dirac_eigenvalues("wgan", gp=g / 2), np.array(zz))
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
        return abs(dy.spectral_radius(dy.step_matrix(method, b, z0, h)) - bilinear_radius(name, h, w))

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
        [abs(Js - np.array([[-1.0, 2], [-2, 3]])).max(), spectrum_distance(np.linalg.eigvals(Js), [1, 1])])
    lam = np.linalg.eigvals(games.nash_saddle().jacobian(z0))
    add("Nash saddle: eig 1 +- 2i, h_max = 2/5", "derived (docs/games.md)",
        [spectrum_distance(lam, [1 + 2j, 1 - 2j]), abs(nash.largest_stable_step(lam) - 0.4)])
    errs = []
    for mean, std in [(1.0, 0.5), (-2.0, 1.5), (0.0, 1.0)]:
        g = games.gaussian_gan(mean, std)
        ze = g.points["equilibrium"]
        errs += [abs(g.jacobian(ze) - games.gaussian_gan_jacobian(mean, std)).max(),
                 float(np.abs(g.field_traced(ze)).max())]
    add("Gaussian GAN (affine G): omega = 0 and J = [[0, B], [-B^T, M/2]]", "derived (docs/games.md)", errs)
    return rows
