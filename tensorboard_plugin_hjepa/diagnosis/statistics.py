"""The statistics a verdict or a check takes of one curve (catalogue ``STATISTICS``).

Each statistic is a pure numpy function of a ``Curve`` (a Series with its finite
points cached) and returns a ``Stat``: the value (None when it cannot be computed,
with the reason in ``reason``) and the window it was computed on, so the user sees
the evidence. Windows are robust: a median over the last 10% of points (at least 5,
at most 200), never one noisy point. Non-finite points are excluded from medians and
fits but counted in ``non_finite``.

Minimum points: a window median needs ``MIN_WINDOW_POINTS`` finite values; statistics
that compare the start with the end of a curve need ``MIN_TREND_POINTS`` points and use
two windows that never overlap (at most half the points each, so a metric logged every
500 steps can still be compared). Fewer gives ``value=None`` ("too few points").
"""

import dataclasses
import math
from typing import Callable, Dict, Optional

import numpy as np

from ..catalog.schema import AFTER_EARLY, AFTER_WARMUP

WINDOW_FRACTION = 0.1
WINDOW_MIN = 5
WINDOW_MAX = 200
MIN_WINDOW_POINTS = 2  # finite values a window median needs (one point is not a trend)
MIN_TREND_POINTS = 4  # points a first-vs-recent comparison needs (two disjoint windows of 2)
RUNNING_MEDIAN_POINTS = 5
RUNNING_MEDIAN_MAX_INPUT = 2000  # longer curves are reduced to bucket means first
RUNNING_MEDIAN_BUCKETS = 1000
# 50 points: with 20 the spread estimate is so noisy that pure Gaussian noise reaches
# z > 6 in about one curve of 1,000 points in 20.
ZSCORE_HISTORY = 50
ZSCORE_MIN_POINTS = ZSCORE_HISTORY + 1
LATE_CHANGE_MIN_POINTS = 8


def window_size(n: int) -> int:
    """Points in a robust window of a curve of ``n`` points (10%, within [5, 200], <= n)."""
    if n <= 0:
        return 0
    k = int(math.ceil(WINDOW_FRACTION * n))
    return min(n, max(WINDOW_MIN, min(WINDOW_MAX, k)))


class Curve:
    """A Series (steps, values) with the derived arrays the statistics share.

    Build once per series per diagnosis; every statistic reuses the finite mask.
    """

    __slots__ = ("steps", "values", "finite", "n", "non_finite", "_finite_values")

    def __init__(self, steps, values):
        self.steps = np.asarray(steps, dtype=np.int64)
        self.values = np.asarray(values, dtype=np.float64)
        if self.steps.shape != self.values.shape or self.values.ndim != 1:
            raise ValueError(
                "steps and values must be 1-D arrays of one length, got %s and %s"
                % (self.steps.shape, self.values.shape)
            )
        self.finite = np.isfinite(self.values)
        self.n = int(self.values.size)
        self.non_finite = self.n - int(np.count_nonzero(self.finite))
        self._finite_values = None

    @classmethod
    def of(cls, series) -> "Curve":
        return cls(series.steps, series.values)

    @property
    def finite_values(self) -> np.ndarray:
        if self._finite_values is None:
            self._finite_values = self.values[self.finite] if self.non_finite else self.values
        return self._finite_values

    def first_non_finite_step(self) -> Optional[int]:
        if not self.non_finite:
            return None
        return int(self.steps[np.argmin(self.finite)])


@dataclasses.dataclass
class Stat:
    """A statistic's value and the evidence behind it.

    Attributes:
      value: a Python float, or None when it could not be computed.
      statistic: the catalogue statistic name.
      start_step, end_step: the steps the window spans (None for an empty curve).
      points: points in the window(s), finite or not.
      non_finite: NaN/Inf points in the window(s) (excluded from the value).
      reason: why ``value`` is None ("" otherwise).
    """

    value: Optional[float]
    statistic: str
    start_step: Optional[int] = None
    end_step: Optional[int] = None
    points: int = 0
    non_finite: int = 0
    reason: str = ""

    def window(self) -> dict:
        return {
            "statistic": self.statistic,
            "start_step": self.start_step,
            "end_step": self.end_step,
            "points": self.points,
            "non_finite": self.non_finite,
        }


