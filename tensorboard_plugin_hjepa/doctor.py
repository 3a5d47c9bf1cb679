"""``hjepa-doctor``: the H-JEPA Health verdicts in the terminal.

Usage::

    hjepa-doctor LOGDIR [--run RUN] [--verbose | --json] [--embed-dim D]
                 [--color auto|always|never]
    hjepa-doctor LOGDIR --watch [--interval S] [--run RUN] [--embed-dim D]
    hjepa-doctor catalog [--json]

By default each run is summarised: its status and the reason for it, the lights that
are not healthy (with value and explanation), the flowchart branches that fire and the
patterns detected with their actions, and how many lights are healthy or unknown.
``--verbose`` prints everything (every light by level, the checks behind each branch
and pattern, the hierarchy contributions, the expected ranges); ``--json`` prints the
complete verdicts (the ``health`` route's JSON). ``--embed-dim D`` assumes the
embedding dimension D for runs whose manifest gives none (plain scalar logs, other
trainers), so dimension-relative lights can be judged; the output says which D was
assumed, and a manifest's own D always wins.

The doctor reads runs through TensorBoard's own data provider, in process
(``EventMultiplexer`` keeping every sample -> ``MultiplexerDataProvider``), with the
same adapter (``data.load_runs``) and the same engine (``diagnosis.diagnose``) as the
plugin's tab, so the terminal and the tab say the same thing. (The doctor reads every
point; the tab, curves of up to 2,000 points per tag whole and longer ones as a uniform
sample of 2,000, see ``plugin.py``: on runs longer than that a point-based window, such
as the last 10% of points, spans more steps in the tab.)

Exit status: 0 when no run is ``collapse`` or ``critical``; 1 when one is; 2 on a usage
or read error (a missing logdir, no H-JEPA run found, an unknown ``--run``, a bad
``--embed-dim``), with one line on stderr (for no run found: the scalar tags the logdir
holds, up to 20 and their count, and the guide to logging the catalogue's tags).

``--watch`` follows a live logdir: it reloads the event files every ``--interval``
seconds (incrementally, one multiplexer for the whole session) and prints only what
changed: new runs, status changes, newly firing flowchart branches and patterns, lights
newly in warning or worse (the same change rules as the trainer's online checks,
``diagnosis.changes``). Ctrl-C ends it; the exit status is that of the last state.
"""

import argparse
import json
import logging
import os
import sys
import time
from typing import Dict, List, Optional, TextIO

from . import catalog, metadata
from .catalog import schema
from .catalog.describe import rule_summary
from .formatting import fmt
from .unknown import unknown_health
from .version import __version__

EXIT_OK = 0
EXIT_ALERT = 1
EXIT_ERROR = 2

_COLOURS = {
    schema.HEALTHY: "\033[32m",  # green
    schema.WARNING: "\033[33m",  # yellow
    schema.COLLAPSE: "\033[31;1m",  # bold red
    schema.CRITICAL: "\033[31;1m",
    schema.UNKNOWN: "\033[90m",  # grey
}
_RESET = "\033[0m"
_BOLD = "\033[1m"


class DoctorError(Exception):
    """A usage or read error: printed as one line on stderr, exit status 2."""


# --------------------------------------------------------------------------- reading
def read_logdir(logdir: str, run: Optional[str] = None) -> Dict[str, "object"]:
    """``{run: RunData}`` of the H-JEPA runs under ``logdir`` (or only ``run``).

    Raises:
      DoctorError: the logdir does not exist, holds no H-JEPA run, or has no run ``run``.
    """
    return _runs_of(_new_multiplexer(), logdir, run)


def _new_multiplexer():
    # Imported here: `hjepa-doctor catalog` must not pay for TensorBoard's backend.
    from tensorboard.backend.event_processing import plugin_event_multiplexer

    logging.getLogger("tensorboard").setLevel(logging.ERROR)
    return plugin_event_multiplexer.EventMultiplexer(
        size_guidance={"tensors": 0, "scalars": 0},  # 0 = keep every sample
        tensor_size_guidance={"hjepa": 0, "scalars": 0},
    )


