"""Online health checks: bounded history, alerts once per new problem, stop_on, real runs.

The real runs use the tiny test config: a healthy one (no collapse alert, runs to the
end) and one with ``training.stop_gradient=false`` (targets from the context encoder
with gradients: it collapses within ~50 steps on a CPU), whose alert is printed, written
to the event file as text, and with ``health.stop_on=collapse`` stops the process with
exit status 3 and a checkpoint.
"""

import math
import os
import subprocess
import sys

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util import tensor_util

from hjepa_trainer import checkpoint as ckpt
from hjepa_trainer import config as C
from hjepa_trainer.health import ALERT_KEY, EXIT_HEALTH_STOP, HealthMonitor, MetricHistory
from hjepa_trainer.train import train
from tensorboard_plugin_hjepa import catalog
from tensorboard_plugin_hjepa.catalog import schema
from tensorboard_plugin_hjepa.diagnosis import diagnose
from tensorboard_plugin_hjepa.doctor import read_logdir
from tensorboard_plugin_hjepa.summary import RunManifest

from trainer_helpers import TINY, read_scalars, tiny_config

DIM = 64
RUN_STEPS = 100
HEALTH = ["health.every=10", f"training.total_steps={RUN_STEPS}", "training.checkpoint_every=50"]


def _texts(run_dir):
    """[(step, text)] of the health alert tag in a run's event files."""
    ea = EventAccumulator(str(run_dir), size_guidance={"tensors": 0})
    ea.Reload()
    tag = catalog.tag(ALERT_KEY)
    if tag not in ea.Tags()["tensors"]:
        return []
    return [
        (ev.step, tensor_util.make_ndarray(ev.tensor_proto).item().decode())
        for ev in ea.Tensors(tag)
    ]


# ------------------------------------------------------------------------ history
def test_history_is_bounded_keeps_the_start_the_recent_points_and_every_nan():
    history = MetricHistory(max_points=200)
    for step in range(10_000):
        value = float("nan") if step in (3000, 7000) else float(step)
        history.add("loss.total", value, step)
    series = history.run_data("r", None).get("loss.total")
    assert len(series) <= 200
    assert list(series.steps[:20]) == list(range(20))  # the head: the "first" window
    assert list(series.steps[-100:]) == list(range(9900, 10_000))  # the recent half, exact
    assert {3000, 7000} <= set(series.steps.tolist())  # non-finite points are never thinned
    assert np.all(np.diff(series.steps) > 0)
    assert series.tag == "train/loss/total"


def test_history_keeps_group_0_only_and_rejects_unknown_keys():
    history = MetricHistory()
    history.add("learning_rate.param_group", 1e-3, 0, group=0)
    history.add("learning_rate.param_group", 5e-4, 0, group=1)
    data = history.run_data("r", None)
    assert data.get("learning_rate.param_group").tag == "train/learning_rate/param_group_0"
    assert len(history) == 1
    with pytest.raises(KeyError, match="unknown metric key"):
        history.add("loss.totl", 1.0, 0)


# ------------------------------------------------------------------------ monitor
class _Writer:
    def __init__(self):
        self.scalars, self.texts = [], []

    def scalar(self, key, value, step, *, level=None, group=None):
        self.scalars.append((key, value, step, level))

    def text(self, tag, text, step):
        self.texts.append((tag, text, step))


def _feed(monitor, steps, std):
    for step in steps:
        monitor.scalar("loss.total", 1.0 / (1 + step), step)
        for level in range(2):
            monitor.scalar("collapse.mean_std_per_dim", std / math.sqrt(DIM), step, level=level)


def _monitor(**kw):
    manifest = RunManifest(
        num_levels=2, hierarchy_weights=[1.0, 0.5], embed_dim=DIM, total_steps=100
    )
    writer, lines = _Writer(), []
    return HealthMonitor(manifest, writer=writer, every=10, say=lines.append, **kw), writer, lines


