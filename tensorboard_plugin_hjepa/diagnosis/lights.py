"""Traffic lights: one verdict per (metric with a rule, level), with its evidence.

A light is ``unknown`` when the curve is missing, all NaN/Inf, too short, read through
an inexact alias while the rule is dimension-relative, or dimension-relative without a
known D. A curve that holds NaN/Inf is never ``healthy``: a rule judged healthy on
its finite points becomes ``warning`` and says where the bad values are.
"""

import dataclasses
import math
from typing import List, Optional, Tuple

from .. import catalog
from ..catalog import schema
from . import derived, rules
from .context import Context
from .downsample import sparkline
from .statistics import Curve, Stat

# The range a judged value can take at all (L2-normalised features have
# mean std per dim <= 1/sqrt(D), so std * sqrt(D) is in [0, 1]; erank <= min(N, D);
# cosines are in [-1, 1]), with a margin for rounding. A value outside it (a negative
# std, a cosine of -5, float32's largest number) is not judged: the curve is corrupt or
# not in the catalogue's convention, and a light must not call it healthy.
_POSSIBLE_BY_NORMALISE = {
    schema.NORMALISE_SQRT_DIM: (0.0, 1.0),
    schema.NORMALISE_RANK_FRACTION: (0.0, 1.0),
}
_POSSIBLE_BY_UNIT = {"cosine": (-1.0, 1.0)}
_POSSIBLE_MARGIN = 0.01


def possible_range(metric: schema.Metric):
    """(low, high) a metric's judged value can take, or None when unbounded."""
    rule = metric.rule
    if rule is not None and rule.statistic not in schema.LEVEL_STATISTICS:
        return None  # a count, ratio or difference: not in the metric's units
    if rule is not None and rule.normalise in _POSSIBLE_BY_NORMALISE:
        return _POSSIBLE_BY_NORMALISE[rule.normalise]
    return _POSSIBLE_BY_UNIT.get(metric.unit)


@dataclasses.dataclass
class Verdict:
    """The outcome of judging one value with one rule."""

    status: str
    judged: Optional[float] = None
    band: Optional[schema.Band] = None
    explanation: str = ""
    notes: List[str] = dataclasses.field(default_factory=list)
    env: rules.BoundEnv = rules.BoundEnv()  # what the bands were resolved in
    impossible: bool = False  # the value is one the metric cannot take (a corrupt curve)


# Logs without a manifest give no D. A dimension-relative light is still judged when
# every plausible D gives the same verdict (a mean std of 1e-5 is collapse at any width,
# a rank of 1.3 too), and is unknown otherwise.
PLAUSIBLE_DIMS = (64, 8192)


def plausible_dims(how: str, value: float) -> Optional[Tuple[int, int]]:
    """(lowest, highest) D in PLAUSIBLE_DIMS the raw ``value`` allows; None when none does.

    std * sqrt(D) cannot exceed 1 (L2-normalised rows), so a std caps D; an effective
    rank cannot exceed D, so a rank floors it.
    """
    low, high = PLAUSIBLE_DIMS
    if how == schema.NORMALISE_SQRT_DIM and value > 0:
        high = min(high, int(math.floor(((1.0 + _POSSIBLE_MARGIN) / value) ** 2)))
    if how == schema.NORMALISE_RANK_FRACTION:
        low = max(low, int(math.ceil(value)))
    return (low, high) if low <= high else None


def _judge_any_dim(
    rule: schema.VerdictRule, value: float, env: rules.BoundEnv, **kwargs
) -> Verdict:
    """Judge a dimension-relative value with D unknown: at both ends of the plausible range."""
    dims = plausible_dims(rule.normalise, value)
    if dims is None:
        return Verdict(
            schema.UNKNOWN,
            explanation=(
                "embedding dim unknown, and %s fits no D in %d-%d; give D (hjepa-doctor "
                "--embed-dim, or the tab's D control)" % (rules.fmt(value), *PLAUSIBLE_DIMS)
            ),
        )
    ends = [judge(rule, value, env=dataclasses.replace(env, dim=d), **kwargs) for d in dims]
    if ends[0].status == ends[1].status and ends[0].status != schema.UNKNOWN:
        verdict = ends[1]
        verdict.judged = None
        verdict.notes = [
            "embedding dim unknown: judged at every plausible D (%d to %d); each "
            "gives %s" % (dims[0], dims[1], verdict.status)
        ] + [n for n in verdict.notes if "D=%d" % dims[1] not in n]
        return verdict
    return Verdict(
        schema.UNKNOWN,
        explanation=(
            "embedding dim unknown, and the verdict depends on it: %s at D=%d, %s at D=%d; give D "
            "(hjepa-doctor --embed-dim, or the tab's D control)"
            % (ends[0].status, dims[0], ends[1].status, dims[1])
        ),
    )


