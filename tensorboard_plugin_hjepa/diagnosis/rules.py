"""Evaluate the catalogue's comparisons: bounds, operators, normalisation, bands, notes.

Pure functions of a value, the embedding dimension D and the row count N; the
catalogue records (``Band``, ``Note``, ``DimBound``, ``VerdictRule``) carry the numbers.
"""

import dataclasses
import math
from typing import List, Optional, Tuple, Union

from ..catalog import schema
from ..formatting import fmt  # noqa: F401  (re-exported: checks, lights)

RANK_ROWS_FACTOR = 4  # the rank fraction is trusted from N >= 4 * D rows

Resolved = Union[float, Tuple[float, float]]


@dataclasses.dataclass(frozen=True)
class BoundEnv:
    """What a catalogue bound may depend on: D, min(N, D) and training progress."""

    dim: Optional[int] = None
    span: Optional[float] = None  # min(N, D): what a rank can reach
    progress: Optional[float] = None

    @classmethod
    def of(cls, env) -> "BoundEnv":
        """A BoundEnv from a BoundEnv, or from a bare D (int or None)."""
        return env if isinstance(env, BoundEnv) else cls(dim=env)


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
