"""Each level's share of the weighted loss over steps, from a run's curves.

Share of level i = w_i*L_i / sum_j w_j*L_j (corrected reference §1: shares sum to 1).
Sources, in order of preference:
  1. the logged ``loss.contribution`` curves of every level (percent, as the reference
     logs them, or fractions: detected from their per-step sums);
  2. the ``loss.level`` curves times the manifest's hierarchy weights;
  3. for logs without a manifest, weights recovered from ``loss.total = sum_i w_i L_i``
     when that fit is exact (the upstream implementation logs both), else unknown.
Expected shares are w_i / sum_j w_j (None when the weights are unknown).

Data only, no verdict: ``Context`` computes the shares once, up front; the contributions
section shows them and ``derived`` judges how far a level's share fell.
"""

import dataclasses
from typing import List, Optional, Tuple

import numpy as np

from ..run_data import RunData
from . import statistics
from .statistics import Stat

FIT_ROWS = 2000  # rows used to recover weights from loss.total
FIT_TOLERANCE = 1e-3  # relative RMS residual under which the recovered weights are trusted
MANIFEST = "the run manifest"  # ``weights_source`` of the configured weights


@dataclasses.dataclass
class Shares:
    """The hierarchy's shares of one run.

    Attributes:
      weights: the hierarchy weights (the manifest's, else recovered from loss.total for
        two or more levels), or None when unknown.
      weights_source: where they came from (``MANIFEST`` or the fit, in words), or None.
      expected: the configured shares w_i / sum_j w_j, or None.
      steps: the steps every level's part was logged at, or None when the shares cannot
        be computed (``text`` says why) or the run has fewer than two levels.
      parts: per level, the quantity whose shares are taken, on ``steps``.
      source: the key the parts come from ("loss.contribution" or "loss.level").
      text: how the parts were obtained, or why they could not be.
      recent: per level, the median share over the recent window (NaN where too few).
      stat: the recent window.
    """

    weights: Optional[List[float]] = None
    weights_source: Optional[str] = None
    expected: Optional[List[float]] = None
    steps: Optional[np.ndarray] = None
    parts: Optional[List[np.ndarray]] = None
    source: str = ""
    text: str = ""
    recent: Optional[np.ndarray] = None
    stat: Stat = dataclasses.field(default_factory=lambda: Stat(None, "recent"))


def aligned(curves) -> Tuple[np.ndarray, List[np.ndarray]]:
    """(common steps, one value array per curve) on the steps all curves have."""
    steps = curves[0].steps
    if all(c.steps.size == steps.size and np.array_equal(c.steps, steps) for c in curves[1:]):
        return steps, [c.values for c in curves]
    common = steps
    for c in curves[1:]:
        common = np.intersect1d(common, c.steps, assume_unique=True)
    return common, [c.values[np.searchsorted(c.steps, common)] for c in curves]


