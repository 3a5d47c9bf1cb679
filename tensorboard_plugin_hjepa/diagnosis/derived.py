"""Derived quantities: values the engine computes from the curves and judges like metrics.

A catalogue ``Derived`` with ``of_metric`` is computed here from that metric's curve
with its rule's statistic, unless it has a function of its own in ``_SPECIAL`` (the
mask ratio against the run's own masking; the probe lights, in the probe's standard
errors); the contribution shares are filled in by ``contributions``. Values are cached
on the Context, keyed by (key, level).
"""

import math
from typing import Optional, Tuple

import numpy as np

from .. import catalog
from ..catalog import schema
from .context import Context, DerivedValue
from .statistics import Stat

MASK_RATIO_CHANGE = "derived.mask_ratio_change"


def by_key(key: str) -> schema.Derived:
    """The catalogue's Derived record of ``key``.

    Raises:
      KeyError: naming the unknown key.
    """
    for record in catalog.derived():
        if record.key == key:
            return record
    raise KeyError("unknown derived quantity %r" % (key,))


def _from_metric(ctx: Context, record: schema.Derived, level: Optional[int]) -> DerivedValue:
    metric = catalog.get(record.of_metric)
    stat = ctx.stat(record.of_metric, level if metric.per_level else None, record.rule.statistic)
    if stat.value is None:
        return DerivedValue(None, stat, stat.reason)
    return DerivedValue(stat.value, stat)


# ------------------------------------------------------------------------ the probe
PROBE = "eval.knn_top1"


def _once(ctx: Context, key: str) -> Tuple[Optional[float], str]:
    """A once-per-run value (its last logged one), or (None, why not)."""
    stat = ctx.stat(key, None, "last")
    if stat.value is None:
        return None, "%s: %s" % (catalog.get(key).tag, stat.reason)
    return stat.value, ""


def _se(p: float, n: float) -> float:
    """Binomial standard error of an accuracy p on n queries (never 0: at least 1/(2n))."""
    p = min(1.0, max(0.0, p))
    return max(math.sqrt(p * (1.0 - p) / n), 0.5 / n)


def _se_difference(a: float, b: float, n: float) -> float:
    """Standard error of the difference of two accuracies on n queries each."""
    return math.sqrt(_se(a, n) ** 2 + _se(b, n) ** 2)


def _queries(ctx: Context) -> Tuple[Optional[float], str]:
    n, reason = _once(ctx, "eval.probe_queries")
    if n is None:
        return None, "the probe's size is unknown, and so is its noise (%s)" % reason
    if n < 1:
        return None, "eval/probe_queries is %g: no query to score" % n
    return n, ""


def _knn_vs_random_init(ctx: Context, record: schema.Derived, level) -> DerivedValue:
    """(the probe's statistic - random init) / SE of the difference."""
    stat = ctx.stat(PROBE, None, record.rule.statistic)
    base, why = _once(ctx, "eval.knn_top1_random_init")
    n, why_n = _queries(ctx)
    if stat.value is None or base is None or n is None:
        return DerivedValue(None, stat, stat.reason or why or why_n)
    se = _se_difference(stat.value, base, n)
    source = "the random-init encoder's %.3f on %d queries (standard error of the difference %.3f)"
    return DerivedValue((stat.value - base) / se, stat, "", source % (base, n, se))


GAIN_FROM_PROGRESS = 0.95  # the probe's gain is judged in the last 5% of training


def _knn_gain(ctx: Context, record: schema.Derived, level) -> DerivedValue:
    """(best probe - random init) / SE of the difference, once a probe of the last 5% of
    training is logged: a run at 97% whose last probe was at 67% still has its
    end-of-training probe to come."""
    stat = ctx.stat(PROBE, None, record.rule.statistic)
    probe, total = ctx.curve(PROBE), ctx.total_steps
    if probe is None or probe.n == 0 or not total:
        return DerivedValue(
            None, stat, "judged on a probe of the last 5% of training: progress unknown"
        )
    at = float(probe.steps[-1]) / total
    if at < GAIN_FROM_PROGRESS:
        return DerivedValue(
            None,
            stat,
            "judged on a probe of the last 5%% of training (the last one is at step %d, %.0f%%):"
            " until then the probe may still rise" % (int(probe.steps[-1]), 100 * at),
        )
    return _knn_vs_random_init(ctx, record, level)


