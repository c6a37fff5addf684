"""The talk's vanilla GAN on MNIST.

  gandyn mnist train --iters N --out DIR    train (the talk's config by default); --resume continues
  gandyn mnist sample --checkpoint F        a grid of samples from a checkpoint
  gandyn mnist eval --checkpoint F          Parzen log-likelihood, Inception score, Frechet and kernel
                                            Inception distances, mode coverage of 10,000 samples, into JSON
  gandyn mnist classifier                   train the MNIST classifier the metrics use
  gandyn mnist plot --run DIR               loss curves and sample grids over time of a run

MNIST is looked for in --data-dir, then $GANDYN_DATA, then ~/.cache/gandyn/mnist, and
downloaded there if absent. Run `gandyn mnist ACTION --help` for each action's options.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

from gandyn import data
from gandyn.app.folders import check_dir_path, ensure_dir, output_folder
from gandyn.app.machine import check_memory
from gandyn.cli import (_add_common, _number, add_network_arguments, add_training_arguments, apply_protocol,
                        defaults_of, fill_common, given_fields, int_in, nonneg_int, option, positive_float,
                        positive_int, training_config, unit_float, write_figures)
from gandyn.engine.population import Networks
from gandyn.errors import begin_work
from gandyn.experiments import mnist
from gandyn.experiments.evaluation import (N_CLASSES, N_SAMPLES, SPLITS, evaluate_samples, min_samples, real_ceilings,
                                           summary)
from gandyn.experiments.mnist import PIXELS, PROTOCOLS, MnistConfig
from gandyn.io import write_json
from gandyn.metrics.classifier import load_classifier, save_classifier, train_classifier
from gandyn.rng import stream

HELP = "train, sample and evaluate the talk's vanilla GAN on MNIST"

ACTIONS = ("train", "sample", "eval", "classifier", "plot")


def _data_dir(p):
    p.add_argument("--data-dir", metavar="D", default=None,
                   help="folder with the MNIST IDX files (searched before $GANDYN_DATA and the cache)")


def _train_arguments(p):
    c, t = MnistConfig(), defaults_of(mnist.train)
    option(p, "--iters", positive_int, "total training iterations", default=100_000)
    p.add_argument("--resume", action="store_true", help="continue the run in --out with its saved config (options "
                   "that would change it are refused; --lr/--lr-g/--lr-d change the step sizes from here on)")
    for flag, what in (("--checkpoint-every", "write a checkpoint every N iterations, 0 = only at the end"),
                       ("--keep-every", "also keep checkpoints/iter_XXXXXXX.npz every N iterations, 0 = never"),
                       ("--grid-every", "write a 4x4 sample grid every N iterations, 0 = never")):
        option(p, flag, nonneg_int, what, of=t, metavar="N")
    _data_dir(p)
    m = p.add_argument_group("model and algorithm (defaults: the talk's code)")
    o = lambda *a, **k: option(m, *a, of=c, **k)  # noqa: E731
    add_network_arguments(m, c.networks, "--z-dim", "--hidden-g", "--hidden-d", "--hidden-act", "--init", "--d-init",
                          "--latent", "--d-pieces", "--g-batch-norm")
    add_training_arguments(m, c.training)
    o("--lr", positive_float, f"step size of both players (default: {c.lr_g:g}); --lr-g/--lr-d set one", default=None)
    o("--lr-g", positive_float, "G's step size", default=None)
    o("--lr-d", positive_float, "D's step size", default=None)
    o("--n-train", positive_int, "train on the first N training images")
    o("--d-dropout", unit_float, "dropout probability of the input of each D layer (input, then each hidden layer), "
                                 "e.g. 0.2 0.5 for one hidden layer (default: none)", nargs="+", metavar="P")
    o("--label-smooth", unit_float, "one-sided label smoothing: D's target for data is 1-A", metavar="A")
    o("--lr-decay", float, "step sizes divided by F after each step, F >= 1 (default: 1, constant)", metavar="F")
    o("--lr-min", float, "floor of the decayed step sizes")
    o("--mu-final", unit_float, "momentum optimizer: mu moves linearly to this from epoch 1 to --mu-saturate "
                                "(default: off)")
    o("--mu-saturate", positive_int, "epoch where the momentum reaches --mu-final")
    o("--protocol", None, "a published protocol's settings (goodfellow2014: Goodfellow et al. 2014's mnist.yaml); an "
      "option given as well replaces that setting, with a note (see docs/mnist.md)", choices=[*PROTOCOLS], default=None)


def _checkpoint_args(p):
    p.add_argument("--checkpoint", metavar="F", required=True,
                   help="a checkpoint.npz written by `gandyn mnist train`")
    p.add_argument("--no-ema", action="store_true",
                   help="sample G's trained parameters, not their moving average (for runs with --g-ema)")


def add_arguments(p):
    sub = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p), required=True)
    specs = {  # each action's help, options and run
        "train": ("train the GAN (the talk's config by default)", _train_arguments, _train),
        "sample": ("draw a grid of samples from a checkpoint", lambda q: (
            _checkpoint_args(q), option(q, "--n", positive_int, "number of samples", default=16)), _sample),
        "eval": ("Parzen LL, Inception score, Frechet and kernel Inception distances, mode coverage "
                 "of 10,000 samples", lambda q: (_checkpoint_args(q), _data_dir(q), add_eval_arguments(q)), _eval),
        "classifier": ("train the MNIST classifier used by eval (the shipped weights' recipe)",
                       lambda q: (_data_dir(q), add_classifier_arguments(q)), run_classifier),
        "plot": ("loss curves and sample grids over time of a training run", _plot_arguments, _plot),
    }
    for name, (help_, add, act) in specs.items():  # in the order of ACTIONS
        q = sub.add_parser(name, help=help_, description=help_, formatter_class=argparse.RawDescriptionHelpFormatter)
        add(q)
        # no defaults here: they would overwrite `gandyn mnist --out X sample ...`
        _add_common(q, f"mnist-{name}", deferred=True)
        q.set_defaults(_act=act)


def _plot_arguments(p):
    p.add_argument("--run", metavar="DIR", required=True, help="the --out folder of `gandyn mnist train`")
    p.add_argument("--at", type=nonneg_int, nargs="+", default=None, metavar="IT",
                   help="iterations whose grids to show (default: 7 spread over the run)")
    p.add_argument("--window", type=positive_int, default=1000, help="running-mean window of the losses")
    p.add_argument("--evals", nargs="+", default=None, metavar="E",
                   help="eval.json files (or folders holding one) of `gandyn mnist eval` on this run's "
                        "checkpoints: also plot Parzen, IS and FID against the iteration")


def run(args) -> int:
    fill_common(args, f"mnist-{args.action}")  # --seed/--out/--quiet given before or after the action
    return args._act(args)


def blas_threads(args) -> int:
    """BLAS threads of each action (see :func:`gandyn.cli.blas_threads`): every core for
    ``eval`` and ``classifier`` (large GEMMs over thousands of images), 1 for the others
    (training steps are chains of small GEMMs)."""
    return (os.cpu_count() or 1) if args.action in ("eval", "classifier") else 1


def _config(args):
    """The :class:`~gandyn.experiments.mnist.MnistConfig` of ``gandyn mnist train``'s options: each
    option of a field's name sets that field (--lr sets both step sizes, --lr-g/--lr-d one). With
    ``--protocol`` its settings go into ``args`` first, options given winning, each named on stderr
    (:func:`gandyn.cli.apply_protocol`)."""
    args.lr_g, args.lr_d = args.lr_g or args.lr, args.lr_d or args.lr
    if "lr" in args._given:
        args._given |= {"lr_g", "lr_d"}
    training, protocol, fixed, extra = MnistConfig.training, "", {}, {}
    if getattr(args, "protocol", None):
        protocol, fixed, extra = apply_protocol("mnist train", args.protocol, PROTOCOLS[args.protocol]["settings"],
                                                args, training)
        if args.optimizer != "momentum" and args.mu_final is not None and "mu_final" not in args._given:
            print(f"gandyn mnist train: note: the protocol's momentum ramp (--mu-final {args.mu_final:g}) is "
                  f"dropped: the {args.optimizer} optimizer has no momentum", file=sys.stderr)  # it goes with momentum
            args.mu_final, args.mu_saturate = None, args.mu_saturate if "mu_saturate" in args._given else None
            extra.pop("mu_start", None)
    flat = {**given_fields(args, Networks), "hidden_act": args.hidden_act, **given_fields(args, MnistConfig), **extra}
    return MnistConfig(**mnist.nested(flat) | {"protocol": protocol,
                                               "training": training_config(args, training.replace(**fixed))})


def _check_resume_options(args, saved, ckpt) -> None:
    """Refuse options given with ``--resume`` that would change the saved run (only the step
    sizes may change): an option given (whatever its value) that differs from the saved value."""
    def flat(c):  # the config's settings by option name, but the step sizes
        d = {**vars(c), **vars(c.networks), **c.training.to_dict(), "hidden_act": c.networks.act_g}
        return {n: v for n, v in d.items() if n not in ("networks", "training", "act_g", "act_d", "lr_g", "lr_d")}

    given, saved = flat(_config(args)), flat(saved)
    if said := [f"--{n.replace('_', '-')} {v!r} (saved: {saved[n]!r})" for n, v in given.items()
                if v != saved[n] and n in args._given]:
        raise ValueError(f"--resume continues {ckpt} with its saved config, and these options would change it: "
                         f"{', '.join(said)}; only --lr, --lr-g and --lr-d may change on resume")


def check_run_memory(config, iters: int = 0) -> None:
    """A ``ValueError`` naming the model's size when a run of ``iters`` iterations of the
    :class:`~gandyn.experiments.mnist.MnistConfig` ``config`` cannot fit in memory."""
    (p_g, p_d), n = config.n_params(), config.networks
    check_memory(config.memory_bytes(iters),
                 f"a run of {iters:,} iterations with G {'-'.join(map(str, (n.z_dim, *n.hidden_g, PIXELS)))}"
                 f" and D {'-'.join(map(str, (PIXELS, *n.hidden_d, 1)))} ({p_g + p_d:,} parameters, "
                 f"batch {config.training.batch:,})")


def _train(args) -> int:
    from gandyn.plotting.mnist import save_grid

    if args.resume:
        check_memory(8 * args.iters, f"--iters {args.iters:,} (the loss history)")
    else:
        check_run_memory(config := _config(args), args.iters)  # a bad option fails before any work
    out = check_dir_path(args.out)  # a file in the way: a one-line error, nothing created
    ckpt = out / mnist.CHECKPOINT
    if args.resume:
        _check_resume_options(args, mnist.checkpoint_config(ckpt), ckpt)  # no checkpoint: it says so
    elif ckpt.exists():
        raise ValueError(f"{ckpt} exists: pass --resume to continue it, or choose another --out")
    images, _ = data.load_mnist("train", data_dir=args.data_dir, progress=not args.quiet)
    if args.resume:
        lr_g, lr_d = args.lr_g or args.lr, args.lr_d or args.lr  # --lr sets both
        tr = mnist.load_checkpoint(ckpt, images, lr_g=lr_g, lr_d=lr_d)
        if args.iters < tr.it:
            raise ValueError(f"--iters {args.iters} is below the checkpoint's iteration {tr.it}")
        check_run_memory(tr.config, args.iters)
        print(f"resuming {ckpt} at iteration {tr.it} with its saved config")
        if lr_g or lr_d:
            print(f"step sizes from iteration {tr.it} on: G {lr_g or 'unchanged'}, D {lr_d or 'unchanged'}")
    else:
        tr = mnist.new_run(config, images)
    del images
    out = ensure_dir(out)  # only now: a failed start leaves no empty folder
    begin_work()  # the checks are done: an error from here on is not the input's
    res = mnist.train(tr, args.iters, out, checkpoint_every=args.checkpoint_every, grid_every=args.grid_every,
                      save_grid=save_grid, progress=not args.quiet, keep_every=args.keep_every)
    loss_d, loss_g = (tr.losses[tr.it - 1] if tr.it else (float("nan"),) * 2)
    print(f"iteration {res['iteration']}: loss_D {loss_d:.4f}, loss_G {loss_g:.4f}; "
          f"{res['it_per_s']:.0f} it/s over {res['seconds']:.1f} s; checkpoint {ckpt}"
          + (" (interrupted; continue with --resume)" if res["interrupted"] else ""))
    return 130 if res["interrupted"] else 0


def _sample(args) -> int:
    from gandyn.plotting.mnist import grid_figure

    # the samples and the figure's image (about 10 float64 copies of each sample)
    check_memory(100 * 784 * args.n, f"--n {args.n:,} samples")
    tr = mnist.load_checkpoint(args.checkpoint)
    x = mnist.generate(tr, args.n, stream(args.seed, "sample"), ema=not args.no_ema)
    write_figures(args.out, "mnist sample", [(grid_figure(x, f"iteration {tr.it:,}, seed {args.seed}"), "samples")])
    return 0


def _eval(args) -> int:
    check_memory(40 * 784 * args.samples, f"--samples {args.samples:,}")
    tr = mnist.load_checkpoint(args.checkpoint)
    if args.parzen_valid is None and tr.config.protocol.startswith("goodfellow2014"):
        args.parzen_valid = 50_000  # their parzen_ll.py: the first 1,000 images of their validation set
    if args.parzen_valid is not None and not tr.config.n_train <= args.parzen_valid <= 59_000:
        raise ValueError(f"--parzen-valid {args.parzen_valid}: the 1,000 images must lie in "
                         f"{tr.config.n_train}..59,999, held out from this run's training images")
    samples = mnist.generate(tr, args.samples, stream(tr.config.seed, "eval"), ema=not args.no_ema)
    run_eval(args, samples, meta={"checkpoint": str(args.checkpoint), "iteration": tr.it, "generator": "moving average"
                                  if tr.g_average is not None and not args.no_ema else "trained parameters"})
    return 0


def _plot(args) -> int:
    from gandyn.plotting import mnist as figs

    run_dir = Path(args.run)
    if not run_dir.is_dir():
        raise ValueError(f"--run {run_dir}: no such folder")
    # everything is read and checked before any output: a bad file fails with nothing written
    evals = _read_evals(args.evals) if args.evals else None
    losses = mnist.read_losses(run_dir / "losses.csv")
    grids = {}  # iteration -> path of the grids iter_<iteration>.png (none when grids is not a folder)
    for p in sorted((run_dir / "grids").glob("iter_*.png")):
        if not (m := re.fullmatch(r"iter_(\d+)\.png", p.name)):
            raise ValueError(f"{p}: not a grid of `gandyn mnist train` (expected iter_<iteration>.png)")
        grids[int(m.group(1))] = p
    if not grids:
        raise ValueError(f"no sample grids in {run_dir / 'grids'}")
    its = sorted(grids)
    chosen = args.at or sorted({its[round(j * (len(its) - 1) / 6)] for j in range(7)})
    if missing := [i for i in chosen if i not in grids]:
        raise ValueError(f"--at: no grid for iterations {missing} in {run_dir / 'grids'}")
    figures = [(figs.loss_figure(losses, window=args.window,
                                 title=f"{run_dir.name}: losses over {len(losses):,} iterations"), "losses"),
               (figs.grids_over_time_figure([(i, figs.read_grid(grids[i])) for i in chosen]), "grids_over_time")]
    if evals:
        from gandyn.plotting.evaluation import metrics_over_training_figure

        figures.append((metrics_over_training_figure(evals, title=f"{run_dir.name}: sample quality over training"),
                        "metrics"))
    write_figures(args.out, "mnist plot", figures)
    return 0


def _read_evals(paths) -> dict:
    """``label -> [eval result, ...]`` from eval.json files (or their folders); the label
    says which generator was scored (the moving average or the trained parameters), and
    the run (its checkpoint's folder) when they are of several runs."""
    results, series = [], {}
    for p in map(Path, paths):
        f = p / "eval.json" if p.is_dir() else p
        if not f.is_file():
            raise ValueError(f"--evals: no eval.json at {p}")
        try:
            r = json.loads(f.read_text())
            r["iteration"], r["samples"]["parzen"]["mean"]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"--evals: {f} is not an eval.json of `gandyn mnist eval` on a checkpoint") from None
        results.append((Path(r.get("checkpoint", "")).parent.name, r))
    several = len({who for who, _ in results}) > 1
    for who, r in results:
        series.setdefault((f"{who}: " if several else "") + r.get("generator", "trained parameters"), []).append(r)
    return series


