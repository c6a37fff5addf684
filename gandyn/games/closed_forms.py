"""Closed forms of the built-in games: the Dirac-GAN's spectrum at its equilibrium for every
loss and regulariser, its step maps under simultaneous and alternating gradient descent, and
the spectral radius of every method's step on the bilinear game.

Every form is in gandyn's sign: eigenvalues of the game Jacobian ``J = D omega`` of the field
each player descends (:mod:`gandyn.games.game`). Mescheder, Geiger & Nowozin [1] state the
eigenvalues of ``v' = -J``; each of their forms is negated here, so a stable equilibrium has
eigenvalues with positive real part, and :func:`gandyn.games.nash.largest_stable_step` of
:func:`dirac_eigenvalues` is the largest stable step of simultaneous gradient descent.
``gandyn nash`` compares every form with autograd's (``closed_forms.csv``).

References
----------
[1] Mescheder, Geiger & Nowozin, "Which training methods for GANs do actually converge?",
    ICML 2018.

[2] Mescheder, Nowozin & Geiger, "The numerics of GANs", NIPS 2017.
[3] Daskalakis, Ilyas, Syrgkanis & Zeng, "Training GANs with optimism", ICLR 2018.
[4] Korpelevich, "The extragradient method for finding saddle points and other problems", 1976.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit

from gandyn.engine import losses
from gandyn.games.game import C_DIRAC, F2_DIRAC

__all__ = ["dirac_slopes", "dirac_jacobian", "dirac_eigenvalues", "dirac_simgd_growth", "altgd_eigenvalues",
           "bilinear_radius", "spectrum_distance"]


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
