"""How the two players are trained: the choices every experiment's configuration shares.

A :class:`TrainingConfig` names the GAN loss, the training method (Algorithm 1 of
Goodfellow et al. 2014 with ``k`` D steps per G step, or another method of
:data:`~gandyn.engine.methods.METHODS`), the minibatch size, the optimizer and its
hyperparameters, an optional gradient penalty, weight clipping or spectral
normalisation of D, a moving average of G's parameters, and instance noise. It validates
them together once, and builds the engine objects they name, so that every configuration built on it
(the MNIST run, the populations of 1-D and 2-D GANs) checks and means the same thing by
each name.

>>> from gandyn.engine.methods import Extragradient, Lookahead
>>> from gandyn.engine.training import TrainingConfig
>>> cfg = TrainingConfig(method=Lookahead(inner=Extragradient(), k_la=3), penalty="r1", penalty_weight=1.0)
>>> m = cfg.method
>>> m.name, m.k_la, m.inner.name
('lookahead', 3, 'extragradient')
>>> TrainingConfig(method="cgd").method
CGD(eta=None, rtol=None, maxiter=100, strict=False, name='cgd')
>>> TrainingConfig(loss="hinge", penalty="r1")
Traceback (most recent call last):
...
ValueError: the r1 penalty is not used with the 'hinge' loss; ...
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields, replace
from typing import Any, Callable

import numpy as np

from gandyn.engine import optim
from gandyn.engine.instance_noise import InstanceNoise
from gandyn.engine.instance_noise import check as check_noise
from gandyn.engine.methods import AltGD, as_method, method_from_dict, method_to_dict
from gandyn.engine.penalties import Penalty, check_training, make_penalty
from gandyn.engine.spectral_norm import SpectralNorm
from gandyn.engine.trainer import Trainer

__all__ = ["TrainingConfig", "JsonConfig", "check_int", "check_networks", "check_protocol"]


def check_int(name: str, v, lo: int = 1) -> int:
    """``v`` as an ``int``, when it is an integer (not a bool) ``>= lo``.

    Raises
    ------
    ValueError
        Otherwise, naming ``name`` and the bound.
    """
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    return int(v)


def check_networks(training, g_batch_norm=False, hidden_g=(1,)) -> bool:
    """The checks every configuration of networks trained with ``training`` shares: ``training``
    is a :class:`TrainingConfig`, and a batch-norm G (``g_batch_norm``, True or False) has hidden
    layers to normalise, a batch of at least 2 and no moving average (``g_ema``).

    Returns
    -------
    bool
        ``g_batch_norm``.

    Raises
    ------
    ValueError
        One of them fails (the message names it).
    """
    if not isinstance(training, TrainingConfig):
        raise ValueError(f"training must be a TrainingConfig, got {training!r}")
    if not isinstance(g_batch_norm, (bool, np.bool_)):
        raise ValueError(f"g_batch_norm must be True or False, got {g_batch_norm!r}")
    if g_batch_norm and training.g_ema:
        raise ValueError("g_ema with a batch-norm G is not supported (the running statistics belong to the "
                         "iterates, not to their average)")
    if g_batch_norm and not hidden_g:
        raise ValueError("g_batch_norm normalises G's hidden layers, and hidden_g has none")
    if g_batch_norm and training.batch < 2:
        raise ValueError(f"batch norm in G needs a batch of at least 2, got {training.batch}")
    return bool(g_batch_norm)


def check_protocol(protocol: str, protocols) -> str:
    """A configuration's ``protocol`` field: ``""``, a name of ``protocols`` (an experiment's
    :class:`~gandyn.engine.registry.Registry`), or such a name followed by a space and the changes
    made to it (``"pacgan with k = 2"``).

    Raises
    ------
    ValueError
        An unknown protocol (the choices named).
    """
    if protocol and protocol.split(" ")[0] not in protocols:
        raise ValueError(f"unknown {protocols.kind} {protocol!r}; choose from {', '.join(protocols)}")
    return protocol


def _plain(v):
    if isinstance(v, type) and issubclass(v, np.generic):  # a dtype's type, e.g. np.float32: its name
        return np.dtype(v).name
    if hasattr(v, "to_dict"):
        return v.to_dict()
    if hasattr(v, "init") and hasattr(v, "step"):
        return method_to_dict(v)
    return [_plain(x) for x in v] if isinstance(v, tuple) else v


def _typed(v):
    if isinstance(v, list):
        return tuple(_typed(x) for x in v)
    return method_from_dict(v) if isinstance(v, dict) else v


class JsonConfig:
    """The JSON form of a configuration dataclass, written once for every configuration:
    :meth:`to_dict` and :meth:`from_dict`; and :meth:`replace`."""

    def to_dict(self) -> dict:
        """Every field as plain JSON-able values: a nested configuration by its ``to_dict``,
        a method by :func:`~gandyn.engine.methods.method_to_dict`, a dtype by its name, a tuple
        as a list (nested too); :meth:`from_dict` reads it back."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict):
        """The configuration of :meth:`to_dict`'s dict: the entry of a nested configuration
        (a field whose default is one, e.g. ``training``) by its class's ``from_dict``, any
        other dict as a method (:func:`~gandyn.engine.methods.method_from_dict`), lists as tuples.

        Raises
        ------
        ValueError
            A field the configuration does not have (named), or a value it or a method refuses.
        """
        bad = sorted(set(d) - {f.name for f in fields(cls)})
        if bad:
            raise ValueError(f"a {cls.__name__} has no field {', '.join(bad)}")
        nested = {f.name: type(f.default) for f in fields(cls) if isinstance(f.default, JsonConfig)}
        return cls(**{k: nested[k].from_dict(v) if k in nested else _typed(v) for k, v in d.items()})

    def replace(self, **changes):
        """A copy with ``changes`` (validated again): e.g. an experiment's defaults with
        another batch, ``gandyn.experiments.gan1d.TRAINING.replace(batch=16)``."""
        return replace(self, **changes)


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


