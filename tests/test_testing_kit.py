"""gandyn.testing as a kit for other people's GAN code: the strategies, and check_loss
flagging each classic bug of a hand-written loss (with a one-line reason) while passing
every registered loss and correct user losses written in plain NumPy."""
import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from scipy.special import expit, log_expit

from gandyn import games, theory
from gandyn.engine import losses as L
from gandyn.engine.nn import MLP
from gandyn.testing import (PROPERTIES, LossCheckError, check_loss, directions, distribution_pairs, game_points,
                            loss_test, mlp_params, output_pairs, outputs)

pytestmark = pytest.mark.filterwarnings("ignore:Output seems independent of input")

FAST = dict(max_examples=6, divergence_examples=1)


# --- user losses in plain NumPy: LSGAN (Mao et al. 2017, eq. 2, a=0, b=1, c=1) and the minimax GAN


def d_ls(o_real, o_fake):
    v = 0.5 * np.mean((o_real - 1) ** 2) + 0.5 * np.mean(o_fake ** 2)
    return v, (o_real - 1) / o_real.shape[-1], o_fake / o_fake.shape[-1]


def g_ls(o_fake):
    return 0.5 * np.mean((o_fake - 1) ** 2), (o_fake - 1) / o_fake.shape[-1]


def ls_optimum(p, q):
    return p / (p + q)  # (b p + a q)/(p + q), Mao et al. 2017, eq. 6


def d_ce(o_real, o_fake):
    v = -np.mean(log_expit(o_real)) - np.mean(log_expit(-o_fake))
    return v, -expit(-o_real) / o_real.shape[-1], expit(o_fake) / o_fake.shape[-1]


def g_minimax(o_fake):
    return np.mean(log_expit(-o_fake)), -expit(o_fake) / o_fake.shape[-1]


# the bugs


def d_ls_value_sign(o_real, o_fake):
    v, g_r, g_f = d_ls(o_real, o_fake)
    return -v, g_r, g_f


def g_ls_value_sign(o_fake):
    v, g = g_ls(o_fake)
    return -v, g


def d_ls_gradient_sign(o_real, o_fake):
    v, g_r, g_f = d_ls(o_real, o_fake)
    return v, g_r, -g_f


def g_ls_gradient_sign(o_fake):
    v, g = g_ls(o_fake)
    return v, -g


def d_ls_swapped(o_real, o_fake):
    return d_ls(o_fake, o_real)[0], o_real / o_real.shape[-1], (o_fake - 1) / o_fake.shape[-1]


def d_ls_sum(o_real, o_fake):
    return 0.5 * np.sum((o_real - 1) ** 2) + 0.5 * np.sum(o_fake ** 2), o_real - 1, o_fake


def d_ls_gradient_sum(o_real, o_fake):
    return d_ls(o_real, o_fake)[0], o_real - 1, o_fake


def ls_wrong_optimum(p, q):
    return q / (p + q)


def g_minimax_twice(o_fake):
    v, g = g_minimax(o_fake)
    return 2 * v, 2 * g


def _fails(**kw) -> LossCheckError:
    with pytest.raises(LossCheckError) as info:
        check_loss(**FAST, **kw)
    err = info.value
    first = str(err).splitlines()[0]
    assert first == f"{err.loss}: {err.property}: {err.reason}"
    assert "counterexample (shrunk)" in str(err) and "expected by:" in str(err)
    return err


# --- check_loss: bugs flagged, each with its property and a one-line reason


_WRONG_DELTA = L.OptimumIdentity("d", "triangular_discrimination", 0.25, -0.25, "-min L_D = Delta/4 - 1/4 (wrong)",
                                 "test")  # LSGAN's value at the optimum with the wrong scale of Delta (Mao et al. 2017, eq. 6)

