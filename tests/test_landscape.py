"""gandyn landscape: matrix-free eigenpairs equal the dense ones (1e-8), stochastic Lanczos
quadrature is a quadrature of the spectrum, the Dirac-GAN path angle has its closed form,
and the command reads runs and refuses bad ones."""
import json

import numpy as np
import pytest
from scipy.special import expit

from gandyn import games
from gandyn.cli import main
from gandyn.engine import GAN, MLP
from gandyn.experiments import landscape
from gandyn.engine.population import Setup
from gandyn.experiments import gan1d
from gandyn.experiments.gan1d import record_run
from gandyn.games import spectra


@pytest.fixture(scope="module")
def small_game():
    rng = np.random.default_rng(5)
    gan = GAN(MLP((2, 6, 2), ("tanh", "identity")), MLP((2, 8, 1), ("tanh", "identity")))
    x, z = rng.normal(size=(20, 2)), rng.uniform(-1, 1, (20, 2))
    game = games.mlp_gan_game(gan, x, z)
    point = np.concatenate([gan.G.init(rng), gan.D.init(rng)])
    return game, point, game.jacobian(point)


def _match(found, dense):
    """Every eigenvalue found is within 1e-8 (relative to the spectral radius) of a dense one."""
    scale = max(1.0, np.abs(dense).max())
    for lam in np.atleast_1d(found):
        assert np.min(np.abs(dense - lam)) < 1e-8 * scale, (lam, dense)


def test_jacobian_searches_equal_dense_eigvals(small_game):
    game, z, J = small_game
    lam = np.linalg.eigvals(J)
    spec = spectra.game_spectrum(game, z, k=5, blocks=("j",))
    for which, key in (("LM", -np.abs(lam)), ("LR", -lam.real), ("SR", lam.real)):
        pairs = spec["j"][which]
        assert pairs.converged.all() and np.all(pairs.residuals < 1e-6)
        _match(pairs.values, lam)
        np.testing.assert_allclose(np.sort(np.abs(pairs.values)), np.sort(np.abs(lam[np.argsort(key)][:5])),
                                   rtol=1e-8)


