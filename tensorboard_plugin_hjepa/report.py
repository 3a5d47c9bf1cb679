"""The report ``hjepa-doctor`` prints: a run's health answer as lines of text.

Pure formatting of what the diagnosis answered (``diagnosis.diagnose``, the ``health``
route's JSON) for a terminal: no reading, no judging, no exit status (``doctor.py``,
the command, does those). ``print_summary`` is the default report of a run,
``print_health`` the ``--verbose`` one, ``print_runs`` either for every run with the
closing count, ``write_json`` the ``--json`` form, ``change_line`` the line ``--watch``
prints for a run that changed, and ``print_catalog`` the ``catalog`` table.
"""

import json
from typing import Dict, Iterable, List, Optional, TextIO

from . import catalog
from .catalog import schema
from .catalog.describe import rule_summary
from .formatting import fmt

_COLOURS = {
    schema.HEALTHY: "\033[32m",  # green
    schema.WARNING: "\033[33m",  # yellow
    schema.COLLAPSE: "\033[31;1m",  # bold red
    schema.CRITICAL: "\033[31;1m",
    schema.UNKNOWN: "\033[90m",  # grey
}
_RESET = "\033[0m"
_BOLD = "\033[1m"


def _percent(value) -> str:
    return "-" if value is None else "%.1f%%" % (100.0 * value)


class Printer:
    """Writes the readable report; colours status words only when asked to."""

    def __init__(self, out: TextIO, colour: bool):
        self.out = out
        self.colour = colour

    def line(self, text: str = "", indent: int = 0) -> None:
        self.out.write("  " * indent + text + "\n")

    def status(self, status: str, width: int = 8) -> str:
        word = status.upper().ljust(width)
        if not self.colour:
            return word
        return _COLOURS.get(status, "") + word + _RESET

    def bold(self, text: str) -> str:
        return _BOLD + text + _RESET if self.colour else text


def _light_value(light: dict) -> str:
    window = light.get("window") or {}
    statistic = window.get("statistic")
    if light["value"] is None:
        return "-"
    if statistic == "non_finite":
        return "%s non-finite of %s" % (fmt(light["value"]), fmt(window.get("points")))
    text = fmt(light["value"])
    if light.get("normalise") not in (None, "none") and light.get("judged_value") is not None:
        text += " (judged %s)" % fmt(light["judged_value"])
    if statistic and statistic != "recent":
        text += " [%s]" % statistic
    return text


def _print_lights(p: Printer, health: dict) -> None:
    lights = health["lights"]
    groups: Dict[Optional[int], List[dict]] = {}
    for light in lights:
        groups.setdefault(light["level"], []).append(light)
    width = max([len(light["key"]) for light in lights] + [10])
    p.line(p.bold("Lights"), 1)
    for level in sorted(groups, key=lambda lvl: (lvl is not None, lvl or 0)):
        p.line("run-wide:" if level is None else "level %d:" % level, 2)
        for light in groups[level]:
            p.line(
                "%s %s  %-24s %s"
                % (
                    p.status(light["status"]),
                    light["key"].ljust(width),
                    _light_value(light),
                    light["explanation"],
                ),
                3,
            )
            for note in light.get("notes") or []:
                p.line("note: %s" % note, 5)


def _print_contributions(p: Printer, health: dict) -> None:
    contrib = health.get("contributions")
    if not contrib:
        return
    p.line(p.bold("Hierarchy contributions") + "  %s" % p.status(contrib["status"]).rstrip(), 1)
    if contrib.get("note"):
        p.line(contrib["note"], 2)
    recent = contrib.get("recent")
    expected = contrib.get("expected")
    if recent:
        for i, level in enumerate(contrib["levels"]):
            p.line(
                "level %d: %8s of the loss   expected %s"
                % (
                    level,
                    _percent(recent[i]),
                    _percent(expected[i]) if expected else "unknown (weights unknown)",
                ),
                2,
            )
    for check in contrib.get("checks") or []:
        p.line(
            "%s %s = %s  %s"
            % (p.status(check["status"]), check["key"], fmt(check["value"]), check["explanation"]),
            2,
        )


def _check_word(fired) -> str:
    return {True: "FIRED", False: "no", None: "unknown"}[fired]


def _print_flowchart(p: Printer, health: dict) -> None:
    fired = [b for b in health.get("flowchart") or [] if b["fired"]]
    p.line(
        p.bold("Flowchart (reference §11)")
        + ": %s" % (", ".join(b["question"] for b in fired) if fired else "no branch fires"),
        1,
    )
    for branch in fired:
        p.line("! %s" % branch["question"], 2)
        for trigger in branch["triggers"]:
            if trigger["fired"]:
                p.line("because %s: %s" % (trigger["text"], trigger["detail"]), 3)
        for check in branch["checks"]:
            p.line(
                "check [%s] %s: %s" % (_check_word(check["fired"]), check["text"], check["detail"]),
                3,
            )
        p.line("actions: %s" % "; ".join(branch["actions"]), 3)


