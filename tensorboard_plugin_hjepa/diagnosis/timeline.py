"""The verdict through a run: when it went wrong, and on which light first.

``build(run_data)`` judges prefixes of the run's curves (everything logged up to a step)
with the same ``diagnose`` as the verdict, at up to ``POINTS`` steps spread over the run:
the status at each, and for every light the first of those steps at which it left
healthy. A run whose trainer logged its online checks' statuses (``health.status``,
``hjepa-train``) shows those in the strip instead: what the checks said while it
trained, at their own steps; its prefixes are then judged at the checks' steps, so the
light named is the one the check saw. Pure, like the rest of the engine; the plugin
caches it with the verdict.
"""

import dataclasses
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..catalog import schema
from ..run_data import RunData
from .engine import diagnose

POINTS = 50  # prefixes judged per run: the strip's resolution and the cost (one verdict each)
STATUS_KEY = "health.status"  # the trainer's online verdicts, as status ranks
_BY_RANK = {schema.severity(s): s for s in schema.STATUSES}


def prefix(run_data: RunData, step: int) -> RunData:
    """The run as it was after ``step``: every curve cut at it."""
    series = {}
    for slot, s in run_data.series.items():
        end = int(np.searchsorted(s.steps, step, side="right"))
        if end:
            series[slot] = type(s)(
                tag=s.tag,
                steps=s.steps[:end],
                wall_times=s.wall_times[:end],
                values=s.values[:end],
                exact=s.exact,
            )
    return dataclasses.replace(run_data, series=series)


def judged_steps(run_data: RunData, points: int = POINTS) -> List[int]:
    """Up to ``points`` steps spread over the run's logged steps, its last one included."""
    steps = np.unique(np.concatenate([s.steps for s in run_data.series.values()] or [[]]))
    if steps.size == 0:
        return []
    picks = np.unique(np.linspace(0, steps.size - 1, min(points, steps.size)).round())
    return [int(steps[int(i)]) for i in picks]


def _logged(run_data: RunData) -> Optional[List[dict]]:
    series = run_data.get(STATUS_KEY)
    if series is None or not len(series):
        return None
    out = []
    for step, value in zip(series.steps, series.values):
        if np.isfinite(value) and int(value) in _BY_RANK:
            out.append({"step": int(step), "status": _BY_RANK[int(value)]})
    return out or None


def _steps_to_judge(run_data: RunData, logged: Optional[List[dict]], points: int) -> List[int]:
    """Where to judge prefixes for the lights' first steps: spread over the run, or, when
    the online checks' statuses were logged, at up to ``points`` of their steps and at
    their first warning or worse (a check's verdict is that of the curves logged up to
    it, so a light is named at the check that first saw it)."""
    if not logged:
        return judged_steps(run_data, points)
    picks = np.unique(np.linspace(0, len(logged) - 1, min(points, len(logged))).round())
    steps = {logged[int(i)]["step"] for i in picks}
    warning = schema.severity(schema.WARNING)
    first_problem = next((p["step"] for p in logged if _rank(p) >= warning), None)
    if first_problem is not None:
        steps.add(first_problem)
    return sorted(steps)


def _rank(item: dict) -> int:
    return schema.severity(item["status"])


def _items(health: dict) -> List[dict]:
    return list(health["lights"]) + list(health["contributions"]["checks"])