BUGS = [  # (id, check_loss's arguments, the property flagged, a phrase of its reason, a phrase of its source)
    ("D gradient sign", dict(d_loss=d_ls_gradient_sign, g_loss=g_ls, like="ls"), "gradient (D)",
     "dL/do_fake has the wrong sign", ""),
    ("G gradient sign", dict(d_loss=d_ls, g_loss=g_ls_gradient_sign, like="ls"), "gradient (G)", "wrong sign", ""),
    ("D value sign", dict(d_loss=d_ls_value_sign, g_loss=g_ls, like="ls"), "sign convention (D)", "sign of its value", ""),
    # without any theory stated, the convention alone still flags it
    ("D value sign, no theory", dict(d_loss=d_ls_value_sign, g_loss=g_ls), "sign convention (D)", "", ""),
    # G's value: by its convention, or, with G's criterion stated (Mao et al. 2017, eq. 8), by that identity
    ("G value sign", dict(d_loss=d_ls, g_loss=g_ls_value_sign, optimal_d=ls_optimum), "sign convention (G)",
     "the sign of G's loss", ""),
    ("G value sign, LSGAN theory", dict(d_loss=d_ls, g_loss=g_ls_value_sign, like="ls"), "divergence", "",
     "Mao et al. 2017"),
    ("swapped real and fake", dict(d_loss=d_ls_swapped, g_loss=g_ls, like="ls"), "sign convention (D)", "swapped", ""),
    ("missing 1/m", dict(d_loss=d_ls_sum, g_loss=g_ls, like="ls"), "mean over the minibatch", "missing 1/m", ""),
    ("gradient missing 1/m", dict(d_loss=d_ls_gradient_sum, g_loss=g_ls, like="ls"), "mean over the minibatch", "1/m",
     ""),
    # the gradient check alone flags it too, naming the factor
    ("gradient missing 1/m, gradient check", dict(d_loss=d_ls_gradient_sum, g_loss=g_ls, skip=["mean over the minibatch"]),
     "gradient (D)", "missing or extra 1/m", ""),
    ("wrong optimal D", dict(d_loss=d_ls, g_loss=g_ls, optimal_d=ls_wrong_optimum), "optimal D", "not the minimiser",
     "Goodfellow et al. 2014"),
    # the minimax G loss equals minus D's fake term (Goodfellow et al. 2014, eq. 1); twice it is not
    ("G not minus D's fake term", dict(d_loss=d_ce, g_loss=g_minimax_twice, like="minimax"), "zero-sum",
     "not minus D's fake term", ""),
    ("wrong divergence", dict(d_loss=d_ls, g_loss=g_ls, optimal_d=ls_optimum, theory=[_WRONG_DELTA]), "divergence",
     "wrong", "test"),
]


@pytest.mark.parametrize("kw, prop, reason, source", [b[1:] for b in BUGS], ids=[b[0] for b in BUGS])
def test_a_bug_is_flagged_with_its_property_and_reason(kw, prop, reason, source):
    err = _fails(**kw)
    assert err.property == prop and reason in err.reason and source in err.source


def test_a_coupled_loss_with_a_pointwise_optimum_is_flagged():
    def d_pairs(o_real, o_fake):
        return np.mean(np.logaddexp(0.0, -(o_real[:, None] - o_fake[None, :])))

    err = _fails(d_loss=d_pairs, optimal_d=lambda p, q: np.log(p / q))
    assert err.property == "separable"


def test_population_descent_and_hvp_properties_can_fail():
    def d_flat(o_real, o_fake):  # a mean over every axis: models of a population are mixed
        return d_ls(o_real, o_fake)[0] if o_real.ndim == 1 else np.mean((o_real - 1) ** 2) / 2 + np.mean(o_fake ** 2) / 2

    assert _fails(d_loss=d_flat, population=True).property == "population axes"
    assert _fails(d_loss=d_ls_gradient_sign, skip=["gradient (D)"]).property == "descent (D)"
    ragan = L.get("ragan")
    vg, hvp, traced = ragan.d_coupled.value_grad, ragan.d_coupled.hvp, ragan.d_coupled.traced
    broken = dataclasses.replace(ragan, d_coupled=L.Coupled(vg, lambda *a: tuple(2 * h for h in hvp(*a)), traced))
    assert _fails(d_loss=broken).property == "Hessian-vector product (D)"


def test_a_function_that_raises_or_returns_a_vector_is_a_counterexample():
    err = _fails(d_loss=lambda o_r, o_f: o_r.mean() + o_f.mean() if o_r.size > 1 else 1 / 0)
    assert err.property == "shapes" and "raised ZeroDivisionError" in err.reason
    err = _fails(d_loss=lambda o_r, o_f: o_r[..., :1] ** 2 + o_f.mean())
    assert err.property == "shapes" and "one value per model" in err.reason


def test_failures_are_deterministic():
    a = _fails(d_loss=d_ls, g_loss=g_ls, optimal_d=ls_wrong_optimum)
    b = _fails(d_loss=d_ls, g_loss=g_ls, optimal_d=ls_wrong_optimum)
    assert str(a) == str(b)


# --- check_loss: correct losses pass


@pytest.mark.parametrize("loss", [L.get(n) for n in L.LOSSES.names()]
                         + [L.get("ls", a=-1, b=1, c=0), L.get("ls", a=0.5, b=2.0, c=-1.0),
                            L.get("nonsat", label_smooth=0.1), L.get("minimax", label_smooth=0.3)], ids=lambda l: l.label)
def test_every_registered_loss_passes(loss):
    report = check_loss(loss, max_examples=6, divergence_examples=1)
    expected = {"shapes", "population axes", "mean over the minibatch", "sign convention (D)",
                "gradient (D)", "gradient (G)", "descent (D)", "descent (G)",
                "Hessian-vector product (D)", "Hessian-vector product (G)"}
    if loss.has_optimal_d:
        expected |= {"separable", "optimal D"}
    if loss.theory and loss.has_optimal_d:
        expected.add("divergence")
    if loss.zero_sum:
        expected.add("zero-sum")
    if not (loss.has_optimal_d and any(t.side != "d" for t in loss.theory)):
        expected.add("sign convention (G)")  # else G's criterion is checked by its identity
    assert set(report.passed) == expected, report.skipped
    assert set(report.passed) | set(report.skipped) == set(PROPERTIES)


