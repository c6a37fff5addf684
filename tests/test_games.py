"""Games: the game form and Jacobian against closed forms (sources in each test),
central finite differences, and matrix-free products on an MLP GAN."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.special import expit

from gandyn import games
from gandyn.engine.gan import GAN
from gandyn.engine.nn import MLP
from gandyn.games.traced import mlp_forward

C, F2 = games.C_DIRAC, games.F2_DIRAC
Z0 = np.zeros(2)


def _same_set(a, b, tol=1e-10):
    a, b = np.sort_complex(np.round(np.asarray(a, complex), 12)), np.sort_complex(np.asarray(b, complex))
    np.testing.assert_allclose(a, np.sort_complex(np.round(b, 12)), atol=tol, rtol=0)


def test_dirac_jacobian_at_equilibrium():
    # Mescheder, Geiger & Nowozin 2018, Lemma 2.2: eigenvalues +-f'(0) i, f'(0) = 1/2
    g = games.dirac_gan()
    J = g.jacobian(Z0)
    np.testing.assert_allclose(J, [[0, C], [-C, 0]], atol=1e-15)
    _same_set(np.linalg.eigvals(J), [1j * C, -1j * C])
    hg, hd = g.blocks(Z0)
    assert abs(hg).max() == 0 and abs(hd).max() == 0  # not differential Nash
    assert abs(np.linalg.det(J) - C * C) < 1e-12  # non-degenerate


@given(st.floats(-3, 3), st.floats(-3, 3))
def test_dirac_value_and_field_match_the_paper(theta, psi):
    # L = f(psi theta) + f(0), v = (-psi f'(psi theta), theta f'(psi theta)) = -omega  [M18, Sec. 2.2]
    g = games.dirac_gan()
    z = np.array([theta, psi])
    f = lambda t: -np.logaddexp(0.0, -t)
    assert abs(g.value(z) - (f(psi * theta) + f(0.0))) < 1e-12
    fp = expit(-psi * theta)
    np.testing.assert_allclose(g.field_traced(z), [psi * fp, -theta * fp], atol=1e-12)


@pytest.mark.parametrize("gamma", [0.1, 0.3, 1.0, 2.5])
@pytest.mark.parametrize("kind", ["r1", "r2"])
def test_dirac_gradient_penalty_eigenvalues(kind, gamma):
    # M18 (ascent convention, v' = -J): -gamma/2 +- sqrt(gamma^2/4 - c^2)
    lam = np.linalg.eigvals(games.dirac_gan(**{kind: gamma}).jacobian(Z0))
    r = np.sqrt(complex(gamma ** 2 / 4 - C ** 2))
    _same_set(-lam, [-gamma / 2 + r, -gamma / 2 - r])


@pytest.mark.parametrize("gamma", [0.1, 0.3, 1.0, 3.0])
def test_dirac_consensus_eigenvalues(gamma):
    # M18 Sec. 3 / Mescheder et al. 2017: -gamma c^2 +- i c in the ascent convention
    lam = np.linalg.eigvals(games.consensus_game(games.dirac_gan(), gamma).jacobian(Z0))
    _same_set(-lam, [-gamma * C ** 2 + 1j * C, -gamma * C ** 2 - 1j * C])


@pytest.mark.parametrize("sigma", [0.3, 1.0, 1.5, 2.5])
def test_dirac_instance_noise_eigenvalues(sigma):
    # M18 Sec. 3: f''(0) sigma^2 +- sqrt(f''(0)^2 sigma^4 - c^2), f''(0) = -1/4
    lam = np.linalg.eigvals(games.dirac_gan(noise_std=sigma).jacobian(Z0))
    r = np.sqrt(complex(F2 ** 2 * sigma ** 4 - C ** 2))
    _same_set(-lam, [F2 * sigma ** 2 + r, F2 * sigma ** 2 - r])


def test_textbook_jacobians():
    np.testing.assert_array_equal(games.bilinear().jacobian(Z0), [[0, 1], [-1, 0]])
    J = games.stable_not_nash().jacobian(Z0)
    np.testing.assert_array_equal(J, [[-1, 2], [-2, 3]])
    _same_set(np.linalg.eigvals(J), [1, 1])
    _same_set(np.linalg.eigvals(games.nash_saddle().jacobian(Z0)), [1 + 2j, 1 - 2j])
    J = games.general_sum_nash_unstable().jacobian(Z0)
    np.testing.assert_array_equal(J, [[1, 2], [2, 1]])


@pytest.mark.parametrize("mean,std", [(1.0, 0.5), (-2.0, 1.5), (0.0, 1.0)])
def test_gaussian_gan_closed_form_jacobian(mean, std):
    # derived in docs/games.md: J = [[0, B], [-B^T, M/2]] at (mean, std, 0)
    g = games.gaussian_gan(mean, std)
    ze = g.points["equilibrium"]
    assert np.abs(g.field_traced(ze)).max() < 1e-12
    np.testing.assert_allclose(g.jacobian(ze), games.gaussian_gan_jacobian(mean, std), atol=1e-10, rtol=0)
    hg, _ = g.blocks(ze)
    assert np.abs(hg).max() == 0.0  # the talk's claim, exactly


def test_sym_antisym_parts():
    J = np.array([[1.0, 2.0], [-4.0, 3.0]])
    S, A = games.sym_antisym(J)
    np.testing.assert_array_equal(S + A, J)
    np.testing.assert_array_equal(S, S.T)
    np.testing.assert_array_equal(A, -A.T)
    with pytest.raises(ValueError, match="square"):
        games.sym_antisym(np.ones((2, 3)))


def _fd_jacobian(f, z, eps=1e-5):
    cols = []
    for i in range(z.size):
        e = np.zeros_like(z)
        e[i] = eps
        cols.append((np.asarray(f(z + e)) - np.asarray(f(z - e))) / (2 * eps))
    return np.stack(cols, axis=1)


def _small_mlp_game(gan_loss="nonsat", **kw):
    gan = GAN(MLP((1, 3, 1), ("tanh", "identity")), MLP((1, 4, 1), ("tanh", "identity")), loss=gan_loss,
              latent="normal")
    rng = np.random.default_rng(0)
    game = games.mlp_gan_game(gan, rng.normal(1.0, 0.5, (7, 1)), rng.standard_normal((6, 1)), **kw)
    z = np.concatenate([gan.G.init(rng), gan.D.init(rng)])
    return gan, game, z


@pytest.mark.parametrize("kw", [{}, {"loss": "minimax"}, {"r1": 0.5}, {"r2": 0.5}])
def test_autograd_jacobian_equals_central_differences(kw):
    _, game, z = _small_mlp_game(**kw)
    J = game.jacobian(z)
    np.testing.assert_allclose(J, _fd_jacobian(game.field_traced, z), atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("kw", [{}, {"loss": "minimax"}, {"r1": 0.5}])
def test_matrix_free_products_equal_dense(kw):
    _, game, z = _small_mlp_game(**kw)
    J = game.jacobian(z)
    rng = np.random.default_rng(1)
    op = game.operator(z)
    for _ in range(3):
        v = rng.standard_normal(game.n)
        np.testing.assert_allclose(op.matvec(v), J @ v, atol=1e-12, rtol=1e-10)
        np.testing.assert_allclose(op.rmatvec(v), J.T @ v, atol=1e-12, rtol=1e-10)
    hg, hd = game.blocks(z)
    np.testing.assert_allclose(hg, J[: game.n_g, : game.n_g], atol=1e-13)
    np.testing.assert_allclose(hd, J[game.n_g:, game.n_g:], atol=1e-13)
    v = rng.standard_normal(game.n_d)
    np.testing.assert_allclose(game.block_operator(z, "d").matvec(v), hd @ v, atol=1e-12)


@settings(max_examples=20)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["relu", "leaky_relu", "tanh", "sigmoid", "identity"]))
def test_traced_forward_equals_engine(seed, act):
    net = MLP((2, 5, 3, 1), (act, "tanh", "identity"))
    rng = np.random.default_rng(seed)
    theta, x = net.init(rng), rng.normal(size=(9, 2))
    np.testing.assert_allclose(mlp_forward(net, theta, x), net(theta, x), rtol=1e-13, atol=1e-14)


def test_mlp_game_costs_match_engine_losses():
    # the traced costs are the engine's d_loss / g_loss on the same points
    gan, game, z = _small_mlp_game()
    tg, td = z[: game.n_g], z[game.n_g:]
    rng = np.random.default_rng(0)
    x, lat = rng.normal(1.0, 0.5, (7, 1)), rng.standard_normal((6, 1))
    loss_d, gd, _, _ = gan.d_loss_grad(tg, td, x, lat)
    loss_g, gg, _ = gan.g_loss_grad(tg, td, lat)
    assert abs(game.cost_d(z) - loss_d) < 1e-12 and abs(game.cost_g(z) - loss_g) < 1e-12
    np.testing.assert_allclose(game.field_traced(z), np.concatenate([gg, gd]), atol=1e-12)


def test_quadrature_moments():
    x, w = games.normal_quadrature(8, 1.5, 0.5)
    assert abs(w @ x[:, 0] - 1.5) < 1e-14 and abs(w @ (x[:, 0] - 1.5) ** 2 - 0.25) < 1e-14
    x, w = games.uniform_quadrature(5, -1, 3)
    assert abs(w @ x[:, 0] - 1.0) < 1e-14 and abs(w @ x[:, 0] ** 2 - 7 / 3) < 1e-13


def test_bad_input():
    g = games.dirac_gan()
    with pytest.raises(ValueError, match="z must have 2"):
        g.jacobian(np.zeros(3))
    with pytest.raises(ValueError, match="unknown loss"):
        games.gan_game(None, None, 1, 1, np.zeros((1, 1)), np.zeros((1, 1)), loss="wasserstein")
    with pytest.raises(ValueError, match="gamma"):
        games.consensus_game(g, -1.0)
    with pytest.raises(ValueError, match="w_real"):
        games.gan_game(None, None, 1, 1, np.zeros((2, 1)), np.zeros((1, 1)), w_real=[0.2, 0.2])
    with pytest.raises(ValueError, match="player"):
        g.block_operator(Z0, "x")


def test_dirac_wgan_gp_is_not_differentiable_at_psi_zero():
    """WGAN-GP on the Dirac-GAN: ``||grad_x o|| = |psi|`` (Mescheder et al. 2018, Sec. 3.2), so
    the penalty ``gamma/2 (|psi| - g0)^2`` has no derivative at ``psi = 0``: the field, the
    Jacobian and the classification refuse with one ValueError (no NaN, no warning); at
    ``psi != 0`` the field is the closed form ``(psi, -theta + gamma (|psi| - g0) sign psi)``."""
    import warnings

    from gandyn.games import nash

    game = games.dirac_gan("wgan", gp=1.0, gp_target=1.0)  # lambda = 1: gamma/2 = 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for call in (lambda: game.field(np.array([0.3, 0.0])), lambda: game.jacobian(np.zeros(2)),
                     lambda: game.jvp(np.zeros(2), np.ones(2)), lambda: nash.classify(game, np.zeros(2))):
            with pytest.raises(ValueError, match="not differentiable"):
                call()
        th, psi = 0.3, -0.7
        np.testing.assert_allclose(game.field(np.array([th, psi])), [psi, -th + 2.0 * (abs(psi) - 1.0) * np.sign(psi)],
                                   rtol=1e-13)
        np.testing.assert_allclose(game.jacobian(np.array([th, psi])), [[0.0, 1.0], [-1.0, 2.0]], atol=1e-13)


# --- gandyn.games.closed_forms: each form against autograd's Jacobian or the method's own step


@pytest.mark.parametrize("loss", ["minimax", "nonsat", "wgan", "hinge", "ls", "kl", "rsgan", "rahinge"])
@pytest.mark.parametrize("kw", [{}, {"r1": 0.7}, {"r2": 2.5}])
def test_closed_form_dirac_jacobian_and_eigenvalues_of_every_loss(loss, kw):
    from gandyn.games import closed_forms as cf

    J = games.dirac_gan(loss, **kw).jacobian(Z0)
    np.testing.assert_allclose(J, cf.dirac_jacobian(loss, **kw), atol=1e-14, rtol=0)
    assert cf.spectrum_distance(np.linalg.eigvals(J), cf.dirac_eigenvalues(loss, **kw)) < 1e-12


@pytest.mark.parametrize("loss", ["minimax", "nonsat"])
@pytest.mark.parametrize("kw", [{"noise_std": 0.4}, {"noise_std": 2.5}, {"consensus": 0.3}, {"consensus": 3.0}])
def test_closed_form_dirac_noise_and_consensus(loss, kw):
    from gandyn.games import closed_forms as cf

    g = games.dirac_gan(loss, noise_std=kw.get("noise_std", 0.0))
    g = games.consensus_game(g, kw["consensus"]) if "consensus" in kw else g
    assert cf.spectrum_distance(np.linalg.eigvals(g.jacobian(Z0)), cf.dirac_eigenvalues(loss, **kw)) < 1e-12


def test_closed_form_wgan_gp_is_one_sided_and_h_max_peaks():
    # M18 Sec. 3.2: off psi = 0 WGAN-GP's Jacobian is constant; Sec. 3: R1's h_max = gamma/c^2
    # for gamma < 2c, consensus's is 2 at gamma = 1/c
    from gandyn.games import closed_forms as cf
    from gandyn.games.nash import largest_stable_step

    g = games.dirac_gan("wgan", gp=0.4, gp_target=0.5)
    for z in ([0.3, 0.2], [-1.0, -0.7]):
        lam = np.linalg.eigvals(g.jacobian(np.array(z)))
        assert cf.spectrum_distance(lam, cf.dirac_eigenvalues("wgan", gp=0.4)) < 1e-12
    assert abs(largest_stable_step(cf.dirac_eigenvalues(r1=0.5)) - 0.5 / C ** 2) < 1e-12
    assert abs(largest_stable_step(cf.dirac_eigenvalues(consensus=1 / C)) - 2.0) < 1e-12


def test_closed_form_step_maps_equal_the_methods_own_steps():
    from gandyn.games import closed_forms as cf
    from gandyn.games import dynamics as dy

    b = games.bilinear()
    for h in (0.3, 1.2):  # AltGD on x*y: c = 1, a = h^2 (M18 Lemma 2.4)
        M = dy.step_matrix(dy.altgd(), b, Z0, h)
        assert cf.spectrum_distance(np.linalg.eigvals(M), cf.altgd_eigenvalues(h * h)) < 1e-12
    for name, method, h, w in [("simgd", dy.simgd(), (0.2, 0.7), 1.0), ("extragradient", dy.extragradient(), 0.6, 1.0),
                               ("optimistic", dy.optimistic(), 0.3, 1.0), ("consensus", dy.consensus(0.4), 0.5, 0.4),
                               ("sga", dy.sga(2.0), 0.2, 2.0), ("altgd", dy.altgd(), 1.5, 1.0)]:
        rho = dy.spectral_radius(dy.step_matrix(method, b, Z0, h))
        assert abs(rho - cf.bilinear_radius(name, h, w)) < 1e-12, name
    z, h = np.array([0.8, -1.3]), 0.4  # M18 Lemma 2.3
    z1 = dy.simgd().step(games.dirac_gan(), z, h)
    assert abs((z1 @ z1) / (z @ z) - cf.dirac_simgd_growth(z, h)) < 1e-12


def test_closed_forms_refuse_what_they_do_not_cover():
    from gandyn.games import closed_forms as cf

    for kw, needle in [(dict(r1=0.3, noise_std=1.0), "combined"), (dict(loss="minimax", gp=0.3), "WGAN"),
                       (dict(loss="wgan", noise_std=1.0), "cross-entropy"), (dict(r1=-1.0), "r1"),
                       (dict(loss="nosuchloss"), "loss")]:
        with pytest.raises(ValueError, match=needle):
            cf.dirac_eigenvalues(**kw)
    for args, needle in [(("optimistic", 0.6), "h <= 0.5"), (("altgd", (0.1, 0.2)), "pair"), (("cgd", 0.1), "cgd")]:
        with pytest.raises(ValueError, match=needle):
            cf.bilinear_radius(*args)
    with pytest.raises(ValueError, match="same size"):
        cf.spectrum_distance([1, 2], [1])
    assert cf.spectrum_distance([1 + 1j, 3], [3, 1 + 1j]) == 0.0
    with pytest.raises(ValueError, match="gp_target"):
        games.dirac_gan("wgan", gp=0.3, gp_target=-1.0)
