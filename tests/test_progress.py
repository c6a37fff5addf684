"""Progress bars of long runs: they say what they do and end at 100%."""
import io

import tqdm.auto as tqdm_auto
from tqdm import tqdm as _tqdm

from gandyn.distributions import Normal
from gandyn.experiments import gan1d
from gandyn.experiments import theory_check as tc
from gandyn.theory.optimal_d import fit_discriminator


class _Recorder(_tqdm):
    """A real tqdm bar (written to a buffer) that remembers its instances and updates."""

    made: list = []

    def __init__(self, *a, **kw):
        kw["file"] = io.StringIO()
        kw.pop("disable", None)
        super().__init__(*a, **kw)
        self.descs, self.steps = [], []
        _Recorder.made.append(self)

    def set_description(self, desc=None, refresh=True):
        self.descs.append(desc)
        super().set_description(desc, refresh)

    def update(self, n=1):
        self.steps.append(n)
        return super().update(n)


def _fit(progress, max_steps=2000):
    p, q = Normal(0.0, 1.0), Normal(1.0, 1.0)
    return fit_discriminator(lambda r, m: p.rvs(m, r), lambda r, m: q.rvs(m, r), 0, hidden=(8,), batch=64,
                             max_batch=64, check=20, patience=1, lr=1e-2, min_lr=5e-3, n_val=256,
                             max_steps=max_steps, progress=progress)


def test_a_fit_that_stops_on_a_plateau_advances_a_shared_bar_by_its_full_share():
    bar = _Recorder(total=4000)
    f = _fit(bar)
    assert f.stopped == "plateau" and f.steps < 2000
    assert bar.n == 2000  # the plateau did not leave the bar short
    f2 = _fit(bar)
    assert bar.n == bar.total == 4000 and f2.steps == f.steps
    bar.close()


def test_part_b_has_one_bar_that_names_the_pair_and_reaches_100(monkeypatch):
    _Recorder.made = []
    monkeypatch.setattr(tqdm_auto, "tqdm", _Recorder)
    monkeypatch.setattr(tc, "learned_pairs", lambda quick: [
        ("N(0,1) vs N(1,1)", Normal(0.0, 1.0), Normal(1.0, 1.0), True),
        ("N(0,1) vs N(2,1)", Normal(0.0, 1.0), Normal(2.0, 1.0), True)])
    tc.part_b(progress=True, hidden=(8,), batch=64, max_batch=64, check=20, patience=1, lr=1e-2,
              min_lr=5e-3, n_val=256, max_steps=1000)
    (bar,) = _Recorder.made
    assert bar.total == 2000 and bar.n == 2000
    assert "pair 1 of 2" in bar.desc or "pair 1 of 2" in bar.descs[0]
    assert any("pair 2 of 2" in d for d in bar.descs)


def test_the_sweep_bar_moves_every_iteration(monkeypatch):
    _Recorder.made = []
    monkeypatch.setattr(tqdm_auto, "tqdm", _Recorder)
    setup = gan1d.setup(networks=gan1d.NETWORKS.replace(hidden_g=4, hidden_d=4), training=gan1d.TRAINING.replace(batch=8))
    gan1d.sweep(setup, lr_g_values=[1e-3, 1e-2], lr_d_values=[1e-3], seeds=[0], steps=40, ks=[1, 2],
                checks=2, n_z=256, progress=True)
    (bar,) = _Recorder.made
    assert bar.n == bar.total == 80
    assert max(bar.steps) == 1  # not one jump per check or per population
    assert any("population 2 of 2" in d for d in bar.descs)
