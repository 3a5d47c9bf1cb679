"""Record types of the metric catalogue.

The catalogue is data: every tag, threshold, text, flowchart branch and pattern of the
metric reference lives in frozen records defined here. The trainer, the summary writer,
the diagnosis engine, the doctor and the frontend (through the ``catalog`` route) all
read these records; none of them spells a tag or a bound of its own.
"""

import dataclasses
import math
from typing import Optional, Tuple, Union

# Verdict words, worst last. ``collapse`` is the alert of a collapse metric,
# ``critical`` the alert of any other metric.
HEALTHY = "healthy"
WARNING = "warning"
COLLAPSE = "collapse"
CRITICAL = "critical"
UNKNOWN = "unknown"
STATUSES = (UNKNOWN, HEALTHY, WARNING, COLLAPSE, CRITICAL)
ALERTS = (COLLAPSE, CRITICAL)


def severity(status: str) -> int:
    """Rank of a status word in STATUSES (worse is larger); a word not in it ranks 0."""
    return STATUSES.index(status) if status in STATUSES else 0


# Comparison operators a band or check may use. ``outside`` and ``inside`` take a
# (low, high) pair; the others a single bound.
OPERATORS = ("<", "<=", ">", ">=", "==", "outside", "inside")

# How a raw value is turned into the quantity a rule judges.
NORMALISE_NONE = "none"
NORMALISE_SQRT_DIM = "sqrt_dim"  # value * sqrt(D): 1.0 = isotropic L2-normalised features
NORMALISE_RANK_FRACTION = "rank_fraction"  # value / min(N, D)
NORMALISATIONS = (NORMALISE_NONE, NORMALISE_SQRT_DIM, NORMALISE_RANK_FRACTION)

# Statistics a check can take of a curve. The diagnosis engine implements each; the
# text is what the user reads next to the value.
STATISTICS = {
    "recent": "median of the recent window (the last 10% of points, at least 5, at most 200)",
    "first": "median of the first window (the first 10% of points, at least 5, at most 200)",
    "at_start": "first logged value",
    "recent_over_first": "recent / first (the first window starts after leading exact zeros)",
    "relative_change": "(recent - first) / |first|",
    "rise_from_min": "recent / minimum of the 5-point running median",
    "noise_cv": "std of the detrended recent window / |recent|",
    "max_zscore": "largest z-score of a point against the 50 points before it",
    "late_change": "|median of the last quarter - median of the third quarter|",
    "non_finite": "number of NaN or infinite values in the whole curve",
    "recent_max": "maximum of the recent window",
    "count": "number of finite values logged",
    "peak": "largest finite value logged",
    "last": "last finite value logged",
    "last_after_early": "last finite value after early training (a probe logged a few times a run)",
    "fall_from_peak": "peak of the 5-point running median after early training / recent (1 = "
    "at its peak)",
    "sudden_drop": "largest fall, as a fraction, from one window's median to the next window's "
    "after early training (windows of 5% of the points, at least 3)",
    "steady_fall": "peak of the 3-point running median after early training - last, when the "
    "last 3 values each fell, else 0",
    "probe_fall": "peak of the 3-point running median after early training / last (1 = at its "
    "peak; a single evaluation is at its peak)",
    "noise_growth": "noise (std around a fitted line) of the recent window / that of the first "
    "window after the LR warmup",
    "recent_after_warmup": "median of the recent window of the points after the LR warmup",
    "recent_over_post_warmup": "recent / the first window after the LR warmup",
    "growth_over_early": "recent / max(1, the first window) of the points after early training",
    "fast_fall": "largest fall, as a fraction, from one window's median to the next window's "
    "after the LR warmup (windows of 5% of the points, at least 3)",
}