def judge(
    rule: schema.VerdictRule,
    value: Optional[float],
    *,
    env=None,
    reason: str = "",
    rows: Optional[float] = None,
    rows_source: str = "",
    exact: bool = True,
    alias_note: str = "",
    curve: Optional[Curve] = None,
    note_value: Optional[float] = None,
    possible=None,
) -> Verdict:
    """Judge a raw statistic value with a verdict rule.

    Args:
      rule: the catalogue rule.
      value: the rule's statistic of the curve, or None (then ``reason`` says why).
      env: a ``rules.BoundEnv`` (D, progress) or a bare D; with D unknown, a
        dimension-relative rule is judged at every plausible D.
      rows, rows_source: N for rank-fraction rules.
      exact: False when the curve came through an inexact alias.
      alias_note: that alias's note.
      curve: the whole curve, to refuse ``healthy`` when it holds NaN/Inf.
      note_value: the value informational notes are compared with (default: judged).
      possible: (low, high) the judged value can take (``possible_range``); a value
        outside it is ``unknown``.
    """
    env = rules.BoundEnv.of(env)
    if value is None:
        return Verdict(schema.UNKNOWN, explanation=reason or "no data")
    if not exact and rule.normalise != schema.NORMALISE_NONE:
        return Verdict(
            schema.UNKNOWN,
            explanation=(
                "read through another trainer's tag whose convention differs (%s); this rule's "
                "bound is dimension-relative, so it is not judged" % (alias_note or "inexact alias")
            ),
        )
    if rule.normalise != schema.NORMALISE_NONE and not env.dim and math.isfinite(value):
        return _judge_any_dim(
            rule,
            value,
            env,
            rows=rows,
            rows_source=rows_source,
            curve=curve,
            note_value=note_value,
            possible=possible,
        )
    normalised = rules.normalise(
        value, rule.normalise, dim=env.dim, rows=rows, rows_source=rows_source
    )
    if normalised.value is None:
        return Verdict(schema.UNKNOWN, explanation=normalised.reason, notes=normalised.notes)
    judged = normalised.value
    env = dataclasses.replace(env, span=normalised.span)
    notes = list(normalised.notes)
    if possible is not None and not (
        possible[0] - _POSSIBLE_MARGIN <= judged <= possible[1] + _POSSIBLE_MARGIN
    ):
        return Verdict(
            schema.UNKNOWN,
            explanation=(
                "not judged: %s is impossible for this metric (possible: %s to %s%s); the curve "
                "is corrupt or not in the catalogue's convention"
                % (
                    rules.fmt(judged),
                    rules.fmt(possible[0]),
                    rules.fmt(possible[1]),
                    ""
                    if rule.normalise == schema.NORMALISE_NONE
                    else ", after normalising (%s)" % rule.normalise,
                )
            ),
            notes=notes,
            impossible=True,
        )
    for band in rule.bands:
        note = rules.bound_note(band.bound, env)
        if note and note not in notes:
            notes.append(note)
    band = rules.match_band(rule, judged, env)
    if band is not None:
        verdict = Verdict(band.status, judged, band, band.text, notes, env)
    else:
        verdict = Verdict(schema.HEALTHY, judged, None, rule.healthy_text, notes, env)
    if (
        verdict.status == schema.HEALTHY
        and curve is not None
        and curve.non_finite
        and rule.statistic not in ("non_finite",)
    ):
        verdict.status = schema.WARNING
        verdict.explanation = (
            "%s on its finite values, but %d of %d logged values are NaN/Inf (first at step "
            "%d)" % (rule.healthy_text, curve.non_finite, curve.n, curve.first_non_finite_step())
        )
    verdict.notes.extend(
        rules.matching_notes(rule, judged if note_value is None else note_value, env)
    )
    return verdict


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
        "bound": rules.bound_json(band.bound, verdict.env),
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
        "bands": [rules.band_json(b, verdict.env) for b in rule.bands],
        "window": stat.window(),
        "explanation": verdict.explanation,
        "healthy_text": rule.healthy_text,
        "action": rule.action,
        "notes": verdict.notes,
        "correction": rules.correction_json(rule.correction),
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
            stat.value,
            env=ctx.env(stat),
            reason=stat.reason,
            rows=rows,
            rows_source=rows_source,
            exact=series.exact,
            alias_note=ctx.alias_note(metric.key, level),
            curve=curve,
            note_value=note_value,
            possible=possible_range(metric),
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
        verdict = judge(record.rule, result.value, env=ctx.env(), reason=result.reason, curve=curve)
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
