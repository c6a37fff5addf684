"""The training choices shared by every configuration (gandyn.engine.training): one set of
checks for the MNIST config and the populations, the engine objects they build, and a
method object (lookahead around another method) that every configuration takes."""
import numpy as np
import pytest

from gandyn.distributions import ring2d
from gandyn.engine import optim
from gandyn.engine.methods import SGA, AltGD, Extragradient, Lookahead, Unrolled, as_method
from gandyn.engine.training import TrainingConfig
from gandyn.engine import population
from gandyn.experiments import gan1d, mnist, mog
from gandyn.experiments.mnist import NETWORKS, MnistConfig

from _mnist_dir import blob_images

SMALL = dict(networks=NETWORKS.replace(z_dim=8, hidden_g=16, hidden_d=16), n_train=200)

#: Every experiment's configuration holds a TrainingConfig: the choices are checked there once.
CONFIGS = {
    "MnistConfig": lambda t: MnistConfig(training=t),
    "population.Setup": lambda t: population.Setup(ring2d(), networks=population.Networks(hidden_g=(4,), hidden_d=(4,)),
                                                   training=t),
    "gan1d.setup": lambda t: gan1d.setup(training=t),
    "MogConfig": lambda t: mog.MogConfig(training=t, networks=population.Networks(hidden_g=(4,), hidden_d=(4,))),
}

BAD = [
    (dict(k=0), "k must be an integer >= 1"),
    (dict(batch=True), "batch must be an integer >= 1"),
    (dict(optimizer="rmsprop"), "rmsprop"),
    (dict(b1=1.0), r"b1 must be in \[0, 1\)"),
    (dict(b2="0.9"), r"b2 must be in \[0, 1\)"),
    (dict(mu=-0.1), r"mu must be in \[0, 1\)"),
    (dict(g_ema=1.0), r"g_ema must be in \[0, 1\)"),
    (dict(eps=0.0), "eps must be a finite number > 0"),
    (dict(adam_tf="yes"), "adam_tf must be True or False"),
    (dict(spectral_norm=1), "spectral_norm must be True or False"),
    (dict(loss="wasserstein"), "wasserstein"),
    (dict(method="nope"), "unknown method 'nope'"),
    (dict(method="lookahead:extragradient"), "a method is a name or an object"),
    (dict(method=Extragradient), "a method is an object with init and step"),
    (dict(method={"name": "cgd"}), "a method is an object with init and step"),
    (dict(method=AltGD(k_d=2)), "toy games' options"),
    (dict(loss="hinge", penalty="r1"), "the r1 penalty is not used with the 'hinge' loss"),
    (dict(method=Lookahead(inner=SGA()), spectral_norm=True), "sga needs exact Jacobian products"),
    (dict(clip=-1.0), "clip must be a finite number > 0"),
    (dict(loss="wgan", clip="a"), "clip must be a finite number > 0"),
    (dict(penalty="r1", penalty_weight=None), "penalty_weight must be a finite number > 0"),
]


@pytest.mark.parametrize("bad, match", BAD, ids=[next(iter(b)) + "-" + m[:12] for b, m in BAD])
def test_the_training_choices_are_checked(bad, match):
    with pytest.raises(ValueError, match=match):
        TrainingConfig(**bad)


@pytest.mark.parametrize("name", CONFIGS)
def test_every_config_holds_a_training_config(name):
    good = TrainingConfig(method=Lookahead(inner=Extragradient(), k_la=3), penalty="r1", penalty_weight=0.5,
                          g_ema=0.9)
    assert CONFIGS[name](good).training is good
    with pytest.raises(ValueError, match="training must be a TrainingConfig"):
        CONFIGS[name]({"batch": 8})


def test_good_choices_build_their_objects():
    cfg = TrainingConfig(method=Lookahead(inner=Extragradient(), k_la=3), penalty="r1", penalty_weight=0.5,
                         g_ema=0.9)
    m = cfg.method
    assert (m.name, m.k_la, m.inner.name) == ("lookahead", 3, "extragradient")
    assert cfg.make_penalty().weight == 0.5
    assert isinstance(cfg.make_g_optimizer(1e-3).init(np.zeros(3)), optim.AveragedState)


def test_lookahead_and_its_inner_method_each_take_their_options():
    cfg = TrainingConfig(method=Lookahead(inner=Unrolled(unroll=3), k_la=2))
    assert (cfg.method.k_la, cfg.method.inner.unroll) == (2, 3)
    from gandyn.cli import parse_methods
    assert parse_methods(["lookahead:unrolled"], ["unroll=3", "k_la=2"]) == [cfg.method]


