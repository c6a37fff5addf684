"""Shards of an experiment on a Dask cluster, shared by the population commands.

A population experiment split into shards (``gandyn mog`` by units of models, ``gandyn
gan1d --sweep`` by seeds) runs them with :func:`on_cluster`: a progress bar that moves
as shards finish, and on a failure a :class:`ShardError` that names the first failed
shard and carries the finished shards' results, merged, so that they can be written.
"""
from __future__ import annotations

import contextlib
import pickle
import uuid
from typing import Any, Callable, Sequence

import numpy as np

from gandyn import plugins

__all__ = ["ShardError", "ShardStore", "finished", "load_plugins", "on_cluster", "split", "die_with_parent"]


class ShardError(RuntimeError):
    """A shard failed; ``shard`` is its index and ``partial`` the results of the shards that
    finished (or None)."""

    def __init__(self, shard: int, cause: BaseException, partial: Any | None):
        super().__init__(f"shard {shard} failed: {type(cause).__name__}: {cause}")
        self.shard, self.cause, self.partial = shard, cause, partial


class ShardStore:
    """The finished shards of a population run, one file each, so that a run stopped
    midway (killed, or a shard failed) and started again trains only what is missing.

    A shard is named by the units it trained (``units``, a list of ints); its result is a
    dict of arrays (numbers or strings), written whole or not at all
    (:func:`gandyn.history.save`) as ``folder/NAME_HASH.npz``. Results read back are the
    arrays written, bit for bit. The caller checks that the folder belongs to the same
    configuration (:func:`gandyn.io.check_same_config`) against its record: ``record``
    (if given), ``(command, config)``, is written as that record
    (:func:`gandyn.io.write_run_record`) before the first shard, and removed by :meth:`clear`.
    """

    def __init__(self, folder, name: str, record: tuple[str, Any] | None = None):
        from pathlib import Path

        self.folder, self.name, self.record = Path(folder), name, record
        #: The ``meta`` of the shards read by :meth:`load`, by units.
        self.meta: dict[tuple[int, ...], Any] = {}

    def _path(self, units):
        import hashlib

        key = ",".join(str(int(u)) for u in units)
        return self.folder / f"{self.name}_{hashlib.sha1(key.encode()).hexdigest()[:12]}.npz"

    def load(self) -> dict[tuple[int, ...], dict]:
        """The stored shards: units -> result. Files not readable as a whole shard are
        ignored (and removed): their units are trained again."""
        from gandyn import history
        from gandyn.io import remove_stale_temps

        if not self.folder.is_dir():
            return {}
        remove_stale_temps(self.folder, [f"{self.name}_*.npz", "*.json"])  # of a killed writer
        out = {}
        for f in sorted(self.folder.glob(f"{self.name}_*.npz")):
            try:
                arrays, meta = history.load(f)
                units = tuple(int(u) for u in meta["units"])
            except Exception:  # a file that is not a shard of ours: train its units again
                f.unlink(missing_ok=True)
                continue
            out[units] = arrays
            self.meta[units] = meta.get("meta")
        return out

    def save(self, units, result: dict, meta: dict | None = None) -> None:
        """Keep the result of the shard of ``units`` (its arrays; and ``meta``, JSON-able,
        read back in :attr:`meta` by :meth:`load`)."""
        from gandyn import history
        from gandyn.io import write_run_record

        if self.record is not None:
            write_run_record(self.folder, *self.record)  # once: it is kept while it is there
        arrays = {k: v for k, v in result.items() if isinstance(v, np.ndarray) or np.isscalar(v)}
        history.save(self._path(units), arrays, {"units": [int(u) for u in units], "meta": meta})

    def clear(self) -> None:
        """Remove the stored shards and the record (and the folder when it is then empty)."""
        from gandyn.io import remove_run_record

        for f in self.folder.glob(f"{self.name}_*.npz"):
            f.unlink(missing_ok=True)
        if self.record is not None:
            remove_run_record(self.folder)
        with contextlib.suppress(OSError):
            self.folder.rmdir()


def split(items: Sequence[int], n: int | None = None) -> list[list[int]]:
    """``items`` in ``n`` shards (default: one each), round robin."""
    items = list(items)
    n = len(items) if n is None else max(1, min(int(n), len(items)))
    return [items[i::n] for i in range(n)] if items else []