@pytest.mark.parametrize("block", ["g", "d"])
def test_block_searches_give_both_ends(small_game, block):
    game, z, J = small_game
    n = game.n_g
    H = J[:n, :n] if block == "g" else J[n:, n:]
    ev = np.linalg.eigvalsh(0.5 * (H + H.T))
    spec = spectra.game_spectrum(game, z, k=3, blocks=(block,))[block]
    np.testing.assert_allclose(spec["LA"].values, ev[::-1][:3], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(spec["SA"].values, ev[:3], rtol=1e-8, atol=1e-10)


def test_a_pair_that_did_not_converge_is_kept_and_marked(small_game):
    game, z, _ = small_game
    pairs = spectra.eigenpairs(game.operator(z), 6, "SR", maxiter=1)
    assert pairs.values.size == pairs.residuals.size == pairs.converged.size
    assert not pairs.converged.all() or pairs.values.size < 6


def test_slq_is_a_quadrature_of_the_spectrum(small_game):
    """sum_j w_j theta_j^k = (1/n_v) sum_l v_l^T A^k v_l / n exactly for k <= 2m - 1
    (Golub & Meurant 2010, Thm. 6.6), the weights sum to 1, and with many vectors the
    smoothed density is close to the dense spectrum's."""
    game, z, J = small_game
    n = game.n_g
    H = 0.5 * (J[:n, :n] + J[:n, :n].T)
    op = game.block_operator(z, "g")
    nodes, weights = spectra.slq_density(op, n_vectors=3, steps=4, rng=7)
    assert weights.min() >= 0 and weights.sum() == pytest.approx(1.0, abs=1e-12)
    vs = np.random.default_rng(7).choice([-1.0, 1.0], size=(3, n))  # the same Rademacher draws
    for k in range(1, 8):
        exact = np.mean([v @ np.linalg.matrix_power(H, k) @ v / n for v in vs])
        assert np.sum(weights * nodes ** k) == pytest.approx(exact, rel=1e-9, abs=1e-12)
    ev = np.linalg.eigvalsh(H)
    nodes, weights = spectra.slq_density(op, n_vectors=60, steps=n, rng=1)
    t = np.linspace(ev.min() - 1, ev.max() + 1, 2001)
    sigma = 0.1 * np.ptp(ev)
    est = spectra.density_on_grid(nodes, weights, t, sigma)
    ref = spectra.density_on_grid(ev, np.full(n, 1 / n), t, sigma)
    assert np.trapezoid(est, t) == pytest.approx(1.0, abs=1e-3)
    assert np.trapezoid(np.abs(est - ref), t) < 0.15


def test_path_angle_of_the_dirac_gan_has_its_closed_form():
    """Dirac-GAN (Mescheder et al. 2018, Def. 2.1), minimax: V = f(psi theta) + f(0),
    f' (t) = sigma(-t), so omega = sigma(-theta psi) (psi, -theta). On z = z0 + alpha d:
    ||omega|| = sigma(-theta psi) sqrt(theta^2 + psi^2) and
    cos = (psi d_theta - theta d_psi) / (sqrt(theta^2 + psi^2) ||d||); towards the
    equilibrium (z1 = 0) cos = 0 everywhere: a pure rotation."""
    game = games.dirac_gan()
    z0, z1 = np.array([1.5, -0.4]), np.array([-0.3, 0.9])
    alpha, norm, cos = spectra.path_angle(game, z0, z1, 11)
    d = z1 - z0
    th, ps = z0[0] + alpha * d[0], z0[1] + alpha * d[1]
    r = np.hypot(th, ps)
    np.testing.assert_allclose(norm, expit(-th * ps) * r, rtol=1e-13)
    np.testing.assert_allclose(cos, (ps * d[0] - th * d[1]) / (r * np.linalg.norm(d)), rtol=1e-12, atol=1e-14)
    _, _, cos0 = spectra.path_angle(game, z0, np.zeros(2), 7)
    np.testing.assert_allclose(cos0[:-1], 0.0, atol=1e-15)
    with pytest.raises(ValueError, match="same point"):
        spectra.path_angle(game, z0, z0)


def _extremes(spec):
    """The searches' extremes, as :func:`gandyn.experiments.landscape.analyse` gives them."""
    ext = {b: {"max": float(spec[b]["LA"].values.max()), "min": float(spec[b]["SA"].values.min())} for b in "gd"}
    ext["j"] = {"max_modulus": float(np.abs(spec["j"]["LM"].values).max()),
                "min_real": float(spec["j"]["SR"].values.real.min()),
                "max_real": float(spec["j"]["LR"].values.real.max())}
    return ext


def test_certify_verdicts_takes_small_games_from_their_dense_spectra(small_game):
    game, z, J = small_game
    spec = spectra.game_spectrum(game, z, k=3)
    ext = _extremes(spec)
    found = ext["j"]["min_real"]
    check, used = spectra.certify_verdicts(ext, spec, game, z, dense_max=game.n)
    assert check == {"stable": "dense", "nash": "dense"} and used == game.n
    lam, n = np.linalg.eigvals(J), game.n_g
    assert ext["j"]["min_real"] == pytest.approx(lam.real.min(), abs=1e-12)
    assert ext["j"]["max_modulus"] == pytest.approx(np.abs(lam).max(), rel=1e-12)
    assert ext["j"]["min_real_search"] == found and ext["searches_agree"]
    for b, H in (("g", J[:n, :n]), ("d", J[n:, n:])):
        ev = np.linalg.eigvalsh(0.5 * (H + H.T))
        assert ext[b]["min"] == pytest.approx(ev[0], abs=1e-12) and ext[b]["max"] == pytest.approx(ev[-1], abs=1e-12)


def _pairs(values, converged, which):
    values = np.asarray(values)
    return spectra.Eigenpairs(values, np.zeros(values.size), np.asarray(converged), which, 1)


@pytest.mark.parametrize("A, sr, conv, sa_d, stable, nash", [
    # J = I + 3 K, K skew: S = I, so Bendixson's bound (1 > 0) certifies stability with no converged pair
    ("rotation", [1.0 + 3j], [False], 0.5, "certified", "unverified"),
    # a converged eigenpair with Re < 0 certifies "not stable"; one with H_DD's value < 0 "not Nash"
    ("shear", [-0.5], [True], -1.0, "certified", "certified"),
    # S = [[1, 5], [5, 1]] blocks: lambda_min(S) = -4 bounds nothing, and the pair (Re 1 > 0) decides nothing
    ("shear", [1.0], [True], 0.5, "unverified", "unverified"),
])
def test_certify_verdicts_above_the_dense_limit(A, sr, conv, sa_d, stable, nash):
    """Above ``dense_max``: a converged eigenpair on the wrong side decides "no", the
    symmetric part's smallest eigenvalue above 0 decides "stable" (Bendixson 1902: Re
    lambda(J) >= lambda_min((J + J^T)/2)); anything else stays unverified."""
    from types import SimpleNamespace

    from scipy.sparse.linalg import aslinearoperator

    block = np.array([[1.0, -3.0], [3.0, 1.0]]) if A == "rotation" else np.array([[1.0, 10.0], [0.0, 1.0]])
    J = np.kron(np.eye(4), block)
    game = SimpleNamespace(n=8, operator=lambda z: aslinearoperator(J))
    spec = {"j": {"SR": _pairs(np.asarray(sr, complex), conv, "SR")},
            "g": {"SA": _pairs([0.5], [True], "SA")}, "d": {"SA": _pairs([sa_d], [True], "SA")}}
    ext = {"j": {"max_modulus": 3.0}}
    check, used = spectra.certify_verdicts(ext, spec, game, np.zeros(8), dense_max=7)
    assert check == {"stable": stable, "nash": nash} and used > 0
    S = 0.5 * (J + J.T)
    assert ext["j"]["symmetric_part_min"] == pytest.approx(np.linalg.eigvalsh(S)[0], abs=1e-8)


@pytest.fixture(scope="module")
def gan1d_run(tmp_path_factory):
    from gandyn import history

    out = tmp_path_factory.mktemp("gan1d")
    arrays, meta = record_run(gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=3, hidden_d=4), training=gan1d.TRAINING.replace(batch=16)), seed=0, steps=40, record_every=20)
    history.save(out / "history.npz", arrays, meta)
    return out


