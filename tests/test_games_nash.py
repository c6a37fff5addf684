"""Ratliff-Burden-Sastry classification of textbook points, property tests,
ARPACK on a matrix-free game, the closed-form table and the ``gandyn nash`` command."""
import json

import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from gandyn.experiments import game_study as gs
from gandyn import games
from gandyn.games import closed_forms, nash
from gandyn.cli import main

Z0 = np.zeros(2)


def test_dirac_equilibrium_is_critical_nondegenerate_not_nash_not_stable():
    v = nash.classify(games.dirac_gan(), Z0, h=0.2)
    assert v.critical and v.nondegenerate and not v.nash and not v.stable
    assert abs(v.sigma_min - 0.5) < 1e-12 and v.h_max == 0.0 and v.step_stable is False
    assert "differential Nash     no" in v.report()


def test_regularised_dirac_is_stable_but_still_not_nash():
    for g in (games.dirac_gan(r1=0.3), games.dirac_gan(noise_std=1.0)):
        v = nash.classify(g, Z0)
        assert v.critical and v.stable and not v.nash
        assert np.abs(v.eig_g).max() < 1e-12  # the generator block stays zero


def test_consensus_makes_the_dirac_equilibrium_nash_of_the_modified_game():
    # each cost gains gamma |omega|^2 / 2, so H_GG = gamma (J^T J)_GG = gamma c^2 at the equilibrium
    v = nash.classify(games.consensus_game(games.dirac_gan(), 0.3), Z0)
    assert v.critical and v.stable and v.nash
    np.testing.assert_allclose(v.eig_g, [0.3 * games.C_DIRAC ** 2], atol=1e-12)


def test_stable_not_nash_and_nash_saddle():
    v = nash.classify(games.stable_not_nash(), Z0, h=0.5)
    assert v.stable and not v.nash and abs(v.h_max - 2.0) < 1e-10 and v.step_stable
    v = nash.classify(games.nash_saddle(), Z0, h=0.5)
    assert v.nash and v.stable and abs(v.h_max - 0.4) < 1e-10 and not v.step_stable
    assert nash.classify(games.nash_saddle(), Z0, h=0.3).step_stable
    v = nash.classify(games.general_sum_nash_unstable(), Z0)
    assert v.nash and not v.stable


def test_bilinear_is_neither_nash_nor_stable():
    v = nash.classify(games.bilinear(), Z0)
    assert v.critical and v.nondegenerate and not v.nash and not v.stable


def test_gaussian_gan_equilibrium_is_stable_but_not_nash():
    g = games.gaussian_gan()
    v = nash.classify(g, g.points["equilibrium"])
    assert v.critical and not v.nash and v.stable and v.nondegenerate
    assert np.abs(v.eig_g).max() == 0.0 and v.eig_d.min() > 0


def test_non_critical_point():
    v = nash.classify(games.dirac_gan(), np.array([1.0, 1.0]))
    assert not v.critical and not v.nash and v.omega_norm > 0.3


def test_largest_stable_step_and_step_stability():
    lam = np.array([1 + 2j, 1 - 2j, 3.0])
    assert abs(nash.largest_stable_step(lam) - 0.4) < 1e-15
    assert nash.step_stable(lam, 0.39) and not nash.step_stable(lam, 0.41)
    assert nash.largest_stable_step([1j, -1j]) == 0.0


@settings(max_examples=40)
@given(st.lists(st.floats(-2, 2), min_size=6, max_size=6), st.floats(0.2, 2.0), st.floats(0.2, 2.0))
def test_zero_sum_differential_nash_is_stable(entries, a, d):
    # In a zero-sum game J = [[A, B], [-B^T, D]] with A, D > 0 has S = diag(A, D) > 0, so every
    # eigenvalue has Re > 0 (Re x* J x = x* S x): differential Nash implies stable.
    b1, b2, q1, q2, q3, q4 = entries
    A = np.array([[a + q1 * q1, q1 * q2], [q1 * q2, a + q2 * q2]])
    Dm = np.array([[d + q3 * q3, q3 * q4], [q3 * q4, d + q4 * q4]])
    B = np.array([[b1, b2], [b2 - b1, b1 * b2]])

    def V(z):
        x, y = z[:2], z[2:]
        return 0.5 * anp.dot(x, anp.dot(A, x)) + anp.dot(x, anp.dot(B, y)) - 0.5 * anp.dot(y, anp.dot(Dm, y))

    v = nash.classify(games.zero_sum(V, 2, 2), np.zeros(4))
    assert v.nash and v.stable


