"""gandyn.engine.checkpoint: a Trainer's state saved and restored continues bit for bit (two
runs made the same way in one process), and an array that does not fit is refused in one line."""
import json

import numpy as np
import pytest

from gandyn.engine import GAN, MLP
from gandyn.engine.checkpoint import nonfinite, restore_trainer, state_arrays, trainer_state
from gandyn.engine.trainer import StreamBatches
from gandyn.engine.training import TrainingConfig
from gandyn.rng import stream

CONFIGS = [
    TrainingConfig(batch=8),
    TrainingConfig(batch=8, method="extragradient", g_ema=0.9),
    TrainingConfig(batch=8, method="lookahead", optimizer="momentum", k=2),
    TrainingConfig(batch=8, spectral_norm=True, penalty="r1", instance_noise=0.1),
]


def make(t: TrainingConfig, dropout: bool = False):
    G = MLP((2, 6, 2), ("relu", "identity"))
    D = MLP((2, 6, 1), ("relu", "identity"))
    gan = GAN(G, D, d_dropout=(0.1, 0.2) if dropout else ())
    batches = StreamBatches(lambda rng, m: rng.normal(1.0, 0.5, (m, 2)), gan.latent,
                            stream(1, "data"), stream(1, "latent"))
    return t.trainer(gan, t.make_g_optimizer(1e-2), t.make_d_optimizer(1e-2), G.init(stream(1, "g_init")),
                     D.init(stream(1, "d_init")), batches, lambda name: stream(1, name),
                     rng_dropout=stream(1, "dropout") if dropout else None)


@pytest.mark.parametrize("t", CONFIGS + ["dropout"], ids=lambda t: t if isinstance(t, str) else repr(t.method))
def test_a_restored_trainer_continues_bit_for_bit(t):
    dropout = t == "dropout"
    t = TrainingConfig(batch=8) if dropout else t
    a = make(t, dropout)
    for _ in range(4):
        a.step()
    arrays, meta = trainer_state(a)
    arrays = {k: v.copy() for k, v in arrays.items()}  # as a file would hold them
    meta = json.loads(json.dumps(meta))
    b = make(t, dropout)
    b.step()  # a different state, overwritten
    restore_trainer(b, arrays, meta)
    assert b.it == 4
    for _ in range(3):
        la, lb = a.step(), b.step()
        assert np.array_equal(la, lb)
    a2, m2 = trainer_state(a)
    b2, n2 = trainer_state(b)
    assert a2.keys() == b2.keys() and m2 == n2
    for k in a2:
        assert np.array_equal(a2[k], b2[k]), k
    # a third trainer never restored differs (the test can fail)
    c = make(t, dropout)
    for _ in range(7):
        c.step()
    assert np.array_equal(c.theta_g, a.theta_g)  # the same run uninterrupted
    assert not np.array_equal(make(t, dropout).theta_g, a.theta_g)


def test_an_array_that_does_not_fit_is_refused_in_one_line():
    t = TrainingConfig(batch=8)
    arrays, meta = trainer_state(make(t))
    arrays = dict(arrays, theta_d=np.zeros(3))
    with pytest.raises(ValueError, match=r"checkpoint theta_d has shape \(3,\) float64") as e:
        restore_trainer(make(t), arrays, meta)
    assert "\n" not in str(e.value)
    arrays, _ = trainer_state(make(t))
    arrays = dict(arrays, **{"opt_d/m": arrays["opt_d/m"].astype(np.float32)})
    with pytest.raises(ValueError, match="opt_d/m .* float32, the run expects .* float64"):
        restore_trainer(make(t), arrays, meta)


def test_nonfinite_names_the_first_bad_array():
    tr = make(TrainingConfig(batch=8, g_ema=0.9))
    assert nonfinite(state_arrays(tr)) is None
    tr.state_g.average[0] = np.nan
    assert nonfinite(state_arrays(tr)) == "moving average of G's parameters"