def _runs_of(multiplexer, logdir: str, run: Optional[str]) -> Dict[str, "object"]:
    """(Re)load ``multiplexer`` from ``logdir`` (new runs, new events) and read its runs."""
    if not os.path.isdir(logdir):
        raise DoctorError("logdir %r does not exist or is not a directory" % (logdir,))
    from tensorboard import context as tb_context
    from tensorboard.backend.event_processing import data_provider

    from . import data

    try:
        multiplexer.AddRunsFromDirectory(logdir)
        multiplexer.Reload()
    except Exception as e:  # a corrupt tree: say what, never a traceback
        raise DoctorError("cannot read logdir %r: %s: %s" % (logdir, type(e).__name__, e)) from e
    provider = data_provider.MultiplexerDataProvider(multiplexer, logdir)
    ctx = tb_context.RequestContext()
    runs = data.load_runs(provider, ctx, "")
    if not runs:
        hint = data.no_runs_hint(data.scalar_tags_seen(provider, ctx, ""))
        raise DoctorError("no H-JEPA runs found under %r: %s" % (logdir, hint["text"]))
    if run is not None:
        if run not in runs:
            raise DoctorError(
                "unknown run %r; runs under %r: %s"
                % (run, logdir, ", ".join(repr(r) for r in sorted(runs)))
            )
        runs = {run: runs[run]}
    return runs


# ------------------------------------------------------------------------- formatting
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


