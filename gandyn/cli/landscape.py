"""The landscape of a trained GAN along training (Berard et al. 2020): at each checkpoint
of a run of `gandyn mnist train` (kept with --keep-every), `gandyn gan1d` or `gandyn mog`
(kept with --keep-every; one model, chosen with --model), on a fixed evaluation batch, in
float64:

- the top-k eigenvalues of the game Jacobian J (largest modulus, largest and smallest
  real part) and of H_GG and H_DD (both ends), each with its residual ||Av - lambda v||;
- the Ratliff-Burden-Sastry verdict (critical? differential Nash? stable?), from the dense
  spectra for games of at most --dense-max parameters, else certified by a converged
  eigenpair or the symmetric part's bound (Bendixson), else marked unverified;
- the spectral densities of H_GG and H_DD (stochastic Lanczos quadrature);
- the path angle between consecutive checkpoints.

Writes eigenvalues.csv, density.csv, path_angle.csv, summary.json and figures
(trajectories, complex_plane, densities, path_angle; PNG and PDF)."""
from __future__ import annotations

from gandyn.cli import defaults_of, nonneg_int, positive_float, positive_int

HELP = "eigenvalues of J, H_GG, H_DD, Nash verdicts, spectral densities and path angle along training"


def add_arguments(p):
    p.add_argument("--run", metavar="DIR", required=True,
                   help="the run folder (gandyn mnist train, gandyn gan1d or gandyn mog)")
    p.add_argument("--model", metavar="I|METHOD:SEED", default=None,
                   help="the model of a gandyn mog run: its row in models_DATA.csv counting from 0, or METHOD:SEED "
                        "(required when the run holds more than one)")
    p.add_argument("--data", metavar="DATA", default=None,
                   help="the data set of a gandyn mog run (required when it kept checkpoints of more than one)")
    p.add_argument("--at", type=nonneg_int, nargs="+", default=None, metavar="IT",
                   help="only the checkpoints at these iterations (default: all)")
    p.add_argument("--batch", type=positive_int, default=None,
                   help="evaluation batch: MNIST images and latent draws (default 256), quadrature nodes of the "
                        "1-D GAN (default 64), or points of the 2-D data and latent draws of a mog run (default 512)")
    from gandyn.experiments.landscape import analyse

    d = defaults_of(analyse)
    p.add_argument("--k", type=positive_int, default=d["k"], help=f"eigenvalues per search (default: {d['k']})")
    p.add_argument("--dense-max", type=nonneg_int, default=d["dense_max"], metavar="N",
                   help="games with at most N parameters take their verdicts from the dense spectra, against which "
                        f"the searches are checked (default: {d['dense_max']}; 0: never)")
    p.add_argument("--tol", type=positive_float, default=d["tol"], help=f"ARPACK's tolerance (default: {d['tol']:g})")
    p.add_argument("--slq-vectors", type=positive_int, default=d["slq_vectors"],
                   help=f"random vectors of the stochastic Lanczos quadrature (default: {d['slq_vectors']})")
    p.add_argument("--slq-steps", type=positive_int, default=d["slq_steps"],
                   help=f"Lanczos steps per vector (default: {d['slq_steps']})")
    p.add_argument("--path-points", type=positive_int, default=d["path_points"],
                   help=f"points on each segment between checkpoints (default: {d['path_points']})")
    p.add_argument("--data-dir", metavar="D", default=None, help="MNIST folder (as for gandyn mnist)")


def _how(check: str) -> str:
    """How a verdict is known, as printed: nothing when from the dense spectra."""
    return {"dense": " (dense)", "certified": "", "unverified": " (unverified: an iterative search may miss the "
            "extreme eigenvalue; see --dense-max)"}[check]


def run(args) -> int:
    from gandyn import plotting
    from gandyn.experiments import landscape
    from gandyn.io import ensure_dir, write_csv, write_json
    from gandyn.plotting import landscape as figs

    try:
        lr = landscape.load_landscape(args.run, batch=args.batch, data_dir=args.data_dir, at=args.at, model=args.model,
                                data=args.data)  # fails before any output
        res = landscape.analyse(lr, k=args.k, tol=args.tol, slq_vectors=args.slq_vectors, slq_steps=args.slq_steps,
                                path_points=args.path_points, progress=not args.quiet, rng=args.seed,
                                dense_max=args.dense_max)
    except MemoryError:
        sizes = ", ".join(f"--{k.replace('_', '-')} {getattr(args, k):,}" for k in ("batch", "k", "slq_steps")
                          if getattr(args, k) is not None)
        raise MemoryError(f"out of memory with {sizes}: try a smaller --batch") from None
    out = ensure_dir(args.out)
    write_csv(out / "eigenvalues.csv", res["eigenvalues"])
    write_csv(out / "density.csv", res["density"])
    write_csv(out / "path_angle.csv", res["path"])
    write_json(out / "summary.json", {k: v for k, v in res.items() if k not in ("eigenvalues", "density", "path")})
    plotting.save(figs.trajectories_figure(res), out / "trajectories")
    plotting.save(figs.complex_plane_figure(res), out / "complex_plane")
    plotting.save(figs.densities_figure(res), out / "densities")
    if res["path"]:
        plotting.save(figs.path_angle_figure(res), out / "path_angle")
    for p in res["points"]:
        print(f"iteration {p['iteration']:>7,}: ||omega|| {p['omega_norm']:.3g}; H_GG [{p['g']['min']:+.3g}, "
              f"{p['g']['max']:+.3g}], H_DD [{p['d']['min']:+.3g}, {p['d']['max']:+.3g}]; J: min Re {p['j']['min_real']:+.3g}, "
              f"max |lambda| {p['j']['max_modulus']:.3g}; Nash {'yes' if p['differential_nash'] else 'no'}"
              f"{_how(p['check']['nash'])}, stable {'yes' if p['stable'] else 'no'}{_how(p['check']['stable'])}"
              f"{'' if p['converged'] else ' (some eigenpairs not converged)'}; "
              f"{p['seconds']:.1f} s, {p['products']} products")
        if p.get("searches_agree") is False:
            print(f"  note: the matrix-free searches missed an extreme eigenvalue here (min Re lambda(J) found "
                  f"{p['j']['min_real_search']:+.3g}, dense {p['j']['min_real']:+.3g}); the verdicts are the dense ones")
    print(f"wrote {out}/eigenvalues.csv, density.csv, path_angle.csv, summary.json and figures")
    return 0