def share_matrix(parts: np.ndarray) -> np.ndarray:
    """Shares (L, T) of non-negative parts (L, T); NaN where a column does not sum to > 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        sums = np.sum(parts, axis=0)
        return np.where(sums > 0, parts / sums, np.nan)


def _fit_weights(data: RunData, levels: List[int]) -> Tuple[Optional[List[float]], str]:
    """Weights from loss.total = sum_i w_i * loss.level_i, when the fit is exact."""
    total = data.get("loss.total")
    per_level = [data.get("loss.level", lvl) for lvl in levels]
    if total is None or any(s is None for s in per_level):
        return None, ""
    steps, rows = aligned([total] + per_level)
    matrix = np.vstack(rows)
    ok = np.all(np.isfinite(matrix), axis=0)
    matrix = matrix[:, ok]
    if matrix.shape[1] < 2 * len(levels) + 2:
        return None, ""
    if matrix.shape[1] > FIT_ROWS:
        matrix = matrix[:, np.linspace(0, matrix.shape[1] - 1, FIT_ROWS).astype(np.int64)]
    y, x = matrix[0], matrix[1:].T  # (T,), (T, L)
    if np.linalg.cond(x) > 1e6:
        return None, ""
    w, *_ = np.linalg.lstsq(x, y, rcond=None)
    scale = float(np.sqrt(np.mean(y * y)))
    residual = float(np.sqrt(np.mean((x @ w - y) ** 2)))
    if scale == 0 or residual > FIT_TOLERANCE * scale or np.any(w < -1e-6 * np.max(np.abs(w))):
        return None, ""
    weights = [max(0.0, float(v)) for v in w]
    if sum(weights) <= 0:
        return None, ""
    return weights, (
        "inferred from loss.total = sum_i w_i * loss.level_i (relative fit error "
        "%.1g); the run has no manifest" % (residual / scale)
    )


def _parts(data: RunData, levels: List[int], weights: Optional[List[float]]):
    """(steps, parts per level, source key, text): the quantities whose shares are taken.

    ``steps`` is None when shares cannot be computed (``text`` says why).
    """
    logged = [data.get("loss.contribution", lvl) for lvl in levels]
    if all(s is not None for s in logged):
        steps, rows = aligned(logged)
        k = statistics.window_size(steps.size)
        with np.errstate(invalid="ignore"):
            sums = np.sum(np.vstack([r[steps.size - k :] for r in rows]), axis=0)
        sums = sums[np.isfinite(sums)]
        percent = sums.size > 0 and float(np.median(sums)) > 1.5
        unit = "percent (0-100)" if percent else "fractions (0-1)"
        return steps, rows, "loss.contribution", "logged contribution curves, read as %s" % unit
    losses = [data.get("loss.level", lvl) for lvl in levels]
    missing = [lvl for lvl, s in zip(levels, losses) if s is None]
    if missing:
        return (
            None,
            None,
            "",
            (
                "no contribution curves and no level loss for level(s) %s: "
                "shares cannot be computed" % ", ".join(map(str, missing))
            ),
        )
    if weights is None:
        return (
            None,
            None,
            "",
            (
                "no contribution curves and the hierarchy weights are unknown "
                "(no run manifest, and loss.total is not an exact weighted sum "
                "of the level losses): shares cannot be computed"
            ),
        )
    steps, rows = aligned(losses)
    return (
        steps,
        [w * r for w, r in zip(weights, rows)],
        "loss.level",
        "computed from the level losses times the weights",
    )


def window_shares(steps: np.ndarray, parts: List[np.ndarray], start: int, stop: int):
    """(per-level median share over steps[start:stop], its Stat); NaN where too few."""
    window = share_matrix(np.vstack([p[start:stop] for p in parts]))  # (L, k)
    finite = np.isfinite(window)
    bad_columns = int(np.count_nonzero(~np.all(finite, axis=0)))
    stat = Stat(None, "recent", int(steps[start]), int(steps[stop - 1]), stop - start, bad_columns)
    medians = np.full(window.shape[0], np.nan)
    for i in range(window.shape[0]):
        good = window[i][finite[i]]
        if good.size >= min(statistics.MIN_WINDOW_POINTS, stop - start):
            medians[i] = float(np.median(good))
    return medians, stat


def compute(data: RunData, levels: List[int]) -> Shares:
    """The shares of a run judged at ``levels`` (only two or more levels have shares)."""
    manifest = data.manifest
    out = Shares()
    if manifest is not None and len(manifest.hierarchy_weights) == len(levels):
        out.weights, out.weights_source = list(manifest.hierarchy_weights), MANIFEST
    elif len(levels) >= 2:
        out.weights, source = _fit_weights(data, levels)
        out.weights_source = source or None
    if out.weights is not None and sum(out.weights) > 0:
        out.expected = [w / sum(out.weights) for w in out.weights]
    if len(levels) < 2:
        return out
    out.steps, out.parts, out.source, out.text = _parts(data, levels, out.weights)
    if out.steps is not None and out.steps.size:
        n = out.steps.size
        out.recent, out.stat = window_shares(out.steps, out.parts, n - statistics.window_size(n), n)
    return out
