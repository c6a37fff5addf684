"""GAN losses as objects: D's loss and G's loss as functions of D's outputs on a real
and on a generated minibatch, each with its gradient w.r.t. both output vectors and its
Hessian-vector product in output space.

A loss maps ``(o_real, o_fake)`` (population axes in front, the minibatch on the last
axis; ``o`` a logit, a critic value, or the pre-activation ``v`` of an f-GAN) to

- :meth:`Loss.d_loss` ``-> (L_D, dL_D/do_real, dL_D/do_fake)``,
- :meth:`Loss.g_loss` ``-> (L_G, dL_G/do_real, dL_G/do_fake)``,
- :meth:`Loss.d_hvp`, :meth:`Loss.g_hvp` ``(o_real, o_fake, t_real, t_fake) -> (h_real, h_fake)``,
  the output-space Hessian times a tangent,
- :meth:`Loss.d_traced`, :meth:`Loss.g_traced`, the values in :mod:`autograd.numpy`,

each *minimised* by its player, gradients including the ``1/m`` of the means.
``Loss.g_reads_real`` says whether G's loss reads the real outputs (then G's step runs D on
a real minibatch as well).

A *separable* loss is three elementwise functions (:class:`Elementwise`, each with its
first and second derivative):

    L_D = mean_i d_real(o_real_i) + mean_k d_fake(o_fake_k),
    L_G = mean_k g_fake(o_fake_k);

a *coupled* loss has one :class:`Coupled` term per player, e.g. the relativistic losses of
Jolicoeur-Martineau 2019 (``rsgan``, ``ragan``, ``ralsgan``, ``rahinge``). The registry
:data:`LOSSES` maps a name to a factory, and :func:`get` is the one way to make a
registered loss::

    get("nonsat")                    # Goodfellow et al. 2014, non-saturating G
    get("nonsat", label_smooth=0.1)  # with one-sided label smoothing of D's real term
    get("ls", a=-1, b=1, c=0)        # Mao et al. 2017, eq. 9
    get("ragan")                     # Jolicoeur-Martineau 2019, relativistic average GAN
    get(loss_object)                 # returned as is

Registered: ``nonsat``, ``minimax`` (Goodfellow et al. 2014), ``ls`` (Mao et al.
2017), ``hinge`` (Lim & Ye 2017; Miyato et al. 2018), ``wgan`` (Arjovsky et al.
2017), the f-GANs of Nowozin, Cseke & Tomioka 2016, Table 2: ``kl``,
``reverse-kl``, ``pearson``, ``hellinger``, ``js``, and the relativistic ``rsgan``,
``ragan``, ``ralsgan``, ``rahinge``. A user-defined loss is :func:`custom` (D's and G's
loss as functions of both vectors) or :func:`separable` (three elementwise functions):
the user writes the values only (with :mod:`autograd.numpy`), gandyn differentiates them.
A loss carries its theory where the paper gives it (its optimal D and the identities of
its divergence, :attr:`Loss.theory`; the penalties and clipping it is used with).

Logit-space numerics: ``softplus(o) = -log sigma(-o)`` through
:func:`scipy.special.log_expit`, finite and accurate for every finite logit; the
f-GAN compositions ``f*(g_f(v))`` are simplified in closed form (e.g. the JS GAN's
``-log(2 - exp(g_f(v))) = softplus(v) - log 2``), so no ``log`` of a difference is
formed. Losses whose value grows exponentially in ``o`` (``kl``, ``hellinger`` and
one side of ``reverse-kl``) overflow where the mathematical value exceeds the
float range (``|o| > ~709`` in float64); every loss but the two fast paths below
checks its values and gradients and raises :class:`NonFiniteLossError`. An empty
minibatch (a zero-length batch axis) is a one-line ValueError in every entry point.

The functions :func:`d_loss_minimax`, :func:`g_loss_minimax` and :func:`g_loss_nonsat` are
the fast paths of ``minimax`` and ``nonsat`` (the arithmetic the engine has always
used; the trainer's results are bit-for-bit those of before the loss objects).

With ``D(x) = sigma(l(x))`` the value function of Goodfellow et al. 2014, eq. 1 is

    V(D, G) = E_data[log D(x)] + E_z[log(1 - D(G(z)))]
            = E_data[log sigma(l_real)] + E_z[log sigma(-l_fake)],

since ``1 - sigma(l) = sigma(-l)``.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from math import log
from typing import Callable, NamedTuple

import numpy as np
from scipy.special import expit, log_expit

from gandyn.engine.registry import Registry
from gandyn.errors import DivergedError

__all__ = [
    "softplus", "log_sigmoid", "sigmoid", "value", "d_loss_minimax",
    "g_loss_minimax", "g_loss_nonsat",
    "Elementwise", "Coupled", "OptimumIdentity", "Loss", "FGan", "LOSSES", "get", "custom", "separable",
    "NonFiniteLossError",
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


def _nonempty(*outputs) -> None:
    """Refuse an empty minibatch (a zero-length batch axis) or a scalar output: one-line ValueError."""
    for o in outputs:
        if o is None:
            continue
        shape = np.shape(o)
        if not shape:
            raise ValueError("D's outputs must be arrays with the minibatch on the last axis, got a scalar")
        if shape[-1] == 0:
            raise ValueError(f"empty minibatch: D's outputs have no entries along the batch axis (shape {shape})")


# --- the fast paths of 'minimax' and 'nonsat' (unchanged arithmetic)


def value(logit_real, logit_fake):
    """Minibatch estimate of V(D, G), Goodfellow et al. 2014, eq. 1.

    ``mean log sigma(l_real) + mean log sigma(-l_fake)``; shape ``(...)``.
    ValueError for an empty minibatch.
    """
    _nonempty(logit_real, logit_fake)
    return log_expit(logit_real).mean(axis=-1) + log_expit(-np.asarray(logit_fake)).mean(axis=-1)


def d_loss_minimax(logit_real, logit_fake, label_smooth: float = 0.0):
    """The discriminator's loss ``-V(D, G)`` (it ascends V, Goodfellow et al. 2014,
    Algorithm 1), i.e. sigmoid cross-entropy with labels 1 for data, 0 for samples.

    ``label_smooth = a > 0`` is one-sided label smoothing (Salimans et al. 2016, Section
    3.4): the data's target is ``1 - a`` instead of 1, samples keep target 0. Its
    optimal discriminator is ``(1-a) p_data / (p_data + p_g)``.

    Returns
    -------
    loss : array (...)
        ``mean[(1-a) softplus(-l_real) + a softplus(l_real)] + mean softplus(l_fake)``.
    g_real, g_fake : arrays like the logits
        ``(a - sigma(-l_real))/m`` and ``sigma(l_fake)/m``.

    Raises
    ------
    ValueError
        ``label_smooth`` outside ``[0, 1)``, or an empty minibatch.
    """
    _nonempty(logit_real, logit_fake)
    if not 0 <= label_smooth < 1:
        raise ValueError(f"label smoothing must be in [0, 1), got {label_smooth}")
    lr = np.asarray(logit_real)
    lf = np.asarray(logit_fake)
    if label_smooth:
        real = (1 - label_smooth) * log_expit(lr) + label_smooth * log_expit(-lr)
    else:
        real = log_expit(lr)
    loss = -(real.mean(axis=-1) + log_expit(-lf).mean(axis=-1))
    g_real = expit(-lr)
    if label_smooth:
        g_real -= label_smooth
    g_real *= -1.0 / _m(lr)
    g_fake = expit(lf)
    g_fake *= 1.0 / _m(lf)
    return loss, g_real, g_fake


def g_loss_minimax(logit_fake):
    """The generator's minimax loss ``mean log(1 - D(G(z)))`` (eq. 1; Algorithm 1
    descends it). Saturates (gradient -> 0) when D rejects samples confidently.

    Returns ``(mean log sigma(-l), -sigma(l)/m)``; ValueError for an empty minibatch.
    """
    _nonempty(logit_fake)
    lf = np.asarray(logit_fake)
    loss = log_expit(-lf).mean(axis=-1)
    g = expit(lf)
    g *= -1.0 / _m(lf)
    return loss, g


def g_loss_nonsat(logit_fake):
    """The non-saturating generator loss ``-mean log D(G(z))`` (Goodfellow et al.
    2014, Section 3, the paragraph after eq. 1).

    Returns ``(mean softplus(-l), -sigma(-l)/m)``; ValueError for an empty minibatch.
    """
    _nonempty(logit_fake)
    lf = np.asarray(logit_fake)
    loss = -log_expit(lf).mean(axis=-1)
    g = expit(-lf)
    g *= -1.0 / _m(lf)
    return loss, g


# --- elementwise functions


class NonFiniteLossError(DivergedError, FloatingPointError):
    """A loss returned a non-finite value or gradient: training diverged
    (a :class:`gandyn.errors.DivergedError`).

    Attributes ``loss`` (its name), ``term`` ('d_loss' or 'g_loss'), ``iteration``
    (None until a trainer sets it through :meth:`at_iteration`).
    """

    def __init__(self, loss: str, term: str, detail: str, iteration: int | None = None):
        self.loss, self.term, self.detail = loss, term, detail
        where = "" if iteration is None else f"iteration {iteration}: "
        super().__init__(f"{where}loss {loss!r}: {term} is not finite ({detail})", iteration)

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


@dataclass(frozen=True)
class Coupled:
    """One player's loss as a function of *both* output vectors, ``L(o_real, o_fake)``
    (population axes in front, the minibatch on the last axis), with its gradient and its
    Hessian-vector product in output space.

    Parameters
    ----------
    value_grad : callable ``(o_real, o_fake) -> (loss (...), g_real, g_fake)``
        The value and ``dL/do_real``, ``dL/do_fake`` (the ``1/m`` included), plain NumPy.
    hvp : callable ``(o_real, o_fake, t_real, t_fake) -> (h_real, h_fake)``
        ``d/dr grad L(o + r t)`` at ``r = 0``; a tangent None is zero.
    traced : callable ``(o_real, o_fake) -> loss``
        The value written with :mod:`autograd.numpy` (autograd games, tests).
    formula : str
    reads_real : bool
        Whether the value depends on ``o_real`` at all.
    expected : callable ``(c, p, q) -> float``, optional
        The population loss when real outputs are drawn from ``p`` and fake ones from ``q``,
        both probability vectors on one finite support where D's output is ``c`` (for the
        theory of :func:`gandyn.theory.relativistic_divergence`).
    """

    value_grad: Callable
    hvp: Callable
    traced: Callable
    formula: str = ""
    reads_real: bool = True
    expected: Callable | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"Coupled({self.formula})"


def _tangent(t, like):
    """A tangent as an array like ``like`` (None = 0)."""
    if t is None:
        return np.zeros(np.shape(like), dtype=np.result_type(like, float))
    return np.asarray(t)


def _mean(a):
    return np.mean(a, axis=-1, keepdims=True)


def _rename(formula: str, var: str) -> str:
    """An elementwise formula in ``o`` written in ``var``."""
    return re.sub(r"\bo\b", var, formula)


def _paired(phi: Elementwise, name: str) -> Coupled:
    """``L = mean_i phi(o_real,i - o_fake,i)``: real and fake outputs paired i-i
    (Jolicoeur-Martineau 2019, Algorithm 1). Equal batch sizes only."""
    def diff(o_r, o_f):
        o_r, o_f = np.asarray(o_r), np.asarray(o_f)
        if _m(o_r) != _m(o_f):
            raise ValueError(f"loss {name!r} pairs real and fake outputs i-i: it needs equal real and fake batch "
                             f"sizes, got {_m(o_r)} and {_m(o_f)}")
        return o_r - o_f

    def value_grad(o_r, o_f):
        c = diff(o_r, o_f)
        g = _cast(phi.df(c), c)
        g *= 1.0 / _m(c)
        return phi.f(c).mean(axis=-1), g, -g

    def hvp(o_r, o_f, t_r, t_f):
        c = diff(o_r, o_f)
        h = _cast(phi.d2f(c), c)
        h *= (_tangent(t_r, c) - _tangent(t_f, c)) / _m(c)
        return h, -h

    def traced(o_r, o_f):
        return _anp().mean(phi.traced(o_r - o_f), axis=-1)

    def expected(c, p, q):  # pairs drawn independently: E_{x~p, y~q} phi(C(x) - C(y))
        c = np.asarray(c, dtype=np.float64)
        return float(p @ phi.f(c[:, None] - c[None, :]) @ q)

    return Coupled(value_grad, hvp, traced, f"mean phi(o_r - o_f), phi(c) = {_rename(phi.formula, 'c')}",
                   True, expected)


def _average(phi_r: Elementwise, phi_f: Elementwise) -> Coupled:
    """``L = mean_i phi_r(o_real,i - mean o_fake) + mean_k phi_f(o_fake,k - mean o_real)``
    (the relativistic average discriminator, Jolicoeur-Martineau 2019, Sec. 4.2).

    With ``a = o_r - mean o_f``, ``b = o_f - mean o_r``:
    ``dL/do_r = (phi_r'(a) - mean phi_f'(b))/m_r``, ``dL/do_f = (phi_f'(b) - mean phi_r'(a))/m_f``,
    and along ``(t_r, t_f)``, with ``u = phi_r''(a) (t_r - mean t_f)``, ``w = phi_f''(b) (t_f - mean t_r)``:
    ``h_r = (u - mean w)/m_r``, ``h_f = (w - mean u)/m_f``."""
    def parts(o_r, o_f):
        o_r, o_f = np.asarray(o_r), np.asarray(o_f)
        return o_r - _mean(o_f), o_f - _mean(o_r)

    def value_grad(o_r, o_f):
        a, b = parts(o_r, o_f)
        da, db = phi_r.df(a), phi_f.df(b)
        g_r = _cast(da - _mean(db), a)
        g_r *= 1.0 / _m(a)
        g_f = _cast(db - _mean(da), b)
        g_f *= 1.0 / _m(b)
        return phi_r.f(a).mean(axis=-1) + phi_f.f(b).mean(axis=-1), g_r, g_f

    def hvp(o_r, o_f, t_r, t_f):
        a, b = parts(o_r, o_f)
        tr, tf = _tangent(t_r, a), _tangent(t_f, b)
        u = phi_r.d2f(a) * (tr - _mean(tf))
        w = phi_f.d2f(b) * (tf - _mean(tr))
        return _cast((u - _mean(w)) / _m(a), a), _cast((w - _mean(u)) / _m(b), b)

    def traced(o_r, o_f):
        anp = _anp()
        a = o_r - anp.mean(o_f, axis=-1, keepdims=True)
        b = o_f - anp.mean(o_r, axis=-1, keepdims=True)
        return anp.mean(phi_r.traced(a), axis=-1) + anp.mean(phi_f.traced(b), axis=-1)

    def expected(c, p, q):
        c = np.asarray(c, dtype=np.float64)
        return float(p @ phi_r.f(c - q @ c) + q @ phi_f.f(c - p @ c))

    return Coupled(value_grad, hvp, traced,
                   f"mean ({_rename(phi_r.formula, 'a')}) + mean ({_rename(phi_f.formula, 'b')}), "
                   "a = o_r - mean o_f, b = o_f - mean o_r", True, expected)


class OptimumIdentity(NamedTuple):
    """A statement of the theory a loss carries: at D's optimum, ``side``'s criterion equals
    ``scale * divergence(p, q) + shift``.

    ``side``: ``'d'`` for ``-min_D L_D`` (D's value at its optimum), ``'g'`` for G's loss
    against the optimal D, ``'g+'`` for it plus the term G cannot change (``int p g_fake(o*)``,
    Mao et al. 2017, eq. 7). ``divergence`` names a divergence of :mod:`gandyn.theory`
    (:data:`gandyn.theory.gan_losses.DIVERGENCES`: ``'jsd'``, ``'kl'``, ``'reverse_kl'``,
    ``'total_variation'``, ``'wasserstein1'``, ...). :func:`gandyn.theory.identities` turns
    these into checked identities; a user loss states them too."""

    side: str
    divergence: str
    scale: float = 1.0
    shift: float = 0.0
    label: str = ""
    source: str = ""


@dataclass(frozen=True, eq=False)
class Loss:
    """A GAN loss: D's loss ``L_D(o_real, o_fake)`` and G's loss ``L_G(o_real, o_fake)``,
    functions of D's outputs on a real and on a generated minibatch (population axes in
    front, the batch on the last axis), each minimised by its player.

    A *separable* loss is three elementwise functions, ``L_D = mean d_real(o_real) + mean
    d_fake(o_fake)``, ``L_G = mean g_fake(o_fake)``; a *coupled* one (the relativistic
    losses, :func:`custom`) has a :class:`Coupled` term per player. Every loss answers the
    same methods: :meth:`d_loss`, :meth:`g_loss` (value and gradients w.r.t. both output
    vectors), :meth:`d_hvp`, :meth:`g_hvp` (Hessian-vector products in output space),
    :meth:`d_traced`, :meth:`g_traced` (the values in :mod:`autograd.numpy`).

    Make one with :func:`get` (registered losses), :func:`separable` or :func:`custom`.

    Attributes
    ----------
    name : str
        The registered name (``'ls'``), or the custom loss's name.
    d_real, d_fake, g_fake : Elementwise or None
        The elementwise terms of a separable loss (None for a coupled one).
    params : dict
        The factory's parameters (``{'a': 0, 'b': 1, 'c': 1}``).
    output : str
        What D outputs: ``'logit'`` (``D = sigma(o)``), ``'critic'`` (a real value)
        or, for f-GANs, ``'v, T = g_f(v) = ...'``.
    source : str
        The citation.
    divergence : str or None
        The divergence the generator minimises against an optimal D, in words.
    zero_sum : bool
        ``L_G = -L_D`` up to a term G cannot change (G minimises what D maximises).
    fgan : FGan or None
        The f-divergence of an f-GAN.
    check_finite : bool
        Raise :class:`NonFiniteLossError` when a value or gradient is not finite.
    d_coupled, g_coupled : Coupled or None
        The players' terms of a coupled loss (None for a separable one).
    g_reads_real : bool
        Whether G's loss reads D's outputs on real data (then G's step runs D on a real
        minibatch too; separable losses: False).
    paired : bool
        Real and fake outputs are paired i-i (equal batch sizes needed).
    penalties : tuple of str
        The gradient penalties (:data:`gandyn.engine.penalties.PENALTIES`) the literature
        uses with this loss.
    clip : bool
        Whether weight clipping (Arjovsky et al. 2017) is used with it.
    theory : tuple of OptimumIdentity
        What the paper states about the optimum (checked by :func:`gandyn.theory.identities`).
    """

    name: str
    d_real: Elementwise | None = None
    d_fake: Elementwise | None = None
    g_fake: Elementwise | None = None
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
    d_coupled: Coupled | None = None
    g_coupled: Coupled | None = None
    g_reads_real: bool = False
    paired: bool = False
    penalties: tuple = ()
    clip: bool = False
    theory: tuple = ()

    def __post_init__(self):
        if (self.d_coupled is None) != (self.g_coupled is None):
            raise ValueError("a coupled loss needs both players' Coupled terms")
        if self.d_coupled is None and None in (self.d_real, self.d_fake, self.g_fake):
            raise ValueError("a separable loss needs d_real, d_fake and g_fake")

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"Loss({self.name}{', ' + ps if ps else ''})"

    @property
    def label(self) -> str:
        """``name`` with its parameters, e.g. ``ls(a=-1, b=1, c=0)``."""
        ps = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"{self.name}({ps})" if ps else self.name

    @property
    def separable(self) -> bool:
        """Whether the loss is three elementwise functions (no coupling of outputs)."""
        return self.d_coupled is None

    def _check(self, term, value, *grads):
        if not self.check_finite:
            return
        for arr, what in ((value, "value"),) + tuple((g, "gradient") for g in grads):
            arr = np.asarray(arr)
            if not np.all(np.isfinite(arr)):
                bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
                raise NonFiniteLossError(self.name, term, f"{bad} non-finite {what} entr{'y' if bad == 1 else 'ies'}")

    def _real_for_g(self, o_real, o_fake):
        """G's real outputs: ``o_real``, or, when G's loss does not read them, a stand-in."""
        if o_real is not None:
            return np.asarray(o_real)
        if self.g_reads_real:
            raise ValueError(f"loss {self.label}: G's loss reads D's outputs on real data; pass o_real")
        return np.zeros_like(np.asarray(o_fake))

    def d_loss(self, o_real, o_fake):
        """D's loss and its gradients w.r.t. both output vectors.

        Parameters
        ----------
        o_real : array (..., m)
        o_fake : array (..., m_f)

        Returns
        -------
        loss : array (...)
            ``L_D`` (separable: ``mean d_real(o_real) + mean d_fake(o_fake)``).
        g_real, g_fake : arrays like the outputs
            ``dL_D/do_real``, ``dL_D/do_fake`` (separable: ``d_real'(o_real)/m``, ``d_fake'(o_fake)/m_f``).

        Raises
        ------
        ValueError
            An empty minibatch; unequal batch sizes for a paired loss.
        NonFiniteLossError
            If ``check_finite`` and a value or gradient is not finite.
        """
        _nonempty(o_real, o_fake)
        if self._fast_d is not None:
            return self._fast_d(o_real, o_fake)
        orl, ofk = np.asarray(o_real), np.asarray(o_fake)
        if self.d_coupled is not None:
            loss, g_real, g_fake = self.d_coupled.value_grad(orl, ofk)
        else:
            loss = self.d_real.f(orl).mean(axis=-1) + self.d_fake.f(ofk).mean(axis=-1)
            g_real = _cast(self.d_real.df(orl), orl)
            g_real *= 1.0 / _m(orl)
            g_fake = _cast(self.d_fake.df(ofk), ofk)
            g_fake *= 1.0 / _m(ofk)
        self._check("d_loss", loss, g_real, g_fake)
        return loss, g_real, g_fake

    def g_loss(self, o_real, o_fake):
        """G's loss and its gradients w.r.t. both output vectors.

        ``o_real`` may be None when G's loss does not read real outputs
        (:attr:`g_reads_real` false; then ``g_real`` is None).

        Returns
        -------
        loss : array (...)
            ``L_G`` (separable: ``mean g_fake(o_fake)``).
        g_real : array like ``o_real``, or None
            ``dL_G/do_real`` (zero for a separable loss).
        g_fake : array like ``o_fake``
            ``dL_G/do_fake`` (separable: ``g_fake'(o_fake)/m_f``).

        Raises
        ------
        ValueError
            An empty minibatch; ``o_real`` None for a loss that reads it; unequal batch
            sizes for a paired loss.
        NonFiniteLossError
            As :meth:`d_loss`.
        """
        _nonempty(o_real, o_fake)
        if self.g_coupled is None:
            if self._fast_g is not None:
                loss, g = self._fast_g(o_fake)
            else:
                ofk = np.asarray(o_fake)
                loss = self.g_fake.f(ofk).mean(axis=-1)
                g = _cast(self.g_fake.df(ofk), ofk)
                g *= 1.0 / _m(ofk)
                self._check("g_loss", loss, g)
            return loss, (None if o_real is None else np.zeros(np.shape(o_real), dtype=g.dtype)), g
        loss, g_real, g_fake = self.g_coupled.value_grad(self._real_for_g(o_real, o_fake), np.asarray(o_fake))
        self._check("g_loss", loss, g_real, g_fake)
        return loss, (None if o_real is None else g_real), g_fake

    def d_hvp(self, o_real, o_fake, t_real, t_fake):
        """The Hessian of D's loss in output space times a tangent ``(t_real, t_fake)``
        (None = 0): ``(h_real, h_fake) = d/dr grad L_D(o + r t)`` at ``r = 0``. Separable:
        ``(d_real''(o_real) t_real/m, d_fake''(o_fake) t_fake/m_f)``. ValueError as :meth:`d_loss`."""
        _nonempty(o_real, o_fake)
        orl, ofk = np.asarray(o_real), np.asarray(o_fake)
        if self.d_coupled is not None:
            return self.d_coupled.hvp(orl, ofk, t_real, t_fake)
        return (_cast(self.d_real.d2f(orl) * _tangent(t_real, orl), orl) / _m(orl),
                _cast(self.d_fake.d2f(ofk) * _tangent(t_fake, ofk), ofk) / _m(ofk))

    def g_hvp(self, o_real, o_fake, t_real, t_fake):
        """The Hessian of G's loss in output space times ``(t_real, t_fake)`` (None = 0):
        ``(h_real, h_fake)``; ``h_real`` is None when ``o_real`` is (allowed when G's loss
        does not read real outputs). Separable: ``(0, g_fake''(o_fake) t_fake/m_f)``."""
        _nonempty(o_real, o_fake)
        ofk = np.asarray(o_fake)
        if self.g_coupled is None:
            h_f = _cast(self.g_fake.d2f(ofk) * _tangent(t_fake, ofk), ofk) / _m(ofk)
            return (None if o_real is None else np.zeros(np.shape(o_real), dtype=h_f.dtype)), h_f
        h_r, h_f = self.g_coupled.hvp(self._real_for_g(o_real, ofk), ofk,
                                      None if o_real is None else t_real, t_fake)
        return (None if o_real is None else h_r), h_f

    def d_traced(self, o_real, o_fake):
        """``L_D`` written with :mod:`autograd.numpy` (for the autograd games and tests)."""
        if self.d_coupled is not None:
            return self.d_coupled.traced(o_real, o_fake)
        anp = _anp()
        return anp.mean(self.d_real.traced(o_real), axis=-1) + anp.mean(self.d_fake.traced(o_fake), axis=-1)

    def g_traced(self, o_real, o_fake):
        """``L_G`` written with :mod:`autograd.numpy`; ``o_real`` is not read by a separable loss."""
        if self.g_coupled is not None:
            return self.g_coupled.traced(o_real, o_fake)
        return _anp().mean(self.g_fake.traced(o_fake), axis=-1)

    def expected_d_loss(self, c, p, q) -> float:
        """D's population loss on a finite support: real outputs drawn from the probability
        vector ``p``, fake ones from ``q``, D's output ``c`` at each support point (for a
        paired loss the pairs are independent draws). NotImplementedError for a coupled loss
        that does not state it."""
        c, p, q = (np.asarray(a, dtype=np.float64) for a in (c, p, q))
        if self.d_coupled is None:
            return float(p @ self.d_real.f(c) + q @ self.d_fake.f(c))
        if self.d_coupled.expected is None:
            raise NotImplementedError(f"loss {self.label}: no population form of D's loss")
        return self.d_coupled.expected(c, p, q)

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


def _ce_optimal(label_smooth):
    # D* = (1-a) p / (p + q) (Salimans et al. 2016, Sec. 3.4): logit log((1-a) p) - log(q + a p)
    if not label_smooth:
        return lambda lp, lq: lp - lq
    la = log(label_smooth)
    return lambda lp, lq: log(1 - label_smooth) + lp - np.logaddexp(lq, la + lp)


def _cross_entropy(name: str, label_smooth: float) -> Loss:
    if not 0 <= label_smooth < 1:
        raise ValueError(f"label smoothing must be in [0, 1), got {label_smooth}")
    real = _smoothed_real(label_smooth) if label_smooth else _softplus_el(-1.0)
    fake = _softplus_el(1.0)
    if name == "nonsat":
        g, fast_g = _softplus_el(-1.0), g_loss_nonsat
        div = "KL(p_g || p_data) - KL(p_g || m) + log 2 at D* (m = (p_data + p_g)/2)"
        pens = ("r1", "r2", "gp")
    else:
        g, fast_g = _softplus_el(1.0, -1.0), g_loss_minimax
        div = "Jensen-Shannon: V(D*, G) = -log 4 + 2 JSD (Thm. 1)"
        pens = ("r1", "r2")
    theory = ()
    if not label_smooth:
        theory = (OptimumIdentity("d", "jsd", 2.0, -2 * LOG2, "-min L_D = -log 4 + 2 JSD",
                           "Goodfellow et al. 2014, Prop. 1 and Thm. 1"),)
        if name == "nonsat":
            theory += (OptimumIdentity("g", (("reverse_kl", 1.0), ("kl_q_to_mixture", -1.0)), 1.0, LOG2,
                                "E_q[-log D*] = KL(q||p) - KL(q||m) + log 2",
                                "derived (cf. Arjovsky & Bottou 2017, Thm. 2.5)"),)
    return Loss(name, real, fake, g, {"label_smooth": label_smooth} if label_smooth else {}, "logit",
                _GOODFELLOW + (("; label smoothing: Salimans et al. 2016, Sec. 3.4") if label_smooth else ""),
                div, name == "minimax", None, False, _ce_optimal(label_smooth),
                lambda lr, lf: d_loss_minimax(lr, lf, label_smooth), fast_g, penalties=pens, theory=theory)


@LOSSES.register("nonsat")
def _nonsat(label_smooth: float = 0.0) -> Loss:
    """D: cross-entropy (``softplus(-o)`` on data, ``softplus(o)`` on samples); G:
    ``softplus(-o) = -log D(G(z))`` (Goodfellow et al. 2014, Sec. 3)."""
    return _cross_entropy("nonsat", label_smooth)


@LOSSES.register("minimax")
def _minimax(label_smooth: float = 0.0) -> Loss:
    """D: cross-entropy; G: ``-softplus(o) = log(1 - D(G(z)))`` (Goodfellow et al. 2014, eq. 1)."""
    return _cross_entropy("minimax", label_smooth)


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
    k = (b - a) ** 2
    theory = (OptimumIdentity("d", "triangular_discrimination", k / 8, -k / 4, "-min L_D = (b-a)^2 Delta/8 - (b-a)^2/4",
                       "Mao et al. 2017, eq. 6 (D*); Delta = chi^2_Pearson(p+q || 2q)"),
              OptimumIdentity("g+", "triangular_discrimination", k / 8, (a + b - 2 * c) ** 2 / 4,
                       "C(G) = chi^2_Pearson(p+q || 2q)/2" if pearson else "C(G) = (a+b-2c)^2/4 + (b-a)^2 Delta/8",
                       "Mao et al. 2017, Thm. 1 (eq. 8)" if pearson
                       else "Mao et al. 2017, eq. 7-8 (general a, b, c; derived)"))
    return Loss("ls", _poly2(0.5, -b, 0.5 * b * b), _poly2(0.5, -a, 0.5 * a * a), _poly2(0.5, -c, 0.5 * c * c),
                {"a": a, "b": b, "c": c}, "critic", "Mao et al. 2017, eq. 2 and Theorem 1",
                "Pearson chi^2(p_data + p_g || 2 p_g) = 2 C(G) (Thm. 1)" if pearson
                else "C(G) = 1/2 int ((b-c) p_data + (a-c) p_g)^2 / (p_data + p_g)",
                False, None, True, opt, penalties=("gp",), theory=theory)


@LOSSES.register("hinge")
def _hinge() -> Loss:
    """Hinge loss (Lim & Ye 2017, eq. 12-13; Miyato et al. 2018, eq. 16):
    ``d_real = max(0, 1 - o)``, ``d_fake = max(0, 1 + o)``, ``g_fake = -o``.
    ``D* = sign(p_data - p_g)``, D's loss at D* is ``2 - 2 TV(p_data, p_g)``."""
    return Loss("hinge", _relu_el(-1.0), _relu_el(1.0), _poly2(0.0, -1.0, 0.0), {}, "critic",
                "Lim & Ye 2017 (geometric GAN); Miyato et al. 2018, eq. 16",
                "total variation: min L_D = 2 - 2 TV at D* = sign(p_data - p_g)",
                False, None, True, lambda lp, lq: np.sign(lp - lq),
                theory=(OptimumIdentity("d", "total_variation", 2.0, -2.0, "-min L_D = 2 TV - 2",
                                 "Lim & Ye 2017; D* = sign(p - q) (derived)"),))