def die_with_parent(parent: int | None = None) -> None:
    """In a worker process: ask the kernel to kill this process when its parent dies
    (Linux's ``PR_SET_PDEATHSIG``), so that no worker outlives a killed command; elsewhere,
    a daemon thread that watches the parent and exits when it is gone. ``parent``: the
    parent's pid as the parent knows it (``os.getpid()`` there), so that a parent killed
    before this call is noticed; default the current parent."""
    import os
    import signal
    import sys
    import threading

    parent = os.getppid() if parent is None else int(parent)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0:  # PR_SET_PDEATHSIG = 1
                if os.getppid() != parent:  # the parent died before the call
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch():
        import time

        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def finished(parts: dict, failed: tuple[int, BaseException] | None, merge: Callable[[list], Any]) -> list:
    """The shards' results (``parts``: shard index -> result) in shard order.

    Returns
    -------
    list
        The results, by ascending shard index.

    Raises
    ------
    ShardError
        A shard failed (``failed = (index, exception)``): it names the shard and carries
        the finished shards' results merged by ``merge`` as ``partial`` (None when none
        finished).
    """
    ok = [parts[i] for i in sorted(parts)]
    if failed is not None:
        raise ShardError(failed[0], failed[1], merge(ok) if ok else None)
    return ok


def load_plugins(client, specs) -> None:
    """Load the plugins ``specs`` (:func:`gandyn.plugins.load`) on every worker of the Dask
    cluster of ``client``, now and on workers that join later (a worker plugin named after
    the specs; registering the same specs again does nothing). Without specs, nothing.

    Raises
    ------
    gandyn.plugins.PluginError
        A plugin failed to load on a worker (e.g. not installed there); the worker plugin
        is removed again.
    """
    specs = tuple(specs)
    if not specs:
        return
    from distributed.diagnostics.plugin import WorkerPlugin

    class GandynPlugins(WorkerPlugin):
        idempotent = True  # the same specs registered again: nothing to do

        def __init__(self, specs):
            self.specs = specs
            self.name = "gandyn-plugins-" + uuid.uuid5(uuid.NAMESPACE_URL, "\0".join(specs)).hex[:12]

        def setup(self, worker):
            plugins.load(self.specs)

    plugin = GandynPlugins(specs)
    try:
        client.register_plugin(plugin)
    except Exception as e:
        with contextlib.suppress(Exception):  # the failure is the news, not its clean-up
            client.unregister_worker_plugin(plugin.name)
        if isinstance(e, plugins.PluginError):
            raise plugins.PluginError(f"on a Dask worker: {e} (install it there, or give a .py file that the "
                                      "workers can read)") from e
        raise


def _call_pickled(fn: Callable, args: bytes, **kwargs):
    return fn(*pickle.loads(args), **kwargs)


def on_cluster(client, fn: Callable, shard_args: Sequence[tuple], *, merge: Callable[[list], Any], name: str,
               progress: bool = False, on_result: Callable[[int, Any], None] | None = None, **kwargs) -> list:
    """``fn(*shard_args[i], **kwargs)`` for every shard ``i`` on the Dask cluster of
    ``client``; returns the results in shard order.

    The workers first load this process's plugins (:func:`gandyn.plugins.loaded`; a Dask
    worker plugin that also serves workers that join later), so the names they registered
    mean the same there.
    A progress bar (``name`` shards, disabled without ``progress``) counts finished
    shards. When a shard fails (after Dask's retries of lost workers), the others
    still run to their end, then :class:`ShardError` names the first failed shard;
    its ``partial`` is ``merge`` of the finished shards' results. ``on_result(i, result)``
    (if given) is called as each shard finishes, e.g. to store it.
    """
    from dask.distributed import wait
    from tqdm.auto import tqdm

    # keys unique per run: two runs on one cluster never share results
    key = f"gandyn-{name.replace(' ', '-')}-{uuid.uuid4().hex[:12]}-shard"
    load_plugins(client, plugins.loaded())
    # the shard's arguments travel as bytes, unpickled on a worker after its plugins are loaded (a
    # configuration holding a plugin's method object cannot be unpickled by the scheduler)
    import cloudpickle  # what Dask pickles with (a plugin's loss may be a lambda)

    futures = {client.submit(_call_pickled, fn, cloudpickle.dumps(args), pure=False, key=f"{key}{i}", **kwargs): i
               for i, args in enumerate(shard_args)}
    bar = tqdm(total=len(futures), desc=f"{name} shards", unit="shard", disable=not progress, leave=False)
    parts, failed = {}, None
    pending = set(futures)
    try:
        while pending:
            try:
                done, pending = wait(pending, timeout=2.0, return_when="FIRST_COMPLETED")
            except TimeoutError:  # nothing finished in 2 s: refresh the bar's clock
                bar.refresh()
                continue
            for f in done:
                i = futures[f]
                if f.status == "finished":
                    parts[i] = f.result()
                    if on_result is not None:
                        on_result(i, parts[i])
                    bar.update(1)
                elif failed is None or i < failed[0]:
                    failed = (i, f.exception())
            bar.refresh()
    finally:
        bar.close()
    return finished(parts, failed, merge)
