"""What one diagnosis knows about a run: its curves, D, N per level, and derived values.

A ``Context`` wraps a ``RunData`` for the duration of one ``diagnose`` call and caches
every statistic it computes, so the lights, the flowchart and the patterns that ask
for the same statistic of the same curve pay for it once.
"""

import dataclasses
import math
from typing import Dict, List, Optional, Tuple

from .. import catalog
from ..catalog import schema
from ..run_data import RunData, Series
from . import statistics
from .rules import BoundEnv
from .statistics import Curve, Stat

# Early training, which the after-warmup statistics leave out: the LR warmup or the
# first quarter of the planned run, whichever is longer (the rank falls from its
# random-init value and the loss makes its first fast drop there in healthy runs;
# the healthy tiny demo's rank halves between the end of its warmup, 10% of the run,
# and 30%). Without a planned length, the first quarter of the curve's steps.
EARLY_FRACTION = 0.25


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
      derived: derived quantities by (key, level) (the contributions step fills its own;
        ``derived.value`` computes and caches the others).
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
        self.derived: Dict[Tuple[str, Optional[int]], DerivedValue] = {}
        self.lights: Dict[
            Tuple[str, Optional[int]], tuple
        ] = {}  # (light, Verdict), lights.light_of
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
        """A statistic of a metric's curve (cached); after-warmup statistics start after it."""
        slot = (key, level, statistic)
        if slot not in self._stats:
            curve = self.curve(key, level)
            after = self.warmup_end(curve) if statistic in schema.AFTER_WARMUP else None
            self._stats[slot] = statistics.compute(statistic, curve, after_step=after)
        return self._stats[slot]

    def warmup_end(self, curve: Optional[Curve]) -> Optional[int]:
        """The first step after early training: the manifest's warmup or the first quarter
        of its planned steps, whichever is longer; without them, the first quarter of the
        curve's steps."""
        warmup = self.manifest.warmup_steps if self.manifest is not None else None
        total = self.total_steps
        if total:
            return max(warmup or 0, int(math.ceil(EARLY_FRACTION * total)))
        if curve is None or curve.n == 0:
            return warmup
        first, last = int(curve.steps[0]), int(curve.steps[-1])
        return max(warmup or 0, first + int(math.ceil(EARLY_FRACTION * (last - first))))

    @property
    def progress(self) -> Optional[float]:
        """Last step / planned steps (None without a planned length)."""
        total, last = self.total_steps, self.data.last_step
        if not total or last is None:
            return None
        return min(1.0, last / total)

    def env(self) -> BoundEnv:
        """What bounds may depend on (D and progress; min(N, D) is added per light)."""
        return BoundEnv(dim=self.dim, progress=self.progress)

    def alias_note(self, key: str, level: Optional[int]) -> str:
        """The note of the alias a curve was read through ("" for the catalogue's own tag)."""
        series = self.data.get(key, level)
        if series is None:
            return ""
        resolved = catalog.resolve(series.tag)
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