def _knn_vs_chance(ctx: Context, record: schema.Derived, level) -> DerivedValue:
    """(latest probe - 1/classes) / SE of a probe at chance."""
    stat = ctx.stat(PROBE, None, record.rule.statistic)
    classes, why = _once(ctx, "eval.num_classes")
    n, why_n = _queries(ctx)
    if stat.value is None or classes is None or n is None:
        return DerivedValue(None, stat, stat.reason or why or why_n)
    if classes < 2:
        return DerivedValue(None, stat, "eval/num_classes is %g: no chance level" % classes)
    chance = 1.0 / classes
    se = _se(chance, n)
    source = "chance 1/%d = %.3f on %d queries (standard error %.3f)"
    return DerivedValue((stat.value - chance) / se, stat, "", source % (classes, chance, n, se))


def _knn_fall(ctx: Context, record: schema.Derived, level) -> DerivedValue:
    """(peak - last) / SE of the difference while the probe falls steadily, else 0."""
    stat = ctx.stat(PROBE, None, record.rule.statistic)  # peak - last, or 0
    n, why_n = _queries(ctx)
    if stat.value is None or n is None:
        return DerivedValue(None, stat, stat.reason or why_n)
    last = ctx.stat(PROBE, None, "last").value
    peak = last + stat.value
    se = _se_difference(peak, last, n)
    return DerivedValue(stat.value / se, stat, "", "its peak %.3f on %d queries" % (peak, n))


EMA_FROZEN = 0.999999  # a momentum at 1.0 (float32 rounding aside)


def _ema_frozen_at(ctx: Context, record: schema.Derived, level) -> DerivedValue:
    """Progress at which the momentum first reached 1.0 (1.0 while it has not)."""
    curve = ctx.curve("ema.momentum_current")
    stat = ctx.stat("ema.momentum_current", None, "last")
    if curve is None or stat.value is None:
        return DerivedValue(None, stat, stat.reason or "no data")
    if not ctx.total_steps:
        return DerivedValue(None, stat, "no planned length (manifest total_steps): no progress")
    frozen = np.flatnonzero(curve.finite & (curve.values >= EMA_FROZEN))
    if frozen.size == 0:
        return DerivedValue(1.0, stat, "", "the momentum has not reached 1.0")
    step = int(curve.steps[frozen[0]])
    progress = min(1.0, step / ctx.total_steps)
    return DerivedValue(progress, stat, "", "first at 1.0 at step %d" % step)


FIRST_WINDOW_MARGIN = 0.1  # without a manifest: the first window's ratio +-10% is the range


def _mask_ratio_change(ctx: Context, record: schema.Derived, level: Optional[int]) -> DerivedValue:
    """How far the recent median lies outside what the run's own masking gives, over the
    expected ratio (0 inside). The range is the manifest's per-batch range of the run's
    mask generator, else the run's own first window +-10%."""
    key = "masking.mask_ratio"
    stat = ctx.stat(key, None, "recent")
    if stat.value is None:
        return DerivedValue(None, stat, stat.reason)
    manifest = ctx.manifest
    if manifest is not None and manifest.mask_ratio_expected:
        expected = manifest.mask_ratio_expected
        low, high = manifest.mask_ratio_range or (expected, expected)
        source = (
            "what the run's mask generator gives for its grid and config (manifest: median "
            "%.3g, per-batch range %.3g-%.3g)" % (expected, low, high)
        )
    else:
        head = ctx.stat(key, None, "first")
        if head.value is None or head.value <= 0:
            return DerivedValue(
                None,
                stat,
                "no manifest states the run's masking, and the first "
                "window has no value: %s" % (head.reason or "ratio 0"),
            )
        expected = head.value
        low, high = expected * (1 - FIRST_WINDOW_MARGIN), expected * (1 + FIRST_WINDOW_MARGIN)
        source = (
            "the run's own first window (median %.3g, +-10%%; no manifest states its masking)"
            % expected
        )
    outside = max(0.0, low - stat.value, stat.value - high)
    return DerivedValue(outside / expected, stat, "", source)


_SPECIAL = {
    MASK_RATIO_CHANGE: _mask_ratio_change,
    "derived.ema_frozen_at": _ema_frozen_at,
    "derived.knn_vs_random_init": _knn_vs_random_init,
    "derived.knn_gain": _knn_gain,
    "derived.knn_vs_chance": _knn_vs_chance,
    "derived.knn_fall": _knn_fall,
}


def value(ctx: Context, key: str, level: Optional[int] = None) -> DerivedValue:
    """A derived quantity's value at a level (cached on ``ctx``)."""
    slot = (key, level)
    if slot not in ctx.derived:
        record = by_key(key)
        if key in _SPECIAL:
            ctx.derived[slot] = _SPECIAL[key](ctx, record, level)
        elif record.of_metric is not None:
            ctx.derived[slot] = _from_metric(ctx, record, level)
        else:
            ctx.derived[slot] = DerivedValue(
                None, Stat(None, "recent"), "derived quantity %s was not computed" % key
            )
    return ctx.derived[slot]
