"""The verdict of one value under one catalogue rule: bounds, normalisation, bands, judge.

Pure functions of a value, the embedding dimension D, the row count N and training
progress (a ``BoundEnv``); the catalogue records (``Band``, ``Note``, ``DimBound``,
``VerdictRule``, ``Check``) carry the numbers. In reading order: a bound resolved in an
environment (``resolve_bound``, its text, note and JSON), the comparison
(``compare``), the normalisation of a raw value (``normalise``: std * sqrt(D),
erank / min(N, D)), the band a value falls in (``match_band``), and ``judge``, which
puts them together into a ``Verdict`` for a ``Reading`` (the value and what is known
beside it). Lights and checks both judge through here.
"""

import dataclasses
import math
from typing import List, Optional, Tuple, Union

from ..catalog import schema
from ..formatting import fmt
from .context import BoundEnv
from .statistics import Curve

RANK_ROWS_FACTOR = 4  # the rank fraction is trusted from N >= 4 * D rows

Resolved = Union[float, Tuple[float, float]]


# ----------------------------------------------------------------------- bounds
def resolve_bound(bound, env=None) -> Resolved:
    """A number, or a (low, high) pair, for a catalogue bound in ``env`` (a BoundEnv or D)."""
    env = BoundEnv.of(env)
    if isinstance(bound, schema.DimBound):
        return float(bound.resolve(env.dim))
    if isinstance(bound, schema.RankBound):
        return float(bound.resolve(env.span))
    if isinstance(bound, schema.ProgressBound):
        return float(bound.resolve(env.progress))
    if isinstance(bound, (tuple, list)):
        low, high = bound
        return (float(low), float(high))
    return float(bound)


def bound_json(bound, env=None):
    """The resolved bound as JSON data: a number or [low, high]."""
    resolved = resolve_bound(bound, env)
    return list(resolved) if isinstance(resolved, tuple) else resolved


def bound_text(bound, env=None) -> str:
    resolved = resolve_bound(bound, env)
    if isinstance(resolved, tuple):
        return "[%s, %s]" % (fmt(resolved[0]), fmt(resolved[1]))
    return fmt(resolved)


def bound_note(bound, env=None) -> Optional[str]:
    """Why a bound that depends on D, min(N, D) or progress resolved as it did; None otherwise."""
    env = BoundEnv.of(env)
    if isinstance(bound, schema.DimBound):
        if not env.dim:
            return (
                "embedding dim unknown: the bound is its floor %s (max(%s, %s/sqrt(D)) with "
                "D known)" % (fmt(bound.floor), fmt(bound.floor), fmt(bound.per_sqrt_dim))
            )
        return "bound max(%s, %s/sqrt(D)) = %s at D=%d" % (
            fmt(bound.floor),
            fmt(bound.per_sqrt_dim),
            fmt(bound.resolve(env.dim)),
            env.dim,
        )
    if isinstance(bound, schema.RankBound):
        if not env.span:
            return None
        return "bound max(%s, %s directions / min(N, D)) = %s at min(N, D)=%s" % (
            fmt(bound.fraction),
            fmt(bound.directions),
            fmt(bound.resolve(env.span)),
            fmt(env.span),
        )
    if isinstance(bound, schema.ProgressBound):
        if env.progress is None:
            return (
                "training progress unknown (no planned length in a manifest): the bound is "
                "its earliest value %s" % fmt(bound.when_unknown)
            )
        return "bound %s at %.0f%% of training (it follows progress: %s)" % (
            fmt(bound.resolve(env.progress)),
            100 * env.progress,
            ", ".join("%s at %.0f%%" % (fmt(b), 100 * p) for p, b in bound.points),
        )
    return None


