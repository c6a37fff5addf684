"""Verify the optimal discriminator and the Jensen-Shannon identity numerically
(Goodfellow et al. 2014, Prop. 1 and Thm. 1).

(a) analytic: V(D*, G) against -log 4 + 2 JSD over a family of pairs, and the
    closed forms (shifted uniforms, equal and disjoint distributions);
(b) learned: an MLP discriminator trained on samples until its loss stops
    improving, against D* (sup and RMS error where p_data + p_g > 1% of its max)
    and V(D_learned, G) against C(G);
(c) maximality: V(D* + eps h, G) <= V(D*, G) for random bounded h;
(l) losses: for every registered loss (nonsat, minimax, ls, hinge, wgan and the
    f-GANs), D's value at its optimum against its divergence (JSD, LSGAN's Pearson
    chi^2, total variation, Wasserstein-1 from the CDFs, KL, reverse KL, Pearson,
    squared Hellinger), one row per loss and identity with the largest error over a
    family of pairs (bound 1e-8), and closed forms for shifted normals.

Writes into --out: theory_learned, theory_c_vs_jsd, theory_maximality (PNG and
PDF) and theory_table.csv / theory_table.json (one row per pair and metric, with
its bound and whether it holds). Exits 1 if a bound is violated."""
from __future__ import annotations

from gandyn.cli import int_in, option

HELP = ("verify D* = p_data/(p_data + p_g) and C(G) = -log 4 + 2 JSD numerically, "
        "and the optimal D and divergence of every loss")


def add_arguments(p):
    p.add_argument("--quick", action="store_true",
                   help="part (b) on one Gaussian pair only (a smoke run; parts a and c in full)")
    option(p, "--perturbations", int_in(1, 100_000), "random perturbations h per pair in part (c)", default=8)
    option(p, "--max-steps", int_in(1, 10**8), "cap on discriminator steps per pair in part (b)", default=20_000)


def run(args) -> int:
    import time

    from gandyn import plotting
    from gandyn.app.folders import output_folder
    from gandyn.experiments import theory_check as tc
    from gandyn.io import write_csv, write_json
    from gandyn.plotting import theory as figs

    with output_folder(args.out, "theory") as out:
        t, results = [time.perf_counter()], []
        for part in (tc.part_a, lambda: tc.part_b(seed=args.seed, quick=args.quick, progress=not args.quiet,
                                                  max_steps=args.max_steps),
                     lambda: tc.part_c(seed=args.seed, n_h=args.perturbations),
                     lambda: tc.part_losses(quick=args.quick)):
            results.append(part())
            t.append(time.perf_counter())
        (rows_a, points_a), (rows_b, curves), (rows_c, points_c), rows_l = results
        rows = rows_a + rows_b + rows_c + rows_l

        paths = plotting.save(figs.learned_figure(curves), out / "theory_learned")
        paths += plotting.save(figs.c_vs_jsd_figure(points_a), out / "theory_c_vs_jsd")
        paths += plotting.save(figs.maximality_figure(points_c), out / "theory_maximality")

        maxima = {}  # the largest |value| (part c: value) of each bounded metric
        for r in (r for r in rows if r["bound"] is not None):
            key = f"{r['part']}: {r['metric']}"
            maxima[key] = max(maxima.get(key, -float("inf")), abs(r["value"]) if r["part"] != "c" else r["value"])
        failed = [r for r in rows if r["ok"] is False]
        summary = {"maxima": maxima, "bounds": tc.BOUNDS, "all_bounds_met": not failed,
                   "seconds": {k: t[i + 1] - t[i] for i, k in enumerate("abcl")}, "seed": args.seed,
                   "quick": args.quick}
        write_csv(out / "theory_table.csv", rows)
        write_json(out / "theory_table.json", {"summary": summary, "rows": rows})

        for r in rows_b:
            print(f"(b) {r['pair']:<24} {r['metric']:<24} {r['value']:.5f}"
                  + (f"  (bound {r['bound']:g})" if r["bound"] is not None else "  (no bound)"))
        for r in rows_l:
            print(f"(l) {r['metric'][:78]:<78} {r['value']:.2e}  {'ok' if r['ok'] else 'FAIL'}")
        print(*(f"max {k}: {v:.3g}" for k, v in maxima.items() if not k.startswith("l: ")), sep="\n")
        print(f"{'all bounds met' if not failed else f'{len(failed)} bound(s) violated'} "
              f"in {t[-1] - t[0]:.0f} s; wrote {out / 'theory_table.csv'}, {out / 'theory_table.json'}, "
              + ", ".join(str(p) for p in paths))
        return 0 if not failed else 1
