"""The ``gandyn`` command line: a thin layer over the library.

Each subcommand lives in ``gandyn/cli/<name>.py`` and provides ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; command modules import
their heavy dependencies inside ``run`` so that ``--help`` stays fast.

Errors the user can fix (bad arguments, bad input files; :class:`gandyn.errors.UsageError`,
or a ``ValueError`` raised before the command's work starts, :func:`gandyn.errors.begin_work`)
print one line and exit with status 2; nothing is left half-written (see :mod:`gandyn.app.folders`).
A diverged run (:class:`gandyn.errors.DivergedError`) prints one line and exits with status 3.
Anything else is a bug in gandyn: the traceback, one line saying so and where, status 1.

``gandyn --plugin MODULE COMMAND ...`` (repeatable) imports the user's module before
the command line is built, so the names it registers are offered and accepted by every
command; installed plugins (the entry points of :data:`gandyn.plugins.GROUP`) load
first. See :mod:`gandyn.plugins`.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import math
import os
import re
import sys
import traceback
import typing

from gandyn import __version__
from gandyn.errors import EXIT_BUG, one_line

__all__ = ["main", "build_parser", "plugin_args", "positive_int", "nonneg_int", "positive_float", "nonneg_float", "unit_float", "int_in", "option",
           "add_training_arguments", "training_config", "method_name", "parse_methods", "method_option_types",
           "defaults_of", "given_fields", "out_dir", "where", "write_figures", "apply_protocol", "sharded_command"]

#: Subcommands, in the order ``--help`` lists them.
COMMANDS = ("gan1d", "theory", "nash", "mnist", "mog", "landscape", "demo", "reproduce")


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block) and exit status 2, and a negative number
    (-1e-3, -inf, -nan) read as a value, not an option, so that ``--lr-min -1e-3`` reaches the
    option's range check and its one-line message."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self._negative_number_matcher = re.compile(r"-\.?\d|-inf|-nan", re.IGNORECASE)  # argparse's: -1 and -.5

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {one_line(message)}\n")

    #: Set on the top parser by :func:`build_parser`: its parse records the options given.
    records_given = False

    def parse_known_args(self, args=None, namespace=None):
        """argparse's; the top parser's (:func:`build_parser`) also sets ``_given``, the dests
        of the options given on the command line, found by parsing ``args`` again with a twin
        parser that has no defaults: a protocol yields to an option given, whatever its value
        (:func:`apply_protocol`)."""
        args = sys.argv[1:] if args is None else list(args)
        ns, extra = super().parse_known_args(args, namespace)
        if self.records_given:
            twin = build_parser()
            twin.records_given, stack = False, [twin]
            while stack:  # every option of every command and action: no default
                for a in stack.pop()._actions:
                    a.default = argparse.SUPPRESS
                    if isinstance(a, argparse._SubParsersAction):
                        stack.extend(a.choices.values())
            given, _ = twin.parse_known_args(args)
            ns._given = {k for k in vars(given) if not k.startswith("_")}
        return ns, extra


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
nonneg_float = _number(float, "float", lambda v: v >= 0, "a number >= 0")
unit_float = _number(float, "float", lambda v: 0 <= v < 1, "a number in [0, 1)")


def int_in(lo: int, hi: int):
    """An argparse type: an integer from ``lo`` to ``hi`` (options that set a cost get an
    upper bound beyond which a run would take days or not fit in memory)."""
    return _number(int, "int", lambda v: lo <= v <= hi, f"an integer from {lo:,} to {hi:,}")


def option(group, flag: str, type=None, help: str = "", *, of=None, **kw) -> None:
    """Add the option ``flag`` to ``group`` (a parser or an argument group). With ``of`` (a
    config, or the dict of a function's defaults, :func:`defaults_of`) and no ``default``, its
    default is the field named by the flag (``--z-dim``: ``z_dim``; a tuple as a list): one
    source for each default. Unless ``help`` speaks of its default, ``(default: VALUE)`` is
    appended (nothing for None, False and [])."""
    dest = kw.get("dest") or flag.lstrip("-").replace("-", "_")
    if of is not None and "default" not in kw:
        value = of[dest] if isinstance(of, dict) else getattr(of, dest)
        kw["default"] = list(value) if isinstance(value, tuple) else value
    d = kw.get("default")
    if "default" not in help and not (d is None or d is False or d == []):
        g = format(d, "g") if isinstance(d, float) else None  # a float in full where "g" would round it
        shown = " ".join(map(str, d)) if isinstance(d, list) else d if g is None else g if float(g) == d else repr(d)
        help += f" (default: {shown})"
    group.add_argument(flag, help=help, **({"type": type} if type is not None else {}), **kw)


def method_option_types(cls) -> dict[str, type]:
    """The options the command line gives a registered method class: ``{option: type}``
    (``bool``, ``int`` or ``float``, from the types of its dataclass fields, ``X | None``
    as ``X``), without ``name``, ``inner`` and the fields whose metadata says
    ``option: False`` (altgd's orders of the toy games)."""
    if not dataclasses.is_dataclass(cls):
        return {}
    hints, out = typing.get_type_hints(cls), {}
    for f in dataclasses.fields(cls):
        args = typing.get_args(t := hints[f.name])
        t = next(a for a in args if a is not type(None)) if type(None) in args else t  # X | None: X
        if t in (bool, int, float) and f.name not in ("name", "inner") and f.metadata.get("option", True):
            out[f.name] = t
    return out


def _method_of_text(text: str):
    """The method object of ``NAME`` (a name of :data:`gandyn.engine.methods.METHODS`) or
    ``lookahead:INNER`` (lookahead-minmax around the method ``INNER``), with its defaults."""
    from gandyn.engine.methods import METHODS

    outer, colon, inner = text.partition(":")
    cls = METHODS[METHODS.check(outer, "method")]
    if not colon:
        return cls()
    if outer != "lookahead":
        raise ValueError(f"method {text!r}: only lookahead takes an inner method (lookahead:INNER)")
    if inner == "lookahead" or inner.startswith("lookahead:"):
        raise ValueError(f"method {text!r}: lookahead's inner method must be another method")
    return cls(inner=METHODS[METHODS.check(inner, "inner method")]())


def _cast(kind: type, key: str, text: str):
    try:
        value = {"true": True, "1": True, "false": False, "0": False}[text.lower()] if kind is bool else kind(text)
    except (KeyError, ValueError):
        raise ValueError(f"method option {key}: {text!r} is not {'an' if kind is int else 'a'} {kind.__name__}") \
            from None
    if kind is float and not math.isfinite(value):
        raise ValueError(f"method option {key}: {text!r} is not finite")
    return value


def parse_methods(methods, items=()) -> list:
    """The method objects of the command line: each of ``methods`` a text ``NAME`` or
    ``lookahead:INNER`` (or already a method object, e.g. a command's default), with the
    options ``items``, texts ``KEY=VALUE`` (``--method-option unroll=10``): each key goes to
    every method (of ``lookahead:INNER``, lookahead and ``INNER``) that has an option of that
    name (:func:`method_option_types`), its value cast to the field's type;
    ``METHOD.KEY=VALUE`` (``lola.opponent_lr=0.1``) goes to that method only. The methods
    then validate the values (their ``__post_init__``).

    Raises
    ------
    ValueError
        One line: an unknown method (the choices listed), a text without ``=``, a key none of
        ``methods`` takes (the message lists what each takes), a value of the wrong type or
        one the method refuses.
    """
    from gandyn.engine.methods import as_method

    objs = [_method_of_text(m) if isinstance(m, str) else as_method(m) for m in methods]
    runs = [[m] + ([m.inner] if getattr(m, "inner", None) is not None else []) for m in objs]
    takes = {p.name: method_option_types(type(p)) for ps in runs for p in ps}  # method: its options, in order
    opts: dict[str, dict] = {}
    for item in items or ():
        key, eq, text = str(item).partition("=")
        only, dot, key = key.strip().replace("-", "_").rpartition(".")  # METHOD.KEY: that method's option only
        if not eq or not key:
            raise ValueError(f"method option {item!r}: write KEY=VALUE or METHOD.KEY=VALUE, e.g. unroll=10")
        if dot and only not in takes:
            raise ValueError(f"method option {only + dot + key!r}: {only!r} is not one of the methods "
                             f"({', '.join(takes)})")
        owners = [m for m in takes if key in takes[m] and (not dot or m == only)]
        for pair in ([p.name for p in ps if p.name in owners] for ps in runs):
            if len(pair) == 2:  # lookahead:INNER: one key naming two options of one run is ambiguous
                raise ValueError(f"method option {key!r}: both {pair[0]} and {pair[1]} of {pair[0]}:{pair[1]} take "
                                 f"it (different options); write {pair[0]}.{key}=... or {pair[1]}.{key}=...")
        if not owners:
            offer = "; ".join(f"{m}: {', '.join(o) or 'none'}" for m, o in takes.items())
            raise ValueError(f"method option {key!r}: none of the methods ({', '.join(takes)}) takes it "
                             f"(options: {offer})")
        for m in owners:
            opts.setdefault(m, {})[key] = _cast(takes[m][key], key, text.strip())

    def build(m):
        own = opts.get(m.name, {})
        if getattr(m, "inner", None) is not None and m.inner.name in opts:
            own = {**own, "inner": build(m.inner)}
        return dataclasses.replace(m, **own) if own else m

    return [build(m) for m in objs]


def method_name(text: str) -> str:
    """An argparse type: a training method, a name of
    :data:`gandyn.engine.methods.METHODS` or ``lookahead:INNER`` (checked; the text is kept
    for :func:`parse_methods`)."""
    try:
        _method_of_text(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def add_training_arguments(group, defaults, *, method: bool = True) -> None:
    """Add the options of :class:`gandyn.engine.training.TrainingConfig` to ``group``,
    with the defaults of the config ``defaults``: ``--loss``, ``--method`` (unless
    ``method`` is false: a command that names several methods its own way),
    ``--method-option``, ``--penalty``, ``--penalty-weight``, ``--clip``,
    ``--spectral-norm``, ``--k``, ``--batch``, ``--optimizer``, ``--b1``, ``--b2``,
    ``--mu``, ``--g-ema`` and ``--instance-noise`` with ``--noise-schedule`` and
    ``--noise-until``; :func:`training_config` reads them back."""
    from gandyn.engine.instance_noise import SCHEDULES
    from gandyn.engine.losses import LOSSES
    from gandyn.engine.methods import METHODS, method_label
    from gandyn.engine.optim import OPTIMIZERS
    from gandyn.engine.penalties import PENALTIES

    c, o = defaults, lambda *a, **k: option(group, *a, **k)
    o("--loss", None, f"the GAN loss ({', '.join(LOSSES.names())}; docs/losses.md)", of=c, choices=LOSSES.names(),
      metavar="NAME")
    if method:
        label = method_label(c.method)
        o("--method", method_name, f"training method ({', '.join(METHODS.names())}, or lookahead:INNER; "
                                   f"default: {label}{', Algorithm 1' if label == 'altgd' else ''})", metavar="NAME")
    offer = "; ".join(f"{m}: {', '.join(t)}" for m in METHODS.names() if (t := method_option_types(METHODS[m])))
    group.add_argument("--method-option", nargs="+", default=[], metavar="KEY=VALUE",  # read by parse_methods
                       help=f"options of the training method, e.g. unroll=10, or METHOD.KEY=VALUE for one method "
                            f"of several, e.g. lola.opponent_lr=0.01 ({offer})")
    o("--penalty", None, f"gradient penalty on D ({', '.join(PENALTIES.names())}; r1, r2: Mescheder et al. 2018, "
                         "gp: WGAN-GP)", of=c, choices=PENALTIES.names())
    o("--penalty-weight", positive_float, f"weight of the penalty (default: {c.penalty_weight:g})", metavar="GAMMA")
    o("--clip", positive_float, "clip D's weights to [-C, C] after each step (WGAN, e.g. 0.01)", of=c, metavar="C")
    o("--spectral-norm", None, "spectral normalisation of D's weights (Miyato et al. 2018)", of=c,
      action="store_true")
    o("--k", positive_int, f"D steps per G step of altgd and the methods built on it (default: {c.k})")
    o("--batch", positive_int, "minibatch size m", of=c)
    o("--optimizer", None, "both players' optimizer", of=c, choices=OPTIMIZERS.names())
    o("--b1", unit_float, f"Adam's beta1 (default: {c.b1:g})")
    o("--b2", unit_float, f"Adam's beta2 (default: {c.b2:g})")
    o("--mu", unit_float, f"momentum coefficient of --optimizer momentum (default: {c.mu:g})")
    o("--g-ema", unit_float, "keep an exponential moving average of G's parameters with decay BETA, e.g. 0.999 "
                             "(Yazici et al. 2019); samples and evaluation then use it (default: 0 = off)", of=c,
      metavar="BETA")
    o("--instance-noise", nonneg_float, "add Gaussian noise of std SIGMA to every real and generated input of D "
      "during training (Sonderby et al. 2017), annealed by --noise-schedule (default: 0 = off)", of=c, metavar="SIGMA")
    o("--noise-schedule", None, f"how the instance noise's std falls: {', '.join(SCHEDULES)} to 0 after "
                                f"--noise-until (default: {c.noise_schedule})", choices=SCHEDULES)
    o("--noise-until", positive_int, "the last iteration with instance noise (required by the linear and "
                                     "exponential schedules)", metavar="IT")


def training_config(args, defaults, methods=None):
    """The :class:`~gandyn.engine.training.TrainingConfig` ``defaults`` (the command's) with
    the options of :func:`add_training_arguments` given: its method is ``--method`` (else
    the default's) with the values of ``--method-option`` (:func:`parse_methods`), unless the
    command names several methods its own way: then ``methods`` are those method objects
    (parsed by the command with :func:`parse_methods`), checked against the other options.

    Raises
    ------
    ValueError
        An option given that the chosen optimizer, methods, penalty or instance noise do not
        take (``--b1`` with SGD, ``--k`` with simultaneous methods only, ``--penalty-weight``
        without ``--penalty``, ...), each named with why.
    """
    from gandyn.engine.methods import method_label
    from gandyn.engine.optim import takes

    given = {k: v for k, v in given_fields(args, type(defaults)).items() if k != "method"}
    if methods is None:
        given["method"] = parse_methods([args.method or defaults.method], args.method_option)[0]
        methods = [given["method"]]
    cfg = defaults.replace(**given)
    why = {name: f"the {cfg.optimizer} optimizer does not take it" for name in ("b1", "b2", "mu")
           if name not in takes(cfg.optimizer)}
    if all(m.draws(1) == m.draws(2) for m in methods):
        why["k"] = f"{' and '.join(map(method_label, methods))} take{'s' if len(methods) == 1 else ''} no D steps " \
                   "per G step (altgd and lookahead around it do)"
    if cfg.penalty is None:
        why["penalty_weight"] = "no --penalty is given"
    if not cfg.instance_noise:
        why["noise_schedule"] = why["noise_until"] = "no --instance-noise is given"
    for name in [n for n in why if n in given and n not in getattr(args, "_given", given)]:  # a protocol's
        del given[name]
        cfg = cfg.replace(**{name: getattr(defaults, name)})
        print(f"gandyn {command_name(args)}: note: the protocol's --{name.replace('_', '-')} is dropped: {why[name]}",
              file=sys.stderr)
    refused = [f"--{name.replace('_', '-')} has no effect: {why[name]}" for name in why if name in given]
    if refused:
        raise ValueError("; ".join(refused))
    return cfg


def given_fields(args, cls) -> dict:
    """The options in ``args`` named as fields of the dataclass ``cls`` (or as keyword defaults
    of the function ``cls``, :func:`defaults_of`), those not None, lists as tuples: the fields
    (arguments) a command's options set."""
    names = [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else defaults_of(cls)
    return {n: tuple(v) if isinstance(v, list) else v for n in names if (v := getattr(args, n, None)) is not None}


def defaults_of(fn) -> dict:
    """The keyword defaults of the library function ``fn``, which a command's options take
    (one source for each default)."""
    return {n: p.default for n, p in inspect.signature(fn).parameters.items() if p.default is not p.empty}


def apply_protocol(command: str, name: str, settings: dict, args, training) -> tuple[str, dict, dict]:
    """Put a published protocol's settings into the parsed options ``args`` (parsed by
    :func:`build_parser`, which records the options given as ``args._given``), in place.

    Every setting whose option was not given takes the protocol's value (a training choice
    equal to the command's default, ``training``, a TrainingConfig, is left unset); an option
    given with another value than the protocol's wins, and one line on stderr names the change
    (an explicit option is a deliberate change of the protocol: applied and said, not refused).
    Settings with no option of that name (``--name-with-dashes``) stay for the caller.

    Returns
    -------
    label : str
        ``name``, with ``" with --flag VALUE, ..."`` when options changed it.
    fixed, extra : dict
        The settings with no option: the training choices, and the others.
    """
    def norm(v):
        return list(v) if isinstance(v, (list, tuple)) else v

    def show(v):
        return " ".join(map(str, v)) if isinstance(v, list) else v

    if not hasattr(args, "_given"):
        raise TypeError("apply_protocol needs options parsed by gandyn.cli.build_parser(), which records the "
                        "options given")
    changes = []
    for key, value in ((k, norm(v)) for k, v in settings.items() if hasattr(args, k)):
        given = norm(getattr(args, key))
        if key in args._given and given != value:
            flag = "--" + key.replace("_", "-")
            print(f"gandyn {command}: note: --protocol {name} sets {flag} {show(value)}; {flag} {show(given)} "
                  "replaces it", file=sys.stderr)
            changes.append(f"{flag} {show(given)}")
        elif key not in args._given and not (hasattr(training, key) and getattr(training, key) == value):
            setattr(args, key, value)
    rest = {k: v for k, v in settings.items() if not hasattr(args, k)}
    fixed = {k: v for k, v in rest.items() if k in type(training).__dataclass_fields__}
    extra = {k: v for k, v in rest.items() if k not in fixed}
    return name + (f" with {', '.join(changes)}" if changes else ""), fixed, extra


def write_figures(folder, command: str, figures, said: str = "") -> list:
    """Save ``figures`` (``(figure, stem)`` pairs, all drawn before anything is written) into
    the output folder ``folder`` of ``command`` (PNG and PDF); print ``said`` and the paths,
    and return them."""
    from gandyn import plotting
    from gandyn.app.folders import output_folder

    with output_folder(folder, command) as out:
        paths = [p for fig, stem in figures for p in plotting.save(fig, out / stem)]
    print(said + "wrote " + ", ".join(str(p) for p in paths))
    return paths


def sharded_command(args, command: str, config, work, failed, *finished: str) -> int:
    """Run ``work(out, client)`` in the output folder ``args.out`` of ``command`` (refused when it
    holds a run of another ``config``, :func:`gandyn.app.folders.check_same_run`), on the Dask
    cluster of ``args.scheduler`` if given. A shard that failed
    (:class:`gandyn.app.backends.ShardError`) is the line ``failed(error)`` on stderr and exit
    status 1; the folder stays marked incomplete (or is removed when nothing was written)."""
    from gandyn.app.backends import SHARDS, ShardError, dask_client
    from gandyn.app.folders import check_same_run, output_folder

    check_same_run(args.out, command, config, SHARDS, *finished)
    client = dask_client(args.scheduler) if args.scheduler else None
    try:
        with output_folder(args.out, command) as out:
            return work(out, client)
    except ShardError as e:
        print(f"gandyn {command.split()[0]}: error: {failed(e)}", file=sys.stderr)
        return 1
    finally:
        if client is not None:
            client.close()


def out_dir(text: str) -> str:
    """An output folder name: not empty (that would write into the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a folder, got an empty string (use . for the current folder)")
    if "\0" in text:
        raise argparse.ArgumentTypeError(f"contains a NUL character: {text!r}")
    return text


def _add_common(parser: argparse.ArgumentParser, name: str, *, deferred: bool = False) -> None:
    """Add ``--seed``, ``--out`` and ``--quiet`` to ``parser``.

    With ``deferred`` the options get no default in the namespace (argparse's
    ``SUPPRESS``): a command with actions (``gandyn mnist``) accepts them both
    before and after the action, and an action's parser would otherwise overwrite
    a value given before it with its own default. Such a command fills the
    defaults in with :func:`fill_common`.
    """
    d = vars(fill_common(argparse.Namespace(), name))
    d = dict.fromkeys(d, argparse.SUPPRESS) if deferred else d
    g = parser.add_argument_group("common options")
    g.add_argument("--seed", type=nonneg_int, default=d["seed"], help="seed of the run (default: 0)")
    g.add_argument("--out", metavar="DIR", type=out_dir, default=d["out"],
                   help=f"output folder (default: gandyn-out/{name})")
    g.add_argument("--quiet", action="store_true", default=d["quiet"], help="no progress bar")
    g.add_argument("--threads", type=int_in(1, 4096), default=d["threads"], metavar="N",
                   help="BLAS threads (default: the command's choice, see docs/training.md; "
                        "an OPENBLAS_NUM_THREADS, OMP_NUM_THREADS or MKL_NUM_THREADS set in the environment is kept)")


def fill_common(args: argparse.Namespace, name: str) -> argparse.Namespace:
    """Give the common options not set on the command line their defaults for ``name``."""
    for key, value in {"seed": 0, "out": f"gandyn-out/{name}", "quiet": False, "threads": None}.items():
        vars(args).setdefault(key, value)
    return args


def plugin_args(argv) -> list[str]:
    """The values of the global ``--plugin`` options of ``argv``: those before the command
    (the first argument that is not an option). The values are the plugins to load before
    :func:`build_parser` (which makes the parser that then reads them again)."""
    out, it = [], iter(argv)
    for arg in it:
        if arg == "--plugin":
            value = next(it, None)  # None: the last argument (the parser names the missing value)
            if value is not None:
                out.append(value)
        elif arg.startswith("--plugin="):
            out.append(arg.partition("=")[2])
        elif arg == "--" or not arg.startswith("-"):
            break
    return out


def build_parser() -> argparse.ArgumentParser:
    # no abbreviations of the global options: --plugin is read before this parser exists
    parser = _Parser(prog="gandyn", description="Theory and training dynamics of GANs, in NumPy.",
                     allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"gandyn {__version__}")
    parser.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                        help="import MODULE (a module name, module:function, or a .py file) before the command, "
                             "so the losses, methods, data sets ... it registers are available; repeatable, "
                             "given before the command. Installed plugins load by themselves "
                             "(entry points of 'gandyn.plugins')")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        mod = importlib.import_module(f"gandyn.cli.{name}")
        p = sub.add_parser(name, help=mod.HELP, description=mod.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        # a command with actions takes the common options before or after its action
        actions = getattr(mod, "ACTIONS", None)
        _add_common(p, f"{name}-ACTION" if actions else name, deferred=bool(actions))
        p.set_defaults(_run=mod.run, _parser=p, _blas=getattr(mod, "blas_threads", None))
    parser.records_given = True
    return parser


def command_name(args) -> str:
    """The command of parsed options ``args`` as argparse names it: ``'gan1d'``, ``'mnist train'``."""
    return " ".join(filter(None, (getattr(args, "command", None), getattr(args, "action", None))))


def blas_threads(args) -> int | None:
    """The BLAS threads a command runs with: ``--threads``; else None (BLAS's own choice)
    when the environment sets them (:data:`gandyn.app.machine.THREAD_VARIABLES`); else the command's choice,
    its module's ``blas_threads(args)``, or 1.

    One thread is the default because gandyn's training steps and game products are
    chains of small GEMMs (the talk's MNIST GAN: 128 x 784 x 128), where a second thread
    costs more in synchronisation than it gains, and far more when another process is
    busy on the machine (benchmarks/bench_threads.py). Commands whose work is a few large
    GEMMs (evaluating 10,000 MNIST images) choose every core.
    """
    from gandyn.app.machine import THREAD_VARIABLES

    if getattr(args, "threads", None):
        return int(args.threads)
    if any(os.environ.get(k) for k in THREAD_VARIABLES):
        return None
    choose = getattr(args, "_blas", None)
    return int(choose(args)) if choose is not None else 1


def main(argv=None) -> int:
    from gandyn import errors, plugins
    from gandyn.app.folders import check_dir_path
    from gandyn.app.machine import blas_limit
    from gandyn.app.progress import progress_lines

    argv = sys.argv[1:] if argv is None else list(argv)
    try:  # before the parser is built: its choices and help then hold the plugins' names
        plugins.load(plugin_args(argv), autoload=True)
    except plugins.PluginError as e:
        print(f"gandyn: error: {one_line(e)}", file=sys.stderr)
        return 2
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # named by the command's own parser ("gandyn gan1d: error: ..."), exit 2
        late = any(a == "--plugin" or a.startswith("--plugin=") for a in extra)
        getattr(args, "_parser", parser).error("--plugin is a global option: give it before the command (gandyn "
                                               "--plugin MODULE COMMAND ...)" if late else
                                               f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    name = command_name(args)
    errors.reset_work()

    def say(e, code: int) -> int:
        empty = "out of memory (try smaller sizes)" if isinstance(e, MemoryError) else ""
        print(f"gandyn {name}: error: {one_line(e) or empty}", file=sys.stderr)
        return code

    try:
        if getattr(args, "out", None):  # before any work: a folder that cannot be made is bad input
            check_dir_path(args.out)
        with blas_limit(blas_threads(args)), progress_lines():
            return int(args._run(args) or 0)
    except errors.DivergedError as e:  # before ValueError: training diverged, not bad input
        return say(e, errors.EXIT_DIVERGED)
    except (errors.UsageError, plugins.PluginError, FileNotFoundError, NotADirectoryError, IsADirectoryError) as e:
        return say(e, errors.EXIT_USAGE)  # bad input: a wrong value, a missing or misplaced file or folder
    except ValueError as e:  # found after the checks, in the work: a bug
        return _report_bug(name, e) if errors.work_started() else say(e, errors.EXIT_USAGE)
    except (OSError, MemoryError) as e:  # a MemoryError's message names the sizes when the command knows them
        return say(e, 1)
    except KeyboardInterrupt:
        print(f"gandyn {name}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        return _report_bug(name, e)


def where(exc: BaseException) -> str:
    """Where ``exc`` was raised, as ``path:line in function``: the innermost frame in
    gandyn's own code (else the innermost frame)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "an unknown place"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ours = [f for f in frames if os.path.abspath(f.filename).startswith(root + os.sep)]
    f = (ours or frames)[-1]
    path = os.path.relpath(f.filename, os.path.dirname(root)) if ours else f.filename
    return f"{path}:{f.lineno} in {f.name}"


def _report_bug(name: str, exc: BaseException) -> int:
    """An error that is not the user's: the traceback on stderr, then one line saying it is
    a bug in gandyn and where it happened; exit status 1."""
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    print(f"gandyn {name}: internal error (a bug in gandyn {__version__}, not in your input): "
          f"{type(exc).__name__}: {one_line(exc)}; raised at {where(exc)}; the traceback is above",
          file=sys.stderr)
    return EXIT_BUG


def add_network_arguments(group, networks, *flags: str) -> None:
    """Add the options ``flags`` of :class:`gandyn.engine.population.Networks` to ``group``, with
    the defaults of ``networks`` (a command offers those its experiment varies). Each sets the
    field of its name (``networks.replace(**given_fields(args, Networks))``), but two that the
    command reads: ``--hidden`` (both players' widths; ``--hidden-g`` and ``--hidden-d`` then
    default to it) and ``--hidden-act`` (both players' hidden activation)."""
    from gandyn.engine.latents import LATENTS
    from gandyn.engine.nn import ACTIVATIONS, INITIALIZERS

    both = "--hidden" in flags
    widths = {"type": positive_int, "nargs": "+", "metavar": "W"} | ({"default": None} if both else {})
    fallback = ", if not those of --hidden" if both else ""
    hidden_acts = [a for a in ACTIVATIONS if a not in ("identity", "sigmoid")]
    specs = {
        "--hidden": (f"hidden widths of G and D (default: {' '.join(map(str, networks.hidden_g))})", widths),
        "--hidden-g": ("hidden widths of G" + fallback, widths),
        "--hidden-d": ("hidden widths of D" + fallback, widths),
        "--z-dim": ("latent dimension", {"type": positive_int}),
        "--latent": ("each latent coordinate U(-1, 1) or N(0, 1)", {"choices": LATENTS.names()}),
        "--act-g": ("G's hidden activation", {"choices": ACTIVATIONS.names()}),
        "--act-d": ("D's hidden activation", {"choices": ACTIVATIONS.names()}),
        "--hidden-act": ("hidden activation of G and D", {"default": networks.act_g, "choices": hidden_acts}),
        "--init": ("weight initialisation", {"choices": INITIALIZERS.names()}),
        "--d-init": ("D's weight initialisation (default: --init)", {"choices": INITIALIZERS.names()}),
        "--pack": ("samples per D input (PacGAN's packing, 1: none; the batch must be a multiple)",
                   {"type": positive_int, "metavar": "M"}),
        "--g-batch-norm": ("batch normalisation in G's hidden layers; samples use its running statistics (not "
                           "with --g-ema)", {"action": "store_true"}),
        "--d-pieces": ("maxout pieces of D's hidden layers, 1: none", {"type": positive_int, "metavar": "K"}),
    }
    for flag in flags:
        help_, kw = specs[flag]
        option(group, flag, help=help_, of=networks, **kw)
