"""Online health checks: the diagnosis engine on a training loop's own recent metrics.

Every ``every`` steps the monitor builds a ``RunData`` from the values the loop has
written so far (kept in memory as Python floats; no event file is read), runs the
same ``diagnosis.diagnose`` as the TensorBoard tab and ``hjepa-doctor``, and when
something is *new* (the overall status or a light got worse and is now warning or
worse, a flowchart branch starts firing, a pattern is detected) it prints one line
and writes the alert into the logs as a text summary (catalogue key ``health.alert``,
TensorBoard's Text dashboard). With ``stop_on`` set, a check whose status is at least
that severe asks the loop to stop; the loop saves a checkpoint and exits with
``EXIT_HEALTH_STOP``.

No torch here: it works for any loop that writes catalogue keys::

    from hjepa_trainer.health import HealthMonitor
    from hjepa_trainer.metrics import HJepaMetrics

    monitor = HealthMonitor(manifest, writer=writer, every=100, stop_on="collapse")
    metrics = HJepaMetrics(monitor, hierarchy_weights=..., embed_dim=...)  # monitor tees to writer
    for step in range(steps):
        ...                                  # train, then log through ``metrics``
        alert = monitor.maybe_check(step)    # after the step's metrics are written
        if alert is not None and alert.stop:
            save_checkpoint(); sys.exit(EXIT_HEALTH_STOP)

History is bounded per curve: the first ``head`` points (the diagnosis's "first"
window), the last ``max_points // 2`` points exactly, and a thinned middle (every other
finite point is dropped when the bound is reached; NaN/Inf points are kept, so the
non-finite counts stay exact). A check costs ~15-20 ms on the tiny CPU demo and
under 40 ms with every curve full (``python -m benchmarks.online_health``).

After a resume, ``monitor.resume(run_dir, step)`` rebuilds the history from the run's
own event files, read by the plugin's reader (what the tab sees), so peaks, early
windows, baselines and the probe's random-init score from before the resume count;
what the last check before the resume saw counts as reported, so its alerts are not
repeated. ``hjepa-train --resume`` does this itself.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from tensorboard_plugin_hjepa import catalog
from tensorboard_plugin_hjepa.catalog import schema
from tensorboard_plugin_hjepa.diagnosis import changes, diagnose
from tensorboard_plugin_hjepa.diagnosis.timeline import STATUS_KEY  # every check's status rank
from tensorboard_plugin_hjepa.run_data import RunData, Series
from tensorboard_plugin_hjepa.summary import RunManifest

ALERT_KEY = "health.alert"  # catalogue key of the alert text
HEALTHY_CHECKPOINT_KEY = "health.healthy_checkpoint_step"
EXIT_HEALTH_STOP = 3  # hjepa-train's exit status when health.stop_on stopped the run
STOP_ON = (schema.WARNING, schema.COLLAPSE, schema.CRITICAL)  # None = never stop
DEFAULT_MAX_POINTS = 2000


class _Curve:
    """One bounded curve: parallel lists of steps, wall times and values (floats)."""

    __slots__ = ("steps", "walls", "values", "max_points", "head")

    def __init__(self, max_points: int) -> None:
        self.steps: List[int] = []
        self.walls: List[float] = []
        self.values: List[float] = []
        self.max_points = max_points
        self.head = max(4, max_points // 10)

    def add(self, step: int, wall: float, value: float) -> None:
        if self.steps and self.steps[-1] == step:  # a step written twice keeps the later value
            self.walls[-1], self.values[-1] = wall, value
            return
        self.steps.append(step)
        self.walls.append(wall)
        self.values.append(value)
        if len(self.steps) > self.max_points:
            self._thin()

    def _thin(self) -> None:
        """Drop every other finite point of the middle (between head and the recent half)."""
        n = len(self.steps)
        start, stop = self.head, n - self.max_points // 2
        keep = list(range(start))
        parity = 0
        for j in range(start, stop):
            if not np.isfinite(self.values[j]):
                keep.append(j)
                continue
            if parity == 0:
                keep.append(j)
            parity ^= 1
        keep.extend(range(stop, n))
        if len(keep) > self.max_points:  # a curve of mostly NaN: keep the bound regardless
            keep = keep[: self.head] + keep[len(keep) - (self.max_points - self.head) :]
        self.steps = [self.steps[j] for j in keep]
        self.walls = [self.walls[j] for j in keep]
        self.values = [self.values[j] for j in keep]

    def extend(self, steps, walls, values) -> None:
        """Append points in step order (after every point held), then thin once."""
        self.steps.extend(int(s) for s in steps)
        self.walls.extend(float(w) for w in walls)
        self.values.extend(float(v) for v in values)
        while len(self.steps) > self.max_points:
            before = len(self.steps)
            self._thin()
            if len(self.steps) == before:
                break

    def series(self, tag: str) -> Series:
        steps = np.asarray(self.steps, dtype=np.int64)
        if steps.size > 1 and not np.all(np.diff(steps) > 0):  # out of order: sort, dedupe
            return Series.from_points(tag, zip(self.steps, self.walls, self.values))
        return Series(
            tag=tag,
            steps=steps,
            wall_times=np.asarray(self.walls, dtype=np.float64),
            values=np.asarray(self.values, dtype=np.float64),
        )


class MetricHistory:
    """Recent values of every catalogue scalar a loop wrote, bounded per curve.

    Args:
        max_points: points kept per curve (>= 20).
    """

    def __init__(self, max_points: int = DEFAULT_MAX_POINTS) -> None:
        if max_points < 20:
            raise ValueError(f"max_points must be >= 20, got {max_points}")
        self.max_points = max_points
        self._curves: Dict[Tuple[str, Optional[int]], _Curve] = {}

    def add(
        self,
        key: str,
        value: float,
        step: int,
        *,
        level: Optional[int] = None,
        group: Optional[int] = None,
        wall_time: Optional[float] = None,
    ) -> None:
        """Record one value (only group 0 of per-group metrics: the diagnosis reads that one)."""
        if group not in (None, 0):
            return
        curve = self._curves.get((key, level))
        if curve is None:
            catalog.get(key)  # unknown keys fail here, as the writer would
            curve = self._curves[(key, level)] = _Curve(self.max_points)
        curve.add(int(step), time.time() if wall_time is None else float(wall_time), float(value))

    scalar = add  # the writer's name: a history can be ``HJepaMetrics``' writer

    def histogram(self, key: str, values, step: int, *, layer: str) -> None:
        """Histograms are not judged: nothing to keep."""

    def add_records(self, records, step: int) -> None:
        """Record ``hjepa_trainer.metrics.Record`` rows of one step."""
        for r in records:
            self.add(r.key, r.value, step, level=r.level, group=r.group)

    def load(self, run_data: RunData, *, before: Optional[int] = None) -> int:
        """Add every point of ``run_data`` (at a step before ``before``, when given);
        returns how many.

        The curves are a run's own event files as the plugin reads them (catalogue keys,
        levels), added after every point already held.
        """
        added = 0
        for (key, level), series in sorted(run_data.series.items(), key=lambda kv: str(kv[0])):
            metric = catalog.get(key)
            if metric.kind != "scalar":
                continue
            keep = series.steps < before if before is not None else np.full(len(series), True)
            if not np.any(keep):
                continue
            curve = self._curves.get((key, level))
            if curve is None:
                curve = self._curves[(key, level)] = _Curve(self.max_points)
            elif curve.steps and curve.steps[-1] >= int(series.steps[keep][0]):
                raise ValueError(
                    "load() adds points after those held: %s (level %s) already holds step %d"
                    % (key, level, curve.steps[-1])
                )
            curve.extend(series.steps[keep], series.wall_times[keep], series.values[keep])
            added += int(np.count_nonzero(keep))
        return added

    def __len__(self) -> int:
        return sum(len(c.steps) for c in self._curves.values())

    def run_data(self, run: str, manifest: Optional[RunManifest]) -> RunData:
        """The curves as the diagnosis engine's input."""
        series = {}
        for (key, level), curve in self._curves.items():
            metric = catalog.get(key)
            tag = catalog.tag(key, level=level, group=0 if "{group}" in metric.tag else None)
            series[(key, level)] = curve.series(tag)
        return RunData(run=run, source=catalog.Source.HJEPA, manifest=manifest, series=series)


