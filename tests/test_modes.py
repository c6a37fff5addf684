"""Mode coverage (VEEGAN / PacGAN protocol) on constructed samples with known answers."""
import numpy as np
import pytest

from gandyn.distributions import Normal2D, Mixture, grid2d, ring2d
from gandyn.metrics import mixture_modes, mode_coverage, reverse_kl_uniform


def ring_centers():
    return mixture_modes(ring2d())


def test_centres_of_ring_and_grid():
    c, s = mixture_modes(ring2d())
    assert s == 0.02
    np.testing.assert_allclose(np.hypot(c[:, 0], c[:, 1]), 2.0)
    np.testing.assert_allclose(np.arctan2(c[:, 1], c[:, 0]) % (2 * np.pi), 2 * np.pi * np.arange(8) / 8, atol=1e-12)
    c, s = mixture_modes(grid2d())
    assert s == 0.05 and c.shape == (25, 2)
    assert sorted(set(c[:, 0].round(9))) == [-4.0, -2.0, 0.0, 2.0, 4.0]


def test_rejects_anisotropic_or_unequal_mixtures():
    a = Normal2D((0.0, 0.0), ((1.0, 0.0), (0.0, 2.0)))
    with pytest.raises(ValueError, match="isotropic"):
        mixture_modes(Mixture([a, Normal2D.isotropic((1, 1), 1.0)], [0.5, 0.5]))
    with pytest.raises(ValueError, match="one standard deviation"):
        mixture_modes(Mixture([Normal2D.isotropic((0, 0), 1.0), Normal2D.isotropic((1, 1), 2.0)], [0.5, 0.5]))


def test_constructed_population():
    c, s = ring_centers()
    n = 100
    # model 0: 10 samples exactly on each of modes 0..7 except 20 on mode 0 and 10 far away
    x0 = np.concatenate([np.repeat(c, 10, axis=0), np.repeat(c[:1], 10, axis=0), np.full((10, 2), 50.0)])
    # model 1: all samples just inside 3 sd of mode 3 (radius 0.059)
    x1 = c[3] + 0.059 * np.stack([np.cos(np.arange(n)), np.sin(np.arange(n))], axis=1)
    # model 2: all samples just outside 3 sd of mode 5 (radius 0.061): none high quality
    x2 = c[5] + 0.061 * np.stack([np.cos(np.arange(n)), np.sin(np.arange(n))], axis=1)
    cov = mode_coverage(np.stack([x0, x1, x2]), c, s)
    np.testing.assert_array_equal(cov.counts[0], [20, 10, 10, 10, 10, 10, 10, 10])
    np.testing.assert_array_equal(cov.counts[1], [0, 0, 0, 100, 0, 0, 0, 0])
    np.testing.assert_array_equal(cov.counts[2], 0)
    np.testing.assert_array_equal(cov.modes, [8, 1, 0])
    np.testing.assert_allclose(cov.high_quality, [0.9, 1.0, 0.0])
    np.testing.assert_array_equal(cov.covered_all, [True, False, False])
    q = np.array([2, 1, 1, 1, 1, 1, 1, 1]) / 9
    np.testing.assert_allclose(cov.reverse_kl, [np.sum(q * np.log(8 * q)), np.log(8), np.log(8)], rtol=1e-12)


def test_min_count_and_single_model_shape():
    c, s = ring_centers()
    x = np.concatenate([np.repeat(c[:4], 5, axis=0), np.repeat(c[4:], 1, axis=0)])  # 5 on modes 0-3, 1 on 4-7
    assert int(mode_coverage(x, c, s).modes) == 8
    cov = mode_coverage(x, c, s, min_count=5)
    assert cov.counts.shape == (8,) and int(cov.modes) == 4 and not bool(cov.covered_all)


def test_nearest_centre_and_radius():
    c = np.array([[0.0, 0.0], [1.0, 0.0]])
    # 0.4 from centre 0 and 0.6 from centre 1: nearest is 0; high quality only with radius*scale > 0.4
    x = np.array([[0.4, 0.0]])
    assert mode_coverage(x, c, 0.1).counts.tolist() == [0, 0]
    assert mode_coverage(x, c, 0.1, radius=4.01).counts.tolist() == [1, 0]


def test_nan_samples_are_never_high_quality():
    c, s = ring_centers()
    x = np.full((1, 10, 2), np.nan)
    cov = mode_coverage(x, c, s)
    assert cov.high_quality[0] == 0 and cov.modes[0] == 0


def test_true_samples_score_as_expected():
    # samples of the data itself: within 3 sd with probability 1 - exp(-9/2) in 2-D (Rayleigh)
    d = ring2d()
    c, s = mixture_modes(d)
    x = d.rvs(20000, np.random.default_rng(0))
    cov = mode_coverage(x, c, s)
    assert int(cov.modes) == 8
    p = 1 - np.exp(-4.5)
    assert abs(float(cov.high_quality) - p) < 4 * np.sqrt(p * (1 - p) / 20000)
    assert float(cov.reverse_kl) < 2e-3


def test_chunking_does_not_change_results():
    c, s = ring_centers()
    x = np.random.default_rng(1).normal(0, 2, size=(7, 50, 2))
    a, b = mode_coverage(x, c, s, chunk=2), mode_coverage(x, c, s, chunk=64)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def test_reverse_kl_uniform_values():
    assert reverse_kl_uniform([1, 1]) == 0.0
    np.testing.assert_allclose(reverse_kl_uniform([3, 1]), 0.75 * np.log(1.5) + 0.25 * np.log(0.5))
    np.testing.assert_allclose(reverse_kl_uniform([[0, 0, 0], [0, 5, 0]]), [np.log(3), np.log(3)])


@pytest.mark.parametrize("bad", [dict(scale=0.0), dict(scale=1.0, radius=-1), dict(scale=1.0, min_count=0)])
def test_bad_arguments(bad):
    c, _ = ring_centers()
    with pytest.raises(ValueError):
        mode_coverage(np.zeros((3, 2)), c, **bad)


def test_dimension_mismatch():
    c, s = ring_centers()
    with pytest.raises(ValueError, match="share d"):
        mode_coverage(np.zeros((3, 3)), c, s)