def compare(value: float, op: str, bound: Resolved) -> bool:
    """``value <op> bound``. NaN compares False everywhere.

    Raises:
      ValueError: an unknown operator, or a pair/number given to the wrong operator.
    """
    if op in ("outside", "inside"):
        if not isinstance(bound, tuple):
            raise ValueError("operator %r needs a (low, high) bound, got %r" % (op, bound))
        low, high = bound
        if math.isnan(value):
            return False
        inside = low <= value <= high
        return inside if op == "inside" else not inside
    if isinstance(bound, tuple):
        raise ValueError("operator %r needs a single bound, got %r" % (op, bound))
    if op == "<":
        return value < bound
    if op == "<=":
        return value <= bound
    if op == ">":
        return value > bound
    if op == ">=":
        return value >= bound
    if op == "==":
        return value == bound
    raise ValueError("unknown operator %r; known: %s" % (op, ", ".join(schema.OPERATORS)))


@dataclasses.dataclass
class Normalised:
    """A raw value turned into the quantity a rule judges.

    ``value`` is None when the normalisation cannot be done (``reason`` says why);
    ``notes`` are caveats the user should read beside the verdict.
    """

    value: Optional[float]
    reason: str = ""
    notes: List[str] = dataclasses.field(default_factory=list)
    span: Optional[float] = None  # min(N, D) a rank fraction was taken of


def normalise(
    value: Optional[float],
    how: str,
    *,
    dim: Optional[int],
    rows: Optional[float] = None,
    rows_source: str = "",
) -> Normalised:
    """Apply a catalogue normalisation.

    Args:
      value: the raw statistic (None passes through as None).
      how: one of ``schema.NORMALISATIONS``.
      dim: the embedding dimension D, or None when unknown.
      rows: N, the rows the statistic was computed on, or None when unknown.
      rows_source: where N came from, for the explanation.

    Raises:
      ValueError: an unknown normalisation.
    """
    if how not in schema.NORMALISATIONS:
        raise ValueError(
            "unknown normalisation %r; known: %s" % (how, ", ".join(schema.NORMALISATIONS))
        )
    if value is None or how == schema.NORMALISE_NONE:
        return Normalised(value)
    if not dim:
        return Normalised(
            None,
            "embedding dim unknown: this rule is relative to D (%s); "
            "log a run manifest with embed_dim to judge it"
            % ("std * sqrt(D)" if how == schema.NORMALISE_SQRT_DIM else "erank / min(N, D)"),
        )
    if how == schema.NORMALISE_SQRT_DIM:
        return Normalised(value * math.sqrt(dim), notes=["judged as value * sqrt(D), D=%d" % dim])
    # Rank fraction: erank / min(N, D).
    notes = []
    if rows is None or not math.isfinite(rows) or rows <= 0:
        denominator = float(dim)
        notes.append(
            "rows N unknown: judged as erank / D with D=%d; the rank is biased low "
            "when fewer than %d rows were sampled" % (dim, RANK_ROWS_FACTOR * dim)
        )
    else:
        denominator = float(min(rows, dim))
        notes.append(
            "judged as erank / min(N, D) = erank / %s (N=%s%s, D=%d)"
            % (fmt(denominator), fmt(rows), " from " + rows_source if rows_source else "", dim)
        )
        if rows < RANK_ROWS_FACTOR * dim:
            notes.append(
                "uncertain: N=%s rows < 4D=%d, so the effective rank is biased low; "
                "sample more rows for a trustworthy value" % (fmt(rows), RANK_ROWS_FACTOR * dim)
            )
    return Normalised(value / denominator, notes=notes, span=denominator)


def match_band(rule: schema.VerdictRule, judged: float, env=None):
    """The first band of the rule the judged value falls in, or None (healthy)."""
    for band in rule.bands:
        if compare(judged, band.op, resolve_bound(band.bound, env)):
            return band
    return None


def matching_notes(rule: schema.VerdictRule, value: Optional[float], env=None) -> List[str]:
    """Texts of the rule's notes whose condition holds for ``value``."""
    if value is None:
        return []
    return [
        note.text for note in rule.notes if compare(value, note.op, resolve_bound(note.bound, env))
    ]


def band_json(band, env=None) -> dict:
    return {
        "status": band.status,
        "op": band.op,
        "bound": bound_json(band.bound, env),
        "text": band.text,
        "source": band.source,
    }


