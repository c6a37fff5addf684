"""
Property-testing your own loss
==============================

A new GAN loss states three things that can be wrong: its gradients, its optimal
discriminator, and the divergence that D's loss at that optimum measures. Each is a
*property* that must hold for every pair of distributions and every discriminator, which is
what `hypothesis <https://hypothesis.readthedocs.io>`_ tests: it draws many cases and shrinks
a failing one to a small counterexample. :mod:`gandyn.testing` holds bounded strategies for
GAN math (distributions, discriminators as bounded functions), so nothing unbounded ever
reaches ``exp``.

The loss here is the *exponential* loss, ``d_real(o) = e^{-o}``, ``d_fake(o) = e^{o}``. At a
point ``x`` D minimises ``p e^{-o} + q e^{o}``, so ``o* = log(p/q) / 2`` and the minimum is
``2 sqrt(p q)``; integrated, ``-min L_D = -2 int sqrt(p q) = H^2(p, q) - 2`` with the squared
Hellinger distance ``H^2 = int (sqrt p - sqrt q)^2``.
"""

# %%
# The loss, with the theory it states
# -----------------------------------
import autograd.numpy as anp
import matplotlib.pyplot as plt
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gandyn import theory
from gandyn.distributions import Mixture, Normal
from gandyn.engine import losses
from gandyn.testing import BoundedFunction, discriminators, distributions1d


def optimal_output(p, q):
    """o* = log(p/q)/2 from the density values, kept in [-350, 350] so that e^{|o*|} stays
    finite. Beyond, both terms at the clipped value are below e^{-350} (densities below 1),
    so the integrals do not notice; where one density is 0, o* is infinite."""
    with np.errstate(divide="ignore"):
        return np.clip(0.5 * (np.log(p) - np.log(q)), -350.0, 350.0)


def exponential():
    return losses.separable(d_real=lambda o: anp.exp(-o), d_fake=lambda o: anp.exp(o), name="exponential",
                            output="critic", optimal_d=optimal_output,
                            theory=[losses.OptimumIdentity("d", "squared_hellinger", 1.0, -2.0,
                                                           "-min L_D = H^2 - 2", "derived above")])


losses.LOSSES.register("exponential", exponential, replace=True)
loss = losses.get("exponential")

# Hypothesis settings for an example: few cases, no database folder written.
quick = settings(max_examples=20, deadline=None, database=None)

# %%
# Property 1: the gradients are the derivatives of the values
# -----------------------------------------------------------
# A plain central difference of D's loss in every output, for outputs drawn in ``[-5, 5]``.
outputs = st.lists(st.floats(-5.0, 5.0), min_size=1, max_size=8).map(np.array)


@quick
@given(outputs, outputs)
def test_gradients_match_finite_differences(o_real, o_fake):
    _, g_real, g_fake = loss.d_loss(o_real, o_fake)
    for o, g, which in ((o_real, g_real, 0), (o_fake, g_fake, 1)):
        for i in range(o.size):
            e = np.zeros_like(o)
            e[i] = 1e-6
            args_up = (o_real + e, o_fake) if which == 0 else (o_real, o_fake + e)
            args_dn = (o_real - e, o_fake) if which == 0 else (o_real, o_fake - e)
            fd = (loss.d_loss(*args_up)[0] - loss.d_loss(*args_dn)[0]) / 2e-6
            assert abs(g[i] - fd) <= 1e-6 * max(1.0, abs(fd))


test_gradients_match_finite_differences()
print("gradients: passed")

# %%
# Property 2: no discriminator beats the stated optimum
# -----------------------------------------------------
# For any two distributions and any bounded discriminator, D's expected loss
# ``int p e^{-l} + q e^{l}`` is at least its value at ``o*``. Both integrals are on the same
# grid, so a wrong ``o*`` (say, with the sign flipped) fails as soon as a drawn
# discriminator does better than it.


def expected_d_loss(p, q, logit, x):
    return np.trapezoid(p.pdf(x) * np.exp(-logit) + q.pdf(x) * np.exp(logit), x)


def grid(p, q, n=4001):
    lo = min(p.bounds(1e-10)[0], q.bounds(1e-10)[0])
    hi = max(p.bounds(1e-10)[1], q.bounds(1e-10)[1])
    return np.linspace(lo, hi, n)