def _after(series: Series, step: Optional[int]) -> Series:
    """The points of ``series`` after ``step`` (all of them for None)."""
    if step is None:
        return series
    keep = series.steps > step
    return dataclasses.replace(
        series,
        steps=series.steps[keep],
        wall_times=series.wall_times[keep],
        values=series.values[keep],
    )


@dataclasses.dataclass
class Alert:
    """A check that found something new.

    Attributes:
        step: the last step whose metrics the check saw.
        status: the run's overall status now; ``previous`` at the previous check.
        line: the one line printed.
        text: the Markdown written to the logs.
        stop: the status reached ``stop_on``: the loop should checkpoint and stop.
        change: what is new (``diagnosis.changes.Change``).
        health: the full diagnosis (the ``health`` route's JSON).
    """

    step: int
    status: str
    previous: Optional[str]
    line: str
    text: str
    stop: bool
    change: changes.Change
    health: dict


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class HealthMonitor:
    """Keeps a loop's recent metrics and runs the diagnosis on them every few steps.

    It is also a writer: ``scalar`` and ``histogram`` record and forward to ``writer``
    (give it to ``HJepaMetrics`` in place of the writer), so nothing is logged twice.

    Args:
        manifest: the run's manifest (levels, weights, D, total steps...): the
            diagnosis needs it exactly as the event files would carry it.
        writer: where metrics and the alert text go (a ``SummaryWriter`` or the
            trainer's ``EventSink``; anything with ``scalar``/``histogram``/``text``);
            None records only (alerts are then only printed).
        run: the run's name in alerts.
        every: steps between checks (>= 1).
        stop_on: None (never stop) or "warning" / "collapse" / "critical": a check whose
            overall status is at least this severe sets ``Alert.stop``.
        say: called with the one-line alert (default: print to stderr).
        max_points: points kept per curve.
    """

    def __init__(
        self,
        manifest: Optional[RunManifest],
        *,
        writer=None,
        run: str = "run",
        every: int = 100,
        stop_on: Optional[str] = None,
        say: Optional[Callable[[str], None]] = None,
        max_points: int = DEFAULT_MAX_POINTS,
    ) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        if stop_on is not None and stop_on not in STOP_ON:
            raise ValueError(f"stop_on must be None or one of {STOP_ON}, got {stop_on!r}")
        self.manifest = manifest
        self.writer = writer
        self.run = run
        self.every = every
        self.stop_on = stop_on
        self.say = say or _stderr
        self.history = MetricHistory(max_points)
        self.alerts: List[Alert] = []
        self.last_health: Optional[dict] = None
        self.check_seconds: List[float] = []  # wall time of every check (cost accounting)
        self._reported: Optional[changes.Snapshot] = None  # worst of everything reported
        self._previous_status: Optional[str] = None  # at the previous check
        # Step of the last checkpoint the loop kept while the verdict was healthy.
        self.healthy_checkpoint_step: Optional[int] = None

    # -- the writer interface ------------------------------------------------------------
    def scalar(
        self,
        key: str,
        value,
        step: int,
        *,
        level: Optional[int] = None,
        group: Optional[int] = None,
        **kwargs,
    ) -> None:
        """Record a catalogue scalar and forward it to the writer."""
        self.history.add(
            key, value, step, level=level, group=group, wall_time=kwargs.get("wall_time")
        )
        if self.writer is not None:
            self.writer.scalar(key, value, step, level=level, group=group, **kwargs)

    def histogram(self, *args, **kwargs) -> None:
        """Forwarded to the writer (histograms are not diagnosed)."""
        if self.writer is not None:
            self.writer.histogram(*args, **kwargs)

    def record(
        self,
        key: str,
        value,
        step: int,
        *,
        level: Optional[int] = None,
        group: Optional[int] = None,
    ) -> None:
        """Record a value without writing it (the loop writes it some other way)."""
        self.history.add(key, value, step, level=level, group=group)

    def healthy(self) -> bool:
        """Whether the last check found the run healthy (False before any check)."""
        return self.last_health is not None and self.last_health["status"] == schema.HEALTHY

    def note_healthy_checkpoint(self, step: int) -> None:
        """The loop kept a copy of its checkpoint at ``step`` while the run was healthy:
        alerts name it, and the step is logged (``health.healthy_checkpoint_step``)."""
        self.healthy_checkpoint_step = int(step)
        self.scalar(HEALTHY_CHECKPOINT_KEY, float(step), int(step))

    # -- resuming -------------------------------------------------------------------------
    def resume(self, run_dir: str, step: int) -> int:
        """Continue a resumed run's checks with the history in its event files.

        Reads ``run_dir``'s event files with the plugin's reader (what the tab and
        ``hjepa-doctor`` see) and diagnoses the points up to the last check before
        ``step`` as that check did: what it found counts as reported, so it is not alerted
        again, and a problem that appears later still is. Every point on disk is kept,
        those the previous process logged at ``step`` itself too (an evaluation "after
        ``step`` steps"); a step this process writes again replaces its point. Call it
        once, before the first check.

        Args:
            run_dir: the run's directory (its event files).
            step: the step the loop resumes at (a checkpoint's step count).

        Returns:
            The number of points read (0 when the directory holds no H-JEPA events yet).
        """
        from tensorboard_plugin_hjepa.doctor import DoctorError, read_logdir

        try:
            runs = read_logdir(run_dir)
        except DoctorError:  # nothing written yet (a run stopped before its first commit)
            return 0
        run_data = next(iter(runs.values()))
        last_check = (step - 1) // self.every * self.every  # the last step ``due`` held for
        last_check = last_check if last_check > 0 else None
        # A point logged again by this process (the steps after a killed process's last
        # checkpoint) replaces the one read here: the history keeps a step's later value.
        added = 0
        if last_check is not None:
            added = self.history.load(run_data, before=last_check + 1)
            health = diagnose(self.history.run_data(self.run, self.manifest))
            self._reported = changes.snapshot(health)
            self._previous_status = health["status"]
            self.last_health = health
        # The steps after that check: recorded, judged at the next check.
        tail = RunData(
            run=run_data.run,
            source=run_data.source,
            series={slot: _after(series, last_check) for slot, series in run_data.series.items()},
        )
        kept = run_data.get(HEALTHY_CHECKPOINT_KEY)
        if kept is not None and len(kept):
            self.healthy_checkpoint_step = int(kept.values[-1])
        return added + self.history.load(tail)

    # -- checks ---------------------------------------------------------------------------
    def due(self, step: int) -> bool:
        """Whether a check is due after the metrics of ``step`` (0-based) were written.

        At steps every, 2 * every, ...: with ``every`` equal to the collapse metrics'
        interval, right after they are logged (they are logged where step % interval == 0).
        """
        return step > 0 and step % self.every == 0

    def maybe_check(self, step: int) -> Optional[Alert]:
        """``check(step)`` when due, else None."""
        return self.check(step) if self.due(step) else None

    def check(self, step: int) -> Optional[Alert]:
        """Diagnose the recorded metrics now; an ``Alert`` when something is new.

        New means worse than everything reported before: the overall status or a
        light above the worst status it was reported at (and at least ``warning``), or
        a flowchart branch / pattern not reported yet. The alert is printed (``say``)
        and written as text at ``step``. A check whose status reached ``stop_on``
        returns an alert with ``stop`` set even when nothing else is new.
        """
        t0 = time.perf_counter()
        health = diagnose(self.history.run_data(self.run, self.manifest))
        # The verdict through the run (the tab's timeline): written, not recorded.
        if self.writer is not None:
            self.writer.scalar(STATUS_KEY, float(schema.severity(health["status"])), step)
        # New = worse than anything already reported (a flapping light is reported once).
        change = changes.diff(self._reported, health)
        new = change.new_problem
        if new:
            self._reported = changes.merge(self._reported, changes.snapshot(health))
        change.previous, self._previous_status = self._previous_status, health["status"]
        self.last_health = health
        stop = self.stop_on is not None and changes.rank(health["status"]) >= changes.rank(
            self.stop_on
        )
        alert = None
        if new or stop:
            line = changes.alert_line(change, health, step=step)
            footer = ""
            if self.healthy_checkpoint_step is not None:
                line += " | last healthy checkpoint: step %d" % self.healthy_checkpoint_step
                footer = "The last checkpoint kept while the run was healthy: step %d." % (
                    self.healthy_checkpoint_step
                )
            if stop:
                line += " | health.stop_on=%s reached: stopping" % self.stop_on
                footer = (
                    "The run stops here: its status reached `health.stop_on: %s`. %s"
                    % (self.stop_on, footer)
                ).strip()
            text = changes.alert_markdown(change, health, step=step, footer=footer)
            alert = Alert(
                step=step,
                status=health["status"],
                previous=change.previous,
                line=line,
                text=text,
                stop=stop,
                change=change,
                health=health,
            )
            self.alerts.append(alert)
            self.say(line)
            if self.writer is not None and hasattr(self.writer, "text"):
                self.writer.text(catalog.tag(ALERT_KEY), text, step)
        self.check_seconds.append(time.perf_counter() - t0)
        return alert
