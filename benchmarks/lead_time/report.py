"""Measure every run, print the tables, and check the goals.

Per fault: onset; the first online alert (warning or worse) at or after it, with what
was new; the first collapse/critical; the detection delay (first alert - onset); when
the representation failed (the probe, else the whole run's offline verdict: its end);
the lead (failure - first alert), in steps and as a fraction of onset -> failure; and
the anchors' delays. Per control: alerts of warning or worse per 1,000 steps, the
product's and the anchors'.
"""

import dataclasses
import math
import os
import statistics
from typing import List, Optional

from tensorboard_plugin_hjepa.catalog import schema
from tensorboard_plugin_hjepa.diagnosis import diagnose, timeline

from . import detectors
from .plan import CHECK_EVERY, FAULT, RECIPE_BY_NAME, Case
from .runs import BASE, read_outcome, run_dir

FEW_CHECKS = 5  # "a detection delay of at most a few checks"


@dataclasses.dataclass
class Row:
    case: Case
    last_step: int
    alerts: List[detectors.Alert]
    zscore: List[detectors.Alert]
    floor: List[detectors.Alert]
    offline_status: str
    probe_step: Optional[int] = None
    probe_how: str = ""
    trainer_agrees: Optional[bool] = None
    offline_action: str = ""  # what the tab says to do first at the end of the run
    timeline: Optional[dict] = None  # the tab's timeline, from the replayed checks' statuses

    # -- faults --------------------------------------------------------------------------
    @property
    def onset(self) -> int:
        return self.case.onset

    @property
    def first(self) -> Optional[detectors.Alert]:
        return detectors.first_at_or_after(self.alerts, self.onset)

    @property
    def first_alarm(self) -> Optional[detectors.Alert]:
        """The first collapse or critical alert at or after the onset."""
        return next(
            (a for a in self.alerts if a.step >= self.onset and a.status in schema.ALERTS), None
        )

    @property
    def delay(self) -> Optional[int]:
        return None if self.first is None else self.first.step - self.onset

    @property
    def failure(self) -> Optional[int]:
        """When the representation failed: the probe, else the end of a run whose offline
        verdict is not healthy."""
        if self.probe_step is not None:
            return self.probe_step
        if schema.severity(self.offline_status) >= schema.severity(schema.WARNING):
            return self.last_step
        return None

    @property
    def clock(self) -> str:
        if self.probe_step is not None:
            return "probe " + self.probe_how
        if self.failure is not None:
            return "end-of-run verdict %s" % self.offline_status
        return "never failed (offline %s)" % self.offline_status

    @property
    def lead(self) -> Optional[int]:
        if self.first is None or self.failure is None:
            return None
        return self.failure - self.first.step

    @property
    def lead_fraction(self) -> Optional[float]:
        if self.lead is None:
            return None
        span = self.failure - self.onset
        return self.lead / span if span > 0 else (1.0 if self.lead >= 0 else 0.0)

    @property
    def names_cause(self) -> Optional[bool]:
        """Whether the first alert's first action names the injected cause."""
        if self.first is None:
            return None
        action = self.first.action.lower()
        return any(word.lower() in action for word in self.case.names_cause)

    def anchor_delay(self, alerts) -> Optional[int]:
        hit = detectors.first_at_or_after(alerts, self.onset)
        return None if hit is None else hit.step - self.onset

    def anchor_delay_at_checks(self, alerts) -> Optional[int]:
        """The anchor's delay at the online checks' cadence: it judges every logged point,
        the checks every CHECK_EVERY steps, so an anchor firing at step 301 is compared
        with the check at 310."""
        delay = self.anchor_delay(alerts)
        if delay is None:
            return None
        return int(math.ceil((self.onset + delay) / CHECK_EVERY) * CHECK_EVERY) - self.onset

    # -- controls ------------------------------------------------------------------------
    def per_1000(self, alerts) -> float:
        return 1000.0 * len(alerts) / max(1, self.last_step + 1)


def measure(logdir: str, case: Case) -> Row:
    path = run_dir(logdir, case.recipe, case.name)
    run = detectors.load(path)
    last = int(run.last_step)
    alerts, logged = detectors.replay(run, CHECK_EVERY, detectors.last_training_step(run))
    probe_step, how = detectors.probe_failure(run, case.onset)
    offline = diagnose(run)
    row = Row(
        case=case,
        last_step=last,
        alerts=alerts,
        zscore=detectors.zscore_alerts(run),
        floor=detectors.variance_floor_alerts(run),
        offline_status=offline["status"],
        probe_step=probe_step,
        probe_how=how,
        offline_action=(offline.get("first_action") or {}).get("action", ""),
        timeline=timeline.build(logged),
    )
    row.trainer_agrees = _agrees(logdir, case, alerts)
    return row