def test_a_key_two_methods_of_one_spec_take_is_refused():
    """The built-in methods name each option once (lookahead's interpolation weight alpha, the
    opponent's step opponent_lr of la, lola and sos), so a bare key goes to every method that
    takes it; a key that lookahead and its inner method both take (here a registered method with
    an option k_la) names two options and is refused."""
    from dataclasses import dataclass

    from gandyn.cli import parse_methods
    from gandyn.engine.methods import LA, LOLA, METHODS, SimGD
    assert (parse_methods(["lookahead:lola"], ["opponent_lr=0.5", "alpha=0.25"])
            == [Lookahead(inner=LOLA(opponent_lr=0.5), alpha=0.25)])
    assert parse_methods(["la", "lola"], ["opponent_lr=0.5"]) == [LA(opponent_lr=0.5), LOLA(opponent_lr=0.5)]

    @dataclass(frozen=True)
    class Cycled(SimGD):
        k_la: int = 1
        name: str = "cycled"

    METHODS.register("cycled", Cycled)
    try:
        with pytest.raises(ValueError, match=r"write lookahead\.k_la=\.\.\. or cycled\.k_la=\.\.\."):
            parse_methods(["lookahead:cycled"], ["k_la=2"])
        assert parse_methods(["lookahead:cycled"], ["cycled.k_la=2"]) == [Lookahead(inner=Cycled(k_la=2))]
    finally:
        METHODS.unregister("cycled")


def test_the_method_is_saved_as_a_dict_of_its_name_and_fields():
    """to_dict writes the method as {name, fields} (JSON), from_dict builds the same object."""
    import json
    cfg = TrainingConfig(method=Lookahead(inner=Unrolled(unroll=3, eta_u=0.01), k_la=2), b1=0.5)
    d = json.loads(json.dumps(cfg.to_dict()))
    assert d["method"] == {"name": "lookahead", "inner": {"name": "unrolled", "unroll": 3, "eta_u": 0.01},
                           "k_la": 2, "alpha": 0.5}
    assert TrainingConfig.from_dict(d) == cfg and TrainingConfig(method="sga").method == SGA()
    with pytest.raises(ValueError, match="method unrolled has no field k_la"):
        TrainingConfig.from_dict({"method": {"name": "unrolled", "k_la": 2}})
    with pytest.raises(ValueError, match="unroll must be an integer >= 0"):
        TrainingConfig.from_dict({"method": {"name": "unrolled", "unroll": -1}})
    with pytest.raises(ValueError, match="no field method_options"):
        TrainingConfig.from_dict({"method": "altgd", "method_options": {}})


def test_every_config_reads_back_its_json_form():
    """JsonConfig, written once: a MogConfig (methods with options, tuples) and an MnistConfig (a
    step-size schedule, dropout) survive a JSON round trip; an unknown field is refused by name."""
    import json
    configs = [mog.MogConfig(methods=[Lookahead(inner=Extragradient(), k_la=3), "simgd"], lrs=[1e-3, 2e-3], seeds=2,
                             networks=population.Networks(hidden_g=(8,), hidden_d=(8, 4), dtype="float64")),
               MnistConfig(lr_g=((0, 1e-3), (100, 5e-4)), d_dropout=(0.2, 0.5),
                           networks=NETWORKS.replace(hidden_g=16, d_init="uniform_0.005"))]
    for c in configs:
        d = json.loads(json.dumps(c.to_dict()))
        assert type(c).from_dict(d) == c
        with pytest.raises(ValueError, match=f"a {type(c).__name__} has no field colour"):
            type(c).from_dict({**d, "colour": 1})
    assert configs[0].to_dict()["methods"][0] == {"name": "lookahead", "inner": {"name": "extragradient"}, "k_la": 3,
                                                 "alpha": 0.5}
    assert configs[1].to_dict()["lr_g"] == [[0, 1e-3], [100, 5e-4]]


@pytest.mark.parametrize("argv, refused", [
    ("gan1d --optimizer sgd --b1 0.3", "--b1 has no effect: the sgd optimizer does not take it"),
    ("gan1d --optimizer adam --mu 0.5", "--mu has no effect: the adam optimizer does not take it"),
    ("gan1d --method simgd --k 4", "--k has no effect: simgd takes no D steps per G step"),
    ("mog --methods simgd extragradient --k 2", "simgd and extragradient take no D steps per G step"),
    ("gan1d --penalty-weight 3", "--penalty-weight has no effect: no --penalty is given"),
    ("mnist train --noise-until 5", "--noise-until has no effect: no --instance-noise is given")])
def test_options_the_choices_do_not_take_are_refused_where_given(argv, refused):
    from gandyn.cli import build_parser, parse_methods, training_config

    args = build_parser().parse_args(argv.split())
    defaults = TrainingConfig(b1=0.5) if args.command != "mnist" else MnistConfig.training
    with pytest.raises(ValueError, match=refused):
        training_config(args, defaults, parse_methods(args.methods) if args.command == "mog" else None)
    assert training_config(build_parser().parse_args(["gan1d", "--method", "lookahead:altgd", "--k", "4"]),
                           defaults).k == 4  # lookahead around altgd takes k


