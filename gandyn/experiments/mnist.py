"""The talk's vanilla GAN on MNIST, trained end to end: configuration, data order,
checkpoints that resume bit for bit, and the training loop.

The default :class:`MnistConfig` is the talk's code (wiseodd/generative-models,
``GAN/vanilla_gan/gan_tensorflow.py``): D 784-128(ReLU)-1 (a logit), G
100-128(ReLU)-784(sigmoid), weights normal with std ``1/sqrt(fan_in/2)`` and zero
biases, ``z ~ U(-1, 1)^100``, TensorFlow's ``AdamOptimizer()`` (lr 1e-3, its
epsilon-hat form) for each player, minibatch 128, and per iteration one D step on
a real minibatch and fresh noise, then one G step on fresh noise (Goodfellow et
al. 2014, Algorithm 1 with k = 1) with the non-saturating G loss (their Section
3), in float32. Data: the first 55,000 training images, as the talk's
``input_data.read_data_sets`` split them (images 55,000-59,999 are its
validation set and stay held out), served in reshuffled epochs like its
``next_batch`` (:class:`gandyn.data.EpochSampler`).

Every choice is an option: minimax loss, k D steps, SGD with momentum
(Goodfellow et al. trained with momentum), hidden sizes and depth (their
larger generator is ``NETWORKS.replace(hidden_g=(1200, 1200))``); and three additions that are
off by default: dropout in D, one-sided label smoothing, and a moving average
of G's parameters; and batch normalisation in G's hidden layers (``g_batch_norm``, off by
default).

Randomness: one seed, named streams (:mod:`gandyn.rng`): ``g_init``, ``d_init``,
``data`` (epoch order), ``latent`` (training noise), ``dropout`` (D's dropout
masks, when on), ``grid`` (the fixed noise of
the sample grids) and ``eval`` (samples for metrics). Grids and evaluation never
touch the training streams, so drawing them does not change the run.
"""
from __future__ import annotations

import contextlib
import json
import math
import signal
import threading
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from gandyn.data import EpochSampler
from gandyn.engine import optim
from gandyn.engine.checkpoint import nonfinite, restore_trainer, state_arrays, trainer_state
from gandyn.engine.gan import GAN
from gandyn.engine.nn import hidden_mlp
from gandyn.engine.population import Networks
from gandyn.engine.registry import Registry
from gandyn.engine.trainer import StreamBatches, Trainer
from gandyn.engine.training import JsonConfig, TrainingConfig, check_int, check_networks, check_protocol
from gandyn.errors import DivergedError, one_line
from gandyn.io import atomic_path, remove_stale_temps, write_json, write_text
from gandyn.rng import stream

__all__ = [
    "MnistConfig", "TRAINING", "MnistRun", "NonFiniteError", "train", "new_run",
    "load_checkpoint", "checkpoint_config", "save_checkpoint", "generate", "write_losses", "read_losses", "GRID",
    "N_TRAIN", "CHECKPOINT", "PROTOCOLS", "NETWORKS", "nested",
]

#: Training images used (the talk's ``input_data`` split: 55,000 train, 5,000 validation).
N_TRAIN = 55_000
#: Samples in a sample grid (the talk's 4x4).
GRID = 16
#: File name of a run's checkpoint inside its output folder.
CHECKPOINT = "checkpoint.npz"
#: Checkpoint format (3: the training choices nested in the config; Adam's epsilon-hat state as sums;
#: 4: the method as a dict of its name and fields; 5: the networks nested in the config, a
#: :class:`~gandyn.engine.population.Networks`).
FORMAT = "gandyn.experiments.mnist/5"
PIXELS = 784