# Two boundaries leave the start of a run out of a statistic:
# - the LR warmup: gradients are largest and the LR ramps up (clipping, noise and fast
#   falls are judged after it);
# - early training, the warmup or the first quarter of the planned run, whichever is
#   longer: the rank falls from its random-init value and the loss makes its first fast
#   drop there in healthy runs (peaks and slow falls are judged after it).
AFTER_WARMUP = (
    "recent_after_warmup",
    "recent_over_post_warmup",
    "noise_growth",
    "fast_fall",
)
AFTER_EARLY = (
    "last_after_early",
    "fall_from_peak",
    "sudden_drop",
    "steady_fall",
    "probe_fall",
    "growth_over_early",
)

# Statistics whose value is in the metric's own units (a level of the curve); the others
# are counts, ratios or differences of it.
LEVEL_STATISTICS = (
    "recent",
    "first",
    "at_start",
    "recent_max",
    "peak",
    "last",
    "last_after_early",
    "recent_after_warmup",
)

# Statistics that compare a curve's first window with its recent one: not judged while
# early training lasts (the first window is then the recent one, or nearly).
FIRST_VS_RECENT = ("relative_change", "recent_over_first")

Number = Union[int, float]


@dataclasses.dataclass(frozen=True)
class DimBound:
    """A bound that depends on the embedding dimension D: max(floor, per_sqrt_dim / sqrt(D)).

    Used where a fixed number is only right at one dimension (pairwise cosine of
    random vectors concentrates at about 1/sqrt(D)). Without D the floor applies.
    """

    floor: float
    per_sqrt_dim: float

    def resolve(self, dim: Optional[int]) -> float:
        if not dim:
            return self.floor
        return max(self.floor, self.per_sqrt_dim / math.sqrt(dim))


@dataclasses.dataclass(frozen=True)
class RankBound:
    """A rank-fraction bound with a floor in directions: max(fraction, directions / min(N, D)).

    ``erank / min(N, D) < RankBound(0.02, 2)`` holds when the rank is under 2% of what
    the matrix could span, or under 2 directions whatever the width: a rank of 1.3 is
    collapse at D = 64 as much as at D = 8192.
    """

    fraction: float
    directions: float

    def resolve(self, span: Optional[float]) -> float:
        if not span:
            return self.fraction
        return max(self.fraction, self.directions / span)


@dataclasses.dataclass(frozen=True)
class ProgressBound:
    """A bound that follows training progress (0 = start, 1 = end of the planned run).

    ``points`` are (progress, bound) pairs, linearly interpolated and held flat beyond
    the first and last; ``when_unknown`` applies when progress is unknown (logs without
    a planned length): the earliest, most lenient value, so that a run is not alarmed
    for being early.
    """

    points: Tuple[Tuple[float, float], ...]
    when_unknown: float

    def resolve(self, progress: Optional[float]) -> float:
        if progress is None or not math.isfinite(progress):
            return self.when_unknown
        xs = [p for p, _ in self.points]
        ys = [b for _, b in self.points]
        if progress <= xs[0]:
            return ys[0]
        for (x0, y0), (x1, y1) in zip(self.points, self.points[1:]):
            if progress <= x1:
                return y0 + (y1 - y0) * (progress - x0) / (x1 - x0)
        return ys[-1]


Bound = Union[Number, DimBound, RankBound, ProgressBound, Tuple[Number, Number]]


@dataclasses.dataclass(frozen=True)
class Band:
    """One alert band of a verdict rule: ``status`` when ``value <op> bound``.

    Attributes:
      status: WARNING, COLLAPSE or CRITICAL.
      op: one of OPERATORS.
      bound: a number, a DimBound, or a (low, high) pair for inside/outside.
      text: what the user is told when the band applies.
      source: where the bound comes from ("reference §5 table", "project", ...).
    """

    status: str
    op: str
    bound: Bound
    text: str
    source: str


@dataclasses.dataclass(frozen=True)
class Note:
    """An informational remark shown when ``value <op> bound``; never changes a status."""

    op: str
    bound: Bound
    text: str
    source: str


@dataclasses.dataclass(frozen=True)
class Correction:
    """Why a rule departs from the metric reference."""

    reference_says: str
    rule: str
    why: str


