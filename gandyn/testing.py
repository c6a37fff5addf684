"""A kit for property tests of GAN code, yours or gandyn's (imports hypothesis; not
imported by ``import gandyn``).

- :func:`check_loss` runs the properties every GAN loss must have on a gandyn loss or on
  plain functions of D's outputs (a loss written in NumPy), and fails with a
  :class:`LossCheckError` naming the property, a one-line reason, the shrunk counterexample
  and the source of the expected identity; :func:`loss_test` makes a pytest test of it.
- Hypothesis strategies: D's outputs (:func:`outputs`, :func:`output_pairs`), parameters of
  an engine MLP (:func:`mlp_params`), points and directions of a game (:func:`game_points`,
  :func:`game_directions`, :func:`directions`), 1-D distributions with known densities
  (:func:`distributions1d`, :func:`distribution_pairs`, ...), bounded discriminators.

Every strategy is bounded: locations, scales and widths come from finite
intervals, so nothing unbounded ever reaches ``exp``. Use them in your own tests::

    from hypothesis import given
    from gandyn.testing import distributions1d
    from gandyn import theory

    @given(distributions1d(), distributions1d())
    def test_jsd_is_symmetric(p, q):
        assert abs(theory.jsd(p, q).value - theory.jsd(q, p).value) < 1e-9

>>> from hypothesis import given, settings
>>> from gandyn import theory
>>> @settings(max_examples=5, deadline=None)
... @given(normals())
... def check(p):
...     assert abs(theory.jsd(p, p).value) < 1e-12
>>> check()

"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gandyn.distributions import Mixture, Normal, Uniform

__all__ = ["normals", "uniforms", "simplex_weights", "mixtures", "distributions1d", "distribution_pairs",
           "BoundedFunction", "discriminators", "probabilities", "outputs", "output_pairs", "mlp_params",
           "directions", "game_points", "game_directions",
           "check_loss", "loss_test", "LossCheckError", "LossCheckReport", "PROPERTIES"]


def _float(lo, hi):
    return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)


def normals(loc=(-4.0, 4.0), scale=(0.2, 3.0)) -> st.SearchStrategy[Normal]:
    """``Normal(loc, scale)`` with loc and scale drawn from the given closed intervals."""
    return st.builds(Normal, _float(*loc), _float(*scale))


def uniforms(low=(-4.0, 4.0), width=(0.2, 4.0)) -> st.SearchStrategy[Uniform]:
    """``Uniform(low, low + width)``."""
    return st.builds(lambda a, w: Uniform(a, a + w), _float(*low), _float(*width))


def simplex_weights(k: int, min_weight: float = 0.01) -> st.SearchStrategy[list[float]]:
    """``k`` weights, each >= ``min_weight / k``-ish, summing to 1 (normalised draws)."""
    return st.lists(_float(min_weight, 1.0), min_size=k, max_size=k).map(
        lambda w: list(np.asarray(w) / np.sum(w)))


def mixtures(components=None, max_components: int = 3) -> st.SearchStrategy[Mixture]:
    """A mixture of 1 to ``max_components`` components (normals or uniforms by default)
    with weights on the simplex."""
    comp = components if components is not None else st.one_of(normals(), uniforms())
    return st.integers(1, max_components).flatmap(
        lambda k: st.builds(Mixture, st.lists(comp, min_size=k, max_size=k), simplex_weights(k)))


def distributions1d() -> st.SearchStrategy:
    """Any bounded 1-D distribution here: normal, uniform or mixture."""
    return st.one_of(normals(), uniforms(), mixtures())


class BoundedFunction:
    """``D(x) = sigma(c + sum_j a_j cos(w_j x + phi_j))`` with ``|c| + sum |a_j| <= max_logit``:
    a smooth discriminator with values in ``[sigma(-max_logit), sigma(max_logit)]``."""

    def __init__(self, c, a, w, phi):
        self.c, self.a, self.w, self.phi = float(c), np.asarray(a), np.asarray(w), np.asarray(phi)

    def logit(self, x):
        x = np.asarray(x, dtype=np.float64)
        return self.c + np.cos(np.multiply.outer(x, self.w) + self.phi) @ self.a

    def __call__(self, x):
        return 1.0 / (1.0 + np.exp(-self.logit(x)))

    def __repr__(self):
        return f"BoundedFunction(c={self.c:.3g}, a={self.a.round(3).tolist()}, w={self.w.round(3).tolist()})"


def discriminators(max_logit: float = 8.0, terms: int = 3) -> st.SearchStrategy[BoundedFunction]:
    """Discriminators as bounded functions of x (see :class:`BoundedFunction`)."""
    share = max_logit / (terms + 1)
    return st.builds(BoundedFunction, _float(-share, share),
                     st.lists(_float(-share, share), min_size=terms, max_size=terms),
                     st.lists(_float(0.0, 3.0), min_size=terms, max_size=terms),
                     st.lists(_float(0.0, 2 * np.pi), min_size=terms, max_size=terms))


def probabilities(margin: float = 0.0) -> st.SearchStrategy[float]:
    """A number in ``[margin, 1 - margin]``."""
    return _float(margin, 1.0 - margin)


# --- arrays of D's outputs, parameters, points of a game


def _array(shape, bound: float, dtype=np.float64):
    width = 32 if np.dtype(dtype) == np.float32 else 64
    return hnp.arrays(np.dtype(dtype), shape, elements=st.floats(-bound, bound, allow_nan=False,
                                                                  allow_infinity=False, width=width))


def _lead(population) -> st.SearchStrategy[tuple]:
    """Population axes: a fixed shape (tuple) or ``k`` axes of sizes 1 to 3 (int)."""
    if isinstance(population, (int, np.integer)) and not isinstance(population, bool):
        if population < 0:
            raise ValueError(f"population must be a shape or a number of axes >= 0, got {population}")
        return st.lists(st.integers(1, 3), min_size=int(population), max_size=int(population)).map(tuple)
    return st.just(tuple(int(s) for s in population))


def _sizes(batch) -> tuple[int, int]:
    lo, hi = (batch, batch) if isinstance(batch, (int, np.integer)) else batch
    if not 1 <= lo <= hi:
        raise ValueError(f"batch sizes must satisfy 1 <= lo <= hi, got {batch!r}")
    return int(lo), int(hi)


def outputs(batch=(1, 4), population=(), bound: float = 8.0,
            dtype=np.float64) -> st.SearchStrategy[np.ndarray]:
    """Arrays of D's outputs (logits, critic values, an f-GAN's ``v``), every entry in
    ``[-bound, bound]``.

    Parameters
    ----------
    batch : int or (int, int)
        The minibatch size ``m`` (the last axis), fixed or drawn from ``[lo, hi]``.
    population : tuple of int, or int
        Population axes in front: a fixed shape, or a number of axes of sizes 1 to 3.
    bound : float
        ``|o| <= bound``; keep it moderate for losses that grow like ``exp(o)``.
    dtype : float64 or float32

    Returns
    -------
    strategy of arrays ``population + (m,)``

    >>> from hypothesis import find
    >>> find(outputs(batch=3, population=(2,)), lambda o: True).shape
    (2, 3)
    """
    lo, hi = _sizes(batch)
    return st.tuples(_lead(population), st.integers(lo, hi)).flatmap(
        lambda s: _array(s[0] + (s[1],), bound, dtype))


def output_pairs(batch=(1, 4), population=(), bound: float = 8.0, paired: bool = False,
                 dtype=np.float64) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    """Pairs ``(o_real, o_fake)`` of D's outputs on a real and a generated minibatch, as
    :meth:`gandyn.engine.losses.Loss.d_loss` takes them: the same population axes, batch
    sizes ``m_real``, ``m_fake`` drawn independently (equal when ``paired``, as the
    i-i paired losses need), entries in ``[-bound, bound]``. Parameters as :func:`outputs`.
    """
    lo, hi = _sizes(batch)

    def both(s):
        lead, m_r, m_f = s
        return st.tuples(_array(lead + (m_r,), bound, dtype), _array(lead + (m_r if paired else m_f,), bound, dtype))

    return st.tuples(_lead(population), st.integers(lo, hi), st.integers(lo, hi)).flatmap(both)


def mlp_params(net, bound: float = 1.0, population: int | None = None,
               scheme: str | None = None) -> st.SearchStrategy[np.ndarray]:
    """Flat parameter vectors of an engine MLP (:class:`gandyn.engine.nn.MLP`).

    Parameters
    ----------
    net : MLP
    bound : float
        With ``scheme`` None, every entry is drawn in ``[-bound, bound]`` (small nets: the
        shrunk counterexample is a readable vector). A batch-normalised layer's ``gamma``
        is drawn in ``[bound/10, bound]`` (a zero scale makes the layer constant).
    population : int or None
        ``P`` models at once, shape ``(P, n_params)``.
    scheme : str or None
        An initialiser of :data:`gandyn.engine.nn.INITIALIZERS` (``'xavier_talk'``,
        ``'glorot_uniform'``, ...): ``net.init(seed, scheme)`` times a factor in
        ``[0.1, bound]``, for nets too large to draw entry by entry.

    Returns
    -------
    strategy of arrays ``(n_params,)`` or ``(P, n_params)`` of ``net.dtype``
    """
    lead = () if population is None else (int(population),)
    if scheme is not None:
        return st.tuples(st.integers(0, 2 ** 32 - 1), _float(0.1, max(bound, 0.1))).map(
            lambda s: (s[1] * net.init(s[0], scheme, population)).astype(net.dtype))

    def positive_scales(theta):
        if net.batch_norm is not None:
            views = net.layout.views(theta)
            for l, bn in enumerate(net.batch_norm, start=1):
                if bn:
                    g = views[f"gamma{l}"]
                    g[...] = np.maximum(np.abs(g), bound / 10)
        return theta

    return _array(lead + (net.n_params,), bound, net.dtype).map(positive_scales)


def directions(n: int) -> st.SearchStrategy[np.ndarray]:
    """Unit vectors of ``R^n`` (float64): bounded draws, normalised; the zero draw is
    replaced by the first basis vector."""
    def unit(v):
        norm = np.linalg.norm(v)
        if norm < 1e-6:
            v = np.zeros(n)
            v[0] = 1.0
            return v
        return v / norm

    return _array((int(n),), 1.0).map(unit)


def game_points(game, bound: float = 2.0, near=None, radius: float = 0.5) -> st.SearchStrategy[np.ndarray]:
    """Points ``z = (theta_G, theta_D)`` of a game (:class:`gandyn.games.Game`), shape ``(n,)``.

    Parameters
    ----------
    game : Game
    bound : float
        Entries in ``[-bound, bound]`` when ``near`` is None.
    near : str or array or None
        A point to draw around: a name of ``game.points`` (an equilibrium) or an array
        ``(n,)``; the draws are ``near + r`` with ``|r_i| <= radius``.

    Raises
    ------
    ValueError
        An unknown point name, or a point of the wrong size.

    >>> from hypothesis import find
    >>> from gandyn import games
    >>> g = games.dirac_gan()
    >>> find(game_points(g, near="equilibrium"), lambda z: True).shape
    (2,)
    """
    if near is None:
        return _array((game.n,), bound)
    if isinstance(near, str):
        if near not in game.points:
            raise ValueError(f"game {game.name!r} has no point {near!r}; named points: "
                             f"{', '.join(game.points) or 'none'}")
        near = game.points[near]
    center = np.asarray(near, dtype=np.float64).reshape(-1)
    if center.shape != (game.n,):
        raise ValueError(f"a point of game {game.name!r} has {game.n} entries, got {center.size}")
    return _array((game.n,), radius).map(lambda r: center + r)


def game_directions(game) -> st.SearchStrategy[np.ndarray]:
    """Unit directions in a game's joint parameter space, shape ``(n,)`` (:func:`directions`)."""
    return directions(game.n)


