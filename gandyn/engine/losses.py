"""GAN losses as objects: three elementwise functions of D's output, each with its
first and second derivative.

A GAN loss is given by three elementwise functions of the discriminator's output
``o`` (a logit, a critic value, or the pre-activation ``v`` of an f-GAN):

- ``d_real(o)``: D's loss on the output of a real sample,
- ``d_fake(o)``: D's loss on the output of a generated sample,
- ``g_fake(o)``: G's loss on the output of a generated sample.

Then, with minibatch means over the *last* axis (population axes in front),

    L_D = mean_i d_real(o_real_i) + mean_k d_fake(o_fake_k),
    L_G = mean_k g_fake(o_fake_k),

each *minimised* by its player, and the gradients w.r.t. the outputs include the
``1/m``. :class:`Loss` evaluates both (:meth:`Loss.d_loss`, :meth:`Loss.g_loss`) and
their diagonal Hessians (:meth:`Loss.d_hess`, :meth:`Loss.g_hess`); the registry
:data:`LOSSES` maps a name to a factory, and :func:`get` is the one way to make a
loss::

    get("nonsat")                  # Goodfellow et al. 2014, non-saturating G
    get("nonsat", smooth=0.1)      # with one-sided label smoothing of D's real term
    get("ls", a=-1, b=1, c=0)      # Mao et al. 2017, eq. 9
    get(loss_object)               # returned as is

Registered: ``nonsat``, ``minimax`` (Goodfellow et al. 2014), ``ls`` (Mao et al.
2017), ``hinge`` (Lim & Ye 2017; Miyato et al. 2018), ``wgan`` (Arjovsky et al.
2017) and the f-GANs of Nowozin, Cseke & Tomioka 2016, Table 2: ``kl``,
``reverse-kl``, ``pearson``, ``hellinger``, ``js``. A user-defined loss is
:func:`custom`: the user writes the value functions only (with
:mod:`autograd.numpy`), gandyn differentiates them.

Logit-space numerics: ``softplus(o) = -log sigma(-o)`` through
:func:`scipy.special.log_expit`, finite and accurate for every finite logit; the
f-GAN compositions ``f*(g_f(v))`` are simplified in closed form (e.g. the JS GAN's
``-log(2 - exp(g_f(v))) = softplus(v) - log 2``), so no ``log`` of a difference is
formed. Losses whose value grows exponentially in ``o`` (``kl``, ``hellinger`` and
one side of ``reverse-kl``) overflow where the mathematical value exceeds the
float range (``|o| > ~709`` in float64); every loss but the two fast paths below
checks its values and gradients and raises :class:`NonFiniteLossError`.

The functions :func:`d_loss`, :func:`g_loss_minimax` and :func:`g_loss_nonsat` are
the fast paths of ``minimax`` and ``nonsat`` (the arithmetic the engine has always
used; the trainer's results are bit-for-bit those of before the loss objects).

With ``D(x) = sigma(l(x))`` the value function of Goodfellow et al. 2014, eq. 1 is

    V(D, G) = E_data[log D(x)] + E_z[log(1 - D(G(z)))]
            = E_data[log sigma(l_real)] + E_z[log sigma(-l_fake)],

since ``1 - sigma(l) = sigma(-l)``.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from math import log
from typing import Callable

import numpy as np
from scipy.special import expit, log_expit

from gandyn.engine.registry import Registry

__all__ = [
    "softplus", "log_sigmoid", "sigmoid", "value", "d_loss",
    "g_loss_minimax", "g_loss_nonsat", "g_loss", "G_LOSSES",
    "Elementwise", "Loss", "FGan", "LOSSES", "get", "custom", "NonFiniteLossError",
]

LOG2 = log(2.0)


def sigmoid(l):
    """``1 / (1 + exp(-l))``, exact in floating point for any logit."""
    return expit(l)


def log_sigmoid(l):
    """``log sigma(l) = -softplus(-l)``, finite for any finite ``l``."""
    return log_expit(l)


def softplus(l):
    """``log(1 + exp(l)) = -log sigma(-l)``."""
    return -log_expit(-np.asarray(l))


def _m(l) -> int:
    return np.shape(l)[-1]


# --- the fast paths of 'minimax' and 'nonsat' (unchanged arithmetic)


def value(logit_real, logit_fake):
    """Minibatch estimate of V(D, G), Goodfellow et al. 2014, eq. 1.

    ``mean log sigma(l_real) + mean log sigma(-l_fake)``; shape ``(...)``.
    """
    return log_expit(logit_real).mean(axis=-1) + log_expit(-np.asarray(logit_fake)).mean(axis=-1)


def d_loss(logit_real, logit_fake, smooth: float = 0.0):
    """The discriminator's loss ``-V(D, G)`` (it ascends V, Goodfellow et al. 2014,
    Algorithm 1), i.e. sigmoid cross-entropy with labels 1 for data, 0 for samples.

    ``smooth = a > 0`` is one-sided label smoothing (Salimans et al. 2016, Section
    3.4): the data's target is ``1 - a`` instead of 1, samples keep target 0. Its
    optimal discriminator is ``(1-a) p_data / (p_data + p_g)``.

    Returns
    -------
    loss : array (...)
        ``mean[(1-a) softplus(-l_real) + a softplus(l_real)] + mean softplus(l_fake)``.
    g_real, g_fake : arrays like the logits
        ``(a - sigma(-l_real))/m`` and ``sigma(l_fake)/m``.
    """
    if not 0 <= smooth < 1:
        raise ValueError(f"label smoothing must be in [0, 1), got {smooth}")
    lr = np.asarray(logit_real)
    lf = np.asarray(logit_fake)
    if smooth:
        real = (1 - smooth) * log_expit(lr) + smooth * log_expit(-lr)
    else:
        real = log_expit(lr)
    loss = -(real.mean(axis=-1) + log_expit(-lf).mean(axis=-1))
    g_real = expit(-lr)
    if smooth:
        g_real -= smooth
    g_real *= -1.0 / _m(lr)
    g_fake = expit(lf)
    g_fake *= 1.0 / _m(lf)
    return loss, g_real, g_fake


def g_loss_minimax(logit_fake):
    """The generator's minimax loss ``mean log(1 - D(G(z)))`` (eq. 1; Algorithm 1
    descends it). Saturates (gradient -> 0) when D rejects samples confidently.

    Returns ``(mean log sigma(-l), -sigma(l)/m)``.
    """
    lf = np.asarray(logit_fake)
    loss = log_expit(-lf).mean(axis=-1)
    g = expit(lf)
    g *= -1.0 / _m(lf)
    return loss, g


def g_loss_nonsat(logit_fake):
    """The non-saturating generator loss ``-mean log D(G(z))`` (Goodfellow et al.
    2014, Section 3, the paragraph after eq. 1).

    Returns ``(mean softplus(-l), -sigma(-l)/m)``.
    """
    lf = np.asarray(logit_fake)
    loss = -log_expit(lf).mean(axis=-1)
    g = expit(-lf)
    g *= -1.0 / _m(lf)
    return loss, g


#: The generator losses of the cross-entropy GAN, by name (kept for old callers;
#: :data:`LOSSES` holds every loss).
G_LOSSES = {"minimax": g_loss_minimax, "nonsat": g_loss_nonsat}


def g_loss(kind: str):
    """The generator loss function named ``kind`` ('minimax' or 'nonsat')."""
    try:
        return G_LOSSES[kind]
    except KeyError:
        raise ValueError(f"unknown generator loss {kind!r}; choose from {', '.join(G_LOSSES)}") from None


# --- elementwise functions


class NonFiniteLossError(FloatingPointError):
    """A loss returned a non-finite value or gradient.

    Attributes ``loss`` (its name), ``term`` ('d_loss' or 'g_loss'), ``iteration``
    (None until a trainer sets it through :meth:`at_iteration`).
    """

    def __init__(self, loss: str, term: str, detail: str, iteration: int | None = None):
        self.loss, self.term, self.detail, self.iteration = loss, term, detail, iteration
        where = "" if iteration is None else f"iteration {iteration}: "
        super().__init__(f"{where}loss {loss!r}: {term} is not finite ({detail})")

    def at_iteration(self, iteration: int) -> "NonFiniteLossError":
        """The same error, naming the training iteration (for a trainer to re-raise)."""
        return NonFiniteLossError(self.loss, self.term, self.detail, int(iteration))


@dataclass(frozen=True)
class Elementwise:
    """An elementwise function ``phi(o)`` with ``phi'`` and ``phi''``.

    Parameters
    ----------
    f, df, d2f : callable, array -> array of the same shape
        ``phi``, ``phi'``, ``phi''`` in plain NumPy (the training hot path).
    traced : callable
        ``phi`` written with :mod:`autograd.numpy`, for the autograd games of
        :mod:`gandyn.games` and for the tests (autograd's derivatives of it are
        compared with ``df`` and ``d2f``).
    formula : str
        ``phi`` in words, for docs and reprs.
    """

    f: Callable
    df: Callable
    d2f: Callable
    traced: Callable
    formula: str = ""

    def __call__(self, o):
        return self.f(o)

    @classmethod
    def from_function(cls, fun: Callable, formula: str = "") -> "Elementwise":
        """``phi`` written with :mod:`autograd.numpy`; ``phi'`` and ``phi''`` by
        autograd's :func:`~autograd.elementwise_grad` (forward values on plain
        arrays, O(m) work per call)."""
        from autograd import elementwise_grad

        g1 = elementwise_grad(fun)
        g2 = elementwise_grad(g1)

        def quiet(g):
            def h(o):
                with warnings.catch_warnings():  # autograd warns when a derivative is constant
                    warnings.simplefilter("ignore", UserWarning)
                    return np.broadcast_to(g(o), np.shape(o))
            return h

        return cls(fun, quiet(g1), quiet(g2), fun, formula or getattr(fun, "__name__", "user function"))

    def scaled(self, s: float) -> "Elementwise":
        """``s * phi``."""
        return Elementwise(lambda o: s * self.f(o), lambda o: s * self.df(o), lambda o: s * self.d2f(o),
                           lambda o: s * self.traced(o), f"{s:g} * ({self.formula})")


def _anp():
    import autograd.numpy as anp

    return anp


def _sig_prime(o):
    """``sigma(o) sigma(-o)`` (the derivative of the sigmoid), finite for any ``o``."""
    return expit(o) * expit(-o)


def _softplus_el(sign: float, scale: float = 1.0) -> Elementwise:
    """``scale * softplus(sign * o)``; ``sign = +-1``."""
    def f(o):
        return -scale * log_expit(-sign * np.asarray(o))

    def df(o):
        return scale * sign * expit(sign * np.asarray(o))

    def d2f(o):
        return scale * _sig_prime(np.asarray(o))

    def traced(o):
        return scale * _anp().logaddexp(0.0, sign * o)

    name = "softplus(o)" if sign > 0 else "softplus(-o)"
    return Elementwise(f, df, d2f, traced, name if scale == 1 else f"{scale:g} * {name}")


def _smoothed_real(a: float) -> Elementwise:
    """``(1 - a) softplus(-o) + a softplus(o)``: cross-entropy against target ``1 - a``."""
    def f(o):
        o = np.asarray(o)
        return -((1 - a) * log_expit(o) + a * log_expit(-o))

    def df(o):
        return a - expit(-np.asarray(o))

    def traced(o):
        anp = _anp()
        return (1 - a) * anp.logaddexp(0.0, -o) + a * anp.logaddexp(0.0, o)

    return Elementwise(f, df, lambda o: _sig_prime(np.asarray(o)), traced,
                       f"(1 - {a:g}) softplus(-o) + {a:g} softplus(o)")


def _poly2(c2: float, c1: float, c0: float) -> Elementwise:
    """``c2 o^2 + c1 o + c0``."""
    def f(o):
        o = np.asarray(o)
        return (c2 * o + c1) * o + c0

    def df(o):
        return 2 * c2 * np.asarray(o) + c1

    def d2f(o):
        o = np.asarray(o)
        return np.full_like(o, 2 * c2, dtype=np.result_type(o, float))

    return Elementwise(f, df, d2f, lambda o: (c2 * o + c1) * o + c0, f"{c2:g} o^2 + {c1:g} o + {c0:g}")


def _exp_el(sign: float, shift: float, scale: float = 1.0, const: float = 0.0) -> Elementwise:
    """``scale * exp(sign * o + shift) + const``."""
    def f(o):
        return scale * np.exp(sign * np.asarray(o) + shift) + const

    def df(o):
        return scale * sign * np.exp(sign * np.asarray(o) + shift)

    def d2f(o):
        return scale * np.exp(sign * np.asarray(o) + shift)

    return Elementwise(f, df, d2f, lambda o: scale * _anp().exp(sign * o + shift) + const,
                       f"{scale:g} exp({sign:+g} o {shift:+g}) {const:+g}")


def _relu_el(sign: float) -> Elementwise:
    """``max(0, 1 + sign * o)`` (the hinge; derivative at the kink taken as 0)."""
    def f(o):
        return np.maximum(0.0, 1.0 + sign * np.asarray(o))

    def df(o):
        o = np.asarray(o)
        return np.where(1.0 + sign * o > 0, sign, 0.0).astype(np.result_type(o, float), copy=False)

    def d2f(o):
        return np.zeros_like(np.asarray(o), dtype=np.result_type(o, float))

    return Elementwise(f, df, d2f, lambda o: _anp().maximum(0.0, 1.0 + sign * o),
                       f"max(0, 1 {'+' if sign > 0 else '-'} o)")


# --- the loss object


@dataclass(frozen=True)
class FGan:
    """The f-divergence of an f-GAN (Nowozin, Cseke & Tomioka 2016, Tables 1-2).

    ``D_f(P || Q) = int q f(p/q) dx``; the critic is ``T = activation(v)``
    (their output activation ``g_f``), ``conjugate`` is the Fenchel conjugate
    ``f*``, ``f_prime`` is ``f'`` (the optimal critic is ``T* = f'(p/q)``, their
    Sec. 2.2). All are plain NumPy functions.
    """

    f: Callable
    f_prime: Callable
    conjugate: Callable
    activation: Callable
    name: str


@dataclass(frozen=True, eq=False)
class Loss:
    """A GAN loss: ``L_D = mean d_real(o_real) + mean d_fake(o_fake)``,
    ``L_G = mean g_fake(o_fake)``, means over the last axis, each minimised.

    Make one with :func:`get` (registered losses) or :func:`custom` (your own).

    Attributes
    ----------
    name : str
        The registered name (``'ls'``), or the custom loss's name.
    d_real, d_fake, g_fake : Elementwise
    params : dict
        The factory's parameters (``{'a': 0, 'b': 1, 'c': 1}``).
    output : str
        What D outputs: ``'logit'`` (``D = sigma(o)``), ``'critic'`` (a real value)
        or, for f-GANs, ``'v, T = g_f(v) = ...'``.
    source : str
        The citation.
    divergence : str or None
        The divergence the generator minimises against an optimal D (docs/losses.md;
        verified in :mod:`gandyn.theory.gan_losses`).
    zero_sum : bool
        ``g_fake == -d_fake`` (G minimises exactly what D maximises).
    fgan : FGan or None
        The f-divergence of an f-GAN.
    check_finite : bool
        Raise :class:`NonFiniteLossError` when a value or gradient is not finite.
    """

    name: str
    d_real: Elementwise
    d_fake: Elementwise
    g_fake: Elementwise
    params: dict = field(default_factory=dict)
    output: str = "logit"
    source: str = ""
    divergence: str | None = None
    zero_sum: bool = False
    fgan: FGan | None = None
    check_finite: bool = True
    _optimal: Callable | None = field(default=None, repr=False)
    _fast_d: Callable | None = field(default=None, repr=False)
    _fast_g: Callable | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"Loss({self.name}{', ' + ps if ps else ''})"

    @property
    def label(self) -> str:
        """``name`` with its parameters, e.g. ``ls(a=-1, b=1, c=0)``."""
        ps = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"{self.name}({ps})" if ps else self.name

    def _check(self, term, value, *grads):
        if not self.check_finite:
            return
        for arr, what in ((value, "value"),) + tuple((g, "gradient") for g in grads):
            arr = np.asarray(arr)
            if not np.all(np.isfinite(arr)):
                bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
                raise NonFiniteLossError(self.name, term, f"{bad} non-finite {what} entr{'y' if bad == 1 else 'ies'}")

    def d_loss(self, o_real, o_fake):
        """D's loss and its gradients w.r.t. the outputs.

        Parameters
        ----------
        o_real : array (..., m)
        o_fake : array (..., m_f)

        Returns
        -------
        loss : array (...)
            ``mean d_real(o_real) + mean d_fake(o_fake)``.
        g_real, g_fake : arrays like the outputs
            ``d_real'(o_real)/m`` and ``d_fake'(o_fake)/m_f``.

        Raises
        ------
        NonFiniteLossError
            If ``check_finite`` and a value or gradient is not finite.
        """
        if self._fast_d is not None:
            return self._fast_d(o_real, o_fake)
        orl, ofk = np.asarray(o_real), np.asarray(o_fake)
        loss = self.d_real.f(orl).mean(axis=-1) + self.d_fake.f(ofk).mean(axis=-1)
        g_real = _cast(self.d_real.df(orl), orl)
        g_real *= 1.0 / _m(orl)
        g_fake = _cast(self.d_fake.df(ofk), ofk)
        g_fake *= 1.0 / _m(ofk)
        self._check("d_loss", loss, g_real, g_fake)
        return loss, g_real, g_fake

    def g_loss(self, o_fake):
        """G's loss ``mean g_fake(o_fake)`` (shape ``(...)``) and its gradient
        ``g_fake'(o_fake)/m`` (like ``o_fake``). Raises :class:`NonFiniteLossError`
        as :meth:`d_loss`."""
        if self._fast_g is not None:
            return self._fast_g(o_fake)
        ofk = np.asarray(o_fake)
        loss = self.g_fake.f(ofk).mean(axis=-1)
        g = _cast(self.g_fake.df(ofk), ofk)
        g *= 1.0 / _m(ofk)
        self._check("g_loss", loss, g)
        return loss, g

    def d_hess(self, o_real, o_fake):
        """The diagonal of the Hessian of D's loss w.r.t. the outputs:
        ``(d_real''(o_real)/m, d_fake''(o_fake)/m_f)``."""
        orl, ofk = np.asarray(o_real), np.asarray(o_fake)
        return (_cast(self.d_real.d2f(orl), orl) / _m(orl), _cast(self.d_fake.d2f(ofk), ofk) / _m(ofk))

    def g_hess(self, o_fake):
        """The diagonal of the Hessian of G's loss w.r.t. the outputs, ``g_fake''(o_fake)/m``."""
        ofk = np.asarray(o_fake)
        return _cast(self.g_fake.d2f(ofk), ofk) / _m(ofk)

    # --- pointwise theory

    @property
    def has_optimal_d(self) -> bool:
        return self._optimal is not None

    def optimal_d_log(self, logp_data, logp_g):
        """D's optimal output where the log-densities are ``logp_data``, ``logp_g``:
        the minimiser over ``o`` of ``p d_real(o) + q d_fake(o)`` (D's loss is
        minimised pointwise, Goodfellow et al. 2014, Prop. 1's argument).

        Where both densities vanish the ratio is taken as 1 (as
        :func:`gandyn.theory.d_star`). Raises NotImplementedError for a loss
        without a pointwise optimum (``wgan``: the optimal critic depends on the
        CDFs, :func:`gandyn.theory.gan_losses.optimal_critic`).
        """
        if self._optimal is None:
            raise NotImplementedError(f"loss {self.label}: no pointwise optimal discriminator")
        a = np.asarray(logp_data, dtype=np.float64)
        b = np.asarray(logp_g, dtype=np.float64)
        both = np.isneginf(a) & np.isneginf(b)
        with np.errstate(invalid="ignore", over="ignore"):
            return self._optimal(np.where(both, 0.0, a), np.where(both, 0.0, b))

    def value_at_optimum_log(self, logp_data, logp_g):
        """D's value at its optimum, pointwise: ``-(p d_real(o*) + q d_fake(o*))`` from
        log-densities (a term with a vanishing density is 0). Its integral over x is
        ``-min_D L_D``, the divergence of the loss (-log 4 + 2 JSD for the cross-entropy,
        ``D_f`` for an f-GAN, ...): :func:`gandyn.theory.gan_losses.d_value_at_optimum`
        integrates it and compares it with the divergence. NotImplementedError as
        :meth:`optimal_d_log`."""
        a = np.asarray(logp_data, dtype=np.float64)
        b = np.asarray(logp_g, dtype=np.float64)
        o = self.optimal_d_log(a, b)
        with np.errstate(invalid="ignore", over="ignore"):
            real = np.where(a > -np.inf, np.exp(a) * self.d_real.f(o), 0.0)
            fake = np.where(b > -np.inf, np.exp(b) * self.d_fake.f(o), 0.0)
        return -(real + fake)

    def value_at_optimum(self, p_data, p_g):
        """:meth:`value_at_optimum_log` from density values."""
        return self.value_at_optimum_log(*_log_densities(p_data, p_g))

    def optimal_d(self, p_data, p_g):
        """D's optimal output (D* as a logit, LSGAN's D*, hinge's sign, the f-GAN's
        ``v*`` with ``T* = g_f(v*) = f'(p/q)``) as a function of the density values;
        see :meth:`optimal_d_log`."""
        return self.optimal_d_log(*_log_densities(p_data, p_g))


