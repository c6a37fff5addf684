"""
A sweep on a local Dask cluster
===============================

A sweep of :func:`gandyn.experiments.gan1d.sweep` splits into one shard per seed, and
:func:`~gandyn.app.backends.run_sweep` runs the shards on the workers of a
`Dask <https://distributed.dask.org>`_ cluster: the laptop's cores through a
``LocalCluster`` as here, or the machines of a real cluster through its scheduler's
address (``gandyn gan1d --sweep --scheduler tcp://host:8786``). Every model draws from its
own seed's random streams, so the result is the same wherever the shards run.

The example needs the ``distributed`` extra (``pip install "gandyn[distributed]"``); without
Dask it says so and stops.
"""

# %%
# Start a cluster
# ---------------
# Two workers of one thread each. ``processes=False`` keeps them in this process; with
# worker processes (the default), a script must start the cluster under
# ``if __name__ == "__main__":``, as any program that starts processes.
import matplotlib.pyplot as plt
import numpy as np

from gandyn.app.backends import run_sweep
from gandyn.experiments import gan1d

try:
    from dask.distributed import Client, LocalCluster
except ImportError:
    Client = None
    print("dask.distributed is not installed (pip install 'gandyn[distributed]') - skipping this example")
    fig, ax = plt.subplots(figsize=(6, 1.5))
    ax.text(0.5, 0.5, "dask.distributed not installed: example skipped", ha="center", va="center")
    ax.axis("off")
    plt.show()

# %%
# Sweep, one shard per seed
# -------------------------
# Six by six step sizes, four seeds, 800 iterations: 144 small GANs in four shards.
setup = gan1d.setup()
lrs = np.logspace(-3.5, -1.5, 6)
kw = dict(lr_g_values=lrs, lr_d_values=lrs, steps=800)
if Client is not None:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        print(f"{len(client.scheduler_info()['workers'])} workers")
        arrays, meta = run_sweep(setup, seeds=[0, 1, 2, 3], client=client, **kw)
    print(f"final JSD of {arrays['jsd'].size} models; median {np.median(arrays['jsd']):.3f} nats")

# %%
# The same numbers as in one process
# ----------------------------------
# One shard run here, compared with its models on the cluster.
if Client is not None:
    local, _ = gan1d.sweep(setup, seeds=[2], **kw)
    print("largest difference:", np.max(np.abs(local["jsd"] - arrays["jsd"][:, :, 2:3])))

    fig, axes = plt.subplots(1, 4, figsize=(13, 3.4), sharey=True)
    for s, ax in enumerate(axes):
        m = ax.pcolormesh(lrs, lrs, arrays["jsd"][0, 0, s], vmin=0, vmax=np.log(2), cmap="viridis_r",
                          shading="nearest")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"seed {s}", fontsize=9)
        ax.set_xlabel(r"$\eta_G$")
    axes[0].set_ylabel(r"$\eta_D$")
    fig.colorbar(m, ax=axes, label="final JSD [nats]")
    plt.show()