# --- the evaluation's and the classifier's options and runs


def add_eval_arguments(p) -> None:
    """Options of ``gandyn mnist eval`` owned by the evaluation."""
    least = _number(int, "int", lambda v: v >= min_samples(), f"an integer >= {min_samples()} (the Inception "
                    f"score's {SPLITS} splits need {N_CLASSES} samples each, one per class)")
    option(p, "--samples", least, f"generated samples to score, at least {min_samples()} (default: {N_SAMPLES}, "
                                  "as Goodfellow et al. 2014)", default=N_SAMPLES)
    p.add_argument("--classifier", metavar="NPZ", default=None,
                   help="classifier weights for IS/FID/KID/modes (default: the ones shipped with gandyn)")
    p.add_argument("--ceilings", action="store_true",
                   help="also score real images in place of samples (the ceiling)")
    p.add_argument("--parzen-valid", type=nonneg_int, default=None, metavar="START",
                   help="cross-validate the Parzen width on training images START..START+999 (default: 55000; "
                        "50000, as Goodfellow et al.'s parzen_ll.py, for a goodfellow2014 run)")


def run_eval(args, samples, meta: dict | None = None) -> dict:
    """Score ``samples`` with the options of :func:`add_eval_arguments` (plus the common
    ``--out``, ``--quiet``, ``--seed`` and, if the command has it, ``--data-dir``); write
    ``eval.json``, ``modes.png/.pdf`` and ``parzen_sigma.png/.pdf`` to ``args.out``; print a
    summary. Returns the result dict (``{**meta, "samples": ..., "ceilings": ...}``)."""
    from gandyn import plotting
    from gandyn.plotting import evaluation as figs

    kw = {"data_dir": getattr(args, "data_dir", None), "progress": not args.quiet,
          "classifier": load_classifier(args.classifier)}
    valid = None if (start := args.parzen_valid) is None else slice(start, start + 1000)
    result = {**(meta or {}), "samples": evaluate_samples(samples, **kw, parzen_valid=valid)}
    print(summary(result["samples"]))
    if args.ceilings:
        result["ceilings"] = real_ceilings(**kw)
        print("ceiling (real images):\n" + summary(result["ceilings"]))
    ref = result.get("ceilings", {}).get("modes", {}).get("fractions")
    with output_folder(args.out, "mnist eval") as out:
        write_json(out / "eval.json", result)
        plotting.save(figs.mode_coverage_figure(result["samples"]["modes"], reference=ref), out / "modes")
        plotting.save(figs.parzen_sigma_figure(result["samples"]["parzen"]), out / "parzen_sigma")
    return result