def _log_densities(p_data, p_g):
    """``(log p_data, log p_g)`` of non-negative density values (``-inf`` where 0)."""
    p = np.asarray(p_data, dtype=np.float64)
    q = np.asarray(p_g, dtype=np.float64)
    if np.any(p < 0) or np.any(q < 0):
        raise ValueError("p_data and p_g must be non-negative densities")
    with np.errstate(divide="ignore"):
        return np.log(p), np.log(q)


def _cast(g, like):
    """``g`` as a fresh array of ``like``'s floating dtype (so float32 stays float32)."""
    dt = like.dtype if np.issubdtype(like.dtype, np.floating) else np.float64
    return np.array(np.broadcast_to(g, like.shape), dtype=dt)


# --- the registry

#: Loss factories by name; ``LOSSES[name](**params)`` makes a :class:`Loss`, :func:`get`
#: is the front door.
LOSSES: Registry = Registry("loss")

_GOODFELLOW = "Goodfellow et al. 2014, eq. 1 and Sec. 3 (non-saturating G)"


def _ce_optimal(smooth):
    # D* = (1-a) p / (p + q) (Salimans et al. 2016, Sec. 3.4): logit log((1-a) p) - log(q + a p)
    if not smooth:
        return lambda lp, lq: lp - lq
    la = log(smooth)
    return lambda lp, lq: log(1 - smooth) + lp - np.logaddexp(lq, la + lp)


