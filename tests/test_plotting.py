"""Figures: the helpers behind them draw what their legends promise, on readable axes."""
import numpy as np
import pytest

pytest.importorskip("matplotlib")

from gandyn.plotting import evaluation as pe  # noqa: E402
from gandyn.plotting import games as pg  # noqa: E402
from gandyn.plotting import mnist as pm  # noqa: E402
from gandyn.plotting import plt  # noqa: E402


def _lines_with_label(ax, needle):
    return [l for l in ax.get_lines() if needle in l.get_label()]


@pytest.mark.parametrize("n", [30, 300, 5000])
def test_running_mean_is_drawn_on_a_short_run(n):
    losses = np.random.default_rng(0).random((n, 2)) + 1.0
    w = pm.running_window(n, 1000)
    assert 1 < w <= n // 10
    fig = pm.loss_figure(losses, window=1000)
    ax = fig.axes[0]
    means = _lines_with_label(ax, "running mean")
    assert len(means) == 2
    for line in means:  # a curve, not a single point
        assert len(line.get_xdata()) == n - w + 1 >= 2
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert all(any(l.get_label() == t for l in ax.get_lines()) for t in legend)
    plt.close(fig)


def test_running_mean_of_a_long_run_keeps_the_window_and_is_exact():
    assert pm.running_window(100_000, 1000) == 1000
    x = np.arange(10.0)
    np.testing.assert_allclose(pm.running_mean(x, 3), [1, 2, 3, 4, 5, 6, 7, 8])


def test_a_very_short_run_has_no_running_mean_entry():
    fig = pm.loss_figure(np.ones((5, 2)), window=1000)
    ax = fig.axes[0]
    assert not _lines_with_label(ax, "running mean")
    assert len(_lines_with_label(ax, "per iteration")) == 2
    plt.close(fig)


def _eval(it, parzen=-260.0):
    return {"iteration": it, "samples": {"parzen": {"mean": parzen, "se": 2.0},
                                         "inception_score": {"mean": 1.6, "std": 0.02},
                                         "fid": {"value": 260.0}}}


def test_metrics_over_training_with_one_point_has_no_offset_and_an_open_x_range():
    fig = pe.metrics_over_training_figure({"trained parameters": [_eval(100_000, 1e-5 + 1)]},
                                            title="one evaluation")
    fig.canvas.draw()
    for ax in fig.axes:
        lo, hi = ax.get_xlim()
        assert lo < 100_000 < hi and hi - lo > 1
        assert ax.xaxis.get_offset_text().get_text() == ""
    assert fig.axes[0].yaxis.get_offset_text().get_text() == ""
    assert fig.axes[0].get_legend() is None and fig.legends  # the legend is outside the panels
    plt.close(fig)


def test_talk_claim_panels_have_non_degenerate_x_limits():
    from gandyn.experiments.game_study import Blocks

    one = Blocks("Dirac", eig_g=np.zeros(1), eig_d=np.zeros(1), omega_norm=0.0)
    three = Blocks("Gaussian", eig_g=np.zeros(2), eig_d=np.array([2.0, 0.1, 0.01]), omega_norm=0.0)
    fig = pg.talk_claim_figure([one, three])
    for ax, size in zip(fig.axes, (1, 3)):
        lo, hi = ax.get_xlim()
        assert lo <= 0.5 and hi >= size + 0.5
        assert all(float(t).is_integer() for t in ax.get_xticks() if lo <= t <= hi)
    plt.close(fig)


def test_spectrum_zooms_on_eigenvalues_piled_near_zero():
    spectra = {"spread": np.array([1 + 1j, 1 - 1j]),
               "cluster and one far": np.array([7.6, 0.08 + 0.17j, 0.08 - 0.17j, 0.43, 0.28])}
    fig = pg.spectrum_figure(spectra, 0.5)
    a, b = fig.axes[:2]
    assert a.get_xlim()[1] < 3 and b.get_xlim()[1] > 7.6  # each panel its own scale
    insets = [c for c in b.child_axes]
    assert len(insets) == 1 and insets[0].get_xlim()[1] < 1.0  # the cluster, zoomed
    assert not a.child_axes
    plt.close(fig)


def _gan1d_arrays(spike=50.0):
    from scipy.stats import norm

    x = np.linspace(-1, 8, 400)
    p_g = np.stack([norm.pdf(x, 0.2, 0.5 / spike), norm.pdf(x, 3, 0.6), norm.pdf(x, 4, 0.5)])
    d = np.stack([1 / (1 + np.exp(-(x - 2) * s)) for s in (2.0, 1.0, 0.0)])
    z = np.linspace(-1, 1, 15)
    return {"x": x, "p_data": norm.pdf(x, 4, 0.5), "p_g": p_g, "d": d, "z_map": z,
            "x_map": np.stack([0.2 + 0.01 * z, 3 + z, 4 + 0.5 * z]), "it": np.array([25, 500, 3000]),
            "jsd": np.array([0.69, 0.3, 0.01]), "c": np.array([0.0, -0.8, -1.37]),
            "v": np.array([-0.7, -1.0, -1.38]), "jsd_binned": np.array([0.69, 0.31, 0.02])}


def test_figure1_has_scales_the_half_line_an_outside_legend_and_a_labelled_spike():
    from gandyn.plotting import gan1d as fg

    a = _gan1d_arrays()
    fig = fg.figure1(a, {"a": 0, "b": 1, "c": 2})
    panels = [ax for ax in fig.axes if ax.get_title().startswith("(")]
    assert len(panels) == 3 and fig.legends and all(ax.get_legend() is None for ax in panels)
    for ax in panels:
        assert len(ax.get_yticks()) >= 2  # a density scale
        assert any("1/2" in c.get_label() for c in ax.collections)
    texts = [t.get_text() for t in panels[0].texts]
    assert any("peak" in t for t in texts)  # the clipped spike says how tall it is
    assert not any("peak" in t.get_text() for t in panels[2].texts)
    plt.close(fig)


def test_jsd_curves_label_both_axes_and_keep_log2_inside():
    from gandyn.plotting import gan1d as fg

    fig = fg.jsd_curves(_gan1d_arrays())
    a1, a2 = fig.axes
    assert a1.get_ylabel() and a2.get_ylabel()
    assert a1.get_ylim()[1] > np.log(2) * 1.5
    plt.close(fig)
