"""The trainer of GANs of the engine: by default Algorithm 1 of Goodfellow et al. 2014
(``k`` discriminator steps, each on a fresh real minibatch and fresh noise, then one
generator step on fresh noise; each player descends its own loss with its own
optimizer), or any method of :mod:`gandyn.engine.methods`.

The same :class:`Trainer` trains one GAN (``theta`` of shape ``(n,)``) or a population
(``(P, n)``, inputs ``(P, m, d)``): per-model step sizes are arrays or schedules of
the optimizers (:mod:`gandyn.engine.optim`), per-model random streams are the business
of the minibatch source. A source is any object with two methods,

``real(out)``   write the next real minibatch into ``out`` (``(m, d_x)`` or ``(P, m, d_x)``);
``noise(out)``  write the next latent noise into ``out`` (``(m, d_z)`` or ``(P, m, d_z)``),

called in the order of Algorithm 1: for each D step ``real`` then ``noise``, then
``noise`` once more for the G step. :class:`StreamBatches` draws them from two random
streams as training goes (the MNIST GAN); the 1-D population experiment serves
per-seed blocks of draws (:mod:`gandyn.experiments.gan1d`).

>>> from gandyn.engine import GAN, MLP, optim
>>> from gandyn.distributions import Normal
>>> from gandyn.rng import stream
>>> G = MLP((1, 8, 1), ("tanh", "identity")); D = MLP((1, 8, 1), ("relu", "identity"))
>>> gan = GAN(G, D)
>>> batches = StreamBatches(lambda rng, m: Normal(4, 0.5).rvs((m, 1), rng), gan.latent,
...                         stream(0, "data"), stream(0, "latent"))
>>> tr = Trainer(gan, optim.adam(1e-2, b1=0.5), optim.adam(1e-2, b1=0.5),
...              G.init(stream(0, "g_init")), D.init(stream(0, "d_init")), batches, batch=16)
>>> loss_d, loss_g = tr.step()
>>> tr.it, bool(loss_d > 0)
(1, True)
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Protocol

import numpy as np

from gandyn.distributions import Distribution
from gandyn.engine.gan import GAN
from gandyn.engine.losses import NonFiniteLossError
from gandyn.engine.methods import as_method, check_penalty
from gandyn.engine.optim import Optimizer, finish, step_size as _lr_at
from gandyn.engine.oracle import FieldOracle
from gandyn.engine.workspace import Workspace

__all__ = ["Trainer", "Batches", "StreamBatches", "FixedBatches"]


class Batches(Protocol):
    """A source of minibatches for :class:`Trainer` (see the module docstring)."""

    def real(self, out: np.ndarray) -> None: ...

    def noise(self, out: np.ndarray) -> None: ...


class StreamBatches:
    """Minibatches drawn as training goes: data by ``sample_real(rng_data, m)`` and
    latent noise from ``latent`` with ``rng_latent``.

    A ``sample_real`` that takes ``out=`` (as :class:`gandyn.data.EpochSampler`
    does) writes the minibatch in place; else its result is copied. The two streams
    are separate, so drawing extra noise or data for evaluation from other streams
    never changes a run (SPEC 7).
    """

    def __init__(self, sample_real: Callable[..., np.ndarray], latent: Distribution,
                 rng_data: np.random.Generator, rng_latent: np.random.Generator):
        self.sample_real, self.latent = sample_real, latent
        self.rng_data, self.rng_latent = rng_data, rng_latent
        self._sampler = (None, False)  # (sample_real, whether it takes out=)

    def real(self, out: np.ndarray) -> None:
        f = self.sample_real
        if self._sampler[0] is not f:
            try:
                takes_out = "out" in inspect.signature(f).parameters
            except (TypeError, ValueError):
                takes_out = False
            self._sampler = (f, takes_out)
        if self._sampler[1]:
            x = f(self.rng_data, out.shape[-2], out=out)
            if x is out:
                return
        else:
            x = f(self.rng_data, out.shape[-2])
        out[...] = x

    def noise(self, out: np.ndarray) -> None:
        self.latent.rvs(out.shape, self.rng_latent, dtype=out.dtype, out=out)


class FixedBatches:
    """The same minibatch every time: data ``x_real`` and noise ``z`` (each ``(m, d)`` or
    ``(P, m, d)``), for full-batch training and the deterministic dynamics of a GAN as a
    game (:func:`gandyn.games.mlp_gan_game` on the same points)."""

    def __init__(self, x_real: np.ndarray, z: np.ndarray):
        self.x_real, self.z = np.asarray(x_real), np.asarray(z)

    def real(self, out: np.ndarray) -> None:
        out[...] = self.x_real

    def noise(self, out: np.ndarray) -> None:
        out[...] = self.z


class _Replay:
    """A stand-in for the penalty's generator that hands back one given draw."""

    def __init__(self, e):
        self.e = e

    def random(self, shape):
        if tuple(shape) != self.e.shape:
            raise ValueError(f"the penalty drew shape {tuple(shape)}, expected {self.e.shape}")
        return self.e