def test_gan1d_run_spectra_equal_dense(gan1d_run):
    run = landscape.load_landscape(gan1d_run, batch=16)
    assert [c.iteration for c in run.snapshots] == [0, 20, 40]
    cp = run.snapshots[-1]
    lam = np.linalg.eigvals(run.game.jacobian(cp.z))
    spec = spectra.game_spectrum(run.game, cp.z, k=3, blocks=("j",))
    for pairs in spec["j"].values():
        _match(pairs.values, lam)


def test_smallest_searches_equal_dense_for_every_k(gan1d_run):
    """The smallest real part of J and the smallest eigenvalues of H_GG, H_DD found by the
    matrix-free searches are the dense ones for every k, at every snapshot (the search
    for the smallest real part once converged to lambda = +0.047 at iteration 0 with k <= 2,
    whose dense min Re is -0.248: it selected Ritz values by |lambda - rho|)."""
    run = landscape.load_landscape(gan1d_run, batch=16)
    for cp in run.snapshots:
        dense = spectra.dense_spectrum(run.game, cp.z)
        np.testing.assert_allclose(np.sort(dense["j"].real), np.sort(np.linalg.eigvals(run.game.jacobian(cp.z)).real),
                                   atol=1e-10)
        for k in range(1, 6):
            spec = spectra.game_spectrum(run.game, cp.z, k=k)
            sr = spec["j"]["SR"]
            assert sr.converged.all()
            np.testing.assert_allclose(sr.values.real, np.sort(dense["j"].real)[:k], atol=1e-8)
            for b in ("g", "d"):
                np.testing.assert_allclose(spec[b]["SA"].values, dense[b][:k], atol=1e-8)
                np.testing.assert_allclose(spec[b]["LA"].values, dense[b][::-1][:k], atol=1e-8)


def test_verdicts_say_how_they_are_known(gan1d_run):
    run = landscape.load_landscape(gan1d_run, batch=16)
    dense = landscape.analyse(run, k=1, slq_vectors=1, slq_steps=4, path_points=2)
    free = landscape.analyse(run, k=1, slq_vectors=1, slq_steps=4, path_points=2, dense_max=0)
    for p, q, cp in zip(dense["points"], free["points"], run.snapshots):
        exact = spectra.dense_spectrum(run.game, cp.z)
        assert p["check"] == {"stable": "dense", "nash": "dense"} and p["searches_agree"]
        assert p["j"]["min_real"] == pytest.approx(exact["j"].real.min(), abs=1e-12)
        assert p["stable"] == bool(exact["j"].real.min() > 1e-8 * max(1, np.abs(exact["j"]).max()))
        assert q["check"]["stable"] in ("certified", "unverified") and "searches_agree" not in q
        S = 0.5 * (run.game.jacobian(cp.z) + run.game.jacobian(cp.z).T)
        assert q["j"]["symmetric_part_min"] == pytest.approx(np.linalg.eigvalsh(S)[0], abs=1e-8)
        assert exact["j"].real.min() >= q["j"]["symmetric_part_min"] - 1e-8  # Bendixson's bound
        if q["check"]["stable"] == "certified":
            assert q["stable"] == p["stable"]