#: Published training protocols, each a set of flat settings (every setting the source states:
#: fields of :class:`MnistConfig`, of its ``networks`` and of its ``training``, :func:`nested`; and
#: ``hidden_act``, both players' hidden activation), with its source. ``goodfellow2014``: Goodfellow
#: et al. 2014's MNIST run, goodfeli/adversarial ``mnist.yaml`` and the cost ``AdversaryCost2`` of
#: its ``__init__.py``: G 100-1200-1200-784 (ReLU, sigmoid output, ``irange .05``), z ~ N(0, I) (its
#: ``Generator``'s default noise), D two maxout layers of 240 units x 5 pieces and a sigmoid
#: output (``irange .005``), dropout on D's inputs (include probabilities 0.8 for the input, 0.5
#: for the hidden layers, inverted scaling), the non-saturating G loss, both players updated
#: at once on one minibatch (simultaneous gradient descent), SGD with momentum 0.5 moving
#: linearly to 0.7 from epoch 1 to 250 (``MomentumAdjustor``), learning rate 0.1 divided by
#: 1.000004 after each update down to 1e-6 (``ExponentialDecay``), batch 100, training images
#: 0-50,000. Its D loss is half the cross-entropy (``d_obj = 0.5 (cost(1, D(x)) + cost(0,
#: D(G(z))))``), which for SGD with momentum is D's full cross-entropy at half the step size:
#: ``lr_d = 0.05``.
PROTOCOLS: Registry[dict] = Registry("MNIST protocol")
PROTOCOLS.register("goodfellow2014", {
    "source": "Goodfellow et al. 2014; goodfeli/adversarial mnist.yaml and __init__.py (AdversaryCost2)",
    "settings": {"z_dim": 100, "hidden_g": (1200, 1200), "hidden_act": "relu", "init": "uniform_0.05",
                 "latent": "normal", "hidden_d": (240, 240), "d_pieces": 5, "d_init": "uniform_0.005",
                 "d_dropout": (0.2, 0.5, 0.5), "loss": "nonsat", "method": "simgd", "k": 1,
                 "optimizer": "momentum", "mu": 0.5, "mu_final": 0.7, "mu_start": 1, "mu_saturate": 250,
                 "lr_g": 0.1, "lr_d": 0.05, "lr_decay": 1.000004, "lr_min": 1e-6, "batch": 100,
                 "n_train": 50_000},
    "differs": ("G's output biases start at 0 (theirs: the logits of the pixel marginals, "
                "init_sigmoid_bias_from_marginals); D's dropout masks of the G step are drawn anew "
                "(theirs: the same forward pass as D's); momentum v <- mu v + g, theta <- theta - lr v "
                "(pylearn2: inc <- mu inc - lr g), equal at constant lr, here lr changes by 1/1.000004 a step; G's step draws its own noise "
                "(theirs: the D step's samples)"),
})


#: The talk's training choices: TensorFlow's Adam (its epsilon-hat form, Kingma & Ba 2015,
#: end of Section 2), ``nonsat``, ``altgd`` with ``k = 1``, minibatch 128.
TRAINING = TrainingConfig(adam_tf=True)
#: The talk's networks: G 100-128 (ReLU)-784 (its sigmoid output is MNIST's own,
#: :meth:`MnistConfig.gan`), D 784-128 (ReLU)-1, weights normal with std ``1/sqrt(fan_in/2)``
#: and zero biases (``xavier_talk``), ``z ~ U(-1, 1)^100``, float32. Goodfellow et al.'s larger
#: generator: ``NETWORKS.replace(hidden_g=(1200, 1200))``.
NETWORKS = Networks(z_dim=100, latent="uniform", hidden_g=128, hidden_d=128, init="xavier_talk")