def test_numbers_are_stored_as_plain_python_numbers():
    """numpy scalars are accepted and stored as floats and ints, so configs write as JSON."""
    import json
    cfg = MnistConfig(training=MnistConfig.training.replace(batch=16, b1=np.float32(0.5), g_ema=np.float64(0.9), k=np.int64(2)), **SMALL)
    assert type(cfg.training.b1) is float and type(cfg.training.k) is int and cfg.training.b1 == 0.5
    json.dumps(cfg.to_dict())


def test_as_method_makes_a_name_its_object_and_parses_nothing():
    assert as_method("extragradient") == Extragradient() and as_method(SGA(lam=2.0)).lam == 2.0
    assert Lookahead(inner="extragradient").inner == Extragradient()
    with pytest.raises(ValueError, match="Lookahead"):
        as_method("lookahead:extragradient")
    with pytest.raises(ValueError, match="inner method must be another method"):
        Lookahead(inner=Lookahead())


def test_the_optimizers_a_config_builds():
    rng = np.random.default_rng(0)
    theta, grad = rng.normal(size=5), rng.normal(size=5)
    for adam_tf in (False, True):
        mine, ref = TrainingConfig(adam_tf=adam_tf).make_optimizer(1e-2), optim.adam(1e-2, eps_hat=adam_tf)
        a, b = theta.copy(), theta.copy()
        sa, sb = mine.init(a), ref.init(b)
        for _ in range(3):
            sa, sb = mine.update(a, grad, sa), ref.update(b, grad, sb)
        np.testing.assert_array_equal(a, b)
    # clipping is D's only: its parameters stay in [-c, c] after a large step
    cfg = TrainingConfig(optimizer="sgd", loss="wgan", clip=0.01)
    d, g = theta.copy(), theta.copy()
    cfg.make_d_optimizer(1.0).update(d, grad, cfg.make_d_optimizer(1.0).init(d))
    cfg.make_g_optimizer(1.0).update(g, grad, cfg.make_g_optimizer(1.0).init(g))
    assert np.all(np.abs(d) <= 0.01) and np.allclose(g, theta - grad)


def test_mnist_trains_with_lookahead_around_extragradient(tmp_path):
    """The MNIST run takes a method object as the populations do: lookahead-minmax
    (Chavdarova et al. 2021) moves the weights to the slow weights every k_la steps."""
    cfg = MnistConfig(training=MnistConfig.training.replace(batch=16, method=Lookahead(inner=Extragradient(), k_la=2)),
                      **SMALL)
    run = mnist.new_run(cfg, blob_images())
    assert run.trainer.method.inner.name == "extragradient"
    theta0 = run.trainer.theta_g.copy()
    mnist.train(run, 4, tmp_path, progress=False, grid_every=0)
    state = run.trainer.method_state
    assert state["n"] == 4 and np.all(np.isfinite(run.losses))
    np.testing.assert_array_equal(run.trainer.theta_g, state["slow_g"])
    assert not np.array_equal(run.trainer.theta_g, theta0)


def test_trainer_of_a_config_asks_for_the_streams_in_use_only_and_takes_k_and_method_of_a_unit():
    """TrainingConfig.trainer: each feature's stream is asked for by its name iff the feature is on;
    ``k`` and ``method`` given override the config's (a population's unit)."""
    from gandyn.engine.gan import GAN
    from gandyn.engine.nn import MLP
    from gandyn.engine.trainer import FixedBatches

    gan = GAN(MLP((1, 4, 1), ("tanh", "identity")), MLP((1, 4, 1), ("tanh", "identity")))
    rng = np.random.default_rng(0)
    batches = FixedBatches(rng.normal(size=(8, 1)), rng.uniform(-1, 1, (8, 1)))
    for cfg, want in ((TrainingConfig(batch=8), []), (TrainingConfig(batch=8, penalty="gp", loss="wgan"), ["penalty"]),
                      (TrainingConfig(batch=8, spectral_norm=True, instance_noise=0.1),
                       ["spectral_norm", "instance_noise"])):
        asked = []

        def stream(name):
            asked.append(name)
            return np.random.default_rng(len(asked))

        tr = cfg.trainer(gan, cfg.make_g_optimizer(1e-3), cfg.make_d_optimizer(1e-3), gan.G.init(rng), gan.D.init(rng),
                         batches, stream)
        assert asked == want and tr.k == cfg.k and tr.method == cfg.method
        assert (tr.penalty is None) == (cfg.penalty is None) and (tr.spectral_norm is None) == (not cfg.spectral_norm)
        assert (tr.instance_noise is None) == (not cfg.instance_noise)
        tr.step()
    unit = cfg.trainer(gan, cfg.make_g_optimizer(1e-3), cfg.make_d_optimizer(1e-3), gan.G.init(rng), gan.D.init(rng),
                       batches, stream, k=3, method="simgd")
    assert unit.k == 3 and unit.method.name == "simgd"
