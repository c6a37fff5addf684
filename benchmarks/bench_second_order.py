"""Second-order products of the talk's MNIST GAN: gandyn's hand-written R-passes vs
PyTorch double backward vs JAX (jit), one thread each.

The model: the talk's MNIST GAN (``gandyn.experiments.mnist.MnistConfig()``: G
100-128(ReLU)-784(sigmoid), D 784-128(ReLU)-1 (a logit), 214,673 parameters, non-saturating
G loss), minibatch 128 real rows (uniform random pixels in [0, 1): the timing does not depend
on their values) and 128 noise rows ``z ~ U(-1, 1)``, at the initial parameters.

1. ``J v``: the game Jacobian (``omega = (grad_G L_G, grad_D L_D)``) times a random
   vector, float64 and float32.
   - gandyn: :func:`gandyn.engine.second_order.game_jvp` (forward, tangent, R-backward passes,
     workspace buffers);
   - torch: the better of ``torch.func.jvp`` of ``torch.func.grad`` (forward over reverse) and
     ``torch.autograd.grad(..., create_graph=True)`` twice (reverse over reverse:
     ``(Jv)_G = grad_G <grad L_G, v>``, ``(Jv)_D = grad_D <grad L_D, v>``); both are printed;
   - jax: ``jax.jit`` of ``jax.jvp`` of the two players' ``jax.grad`` (forward over reverse),
     compiled before timing.
   All three are checked to agree (relative difference printed). gandyn's ``J v`` with the
   coupled loss ``ragan`` (relativistic average, Jolicoeur-Martineau 2019, Sec. 4.2) is timed
   next to it: its cost relative to the separable loss's.
   ``J v`` at a fixed point with the forward passes shared (gandyn ``primal=`` vs
   ``jax.linearize``), and ``J^T u`` (float64; ``--no-vjp`` skips both): gandyn's :func:`gandyn.engine.second_order.game_vjp`
   (two R-passes) vs PyTorch reverse over reverse (``grad <omega, u>``) vs ``jax.vjp`` (jit).
2. One training iteration with R1 (gamma = 10, Mescheder et al. 2018, eq. 9) in float32:
   D step on ``L_D + gamma/2 mean ||grad_x l(x_real)||^2``, then the G step, Adam for both
   (the talk's TF Adam).
   - gandyn plain: the engine's Algorithm 1 step (G once on both noise batches, D once
     on the stacked batch) written out here so that the R1 variant differs only by
     :func:`gandyn.engine.second_order.penalty_grad` on the data rows of D's forward pass;
   - gandyn R1: the same plus the penalty's gradient;
   - torch R1: the standard double-backward R1 step (``torch.autograd.grad(l_real.sum(), x,
     create_graph=True)``, the penalty added to D's loss, one ``backward``), Adam
     (``foreach``), ``set_flush_denormal(True)``.

Timing: 1 BLAS/intra-op thread everywhere (set before numpy, torch and jax load); the
engines run interleaved, ``--rounds`` rounds of blocks of ``--block`` calls, and the
medians of per-call times and of per-round ratios are printed. The last line is

    jvp gandyn/torch=R jvp gandyn/jax=R r1-step/plain-step=R r1 gandyn/torch=R jvp ragan/nonsat=R

with ``R`` = peer time / gandyn time for the ``gandyn/peer`` entries (> 1: gandyn faster;
``--jvp-dtype`` chooses which dtype's J v ratios go there, float64 by default, the dtype
of :class:`gandyn.games.Game`), R1-step time / plain-step time for ``r1-step/plain-step``, and
for ``jvp ragan/nonsat`` the time of gandyn's ``J v`` with the relativistic average loss
``ragan`` (a coupled loss: G's loss reads D's outputs on the real rows, so its ``J v`` carries
the real rows' tangents into G's row) over the time with the non-saturating loss, same networks.

Run:  pip install torch==2.13.0 jax   (only for benchmarking)
      taskset -c 0 python benchmarks/bench_second_order.py   (one core for every engine: JAX does
      not honour its thread flags in every version)
      python benchmarks/bench_second_order.py [--rounds 7 --block 10]
Not part of the test suite. Never run it next to another benchmark.
"""
from __future__ import annotations

import os

for _k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_k] = "1"
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                           + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from gandyn.engine.gan import GAN  # noqa: E402
from gandyn.engine.nn import MLP  # noqa: E402
from gandyn.engine.penalties import make_penalty  # noqa: E402
from gandyn.engine.second_order import game_jvp, game_vjp, primal  # noqa: E402
from gandyn.engine.trainer import StreamBatches, Trainer  # noqa: E402
from gandyn.engine.workspace import Workspace  # noqa: E402
from gandyn.experiments.mnist import MnistConfig  # noqa: E402

