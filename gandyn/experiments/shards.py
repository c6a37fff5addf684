"""Shards of an experiment on a Dask cluster, shared by the population commands.

A population experiment split into shards (``gandyn mog`` by units of models, ``gandyn
gan1d --sweep`` by seeds) runs them with :func:`on_cluster`: a progress bar that moves
as shards finish, and on a failure a :class:`ShardError` that names the first failed
shard and carries the finished shards' results, merged, so that they can be written.
"""
from __future__ import annotations

import contextlib
import uuid
from typing import Any, Callable, Sequence

from gandyn import plugins

__all__ = ["ShardError", "finished", "load_plugins", "on_cluster"]


class ShardError(RuntimeError):
    """A shard failed; ``shard`` is its index and ``partial`` the results of the shards that
    finished (or None)."""

    def __init__(self, shard: int, cause: BaseException, partial: Any | None):
        super().__init__(f"shard {shard} failed: {type(cause).__name__}: {cause}")
        self.shard, self.cause, self.partial = shard, cause, partial


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


def on_cluster(client, fn: Callable, shard_args: Sequence[tuple], *, merge: Callable[[list], Any], name: str,
               progress: bool = False, **kwargs) -> list:
    """``fn(*shard_args[i], **kwargs)`` for every shard ``i`` on the Dask cluster of
    ``client``; returns the results in shard order.

    The workers first load this process's plugins (:func:`gandyn.plugins.loaded`; a Dask
    worker plugin that also serves workers that join later), so the names they registered
    mean the same there.
    A progress bar (``name`` shards, disabled without ``progress``) counts finished
    shards. When a shard fails (after Dask's retries of lost workers), the others
    still run to their end, then :class:`ShardError` names the first failed shard;
    its ``partial`` is ``merge`` of the finished shards' results.
    """
    from dask.distributed import wait
    from tqdm.auto import tqdm

    # keys unique per run: two runs on one cluster never share results
    key = f"gandyn-{name.replace(' ', '-')}-{uuid.uuid4().hex[:12]}-shard"
    load_plugins(client, plugins.loaded())
    futures = {client.submit(fn, *args, pure=False, key=f"{key}{i}", **kwargs): i for i, args in enumerate(shard_args)}
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
                    bar.update(1)
                elif failed is None or i < failed[0]:
                    failed = (i, f.exception())
            bar.refresh()
    finally:
        bar.close()
    return finished(parts, failed, merge)
