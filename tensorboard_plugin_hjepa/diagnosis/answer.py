"""The health answer of one run (http_api.md ``GET health``) and its entry of ``runs``.

``Answer`` is the one builder of the answer, with every field in the answer's order:
the engine fills it with a verdict; ``unknown.unknown_health`` fills it for a run that
could not be read or judged (``reason`` says why), leaving the sections empty. So both
kinds have the same fields and a client reads them the same way. ``summarize`` makes a
run's entry of the ``runs`` answer from either kind.
"""

import dataclasses
from typing import List, Optional, Tuple

from ..catalog import schema

WORST_LIGHTS = 3  # lights named in a run's summary
# Fields an answer holds only when it has no verdict: why, and a timeline that is None
# (nothing was judged over time). A judged answer's timeline is added by whoever judges
# the run over time (the plugin's health service, hjepa-doctor).
WITHOUT_VERDICT_ONLY = ("reason", "timeline")


@dataclasses.dataclass
class Answer:
    """Every field of a health answer, in order; the defaults are "nothing judged".

    Attributes:
      run, source, convention: the run, its ``catalog.Source`` value, its tags' naming
        convention (None: the catalogue's own).
      status, status_reason: the overall status and why.
      reason: why there is no verdict (only in an answer without one).
      last_step, total_steps, progress: where the run is.
      levels, embed_dim, embed_dim_source, dim_note: the hierarchy and D, where D came
        from, and what an unknown or assumed D means for the lights.
      manifest, manifest_future: the run manifest as a dict, and whether a newer version
        wrote it.
      lights, contributions, flowchart, patterns, ranges: the sections.
      healthy_checkpoint_step: the last checkpoint kept while the online verdict was
        healthy.
      first_action: what to do first (``actions.first_action``).
      timeline: None in an answer without a verdict (see ``WITHOUT_VERDICT_ONLY``).
      notes: what the reader could not use (manifest notes, the coverage note).
      tags: every catalogue curve of the run.
      coverage: how many lights could be judged, and the tags that would judge the rest.
    """

    run: str
    source: Optional[str] = None
    convention: Optional[str] = None
    status: str = schema.UNKNOWN
    status_reason: Optional[str] = None
    reason: Optional[str] = None
    last_step: Optional[int] = None
    total_steps: Optional[int] = None
    progress: Optional[float] = None
    levels: List[int] = dataclasses.field(default_factory=list)
    embed_dim: Optional[int] = None
    embed_dim_source: Optional[str] = None
    dim_note: Optional[str] = None
    manifest: Optional[dict] = None
    manifest_future: bool = False
    lights: List[dict] = dataclasses.field(default_factory=list)
    contributions: Optional[dict] = None
    flowchart: List[dict] = dataclasses.field(default_factory=list)
    patterns: List[dict] = dataclasses.field(default_factory=list)
    ranges: Optional[dict] = None
    healthy_checkpoint_step: Optional[int] = None
    first_action: Optional[dict] = None
    timeline: Optional[dict] = None
    notes: List[str] = dataclasses.field(default_factory=list)
    tags: List[dict] = dataclasses.field(default_factory=list)
    coverage: Optional[dict] = None

    def to_json(self) -> dict:
        """The answer as JSON data: the values as given (the sections are JSON already;
        ``dataclasses.asdict`` would deep-copy them)."""
        return {name: getattr(self, name) for name in keys(judged=self.reason is None)}


def keys(*, judged: bool) -> Tuple[str, ...]:
    """The fields of a judged answer, or of an answer without a verdict, in order."""
    names = tuple(field.name for field in dataclasses.fields(Answer))
    if judged:
        return tuple(name for name in names if name not in WITHOUT_VERDICT_ONLY)
    return names


def summarize(health: dict) -> dict:
    """A run's entry of the ``runs`` route, from its health answer (judged or not).

    Returns:
      ``{"run", "source", "levels" (count or None), "embed_dim", "last_step", "status",
      "worst", ..., "embed_dim_source"}``; between them, for a judged answer,
      ``"convention", "status_reason", "unknown_lights", "judged_lights", "missing_tags",
      "branches", "patterns"``, and for an answer without a verdict ``"reason"`` and
      ``"status_reason"`` (both that reason). ``worst`` holds up to 3 lights of status
      warning or worse, worst first (``{"key", "level", "status"}``); ``unknown_lights``
      and ``judged_lights`` count the lights that could not and could be judged,
      ``missing_tags`` the tags that would judge the rest (``coverage``); ``branches``
      and ``patterns`` are the ids of the firing flowchart branches and detected
      patterns.
    """
    levels = health.get("levels")
    entry = {
        "run": health.get("run"),
        "source": health.get("source"),
        "levels": len(levels) if levels else None,
        "embed_dim": health.get("embed_dim"),
        "last_step": health.get("last_step"),
        "status": health.get("status", schema.UNKNOWN),
        "worst": [],
    }
    if health.get("reason"):  # no verdict: why, in both fields a client may read
        entry["reason"] = entry["status_reason"] = health["reason"]
    else:
        entry.update(_verdict_fields(health))
    # Where the D of the verdict came from ("user": the request's embed_dim).
    entry["embed_dim_source"] = health.get(
        "embed_dim_source", ("manifest" if entry["embed_dim"] else None)
    )
    return entry


def _verdict_fields(health: dict) -> dict:
    lights = health["lights"]
    alerts = [
        light
        for light in lights + health["contributions"]["checks"]
        if schema.severity(light["status"]) >= schema.severity(schema.WARNING)
    ]
    alerts.sort(key=lambda light: -schema.severity(light["status"]))  # stable: catalogue order kept
    return {
        "convention": health.get("convention"),
        "status_reason": health.get("status_reason"),
        "unknown_lights": sum(1 for light in lights if light["status"] == schema.UNKNOWN),
        "judged_lights": sum(1 for light in lights if light["status"] != schema.UNKNOWN),
        "missing_tags": len((health.get("coverage") or {}).get("missing") or []),
        "worst": [
            {"key": light["key"], "level": light["level"], "status": light["status"]}
            for light in alerts[:WORST_LIGHTS]
        ],
        "branches": [b["id"] for b in health.get("flowchart") or [] if b["fired"]],
        "patterns": [p["id"] for p in health.get("patterns") or [] if p["detected"]],
    }
