"""A :class:`~gandyn.engine.trainer.Trainer`'s complete state as named arrays and JSON, and
back, so that training continues bit for bit.

:func:`trainer_state` gives ``(arrays, meta)``: the arrays (parameters, optimizer states,
method state, spectral norm's vectors, G's moving average, G's batch-norm running
statistics) under fixed names, and a JSON-serialisable ``meta`` (the iteration, the
optimizers' step counts, the random streams' states, the skeleton of the method's state).
:func:`restore_trainer` writes them into a trainer built the same way (same networks,
optimizers, method and options). Writing them to a file, together with whatever else a run
keeps, is the caller's business (e.g. :func:`gandyn.experiments.mnist.save_checkpoint`).

>>> import json
>>> from gandyn.engine import GAN, MLP, optim
>>> from gandyn.engine.trainer import StreamBatches, Trainer
>>> from gandyn.rng import stream
>>> def make():
...     G = MLP((1, 4, 1), ("tanh", "identity")); D = MLP((1, 4, 1), ("relu", "identity"))
...     gan = GAN(G, D)
...     batches = StreamBatches(lambda rng, m: rng.normal(4, 0.5, (m, 1)), gan.latent,
...                             stream(0, "data"), stream(0, "latent"))
...     return Trainer(gan, optim.adam(1e-2), optim.adam(1e-2), G.init(stream(0, "g_init")),
...                    D.init(stream(0, "d_init")), batches, batch=8)
>>> a = make(); _ = a.step()
>>> arrays, meta = trainer_state(a)
>>> b = make(); restore_trainer(b, arrays, json.loads(json.dumps(meta)))
>>> _ = a.step(); _ = b.step()
>>> b.it, bool((a.theta_g == b.theta_g).all())
(2, True)
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from gandyn.engine.optim import AveragedState
from gandyn.engine.training import check_int

__all__ = ["trainer_state", "restore_trainer", "nonfinite", "state_arrays"]


def _fit(key: str, arrays: dict, like) -> np.ndarray:
    """A copy of the saved array ``key``, refused unless it has the shape and dtype of the
    trainer's live array ``like`` it replaces."""
    saved = arrays[key]
    if not isinstance(like, np.ndarray) or saved.shape != like.shape or saved.dtype != like.dtype:
        expected = f"{like.shape} {like.dtype}" if isinstance(like, np.ndarray) else type(like).__name__
        raise ValueError(f"checkpoint {key} has shape {saved.shape} {saved.dtype}, the run expects {expected}")
    return saved.copy()


def _flatten(prefix: str, state) -> tuple[dict, dict]:
    """A state as named arrays (keys under ``prefix``) and a JSON skeleton. An optimizer state (a
    named tuple) keeps each array as ``prefix/FIELD`` and its other fields (the step count) as the
    skeleton; a method's state (None, arrays, dicts and tuples of them, counters) a skeleton that
    tags each node ``array`` (its key), ``dict``, ``seq`` or ``value``."""
    if hasattr(state, "_fields"):
        fields = state._asdict().items()
        return ({f"{prefix}/{name}": v for name, v in fields if isinstance(v, np.ndarray)},
                {name: v for name, v in fields if not isinstance(v, np.ndarray)})
    arrays = {}

    def walk(x, key):
        if isinstance(x, np.ndarray):
            arrays[key] = x
            return {"array": key}
        if isinstance(x, dict):
            return {"dict": {k: walk(v, f"{key}/{k}") for k, v in x.items()}}
        if isinstance(x, (tuple, list)):
            return {"seq": [walk(v, f"{key}/{i}") for i, v in enumerate(x)]}
        return {"value": x.item() if isinstance(x, np.generic) else x}

    return arrays, walk(state, prefix)


def _unflatten(template, arrays: dict, skeleton, prefix: str = ""):
    """The state :func:`_flatten` wrote, shaped as the trainer's fresh ``template`` (each array
    checked by :func:`_fit`)."""
    if hasattr(template, "_fields"):
        values = {}
        for name, value in template._asdict().items():
            if isinstance(value, np.ndarray):
                values[name] = _fit(f"{prefix}/{name}", arrays, value)
            else:  # SGD and momentum kept no step count "t" before schedules
                values[name] = value if name == "t" and name not in skeleton else type(value)(skeleton[name])
        return type(template)(**values)
    if "array" in skeleton:
        return _fit(skeleton["array"], arrays, template)
    if "dict" in skeleton:
        return {k: _unflatten(template[k], arrays, v) for k, v in skeleton["dict"].items()}
    if "seq" in skeleton:
        return tuple(_unflatten(t, arrays, v) for t, v in zip(template, skeleton["seq"]))
    return skeleton["value"]


def _inner(state):
    return state.inner if isinstance(state, AveragedState) else state


def _params(trainer) -> dict:
    """The parameter arrays kept, by name (the live arrays): G's and D's, G's moving average
    (``theta_g_ema``) and a batch-norm G's running statistics (``stats_g``) when there."""
    avg = trainer.state_g.average if isinstance(trainer.state_g, AveragedState) else None
    p = {"theta_g": trainer.theta_g, "theta_d": trainer.theta_d, "theta_g_ema": avg, "stats_g": trainer.stats_g}
    return {name: a for name, a in p.items() if a is not None}