def _cross_entropy(name: str, smooth: float) -> Loss:
    if not 0 <= smooth < 1:
        raise ValueError(f"label smoothing must be in [0, 1), got {smooth}")
    real = _smoothed_real(smooth) if smooth else _softplus_el(-1.0)
    fake = _softplus_el(1.0)
    if name == "nonsat":
        g, fast_g = _softplus_el(-1.0), g_loss_nonsat
        div = "KL(p_g || p_data) - KL(p_g || m) + log 2 at D* (m = (p_data + p_g)/2)"
    else:
        g, fast_g = _softplus_el(1.0, -1.0), g_loss_minimax
        div = "Jensen-Shannon: V(D*, G) = -log 4 + 2 JSD (Thm. 1)"
    return Loss(name, real, fake, g, {"smooth": smooth} if smooth else {}, "logit",
                _GOODFELLOW + (("; label smoothing: Salimans et al. 2016, Sec. 3.4") if smooth else ""),
                div, name == "minimax", None, False, _ce_optimal(smooth),
                lambda lr, lf: d_loss(lr, lf, smooth), fast_g)


@LOSSES.register("nonsat")
def _nonsat(smooth: float = 0.0) -> Loss:
    """D: cross-entropy (``softplus(-o)`` on data, ``softplus(o)`` on samples); G:
    ``softplus(-o) = -log D(G(z))`` (Goodfellow et al. 2014, Sec. 3)."""
    return _cross_entropy("nonsat", smooth)