def distribution_pairs(scale=(0.8, 1.1), loc=(-1.5, 1.5), max_components: int = 2,
                       min_shift: float = 0.25) -> st.SearchStrategy[tuple]:
    """Pairs ``(p_data, p_g)`` of 1-D normals or normal mixtures (known densities) between
    which every divergence of :data:`gandyn.theory.DIVERGENCES` is finite, with means at
    least ``min_shift`` apart (so even the first draw tells an identity from a wrong one).

    All component scales lie in ``scale``: with a ratio below ``sqrt 2`` the Pearson
    ``chi^2 = int p^2/q - 1`` is finite (``p^2/q`` decays iff ``sigma_p^2 < 2 sigma_q^2``),
    and KL, reverse KL, Hellinger, JSD, TV and ``W_1`` are finite for any two normals.
    """
    if not (0 < scale[0] <= scale[1] < np.sqrt(2) * scale[0]):
        raise ValueError(f"scale must be (lo, hi) with 0 < lo <= hi < sqrt(2) lo, got {scale!r}")
    comp = normals(loc=loc, scale=scale)
    one = st.one_of(comp, mixtures(comp, max_components)) if max_components > 1 else comp
    return st.tuples(one, one).filter(lambda pq: abs(pq[0].mean() - pq[1].mean()) >= min_shift)


