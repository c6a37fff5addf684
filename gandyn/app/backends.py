"""Execution backends: a population run split into shards, run in this process, on local
processes or on a Dask cluster, each shard kept as it finishes.

A population experiment is split into *shards* (``gandyn mog`` by units of models,
``gandyn gan1d --sweep`` by seeds); a shard's result does not depend on where it runs or
with which other shards, so every backend gives the same bits. :func:`run_shards` runs the
shards that a :class:`ShardStore` does not hold yet, keeps each one as it finishes, and
merges them; on a failure a :class:`ShardError` names the first failed shard and carries the
finished shards' results, merged, so that they can be written. :func:`run_mog` and
:func:`run_sweep` are the two population experiments on it.

>>> from gandyn.engine.population import Networks
>>> from gandyn.experiments.mog import TRAINING, MogConfig
>>> cfg = MogConfig(data="ring8", methods=["altgd"], lrs=[1e-3], seeds=2, steps=4, checks=2,
...                 networks=Networks(hidden_g=(8,), hidden_d=(8,)), training=TRAINING.replace(batch=8), n_eval=50)
>>> res = run_mog(cfg)
>>> res["modes"].shape, res["check_it"].tolist()
((2,), [2, 4])
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import threading
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from gandyn import history, plugins
from gandyn.errors import UsageError
from gandyn.app.folders import RUN_RECORD, write_run_record
from gandyn.app.machine import blas_limit
from gandyn.io import remove_stale_temps

__all__ = ["SHARDS", "ShardError", "ShardStore", "split", "run_shards", "run_mog", "run_sweep", "load_plugins",
           "die_with_parent", "dask_client"]

#: The folder, inside a command's output folder, where a run keeps its finished shards (and
#: its run record) until it completes.
SHARDS = "shards"


class ShardError(RuntimeError):
    """A shard failed; ``shard`` is its index among the shards run, ``items`` the items it
    held and ``partial`` the results of the shards that finished, merged (or None)."""

    def __init__(self, shard: int, cause: BaseException, partial: Any | None = None, items: list | None = None):
        super().__init__(f"shard {shard} failed: {type(cause).__name__}: {cause}")
        self.shard, self.cause, self.partial, self.items = shard, cause, partial, items


class ShardStore:
    """The finished shards of a population run, one file each, so that a run stopped
    midway (killed, or a shard failed) and started again trains only what is missing.

    A shard is named by the units it trained (``units``, a list of ints); its result is a
    dict of arrays (numbers or strings), written whole or not at all
    (:func:`gandyn.history.save`) as ``folder/NAME_HASH.npz``. Results read back are the
    arrays written, bit for bit. The caller checks that the folder belongs to the same
    configuration (:func:`gandyn.app.folders.check_same_run`) against its record: ``record``
    (if given), ``(command, config)``, is written as that record
    (:func:`gandyn.app.folders.write_run_record`) before the first shard, and removed by :meth:`clear`.

    A run stopped and started again is run in *parts*; :attr:`earlier_seconds` (set by
    :meth:`load`) is the wall time of the earlier parts, each up to its last finished shard,
    so that a resumed run's wall time is ``earlier_seconds`` plus its own part's.
    """

    def __init__(self, folder, name: str, record: tuple[str, Any] | None = None):
        self.folder, self.name, self.record = Path(folder), name, record
        self.part, self.started, self.earlier_seconds = uuid.uuid4().hex, time.perf_counter(), 0.0

    def load(self) -> dict[tuple[int, ...], Any]:
        """The stored shards: units -> result as saved, its arrays (or ``(arrays, meta)`` when it
        was saved with a ``meta``). Files not readable as a whole shard are ignored (and removed):
        their units are trained again."""
        remove_stale_temps(self.folder, [f"{self.name}_*.npz", "*.json"])  # of a killed writer
        self.started, out, spent = time.perf_counter(), {}, {}
        for f in sorted(self.folder.glob(f"{self.name}_*.npz")):
            try:
                arrays, meta = history.load(f)
                units = tuple(int(u) for u in meta["units"])
            except Exception:  # a file that is not a shard of ours: train its units again
                f.unlink(missing_ok=True)
                continue
            out[units] = arrays if meta.get("meta") is None else (arrays, meta["meta"])
            if "part" in meta:
                spent[meta["part"]] = max(spent.get(meta["part"], 0.0), float(meta["elapsed"]))
        self.earlier_seconds = sum(spent.values())
        return out

    def save(self, units, result: dict, meta: dict | None = None) -> None:
        """Keep the result of the shard of ``units`` (its arrays; and ``meta``, JSON-able, read
        back by :meth:`load`)."""
        if self.record is not None:
            write_run_record(self.folder, *self.record)  # once: it is kept while it is there
        key = hashlib.sha1(",".join(str(int(u)) for u in units).encode()).hexdigest()[:12]
        arrays = {k: v for k, v in result.items() if isinstance(v, np.ndarray) or np.isscalar(v)}
        history.save(self.folder / f"{self.name}_{key}.npz", arrays, {"units": [int(u) for u in units], "meta": meta,
                                                                        "part": self.part,
                                                                        "elapsed": time.perf_counter() - self.started})

    def clear(self) -> None:
        """Remove the stored shards and the record (and the folder when it is then empty)."""
        for f in self.folder.glob(f"{self.name}_*.npz"):
            f.unlink(missing_ok=True)
        if self.record is not None:
            (self.folder / RUN_RECORD).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.folder.rmdir()


def split(items: Sequence[int], n: int | None = None) -> list[list[int]]:
    """``items`` in ``n`` shards (default: one each), round robin."""
    items = list(items)
    n = len(items) if n is None else max(1, min(int(n), len(items)))
    return [items[i::n] for i in range(n)] if items else []


def die_with_parent(parent: int | None = None) -> None:
    """In a worker process: exit when the parent is gone (a daemon thread looks every half
    second), so that no worker outlives a killed command. ``parent``: the parent's pid as the
    parent knows it (``os.getpid()`` there), so that a parent killed before this call is
    noticed; default the current parent."""
    parent = os.getppid() if parent is None else int(parent)

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def load_plugins(client, specs) -> None:
    """Load the plugins ``specs`` (:func:`gandyn.plugins.load`) on every worker of the Dask
    cluster of ``client`` now, so that a worker that cannot load one stops the run before any
    shard starts (a worker that joins later loads them before its first shard, as every
    worker does). Without specs, nothing.

    Raises
    ------
    gandyn.plugins.PluginError
        A plugin failed to load on a worker (e.g. not installed there).
    """
    if specs := tuple(specs):
        try:
            client.run(plugins.load, specs)
        except plugins.PluginError as e:
            raise plugins.PluginError(f"on a Dask worker: {e} (install it there, or give a .py file that the "
                                      "workers can read)") from e


def _in_process(fn: Callable, keys: list, bar, threads: int | None):
    """The shards ``keys`` in this process, in turn, BLAS limited to ``threads``, as ``(i, result,
    error)``; the first failure stops the run."""
    with blas_limit(threads):
        for i, key in enumerate(keys):
            try:
                yield i, fn(key, progress=bar.update), None
            except Exception as e:
                yield i, None, e
                return


_PROGRESS = None  # a local worker's queue for progress (set by _pool_init)
_LOADING = threading.Lock()  # a worker's threads load the plugins one at a time


def _pool_init(threads, progress, parent):
    global _PROGRESS

    die_with_parent(parent)  # no worker outlives a killed command
    _PROGRESS = progress
    blas_limit(threads)  # applied at once, for the worker's life


def _call(blob: bytes, specs: tuple):
    """The shard pickled in ``blob``, ``(fn, key)``, as ``fn(key, progress=...)`` (the queue of a local
    process, :func:`_pool_init`; else None), in a worker that first loads the plugins ``specs`` (once
    per process: their names mean the same there) and then unpickles the shard."""
    with _LOADING:
        plugins.load(specs)
    fn, key = pickle.loads(blob)
    return fn(key, progress=None if _PROGRESS is None else _PROGRESS.put)


def _in_parallel(fn: Callable, keys: list, bar, threads: int | None, jobs: int, client=None):
    """The shards ``keys`` on a :class:`concurrent.futures.Executor`, as ``(i, result, error)`` in the
    order they finish: the Dask cluster of ``client`` (``bar`` counts finished shards; Dask retries a
    shard whose worker is lost), else ``jobs`` spawned local processes (BLAS limited to ``threads``
    each, each dying with this process; their progress reaches ``bar`` through a queue). Every worker
    loads this process's plugins (:func:`gandyn.plugins.loaded`) before it runs a shard; on a cluster
    all of them are loaded first (:func:`load_plugins`). When a shard fails the others run to their
    end; when the run is stopped, the shards not started are cancelled."""
    import multiprocessing as mp
    import queue
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    q = None
    if client is not None:
        import cloudpickle  # what Dask pickles with (a plugin's loss may be a lambda)

        load_plugins(client, plugins.loaded())
        executor, dumps = client.get_executor(pure=False), cloudpickle.dumps  # never a result of another run
    else:
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        executor, dumps = ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_pool_init,
                                              initargs=(threads, q, os.getpid())), pickle.dumps
    # a shard travels as bytes, unpickled where it runs after the plugins are loaded (a configuration
    # holding a plugin's method object cannot be unpickled by Dask's scheduler)
    futures = {executor.submit(_call, dumps((fn, key)), plugins.loaded()): i for i, key in enumerate(keys)}
    pending = set(futures)
    try:
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            if q is None:
                bar.refresh()  # a bar of finished shards: its clock runs on
            with contextlib.suppress(queue.Empty):
                while q is not None:  # the workers' progress
                    bar.update(q.get_nowait())
            for f in sorted(done, key=futures.get):
                error = f.exception()
                if client is not None and error is None:
                    bar.update(1)
                yield futures[f], None if error else f.result(), error
    finally:
        for f in pending:
            f.cancel()
        executor.shutdown(wait=client is None)
        if q is not None:
            q.close()
            q.join_thread()


def run_shards(fn: Callable, items: Sequence[int], *, merge: Callable[[list], Any], shards: int | None = None,
               store: ShardStore | None = None, client=None, jobs: int = 1, threads: int | None = 1, name: str = "",
               progress: bool = False, bar=None) -> Any:
    """The shards of a population run, merged: ``items`` (ints: units of models, seeds) split
    into ``shards`` (:func:`split`; default one item each), shard ``key`` (a list of items)
    computed as ``fn(key, progress=...)`` on every backend (``progress`` a callable counting
    work done; None on a cluster, whose bar counts finished shards), the results merged by ``merge``
    in the order of their keys.

    Backends: a Dask cluster when ``client`` (a :class:`dask.distributed.Client`) is given, with
    a progress bar of finished shards (``name`` shards, disabled without ``progress``); ``jobs``
    local processes (spawned, each dying with this process); else this process. When a shard
    fails, the first failure stops a run in this process; elsewhere the other shards run to
    their end. Locally, BLAS runs with ``threads`` threads per process (None leaves
    it alone): one thread per GEMM of a stacked population is faster on a busy machine, and
    ``jobs`` processes use the other cores. ``bar``: a function of the items already finished
    (those of the store) that gives the progress bar of local runs (a tqdm), else none.

    With ``store`` every finished shard is kept there as it finishes (a result ``(arrays,
    meta)`` as its arrays and meta), and shards found there are not run again: a run stopped
    midway continues where it stopped, with the same bits as a run never stopped (each
    item's result does not depend on its shard).

    Raises
    ------
    ShardError
        A shard failed (after Dask's retries of lost workers); its ``partial`` holds the
        finished shards' results merged (those of the store included), or None.
    """
    from tqdm.auto import tqdm

    if int(jobs) < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs!r}")
    stored = store.load().items() if store is not None else ()
    done = {k: result for k, result in stored if set(k) <= set(items)}
    have = {i for key in done for i in key}
    keys = split([i for i in items if i not in have], shards)
    if client is not None and keys:
        bar = tqdm(total=len(keys), desc=f"{name} shards", unit="shard", disable=not progress)
    else:
        bar = bar(have) if bar is not None and keys else tqdm(disable=True)
    if keys and (client is not None or (jobs > 1 and len(keys) > 1)):
        events = _in_parallel(fn, keys, bar, threads, int(jobs), client)
    else:
        events = _in_process(fn, keys, bar, threads)
    failed = None
    with bar, contextlib.closing(events):
        for i, part, error in events:
            if error is None:
                done[tuple(keys[i])] = part
                if store is not None:
                    store.save(keys[i], *(part if isinstance(part, tuple) else (part,)))
            elif failed is None or i < failed[0]:
                failed = (i, error)
    merged = merge([done[k] for k in sorted(done)]) if done else None
    if failed is not None:
        raise ShardError(failed[0], failed[1], merged, list(keys[failed[0]])) from failed[1]
    return merged


def run_mog(cfg, *, shards: int | None = None, client=None, jobs: int = 1, progress: bool = False,
            threads: int | None = 1, store: ShardStore | None = None) -> dict:
    """Train and score every model of the mode-collapse benchmark ``cfg`` (a
    :class:`~gandyn.experiments.mog.MogConfig`) by :func:`run_shards`: its units
    (:func:`~gandyn.experiments.mog.units_of`) split into ``shards``, each trained by
    :func:`~gandyn.experiments.mog.run_shard`; a progress bar of model-iterations locally.

    Returns the merged results (:func:`~gandyn.experiments.mog.merge`) with ``wall_seconds``
    (of a resumed run, with the earlier parts', :attr:`ShardStore.earlier_seconds`).

    Raises
    ------
    ShardError
        A shard failed; its ``partial`` holds the finished shards' results (those of the
        store included).
    """
    from tqdm.auto import tqdm

    from gandyn.experiments import mog

    t0 = time.perf_counter()
    units = mog.units_of(cfg)

    def bar(have):
        return tqdm(total=sum(u.rows.size for u in units) * cfg.steps,
                    initial=sum(units[i].rows.size for i in have) * cfg.steps, desc=f"mog {cfg.data}",
                    unit="model-it", unit_scale=True, disable=not progress, mininterval=1.0)

    res = run_shards(partial(mog.run_shard, cfg), range(len(units)), merge=partial(mog.merge, cfg), shards=shards,
                     store=store, client=client, jobs=jobs, threads=threads, name=f"mog {cfg.data}",
                     progress=progress, bar=bar)
    res["wall_seconds"] = time.perf_counter() - t0 + (store.earlier_seconds if store is not None else 0.0)
    return res


def _sweep_seeds(setup, kw: dict, seeds: list, progress=None):
    from gandyn.experiments import gan1d

    return gan1d.sweep(setup, seeds=seeds, **kw)


def run_sweep(setup, *, seeds, client=None, store: ShardStore | None = None, progress: bool = False,
              **kw) -> tuple[dict, dict]:
    """:func:`gandyn.experiments.gan1d.sweep` by :func:`run_shards`, one shard per seed, in
    this process or on a Dask cluster (``client``); every model draws from its own seed's
    streams, so the result equals ``sweep(setup, seeds=seeds, **kw)``. The progress bar is
    the sweep's own in this process, and counts finished shards on a cluster.

    Raises
    ------
    ShardError
        A shard failed: it names the shard (the ``i``-th seed to run) and its ``partial`` is
        the sweep of the seeds that finished (:func:`~gandyn.experiments.gan1d.merge_sweeps`),
        or None.
    """
    from gandyn.engine import population
    from gandyn.experiments import gan1d

    seeds = [int(s) for s in population.check_seeds(list(seeds))]
    kw = {**kw, "progress": progress and client is None}
    return run_shards(partial(_sweep_seeds, setup, kw), seeds, merge=gan1d.merge_sweeps, store=store, client=client,
                      threads=None, name="gan1d sweep", progress=progress)


#: How long a Dask client tries to reach the scheduler of ``--scheduler``.
CONNECT_TIMEOUT = "10s"


def dask_client(address):
    """A Dask client of the scheduler at ``address`` (``--scheduler``); ValueError without Dask,
    :class:`~gandyn.errors.UsageError` when no scheduler answers at ``address`` (both one line)."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise ValueError("--scheduler needs Dask: pip install 'gandyn[distributed]'") from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, ValueError) as e:
        raise UsageError(f"--scheduler {address}: no Dask scheduler answers there ({type(e).__name__}); is it "
                         "running, and is the address right?") from None