class Trainer:
    """Algorithm 1 of Goodfellow et al. 2014 on one GAN or a population.

    Parameters
    ----------
    gan : GAN
    opt_g, opt_d : Optimizer
        Each player's optimizer (step sizes: numbers, ``(P, 1)`` arrays or schedules).
        Wrappers such as :func:`~gandyn.engine.optim.averaged` (a moving average of G)
        compose here.
    theta_g, theta_d : ndarray, shape ``(n,)`` or ``(P, n)``
        The parameters, updated in place (views of a larger array stay views).
    batches : Batches
        The minibatch source.
    batch : int
        Minibatch size ``m`` of data and of noise.
    k : int
        Discriminator steps per generator step.
    rng_dropout : Generator, optional
        Draws D's dropout masks (required when the GAN has ``d_dropout``).
    state_g, state_d : optional
        Optimizer states to continue from (default: fresh).
    it : int
        Iterations done so far.
    penalty : Penalty, optional
        A gradient penalty added to D's loss (:mod:`gandyn.engine.penalties`: R1, R2,
        WGAN-GP); ``rng_penalty`` draws WGAN-GP's interpolation weights.
    spectral_norm : SpectralNorm, optional
        D's weights are used as ``W / sigma(W)`` (:mod:`gandyn.engine.spectral_norm`; one
        power-iteration step per iteration, its vectors in the checkpoint).
    method : method object or str
        The training method, an object of :mod:`gandyn.engine.methods` (``AltGD()``,
        Algorithm 1, the default; ``SimGD()``, ``Lookahead(inner=Extragradient())``, ...) or a
        registered name for the method with its defaults
        (:func:`~gandyn.engine.methods.as_method`).
    instance_noise : InstanceNoise, optional
        Gaussian noise of std ``sigma_t`` (iteration ``t``) added to every real and
        generated input of D (:mod:`gandyn.engine.instance_noise`), drawn with
        ``rng_noise`` (``standard_normal``): at each evaluation of D's loss ``2m`` rows (the
        real points, then the fakes), at each of G's ``m`` rows. The noise is added in
        place to D's stacked input; G's own outputs stay clean for its backward pass.
    stats_g : ndarray, optional
        Running statistics of G's batch-norm layers to continue from (default: fresh,
        :meth:`MLP.init_stats <gandyn.engine.nn.MLP.init_stats>`); kept as :attr:`stats_g` and
        updated (:meth:`MLP.update_stats <gandyn.engine.nn.MLP.update_stats>`) by every G step's
        forward pass on its own noise batch. Save it with the parameters.

    Raises
    ------
    ValueError
        ``k`` or ``batch`` below 1, a dropout GAN without ``rng_dropout``, instance noise
        without ``rng_noise`` or with a method that needs exact Jacobian products, a D with
        batch norm (its statistics would mix real and generated rows), a packed GAN
        (``gan.pack > 1``) whose ``batch`` is not a multiple of ``pack`` or with a gradient
        penalty.
    """

    def __init__(self, gan: GAN, opt_g: Optimizer, opt_d: Optimizer, theta_g: np.ndarray, theta_d: np.ndarray,
                 batches: Batches, *, batch: int = 64, k: int = 1, rng_dropout: np.random.Generator | None = None,
                 state_g: Any = None, state_d: Any = None, it: int = 0, method: Any = "altgd",
                 penalty: Any = None, rng_penalty: np.random.Generator | None = None,
                 spectral_norm: Any = None, instance_noise: Any = None, rng_noise: Any = None,
                 stats_g: np.ndarray | None = None):
        if int(k) != k or k < 1:
            raise ValueError(f"k (discriminator steps per generator step) must be an integer >= 1, got {k!r}")
        if int(batch) != batch or batch < 1:
            raise ValueError(f"batch must be an integer >= 1, got {batch!r}")
        if batch % gan.pack:
            raise ValueError(f"packing {gan.pack} samples per D input needs a batch divisible by {gan.pack}, "
                             f"got {batch}")
        if gan.pack > 1 and penalty is not None:
            raise ValueError("gradient penalties are not defined here for a packed D (pack > 1)")
        if gan.d_dropout and rng_dropout is None:
            raise ValueError("the GAN has D dropout: pass rng_dropout")
        if getattr(gan.D, "batch_norm", None) is not None:
            raise ValueError("the trainer does not support batch norm in D (its statistics would mix real and "
                             "generated rows)")
        self.gan, self.opt_g, self.opt_d = gan, opt_g, opt_d
        self.theta_g, self.theta_d = theta_g, theta_d
        self.batches, self.batch, self.k = batches, int(batch), int(k)
        self.rng_dropout = rng_dropout
        self.state_g = opt_g.init(theta_g) if state_g is None else state_g
        self.state_d = opt_d.init(theta_d) if state_d is None else state_d
        self.it = int(it)
        self._bn_g = getattr(gan.G, "batch_norm", None) is not None
        self.stats_g = None
        if self._bn_g:
            self.stats_g = gan.G.init_stats(self.population) if stats_g is None else np.array(stats_g, gan.G.dtype)
        self._grad_g = np.empty_like(theta_g)
        self._grad_d = np.empty_like(theta_d)
        self._ws = Workspace()  # reusable buffers of the forward and backward passes
        self.method = as_method(method)
        self.method_state = self.method.init(self)
        if penalty is not None and penalty.on == "interpolates" and rng_penalty is None:
            raise ValueError(f"the {penalty.name} penalty draws interpolation weights: pass rng_penalty")
        self.penalty, self.rng_penalty = penalty, rng_penalty
        if penalty is not None:
            check_penalty(self.method)
        self._grad_pen = np.empty_like(theta_d) if penalty is not None else None
        products = [m for m in (self.method, getattr(self.method, "inner", None)) if getattr(m, "needs_products", False)]
        if spectral_norm is not None and products:
            raise ValueError(f"the {products[0].name} method needs exact Jacobian products: spectral "
                             "normalisation is not supported with it")
        if gan.d_dropout and products:
            raise ValueError(f"{products[0].name} needs exact Jacobian products: D dropout is not supported")
        self.spectral_norm = spectral_norm
        if instance_noise is not None and products:
            raise ValueError(f"the {products[0].name} method needs exact Jacobian products: instance noise is not "
                             "supported with it")
        if instance_noise is not None and rng_noise is None:
            raise ValueError("instance noise draws Gaussian noise: pass rng_noise")
        self.instance_noise, self.rng_noise = instance_noise, rng_noise
        self._td_sn = np.empty_like(theta_d) if spectral_norm is not None else None
        self._grad_raw = np.empty_like(theta_d) if spectral_norm is not None else None

    @property
    def population(self) -> int | None:
        return None if self.theta_g.ndim == 1 else self.theta_g.shape[0]

    def step(self) -> tuple[np.ndarray, np.ndarray]:
        """One iteration of the training method (default: Algorithm 1). Returns D's loss
        (of its last step) and G's loss, each before its update: shape ``()`` or ``(P,)``."""
        if self.spectral_norm is not None:
            self.spectral_norm.power_iteration(self.theta_d)
        try:
            loss_d, loss_g, self.method_state = self.method.step(self, self.method_state)
        except NonFiniteLossError as e:  # a user-defined loss gave inf or nan: name the iteration
            raise e.at_iteration(self.it + 1) from None
        # the end of the iteration for the optimizers' wrappers: projection, G's average
        self.state_g = finish(self.opt_g, self.theta_g, self.state_g)
        self.state_d = finish(self.opt_d, self.theta_d, self.state_d)
        self.it += 1
        return loss_d, loss_g

    # --- the primitives a method is written with (gandyn.engine.methods)

    def _buffers(self):
        gan, m, P, ws = self.gan, self.batch, self.population, self._ws
        lead = () if P is None else (P,)
        X = ws.buffer("step_input", lead + (3 * m, gan.x_dim), gan.D.dtype)
        Z = ws.buffer("step_noise", lead + (2 * m, gan.z_dim), gan.G.dtype)
        return X, Z

    @property
    def theta_d_used(self) -> np.ndarray:
        """D's parameters as the networks use them: ``theta_d``, or with spectral
        normalisation ``theta_d`` with every ``W`` divided by ``sigma(W)`` (at the current
        ``W``, with this iteration's power-iteration vectors)."""
        if self.spectral_norm is None:
            return self.theta_d
        self.spectral_norm.refresh(self.theta_d)
        return self.spectral_norm.normalized(self.theta_d, self._td_sn)

    def _d_back(self, gd):
        """D's gradient w.r.t. ``theta_d`` from the one w.r.t. :attr:`theta_d_used`."""
        if self.spectral_norm is None:
            return gd
        self.spectral_norm.backward(self._td_sn, gd, self._grad_raw)
        np.copyto(gd, self._grad_raw)
        return gd

    def draw_d(self):
        """Draw one discriminator minibatch: ``(x_real, z)`` views of the step's buffers."""
        X, Z = self._buffers()
        m = self.batch
        x_real, z_d = X[..., :m, :], Z[..., :m, :]
        self.batches.real(x_real)
        self.batches.noise(z_d)
        return x_real, z_d

    def d_grad(self, x_real, z_d) -> np.ndarray:
        """D's loss gradient (with the penalty) at the current parameters on ``(x_real, G(z_d))``."""
        X, _ = self._buffers()
        m, gan, ws = self.batch, self.gan, self._ws
        if not np.shares_memory(x_real, X):
            X[..., :m, :] = x_real
        gan.G.forward(self.theta_g, z_d, out=X[..., m:2 * m, :], ws=ws.sub("G"))  # the fakes, once
        self._noisy(X[..., :2 * m, :])
        td = self.theta_d_used
        _, gd, _, _ = gan._d_part(td, X[..., :2 * m, :], m, self._grad_d, ws, self.rng_dropout)
        if self.penalty is not None:
            self._add_penalty(0.0, gd, X[..., :m, :], X[..., m:2 * m, :], td)
        return self._d_back(gd)

    def _add_penalty(self, loss_d, gd, x_real, x_fake, td):
        val, pg = self.penalty(self.gan.D, td, x_real, x_fake, self.rng_penalty, self._grad_pen,
                               self._ws.sub("penalty"))
        gd += pg
        return loss_d + val

    def draw(self) -> None:
        """Draw the minibatches of one D step and one G step, in Algorithm 1's order:
        real data and noise for D, then noise for G."""
        _, Z = self._buffers()
        self.draw_d()
        self.batches.noise(Z[..., self.batch:, :])

    def d_step_grad(self):
        """G on both noise batches at once (written into D's stacked input after the real
        rows), then D's loss and gradient. Returns ``(loss_d, grad_d, hs)``, ``hs`` G's
        layers for :meth:`g_step_grad`."""
        X, Z = self._buffers()
        m, gan, ws = self.batch, self.gan, self._ws
        if self._bn_g:  # batch norm: each noise batch its own statistics, so two forward passes
            gan.G.forward(self.theta_g, Z[..., :m, :], out=X[..., m:2 * m, :], ws=ws.sub("G"))
            hs = gan.G.forward(self.theta_g, Z[..., m:, :], out=X[..., 2 * m:, :], ws=ws.sub("G2"))
        else:
            hs = gan.G.forward(self.theta_g, Z, out=X[..., m:, :], ws=ws.sub("G2"))
        self._noisy(X[..., :2 * m, :])  # D's rows only: G's step reads its clean rows of hs
        td = self.theta_d_used
        loss_d, gd, _, _ = gan._d_part(td, X[..., :2 * m, :], m, self._grad_d, ws, self.rng_dropout)
        if self.penalty is not None:
            loss_d = self._add_penalty(loss_d, gd, X[..., :m, :], X[..., m:2 * m, :], td)
        return loss_d, self._d_back(gd), hs

    def g_step_grad(self, hs):
        """G's loss and gradient on the G step's noise, at the current D. A loss whose G
        loss reads D's outputs on real data (the relativistic losses) reads them on this
        iteration's real minibatch as D's last step saw it (with its instance noise, if any;
        Jolicoeur-Martineau 2019, Algorithm 1 draws a fresh one; reusing it keeps every
        method's draws unchanged)."""
        m = self.batch
        if self._bn_g:  # the G step's own forward pass, whose statistics join the running ones
            hs_g = hs
            self.gan.G.update_stats(self.stats_g, hs_g)
        else:
            hs_g = [h[..., m:, :] for h in hs]  # the G step's rows of every layer
        x_real = self._buffers()[0][..., :m, :] if self.gan.loss_fn.g_reads_real else None
        x_fake = None
        if self.instance_noise is not None:  # D sees G(z) + noise; G's backward its clean outputs
            x_fake = self._ws.buffer("noisy_fake", hs_g[-1].shape, hs_g[-1].dtype)
            np.copyto(x_fake, hs_g[-1])
            self._noisy(x_fake)
        loss_g, gg, _ = self.gan._g_part(self.theta_g, self.theta_d_used, hs_g, self._grad_g, self._ws,
                                         self.rng_dropout, x_real, x_fake=x_fake)
        return loss_g, gg

    def _noisy(self, x) -> None:
        """Instance noise of this iteration added to D's inputs ``x``, in place (nothing without it)."""
        if self.instance_noise is not None:
            self.instance_noise.add(x, self.it + 1, self.rng_noise)

    def losses_grads(self):
        """Both players' losses and gradients at the current point on the drawn batches
        (the game field ``omega`` of a minibatch): ``(loss_d, grad_d, loss_g, grad_g)``."""
        loss_d, gd, hs = self.d_step_grad()
        loss_g, gg = self.g_step_grad(hs)
        return loss_d, gd, loss_g, gg

    # --- the public interface of a method (gandyn.engine.methods; gandyn.games.dynamics
    # runs the same methods on a game through the same names)

    def oracle(self) -> FieldOracle:
        """Draw one minibatch and return the field oracle of its game at the current point.

        The game of a minibatch has one noise batch for both players: D's data and noise are
        drawn, then G's noise (kept for the stream's order of Algorithm 1) is replaced by D's.
        Its losses and gradients are :meth:`losses_grads`'s (D's with the gradient penalty); its
        products with the game Jacobian are exact for the same game, the penalty's blocks
        included (:class:`~gandyn.engine.oracle.FieldOracle`). Valid until the parameters change.

        Returns
        -------
        FieldOracle
            ``loss_g, loss_d, grad_g, grad_d, jvp, vjp, cross, hvp, at, dot, xp``.
        """
        pen, eps, rng = self.penalty, None, self.rng_penalty
        if pen is not None and pen.on == "interpolates":  # WGAN-GP: the draw the penalty makes, kept
            eps = rng.random(self.theta_d.shape[:-1] + (self.batch, 1)).astype(self.theta_d.dtype)
            self.rng_penalty = _Replay(eps)
        try:
            x_real, z = self.draw_d()
            z_g = self._buffers()[1][..., self.batch:, :]
            self.batches.noise(z_g)  # G's draw, kept for the stream's order
            z_g[...] = z  # the game of this batch: the same noise for both players
            loss_d, gd, loss_g, gg = self.losses_grads()
        finally:
            self.rng_penalty = rng
        # gd, gg: the trainer's buffers, which the products (their own workspace) leave alone
        return FieldOracle(self.gan, self.theta_g, self.theta_d, x_real, z, loss_d=loss_d, grad_d=gd,
                           loss_g=loss_g, grad_g=gg, ws=self._ws, penalty=pen, penalty_eps=eps)

    def step_size(self, player: str):
        """The step size of a player's optimizer at the coming step (through wrappers such
        as clipping or averaging): a number, or per-model ``(P, 1)`` step sizes of a
        population; None when the optimizer has none, or a single model has several.

        Raises
        ------
        ValueError
            ``player`` not 'g' or 'd', or a step-size schedule that gives a value not positive
            and finite (:func:`gandyn.engine.optim.step_size`).
        """
        if player not in ("g", "d"):
            raise ValueError(f"player must be 'g' or 'd', got {player!r}")
        hp = (self.opt_g if player == "g" else self.opt_d).hparams or {}
        while "lr" not in hp and hasattr(hp.get("opt"), "hparams"):  # through wrappers (clipped, averaged)
            hp = hp["opt"].hparams or {}
        lr = _lr_at(hp.get("lr"), self.it + 1)  # a schedule's value at the coming step
        if lr is None or (np.ndim(lr) > 0 and (self.population is None or np.shape(lr) != (self.population, 1))):
            return None
        return lr if np.ndim(lr) > 0 else float(lr)

    def point(self, out=None) -> tuple[np.ndarray, np.ndarray]:
        """Copies of both players' parameters, to come back to with :meth:`set_point`.

        Parameters
        ----------
        out : pair of arrays like ``(theta_g, theta_d)``, optional
            Written into and returned (e.g. a method's state, to save allocations).

        Returns
        -------
        (theta_g, theta_d) : arrays of shape ``(n_G,)``, ``(n_D,)`` or ``(P, n_G)``, ``(P, n_D)``
        """
        if out is None:
            return self.theta_g.copy(), self.theta_d.copy()
        np.copyto(out[0], self.theta_g)
        np.copyto(out[1], self.theta_d)
        return out

    def set_point(self, theta_g, theta_d) -> None:
        """Set both players' parameters to ``theta_g``, ``theta_d`` (arrays like them), in
        place: views of the parameters stay views."""
        if theta_g is not self.theta_g:
            np.copyto(self.theta_g, theta_g)
        if theta_d is not self.theta_d:
            np.copyto(self.theta_d, theta_d)

    @staticmethod
    def assign(dst: np.ndarray, value) -> np.ndarray:
        """``dst`` set to ``value``, in place; returns ``dst`` (a method's state kept in its
        own arrays: ``state["g"] = tr.assign(state["g"], s)``; on a toy game it is ``value``)."""
        np.copyto(dst, value)
        return dst

    def buffer(self, key, like: np.ndarray) -> np.ndarray:
        """A scratch array, the same one on every call with the same ``key`` and shape.

        Parameters
        ----------
        key : hashable
            The method's name for it (e.g. ``("optimistic", "g")``).
        like : ndarray
            Its shape and dtype.

        Returns
        -------
        ndarray
            Uninitialised on the first call; a method's working memory between iterations,
            without allocations.
        """
        return self._ws.sub("method").buffer(key, like.shape, like.dtype)