@dataclass(frozen=True, kw_only=True)
class MnistConfig(JsonConfig):
    """A training run's hyperparameters; the defaults are the talk's code. Every field is a
    keyword.

    Parameters
    ----------
    training : TrainingConfig
        The loss, method, ``k``, batch, optimizer, penalty, ... (default :data:`TRAINING`,
        the talk's). When ``g_ema`` is on, samples, grids and evaluation use G's average.
    networks : Networks
        G and D (default :data:`NETWORKS`, the talk's; float32 and unpacked). G's output is a
        sigmoid, D's a logit. With ``d_pieces > 1`` the max of the pieces is D's nonlinearity.
        With ``g_batch_norm`` (Ioffe & Szegedy 2015, Algorithm 1) training normalises with each
        batch's own statistics and folds them into running statistics at every G step
        (:meth:`~gandyn.engine.nn.MLP.update_stats`); samples, grids and evaluation use the
        running statistics, which the checkpoint keeps.
    seed : int
        Seed of all the run's random streams (the penalty's, spectral norm's and instance
        noise's draws come from streams ``penalty``, ``spectral_norm`` and ``instance_noise``).
    lr_g, lr_d : float or tuple of (int, float)
        Step sizes (1e-3), or piecewise-constant schedules ``((0, lr_0), (i_1, lr_1),
        ...)``: ``lr_j`` after iteration ``i_j`` (a run resumed with new step sizes
        records one more piece; :func:`~gandyn.engine.optim.piecewise`).
    n_train : int
        Train on images ``[0, n_train)`` of the training file.
    d_dropout : tuple of float
        Dropout probability of the input of each of D's layers (``()`` = none;
        Goodfellow et al. 2014 trained their D with dropout), e.g. ``(0.2, 0.5, 0.5)``.
    label_smooth : float
        One-sided label smoothing of D's data target (Salimans et al. 2016, 3.4).
    lr_decay, lr_min : float
        Step sizes decay as ``max(lr / lr_decay^(t - 1), lr_min)`` at each player's step ``t``
        (:func:`~gandyn.engine.optim.exponential_decay`; ``lr_decay = 1``: constant).
    mu_final, mu_start, mu_saturate : float or None, int, int
        With the momentum optimizer, ``mu`` moves linearly to ``mu_final`` from epoch
        ``mu_start`` to ``mu_saturate`` (epochs of ``n_train / batch`` steps;
        :func:`~gandyn.engine.optim.linear_ramp`); None: constant ``mu``.
    protocol : str
        The name of the published protocol this config follows (:data:`PROTOCOLS`), or ``""``.

    Raises
    ------
    ValueError
        A field out of its range or an unsupported pairing (the message names it).
    """

    training: TrainingConfig = TRAINING
    networks: Networks = NETWORKS
    seed: int = 0
    lr_g: float | tuple = 1e-3
    lr_d: float | tuple = 1e-3
    n_train: int = N_TRAIN
    d_dropout: tuple[float, ...] = ()
    label_smooth: float = 0.0
    lr_decay: float = 1.0
    lr_min: float = 0.0
    mu_final: float | None = None
    mu_start: int = 1
    mu_saturate: int = 250
    protocol: str = ""

    def __post_init__(self):
        if not isinstance(n := self.networks, Networks):
            raise ValueError(f"networks must be a Networks, got {n!r}")
        check_networks(self.training, n.g_batch_norm, n.hidden_g)
        if n.dtype is not np.float32 or n.pack != 1:
            raise ValueError(f"the MNIST GAN's networks are float32 and unpacked, got {np.dtype(n.dtype).name} "
                             f"and pack {n.pack}")
        if not (1 <= self.lr_decay < math.inf and 0 <= self.lr_min < math.inf):
            raise ValueError(f"lr_decay must be >= 1 and lr_min >= 0, got {self.lr_decay!r} and {self.lr_min!r}")
        if self.mu_final is not None:
            if self.training.optimizer != "momentum":
                raise ValueError(f"mu_final ramps the momentum optimizer's mu; the optimizer is "
                                 f"{self.training.optimizer!r}")
            if not 0 <= self.mu_final < 1:
                raise ValueError(f"mu_final must be in [0, 1), got {self.mu_final!r}")
            if not 0 <= self.mu_start < self.mu_saturate:
                raise ValueError(f"mu_start and mu_saturate must satisfy 0 <= start < saturate, got "
                                 f"{self.mu_start} and {self.mu_saturate}")
        check_protocol(self.protocol, PROTOCOLS)
        if self.label_smooth and self.training.loss not in ("nonsat", "minimax"):
            raise ValueError(f"label smoothing applies to the cross-entropy losses nonsat and minimax, "
                             f"not {self.training.loss!r}")
        object.__setattr__(self, "d_dropout", tuple(float(p) for p in self.d_dropout))
        for name in ("lr_g", "lr_d"):
            lr = getattr(self, name)
            if isinstance(lr, (list, tuple)):
                pieces = tuple(optim.piecewise(lr).pieces)  # validated, as (int, float) pairs
                object.__setattr__(self, name, pieces[0][1] if len(pieces) == 1 else pieces)
            elif not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
                raise ValueError(f"{name} must be a positive number or a list of [iteration, lr], got {lr!r}")
        for name in ("seed", "n_train"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), 0 if name == "seed" else 1))
        if self.n_train > N_TRAIN:
            raise ValueError(f"n_train must be <= {N_TRAIN:,} (training images {N_TRAIN:,}-59,999 are the "
                             f"held-out validation set), got {self.n_train:,}")
        self.gan()  # dropout and label smoothing, as the engine checks them
        if self.training.batch > self.n_train:
            raise ValueError(f"batch ({self.training.batch}) exceeds n_train ({self.n_train})")

    def n_params(self) -> tuple[int, int]:
        """The parameter counts of G and D (their :attr:`gandyn.engine.MLP.n_params`)."""
        gan = self.gan()
        return gan.G.n_params, gan.D.n_params

    def memory_bytes(self, iters: int = 0) -> int:
        """A rough upper estimate of the bytes a run needs: parameters, gradients,
        optimizer states and G's average (float32), the layers' activations and
        their gradients on a step's minibatches, the training images (uint8) and a
        loss history of ``iters`` iterations."""
        p_g, p_d = self.n_params()
        n = self.networks
        acts = 3 * self.training.batch * (n.z_dim + sum(n.hidden_g) + n.d_pieces * sum(n.hidden_d) + 2 * PIXELS + 1)
        return 4 * (6 * (p_g + p_d) + 4 * acts) + self.n_train * PIXELS + 8 * iters

    @classmethod
    def of_protocol(cls, name: str) -> "MnistConfig":
        """The config of the published protocol ``name`` (:data:`PROTOCOLS`).

        Raises
        ------
        ValueError
            An unknown protocol (the choices named).
        """
        return cls(**nested(PROTOCOLS[name]["settings"]), protocol=name)

    def gan(self) -> GAN:
        """The two float32 MLPs: G ``z_dim - hidden_g - 784`` (sigmoid output), D
        ``784 - hidden_d - 1`` (logit)."""
        n = self.networks
        G = hidden_mlp((n.z_dim, *n.hidden_g, PIXELS), n.act_g, "sigmoid", batch_norm=n.g_batch_norm, dtype=np.float32)
        D = hidden_mlp((PIXELS, *n.hidden_d, 1), n.act_d, pieces=n.d_pieces, dtype=np.float32)
        return GAN(G, D, loss=self.training.loss, latent=n.latent, d_dropout=self.d_dropout,
                   label_smooth=self.label_smooth)

    def optimizers(self) -> tuple[optim.Optimizer, optim.Optimizer]:
        """``(opt_g, opt_d)`` (:meth:`~gandyn.engine.training.TrainingConfig.make_g_optimizer`
        and ``make_d_optimizer``). A schedule of iterations becomes one of each
        optimizer's steps: G takes one step per iteration, D ``k``."""
        def rate(lr, steps_per_iteration):
            lr = optim.piecewise([(i * steps_per_iteration, v) for i, v in lr]) if isinstance(lr, tuple) else lr
            if self.lr_decay == 1:
                return lr
            decay = optim.exponential_decay(1.0, self.lr_decay)
            return lambda t: max((lr(t) if callable(lr) else lr) * decay(t), self.lr_min)

        t = self.training
        lr_g, lr_d = rate(self.lr_g, 1), rate(self.lr_d, t.k)
        if self.mu_final is None:
            return t.make_g_optimizer(lr_g), t.make_d_optimizer(lr_d)
        # the momentum optimizer with mu ramped to mu_final (epochs of n_train // batch steps)
        ramp = optim.linear_ramp(t.mu, self.mu_final, self.mu_start, self.mu_saturate, max(1, self.n_train // t.batch))
        return (t.make_g_optimizer(lr_g, optim.momentum(lr=lr_g, mu=ramp)),
                t.make_d_optimizer(lr_d, optim.momentum(lr=lr_d, mu=ramp)))

    def with_step_sizes(self, iteration: int, lr_g: float | None = None, lr_d: float | None = None) -> "MnistConfig":
        """This config continued with new step sizes after ``iteration`` (one more piece
        of each changed schedule)."""
        def extend(old, new):
            pieces = old if isinstance(old, tuple) else ((0, old),)
            return old if new is None else tuple(p for p in pieces if p[0] < iteration) + ((iteration, float(new)),)

        return replace(self, lr_g=extend(self.lr_g, lr_g), lr_d=extend(self.lr_d, lr_d))


def nested(settings: dict) -> dict:
    """Flat settings (each a field of :class:`MnistConfig`, of its ``networks`` or of its
    ``training``, as :data:`PROTOCOLS` and the command line name them; ``hidden_act`` sets both
    ``act_g`` and ``act_d``) as :class:`MnistConfig`'s keywords: the networks' and the training
    choices' put into ``networks`` and ``training`` (the talk's, with the changes).

    >>> kw = nested({"hidden_g": (1200, 1200), "hidden_act": "tanh", "batch": 100, "n_train": 50_000})
    >>> kw["networks"].hidden_g, kw["networks"].act_d, kw["training"].batch, kw["n_train"]
    ((1200, 1200), 'tanh', 100, 50000)
    """
    rest = dict(settings)
    if "hidden_act" in rest:
        rest["act_g"] = rest["act_d"] = rest.pop("hidden_act")
    for name, part in (("networks", NETWORKS), ("training", TRAINING)):
        rest[name] = part.replace(**{k: rest.pop(k) for k in list(rest) if k in part.__dataclass_fields__})
    return rest


class NonFiniteError(DivergedError):
    """A loss or a parameter became NaN or infinite (a :class:`gandyn.errors.DivergedError`)."""


@dataclass
class MnistRun:
    """A run in progress: its config, the engine's :class:`~gandyn.engine.trainer.Trainer`,
    the data sampler and the loss history (``losses[i] = (loss_D, loss_G)`` of
    iteration ``i+1``)."""

    config: MnistConfig
    trainer: Trainer
    sampler: EpochSampler
    losses: np.ndarray

    @property
    def it(self) -> int:
        return self.trainer.it

    @property
    def gan(self) -> GAN:
        return self.trainer.gan

    @property
    def g_average(self) -> np.ndarray | None:
        """The moving average of G's parameters (``g_ema > 0``), else None."""
        return s.average if isinstance(s := self.trainer.state_g, optim.AveragedState) else None

    def grid_noise(self) -> np.ndarray:
        """The fixed noise of the sample grids (stream ``grid``)."""
        return self.gan.sample_z(stream(self.config.seed, "grid"), GRID)

    def samples(self, z: np.ndarray, ema: bool = True) -> np.ndarray:
        """``G(z)`` at G's moving average when the run keeps one (``g_ema > 0``) and ``ema`` is
        true, else at the trained parameters; a batch-norm G in evaluation mode, with the
        running statistics (so each sample depends on its own ``z`` only)."""
        avg = self.g_average if ema else None
        return self.gan.G(self.trainer.theta_g if avg is None else avg, z, self.trainer.stats_g)


def new_run(config: MnistConfig, images: np.ndarray) -> MnistRun:
    """A fresh run on ``images[:config.n_train]`` (uint8, (N, 784))."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.shape[1:] != (PIXELS,) or len(images) < config.n_train:
        raise ValueError(f"images must be uint8 of shape (N, {PIXELS}) with N >= n_train = {config.n_train}, "
                         f"got {images.dtype} {images.shape}")
    gan, s = config.gan(), {n: stream(config.seed, n) for n in ("g_init", "d_init", "data", "latent", "dropout")}
    sampler, n = EpochSampler(images[:config.n_train]), config.networks
    theta_g, theta_d = gan.G.init(s["g_init"], n.init), gan.D.init(s["d_init"], n.d_init or n.init)
    trainer = config.training.trainer(gan, *config.optimizers(), theta_g, theta_d,
                                      StreamBatches(sampler, gan.latent, s["data"], s["latent"]),
                                      lambda name: stream(config.seed, name),
                                      rng_dropout=s["dropout"] if config.d_dropout else None)
    return MnistRun(config, trainer, sampler, np.zeros((0, 2), np.float32))


# --- checkpoints


def save_checkpoint(path, tr: MnistRun) -> Path:
    """Write everything needed to continue the run bit for bit, atomically (``.npz``):
    both players' parameters and optimizer states, G's moving average (when kept), the
    running statistics of G's batch-norm layers (``stats_g``, with ``g_batch_norm``),
    the ``data``, ``latent`` and (when used) ``dropout``, ``penalty`` and
    ``instance_noise`` random streams, the
    sampler's epoch permutation and position, the iteration, the config and the
    loss history. The trainer's part is :func:`gandyn.engine.checkpoint.trainer_state`."""
    t_arrays, t_meta = trainer_state(tr.trainer)
    meta = {"format": FORMAT, "config": tr.config.to_dict(), **t_meta, "sampler_pos": tr.sampler.pos}
    arrays = {**t_arrays, "losses": tr.losses[:tr.it]}
    if tr.sampler.perm is not None:
        arrays["sampler_perm"] = tr.sampler.perm
    if (bad := nonfinite(arrays.items())) is not None:
        raise NonFiniteError(f"not writing checkpoint {path}: {bad} holds NaN or inf at iteration {tr.it}")
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, meta=np.array(json.dumps(meta)), **arrays)
    return Path(path)


def load_checkpoint(path, images: np.ndarray | None = None, *, lr_g: float | None = None,
                    lr_d: float | None = None) -> MnistRun:
    """Rebuild a :class:`MnistRun` from :func:`save_checkpoint`'s file. Without
    ``images`` the sampler holds no data (enough to draw samples). ``lr_g``/``lr_d``
    continue the run with new step sizes from the checkpoint's iteration on (a
    step-size decay between sessions): the config's schedules get one more piece,
    the optimizer states (moments, step counts) carry over unchanged."""
    path = Path(path)
    arrays, meta = _read_checkpoint(path)
    return _valid(path, lambda: _rebuild(arrays, meta, images, lr_g, lr_d))


def _valid(path: Path, build: Callable):
    """``build()``, its errors (a field missing or malformed) one line naming the checkpoint."""
    try:
        return build()
    except (KeyError, TypeError, IndexError, AttributeError, ValueError) as e:
        raise ValueError(f"{path} is not a valid gandyn MNIST checkpoint ({type(e).__name__}: "
                         f"{one_line(e)})") from None


def _read_checkpoint(path: Path, meta_only: bool = False) -> tuple[dict, dict]:
    """The arrays (none with ``meta_only``) and the metadata of a checkpoint file."""
    if not path.is_file():
        raise ValueError(f"no checkpoint at {path}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a gandyn MNIST checkpoint (not an .npz file)")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in (["meta"] if meta_only else z.files)}
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path} is not a gandyn MNIST checkpoint ({one_line(e)})") from None
    fmt = meta.get("format") if isinstance(meta, dict) else None
    if isinstance(fmt, str) and fmt.startswith(FORMAT.rpartition("/")[0] + "/") and fmt != FORMAT:
        raise ValueError(f"{path} is a gandyn MNIST checkpoint of format {fmt!r}, written by an earlier gandyn; "
                         f"this version reads {FORMAT!r} (train the run again)")
    if fmt != FORMAT:
        raise ValueError(f"{path} is not a gandyn MNIST checkpoint (format {fmt!r})")
    return arrays, meta


