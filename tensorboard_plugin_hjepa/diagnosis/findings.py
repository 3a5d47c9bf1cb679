"""The findings sections: the reference's §11 flowchart and §16 patterns, from checks.

A *check* takes a statistic of a metric (or a derived quantity), optionally divides it
by the same statistic of another metric, normalises it, and compares it with its bound;
a check that names a band instead fires when the light's verdict is in that band or a
more severe one. For per-level metrics the check runs at every level (``level="any"``:
fires when one level fires; ``"all"``: when every level with data fires) or at one level.
``fired`` is True, False, or None when no value could be computed.

A flowchart *branch* fires when it is applicable (all ``applies_when`` checks fire) and
any trigger fires. A *pattern* is detected when every ``symptoms`` check fires, at least
one ``any_symptoms`` check fires (when the pattern has them) and at least
``min_evidence`` ``evidence`` checks fire. Every branch and pattern is reported with
every check evaluated (value and result), so the user sees why it fired or not; a firing
branch or a detected pattern is reported, never turned into a status by itself: the
lights carry the verdict.
"""

import dataclasses
from typing import List, Optional

from .. import catalog
from ..catalog import schema
from ..formatting import fmt
from . import derived, lights
from .context import Context
from .verdict import (
    bound_json,
    bound_note,
    bound_text,
    compare,
    correction_json,
    normalise,
    resolve_bound,
)


# ------------------------------------------------------------------------ checks
def _is_per_level(key: str) -> bool:
    if key.startswith("derived."):
        return derived.by_key(key).per_level
    return catalog.get(key).per_level


def _value_at(ctx: Context, check: schema.Check, level: Optional[int]):
    """(value, window, reason, notes, span) of the check's quantity at one level; span is
    the min(N, D) a rank fraction was taken of (None otherwise)."""
    if check.metric.startswith("derived."):
        result = derived.value(ctx, check.metric, level)
        return result.value, result.stat.window(), result.reason, [], None
    stat = ctx.stat(check.metric, level, check.statistic)
    value, reason, notes = stat.value, stat.reason, []
    if value is not None and check.divide_by:
        other_level = level if _is_per_level(check.divide_by) else None
        other = ctx.stat(check.divide_by, other_level, check.statistic)
        if other.value is None:
            value, reason = None, "%s: %s" % (check.divide_by, other.reason)
        elif other.value == 0:
            value, reason = None, "%s is 0: the ratio is undefined" % check.divide_by
        else:
            value = value / other.value
    if value is not None and check.normalise != schema.NORMALISE_NONE:
        series = ctx.series(check.metric, level)
        if series is not None and not series.exact:
            return (
                None,
                stat.window(),
                (
                    "inexact alias (%s): a dimension-relative bound does "
                    "not apply" % ctx.alias_note(check.metric, level)
                ),
                [],
                None,
            )
        rows, rows_source = ctx.rows(level)
        normalised = normalise(
            value, check.normalise, dim=ctx.dim, rows=rows, rows_source=rows_source
        )
        value, reason, notes = normalised.value, normalised.reason, normalised.notes
        return value, stat.window(), reason, notes, normalised.span
    return value, stat.window(), reason, notes, None


def _band_one(ctx: Context, check: schema.Check, level: Optional[int]) -> dict:
    """A check that names a band: it fires when the light's verdict is in that band or a
    more severe one (the same verdict the light shows, judged at every plausible D)."""
    light, verdict = lights.light_of(ctx, check.metric, level)
    if verdict.status == schema.UNKNOWN:
        fired, detail = None, "unknown: %s" % (verdict.explanation or "no data")
    else:
        fired = verdict.band is not None and schema.severity(
            verdict.band.status
        ) >= schema.severity(check.band)
        detail = "%s: %s" % (verdict.status, verdict.explanation)
    value = verdict.judged if verdict.judged is not None else light["value"]
    return {
        "level": level,
        "value": value,
        "fired": fired,
        "detail": detail,
        "window": light["window"],
        "notes": list(verdict.notes),
        "env": verdict.env,
    }


def _one(ctx: Context, check: schema.Check, level: Optional[int]) -> dict:
    if check.band is not None:
        return _band_one(ctx, check, level)
    value, window, reason, notes, span = _value_at(ctx, check, level)
    env = dataclasses.replace(ctx.env(), span=span)
    bound = resolve_bound(check.bound, env)
    fired = None if value is None else compare(value, check.op, bound)
    if value is None:
        detail = "unknown: %s" % (reason or "no data")
    elif fired:
        detail = "%s %s %s" % (fmt(value), check.op, bound_text(check.bound, env))
    else:
        detail = "%s, not %s %s" % (fmt(value), check.op, bound_text(check.bound, env))
    note = bound_note(check.bound, env)
    return {
        "level": level,
        "value": value,
        "fired": fired,
        "detail": detail,
        "window": window,
        "notes": notes + ([note] if note else []),
        "env": env,
    }


