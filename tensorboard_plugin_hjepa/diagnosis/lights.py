"""The lights section: one verdict per (metric with a rule, level), with its evidence.

A light is ``unknown`` when the curve is missing, all NaN/Inf, too short, read through
an inexact alias while the rule is dimension-relative, or dimension-relative without a
known D. A curve that holds NaN/Inf is never ``healthy``: a rule judged healthy on
its finite points becomes ``warning`` and says where the bad values are. The verdict is
``verdict.judge``'s; this module reads each light's value from the context and gives it
the shape of http_api.md's ``health.lights``.
"""

from typing import List, Optional

from .. import catalog
from ..catalog import schema
from . import derived
from .context import Context
from .downsample import sparkline
from .statistics import Stat
from .verdict import (
    Reading,
    Verdict,
    band_json,
    bound_json,
    correction_json,
    judge,
    possible_range,
)


def _threshold(rule: schema.VerdictRule, verdict: Verdict):
    """The band that matched; for a healthy value, the band it stays clear of."""
    band = verdict.band
    if band is None:
        if verdict.status == schema.UNKNOWN or not rule.bands:
            return None
        band = rule.bands[-1]
    return {
        "status": band.status,
        "op": band.op,
        "bound": bound_json(band.bound, verdict.env),
        "source": band.source,
    }


def light_dict(
    *,
    key: str,
    tag: Optional[str],
    category: str,
    level: Optional[int],
    rule: schema.VerdictRule,
    value: Optional[float],
    verdict: Verdict,
    stat: Stat,
    spark: list,
    source: str = "",
) -> dict:
    """A light object as http_api.md's ``health.lights`` documents it."""
    return {
        "key": key,
        "tag": tag,
        "category": category,
        "level": level,
        "status": verdict.status,
        "value": value,
        "judged_value": verdict.judged,
        "normalise": rule.normalise,
        "threshold": _threshold(rule, verdict),
        "bands": [band_json(b, verdict.env) for b in rule.bands],
        "window": stat.window(),
        "explanation": verdict.explanation,
        "healthy_text": rule.healthy_text,
        "action": rule.action,
        "notes": verdict.notes,
        "correction": correction_json(rule.correction),
        "sparkline": spark,
        "compared_with": source or None,
    }


def _missing_text(metric: schema.Metric, level: Optional[int]) -> str:
    tag = catalog.tag(metric.key, level=level) if "{group}" not in metric.tag else metric.tag
    text = "no data: %s was not logged" % tag
    aliases = [
        a.tag.replace("{i}", str(level))
        for a in metric.aliases
        if a.level is None or a.level == level
    ]
    if aliases:
        text += " (nor %s)" % " / ".join(aliases)
    return text


def _metric_light(ctx: Context, metric: schema.Metric, level: Optional[int]):
    rule = metric.rule
    series = ctx.series(metric.key, level)
    curve = ctx.curve(metric.key, level)
    stat = ctx.stat(metric.key, level, rule.statistic)
    rows, rows_source = (
        ctx.rows(level) if rule.normalise == schema.NORMALISE_RANK_FRACTION else (None, "")
    )
    note_value = None
    if rule.statistic not in schema.LEVEL_STATISTICS:  # notes speak of the curve's level
        note_value = ctx.stat(metric.key, level, "recent").value
    if series is None:
        verdict = Verdict(schema.UNKNOWN, explanation=_missing_text(metric, level))
        tag = catalog.tag(metric.key, level=level) if "{group}" not in metric.tag else None
    elif metric.teacher_only and ctx.without_teacher:
        verdict = Verdict(
            schema.UNKNOWN,
            explanation="not judged: the run has no teacher by design (its manifest says "
            "so), so gradients reach its targets as designed",
        )
        tag = series.tag
    else:
        verdict = judge(
            rule,
            Reading(
                stat.value,
                reason=stat.reason,
                env=ctx.env(stat),
                rows=rows,
                rows_source=rows_source,
                exact=series.exact,
                alias_note=ctx.alias_note(metric.key, level),
                curve=curve,
                note_value=note_value,
                possible=possible_range(metric),
            ),
        )
        tag = series.tag
    if series is not None and not series.exact:
        note = ctx.alias_note(metric.key, level)
        if note and note not in verdict.notes:
            verdict.notes.append(note)
    spark = sparkline(curve.steps, curve.values) if curve is not None else []
    light = light_dict(
        key=metric.key,
        tag=tag,
        category=metric.category,
        level=level,
        rule=rule,
        value=stat.value,
        verdict=verdict,
        stat=stat,
        spark=spark,
    )
    return light, verdict


def _derived_light(ctx: Context, record: schema.Derived, level: Optional[int]):
    result = derived.value(ctx, record.key, level)
    tag, spark, curve = None, [], None
    if record.of_metric is not None:
        metric_level = level if catalog.get(record.of_metric).per_level else None
        series = ctx.series(record.of_metric, metric_level)
        curve = ctx.curve(record.of_metric, metric_level)
        tag = series.tag if series is not None else None
        spark = sparkline(curve.steps, curve.values) if curve is not None else []
    # The source curve goes along so that NaN/Inf in it is never called healthy, and a
    # source whose own light found impossible values makes this one unknown too.
    source = _source_verdict(ctx, record, level)
    if source is not None and source.impossible:
        verdict = Verdict(
            schema.UNKNOWN,
            explanation="not judged: %s holds values it cannot take (%s)"
            % (record.of_metric, source.explanation),
        )
    else:
        verdict = judge(
            record.rule,
            Reading(result.value, reason=result.reason, env=ctx.env(), curve=curve),
        )
    light = light_dict(
        key=record.key,
        tag=tag,
        category=record.category,
        level=level,
        rule=record.rule,
        value=result.value,
        verdict=verdict,
        stat=result.stat,
        spark=spark,
        source=result.source,
    )
    return light, verdict


def _source_verdict(ctx: Context, record: schema.Derived, level: Optional[int]):
    """The Verdict of the judged metric a derived quantity is computed from, or None."""
    if record.of_metric is None or catalog.get(record.of_metric).rule is None:
        return None
    per_level = catalog.get(record.of_metric).per_level
    return light_of(ctx, record.of_metric, level if per_level else None)[1]


def light_of(ctx: Context, key: str, level: Optional[int]):
    """(light dict, Verdict) of a metric or derived quantity with a rule at a level (cached:
    a flowchart check that names a band reads the same verdict the light shows)."""
    slot = (key, level)
    if slot not in ctx.lights:
        if key.startswith("derived."):
            ctx.lights[slot] = _derived_light(ctx, derived.by_key(key), level)
        else:
            ctx.lights[slot] = _metric_light(ctx, catalog.get(key), level)
    return ctx.lights[slot]


def evaluate(ctx: Context) -> List[dict]:
    """Every light of the run: catalogue order, per-level metrics once per level, then the
    derived quantities judged as lights (the contribution shares have their own section)."""
    out = []
    for metric in catalog.metrics():
        if metric.rule is None or metric.kind != "scalar":
            continue
        for level in ctx.levels if metric.per_level else [None]:
            out.append(light_of(ctx, metric.key, level)[0])
    for record in catalog.derived():
        if record.rule is None or record.category == "contribution":
            continue
        for level in ctx.levels if record.per_level else [None]:
            out.append(light_of(ctx, record.key, level)[0])
    return out
