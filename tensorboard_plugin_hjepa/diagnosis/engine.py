"""The diagnosis of one run: ``diagnose(RunData) -> health dict``, and ``summarize``.

Pure (numpy only, no I/O): the plugin's ``health`` and ``runs`` routes and the
terminal doctor call ``diagnose`` and ``summarize`` and show what they return. The
output follows ``http_api.md`` (``GET health``) and holds only JSON types (str, int,
float, bool, None, list, dict); non-finite floats appear only where a value is genuinely
infinite (a ratio to zero), never for "unknown", which is None.

``diagnose`` reads as its answer is made: the context (the run's curves, D, levels,
shares), the ``SECTIONS`` (each reads only the context, so they may run in any order),
then what is concluded from them (the overall status, the first action, the coverage),
all put together by the one builder of the answer, ``answer.Answer``.
"""

from typing import Dict, List, Optional, Tuple

import numpy as np

from .. import catalog, metadata
from ..catalog import schema
from ..run_data import RunData
from . import actions, contributions, findings, lights, ranges
from .answer import Answer, summarize  # noqa: F401  (summarize: the runs entry, re-exported)
from .context import Context

# The sections of the answer, by field: each is a function of the context alone.
SECTIONS = (
    ("lights", lights.evaluate),
    ("contributions", contributions.evaluate),
    ("flowchart", findings.flowchart),
    ("patterns", findings.patterns),
    ("ranges", ranges.evaluate),
)
# Categories whose lights read nothing but the loss: JEPA losses are a proxy, and a loss
# alone cannot tell a healthy run from a collapsing one.
LOSS_CATEGORIES = ("loss", "contribution", "stability")
# A run that could judge fewer than this fraction of its lights gets a coverage note
# (the tags that would judge the rest, each with the line that logs it).
COVERAGE_NOTE_BELOW = 0.5


def overall_status(judged: List[dict], branches: List[dict], found: List[dict]):
    """A run's overall status and the reason for it.

    The worst judged light decides, with three guards against a wrong ``healthy``:
    a firing flowchart branch or a detected pattern makes the run at least a
    ``warning`` (something is wrong even if no single light says so); a run that could
    judge only its loss is ``unknown`` (a JEPA loss is a proxy: it cannot tell a healthy
    run from a collapsing one); and a run none of whose collapse lights could be judged
    is ``unknown`` rather than ``healthy`` (the product cannot vouch for what it cannot
    see).

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
    if (
        status == schema.HEALTHY
        and known
        and all(light["category"] in LOSS_CATEGORIES for light in known)
    ):
        status = schema.UNKNOWN
        reason = (
            "only the loss could be judged: a JEPA loss alone cannot tell a healthy run "
            "from a collapsing one; collapse cannot be ruled out: no collapse light could "
            "be judged"
        )
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


def coverage(ctx: Context, light_list: List[dict], convention: Optional[str]) -> dict:
    """How many lights could be judged, and the tags that would judge the rest.

    A light that is ``unknown`` because a metric it reads was not logged (its own, or for
    a derived quantity every metric it reads: ``catalog.inputs``) needs that metric's
    tag; every such light needs each of its missing tags, so their union is the smallest
    set that judges them all. Lights unknown for another reason (too few points yet, no
    D, an inexact alias, no teacher by design) are counted apart: a tag would not help.

    Returns:
      ``{"judged", "lights", "missing": [{"key", "level", "tag", "judges": [{"key",
      "level"}], "summary_api", "lightning", "call"}], "unknown_other": [{"key", "level",
      "explanation"}], "note"}``: ``missing`` most useful first (what judges a collapse
      light, then what judges the most lights); ``call`` is the line for the run's
      convention (``self.log`` for a Lightning codebase, else the summary API);
      ``note`` is the sentence also added to the answer's ``notes`` when fewer than half
      of the lights could be judged (else None).
    """
    present = set(ctx.data.series)
    order = {m.key: i for i, m in enumerate(catalog.metrics())}
    needs: Dict[Tuple[str, Optional[int]], List[dict]] = {}
    other = []
    judged = 0
    for light in light_list:
        key, level = light["key"], light["level"]
        if light["status"] != schema.UNKNOWN:
            judged += 1
            continue
        teacher_only = not key.startswith("derived.") and catalog.get(key).teacher_only
        missing = []
        if not (teacher_only and ctx.without_teacher):
            for input_key in catalog.inputs(key):
                input_level = (level or 0) if catalog.get(input_key).per_level else None
                if (input_key, input_level) not in present:
                    missing.append((input_key, input_level))
        if not missing:
            other.append({"key": key, "level": level, "explanation": light["explanation"]})
        for slot in missing:
            needs.setdefault(slot, []).append({"key": key, "level": level})
    lightning = catalog.logs_through_lightning(convention)
    collapse_keys = {light["key"] for light in light_list if light["category"] == "collapse"}

    def usefulness(item):  # what would judge a collapse light first, then the most lights
        (key, level), judges = item
        judges_collapse = any(j["key"] in collapse_keys for j in judges)
        return (not judges_collapse, -len(judges), order.get(key, 0), level or 0)

    items = []
    for (key, level), judges in sorted(needs.items(), key=usefulness):
        summary_api, lightning_call = catalog.write_calls(key, level)
        metric = catalog.get(key)
        items.append(
            {
                "key": key,
                "level": level,
                "tag": catalog.tag(
                    key,
                    level=level if metric.per_level else None,
                    group=0 if "{group}" in metric.tag else None,
                ),
                "judges": judges,
                "summary_api": summary_api,
                "lightning": lightning_call,
                "call": lightning_call if lightning else summary_api,
            }
        )
    note = None
    if items and judged < COVERAGE_NOTE_BELOW * len(light_list):
        unlocked = len({(j["key"], j["level"]) for item in items for j in item["judges"]})
        note = (
            "only %d of %d lights could be judged: %d tag%s the run does not log would judge "
            "%d more (%s): %s"
            % (
                judged,
                len(light_list),
                len(items),
                "" if len(items) == 1 else "s",
                unlocked,
                "the self.log line that writes each"
                if lightning
                else "the summary-API line that writes each",
                "; ".join("%s: %s" % (item["tag"], item["call"]) for item in items),
            )
        )
    return {
        "judged": judged,
        "lights": len(light_list),
        "missing": items,
        "unknown_other": other,
        "note": note,
    }


def convention_of(run_data: RunData) -> Optional[str]:
    """The naming convention of the run's curves (``catalog.convention_of``); None for the
    catalogue's own tags (summary API or plain reference tags)."""
    resolved = [catalog.resolve(series.tag, scoped=True) for series in run_data.series.values()]
    return catalog.convention_of(r for r in resolved if r is not None)