# --- check_loss: the properties every GAN loss must satisfy


class LossCheckError(AssertionError):
    """A GAN loss failed a property of :func:`check_loss`.

    The message's first line is ``<loss>: <property>: <reason>``; then the counterexample
    (shrunk by hypothesis) and the source of the identity that was expected.

    Attributes
    ----------
    loss, property, reason, example, source : str
    """

    def __init__(self, loss: str, prop: str, reason: str, example: str = "", source: str = ""):
        self.loss, self.property, self.reason, self.example, self.source = loss, prop, reason, example, source
        lines = [f"{loss}: {prop}: {reason}"]
        if example:
            lines.append(f"  counterexample (shrunk): {example}")
        if source:
            lines.append(f"  expected by: {source}")
        super().__init__("\n".join(lines))


class _Falsified(Exception):
    """Raised inside a property on a counterexample; hypothesis shrinks it."""

    def __init__(self, reason: str, example: dict):
        super().__init__(reason)
        self.reason, self.example = reason, example


@dataclass(frozen=True)
class LossCheckReport:
    """What :func:`check_loss` verified: ``passed`` (property names, in order) and ``skipped``
    (property name -> why it did not apply)."""

    loss: str
    passed: tuple
    skipped: dict

    def __str__(self) -> str:
        lines = [f"{self.loss}: {len(self.passed)} properties hold"]
        lines += [f"  ok    {p}" for p in self.passed]
        lines += [f"  skip  {p} ({why})" for p, why in self.skipped.items()]
        return "\n".join(lines)


#: The properties of :func:`check_loss`, in the order they run, with the source each one cites.
PROPERTIES = {
    "shapes": "a loss of a minibatch is one number per model (a mean over the last axis); "
              "gradients have the outputs' shapes",
    "population axes": "models of a population are independent: a leading axis is a stack of models",
    "mean over the minibatch": "a minibatch loss estimates an expectation, so it is a mean "
                               "(Goodfellow et al. 2014, Algorithm 1: the sums carry 1/m)",
    "sign convention (D)": "D's output is higher on data (D = sigma(o) is the probability of 'real', "
                           "Goodfellow et al. 2014, eq. 1) and D minimises its loss",
    "sign convention (G)": "G wants D to call its samples real: where D cannot tell (o_real = o_fake), "
                           "raising D's outputs on samples does not raise G's loss",
    "zero-sum": "G minimises what D maximises (Goodfellow et al. 2014, eq. 1): L_G = -(D's fake term) "
                "up to a term G cannot change",
    "separable": "the pointwise optimum needs L_D = mean d_real(o_real) + mean d_fake(o_fake) "
                 "(Goodfellow et al. 2014, Prop. 1's argument)",
    "optimal D": "D's loss is minimised pointwise: o*(x) minimises p d_real(o) + q d_fake(o) "
                 "(Goodfellow et al. 2014, Prop. 1's argument)",
    "divergence": "the value at the optimum, -min_D L_D, is the loss's divergence (by quadrature)",
    "gradient (D)": "the derivative, against central differences in a random direction",
    "gradient (G)": "the derivative, against central differences in a random direction",
    "descent (D)": "each player minimises its loss: a small step along minus its gradient lowers it",
    "descent (G)": "each player minimises its loss: a small step along minus its gradient lowers it",
    "Hessian-vector product (D)": "the derivative of the gradient, against central differences",
    "Hessian-vector product (G)": "the derivative of the gradient, against central differences",
}


def _fmt(x) -> str:
    if isinstance(x, np.ndarray):
        return np.array2string(x, precision=6, separator=", ", suppress_small=False, max_line_width=10 ** 6)
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.6g}"
    return repr(x)


def _example_text(example: dict) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in example.items())


def _describe(ex) -> dict:
    """A raw draw of :func:`check_loss`'s strategies, named where it is a pair of outputs."""
    def is_pair(a):
        return isinstance(a, tuple) and len(a) == 2 and all(isinstance(x, np.ndarray) for x in a)

    if is_pair(ex):
        return {"o_real": ex[0], "o_fake": ex[1]}
    if isinstance(ex, tuple) and ex and is_pair(ex[0]):
        return {"o_real": ex[0][0], "o_fake": ex[0][1], **{f"arg{i}": x for i, x in enumerate(ex[1:], 1)}}
    return {"example": ex}


class _Subject:
    """A loss as :func:`check_loss` sees it: D's and G's loss as functions of
    ``(o_real, o_fake)`` returning ``(value, g_real or None, g_fake or None)``, and the
    theory it states."""

    def __init__(self, name, d, g, d_grads, g_grads, *, d_hvp=None, g_hvp=None, optimal=None, specs=(),
                 zero_sum=False, paired=False, population=False, source="", loss=None):
        self.name, self.d, self.g = name, d, g
        self.d_grads, self.g_grads = d_grads, g_grads
        self.d_hvp, self.g_hvp = d_hvp, g_hvp
        self.optimal, self.specs, self.zero_sum = optimal, tuple(specs), bool(zero_sum)
        self.paired, self.population, self.source, self.loss = bool(paired), bool(population), source, loss


def _wrap_user(fun, who: str, one_arg: bool):
    """``fun`` as ``(o_real, o_fake) -> (value, g_real, g_fake)`` (gradients None when it
    returns a value only)."""
    def call(o_r, o_f):
        out = fun(o_f) if one_arg else fun(o_r, o_f)
        if isinstance(out, (tuple, list)):
            if one_arg and len(out) == 2:
                return np.asarray(out[0], dtype=np.float64), None, np.asarray(out[1], dtype=np.float64)
            if not one_arg and len(out) == 3:
                return (np.asarray(out[0], dtype=np.float64),
                        None if out[1] is None else np.asarray(out[1], dtype=np.float64),
                        np.asarray(out[2], dtype=np.float64))
            want = "(value, dL/do_fake)" if one_arg else "(value, dL/do_real, dL/do_fake)"
            raise TypeError(f"{who} returned a tuple of {len(out)}; expected a value or {want}")
        return np.asarray(out, dtype=np.float64), None, None
    return call


