"""Registries: one per kind of name (losses, optimizers, activations, latents, dynamics
methods). A registry maps a name to an object; configs validate their names through
it, and the command line takes its ``choices`` from it, so adding an optimizer or a
loss is one file plus one registry line.

>>> from gandyn.engine.registry import Registry
>>> colours = Registry("colour")
>>> colours.register("red", 0xFF0000)
16711680
>>> colours["red"]
16711680
>>> colours.names()
('red',)
>>> colours["blue"]
Traceback (most recent call last):
    ...
ValueError: unknown colour 'blue'; choose from red
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Mapping, Generic[T]):
    """Names of one kind mapped to objects, in the order they were registered.

    Parameters
    ----------
    kind : str
        What the names name ("loss", "optimizer", ...); used in error messages.

    Notes
    -----
    ``registry[name]`` raises a one-line :class:`ValueError` listing the choices for
    an unknown name (not ``KeyError``: a name is user input). :meth:`register`
    refuses a name registered twice unless ``replace=True``.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, obj: T | None = None, *, replace: bool = False):
        """Register ``obj`` under ``name`` and return it; without ``obj``, a decorator."""
        if obj is None:
            return lambda o: self.register(name, o, replace=replace)
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        if name in self._items and not replace:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = obj
        return obj

    def unregister(self, name: str) -> T:
        """Remove ``name`` (and return its object); a one-line ValueError if unknown."""
        obj = self[name]
        del self._items[name]
        return obj

    def __getitem__(self, name: str) -> T:
        try:
            return self._items[name]
        except (KeyError, TypeError):
            raise ValueError(f"unknown {self.kind} {name!r}; choose from {', '.join(self._items)}") from None

    def check(self, name: str, field: str | None = None) -> str:
        """``name`` if registered, else the one-line :class:`ValueError` of ``self[name]``,
        prefixed by ``field`` (the option or config field that holds the name)."""
        try:
            self[name]
        except ValueError as e:
            if field is None:
                raise
            raise ValueError(f"{field}: {e}") from None
        return name

    def names(self) -> tuple[str, ...]:
        """The registered names, in registration order (the CLI's ``choices``)."""
        return tuple(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: Any) -> bool:
        return name in self._items

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._items)})"
