"""Dynamics: every method's one-step spectral radius on the bilinear game x*y
(closed forms from the issue: Daskalakis et al. 2018; Korpelevich 1976) and the
Dirac-GAN lemmas of Mescheder, Geiger & Nowozin 2018 (M18)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from scipy.special import expit

from gandyn.games import dynamics as dy
from gandyn import games

Z0 = np.zeros(2)
BIL = games.bilinear()


def rho(method, game, h):
    return dy.spectral_radius(dy.step_matrix(method, game, Z0, h))


@given(st.floats(0.01, 3.0))
def test_bilinear_simultaneous(eta):
    assert abs(rho(dy.simgd(), BIL, eta) - np.sqrt(1 + eta ** 2)) < 1e-10


@given(st.floats(0.01, 1.95))
def test_bilinear_alternating_is_on_the_unit_circle(eta):
    assert abs(rho(dy.altgd(), BIL, eta) - 1.0) < 1e-10


@given(st.floats(0.01, 2.0))
def test_bilinear_extragradient(eta):
    assert abs(rho(dy.extragradient(), BIL, eta) - np.sqrt(1 - eta ** 2 + eta ** 4)) < 1e-10


@given(st.floats(0.01, 0.499))
def test_bilinear_optimistic(eta):
    expect = np.sqrt((1 + np.sqrt(1 - 4 * eta ** 2)) / 2)
    assert abs(rho(dy.optimistic(), BIL, eta) - expect) < 1e-10


@given(st.floats(0.01, 1.0), st.floats(0.01, 1.0))
def test_bilinear_two_time_scales(hg, hd):
    # I - diag(h) J = [[1, -h_G], [h_D, 1]]: eigenvalues 1 +- i sqrt(h_G h_D)
    assert abs(rho(dy.simgd(), BIL, (hg, hd)) - np.sqrt(1 + hg * hd)) < 1e-10


@given(st.floats(0.01, 1.0), st.floats(0.0, 2.0))
def test_bilinear_consensus(eta, gamma):
    # omega + gamma J^T omega = (J + gamma I) z for J^T J = I: eigenvalues 1 - h gamma -+ i h
    assert abs(rho(dy.consensus(gamma), BIL, eta) - np.hypot(1 - eta * gamma, eta)) < 1e-10


@given(st.floats(0.01, 1.0), st.floats(0.1, 2.0))
def test_bilinear_sga(eta, lam):
    # A = J, A^T xi = z; alignment sign +1 since <xi, J^T xi> = 0 (Balduzzi et al. 2018, Sec. 4)
    assert abs(rho(dy.sga(lam), BIL, eta) - np.hypot(1 - eta * lam, eta)) < 1e-10


def test_optimistic_first_step_uses_current_gradient():
    g = games.dirac_gan()
    z0 = np.array([1.0, 1.0])
    tr_o = dy.trajectory(dy.optimistic(), g, z0, 0.2, 1)
    tr_s = dy.trajectory(dy.simgd(), g, z0, 0.2, 1)
    np.testing.assert_allclose(tr_o[1], tr_s[1], atol=1e-15, rtol=0)
    double = z0 - 2 * 0.2 * np.asarray(g.omega(z0))  # what a zero-initialised memory would give
    assert np.abs(tr_o[1] - double).max() > 0.04  # h |omega| = 0.054


@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(0.01, 1.0))
def test_dirac_simgd_norm_growth(theta, psi, h):
    # M18 Lemma 2.3: |z_{k+1}|^2 = (1 + h^2 f'(theta psi)^2) |z_k|^2, f'(t) = sigma(-t)
    z = np.array([theta, psi])
    z1 = dy.simgd().step(games.dirac_gan(), z, h)
    assert abs(z1 @ z1 - (1 + h * h * expit(-theta * psi) ** 2) * (z @ z)) < 1e-10 * max(1.0, z @ z)


@pytest.mark.parametrize("ng,nd", [(1, 1), (1, 5), (3, 2)])
@pytest.mark.parametrize("d_first", [True, False])
def test_dirac_altgd_determinant_and_cycles(ng, nd, d_first):
    # M18 Lemma 2.4: det 1; eigenvalues on the unit circle iff alpha = n_g n_d h^2 c^2 <= 4
    g, c = games.dirac_gan(), games.C_DIRAC
    for h in (0.1, 0.5, 1.0, 1.5, 2.5):
        M = dy.step_matrix(dy.altgd(k_d=nd, k_g=ng, d_first=d_first), g, Z0, h)
        alpha = ng * nd * h * h * c * c
        assert abs(np.linalg.det(M) - 1.0) < 1e-10
        assert abs(np.trace(M) - (2 - alpha)) < 1e-10
        r = dy.spectral_radius(M)
        if alpha < 4 - 1e-3:
            assert abs(r - 1.0) < 1e-10
        else:
            assert r > 1.0


def test_regularisers_make_dirac_gan_converge():
    z0 = np.array([1.0, 1.0])
    plain = dy.trajectory(dy.simgd(), games.dirac_gan(), z0, 0.2, 300)
    assert np.linalg.norm(plain[-1]) > np.linalg.norm(z0)  # M18 Lemma 2.3: spirals out
    for g in (games.dirac_gan(r1=0.3), games.dirac_gan(noise_std=1.0), games.consensus_game(games.dirac_gan(), 1.0)):
        tr = dy.trajectory(dy.simgd(), g, z0, 0.2, 300)
        assert np.linalg.norm(tr[-1]) < 1e-2


def test_trajectory_stops_on_overflow():
    tr = dy.trajectory(dy.simgd(), games.nash_saddle(a=1.0, b=2.0), [1.0, 1.0], 50.0, 400)
    assert np.isnan(tr[-1]).all() and np.isfinite(tr[1]).all()


def test_bad_input():
    with pytest.raises(ValueError, match="h must be > 0"):
        dy.trajectory(dy.simgd(), BIL, Z0, 0.0, 3)
    with pytest.raises(ValueError, match="k_d"):
        dy.altgd(k_d=0)
    with pytest.raises(ValueError, match="unknown method"):
        dy.make("adam")
    assert dy.make("altgd", k_d=2).name.startswith("alternating")


@pytest.mark.parametrize("h", [0.1, 0.5, 2.0])
def test_cgd_on_the_bilinear_game_converges_for_every_step(h):
    """CGD on f = x y (Schafer & Anandkumar 2019): dx = -h (y + h x)/(1 + h^2),
    dy = -h (h y - x)/(1 + h^2), a step matrix with eigenvalues (1 +- i h)/(1 + h^2):
    spectral radius 1/sqrt(1 + h^2) < 1 (derived; their Sec. 3, bilinear example)."""
    M = dy.step_matrix(dy.cgd(), games.bilinear(), np.zeros(2), h)
    assert abs(dy.spectral_radius(M) - 1 / np.sqrt(1 + h * h)) < 1e-10


def test_cgd_on_the_dirac_gan():
    """Dirac-GAN (minimax): J(0, 0) = [[0, c], [-c, 0]], c = 1/2, so CGD's step matrix at the
    equilibrium is that of c x y: radius 1/sqrt(1 + (h c)^2) (derived)."""
    h = 0.8
    M = dy.step_matrix(dy.cgd(), games.dirac_gan(), np.zeros(2), h)
    assert abs(dy.spectral_radius(M) - 1 / np.sqrt(1 + (0.5 * h) ** 2)) < 1e-10
