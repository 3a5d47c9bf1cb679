"""The detectors compared on the same logged curves, and the probe's failure clock.

- ``product_alerts``: the trainer's online checks, replayed over the run's event files
  (read with the plugin's reader): a ``HealthMonitor`` records the points in step
  order and checks at the steps the trainer checks at. The diagnosis is pure, so this
  is what the online checks of the same code print (``outcome.json`` holds the lines
  the trainer itself printed; the benchmark reports where the two differ).
- ``zscore_alerts``: what a user has without this product, W&B Automations' z-score
  filter on the loss: the latest value against the mean and std of the 30 before it,
  alert when |z| > 3.
- ``variance_floor_alerts``: data2vec's guard: the target std (the per-dimension std
  across samples of the layer-normed targets, ``hierarchy.feat_std``) under 0.1 at any
  level stops the run (fairseq data2vec's ``min_target_var``).
- ``probe_failure``: the first probe at or after the onset that lost what training gave
  it: below the random-init encoder's by more than the probe's noise (2 binomial standard
  errors of the difference), back within that noise of it when the probe before the
  onset was clearly above it, or within 2 standard errors of chance.
"""

import dataclasses
import math
from typing import List, Optional, Tuple

import numpy as np

from hjepa_trainer.health import STATUS_KEY, HealthMonitor
from tensorboard_plugin_hjepa import catalog
from tensorboard_plugin_hjepa.catalog import schema
from tensorboard_plugin_hjepa.doctor import read_logdir
from tensorboard_plugin_hjepa.run_data import RunData, Series

ZSCORE_WINDOW = 30
ZSCORE_LIMIT = 3.0
TARGET_STD_FLOOR = 0.1
PROBE_SE = 2.0  # standard errors a probe must be off by to count as failed


@dataclasses.dataclass
class Alert:
    step: int
    status: str
    what: str = ""  # the lights, branches and patterns that are new
    action: str = ""  # what the alert said to do first


def load(run_dir: str) -> RunData:
    """The run as the tab reads it."""
    return next(iter(read_logdir(run_dir).values()))


def last_training_step(run: RunData) -> int:
    """The step of the last training step's loss: where the trainer's last check runs (an
    evaluation "after the last step" is logged one step later)."""
    loss = run.get("loss.total")
    return int(loss.steps[-1]) if loss is not None and len(loss) else int(run.last_step)


def check_steps(last_step: int, every: int) -> List[int]:
    """The steps the trainer's online checks run at: every ``every`` steps and the last."""
    steps = list(range(every, last_step + 1, every))
    if not steps or steps[-1] != last_step:
        steps.append(last_step)
    return steps


def _what(change) -> str:
    parts = ["%s@%s=%s" % (i["key"], i.get("level"), i["status"]) for i in change.worse_items]
    parts += ["branch " + b["id"] for b in change.new_branches]
    parts += ["pattern " + p["id"] for p in change.new_patterns]
    return ", ".join(parts)


class _StatusLog:
    """A writer that keeps what the checks log as their verdict (``health.status``, the
    strip of the tab's timeline) and drops the rest."""

    def __init__(self) -> None:
        self.steps: List[int] = []
        self.ranks: List[float] = []

    def scalar(self, key, value, step, **kwargs) -> None:
        if key == STATUS_KEY:
            self.steps.append(int(step))
            self.ranks.append(float(value))

    def text(self, *args, **kwargs) -> None:
        pass


def product_alerts(run: RunData, every: int, last_step: int) -> List[Alert]:
    """The online checks' alerts (warning or worse), replayed over the logged curves."""
    return replay(run, every, last_step)[0]