def test_arpack_classification_matches_dense_on_a_small_mlp_gan():
    from gandyn.engine.gan import GAN
    from gandyn.engine.nn import MLP

    gan = GAN(MLP((1, 6, 1), ("tanh", "identity")), MLP((1, 8, 1), ("tanh", "identity")), latent="normal")
    rng = np.random.default_rng(3)
    game = games.mlp_gan_game(gan, rng.normal(1.0, 0.5, (16, 1)), rng.standard_normal((16, 1)))
    z = np.concatenate([gan.G.init(rng), gan.D.init(rng)])
    dense = nash.classify(game, z)
    big = nash.classify(game, z, dense_max=0, k=3, maxiter=2000)
    assert not big.exact and not dense.exact is False
    lam = dense.spectrum
    top = lam[np.argmax(np.abs(lam))]
    assert np.min(np.abs(big.spectrum - top)) < 1e-6
    assert abs(big.spectrum.real.min() - lam.real.min()) < 1e-6
    assert abs(big.eig_d.max() - dense.eig_d.max()) < 1e-6 and abs(big.eig_g.min() - dense.eig_g.min()) < 1e-6


@pytest.mark.parametrize("loss", ["nonsat", "minimax"])
def test_realizable_equilibrium_is_critical_with_zero_generator_block(loss):
    # Goodfellow et al. 2014, Thm. 1: p_g = p_data and D = 1/2; then H_GG f_G = 0 exactly (not Nash)
    from gandyn.engine.gan import GAN
    from gandyn.engine.nn import MLP

    gan = GAN(MLP((1, 5, 1), ("tanh", "identity")), MLP((1, 6, 1), ("tanh", "identity")), loss=loss, latent="normal")
    rng = np.random.default_rng(0)
    tg, td = gan.G.init(rng), gan.D.init(rng)
    zq, wq = games.normal_quadrature(12)
    game, z = games.realizable_equilibrium(gan, tg, td, zq, w_latent=wq)
    assert np.abs(game.field(z)).max() < 1e-14 and np.array_equal(z[: gan.G.n_params], tg)
    assert not np.array_equal(z[gan.G.n_params:], td)  # D's last layer zeroed, td itself unchanged
    hg, _ = game.blocks(z)
    assert np.abs(hg).max() == 0
    v = nash.classify(game, z)
    assert v.critical and not v.nash
    ls = GAN(gan.G, gan.D, loss="ls", latent="normal")
    with pytest.raises(ValueError, match="not an optimum"):
        games.realizable_equilibrium(ls, tg, td, zq, w_latent=wq)


def test_closed_form_table_all_below_1e_10():
    rows = closed_forms.verify()
    assert len(rows) >= 20
    bad = [r for r in rows if not r["error"] < 1e-10]
    assert not bad, bad


def test_closed_form_h_max_matches_autograd():
    sm = gs.step_map(weights=np.linspace(0, 3, 13), hs=np.linspace(0.1, 2, 5))
    for steps in (sm.r1, sm.consensus, sm.noise):
        np.testing.assert_allclose(steps.h_max, steps.h_max_closed, atol=1e-10)


def test_nash_command_writes_figures_and_tables(tmp_path, monkeypatch):
    # a short run: the talk-claim training and trajectories shortened, no large game
    out = tmp_path / "nash"
    rc = main(["nash", "--out", str(out), "--steps", "20", "--train-steps", "50", "--large-hidden", "0",
               "--field-grid", "7", "--map-points", "7", "--quiet"])
    assert rc == 0
    for stem in ("dirac_trajectories", "vector_fields", "spectrum", "step_map", "talk_claim"):
        assert (out / f"{stem}.png").stat().st_size > 1000 and (out / f"{stem}.pdf").exists()
    rows = json.loads((out / "verdicts.json").read_text())
    by = {(r["game"], r["point"]): r for r in rows}
    assert by[("Dirac-GAN (minimax)", "equilibrium")]["differential_nash"] is False
    assert by[("Nash saddle (a=1, b=2)", "origin")]["differential_nash"] is True
    assert (out / "verdicts.csv").read_text().startswith("game,point,")
    assert "differential Nash" in (out / "report.txt").read_text()
    checks = json.loads((out / "closed_forms.json").read_text())
    assert max(c["error"] for c in checks) < 1e-10


def test_nash_command_rejects_bad_arguments(capsys):
    assert main(["nash", "--out", "x", "--large-hidden", "1"]) == 2
    assert "large-hidden" in capsys.readouterr().err
