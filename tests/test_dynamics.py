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
    double = z0 - 2 * 0.2 * np.asarray(g.field_traced(z0))  # what a zero-initialised memory would give
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


# --- opponent shaping (Letcher et al. 2019, Sec. 3) and the unrolled GAN (Metz et al. 2017)
# On f = x y: xi = A z, A = [[0, 1], [-1, 0]] = H_o, H_o xi = A^2 z = -z, and for a zero-sum
# game grad_D f_G = -xi_D, so chi = (J_DG^T(-xi_D), J_GD^T(-xi_G)) = -z too (derived).


@given(st.floats(0.01, 1.0), st.floats(0.01, 2.0))
def test_bilinear_look_ahead(eta, alpha):
    # xi_0 = xi - alpha H_o xi = (A + alpha I) z: eigenvalues 1 - eta alpha -+ i eta
    assert abs(rho(dy.la(alpha), BIL, eta) - np.hypot(1 - eta * alpha, eta)) < 1e-10


@given(st.floats(0.01, 1.0), st.floats(0.01, 2.0))
def test_bilinear_lola(eta, alpha):
    # xi_LOLA = xi_0 - alpha chi = (A + 2 alpha I) z: eigenvalues 1 - 2 eta alpha -+ i eta
    assert abs(rho(dy.lola(alpha), BIL, eta) - np.hypot(1 - 2 * eta * alpha, eta)) < 1e-10


@given(st.floats(0.01, 1.0), st.floats(0.01, 2.0))
def test_bilinear_sos_is_look_ahead_at_the_fixed_point(eta, alpha):
    # p <= p2 = ||xi||^2 near 0, so p alpha chi is cubic: SOS linearises to LA
    assert abs(rho(dy.sos(alpha), BIL, eta) - np.hypot(1 - eta * alpha, eta)) < 1e-10


@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(0.01, 1.0), st.floats(0.01, 2.0))
def test_bilinear_sos_is_lola_away_from_the_fixed_point(x, y, eta, alpha):
    # <chi, xi_0> = <-z, (A + alpha I) z> = -alpha |z|^2 <= 0 gives <-alpha chi, xi_0> >= 0,
    # p1 = 1; ||xi|| = |z| >= b gives p2 = 1: SOS steps as LOLA
    z = np.array([x, y])
    if np.hypot(x, y) < 0.1:
        z = z + 0.2
    a = dy.sos(alpha).step(BIL, z, eta)
    b = dy.lola(alpha).step(BIL, z, eta)
    assert np.max(np.abs(a - b)) < 1e-12 * max(1.0, np.max(np.abs(b)))


def test_bilinear_sos_scales_the_shaping_near_the_fixed_point():
    # ||xi|| = |z| < b: p = |z|^2, the step is xi_0 - |z|^2 alpha chi = (A + alpha (1 + |z|^2) I) z
    z, eta, alpha = np.array([0.03, -0.04]), 0.1, 0.5
    A = np.array([[0.0, 1.0], [-1.0, 0.0]])
    got = dy.sos(alpha).step(BIL, z, eta)
    np.testing.assert_allclose(got, z - eta * (A @ z + alpha * (1 + z @ z) * z), rtol=0, atol=1e-15)


@given(st.floats(0.01, 0.5), st.integers(1, 6), st.floats(0.01, 0.16))
def test_bilinear_unrolled(eta, k, eta_u):
    # psi_K = y + K eta_u x, G's field y + 2 K eta_u x: M = I - eta [[2 K eta_u, 1], [-1, 0]],
    # trace 2 - 2 K eta eta_u, det 1 - 2 K eta eta_u + eta^2; complex eigenvalues iff K eta_u < 1
    M = dy.step_matrix(dy.unrolled(k, eta_u), BIL, Z0, eta)
    np.testing.assert_allclose(M, [[1 - 2 * k * eta * eta_u, -eta], [eta, 1]], rtol=0, atol=1e-12)
    assert abs(dy.spectral_radius(M) - np.sqrt(1 + eta ** 2 - 2 * k * eta * eta_u)) < 1e-10