def test_spectrally_normalised_runs_are_analysed_as_trained(tmp_path):
    from gandyn import history

    arrays, meta = record_run(gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=3, hidden_d=4), training=gan1d.TRAINING.replace(batch=16, spectral_norm=True)), seed=0, steps=10,
                              record_every=10)
    history.save(tmp_path / "history.npz", arrays, meta)
    run = landscape.load_landscape(tmp_path, batch=16)
    D = run.game.engine["gan"].D
    for cp, raw in zip(run.snapshots, arrays["theta_d"]):
        for (W, b), (W0, b0) in zip(D.views(cp.theta_d), D.views(np.asarray(raw, np.float64))):
            assert np.linalg.svd(W, compute_uv=False)[0] == pytest.approx(1.0, rel=1e-12)
            np.testing.assert_allclose(W * np.linalg.norm(W0, 2), W0, rtol=1e-12)
            np.testing.assert_array_equal(b, b0)


def test_landscape_command_writes_tables_and_figures(gan1d_run, tmp_path, capsys):
    out = tmp_path / "ls"
    code = main(["landscape", "--run", str(gan1d_run), "--out", str(out), "--n-eigs", "3", "--slq-steps", "8",
                 "--slq-vectors", "2", "--path-points", "5", "--batch", "12", "--quiet"])
    assert code == 0
    rows = (out / "eigenvalues.csv").read_text().splitlines()
    assert rows[0].startswith("iteration,block,which,k,real,imag,residual,converged")
    assert len(rows) == 1 + 3 * (3 * 3 + 2 * 3 + 2 * 3)  # 3 checkpoints x (J: 3 searches, g and d: 2 each) x k
    summary = json.loads((out / "summary.json").read_text())
    assert [p["iteration"] for p in summary["points"]] == [0, 20, 40]
    assert {"critical", "differential_nash", "stable", "omega_norm"} <= set(summary["points"][0])
    for stem in ("trajectories", "complex_plane", "densities", "path_angle"):
        for ext in ("png", "pdf"):
            assert (out / f"{stem}.{ext}").stat().st_size > 1000
    assert "iteration      40" in capsys.readouterr().out