def _one_arg(fun) -> bool:
    """Whether ``fun`` takes D's fake outputs only: exactly one positional parameter without a
    default (``g_loss(o_fake)``, ``g_loss(o_fake, scale=1.0)``)."""
    import inspect

    try:
        params = inspect.signature(fun).parameters.values()
    except (TypeError, ValueError):
        return False
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    required = [p for p in params if p.kind in kinds and p.default is inspect.Parameter.empty]
    return len(required) == 1 and not any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in params)


def _subject(d_loss, g_loss, *, name, optimal_d, theory, zero_sum, like, paired, population) -> _Subject:
    from gandyn.engine import losses as _losses

    if isinstance(d_loss, (str, _losses.Loss)):
        if g_loss is not None or optimal_d is not None or theory or zero_sum is not None or like is not None:
            raise ValueError("a gandyn Loss states its own G loss and theory; pass g_loss, optimal_d, theory, "
                             "zero_sum and like only with plain functions")
        L = _losses.get(d_loss)
        return _Subject(name or L.label, L.d_loss, L.g_loss, True, True, d_hvp=L.d_hvp, g_hvp=L.g_hvp,
                        optimal=L.optimal_d_log if L.has_optimal_d else None, specs=L.theory,
                        zero_sum=L.zero_sum, paired=L.paired if paired is None else paired,
                        population=True if population is None else population, source=L.source, loss=L)
    if not callable(d_loss):
        raise TypeError(f"d_loss must be a gandyn Loss, a registered loss name or a function of "
                        f"(o_real, o_fake), got {type(d_loss).__name__}")
    if g_loss is not None and not callable(g_loss):
        raise TypeError(f"g_loss must be a function of (o_real, o_fake) or of o_fake, got {type(g_loss).__name__}")
    ref = None if like is None else _losses.get(like)
    opt = None
    if optimal_d is not None:
        if not callable(optimal_d):
            raise TypeError(f"optimal_d must be a function of the density values (p, q), got {optimal_d!r}")

        def opt(lp, lq):
            with np.errstate(over="ignore"):
                return optimal_d(np.exp(lp), np.exp(lq))
    elif ref is not None and ref.has_optimal_d:
        opt = ref.optimal_d_log
    specs = tuple(theory) if theory else (ref.theory if ref is not None else ())
    if any(not isinstance(s, _losses.OptimumIdentity) for s in specs):
        raise TypeError("theory must be a sequence of gandyn.engine.losses.OptimumIdentity")
    if zero_sum is None:
        zero_sum = ref.zero_sum if ref is not None else False
    d = _wrap_user(d_loss, "d_loss", False)
    g = None if g_loss is None else _wrap_user(g_loss, "g_loss", _one_arg(g_loss))
    probe = (np.array([0.25, -0.5]), np.array([0.75, -0.125]))
    grads = []
    for who, f in (("d_loss", d), ("g_loss", g)):
        if f is None:
            grads.append(False)
            continue
        try:
            with np.errstate(all="ignore"):
                grads.append(f(*probe)[2] is not None)
        except Exception as err:  # noqa: BLE001 -- the user's function failed: reported, not raised
            raise LossCheckError(name or getattr(d_loss, "__name__", "loss"), "shapes",
                                 f"{who} raised {type(err).__name__}: {(str(err).splitlines() or [''])[0]}",
                                 _example_text({"o_real": probe[0], "o_fake": probe[1]}), PROPERTIES["shapes"]) from None
    return _Subject(name or getattr(d_loss, "__name__", "user loss"), d, g, grads[0], grads[1], optimal=opt,
                    specs=specs, zero_sum=zero_sum,
                    paired=(ref.paired if ref is not None else False) if paired is None else paired,
                    population=bool(population), source=("as stated for " + ref.label + ": " + ref.source)
                    if ref is not None else "as stated by the caller", loss=None)


def _settings(max_examples: int):
    from hypothesis import HealthCheck, Phase, Verbosity, settings

    return settings(max_examples=max_examples, deadline=None, database=None, derandomize=False,
                    suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
                    phases=(Phase.explicit, Phase.generate, Phase.shrink), print_blob=False,
                    report_multiple_bugs=False)


def _run(subject, prop, strategy, body, max_examples, seed, source=None):
    """Run ``body(example)`` on ``strategy``'s draws; on a counterexample raise
    :class:`LossCheckError` with hypothesis's shrunk example. Returns False if hypothesis
    found no valid example (every draw rejected)."""
    from hypothesis import given, seed as hseed
    from hypothesis.errors import Unsatisfiable, UnsatisfiedAssumption

    @hseed(seed)
    @_settings(max_examples)
    @given(strategy)
    def prop_test(example):
        try:
            body(example)
        except (_Falsified, UnsatisfiedAssumption):
            raise
        except Exception as err:  # noqa: BLE001 -- a user's function raised: a counterexample
            first = (str(err).splitlines() or [""])[0]
            raise _Falsified(f"raised {type(err).__name__}: {first}", _describe(example)) from None

    try:
        prop_test()
    except _Falsified as f:
        raise LossCheckError(subject.name, prop, f.reason, _example_text(f.example),
                             source or PROPERTIES[prop]) from None
    except Unsatisfiable:
        return False
    return True


def _assume(cond):
    from hypothesis import assume

    assume(bool(cond))


def _pairs(subject, bound, batch=(1, 4)):
    return output_pairs(batch=batch, bound=bound, paired=subject.paired)


def _eval(f, o_r, o_f, who):
    """``f(o_r, o_f)`` as float64 arrays, with a one-line reason when it is not finite."""
    with np.errstate(all="ignore"):
        v, g_r, g_f = f(np.array(o_r, dtype=np.float64), np.array(o_f, dtype=np.float64))
    return v, g_r, g_f


def _close(a, b, rtol, atol=0.0) -> bool:
    return bool(np.all(np.abs(np.asarray(a) - np.asarray(b)) <= atol + rtol * np.maximum(np.abs(a), np.abs(b))))


def _players(subject):
    out = [("D", "d_loss", subject.d, subject.d_grads, subject.d_hvp)]
    if subject.g is not None:
        out.append(("G", "g_loss", subject.g, subject.g_grads, subject.g_hvp))
    return out


# -- the properties


