"""A population of 1024 2-D GANs (the ring-8 sizes of ``gandyn mog``), one training step.

One iteration of Algorithm 1 (k = 1; a D step on a fresh real minibatch and fresh noise,
then a G step on fresh noise; Adam, b1 = 0.5) for P = 1024 GANs with G 2-64-64-2 and
D 2-64-64-1 (ReLU), batch 128, float32 (``--hidden``, ``--batch``: other sizes), data the ring of 8 Gaussians, timed for

* gandyn: :class:`gandyn.engine.population.Population` (one engine trainer of
  stacked models; per-model data and noise streams included);
* torch: the same population in PyTorch, weights stacked as (P, in, out) tensors,
  ``torch.baddbmm`` layers, autograd, ``torch.optim.Adam`` (foreach);
* loop: gandyn one model at a time (P separate single-model populations); timed on
  ``--loop-models`` of them and scaled to P.

Every engine runs with the same number of BLAS/intra-op threads (``--threads``, default 1;
numpy's through threadpoolctl). Rounds interleave the engines; the ratios are medians of
per-round ratios. On a shared machine the absolute times are noisy; the ratios less so.
The last line reads ``pop gandyn/torch=R pop gandyn/loop=R`` (R > 1: gandyn faster).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from gandyn.distributions import ring2d
from gandyn.engine.population import Networks, Population, Setup

H, BATCH, LR = (64, 64), 128, 1e-3  # the defaults of gandyn mog; --hidden and --batch change them


def gemm_flops(hidden, batch) -> int:
    """Multiply-add flops (2 per product term) of the matrix products of one iteration of
    Algorithm 1 (k = 1) for one model, the least any engine must do: G forward on 2m noise
    rows (D's and G's), D forward on 2m rows (D's step) and on m rows (G's step, at the updated
    D), D's weight and hidden-layer gradients on 2m rows, D's gradients down to its input on m
    rows, G's weight and hidden-layer gradients on m rows."""
    g, d = (2, *hidden, 2), (2, *hidden, 1)

    def pas(sizes, rows, weights=False, inputs=False):
        f = 0
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            f += 2 * rows * a * b * (int(weights) + int(inputs or i > 0))
        return f

    fwd = lambda sizes, rows: sum(2 * rows * a * b for a, b in zip(sizes[:-1], sizes[1:]))  # noqa: E731
    m = batch
    return (fwd(g, 2 * m) + fwd(d, 3 * m) + pas(d, 2 * m, weights=True) + pas(d, m, inputs=True)
            + pas(g, m, weights=True))


def gandyn_runner(P):
    setup = Setup(ring2d(), training=Setup.training.replace(batch=BATCH, b1=0.5), networks=Networks(hidden_g=H, hidden_d=H))
    pop = Population(setup, np.arange(P), lr_g=LR, lr_d=LR, chunk=P)
    return lambda n: pop.advance(n), f"gandyn Population, {P} models in one trainer"


def loop_runner(P, n_models):
    setup = Setup(ring2d(), training=Setup.training.replace(batch=BATCH, b1=0.5), networks=Networks(hidden_g=H, hidden_d=H))
    pops = [Population(setup, [s], lr_g=LR, lr_d=LR) for s in range(n_models)]

    def run(n):
        for p in pops:
            p.advance(n)
    return run, f"gandyn one model at a time ({n_models} models timed, scaled x{P / n_models:g})"


