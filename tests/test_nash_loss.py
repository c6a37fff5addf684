"""gandyn nash --loss: the Dirac-GAN of every loss, with its penalties; closed forms of J(0, 0)
(Mescheder, Geiger & Nowozin 2018, Sec. 3) against autograd, WGAN-GP's non-differentiable psi = 0."""
import json

import numpy as np
import pytest

from gandyn import cli
from gandyn.engine import losses
from gandyn.experiments import game_study as gs


@pytest.mark.parametrize("loss", losses.LOSSES.names())
def test_closed_forms_of_every_loss_and_paired_penalty(loss):
    L = losses.get(loss)
    for pen in (None, *L.penalties):
        for row in gs.loss_closed_forms(loss, pen, 0.7):
            if row["note"]:  # only WGAN-GP's psi = 0 has no Jacobian; coupled losses have a closed form too
                assert pen == "gp" and "+ GP" in row["name"]
            else:
                assert row["error"] < 1e-12


def test_wgan_and_wgan_gp_do_not_converge():
    """M18 Fig. 2 / Sec. 3.1-3.2: WGAN's J(0, 0) has eigenvalues +-i (simultaneous GD spirals out,
    alternating GD circles), and WGAN-GP has no Jacobian at psi = 0 (skipped) and cycles."""
    v = gs.loss_variants("wgan", "gp", 0.3)
    spectra, skipped = gs.loss_spectra(v)
    assert list(spectra) == ["wgan"] and np.allclose(sorted(spectra["wgan"].imag), [-1, 1])
    assert list(skipped) == ["wgan + GP ($\\lambda$=0.3, target 1)"]
    panels = gs.dirac_panels(0.2, (1.0, 1.0), 300, variants=v)
    dist = {p.title: p.dist for p in panels}
    assert dist["wgan: simultaneous"] > 10 and dist["wgan: alternating"] > 0.5
    assert min(dist[k] for k in dist if "GP" in k) > 0.5  # away from the equilibrium after 300 steps
    assert dist["wgan: extragradient"] < 0.01  # extragradient converges on the bilinear game
    vf = gs.vector_fields(n=5, variants=v)
    U, V = vf.fields["wgan + GP ($\\lambda$=0.3, target 1)"]
    assert np.isnan(U[2]).all() and np.isfinite(np.delete(U, 2, axis=0)).all()  # the row psi = 0 only
    assert np.isfinite(vf.fields["wgan"][0]).all()


def test_refusals():
    with pytest.raises(ValueError, match="not used with"):
        gs.loss_variants("hinge", "gp", 1.0)
    with pytest.raises(ValueError, match="loss"):
        gs.loss_variants("nosuchloss")
    assert cli.main(["nash", "--penalty", "r1", "--out", "unused"]) == 2  # one line, exit 2


def test_cli_loss_mode(tmp_path, capsys):
    out = tmp_path / "n"
    assert cli.main(["nash", "--loss", "nonsat", "--penalty", "r1", "--steps", "20", "--field-grid", "5",
                     "--out", str(out), "--quiet"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["penalty_weight"] == 0.3 and not s["spectra_skipped"] and len(s["spectra"]) == 2
    lam = np.array(s["spectra"]["nonsat + R1 ($\\gamma$=0.3)"])  # gamma/2 +- i sqrt(c^2 - gamma^2/4)
    assert np.allclose(sorted(lam[:, 1]), [-np.sqrt(0.25 - 0.0225), np.sqrt(0.25 - 0.0225)]) and np.allclose(lam[:, 0], 0.15)
    assert (out / "dirac_trajectories.png").exists() and (out / "closed_forms.csv").exists()
