"""A population of one must cost what a single model costs.

Times the same GAN iteration (Algorithm 1, k = 1) with parameters of shape (n,) and
inputs (m, d) -- the plain path -- against shape (1, n) and (1, m, d) -- the population
path -- interleaved, for the tiny 1D GAN and the MNIST-shaped GAN, and prints the
median time per iteration and the ratio population / plain (<= 1.0x is the goal).
"""
from __future__ import annotations

import statistics
import time

import numpy as np

from gandyn.engine import optim
from gandyn.engine.gan import GAN
from gandyn.engine.trainer import StreamBatches, Trainer
from gandyn.engine.nn import MLP
from gandyn.rng import streams

CASES = {
    "1D GAN 1-16-1 / 1-32-1, batch 128, float64": (
        (MLP((1, 16, 1), ("tanh", "identity")), MLP((1, 32, 1), ("relu", "identity"))), 128, 1),
    "MNIST GAN 100-128-784 / 784-128-1, batch 128, float32": (
        (MLP((100, 128, 784), ("relu", "sigmoid"), dtype=np.float32),
         MLP((784, 128, 1), ("relu", "identity"), dtype=np.float32)), 128, 784),
}


def make_run(G, D, m, d, population):
    gan = GAN(G, D)
    s = streams(0)
    tg, td = G.init(s["g_init"]), D.init(s["d_init"])
    shape = (m, d)
    if population:
        tg, td, shape = tg[None].copy(), td[None].copy(), (1, m, d)
    data = np.random.default_rng(1).random((4096, d)).astype(G.dtype)

    def real(rng, mm):
        return data[rng.integers(0, len(data), size=mm)].reshape(shape)
    return Trainer(gan, optim.adam(), optim.adam(), tg, td, StreamBatches(real, gan.latent, s["data"], s["latent"]),
                   batch=m)


def main():
    for name, ((G, D), m, d) in CASES.items():
        runs = {"plain (n,)": make_run(G, D, m, d, False), "population (1, n)": make_run(G, D, m, d, True)}
        n = 2000 if d == 1 else 100
        times = {k: [] for k in runs}
        for r in runs.values():
            for _ in range(n // 10):
                r.step()
        for _ in range(7):
            for k, r in runs.items():
                t = time.perf_counter()
                for _ in range(n):
                    r.step()
                times[k].append((time.perf_counter() - t) / n)
        med = {k: statistics.median(v) for k, v in times.items()}
        ratio = statistics.median(a / b for a, b in zip(times["population (1, n)"], times["plain (n,)"]))
        print(name)
        for k, v in med.items():
            print(f"  {k:18s} {v * 1e6:9.1f} us/iteration")
        print(f"  ratio population / plain: {ratio:.3f}x")


if __name__ == "__main__":
    main()