def diagnose(run_data: RunData, *, embed_dim: Optional[int] = None) -> dict:
    """The full verdict of one run (http_api.md ``GET health``).

    Args:
      run_data: the run's curves and manifest.
      embed_dim: a D to assume for a run whose manifest gives none (``hjepa-doctor
        --embed-dim``, the tab's D control); the manifest's D always wins.

    Returns:
      A JSON-ready dict, the fields of ``answer.Answer`` without ``reason`` and
      ``timeline``: run, source, convention (``convention_of``), status, status_reason,
      last_step, total_steps, progress, levels, embed_dim, embed_dim_source, dim_note,
      manifest, manifest_future, the sections (lights, contributions, flowchart,
      patterns, ranges), healthy_checkpoint_step (the step of the last checkpoint the
      trainer kept while the online verdict was healthy, or None), first_action
      (``actions.first_action``), notes (what the reader could not use: an unreadable
      manifest; and, for a run that judges fewer than half of its lights, the coverage
      note), tags, coverage (``coverage``).
    """
    ctx = Context(run_data, embed_dim=embed_dim)
    sections = {name: evaluate(ctx) for name, evaluate in SECTIONS}
    all_lights = sections["lights"] + sections["contributions"]["checks"]
    status, reason = overall_status(all_lights, sections["flowchart"], sections["patterns"])
    convention = convention_of(run_data)
    covered = coverage(ctx, sections["lights"], convention)
    notes = metadata.manifest_notes(run_data.manifest_future, run_data.manifest_error)
    if covered["note"]:
        notes = list(notes) + [covered["note"]]
        if status == schema.UNKNOWN:
            reason += "; %d tag%s the run does not log would judge the rest (see the note)" % (
                len(covered["missing"]),
                "" if len(covered["missing"]) == 1 else "s",
            )
    manifest = run_data.manifest
    return Answer(
        run=run_data.run,
        source=getattr(run_data.source, "value", str(run_data.source)),
        convention=convention,
        status=status,
        status_reason=reason,
        last_step=run_data.last_step,
        total_steps=ctx.total_steps,
        progress=sections["ranges"]["progress"],
        levels=list(ctx.levels) if ctx.levels_known else [],
        embed_dim=ctx.dim,
        embed_dim_source=ctx.dim_source,
        dim_note=_dim_note(ctx),
        manifest=manifest.to_dict() if manifest is not None else None,
        manifest_future=bool(run_data.manifest_future),
        healthy_checkpoint_step=_last_value(run_data, "health.healthy_checkpoint_step"),
        first_action=actions.first_action(all_lights, sections["flowchart"], sections["patterns"]),
        notes=notes,
        tags=run_data.tag_entries(),
        coverage=covered,
        **sections,
    ).to_json()