def checkpoint_config(path) -> MnistConfig:
    """The configuration a checkpoint was trained with, read without its arrays.

    Raises
    ------
    ValueError
        No checkpoint at ``path``, or not a gandyn MNIST checkpoint.
    """
    meta = _read_checkpoint(path := Path(path), meta_only=True)[1]
    return _valid(path, lambda: MnistConfig.from_dict(meta["config"]))


def _rebuild(arrays: dict, meta: dict, images, lr_g=None, lr_d=None) -> MnistRun:
    if (bad := nonfinite(arrays.items())) is not None:
        raise ValueError(f"{bad} holds NaN or inf")
    config = MnistConfig.from_dict(meta["config"])
    if lr_g is not None or lr_d is not None:
        config = config.with_step_sizes(int(meta["iteration"]), lr_g, lr_d)
    if images is None:
        images = np.zeros((config.n_train, PIXELS), np.uint8)
    tr = new_run(config, images)
    restore_trainer(tr.trainer, arrays, meta)
    it, pos, perm, losses = tr.it, meta["sampler_pos"], arrays.get("sampler_perm"), arrays["losses"]
    if losses.shape != (it, 2):
        raise ValueError(f"losses has shape {losses.shape}, expected ({it}, 2) for iteration {it}")
    n = config.n_train
    if not isinstance(pos, int) or isinstance(pos, bool) or not 0 <= pos <= n or perm is None and pos != 0:
        raise ValueError(f"sampler position must be an integer in [0, {n}], got {pos!r}")
    if perm is not None and (perm.shape != (n,) or perm.dtype.kind not in "iu"
                             or not np.array_equal(np.sort(perm), np.arange(n))):
        raise ValueError(f"sampler_perm is not a permutation of the {n} training images")
    tr.sampler.perm, tr.sampler.pos, tr.losses = perm, pos, losses.astype(np.float32)
    return tr


