"""Plugins: the user's modules that register names in gandyn's registries (losses, methods,
penalties, optimizers, activations, latents, data sets), loaded before the command line is
built and again in every worker process of a run.

A plugin is a module whose import registers its names, e.g.::

    # my_gan_plugin.py
    from gandyn.engine.losses import LOSSES, separable

    LOSSES.register("logistic-critic", lambda: separable(...))

A plugin is named by a *spec*, one of:

- ``pkg.module``: the module is imported (it must be importable: installed, or on
  ``sys.path`` / ``PYTHONPATH``);
- ``pkg.module:function``: the module is imported, then ``function()`` is called once
  (no arguments);
- ``path/to/file.py``: the file is imported as a module named after its stem (refused if a
  different module of that name is already imported); recorded by its absolute path.

:func:`load` imports each spec once and remembers it; :func:`loaded` lists the specs
loaded in this process, in order. Process pools and Dask workers of a run load the same
list before they run a shard, so a name registered by a plugin means the same in every
process. Installed packages announce plugins as entry points of the group
:data:`GROUP`, each value a spec of the first two kinds; the ``gandyn`` command loads them
(:func:`installed`) unless the environment variable :data:`NO_AUTOLOAD` is set.

>>> from gandyn import plugins
>>> "gandyn.engine.losses" in plugins.load(["gandyn.engine.losses"])   # any importable module
True
>>> plugins.load(["no_such_gandyn_plugin"])
Traceback (most recent call last):
    ...
gandyn.plugins.PluginError: plugin 'no_such_gandyn_plugin' failed to import: ModuleNotFoundError: No module named 'no_such_gandyn_plugin'
>>> plugins._forget("gandyn.engine.losses")   # this example only
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Iterable

from gandyn.errors import one_line

__all__ = ["GROUP", "NO_AUTOLOAD", "PluginError", "load", "loaded", "installed"]

#: The entry-point group of installed plugins (``[project.entry-points."gandyn.plugins"]``).
GROUP = "gandyn.plugins"

#: Set this environment variable (to anything but an empty string) and the ``gandyn``
#: command loads no installed plugin (those named by ``--plugin`` still load).
NO_AUTOLOAD = "GANDYN_DISABLE_PLUGIN_AUTOLOAD"

_loaded: list[str] = []


class PluginError(ValueError):
    """A plugin could not be loaded: a bad spec, a missing file, or an error raised while
    importing it (the message names the plugin and the error, on one line)."""


def loaded() -> tuple[str, ...]:
    """The specs of the plugins loaded in this process, in load order (files by their
    absolute path): what worker processes load before they run a shard."""
    return tuple(_loaded)


def installed() -> tuple[str, ...]:
    """The specs of the installed plugins: the values of the entry points of :data:`GROUP`,
    by entry-point name."""
    from importlib.metadata import entry_points

    return tuple(ep.value for ep in sorted(entry_points(group=GROUP), key=lambda ep: ep.name))


def load(specs: Iterable[str] = (), *, autoload: bool = False) -> tuple[str, ...]:
    """Import the plugins ``specs`` (see the module's docstring), each once per process,
    and return :func:`loaded`. With ``autoload`` the installed plugins (:func:`installed`)
    come first, unless the environment variable :data:`NO_AUTOLOAD` is set.

    Raises
    ------
    PluginError
        A spec that is neither a module name nor a ``.py`` file, a missing file, a file
        whose module name is taken, a ``module:function`` that is not callable, or any
        exception raised by the import or the call (the first failure; those before it stay
        loaded).
    """
    if isinstance(specs, str):
        specs = [specs]
    todo = list(specs)
    if autoload and not os.environ.get(NO_AUTOLOAD):
        todo = [*installed(), *todo]
    for spec in todo:
        _load_one(spec)
    return loaded()


def _is_file_spec(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or os.sep in spec


def _load_one(spec) -> None:
    if not isinstance(spec, str) or not spec.strip():
        raise PluginError(f"a plugin is a module name or a .py file, got {spec!r}")
    spec = spec.strip()
    if _is_file_spec(spec):
        _load_file(spec)
        return
    module, colon, attr = spec.partition(":")
    if not all(p.isidentifier() for p in module.split(".")) or colon and not all(
            p.isidentifier() for p in attr.split(".")):
        raise PluginError(f"plugin {spec!r}: not a module name (pkg.module or pkg.module:function) "
                          "or a .py file")
    if spec in _loaded:
        return
    try:
        obj = importlib.import_module(module)
        if colon:
            for part in attr.split("."):
                obj = getattr(obj, part)
            if not callable(obj):
                raise PluginError(f"plugin {spec!r}: {attr} is not a function")
            obj()
    except PluginError:
        raise
    except Exception as e:  # noqa: BLE001 -- any failure of the user's code is reported on one line
        hint = ""
        top = module.partition(".")[0]
        if isinstance(e, ModuleNotFoundError) and e.name == top and Path(f"{top}.py").is_file():
            hint = (f" (a file {top}.py is in the current folder: give it as ./{top}.py, or add the folder "
                    "to PYTHONPATH)")
        raise PluginError(f"plugin {spec!r} failed to import: {_one_line(e)}{hint}") from e
    _loaded.append(spec)


def _load_file(spec: str) -> None:
    path = Path(spec).expanduser().resolve()
    key = str(path)
    if key in _loaded:
        return
    if path.suffix != ".py" or not path.is_file():
        raise PluginError(f"plugin {spec!r}: no such .py file")
    name = path.stem
    if not name.isidentifier():
        raise PluginError(f"plugin {spec!r}: {name!r} is not a module name; rename the file")
    have = sys.modules.get(name)
    if have is not None:
        if getattr(have, "__file__", None) and Path(have.__file__).resolve() == path:
            _loaded.append(key)  # imported before, from this very file
            return
        raise PluginError(f"plugin {spec!r}: a module named {name!r} is already imported; rename the file")
    mod_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(mod_spec)
    sys.modules[name] = module  # as an import does: pickles of its objects find it by name
    try:
        mod_spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001
        del sys.modules[name]
        raise PluginError(f"plugin {spec!r} failed to import: {_one_line(e)}") from e
    _loaded.append(key)


def _one_line(e: BaseException) -> str:
    text = one_line(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _forget(spec: str) -> None:
    """Drop ``spec`` from :func:`loaded` (its registrations stay; for tests and examples)."""
    _loaded.remove(spec)