def add_classifier_arguments(p) -> None:
    """Options of the command that trains the classifier (the defaults of
    :func:`~gandyn.metrics.classifier.train_classifier` and ``--seed 0`` are the recipe of the
    shipped weights; see the module docstring)."""
    t = defaults_of(train_classifier)
    option(p, "--epochs", positive_int, "passes over the training images", of=t)
    option(p, "--batch", positive_int, "minibatch size", of=t)
    option(p, "--lr", positive_float, "Adam step size in the first epoch", of=t)
    option(p, "--lr-final", positive_float, "step size in the last epoch, geometric decay in between", of=t)
    option(p, "--hidden", positive_int, "hidden layer widths", nargs="+", of=t)
    option(p, "--max-shift", int_in(0, 27), "random translation of training images, in pixels (at most 27: an "
                                           "image is 28 wide)", of=t)


def run_classifier(args) -> int:
    """Train the classifier on the 60,000 MNIST training images, measure its test accuracy
    with the float16 weights as stored, and write ``mnist_classifier.npz`` (and
    ``classifier.json``) to ``args.out``. Copy the file to ``gandyn/resources/`` to ship it."""
    widths = (784, *args.hidden, 10)
    n_params = sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:]))
    check_memory(4 * (8 * n_params + 6 * args.batch * sum(widths)),
                 f"a classifier {'-'.join(map(str, widths))} ({n_params:,} parameters, batch {args.batch:,})")
    kw = {"data_dir": getattr(args, "data_dir", None), "progress": not args.quiet}
    x, y = data.load_mnist("train", **kw)
    if args.batch > len(x):
        raise ValueError(f"--batch {args.batch:,} exceeds the {len(x):,} training images")
    xt, yt = data.load_mnist("test", **kw)
    t0 = time.perf_counter()
    clf = train_classifier(x, y, stream(args.seed, "classifier"), **given_fields(args, train_classifier),
                           progress=kw["progress"])
    seconds = time.perf_counter() - t0
    with output_folder(args.out, "mnist classifier") as out:
        path = out / "mnist_classifier.npz"
        save_classifier(path, clf, seed=int(args.seed), seconds=round(seconds, 1))
        stored = load_classifier(path)  # float16 round trip: measure what is shipped
        acc = stored.accuracy(xt, yt)
        save_classifier(path, stored, seed=int(args.seed), seconds=round(seconds, 1), test_accuracy=acc)
        size = path.stat().st_size
        write_json(out / "classifier.json", {**load_classifier(path).meta, "file": str(path), "bytes": size})
    print(f"test accuracy {acc:.4f} ({stored.net.n_params} parameters, float16, {size / 1e6:.2f} MB, "
          f"{seconds:.0f} s); wrote {path}")
    return 0
