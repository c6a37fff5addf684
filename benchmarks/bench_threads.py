"""BLAS threads for gandyn's workloads: one training iteration of the talk's MNIST GAN
(the code ``gandyn mnist train`` runs) with 1 and with 2 BLAS threads (set by
``threadpoolctl``, as ``gandyn --threads`` does), on a quiet machine and next to one busy
neighbour (another process running float32 GEMMs on one core, as a second job would).

Both thread counts run interleaved in one process (blocks of ``--block`` iterations, round
robin, ``--rounds`` rounds) and the medians of the per-block rates are compared. The last
line gives the ratios ``1 thread / 2 threads`` in both conditions; above 1 means one thread
is faster, which is why the training commands default to one thread.

Run:  python benchmarks/bench_threads.py     (not part of the test suite; run nothing else)
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_mnist_step import gandyn_runner, load_images  # noqa: E402


def _neighbour(stop):
    """A busy neighbour: float32 GEMMs of the size a training run uses, one thread."""
    with threadpool_limits(limits=1, user_api="blas"):
        a = np.random.default_rng(1).random((512, 512), dtype=np.float32)
        while not stop.is_set():
            a = (a @ a) * np.float32(1e-3)


def measure(block, rounds, n):
    rates = {1: [], 2: []}
    for _ in range(rounds):
        for t in (1, 2):
            with threadpool_limits(limits=t, user_api="blas"):
                t0 = time.perf_counter()
                block(n)
                rates[t].append(n / (time.perf_counter() - t0))
    return {t: statistics.median(r) for t, r in rates.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--block", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=1000)
    a = ap.parse_args(argv)
    images, what = load_images()
    block, _ = gandyn_runner(images)
    block(a.warmup)
    print(f"MNIST GAN iteration (talk's config, float32, data: {what}), it/s by BLAS threads")
    quiet = measure(block, a.rounds, a.block)
    print(f"  quiet:              1 thread {quiet[1]:7.1f}   2 threads {quiet[2]:7.1f}")
    stop = mp.Event()
    p = mp.Process(target=_neighbour, args=(stop,), daemon=True)
    p.start()
    try:
        time.sleep(1.0)
        busy = measure(block, a.rounds, a.block)
    finally:
        stop.set()
        p.join(5)
    print(f"  one busy neighbour: 1 thread {busy[1]:7.1f}   2 threads {busy[2]:7.1f}")
    print(f"quiet 1/2 threads={quiet[1] / quiet[2]:.2f} busy 1/2 threads={busy[1] / busy[2]:.2f}")


if __name__ == "__main__":
    main()
