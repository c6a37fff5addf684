"""The errors a command reports, one class per kind, and the one divergence criterion.

- :class:`UsageError`: bad input the user can fix (a value, a file, a folder made by
  another configuration). The command line prints one line and exits with status 2.
- :class:`DivergedError`: training left the floats. One criterion for single runs,
  populations and sweeps (:func:`healthy`): every loss and parameter finite and at most
  :data:`BOUND` in size. A single run stops with it, naming the iteration; a population
  names and drops its diverged models instead. The command line exits with status 3.
- Anything else escaping a command is a bug in gandyn: exit status 1, with a pointer
  to where it happened and the traceback.

>>> healthy(np.array([[0.0, 1.0], [np.nan, 0.0], [1e7, 0.0]]))
array([ True, False, False])
"""
from __future__ import annotations

import numpy as np

__all__ = ["one_line", "UsageError", "DivergedError", "BOUND", "healthy", "EXIT_USAGE", "EXIT_DIVERGED", "EXIT_BUG",
           "begin_work", "work_started", "reset_work"]

#: Exit status of bad input, of a diverged run, and of a bug in gandyn.
EXIT_USAGE, EXIT_DIVERGED, EXIT_BUG = 2, 3, 1

#: A loss or parameter beyond this size means training has blown up: the GANs here have
#: parameters and losses of order 1-100 (Adam moves a parameter by about its step size per
#: iteration); a run whose parameters reach 1e6 has left the data's scale for good (runs
#: with a step size too large freeze with parameters of 1e8-1e11 and a saturated D), and far
#: before float64 (or float32) overflows its outputs have stopped meaning anything.
BOUND = 1e6


class UsageError(ValueError):
    """Bad input the user can fix; its message is one line naming the problem."""


class DivergedError(ValueError):
    """Training diverged: a loss or a parameter became NaN, inf, or larger than
    :data:`BOUND` in size. ``iteration`` is the first iteration found diverged (or None)."""

    def __init__(self, message: str, iteration: int | None = None):
        super().__init__(message)
        self.iteration = iteration


def one_line(text) -> str:
    """``text`` (any object, e.g. an exception) as one line: its words joined by single spaces."""
    return " ".join(str(text).split())


def healthy(*arrays) -> np.ndarray | bool:
    """Per population member (rows of ``(P, n)`` arrays; a ``(P,)`` array is one value per
    member; a scalar is one run): every entry finite and ``|x| <= BOUND``.

    Returns
    -------
    bool array (P,), or bool for scalars
    """
    ok = None
    with np.errstate(invalid="ignore"):
        for a in arrays:
            a = np.asarray(a)
            r = (np.abs(a) <= BOUND).all(axis=-1) if a.ndim > 1 else np.abs(a) <= BOUND
            ok = r if ok is None else ok & r
    return bool(ok) if np.ndim(ok) == 0 else ok


# --- validation before work, work after it

_working = [False]


def begin_work() -> None:
    """Say that a command has finished checking its input and started its work (called
    when its output folder is opened, :func:`gandyn.app.folders.output_folder`): from now on a
    ``ValueError`` escaping the command is a bug in gandyn, not bad input."""
    _working[0] = True


def work_started() -> bool:
    """Whether :func:`begin_work` was called since :func:`reset_work`."""
    return _working[0]


def reset_work() -> None:
    """Back to the validation phase (the command line calls it before each command)."""
    _working[0] = False