@pytest.mark.parametrize("make, needle", [
    (lambda d: None, "not a run"),
    (lambda d: (d / "checkpoints").mkdir(), "no checkpoints"),
])
def test_bad_runs_fail_before_any_output(tmp_path, capsys, make, needle):
    run = tmp_path / "run"
    run.mkdir()
    make(run)
    out = tmp_path / "out"
    code = main(["landscape", "--run", str(run), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and needle in err[0]
    assert not out.exists()


def test_missing_iterations_are_named(gan1d_run, tmp_path, capsys):
    code = main(["landscape", "--run", str(gan1d_run), "--at", "20", "30", "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "no snapshot at iteration 30" in err and not (tmp_path / "o").exists()


@pytest.mark.skipif(not __import__("_mnist_dir").HAVE_MNIST, reason="real MNIST not found ($GANDYN_DATA or ../shared/data/mnist)")
def test_landscape_of_a_short_mnist_run(tmp_path, capsys):
    from _mnist_dir import SHARED

    run = tmp_path / "run"
    assert main(["mnist", "train", "--iters", "20", "--keep-every", "10", "--z-dim", "4", "--hidden-g", "8",
                 "--hidden-d", "8", "--batch", "16", "--grid-every", "0", "--data-dir", str(SHARED),
                 "--out", str(run), "--quiet"]) == 0
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "iter_0000000.npz", "iter_0000010.npz", "iter_0000020.npz"]
    out = tmp_path / "ls"
    assert main(["landscape", "--run", str(run), "--data-dir", str(SHARED), "--batch", "32", "--n-eigs", "3",
                 "--slq-steps", "10", "--slq-vectors", "2", "--path-points", "3", "--at", "10", "20",
                 "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kind"] == "mnist" and [p["iteration"] for p in summary["points"]] == [10, 20]
    assert summary["n_g"] == 4 * 8 + 8 + 8 * 784 + 784 and summary["n_d"] == 784 * 8 + 8 + 8 + 1


# --- the 2-D benchmark (gandyn mog --keep-every)


@pytest.fixture(scope="module")
def mog_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mog") / "run"
    assert main(["mog", "--data", "ring8", "--methods", "simgd", "consensus", "--lrs", "1e-3", "--seeds", "2",
                 "--steps", "8", "--checks", "2", "--keep-every", "4", "--hidden", "6", "--batch", "8",
                 "--n-eval", "50", "--jobs", "1", "--out", str(out), "--quiet"]) == 0
    return out


def test_mog_model_spectra_equal_dense(mog_run):
    run = landscape.load_landscape(mog_run, model="consensus:1", batch=40)
    assert run.kind == "mog" and [c.iteration for c in run.snapshots] == [0, 4, 8]
    assert (run.meta["model"], run.meta["method"], run.meta["seed"]) == (3, "consensus", 1)
    assert run.meta["scores"]["modes"] and landscape.load_landscape(mog_run, model="3", batch=40).meta["seed"] == 1
    from gandyn.experiments import mog

    arrays, _ = mog.load_snapshots(mog_run / "snapshots_ring8.npz")
    np.testing.assert_array_equal(run.snapshots[-1].theta_g, arrays["theta_g"][-1, 3].astype(np.float64))
    cp = run.snapshots[-1]
    lam = np.linalg.eigvals(run.game.jacobian(cp.z))
    for pairs in spectra.game_spectrum(run.game, cp.z, k=3, blocks=("j",))["j"].values():
        _match(pairs.values, lam)


def test_landscape_of_a_batch_norm_generator_is_its_training_game(tmp_path):
    """A mog run with a batch-norm G keeps snapshots; its landscape is the game training plays
    (G's batch statistics over the evaluation batch; the running statistics are the samples'):
    the engine's products equal autograd's dense Jacobian of the traced game, and the searches
    find its eigenvalues."""
    out = tmp_path / "bn"
    assert main(["mog", "--data", "ring8", "--methods", "simgd", "--lrs", "1e-3", "--seeds", "1", "--steps", "6",
                 "--checks", "2", "--keep-every", "3", "--hidden", "6", "--g-batch-norm", "--batch", "8",
                 "--n-eval", "50", "--jobs", "1", "--out", str(out), "--quiet"]) == 0
    run = landscape.load_landscape(out, batch=24)
    assert [c.iteration for c in run.snapshots] == [0, 3, 6]
    from gandyn.experiments.runs import load_run

    rec = load_run(out)
    G = rec.config.setup().gan.G
    assert G.batch_norm is not None and run.game.n_g == G.n_params and rec.stats_g.shape == (3, G.stats_layout.size)
    cp = run.snapshots[-1]
    J = run.game.jacobian(cp.z)
    v = np.random.default_rng(0).normal(size=run.game.n)
    np.testing.assert_allclose(run.game.jvp(cp.z, v), J @ v, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(run.game.vjp(cp.z, v), J.T @ v, rtol=1e-10, atol=1e-10)
    lam = np.linalg.eigvals(J)
    for pairs in spectra.game_spectrum(run.game, cp.z, k=3, blocks=("j",))["j"].values():
        _match(pairs.values, lam)


def test_landscape_of_a_mog_model_end_to_end(mog_run, tmp_path, capsys):
    out = tmp_path / "ls"
    code = main(["landscape", "--run", str(mog_run), "--model", "simgd:0", "--at", "4", "8", "--batch", "32",
                 "--n-eigs", "3", "--slq-steps", "8", "--slq-vectors", "2", "--path-points", "5", "--out", str(out),
                 "--quiet"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kind"] == "mog" and [p["iteration"] for p in summary["points"]] == [4, 8]
    assert summary["n_g"] == 2 * 6 + 6 + 6 * 2 + 2 and summary["n_d"] == 2 * 6 + 6 + 6 + 1
    assert summary["meta"]["method"] == "simgd" and summary["meta"]["batch"] == 32
    for stem in ("trajectories", "complex_plane", "densities", "path_angle"):
        assert (out / f"{stem}.png").stat().st_size > 1000
    assert "iteration       8" in capsys.readouterr().out


@pytest.mark.parametrize("extra, needle", [
    ([], "holds 4 models; choose one with --model"),
    (["--model", "9"], "has no model 9"),
    (["--model", "sga:0"], "has no model sga:0"),
    (["--model", "simgd:x"], "--model takes an index or METHOD:SEED"),
    (["--model", "0", "--data", "grid25"], "has no grid25 run"),
    (["--model", "0", "--at", "5"], "no snapshot at iteration 5"),
])
def test_bad_mog_selection_fails_before_any_output(mog_run, tmp_path, capsys, extra, needle):
    out = tmp_path / "out"
    code = main(["landscape", "--run", str(mog_run), "--out", str(out), "--quiet", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and needle in err[0], err
    assert not out.exists()


def test_mog_run_without_snapshots_is_refused(mog_run, tmp_path, capsys):
    import shutil

    run = tmp_path / "plain"
    shutil.copytree(mog_run, run)
    (run / "snapshots_ring8.npz").unlink()
    out = tmp_path / "out"
    for extra in ([], ["--data", "ring8", "--model", "0"]):
        assert main(["landscape", "--run", str(run), "--out", str(out), "--quiet", *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--keep-every" in err[0] and "snapshots" in err[0], err
    assert not out.exists()


def test_model_selection_is_for_mog_runs(gan1d_run, tmp_path, capsys):
    assert main(["landscape", "--run", str(gan1d_run), "--model", "0", "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "gandyn mog" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_mog_snapshots_of_another_shape_are_refused(mog_run, tmp_path, capsys):
    import shutil

    from gandyn import history

    run = tmp_path / "cut"
    shutil.copytree(mog_run, run)
    arrays, meta = history.load(run / "snapshots_ring8.npz")
    arrays["theta_d"] = arrays["theta_d"][..., :-1]
    history.save(run / "snapshots_ring8.npz", arrays, meta)
    assert main(["landscape", "--run", str(run), "--model", "0", "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "theta_d has shape" in err[0] and not (tmp_path / "o").exists()


def test_cli_out_of_memory_names_the_sizes(tmp_path, capsys, monkeypatch):
    """A MemoryError while loading or analysing: one line naming --batch, exit 1, no folder."""
    from gandyn.cli import main
    from gandyn.experiments import landscape as L

    def boom(*a, **k):
        raise MemoryError

    monkeypatch.setattr(L, "load_run", boom)
    out = tmp_path / "o"
    assert main(["landscape", "--run", str(tmp_path), "--batch", "123456", "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--batch 123,456" in err[0] and "out of memory" in err[0]
    assert not out.exists()


def test_one_run_record_of_each_kind(gan1d_run, mog_run):
    """The 1-D GAN's history and a mog model read back as one record type: the typed config
    (data from its text, no repr), the seed and the parameters at each kept iteration."""
    from gandyn.experiments import gan1d, mog
    from gandyn.experiments.runs import RunRecord, load_run

    rec = load_run(gan1d_run)
    assert isinstance(rec, RunRecord) and rec.kind == "gan1d" and isinstance(rec.config, Setup)
    assert rec.config == gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=3, hidden_d=4), training=gan1d.TRAINING.replace(batch=16))
    assert rec.iterations.tolist() == [0, 20, 40] and rec.theta_g.shape == (3, rec.config.gan.G.n_params)
    rec = load_run(mog_run, model="consensus:1")
    assert rec.kind == "mog" and isinstance(rec.config, mog.MogConfig) and rec.seed == 1
    arrays, cfg = mog.load_snapshots(mog_run / "snapshots_ring8.npz")
    assert rec.config == cfg and rec.meta["model"] == 3
    np.testing.assert_array_equal(rec.theta_d, arrays["theta_d"][:, 3])


def test_a_mog_models_scores_are_its_rows_by_method_seed_and_step_size(tmp_path):
    # a run stopped by a failed shard writes fewer rows than models: the row is found by its
    # method, seed and lr_G, not by the model's position
    f = tmp_path / "models_ring8.csv"
    f.write_text("method,seed,lr_g,modes,high_quality,reverse_kl,success\n"
                 "altgd,3,0.005,7,0.9,0.2,0\naltgd,1,0.005,8,0.95,0.1,1\n")
    info = {"model": 1, "method": "altgd", "seed": 3, "lr_g": 0.005}
    assert landscape._mog_scores(f, info) == {"scores": {"modes": "7", "high_quality": "0.9", "reverse_kl": "0.2",
                                                         "success": "0"}}
    assert landscape._mog_scores(f, {**info, "seed": 2}) == {}  # no row of the model: no scores
    assert landscape._mog_scores(tmp_path / "missing.csv", info) == {}
    bad = tmp_path / "models_grid25.csv"  # a malformed row elsewhere does not hide the model's scores
    bad.write_text("method,seed,lr_g,modes,high_quality,reverse_kl,success\n"
                   "altgd,x,0.005,7,0.9,0.2,0\naltgd,3,0.005,8,0.95,0.1,1\n")
    assert landscape._mog_scores(bad, info)["scores"]["modes"] == "8"
