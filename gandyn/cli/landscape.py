"""The landscape of a trained GAN along training (Berard et al. 2020): at each snapshot
of a run of `gandyn mnist train` (kept with --keep-every), `gandyn gan1d` or `gandyn mog`
(kept with --keep-every; one model, chosen with --model), on a fixed evaluation batch, in
float64:

- the top-k eigenvalues of the game Jacobian J (largest modulus, largest and smallest
  real part) and of H_GG and H_DD (both ends), each with its residual ||Av - lambda v||;
- the Ratliff-Burden-Sastry verdict (critical? differential Nash? stable?), from the dense
  spectra for games of at most --dense-max parameters, else certified by a converged
  eigenpair or the symmetric part's bound (Bendixson), else marked unverified;
- the spectral densities of H_GG and H_DD (stochastic Lanczos quadrature);
- the path angle between consecutive snapshots.

Writes eigenvalues.csv, density.csv, path_angle.csv, summary.json and figures
(trajectories, complex_plane, densities, path_angle; PNG and PDF)."""
from __future__ import annotations

from gandyn.cli import defaults_of, given_fields, nonneg_int, option, positive_float, positive_int
from gandyn.experiments import landscape  # the command's defaults: imported with its options anyway

HELP = "eigenvalues of J, H_GG, H_DD, Nash verdicts, spectral densities and path angle along training"


def add_arguments(p):
    d = defaults_of(landscape.analyse)
    p.add_argument("--run", metavar="DIR", required=True, help="the run folder (gandyn mnist train, gan1d or mog)")
    p.add_argument("--model", metavar="I|METHOD:SEED", help="the model of a gandyn mog run: its row in models_DATA.csv "
                   "counting from 0, or METHOD:SEED (required when the run holds more than one)")
    p.add_argument("--data", help="the data set of a gandyn mog run (required when it kept snapshots of several)")
    option(p, "--at", nonneg_int, "only the snapshots at these iterations (default: all)", nargs="+", metavar="IT")
    option(p, "--batch", positive_int, "evaluation batch: MNIST images and latent draws (default 256), quadrature "
           "nodes of the 1-D GAN (default 64), or points of the 2-D data and latent draws of a mog run (default 512)")
    option(p, "--n-eigs", positive_int, f"eigenvalues per search (default: {d['k']}, or fewer for a player with "
           f"fewer than {d['k'] + 2} parameters; at most the smaller player's parameters - 2)", metavar="K")
    option(p, "--dense-max", nonneg_int, "games with at most N parameters take their verdicts from the dense "
           "spectra, against which the searches are checked (0: never)", of=d, metavar="N")
    option(p, "--tol", positive_float, "ARPACK's tolerance", of=d)
    option(p, "--slq-vectors", positive_int, "random vectors of the stochastic Lanczos quadrature", of=d)
    option(p, "--slq-steps", positive_int, "Lanczos steps per vector", of=d)
    option(p, "--path-points", positive_int, "points on each segment between snapshots", of=d)
    p.add_argument("--data-dir", metavar="D", help="MNIST folder (as for gandyn mnist)")


#: How a verdict is known, as printed: nothing when from the dense spectra.
HOW = {"dense": " (dense)", "certified": "", "unverified": " (unverified: an iterative search may miss the extreme "
       "eigenvalue; see --dense-max)"}


