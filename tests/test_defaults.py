"""Every command's defaults are its Python configuration's: running from the command line
or from Python trains the same benchmark."""
import numpy as np

from gandyn.cli import build_parser, fill_common
from gandyn.cli import gan1d as cli_gan1d
from gandyn.cli import mnist as cli_mnist
from gandyn.cli import mog as cli_mog
from gandyn.experiments import gan1d, landscape, mnist, mog


def parse(*argv):
    return build_parser().parse_args(list(argv))


def test_gan1d_defaults_are_setups():
    args = parse("gan1d")
    assert cli_gan1d._setup(args, sweep=False) == gan1d.setup()
    assert cli_gan1d._setup(args, sweep=True) == gan1d.setup(networks=gan1d.NETWORKS.replace(dtype=np.float32))
    assert gan1d.setup().training == gan1d.TRAINING and gan1d.TRAINING.batch == 64
    # the network options (cli.add_network_arguments): widths, one int the network of before
    wide = cli_gan1d._setup(parse("gan1d", "--hidden-g", "8", "--hidden-d", "6", "5"), sweep=False).networks
    assert (wide.hidden_g, wide.hidden_d) == ((8,), (6, 5)) and wide == gan1d.NETWORKS.replace(hidden_g=8, hidden_d=(6, 5))


def test_mnist_train_defaults_are_mnist_configs():
    args = fill_common(parse("mnist", "train"), "mnist-train")
    assert cli_mnist._config(args) == mnist.MnistConfig()
    assert mnist.MnistConfig().training.adam_tf  # the talk's TensorFlow Adam


def test_mog_defaults_are_mog_configs():
    """The documented benchmark: 64-64 networks, lr 5e-3, ttur 2, 4000 steps, decay 0.1, 100 seeds."""
    cfgs = cli_mog._configs(parse("mog"))
    assert [c.data for c in cfgs] == ["ring8", "grid25"]
    assert cfgs == [mog.MogConfig(data=d) for d in ("ring8", "grid25")]
    c = mog.MogConfig()
    assert (c.networks.hidden_g, c.networks.hidden_d, c.lrs, c.ttur, c.steps, c.decay, c.seeds) == ((64, 64), (64, 64), (5e-3,), 2.0,
                                                                                   4000, 0.1, 100)
    quick = cli_mog._configs(parse("mog", "--quick", "--data", "ring8"))
    assert quick == [mog.MogConfig(data="ring8", **mog.QUICK)]


def test_landscape_defaults_are_analyses():
    import inspect

    args = parse("landscape", "--run", ".")
    for name, p in inspect.signature(landscape.analyse).parameters.items():
        if hasattr(args, name) and p.default is not p.empty:
            assert getattr(args, name) == p.default, name
    assert args.dense_max == landscape.DENSE_MAX


def test_run_and_train_defaults_are_the_functions():
    from gandyn.cli import defaults_of

    r, s = defaults_of(gan1d.record_run), defaults_of(gan1d.sweep)
    args = parse("gan1d")
    assert (args.lr_g, args.lr_d, args.record_every, cli_gan1d._steps(args)) == (r["lr_g"], r["lr_d"],
                                                                                r["record_every"], r["steps"])
    args = parse("gan1d", "--sweep")
    assert (args.threshold, cli_gan1d._steps(args)) == (s["threshold"], s["steps"])
    args, t = parse("mnist", "train"), defaults_of(mnist.train)
    assert (args.checkpoint_every, args.grid_every, args.keep_every) == (t["checkpoint_every"], t["grid_every"],
                                                                         t["keep_every"])