@pytest.mark.parametrize("k", [1, 5])
@pytest.mark.parametrize("eta", [0.05, 0.15])
def test_bilinear_unrolled_with_d_step_size(k, eta):
    # eta_u = eta (the default): radius sqrt(1 + eta^2 (1 - 2K)) for K eta < 1; K = 0 is simgd
    assert abs(rho(dy.unrolled(k), BIL, eta) - np.sqrt(1 + eta ** 2 * (1 - 2 * k))) < 1e-10
    assert abs(rho(dy.unrolled(0), BIL, eta) - np.sqrt(1 + eta ** 2)) < 1e-10


def test_bilinear_unrolled_far_ahead_has_real_eigenvalues():
    # K eta_u >= 1: eigenvalues 1 - K eta eta_u +- eta sqrt(K^2 eta_u^2 - 1) (derived)
    eta, k, eta_u = 0.1, 4, 0.5
    lam = 1 - k * eta * eta_u + np.array([1, -1]) * eta * np.sqrt((k * eta_u) ** 2 - 1)
    assert abs(rho(dy.unrolled(k, eta_u), BIL, eta) - np.abs(lam).max()) < 1e-10


@pytest.mark.parametrize("loss", ["minimax", "nonsat"])
def test_dirac_gan_opponent_shaping_and_unrolling(loss):
    """Dirac-GAN, both losses: J(0, 0) = c A, c = f'(0) = 1/2, and the cross gradient
    grad_psi f_G = theta sigma(-+psi theta) linearises to c theta for both (derived), so each
    method's step matrix is its bilinear one with the products scaled by c:
    LA  sqrt((1 - h alpha c^2)^2 + h^2 c^2), LOLA sqrt((1 - 2 h alpha c^2)^2 + h^2 c^2),
    SOS = LA, unrolled sqrt(1 + h^2 c^2 - 2 K h eta_u c^2) for K eta_u c < 1."""
    g, c = games.dirac_gan(loss=loss), games.C_DIRAC
    for h, alpha in ((0.4, 0.7), (1.0, 2.0)):
        assert abs(rho(dy.la(alpha), g, h) - np.hypot(1 - h * alpha * c * c, h * c)) < 1e-10
        assert abs(rho(dy.lola(alpha), g, h) - np.hypot(1 - 2 * h * alpha * c * c, h * c)) < 1e-10
        assert abs(rho(dy.sos(alpha), g, h) - np.hypot(1 - h * alpha * c * c, h * c)) < 1e-10
    for h, k, eta_u in ((0.4, 3, 0.2), (0.2, 5, 0.3)):
        expect = np.sqrt(1 + (h * c) ** 2 - 2 * k * h * eta_u * c * c)
        assert abs(rho(dy.unrolled(k, eta_u), g, h) - expect) < 1e-10


def test_sos_reduces_lola_shaping_that_opposes_look_ahead():
    """The tandem game of Letcher et al. 2019: L_1 = (x + y)^2 - 2x, L_2 = (x + y)^2 - 2y. At
    z = (1, 1) (derived): xi = (2, 2), H_o = [[0, 2], [2, 0]], H_o xi = (4, 4), chi_1 =
    (d xi_2/dx) d_y L_1 = 2 * 4 = 8, chi = (8, 8); xi_0 = (2 - 4 alpha)(1, 1) and
    <-alpha chi, xi_0> = -16 alpha (2 - 4 alpha), so for alpha < 1/2
    p1 = min(1, a ||xi_0||^2 / (16 alpha (2 - 4 alpha))) = min(1, (2 - 4 alpha) / (16 alpha))
    (a = 1/2); ||xi|| > b gives p2 = 1. alpha = 0.2: p = 3/8, SOS's field
    1.2 - 3/8 * 1.6 = 0.6 where LOLA's is 1.2 - 1.6 = -0.4; alpha = 0.05: p = 1, LOLA's
    field 1.8 - 0.4 = 1.4."""
    tandem = games.Game(lambda z: (z[0] + z[1]) ** 2 - 2 * z[0], lambda z: (z[0] + z[1]) ** 2 - 2 * z[1], 1, 1)
    z, h = np.array([1.0, 1.0]), 0.1
    np.testing.assert_allclose(dy.sos(0.2).step(tandem, z, h), z - h * 0.6, rtol=0, atol=1e-15)
    np.testing.assert_allclose(dy.lola(0.2).step(tandem, z, h), z + h * 0.4, rtol=0, atol=1e-15)
    np.testing.assert_allclose(dy.sos(0.05).step(tandem, z, h), z - h * 1.4, rtol=0, atol=1e-15)
    np.testing.assert_allclose(dy.lola(0.05).step(tandem, z, h), z - h * 1.4, rtol=0, atol=1e-15)