def _shapes(subject, ex):
    o_r, o_f = ex
    for _, who, f, grads, _ in _players(subject):
        v, g_r, g_f = _eval(f, o_r, o_f, who)
        e = {"o_real": o_r, "o_fake": o_f}
        if v.shape != ():
            raise _Falsified(f"{who} returns shape {v.shape} for outputs of shape {o_r.shape} and {o_f.shape}: "
                             "one value per model expected (a mean over the minibatch axis)", e)
        if not np.isfinite(v):
            raise _Falsified(f"{who} is not finite ({float(v)})", e)
        for g, o, what in ((g_r, o_r, "dL/do_real"), (g_f, o_f, "dL/do_fake")):
            if g is None:
                continue
            if g.shape != o.shape:
                raise _Falsified(f"{who}'s {what} has shape {g.shape}, the outputs {o.shape}", e)
            if not np.all(np.isfinite(g)):
                raise _Falsified(f"{who}'s {what} is not finite", e)


def _population(subject, ex):
    (a_r, a_f), (b_r, b_f) = ex
    e = {"o_real": np.stack([a_r, b_r]), "o_fake": np.stack([a_f, b_f])}
    for _, who, f, grads, _ in _players(subject):
        v, g_r, g_f = _eval(f, e["o_real"], e["o_fake"], who)
        one = [_eval(f, r, q, who) for r, q in ((a_r, a_f), (b_r, b_f))]
        if v.shape != (2,):
            raise _Falsified(f"{who} returns shape {v.shape} for a population of 2 models: one value per model "
                             "expected (mean over the last axis only)", e)
        if not _close(v, [one[0][0], one[1][0]], 1e-12, 1e-13):
            raise _Falsified(f"{who} of a population differs from the models' own values: {_fmt(v)} vs "
                             f"{_fmt(np.array([one[0][0], one[1][0]]))}", e)
        for i, what in ((1, "dL/do_real"), (2, "dL/do_fake")):
            g = (g_r, g_f)[i - 1]
            if g is None or one[0][i] is None:
                continue
            if not _close(g, np.stack([one[0][i], one[1][i]]), 1e-12, 1e-13):
                raise _Falsified(f"{who}'s {what} of a population differs from the models' own", e)


def _batch_mean(subject, ex):
    (o_r, o_f), k = ex
    t_r, t_f = np.tile(o_r, k), np.tile(o_f, k)
    e = {"o_real": o_r, "o_fake": o_f, "copies": k}
    for _, who, f, grads, _ in _players(subject):
        v, g_r, g_f = _eval(f, o_r, o_f, who)
        w, h_r, h_f = _eval(f, t_r, t_f, who)
        if not _close(w, v, 1e-10, 1e-12):
            ratio = float(w / v) if v != 0 else np.inf
            hint = (f": {who}(copies) / {who} = {ratio:.6g}, the number of copies -- a sum where the mean is "
                    "needed (missing 1/m)" if abs(ratio - k) < 1e-6 * k else "")
            raise _Falsified(f"{who} changes when the minibatch is repeated {k} times: {_fmt(v)} -> {_fmt(w)}"
                             + hint, e)
        for g, h, what in ((g_r, h_r, "dL/do_real"), (g_f, h_f, "dL/do_fake")):
            if g is None or h is None:
                continue
            if not _close(h, np.tile(g, k) / k, 1e-10, 1e-13):
                raise _Falsified(f"{who}'s {what} on the minibatch repeated {k} times is not the repeated "
                                 f"gradient divided by {k} (the 1/m of a mean)", e)


def _indifferent(subject):
    """D's output where it cannot tell data from samples: its optimum at ``p = q``, if stated."""
    if subject.optimal is None:
        return None
    with np.errstate(all="ignore"):
        c = float(np.asarray(subject.optimal(np.float64(0.0), np.float64(0.0))))
    return c if np.isfinite(c) else None


def _slope(f, c, m_r, m_f, sign_r, sign_f, t=1e-3):
    """``d/dt f(c + sign_r t, c + sign_f t)`` by a central difference, and the curvature."""
    def at(s):
        return float(f(np.full(m_r, c + sign_r * s), np.full(m_f, c + sign_f * s))[0])

    with np.errstate(all="ignore"):
        up, mid, down = at(t), at(0.0), at(-t)
        wide = (at(0.1) + at(-0.1) - 2 * mid) / 0.01
    return (up - down) / (2 * t), mid, wide


def _sign_d(subject, ex):
    c, m_r, m_f = ex
    s, mid, curv = _slope(subject.d, c, m_r, m_f, 1.0, -1.0)
    if not s < -1e-8 * (1.0 + abs(mid)):
        e = {"o_real": np.full(m_r, c), "o_fake": np.full(m_f, c)}
        hint = ("D's loss is concave here: the sign of its value?" if curv < -1e-6 else
                "real and fake terms swapped?" if curv > 1e-6 else "real and fake terms swapped, or the value's sign?")
        raise _Falsified(f"D's loss does not fall when D raises its outputs on data and lowers them on samples "
                         f"(slope {s:.6g} >= 0 at o_real = o_fake = {c:.6g}): {hint}", e)


def _sign_g(subject, ex):
    c, m_r, m_f = ex
    s, mid, _ = _slope(subject.g, c, m_r, m_f, -1.0, 1.0)
    if s > 1e-8 * (1.0 + abs(mid)):
        e = {"o_real": np.full(m_r, c), "o_fake": np.full(m_f, c)}
        raise _Falsified(f"G's loss rises when D's outputs on samples rise (slope {s:.6g} > 0 at o_real = o_fake "
                         f"= {c:.6g}, where D cannot tell them apart): the sign of G's loss?", e)


def _zero_sum(subject, ex):
    (o_r, o_f), w = ex
    o_f2 = np.clip(o_f + w[: o_f.size], -1e3, 1e3)
    e = {"o_real": o_r, "o_fake": o_f, "o_fake'": o_f2}
    vd, _, gd_f = _eval(subject.d, o_r, o_f, "d_loss")
    vg, _, gg_f = _eval(subject.g, o_r, o_f, "g_loss")
    vd2, _, _ = _eval(subject.d, o_r, o_f2, "d_loss")
    vg2, _, _ = _eval(subject.g, o_r, o_f2, "g_loss")
    dd, dg = float(vd2 - vd), float(vg2 - vg)
    scale = 1e-9 * (1.0 + abs(vd) + abs(vg) + abs(vd2) + abs(vg2))
    if abs(dd + dg) > scale:
        hint = (": G's loss equals +D's fake term, not minus it (G would help D)" if abs(dd - dg) <= scale
                else "")
        raise _Falsified(f"L_G + L_D changes with o_fake ({_fmt(vg + vd)} -> {_fmt(vg2 + vd2)}): G's loss is not "
                         f"minus D's fake term{hint}", e)
    if gd_f is not None and gg_f is not None and not _close(gg_f, -gd_f, 1e-9, 1e-12):
        raise _Falsified("G's loss is not minus D's fake term: dL_G/do_fake differs from -dL_D/do_fake", e)


