"""Train the 1D GAN of Goodfellow et al. 2014 (data N(4, 0.5^2) by default, z ~ U(-1, 1),
G and D 1-h-1 MLPs, Algorithm 1 with k discriminator steps) and write Figure 1 (a)-(d)
from the real run, the JSD and C(G) curves, an animation (GIF; MP4 if ffmpeg is present)
and the compact history file history.npz.

With --sweep: train a population of GANs at once over seeds x lr_D x lr_G (x k x loss),
and write the convergence map (final JSD over the step-size grid), sweep.csv and
sweep.npz."""
from __future__ import annotations

import itertools
import json
import time

import numpy as np

from gandyn.app.machine import check_memory
from gandyn.cli import (add_network_arguments, add_training_arguments, defaults_of, given_fields, option,
                        positive_float, positive_int, sharded_command, training_config)
from gandyn.experiments import gan1d  # the command's defaults: imported with its options anyway

HELP = "the 1D GAN: Figure 1 from a real run, animation, and a population sweep over step sizes"


def add_arguments(p):
    from gandyn.engine.losses import LOSSES

    r, sw = defaults_of(gan1d.record_run), defaults_of(gan1d.sweep)
    m = p.add_argument_group("model and training")
    option(m, "--data", None, "p_data: N(loc, scale), U(low, high) or a mixture like '0.5*N(-2, 0.5) + "
                              "0.5*N(2, 0.5)'", default=gan1d.DATA)
    add_network_arguments(m, gan1d.NETWORKS, "--latent", "--hidden-g", "--hidden-d", "--act-g", "--act-d")
    add_training_arguments(m, gan1d.TRAINING)
    option(m, "--lr-d", positive_float, "D's step size", of=r)
    option(m, "--lr-g", positive_float, "G's step size", of=r)
    option(m, "--steps", positive_int, f"training iterations (default: {r['steps']}; {sw['steps']} with --sweep)")
    g = p.add_argument_group("single run")
    option(g, "--record-every", positive_int, "iterations between records", of=r)
    option(g, "--fps", positive_int, "frames per second of the animation", default=12)
    g.add_argument("--no-animation", action="store_true", help="skip the GIF/MP4")
    s = p.add_argument_group("sweep")
    s.add_argument("--sweep", action="store_true", help="train a population over step sizes and seeds")
    option(s, "--grid", positive_int, "step sizes per axis", default=32)
    option(s, "--lr-min", positive_float, "smallest step size", default=1e-4)
    option(s, "--lr-max", positive_float, "largest step size", default=1e-1)
    option(s, "--seeds", positive_int, "seeds per cell: seed, seed+1, ...", default=3)
    option(s, "--ks", positive_int, "values of k to sweep (default: --k)", nargs="+")
    option(s, "--losses", None, "generator losses to sweep (default: --loss)", choices=LOSSES.names(), nargs="+",
           metavar="NAME")
    option(s, "--threshold", positive_float, "JSD (nats) below which a run counts as converged", of=sw)
    s.add_argument("--float64", action="store_true", help="sweep in float64 (default: float32)")
    option(s, "--scheduler", None, "run the sweep's seeds as shards on this Dask scheduler "
                                   "(pip install 'gandyn[distributed]')", metavar="ADDRESS")


def _setup(args, sweep):
    import copy

    from gandyn.engine.population import Networks

    a = copy.copy(args)  # with --sweep, its first loss and k, so that the other choices are checked with them
    a.loss = args.losses[0] if sweep and args.losses else args.loss
    training = training_config(a, gan1d.TRAINING)
    training = training.replace(k=args.ks[0]) if sweep and args.ks else training
    dtype = np.float32 if sweep and not args.float64 else np.float64
    return gan1d.setup(args.data, networks=gan1d.NETWORKS.replace(**given_fields(args, Networks), dtype=dtype),
                       training=training)


def _steps(args) -> int:
    """``--steps``, else the default of :func:`~gandyn.experiments.gan1d.sweep` (with ``--sweep``)
    or of :func:`~gandyn.experiments.gan1d.record_run`."""
    return args.steps or defaults_of(gan1d.sweep if args.sweep else gan1d.record_run)["steps"]