@dataclass(frozen=True, kw_only=True)
class TrainingConfig(JsonConfig):
    """The training choices of a GAN, validated together (keyword-only fields).

    Parameters
    ----------
    loss : str
        The GAN loss, a name of :data:`gandyn.engine.losses.LOSSES` (``nonsat``: D's
        cross-entropy and G's non-saturating loss, Goodfellow et al. 2014, Section 3).
    method : method object or str
        The training method, an object of :mod:`gandyn.engine.methods` with its options as
        fields (``CGD(rtol=1e-6)``, ``Lookahead(inner=Extragradient(), k_la=5)``), or a name
        of :data:`gandyn.engine.methods.METHODS`, made into the object with its defaults
        once, here (:func:`~gandyn.engine.methods.as_method`); ``AltGD()`` is Algorithm 1.
    k : int
        D steps per G step (Algorithm 1's ``k``; methods that step both players at once
        ignore it).
    batch : int
        Minibatch size ``m`` of data and of noise.
    optimizer : str
        Each player's optimizer, a name of :data:`gandyn.engine.optim.OPTIMIZERS`.
    b1, b2, eps : float
        Adam's moment decays in ``[0, 1)`` and its epsilon (> 0); Kingma & Ba 2015's
        defaults 0.9, 0.999, 1e-8. Any registered optimizer with an option of one of
        these names gets the value.
    adam_tf : bool
        TensorFlow's epsilon-hat form of Adam (Kingma & Ba 2015, end of Section 2).
    mu : float
        Momentum coefficient in ``[0, 1)`` (``optimizer='momentum'``).
    penalty : str or None
        A gradient penalty on D (:data:`gandyn.engine.penalties.PENALTIES`: ``r1``,
        ``r2``, ``gp``) of weight ``penalty_weight``.
    penalty_weight : float
        The penalty's weight (``gamma`` of R1/R2, ``lambda`` of WGAN-GP), > 0.
    clip : float or None
        Weight clipping of D to ``[-clip, clip]`` after each step (WGAN, Arjovsky et al.
        2017).
    spectral_norm : bool
        Spectral normalisation of D's weights (Miyato et al. 2018).
    g_ema : float
        Decay in ``[0, 1)`` of an exponential moving average of G's parameters (0 = off;
        Yazici et al. 2019, :func:`~gandyn.engine.optim.averaged`).
    instance_noise : float
        Standard deviation (>= 0; 0 = off) of Gaussian instance noise added to every real
        and generated input of D at the first iteration (Sonderby et al. 2017; Mescheder et
        al. 2018, Sec. 3.3; :mod:`gandyn.engine.instance_noise`), annealed by
        ``noise_schedule`` (``constant``, ``linear`` or ``exponential``) to 0 after
        iteration ``noise_until`` (required by the annealed schedules).

    Raises
    ------
    ValueError
        A field out of its range, an unknown name (the message lists the choices), or a
        pairing the method or the literature does not support (the message names it).
    """

    loss: str = "nonsat"
    method: Any = AltGD()
    k: int = 1
    batch: int = 128
    optimizer: str = "adam"
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    adam_tf: bool = False
    mu: float = 0.9
    penalty: str | None = None
    penalty_weight: float = 10.0
    clip: float | None = None
    spectral_norm: bool = False
    g_ema: float = 0.0
    instance_noise: float = 0.0
    noise_schedule: str = "constant"
    noise_until: int | None = None

    def __post_init__(self):
        for name in ("k", "batch"):
            object.__setattr__(self, name, check_int(name, getattr(self, name)))
        optim.OPTIMIZERS.check(self.optimizer, "optimizer")
        for name in ("b1", "b2", "mu", "g_ema"):
            v = getattr(self, name)
            if not (_is_number(v) and 0 <= v < 1):
                raise ValueError(f"{name} must be in [0, 1), got {v!r}")
        for name in ("eps", "penalty_weight") + (("clip",) if self.clip is not None else ()):
            v = getattr(self, name)
            if not (_is_number(v) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
        for name in ("b1", "b2", "mu", "g_ema", "eps", "penalty_weight", "clip"):
            if getattr(self, name) is not None:  # plain floats: the same in JSON, hashes and arithmetic
                object.__setattr__(self, name, float(getattr(self, name)))
        for name in ("adam_tf", "spectral_norm"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
            object.__setattr__(self, name, bool(getattr(self, name)))
        check_noise(self.instance_noise, self.noise_schedule, self.noise_until)
        object.__setattr__(self, "instance_noise", float(self.instance_noise))
        if self.noise_until is not None:
            object.__setattr__(self, "noise_until", int(self.noise_until))
        object.__setattr__(self, "method", self.check_method(self.method))

    def check_method(self, method):
        """The method object of ``method`` (:func:`~gandyn.engine.methods.as_method`),
        validated with this config's loss, penalty, clipping and spectral normalisation
        (the method and, of lookahead, its inner method): a registered method, a penalty
        the method can take and the literature pairs with the loss, no spectral
        normalisation or instance noise for the methods that need exact Jacobian products,
        and none of the toy games' options of ``AltGD`` (a configuration's D steps are
        ``k``).

        Raises
        ------
        ValueError
            An unknown name or an unsupported pairing (the message names it).
        """
        method = as_method(method)
        inner = getattr(method, "inner", None)
        for m in (inner, method) if inner is not None else (method,):  # the inner method named first
            check_training(self.loss, m, self.penalty, self.penalty_weight, self.clip)
            if isinstance(m, AltGD) and (m.k_d, m.k_g, m.d_first) != (None, 1, True):
                raise ValueError("altgd's k_d, k_g and d_first are the toy games' options: a configuration's "
                                 "D steps per G step are k, G steps once, after D")
            if self.spectral_norm and getattr(m, "needs_products", False):
                raise ValueError(f"{m.name} needs exact Jacobian products: spectral normalisation of D is not supported")
            if self.instance_noise and getattr(m, "needs_products", False):
                raise ValueError(f"{m.name} needs exact Jacobian products: instance noise is not supported")
        return method

    def make_optimizer(self, lr) -> optim.Optimizer:
        """The optimizer with step size ``lr`` (a number, a ``(c, 1)`` array of per-model
        step sizes, or a schedule of :func:`~gandyn.engine.optim.piecewise`)."""
        return optim.make(self.optimizer, lr=lr, b1=self.b1, b2=self.b2, eps=self.eps, eps_hat=self.adam_tf,
                          mu=self.mu)

    def make_g_optimizer(self, lr, base: optim.Optimizer | None = None) -> optim.Optimizer:
        """G's optimizer: :meth:`make_optimizer` (or ``base``, an experiment's own form of it),
        averaged when ``g_ema`` is set."""
        opt = self.make_optimizer(lr) if base is None else base
        return optim.averaged(opt, self.g_ema) if self.g_ema else opt

    def make_d_optimizer(self, lr, base: optim.Optimizer | None = None) -> optim.Optimizer:
        """D's optimizer: :meth:`make_optimizer` (or ``base``), clipped when ``clip`` is set."""
        opt = self.make_optimizer(lr) if base is None else base
        return opt if self.clip is None else optim.clipped(opt, self.clip)

    def make_instance_noise(self) -> InstanceNoise | None:
        """The instance noise's schedule (:class:`~gandyn.engine.instance_noise.InstanceNoise`),
        or None when ``instance_noise`` is 0."""
        if not self.instance_noise:
            return None
        return InstanceNoise(self.instance_noise, self.noise_schedule, self.noise_until)

    def make_penalty(self) -> Penalty | None:
        """The gradient penalty object, or None."""
        return None if self.penalty is None else make_penalty(self.penalty, self.penalty_weight)

    def trainer(self, gan, opt_g: optim.Optimizer, opt_d: optim.Optimizer, theta_g: np.ndarray,
                theta_d: np.ndarray, batches, rng: Callable[[str], Any], **options):
        """The engine's :class:`~gandyn.engine.trainer.Trainer` these choices describe: its
        ``batch``, ``k`` and ``method``, the penalty (:meth:`make_penalty`), D's spectral
        normalisation and the instance noise (:meth:`make_instance_noise`).

        Parameters
        ----------
        gan, opt_g, opt_d, theta_g, theta_d, batches
            As the :class:`~gandyn.engine.trainer.Trainer` takes them (the optimizers e.g. from
            :meth:`make_g_optimizer` and :meth:`make_d_optimizer`).
        rng : callable
            ``rng(name)``, the random stream named ``penalty``, ``spectral_norm`` or
            ``instance_noise``; asked only for the features in use.
        **options
            Further keywords of the trainer (e.g. ``rng_dropout``), or ``k`` and ``method``
            in place of this config's (a population's unit).

        Returns
        -------
        Trainer
        """
        penalty, noise = self.make_penalty(), self.make_instance_noise()
        sn = SpectralNorm(gan.D, theta_d, rng("spectral_norm")) if self.spectral_norm else None
        options = {"k": self.k, "method": self.method} | options
        return Trainer(gan, opt_g, opt_d, theta_g, theta_d, batches, batch=self.batch, penalty=penalty,
                       rng_penalty=rng("penalty") if penalty else None, spectral_norm=sn, instance_noise=noise,
                       rng_noise=rng("instance_noise") if noise else None, **options)
