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

__all__ = ["main", "build_parser", "positive_int", "nonneg_int", "positive_float", "unit_float", "int_in", "add_method_option", "out_dir"]

#: Subcommands, in the order ``--help`` lists them.
COMMANDS = ("gan1d", "theory", "nash", "mnist", "mog", "landscape", "demo", "reproduce")


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {_one_line(message)}\n")

    def _parse_optional(self, arg_string):
        # a negative number (-1e-3, -inf, -nan) is a value, not an option, so that
        # `--lr-min -1e-3` reaches the option's range check and its one-line message
        if arg_string not in self._option_string_actions and _is_number(arg_string):
            return None
        return super()._parse_optional(arg_string)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _one_line(text) -> str:
    return " ".join(str(text).split())


#: Largest integer an option takes (a count far beyond any run, still an int64).
INT_MAX = 2**62


def _number(cast, name, ok, what):
    def parse(text):
        try:
            value = cast(text)
            if isinstance(value, int) and abs(value) > INT_MAX:
                raise ValueError
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


def int_in(lo: int, hi: int):
    """An argparse type: an integer from ``lo`` to ``hi`` (options that set a cost get an
    upper bound beyond which a run would take days or not fit in memory)."""
    return _number(int, "int", lambda v: lo <= v <= hi, f"an integer from {lo:,} to {hi:,}")


def add_method_option(group) -> None:
    """Add ``--method-option KEY=VALUE ...``: options of the training method(s), read by
    :func:`gandyn.engine.methods.parse_method_options` (refused when no chosen method takes one)."""
    from gandyn.engine.methods import METHODS, method_options

    offer = "; ".join(f"{m}: {', '.join(o)}" for m in METHODS.names() if (o := method_options(m)))
    group.add_argument("--method-option", nargs="+", default=[], metavar="KEY=VALUE",
                       help=f"options of the training method, e.g. unroll=10 ({offer})")


def out_dir(text: str) -> str:
    """An output folder name: not empty (that would write into the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a folder, got an empty string (use . for the current folder)")
    if "\0" in text:
        raise argparse.ArgumentTypeError(f"contains a NUL character: {text!r}")
    return text


def common_defaults(name: str) -> dict:
    """The defaults of the common options of command ``name``."""
    return {"seed": 0, "out": f"gandyn-out/{name}", "quiet": False}


def _add_common(parser: argparse.ArgumentParser, name: str, *, deferred: bool = False) -> None:
    """Add ``--seed``, ``--out`` and ``--quiet`` to ``parser``.

    With ``deferred`` the options get no default in the namespace (argparse's
    ``SUPPRESS``): a command with actions (``gandyn mnist``) accepts them both
    before and after the action, and an action's parser would otherwise overwrite
    a value given before it with its own default. Such a command fills the
    defaults in with :func:`fill_common`.
    """
    d = common_defaults(name)
    if deferred:
        d = dict.fromkeys(d, argparse.SUPPRESS)
    g = parser.add_argument_group("common options")
    g.add_argument("--seed", type=nonneg_int, default=d["seed"], help="seed of the run (default: 0)")
    g.add_argument("--out", metavar="DIR", type=out_dir, default=d["out"],
                   help=f"output folder (default: gandyn-out/{name})")
    g.add_argument("--quiet", action="store_true", default=d["quiet"], help="no progress bar")


def fill_common(args: argparse.Namespace, name: str) -> argparse.Namespace:
    """Give the common options not set on the command line their defaults for ``name``."""
    for key, value in common_defaults(name).items():
        if not hasattr(args, key):
            setattr(args, key, value)
    return args


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gandyn", description="Theory and training dynamics of GANs, in NumPy.")
    parser.add_argument("--version", action="version", version=f"gandyn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        mod = importlib.import_module(f"gandyn.cli.{name}")
        p = sub.add_parser(name, help=mod.HELP, description=mod.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        # a command with actions takes the common options before or after its action
        actions = getattr(mod, "ACTIONS", None)
        _add_common(p, f"{name}-ACTION" if actions else name, deferred=bool(actions))
        p.set_defaults(_run=mod.run, _parser=p)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # named by the command's own parser ("gandyn gan1d: error: ..."), exit 2
        getattr(args, "_parser", parser).error(f"unrecognized arguments: {' '.join(extra)}")
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
    except MemoryError as e:  # its message names the sizes when the command knows them
        print(f"gandyn {args.command}: error: {_one_line(e) or 'out of memory (try smaller sizes)'}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"gandyn {args.command}: interrupted", file=sys.stderr)
        return 130