MB = 128
GAMMA = 10.0


def unflat(net, th):
    """The blocks of a flat parameter vector (any array library), in the layout's order."""
    out, off = [], 0
    for shape in net.layout.shapes:
        k = int(np.prod(shape))
        out.append(th[off:off + k].reshape(shape))
        off += k
    return out


def setup(dtype, seed=0):
    """The talk's GAN in ``dtype``, its initial parameters, a data batch, noise and a direction."""
    cfg = MnistConfig()
    gan32 = cfg.gan()
    G = MLP(gan32.G.sizes, gan32.G.activations, dtype)
    D = MLP(gan32.D.sizes, gan32.D.activations, dtype)
    rng = np.random.default_rng(seed)
    tg, td = G.init(rng), D.init(rng)
    x = rng.random((MB, 784)).astype(dtype)
    z = rng.uniform(-1, 1, (MB, cfg.networks.z_dim)).astype(dtype)
    vg = rng.standard_normal(G.n_params).astype(dtype)
    vd = rng.standard_normal(D.n_params).astype(dtype)
    assert G.n_params + D.n_params == 214_673
    return cfg, G, D, tg, td, x, z, vg, vd


# --- J v


def gandyn_jvp(dtype, loss=None):
    """gandyn's ``J v`` with the config's loss (non-saturating), or with ``loss`` (e.g. 'ragan',
    a coupled loss: G's loss reads D's outputs on the real rows)."""
    cfg, G, D, tg, td, x, z, vg, vd = setup(dtype)

    gan = GAN(G, D, loss=cfg.loss if loss is None else loss)  # the networks in dtype (the config's GAN is float32)
    ws = Workspace()
    og, od = np.empty_like(tg), np.empty_like(td)

    def run():
        game_jvp(gan, tg, td, x, z, vg, vd, out_g=og, out_d=od, ws=ws)
        return np.concatenate([og, od])
    return run


def _torch_nets(torch, G, D, dtype):
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    F = torch.nn.functional


    def g_fwd(th, z):
        W1, b1, W2, b2 = unflat(G, th)
        return torch.sigmoid(torch.relu(z @ W1 + b1) @ W2 + b2)

    def d_fwd(th, x):
        W1, b1, W2, b2 = unflat(D, th)
        return (torch.relu(x @ W1 + b1) @ W2 + b2)[:, 0]

    def losses(tg, td, x, z):
        xf = g_fwd(tg, z)
        of = d_fwd(td, xf)
        lg = F.softplus(-of).mean()
        ld = F.softplus(-d_fwd(td, x)).mean() + F.softplus(of).mean()
        return lg, ld
    return tdt, g_fwd, d_fwd, losses


def torch_jvp(dtype, mode):
    import torch
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    cfg, G, D, tg, td, x, z, vg, vd = setup(dtype)
    tdt, g_fwd, d_fwd, losses = _torch_nets(torch, G, D, dtype)
    T = lambda a: torch.from_numpy(a)  # noqa: E731
    tg_t, td_t, x_t, z_t, vg_t, vd_t = map(T, (tg, td, x, z, vg, vd))
    if mode == "func":
        from torch.func import grad, jvp

        def omega(a, b):
            return (grad(lambda p: losses(p, b, x_t, z_t)[0])(a), grad(lambda q: losses(a, q, x_t, z_t)[1])(b))

        def run():
            _, (jg, jd) = jvp(omega, (tg_t, td_t), (vg_t, vd_t))
            return np.concatenate([jg.numpy(), jd.numpy()])
        return run

    def run():
        a = tg_t.detach().requires_grad_(True)
        b = td_t.detach().requires_grad_(True)
        lg, ld = losses(a, b, x_t, z_t)
        gg = torch.autograd.grad(lg, (a, b), create_graph=True)
        gd = torch.autograd.grad(ld, (a, b), create_graph=True)
        jg, = torch.autograd.grad(torch.dot(gg[0], vg_t) + torch.dot(gg[1], vd_t), a, retain_graph=True)
        jd, = torch.autograd.grad(torch.dot(gd[0], vg_t) + torch.dot(gd[1], vd_t), b)
        return np.concatenate([jg.numpy(), jd.numpy()])
    return run