@LOSSES.register("minimax")
def _minimax(smooth: float = 0.0) -> Loss:
    """D: cross-entropy; G: ``-softplus(o) = log(1 - D(G(z)))`` (Goodfellow et al. 2014, eq. 1)."""
    return _cross_entropy("minimax", smooth)


@LOSSES.register("ls")
def _ls(a: float = 0.0, b: float = 1.0, c: float = 1.0) -> Loss:
    """LSGAN (Mao et al. 2017, eq. 2): ``d_real = (o - b)^2/2``, ``d_fake = (o - a)^2/2``,
    ``g_fake = (o - c)^2/2``; D outputs a real value (no sigmoid).

    Defaults ``(a, b, c) = (0, 1, 1)`` are their eq. 10 (G wants D to believe the
    samples real); ``(-1, 1, 0)`` is their eq. 9, which meets Theorem 1's
    ``b - c = 1``, ``b - a = 2`` (G then minimises the Pearson chi^2 divergence).
    ``D* = (b p_data + a p_g)/(p_data + p_g)`` (their eq. 6).
    """
    a, b, c = float(a), float(b), float(c)
    if a == b:
        raise ValueError(f"ls needs a != b (the labels of fake and real data), got a = b = {a:g}")

    def opt(lp, lq):
        return a + (b - a) * expit(lp - lq)

    pearson = b - c == 1 and b - a == 2
    return Loss("ls", _poly2(0.5, -b, 0.5 * b * b), _poly2(0.5, -a, 0.5 * a * a), _poly2(0.5, -c, 0.5 * c * c),
                {"a": a, "b": b, "c": c}, "critic", "Mao et al. 2017, eq. 2 and Theorem 1",
                "Pearson chi^2(p_data + p_g || 2 p_g) = 2 C(G) (Thm. 1)" if pearson
                else "C(G) = 1/2 int ((b-c) p_data + (a-c) p_g)^2 / (p_data + p_g)",
                False, None, True, opt)