# --- training


#: Iterations between checks of the optimizer states (also checked before every checkpoint).
STATE_CHECK_EVERY = 10


@contextlib.contextmanager
def _stop_flag():
    """A flag (``stop["set"]``) that the first SIGINT (Ctrl-C) sets and the loop checks between
    iterations, so the checkpoint written on interrupt is a consistent state; a second Ctrl-C
    interrupts at once. Only active in the main thread."""
    stop, main = {"set": False}, threading.current_thread() is threading.main_thread()

    def handle(signum, frame):
        stop["set"] = True
        signal.signal(signal.SIGINT, old)

    old = signal.signal(signal.SIGINT, handle) if main else None
    try:
        yield stop
    finally:
        if main:
            signal.signal(signal.SIGINT, old)


def write_losses(path, losses: np.ndarray) -> Path:
    """``iteration,loss_d,loss_g`` per iteration (1-based), atomically."""
    rows = [f"{i},{d:.6g},{g:.6g}" for i, (d, g) in enumerate(losses.tolist(), start=1)]
    return write_text(path, "\n".join(["iteration,loss_d,loss_g", *rows]) + "\n")


def read_losses(path, *, finite: bool = True) -> np.ndarray:
    """The ``(N, 2)`` losses ``(loss_D, loss_G)`` of a ``losses.csv`` of :func:`write_losses`.

    Raises
    ------
    ValueError
        One line naming the file: missing, empty or malformed; with ``finite``, a loss
        that is NaN or inf (its iteration named).
    """
    import warnings

    path = Path(path)

    def not_ours(why):
        return ValueError(f"{path} is not a losses.csv of `gandyn mnist train` ({why})")

    if not path.is_file():
        raise ValueError(f"no losses.csv in {path.parent}")
    try:
        with open(path) as f, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": checked below
            header, rows = f.readline().strip(), np.loadtxt(f, delimiter=",", ndmin=2)
    except (ValueError, UnicodeDecodeError) as e:
        raise not_ours(one_line(e)[:200]) from None
    if header != "iteration,loss_d,loss_g":
        raise not_ours(f"header {header[:80]!r}")
    if rows.size == 0:
        raise ValueError(f"{path} holds no iterations (only its header)")
    if rows.shape[1] != 3 or not np.array_equal(rows[:, 0], np.arange(1, len(rows) + 1)):
        raise not_ours("expected the columns iteration,loss_d,loss_g for iterations 1, 2, ...")
    if finite and not np.isfinite(rows[:, 1:]).all():
        bad = int(rows[~np.isfinite(rows[:, 1:]).all(axis=1), 0][0])
        raise ValueError(f"{path}: the loss of iteration {bad} is not finite")
    return rows[:, 1:]


