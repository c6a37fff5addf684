"""First-order optimizers as ``(init, update)`` pairs on flat parameter vectors.

``state = opt.init(theta)`` makes the state; ``state = opt.update(theta, grad, state)``
takes one *descent* step on ``theta`` in place and returns the new state. The
whole player's vector is updated in a handful of vectorised operations.

The sign of a step lives in one place, :func:`_descend`; every optimizer
produces a step ``s`` and ``theta <- theta - s``. To ascend a function, descend
its negative (each player minimises its own loss). A state's array ``step`` holds the
last step ``s`` (its buffer) and ``t`` counts the updates; a training *iteration*
(``Trainer.step``, a method's ``step``) makes one or more updates of each player.

States are small records. Their arrays are updated in place for speed, so an
old state must not be reused after ``update`` (copy it first, as checkpoints do).
A step size ``lr`` may be a number, an array broadcastable against ``theta`` (e.g.
shape ``(P, 1)``: each model of a population its own rate), or a *schedule*: a
callable ``lr(t)`` of the optimizer's step count ``t = 1, 2, ...`` returning either
(optax's convention; :func:`piecewise` is the one gandyn's configs use).

Wrappers compose around an optimizer instead of being called by hand:
:func:`averaged` keeps an exponential moving average of the iterates, :func:`clipped`
projects them onto a box. A training method may call ``update`` several times per
iteration (extragradient) or move the parameters after it (optimistic steps,
lookahead's synchronisation), so what belongs to the *iterates* lives in
``state = opt.finish(theta, state)``, which the trainer calls once at the end of every
iteration (:func:`finish`): the average takes the iterate there, and the projection is
applied there again (it is idempotent), so every method's iterates stay in the box.

Every optimizer is registered in :data:`OPTIMIZERS`; :func:`make` builds one by name.
"""
from __future__ import annotations

from math import sqrt
from typing import Any, Callable, NamedTuple

import numpy as np

from gandyn.engine.registry import Registry
__all__ = ["Optimizer", "sgd", "momentum", "adam", "averaged", "clipped", "piecewise", "exponential_decay", "linear_ramp", "make", "takes", "OPTIMIZERS", "ema_update",
           "flush_subnormal", "finish", "project", "step_size"]


class Optimizer(NamedTuple):
    """A first-order optimizer as a pair of functions on flat vectors.

    ``init(theta) -> state`` makes the state for parameters ``theta`` (shape ``(n,)``
    or ``(P, n)``): a small record of arrays shaped like ``theta`` and counters.
    ``update(theta, grad, state) -> state`` takes one descent step on ``theta`` *in
    place* along ``grad`` (same shape) and returns the new state; the old state's
    arrays are reused, so it must not be used again. ``name`` is the
    :data:`OPTIMIZERS` name it was made from and ``hparams`` its hyperparameters as
    passed (``make(name, **hparams)`` rebuilds it). ``finish(theta, state) -> state``
    (None: nothing) ends an iteration of training, after the method's last move of
    ``theta`` (:func:`finish`); ``project(theta)`` (None: no constraint) projects
    ``theta`` in place onto the parameters' feasible set (:func:`project`).
    """

    init: Callable[[np.ndarray], Any]
    update: Callable[[np.ndarray, np.ndarray, Any], Any]
    name: str = ""
    hparams: dict | None = None
    finish: Callable[[np.ndarray, Any], Any] | None = None
    project: Callable[[np.ndarray], None] | None = None


def finish(opt: Optimizer, theta: np.ndarray, state):
    """End an iteration of training: ``opt.finish(theta, state)`` when ``opt`` has one,
    else ``state``. The trainer calls it once per iteration for each player, after the
    training method has moved ``theta`` for the last time."""
    return state if opt.finish is None else opt.finish(theta, state)


def project(opt: Optimizer, theta: np.ndarray) -> None:
    """Project ``theta`` in place onto ``opt``'s feasible set (``opt.project``; nothing
    when the optimizer has no constraint). Methods that keep extra copies of the
    parameters (lookahead's slow weights) project them with it."""
    if opt.project is not None:
        opt.project(theta)


def step_size(lr, t: int):
    """The step size at step ``t`` (1-based): ``lr(t)`` for a schedule (a callable), else ``lr``
    (a number or per-model ``(P, 1)`` step sizes), for optimizers written outside gandyn.

    Raises
    ------
    ValueError
        A schedule that gives a step size that is not positive and finite.
    """
    if callable(lr):
        value = lr(t)
        if not np.all(np.isfinite(value)) or np.any(np.asarray(value) <= 0):
            raise ValueError(f"the step-size schedule gave {value!r} at step {t}; need positive, finite")
        return value
    return lr