def replay(run: RunData, every: int, last_step: int) -> Tuple[List[Alert], RunData]:
    """The online checks replayed: their alerts (warning or worse), and the run with the
    statuses they log (``health.status``), as the current trainer writes it."""
    statuses = _StatusLog()
    monitor = HealthMonitor(run.manifest, every=every, say=lambda line: None, writer=statuses)
    points = sorted(
        (int(step), key, level, float(wall), float(value))
        for (key, level), series in run.series.items()
        for step, wall, value in zip(series.steps, series.wall_times, series.values)
    )
    out, added, i = [], [False] * len(points), 0  # every point before i is added
    for step in check_steps(last_step, every):
        # What the check after ``step`` sees: every point up to it, and an evaluation
        # "after step + 1 steps" when one ran just before the check (the run's last one).
        j = i
        while j < len(points) and points[j][0] <= step + 1:
            s, key, level, wall, value = points[j]
            if not added[j] and (s <= step or key.startswith("eval.")):
                monitor.history.add(key, value, s, level=level, wall_time=wall)
                added[j] = True
            j += 1
        while i < len(points) and added[i]:
            i += 1
        alert = monitor.check(step)
        if alert is not None and schema.severity(alert.status) >= schema.severity(schema.WARNING):
            first = alert.health.get("first_action") or {}
            out.append(Alert(step, alert.status, _what(alert.change), first.get("action", "")))
    steps = np.asarray(statuses.steps, dtype=np.int64)
    series = dict(run.series)
    series[(STATUS_KEY, None)] = Series(
        catalog.tag(STATUS_KEY), steps, steps.astype(np.float64), np.asarray(statuses.ranks)
    )
    return out, dataclasses.replace(run, series=series)


def zscore_alerts(run: RunData) -> List[Alert]:
    """|z| > 3 of each loss point against the 30 points before it."""
    series = run.get("loss.total")
    if series is None or len(series) <= ZSCORE_WINDOW:
        return []
    y = series.values
    windows = np.lib.stride_tricks.sliding_window_view(y[:-1], ZSCORE_WINDOW)
    mean, std = windows.mean(axis=1), windows.std(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (y[ZSCORE_WINDOW:] - mean) / std
    fired = np.flatnonzero(np.abs(np.nan_to_num(z, nan=0.0)) > ZSCORE_LIMIT) + ZSCORE_WINDOW
    return [
        Alert(int(series.steps[j]), "alert", "|z| %.1f" % abs(z[j - ZSCORE_WINDOW])) for j in fired
    ]


def variance_floor_alerts(run: RunData) -> List[Alert]:
    """Every logged point at which some level's target std is under the floor."""
    out = {}
    for (key, level), series in run.series.items():
        if key != "hierarchy.feat_std":
            continue
        for step, value in zip(series.steps, series.values):
            if value < TARGET_STD_FLOOR and int(step) not in out:
                out[int(step)] = Alert(int(step), "alert", "level %s std %.3g" % (level, value))
    return [out[s] for s in sorted(out)]


def _last(run: RunData, key: str) -> Optional[float]:
    series = run.get(key)
    if series is None or not len(series):
        return None
    return float(series.values[-1])


def probe_failure(run: RunData, onset: int) -> Tuple[Optional[int], str]:
    """(step, how) of the first probe at or after ``onset`` that failed; (None, "")."""
    probe = run.get("eval.knn_top1")
    base = _last(run, "eval.knn_top1_random_init")
    classes = _last(run, "eval.num_classes")
    queries = _last(run, "eval.probe_queries")
    if probe is None or base is None or not classes or not queries:
        return None, ""
    chance = 1.0 / classes

    def above_base(acc: float) -> float:  # standard errors above the random-init encoder's
        return (acc - base) / math.sqrt((acc * (1 - acc) + base * (1 - base)) / queries)

    before = [acc for step, acc in zip(probe.steps, probe.values) if 0 < step < onset]
    learnt = bool(before) and above_base(before[-1]) > PROBE_SE
    for step, acc in zip(probe.steps, probe.values):
        if step < onset or step == 0:
            continue
        if above_base(acc) < -PROBE_SE:
            return int(step), "below random init (%.3f < %.3f)" % (acc, base)
        if learnt and above_base(acc) < PROBE_SE:
            return int(step), "back to random init (%.3f vs %.3f)" % (acc, base)
        if acc <= chance + PROBE_SE * math.sqrt(chance * (1 - chance) / queries):
            return int(step), "at chance (%.3f)" % acc
    return None, ""


def first_at_or_after(alerts: List[Alert], step: int) -> Optional[Alert]:
    return next((a for a in alerts if a.step >= step), None)
