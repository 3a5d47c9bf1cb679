"""The diagnosis of one run: ``diagnose(RunData) -> health dict`` and its summary.

Pure (numpy only, no I/O): the plugin's ``health`` and ``runs`` routes and the
terminal doctor call these two functions and show what they return. The output
follows ``http_api.md`` (``GET health``) and holds only JSON types (str, int, float,
bool, None, list, dict); non-finite floats appear only where a value is genuinely
infinite (a ratio to zero), never for "unknown", which is None.
"""

from typing import List

from .. import catalog
from ..catalog import schema
from ..run_data import RunData
from . import contributions, flowchart, lights, patterns, ranges
from .context import Context

WORST_LIGHTS = 3  # lights listed in a run's summary


def _rank(status: str) -> int:
    return schema.STATUSES.index(status)


def overall_status(judged: List[dict]) -> str:
    """The worst status of these lights; ``unknown`` when none could be judged."""
    statuses = [light["status"] for light in judged if light["status"] != schema.UNKNOWN]
    return max(statuses, key=_rank) if statuses else schema.UNKNOWN


def _tags(data: RunData) -> List[dict]:
    out = []
    for (key, level), series in data.series.items():
        try:
            metric = catalog.get(key)
        except KeyError:
            continue
        resolved = catalog.resolve(series.tag)
        note = resolved.alias.note if resolved is not None and resolved.alias else ""
        out.append({"tag": series.tag, "key": key, "level": level, "category": metric.category,
                    "points": len(series), "exact": bool(series.exact), "note": note})
    out.sort(key=lambda t: t["tag"])
    return out


def _dim_note(ctx: Context):
    if ctx.dim:
        return None
    return ("embedding dimension unknown (%s): dimension-relative lights (std * sqrt(D), "
            "erank / min(N, D)) are unknown, and dimension-dependent bounds use their floor"
            % ("the run manifest has no embed_dim" if ctx.manifest is not None
               else "the run has no manifest"))


def diagnose(run_data: RunData) -> dict:
    """The full verdict of one run (http_api.md ``GET health``).

    Args:
      run_data: the run's curves and manifest.

    Returns:
      A JSON-ready dict: run, source, status, last_step, total_steps, progress, levels,
      embed_dim, dim_note, manifest, manifest_future, lights, contributions, flowchart,
      patterns, ranges, tags.
    """
    ctx = Context(run_data)
    contribution, derived = contributions.evaluate(ctx)
    ctx.derived.update(derived)
    light_list = lights.evaluate(ctx)
    range_result = ranges.evaluate(ctx)
    manifest = run_data.manifest
    return {
        "run": run_data.run,
        "source": run_data.source.value if hasattr(run_data.source, "value")
        else str(run_data.source),
        "status": overall_status(light_list + contribution["checks"]),
        "last_step": run_data.last_step,
        "total_steps": ctx.total_steps,
        "progress": range_result["progress"],
        "levels": list(ctx.levels) if ctx.levels_known else [],
        "embed_dim": ctx.dim,
        "dim_note": _dim_note(ctx),
        "manifest": manifest.to_dict() if manifest is not None else None,
        "manifest_future": bool(run_data.manifest_future),
        "lights": light_list,
        "contributions": contribution,
        "flowchart": flowchart.evaluate(ctx),
        "patterns": patterns.evaluate(ctx),
        "ranges": range_result,
        "tags": _tags(run_data),
    }


def summarize(health: dict) -> dict:
    """A run's entry of the ``runs`` route from its ``health`` dict.

    Returns:
      ``{"run", "source", "levels" (count or None), "embed_dim", "last_step", "status",
      "worst", "branches", "patterns"}``; ``worst`` holds up to 3 lights of status
      warning or worse, worst first (``{"key", "level", "status"}``); ``branches`` and
      ``patterns`` are the ids of the firing flowchart branches and detected patterns
      (reported beside the status, which they do not change).
    """
    alerts = [light for light in health["lights"] + health["contributions"]["checks"]
              if _rank(light["status"]) >= _rank(schema.WARNING)]
    alerts.sort(key=lambda light: -_rank(light["status"]))  # stable: catalogue order kept
    return {
        "run": health["run"], "source": health["source"],
        "levels": len(health["levels"]) if health["levels"] else None,
        "embed_dim": health["embed_dim"], "last_step": health["last_step"],
        "status": health["status"],
        "worst": [{"key": light["key"], "level": light["level"], "status": light["status"]}
                  for light in alerts[:WORST_LIGHTS]],
        "branches": [b["id"] for b in health.get("flowchart") or [] if b["fired"]],
        "patterns": [p["id"] for p in health.get("patterns") or [] if p["detected"]],
    }
