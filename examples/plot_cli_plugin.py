"""
Your own names on the command line: a plugin
============================================

A *plugin* is an ordinary Python module whose import registers names in gandyn's registries
(losses, methods, penalties, optimizers, activations, latents, the 2-D data sets of
``gandyn mog``). ``gandyn --plugin MODULE`` imports it before the command line is built, so
every command offers and accepts its names, and the worker processes of a run (``--jobs``,
``--scheduler``) load it too (:mod:`gandyn.plugins`).

Here the example writes a plugin file into a temporary folder and runs the ``gandyn``
command on it, as a user would in a terminal.
"""

# %%
# The plugin
# ----------
# It registers a loss and a data set of ``gandyn mog``, four Gaussians on a circle. The loss
# keeps D's cross-entropy and lets G descend minus D's logit, ``-l = log(1 - D) - log D``: the
# sum of the minimax and the non-saturating generator losses of Goodfellow et al. (2014).
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

PLUGIN = '''
from gandyn.distributions import ring2d
from gandyn.engine.losses import LOSSES, separable
from gandyn.experiments.mog import DATASETS


@LOSSES.register("logit-g")
def logit_g():  # D: cross-entropy (the default terms); G: minus the logit
    return separable(g_fake=lambda o: -o, name="logit-g")


DATASETS.register("ring4", lambda: ring2d(4))
'''

folder = Path(tempfile.mkdtemp())
(folder / "my_gan_plugin.py").write_text(PLUGIN)


def gandyn(*args, show=True):
    """Run the ``gandyn`` command (as ``python -m gandyn``) in the temporary folder and show
    what it prints."""
    args = [str(a) for a in args]
    done = subprocess.run([sys.executable, "-m", "gandyn", *args], capture_output=True, text=True, cwd=folder)
    print(f"$ gandyn {' '.join(args)}")
    if show:
        print(done.stdout + done.stderr, end="")
    print(f"exit status {done.returncode}\n")
    return done


# %%
# Without the plugin the name is unknown
# --------------------------------------
# Bad input is one line naming the choices, and exit status 2.
_ = gandyn("gan1d", "--loss", "logit-g", "--out", "refused")

# %%
# With it, the help lists the new names ...
help_text = gandyn("--plugin", "./my_gan_plugin.py", "mog", "--help", show=False).stdout
print("\n".join(line for line in help_text.splitlines() if "ring4" in line or "logit-g" in line))

# %%
# ... and a command trains with them
# ----------------------------------
# The 1-D GAN of Goodfellow et al. (2014) with the plugin's loss: ``--out`` gets Figure 1
# from the run, the JSD curves and the history of the run.
_ = gandyn("--plugin", "./my_gan_plugin.py", "gan1d", "--loss", "logit-g", "--steps", 1500, "--record-every", 50,
           "--no-animation", "--quiet", "--out", "run")
out = folder / "run"
print(sorted(p.name for p in out.iterdir()))

fig, ax = plt.subplots(figsize=(12, 3.6))
ax.imshow(plt.imread(out / "figure1.png"))
ax.axis("off")
fig.tight_layout()
plt.show()

# %%
# Installed plugins and worker processes
# --------------------------------------
# A package can announce its plugin with an entry point of the group ``gandyn.plugins``;
# the command then loads it by itself. From Python, :func:`gandyn.plugins.load` loads a
# plugin so that process pools and Dask workers load it as well:
#
# .. code-block:: python
#
#     from gandyn import plugins
#     plugins.load(["./my_gan_plugin.py"])
#
# See the section *Plugins* of :doc:`/extending`.
