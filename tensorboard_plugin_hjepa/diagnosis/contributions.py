"""Hierarchy contributions: each level's share of the weighted loss, against the config.

Share of level i = w_i*L_i / sum_j w_j*L_j (corrected reference §1: shares sum to 1).
Sources, in order of preference:
  1. the logged ``loss.contribution`` curves of every level (percent, as the reference
     logs them, or fractions: detected from their per-step sums);
  2. the ``loss.level`` curves times the manifest's hierarchy weights;
  3. for logs without a manifest, weights recovered from ``loss.total = sum_i w_i L_i``
     when that fit is exact (the upstream implementation logs both), else unknown.
Expected shares are w_i / sum_j w_j (None when the weights are unknown: said so); the
observed / configured ratios are shown. Each level's share is judged against its own
share in the first window after early training (pooled levels' losses are smaller by
construction, so a fixed share says nothing): the derived quantity is the smallest
recent / post-early-training ratio over the levels with a weight, judged with its
catalogue rule. A level with weight 0 is not trained, as configured: a note, never an
alert. Only runs with two or more levels have a hierarchy to balance.
"""

import math
from typing import List, Optional, Tuple

import numpy as np

from ..catalog import derived_metrics as derived_records
from ..catalog import schema
from . import lights, statistics
from .context import Context, DerivedValue
from .downsample import bucket_means, to_json_number
from .statistics import Stat

SHARE_POINTS = 200  # shares over steps are downsampled to at most this many steps
FIT_ROWS = 2000  # rows used to recover weights from loss.total
FIT_TOLERANCE = 1e-3  # relative RMS residual under which the recovered weights are trusted

SHARE_FALL = derived_records.CONTRIBUTION_FALL.key
GPU_FRACTION = derived_records.GPU_MEMORY_FRACTION.key


def _aligned(curves) -> Tuple[np.ndarray, List[np.ndarray]]:
    """(common steps, one value array per curve) on the steps all curves have."""
    steps = curves[0].steps
    if all(c.steps.size == steps.size and np.array_equal(c.steps, steps) for c in curves[1:]):
        return steps, [c.values for c in curves]
    common = steps
    for c in curves[1:]:
        common = np.intersect1d(common, c.steps, assume_unique=True)
    return common, [c.values[np.searchsorted(c.steps, common)] for c in curves]