def evaluate_check(ctx: Context, check: schema.Check) -> dict:
    """A check result as http_api.md documents it (plus ``levels`` for per-level checks)."""
    per_level = _is_per_level(check.metric)
    if per_level:
        levels: List[Optional[int]] = (
            [check.level] if isinstance(check.level, int) else list(ctx.levels)
        )
    else:
        levels = [None]
    results = [_one(ctx, check, lvl) for lvl in levels]
    fired_values = [r["fired"] for r in results]
    mode = check.level if per_level and not isinstance(check.level, int) else None
    if mode == "all":
        fired = False if False in fired_values else (True if True in fired_values else None)
        decisive = next(
            (r for r in results if r["fired"] is False),
            next((r for r in results if r["fired"] is True), results[0]),
        )
    else:
        fired = True if True in fired_values else (False if False in fired_values else None)
        decisive = next(
            (r for r in results if r["fired"] is True),
            next((r for r in results if r["fired"] is False), results[0]),
        )
    if per_level:
        detail = "; ".join("level %d: %s" % (r["level"], r["detail"]) for r in results)
    else:
        detail = decisive["detail"]
    return {
        "id": check.id,
        "metric": check.metric,
        "text": check.text,
        "statistic": check.statistic,
        "op": check.op,
        "bound": bound_json(check.bound, decisive["env"]),
        "normalise": check.normalise,
        "divide_by": check.divide_by,
        "band": check.band,
        "action": check.action,
        "level": decisive["level"],
        "level_mode": mode if per_level else None,
        "value": decisive["value"],
        "fired": fired,
        "detail": detail,
        "window": decisive["window"],
        "notes": list(decisive["notes"]),
        "levels": (
            [{"level": r["level"], "value": r["value"], "fired": r["fired"]} for r in results]
            if per_level
            else None
        ),
    }


# --------------------------------------------------------------- §11 flowchart
def evaluate_branch(ctx: Context, branch) -> dict:
    """One branch's result object (http_api.md ``health.flowchart[]``)."""
    preconditions = [evaluate_check(ctx, c) for c in branch.applies_when]
    applicable = all(p["fired"] is True for p in preconditions)
    triggers = [evaluate_check(ctx, c) for c in branch.triggers]
    results = [evaluate_check(ctx, c) for c in branch.checks]
    fired = applicable and any(t["fired"] is True for t in triggers)
    return {
        "id": branch.id,
        "question": branch.question,
        "applicable": applicable,
        "fired": fired,
        "applies_when": preconditions,
        "triggers": triggers,
        "checks": results,
        "actions": list(branch.actions),
        "correction": correction_json(branch.correction),
    }


def flowchart(ctx: Context) -> List[dict]:
    """Every branch of the flowchart, in the reference's order."""
    return [evaluate_branch(ctx, b) for b in catalog.branches()]


# ---------------------------------------------------------------- §16 patterns
def evaluate_pattern(ctx: Context, pattern) -> dict:
    """One pattern's result object (http_api.md ``health.patterns[]``)."""
    symptoms = [evaluate_check(ctx, c) for c in pattern.symptoms]
    any_symptoms = [evaluate_check(ctx, c) for c in pattern.any_symptoms]
    evidence = [evaluate_check(ctx, c) for c in pattern.evidence]
    evidence_count = sum(1 for e in evidence if e["fired"] is True)
    detected = (
        all(s["fired"] is True for s in symptoms)
        and (not any_symptoms or any(s["fired"] is True for s in any_symptoms))
        and evidence_count >= pattern.min_evidence
        and bool(symptoms or any_symptoms)
    )
    return {
        "id": pattern.id,
        "name": pattern.name,
        "detected": detected,
        "likely_cause": pattern.likely_cause,
        "fix": pattern.fix,
        "symptoms": symptoms,
        "any_symptoms": any_symptoms,
        "evidence": evidence,
        "evidence_count": evidence_count,
        "min_evidence": pattern.min_evidence,
        "correction": correction_json(pattern.correction),
    }


def patterns(ctx: Context) -> List[dict]:
    """Every pattern of the catalogue, in the reference's order."""
    return [evaluate_pattern(ctx, p) for p in catalog.patterns()]