def test_shaping_and_unrolling_bad_input():
    for bad in (lambda: dy.lola(opponent_lr=0.0), lambda: dy.la(opponent_lr=-1.0), lambda: dy.sos(a=1.0),
                lambda: dy.sos(b=0.0), lambda: dy.unrolled(-1), lambda: dy.unrolled(1.5),
                lambda: dy.unrolled(2, eta_u=0.0)):
        with pytest.raises(ValueError):
            bad()
    assert {"la", "lola", "sos", "unrolled"} <= set(dy.METHODS.names())


@given(st.floats(0.01, 1.0), st.integers(1, 8), st.floats(0.05, 1.0))
def test_bilinear_lookahead_minmax(eta, k, alpha):
    """Chavdarova et al. 2021: one cycle's step matrix is (1 - alpha) I + alpha M^k; on x*y the
    inner simgd has eigenvalues 1 -+ i eta and extragradient 1 -+ i eta - eta^2 (derived)."""
    for inner, lam in (("simgd", 1 - 1j * eta), ("extragradient", 1 - 1j * eta - eta ** 2)):
        expect = abs(1 - alpha + alpha * lam ** k)
        assert abs(rho(dy.lookahead(inner, k, alpha), BIL, eta) - expect) < 1e-10


def test_dirac_gan_lookahead_minmax():
    """Dirac-GAN: J(0, 0) = c A (c = 1/2), so simgd's eigenvalues are 1 -+ i h c and a
    lookahead cycle's |1 - alpha + alpha (1 - i h c)^k|."""
    g, c = games.dirac_gan(), games.C_DIRAC
    for h, k, alpha in ((0.4, 5, 0.5), (1.0, 3, 0.8), (0.1, 20, 0.3)):
        expect = abs(1 - alpha + alpha * (1 - 1j * h * c) ** k)
        assert abs(rho(dy.lookahead("simgd", k, alpha), g, h) - expect) < 1e-10


def test_lookahead_bad_input():
    for bad in (lambda: dy.lookahead(k_la=0), lambda: dy.lookahead(alpha=0.0), lambda: dy.lookahead(alpha=1.5),
                lambda: dy.lookahead("nope"), lambda: dy.lookahead("lookahead"),
                lambda: dy.lookahead(dy.Method("plain", lambda g, z: z, lambda g, s, h: s))):
        with pytest.raises(ValueError):
            bad()


# --- the gradient-norm regulariser of Nagarajan & Kolter 2017 (Sec. 5): G descends
# L_G + eta ||grad_D L_D||^2, i.e. omega_G + 2 eta J_DG^T omega_D. At an equilibrium
# (omega = 0) its Jacobian is J + 2 eta [[J_DG^T J_DG, J_DG^T J_DD], [0, 0]] (derived: the
# derivative of J_DG^T omega_D is J_DG^T (J_DG, J_DD) where omega_D = 0). Dirac-GAN, both
# losses: J = [[0, c], [-c, 0]] (c = 1/2), so J_NK = [[2 eta c^2, c], [-c, 0]], eigenvalues
# eta c^2 +- i c sqrt(1 - eta^2 c^2) for eta c < 1 (real eta c^2 +- c sqrt(eta^2 c^2 - 1)
# beyond): a positive real part for every eta > 0, where simultaneous GD has +-ic.


def _nk_eigenvalues(eta, c):
    return eta * c * c + np.array([1, -1]) * np.sqrt(complex(eta * eta * c ** 4 - c * c))


def _sorted(lam):
    lam = np.asarray(lam, dtype=complex)
    return lam[np.lexsort((lam.imag, lam.real))]