def _jax_omega(jax, dtype):
    """The game form ``omega = (grad_G L_G, grad_D L_D)`` in JAX, and the setup's arrays."""
    cfg, G, D, tg, td, x, z, vg, vd = setup(dtype)


    def g_fwd(th, z):
        W1, b1, W2, b2 = unflat(G, th)
        return jax.nn.sigmoid(jax.nn.relu(z @ W1 + b1) @ W2 + b2)

    def d_fwd(th, x):
        W1, b1, W2, b2 = unflat(D, th)
        return (jax.nn.relu(x @ W1 + b1) @ W2 + b2)[:, 0]

    def lg(a, b, x, z):
        return jax.nn.softplus(-d_fwd(b, g_fwd(a, z))).mean()

    def ld(a, b, x, z):
        return jax.nn.softplus(-d_fwd(b, x)).mean() + jax.nn.softplus(d_fwd(b, g_fwd(a, z))).mean()

    def omega(a, b, x, z):
        return jax.grad(lg, 0)(a, b, x, z), jax.grad(ld, 1)(a, b, x, z)
    return omega, (tg, td, x, z, vg, vd)


def _jax_product(dtype, product):
    """A jitted JAX product of the game field (``product(jax, omega)`` builds it), warmed up."""
    import jax
    if dtype == np.float64:
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    omega, (tg, td, x, z, vg, vd) = _jax_omega(jax, dtype)
    f = jax.jit(product(jax, omega))
    args = [jnp.asarray(t) for t in (tg, td, x, z, vg, vd)]
    jax.block_until_ready(f(*args))

    def run():
        a, b = jax.block_until_ready(f(*args))
        return np.concatenate([np.asarray(a), np.asarray(b)])
    return run


def jax_jvp(dtype):
    return _jax_product(dtype, lambda jax, omega: lambda a, b, x, z, va, vb: jax.jvp(
        lambda p, q: omega(p, q, x, z), (a, b), (va, vb))[1])


def gandyn_jvp_at(dtype):
    """``J v`` at a fixed point with the forward passes done once (:func:`primal`), as an
    eigenvalue solver's products at one point are (``Game.operator``)."""
    cfg, G, D, tg, td, x, z, vg, vd = setup(dtype)

    gan = GAN(G, D, loss=cfg.loss)  # the networks in dtype (the config's GAN is float32)
    ws = Workspace()
    p = primal(gan, tg, td, x, z, ws=ws)
    og, od = np.empty_like(tg), np.empty_like(td)

    def run():
        game_jvp(gan, tg, td, x, z, vg, vd, out_g=og, out_d=od, primal=p, ws=ws)
        return np.concatenate([og, od])
    return run


def jax_jvp_at(dtype):
    """``jax.linearize`` once, then the jitted linear map."""
    import jax
    if dtype == np.float64:
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    omega, (tg, td, x, z, vg, vd) = _jax_omega(jax, dtype)
    xs, zs = jnp.asarray(x), jnp.asarray(z)
    _, lin = jax.linearize(lambda p, q: omega(p, q, xs, zs), jnp.asarray(tg), jnp.asarray(td))
    f = jax.jit(lin)
    va, vb = jnp.asarray(vg), jnp.asarray(vd)
    jax.block_until_ready(f(va, vb))

    def run():
        jg, jd = jax.block_until_ready(f(va, vb))
        return np.concatenate([np.asarray(jg), np.asarray(jd)])
    return run


def gandyn_vjp(dtype):
    cfg, G, D, tg, td, x, z, vg, vd = setup(dtype)

    gan = GAN(G, D, loss=cfg.loss)  # the networks in dtype (the config's GAN is float32)
    ws = Workspace()
    return lambda: np.concatenate(game_vjp(gan, tg, td, x, z, vg, vd, ws=ws))


def torch_vjp(dtype):
    """Reverse over reverse: ``J^T u = grad_theta <omega(theta), u>``, omega with create_graph."""
    import torch
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    cfg, G, D, tg, td, x, z, vg, vd = setup(dtype)
    _, _, _, losses = _torch_nets(torch, G, D, dtype)
    tg_t, td_t, x_t, z_t, vg_t, vd_t = map(torch.from_numpy, (tg, td, x, z, vg, vd))

    def run():
        a = tg_t.detach().requires_grad_(True)
        b = td_t.detach().requires_grad_(True)
        lg, ld = losses(a, b, x_t, z_t)
        (gg,) = torch.autograd.grad(lg, a, create_graph=True)
        (gd,) = torch.autograd.grad(ld, b, create_graph=True)
        ja, jb = torch.autograd.grad(torch.dot(gg, vg_t) + torch.dot(gd, vd_t), (a, b))
        return np.concatenate([ja.numpy(), jb.numpy()])
    return run


