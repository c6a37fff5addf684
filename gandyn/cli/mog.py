"""The 2-D mode-collapse benchmark as populations: train methods x step sizes x seeds on
the ring of 8 and the grid of 25 Gaussians, score every run by the protocol of
Srivastava et al. 2017 (VEEGAN) and Lin et al. 2018 (PacGAN) (2,500 samples; high
quality within 3 sd of the nearest mode; modes covered; reverse KL), and write the
success table (table.csv, table.json, next to the published rows), per-model results
(models_DATA.csv, results_DATA.npz) and figures of samples over training.

A run succeeds when it covers every mode and at least 90% of its samples are of high
quality. With --keep-every N every model's parameters are kept along training
(snapshots_DATA.npz) for `gandyn landscape --run DIR --model I`. With --scheduler
ADDRESS the population is split into shards that run on a Dask distributed cluster
(pip install 'gandyn[distributed]'); results are the same bits."""
from __future__ import annotations


import os
import sys
from pathlib import Path

from gandyn.cli import (add_network_arguments, add_training_arguments, apply_protocol, given_fields, method_name,
                        nonneg_int, option, parse_methods, positive_float, positive_int, sharded_command,
                        training_config, where)
from gandyn.errors import BOUND, DivergedError, UsageError
from gandyn.experiments import mog
from gandyn.io import write_csv, write_json

HELP = "2-D mode collapse (ring of 8, grid of 25) as populations: success rates over seeds"


def add_arguments(p):
    from gandyn.engine.methods import METHODS

    c = mog.MogConfig()
    m = p.add_argument_group("benchmark")
    option(m, "--data", None, f"data sets: {', '.join(mog.DATASETS.names())}", nargs="+", choices=mog.DATASETS.names(),
           default=["ring8", "grid25"], metavar="DATA")
    option(m, "--methods", method_name, f"training methods: {', '.join(METHODS.names())}, or lookahead:INNER "
                                        f"(default: {' '.join(c.labels)})", nargs="+", metavar="METHOD")
    option(m, "--lrs", positive_float, f"G's step sizes (default: {' '.join(map(str, c.lrs))})", nargs="+",
           metavar="LR")
    option(m, "--ttur", positive_float, "lr_D / lr_G", of=c)
    option(m, "--decay", positive_float, "step sizes decay as lr * DECAY^(t/steps), DECAY in (0, 1]", of=c)
    option(m, "--seeds", positive_int, f"seeds per method and step size: seed, seed+1, ... (default: {c.seeds})")
    option(m, "--steps", positive_int, f"training iterations (default: {c.steps})")
    option(m, "--checks", positive_int, "evaluations during training", of=c)
    option(m, "--keep-every", nonneg_int, "keep every model's parameters at iteration 0, every N iterations and at "
           "the end, in snapshots_DATA.npz, for `gandyn landscape` (default: 0, none)", of=c, metavar="N")
    option(m, "--quick", None, f"smoke run: {mog.QUICK['seeds']} seeds, {mog.QUICK['steps']} iterations, "
           "small networks", action="store_true")
    n = p.add_argument_group("networks and training")
    add_network_arguments(n, c.networks, "--hidden", "--hidden-g", "--hidden-d", "--z-dim", "--latent", "--pack",
                          "--g-batch-norm", "--d-pieces", "--init")
    add_training_arguments(n, c.training, method=False)
    option(n, "--chunk", positive_int, "models per stacked unit", of=c)
    option(m, "--protocol", None, "a published protocol's settings (pacgan: Lin et al. 2018's synthetic experiments, "
           "with --pack M); an option given as well replaces that setting, with a note (see docs/mog.md)",
           choices=list(mog.PROTOCOLS))
    e = p.add_argument_group("scoring")
    option(e, "--n-eval", positive_int, f"samples scored per model (default: {c.n_eval})")
    option(e, "--min-count", positive_int, "high-quality samples a mode needs to count as covered, as published", of=c)
    option(e, "--hq-target", float, "high-quality share a success needs", of=c)
    d = p.add_argument_group("parallel and distributed")
    option(d, "--jobs", positive_int, "local processes, one BLAS thread each (default: 2, or 1 on a one-core machine)")
    option(d, "--scheduler", None, "Dask scheduler (tcp://host:port); shards run on its workers", metavar="ADDRESS")
    option(d, "--shards", positive_int, "shards for --scheduler (default: one per unit of --chunk models)")