def test_monitor_forwards_every_value_and_alerts_once_per_new_problem():
    monitor, writer, lines = _monitor()
    _feed(monitor, range(0, 11), std=0.8)
    assert monitor.maybe_check(0) is None and monitor.check_seconds == []  # not due at step 0
    assert monitor.maybe_check(10) is None and lines == []  # healthy: silent
    forwarded = [s for s in writer.scalars if s[0] != "health.status"]
    assert len(forwarded) == 33  # forwarded, not swallowed
    assert [s for s in writer.scalars if s[0] == "health.status"] == [
        ("health.status", 1.0, 10, None)  # the check's verdict, as its rank: healthy
    ]
    # Healthy past early training (a quarter of the 100 planned steps), so that the first
    # collapse also shows as a fall from the std's own peak (derived.std_fall_from_peak).
    _feed(monitor, range(11, 31), std=0.8)
    _feed(monitor, range(31, 41), std=0.05)
    assert monitor.maybe_check(39) is None  # not due
    alert = monitor.maybe_check(40)
    assert alert is not None and alert.status == schema.COLLAPSE and not alert.stop
    assert len(lines) == 1 and "\n" not in lines[0]
    assert lines[0].startswith("hjepa-health: step 40: COLLAPSE (was healthy)")
    assert "collapse.mean_std_per_dim level 0 COLLAPSE" in lines[0]
    fell = {l["level"]: l["status"] for l in alert.health["lights"] if "std_fall" in l["key"]}
    assert fell == {0: schema.COLLAPSE, 1: schema.COLLAPSE}  # 16x below its peak
    assert "Collapse detected?" in lines[0] and "Reduce the learning rate" in lines[0]
    ((tag, text, step),) = writer.texts
    assert (tag, step) == ("train/health/alert", 40) and text.startswith("**COLLAPSE** at step 40")
    _feed(monitor, range(41, 50), std=0.05)
    assert monitor.check(49) is None and len(lines) == 1  # the same problem: not repeated
    _feed(monitor, range(50, 200), std=0.8)
    assert monitor.check(199) is None  # a recovery is not an alert
    _feed(monitor, range(200, 400), std=0.05)
    assert monitor.check(399) is None  # a relapse to an already reported status: reported once
    assert monitor.last_health["status"] == schema.COLLAPSE
    assert len(monitor.check_seconds) == 5


def test_monitor_stop_on_collapse_sets_stop_and_says_so():
    monitor, writer, lines = _monitor(stop_on="collapse")
    _feed(monitor, range(0, 20), std=0.05)
    alert = monitor.check(19)
    assert alert.stop and "health.stop_on=collapse reached: stopping" in lines[0]
    assert "The run stops here" in writer.texts[0][1]
    monitor_w, _, _ = _monitor(stop_on="critical")  # collapse is below critical: no stop
    _feed(monitor_w, range(0, 20), std=0.05)
    assert not monitor_w.check(19).stop


@pytest.mark.parametrize("kw,match", [({"every": 0}, "every"), ({"stop_on": "bad"}, "stop_on")])
def test_monitor_rejects_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        HealthMonitor(None, **kw)


@pytest.mark.parametrize(
    "override,match",
    [
        ("health.stop_on=sometimes", "health.stop_on"),
        ("health.every=-1", "health.every"),
        ("health.max_points=3", "health.max_points"),
        ("training.stop_gradient=maybe", "training.stop_gradient"),
    ],
)
def test_config_validates_the_health_section(tmp_path, override, match):
    with pytest.raises(C.ConfigError, match=match):
        tiny_config(tmp_path, override)


def test_health_defaults_are_on_and_never_stop():
    cfg = C.Config()
    assert cfg.health.enabled and cfg.health.stop_on is None and cfg.training.stop_gradient


# ------------------------------------------------------------------------ real runs
def test_a_healthy_tiny_run_raises_no_collapse_or_critical_alert(tmp_path):
    result = train(tiny_config(tmp_path, *HEALTH, "health.stop_on=collapse"), progress=False)
    assert result.end_step == RUN_STEPS and result.health_stop is None and not result.interrupted
    assert len(result.health_check_seconds) == RUN_STEPS // 10  # after steps 10, 20, ..., 90 and 99
    for line in result.health_alerts:  # early-training warnings are reported, never alerts
        assert "COLLAPSE" not in line and "CRITICAL" not in line, line
        assert "Collapse detected?" not in line, line
    for _, text in _texts(result.run_dir):
        assert text.startswith("**WARNING**"), text


