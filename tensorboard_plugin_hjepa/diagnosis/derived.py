"""Derived quantities: values the engine computes from the curves and judges like metrics.

A catalogue ``Derived`` with ``of_metric`` is computed here from that metric's curve
with its rule's statistic (divided or multiplied by another metric's last logged
value: the probe over its random-init baseline, times the number of classes), unless
it has a function of its own in ``_SPECIAL`` (the mask ratio against the run's own
masking); the contribution shares are filled in by ``contributions``. Values are
cached on the Context, keyed by (key, level).
"""

from typing import Optional

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
    value = stat.value
    for key, divide in ((record.divide_by, True), (record.multiply_by, False)):
        if key is None:
            continue
        other = ctx.stat(key, None, "last")  # a once-per-run value: its last logged one
        if other.value is None:
            return DerivedValue(None, stat, "%s: %s" % (catalog.get(key).tag, other.reason))
        if divide:
            if other.value <= 0:
                return DerivedValue(
                    None,
                    stat,
                    "%s is %g: the ratio is undefined" % (catalog.get(key).tag, other.value),
                )
            value /= other.value
        else:
            value *= other.value
    return DerivedValue(value, stat)


def _mask_ratio_change(ctx: Context, record: schema.Derived, level: Optional[int]) -> DerivedValue:
    """|recent / expected - 1|: expected is what the run's own masking gives (manifest),
    else the run's own first window."""
    key = "masking.mask_ratio"
    stat = ctx.stat(key, None, "recent")
    if stat.value is None:
        return DerivedValue(None, stat, stat.reason)
    manifest = ctx.manifest
    if manifest is not None and manifest.mask_ratio_expected:
        expected = manifest.mask_ratio_expected
        low, high = manifest.mask_ratio_range or (None, None)
        source = (
            "what the run's mask generator gives for its grid and config (manifest: "
            "median %.3g%s)"
            % (expected, "" if low is None else ", per-batch range %.3g-%.3g" % (low, high))
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
        source = (
            "the run's own first window (median %.3g; no manifest states its masking)" % expected
        )
    return DerivedValue(abs(stat.value / expected - 1.0), stat, "", source)


_SPECIAL = {MASK_RATIO_CHANGE: _mask_ratio_change}


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