def _configs(args):
    """The run's configurations, one per data set, after every check of the options. ``--protocol``
    puts its settings into ``args`` first (options given win, each named on stderr,
    :func:`gandyn.cli.apply_protocol`)."""
    from gandyn.engine.population import Networks

    protocol, fixed, extra = "", {}, {}
    if args.hidden is not None:  # both players' widths, unless --hidden-g or --hidden-d names one (also for --protocol)
        args.hidden_g, args.hidden_d = args.hidden_g or args.hidden, args.hidden_d or args.hidden
        args._given |= {"hidden_g", "hidden_d"}
    if args.protocol:
        if args.quick:
            raise ValueError("--quick and --protocol each set the run's size: give one of them")
        spec = mog.PROTOCOLS[args.protocol]
        settings = {**spec["settings"], "batch": spec["batch_per_pack"] * args.pack}
        protocol, fixed, extra = apply_protocol("mog", args.protocol, settings, args, mog.MogConfig.training)
        args.data = [spec["data"].get(d, d) for d in args.data]  # the protocol's data scale
    given = [f"--{k.replace('_', '-')}" for k in ("methods", "lrs", "seeds", "steps", "hidden", "n_eval")
             if getattr(args, k) is not None]  # of the options --quick sets
    if args.quick and given:
        raise ValueError(f"--quick sets its own {', '.join(given)}; drop --quick or those options")
    if args.scheduler is not None and args.jobs is not None:
        raise ValueError("--jobs runs local processes and --scheduler a Dask cluster: give one of them")
    if args.shards is not None and args.scheduler is None and (args.jobs or 1) < 2:
        raise ValueError("--shards needs --scheduler or --jobs of 2 or more (one process runs no shards)")
    flat = {**given_fields(args, Networks), **given_fields(args, mog.MogConfig), **fixed,
            **{k: tuple(v) if isinstance(v, list) else v for k, v in extra.items()}}
    kw = mog.nested(flat, mog.QUICK if args.quick else None) | {"protocol": protocol}
    steps = kw.get("steps", mog.MogConfig.steps)
    for name, value in (("--checks", args.checks), ("--keep-every", args.keep_every)):
        if value > steps:
            raise ValueError(f"{name} ({value}) must not exceed the iterations ({steps})")
    methods = kw["methods"] = tuple(parse_methods(kw.get("methods", mog.MogConfig.methods), args.method_option))
    kw["training"] = training_config(args, kw["training"], methods)
    return [mog.MogConfig(**{**kw, "data": data}) for data in args.data]


def print_table(table, published) -> None:
    """The success table on stdout: per row its protocol, seeds and iterations, the success rate
    and the share covering every mode with their 95% Wilson intervals, median and mean +- s.e. of
    modes, high-quality share and reverse KL, and the wall time; then the published rows, mean
    +- s.e. where the paper gives it, with their number of runs."""
    from gandyn.metrics.intervals import format_pm

    w = max([12] + [len(r["method"]) for r in [*table, *published]])
    div = any(r.get("diverged") for r in table)  # a column of diverged (dropped) models when there are any
    print(f"{'data':10s} {'method':{w}s} {'protocol':14s} {'lr_G':>7s} {'lr_D':>7s} {'seeds':>5s} {'iters':>6s} "
          f"{'success [95% CI]':>18s} {'all modes [95% CI]':>18s} {'modes med, mean':>17s} "
          f"{'HQ % med, mean':>17s} {'rKL med, mean':>20s} {'wall s':>7s}" + (f" {'diverged':>8s}" if div else ""))

    def rate(r, key):  # a percentage with its 95% interval
        return f"{r[key + '_pct']:4.0f}% [{r[key + '_lo_pct']:3.0f},{r[key + '_hi_pct']:4.0f}]%"

    def med_mean(r, key, width, spec):  # the median, and the mean +- s.e.
        return f"{r['median_' + key]:{width}{spec}} {format_pm(r['mean_' + key], r['se_' + key], spec):>{2 * width + 1}s}"

    changed = {}
    for r in table:
        shown, _, change = r["protocol"].partition(" with ")
        if change:  # the protocol's name, starred; its changes in a note below
            shown += "*"
            changed[shown] = change
        print(f"{r['data']:10s} {r['method']:{w}s} {shown:14s} {r['lr_g']:7.1e} {r['lr_d']:7.1e} {r['seeds']:5d} "
              f"{r['steps']:6d} {rate(r, 'success')} {rate(r, 'all_modes')} {med_mean(r, 'modes', 5, '.1f')} "
              f"{med_mean(r, 'high_quality_pct', 5, '.1f')} {med_mean(r, 'reverse_kl', 6, '.3f')} "
              f"{r['wall_seconds']:7.0f}" + (f" {r['diverged']:8d}" if div else ""))
    for name, change in changed.items():
        print(f"{name} with {change}")
    if published:
        print("published (mean, +- s.e. where given, over the paper's runs; the paper's protocol):")
    for r in published:
        print(f"{r['data']:10s} {r['method']:{w}s} {'paper':14s} runs {r['runs']:2d}  "
              f"modes {format_pm(r['modes'], r['modes_se'], '.1f'):>8s}  "
              f"HQ {format_pm(r['high_quality'], r['high_quality_se'], '.1f'):>9s}%  "
              f"rKL {format_pm(r['reverse_kl'], r['reverse_kl_se'], '.2f'):>10s}  [{r['source']}]")


