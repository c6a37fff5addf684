"""The ``gandyn`` command line: a thin layer over the library.

Each subcommand lives in ``gandyn/cli/<name>.py`` and provides ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; command modules import
their heavy dependencies inside ``run`` so that ``--help`` stays fast.

Errors the user can fix (bad arguments, bad input files) print one line and
exit with status 2; nothing is left half-written (see :mod:`gandyn.io`).
"""
from __future__ import annotations

import argparse
import importlib
import math
import sys

from gandyn import __version__

__all__ = ["main", "build_parser", "positive_int", "nonneg_int", "positive_float", "unit_float"]

#: Subcommands, in the order ``--help`` lists them.
COMMANDS = ("gan1d", "theory", "nash", "mnist", "mog", "demo")


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {_one_line(message)}\n")


def _one_line(text) -> str:
    return " ".join(str(text).split())


def _number(cast, name, ok, what):
    def parse(text):
        try:
            value = cast(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"invalid {name} value: {text!r}") from None
        if isinstance(value, float) and not math.isfinite(value) or not ok(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    parse.__name__ = name
    return parse


positive_int = _number(int, "int", lambda v: v >= 1, "an integer >= 1")
nonneg_int = _number(int, "int", lambda v: v >= 0, "an integer >= 0")
positive_float = _number(float, "float", lambda v: v > 0, "a number > 0")
unit_float = _number(float, "float", lambda v: 0 <= v < 1, "a number in [0, 1)")


def _add_common(parser: argparse.ArgumentParser, name: str) -> None:
    g = parser.add_argument_group("common options")
    g.add_argument("--seed", type=nonneg_int, default=0, help="seed of the run (default: 0)")
    g.add_argument("--out", metavar="DIR", default=f"gandyn-out/{name}",
                   help=f"output folder (default: gandyn-out/{name})")
    g.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gandyn", description="Theory and training dynamics of GANs, in NumPy.")
    parser.add_argument("--version", action="version", version=f"gandyn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        mod = importlib.import_module(f"gandyn.cli.{name}")
        p = sub.add_parser(name, help=mod.HELP, description=mod.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        _add_common(p, name)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError) as e:
        # bad input: a wrong value, a missing or misplaced file or folder
        print(f"gandyn {args.command}: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"gandyn {args.command}: error: {_one_line(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"gandyn {args.command}: interrupted", file=sys.stderr)
        return 130