@pytest.mark.parametrize("loss", ["minimax", "nonsat"])
@pytest.mark.parametrize("eta", [0.1, 0.5, 1.9, 3.0])
def test_dirac_gan_nk_jacobian_eigenvalues(loss, eta):
    g, c = games.dirac_gan(loss=loss), games.C_DIRAC
    h = 0.3
    M = dy.step_matrix(dy.make("nk", gamma=eta), g, Z0, h)  # I - h J_NK, by autograd through the method
    J_nk = (np.eye(2) - M) / h
    np.testing.assert_allclose(J_nk, [[2 * eta * c * c, c], [-c, 0.0]], rtol=0, atol=1e-10)
    lam = _sorted(np.linalg.eigvals(J_nk))
    assert np.max(np.abs(lam - _sorted(_nk_eigenvalues(eta, c)))) < 1e-10
    assert np.max(np.abs(_sorted(np.linalg.eigvals(M)) - _sorted(1 - h * _nk_eigenvalues(eta, c)))) < 1e-10


@given(st.floats(0.01, 1.0), st.floats(0.01, 1.0), st.floats(0.0, 1.9))
def test_dirac_gan_nk_two_time_scales(hg, hd, eta):
    # M = I - diag(h_G, h_D) J_NK = [[1 - 2 h_G eta c^2, -h_G c], [h_D c, 1]]: trace
    # 2 - 2 h_G eta c^2, det 1 - 2 h_G eta c^2 + h_G h_D c^2; for h_G = h_D = h and complex
    # eigenvalues the radius is sqrt(1 - 2 h eta c^2 + h^2 c^2)
    c = games.C_DIRAC
    M = dy.step_matrix(dy.make("nk", gamma=eta), games.dirac_gan(), Z0, (hg, hd))
    tr, det = 2 - 2 * hg * eta * c * c, 1 - 2 * hg * eta * c * c + hg * hd * c * c
    expect = tr / 2 + np.array([1, -1]) * np.sqrt(complex(tr * tr / 4 - det))
    assert np.max(np.abs(_sorted(np.linalg.eigvals(M)) - _sorted(expect))) < 1e-10


@given(st.floats(0.01, 1.0), st.floats(0.01, 0.9))
def test_bilinear_nk(eta, nk_eta):
    # x*y is the Dirac-GAN's linearisation with c = 1: radius sqrt(1 - 2 h eta + h^2) for eta < 1,
    # the unrolled GAN's with K eta_u = eta (same linearisation)
    assert abs(rho(dy.make("nk", gamma=nk_eta), BIL, eta) - np.sqrt(1 - 2 * eta * nk_eta + eta * eta)) < 1e-10


def test_nk_bad_input():
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="gamma"):
            dy.make("nk", gamma=bad)
    with pytest.raises(ValueError, match="takes no|unexpected"):
        dy.make("nk", eta=1.0)


def test_games_run_the_engines_method_objects():
    """One registry: dynamics.make wraps any registered method (here one registered for the
    test) by as_dynamics, and every built-in, those with a memory (optimistic) included."""
    from gandyn.engine.methods import METHODS, Optimistic

    class Half:  # simgd at half the step
        name = "half-simgd"

        def init(self, tr):
            return None

        def step(self, tr, state):
            F = tr.oracle()
            tr.state_d = tr.opt_d.update(tr.theta_d, 0.5 * F.grad_d, tr.state_d)
            tr.state_g = tr.opt_g.update(tr.theta_g, 0.5 * F.grad_g, tr.state_g)
            return F.loss_d, F.loss_g, state

    METHODS.register("half-simgd", Half)
    try:
        assert abs(rho(dy.make("half-simgd"), BIL, 0.4) - np.sqrt(1 + 0.2 ** 2)) < 1e-12
    finally:
        METHODS.unregister("half-simgd")
    # a method with a memory too: the engine's optimistic object, its closed form on x*y
    eta = 0.3
    assert abs(rho(dy.as_dynamics(Optimistic()), BIL, eta) - np.sqrt((1 + np.sqrt(1 - 4 * eta ** 2)) / 2)) < 1e-10


def test_every_games_method_is_the_engines_object():
    """Each update rule is written once: every method of the games, built-ins included, runs the
    engine's method object of the same registered name."""
    for name in dy.METHODS.names():
        m = dy.make(name)
        assert isinstance(m.method, dy.METHODS[name]), name
    assert dy.lookahead("optimistic", 3).method.inner.name == "optimistic"
    assert (dy.altgd(2, 3, False).method.k_d, dy.altgd(2, 3, False).method.k_g) == (2, 3)