def correction_json(correction) -> Optional[dict]:
    """A catalogue Correction as JSON data (None stays None)."""
    if correction is None:
        return None
    return {
        "reference_says": correction.reference_says,
        "rule": correction.rule,
        "why": correction.why,
    }


# ------------------------------------------------------------------------ judge
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
    env: BoundEnv = BoundEnv()  # what the bands were resolved in
    impossible: bool = False  # the value is one the metric cannot take (a corrupt curve)


@dataclasses.dataclass(frozen=True)
class Reading:
    """A value to judge, and what is known beside it.

    Attributes:
      value: the rule's statistic of the curve, or None (then ``reason`` says why).
      reason: why there is no value.
      env: what the bounds are resolved in (D, progress); with D unknown, a
        dimension-relative rule is judged at every plausible D.
      rows, rows_source: N for rank-fraction rules, and where it came from.
      exact: False when the curve came through an inexact alias; ``alias_note`` is that
        alias's note.
      curve: the whole curve, to refuse ``healthy`` when it holds NaN/Inf.
      note_value: the value informational notes are compared with (None: the judged one).
      possible: (low, high) the judged value can take (``possible_range``); a value
        outside it is ``unknown``.
    """

    value: Optional[float]
    reason: str = ""
    env: BoundEnv = BoundEnv()
    rows: Optional[float] = None
    rows_source: str = ""
    exact: bool = True
    alias_note: str = ""
    curve: Optional[Curve] = None
    note_value: Optional[float] = None
    possible: Optional[Tuple[float, float]] = None


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


def judge(rule: schema.VerdictRule, reading: Reading) -> Verdict:
    """Judge a raw statistic value with a verdict rule.

    Args:
      rule: the catalogue rule.
      reading: the value and what is known beside it.
    """
    value, env, possible = reading.value, reading.env, reading.possible
    if value is None:
        return Verdict(schema.UNKNOWN, explanation=reading.reason or "no data")
    if not reading.exact and rule.normalise != schema.NORMALISE_NONE:
        return Verdict(
            schema.UNKNOWN,
            explanation=(
                "read through another trainer's tag whose convention differs (%s); this rule's "
                "bound is dimension-relative, so it is not judged"
                % (reading.alias_note or "inexact alias")
            ),
        )
    if rule.normalise != schema.NORMALISE_NONE and not env.dim and math.isfinite(value):
        return _judge_any_dim(rule, reading)
    normalised = normalise(
        value, rule.normalise, dim=env.dim, rows=reading.rows, rows_source=reading.rows_source
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
                    fmt(judged),
                    fmt(possible[0]),
                    fmt(possible[1]),
                    ""
                    if rule.normalise == schema.NORMALISE_NONE
                    else ", after normalising (%s)" % rule.normalise,
                )
            ),
            notes=notes,
            impossible=True,
        )
    for band in rule.bands:
        note = bound_note(band.bound, env)
        if note and note not in notes:
            notes.append(note)
    band = match_band(rule, judged, env)
    if band is not None:
        verdict = Verdict(band.status, judged, band, band.text, notes, env)
    else:
        verdict = Verdict(schema.HEALTHY, judged, None, rule.healthy_text, notes, env)
    curve = reading.curve
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
        matching_notes(rule, judged if reading.note_value is None else reading.note_value, env)
    )
    return verdict


def _judge_any_dim(rule: schema.VerdictRule, reading: Reading) -> Verdict:
    """Judge a dimension-relative value with D unknown: at both ends of the plausible range."""
    dims = plausible_dims(rule.normalise, reading.value)
    if dims is None:
        return Verdict(
            schema.UNKNOWN,
            explanation=(
                "embedding dim unknown, and %s fits no D in %d-%d; give D (hjepa-doctor "
                "--embed-dim, or the tab's D control)" % (fmt(reading.value), *PLAUSIBLE_DIMS)
            ),
        )
    ends = [
        judge(rule, dataclasses.replace(reading, env=dataclasses.replace(reading.env, dim=d)))
        for d in dims
    ]
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