@dataclasses.dataclass(frozen=True)
class VerdictRule:
    """How one metric's recent value becomes a traffic light.

    Bands are tried in order (most severe first); the first that matches gives the
    status; none matching gives HEALTHY. The value judged is the metric's ``statistic``
    after ``normalise``.
    """

    bands: Tuple[Band, ...]
    healthy_text: str
    normalise: str = NORMALISE_NONE
    statistic: str = "recent"
    notes: Tuple[Note, ...] = ()
    correction: Optional[Correction] = None
    action: str = ""  # what fixes the cause this light names ("" for a symptom light)


@dataclasses.dataclass(frozen=True)
class Frequency:
    """How often a metric is logged (reference §12): every ``steps`` steps."""

    steps: int
    text: str


@dataclasses.dataclass(frozen=True)
class ExpectedRange:
    """A reference §15 range at a point of training progress (0..1 of the run).

    ``comparable`` is False where the reference's numbers cannot be compared with
    the corrected metric (the reason is in ``note``); such a range is shown, not judged.
    """

    progress: float
    low: float
    high: float
    level: Optional[int] = None
    comparable: bool = True
    note: str = ""


@dataclasses.dataclass(frozen=True)
class Alias:
    """A tag another trainer writes for (nearly) the same quantity.

    ``exact`` is False where the other trainer's convention differs (an un-normalised
    std, another rank definition, a probe of another kind): such a curve is shown and
    judged by its own history only (a fall from its peak), and a rule with a
    dimension-relative bound reports ``unknown`` for it. Only an exact alias may feed a
    rule with a fixed bound in the metric's own units; the catalogue maps no inexact alias
    onto such a rule (a test checks it).

    Attributes:
      tag: the tag pattern (the metric placeholders, and ``{optimizer}`` / ``{name}`` for
        a name part another trainer chooses).
      source: the ``Convention`` (its ``name``) that writes it.
      level: the hierarchy level it stands for, when the tag has none.
      exact: see above.
      note: what the tag means in its convention, shown beside the curve.
      scale: the catalogue's value is the logged value times ``scale`` (data2vec logs its
        EMA decay x1000: 0.001; a percent accuracy: 0.01).
      scope: a generic name (``loss``, ``lr``, ``tau``) is read only in a run that also
        has a tag of one of these conventions; elsewhere it may mean something else (a
        temperature called ``tau``) and the run is not claimed for H-JEPA.
      no_value: a value the convention writes when it did not compute the quantity (the
        upstream writes -1 for its rank on devices without SVD); such points are left out.
    """

    tag: str
    source: str
    level: Optional[int] = None
    exact: bool = True
    note: str = ""
    scale: float = 1.0
    scope: Tuple[str, ...] = ()
    no_value: Optional[float] = None


@dataclasses.dataclass(frozen=True)
class Convention:
    """A codebase whose logs the catalogue reads through aliases (a source profile).

    Attributes:
      name: how the health answer's ``convention``, the tab and the doctor name it.
      read_from: where its tags were looked up (repository and files).
      step_axis: what the x-axis of its logs counts.
      lightning: it logs through PyTorch Lightning's ``self.log`` (a missing metric is then
        shown with the ``self.log`` call that writes it).
      generic: its tags are names many codebases write (``train_loss``, ``lr-AdamW``): a
        run is named after it only when no more specific convention is recognised.
    """

    name: str
    read_from: str
    step_axis: str = "the training step"
    lightning: bool = False
    generic: bool = False