def _share_matrix(parts: np.ndarray) -> np.ndarray:
    """Shares (L, T) of non-negative parts (L, T); NaN where a column does not sum to > 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        sums = np.sum(parts, axis=0)
        return np.where(sums > 0, parts / sums, np.nan)


def _fit_weights(ctx: Context, levels: List[int]) -> Tuple[Optional[List[float]], str]:
    """Weights from loss.total = sum_i w_i * loss.level_i, when the fit is exact."""
    total = ctx.series("loss.total")
    per_level = [ctx.series("loss.level", lvl) for lvl in levels]
    if total is None or any(s is None for s in per_level):
        return None, ""
    steps, rows = _aligned([total] + per_level)
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


def _parts(ctx: Context, levels: List[int], weights: Optional[List[float]]):
    """(steps, parts per level, source key, text): the quantities whose shares are taken.

    ``steps`` is None when shares cannot be computed (``text`` says why).
    """
    logged = [ctx.series("loss.contribution", lvl) for lvl in levels]
    if all(s is not None for s in logged):
        steps, rows = _aligned(logged)
        k = statistics.window_size(steps.size)
        with np.errstate(invalid="ignore"):
            sums = np.sum(np.vstack([r[steps.size - k :] for r in rows]), axis=0)
        sums = sums[np.isfinite(sums)]
        percent = sums.size > 0 and float(np.median(sums)) > 1.5
        unit = "percent (0-100)" if percent else "fractions (0-1)"
        return steps, rows, "loss.contribution", "logged contribution curves, read as %s" % unit
    losses = [ctx.series("loss.level", lvl) for lvl in levels]
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
    steps, rows = _aligned(losses)
    return (
        steps,
        [w * r for w, r in zip(weights, rows)],
        "loss.level",
        "computed from the level losses times the weights",
    )


def _window_shares(steps: np.ndarray, parts: List[np.ndarray], start: int, stop: int):
    """(per-level median share over steps[start:stop], its Stat); NaN where too few."""
    window = _share_matrix(np.vstack([p[start:stop] for p in parts]))  # (L, k)
    finite = np.isfinite(window)
    bad_columns = int(np.count_nonzero(~np.all(finite, axis=0)))
    stat = Stat(None, "recent", int(steps[start]), int(steps[stop - 1]), stop - start, bad_columns)
    medians = np.full(window.shape[0], np.nan)
    for i in range(window.shape[0]):
        good = window[i][finite[i]]
        if good.size >= min(statistics.MIN_WINDOW_POINTS, stop - start):
            medians[i] = float(np.median(good))
    return medians, stat


def _recent(steps: np.ndarray, parts: List[np.ndarray]) -> Tuple[np.ndarray, Stat]:
    """Per-level median share over the recent window (NaN where a level has too few)."""
    n = steps.size
    return _window_shares(steps, parts, n - statistics.window_size(n), n)


def _after_early(ctx: Context, steps: np.ndarray, parts: List[np.ndarray]):
    """Per-level median share over the first window after early training, or (None, why)."""
    end = ctx.early_end(statistics.Curve(steps, np.zeros(steps.size)))
    start = int(np.searchsorted(steps, end, side="left")) if end is not None else 0
    n = steps.size - start
    k = min(statistics.window_size(n), n // 2)
    if k < statistics.MIN_WINDOW_POINTS:
        return None, "too few steps after early training (until step %s) to compare" % end
    return _window_shares(steps, parts, start, start + k)[0], ""


def _gpu_fraction(ctx: Context) -> DerivedValue:
    stat = ctx.stat("performance.gpu_memory_reserved_gb", None, "recent")
    total = ctx.manifest.gpu_memory_total_gb if ctx.manifest is not None else None
    if stat.value is None:
        return DerivedValue(None, stat, stat.reason)
    if not total or not math.isfinite(total) or total <= 0:
        return DerivedValue(
            None,
            stat,
            "the device's total memory is unknown (the run manifest has no gpu_memory_total_gb)",
        )
    return DerivedValue(stat.value / total, stat)


def _share_fall(ctx: Context, steps, parts, weights, recent, stat) -> DerivedValue:
    """The smallest recent / post-early-training share over the levels with a weight."""
    if not np.all(np.isfinite(recent)):
        return DerivedValue(None, stat, "too few finite shares in the recent window")
    before, why = _after_early(ctx, steps, parts)
    if before is None:
        return DerivedValue(None, stat, why)
    weighted = [
        i for i in range(len(parts)) if (weights is None or weights[i] > 0) and before[i] > 0
    ]
    if not weighted:
        return DerivedValue(None, stat, "no level with a weight has a share to compare")
    falls = [float(recent[i]) / float(before[i]) for i in weighted]
    worst = int(np.argmin(falls))
    source = "level %d's share after early training, %.3g (now %.3g)" % (
        ctx.levels[weighted[worst]],
        before[weighted[worst]],
        recent[weighted[worst]],
    )
    return DerivedValue(falls[worst], stat, "", source)


def evaluate(ctx: Context) -> dict:
    """The ``contributions`` object of ``health``; the derived values it computes (the
    share against the configured share, the GPU memory fraction) go into ``ctx.derived``."""
    levels = list(ctx.levels)
    ctx.derived[(GPU_FRACTION, None)] = _gpu_fraction(ctx)
    weights, weights_source = None, None
    if ctx.manifest is not None and len(ctx.manifest.hierarchy_weights) == len(levels):
        weights, weights_source = list(ctx.manifest.hierarchy_weights), "the run manifest"
    elif len(levels) >= 2:
        weights, weights_source = _fit_weights(ctx, levels)
        weights_source = weights_source or None
    expected = None
    if weights is not None and sum(weights) > 0:
        expected = [w / sum(weights) for w in weights]
    out = {
        "levels": levels,
        "steps": [],
        "shares": [],
        "recent": None,
        "ratios": None,
        "weights": weights,
        "weights_source": weights_source,
        "expected": expected,
        "source": None,
        "status": schema.UNKNOWN,
        "checks": [],
        "note": None,
    }
    empty = Stat(None, "recent")
    if len(levels) < 2:
        out["note"] = "the run has %s: there is no hierarchy to balance" % (
            "one level" if ctx.levels_known else "no known levels"
        )
        return out
    notes = []
    if weights is None:
        notes.append(
            "hierarchy weights unknown (no run manifest): the shares cannot be compared "
            "with configured ones"
        )
    elif weights_source != "the run manifest":
        notes.append("weights " + weights_source)
    steps, parts, source, text = _parts(ctx, levels, weights)
    value = DerivedValue(None, empty, text)
    if steps is not None and steps.size:
        out["source"] = source
        notes.insert(0, text)
        # Shares over steps: shares of the bucket means of each level's part.
        buckets = [bucket_means(steps, p, SHARE_POINTS) for p in parts]
        spark = _share_matrix(np.vstack([means for _, means in buckets]))
        out["steps"] = [int(s) for s in buckets[0][0].tolist()]
        out["shares"] = [[to_json_number(v) for v in row] for row in spark.tolist()]
        recent, stat = _recent(steps, parts)
        out["recent"] = [to_json_number(v) for v in recent.tolist()]
        unweighted = [
            levels[i] for i in range(len(levels)) if weights is not None and weights[i] == 0
        ]
        if unweighted:
            notes.append(
                "level(s) %s have weight 0: not trained, as configured"
                % ", ".join(map(str, unweighted))
            )
        if expected is not None and np.all(np.isfinite(recent)):
            out["ratios"] = [
                to_json_number(float(recent[i]) / expected[i]) if weights[i] > 0 else None
                for i in range(len(levels))
            ]
        value = _share_fall(ctx, steps, parts, weights, recent, stat)
    elif steps is not None:
        notes.insert(0, "the level curves share no step")
        value = DerivedValue(None, empty, "the level curves share no step")
    else:
        notes = [text] + [n for n in notes if not n.startswith("hierarchy weights unknown")]
    ctx.derived[(SHARE_FALL, None)] = value
    out["checks"] = [lights.light_of(ctx, SHARE_FALL, None)[0]]
    statuses = [c["status"] for c in out["checks"] if c["status"] != schema.UNKNOWN]
    if statuses:
        out["status"] = max(statuses, key=schema.severity)
    out["note"] = "; ".join(notes) if notes else None
    return out