def _print_patterns(p: Printer, health: dict) -> None:
    found = [x for x in health.get("patterns") or [] if x["detected"]]
    p.line(
        p.bold("Patterns (reference §16)")
        + ": %s" % (", ".join(x["name"] for x in found) if found else "none detected"),
        1,
    )
    for pattern in found:
        p.line("* %s" % pattern["name"], 2)
        p.line("likely cause: %s" % pattern["likely_cause"], 3)
        p.line("fix: %s" % pattern["fix"], 3)
        for check in pattern["symptoms"] + pattern.get("any_symptoms", []):
            if check["fired"]:
                p.line("symptom: %s (%s)" % (check["text"], check["detail"]), 3)
        for check in pattern["evidence"]:
            p.line(
                "evidence [%s] %s: %s"
                % (_check_word(check["fired"]), check["text"], check["detail"]),
                3,
            )


def _print_ranges(p: Printer, health: dict) -> None:
    ranges = health.get("ranges")
    if not ranges:
        return
    if ranges.get("checkpoint") is None:
        p.line(p.bold("Expected ranges (reference §15)") + ": %s" % (ranges.get("note") or "-"), 1)
        return
    p.line(
        p.bold("Expected ranges (reference §15)")
        + " at %.0f%% of training (progress %.0f%%)"
        % (100 * ranges["checkpoint"], 100 * ranges["progress"]),
        1,
    )
    for check in ranges["checks"]:
        verdict = {True: "in range", False: "OUT OF RANGE", None: "not judged"}[check["in_range"]]
        where = "" if check["level"] is None else " level %d" % check["level"]
        p.line(
            "%-12s %s%s = %s, expected %s-%s%s"
            % (
                verdict,
                check["key"],
                where,
                fmt(check["value"]),
                fmt(check["low"]),
                fmt(check["high"]),
                ("  (%s)" % check["note"]) if check.get("note") else "",
            ),
            2,
        )


def _print_header(p: Printer, health: dict) -> None:
    """The run's first line: status, name, source, levels, D (and where it came from),
    last step and progress."""
    progress = health.get("progress")
    header = "%s  %s" % (p.status(health["status"]).rstrip(), p.bold("run %r" % health["run"]))
    dim = "D=%s" % (health["embed_dim"] if health.get("embed_dim") else "unknown")
    if health.get("embed_dim") and health.get("embed_dim_source") == "user":
        dim += " (assumed: --embed-dim)"
    facts = [
        "source %s" % health.get("source")
        + (" (%s)" % health["convention"] if health.get("convention") else ""),
        "levels %s" % (len(health["levels"]) if health.get("levels") else "unknown"),
        dim,
        "last step %s" % fmt(health.get("last_step")),
    ]
    if health.get("total_steps"):
        facts.append("of %s (%.0f%%)" % (fmt(health["total_steps"]), 100 * (progress or 0)))
    p.line("=" * 78)
    p.line(header + "   " + " · ".join(facts))


def _notes(health: dict, skip: Optional[str] = None) -> List[str]:
    """The answer's notes, less the coverage note (``_print_coverage`` lists it a tag a
    line)."""
    coverage_note = (health.get("coverage") or {}).get("note")
    notes = [health.get("dim_note"), health.get("reason")] + list(health.get("notes") or [])
    return [note for note in notes if note and note != skip and note != coverage_note]


def _print_coverage(p: Printer, health: dict, *, every: bool = False) -> None:
    """How many lights could be judged and, when the run judges fewer than half of them
    (or ``every``), the tags that would judge the rest, each with the line that logs it."""
    coverage = health.get("coverage")
    if not coverage or not coverage.get("missing") or not (every or coverage.get("note")):
        return
    missing = coverage["missing"]
    p.line(
        "%s: %d of %d lights judged; %d tag%s the run does not log would judge the rest:"
        % (
            p.bold("Coverage"),
            coverage["judged"],
            coverage["lights"],
            len(missing),
            "" if len(missing) == 1 else "s",
        ),
        1,
    )
    for item in missing:
        judges = ", ".join(
            j["key"] + ("" if j["level"] is None else " level %d" % j["level"])
            for j in item["judges"]
        )
        p.line("%s  %s  (judges %s)" % (item["tag"], item["call"], judges), 2)


def print_health(p: Printer, health: dict) -> None:
    """The full readable report of one run (``--verbose``)."""
    _print_header(p, health)
    for note in _notes(health):
        p.line("note: %s" % note, 1)
    _print_coverage(p, health, every=True)
    if health.get("lights"):
        _print_lights(p, health)
    _print_contributions(p, health)
    _print_flowchart(p, health)
    _print_patterns(p, health)
    _print_ranges(p, health)


def _where(light: dict) -> str:
    return "" if light.get("level") is None else " level %d" % light["level"]


