"""Flat parameter vectors and named zero-copy views into them.

Every player of a game keeps its parameters in one flat vector ``theta`` of
shape ``(n,)``, or ``(P, n)`` for a population of ``P`` independent models.
A :class:`Layout` maps names to consecutive blocks of that vector and hands out
views shaped like the arrays a layer needs. Writing into a view writes into the
vector; nothing is copied. Optimizers, game Jacobians and checkpoints see only
the flat vector.
"""
from __future__ import annotations

import weakref
from math import prod
from typing import Iterable, Mapping

import numpy as np

__all__ = ["Layout"]


class Layout:
    """Named blocks of a flat vector.

    Parameters
    ----------
    shapes : iterable of (name, shape)
        The blocks in storage order. Names must be unique.

    Examples
    --------
    >>> lay = Layout([("W1", (2, 3)), ("b1", (1, 3))])
    >>> theta = np.arange(lay.size, dtype=float)
    >>> v = lay.views(theta)
    >>> v["b1"]
    array([[6., 7., 8.]])
    >>> v["W1"][0, 0] = -1.0
    >>> float(theta[0])
    -1.0
    """

    __slots__ = ("names", "shapes", "offsets", "size", "_cache")

    #: How many flat vectors' views a layout remembers (a training loop uses two or three).
    CACHE = 8

    def __init__(self, shapes: Iterable[tuple[str, tuple[int, ...]]]):
        names, shp, offs = [], [], []
        off = 0
        for name, shape in shapes:
            shape = tuple(int(s) for s in shape)
            if any(s < 0 for s in shape):
                raise ValueError(f"shape of {name!r} has a negative size: {shape}")
            if name in names:
                raise ValueError(f"duplicate block name {name!r}")
            names.append(name)
            shp.append(shape)
            offs.append(off)
            off += prod(shape)
        self.names: tuple[str, ...] = tuple(names)
        self.shapes: tuple[tuple[int, ...], ...] = tuple(shp)
        self.offsets: tuple[int, ...] = tuple(offs)
        self.size: int = off
        self._cache: dict = {}

    def __repr__(self) -> str:
        blocks = ", ".join(f"{n}{list(s)}" for n, s in zip(self.names, self.shapes))
        return f"Layout({blocks}; size={self.size})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Layout) and (self.names, self.shapes) == (other.names, other.shapes)

    def __hash__(self) -> int:
        return hash((self.names, self.shapes))

    def slice(self, name: str) -> slice:
        """The slice of the flat vector that holds block ``name``."""
        i = self.names.index(name)
        return slice(self.offsets[i], self.offsets[i] + prod(self.shapes[i]))

    def _check(self, flat: np.ndarray) -> None:
        if flat.ndim not in (1, 2) or flat.shape[-1] != self.size:
            raise ValueError(
                f"flat vector must have shape ({self.size},) or (P, {self.size}), got {flat.shape}"
            )
        if flat.size and flat.strides[-1] != flat.itemsize:
            # views of a strided vector would be silent copies: writes would be lost
            raise ValueError("flat vector must be contiguous along its last axis")

    def view_list(self, flat: np.ndarray) -> list[np.ndarray]:
        """Views of every block, in storage order, without copying.

        ``flat`` of shape ``(n,)`` gives views of the block shapes; ``(P, n)``
        gives views of shape ``(P, *shape)``.

        The views of the last :data:`CACHE` vectors are remembered (a training loop
        asks for the views of the same parameter and gradient vectors several times
        per step). An entry is used only for the very same array object (checked
        through a weak reference, so a new array that reuses a freed one's ``id`` is
        not mistaken for it) with the same shape, strides, dtype and writeability as
        when it was stored. The remembered views keep their array's memory alive
        until the entry is dropped (at most :data:`CACHE` entries; the whole memory
        is cleared when it is full).
        """
        key = id(flat)
        sig = (flat.shape, flat.strides, flat.dtype, flat.flags.writeable)
        hit = self._cache.get(key)
        if hit is not None and hit[0]() is flat and hit[1] == sig:
            return list(hit[2])
        out = self._compute_views(flat)
        if len(self._cache) >= self.CACHE:
            self._cache.clear()
        try:
            self._cache[key] = (weakref.ref(flat), sig, tuple(out))
        except TypeError:  # not weak-referenceable: no caching
            pass
        return out

    def __getstate__(self):
        # the remembered views (and their weak references) are not part of a layout
        return (self.names, self.shapes, self.offsets, self.size)

    def __setstate__(self, state):
        self.names, self.shapes, self.offsets, self.size = state
        self._cache = {}

    def _compute_views(self, flat: np.ndarray) -> list[np.ndarray]:
        self._check(flat)
        lead = flat.shape[:-1]
        out = []
        for shape, off in zip(self.shapes, self.offsets):
            seg = flat[..., off: off + prod(shape)]
            # With a contiguous last axis (checked above), splitting the last axis of a
            # row slice is always a view, so this reshape never copies
            # (tested in tests/test_layout.py).
            out.append(seg.reshape(lead + shape))
        return out

    def views(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """A dict ``name -> view`` into ``flat`` (see :meth:`view_list`)."""
        return dict(zip(self.names, self.view_list(flat)))

    def zeros(self, population: int | None = None, dtype=np.float64) -> np.ndarray:
        """A zero flat vector, ``(n,)`` or ``(population, n)``."""
        shape = (self.size,) if population is None else (int(population), self.size)
        return np.zeros(shape, dtype=dtype)

    def flatten(self, arrays: Mapping[str, np.ndarray], population: int | None = None,
                dtype=np.float64) -> np.ndarray:
        """Copy named arrays into a new flat vector (the inverse of :meth:`views`).

        For setting up and checkpoints, never for the training loop.
        """
        missing = set(self.names) - set(arrays)
        if missing:
            raise ValueError(f"missing blocks: {sorted(missing)}")
        flat = self.zeros(population, dtype)
        for name, view in self.views(flat).items():
            view[...] = arrays[name]
        return flat