def torch_runner(P):
    import torch

    g = torch.Generator().manual_seed(0)
    centers = torch.tensor(np.stack([[2 * np.cos(a), 2 * np.sin(a)] for a in 2 * np.pi * np.arange(8) / 8]),
                           dtype=torch.float32)

    def mlp(sizes):
        ps = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            r = (6.0 / (a + b)) ** 0.5
            ps.append(((torch.rand(P, a, b, generator=g) * 2 - 1) * r).requires_grad_())
            ps.append(torch.zeros(P, 1, b, requires_grad=True))
        return ps

    def fwd(ps, x):
        n = len(ps) // 2
        for i in range(n):
            x = torch.baddbmm(ps[2 * i + 1], x, ps[2 * i])
            if i < n - 1:
                x = torch.relu(x)
        return x

    G, D = mlp((2, *H, 2)), mlp((2, *H, 1))
    opt_g = torch.optim.Adam(G, lr=LR, betas=(0.5, 0.999), foreach=True)
    opt_d = torch.optim.Adam(D, lr=LR, betas=(0.5, 0.999), foreach=True)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    ones, zeros = torch.ones(P, BATCH, 1), torch.zeros(P, BATCH, 1)

    def step():
        k = torch.randint(0, 8, (P, BATCH), generator=g)
        x = centers[k] + 0.02 * torch.randn(P, BATCH, 2, generator=g)
        z = torch.randn(P, BATCH, 2, generator=g)
        with torch.no_grad():
            fake = fwd(G, z)
        # per-model mean losses, summed over models: each model's gradient is its own
        loss_d = (bce(fwd(D, x), ones, reduction="none").mean(dim=(1, 2))
                  + bce(fwd(D, fake), zeros, reduction="none").mean(dim=(1, 2))).sum()
        opt_d.zero_grad(set_to_none=False)
        loss_d.backward()
        opt_d.step()
        z = torch.randn(P, BATCH, 2, generator=g)
        loss_g = bce(fwd(D, fwd(G, z)), ones, reduction="none").mean(dim=(1, 2)).sum()
        opt_g.zero_grad(set_to_none=False)
        loss_g.backward()  # D's grads are zeroed before its next step
        opt_g.step()

    def run(n):
        for _ in range(n):
            step()
    return run, f"torch {torch.__version__} baddbmm + autograd + Adam(foreach), {P} models"


def main(argv=None):
    global H, BATCH
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--population", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=2, help="iterations per round")
    ap.add_argument("--loop-models", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--hidden", type=int, nargs="+", default=[64, 64], help="hidden widths of G and D")
    ap.add_argument("--batch", type=int, default=128)
    args = ap.parse_args(argv)
    H, BATCH = tuple(args.hidden), args.batch
    P = args.population
    from threadpoolctl import threadpool_limits

    import torch
    torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        runners = {"gandyn": gandyn_runner(P), "torch": torch_runner(P),
                   "loop": loop_runner(P, args.loop_models)}
        scale = {"gandyn": 1.0, "torch": 1.0, "loop": P / args.loop_models}
        for run, _ in runners.values():
            run(1)  # warm-up
        times = {k: [] for k in runners}
        for _ in range(args.rounds):
            for k, (run, _) in runners.items():
                t = time.perf_counter()
                run(args.steps)
                times[k].append((time.perf_counter() - t) / args.steps * scale[k])
    hs = "-".join(map(str, H))
    print(f"{P} GANs G 2-{hs}-2 / D 2-{hs}-1 (ReLU), batch {BATCH}, Adam, float32, ring-8 data; "
          f"{args.threads} thread(s) each; {args.rounds} rounds of {args.steps} iterations (shared machine: noisy)")
    for k, (_, desc) in runners.items():
        print(f"  {k:7s} median {statistics.median(times[k]):8.3f} s/iteration  ({desc}; rounds: "
              + ", ".join(f"{t:.3f}" for t in times[k]) + ")")
    flops = gemm_flops(H, BATCH) * P
    print(f"  matrix products: {flops / 1e9:.2f} GFLOP per iteration of all {P} models; achieved "
          + ", ".join(f"{k} {flops / statistics.median(times[k]) / 1e9:.1f}" for k in runners) + " GFLOP/s")
    r_t = statistics.median(b / a for a, b in zip(times["gandyn"], times["torch"]))
    r_l = statistics.median(b / a for a, b in zip(times["gandyn"], times["loop"]))
    print(f"pop gandyn/torch={r_t:.2f} pop gandyn/loop={r_l:.1f}")


if __name__ == "__main__":
    main()