@LOSSES.register("hinge")
def _hinge() -> Loss:
    """Hinge loss (Lim & Ye 2017, eq. 12-13; Miyato et al. 2018, eq. 16):
    ``d_real = max(0, 1 - o)``, ``d_fake = max(0, 1 + o)``, ``g_fake = -o``.
    ``D* = sign(p_data - p_g)``, D's loss at D* is ``2 - 2 TV(p_data, p_g)``."""
    return Loss("hinge", _relu_el(-1.0), _relu_el(1.0), _poly2(0.0, -1.0, 0.0), {}, "critic",
                "Lim & Ye 2017 (geometric GAN); Miyato et al. 2018, eq. 16",
                "total variation: min L_D = 2 - 2 TV at D* = sign(p_data - p_g)",
                False, None, True, lambda lp, lq: np.sign(lp - lq))


@LOSSES.register("wgan")
def _wgan() -> Loss:
    """WGAN (Arjovsky, Chintala & Bottou 2017, eq. 3): ``d_real = -o``, ``d_fake = o``,
    ``g_fake = -o``; the critic must be kept 1-Lipschitz (clipping, or a gradient
    penalty: Gulrajani et al. 2017) -- the loss does not do it. Over 1-Lipschitz
    critics ``max -L_D = W_1(p_data, p_g)`` (Kantorovich-Rubinstein duality)."""
    return Loss("wgan", _poly2(0.0, -1.0, 0.0), _poly2(0.0, 1.0, 0.0), _poly2(0.0, -1.0, 0.0), {}, "critic",
                "Arjovsky, Chintala & Bottou 2017, eq. 2-3", "Wasserstein-1 (Kantorovich-Rubinstein duality)",
                True, None, True, None)


