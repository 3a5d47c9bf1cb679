"""Every catalogue statistic on curves whose answer is known by construction."""

import math

import numpy as np
import pytest

from tensorboard_plugin_hjepa.catalog import STATISTICS
from tensorboard_plugin_hjepa.diagnosis import statistics as S
from tests.diagnosis_util import jepa_loss


def curve(values, steps=None):
    values = np.asarray(values, dtype=np.float64)
    return S.Curve(np.arange(values.size) if steps is None else steps, values)


def test_every_catalogue_statistic_is_implemented():
    assert set(S.STATISTIC_FUNCTIONS) == set(STATISTICS)


@pytest.mark.parametrize(
    "n, expected",
    [
        (0, 0),
        (1, 1),
        (3, 3),
        (5, 5),
        (10, 5),
        (49, 5),
        (51, 6),
        (100, 10),
        (1000, 100),
        (2000, 200),
        (100_000, 200),
    ],
)
def test_window_is_ten_percent_within_5_and_200(n, expected):
    assert S.window_size(n) == expected


def test_recent_is_the_median_of_the_last_window_not_the_last_point():
    values = np.arange(100.0)
    values[-1] = 1e6  # one wild point does not move a median
    stat = S.recent(curve(values))
    assert stat.value == pytest.approx(94.5)
    assert (stat.start_step, stat.end_step, stat.points) == (90, 99, 10)


def test_recent_excludes_but_counts_non_finite_points():
    values = np.ones(100)
    values[-3:] = [np.nan, np.inf, -np.inf]
    stat = S.recent(curve(values))
    assert stat.value == 1.0
    assert stat.non_finite == 3
    assert stat.window()["non_finite"] == 3


def test_recent_of_an_all_nan_window_is_unknown_with_the_reason():
    values = np.ones(100)
    values[-10:] = np.nan
    stat = S.recent(curve(values))
    assert stat.value is None
    assert "NaN" in stat.reason


def test_first_is_the_median_of_the_first_window():
    assert S.first(curve(np.arange(100.0))).value == pytest.approx(4.5)


def test_at_start_skips_a_non_finite_first_point():
    stat = S.at_start(curve([np.nan, 3.0, 4.0]))
    assert stat.value == 3.0 and stat.non_finite == 1


def test_recent_over_first():
    assert S.recent_over_first(curve([1.0] * 50 + [3.0] * 50)).value == pytest.approx(3.0)
    # leading zeros (EMA divergence right after the copy) carry no scale: skipped
    assert S.recent_over_first(curve([0.0] * 2 + [1.0] * 48 + [3.0] * 50)).value == pytest.approx(
        3.0
    )
    assert S.recent_over_first(curve([0.0] * 50 + [3.0] * 50)).value == pytest.approx(1.0)
    assert S.recent_over_first(curve([0.0] * 100)).value is None


def test_relative_change():
    assert S.relative_change(curve([2.0] * 50 + [1.0] * 50)).value == pytest.approx(-0.5)
    assert S.relative_change(curve([-2.0] * 50 + [-1.0] * 50)).value == pytest.approx(0.5)


def test_trend_statistics_work_on_a_sparse_curve_with_disjoint_windows():
    # A metric logged every 500 steps in a 2,000-step run: 4 points.
    stat = S.recent_over_first(curve([1.0, 1.0, 5.0, 5.0], steps=np.arange(4) * 500))
    assert stat.value == pytest.approx(5.0)
    assert S.recent_over_first(curve([1.0, 5.0, 5.0])).value is None  # too few


def test_rise_from_min_ignores_one_low_outlier():
    values = np.concatenate([np.linspace(10, 1, 50), np.linspace(1, 2, 50)])
    values[30] = 0.01  # one bad batch: the 5-point running median removes it
    stat = S.rise_from_min(curve(values))
    assert stat.value == pytest.approx(np.median(values[-10:]) / 1.0, rel=0.03)


def test_rise_from_min_of_a_long_noisy_flat_curve_is_about_one():
    # 100,000 noisy points: the minimum of 5-point medians of raw points would be far
    # below the level; bucket means first keep the ratio near 1.
    rng = np.random.default_rng(0)
    values = 1.0 + 0.05 * rng.standard_normal(100_000)
    assert S.rise_from_min(curve(values)).value < 1.05


def test_rise_from_min_of_a_healthy_jepa_curve_is_small():
    assert S.rise_from_min(curve(jepa_loss(2000))).value < 1.1


def test_noise_cv_is_detrended():
    assert S.noise_cv(curve(np.linspace(5, 1, 200))).value == pytest.approx(0.0, abs=1e-9)
    rng = np.random.default_rng(1)
    noisy = np.linspace(5, 1, 2000) * 0 + 2.0 + 0.2 * rng.standard_normal(2000)
    assert S.noise_cv(curve(noisy)).value == pytest.approx(0.1, rel=0.15)


