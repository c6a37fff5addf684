"""One MNIST-shaped training iteration of the talk's vanilla GAN: gandyn vs PyTorch eager.

D 784-128(ReLU)-1, G 100-128(ReLU)-784(sigmoid), Adam (TF defaults), minibatch 128,
float32, z ~ U(-1, 1); one D step on a real minibatch and fresh z, then one G step
on fresh z. Both engines run interleaved in one process (blocks of ``--block``
iterations, alternating, ``--rounds`` times) and the medians of the per-block
rates are compared, so machine noise hits both alike.

Run:  pip install torch==2.13.0 && python benchmarks/bench_mnist_step.py
Not part of the test suite.
"""
from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from gandyn import optim
from gandyn.gan import GAN, Run
from gandyn.nn import MLP
from gandyn.rng import streams

MB, Z_DIM, H = 128, 100, 128
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist" / "train-images-idx3-ubyte.gz"


def load_images() -> tuple[np.ndarray, str]:
    """Real MNIST training images (uint8, (55000, 784)) if the shared copy is present, else
    random bytes of the same shape (the timing does not depend on pixel values)."""
    if SHARED.exists():
        with gzip.open(SHARED, "rb") as f:
            raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16).copy()
        return raw.reshape(-1, 784)[:55000], "real MNIST"
    return np.random.default_rng(0).integers(0, 256, size=(55000, 784), dtype=np.uint8), "random bytes"


def gandyn_runner(images, seed=0):
    gan = GAN(MLP((Z_DIM, H, 784), ("relu", "sigmoid"), dtype=np.float32),
              MLP((784, H, 1), ("relu", "identity"), dtype=np.float32))
    s = streams(seed)
    scale = np.float32(1 / 255)

    def sample_real(rng, m):
        idx = rng.integers(0, len(images), size=m)
        return images[idx].astype(np.float32) * scale

    run = Run(gan, optim.adam(), optim.adam(), gan.G.init(s["g_init"]), gan.D.init(s["d_init"]),
              sample_real, s["data"], s["latent"], batch=MB)

    def block(n):
        for _ in range(n):
            run.step()
    return block


def torch_runner(images, seed=0):
    import torch
    torch.manual_seed(seed)
    G = torch.nn.Sequential(torch.nn.Linear(Z_DIM, H), torch.nn.ReLU(), torch.nn.Linear(H, 784), torch.nn.Sigmoid())
    D = torch.nn.Sequential(torch.nn.Linear(784, H), torch.nn.ReLU(), torch.nn.Linear(H, 1))
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    imgs = torch.from_numpy(images)
    ones, zeros = torch.ones(MB, 1), torch.zeros(MB, 1)
    gparams = list(G.parameters())

    def block(n):
        for _ in range(n):
            x = imgs[torch.randint(0, len(imgs), (MB,))].float().div_(255)
            z = torch.rand(MB, Z_DIM).mul_(2).sub_(1)
            with torch.no_grad():
                fake = G(z)
            d_loss = bce(D(x), ones) + bce(D(fake), zeros)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            z = torch.rand(MB, Z_DIM).mul_(2).sub_(1)
            g_loss = bce(D(G(z)), ones)
            # autograd.grad prunes the graph: no weight gradients of D are formed
            grads = torch.autograd.grad(g_loss, gparams)
            for p, g in zip(gparams, grads):
                p.grad = g
            opt_g.step()
    return block, torch


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--block", type=int, default=200, help="iterations per timed block")
    ap.add_argument("--rounds", type=int, default=7, help="alternating rounds")
    args = ap.parse_args(argv)
    images, what = load_images()
    runners = {"gandyn": gandyn_runner(images)}
    try:
        tblock, torch = torch_runner(images)
        runners["torch eager"] = tblock
        peer = f"PyTorch {torch.__version__} eager, {torch.get_num_threads()} threads"
    except ImportError:
        print("PyTorch not installed (pip install torch==2.13.0): timing gandyn alone", file=sys.stderr)
        peer = None
    for block in runners.values():  # warm-up
        block(20)
    rates = {k: [] for k in runners}
    for _ in range(args.rounds):
        for name, block in runners.items():
            t = time.perf_counter()
            block(args.block)
            rates[name].append(args.block / (time.perf_counter() - t))
    print(f"MNIST-shaped GAN iteration (D 784-128-1, G 100-128-784, Adam, batch 128, float32; data: {what})")
    print(f"numpy {np.__version__}; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
          + (f"; peer: {peer}" if peer else ""))
    for name, r in rates.items():
        print(f"  {name:12s} median {statistics.median(r):7.1f} it/s   (blocks: {', '.join(f'{x:.0f}' for x in r)})")
    if "torch eager" in rates:
        ratio = statistics.median(a / b for a, b in zip(rates["gandyn"], rates["torch eager"]))
        print(f"  ratio gandyn / torch eager: median of per-round ratios {ratio:.2f}x")


if __name__ == "__main__":
    main()
