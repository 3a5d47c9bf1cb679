"""The in-memory form of one run that the diagnosis engine judges.

The plugin and the doctor build a ``RunData`` from TensorBoard's data provider
(``data.py``); the diagnosis engine reads only this, never event files, so it is
pure and testable with synthetic curves.
"""

import dataclasses
from typing import Dict, List, Optional, Tuple

import numpy as np

from . import catalog
from .catalog import Source
from .metadata import RunManifest

SeriesKey = Tuple[str, Optional[int]]  # (catalogue metric key, level or None)


@dataclasses.dataclass
class Series:
    """One curve: parallel arrays sorted by step, one value per step.

    Attributes:
      tag: the concrete tag it was read from.
      steps: int64 array.  wall_times, values: float64 arrays (values may be NaN/Inf).
      exact: False when read through an alias whose convention differs from the
        catalogue's (see ``catalog.Alias.exact``).
    """

    tag: str
    steps: np.ndarray
    wall_times: np.ndarray
    values: np.ndarray
    exact: bool = True

    @classmethod
    def from_points(cls, tag, points, exact=True) -> "Series":
        """Build from (step, wall_time, value) triples in any order.

        A step logged twice (a resumed run that re-logged it) keeps the later write.
        """
        by_step = {}
        for step, wall_time, value in points:
            previous = by_step.get(int(step))
            if previous is None or wall_time >= previous[0]:
                by_step[int(step)] = (float(wall_time), float(value))
        steps = np.array(sorted(by_step), dtype=np.int64)
        wall = np.array([by_step[s][0] for s in steps], dtype=np.float64)
        vals = np.array([by_step[s][1] for s in steps], dtype=np.float64)
        return cls(tag=tag, steps=steps, wall_times=wall, values=vals, exact=exact)

    def __len__(self):
        return len(self.steps)


@dataclasses.dataclass
class RunData:
    """Everything known about one run.

    Attributes:
      run: the run name (as TensorBoard names it).
      source: which kind of trainer wrote it (Source.HJEPA / PLAIN / UPSTREAM).
      manifest: the run manifest, or None when the run has none (plain logs).
      manifest_future: the manifest was written by a newer plugin version.
      manifest_error: why the run's manifest tag could not be read (None when it was,
        or when there is none).
      series: curves by (metric key, level); level is None for non-per-level metrics.
    """

    run: str
    source: Source
    manifest: Optional[RunManifest] = None
    manifest_future: bool = False
    manifest_error: Optional[str] = None
    series: Dict[SeriesKey, Series] = dataclasses.field(default_factory=dict)

    def get(self, key: str, level: Optional[int] = None) -> Optional[Series]:
        return self.series.get((key, level))

    def levels(self) -> List[int]:
        """Levels present in the manifest, else those seen in per-level curves."""
        if self.manifest is not None:
            return list(range(self.manifest.num_levels))
        return sorted({lvl for (_, lvl) in self.series if lvl is not None})

    @property
    def embed_dim(self) -> Optional[int]:
        return self.manifest.embed_dim if self.manifest else None

    @property
    def last_step(self) -> Optional[int]:
        ends = [int(s.steps[-1]) for s in self.series.values() if len(s)]
        return max(ends) if ends else None

    def tag_entries(self) -> List[dict]:
        """The ``tags`` list of a health answer: every catalogue curve of the run, by tag."""
        out = []
        for (key, level), series in self.series.items():
            try:
                metric = catalog.get(key)
            except KeyError:
                continue
            resolved = catalog.resolve(series.tag, scoped=True)
            note = resolved.alias.note if resolved is not None and resolved.alias else ""
            out.append(
                {
                    "tag": series.tag,
                    "key": key,
                    "level": level,
                    "category": metric.category,
                    "points": len(series),
                    "exact": bool(series.exact),
                    "note": note,
                }
            )
        out.sort(key=lambda entry: (entry["tag"], entry["key"]))
        return out
