"""Derived quantities: values the engine computes from the curves and judges like metrics.

A catalogue ``Derived`` with ``of_metric`` is computed here from that metric's curve
with its rule's statistic, unless it has a function of its own in ``_SPECIAL`` (the
mask ratio against the run's own masking; the probe lights, in the probe's standard
errors; the fall of a level's share of the loss, from the context's ``shares``; the GPU
memory fraction). Every value is computed from the context alone, when first asked, and
cached on it, keyed by (key, level): no section has to run before another.
"""

import math
from typing import Optional, Tuple

import numpy as np

from .. import catalog
from ..catalog import derived_metrics as derived_records
from ..catalog import schema
from . import shares, statistics
from .context import Context, DerivedValue
from .statistics import Stat

MASK_RATIO_CHANGE = "derived.mask_ratio_change"
CONTRIBUTION_FALL = derived_records.CONTRIBUTION_FALL.key
GPU_MEMORY_FRACTION = derived_records.GPU_MEMORY_FRACTION.key


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


# --------------------------------------------------------------- the hierarchy shares
def _after_early(ctx: Context, steps: np.ndarray, parts):
    """Per-level median share over the first window after early training, or (None, why)."""
    end = ctx.early_end(statistics.Curve(steps, np.zeros(steps.size)))
    start = int(np.searchsorted(steps, end, side="left")) if end is not None else 0
    n = steps.size - start
    k = min(statistics.window_size(n), n // 2)
    if k < statistics.MIN_WINDOW_POINTS:
        return None, "too few steps after early training (until step %s) to compare" % end
    return shares.window_shares(steps, parts, start, start + k)[0], ""


def _contribution_fall(ctx: Context, record: schema.Derived, level) -> DerivedValue:
    """The smallest recent / post-early-training share over the levels with a weight."""
    found = ctx.shares
    if len(ctx.levels) < 2:  # no hierarchy to balance
        return _not_computed(record.key)
    if found.steps is None:
        return DerivedValue(None, Stat(None, "recent"), found.text)
    if not found.steps.size:
        return DerivedValue(None, Stat(None, "recent"), "the level curves share no step")
    recent, stat, weights = found.recent, found.stat, found.weights
    if not np.all(np.isfinite(recent)):
        return DerivedValue(None, stat, "too few finite shares in the recent window")
    before, why = _after_early(ctx, found.steps, found.parts)
    if before is None:
        return DerivedValue(None, stat, why)
    weighted = [
        i for i in range(len(found.parts)) if (weights is None or weights[i] > 0) and before[i] > 0
    ]
    if not weighted:
        return DerivedValue(None, stat, "no level with a weight has a share to compare")
    falls = [float(recent[i]) / float(before[i]) for i in weighted]
    worst = int(np.argmin(falls))
    source = "level %d's share after early training, %.3g (now %.3g)" % (
        ctx.levels[weighted[worst]],
        before[weighted[worst]],
        recent[weighted[worst]],
    )
    return DerivedValue(falls[worst], stat, "", source)


def _gpu_memory_fraction(ctx: Context, record: schema.Derived, level) -> DerivedValue:
    """Reserved GPU memory / the device's total memory (the manifest's)."""
    stat = ctx.stat("performance.gpu_memory_reserved_gb", None, "recent")
    total = ctx.manifest.gpu_memory_total_gb if ctx.manifest is not None else None
    if stat.value is None:
        return DerivedValue(None, stat, stat.reason)
    if not total or not math.isfinite(total) or total <= 0:
        return DerivedValue(
            None,
            stat,
            "the device's total memory is unknown (the run manifest has no gpu_memory_total_gb)",
        )
    return DerivedValue(stat.value / total, stat)


def _not_computed(key: str) -> DerivedValue:
    return DerivedValue(None, Stat(None, "recent"), "derived quantity %s was not computed" % key)


_SPECIAL = {
    CONTRIBUTION_FALL: _contribution_fall,
    GPU_MEMORY_FRACTION: _gpu_memory_fraction,
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
            ctx.derived[slot] = _not_computed(key)
    return ctx.derived[slot]