def _write(cfg, res, out):
    """Per-data outputs: results npz, models csv, snapshots, figures."""
    from gandyn import history, plotting
    from gandyn.metrics.modes import mixture_modes
    from gandyn.plotting import mog as figs
    from gandyn.rng import stream

    d = cfg.data
    arrays = {k: v for k, v in res.items() if k not in ("wall_seconds", *mog.SNAPSHOTS)}
    meta = {"config": cfg.to_dict(), "wall_seconds": res["wall_seconds"], "source": "gandyn.experiments.mog"}
    paths = [history.save(out / f"results_{d}.npz", arrays, meta)]
    cols = ("method", "lr_g", "lr_d", "seed", "modes", "high_quality", "reverse_kl", "success", "diverged_at")
    rows = [{"data": d, **dict(zip(cols, values))} for values in zip(*(res[k].tolist() for k in cols))]
    paths += [write_csv(out / f"models_{d}.csv", rows), *filter(None, [mog.save_snapshots(cfg, res, out)])]
    dist = mog.DATASETS[d]()
    pts, (centers, _) = dist.rvs(2000, stream(cfg.seed, "plot")), mixture_modes(dist)
    for m in [m for m in cfg.labels if (res["method"] == m).any() and res["samples"].shape[1]]:
        stem = f"samples_{d}_{m.replace(':', '-')}"
        paths += plotting.save(figs.samples_figure(cfg, res, m, pts, centers), out / stem)
    return paths + plotting.save(figs.success_figure(cfg, res), out / f"success_{d}")


def run(args) -> int:
    from gandyn.app.backends import SHARDS, ShardError, ShardStore, run_mog
    from gandyn.app.machine import check_memory

    cfgs = _configs(args)  # every check before any work
    jobs = args.jobs if args.jobs is not None else min(2, os.cpu_count() or 1)
    for cfg in cfgs:
        check_memory(mog.memory_bytes(cfg, 1 if args.scheduler else jobs),
                     f"{cfg.data}: {len(cfg.methods) * len(cfg.lrs) * cfg.seeds:,} GANs (--seeds {cfg.seeds:,}, "
                     f"--n-eval {cfg.n_eval:,}, --batch {cfg.training.batch:,}, --chunk {cfg.chunk:,})")
    # a folder holding a run of another configuration (stopped: its shards' record; finished: its table) is refused
    config = [c.to_dict() for c in cfgs]

    def work(out, client):
        # one shard store per data set; the first shard saved writes the run's record next to them
        stores = [ShardStore(out / SHARDS, cfg.data, record=("mog", config)) for cfg in cfgs]
        paths, table = [], []
        for cfg, store in zip(cfgs, stores):
            try:
                res = run_mog(cfg, shards=args.shards, client=client, jobs=jobs, progress=not args.quiet, store=store)
            except ShardError as e:
                if e.partial is not None:
                    _write(cfg, e.partial | {"wall_seconds": float("nan")}, out)
                e.data = cfg.data
                raise
            if names := mog.diverged_models(cfg, res):  # left out of the table's rates
                more = f" and {len(names) - 5} more (models_{cfg.data}.csv: diverged_at)" if len(names) > 5 else ""
                print(f"gandyn mog: note: {cfg.data}: {len(names)} of {res['rows'].size} models diverged (a parameter "
                      f"NaN, inf or beyond {BOUND:g}) and are left out of the table's rates: {'; '.join(names[:5])}"
                      f"{more}", file=sys.stderr)
            table += mog.success_table(cfg, res)  # each row with the data set's wall time
            paths += _write(cfg, res, out)
            print(f"{cfg.data}: {res['rows'].size} GANs x {cfg.steps} iterations in {res['wall_seconds']:.0f} s"
                  f"{f' ({note})' if (note := mog.training_changes(cfg)) else ''}", flush=True)
        notes = {"units": "percentages (*_pct, published high_quality) in percent; intervals 95% Wilson; se: "
                          "standard error of the mean over seeds",
                 "success": "every mode covered (>= min_count high-quality samples) and high-quality share >= "
                            "hq_target"}
        paths += [write_csv(out / "table.csv", table), write_json(out / "table.json", {
            "config": config, "gandyn": table, "published": mog.PUBLISHED, **notes})]
        scored = {{"ring8_unit": "ring8"}.get(c.data, c.data) for c in cfgs}  # PacGAN's ring is their ring8 row
        print_table(table, [r for r in mog.PUBLISHED if r["data"] in scored])
        print("wrote " + ", ".join(str(p) for p in paths))
        for st in stores:  # the results hold every shard now
            st.clear()
        return 0

    def failed(e):
        kept = (f"finished shards written to {Path(args.out)}; run the same command again to train the rest"
                if e.partial is not None else "no shard finished")
        ours = isinstance(e.cause, (UsageError, DivergedError, OSError, MemoryError, type(None)))  # not a bug
        return f"{e.data}: {e} ({kept})" + ("" if ours else f"; a bug in gandyn, raised at {where(e.cause)}")

    return sharded_command(args, "mog", config, work, failed, "table.json")
