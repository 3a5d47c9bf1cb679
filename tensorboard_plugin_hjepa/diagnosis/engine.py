"""The diagnosis of one run: ``diagnose(RunData) -> health dict`` and its summary.

Pure (numpy only, no I/O): the plugin's ``health`` and ``runs`` routes and the
terminal doctor call these two functions and show what they return. The output
follows ``http_api.md`` (``GET health``) and holds only JSON types (str, int, float,
bool, None, list, dict); non-finite floats appear only where a value is genuinely
infinite (a ratio to zero), never for "unknown", which is None.
"""

from typing import List, Optional

import numpy as np

from .. import metadata
from ..catalog import schema
from ..run_data import RunData
from . import actions, contributions, flowchart, lights, patterns, ranges
from .context import Context

WORST_LIGHTS = 3  # lights listed in a run's summary


def overall_status(judged: List[dict], branches: List[dict], found: List[dict]):
    """A run's overall status and the reason for it.

    The worst judged light decides, with two guards against a wrong ``healthy``:
    a firing flowchart branch or a detected pattern makes the run at least a
    ``warning`` (something is wrong even if no single light says so), and a run none
    of whose collapse lights could be judged is ``unknown`` rather than ``healthy``
    (the product cannot vouch for what it cannot see).

    Returns:
      (status, reason) with reason a short sentence for the user.
    """
    known = [light for light in judged if light["status"] != schema.UNKNOWN]
    worst = max(known, key=lambda light: schema.severity(light["status"])) if known else None
    status = worst["status"] if worst else schema.UNKNOWN
    if status in (schema.WARNING,) + schema.ALERTS:
        level = "" if worst["level"] is None else " (level %d)" % worst["level"]
        reason = "worst light: %s%s is %s" % (worst["key"], level, status)
    else:
        reason = "every judged light is healthy" if known else "no light could be judged"
    fired = [b["id"] for b in branches if b["fired"]] + [p["id"] for p in found if p["detected"]]
    if fired and schema.severity(status) < schema.severity(schema.WARNING):
        status = schema.WARNING
        reason = "no light is in alert, but the diagnosis fired: %s" % ", ".join(fired)
    if status == schema.HEALTHY:
        collapse = [light for light in judged if light["category"] == "collapse"]
        if collapse and all(light["status"] == schema.UNKNOWN for light in collapse):
            status = schema.UNKNOWN
            reason = (
                "collapse cannot be ruled out: no collapse light could be judged "
                "(missing data or embedding dimension)"
            )
    return status, reason


def _dim_note(ctx: Context):
    if ctx.dim_source == "user":
        return (
            "embedding dimension D=%d assumed (given by the user: the run %s); "
            "dimension-relative lights are judged at that D"
            % (
                ctx.dim,
                "manifest has no embed_dim" if ctx.manifest is not None else "has no manifest",
            )
        )
    if ctx.dim_ignored:
        return "the given D=%d is ignored: the run manifest says D=%d" % (ctx.dim_ignored, ctx.dim)
    if ctx.dim:
        return None
    return (
        "embedding dimension unknown (%s): dimension-relative lights (std * sqrt(D), "
        "erank / min(N, D)) are unknown, and dimension-dependent bounds use their floor"
        % (
            "the run manifest has no embed_dim"
            if ctx.manifest is not None
            else "the run has no manifest"
        )
    )


def _last_value(run_data: RunData, key: str) -> Optional[int]:
    """The last logged value of a once-in-a-while integer record (None when absent)."""
    series = run_data.get(key)
    if series is None or not len(series) or not np.isfinite(series.values[-1]):
        return None
    return int(series.values[-1])


def diagnose(run_data: RunData, *, embed_dim: Optional[int] = None) -> dict:
    """The full verdict of one run (http_api.md ``GET health``).

    Args:
      run_data: the run's curves and manifest.
      embed_dim: a D to assume for a run whose manifest gives none (``hjepa-doctor
        --embed-dim``, the tab's D control); the manifest's D always wins.

    Returns:
      A JSON-ready dict: run, source, status, status_reason, last_step, total_steps,
      progress, levels, embed_dim, dim_note, manifest, manifest_future, lights,
      contributions, flowchart, patterns, ranges, healthy_checkpoint_step (the step of the
      last checkpoint the trainer kept while the online verdict was healthy, or None),
      first_action (``actions.first_action``), notes (what the reader could not use:
      an unreadable manifest), tags.
    """
    ctx = Context(run_data, embed_dim=embed_dim)
    contribution = contributions.evaluate(ctx)
    light_list = lights.evaluate(ctx)
    range_result = ranges.evaluate(ctx)
    branch_list = flowchart.evaluate(ctx)
    pattern_list = patterns.evaluate(ctx)
    status, reason = overall_status(light_list + contribution["checks"], branch_list, pattern_list)
    manifest = run_data.manifest
    return {
        "run": run_data.run,
        "source": run_data.source.value
        if hasattr(run_data.source, "value")
        else str(run_data.source),
        "status": status,
        "status_reason": reason,
        "last_step": run_data.last_step,
        "total_steps": ctx.total_steps,
        "progress": range_result["progress"],
        "levels": list(ctx.levels) if ctx.levels_known else [],
        "embed_dim": ctx.dim,
        "embed_dim_source": ctx.dim_source,
        "dim_note": _dim_note(ctx),
        "manifest": manifest.to_dict() if manifest is not None else None,
        "manifest_future": bool(run_data.manifest_future),
        "lights": light_list,
        "contributions": contribution,
        "flowchart": branch_list,
        "patterns": pattern_list,
        "ranges": range_result,
        "healthy_checkpoint_step": _last_value(run_data, "health.healthy_checkpoint_step"),
        "first_action": actions.first_action(
            light_list + contribution["checks"], branch_list, pattern_list
        ),
        "notes": metadata.manifest_notes(run_data.manifest_future, run_data.manifest_error),
        "tags": run_data.tag_entries(),
    }


def summarize(health: dict) -> dict:
    """A run's entry of the ``runs`` route from its ``health`` dict.

    Returns:
      ``{"run", "source", "levels" (count or None), "embed_dim", "last_step", "status",
      "status_reason", "worst", "unknown_lights", "branches", "patterns"}``; ``worst``
      holds up to 3 lights of status warning or worse, worst first (``{"key", "level",
      "status"}``); ``unknown_lights`` counts the lights that could not be judged;
      ``branches`` and ``patterns`` are the ids of the firing flowchart branches and
      detected patterns.
    """
    alerts = [
        light
        for light in health["lights"] + health["contributions"]["checks"]
        if schema.severity(light["status"]) >= schema.severity(schema.WARNING)
    ]
    alerts.sort(key=lambda light: -schema.severity(light["status"]))  # stable: catalogue order kept
    return {
        "run": health["run"],
        "source": health["source"],
        "levels": len(health["levels"]) if health["levels"] else None,
        "embed_dim": health["embed_dim"],
        "last_step": health["last_step"],
        "status": health["status"],
        "status_reason": health.get("status_reason"),
        "unknown_lights": sum(1 for light in health["lights"] if light["status"] == schema.UNKNOWN),
        "worst": [
            {"key": light["key"], "level": light["level"], "status": light["status"]}
            for light in alerts[:WORST_LIGHTS]
        ],
        "branches": [b["id"] for b in health.get("flowchart") or [] if b["fired"]],
        "patterns": [p["id"] for p in health.get("patterns") or [] if p["detected"]],
    }
