"""`gandyn theory` end to end (quick mode) and the discriminator fit."""
import json
import subprocess
import sys

import numpy as np

from gandyn import theory as T
from gandyn.experiments import theory_check as tc
from gandyn.theory.optimal_d import fit_discriminator
from gandyn.distributions import Normal


def test_fit_discriminator_approaches_d_star_and_stops_on_a_plateau():
    p, q = Normal(0.0, 1.0), Normal(1.0, 1.0)
    f = fit_discriminator(lambda r, m: p.rvs(m, r), lambda r, m: q.rvs(m, r), 0,
                          batch=512, max_batch=1024, min_lr=1e-3, n_val=4096)
    x = np.linspace(-2.0, 3.0, 201)
    err = np.abs(f.prob(x) - T.d_star(p.pdf(x), q.pdf(x)))
    assert f.stopped == "plateau" and err.max() < 0.03
    # the validation loss ends at (about) -C(G): the cross-entropy of D* is -C(G)
    assert abs(f.final_loss + T.c_of_g(p, q).value) < 0.01


def test_part_c_perturbations_never_increase_v():
    rows, points = tc.part_c(seed=1, n_h=2, eps=(0.01, 0.5))
    assert all(r["ok"] for r in rows) and max(p["delta"] for p in points) < 0


def test_gandyn_theory_quick_writes_figures_and_table(tmp_path):
    r = subprocess.run([sys.executable, "-m", "gandyn", "theory", "--quick", "--quiet", "--perturbations", "2",
                        "--out", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for stem in ("theory_learned", "theory_c_vs_jsd", "theory_maximality"):
        assert (tmp_path / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (tmp_path / f"{stem}.pdf").read_bytes()[:4] == b"%PDF"
    data = json.loads((tmp_path / "theory_table.json").read_text())
    assert data["summary"]["all_bounds_met"]
    assert data["summary"]["maxima"]["a: |V(D*,G) - (-log4 + 2 JSD)|"] <= 1e-8
    parts = {row["part"] for row in data["rows"]}
    assert parts == {"a", "b", "c", "l"}
    loss_rows = [row for row in data["rows"] if row["part"] == "l"]
    assert {row["loss"] for row in loss_rows} >= {"nonsat", "ls(a=0, b=1, c=1)", "hinge", "wgan", "kl", "js"}
    assert all(row["ok"] and row["value"] <= 1e-8 for row in loss_rows)
    assert (tmp_path / "theory_table.csv").read_text().startswith("part,pair,metric,value,bound,ok")


def test_bad_argument_is_one_line_exit_2():
    r = subprocess.run([sys.executable, "-m", "gandyn", "theory", "--perturbations", "0"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--perturbations" in r.stderr