def _momentum(mu, t: int):
    """The momentum at step ``t``: ``mu(t)`` for a schedule (checked in ``[0, 1)``), else ``mu``."""
    if not callable(mu):
        return mu
    value = mu(t)
    if not 0 <= value < 1:
        raise ValueError(f"the momentum schedule gave {value!r} at step {t}; need [0, 1)")
    return value


def exponential_decay(lr: float, factor: float, floor: float = 0.0) -> Callable[[int], float]:
    """``lr(t) = max(lr / factor^(t - 1), floor)`` at step ``t = 1, 2, ...`` (pylearn2's
    ``ExponentialDecay`` update callback, called after each update, with its ``min_lr``, as
    Goodfellow et al. 2014's MNIST run uses it: ``factor = 1.000004``, ``floor = 1e-6``).

    Raises
    ------
    ValueError
        ``lr`` not positive, ``factor < 1`` or ``floor < 0``.
    """
    if not (np.isfinite(lr) and lr > 0) or not (np.isfinite(factor) and factor >= 1) or not 0 <= floor < np.inf:
        raise ValueError(f"exponential_decay needs lr > 0, factor >= 1 and floor >= 0, got {lr}, {factor}, {floor}")
    return lambda t: max(lr / factor ** (t - 1), floor)


def linear_ramp(start_value: float, final_value: float, start: int, saturate: int,
                every: int = 1) -> Callable[[int], float]:
    """A value that moves linearly from ``start_value`` to ``final_value`` in whole periods of
    ``every`` steps: at step ``t`` with ``c = (t - 1) // every + 1`` periods begun,
    ``alpha = clip((c - start) / (saturate - start), 0, 1)`` and the value is
    ``(1 - alpha) start_value + alpha final_value``. With ``every`` the iterations of an epoch this
    is pylearn2's ``MomentumAdjustor(start, saturate, final_momentum)`` (its count is 1 during
    the first epoch), as Goodfellow et al. 2014's MNIST run uses it (0.5 to 0.7, epochs 1 to 250).

    Raises
    ------
    ValueError
        ``saturate <= start`` or ``every < 1``.
    """
    if not saturate > start or int(every) != every or every < 1:
        raise ValueError(f"linear_ramp needs saturate > start and every >= 1, got {start}, {saturate}, {every}")
    width = float(saturate - start)

    def value(t: int) -> float:
        alpha = min(max(((t - 1) // every + 1 - start) / width, 0.0), 1.0)
        return (1 - alpha) * start_value + alpha * final_value

    return value


def piecewise(pieces) -> Callable[[int], float]:
    """A piecewise-constant schedule from ``[(t_0, lr_0), (t_1, lr_1), ...]``: ``lr_i``
    for steps ``t > t_i`` up to ``t_{i+1}``, with ``t_0 = 0`` (a step-size decay
    between sessions of a resumed run is one more piece).

    >>> lr = piecewise([(0, 1e-3), (100, 5e-4)])
    >>> lr(1), lr(100), lr(101)
    (0.001, 0.001, 0.0005)
    """
    pieces = [(int(t), float(v)) for t, v in pieces]
    if not pieces or pieces[0][0] != 0 or any(b[0] <= a[0] for a, b in zip(pieces, pieces[1:])):
        raise ValueError(f"pieces must start at step 0 with increasing steps, got {pieces!r}")
    for _, v in pieces:
        _positive("lr", v)
    starts = np.array([t for t, _ in pieces])
    values = [v for _, v in pieces]

    def lr(t):
        return values[int(np.searchsorted(starts, t, side="left")) - 1]

    lr.pieces = pieces
    return lr


def _descend(theta: np.ndarray, step: np.ndarray) -> None:
    """The one place a step's sign is applied: ``theta <- theta - step``."""
    np.subtract(theta, step, out=theta)


def _positive(name, value):
    if callable(value) and name == "lr":
        return  # a schedule: checked at each step (step_size)
    if np.any(np.asarray(value) <= 0) or not np.all(np.isfinite(value)):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")


def _unit(name, value):
    if callable(value) and name == "mu":
        return  # a schedule of the momentum: checked at each step
    v = np.asarray(value)
    if np.any(v < 0) or np.any(v >= 1):
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")


class SGDState(NamedTuple):
    step: np.ndarray  # the last step s = lr * grad (its buffer)
    t: int = 0


def sgd(lr: float = 1e-2) -> Optimizer:
    """Plain gradient descent, ``theta <- theta - lr * g`` (Robbins & Monro 1951)."""
    _positive("lr", lr)

    def init(theta):
        return SGDState(np.zeros_like(theta))

    def update(theta, grad, state):
        t = state.t + 1
        np.multiply(grad, step_size(lr, t), out=state.step)
        _descend(theta, state.step)
        return SGDState(state.step, t)

    return Optimizer(init, update, "sgd", {"lr": lr})


class MomentumState(NamedTuple):
    velocity: np.ndarray
    step: np.ndarray
    t: int = 0


def momentum(lr: float = 1e-2, mu: float = 0.9, nesterov: bool = False) -> Optimizer:
    """Gradient descent with momentum (Polyak 1964; Goodfellow et al. 2014 trained
    with momentum, Section 5).

    ``v <- mu v + g``; ``theta <- theta - lr v``, or with ``nesterov``
    ``theta <- theta - lr (g + mu v)`` (Sutskever et al. 2013, eq. 3-4, in the
    form of Bengio et al. 2013, eq. 7). For constant ``lr`` this equals
    Sutskever et al.'s ``v <- mu v - lr g; theta <- theta + v``. ``mu`` may be a
    schedule ``mu(t)`` of the step count, like ``lr`` (e.g. :func:`linear_ramp`).
    """
    _positive("lr", lr)
    _unit("mu", mu)

    def init(theta):
        return MomentumState(np.zeros_like(theta), np.zeros_like(theta))

    def update(theta, grad, state):
        v, s, t = state.velocity, state.step, state.t + 1
        rate = step_size(lr, t)
        m = _momentum(mu, t)
        v *= m
        v += grad
        if nesterov:
            np.multiply(v, m, out=s)
            s += grad
            s *= rate
        else:
            np.multiply(v, rate, out=s)
        _descend(theta, s)
        return MomentumState(v, s, t)

    return Optimizer(init, update, "momentum", {"lr": lr, "mu": mu, "nesterov": nesterov})


_EXPONENT = {np.dtype(np.float32): (np.int32, 0x7F800000), np.dtype(np.float64): (np.int64, 0x7FF0000000000000)}


def flush_subnormal(a: np.ndarray, scratch: np.ndarray) -> None:
    """Set the subnormal entries of ``a`` (float32 or float64) to zero, in place.

    An entry is zero or subnormal exactly when its exponent bits are all zero
    (IEEE 754-2008, Sec. 3.4). The test runs on the integer view of the bits, so it
    never touches the floating-point unit: x86 CPUs take a ~100x slower
    microcode path for every arithmetic operation, comparison or masked copy with
    a subnormal operand unless flush-to-zero is set (TensorFlow sets it; NumPy
    cannot). ``scratch`` is any buffer of ``a``'s size and itemsize, overwritten.
    Three integer passes: ``e = bits & exponent_mask``, ``e = min(e, 1)``,
    ``bits *= e``. Arrays of other dtypes (float16, non-native byte order) are left
    as they are.
    """
    kind = _EXPONENT.get(a.dtype)
    if kind is None:
        return
    itype, mask = kind
    bits, e = a.view(itype), scratch.view(itype)
    np.bitwise_and(bits, mask, out=e)
    np.minimum(e, 1, out=e)
    np.multiply(bits, e, out=bits)


#: Adam flushes subnormal moments every this many steps (see :func:`adam`).
FLUSH_EVERY = 8


class AdamState(NamedTuple):
    t: int
    m: np.ndarray
    v: np.ndarray
    step: np.ndarray


class AdamSumState(NamedTuple):
    """State of Adam's epsilon-hat form: ``m_sum = m/(1-b1)``, ``v_sum = v/(1-b2)``."""
    t: int
    m_sum: np.ndarray
    v_sum: np.ndarray
    step: np.ndarray


def adam(lr: float = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
         eps_hat: bool = False, flush_every: int = FLUSH_EVERY) -> Optimizer:
    """Adam (Kingma & Ba 2015, Algorithm 1). Defaults are the paper's and
    TensorFlow's ``AdamOptimizer`` defaults, which the talk's code ran with.

    ``m <- b1 m + (1-b1) g``, ``v <- b2 v + (1-b2) g^2``, and

    - ``eps_hat=False`` (Algorithm 1): ``theta <- theta - lr mhat / (sqrt(vhat) + eps)``
      with ``mhat = m/(1-b1^t)``, ``vhat = v/(1-b2^t)`` (as autograd's ``adam``);
    - ``eps_hat=True`` (Section 2, last paragraph, TensorFlow's form):
      ``theta <- theta - lr_t m / (sqrt(v) + eps)``, ``lr_t = lr sqrt(1-b2^t)/(1-b1^t)``.
      Its state (:class:`AdamSumState`) keeps the exponentially weighted *sums*
      ``M = m/(1-b1) = sum_i b1^(t-i) g_i`` and ``V = v/(1-b2)``, updated as
      ``M <- b1 M + g`` and ``V <- b2 V + g^2``; the step is then
      ``lr_t (1-b1)/sqrt(1-b2) * M / (sqrt(V) + eps/sqrt(1-b2))``, the same
      quantity in ten passes over the vectors instead of twelve.

    Every ``flush_every`` (default :data:`FLUSH_EVERY`; 0 = never) steps subnormal
    entries of ``m`` and ``v`` are set to zero (:func:`flush_subnormal`). A coordinate whose gradient stays 0 (a dead
    unit; a pixel that is 0 in every image) has ``m`` decaying by ``b1`` per step
    into the subnormal range and staying there ~150 steps (``v``: thousands), and
    every operation on a subnormal is ~100x slower on x86 without flush-to-zero.
    Measured on the talk's MNIST discriminator after 2,500 iterations: 9,600 such
    entries made D's update 3.5x slower than G's. The flush changes a step by
    less than ``lr * tiny / eps`` (below 1e-29 in float32); flushing every step
    would cost six integer passes per update, every eighth step costs under one.
    """
    _positive("lr", lr)
    _unit("b1", b1)
    _unit("b2", b2)
    _positive("eps", eps)
    if int(flush_every) != flush_every or flush_every < 0:
        raise ValueError(f"flush_every must be an integer >= 0, got {flush_every!r}")

    def init(theta):
        z = np.zeros_like(theta)
        return (AdamSumState if eps_hat else AdamState)(0, z, z.copy(), z.copy())

    def update_sums(theta, grad, state):
        t = state.t + 1
        M, V, s = state.m_sum, state.v_sum, state.step
        M *= b1
        M += grad
        V *= b2
        np.multiply(grad, grad, out=s)
        V += s
        if flush_every and t % flush_every == 0:
            flush_subnormal(M, s)
            flush_subnormal(V, s)
        r2 = sqrt(1 - b2)
        np.sqrt(V, out=s)
        s += eps / r2
        np.divide(M, s, out=s)
        s *= step_size(lr, t) * (sqrt(1 - b2 ** t) / (1 - b1 ** t) * (1 - b1) / r2)
        _descend(theta, s)
        return AdamSumState(t, M, V, s)

    def update(theta, grad, state):
        t = state.t + 1
        m, v, s = state.m, state.v, state.step
        m *= b1
        np.multiply(grad, 1 - b1, out=s)
        m += s
        v *= b2
        np.multiply(grad, grad, out=s)
        s *= 1 - b2
        v += s
        if flush_every and t % flush_every == 0:
            flush_subnormal(m, s)
            flush_subnormal(v, s)
        c1 = 1 - b1 ** t
        c2 = 1 - b2 ** t
        np.sqrt(v, out=s)
        s *= 1 / sqrt(c2)
        s += eps
        np.divide(m, s, out=s)
        s *= step_size(lr, t) / c1
        _descend(theta, s)
        return AdamState(t, m, v, s)

    return Optimizer(init, update_sums if eps_hat else update, "adam",
                     {"lr": lr, "b1": b1, "b2": b2, "eps": eps, "eps_hat": eps_hat, "flush_every": flush_every})


def ema_update(avg: np.ndarray, theta: np.ndarray, decay: float, scratch: np.ndarray | None = None) -> None:
    """Exponential moving average of the iterates, in place:
    ``avg <- decay avg + (1 - decay) theta``, written ``avg += (1-decay)(theta - avg)``
    (Yazici et al. 2019, "The Unusual Effectiveness of Averaging in GAN
    Training", ICLR, Section 3, EMA; an extension of Polyak & Juditsky 1992's
    averaging). The averaged generator is the one sampled; training goes on
    with ``theta``. ``scratch`` (like ``avg``) saves a temporary array."""
    _unit("decay", decay)
    d = np.subtract(theta, avg, out=scratch)
    d *= 1 - decay
    avg += d


class AveragedState(NamedTuple):
    inner: Any
    average: np.ndarray
    scratch: np.ndarray


def averaged(opt: Optimizer, decay: float) -> Optimizer:
    """``opt`` that also keeps an exponential moving average of the iterates
    (:func:`ema_update` at the end of each iteration, :func:`finish`; Yazici et al. 2019).
    The average starts at the initial parameters and lives in the state:
    ``state.average``; the inner optimizer's state is ``state.inner``. The average takes
    the iterate a training method ends an iteration with, not the points it passes
    through (extragradient's extrapolation, an optimistic step before its correction).

    >>> opt = averaged(sgd(0.5), 0.9)
    >>> theta = np.array([1.0]); state = opt.init(theta)
    >>> state = finish(opt, theta, opt.update(theta, np.array([1.0]), state))
    >>> theta, state.average
    (array([0.5]), array([0.95]))
    """
    _unit("decay", decay)

    def init(theta):
        return AveragedState(opt.init(theta), theta.copy(), np.empty_like(theta))

    def update(theta, grad, state):
        return AveragedState(opt.update(theta, grad, state.inner), state.average, state.scratch)

    def end(theta, state):
        inner = finish(opt, theta, state.inner)
        ema_update(state.average, theta, decay, state.scratch)
        return AveragedState(inner, state.average, state.scratch)

    return Optimizer(init, update, "averaged", {"opt": opt, "decay": decay}, end, opt.project)


def clipped(opt: Optimizer, c: float) -> Optimizer:
    """``opt`` followed by the projection ``theta <- clip(theta, -c, c)``: weight clipping,
    the WGAN critic's Lipschitz constraint (Arjovsky, Chintala & Bottou 2017, Algorithm 1,
    line 7, ``c = 0.01``). The state is the inner optimizer's. The projection is also
    ``project`` and is applied again at the end of every iteration (:func:`finish`), so
    the iterates of every training method stay in the box: a method that moves the
    parameters after ``update`` (optimistic steps, lookahead's synchronisation) is the
    projected method, ``theta <- clip(theta')`` with ``theta'`` its unconstrained move.

    >>> opt = clipped(sgd(1.0), 0.5)
    >>> theta = np.array([0.0, 0.2]); state = opt.update(theta, np.array([-2.0, 0.1]), opt.init(theta))
    >>> theta
    array([0.5, 0.1])
    """
    _positive("c", c)

    def box(theta):
        np.clip(theta, -c, c, out=theta)

    def update(theta, grad, state):
        state = opt.update(theta, grad, state)
        box(theta)
        return state

    def end(theta, state):
        state = finish(opt, theta, state)
        box(theta)
        return state

    return Optimizer(opt.init, update, "clipped", {"opt": opt, "c": c}, end, box)


#: The optimizers by name (the CLI's ``--optimizer`` choices).
OPTIMIZERS: Registry[Callable[..., Optimizer]] = Registry("optimizer")
OPTIMIZERS.register("adam", adam)
OPTIMIZERS.register("momentum", momentum)
OPTIMIZERS.register("sgd", sgd)


def takes(name: str) -> frozenset[str]:
    """The options the registered optimizer ``name`` takes (its factory's parameters, ``lr``
    among them).

    Raises
    ------
    ValueError
        An unknown name (the message lists :data:`OPTIMIZERS`).
    """
    import inspect

    return frozenset(inspect.signature(OPTIMIZERS[name]).parameters)


def make(name: str, *, lr=None, **options) -> Optimizer:
    """An optimizer by name: ``make("adam", lr=2e-4, b1=0.5)``.

    ``options`` the optimizer does not take are ignored, so a config can pass all of
    its optimizer options (``b1``, ``mu``, ...) whatever the optimizer it names.

    Raises
    ------
    ValueError
        An unknown name (the message lists :data:`OPTIMIZERS`) or a bad hyperparameter.
    """
    factory = OPTIMIZERS[name]
    kwargs = {k: v for k, v in options.items() if k in takes(name)}
    if lr is not None:
        kwargs["lr"] = lr
    return factory(**kwargs)