# ----------------------------------------------------------------------------- main
def _use_colour(mode: str, stream: TextIO) -> bool:
    if mode == "always":
        return True
    if mode == "never":
        return False
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def _catalog_main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="hjepa-doctor catalog", description="List every metric of the H-JEPA catalogue."
    )
    parser.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    args = parser.parse_args(argv)
    if args.json:
        sys.stdout.write(catalog.to_json(indent=2) + "\n")
    else:
        print_catalog(sys.stdout)
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hjepa-doctor",
        description="Diagnose H-JEPA training runs from their TensorBoard logs "
        "(the verdicts of the H-JEPA Health tab). "
        "`hjepa-doctor catalog [--json]` lists the metrics instead.",
        epilog="Exit status: 0 no run in collapse/critical, 1 some run is, 2 usage or read error.",
    )
    parser.add_argument("logdir", help="TensorBoard log directory (runs are its subdirectories)")
    parser.add_argument("--run", help="diagnose only this run (name as TensorBoard shows it)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="print everything: every light by level, the checks behind each "
        "branch and pattern, contributions, expected ranges (default: a "
        "summary of what is not healthy and what to do)",
    )
    output.add_argument(
        "--json",
        action="store_true",
        help='print {"runs": {run: health}} (the health route\'s JSON, complete)',
    )
    parser.add_argument(
        "--embed-dim",
        dest="embed_dim",
        metavar="D",
        help="embedding dimension to assume for runs whose manifest gives none "
        "(plain or other trainers' logs; 1-%d); a manifest's D wins" % metadata.MAX_EMBED_DIM,
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="follow a live logdir: reprint only changes (new runs, status "
        "changes, newly firing branches/patterns, new alerts) until Ctrl-C; "
        "exit status as the last state",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds between reloads with --watch (default 10)",
    )
    parser.add_argument("--max-polls", type=int, default=0, help=argparse.SUPPRESS)  # tests
    parser.add_argument(
        "--color",
        "--colour",
        dest="color",
        default="auto",
        choices=("auto", "always", "never"),
        help="colour status words (auto: when stdout is a terminal and NO_COLOR is unset)",
    )
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``hjepa-doctor`` console script; returns the exit status."""
    return _main(list(sys.argv[1:] if argv is None else argv))


def _silence_stdout() -> None:
    """After a broken pipe (``hjepa-doctor LOGDIR | head``): no second error at exit."""
    try:  # as the Python docs advise for SIGPIPE
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _main(argv: List[str]) -> int:
    try:
        if argv and argv[0] == "catalog":
            try:
                return _catalog_main(argv[1:])
            except BrokenPipeError:
                _silence_stdout()
                return EXIT_OK
        args = _parser().parse_args(argv)
    except SystemExit as e:  # argparse: --help / --version exit 0, usage errors exit 2
        return int(e.code) if isinstance(e.code, int) else EXIT_ERROR
    if args.embed_dim is not None:
        try:
            args.embed_dim = metadata.parse_embed_dim(args.embed_dim)
        except ValueError as e:
            sys.stderr.write("hjepa-doctor: error: --embed-dim %s\n" % e)
            return EXIT_ERROR
    if args.watch:
        if args.json or args.interval <= 0:
            sys.stderr.write(
                "hjepa-doctor: error: %s\n"
                % (
                    "--watch prints lines; --json is not supported with it"
                    if args.json
                    else "--interval must be > 0"
                )
            )
            return EXIT_ERROR
        try:
            return _watch(args)
        except BrokenPipeError:
            _silence_stdout()
            return EXIT_OK
    try:
        runs = read_logdir(args.logdir, args.run)
    except DoctorError as e:
        sys.stderr.write("hjepa-doctor: error: %s\n" % e)
        return EXIT_ERROR
    from .diagnosis import diagnose, timeline

    healths = {
        name: _diagnose_one(diagnose, name, run_data, args.embed_dim)
        for name, run_data in runs.items()
    }
    for name, health in healths.items():  # the verdict through the run (not for --watch)
        if "timeline" not in health:
            health["timeline"] = timeline.build(runs[name], embed_dim=args.embed_dim)
    try:
        _report(args, healths)
    except BrokenPipeError:
        _silence_stdout()
    alert = any(h["status"] in schema.ALERTS for h in healths.values())
    return EXIT_ALERT if alert else EXIT_OK


def _diagnose_one(diagnose, name: str, run_data, embed_dim: Optional[int] = None) -> dict:
    """The run's health (assuming ``embed_dim`` if its manifest gives no D); a failing
    diagnosis is reported as ``unknown`` with the reason."""
    try:
        return diagnose(run_data, embed_dim=embed_dim)
    except Exception as e:  # pylint: disable=broad-except  # one bad run must not hide the others
        reason = "the diagnosis failed: %s: %s" % (type(e).__name__, e)
        sys.stderr.write("hjepa-doctor: run %r: %s\n" % (name, reason))
        return unknown_health(name, reason, run_data=run_data)


def _change_line(name: str, change, health: dict, new_run: bool) -> str:
    """One line per changed run (the trainer's alert line, plus what cleared)."""
    from .diagnosis import changes

    prefix = "[%s] %s %r" % (time.strftime("%H:%M:%S"), "new run" if new_run else "run", name)
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


def _watch(args) -> int:
    """``--watch``: reload every ``args.interval`` s and print what changed, until Ctrl-C."""
    from .diagnosis import changes, diagnose

    if not os.path.isdir(args.logdir):
        sys.stderr.write(
            "hjepa-doctor: error: logdir %r does not exist or is not a directory\n" % (args.logdir,)
        )
        return EXIT_ERROR
    multiplexer = _new_multiplexer()
    seen: Dict[str, "changes.Snapshot"] = {}
    statuses: Dict[str, str] = {}
    last_error = None
    polls = 0
    print(
        "hjepa-doctor: watching %r every %gs (Ctrl-C to stop)" % (args.logdir, args.interval),
        flush=True,
    )
    try:
        while True:
            try:
                runs = _runs_of(multiplexer, args.logdir, None)
                last_error = None
            except DoctorError as e:  # e.g. no run yet: say it once, keep watching
                runs = {}
                if str(e) != last_error:
                    last_error = str(e)
                    sys.stderr.write("hjepa-doctor: %s; still watching\n" % e)
                    sys.stderr.flush()
            for name in sorted(runs):
                if args.run is not None and name != args.run:
                    continue
                health = _diagnose_one(diagnose, name, runs[name], args.embed_dim)
                change = changes.diff(seen.get(name), health)
                if name not in seen or change.any:
                    print(_change_line(name, change, health, name not in seen), flush=True)
                seen[name] = changes.snapshot(health)
                statuses[name] = health["status"]
            polls += 1
            if args.max_polls and polls >= args.max_polls:
                break
            time.sleep(args.interval)
    except KeyboardInterrupt:
        pass
    counts: Dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    print(
        "hjepa-doctor: stopped watching; %d run(s)%s"
        % (
            len(statuses),
            ": "
            + ", ".join("%d %s" % (counts[s], s) for s in reversed(schema.STATUSES) if s in counts)
            if counts
            else "",
        ),
        flush=True,
    )
    return EXIT_ALERT if any(s in schema.ALERTS for s in statuses.values()) else EXIT_OK


def _report(args, healths: Dict[str, dict]) -> None:
    from tensorboard.backend import json_util

    if args.json:
        sys.stdout.write(
            json.dumps(json_util.Cleanse({"runs": healths}), indent=1, allow_nan=False) + "\n"
        )
    else:
        printer = Printer(sys.stdout, _use_colour(args.color, sys.stdout))
        for health in healths.values():
            (print_health if args.verbose else print_summary)(printer, health)
        counts: Dict[str, int] = {}
        for health in healths.values():
            counts[health["status"]] = counts.get(health["status"], 0) + 1
        printer.line("=" * 78)
        printer.line(
            "%d run(s): %s"
            % (
                len(healths),
                ", ".join(
                    "%d %s" % (counts[s], s) for s in reversed(schema.STATUSES) if s in counts
                ),
            )
        )
        if not args.verbose:
            printer.line(
                "(--verbose: every light, the checks behind each branch and pattern, "
                "contributions and ranges; --json: all of it as JSON)"
            )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
