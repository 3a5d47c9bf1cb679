"""What one diagnosis knows about a run: its curves, D, N per level, and derived values.

A ``Context`` wraps a ``RunData`` for the duration of one ``diagnose`` call. What needs
several curves at once (each level's share of the loss: ``shares``) it computes up front;
statistics, lights and derived values it computes when first asked and caches, so the
sections that ask for the same thing pay for it once, in whatever order they run.
``BoundEnv`` is what a catalogue bound may depend on (D, min(N, D), progress).
"""

import dataclasses
import math
from typing import Dict, List, Optional, Tuple

from .. import catalog
from ..catalog import schema
from ..run_data import RunData, Series
from . import shares, statistics
from .statistics import Curve, Stat

# Early training, which the peak and slow-fall statistics leave out: the LR warmup or
# the first quarter of the planned run, whichever is longer (the rank falls from its
# random-init value and the loss makes its first fast drop there in healthy runs: the
# healthy tiny demo's rank falls 3x from the end of its warmup, 10% of the run, mostly
# before 30%). Fast falls, clipping and noise are judged from the end of the warmup on;
# a run that states no warmup gets the first 10% of its steps as one.
EARLY_FRACTION = 0.25
WARMUP_FRACTION = 0.1


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


@dataclasses.dataclass
class DerivedValue:
    """A derived quantity's recent value (None when unknown, ``reason`` says why)."""

    value: Optional[float]
    stat: Stat
    reason: str = ""
    source: str = ""  # what the value was compared with, when that varies by run


class Context:
    """One run under diagnosis.

    Attributes:
      data: the RunData.
      dim: the embedding dimension D, or None.
      dim_source: where D came from: "manifest", "user" (given with the request, for a
        run whose manifest has none) or None.
      levels: hierarchy levels to judge per-level metrics at (manifest, else data,
        else [0] so that missing per-level metrics still show as unknown).
      levels_known: False when ``levels`` is the [0] fallback.
      shares: each level's share of the weighted loss (``shares.Shares``), computed here.
      derived: derived quantities by (key, level), as ``derived.value`` computes them.
      lights: (light dict, Verdict) by (key, level), as ``lights.light_of`` judges them.
    """

    def __init__(self, data: RunData, *, embed_dim: Optional[int] = None):
        self.data = data
        self.manifest = data.manifest
        self.dim = data.embed_dim or embed_dim
        self.dim_source = "manifest" if data.embed_dim else "user" if embed_dim else None
        self.dim_ignored = embed_dim if data.embed_dim and embed_dim else None
        known = data.levels()
        self.levels_known = bool(known)
        self.levels: List[int] = known or [0]
        # No teacher by design (the manifest says so): gradients reach the targets.
        self.without_teacher = self.manifest is not None and self.manifest.without_teacher
        self.shares = shares.compute(data, self.levels)
        self.derived: Dict[Tuple[str, Optional[int]], DerivedValue] = {}
        self.lights: Dict[Tuple[str, Optional[int]], tuple] = {}
        self._curves: Dict[Tuple[str, Optional[int]], Optional[Curve]] = {}
        self._stats: Dict[Tuple[str, Optional[int], str], Stat] = {}

    def series(self, key: str, level: Optional[int] = None) -> Optional[Series]:
        return self.data.get(key, level)

    def curve(self, key: str, level: Optional[int] = None) -> Optional[Curve]:
        """The cached Curve of a metric at a level; None when the run did not log it."""
        slot = (key, level)
        if slot not in self._curves:
            series = self.data.get(key, level)
            self._curves[slot] = Curve.of(series) if series is not None else None
        return self._curves[slot]

    def stat(self, key: str, level: Optional[int], statistic: str) -> Stat:
        """A statistic of a metric's curve (cached); the after-warmup and after-early
        statistics start where the warmup or early training ends, and a first-vs-recent
        comparison waits for the end of early training."""
        slot = (key, level, statistic)
        if slot not in self._stats:
            curve = self.curve(key, level)
            stat = statistics.compute(
                statistic,
                curve,
                warmup_end=self.warmup_end(curve),
                early_end=self.early_end(curve),
            )
            if statistic in schema.FIRST_VS_RECENT and stat.value is not None:
                end = self.early_end(curve)
                if end is not None and stat.end_step is not None and stat.end_step < end:
                    stat.value = None
                    stat.reason = (
                        "early training (until step %d): the first window is compared with "
                        "the recent one after it" % end
                    )
            self._stats[slot] = stat
        return self._stats[slot]

    def _planned_span(self, curve: Optional[Curve]) -> Optional[Tuple[int, int]]:
        """(first, last) step of the planned run, else of the curve; None without either."""
        if self.total_steps:
            return 0, self.total_steps
        if curve is None or curve.n == 0:
            return None
        return int(curve.steps[0]), int(curve.steps[-1])

    def warmup_end(self, curve: Optional[Curve]) -> Optional[int]:
        """The first step after the LR warmup: the manifest's, else the first 10% of the
        planned steps (or of the curve's)."""
        warmup = self.manifest.warmup_steps if self.manifest is not None else None
        if warmup:
            return warmup
        span = self._planned_span(curve)
        if span is None:
            return None
        return span[0] + int(math.ceil(WARMUP_FRACTION * (span[1] - span[0])))

    def early_end(self, curve: Optional[Curve]) -> Optional[int]:
        """The first step after early training: the warmup or the first quarter of the
        planned steps (or of the curve's), whichever is longer."""
        warmup = self.manifest.warmup_steps if self.manifest is not None else None
        span = self._planned_span(curve)
        if span is None:
            return warmup
        return max(warmup or 0, span[0] + int(math.ceil(EARLY_FRACTION * (span[1] - span[0]))))

    @property
    def progress(self) -> Optional[float]:
        """Last step / planned steps (None without a planned length)."""
        total, last = self.total_steps, self.data.last_step
        if not total or last is None:
            return None
        return min(1.0, last / total)

    def env(self, stat=None) -> BoundEnv:
        """What bounds may depend on (D and progress; min(N, D) is added per light).

        With ``stat``, progress is taken at the middle of its window: a median over points
        logged from step 0 to 100 stands for step 50, so a bound that rises with progress
        is not applied at a step the value does not describe (sparse logging, or a run
        judged as it was part-way)."""
        progress = self.progress
        total = self.total_steps
        if stat is not None and total and stat.start_step is not None:
            progress = min(1.0, 0.5 * (stat.start_step + stat.end_step) / total)
        return BoundEnv(dim=self.dim, progress=progress)

    def alias_note(self, key: str, level: Optional[int]) -> str:
        """The note of the alias a curve was read through ("" for the catalogue's own tag)."""
        series = self.data.get(key, level)
        if series is None:
            return ""
        resolved = catalog.resolve(series.tag, scoped=True)
        if resolved is None or resolved.alias is None:
            return ""
        return resolved.alias.note or "read through the alias %r of %s" % (
            resolved.alias.tag,
            resolved.alias.source,
        )

    def rows(self, level: Optional[int]) -> Tuple[Optional[float], str]:
        """N, the rows collapse statistics were computed on, and where it came from."""
        if level is not None:
            stat = self.stat("collapse.num_rows", level, "recent")
            if stat.value is not None and math.isfinite(stat.value) and stat.value > 0:
                return stat.value, "collapse.num_rows"
        if self.manifest is not None and self.manifest.collapse_rows:
            return float(self.manifest.collapse_rows), "the run manifest"
        return None, ""

    @property
    def total_steps(self) -> Optional[int]:
        return self.manifest.total_steps if self.manifest is not None else None
