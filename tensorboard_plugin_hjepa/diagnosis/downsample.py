"""Cheap downsampling of curves for sparklines and share-over-steps charts.

Bucket means over contiguous index ranges, NaN-aware, in O(n) with ``np.add.reduceat``:
a 100,000-point curve becomes 50 points in well under a millisecond.
"""

import math
from typing import List, Optional, Tuple

import numpy as np

SPARKLINE_POINTS = 50


def bucket_edges(n: int, buckets: int) -> np.ndarray:
    """Start index of each of ``min(n, buckets)`` contiguous, near-equal buckets."""
    buckets = max(1, min(n, buckets))
    return np.linspace(0, n, buckets + 1).astype(np.int64)[:-1]


def bucket_means(
    steps: np.ndarray, values: np.ndarray, buckets: int
) -> Tuple[np.ndarray, np.ndarray]:
    """(last step of each bucket, mean of its finite values; NaN where none is finite).

    ``values`` may be 1-D (n,) or 2-D (rows, n); buckets run along the last axis.
    """
    n = steps.size
    if n == 0:
        return steps[:0], values[..., :0]
    edges = bucket_edges(n, buckets)
    ends = np.append(edges[1:], n) - 1
    finite = np.isfinite(values)
    sums = np.add.reduceat(np.where(finite, values, 0.0), edges, axis=-1)
    counts = np.add.reduceat(finite.astype(np.int64), edges, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return steps[ends], means


def to_json_number(value) -> Optional[float]:
    """A Python float, or None for NaN/Inf/None (for charts: a gap)."""
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def sparkline(steps: np.ndarray, values: np.ndarray, points: int = SPARKLINE_POINTS) -> List[list]:
    """At most ``points`` [step, value] pairs (bucket means; None where a bucket is all NaN)."""
    if steps.size > points:
        steps, values = bucket_means(steps, values, points)
    return [[s, v if math.isfinite(v) else None] for s, v in zip(steps.tolist(), values.tolist())]
