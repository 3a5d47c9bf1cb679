"""Traffic lights: one verdict per (metric with a rule, level), with its evidence.

A light is ``unknown`` when the curve is missing, all NaN/Inf, too short, read through
an inexact alias while the rule is dimension-relative, or dimension-relative without a
known D. A curve that holds NaN/Inf is never ``healthy``: a rule judged healthy on
its finite points becomes ``warning`` and says where the bad values are.
"""

import dataclasses
from typing import List, Optional

from .. import catalog
from ..catalog import schema
from . import rules
from .context import Context
from .downsample import sparkline
from .statistics import Curve, Stat

# Statistics whose value is not the metric's level (a count): notes about the level
# are checked against the recent median instead.
_COUNT_STATISTICS = ("non_finite", "count")

# The range a judged value can take at all (DESIGN.md: L2-normalised features have
# mean std per dim <= 1/sqrt(D), so std * sqrt(D) is in [0, 1]; erank <= min(N, D);
# cosines are in [-1, 1]), with a margin for rounding. A value outside it (a negative
# std, a cosine of -5, float32's largest number) is not judged: the curve is corrupt or
# not in the catalogue's convention, and a light must not call it healthy.
_POSSIBLE_BY_NORMALISE = {schema.NORMALISE_SQRT_DIM: (0.0, 1.0),
                          schema.NORMALISE_RANK_FRACTION: (0.0, 1.0)}
_POSSIBLE_BY_UNIT = {"cosine": (-1.0, 1.0)}
_POSSIBLE_MARGIN = 0.01


def possible_range(metric: schema.Metric):
    """(low, high) a metric's judged value can take, or None when unbounded."""
    rule = metric.rule
    if rule is not None and rule.statistic in _COUNT_STATISTICS:
        return None
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


def judge(rule: schema.VerdictRule, value: Optional[float], *, dim: Optional[int],
          reason: str = "", rows: Optional[float] = None, rows_source: str = "",
          exact: bool = True, alias_note: str = "", curve: Optional[Curve] = None,
          note_value: Optional[float] = None, possible=None) -> Verdict:
    """Judge a raw statistic value with a verdict rule.

    Args:
      rule: the catalogue rule.
      value: the rule's statistic of the curve, or None (then ``reason`` says why).
      dim, rows, rows_source: D and N for dimension-relative rules.
      exact: False when the curve came through an inexact alias.
      alias_note: that alias's note.
      curve: the whole curve, to refuse ``healthy`` when it holds NaN/Inf.
      note_value: the value informational notes are compared with (default: judged).
      possible: (low, high) the judged value can take (``possible_range``); a value
        outside it is ``unknown``.
    """
    if value is None:
        return Verdict(schema.UNKNOWN, explanation=reason or "no data")
    if not exact and rule.normalise != schema.NORMALISE_NONE:
        return Verdict(schema.UNKNOWN, explanation=(
            "read through another trainer's tag whose convention differs (%s); this rule's "
            "bound is dimension-relative, so it is not judged" % (alias_note or "inexact alias")))
    normalised = rules.normalise(value, rule.normalise, dim=dim, rows=rows,
                                 rows_source=rows_source)
    if normalised.value is None:
        return Verdict(schema.UNKNOWN, explanation=normalised.reason, notes=normalised.notes)
    judged = normalised.value
    notes = list(normalised.notes)
    if possible is not None and not (possible[0] - _POSSIBLE_MARGIN <= judged
                                     <= possible[1] + _POSSIBLE_MARGIN):
        return Verdict(schema.UNKNOWN, explanation=(
            "not judged: %s is impossible for this metric (possible: %s to %s%s); the curve "
            "is corrupt or not in the catalogue's convention"
            % (rules.fmt(judged), rules.fmt(possible[0]), rules.fmt(possible[1]),
               "" if rule.normalise == schema.NORMALISE_NONE
               else ", after normalising (%s)" % rule.normalise)), notes=notes)
    for band in rule.bands:
        note = rules.dim_bound_note(band.bound, dim)
        if note and note not in notes:
            notes.append(note)
    band = rules.match_band(rule, judged, dim)
    if band is not None:
        verdict = Verdict(band.status, judged, band, band.text, notes)
    else:
        verdict = Verdict(schema.HEALTHY, judged, None, rule.healthy_text, notes)
    if (verdict.status == schema.HEALTHY and curve is not None and curve.non_finite
            and rule.statistic not in ("non_finite",)):
        verdict.status = schema.WARNING
        verdict.explanation = (
            "%s on its finite values, but %d of %d logged values are NaN/Inf (first at step "
            "%d)" % (rule.healthy_text, curve.non_finite, curve.n, curve.first_non_finite_step()))
    verdict.notes.extend(rules.matching_notes(
        rule, judged if note_value is None else note_value, dim))
    return verdict