class _Terms:
    """D's pointwise terms from its loss at batch size 1: ``d_real(o) = L_D([o], [0]) - L_D([0], [0])/2``
    and ``d_fake(o) = L_D([0], [o]) - L_D([0], [0])/2`` (the split of the constant between them
    cancels in ``int p d_real + q d_fake``: both densities integrate to 1); G's ``g_fake(o) = L_G([0], [o])``."""

    def __init__(self, subject):
        self.s = subject
        z = np.zeros(1)
        self.c0 = float(subject.d(z, z)[0])

    def _v(self, f, o_r, o_f):
        with np.errstate(all="ignore"):
            return float(f(np.array([o_r], dtype=np.float64), np.array([o_f], dtype=np.float64))[0])

    def d_real(self, o):
        return np.vectorize(lambda t: self._v(self.s.d, t, 0.0) - 0.5 * self.c0, otypes=[np.float64])(o)

    def d_fake(self, o):
        return np.vectorize(lambda t: self._v(self.s.d, 0.0, t) - 0.5 * self.c0, otypes=[np.float64])(o)

    def g_fake(self, o):
        return np.vectorize(lambda t: self._v(self.s.g, 0.0, t), otypes=[np.float64])(o)


def _separable(subject, terms, ex):
    o_r, o_f = ex
    v = float(_eval(subject.d, o_r, o_f, "d_loss")[0])
    w = float(np.mean(terms.d_real(o_r)) + np.mean(terms.d_fake(o_f)))
    if abs(v - w) > 1e-9 * (1.0 + abs(v)):
        raise _Falsified(f"L_D = {v:.10g} but mean d_real(o_real) + mean d_fake(o_fake) = {w:.10g}: D's loss couples "
                         "real and fake outputs, so no pointwise optimal D applies", {"o_real": o_r, "o_fake": o_f})


def _optimal_d(subject, terms, ex):
    lp, lq, delta = ex
    p, q = np.exp(lp), np.exp(lq)
    with np.errstate(all="ignore"):
        o = float(np.asarray(subject.optimal(np.float64(lp), np.float64(lq))))
    e = {"p": p, "q": q, "o*": o, "delta": delta}
    if not np.isfinite(o):
        raise _Falsified(f"the stated optimal D is not finite ({o}) at p = {p:.6g}, q = {q:.6g}", e)

    def phi(t):
        return p * float(terms.d_real(t)) + q * float(terms.d_fake(t))

    f0, up, down = phi(o), phi(o + delta), phi(o - delta)
    tol = 1e-9 * (1.0 + abs(f0))
    if up < f0 - tol or down < f0 - tol:
        kind = ("a maximum, not a minimum, of p d_real + q d_fake: the sign of D's loss?"
                if up < f0 - tol and down < f0 - tol else "not the minimiser of p d_real(o) + q d_fake(o)")
        better = o + delta if up < down else o - delta
        raise _Falsified(f"the stated D* = {o:.6g} at p = {p:.6g}, q = {q:.6g} is {kind} (value {f0:.10g}; "
                         f"{min(up, down):.10g} at o = {better:.6g})", e)


def _theory_loss(subject, terms):
    """A gandyn Loss made of the subject's pointwise terms, for :func:`gandyn.theory.identities`."""
    from gandyn.engine import losses as _losses

    def el(f):
        return _losses.Elementwise(f, _unavailable, _unavailable, _unavailable, "user term")

    g = el(terms.g_fake if subject.g is not None else (lambda o: np.zeros_like(np.asarray(o, dtype=float))))
    return _losses.Loss(subject.name, el(terms.d_real), el(terms.d_fake), g, _optimal=subject.optimal,
                        theory=subject.specs, check_finite=False)


def _unavailable(o):
    raise NotImplementedError("not needed by the identities of D's value at the optimum")


def _divergence(subject, identity, ex):
    from gandyn.theory import evaluate_identity

    p, q = ex
    r = evaluate_identity(identity, p, q)
    if not r["finite"]:
        return
    tol = 1e-7 * (1.0 + abs(r["rhs"])) + 10 * r["quad_error"]
    if not r["error"] <= tol:
        raise _Falsified(f"{identity.label} fails: the loss's side is {r['lhs']:.10g}, the divergence's side "
                         f"{r['rhs']:.10g} (error {r['error']:.3g})", {"p_data": p, "p_g": q})


def _fd(fun, o_r, o_f, d_r, d_f, h):
    with np.errstate(all="ignore"):
        up = float(fun(o_r + h * d_r, o_f + h * d_f)[0])
        mid = float(fun(o_r, o_f)[0])
        down = float(fun(o_r - h * d_r, o_f - h * d_f)[0])
    return up, mid, down


def _gradient(subject, player, ex):
    (o_r, o_f), (d_r, d_f) = ex
    _, who, f, _, _ = player
    v, g_r, g_f = _eval(f, o_r, o_f, who)
    if g_r is None:
        g_r = np.zeros_like(o_r)
    h = 1e-5
    for g, what, dr, df, m in ((g_r, "dL/do_real", d_r, 0 * d_f, o_r.size), (g_f, "dL/do_fake", 0 * d_r, d_f, o_f.size)):
        up, mid, down = _fd(f, o_r, o_f, dr, df, h)
        up2, _, down2 = _fd(f, o_r, o_f, dr, df, h / 2)
        # a kink between o - h d and o + h d: the one-sided differences differ by a jump that does not
        # shrink with h (smooth: forward - backward = h d^T H d + O(h^3), halving with h)
        jump = abs((up - 2 * mid + down) / h - 4 * (up2 - 2 * mid + down2) / h)
        fd = (up - down) / (2 * h)
        ad = float(np.sum(g * (dr if what == "dL/do_real" else df)))
        tol = 1e-6 * (abs(ad) + abs(fd)) + 1e-9 * (1.0 + abs(mid))
        _assume(jump <= tol)
        if abs(ad - fd) > tol:
            e = {"o_real": o_r, "o_fake": o_f, "direction": dr if what == "dL/do_real" else df}
            name = f"{who}'s {what}"
            if abs(ad + fd) <= tol:
                why = "has the wrong sign"
            elif fd != 0 and any(abs(ad / fd - k) <= 1e-5 * k for k in {m, 1.0 / m} if k != 1):
                why = f"is off by a factor {ad / fd:.6g} (the batch size: a missing or extra 1/m)"
            else:
                why = "disagrees with central differences"
            raise _Falsified(f"{name} {why}: along a direction it gives {ad:.10g}, central differences "
                             f"{fd:.10g}", e)