def print_summary(p: Printer, health: dict) -> None:
    """The short report of one run (the default).

    The status and its reason; what to do first and the evidence it answers; the lights
    that are not healthy (the hierarchy contributions' checks included), worst first,
    with value and explanation; the flowchart branches that fire with their general
    actions; the patterns detected with their likely cause and fix; how many lights are
    healthy and how many unknown; and, for a run that judges fewer than half of its
    lights, the tags that would judge the rest, each with the line that logs it.
    """
    _print_header(p, health)
    reason = health.get("status_reason") or health.get("reason")
    if reason:
        p.line("status: %s" % reason, 1)
    first = health.get("first_action")
    if first:
        p.line("%s: %s" % (p.bold("Do first"), first["action"]), 1)
        p.line("it answers: %s" % first["answers"], 2)
    when = (health.get("timeline") or {}).get("summary")
    if when:
        p.line("%s: %s" % (p.bold("When"), when), 1)
    if health.get("healthy_checkpoint_step") is not None and health.get("status") != "healthy":
        p.line(
            "last healthy checkpoint: step %d (hjepa-train --resume --from-healthy)"
            % health["healthy_checkpoint_step"],
            1,
        )
    for note in _notes(health, skip=reason):
        p.line("note: %s" % note, 1)
    lights = list(health.get("lights") or []) + list(
        (health.get("contributions") or {}).get("checks") or []
    )
    healthy = sum(1 for light in lights if light["status"] == schema.HEALTHY)
    unknown = sum(1 for light in lights if light["status"] == schema.UNKNOWN)
    alerts = [light for light in lights if light["status"] not in (schema.HEALTHY, schema.UNKNOWN)]
    alerts.sort(key=lambda light: -schema.severity(light["status"]))  # stable: catalogue order
    if lights:
        p.line(
            "%s: %d not healthy, %d healthy, %d unknown"
            % (p.bold("Lights"), len(alerts), healthy, unknown),
            1,
        )
    width = max([len(light["key"] + _where(light)) for light in alerts] + [10])
    for light in alerts:
        p.line(
            "%s %s  %-24s %s"
            % (
                p.status(light["status"]),
                (light["key"] + _where(light)).ljust(width),
                _light_value(light),
                light.get("explanation") or "",
            ),
            2,
        )
    fired = [b for b in health.get("flowchart") or [] if b.get("fired")]
    if fired:
        p.line(
            p.bold("Flowchart (reference §11)")
            + ": %s fired" % ("1 branch" if len(fired) == 1 else "%d branches" % len(fired)),
            1,
        )
    for branch in fired:
        p.line("! %s" % branch["question"], 2)
        p.line("actions: %s" % "; ".join(branch.get("actions") or []), 3)
    found = [x for x in health.get("patterns") or [] if x.get("detected")]
    if found:
        p.line(p.bold("Patterns (reference §16)") + ": %d detected" % len(found), 1)
    for pattern in found:
        p.line("* %s" % pattern["name"], 2)
        p.line("likely cause: %s" % pattern["likely_cause"], 3)
        p.line("fix: %s" % pattern["fix"], 3)
    _print_coverage(p, health)


def print_catalog(out: TextIO) -> None:
    """A readable table of every catalogue metric."""
    rows = [("TAG", "CATEGORY", "UNIT", "FREQUENCY", "RULE")]
    for metric in catalog.metrics():
        rows.append(
            (
                metric.tag,
                metric.category,
                metric.unit or "-",
                metric.frequency.text,
                rule_summary(metric.rule),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4] + "\n")


def status_counts(statuses: Iterable[str]) -> str:
    """``"1 collapse, 2 healthy"``: how many runs have each status, worst first."""
    counts: Dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return ", ".join("%d %s" % (counts[s], s) for s in reversed(schema.STATUSES) if s in counts)


def print_runs(p: Printer, healths: Dict[str, dict], *, verbose: bool = False) -> None:
    """The report of every run (``print_summary``, or ``print_health`` when ``verbose``),
    then how many runs have each status."""
    for health in healths.values():
        (print_health if verbose else print_summary)(p, health)
    p.line("=" * 78)
    p.line("%d run(s): %s" % (len(healths), status_counts(h["status"] for h in healths.values())))
    if not verbose:
        p.line(
            "(--verbose: every light, the checks behind each branch and pattern, "
            "contributions and ranges; --json: all of it as JSON)"
        )


def write_json(out: TextIO, healths: Dict[str, dict]) -> None:
    """``{"runs": {run: health}}``, complete (the ``health`` route's JSON)."""
    from tensorboard.backend import json_util

    out.write(json.dumps(json_util.Cleanse({"runs": healths}), indent=1, allow_nan=False) + "\n")


def change_line(name: str, change, health: dict, new_run: bool, *, clock: str) -> str:
    """One line per changed run (the trainer's alert line, plus what cleared), stamped
    with ``clock`` (``HH:MM:SS``)."""
    from .diagnosis import changes

    prefix = "[%s] %s %r" % (clock, "new run" if new_run else "run", name)
    line = changes.alert_line(change, health, step=health.get("last_step"), prefix=prefix)
    cleared = (
        change.cleared_branches
        + change.cleared_patterns
        + [
            "%s%s" % (key, "" if level is None else " level %d" % level)
            for key, level in change.better_items
        ]
    )
    if cleared:
        line += " | better or cleared: " + ", ".join(cleared)
    if health.get("reason"):  # the diagnosis itself failed
        line += " | " + health["reason"]
    return line