def run(args) -> int:
    if args.scheduler and not args.sweep:
        raise ValueError("--scheduler needs --sweep")
    return _sweep(args) if args.sweep else _single(args)


def _sizes(args) -> tuple[int, int]:
    """The widest hidden layer and the larger player's parameter count (1-D data and latent),
    for the memory checks."""
    widths = (args.hidden_g, args.hidden_d)
    return max(map(max, widths)), max(sum((a + 1) * b for a, b in itertools.pairwise((1, *w, 1))) for w in widths)


def _single(args) -> int:
    """One run, recorded: its checks (Figure 1's records; memory, naming the options), then
    history.npz, Figure 1, the JSD curves, the animation and a summary line."""
    from gandyn import history, plotting
    from gandyn.app.folders import output_folder
    from gandyn.plotting import gan1d as figs

    (h, params), steps, every = _sizes(args), _steps(args), args.record_every
    if steps < 4 * every:
        raise ValueError(f"--steps must be at least 4 x --record-every ({4 * every}): Figure 1 needs 5 records")
    check_memory(16 * steps + (steps // every + 2) * (401 * 3 * 4 + 400) + 8 * (10 * params + 6 * args.batch * h)
                 + 8 * 5000 * h, f"a run of --steps {steps:,} (--record-every {every:,}, --batch {args.batch:,}, "
                                 f"hidden {h:,})")
    setup = _setup(args, sweep=False)
    with output_folder(args.out, "gan1d") as out:
        arrays, meta = gan1d.record_run(setup, args.seed, lr_g=args.lr_g, lr_d=args.lr_d, steps=steps,
                                        record_every=every, progress=not args.quiet)
        meta["panels"] = panels = gan1d.pick_panels(arrays)
        paths = [history.save(out / "history.npz", arrays, meta)]
        paths += plotting.save(figs.figure1(arrays, panels), out / "figure1")
        paths += plotting.save(figs.jsd_curves(arrays), out / "jsd")
        if not args.no_animation:
            paths += figs.animate(arrays, out / "gan1d", fps=args.fps)
    j, jb = arrays["jsd"], arrays["jsd_binned"]
    print(f"JSD(p_data || p_g): {j[0]:.4f} at iteration 0 -> {j[-1]:.4f} at iteration {arrays['it'][-1]} "
          f"(p_g by {'change of variables' if arrays['exact'][-1] else 'KDE'}; binned: {jb[0]:.4f} -> {jb[-1]:.4f}); "
          f"C(G) {arrays['c'][-1]:.4f} (-log 4 = -1.3863); panels (a)-(d) at iterations "
          + ", ".join(str(int(arrays["it"][r])) for r in panels.values()))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _sweep(args) -> int:
    """The sweep's checks (the step-size grid; memory, naming the options; each k and loss with
    the other choices), then the sweep in the output folder, one shard per seed
    (:func:`gandyn.cli.sharded_command`, :func:`_write_sweep`)."""
    if args.grid < 2:
        raise ValueError(f"--grid must be >= 2 step sizes per axis, got {args.grid}")
    if not args.lr_min < args.lr_max:
        raise ValueError(f"--lr-min ({args.lr_min}) must be below --lr-max ({args.lr_max})")
    if args.lr_max > 1e100:  # the map's log axis must stay finite
        raise ValueError(f"--lr-max must be at most 1e+100, got {args.lr_max:g}")
    (h, params), n_gans = _sizes(args), args.grid ** 2 * args.seeds
    # parameters, gradients and optimizer states of both players, and each step's activations
    per = 8 * (10 * params + 6 * args.batch * (h + 2) * ((args.k or gan1d.TRAINING.k) + 1))
    check_memory(n_gans * per + 8 * 4096 * 128 * 4, f"a sweep of {n_gans:,} GANs (--grid {args.grid:,} squared x "
                                                     f"--seeds {args.seeds:,}, --batch {args.batch:,}, hidden {h:,})")
    setup = _setup(args, sweep=True)
    ks, losses = args.ks or [setup.training.k], args.losses or [setup.training.loss]
    gan1d.sweep_setups(setup, ks, losses, ("--ks", "--losses"))  # distinct, and each pairing with the other choices
    lrs = np.geomspace(args.lr_min, args.lr_max, args.grid).tolist()
    kw = dict(lr_g_values=lrs, lr_d_values=lrs, steps=_steps(args), ks=ks, losses=losses, threshold=args.threshold)
    seeds = list(range(args.seed, args.seed + args.seeds))
    # what the results depend on (a rerun into the same folder must give the same)
    config = json.loads(json.dumps({"setup": gan1d.describe(setup), "seeds": seeds, **kw}, default=str))
    kept = f"; the finished shards' results are in {args.out}"  # when a shard failed after others finished
    return sharded_command(args, "gan1d --sweep", config,
                           lambda out, client: _write_sweep(args, setup, seeds, kw, out, config, client),
                           lambda e: f"{e} (seed {e.items[0]}){kept if e.partial is not None else ''}")


def _write_sweep(args, setup, seeds, kw, out, config, client) -> int:
    """The sweep by :func:`gandyn.app.backends.run_sweep`, one shard per seed (on the Dask
    cluster of ``client``, if any), each kept in ``out/shards`` as it finishes (seeds kept there
    by an earlier, stopped run are not trained again); its files (sweep.npz, sweep.csv, the maps)
    and summary lines. On a failure the finished seeds' sweep is written."""
    from gandyn import history, plotting
    from gandyn.app.backends import SHARDS, ShardError, ShardStore, run_sweep
    from gandyn.app.folders import RUN_RECORD
    from gandyn.errors import BOUND
    from gandyn.io import write_csv, write_json
    from gandyn.metrics.intervals import format_pm
    from gandyn.plotting import gan1d as figs

    t0, failed = time.perf_counter(), None
    store = ShardStore(out / SHARDS, "seed", record=("gan1d --sweep", config))
    try:
        arrays, meta = run_sweep(setup, seeds=seeds, client=client, store=store, progress=not args.quiet, **kw)
    except ShardError as e:
        if e.partial is None:
            raise
        (arrays, meta), failed = e.partial, e
    wall = time.perf_counter() - t0 + store.earlier_seconds  # a resumed sweep's earlier parts too
    summary = gan1d.sweep_summary(arrays, wall)
    meta = {**meta, **({"failed": f"{failed} (seed {failed.items[0]})"} if failed else {}), "wall_seconds": wall}
    paths = [history.save(out / "sweep.npz", arrays, meta), write_csv(out / "sweep.csv", gan1d.sweep_rows(arrays)),
             write_csv(out / "sweep_summary.csv", summary)]
    for a, b in np.ndindex(arrays["jsd"].shape[:2]):  # a map per k and loss
        stem = "convergence_map" if arrays["jsd"].shape[:2] == (1, 1) else \
            f"convergence_map_k{arrays['ks'][a]}_{arrays['losses'][b]}"
        paths += plotting.save(figs.convergence_map(arrays, meta, a, b), out / stem)
    if failed:
        raise failed
    conv, div = arrays["converged"], arrays["diverged_at"]
    print(f"{conv.size} GANs, {meta['steps']} steps each, in {wall:.1f} s; converged "
          f"(JSD < {meta['threshold']:g} nats): {conv.mean():.1%}; median final JSD "
          f"{np.median(arrays['jsd']):.4f}"
          + (f"; {int((div >= 0).sum())} diverged (a parameter NaN, inf or beyond {BOUND:g}; the first by iteration "
             f"{int(div[div >= 0].min())}), counted with JSD log 2" if (div >= 0).any() else ""))
    for r in summary:  # the rates with their uncertainty, one line per k and loss
        print(f"k={r['k']} {r['loss']}: converged {r['converged']}/{r['runs']} = {r['converged_pct']:.1f}% "
              f"[95% Wilson {r['converged_lo_pct']:.1f}, {r['converged_hi_pct']:.1f}]; final JSD median "
              f"{r['median_jsd']:.4f}, mean {format_pm(r['mean_jsd'], r['se_jsd'], '.4f')} (s.e.); "
              f"{r['steps']} iterations")
    print("wrote " + ", ".join(str(p) for p in paths))
    write_json(out / RUN_RECORD, {"command": "gan1d --sweep", "config": config})
    store.clear()
    return 0