def _descent(subject, player, ex):
    o_r, o_f = ex
    _, who, f, _, _ = player
    v, g_r, g_f = _eval(f, o_r, o_f, who)
    g_r = np.zeros_like(o_r) if g_r is None else g_r
    norm = float(np.sqrt(np.sum(g_r ** 2) + np.sum(g_f ** 2)))
    _assume(norm >= 1e-3)
    t = 1e-7 / norm
    w = float(_eval(f, o_r - t * g_r, o_f - t * g_f, who)[0])
    if not w < float(v):
        raise _Falsified(f"a step of length 1e-7 along minus {who}'s gradient raises it ({float(v):.15g} -> {w:.15g}): "
                         "the gradient's sign?", {"o_real": o_r, "o_fake": o_f})


def _hvp(subject, player, ex):
    (o_r, o_f), (t_r, t_f) = ex
    _, who, f, _, hvp = player
    with np.errstate(all="ignore"):
        h_r, h_f = hvp(o_r, o_f, t_r, t_f)
    h_r = np.zeros_like(o_r) if h_r is None else np.asarray(h_r, dtype=np.float64)

    def cd(h):
        (_, ur, uf), (_, dr, df) = (_eval(f, o_r + s * h * t_r, o_f + s * h * t_f, who) for s in (1.0, -1.0))
        ur, dr = (np.zeros_like(o_r) if x is None else x for x in (ur, dr))
        return np.concatenate([(ur - dr) / (2 * h), (uf - df) / (2 * h)])

    a, b = cd(1e-5), cd(5e-6)
    ours = np.concatenate([h_r, np.asarray(h_f, dtype=np.float64)])
    tol = 1e-5 * (np.max(np.abs(a)) + np.max(np.abs(ours))) + 1e-8
    _assume(np.max(np.abs(a - b)) <= tol)  # a gradient that jumps (a kink) in between
    if np.max(np.abs(ours - a)) > tol:
        raise _Falsified(f"{who}'s Hessian-vector product differs from central differences of its gradient by "
                         f"{np.max(np.abs(ours - a)):.3g}", {"o_real": o_r, "o_fake": o_f, "t_real": t_r, "t_fake": t_f})


def _unit_pair(sizes):
    m_r, m_f = sizes
    return st.tuples(directions(m_r), directions(m_f))


