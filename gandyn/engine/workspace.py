"""The engine's working memory: one object that keeps the arrays of its passes between calls.

A training step or a Jacobian-vector product runs the same passes on arrays of the same
shapes again and again; allocating them anew each time costs page faults and cache misses
(a few percent of a ``J v`` of the MNIST GAN). A :class:`Workspace` keeps them: each pass asks
it for a buffer by a key and a shape (:meth:`Workspace.buffer`) and gets the same array back
on the next call. Named sub-workspaces (:meth:`Workspace.sub`) keep the passes of different
networks or products apart, so that one pass never overwrites what another still reads.

The trainer holds one; the public functions of the engine take it as ``ws=`` (the
forward, backward and R-passes of :class:`~gandyn.engine.nn.MLP`, the GAN's losses,
:mod:`~gandyn.engine.second_order`, the penalties). Without one (``ws=None``) a call works
in a fresh workspace of its own, i.e. on new arrays. Arrays a call returns from a workspace
live there: they are valid until the next call with the same workspace.

>>> import numpy as np
>>> ws = Workspace()
>>> a = ws.buffer("h", (2, 3), np.float64)
>>> a is ws.buffer("h", (2, 3), np.float64), a is ws.sub("G").buffer("h", (2, 3), np.float64)
(True, False)
"""
from __future__ import annotations

import numpy as np

__all__ = ["Workspace", "as_workspace"]


class Workspace:
    """Reusable arrays by ``(key, shape)``, and named sub-workspaces.

    Attributes
    ----------
    owner : object
        Who last filled the buffers a later call may reuse (e.g. the forward passes that
        :func:`gandyn.engine.second_order.primal` leaves for ``primal=``); a caller that
        shares the workspace sets it and checks it before reusing them. None at first.
    """

    __slots__ = ("_arrays", "_subs", "owner")

    def __init__(self):
        self._arrays: dict = {}
        self._subs: dict[str, Workspace] = {}
        self.owner = None

    def __repr__(self) -> str:
        return f"Workspace({len(self._arrays)} arrays, subs {sorted(self._subs)})"

    def sub(self, name: str) -> "Workspace":
        """The sub-workspace ``name`` (created empty on first use)."""
        ws = self._subs.get(name)
        if ws is None:
            ws = self._subs[name] = Workspace()
        return ws

    def buffer(self, key, shape: tuple, dtype) -> np.ndarray:
        """The array kept under ``key`` and ``shape`` (uninitialised when new; a new one
        replaces it when asked for another dtype)."""
        buf = self._arrays.get((key, shape))
        if buf is not None and (buf.dtype.type is dtype or buf.dtype == dtype):  # a type (the fast test) or a dtype
            return buf
        buf = self._arrays[(key, shape)] = np.empty(shape, dtype=dtype)
        return buf

    def stored(self, key, shape: tuple) -> np.ndarray | None:
        """The array :meth:`buffer` keeps under ``key`` and ``shape``, or None: what an earlier
        pass left there (e.g. the masked inputs the forward pass leaves for the backward pass)."""
        return self._arrays.get((key, shape))

    def ones(self, m: int, dtype) -> np.ndarray:
        """A ``(1, m)`` row of ones (sums over the batch as a BLAS product); never write to it."""
        key = ("ones", m, np.dtype(dtype).str)
        buf = self._arrays.get(key)
        if buf is None:
            buf = self._arrays[key] = np.ones((1, m), dtype=dtype)
        return buf

    @property
    def nbytes(self) -> int:
        """The bytes of every array kept here and in the sub-workspaces."""
        return sum(a.nbytes for a in self._arrays.values()) + sum(w.nbytes for w in self._subs.values())

    def clear(self) -> None:
        """Drop every array and sub-workspace (memory back; the next calls allocate again)."""
        self._arrays.clear()
        self._subs.clear()
        self.owner = None


def as_workspace(ws) -> Workspace:
    """``ws`` itself, or a fresh :class:`Workspace` for None.

    Raises
    ------
    ValueError
        If ``ws`` is neither (e.g. a dict, which earlier versions took).
    """
    if ws.__class__ is Workspace:
        return ws
    if ws is None:
        return Workspace()
    if isinstance(ws, Workspace):
        return ws
    raise ValueError(f"ws must be a gandyn.engine.workspace.Workspace or None, got {type(ws).__name__}")