def train(tr: MnistRun, iters: int, out, *, checkpoint_every: int = 5000, grid_every: int = 1000,
          save_grid: Callable[[np.ndarray, Path], object] | None = None, progress: bool = True,
          callback: Callable[[MnistRun], object] | None = None, keep_every: int = 0) -> dict:
    """Train until iteration ``iters`` (total, counting earlier sessions of a resumed run).

    Writes into ``out``: ``checkpoint.npz`` every ``checkpoint_every`` iterations,
    at the end and on Ctrl-C; ``losses.csv`` with each checkpoint; and, through
    ``save_grid(samples (16, 784), path)``, ``grids/iter_XXXXXXX.png`` from the
    fixed grid noise whenever the iteration count is a multiple of ``grid_every``
    (iteration 0 included, as the talk's loop draws before its first step).
    ``callback(trainer)`` runs after every iteration (tests use it). ``keep_every = N > 0``
    also keeps ``checkpoints/iter_XXXXXXX.npz`` every ``N`` iterations (iteration 0
    included): the run's history of parameters, e.g. for ``gandyn landscape``.

    A NaN or inf in a loss or a parameter (checked every iteration) or in an
    optimizer state or G's moving average (checked every :data:`STATE_CHECK_EVERY`
    iterations and before every checkpoint) raises :class:`NonFiniteError` naming
    the quantity and the iteration; the last checkpoint written is the last good
    state, and ``config.json`` (written with each checkpoint) is that checkpoint's.
    Temporary files left in ``out`` by a run killed mid-write are removed first.

    Returns a dict: ``iteration``, ``interrupted``, ``seconds``, ``it_per_s``.
    """
    import time

    from tqdm.auto import tqdm

    out, run = Path(out), tr.trainer
    ckpt, start = out / CHECKPOINT, run.it
    if iters < start:
        raise ValueError(f"--iters {iters} is below the checkpoint's iteration {start}")
    (out / "grids").mkdir(parents=True, exist_ok=True)
    # temporary files of a run killed mid-write (its checkpoint is the previous one, intact)
    remove_stale_temps(out, (CHECKPOINT, "losses.csv", "config.json"))
    remove_stale_temps(out / "grids", ("iter_*.png",))
    losses = np.zeros((iters, 2), np.float32)
    losses[:start] = tr.losses[:start]
    tr.losses, z_grid = losses, tr.grid_noise()
    saved = {"it": start if ckpt.exists() else None}  # the iteration of the last checkpoint written

    def last_good() -> str:
        return (f"the last checkpoint {ckpt} (iteration {saved['it']}) is intact" if saved["it"] is not None
                else "no checkpoint written yet")

    def stop_if(bad):
        if bad is not None:
            raise NonFiniteError(f"non-finite {bad} at iteration {run.it}; stopped ({last_good()})")

    def checkpoint():
        stop_if(nonfinite(state_arrays(run)))
        try:
            save_checkpoint(ckpt, tr)
        except OSError as e:
            raise OSError(e.errno, f"cannot write {ckpt}: {e.strerror or e}; {last_good()}") from None
        saved["it"] = run.it
        # the config (its step sizes) and the losses of that checkpoint, with it
        write_json(out / "config.json", tr.config.to_dict())
        write_losses(out / "losses.csv", losses[:run.it])

    def snapshot(it):  # the grid and the kept checkpoint of iteration it, when due
        if save_grid is not None and grid_every and it % grid_every == 0:
            save_grid(tr.samples(z_grid), out / "grids" / f"iter_{it:07d}.png")
        if keep_every and it % keep_every == 0:
            (out / "checkpoints").mkdir(exist_ok=True)
            save_checkpoint(out / "checkpoints" / f"iter_{it:07d}.npz", tr)

    if start == 0:
        snapshot(0)
    t0 = time.perf_counter()
    bar = tqdm(total=iters, initial=start, desc="mnist train", unit="it", disable=not progress,
               dynamic_ncols=True, smoothing=0.05)
    try:
        # overflow in a step is reported by the guard below, naming the quantity
        with _stop_flag() as stop, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            while run.it < iters and not stop["set"]:  # a first Ctrl-C ends the loop here
                loss_d, loss_g = run.step()
                i = run.it
                losses[i - 1] = (loss_d, loss_g)
                stop_if(nonfinite((("discriminator loss", loss_d), ("generator loss", loss_g),
                                   ("discriminator parameter", run.theta_d), ("generator parameter", run.theta_g)))
                        or (None if i % STATE_CHECK_EVERY else nonfinite(state_arrays(run))))
                if callback is not None:
                    callback(tr)
                if i % 100 == 0:
                    bar.set_postfix(loss_d=f"{loss_d:.3f}", loss_g=f"{loss_g:.3f}", refresh=False)
                    bar.update(100)
                snapshot(i)
                if checkpoint_every and i % checkpoint_every == 0 and i < iters:
                    checkpoint()
        checkpoint()
    finally:
        bar.update(run.it - bar.n)
        bar.close()
    seconds = time.perf_counter() - t0
    return {"iteration": run.it, "interrupted": stop["set"], "seconds": seconds,
            "it_per_s": (run.it - start) / seconds if seconds > 0 else float("nan")}


def generate(tr: MnistRun, n: int, rng, batch: int = 1000, ema: bool = True) -> np.ndarray:
    """``n`` samples ``G(z)``, ``z`` from ``rng``, as float32 (n, 784) in [0, 1]; from
    G's moving average when the run keeps one and ``ema`` is true; a batch-norm G with its
    running statistics."""
    n = check_int("the number of samples", n)
    out = np.empty((n, PIXELS), np.float32)
    for s in range(0, n, batch):
        out[s:s + batch] = tr.samples(tr.gan.sample_z(rng, min(batch, n - s)), ema)
    return out