def test_a_correct_user_loss_in_numpy_passes():
    report = check_loss(d_ls, g_ls, like="ls", **FAST)
    assert {"optimal D", "divergence", "gradient (D)", "gradient (G)"} <= set(report.passed)
    report = check_loss(d_ls, g_ls, optimal_d=ls_optimum, name="my lsgan", **FAST)
    assert report.loss == "my lsgan" and "optimal D" in report.passed
    assert report.skipped["divergence"] == "no divergence identity stated"
    assert "sign convention (G)" in report.passed
    report = check_loss(d_ce, g_minimax, like="minimax", **FAST)
    assert {"zero-sum", "divergence"} <= set(report.passed)
    # G of o_fake only, with a keyword; G of both vectors
    check_loss(d_ce, lambda o_fake, scale=1.0: g_minimax(scale * o_fake), like="minimax", **FAST)
    check_loss(d_ce, lambda o_real, o_fake: (g_minimax(o_fake)[0], None, g_minimax(o_fake)[1]), like="minimax", **FAST)


def test_d_alone_is_checked_without_g():
    report = check_loss(d_ls, like="ls", **FAST)
    assert {"optimal D", "divergence", "gradient (D)"} <= set(report.passed)
    assert report.skipped["gradient (G)"] == "no G loss given"
    g_side = [t for t in L.get("nonsat").theory if t.side == "g"]
    report = check_loss(d_ce, optimal_d=lambda p, q: np.log(p / q), theory=g_side, **FAST)
    assert "G's criterion" in report.skipped["divergence"]


def test_value_only_functions_skip_the_gradient_properties():
    report = check_loss(lambda o_r, o_f: d_ls(o_r, o_f)[0], lambda o_f: g_ls(o_f)[0], like="ls", **FAST)
    assert "optimal D" in report.passed and "divergence" in report.passed
    assert report.skipped["gradient (D)"] == "d_loss returns a value only"


def test_loss_test_makes_a_pytest_function():
    loss_test(d_ls, g_ls, like="ls", **FAST)()
    with pytest.raises(AssertionError, match="sign convention \\(D\\)"):
        loss_test(d_ls_swapped, g_ls, like="ls", **FAST)()


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown properties"):
        check_loss("nonsat", skip=["gradient"])
    with pytest.raises(ValueError, match="states its own"):
        check_loss("nonsat", g_ls)
    with pytest.raises(TypeError, match="d_loss must be"):
        check_loss(3.0)


# --- the strategies


@settings(max_examples=30, deadline=None)
@given(outputs(batch=(2, 5), population=1, bound=3.0))
def test_outputs_are_bounded_with_population_axes(o):
    assert o.ndim == 2 and 1 <= o.shape[0] <= 3 and 2 <= o.shape[1] <= 5
    assert np.all(np.abs(o) <= 3.0) and o.dtype == np.float64


@settings(max_examples=30, deadline=None)
@given(output_pairs(paired=True, population=(2,)), output_pairs(bound=1.0, dtype=np.float32))
def test_output_pairs_share_population_axes(paired, free):
    assert paired[0].shape == paired[1].shape and paired[0].shape[0] == 2
    assert free[0].dtype == np.float32 and np.all(np.abs(np.concatenate(free)) <= 1.0)
    L.get("rsgan").d_loss(*paired)  # equal batch sizes, as a paired loss needs


NET = MLP((2, 3, 1), ("tanh", "identity"))
BN = MLP((2, 3, 1), ("relu", "identity"), batch_norm=(True, False))


@settings(max_examples=20, deadline=None)
@given(mlp_params(NET, bound=0.5), mlp_params(BN, population=2), mlp_params(NET, scheme="glorot_uniform"))
def test_mlp_params_fit_the_net(theta, pop, init):
    assert theta.shape == (NET.n_params,) and np.all(np.abs(theta) <= 0.5)
    assert pop.shape == (2, BN.n_params) and np.all(np.abs(BN.layout.views(pop)["gamma1"]) >= 0.1)
    assert init.shape == (NET.n_params,) and np.all(np.isfinite(NET(init, np.ones((4, 2)))))


@settings(max_examples=20, deadline=None)
@given(game_points(games.dirac_gan(), near="equilibrium", radius=0.1), directions(5))
def test_game_points_and_directions(z, v):
    assert np.all(np.abs(z - games.dirac_gan().points["equilibrium"]) <= 0.1)
    assert abs(np.linalg.norm(v) - 1.0) < 1e-12


def test_game_points_refuse_unknown_names():
    with pytest.raises(ValueError, match="no point 'nash'"):
        game_points(games.dirac_gan(), near="nash")


@settings(max_examples=3, deadline=None)
@given(distribution_pairs())
def test_distribution_pairs_have_finite_divergences(pair):
    p, q = pair
    for name, div in theory.DIVERGENCES.items():
        assert np.isfinite(div(p, q)), name
