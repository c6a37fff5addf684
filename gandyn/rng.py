"""Randomness per SPEC 7 (scientific-python.org/specs/spec-0007): explicit ``rng``
arguments, never numpy's global state, and one seed split into independent
named streams with :class:`numpy.random.SeedSequence`.

A stream is identified by its *name*, not by its position in a list, so adding a
stream (say, for logging) never shifts the others: every consumer of a run's
seed draws from its own stream and switching logging or plotting on or off
leaves the run unchanged.

>>> s = streams(0, ["g_init", "d_init"])
>>> float(s["g_init"].random()) == float(stream(0, "g_init").random())
True
"""
from __future__ import annotations

import zlib
from typing import Iterable

import numpy as np

__all__ = ["as_rng", "stream", "streams", "RUN_STREAMS"]

#: The streams of a training run: initial parameters of each player, the order
#: of the data, latent noise, and evaluation (sample grids, metrics).
RUN_STREAMS = ("g_init", "d_init", "data", "latent", "eval")


def as_rng(rng=None) -> np.random.Generator:
    """Normalise ``rng`` (None, int, SeedSequence or Generator) to a Generator,
    as SPEC 7 prescribes (``np.random.default_rng(rng)``)."""
    return np.random.default_rng(rng)


def _key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


def seed_sequence(seed: int, name: str) -> np.random.SeedSequence:
    """The SeedSequence of stream ``name`` of run ``seed``: the child with spawn
    key ``(crc32(name),)``, the construction ``SeedSequence.spawn`` uses with
    positional keys."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.SeedSequence(int(seed), spawn_key=(_key(name),))


def stream(seed: int, name: str) -> np.random.Generator:
    """The Generator of stream ``name`` of run ``seed``."""
    return np.random.default_rng(seed_sequence(seed, name))


def streams(seed: int, names: Iterable[str] = RUN_STREAMS) -> dict[str, np.random.Generator]:
    """Independent Generators, one per name, from one seed."""
    return {name: stream(seed, name) for name in names}
