"""The ranges section: reference §15 expected ranges, checked against training progress.

Progress = last step / the manifest's ``total_steps``. The reference gives ranges at
10%, 50% and 100% of training; the checkpoint nearest to the progress within
``MAX_DISTANCE`` is used. Ranges the catalogue marks not comparable (their numbers are
for another convention or hardware) are shown with their note, never judged.
"""

from typing import Optional

from .. import catalog
from .context import Context

MAX_DISTANCE = 0.15


def _checkpoints():
    return sorted({r.progress for m in catalog.metrics() for r in m.expected})


def evaluate(ctx: Context) -> dict:
    """The ``ranges`` object of ``health``."""
    last = ctx.data.last_step
    total = ctx.total_steps
    out = {
        "progress": None,
        "checkpoint": None,
        "checkpoints": _checkpoints(),
        "note": None,
        "checks": [],
    }
    if total is None:
        out["note"] = (
            "training progress unknown: the run has no manifest with total_steps, "
            "so the reference's ranges by progress cannot be placed"
        )
        return out
    if last is None:
        out["note"] = "the run has no data yet"
        return out
    progress = last / total
    out["progress"] = progress
    nearest: Optional[float] = min(
        out["checkpoints"], key=lambda p: abs(p - progress), default=None
    )
    if nearest is None or abs(nearest - progress) > MAX_DISTANCE:
        out["note"] = "progress %.0f%% is not within %.0f%% of a reference checkpoint (%s)" % (
            100 * progress,
            100 * MAX_DISTANCE,
            ", ".join("%.0f%%" % (100 * p) for p in out["checkpoints"]),
        )
        return out
    out["checkpoint"] = nearest
    for metric in catalog.metrics():
        for expected in metric.expected:
            if expected.progress != nearest:
                continue
            level = expected.level if metric.per_level else None
            if metric.per_level and level is None:
                level = 0
            series = ctx.series(metric.key, level)
            stat = ctx.stat(metric.key, level, "recent")
            note = expected.note
            in_range = None
            if series is None:
                note = "; ".join(filter(None, [note, "not logged"]))
            elif stat.value is None:
                note = "; ".join(filter(None, [note, stat.reason]))
            elif not series.exact:
                note = "; ".join(
                    filter(None, [note, ctx.alias_note(metric.key, level), "not judged"])
                )
            elif expected.comparable:
                in_range = expected.low <= stat.value <= expected.high
            out["checks"].append(
                {
                    "key": metric.key,
                    "tag": series.tag
                    if series is not None
                    else catalog.tag(metric.key, level=level),
                    "level": level,
                    "low": expected.low,
                    "high": expected.high,
                    "value": stat.value,
                    "in_range": in_range,
                    "comparable": expected.comparable,
                    "note": note,
                    "window": stat.window(),
                }
            )
    return out