def jax_vjp(dtype):
    return _jax_product(dtype, lambda jax, omega: lambda a, b, x, z, ua, ub: jax.vjp(
        lambda p, q: omega(p, q, x, z), a, b)[1]((ua, ub)))


# --- training iterations (float32)


def _add_peers(fns: dict, makers, what: str) -> None:
    """Add each installed peer to ``fns`` and print how closely it agrees with gandyn."""
    for key, make in makers:
        try:
            fns[key] = make()
        except ImportError as e:
            print(f"skipping {key}: {e}", file=sys.stderr)
    ref = fns["gandyn"]()
    for k, f in fns.items():
        if k != "gandyn":
            print(f"  {what}: {k} agrees with gandyn to {np.max(np.abs(f() - ref)) / np.max(np.abs(ref)):.1e} "
                  "(max relative)")


def gandyn_step(gamma, seed=0):
    """One training iteration of the engine (``gandyn.engine.Trainer.step``, Algorithm 1, the
    talk's config), with the R1 penalty of weight ``gamma`` on D when ``gamma > 0`` (the
    path ``gandyn mnist train --penalty r1`` runs)."""
    cfg = MnistConfig()
    gan = cfg.gan()
    rng = np.random.default_rng(seed)
    images = rng.random((4096, 784), dtype=np.float32)
    opt_g, opt_d = cfg.optimizers()

    def sample(r, m, out=None):
        return np.take(images, r.integers(0, len(images), m), axis=0, out=out)

    tr = Trainer(gan, opt_g, opt_d, gan.G.init(rng), gan.D.init(rng),
                 StreamBatches(sample, gan.latent, np.random.default_rng(1), np.random.default_rng(2)), batch=MB,
                 penalty=make_penalty("r1", gamma) if gamma else None)
    return tr.step


def torch_r1_step(gamma=GAMMA, seed=0):
    import torch
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    F = torch.nn.functional
    G = torch.nn.Sequential(torch.nn.Linear(100, 128), torch.nn.ReLU(), torch.nn.Linear(128, 784), torch.nn.Sigmoid())
    D = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 1))
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, foreach=True)
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, foreach=True)
    images = torch.rand(4096, 784)
    gparams = list(G.parameters())

    def step():
        x = images[torch.randint(0, len(images), (MB,))].requires_grad_(True)
        z = torch.rand(MB, 100).mul_(2).sub_(1)
        with torch.no_grad():
            fake = G(z)
        lr_ = D(x)
        (gx,) = torch.autograd.grad(lr_.sum(), x, create_graph=True)
        loss_d = F.softplus(-lr_).mean() + F.softplus(D(fake)).mean() + gamma / 2 * gx.pow(2).sum(1).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        z = torch.rand(MB, 100).mul_(2).sub_(1)
        loss_g = F.softplus(-D(G(z))).mean()
        for p, g in zip(gparams, torch.autograd.grad(loss_g, gparams)):
            p.grad = g
        opt_g.step()
    return step


# --- timing


