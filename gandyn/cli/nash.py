"""Game dynamics of GANs: the game Jacobian, the differential-Nash conditions of
Ratliff, Burden & Sastry (2013), and simultaneous vs alternating vs stabilised
gradient play (Mescheder, Geiger & Nowozin 2018).

Writes into --out: dirac_trajectories, vector_fields, spectrum, step_map and
talk_claim (PNG and PDF); report.txt (the Ratliff report of every point);
verdicts.csv / verdicts.json (one row per point); closed_forms.csv /
closed_forms.json (each closed form and its measured error); summary.json.

With --loss NAME (and --penalty r1|r2|gp): the Dirac-GAN of that loss instead, alone and with
the penalty: dirac_trajectories, vector_fields and spectrum of those games, closed_forms.csv /
closed_forms.json (J(0,0)'s eigenvalues in closed form, or why there is none) and summary.json."""
from __future__ import annotations

from gandyn.cli import int_in, option, positive_float

HELP = "game Jacobian, Ratliff's Nash conditions and GAN training dynamics (Dirac-GAN, MLP GANs)"


def add_arguments(p):
    option(p, "--h", positive_float, "step size of the Dirac-GAN trajectories", default=0.2)
    option(p, "--steps", int_in(1, 10**7), "steps per trajectory", default=500)
    option(p, "--disc-h", positive_float, "step size of the stability disc and of the verdicts' discrete stability",
           default=0.5)
    option(p, "--gamma", positive_float, "R1/R2/consensus weight of the trajectories", default=0.3)
    option(p, "--sigma", positive_float, "instance-noise std of the trajectories", default=1.0)
    option(p, "--train-steps", int_in(1, 10**8), "Adam steps of the 1-D MLP GAN for the talk's claim", default=3000)
    option(p, "--field-grid", int_in(3, 2000), "points per axis of the vector-field grid", default=21)
    option(p, "--map-points", int_in(3, 2000), "regularisation weights (and h values / 61 * 200) of the step-size map",
           default=61)
    option(p, "--loss", None, "the Dirac-GAN of this loss only (any registered loss: nonsat, wgan, ls, ...), alone "
                              "and with --penalty (default: the standard study)", metavar="NAME")
    option(p, "--penalty", None, "with --loss: also the game with this gradient penalty", choices=("r1", "r2", "gp"))
    option(p, "--penalty-weight", positive_float, "gamma of R1/R2 (gamma/2 psi^2), lambda of GP (lambda (|psi| - "
                                                  "target)^2) (default: --gamma)", metavar="W")
    option(p, "--gp-target", float, "GP's target gradient norm (default: 1, Gulrajani et al. 2017)", default=1.0)
    option(p, "--large-hidden", int_in(0, 4096), "hidden width of the large MLP GAN classified by ARPACK; 256 gives "
                                                 "~1e5 parameters, 0 skips", default=64)


