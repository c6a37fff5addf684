"""Confidence intervals and standard errors of gandyn.metrics.intervals against published values."""
import math

import numpy as np
import pytest

from gandyn.metrics import format_pm, mean_se, rate_columns, spread_columns, wilson_interval


@pytest.mark.parametrize("k, n, lo, hi", [
    # Newcombe 1998 (Statistics in Medicine 17, 857-872), Table I, method 3 (Wilson score, no continuity
    # correction), examples (a)-(d)
    (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)])
def test_wilson_interval_equals_newcombes_table(k, n, lo, hi):
    a, b = wilson_interval(k, n)
    assert abs(a - lo) < 5e-5 and abs(b - hi) < 5e-5


def test_wilson_interval_closed_forms_and_symmetry():
    z = 1.959963984540054
    for n in (1, 5, 10, 100):
        assert wilson_interval(0, n) == (0.0, pytest.approx(z * z / (n + z * z), rel=1e-14))
        for k in range(n + 1):
            lo, hi = wilson_interval(k, n)
            lo2, hi2 = wilson_interval(n - k, n)
            assert 0 <= lo <= k / n <= hi <= 1
            assert lo == pytest.approx(1 - hi2, abs=1e-14) and hi == pytest.approx(1 - lo2, abs=1e-14)
    # Agresti & Coull 1998: the score interval's limits are the roots of |p - pi| = z sqrt(pi (1 - pi) / n)
    lo, hi = wilson_interval(7, 20)
    for pi in (lo, hi):
        assert abs(0.35 - pi) == pytest.approx(z * math.sqrt(pi * (1 - pi) / 20), rel=1e-12)


def test_mean_se_and_format():
    assert mean_se([1.0, 2.0, 3.0, 4.0]) == (2.5, pytest.approx(math.sqrt(5 / 3) / 2, rel=1e-15))
    x = np.random.default_rng(0).normal(size=50)
    assert mean_se(x)[1] == pytest.approx(np.std(x, ddof=1) / np.sqrt(50), rel=1e-14)
    assert math.isnan(mean_se([3.0])[1])
    assert format_pm(6.3, 0.5, ".1f") == "6.3+-0.5"
    assert format_pm(6.3, float("nan"), ".1f") == "6.3"
    assert format_pm(None, None) == "-"


@pytest.mark.parametrize("args", [(1, 0), (3, 2), (-1, 5), (1.5, 4), (1, 5, 0.0)])
def test_wilson_interval_refuses_bad_input(args):
    with pytest.raises(ValueError):
        wilson_interval(*args)


def test_rate_and_spread_columns():
    # Wilson interval of 3 of 4 (wilson_interval's closed form, tested above), in percent
    lo, hi = wilson_interval(3, 4)
    assert rate_columns("ok", np.array([[True, True], [False, True]])) == {"ok_pct": 75.0, "ok_lo_pct": 100 * lo,
                                                                          "ok_hi_pct": 100 * hi}
    assert spread_columns("x", [1.0, 2.0, 3.0, 10.0]) == {"median_x": 2.5, "mean_x": 4.0, "se_x": mean_se([1, 2, 3, 10])[1]}
    for cols in (rate_columns("ok", []), spread_columns("x", [])):
        assert all(math.isnan(v) for v in cols.values())