@quick
@given(distributions1d(), distributions1d(), discriminators(max_logit=6.0))
def test_no_discriminator_beats_the_optimum(p, q, D):
    x = grid(p, q)
    best = np.trapezoid(-loss.value_at_optimum(p.pdf(x), q.pdf(x)), x)  # int p d_real(o*) + q d_fake(o*)
    assert expected_d_loss(p, q, D.logit(x), x) >= best - 1e-12


test_no_discriminator_beats_the_optimum()
print("optimum: passed")

# %%
# Property 3: the divergence identity
# -----------------------------------
# :func:`gandyn.theory.identities` turns the stated :class:`~gandyn.engine.losses.OptimumIdentity`
# into a check: ``-min L_D`` by quadrature of the loss's own functions at ``o*`` against the
# squared Hellinger distance from its own integrand.
identity = theory.identities(loss)[0]
print(identity.label)


@quick
@given(distributions1d(), distributions1d())
def test_divergence_identity(p, q):
    assert theory.evaluate_identity(identity, p, q)["error"] < 1e-7


test_divergence_identity()
print("identity: passed")

# %%
# What the properties look at
# ---------------------------
# One pair ``(p, q)``: the optimal output ``o*``, and the expected D loss of 300 random
# bounded discriminators (the strategy's family), never below ``2 int sqrt(p q)``.
p = Mixture([Normal(-1.5, 0.6), Normal(1.5, 0.6)], [0.5, 0.5])
q = Normal(0.5, 1.2)
x = grid(p, q)
rng = np.random.default_rng(0)
values = []
for _ in range(300):
    D = BoundedFunction(rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5, 3), rng.uniform(0, 3, 3),
                        rng.uniform(0, 2 * np.pi, 3))
    values.append(expected_d_loss(p, q, D.logit(x), x))
best = 2 * np.trapezoid(np.sqrt(p.pdf(x) * q.pdf(x)), x)

fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
a1.plot(x, p.pdf(x), "k:", linewidth=2, label=r"$p$ (data)")
a1.plot(x, q.pdf(x), color="green", label=r"$q$ (generator)")
b1 = a1.twinx()
b1.plot(x, loss.optimal_d(p.pdf(x), q.pdf(x)), "b--", label=r"$o^* = \log(p/q)/2$")
b1.set_ylim(-4, 4)
a1.set_xlabel("x")
a1.legend(loc="upper left", frameon=False, fontsize=8)
b1.legend(loc="upper right", frameon=False, fontsize=8)
a2.hist(values, bins=40, color="0.6")
a2.axvline(best, color="blue", linestyle="--", label=r"$2\int\sqrt{pq} = 2 - H^2$ (at $o^*$)")
a2.set_xlabel(r"expected D loss $\int p\,e^{-l} + q\,e^{l}$ of random discriminators")
a2.legend(frameon=False, fontsize=8)
fig.tight_layout()
plt.show()
print(f"smallest of 300: {min(values):.4f}; the optimum: {best:.4f}; "
      f"2 - H^2 = {2 - theory.squared_hellinger(p, q).value:.4f}")

# %%
# All of them in one call
# -----------------------
# :func:`gandyn.testing.check_loss` runs these properties and more (shapes, the mean over the
# minibatch, sign conventions, descent along the gradient, Hessian-vector products) on a
# gandyn loss or on plain functions, and fails with the property, a one-line reason, a shrunk
# counterexample and the source of the expected identity. In a project's test suite it is
# one line: ``def test_my_loss(): check_loss(my_d_loss, my_g_loss)``.
from gandyn.testing import LossCheckError, check_loss

print(check_loss(loss))


def buggy_d_loss(o_real, o_fake):
    """The same D loss in plain NumPy, with the fake term's gradient of the wrong sign."""
    value = np.mean(np.exp(-o_real)) + np.mean(np.exp(o_fake))
    return value, -np.exp(-o_real) / o_real.size, -np.exp(o_fake) / o_fake.size


try:
    check_loss(buggy_d_loss, name="buggy exponential", max_examples=20)
except LossCheckError as err:
    print(str(err).splitlines()[0])
_ = losses.LOSSES.unregister("exponential")  # this example's name only
