"""One MNIST training iteration of the talk's vanilla GAN: gandyn vs the talk's own
TensorFlow graph, PyTorch eager, and the floor (the same GEMMs alone in NumPy).

D 784-128(ReLU)-1, G 100-128(ReLU)-784(sigmoid), Adam (TF defaults), minibatch 128,
float32, z ~ U(-1, 1); one D step on a real minibatch and fresh z, then one G step
on fresh z. All engines run interleaved in one process (blocks of ``--block``
iterations, round robin, ``--rounds`` times) and the medians of the per-block rates
and of the per-round ratios are compared, so machine noise hits all alike. Every
engine keeps training across blocks. Each first trains ``--warmup`` iterations
untimed (default 3,000): a real run spends nearly all its time past the first
thousand iterations, where D is confident, many of its gradients are zero and
Adam's moments decay towards subnormal numbers (which gandyn flushes, TensorFlow
and PyTorch-with-flush-denormal never form); ``--warmup 200`` times the start.

- gandyn: ``gandyn.experiments.mnist`` (the code ``gandyn mnist train`` runs: the engine's
  Algorithm 1 step, the epoch sampler and the NaN guard).
- tf graph: the talk's code (wiseodd/generative-models, GAN/vanilla_gan/gan_tensorflow.py)
  under ``tensorflow.compat.v1``: placeholders, ``sess.run`` of each solver with a
  ``feed_dict``, minibatches in float32 from the same uint8 images, z drawn by NumPy as
  the talk's ``sample_Z``.
- torch eager: the same model and losses in PyTorch, ``torch.autograd.grad`` for G so
  no weight gradients of D are formed; ``torch.set_flush_denormal(True)`` like TF's
  flush-to-zero (a stronger peer than PyTorch's default).
- gemm floor: only the 16 matrix products of an iteration (forward and backward of
  both steps), preallocated outputs, float32.

Run:  pip install torch==2.13.0 tensorflow-cpu   (only for benchmarking)
      python benchmarks/bench_mnist_step.py [--peers gandyn torch tf floor]
Not part of the test suite.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from gandyn.experiments import mnist
from gandyn.data import EpochSampler, load_mnist

MB, Z_DIM, H, X_DIM = 128, 100, 128, 784
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def load_images() -> tuple[np.ndarray, str]:
    """Real MNIST training images (uint8, (55000, 784)) from the shared copy, read and
    checked by :func:`gandyn.data.load_mnist`, else random bytes of the same shape (the
    timing barely depends on pixel values)."""
    if SHARED.is_dir():
        images, _ = load_mnist("train", data_dir=SHARED, download=False, progress=False)
        return images[:55000], "real MNIST"
    return np.random.default_rng(0).integers(0, 256, size=(55000, 784), dtype=np.uint8), "random bytes"


def gandyn_runner(images, seed=0):
    tr = mnist.new_run(mnist.MnistConfig(seed=seed), images)
    run = tr.trainer

    def block(n):
        for _ in range(n):
            loss_d, loss_g = run.step()
            if mnist._nonfinite([("D loss", loss_d), ("G loss", loss_g), ("D", run.theta_d), ("G", run.theta_g)]):
                raise FloatingPointError("gandyn diverged")
    return block, "gandyn (gandyn.experiments.mnist)"


def tf_runner(images, seed=0):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow.compat.v1 as tf
    tf.disable_v2_behavior()
    tf.set_random_seed(seed)

    def xavier_init(size):
        in_dim = size[0]
        xavier_stddev = 1. / tf.sqrt(in_dim / 2.)
        return tf.random_normal(shape=size, stddev=xavier_stddev)

    def dense(n_in, n_out):  # the talk's W ~ xavier_init, b = 0, one layer at a time
        return tf.Variable(xavier_init([n_in, n_out])), tf.Variable(tf.zeros(shape=[n_out]))

    X = tf.placeholder(tf.float32, shape=[None, 784])
    (D_W1, D_b1), (D_W2, D_b2) = dense(784, 128), dense(128, 1)
    theta_D = [D_W1, D_W2, D_b1, D_b2]
    Z = tf.placeholder(tf.float32, shape=[None, 100])
    (G_W1, G_b1), (G_W2, G_b2) = dense(100, 128), dense(128, 784)
    theta_G = [G_W1, G_W2, G_b1, G_b2]

    def generator(z):
        G_h1 = tf.nn.relu(tf.matmul(z, G_W1) + G_b1)
        return tf.nn.sigmoid(tf.matmul(G_h1, G_W2) + G_b2)

    def discriminator(x):
        D_h1 = tf.nn.relu(tf.matmul(x, D_W1) + D_b1)
        D_logit = tf.matmul(D_h1, D_W2) + D_b2
        return tf.nn.sigmoid(D_logit), D_logit

    G_sample = generator(Z)
    _, D_logit_real = discriminator(X)
    _, D_logit_fake = discriminator(G_sample)
    xent = tf.nn.sigmoid_cross_entropy_with_logits
    D_loss = (tf.reduce_mean(xent(logits=D_logit_real, labels=tf.ones_like(D_logit_real)))
              + tf.reduce_mean(xent(logits=D_logit_fake, labels=tf.zeros_like(D_logit_fake))))
    G_loss = tf.reduce_mean(xent(logits=D_logit_fake, labels=tf.ones_like(D_logit_fake)))
    D_solver = tf.train.AdamOptimizer().minimize(D_loss, var_list=theta_D)
    G_solver = tf.train.AdamOptimizer().minimize(G_loss, var_list=theta_G)
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    rng = np.random.default_rng(seed)
    sampler = EpochSampler(images)

    def sample_Z(m, n):
        return rng.uniform(-1., 1., size=[m, n])

    def block(n):
        for _ in range(n):
            X_mb = sampler(rng, MB)
            _, D_loss_curr = sess.run([D_solver, D_loss], feed_dict={X: X_mb, Z: sample_Z(MB, Z_DIM)})
            _, G_loss_curr = sess.run([G_solver, G_loss], feed_dict={Z: sample_Z(MB, Z_DIM)})
    return block, f"TensorFlow {tf.__version__} graph (tf.compat.v1, the talk's code)"


def torch_runner(images, seed=0):
    import torch
    torch.manual_seed(seed)
    torch.set_flush_denormal(True)
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
    return block, f"PyTorch {torch.__version__} eager, {torch.get_num_threads()} threads"


def floor_runner(images, seed=0):
    """Only the matrix products of one iteration, in float32, into preallocated outputs."""
    r = np.random.default_rng(seed)
    f = np.float32
    a = lambda *s: r.random(s, dtype=f) - f(0.5)  # noqa: E731
    gW1, gW2, dW1, dW2 = a(Z_DIM, H), a(H, X_DIM), a(X_DIM, H), a(H, 1)
    z, hg, X, hd = a(MB, Z_DIM), a(MB, H), a(2 * MB, X_DIM), a(2 * MB, H)
    gl2, gl1, gx, gout = a(2 * MB, 1), a(2 * MB, H), a(MB, X_DIM), a(MB, X_DIM)
    o = {k: np.empty(s, f) for k, s in {"hg": (MB, H), "xg": (MB, X_DIM), "hd": (2 * MB, H), "l": (2 * MB, 1),
                                        "dW2": (H, 1), "gh": (2 * MB, H), "dW1": (X_DIM, H), "hd1": (MB, H),
                                        "l1": (MB, 1), "gx": (MB, X_DIM), "gW2": (H, X_DIM),
                                        "ghg": (MB, H), "gW1": (Z_DIM, H)}.items()}
    mm = np.matmul

    def block(n):
        for _ in range(n):
            # D step: G forward, D forward on [real; fake], D backward (weights only)
            mm(z, gW1, out=o["hg"]); mm(hg, gW2, out=o["xg"])
            mm(X, dW1, out=o["hd"]); mm(hd, dW2, out=o["l"])
            mm(hd.T, gl2, out=o["dW2"]); mm(gl2, dW2.T, out=o["gh"]); mm(X.T, gl1, out=o["dW1"])
            # G step: G forward, D forward on fake, D backward (inputs only), G backward
            mm(z, gW1, out=o["hg"]); mm(hg, gW2, out=o["xg"])
            mm(gx, dW1, out=o["hd1"]); mm(o["hd1"], dW2, out=o["l1"])
            mm(o["l1"], dW2.T, out=o["hd1"]); mm(o["hd1"], dW1.T, out=o["gx"])
            mm(hg.T, gout, out=o["gW2"]); mm(gout, gW2.T, out=o["ghg"]); mm(z.T, o["ghg"], out=o["gW1"])
    return block, "GEMM floor (the same 16 matrix products in NumPy, preallocated)"


RUNNERS = {"gandyn": gandyn_runner, "tf": tf_runner, "torch": torch_runner, "floor": floor_runner}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--block", type=int, default=200, help="iterations per timed block")
    ap.add_argument("--rounds", type=int, default=7, help="round-robin rounds")
    ap.add_argument("--warmup", type=int, default=3000, help="untimed iterations of each engine first")
    ap.add_argument("--peers", nargs="+", default=list(RUNNERS), choices=list(RUNNERS))
    args = ap.parse_args(argv)
    images, what = load_images()
    runners, desc = {}, {}
    for name in args.peers:
        try:
            runners[name], desc[name] = RUNNERS[name](images)
        except ImportError as e:
            print(f"skipping {name}: {e}", file=sys.stderr)
    for block in runners.values():
        block(args.warmup)
    rates = {k: [] for k in runners}
    for _ in range(args.rounds):
        for name, block in runners.items():
            t = time.perf_counter()
            block(args.block)
            rates[name].append(args.block / (time.perf_counter() - t))
    print(f"MNIST GAN iteration (D 784-128-1, G 100-128-784, Adam, batch 128, float32; data: {what})")
    print(f"numpy {np.__version__}; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; "
          f"{args.rounds} rounds of {args.block} iterations after {args.warmup} warm-up")
    for name, r in rates.items():
        print(f"  {name:7s} median {statistics.median(r):7.1f} it/s  ({desc[name]}; blocks: "
              f"{', '.join(f'{x:.0f}' for x in r)})")
    if "gandyn" in rates:
        for name in rates:
            if name != "gandyn":
                ratio = statistics.median(a / b for a, b in zip(rates["gandyn"], rates[name]))
                print(f"  gandyn / {name:6s} {ratio:5.2f}x  (median of per-round ratios)")
    print(f"  peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
          "(all engines loaded)")


if __name__ == "__main__":
    main()