_NOWOZIN = "Nowozin, Cseke & Tomioka 2016, Table 2 (eq. 6: F = E_P[g_f(V)] - E_Q[f*(g_f(V))])"


def _xlogx(u):
    u = np.asarray(u, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(u > 0, u * np.log(np.where(u > 0, u, 1.0)), 0.0)


def _fgan(name, real, fake, fdiv, optimal, activation_text) -> Loss:
    """D maximises ``F = E_P[g_f(v)] - E_Q[f*(g_f(v))]`` (so ``d_real = -g_f``,
    ``d_fake = f* o g_f``); G minimises F, of which only ``-E_Q[f*(g_f(v))]``
    depends on G (the saddle-point objective, their eq. 6)."""
    return Loss(name, real, fake, fake.scaled(-1.0), {}, f"v, T = g_f(v) = {activation_text}", _NOWOZIN,
                f"{fdiv.name}: max_T F = D_f(P || Q) at T* = f'(p/q) (eq. 4-5)", True, fdiv, True, optimal)


@LOSSES.register("kl")
def _kl() -> Loss:
    """KL f-GAN: ``f(u) = u log u``, ``g_f(v) = v``, ``f*(t) = exp(t - 1)``."""
    fd = FGan(_xlogx, lambda u: 1.0 + np.log(u), lambda t: np.exp(t - 1.0), lambda v: np.asarray(v) * 1.0,
              "Kullback-Leibler KL(P || Q)")
    return _fgan("kl", _poly2(0.0, -1.0, 0.0), _exp_el(1.0, -1.0), fd, lambda lp, lq: 1.0 + (lp - lq), "v")


@LOSSES.register("reverse-kl")
def _reverse_kl() -> Loss:
    """Reverse-KL f-GAN: ``f(u) = -log u``, ``g_f(v) = -exp(-v)``,
    ``f*(t) = -1 - log(-t)``, so ``f*(g_f(v)) = v - 1``."""
    fd = FGan(lambda u: -np.log(u), lambda u: -1.0 / np.asarray(u), lambda t: -1.0 - np.log(-np.asarray(t)),
              lambda v: -np.exp(-np.asarray(v)), "reverse Kullback-Leibler KL(Q || P)")
    return _fgan("reverse-kl", _exp_el(-1.0, 0.0), _poly2(0.0, 1.0, -1.0), fd, lambda lp, lq: lp - lq, "-exp(-v)")


@LOSSES.register("pearson")
def _pearson() -> Loss:
    """Pearson chi^2 f-GAN: ``f(u) = (u - 1)^2``, ``g_f(v) = v``, ``f*(t) = t^2/4 + t``."""
    fd = FGan(lambda u: (np.asarray(u) - 1.0) ** 2, lambda u: 2.0 * (np.asarray(u) - 1.0),
              lambda t: 0.25 * np.asarray(t) ** 2 + t, lambda v: np.asarray(v) * 1.0, "Pearson chi^2(P || Q)")
    return _fgan("pearson", _poly2(0.0, -1.0, 0.0), _poly2(0.25, 1.0, 0.0), fd,
                 lambda lp, lq: 2.0 * np.expm1(lp - lq), "v")


@LOSSES.register("hellinger")
def _hellinger() -> Loss:
    """Squared-Hellinger f-GAN: ``f(u) = (sqrt u - 1)^2``, ``g_f(v) = 1 - exp(-v)``,
    ``f*(t) = t/(1 - t)``, so ``f*(g_f(v)) = exp(v) - 1``."""
    fd = FGan(lambda u: (np.sqrt(u) - 1.0) ** 2, lambda u: 1.0 - 1.0 / np.sqrt(u),
              lambda t: np.asarray(t) / (1.0 - np.asarray(t)), lambda v: -np.expm1(-np.asarray(v)),
              "squared Hellinger int (sqrt p - sqrt q)^2")
    return _fgan("hellinger", _exp_el(-1.0, 0.0, 1.0, -1.0), _exp_el(1.0, 0.0, 1.0, -1.0), fd,
                 lambda lp, lq: 0.5 * (lp - lq), "1 - exp(-v)")


@LOSSES.register("js")
def _js() -> Loss:
    """Jensen-Shannon f-GAN: ``f(u) = -(u + 1) log((1 + u)/2) + u log u``,
    ``g_f(v) = log 2 - log(1 + exp(-v))``, ``f*(t) = -log(2 - exp(t))``, so
    ``-g_f(v) = softplus(-v) - log 2`` and ``f*(g_f(v)) = softplus(v) - log 2``.
    ``D_f = 2 JSD`` with this ``f`` (Table 1's ``f``; JSD as in Lin 1991)."""
    def f(u):
        u = np.asarray(u, dtype=np.float64)
        return _xlogx(u) - (u + 1.0) * np.log((1.0 + u) / 2.0)

    fd = FGan(f, lambda u: np.log(2.0 * np.asarray(u) / (1.0 + np.asarray(u))),
              lambda t: -np.log(2.0 - np.exp(t)), lambda v: LOG2 + log_expit(v), "Jensen-Shannon 2 JSD(P || Q)")

    def shifted(sign):
        e = _softplus_el(sign)
        return Elementwise(lambda o: e.f(o) - LOG2, e.df, e.d2f, lambda o: e.traced(o) - LOG2,
                           f"{e.formula} - log 2")

    return _fgan("js", shifted(-1.0), shifted(1.0), fd, lambda lp, lq: lp - lq, "log 2 - softplus(-v)")


def get(loss="nonsat", **params) -> Loss:
    """The :class:`Loss` named ``loss`` made with ``params`` (``get('ls', a=-1, b=1, c=0)``),
    or ``loss`` itself if it is already a :class:`Loss` (then no ``params``).

    Raises a one-line ValueError listing the choices for an unknown name.
    """
    if isinstance(loss, Loss):
        if params:
            raise ValueError(f"{loss!r} is already made; parameters {sorted(params)} cannot be applied")
        return loss
    return LOSSES[loss](**params)


def custom(d_real: Callable | None = None, d_fake: Callable | None = None, g_fake: Callable | None = None, *,
           name: str = "custom", output: str = "logit", source: str = "user-defined") -> Loss:
    """A user-defined loss from elementwise value functions only.

    Write each function with :mod:`autograd.numpy` (``import autograd.numpy as np``,
    the same functions as NumPy); gandyn forms ``phi'`` and ``phi''`` by autograd's
    :func:`~autograd.elementwise_grad` (O(m) per step, on the outputs only: the
    networks' backward passes stay hand-written). Missing terms default to the
    cross-entropy of Goodfellow et al. 2014 for D (``softplus(-o)``,
    ``softplus(o)``) and to the zero-sum ``g_fake = -d_fake`` for G.

    Each function is probed once on three points: it must be elementwise (same
    shape out) and autograd's derivative must match a central difference there,
    else TypeError (plain-NumPy ufuncs such as ``np.exp`` are traced by autograd,
    but e.g. ``np.where`` silently is not: write ``autograd.numpy``). During
    training a non-finite value or gradient raises :class:`NonFiniteLossError`.

    Returns
    -------
    Loss
        ``zero_sum`` when ``g_fake`` is not given; no ``optimal_d``.
    """
    terms = {}
    for term, fun in (("d_real", d_real), ("d_fake", d_fake), ("g_fake", g_fake)):
        if fun is None:
            continue
        if not callable(fun):
            raise TypeError(f"{term} must be a function of D's outputs, got {type(fun).__name__}")
        el = Elementwise.from_function(fun)
        probe = np.array([-1.37, 0.413, 1.71])  # off the usual kinks (0, +-1)
        h = 1e-5
        try:
            with np.errstate(all="ignore"):
                vals = [np.asarray(g(probe), dtype=np.float64) for g in (el.f, el.df, el.d2f)]
                up, down = (np.asarray(fun(probe + e), dtype=np.float64) for e in (h, -h))
                fd = (up - down) / (2 * h)
        except Exception as err:  # noqa: BLE001 -- any failure here means "not differentiable by autograd"
            raise TypeError(f"{term} of loss {name!r} cannot be differentiated by autograd; write it with "
                            f"autograd.numpy ({type(err).__name__}: {err})") from None
        if any(v.shape != probe.shape for v in vals):
            raise TypeError(f"{term} of loss {name!r} must be elementwise (return one value per output)")
        ok = np.isfinite(fd) & np.isfinite(vals[1])
        if np.any(np.abs(vals[1][ok] - fd[ok]) > 1e-4 * (1.0 + np.abs(fd[ok]))):
            raise TypeError(f"{term} of loss {name!r}: autograd's derivative disagrees with a finite difference "
                            "(a NumPy function autograd cannot trace, e.g. np.where: use autograd.numpy)")
        terms[term] = el
    real = terms.get("d_real", _softplus_el(-1.0))
    fake = terms.get("d_fake", _softplus_el(1.0))
    gen = terms.get("g_fake", fake.scaled(-1.0))
    return Loss(name, real, fake, gen, {}, output, source, None, "g_fake" not in terms, None, True, None)