def _rngs(trainer) -> dict:
    """The random streams in use, by name: the minibatch source's (when it has streams
    ``rng_data`` and ``rng_latent``), D's dropout, the penalty's and instance noise's."""
    b = trainer.batches
    rngs = {"rng_data": getattr(b, "rng_data", None), "rng_latent": getattr(b, "rng_latent", None),
            "rng_dropout": trainer.rng_dropout, "rng_penalty": trainer.rng_penalty, "rng_noise": trainer.rng_noise}
    return {name: rng for name, rng in rngs.items() if rng is not None}


def trainer_state(trainer) -> tuple[dict[str, np.ndarray], dict]:
    """Everything needed to continue ``trainer`` bit for bit, as ``(arrays, meta)``.

    Parameters
    ----------
    trainer : Trainer

    Returns
    -------
    arrays : dict of str to ndarray
        The live arrays (not copies), in this order: ``theta_g``, ``theta_d``; G's optimizer
        state ``opt_g/FIELD`` (inside a moving average), D's ``opt_d/FIELD``; the method's
        state ``method/...``; spectral norm's vectors ``spectral_norm/i``; G's moving average
        ``theta_g_ema`` and a batch-norm G's running statistics ``stats_g`` when the trainer
        keeps them.
    meta : dict
        JSON-serialisable: ``iteration``; ``opt_g`` and ``opt_d`` (each optimizer state's
        fields that are not arrays, e.g. the step count ``t``); the states of the random
        streams in use, ``rng_data``, ``rng_latent`` (of a minibatch source with streams, e.g.
        :class:`~gandyn.engine.trainer.StreamBatches`), ``rng_dropout``, ``rng_penalty``,
        ``rng_noise``; ``method_state``, the skeleton of the method's state (which node is
        which array).
    """
    a_g, s_g = _flatten("opt_g", _inner(trainer.state_g))
    a_d, s_d = _flatten("opt_d", trainer.state_d)
    meta = {"iteration": trainer.it, "opt_g": s_g, "opt_d": s_d}
    meta.update({name: rng.bit_generator.state for name, rng in _rngs(trainer).items()})
    m_arrays, meta["method_state"] = _flatten("method", trainer.method_state)
    if trainer.spectral_norm is not None:
        m_arrays.update({f"spectral_norm/{i}": u for i, u in enumerate(trainer.spectral_norm.state())})
    params = _params(trainer)
    arrays = {"theta_g": params.pop("theta_g"), "theta_d": params.pop("theta_d"), **a_g, **a_d, **m_arrays,
              **params}
    return arrays, meta


def restore_trainer(trainer, arrays: dict, meta: dict) -> None:
    """Continue ``trainer`` from :func:`trainer_state`'s ``(arrays, meta)``, in place.

    ``trainer`` must be built as the saved one was (same networks, optimizers, method,
    penalty, spectral norm, instance noise and streams in use); its parameters are
    overwritten in place (views of a larger array stay views). ``meta`` without
    ``method_state`` (older files) leaves the method's fresh state.

    Raises
    ------
    ValueError
        One line: an array whose shape or dtype does not fit the trainer's (named), or an
        iteration that is not a non-negative integer. A missing array or field raises
        KeyError (naming it).
    """
    for name, cur in _params(trainer).items():
        cur[...] = _fit(name, arrays, cur)
    inner = _unflatten(_inner(trainer.state_g), arrays, meta["opt_g"], "opt_g")
    sg = trainer.state_g
    trainer.state_g = sg._replace(inner=inner) if isinstance(sg, AveragedState) else inner
    trainer.state_d = _unflatten(trainer.state_d, arrays, meta["opt_d"], "opt_d")
    for name, rng in _rngs(trainer).items():
        rng.bit_generator.state = meta[name]
    if trainer.spectral_norm is not None:
        trainer.spectral_norm.set_state([arrays[f"spectral_norm/{i}"] for i in range(len(trainer.spectral_norm.u))])
    if "method_state" in meta:
        trainer.method_state = _unflatten(trainer.method_state, arrays, meta["method_state"])
    trainer.it = check_int("iteration", meta["iteration"], 0)


def nonfinite(named: Iterable) -> str | None:
    """The name of the first of ``(name, value)`` pairs whose floating-point value holds a NaN or
    inf, or None: one summation per array (a sum is finite iff every entry is, short of overflow,
    which counts as non-finite too).

    >>> nonfinite([("a", np.ones(3)), ("b", np.array([1.0, np.inf])), ("c", np.arange(2))])
    'b'
    """
    with np.errstate(over="ignore", invalid="ignore"):
        for name, a in named:
            a = np.asarray(a)
            if a.dtype.kind == "f" and not math.isfinite(float(np.add.reduce(a, axis=None))):
                return name
    return None


def state_arrays(trainer):
    """``(name, array)`` of every floating-point array in both players' optimizer states (walking
    nested states such as :class:`~gandyn.engine.optim.AveragedState`; G's moving average named
    as such), for :func:`nonfinite`."""
    def walk(who, state):
        for name, value in zip(state._fields, state):
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                yield ("moving average of G's parameters" if name == "average" else f"{who} optimizer state {name}",
                       value)
            elif isinstance(value, tuple) and hasattr(value, "_fields"):
                yield from walk(who, value)

    yield from walk("generator", trainer.state_g)
    yield from walk("discriminator", trainer.state_d)