def interleaved(fns: dict, rounds: int, block: int, warmup: int) -> tuple[dict, dict]:
    """Seconds per call of each function in each round (wall clock and this process's CPU
    time), run round robin in blocks."""
    for f in fns.values():
        for _ in range(warmup):
            f()
    wall, cpu = {k: [] for k in fns}, {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            t, c = time.perf_counter(), time.process_time()
            for _ in range(block):
                f()
            wall[k].append((time.perf_counter() - t) / block)
            cpu[k].append((time.process_time() - c) / block)
    return wall, cpu


def report(wall, cpu, digits=1):
    for k, v in wall.items():
        print(f"  {k:13s} median {1e3 * statistics.median(v):8.2f} ms wall, {1e3 * statistics.median(cpu[k]):8.2f} ms "
              f"CPU  (wall per round: {', '.join(f'{1e3 * s:.{digits}f}' for s in v)})")


def ratio(times, num, den):
    return statistics.median(a / b for a, b in zip(times[num], times[den]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--block", type=int, default=10, help="J v products per timed block")
    ap.add_argument("--step-block", type=int, default=50, help="training iterations per timed block")
    ap.add_argument("--jvp-dtype", choices=("float64", "float32"), default="float64",
                    help="whose J v ratios go on the last line")
    ap.add_argument("--no-vjp", action="store_true", help="skip the J^T u timings")
    args = ap.parse_args(argv)
    print(f"numpy {np.__version__}; 1 thread (OPENBLAS/OMP/MKL_NUM_THREADS=1, torch.set_num_threads(1), "
          f"XLA_FLAGS={os.environ['XLA_FLAGS']!r}); {args.rounds} rounds")
    last = {}
    for dtype in (np.float64, np.float32):
        name = np.dtype(dtype).name
        fns = {"gandyn": gandyn_jvp(dtype)}
        _add_peers(fns, (("torch-func", lambda: torch_jvp(dtype, "func")),
                         ("torch-double", lambda: torch_jvp(dtype, "double")), ("jax", lambda: jax_jvp(dtype))),
                   f"J v {name}")
        fns["gandyn-ragan"] = gandyn_jvp(dtype, "ragan")  # a coupled loss, same networks and point
        t, c = interleaved(fns, args.rounds, args.block, warmup=2)
        print(f"J v of the MNIST GAN game, {name} (214,673 parameters, batch 128 + 128):")
        report(t, c)
        r_c = ratio(t, "gandyn-ragan", "gandyn")
        print(f"  {name}: coupled loss: gandyn ragan/nonsat = {r_c:.2f}x the time (wall; CPU "
              f"{ratio(c, 'gandyn-ragan', 'gandyn'):.2f}x)")
        torch_keys = [k for k in t if k.startswith("torch")]
        best = min(torch_keys, key=lambda k: statistics.median(t[k])) if torch_keys else None
        r_t = ratio(t, best, "gandyn") if best else float("nan")
        r_j = ratio(t, "jax", "gandyn") if "jax" in t else float("nan")
        print(f"  {name}: torch ({best})/gandyn = {r_t:.2f}x, jax/gandyn = {r_j:.2f}x (wall); CPU time: "
              f"torch/gandyn = {ratio(c, best, 'gandyn') if best else float('nan'):.2f}x, jax/gandyn = "
              f"{ratio(c, 'jax', 'gandyn') if 'jax' in c else float('nan'):.2f}x")
        last[name] = (r_t, r_j, r_c)
    if not args.no_vjp:
        fns = {"gandyn": gandyn_jvp_at(np.float64)}
        try:
            fns["jax"] = jax_jvp_at(np.float64)
        except ImportError as e:
            print(f"skipping jax: {e}", file=sys.stderr)
        t, c = interleaved(fns, args.rounds, args.block, warmup=2)
        print("J v at a fixed point, forward passes shared, float64 (gandyn primal=; jax.linearize + jit):")
        report(t, c)
        if "jax" in t:
            print(f"  jax/gandyn = {ratio(t, 'jax', 'gandyn'):.2f}x (wall), {ratio(c, 'jax', 'gandyn'):.2f}x (CPU)")
        fns = {"gandyn": gandyn_vjp(np.float64)}
        _add_peers(fns, (("torch", lambda: torch_vjp(np.float64)), ("jax", lambda: jax_vjp(np.float64))),
                   "J^T u float64")
        t, c = interleaved(fns, args.rounds, args.block, warmup=2)
        print("J^T u of the MNIST GAN game, float64 (gandyn: two R-passes; torch: reverse over reverse; jax: vjp):")
        report(t, c)
        print("  " + ", ".join(f"{k}/gandyn = {ratio(t, k, 'gandyn'):.2f}x" for k in t if k != "gandyn") + " (wall)")
    fns = {"plain": gandyn_step(0.0), "r1": gandyn_step(GAMMA)}
    try:
        fns["torch-r1"] = torch_r1_step()
    except ImportError as e:
        print(f"skipping torch-r1: {e}", file=sys.stderr)
    t, c = interleaved(fns, args.rounds, args.step_block, warmup=20)
    print(f"training iteration (D step + G step, Adam, float32, batch 128), R1 gamma = {GAMMA:g}:")
    report(t, c, 2)
    print(f"  CPU time: r1/plain = {ratio(c, 'r1', 'plain'):.2f}, torch-r1/r1 = "
          f"{ratio(c, 'torch-r1', 'r1') if 'torch-r1' in c else float('nan'):.2f}")
    r_step = ratio(t, "r1", "plain")
    r_r1 = ratio(t, "torch-r1", "r1") if "torch-r1" in t else float("nan")
    r_t, r_j, r_c = last[args.jvp_dtype]
    print(f"  (J v ratios on the next line: {args.jvp_dtype}; float32: torch {last['float32'][0]:.2f}, "
          f"jax {last['float32'][1]:.2f}, ragan/nonsat {last['float32'][2]:.2f})")
    print(f"jvp gandyn/torch={r_t:.2f} jvp gandyn/jax={r_j:.2f} r1-step/plain-step={r_step:.2f} "
          f"r1 gandyn/torch={r_r1:.2f} jvp ragan/nonsat={r_c:.2f}")


if __name__ == "__main__":
    main()
