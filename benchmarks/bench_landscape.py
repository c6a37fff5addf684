"""Top-k eigenvalues of J, H_GG and H_DD of the talk's MNIST GAN at one checkpoint, as
``gandyn landscape`` computes them: the time per block, the operator products used and
whether every eigenpair converged (each is reported with its residual by the command).

Run:  gandyn mnist train --iters 10000 --keep-every 10000 --data-dir D --out talk
      python benchmarks/bench_landscape.py --run talk --at 10000 --data-dir D

Timed in one process; run it on a quiet machine. The last line:
``total seconds=S products=N converged=yes|no``.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from gandyn.experiments import landscape
from gandyn.games import spectra


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True, help="a run folder of gandyn mnist train (with --keep-every)")
    p.add_argument("--at", type=int, required=True, help="the checkpoint's iteration")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--n-eigs", type=int, default=10)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--tol", type=float, default=1e-8)
    args = p.parse_args()

    run = landscape.load_landscape(args.run, batch=args.batch, data_dir=args.data_dir, at=[args.at])
    z = run.snapshots[0].z
    print(f"{run.kind} GAN at iteration {args.at}: {run.game.n:,} parameters, batch {args.batch}, k {args.n_eigs}")
    total, products, ok = 0.0, 0, True
    for block in ("j", "g", "d"):
        t0 = time.perf_counter()
        spec = spectra.game_spectrum(run.game, z, k=args.n_eigs, blocks=(block,), tol=args.tol)[block]
        dt = time.perf_counter() - t0
        n = sum(e.products for e in spec.values())
        conv = all(bool(e.converged.all()) for e in spec.values())
        total, products, ok = total + dt, products + n, ok and conv
        ends = ", ".join(f"{w} {np.real(e.values[0]):+.4g}" for w, e in spec.items())
        print(f"{block}: {dt:6.1f} s, {n:5d} products, converged {'yes' if conv else 'no'} ({ends})")
    print(f"total seconds={total:.1f} products={products} converged={'yes' if ok else 'no'}")


if __name__ == "__main__":
    main()