def check_loss(d_loss, g_loss=None, *, name: str | None = None, optimal_d=None, theory=(), zero_sum=None,
               like=None, paired=None, population=None, bound: float = 8.0, max_examples: int = 40,
               divergence_examples: int = 4, seed: int = 0, skip=()) -> LossCheckReport:
    """Check that a GAN loss has the properties every GAN loss must have.

    Runs each property of :data:`PROPERTIES` that applies, as a hypothesis property test
    (deterministic: a fixed ``seed``, no example database), in this order:

    - **shapes**: one finite value per model, gradients shaped like the outputs;
    - **population axes** (``population``): a leading axis stacks independent models;
    - **mean over the minibatch**: repeating the minibatch ``k`` times leaves the value
      unchanged and divides the gradients by ``k`` (catches a sum where the mean is needed);
    - **sign convention (D)**: where D cannot tell (``o_real = o_fake = c``; ``c`` D's stated
      optimum at ``p = q``, else drawn in ``[-1, 1]``), raising its outputs on data and lowering
      them on samples lowers D's loss (catches swapped real/fake terms, a flipped value);
    - **sign convention (G)**: there, raising D's outputs on samples does not raise G's loss
      (not run when an identity of G's criterion at the optimal D is stated: that identity is
      the stronger check, and e.g. LSGAN with ``c < (a + b)/2`` breaks the convention yet
      minimises a divergence, Mao et al. 2017, eq. 7-8);
    - **zero-sum** (stated): ``L_G + L_D`` does not depend on ``o_fake``, e.g. the minimax G
      loss is minus D's fake term;
    - **separable**, **optimal D** (an optimal D stated): ``L_D = mean d_real(o_real) + mean
      d_fake(o_fake)`` and the stated ``o*(p, q)`` minimises ``p d_real(o) + q d_fake(o)``
      (the terms read off the loss at batch size 1), for density values ``p, q``;
    - **divergence** (identities stated, with an optimal D): ``-min_D L_D`` (or G's criterion)
      by quadrature of the loss's own terms at ``o*`` against the stated divergence
      (:func:`gandyn.theory.evaluate_identity`) on pairs from :func:`distribution_pairs`;
    - **gradient (D)**, **gradient (G)** (gradients given): ``dL/do_real`` and ``dL/do_fake``
      against central differences along random unit directions (points where the loss
      has a kink in between are skipped);
    - **descent (D)**, **descent (G)**: a step of length ``1e-7`` along minus the gradient
      lowers the loss;
    - **Hessian-vector product (D)**, **(G)** (a gandyn Loss): against central differences
      of the gradients.

    Parameters
    ----------
    d_loss : Loss, str, or callable
        A gandyn :class:`~gandyn.engine.losses.Loss` or registered name (then its own G loss
        and theory are used), or D's loss ``d_loss(o_real, o_fake)`` as a plain function of
        D's outputs on a real and a generated minibatch (1-D arrays, the batch on the last
        axis) returning the value, or ``(value, dL/do_real, dL/do_fake)``.
    g_loss : callable, optional
        G's loss ``g_loss(o_real, o_fake)`` or ``g_loss(o_fake)`` returning the value, or
        with its gradients (``(value, dL/do_real, dL/do_fake)``, resp. ``(value, dL/do_fake)``).
        None: only D's loss is checked.
    name : str, optional
        The loss's name in messages.
    optimal_d : callable ``(p, q) -> o*``, optional
        D's optimal output as a function of the density values (as in
        :func:`gandyn.engine.losses.separable`).
    theory : sequence of OptimumIdentity
        The divergence identities the loss states (:class:`gandyn.engine.losses.OptimumIdentity`).
    zero_sum : bool, optional
        G's loss is minus D's fake term (up to a term G cannot change).
    like : Loss or str, optional
        Expect the theory a gandyn loss states (its optimal D, identities, ``zero_sum``,
        ``paired``) of the plain functions, e.g. ``like=gandyn.engine.losses.get('ls')``.
    paired : bool, optional
        Real and fake outputs are paired i-i (equal batch sizes).
    population : bool, optional
        Check population axes (default: True for a gandyn Loss, False for functions).
    bound : float
        D's outputs are drawn in ``[-bound, bound]``.
    max_examples : int
        Hypothesis examples per property; ``divergence_examples`` for the quadratures.
    seed : int
    skip : sequence of str
        Names of :data:`PROPERTIES` not to run.

    Returns
    -------
    LossCheckReport
        The properties that held and those skipped, with why.

    Raises
    ------
    LossCheckError
        (an AssertionError) at the first property that fails: ``<loss>: <property>: <reason>``
        on the first line, then the shrunk counterexample and the source of the identity.
    ValueError
        An unknown name in ``skip``; theory arguments given with a gandyn Loss.
    TypeError
        Arguments that are not functions.

    Notes
    -----
    A loss in another framework is checked through a small NumPy wrapper, e.g. for PyTorch::

        def d_loss(o_real, o_fake):
            r, f = (torch.tensor(o, requires_grad=True) for o in (o_real, o_fake))
            v = my_torch_d_loss(r, f); v.backward(); return v.item(), r.grad.numpy(), f.grad.numpy()

    Do not call it inside a hypothesis test (hypothesis tests do not nest).
    """
    unknown = set(skip) - set(PROPERTIES)
    if unknown:
        raise ValueError(f"unknown properties in skip: {sorted(unknown)}; choose from {', '.join(PROPERTIES)}")
    s = _subject(d_loss, g_loss, name=name, optimal_d=optimal_d, theory=theory, zero_sum=zero_sum, like=like,
                 paired=paired, population=population)
    n, n_div = int(max_examples), int(divergence_examples)
    passed, skipped = [], {}

    def run(prop, strategy, body, examples=n, source=None):
        if prop in skip:
            skipped[prop] = "skipped by the caller"
            return
        if _run(s, prop, strategy, body, examples, seed, source):
            passed.append(prop)
        else:
            skipped[prop] = "no valid example (every draw rejected)"

    pairs = _pairs(s, bound)
    run("shapes", pairs, lambda ex: _shapes(s, ex))
    if s.population:
        run("population axes", pairs.flatmap(lambda a: st.tuples(st.just(a), _array(a[0].shape, bound).flatmap(
            lambda r: st.tuples(st.just(r), _array(a[1].shape, bound))))), lambda ex: _population(s, ex))
    else:
        skipped["population axes"] = "population=False"
    run("mean over the minibatch", st.tuples(pairs, st.integers(2, 3)), lambda ex: _batch_mean(s, ex))
    c0 = _indifferent(s)
    centres = st.just(c0) if c0 is not None else _float(-1.0, 1.0)
    m = st.integers(1, 3)
    sizes = st.tuples(centres, m, m).map(lambda t: (t[0], t[1], t[1] if s.paired else t[2]))
    run("sign convention (D)", sizes, lambda ex: _sign_d(s, ex))
    if s.g is None:
        skipped["sign convention (G)"] = "no G loss given"
    elif s.optimal is not None and any(sp.side != "d" for sp in s.specs):
        # e.g. LSGAN with a target c below (a + b)/2: G lowers D's output on samples, yet its criterion
        # at the optimal D is a divergence (Mao et al. 2017, eq. 7-8) -- the identity is the check
        skipped["sign convention (G)"] = "G's criterion is checked against its stated divergence instead"
    else:
        run("sign convention (G)", sizes, lambda ex: _sign_g(s, ex))
    if s.zero_sum and s.g is not None:
        run("zero-sum", st.tuples(pairs, _array((4,), 2.0)), lambda ex: _zero_sum(s, ex))
    else:
        skipped["zero-sum"] = "not stated" if s.g is not None else "no G loss given"
    if s.optimal is not None:
        terms = _Terms(s)
        src = f"{PROPERTIES['optimal D']}; D* {s.source}"
        run("separable", pairs, lambda ex: _separable(s, terms, ex))
        run("optimal D", st.tuples(_float(-4.0, 2.0), _float(-4.0, 2.0), _float(1e-3, 2.0)),
            lambda ex: _optimal_d(s, terms, ex), source=src)
        if s.specs:
            from gandyn.theory import identities

            loss = s.loss if s.loss is not None else _theory_loss(s, terms)
            for ident, spec in zip(identities(loss), s.specs):
                if spec.side != "d" and s.g is None:
                    continue  # G's criterion needs G's loss
                run("divergence", distribution_pairs(), lambda ex, i=ident: _divergence(s, i, ex), examples=n_div,
                    source=f"{PROPERTIES['divergence']}: {ident.label} ({ident.source})")
            if "divergence" not in passed:
                skipped.setdefault("divergence", "only identities of G's criterion are stated, and no G loss given")
        else:
            skipped["divergence"] = "no divergence identity stated"
    else:
        for prop in ("separable", "optimal D", "divergence"):
            skipped[prop] = "no optimal D stated"
    grad_ex = pairs.flatmap(lambda a: st.tuples(st.just(a), _unit_pair((a[0].size, a[1].size))))
    for player in _players(s):
        P, who, _, grads, hvp = player
        if grads:
            run(f"gradient ({P})", grad_ex, lambda ex, pl=player: _gradient(s, pl, ex))
            run(f"descent ({P})", pairs, lambda ex, pl=player: _descent(s, pl, ex))
        else:
            skipped[f"gradient ({P})"] = skipped[f"descent ({P})"] = f"{who} returns a value only"
        if hvp is not None:
            run(f"Hessian-vector product ({P})", grad_ex, lambda ex, pl=player: _hvp(s, pl, ex))
        else:
            skipped[f"Hessian-vector product ({P})"] = "no Hessian-vector product given"
    if s.g is None:
        for prop in ("gradient (G)", "descent (G)", "Hessian-vector product (G)"):
            skipped[prop] = "no G loss given"
    passed = list(dict.fromkeys(passed))
    return LossCheckReport(s.name, tuple(passed), {k: v for k, v in skipped.items() if k not in passed})


def loss_test(*args, **kwargs):
    """A pytest test function that runs :func:`check_loss` with these arguments::

        test_my_lsgan = loss_test(my_d_loss, my_g_loss, like="ls")

    (pytest collects it by its name; it fails with :class:`LossCheckError`)."""
    def test():
        check_loss(*args, **kwargs)

    test.__doc__ = "check_loss: the properties every GAN loss must satisfy"
    return test
