"""A population of P 1D GANs trained at once, against a Python loop over single models and
against PyTorch (batched bmm + autograd) on the same work.

The work: P = 1024 GANs of the default ``gandyn gan1d`` setup (data N(4, 0.5^2),
z ~ U(-1, 1), G 1-16-1 tanh, D 1-16-1 ReLU, non-saturating loss, Adam b1 = 0.5,
minibatch 64, k = 1), each model with its own seed and step sizes, float32.
One model-step is one iteration of Algorithm 1 for one model: a D step on a
fresh data minibatch and fresh noise, then a G step on fresh noise (random
draws included on every side).

- ``population``: :class:`gandyn.engine.population.Population` with P seeds (theta (P, n));
- ``loop``: the same P models as P single-model :class:`gandyn.engine.trainer.Trainer` objects
  (theta (n,)), stepped one after the other in a Python loop;
- ``torch``: the same networks as stacked parameter tensors (P, ., .), forward
  with ``torch.baddbmm``, gradients by autograd (the models are independent,
  so the gradient of the sum of their losses is each model's own gradient),
  ``torch.optim.Adam(foreach=True)``.

The three run interleaved in one process (``--rounds`` rounds of one block
each), and the medians of the per-block times per model-step are compared.

Run:  pip install torch==2.13.0 && python benchmarks/bench_gan1d_population.py
(alone on the machine: no other benchmark or training run at the same time). Not part of the test suite.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from gandyn.engine.trainer import StreamBatches, Trainer
from gandyn.engine.population import Population
from gandyn.experiments import gan1d
from gandyn.rng import streams

H, MB = 16, 64


def population_block(P, seed=0):
    setup = gan1d.setup(networks=gan1d.NETWORKS.replace(dtype=np.float32))
    lrs = np.geomspace(1e-4, 1e-2, P)
    tr = Population(setup, np.arange(seed, seed + P), lr_d=lrs, lr_g=lrs[::-1])
    return lambda n: tr.advance(n)


def loop_block(P, seed=0):
    """The engine's own single-model loop, :class:`gandyn.engine.trainer.Trainer`, once per model."""
    setup = gan1d.setup(networks=gan1d.NETWORKS.replace(dtype=np.float32))
    gan, data = setup.gan, setup.data
    lrs = np.geomspace(1e-4, 1e-2, P)

    def sample_real(rng, m):
        return data.rvs((m, 1), rng).astype(np.float32)

    runs = []
    for p in range(P):
        s = streams(seed + p)
        runs.append(Trainer(gan, setup.training.make_optimizer(float(lrs[P - 1 - p])), setup.training.make_optimizer(float(lrs[p])),
                            gan.G.init(s["g_init"]), gan.D.init(s["d_init"]),
                            StreamBatches(sample_real, gan.latent, s["data"], s["latent"]), batch=MB))

    def block(n):
        for _ in range(n):
            for r in runs:
                r.step()
    return block


def torch_block(P, seed=0, threads=None):
    import torch
    import torch.nn.functional as F

    if threads:
        torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(seed)
    std = (2.0 / 1) ** 0.5  # the talk's xavier_init on fan_in = 1, as gandyn's default init

    def mlp_params(h):
        return [(torch.randn(P, 1, h, generator=gen) * std).requires_grad_(),
                torch.zeros(P, 1, h, requires_grad=True),
                (torch.randn(P, h, 1, generator=gen) * (2.0 / h) ** 0.5).requires_grad_(),
                torch.zeros(P, 1, 1, requires_grad=True)]

    g, d = mlp_params(H), mlp_params(H)
    opt_g = torch.optim.Adam(g, lr=1e-3, betas=(0.5, 0.999), foreach=True)
    opt_d = torch.optim.Adam(d, lr=1e-3, betas=(0.5, 0.999), foreach=True)

    def G(z):
        return torch.baddbmm(g[3], torch.tanh(torch.baddbmm(g[1], z, g[0])), g[2])

    def D(x):
        return torch.baddbmm(d[3], torch.relu(torch.baddbmm(d[1], x, d[0])), d[2])

    def step():
        x = torch.randn(P, MB, 1, generator=gen) * 0.5 + 4.0
        z = torch.rand(P, MB, 1, generator=gen) * 2 - 1
        with torch.no_grad():
            fake = G(z)
        logits = D(torch.cat([x, fake], dim=1))
        # -V(D, G) per model (mean over the minibatch), summed over the population
        loss_d = (F.softplus(-logits[:, :MB]).mean(dim=(1, 2)) + F.softplus(logits[:, MB:]).mean(dim=(1, 2))).sum()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        z = torch.rand(P, MB, 1, generator=gen) * 2 - 1
        for p in d:
            p.requires_grad_(False)
        loss_g = F.softplus(-D(G(z))).mean(dim=(1, 2)).sum()  # non-saturating loss
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        for p in d:
            p.requires_grad_(True)

    def block(n):
        for _ in range(n):
            step()
    return block


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--P", type=int, default=1024, help="population size (default 1024)")
    ap.add_argument("--steps", type=int, default=20, help="iterations per block for population and torch")
    ap.add_argument("--loop-steps", type=int, default=2, help="iterations per block for the loop")
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    a = ap.parse_args(argv)
    P = a.P
    runners = {"population": (population_block(P), a.steps), "loop": (loop_block(P), a.loop_steps)}
    try:
        import torch
        runners["torch"] = (torch_block(P, threads=a.threads), a.steps)
        tinfo = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    except ImportError:
        tinfo = "torch not installed: pip install torch==2.13.0"
    for block, n in runners.values():  # warm-up
        block(1)
    times = {k: [] for k in runners}
    for _ in range(a.rounds):
        for name, (block, n) in runners.items():
            t = time.perf_counter()
            block(n)
            times[name].append((time.perf_counter() - t) / (n * P))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{P} 1D GANs (G, D 1-{H}-1, minibatch {MB}, Adam, float32), {a.rounds} interleaved rounds; {tinfo}")
    for name, v in med.items():
        print(f"  {name:11s} {v * 1e6:9.2f} us per model-step  (min {min(times[name]) * 1e6:.2f})")
    print(f"  population vs loop:  {med['loop'] / med['population']:6.1f}x faster   (goal >= 30x)")
    if "torch" in med:
        print(f"  population vs torch: {med['torch'] / med['population']:6.2f}x         (goal >= 1x; > 1 means gandyn faster)")


if __name__ == "__main__":
    main()
