"""Reproduce every figure and table of the results pages in docs/ in one run, and
write one HTML page that shows them.

Each part runs the same code as its own command, in this process, into DIR/<part>/:

  gan1d   Figure 1 (a)-(d) from a real run, the JSD and C(G) curves   gandyn gan1d         docs/gan1d.md
  sweep   the convergence map over the step sizes (lr_D, lr_G)        gandyn gan1d --sweep docs/gan1d.md
  theory  Prop. 1 (D*) and Thm. 1 (C(G) = -log 4 + 2 JSD) verified    gandyn theory        docs/theory.md
  nash    closed forms, Nash verdicts, Dirac-GAN and step-size maps   gandyn nash          docs/games.md
  mnist   a short MNIST run: sample grids, losses and metrics         gandyn mnist ...     docs/mnist.md

then DIR/index.html shows every figure, every table, each check with its bound and
whether it holds, the versions, seeds and wall time of each part (DIR/reproduce.json
holds the same as JSON). --quick runs smaller settings of each part: about 1 minute
of CPU time with one BLAS thread, 3 to 5 minutes of wall time on a busy 2-core
machine; the full run takes about 4 to 5 minutes of CPU time (10 minutes on the busy
machine). On a machine shared with other jobs, set OPENBLAS_NUM_THREADS=1: two BLAS
threads competing for busy cores slowed the MNIST training 10 to 25 times there.

MNIST is looked for in --data-dir, then $GANDYN_DATA, then ~/.cache/gandyn/mnist.
Without --data-dir and without the files there, the MNIST part is skipped and the
page says so; with --data-dir the files are downloaded into it if absent.

--out must be a new or empty folder, or the output of an earlier `gandyn reproduce`
(its parts are then replaced). Exits 1 if a check fails or a part does not complete.
"""
from __future__ import annotations

HELP = "run every figure and table of the docs' results pages and write an HTML page of them"


def add_arguments(p):
    p.add_argument("--quick", action="store_true",
                   help="smaller settings of every part: about 1 minute of CPU time instead of 4 to 5")
    p.add_argument("--data-dir", metavar="D", default=None, help="folder with the MNIST IDX files (downloaded "
                   "there if absent); without it the MNIST part runs only if they are in $GANDYN_DATA or the cache")


def run_command(argv: list[str]) -> int:
    """One ``gandyn`` command line (the words after ``gandyn``) in this process: its exit
    status (``SystemExit`` for a bad command line, as argparse raises it)."""
    from gandyn.cli import build_parser

    args = build_parser().parse_args(argv)
    return int(args._run(args) or 0)


def run(args) -> int:
    from gandyn.app.report import reproduce

    return reproduce(args.out, run_command, profile="quick" if args.quick else "full", seed=args.seed,
                     data_dir=args.data_dir, quiet=args.quiet)