def _printed(logdir: str, recipe: str, name: str) -> Optional[list]:
    outcome = read_outcome(os.path.join(logdir, recipe, name))
    return None if outcome is None else outcome["alerts"]


def _agrees(logdir: str, case: Case, alerts: List[detectors.Alert]) -> Optional[bool]:
    """Whether the trainer's own printed alerts (warning or worse) match the replay."""
    printed = _printed(logdir, case.recipe, case.name)
    if printed is None:
        return None
    if case.resumed:
        base = _printed(logdir, case.recipe, BASE)
        if base is None:
            return None
        printed = base + printed
    printed = [
        (a["step"], a["status"])
        for a in printed
        if schema.severity(a["status"]) >= schema.severity(schema.WARNING)
    ]
    return printed == [(a.step, a.status) for a in alerts]


# ------------------------------------------------------------------------------ output
def _step(alert: Optional[detectors.Alert]) -> str:
    return "-" if alert is None else "%d %s" % (alert.step, alert.status)


def _num(value, fmt="%d") -> str:
    return "-" if value is None else fmt % value


def fault_table(rows: List[Row]) -> str:
    lines = [
        "| recipe | fault | onset | first alert | new at it | delay (checks) | its first action "
        "(names the cause?) | first collapse/critical | failure clock | failure | lead "
        "(fraction) | z-score delay | variance-floor delay |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        first = r.first
        lines.append(
            "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
            % (
                r.case.recipe,
                r.case.name,
                r.onset,
                _step(first),
                (first.what if first else "").replace("|", "/")[:90],
                "-" if r.delay is None else "%d (%d)" % (r.delay, math.ceil(r.delay / CHECK_EVERY)),
                "-"
                if first is None
                else "%s (%s)" % (first.action.split(":")[0], "yes" if r.names_cause else "no"),
                _step(r.first_alarm),
                r.clock,
                _num(r.failure),
                "-" if r.lead is None else "%d (%.2f)" % (r.lead, r.lead_fraction),
                _num(r.anchor_delay(r.zscore)),
                _num(r.anchor_delay(r.floor)),
            )
        )
    return "\n".join(lines)


def timeline_table(rows: List[Row]) -> str:
    """Per run: what the tab says to do first at its end, and its timeline (from the
    statuses the online checks log) next to the step the probe failed at."""
    lines = [
        "| recipe | run | onset | first action shown (end of run) | healthy until | "
        "then | probe failed at |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        tl = r.timeline or {}
        problem = tl.get("first_problem")
        then = (
            "no warning at any check"
            if problem is None
            else "%s at %d from %s%s"
            % (
                problem["status"],
                problem["step"],
                problem.get("name") or problem.get("key") or "the overall status",
                "" if problem.get("level") is None else " (level %d)" % problem["level"],
            )
        )
        lines.append(
            "| %s | %s | %s | %s | %s | %s | %s |"
            % (
                r.case.recipe,
                r.case.name,
                r.onset if r.case.kind == FAULT else "-",
                (r.offline_action.split(":")[0] or "-").replace("|", "/"),
                _num(tl.get("healthy_until")),
                then.replace("|", "/"),
                "-" if r.probe_step is None else "%d (%s)" % (r.probe_step, r.probe_how),
            )
        )
    return "\n".join(lines)


def control_table(rows: List[Row]) -> str:
    lines = [
        "| recipe | control | steps | product alerts | per 1k steps | z-score per 1k | "
        "variance floor per 1k | offline verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            "| %s | %s | %d | %s | %.2f | %.2f | %.2f | %s |"
            % (
                r.case.recipe,
                r.case.name,
                r.last_step + 1,
                ", ".join("%d %s (%s)" % (a.step, a.status, a.what) for a in r.alerts)[:120]
                or "none",
                r.per_1000(r.alerts),
                r.per_1000(r.zscore),
                r.per_1000(r.floor),
                r.offline_status,
            )
        )
    return "\n".join(lines)


@dataclasses.dataclass
class Goal:
    text: str
    met: bool
    figure: str


def goals(rows: List[Row]) -> List[Goal]:
    faults = [r for r in rows if r.case.kind == FAULT]
    controls = [r for r in rows if r.case.kind != FAULT]
    out = []
    late = [r for r in faults if r.delay is None or r.delay > FEW_CHECKS * CHECK_EVERY]
    out.append(
        Goal(
            "every fault alerted within %d checks of its onset" % FEW_CHECKS,
            not late,
            "%d/%d; %s"
            % (
                len(faults) - len(late),
                len(faults),
                ", ".join(
                    "%s/%s %s"
                    % (r.case.recipe, r.case.name, "missed" if r.delay is None else "%d" % r.delay)
                    for r in late
                )
                or "max delay %s"
                % max((r.delay for r in faults if r.delay is not None), default=0),
            ),
        )
    )
    probe_faults = [r for r in faults if r.probe_step is not None]
    after = [r for r in probe_faults if r.first is None or r.first.step > r.probe_step]
    out.append(
        Goal(
            "every alert no later than the probe fails",
            not after,
            "%d/%d faults whose probe failed; %s"
            % (
                len(probe_faults) - len(after),
                len(probe_faults),
                ", ".join("%s/%s" % (r.case.recipe, r.case.name) for r in after) or "none late",
            ),
        )
    )
    fractions = [r.lead_fraction for r in faults if r.lead_fraction is not None]
    median = statistics.median(fractions) if fractions else None
    out.append(
        Goal(
            "median lead at least half of onset -> failure",
            median is not None and median >= 0.5,
            "median %s over %d faults" % (_num(median, "%.2f"), len(fractions)),
        )
    )
    noisy = [r for r in controls if r.alerts]
    out.append(
        Goal(
            "zero alerts on the controls",
            not noisy,
            "%d alert(s) on %d/%d controls%s"
            % (
                sum(len(r.alerts) for r in controls),
                len(noisy),
                len(controls),
                (": " + ", ".join("%s/%s" % (r.case.recipe, r.case.name) for r in noisy))
                if noisy
                else "",
            ),
        )
    )
    for name, attr in (("z-score", "zscore"), ("variance floor", "floor")):
        slower = [
            r
            for r in faults
            if r.anchor_delay(getattr(r, attr)) is not None
            and (r.delay is None or r.delay > r.anchor_delay_at_checks(getattr(r, attr)))
        ]
        product = sum(len(r.alerts) for r in controls)
        anchor = sum(len(getattr(r, attr)) for r in controls)
        out.append(
            Goal(
                "no later than the %s anchor where it fires (at the checks' cadence), with "
                "fewer false alarms" % name,
                not slower and (product < anchor or (product == 0 and anchor == 0)),
                "later on %d fault(s)%s; control alerts %d vs %d"
                % (
                    len(slower),
                    (" (" + ", ".join("%s/%s" % (r.case.recipe, r.case.name) for r in slower) + ")")
                    if slower
                    else "",
                    product,
                    anchor,
                ),
            )
        )
    named = [r for r in faults if r.names_cause]
    out.append(
        Goal(
            "the first action names the injected cause on at least 5/6 of the faults",
            len(named) * 6 >= 5 * len(faults),
            "%d/%d; not on: %s"
            % (
                len(named),
                len(faults),
                ", ".join(
                    "%s/%s (%s)"
                    % (r.case.recipe, r.case.name, r.first.action if r.first else "no alert")
                    for r in faults
                    if not r.names_cause
                )
                or "none",
            ),
        )
    )
    agree = [r for r in rows if r.trainer_agrees is not None]
    out.append(
        Goal(
            "the replay matches the alerts the trainer printed",
            all(r.trainer_agrees for r in agree),
            "%d/%d runs%s"
            % (
                sum(1 for r in agree if r.trainer_agrees),
                len(agree),
                "; differ: "
                + ", ".join(
                    "%s/%s" % (r.case.recipe, r.case.name) for r in agree if not r.trainer_agrees
                )
                if not all(r.trainer_agrees for r in agree)
                else "",
            ),
        )
    )
    return out


def recipes_text() -> str:
    return "\n".join(
        "- %s: %d steps, faults from step %d, probe every %d steps; %s"
        % (r.name, r.steps, r.onset, r.eval_every, " ".join(r.sets))
        for r in RECIPE_BY_NAME.values()
    )