def _span(curve: Curve, start: int, stop: int):
    """(start_step, end_step, points, non_finite) of curve[start:stop]."""
    if stop <= start:
        return None, None, 0, 0
    finite = curve.finite[start:stop]
    return (
        int(curve.steps[start]),
        int(curve.steps[stop - 1]),
        stop - start,
        int(finite.size - np.count_nonzero(finite)),
    )


def _window_median(
    curve: Curve, start: int, stop: int, statistic: str, min_points: int = MIN_WINDOW_POINTS
) -> Stat:
    start_step, end_step, points, bad = _span(curve, start, stop)
    stat = Stat(None, statistic, start_step, end_step, points, bad)
    if points == 0:
        stat.reason = "no data"
        return stat
    window = curve.values[start:stop]
    good = window[curve.finite[start:stop]] if bad else window
    if good.size < min_points:
        stat.reason = (
            "all %d points are NaN/Inf" % points
            if good.size == 0
            else "too few points: %d finite in the window, need %d" % (good.size, min_points)
        )
        return stat
    stat.value = float(np.median(good))
    return stat


def recent(curve: Curve) -> Stat:
    """Median of the recent window (the last 10% of points, at least 5, at most 200)."""
    k = window_size(curve.n)
    return _window_median(curve, curve.n - k, curve.n, "recent")


def first(curve: Curve) -> Stat:
    """Median of the first window (the first 10% of points, at least 5, at most 200)."""
    return _window_median(curve, 0, window_size(curve.n), "first")


def at_start(curve: Curve) -> Stat:
    """The first finite logged value (a non-finite first point is reported, not used)."""
    stat = Stat(None, "at_start")
    if curve.n == 0:
        stat.reason = "no data"
        return stat
    if curve.n == curve.non_finite:
        stat.start_step, stat.end_step, stat.points = (
            int(curve.steps[0]),
            int(curve.steps[-1]),
            curve.n,
        )
        stat.non_finite = curve.n
        stat.reason = "all %d points are NaN/Inf" % curve.n
        return stat
    index = int(np.argmax(curve.finite))
    stat.start_step = int(curve.steps[0])
    stat.end_step = int(curve.steps[index])
    stat.points = index + 1
    stat.non_finite = index
    stat.value = float(curve.values[index])
    return stat