@LOSSES.register("wgan")
def _wgan() -> Loss:
    """WGAN (Arjovsky, Chintala & Bottou 2017, eq. 3): ``d_real = -o``, ``d_fake = o``,
    ``g_fake = -o``; the critic must be kept 1-Lipschitz (clipping, or a gradient
    penalty: Gulrajani et al. 2017) -- the loss does not do it. Over 1-Lipschitz
    critics ``max -L_D = W_1(p_data, p_g)`` (Kantorovich-Rubinstein duality)."""
    return Loss("wgan", _poly2(0.0, -1.0, 0.0), _poly2(0.0, 1.0, 0.0), _poly2(0.0, -1.0, 0.0), {}, "critic",
                "Arjovsky, Chintala & Bottou 2017, eq. 2-3", "Wasserstein-1 (Kantorovich-Rubinstein duality)",
                True, None, True, None, penalties=("r1", "r2", "gp"), clip=True,
                theory=(OptimumIdentity("d", "wasserstein1", 1.0, 0.0, "E_p f* - E_q f* = W_1 = int |F_p - F_q|",
                                 "Arjovsky et al. 2017, eq. 2 (Kantorovich-Rubinstein); Vallender 1974"),))


_NOWOZIN = "Nowozin, Cseke & Tomioka 2016, Table 2 (eq. 6: F = E_P[g_f(V)] - E_Q[f*(g_f(V))])"


