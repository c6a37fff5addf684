"""Train a discriminator against a fixed generator until its loss stops improving.

This is the inner loop of Algorithm 1 (Goodfellow et al. 2014) run to convergence
with G held fixed: every step draws a fresh minibatch of data and of generator
samples and takes one Adam step on D's cross-entropy ``-V(D, G)``
(:func:`gandyn.engine.losses.d_loss_minimax`), with the engine's hand-written backward pass.
By Proposition 1 the result approaches ``D*(x) = p_data/(p_data + p_g)``.

What makes it converge to D* closely (measured in ``gandyn theory``, part b):

* inputs standardised by the mean and sd of a pilot sample of both distributions;
* ReLU hidden units: the logit of D* for two Gaussians is a quadratic, which a
  piecewise-linear net follows into the tails, where tanh units saturate;
* fresh samples every step (no finite training set to overfit) and large
  batches;
* reduce-on-plateau: every ``check`` steps the loss on a fixed validation
  sample is compared with its best value; when it has not improved by ``tol``
  for ``patience`` checks in a row the step size is multiplied by ``factor``, and training stops when the step
  size falls below ``min_lr`` (the loss has stopped improving) or after
  ``max_steps``. Adam's moment estimates carry over a step-size change.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
from tqdm.auto import tqdm

from gandyn.engine import losses
from gandyn.engine import optim
from gandyn.engine.nn import MLP
from gandyn.rng import streams

__all__ = ["FittedDiscriminator", "fit_discriminator"]


class FittedDiscriminator(NamedTuple):
    """A trained discriminator ``D(x) = sigma(l((x - loc)/scale))`` and its training record.

    ``history`` holds ``(step, validation loss, step size)`` at every check.
    """

    net: MLP
    theta: np.ndarray
    loc: float
    scale: float
    steps: int
    history: np.ndarray
    stopped: str  # 'plateau' (the loss stopped improving) or 'max_steps'

    def logit(self, x) -> np.ndarray:
        """The logit ``l(x)`` for x of shape (k,); returns (k,)."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, 1)
        return self.net(self.theta, (x - self.loc) / self.scale)[:, 0]

    def prob(self, x) -> np.ndarray:
        """``D(x) = sigma(l(x))``."""
        return losses.sigmoid(self.logit(x))

    @property
    def final_loss(self) -> float:
        """The last validation loss ``-V`` (nats)."""
        return float(self.history[-1, 1])


def _col(a, m) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    if a.size != m:
        raise ValueError(f"a sampler returned {a.size} values, expected {m}")
    return a


def fit_discriminator(sample_real: Callable, sample_fake: Callable, seed: int = 0, *,
                      hidden: tuple[int, ...] = (64,), activation: str = "relu",
                      lr: float = 1e-2, batch: int = 1024, check: int = 100, tol: float = 1e-6,
                      patience: int = 3, factor: float = 0.5, min_lr: float = 1e-4,
                      max_steps: int = 20_000, max_batch: int = 4096,
                      n_val: int = 16_384, progress=False) -> FittedDiscriminator:
    """Train an MLP discriminator on fresh samples of two distributions.

    Parameters
    ----------
    sample_real, sample_fake : callable ``(rng, m) -> (m,)`` array
        Draw m data points / m generator samples.
    seed : int
        Seeds the named streams ``d_init``, ``data``, ``latent`` (generator
        samples) and ``eval`` (pilot and validation samples).
    hidden, activation : the hidden widths and their activation; the output is a logit.
    lr, batch : Adam's initial step size; samples of *each* distribution per step.
    check, tol, patience, factor, min_lr, max_steps : the reduce-on-plateau schedule (see
        module doc); the step size drops after ``patience`` checks without improvement.
    n_val : validation samples of each distribution.
    progress : bool or tqdm bar
        True: a bar of this fit ("D"), which ends at 100% also when the loss
        stops improving before ``max_steps``. A tqdm bar: advance that one by
        exactly ``max_steps`` (a fit that stops early jumps to the end of its share),
        so that one bar over several fits reaches 100%.

    Returns
    -------
    FittedDiscriminator
    """
    for name, v in [("patience", patience), ("batch", batch), ("check", check), ("max_steps", max_steps), ("n_val", n_val)]:
        if int(v) < 1:
            raise ValueError(f"{name} must be >= 1, got {v!r}")
    if not 0 < factor < 1:
        raise ValueError(f"factor must be in (0, 1), got {factor!r}")
    if not 0 < min_lr < lr:
        raise ValueError(f"need 0 < min_lr < lr, got min_lr={min_lr!r}, lr={lr!r}")
    s = streams(seed, ("d_init", "data", "latent", "eval"))
    xr_val = _col(sample_real(s["eval"], n_val), n_val)
    xf_val = _col(sample_fake(s["eval"], n_val), n_val)
    both = np.concatenate([xr_val, xf_val])
    loc, scale = float(both.mean()), float(both.std())
    if not scale > 0:
        raise ValueError("the two samplers produce a single point; nothing to discriminate")
    X_val = ((both - loc) / scale)[:, None]

    net = MLP((1, *hidden, 1), (activation,) * len(hidden) + ("identity",))
    theta = net.init(s["d_init"])
    rate = [lr]  # the reduce-on-plateau schedule: one optimizer reads the current rate
    opt = optim.adam(lambda t: rate[0])
    state = opt.init(theta)
    grad = np.empty_like(theta)
    best, bad, history, stopped, step = np.inf, 0, [], "max_steps", 0
    shared = hasattr(progress, "update")  # a bar of the caller
    bar = progress if shared else tqdm(total=max_steps, desc="D", disable=not progress)
    while step < max_steps:
        xr = _col(sample_real(s["data"], batch), batch)
        xf = _col(sample_fake(s["latent"], batch), batch)
        X = ((np.concatenate([xr, xf]) - loc) / scale)[:, None]
        hs = net.forward(theta, X)
        logit = hs[-1][:, 0]
        _, g_real, g_fake = losses.d_loss_minimax(logit[:batch], logit[batch:])
        net.backward(theta, hs, np.concatenate([g_real, g_fake])[:, None], grad=grad)
        state = opt.update(theta, grad, state)
        step += 1
        bar.update()
        if step % check == 0:
            lv = net(theta, X_val)[:, 0]
            val = float(losses.d_loss_minimax(lv[:n_val], lv[n_val:])[0])
            history.append((step, val, lr))
            bar.set_postfix(loss=f"{val:.5f}", lr=f"{lr:.1e}", refresh=False)
            if val < best - tol:
                best, bad = val, 0
            else:
                bad += 1
            if bad >= patience:
                bad = 0
                lr *= factor
                batch = min(2 * batch, max(max_batch, batch))
                if lr < min_lr:
                    stopped = "plateau"
                    break
                rate[0] = lr
    if shared:
        bar.update(max_steps - step)  # this fit's share of the bar, also when it stopped early
        bar.refresh()
    else:
        if stopped == "plateau":
            bar.total = step  # done: the bar ends at 100%, not where the plateau came
            bar.refresh()
        bar.close()
    if not history:
        lv = net(theta, X_val)[:, 0]
        history.append((step, float(losses.d_loss_minimax(lv[:n_val], lv[n_val:])[0]), lr))
    return FittedDiscriminator(net, theta, loc, scale, step, np.asarray(history), stopped)