def build(run_data: RunData, *, embed_dim: Optional[int] = None, points: int = POINTS) -> dict:
    """The timeline of one run (http_api.md ``health.timeline``).

    Returns:
      ``{"points": [{"step", "status"}], "source": "online checks" | "judged",
      "healthy_until": the last step of the first healthy stretch before the first
      warning or worse (None when there is none), "first_problem": {"step", "status",
      "key", "level", "name"} of that first warning or worse (what went first: the worst
      light that left healthy there, else a firing branch or detected pattern, whose
      ``name`` is its question or name; None when the run never left healthy),
      "lights": [{"key", "level", "step", "judged_step", "status"}] for each light that
      left healthy: the first judged step at which it had (``judged_step``) and the step
      of the last point of its curve it judged then (``step``, where charts mark it),
      earliest first, "summary": ``sentence`` of it}``.
    """
    logged = _logged(run_data)
    judged: List[dict] = []
    first_left: Dict[Tuple[str, Optional[int]], dict] = {}  # lights
    first_fired: Dict[str, dict] = {}  # branches and patterns: what fires without a light
    last_check = logged[-1]["step"] if logged else None
    for step in _steps_to_judge(run_data, logged, points):
        # The trainer's last check runs after its last evaluation, which is logged one
        # step later ("after N steps"): that check saw it.
        cut = step + 1 if step == last_check and run_data.last_step == step + 1 else step
        health = diagnose(prefix(run_data, cut), embed_dim=embed_dim)
        judged.append({"step": step, "status": health["status"]})
        for item in _items(health):
            slot = (item["key"], item.get("level"))
            if slot not in first_left and _rank(item) >= schema.severity(schema.WARNING):
                first_left[slot] = {
                    "key": item["key"],
                    "level": item.get("level"),
                    "step": _last_point(item, step),
                    "judged_step": step,
                    "status": item["status"],
                }
        for kind, items, flag, name in (
            ("branch", health["flowchart"], "fired", "question"),
            ("pattern", health["patterns"], "detected", "name"),
        ):
            for item in items:
                key = "%s %s" % (kind, item["id"])
                if item.get(flag) and key not in first_fired:
                    first_fired[key] = {"key": key, "name": item[name], "judged_step": step}
    strip = logged or judged
    healthy_until, first_problem = None, None
    for i, point in enumerate(strip):
        if schema.severity(point["status"]) >= schema.severity(schema.WARNING):
            if i and strip[i - 1]["status"] == schema.HEALTHY:
                healthy_until = strip[i - 1]["step"]
            first_problem = {"step": point["step"], "status": point["status"]}
            if i:  # what the strip said just before (healthy, or unknown early on)
                first_problem["after"] = dict(strip[i - 1])
            break
    if first_problem is not None:
        first_problem.update(_what_went_first(first_left, first_fired, first_problem["step"]))
    timeline = {
        "points": strip,
        "source": "online checks" if logged else "judged",
        "healthy_until": healthy_until,
        "first_problem": first_problem,
        "lights": sorted(first_left.values(), key=lambda x: (x["judged_step"], x["key"])),
    }
    timeline["summary"] = sentence(timeline)
    return timeline


def _last_point(item: dict, judged: int) -> int:
    """The step of the last point the light judged (its curve may be logged more sparsely
    than the judged steps): where a chart marks it."""
    end = (item.get("window") or {}).get("end_step")
    return int(end) if isinstance(end, (int, np.integer)) and end <= judged else judged


def _what_went_first(first_left, first_fired, step: int) -> dict:
    """key, level and name of the worst light that left healthy at the first judged step
    at or after ``step`` (else a branch or pattern that started firing there)."""
    candidates = sorted(first_left.values(), key=lambda x: (x["judged_step"], -_rank(x)))
    candidates += sorted(first_fired.values(), key=lambda x: x["judged_step"])
    later = [x for x in candidates if x["judged_step"] >= step]
    if later:
        when = min(x["judged_step"] for x in later)
        first = next(x for x in later if x["judged_step"] == when)
    elif candidates:
        first = candidates[0]
    else:
        return {"key": None, "level": None, "name": None}
    return {"key": first["key"], "level": first.get("level"), "name": first.get("name")}


def sentence(timeline: Optional[dict]) -> Optional[str]:
    """'healthy until step S, then <status> at step T from <light>' (or 'unknown until'
    while the curves were too short to judge; None without a timeline)."""
    if not timeline or not timeline.get("points"):
        return None
    problem = timeline.get("first_problem")
    if problem is None:
        return "no warning or worse at any judged step"
    what = problem.get("name") or problem.get("key") or "the overall status"
    kind = (problem.get("key") or "").split(" ")[0]
    if kind in ("branch", "pattern"):  # what fires without a light: say which it is
        what = "the %s %r" % ("flowchart branch" if kind == "branch" else "pattern", what)
    if problem.get("level") is not None:
        what += " (level %d)" % problem["level"]
    before = problem.get("after")
    if before is None:  # not healthy from the first judged step on
        return "%s from the first judged step (%d) on, from %s" % (
            problem["status"],
            problem["step"],
            what,
        )
    return "%s until step %d, then %s at step %d from %s" % (
        before["status"],
        before["step"],
        problem["status"],
        problem["step"],
        what,
    )