def test_a_collapsing_run_alerts_writes_the_text_and_stops_with_exit_status_3(tmp_path):
    """Real process:
    ``hjepa-train --set training.stop_gradient=false --set health.stop_on=collapse``."""
    args = [
        a
        for item in TINY + HEALTH + ["training.stop_gradient=false", "health.stop_on=collapse"]
        for a in ("--set", item)
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "hjepa_trainer", *args, "--logdir", str(tmp_path), "--no-progress"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == EXIT_HEALTH_STOP == 3, proc.stderr
    alerts = [line for line in proc.stderr.splitlines() if line.startswith("hjepa-health:")]
    stop_line = alerts[-1]
    assert "health.stop_on=collapse reached: stopping" in stop_line
    # The cause is named at the first check: gradients reach the targets (CRITICAL),
    # before (or with) the collapse lights it leads to.
    assert "CRITICAL" in stop_line or "COLLAPSE" in stop_line
    assert "gradient_flow.target_features_grad_norm" in stop_line
    assert "the stop-gradient is missing" in stop_line
    # What to do first answers that evidence, before the collapse branch's general actions.
    assert "do first: Restore the stop-gradient" in stop_line
    assert stop_line.index("do first:") < stop_line.index("new:")
    step = int(stop_line.split("step ")[1].split(":")[0])
    assert step < RUN_STEPS - 1  # stopped early
    state = ckpt.load(os.path.join(tmp_path, "run", ckpt.CHECKPOINT_NAME))
    assert state["step"] == step + 1  # the checkpoint holds the state after the checked step
    texts = _texts(tmp_path / "run")
    assert texts and texts[-1][0] == step
    assert "stop-gradient is missing" in texts[-1][1] and "The run stops here" in texts[-1][1]
    assert "exit status: 0 done" in subprocess.run(
        [sys.executable, "-m", "hjepa_trainer", "--help"], capture_output=True, text=True
    ).stdout.replace("\n", " ")


def _ddp_health_worker(rank, world, port, logdir, out_dir):
    import torch as th
    import torch.distributed as dist

    from hjepa_trainer.train import Trainer

    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        WORLD_SIZE=str(world),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
    )
    th.set_num_threads(1)
    cfg = tiny_config(
        logdir,
        "training.total_steps=8",
        "training.device=cpu",
        "health.every=2",
        "health.stop_on=warning",
    )
    result = Trainer(cfg, progress=False).run()
    th.save(
        {
            "end_step": result.end_step,
            "health_stop": result.health_stop,
            "interrupted": result.interrupted,
        },
        os.path.join(out_dir, f"rank{rank}.pt"),
    )
    dist.destroy_process_group()


def test_under_ddp_a_health_stop_stops_every_rank_at_the_same_step(tmp_path):
    import socket

    import torch
    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "out"
    out.mkdir()
    mp.start_processes(
        _ddp_health_worker,
        args=(2, port, str(tmp_path / "logs"), str(out)),
        nprocs=2,
        join=True,
        start_method="spawn",
    )
    r0, r1 = (torch.load(out / f"rank{r}.pt", weights_only=False) for r in (0, 1))
    # Rank 0 checks after step 2 (a warning: the tiny config's mask ratio is 0.25); the
    # stop travels with step 3's loss all-reduce, so both ranks end after 4 steps.
    assert r0["end_step"] == r1["end_step"] == 4
    assert r0["health_stop"] == schema.WARNING and r1["interrupted"]
    assert ckpt.load(str(tmp_path / "logs" / "run" / ckpt.CHECKPOINT_NAME))["step"] == 4


# ------------------------------------------------------------------------ resume
def test_a_resumed_run_alerts_as_the_same_run_uninterrupted(tmp_path):
    """Online and offline see the same run: after --resume the checks see the history
    before it (read from the event files), so an interrupted-and-resumed run prints the
    alerts an uninterrupted one prints, at the same steps, none of them twice."""
    broken = [*HEALTH, "training.stop_gradient=false"]
    whole = train(tiny_config(tmp_path / "whole", *broken), progress=False)
    first = train(tiny_config(tmp_path / "cut", *broken), progress=False, max_steps=50)
    second = train(tiny_config(tmp_path / "cut", *broken), resume=True, progress=False)
    assert first.end_step == 50 and second.start_step == 50 and second.end_step == RUN_STEPS
    assert whole.health_alerts and first.health_alerts

    def steps_and_status(lines):
        return [line.split(" | ")[0] for line in lines]

    assert steps_and_status(first.health_alerts + second.health_alerts) == steps_and_status(
        whole.health_alerts
    )


def test_a_run_that_collapsed_before_its_resume_is_stopped_at_the_first_check_after_it(tmp_path):
    broken = [*HEALTH, "training.stop_gradient=false"]
    first = train(tiny_config(tmp_path, *broken), progress=False, max_steps=80)
    assert any("CRITICAL" in line for line in first.health_alerts)
    # Resumed with the stop-gradient restored (its light clears at once) but the
    # representation already collapsed: the history before the resume counts, so stop_on
    # sees the collapse at the first check.
    resumed = train(
        tiny_config(tmp_path, *HEALTH, "health.stop_on=collapse"), resume=True, progress=False
    )
    assert resumed.health_stop == schema.COLLAPSE
    assert resumed.end_step == 81  # the first check after the resume: after step 80
    assert "Collapse detected?" in resumed.health_alerts[-1]


def test_resume_rebuilds_the_history_from_the_event_files(tmp_path):
    result = train(tiny_config(tmp_path, *HEALTH), progress=False, max_steps=50)
    monitor, _, _ = _monitor()
    added = monitor.resume(result.run_dir, 40)  # resumed from an older checkpoint
    history = monitor.history.run_data("r", None)
    assert added > 0 and list(history.get("loss.total").steps) == list(range(50))  # on disk
    assert monitor.last_health["last_step"] == 30  # what the last check before step 40 saw
    assert history.get("eval.num_classes") is not None  # logged once, at step 0
    assert monitor.resume(str(tmp_path / "empty"), 10) == 0  # nothing written yet: no history


