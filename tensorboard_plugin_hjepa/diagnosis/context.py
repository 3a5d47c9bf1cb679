"""What one diagnosis knows about a run: its curves, D, N per level, and derived values.

A ``Context`` wraps a ``RunData`` for the duration of one ``diagnose`` call and caches
every statistic it computes, so the lights, the flowchart and the patterns that ask
for the same statistic of the same curve pay for it once.
"""

import dataclasses
import math
from typing import Dict, List, Optional, Tuple

from .. import catalog
from ..run_data import RunData, Series
from . import statistics
from .statistics import Curve, Stat


@dataclasses.dataclass
class DerivedValue:
    """A derived quantity's recent value (None when unknown, ``reason`` says why)."""

    value: Optional[float]
    stat: Stat
    reason: str = ""


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
      derived: derived quantities by key (filled by the contributions step).
    """

    def __init__(self, data: RunData, *, embed_dim: Optional[int] = None):
        self.data = data
        self.manifest = data.manifest
        self.dim = data.embed_dim or embed_dim
        self.dim_source = ("manifest" if data.embed_dim else "user" if embed_dim else None)
        self.dim_ignored = embed_dim if data.embed_dim and embed_dim else None
        known = data.levels()
        self.levels_known = bool(known)
        self.levels: List[int] = known or [0]
        self.derived: Dict[str, DerivedValue] = {}
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
        """A statistic of a metric's curve (cached)."""
        slot = (key, level, statistic)
        if slot not in self._stats:
            self._stats[slot] = statistics.compute(statistic, self.curve(key, level))
        return self._stats[slot]

    def alias_note(self, key: str, level: Optional[int]) -> str:
        """The note of the alias a curve was read through ("" for the catalogue's own tag)."""
        series = self.data.get(key, level)
        if series is None:
            return ""
        resolved = catalog.resolve(series.tag)
        if resolved is None or resolved.alias is None:
            return ""
        return resolved.alias.note or "read through the alias %r of %s" % (
            resolved.alias.tag, resolved.alias.source)

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
