"""One training iteration of every registered method on the talk's MNIST GAN, relative to
Algorithm 1 (``altgd``), one thread.

The model: the talk's MNIST GAN (``gandyn.experiments.mnist.MnistConfig()``: G
100-128(ReLU)-784(sigmoid), D 784-128(ReLU)-1 (a logit), 214,673 parameters, the
non-saturating G loss, TF's Adam with lr 1e-3 for both players, minibatch 128, float32).
Real minibatches are uniform random pixels in [0, 1) (the timing does not depend on their
values; no MNIST files needed), noise ``z ~ U(-1, 1)^100``, drawn by the trainer's own
:class:`~gandyn.engine.trainer.StreamBatches` as in training.

Each method gets its own :class:`~gandyn.engine.trainer.Trainer` from the same initial
parameters, with its default options (``cgd``: ``eta`` = D's step size, ``rtol`` = sqrt(eps)
of float32, its solves' products printed; ``lookahead`` around ``altgd``; ``unrolled`` with
``K = 5``), warmed up, then timed interleaved (``--rounds`` rounds of ``--block``
iterations per method); medians of the per-iteration times and of the per-round ratios to
``altgd`` are printed. The last line is

    cgd/altgd=R sga/altgd=R consensus/altgd=R jvp gandyn/jax(f32)=R

with ``R`` = the method's time per iteration / altgd's (> 1: slower than Algorithm 1), and
last the speed of gandyn's ``J v`` of the same game in float32 relative to a JAX jit (> 1:
gandyn faster; ``benchmarks/bench_second_order.py``'s functions, interleaved; ``nan`` without
JAX).

Run:  taskset -c 0 python benchmarks/bench_methods.py   (one core for numpy and JAX alike)
      python benchmarks/bench_methods.py [--rounds 5 --block 10] [--methods altgd cgd ...]
Not part of the test suite. Never run it next to another benchmark or training run.
"""
from __future__ import annotations

import os

for _k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_k] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from gandyn.engine.methods import METHODS  # noqa: E402
from gandyn.engine.trainer import StreamBatches, Trainer  # noqa: E402
from gandyn.experiments.mnist import MnistConfig  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_second_order import gandyn_jvp, interleaved, jax_jvp, ratio  # noqa: E402

MB = 128


def make_trainer(method: str, seed: int = 0) -> Trainer:
    """A trainer of the talk's GAN with ``method`` (its defaults), fixed initial parameters."""
    cfg = MnistConfig(training=MnistConfig.training.replace(method=method))
    gan = cfg.gan()
    rng = np.random.default_rng(seed)
    tg, td = gan.G.init(rng), gan.D.init(rng)

    def real(r, m):
        return r.random((m, 784), dtype=np.float32)

    batches = StreamBatches(real, gan.latent, np.random.default_rng(seed + 1), np.random.default_rng(seed + 2))
    opt_g, opt_d = cfg.optimizers()
    return Trainer(gan, opt_g, opt_d, tg, td, batches, batch=MB, method=cfg.training.method)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--block", type=int, default=10, help="iterations per timed block")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--methods", nargs="+", default=list(METHODS.names()), help="methods to time (altgd always)")
    args = ap.parse_args(argv)
    names = ["altgd"] + [m for m in args.methods if m != "altgd"]
    print(f"numpy {np.__version__}; 1 thread; the talk's MNIST GAN (214,673 parameters, float32, batch 128, Adam)")
    trainers = {m: make_trainer(m) for m in names}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wall, cpu = interleaved({m: tr.step for m, tr in trainers.items()}, args.rounds, args.block, args.warmup)
    base = statistics.median(wall["altgd"])
    print("one training iteration (median over rounds):")
    for k in names:
        print(f"  {k:14s} {1e3 * statistics.median(wall[k]):9.2f} ms wall {1e3 * statistics.median(cpu[k]):9.2f} ms CPU"
              f"  {k}/altgd = {ratio(wall, k, 'altgd'):6.2f}  (altgd {1e3 * base:.2f} ms)")
    if "cgd" in trainers:
        st = trainers["cgd"].method_state
        print(f"  cgd solves: {st['solves']}, system products per solve {st['products'] / max(st['solves'], 1):.2f} "
              f"(each two J v), last relative residual {float(st['residual']):.2e}, unconverged {int(st['unconverged'])}"
              f"{'; ' + str(len(caught)) + ' warnings' if caught else ''}")
    jvp = float("nan")
    try:
        fns = {"gandyn": gandyn_jvp(np.float32), "jax": jax_jvp(np.float32)}
        jw, _ = interleaved(fns, args.rounds * 3, 10, 3)
        jvp = ratio(jw, "jax", "gandyn")
        print(f"J v of the game, float32: gandyn {1e3 * statistics.median(jw['gandyn']):.2f} ms, "
              f"jax jit {1e3 * statistics.median(jw['jax']):.2f} ms")
    except ImportError as e:
        print(f"skipping the J v comparison with JAX: {e}")
    print(" ".join(f"{m}/altgd={ratio(wall, m, 'altgd'):.2f}" if m in wall else f"{m}/altgd=nan"
                   for m in ("cgd", "sga", "consensus")) + f" jvp gandyn/jax(f32)={jvp:.2f}")


if __name__ == "__main__":
    main()