# ------------------------------------------------------------ the last healthy checkpoint
def test_a_broken_run_names_the_last_healthy_checkpoint_and_resumes_from_it(tmp_path):
    # No random-init baseline: the tiny run's 24-query probe cannot tell its gain from its
    # noise, which the last check (after the last probe) would rightly call a warning.
    every10 = [*HEALTH, "training.checkpoint_every=10", "eval.random_init_baseline=false"]
    healthy = train(tiny_config(tmp_path, *every10), progress=False, max_steps=40)
    run_dir = healthy.run_dir
    kept = os.path.join(run_dir, ckpt.HEALTHY_NAME)
    assert ckpt.load(kept)["step"] == 40  # the verdict was healthy at every checkpoint
    # The stop-gradient breaks at the resume: stopped at the first check, the alert and
    # the stop name the healthy checkpoint, which the bad state does not replace.
    broken = train(
        tiny_config(tmp_path, *every10, "training.stop_gradient=false", "health.stop_on=critical"),
        resume=True,
        progress=False,
    )
    assert broken.health_stop == schema.CRITICAL and broken.end_step == 41
    assert "| last healthy checkpoint: step 40 |" in broken.health_alerts[-1]
    assert ckpt.load(kept)["step"] == 40
    assert ckpt.load(os.path.join(run_dir, ckpt.CHECKPOINT_NAME))["step"] == 41
    # The tab's answer and the doctor show which step to go back to.
    verdict = diagnose(next(iter(read_logdir(run_dir).values())))
    assert verdict["healthy_checkpoint_step"] == 40
    doctor = subprocess.run(
        [sys.executable, "-m", "tensorboard_plugin_hjepa.doctor", run_dir],
        capture_output=True,
        text=True,
    )
    assert "last healthy checkpoint: step 40 (hjepa-train --resume --from-healthy)" in (
        doctor.stdout
    )
    # Back to it, the stop-gradient restored: the run continues from step 40, the steps of
    # the broken stretch are kept aside as a run of their own, none is written twice.
    back = train(tiny_config(tmp_path, *every10), resume=True, progress=False, from_healthy=True)
    assert back.start_step == 40 and back.end_step == RUN_STEPS and back.health_stop is None
    loss = [step for step, _ in read_scalars(run_dir)[catalog.tag("loss.total")]]
    assert loss == list(range(RUN_STEPS))
    aside = os.path.join(run_dir, "abandoned_after_step_40")
    assert [s for s, _ in read_scalars(aside)[catalog.tag("loss.total")]][-1] == 40
    assert ckpt.load(os.path.join(aside, ckpt.CHECKPOINT_NAME))["step"] == 41
    assert ckpt.load(kept)["step"] == RUN_STEPS  # healthy again to the end
    kept_steps = read_scalars(run_dir)[catalog.tag("health.healthy_checkpoint_step")]
    # From the first checkpoint after the first check (at step 10) on, every one was kept.
    assert [s for s, _ in kept_steps] == list(range(20, RUN_STEPS + 1, 10))


def test_from_healthy_without_a_healthy_checkpoint_says_so(tmp_path):
    args = [a for item in TINY for a in ("--set", item)]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hjepa_trainer",
            *args,
            "--logdir",
            str(tmp_path),
            "--resume",
            "--from-healthy",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "no checkpoint_healthy.pt" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "hjepa_trainer", "--from-healthy"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "--from-healthy needs --resume" in proc.stderr


def test_a_probe_that_ends_below_its_random_init_encoder_is_alerted_online(tmp_path, monkeypatch):
    """The run's last evaluation comes before its last online check, and the probe's
    baseline and class count go through the monitor like every value: a probe that ends
    below the random-init encoder is alerted while the run trains (the alert line and
    ``train/health/alert``), not only by the tab afterwards. The real tiny run; only the
    probe's accuracy after the random-init baseline is forced down."""
    from hjepa_trainer import train as train_module

    real_knn = train_module.Trainer.knn
    calls = []

    def knn(self):
        calls.append(self.step)
        return real_knn(self) if self.step == 0 else 0.02  # below chance and random init

    monkeypatch.setattr(train_module.Trainer, "knn", knn)
    result = train(
        tiny_config(tmp_path, *HEALTH, "data.val_size=200", "data.probe_size=200"),
        progress=False,
    )
    assert calls == [0, RUN_STEPS]  # the random-init baseline, then the run's last probe
    probe_lines = [line for line in result.health_alerts if "derived.knn_vs_random_init" in line]
    assert probe_lines and "step %d:" % (RUN_STEPS - 1) in probe_lines[-1], result.health_alerts
    last_text = _texts(result.run_dir)[-1]
    assert last_text[0] == RUN_STEPS - 1 and "derived.knn_vs_random_init" in last_text[1]