def run(args) -> int:
    import time

    import numpy as np

    from gandyn.app.folders import output_folder
    from gandyn.app.machine import check_memory
    from gandyn.experiments import game_study as gs
    from gandyn.games import closed_forms
    from gandyn.games.nash import classify
    from gandyn.io import write_csv, write_json, write_text
    from gandyn.plotting import games as gplot, save

    if args.large_hidden == 1:
        raise ValueError("--large-hidden must be 0 (skip) or >= 2")
    if args.loss is None and (args.penalty is not None or args.penalty_weight is not None):
        raise ValueError("--penalty and --penalty-weight need --loss")
    weight = args.gamma if args.penalty_weight is None else args.penalty_weight
    # every check before any work: --loss's games are made (and refused) here
    game = dict(gamma=args.gamma, sigma=args.sigma) if args.loss is None else dict(
        variants=gs.loss_variants(args.loss, args.penalty, weight, args.gp_target))
    check_memory(16 * 8 * (args.steps + 1) * 2 + 8 * 8 * args.field_grid ** 2
                 + 8 * 4 * args.map_points ** 2 * 200 // 61 + 8 * 20 * args.large_hidden ** 2,
                 f"--steps {args.steps:,}, --field-grid {args.field_grid:,}, --map-points {args.map_points:,}, "
                 f"--large-hidden {args.large_hidden:,}")
    with output_folder(args.out, "nash") as out:
        t0 = time.perf_counter()
        checks = closed_forms.verify(seed=args.seed) if args.loss is None else gs.loss_closed_forms(
            args.loss, args.penalty, weight)
        spectra, skipped = (gs.spectra(args.gamma, args.sigma), {}) if args.loss is None else gs.loss_spectra(**game)
        write_csv(out / "closed_forms.csv", checks)
        write_json(out / "closed_forms.json", checks)
        panels = gs.dirac_panels(args.h, (1.0, 1.0), args.steps, progress=not args.quiet, **game)
        vf = gs.vector_fields(n=args.field_grid, **game)
        written = save(gplot.dirac_grid(panels, vf, args.h), out / "dirac_trajectories")
        written += save(gplot.vector_field_figure(vf), out / "vector_fields")
        if spectra:
            written += save(gplot.spectrum_figure(spectra, args.disc_h), out / "spectrum")
        if args.loss is not None:  # one loss's Dirac-GAN: its summary, and the end of each trajectory
            write_json(out / "summary.json", gs.loss_summary(panels, spectra, skipped) | {
                "loss": args.loss, "penalty": args.penalty, "penalty_weight": weight if args.penalty else None,
                "gp_target": args.gp_target if args.penalty == "gp" else None, "seconds": time.perf_counter() - t0})
            for name, note in skipped.items():
                print(f"{name}: {note}")
            for p in panels:
                print(f"{p.title}: final (theta, psi) = ({p.final[0]:.3g}, {p.final[1]:.3g}), |z| = {p.dist:.3g}"
                      + (f", diverged at step {p.diverged_at}" if p.diverged_at is not None else "")
                      + (f", stopped at step {p.stopped_at} ({p.stopped})" if p.stopped else ""))
            print(f"wrote {len(written)} figure files and tables to {out}")
            return 0

        sm = gs.step_map(np.linspace(0.0, 3.0, args.map_points),
                         np.linspace(0.01, 4.0, max(3, round(args.map_points * 200 / 61))))
        written += save(gplot.step_map_figure(sm), out / "step_map")
        verdicts = [classify(g, z, point=name, h=args.disc_h) for name, g, z in gs.textbook_points()]
        tc = gs.talk_claim(seed=args.seed, steps=args.train_steps, progress=not args.quiet)
        written += save(gplot.talk_claim_figure(tc), out / "talk_claim")
        large = gs.large_game(hidden=args.large_hidden, seed=args.seed) if args.large_hidden else None
        verdicts += [tc.exact.verdict, tc.trained.verdict] + ([large.verdict] if large else [])
        write_text(out / "report.txt", "\n\n".join(v.report() for v in verdicts) + "\n")
        write_csv(out / "verdicts.csv", [v.row() for v in verdicts])
        write_json(out / "verdicts.json", [v.as_dict() for v in verdicts])
        summary = gs.panels_summary(panels) | tc.summary() | {
            "seconds": time.perf_counter() - t0, "max_closed_form_error": max(r["error"] for r in checks),
            "large_game": large.summary() if large else None}
        write_json(out / "summary.json", summary)
        if diverged := summary["dirac_diverged_at"]:
            first = min(diverged, key=diverged.get)
            print(f"{len(diverged)} of {len(panels)} Dirac-GAN trajectories diverged with h = {args.h:g} "
                  f"(the first, {first}, at step {diverged[first]}; plotted up to there)")
        print(f"{len(checks)} closed forms, max error {summary['max_closed_form_error']:.2e}; "
              f"{len(verdicts)} verdicts; G-block max |eig| at the trained MLP GAN "
              f"{tc.trained.norm_g:.3g} vs D-block {tc.trained.norm_d:.3g}; "
              f"{summary['seconds']:.1f} s; wrote {len(written)} figure files and tables to {out}")
    return 0