def test_max_zscore_finds_a_spike_and_not_plain_noise():
    rng = np.random.default_rng(3)
    values = 1.0 + 0.01 * rng.standard_normal(500)
    calm = S.max_zscore(curve(values)).value
    values[300] = 1.5
    spiky = S.max_zscore(curve(values)).value
    assert calm < 6 < spiky
    assert spiky > 30


def test_max_zscore_of_a_step_after_a_constant_stretch_is_huge():
    values = np.array([1.0] * S.ZSCORE_HISTORY + [2.0])
    assert S.max_zscore(curve(values)).value > 1e6
    assert S.max_zscore(curve(np.ones(S.ZSCORE_HISTORY + 10))).value == pytest.approx(0.0)


def test_max_zscore_of_gaussian_noise_stays_below_the_spike_bound():
    # The gradient-spike check fires at z > 6: noise alone must not reach it.
    worst = max(
        S.max_zscore(curve(np.random.default_rng(seed).normal(size=1000))).value
        for seed in range(40)
    )
    assert worst < 6.0


def test_noise_growth_compares_the_noise_with_the_runs_own_after_the_warmup():
    rng = np.random.default_rng(4)
    falling = np.linspace(1.0, 0.2, 1000)
    calm = falling + 0.02 * rng.standard_normal(1000)
    assert S.noise_growth(curve(calm)).value == pytest.approx(1.0, abs=0.25)
    noisier = calm + np.where(np.arange(1000) > 900, 0.1, 0.0) * rng.standard_normal(1000)
    assert S.noise_growth(curve(noisier)).value > 3


def test_peak_and_steady_fall():
    assert S.peak(curve([0.3, 0.5, np.nan, 0.4])).value == 0.5
    # Peak of the 3-point running median (0.5, not the lone 0.9), three falls in a row.
    assert S.steady_fall(curve([0.3, 0.9, 0.5, 0.5, 0.45, 0.4, 0.35])).value == pytest.approx(0.15)
    assert S.steady_fall(curve([0.5, 0.5, 0.45, 0.4, 0.41])).value == 0.0  # not falling now
    assert S.steady_fall(curve([0.5, 0.5, 0.5, 0.45, 0.4])).value == 0.0  # two falls only
    # A probe: peak of its 3-point running median over its last value.
    assert S.probe_fall(curve([0.6, 0.6, 0.6, 0.3])).value == pytest.approx(2.0)
    assert S.probe_fall(curve([0.2, 0.9, 0.4, 0.4])).value == pytest.approx(1.0)  # one outlier
    assert S.probe_fall(curve([0.5, 0.0])).value == math.inf


def test_late_change():
    values = [0.0] * 50 + [1.0] * 25 + [1.5] * 25
    assert S.late_change(curve(values)).value == pytest.approx(0.5)


def test_non_finite_counts_nan_and_both_infinities():
    stat = S.non_finite(curve([1.0, np.nan, np.inf, -np.inf, 2.0]))
    assert stat.value == 3.0


def test_recent_max_and_count():
    assert S.recent_max(curve([1.0, 9.0, 2.0, np.nan, 3.0])).value == 9.0
    assert S.count(curve([1.0, np.nan, 2.0])).value == 2.0
    assert S.compute("count", None).value == 0.0


@pytest.mark.parametrize("name", sorted(STATISTICS))
@pytest.mark.parametrize(
    "values",
    [[], [1.0], [np.nan], [np.inf] * 30, [np.nan] * 300],
    ids=["empty", "one", "one_nan", "all_inf", "all_nan"],
)
def test_degenerate_curves_never_crash_and_never_invent_a_value(name, values):
    stat = S.compute(name, curve(values))
    finite = [v for v in values if math.isfinite(v)]
    if name == "count":
        assert stat.value == len(finite)
    elif name == "non_finite":
        assert stat.value == (len(values) - len(finite) if values else None)
    elif name in ("at_start", "recent_max", "peak", "last", "last_after_early") and finite:
        assert stat.value == finite[0]  # one point is a first value, a maximum and a last
    elif name == "steady_fall" and finite:
        assert stat.value == 0.0  # one value has not fallen three times
    elif name == "probe_fall" and finite:
        assert stat.value == 1.0  # one evaluation is at its peak
    else:
        assert stat.value is None, (name, values, stat.value)
        assert stat.reason


@pytest.mark.parametrize("name", sorted(STATISTICS))
def test_missing_curve(name):
    stat = S.compute(name, None)
    assert (stat.value == 0.0) if name == "count" else (stat.value is None and stat.reason)


def test_unknown_statistic_names_the_known_ones():
    with pytest.raises(KeyError, match="recent"):
        S.compute("median_of_everything", curve([1.0]))