def _threshold(rule: schema.VerdictRule, verdict: Verdict, dim: Optional[int]):
    """The band that matched; for a healthy value, the band it stays clear of."""
    band = verdict.band
    if band is None:
        if verdict.status == schema.UNKNOWN or not rule.bands:
            return None
        band = rule.bands[-1]
    return {"status": band.status, "op": band.op, "bound": rules.bound_json(band.bound, dim),
            "source": band.source}


def light_dict(*, key: str, tag: Optional[str], category: str, level: Optional[int],
               rule: schema.VerdictRule, value: Optional[float], verdict: Verdict,
               stat: Stat, dim: Optional[int], spark: list) -> dict:
    """A light object as http_api.md's ``health.lights`` documents it."""
    return {
        "key": key, "tag": tag, "category": category, "level": level,
        "status": verdict.status,
        "value": value, "judged_value": verdict.judged, "normalise": rule.normalise,
        "threshold": _threshold(rule, verdict, dim),
        "bands": [rules.band_json(b, dim) for b in rule.bands],
        "window": stat.window(),
        "explanation": verdict.explanation, "healthy_text": rule.healthy_text,
        "notes": verdict.notes, "correction": rules.correction_json(rule.correction),
        "sparkline": spark,
    }


def _missing_text(metric: schema.Metric, level: Optional[int]) -> str:
    tag = catalog.tag(metric.key, level=level) if "{group}" not in metric.tag else metric.tag
    text = "no data: %s was not logged" % tag
    aliases = [a.tag.replace("{i}", str(level)) for a in metric.aliases
               if a.level is None or a.level == level]
    if aliases:
        text += " (nor %s)" % " / ".join(aliases)
    return text


def metric_light(ctx: Context, metric: schema.Metric, level: Optional[int]) -> dict:
    """The light of one metric at one level (level None for non-per-level metrics)."""
    rule = metric.rule
    series = ctx.series(metric.key, level)
    curve = ctx.curve(metric.key, level)
    stat = ctx.stat(metric.key, level, rule.statistic)
    rows, rows_source = ctx.rows(level) if rule.normalise == schema.NORMALISE_RANK_FRACTION \
        else (None, "")
    note_value = None
    if rule.statistic in _COUNT_STATISTICS:
        note_value = ctx.stat(metric.key, level, "recent").value
    if series is None:
        verdict = Verdict(schema.UNKNOWN, explanation=_missing_text(metric, level))
        tag = catalog.tag(metric.key, level=level) if "{group}" not in metric.tag else None
    else:
        verdict = judge(rule, stat.value, dim=ctx.dim, reason=stat.reason, rows=rows,
                        rows_source=rows_source, exact=series.exact,
                        alias_note=ctx.alias_note(metric.key, level), curve=curve,
                        note_value=note_value, possible=possible_range(metric))
        tag = series.tag
    if series is not None and not series.exact:
        note = ctx.alias_note(metric.key, level)
        if note and note not in verdict.notes:
            verdict.notes.append(note)
    spark = sparkline(curve.steps, curve.values) if curve is not None else []
    return light_dict(key=metric.key, tag=tag, category=metric.category, level=level,
                      rule=rule, value=stat.value, verdict=verdict, stat=stat, dim=ctx.dim,
                      spark=spark)


def evaluate(ctx: Context) -> List[dict]:
    """Every light of the run: catalogue order, per-level metrics once per level."""
    out = []
    for metric in catalog.metrics():
        if metric.rule is None or metric.kind != "scalar":
            continue
        levels = ctx.levels if metric.per_level else [None]
        for level in levels:
            out.append(metric_light(ctx, metric, level))
    return out