def _xlogx(u):
    u = np.asarray(u, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(u > 0, u * np.log(np.where(u > 0, u, 1.0)), 0.0)


def _fgan(name, real, fake, fdiv, optimal, activation_text, divergence, scale=1.0) -> Loss:
    """D maximises ``F = E_P[g_f(v)] - E_Q[f*(g_f(v))]`` (so ``d_real = -g_f``,
    ``d_fake = f* o g_f``); G minimises F, of which only ``-E_Q[f*(g_f(v))]``
    depends on G (the saddle-point objective, their eq. 6)."""
    return Loss(name, real, fake, fake.scaled(-1.0), {}, f"v, T = g_f(v) = {activation_text}", _NOWOZIN,
                f"{fdiv.name}: max_T F = D_f(P || Q) at T* = f'(p/q) (eq. 4-5)", True, fdiv, True, optimal,
                theory=(OptimumIdentity("d", divergence, scale, 0.0, f"F(T*) = D_f = {fdiv.name}",
                                 "Nowozin et al. 2016, eq. 4-5 (T* = f'(p/q)) and Table 2"),))


@LOSSES.register("kl")
def _kl() -> Loss:
    """KL f-GAN: ``f(u) = u log u``, ``g_f(v) = v``, ``f*(t) = exp(t - 1)``."""
    fd = FGan(_xlogx, lambda u: 1.0 + np.log(u), lambda t: np.exp(t - 1.0), lambda v: np.asarray(v) * 1.0,
              "Kullback-Leibler KL(P || Q)")
    return _fgan("kl", _poly2(0.0, -1.0, 0.0), _exp_el(1.0, -1.0), fd, lambda lp, lq: 1.0 + (lp - lq), "v", "kl")


@LOSSES.register("reverse-kl")
def _reverse_kl() -> Loss:
    """Reverse-KL f-GAN: ``f(u) = -log u``, ``g_f(v) = -exp(-v)``,
    ``f*(t) = -1 - log(-t)``, so ``f*(g_f(v)) = v - 1``."""
    fd = FGan(lambda u: -np.log(u), lambda u: -1.0 / np.asarray(u), lambda t: -1.0 - np.log(-np.asarray(t)),
              lambda v: -np.exp(-np.asarray(v)), "reverse Kullback-Leibler KL(Q || P)")
    return _fgan("reverse-kl", _exp_el(-1.0, 0.0), _poly2(0.0, 1.0, -1.0), fd, lambda lp, lq: lp - lq, "-exp(-v)",
                 "reverse_kl")


@LOSSES.register("pearson")
def _pearson() -> Loss:
    """Pearson chi^2 f-GAN: ``f(u) = (u - 1)^2``, ``g_f(v) = v``, ``f*(t) = t^2/4 + t``."""
    fd = FGan(lambda u: (np.asarray(u) - 1.0) ** 2, lambda u: 2.0 * (np.asarray(u) - 1.0),
              lambda t: 0.25 * np.asarray(t) ** 2 + t, lambda v: np.asarray(v) * 1.0, "Pearson chi^2(P || Q)")
    return _fgan("pearson", _poly2(0.0, -1.0, 0.0), _poly2(0.25, 1.0, 0.0), fd,
                 lambda lp, lq: 2.0 * np.expm1(lp - lq), "v", "pearson_chi2")


@LOSSES.register("hellinger")
def _hellinger() -> Loss:
    """Squared-Hellinger f-GAN: ``f(u) = (sqrt u - 1)^2``, ``g_f(v) = 1 - exp(-v)``,
    ``f*(t) = t/(1 - t)``, so ``f*(g_f(v)) = exp(v) - 1``."""
    fd = FGan(lambda u: (np.sqrt(u) - 1.0) ** 2, lambda u: 1.0 - 1.0 / np.sqrt(u),
              lambda t: np.asarray(t) / (1.0 - np.asarray(t)), lambda v: -np.expm1(-np.asarray(v)),
              "squared Hellinger int (sqrt p - sqrt q)^2")
    return _fgan("hellinger", _exp_el(-1.0, 0.0, 1.0, -1.0), _exp_el(1.0, 0.0, 1.0, -1.0), fd,
                 lambda lp, lq: 0.5 * (lp - lq), "1 - exp(-v)", "squared_hellinger")


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

    return _fgan("js", shifted(-1.0), shifted(1.0), fd, lambda lp, lq: lp - lq, "log 2 - softplus(-v)", "jsd", 2.0)


_JM19 = ("Jolicoeur-Martineau 2019, \"The relativistic discriminator: a key element missing from standard GAN\", "
         "ICLR")


def _relativistic(name, d_term, g_term, output, doc_source, paired=False, penalties=()) -> Loss:
    return Loss(name, params={}, output=output, source=f"{_JM19}, {doc_source}",
                divergence="a relativistic divergence (Jolicoeur-Martineau 2020, ICML): 0 iff p_data = p_g",
                d_coupled=d_term, g_coupled=g_term, g_reads_real=True, paired=paired, penalties=penalties)


@LOSSES.register("rsgan")
def _rsgan() -> Loss:
    """Relativistic standard GAN (Jolicoeur-Martineau 2019, Sec. 4.1 and Algorithm 1): with
    ``C`` D's output (a logit) and real and fake samples paired i-i,

        L_D = -mean_i log sigma(C(x_r,i) - C(x_f,i)) = mean_i softplus(-(o_r,i - o_f,i)),
        L_G = -mean_i log sigma(C(x_f,i) - C(x_r,i)) = mean_i softplus(o_r,i - o_f,i).

    Needs equal real and fake batch sizes (ValueError otherwise). The paper uses it with a
    gradient penalty (RSGAN-GP, Sec. 5)."""
    return _relativistic("rsgan", _paired(_softplus_el(-1.0), "rsgan"), _paired(_softplus_el(1.0), "rsgan"),
                         "logit", "Sec. 4.1, Algorithm 1", paired=True, penalties=("gp",))


@LOSSES.register("ragan")
def _ragan() -> Loss:
    """Relativistic average standard GAN, RaSGAN (Jolicoeur-Martineau 2019, Sec. 4.2 and
    Algorithm 2): with ``a_i = C(x_r,i) - mean C(x_f)`` and ``b_k = C(x_f,k) - mean C(x_r)``,

        L_D = -mean log sigma(a) - mean log(1 - sigma(b)) = mean softplus(-a) + mean softplus(b),
        L_G = -mean log sigma(b) - mean log(1 - sigma(a)) = mean softplus(-b) + mean softplus(a).

    The paper's code halves both (a constant factor); here the equations as printed.
    Used with a gradient penalty (RaSGAN-GP, Sec. 5)."""
    return _relativistic("ragan", _average(_softplus_el(-1.0), _softplus_el(1.0)),
                         _average(_softplus_el(1.0), _softplus_el(-1.0)), "logit", "Sec. 4.2, Algorithm 2",
                         penalties=("gp",))


@LOSSES.register("ralsgan")
def _ralsgan() -> Loss:
    """Relativistic average least-squares GAN (Jolicoeur-Martineau 2019, Sec. 4.2, eq. for
    RaLSGAN): with ``a``, ``b`` as in ``ragan``,

        L_D = mean (a - 1)^2 + mean (b + 1)^2,   L_G = mean (b - 1)^2 + mean (a + 1)^2.

    D outputs a real value."""
    return _relativistic("ralsgan", _average(_poly2(1.0, -2.0, 1.0), _poly2(1.0, 2.0, 1.0)),
                         _average(_poly2(1.0, 2.0, 1.0), _poly2(1.0, -2.0, 1.0)), "critic", "Sec. 4.2 (RaLSGAN)")


@LOSSES.register("rahinge")
def _rahinge() -> Loss:
    """Relativistic average hinge GAN (Jolicoeur-Martineau 2019, Sec. 4.2, RaHingeGAN): with
    ``a``, ``b`` as in ``ragan``,

        L_D = mean max(0, 1 - a) + mean max(0, 1 + b),   L_G = mean max(0, 1 - b) + mean max(0, 1 + a).

    D outputs a real value; derivatives at the kinks taken as 0."""
    return _relativistic("rahinge", _average(_relu_el(-1.0), _relu_el(1.0)),
                         _average(_relu_el(1.0), _relu_el(-1.0)), "critic", "Sec. 4.2 (RaHingeGAN)")


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


def _theory_options(optimal_d, theory, penalties, clip):
    """The theory a user loss states, as :class:`Loss` keyword arguments."""
    opt = None
    if optimal_d is not None:
        if not callable(optimal_d):
            raise TypeError(f"optimal_d must be a function of the density values (p, q), got {optimal_d!r}")

        def opt(lp, lq):
            return optimal_d(np.exp(lp), np.exp(lq))
    theory = tuple(theory)
    if any(not isinstance(t, OptimumIdentity) for t in theory):
        raise TypeError("theory must be a sequence of losses.OptimumIdentity")
    return dict(_optimal=opt, theory=theory, penalties=tuple(penalties), clip=bool(clip))


def separable(d_real: Callable | None = None, d_fake: Callable | None = None, g_fake: Callable | None = None, *,
              name: str = "custom", output: str = "logit", source: str = "user-defined",
              optimal_d: Callable | None = None, theory=(), penalties=(), clip: bool = False) -> Loss:
    """A user-defined separable loss from elementwise value functions only:
    ``L_D = mean d_real(o_real) + mean d_fake(o_fake)``, ``L_G = mean g_fake(o_fake)``.

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

    The theory the loss states: ``optimal_d(p, q)``, D's optimal output as a function of
    the density values (its identity, and the stationarity of ``p d_real + q d_fake`` there,
    are checked by :func:`gandyn.theory.identities`); ``theory``, :class:`OptimumIdentity` records;
    ``penalties`` and ``clip``, what it is used with (:func:`gandyn.engine.penalties.check_pairing`).

    Returns
    -------
    Loss
        ``zero_sum`` when ``g_fake`` is not given.
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
    return Loss(name, real, fake, gen, {}, output, source, None, "g_fake" not in terms, None, True,
                **_theory_options(optimal_d, theory, penalties, clip))


def _quiet(f):
    def g(*args):
        with warnings.catch_warnings():  # autograd warns when a derivative is constant
            warnings.simplefilter("ignore", UserWarning)
            return f(*args)
    return g


def _dtype(*arrays):
    """The floating dtype of the outputs (float64 for integers)."""
    dt = np.result_type(*(np.asarray(a) for a in arrays))
    return dt if np.issubdtype(dt, np.floating) else np.dtype(np.float64)


def _autograd_term(fun: Callable, who: str, name: str) -> Coupled:
    """A :class:`Coupled` term from a value function of both output vectors: the gradient
    and the Hessian-vector product by autograd (reverse over reverse, O(m) per call).

    Probed once on random outputs (3 real, 3 fake; and a population of 2): the value must
    be one number per model, and autograd's gradient must match central differences
    along a random direction, else TypeError."""
    from autograd import grad

    def total(oo):
        return _anp().sum(fun(oo[0], oo[1]))

    g_both = grad(total)

    def value_grad(o_r, o_f):
        dt = _dtype(o_r, o_f)
        o_r, o_f = np.asarray(o_r, dtype=np.float64), np.asarray(o_f, dtype=np.float64)
        g_r, g_f = _quiet(g_both)((o_r, o_f))
        return (np.asarray(fun(o_r, o_f), dtype=dt), _cast(np.asarray(g_r), o_r.astype(dt)),
                _cast(np.asarray(g_f), o_f.astype(dt)))

    def hvp(o_r, o_f, t_r, t_f):
        dt = _dtype(o_r, o_f)
        o_r, o_f = np.asarray(o_r, dtype=np.float64), np.asarray(o_f, dtype=np.float64)
        tr, tf = _tangent(t_r, o_r).astype(np.float64), _tangent(t_f, o_f).astype(np.float64)
        inner = grad(lambda oo: _anp().sum(g_both(oo)[0] * tr) + _anp().sum(g_both(oo)[1] * tf))
        h_r, h_f = _quiet(inner)((o_r, o_f))
        return _cast(np.asarray(h_r), o_r.astype(dt)), _cast(np.asarray(h_f), o_f.astype(dt))

    rng = np.random.default_rng(12345)
    o_r, o_f, d_r, d_f = (rng.uniform(-1.5, 1.5, 3) for _ in range(4))
    h = 1e-5
    with np.errstate(all="ignore"):
        try:
            v = np.shape(fun(o_r, o_f))
            vp = np.shape(fun(np.stack([o_r, o_r + 0.1]), np.stack([o_f, o_f - 0.1])))
        except Exception as err:  # noqa: BLE001 -- the user's function failed on plain arrays
            raise TypeError(f"{who} of loss {name!r} fails on outputs of shape (3,) and (2, 3) "
                            f"({type(err).__name__}: {err})") from None
        if v != () or vp != (2,):
            raise TypeError(f"{who} of loss {name!r} must return one value per model (a mean over the last axis): "
                            f"got shape {v} for outputs of shape (3,) and {vp} for (2, 3)")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                _, g_r, g_f = value_grad(o_r, o_f)
                fd = (float(fun(o_r + h * d_r, o_f + h * d_f)) - float(fun(o_r - h * d_r, o_f - h * d_f))) / (2 * h)
                hvp(o_r, o_f, d_r, d_f)
        except Exception as err:  # noqa: BLE001 -- any failure here means "not differentiable by autograd"
            raise TypeError(f"{who} of loss {name!r} cannot be differentiated by autograd; write it with "
                            f"autograd.numpy as a function of (o_real, o_fake) ({type(err).__name__}: {err})") from None
    ad = float(np.dot(g_r, d_r) + np.dot(g_f, d_f))
    if not abs(ad - fd) <= 1e-4 * (1.0 + abs(fd)):
        raise TypeError(f"{who} of loss {name!r}: autograd's derivative disagrees with a finite difference "
                        "(a NumPy function autograd cannot trace, e.g. np.where: use autograd.numpy)")
    reads_real = bool(np.any(g_r != 0) or np.any(value_grad(o_r + 0.7, o_f)[1] != 0))
    return Coupled(value_grad, hvp, fun, getattr(fun, "__name__", "user function"), reads_real)


def custom(d_loss: Callable, g_loss: Callable | None = None, *, name: str = "custom", output: str = "logit",
           source: str = "user-defined", paired: bool = False, optimal_d: Callable | None = None, theory=(),
           penalties=(), clip: bool = False) -> Loss:
    """A user-defined loss from D's and G's loss as functions of both output vectors.

    ``d_loss(o_real, o_fake)`` and ``g_loss(o_real, o_fake)`` take D's outputs on a real
    and a generated minibatch (the batch on the last axis, population axes in front) and
    return one value per model (a mean over the last axis); write them with
    :mod:`autograd.numpy`. gandyn forms their gradients w.r.t. both vectors and their
    Hessian-vector products by autograd on the O(m) outputs (the networks' passes stay
    hand-written). ``g_loss`` None is the zero-sum ``-d_loss``. Whether G's loss reads
    the real outputs (:attr:`Loss.g_reads_real`) is found by probing its gradient.
    For elementwise terms, :func:`separable` is the convenient form.

    Parameters
    ----------
    paired : bool
        The functions pair real and fake outputs i-i (G's and D's batches must be equal).
    optimal_d, theory, penalties, clip
        As in :func:`separable`.

    Raises
    ------
    TypeError
        A function that is not callable, does not return one value per model, or that
        autograd cannot differentiate (its derivative disagrees with a central difference).
    """
    for who, fun in (("d_loss", d_loss), ("g_loss", g_loss)):
        if fun is not None and not callable(fun):
            raise TypeError(f"{who} must be a function of (o_real, o_fake), got {type(fun).__name__}")
    d = _autograd_term(d_loss, "d_loss", name)
    zero_sum = g_loss is None
    if zero_sum:
        def g_loss(o_real, o_fake):
            return -d_loss(o_real, o_fake)
    g = _autograd_term(g_loss, "g_loss", name)
    return Loss(name, params={}, output=output, source=source, zero_sum=zero_sum, d_coupled=d, g_coupled=g,
                g_reads_real=g.reads_real, paired=bool(paired), **_theory_options(optimal_d, theory, penalties, clip))