def _trend_pair(curve: Curve, statistic: str):
    """(first Stat, recent Stat, combined Stat with value None) for start-vs-end statistics.

    The two windows never overlap: on a short curve (a metric logged every 500 steps)
    each is at most half of the points, and a median of 2 points is accepted.
    """
    k = min(window_size(curve.n), curve.n // 2)
    need = min(MIN_WINDOW_POINTS, max(k, 1))
    head = _window_median(curve, 0, k, "first", need)
    tail = _window_median(curve, curve.n - k, curve.n, "recent", need)
    combined = Stat(
        None,
        statistic,
        head.start_step,
        tail.end_step,
        head.points + tail.points,
        head.non_finite + tail.non_finite,
    )
    if curve.n < MIN_TREND_POINTS:
        combined.reason = (
            "no data"
            if curve.n == 0
            else "too few points: %d, need %d to compare the start with the end"
            % (curve.n, MIN_TREND_POINTS)
        )
    elif head.value is None or tail.value is None:
        combined.reason = head.reason or tail.reason
    return head, tail, combined


def _without_leading_zeros(curve: Curve) -> Curve:
    nonzero = np.flatnonzero(curve.finite & (curve.values != 0))
    if nonzero.size == 0 or nonzero[0] == 0:
        return curve
    return Curve(curve.steps[nonzero[0] :], curve.values[nonzero[0] :])


def recent_over_first(curve: Curve) -> Stat:
    """recent / first, the first window taken after any leading exact zeros.

    A quantity that starts at exactly 0 (the EMA divergence right after the target is
    copied from the context encoder) has no scale there; its first non-zero values do.
    None when the first window's median is still 0.
    """
    head, tail, stat = _trend_pair(_without_leading_zeros(curve), "recent_over_first")
    if stat.reason:
        return stat
    if head.value == 0:
        stat.reason = "the first window's median is 0"
        return stat
    stat.value = tail.value / head.value
    return stat


def relative_change(curve: Curve) -> Stat:
    """(recent - first) / |first| (None when the first window's median is 0)."""
    head, tail, stat = _trend_pair(curve, "relative_change")
    if stat.reason:
        return stat
    if head.value == 0:
        stat.reason = "the first window's median is 0"
        return stat
    stat.value = (tail.value - head.value) / abs(head.value)
    return stat


def _bucket_means(values: np.ndarray, buckets: int) -> np.ndarray:
    edges = np.linspace(0, values.size, buckets + 1).astype(np.int64)[:-1]
    counts = np.diff(np.append(edges, values.size))
    return np.add.reduceat(values, edges) / counts


def running_median(values: np.ndarray, width: int = RUNNING_MEDIAN_POINTS) -> np.ndarray:
    """Running median: element j is the median of values[j:j+width]."""
    if values.size < width:
        return np.array([np.median(values)]) if values.size else values
    view = np.lib.stride_tricks.sliding_window_view(values, width)
    return np.partition(view, width // 2, axis=1)[:, width // 2]


def rise_from_min(curve: Curve) -> Stat:
    """recent / minimum of the 5-point running median.

    Curves longer than 2,000 finite points are first reduced to 1,000 bucket means, so
    the minimum is the curve's low point, not the luckiest of 100,000 noisy batches.
    """
    tail = recent(curve)
    stat = Stat(
        None,
        "rise_from_min",
        int(curve.steps[0]) if curve.n else None,
        int(curve.steps[-1]) if curve.n else None,
        curve.n,
        curve.non_finite,
    )
    if curve.n < RUNNING_MEDIAN_POINTS:
        stat.reason = (
            "no data"
            if curve.n == 0
            else "too few points: %d, need %d" % (curve.n, RUNNING_MEDIAN_POINTS)
        )
        return stat
    if tail.value is None:
        stat.reason = tail.reason
        return stat
    values = curve.finite_values
    if values.size > RUNNING_MEDIAN_MAX_INPUT:
        values = _bucket_means(values, RUNNING_MEDIAN_BUCKETS)
    low = float(np.min(running_median(values)))
    if low <= 0:
        stat.reason = "the curve's minimum is %g (<= 0): a ratio to it means nothing" % low
        return stat
    stat.value = tail.value / low
    return stat


def _detrended_std(steps: np.ndarray, values: np.ndarray) -> float:
    """Std of the residual of a least-squares line through the points."""
    x = steps.astype(np.float64)
    x = x - x.mean()
    denom = float(np.dot(x, x))
    slope = float(np.dot(x, values - values.mean())) / denom if denom > 0 else 0.0
    return float(np.std(values - values.mean() - slope * x))


def _finite_window(curve: Curve, start: int, stop: int):
    mask = curve.finite[start:stop]
    return curve.steps[start:stop][mask], curve.values[start:stop][mask]


def noise_cv(curve: Curve) -> Stat:
    """Std of the linearly detrended recent window / |recent median|."""
    k = window_size(curve.n)
    tail = recent(curve)
    stat = Stat(None, "noise_cv", tail.start_step, tail.end_step, tail.points, tail.non_finite)
    if tail.value is None:
        stat.reason = tail.reason
        return stat
    x, y = _finite_window(curve, curve.n - k, curve.n)
    if y.size < WINDOW_MIN:
        stat.reason = "too few points: %d finite in the window, need %d" % (y.size, WINDOW_MIN)
        return stat
    if tail.value == 0:
        stat.reason = "the recent median is 0"
        return stat
    stat.value = _detrended_std(x, y) / abs(tail.value)
    return stat


NOISE_MIN_POINTS = 30  # points each noise window needs: two 10-point stds differ 2x by chance


def noise_growth(curve: Curve) -> Stat:
    """Noise of the recent window / noise of the first window after the warmup.

    Noise is the std of a window around its least-squares line. A run is judged against
    its own noise: per-batch loss noise scales with 1/sqrt(batch), so a fixed bound on the
    coefficient of variation called every batch-8 run noisy. In absolute terms the noise
    of a healthy loss shrinks as the loss falls (2-3x over the tiny demo, whose
    coefficient of variation grows 5x), so a growth means the run got noisier.
    """
    stat = _stat_of(curve, "noise_growth")
    k = min(max(NOISE_MIN_POINTS, window_size(curve.n)), curve.n // 2)
    if k < NOISE_MIN_POINTS:
        return _too_few(stat, curve, 2 * NOISE_MIN_POINTS)
    windows = [_finite_window(curve, 0, k), _finite_window(curve, curve.n - k, curve.n)]
    if min(w[1].size for w in windows) < NOISE_MIN_POINTS:
        stat.reason = "too few finite points: need %d in each window" % NOISE_MIN_POINTS
        return stat
    head, tail = (_detrended_std(*w) for w in windows)
    if head == 0:
        stat.reason = "the first window after the warmup has no noise to compare with"
        return stat
    stat.value = tail / head
    return stat


def max_zscore(curve: Curve) -> Stat:
    """Largest upward z-score of a point against the ZSCORE_HISTORY finite points before it."""
    values = curve.finite_values
    stat = Stat(
        None,
        "max_zscore",
        int(curve.steps[0]) if curve.n else None,
        int(curve.steps[-1]) if curve.n else None,
        curve.n,
        curve.non_finite,
    )
    if values.size < ZSCORE_MIN_POINTS:
        stat.reason = (
            "no data"
            if curve.n == 0
            else "too few points: %d finite, need %d" % (values.size, ZSCORE_MIN_POINTS)
        )
        return stat
    h = ZSCORE_HISTORY
    shifted = values - np.median(values)  # keeps the running sums well conditioned
    c1 = np.concatenate(([0.0], np.cumsum(shifted)))
    c2 = np.concatenate(([0.0], np.cumsum(shifted * shifted)))
    s1 = c1[h:-1] - c1[: -h - 1]  # sum of the h points before point i, for i = h..n-1
    s2 = c2[h:-1] - c2[: -h - 1]
    mean = s1 / h
    var = np.maximum(s2 / h - mean * mean, 0.0)
    scale = np.abs(mean + np.median(values))
    std = np.maximum(np.sqrt(var), 1e-9 * np.maximum(scale, 1e-12))
    z = (shifted[h:] - mean) / std
    stat.value = float(np.max(z))
    return stat


def late_change(curve: Curve) -> Stat:
    """|median of the last quarter - median of the third quarter| of the finite points."""
    values = curve.finite_values
    stat = Stat(None, "late_change", None, None, curve.n, curve.non_finite)
    if curve.n:
        half = curve.n // 2
        stat.start_step, stat.end_step = int(curve.steps[half]), int(curve.steps[-1])
        stat.points = curve.n - half
        stat.non_finite = int(stat.points - np.count_nonzero(curve.finite[half:]))
    if values.size < LATE_CHANGE_MIN_POINTS:
        stat.reason = (
            "no data"
            if curve.n == 0
            else "too few points: %d finite, need %d" % (values.size, LATE_CHANGE_MIN_POINTS)
        )
        return stat
    n = values.size
    third = values[n // 2 : (3 * n) // 4]
    last = values[(3 * n) // 4 :]
    stat.value = float(abs(np.median(last) - np.median(third)))
    return stat


def non_finite(curve: Curve) -> Stat:
    """Number of NaN or infinite values in the whole curve."""
    stat = Stat(None, "non_finite", None, None, curve.n, curve.non_finite)
    if curve.n == 0:
        stat.reason = "no data"
        return stat
    stat.start_step, stat.end_step = int(curve.steps[0]), int(curve.steps[-1])
    stat.value = float(curve.non_finite)
    return stat


def peak(curve: Curve) -> Stat:
    """Largest finite value of the whole curve (the best of a few evaluations)."""
    stat = _stat_of(curve, "peak")
    values = curve.finite_values
    if values.size == 0:
        stat.reason = "no data" if curve.n == 0 else "all %d points are NaN/Inf" % curve.n
        return stat
    index = int(np.flatnonzero(curve.finite)[int(np.argmax(values))])
    stat.start_step = stat.end_step = int(curve.steps[index])
    stat.points = 1
    stat.value = float(values.max())
    return stat


def recent_max(curve: Curve) -> Stat:
    """Maximum of the finite values of the recent window."""
    k = window_size(curve.n)
    start_step, end_step, points, bad = _span(curve, curve.n - k, curve.n)
    stat = Stat(None, "recent_max", start_step, end_step, points, bad)
    if points == 0:
        stat.reason = "no data"
        return stat
    window = curve.values[curve.n - k :]
    good = window[np.isfinite(window)]
    if good.size == 0:
        stat.reason = "all %d points are NaN/Inf" % points
        return stat
    stat.value = float(np.max(good))
    return stat


def count(curve: Curve) -> Stat:
    """Number of finite values logged (0 for a missing curve: never None)."""
    stat = Stat(float(curve.n - curve.non_finite), "count", None, None, curve.n, curve.non_finite)
    if curve.n:
        stat.start_step, stat.end_step = int(curve.steps[0]), int(curve.steps[-1])
    return stat


# ------------------------------------------------------------- after-warmup history
HISTORY_MIN_POINTS = 8  # points after warmup a peak or a drop needs
DROP_WINDOW_FRACTION = 0.05
DROP_WINDOW_MIN = 3
STEADY_FALLS = 3  # a steady fall: the last three values each lower than the one before
PEAK_MEDIAN_POINTS = 3  # a peak is the peak of a 3-point running median, not one lucky value


def _stat_of(curve: Curve, statistic: str) -> Stat:
    return Stat(
        None,
        statistic,
        int(curve.steps[0]) if curve.n else None,
        int(curve.steps[-1]) if curve.n else None,
        curve.n,
        curve.non_finite,
    )


def _too_few(stat: Stat, curve: Curve, need: int) -> Stat:
    after = "the warmup" if stat.statistic in AFTER_WARMUP else "early training"
    stat.reason = (
        "no data after %s" % after
        if curve.n == 0
        else "too few points after %s: %d finite, need %d" % (after, curve.finite_values.size, need)
    )
    return stat


def last(curve: Curve, statistic: str = "last") -> Stat:
    """The last finite value of the curve."""
    stat = _stat_of(curve, statistic)
    values = curve.finite_values
    if values.size == 0:
        stat.reason = (
            ("no data" if statistic == "last" else "no value after early training")
            if curve.n == 0
            else "all %d points are NaN/Inf" % curve.n
        )
        return stat
    index = int(np.flatnonzero(curve.finite)[-1])
    stat.start_step = stat.end_step = int(curve.steps[index])
    stat.points = 1
    stat.value = float(values[-1])
    return stat


def fall_from_peak(curve: Curve) -> Stat:
    """Peak of the 5-point running median (after warmup) / the recent median.

    1 when the curve is at its peak; 6 when it fell to a sixth of it. Judging against
    the run's own peak works at any width and for any dataset, where a fixed fraction
    of D cannot (a healthy ViT-B rank is in the hundreds, a healthy tiny model's in
    the tens). Curves longer than 2,000 points are reduced to 1,000 bucket means first.
    """
    stat = _stat_of(curve, "fall_from_peak")
    values = curve.finite_values
    if values.size < HISTORY_MIN_POINTS:
        return _too_few(stat, curve, HISTORY_MIN_POINTS)
    tail = recent(curve)
    if values.size > RUNNING_MEDIAN_MAX_INPUT:
        values = _bucket_means(values, RUNNING_MEDIAN_BUCKETS)
    peak = float(np.max(running_median(values)))
    if tail.value is None or peak <= 0:
        stat.reason = tail.reason or "the curve's peak is %g (<= 0)" % peak
        return stat
    stat.value = peak / tail.value if tail.value > 0 else math.inf
    return stat


def sudden_drop(curve: Curve, statistic: str = "sudden_drop") -> Stat:
    """Largest fall, as a fraction, from one window's median to the next window's.

    Windows are 5% of the points after warmup (at least 3), compared at every offset;
    0.6 means the curve fell by 60% within two windows. Curves longer than 2,000
    points are reduced to 1,000 bucket means first.
    """
    stat = _stat_of(curve, statistic)
    values = curve.finite_values
    if values.size > RUNNING_MEDIAN_MAX_INPUT:
        values = _bucket_means(values, RUNNING_MEDIAN_BUCKETS)
    width = max(DROP_WINDOW_MIN, int(math.ceil(DROP_WINDOW_FRACTION * values.size)))
    if values.size < max(HISTORY_MIN_POINTS, 2 * width):
        return _too_few(stat, curve, max(HISTORY_MIN_POINTS, 2 * width))
    medians = np.median(np.lib.stride_tricks.sliding_window_view(values, width), axis=1)
    before, after = medians[:-width], medians[width:]
    with np.errstate(divide="ignore", invalid="ignore"):
        drops = np.where(before > 0, 1.0 - after / before, 0.0)
    stat.value = float(max(0.0, np.max(drops)))
    return stat


def recent_after_warmup(curve: Curve) -> Stat:
    """``recent`` of the points after early training (None while it lasts)."""
    if curve.n == 0:
        return _too_few(_stat_of(curve, "recent_after_warmup"), curve, 1)
    stat = recent(curve)
    stat.statistic = "recent_after_warmup"
    return stat


def recent_over_post_warmup(curve: Curve) -> Stat:
    """recent / first of the points after early training (``recent_over_first`` there)."""
    stat = recent_over_first(curve)
    stat.statistic = "recent_over_post_warmup"
    if curve.n == 0:
        stat.reason = "no data after early training"
    return stat


def growth_over_early(curve: Curve) -> Stat:
    """recent / max(1, the first window's median) of the points after early training: how
    far a ratio that should stay near 1 pulled away from both 1 and where it was."""
    stat = _stat_of(curve, "growth_over_early")
    if curve.finite_values.size < 2:  # a metric of a few evaluations: two are a trend
        return _too_few(stat, curve, 2)
    k = max(1, min(window_size(curve.n), curve.n // 2))
    head = _window_median(curve, 0, k, "first", 1)
    tail = _window_median(curve, curve.n - k, curve.n, "recent", 1)
    if head.value is None or tail.value is None:
        stat.reason = head.reason or tail.reason
        return stat
    stat.value = tail.value / max(1.0, head.value)
    return stat


def _probe_peak(values: np.ndarray) -> float:
    """Peak of a sparse curve's running median (3 points, fewer when it has fewer)."""
    return float(np.max(running_median(values, min(PEAK_MEDIAN_POINTS, values.size))))


def steady_fall(curve: Curve) -> Stat:
    """Peak of the 3-point running median after warmup - the last value, when the last
    ``STEADY_FALLS`` values each fell; else 0 (in the curve's units)."""
    stat = _stat_of(curve, "steady_fall")
    values = curve.finite_values
    if values.size == 0:
        return _too_few(stat, curve, 1)
    if values.size < STEADY_FALLS + 1:  # too few values to have fallen three times
        stat.value = 0.0
        return stat
    peak = _probe_peak(values)
    falling = bool(np.all(np.diff(values[-(STEADY_FALLS + 1) :]) < 0))
    stat.value = max(0.0, peak - float(values[-1])) if falling else 0.0
    return stat


def probe_fall(curve: Curve) -> Stat:
    """Peak of the 3-point running median after early training / the last value.

    For a probe, evaluated a few times a run: one evaluation is at its peak (1), and the
    last value, not a window's median, is what the run ends with.
    """
    stat = _stat_of(curve, "probe_fall")
    values = curve.finite_values
    if values.size == 0:
        return _too_few(stat, curve, 1)
    peak = _probe_peak(values)
    last_value = float(values[-1])
    stat.value = peak / last_value if last_value > 0 else (1.0 if peak <= 0 else math.inf)
    return stat


STATISTIC_FUNCTIONS: Dict[str, Callable[[Curve], Stat]] = {
    "recent": recent,
    "first": first,
    "at_start": at_start,
    "recent_over_first": recent_over_first,
    "relative_change": relative_change,
    "rise_from_min": rise_from_min,
    "noise_cv": noise_cv,
    "max_zscore": max_zscore,
    "late_change": late_change,
    "non_finite": non_finite,
    "recent_max": recent_max,
    "count": count,
    "peak": peak,
    "last": last,
    "last_after_early": lambda curve: last(curve, "last_after_early"),
    "fall_from_peak": fall_from_peak,
    "sudden_drop": sudden_drop,
    "steady_fall": steady_fall,
    "probe_fall": probe_fall,
    "noise_growth": noise_growth,
    "recent_after_warmup": recent_after_warmup,
    "recent_over_post_warmup": recent_over_post_warmup,
    "fast_fall": lambda curve: sudden_drop(curve, "fast_fall"),
    "growth_over_early": growth_over_early,
}

EMPTY = Curve(np.zeros(0, np.int64), np.zeros(0))


def after(curve: Curve, step: Optional[int]) -> Curve:
    """The part of a curve at steps >= ``step`` (the whole curve for None)."""
    if step is None or curve.n == 0 or curve.steps[0] >= step:
        return curve
    start = int(np.searchsorted(curve.steps, step, side="left"))
    return Curve(curve.steps[start:], curve.values[start:])


def compute(
    statistic: str,
    curve: Optional[Curve],
    *,
    warmup_end: Optional[int] = None,
    early_end: Optional[int] = None,
) -> Stat:
    """The named statistic of a curve; a missing curve (None) is treated as empty.

    Args:
      statistic: a catalogue STATISTICS name.
      curve: the curve, or None.
      warmup_end: where the LR warmup ends, for the statistics judged after it
        (``schema.AFTER_WARMUP``); the others ignore it.
      early_end: where early training ends, for ``schema.AFTER_EARLY``.

    Raises:
      KeyError: an unknown statistic name.
    """
    try:
        function = STATISTIC_FUNCTIONS[statistic]
    except KeyError:
        raise KeyError(
            "unknown statistic %r; known: %s" % (statistic, ", ".join(sorted(STATISTIC_FUNCTIONS)))
        ) from None
    if curve is not None and statistic in AFTER_WARMUP:
        curve = after(curve, warmup_end)
    if curve is not None and statistic in AFTER_EARLY:
        curve = after(curve, early_end)
    stat = function(EMPTY if curve is None else curve)
    if curve is None and statistic != "count":
        stat.reason = "no data"
    return stat
