"""Train a tiny 1D GAN (data N(4, 0.5^2), z ~ U(-1, 1), G 1-16-1 tanh, D 1-32-1 ReLU, Adam)
and write demo.png / demo.pdf: data density, generator histogram and D(x)."""
from __future__ import annotations

from gandyn.cli import option, positive_float, positive_int, write_figures

HELP = "train a tiny 1D GAN and plot data density, generator histogram and D(x)"


def add_arguments(p):
    option(p, "--steps", positive_int, "training iterations", default=1000)
    option(p, "--lr", positive_float, "Adam step size of both players", default=3e-3)
    option(p, "--batch", positive_int, "minibatch size", default=128)
    option(p, "--hidden", positive_int, "hidden units of G; D gets twice as many", default=16)


def run(args) -> int:
    from gandyn import plotting
    from gandyn.experiments.demo import run_demo
    from gandyn.app.machine import check_memory

    check_memory(16 * args.steps + 8 * 20 * args.hidden * (args.batch + 20_000) + 8 * 100 * args.hidden,
                 f"a demo of --steps {args.steps:,}, --batch {args.batch:,}, --hidden {args.hidden:,}")
    res = run_demo(seed=args.seed, steps=args.steps, lr=args.lr, batch=args.batch,
                   hidden=args.hidden, progress=not args.quiet)
    s = res.samples
    write_figures(args.out, "demo", [(plotting.demo_figure(res), "demo")],
                  f"generator mean {s.mean():.3f} sd {s.std():.3f} (data 4.000, 0.500); ")
    return 0
