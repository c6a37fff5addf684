"""Divergence handled one way (:mod:`gandyn.errors`): one criterion (a loss or parameter NaN,
inf or beyond BOUND), one exception for a single run (naming the iteration; exit status 3),
and populations that name and drop their diverged models and keep the healthy ones."""
import numpy as np
import pytest

from gandyn import errors
from gandyn.app import backends
from gandyn.cli import main


def test_the_criterion_is_finite_and_bounded():
    assert errors.BOUND == 1e6
    ok = errors.healthy(np.array([[1.0, -1e6], [0.0, 1.0001e6], [np.inf, 0], [np.nan, 0]]))
    assert ok.tolist() == [True, False, False, False]
    assert errors.healthy(np.float32(3.0)) is True


def test_every_single_run_raises_the_one_class():
    from gandyn.experiments import gan1d, mnist
    from gandyn.experiments.demo import run_demo

    assert gan1d.DivergedError is errors.DivergedError and issubclass(mnist.NonFiniteError, errors.DivergedError)
    with pytest.raises(errors.DivergedError) as e:
        run_demo(steps=10, lr=1e300, hidden=4, batch=8, progress=False)
    assert e.value.iteration == 1


@pytest.mark.parametrize("loss", ["nonsat", "ls", "wgan"])
def test_a_mog_population_names_and_drops_its_diverged_models(loss, tmp_path, capsys):
    import csv

    out = tmp_path / "o"
    code = main(["mog", "--data", "ring8", "--methods", "altgd", "--lrs", "1e-3", "1e6", "--seeds", "2", "--steps",
                 "20", "--checks", "2", "--hidden", "8", "--n-eval", "50", "--jobs", "1", "--quiet", "--loss", loss,
                 "--optimizer", "sgd", "--out", str(out)])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    note = [ln for ln in cap.err.splitlines() if "diverged" in ln]
    assert len(note) == 1 and "2 of 4 models diverged" in note[0] and "altgd lr=1e+06 seed=1" in note[0]
    rows = list(csv.DictReader((out / "table.csv").open()))
    assert [int(r["diverged"]) for r in rows] == [0, 2]
    assert rows[0]["median_reverse_kl"] != "nan" and rows[1]["success_pct"] == "nan"
    models = list(csv.DictReader((out / "models_ring8.csv").open()))
    assert [int(r["diverged_at"]) > 0 for r in models] == [False, False, True, True]


def test_healthy_models_are_kept_as_they_train_alone():
    from gandyn.engine.population import Networks
    from gandyn.experiments import mog

    kw = dict(methods=["altgd"], seeds=2, steps=20, checks=2, networks=Networks(hidden_g=(8,), hidden_d=(8,)), n_eval=50,
              ttur=1.0,
              decay=1.0, chunk=100, training=mog.MogConfig.training.replace(batch=8, optimizer="sgd"))
    alone = backends.run_mog(mog.MogConfig(data="ring8", lrs=[1e-3], **kw))
    mixed = backends.run_mog(mog.MogConfig(data="ring8", lrs=[1e-3, 1e6], **kw))
    assert mixed["diverged_at"].tolist()[:2] == [-1, -1] and (mixed["diverged_at"][2:] > 0).all()
    np.testing.assert_array_equal(alone["modes_checks"], mixed["modes_checks"][:, :2])
    np.testing.assert_allclose(alone["high_quality_checks"], mixed["high_quality_checks"][:, :2], rtol=1e-12)


def test_a_diverged_single_run_exits_3_in_one_line(tmp_path, capsys):
    code = main(["gan1d", "--lr-d", "1e30", "--lr-g", "1e30", "--optimizer", "sgd", "--steps", "100",
                 "--record-every", "25", "--hidden-g", "4", "--hidden-d", "4", "--quiet", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == errors.EXIT_DIVERGED == 3
    assert len(err.splitlines()) == 1 and "diverged at iteration" in err


@pytest.mark.parametrize("loss,method", [("nonsat", "altgd"), ("kl", "lola"), ("hellinger", "altgd"),
                                         ("wgan", "lola"), ("ls", "lola"), ("hinge", "altgd"),
                                         ("rsgan", "extragradient"), ("minimax", "consensus")])
def test_forced_divergence_of_every_kind_is_one_line_and_exit_3(loss, method, tmp_path, capsys):
    """Step sizes of 1e4 with plain SGD: some runs overflow (a non-finite loss), others freeze
    with parameters of 1e8-1e11 and a saturated D; each is reported the same way."""
    code = main(["gan1d", "--loss", loss, "--method", method, "--lr-d", "1e4", "--lr-g", "1e4", "--optimizer", "sgd",
                 "--steps", "40", "--record-every", "10", "--hidden-g", "4", "--hidden-d", "4", "--quiet",
                 "--no-animation", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 3 and len(err.splitlines()) == 1 and "iteration" in err, err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("losses", [["nonsat", "kl"], ["hellinger", "wgan", "ls"]])
def test_the_sweep_counts_a_blown_up_model_as_diverged_for_every_loss(losses):
    """A population's loss does not raise on one model's NaN (kl, hellinger, wgan and ls
    used to stop the whole sweep); frozen models far beyond the bound count as diverged."""
    from gandyn.experiments import gan1d

    setup = gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=4, hidden_d=4), training=gan1d.TRAINING.replace(batch=8, optimizer="sgd"))
    arrays, _ = gan1d.sweep(setup, lr_g_values=[1e-3], lr_d_values=[1e-3, 1e4], seeds=[0], steps=40, checks=2,
                            losses=losses)
    div = arrays["diverged_at"][0, :, 0, :, 0]  # (losses, lr_d)
    assert (div[:, 0] == -1).all() and (div[:, 1] > 0).all()