@dataclasses.dataclass(frozen=True)
class Metric:
    """One metric of the catalogue.

    Attributes:
      key: stable identifier used by code ("collapse.mean_std_per_dim").
      tag: the event-file tag; ``{i}`` is the hierarchy level, ``{group}`` an optimizer
        param group, ``{layer}`` a layer group.
      category: the reference section's name ("collapse").
      section: the reference section number (0 for project additions).
      meaning, unit: what the value is and its unit.
      frequency: logging frequency (§12).
      kind: "scalar", "histogram" or "text".
      rule: the verdict rule, or None for a metric that is charted but not judged.
      expected: §15 ranges by training progress.
      aliases: tags of other trainers that map onto this metric.
      origin: "reference" or "project" (added by this project, with the reason in meaning).
      log_scale: the curve usually spans decades; charts default to a log axis.
      correction: where the metric's definition departs from the reference, and why.
      teacher_only: judged only in runs with a teacher (an EMA target encoder); a run
        without one by design (its manifest says so) gets ``unknown``, not an alert.
    """

    key: str
    tag: str
    category: str
    section: int
    meaning: str
    unit: str
    frequency: Frequency
    kind: str = "scalar"
    rule: Optional[VerdictRule] = None
    expected: Tuple[ExpectedRange, ...] = ()
    aliases: Tuple[Alias, ...] = ()
    origin: str = "reference"
    log_scale: bool = False
    correction: Optional[Correction] = None
    teacher_only: bool = False

    @property
    def per_level(self) -> bool:
        return "{i}" in self.tag


@dataclasses.dataclass(frozen=True)
class Check:
    """A comparison of one quantity against a bound, as the flowchart and patterns use.

    Attributes:
      id: stable identifier within its branch or pattern.
      metric: a metric key, or a derived quantity key ("derived.*").
      op, bound: the comparison that makes the check *fire*.
      statistic: one of STATISTICS.
      level: for per-level metrics: "any" (fires if any level fires), "all", or a level.
      normalise: applied to the value before comparing (see NORMALISATIONS).
      divide_by: another metric key; the value is metric / divide_by (same statistic).
      text: the reference's wording of the check.
      band: the status of the metric's band this check takes its comparison from (built
        with ``band_check``), so that the number is written once; None for a check with
        a bound of its own.
      action: what fixes the cause this check points at when it fires ("" for a check of
        a symptom, whose branch's general actions apply); a band check takes its rule's.
    """

    id: str
    metric: str
    op: str
    bound: Bound
    text: str
    statistic: str = "recent"
    level: Union[str, int, None] = "any"
    normalise: str = NORMALISE_NONE
    divide_by: Optional[str] = None
    band: Optional[str] = None
    action: str = ""


@dataclasses.dataclass(frozen=True)
class Branch:
    """A branch of the reference §11 flowchart.

    The branch *fires* when any trigger check fires and every ``applies_when`` check
    fires (a precondition such as "ran on a GPU"). Its reference checks are evaluated
    and reported either way, so the user sees which one explains the symptom.
    """

    id: str
    question: str
    triggers: Tuple[Check, ...]
    checks: Tuple[Check, ...]
    actions: Tuple[str, ...]
    applies_when: Tuple[Check, ...] = ()
    correction: Optional[Correction] = None


@dataclasses.dataclass(frozen=True)
class Pattern:
    """A reference §16 pattern, detected from the curves.

    Detected when every check in ``symptoms`` fires, at least one of ``any_symptoms``
    fires (when given), and at least ``min_evidence`` checks of ``evidence`` fire.
    Evidence checks are always reported: they say which likely cause the data supports.
    """

    id: str
    name: str
    likely_cause: str
    fix: str
    symptoms: Tuple[Check, ...]
    any_symptoms: Tuple[Check, ...] = ()
    evidence: Tuple[Check, ...] = ()
    min_evidence: int = 0
    correction: Optional[Correction] = None


@dataclasses.dataclass(frozen=True)
class Derived:
    """A quantity the diagnosis engine computes (not logged), judged like a metric.

    Attributes:
      key: "derived.*".
      meaning, unit: what the value is.
      rule: its verdict rule (None: computed for checks only).
      category: the catalogue category its light belongs to.
      per_level: one value per hierarchy level.
      of_metric: computed from this metric's curve with the rule's statistic (None: a
        diagnosis module computes it, e.g. the contribution shares).
    """

    key: str
    meaning: str
    unit: str
    rule: Optional[VerdictRule] = None
    category: str = "contribution"
    per_level: bool = False
    of_metric: Optional[str] = None