def run(args) -> int:
    import json
    import os

    from gandyn.app import backends, folders
    from gandyn.app.machine import check_memory
    from gandyn.io import remove_stale_temps, write_csv, write_json
    from gandyn.plotting import landscape as figs, save

    try:
        # without --n-eigs analyse's default, fewer for a small player
        k_given, args.n_eigs = args.n_eigs is not None, args.n_eigs or defaults_of(landscape.analyse)["k"]
        if args.batch is not None:  # the evaluation set itself, before it is drawn
            check_memory(8 * 100 * args.batch, f"--batch {args.batch:,}")
        lr = landscape.load_landscape(args.run, batch=args.batch, data_dir=args.data_dir, at=args.at, model=args.model,
                                      data=args.data)  # fails before any output
        # ARPACK finds at most n - 2 eigenvalues of an n x n block; the products need about 64 bytes per
        # sample and parameter (an upper estimate)
        n_g, n_d, batch = lr.game.n_g, lr.game.n_d, lr.meta["batch"]
        if k_given and args.n_eigs > min(n_g, n_d) - 2:
            raise ValueError(f"--n-eigs {args.n_eigs:,} exceeds the eigenvalues a search can find: the smaller player "
                             f"has {min(n_g, n_d)} parameters, so --n-eigs is at most {max(min(n_g, n_d) - 2, 1)}")
        check_memory(64 * batch * min(n_g + n_d, 100_000), f"--batch {batch:,} on a game of {n_g + n_d:,} "
                     "parameters")
        config = {"run": os.path.abspath(args.run), **{k: getattr(args, k) for k in (  # what the results depend on
            "model", "data", "at", "batch", "n_eigs", "dense_max", "tol", "slq_vectors", "slq_steps", "path_points",
            "data_dir", "seed")}}
        folders.check_same_run(args.out, "landscape", config, backends.SHARDS, "summary.json")
        with folders.output_folder(args.out, "landscape") as out:
            remove_stale_temps(out, ("*.csv", "*.json", "*.png", "*.pdf"))
            store = backends.ShardStore(out / backends.SHARDS, "iteration", ("landscape", config))  # finished snapshots
            done = {units[0]: json.loads(str(arrays["result"])) for units, arrays in store.load().items()}
            res = landscape.analyse(lr, k=args.n_eigs, progress=not args.quiet, rng=args.seed, done=done,
                                    keep=lambda it, r: store.save([it], {"result": json.dumps(r)}),
                                    **given_fields(args, landscape.analyse))  # --tol, --slq-steps, ...
            for stem in ("trajectories", "complex_plane", "densities", "path_angle")[:4 if res["path"] else 3]:
                save(getattr(figs, f"{stem}_figure")(res), out / stem)
            for key, stem in (("eigenvalues", "eigenvalues"), ("density", "density"), ("path", "path_angle")):
                write_csv(out / f"{stem}.csv", res.pop(key))  # the tables; the rest is the summary
            write_json(out / "summary.json", {**res, "config": config})
            store.clear()
    except MemoryError:  # one naming the sizes given
        sizes = ", ".join(f"--{k.replace('_', '-')} {getattr(args, k):,}" for k in ("batch", "n_eigs", "slq_steps")
                          if getattr(args, k) is not None)
        raise MemoryError(f"out of memory with {sizes}: try a smaller --batch") from None
    for p in res["points"]:
        g, d, j, yes = p["g"], p["d"], p["j"], {True: "yes", False: "no"}
        print(f"iteration {p['iteration']:>7,}: ||omega|| {p['omega_norm']:.3g}; H_GG [{g['min']:+.3g}, "
              f"{g['max']:+.3g}], H_DD [{d['min']:+.3g}, {d['max']:+.3g}]; J: min Re {j['min_real']:+.3g}, "
              f"max |lambda| {j['max_modulus']:.3g}; Nash {yes[p['differential_nash']]}{HOW[p['check']['nash']]}, "
              f"stable {yes[p['stable']]}{HOW[p['check']['stable']]}"
              f"{'' if p['converged'] else ' (some eigenpairs not converged)'}; {p['seconds']:.1f} s, "
              f"{p['products']} products")
        if p.get("searches_agree") is False:
            print(f"  note: the matrix-free searches missed an extreme eigenvalue here (min Re lambda(J) found "
                  f"{j['min_real_search']:+.3g}, dense {j['min_real']:+.3g}); the verdicts are the dense ones")
    print(f"wrote {out}/eigenvalues.csv, density.csv, path_angle.csv, summary.json and figures")
    return 0
