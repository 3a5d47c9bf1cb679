"""``HJepaHealth`` in real PyTorch Lightning training (``examples/lightning_jepa.py``).

A healthy run is judged with every light the guide says it fills; a run without the
stop-gradient is stopped by the callback at its first check, with a checkpoint and the
stop-gradient as the first action; gradients are measured before Lightning's clipping.
"""

import glob
import json
import os
import subprocess
import sys

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

from hjepa_trainer.health import ALERT_KEY
from tensorboard_plugin_hjepa import catalog
from tensorboard_plugin_hjepa.catalog import schema
from tests.conftest import app_for

EXAMPLE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "lightning_jepa.py"
)
CPU_UNKNOWN = {"performance.gpu_memory_allocated_gb"}  # nothing to measure on a CPU (the guide)


def _run(logdir, name, *extra, expect=0):
    proc = subprocess.run(
        [sys.executable, EXAMPLE, "--logdir", str(logdir), "--name", name, "--threads", "1"]
        + ["--steps", "120", "--check-every", "20", *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == expect, proc.stderr[-3000:]
    return [line for line in proc.stderr.splitlines() if line.startswith("hjepa-health:")]


def _health(logdir, run):
    client, _, _ = app_for(str(logdir))
    response = client.get(f"/data/plugin/hjepa/health?run={run}")
    assert response.status_code == 200
    return json.loads(response.get_data())


def _values(logdir, run, tag):
    client, _, _ = app_for(str(logdir))
    response = client.get(f"/data/plugin/hjepa/scalars?run={run}&tag={tag}")
    assert response.status_code == 200
    return {step: value for step, _, value in json.loads(response.get_data())["data"]}


def _written_steps(run_dir, tag):
    """Every step at which the run's event files hold the tag, repeats included (a
    reader keeps one value per step and would hide a step written twice)."""
    steps = []
    for path in sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents.*"))):
        for event in EventFileLoader(path).Load():
            steps += [event.step for value in event.summary.value if value.tag == tag]
    return sorted(steps)


@pytest.fixture(scope="module")
def lightning_runs(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("lightning")
    healthy = _run(logdir, "healthy")
    broken = _run(logdir, "broken", "--no-stop-gradient", expect=3)
    return logdir, healthy, broken


def test_healthy_run_judges_every_light_the_guide_says_it_fills(lightning_runs):
    logdir, alerts, _ = lightning_runs
    health = _health(logdir, "healthy")
    unknown = {l["key"] for l in health["lights"] if l["status"] == schema.UNKNOWN}
    assert unknown == CPU_UNKNOWN, [
        (l["key"], l["explanation"]) for l in health["lights"] if l["key"] in unknown
    ]
    assert health["status"] not in (schema.COLLAPSE, schema.CRITICAL), health["status"]
    assert not any("COLLAPSE" in a or "CRITICAL" in a for a in alerts), alerts
    # One run in TensorBoard: the module's own self.log curves sit beside the metrics.
    files = glob.glob(os.path.join(logdir, "healthy", "events.out.tfevents.*"))
    assert len(files) == 2, files


def test_no_stop_gradient_run_is_stopped_at_its_first_check(lightning_runs):
    logdir, _, alerts = lightning_runs
    assert len(alerts) == 1, alerts
    assert alerts[0].startswith("hjepa-health: step 20: CRITICAL")
    assert "do first: Restore the stop-gradient" in alerts[0]
    assert "health.stop_on=collapse reached: stopping" in alerts[0]
    stop_ckpt = os.path.join(logdir, "broken", "checkpoint_health_stop.ckpt")
    assert os.path.getsize(stop_ckpt) > 0
    health = _health(logdir, "broken")
    lights = {l["key"]: l["status"] for l in health["lights"] if l["level"] is None}
    assert lights["gradient_flow.target_features_grad_norm"] == schema.CRITICAL
    assert health["status"] == schema.CRITICAL
    # The alert is in the logs too (TensorBoard's Text dashboard).
    events = EventAccumulator(str(logdir / "broken"), size_guidance={"tensors": 0})
    events.Reload()
    (alert,) = events.Tensors(catalog.tag(ALERT_KEY))
    assert alert.step == 20 and b"Restore the stop-gradient" in alert.tensor_proto.string_val[0]


def test_gradients_are_measured_before_lightnings_clipping(tmp_path):
    _run(tmp_path, "clipped", "--clip", "1e-4", "--steps", "30", "--stop-on", "none")
    before = _values(tmp_path, "clipped", "train/gradient/global_norm_before_clip")
    after = _values(tmp_path, "clipped", "train/gradient/global_norm_after_clip")
    assert before and before.keys() == after.keys()
    for step in before:  # Lightning clipped to 1e-4 after the callback read the norm
        assert before[step] > 100 * after[step], (step, before[step], after[step])
        assert after[step] == pytest.approx(1e-4, rel=0.05)
    assert set(_values(tmp_path, "clipped", "train/gradient/was_clipped").values()) == {1.0}


def test_a_resumed_run_writes_every_step_once_and_keeps_its_windows(tmp_path):
    _run(tmp_path, "resumed", "--max-steps", "60")
    ckpt = str(tmp_path / "resumed" / "last.ckpt")
    # The loss, per-level and clipping windows go into Lightning's checkpoint.
    callbacks = torch.load(ckpt, weights_only=False)["callbacks"]
    (windows,) = [v for k, v in callbacks.items() if k.startswith("HJepaHealth")]
    assert len(windows["loss_window"]) == len(windows["clip_window"]) == 50
    _run(tmp_path, "resumed", "--resume", ckpt)
    for key in ("loss.total", "gradient.was_clipped"):  # no step lost, none written twice
        assert _written_steps(tmp_path / "resumed", catalog.tag(key)) == list(range(120))
    health = _health(tmp_path, "resumed")
    assert health["status"] not in (schema.COLLAPSE, schema.CRITICAL)
    # The random-init probe is not run again on a trained encoder.
    baseline = _values(tmp_path, "resumed", catalog.tag("eval.knn_top1_random_init"))
    assert list(baseline) == [0]


def test_with_gradient_accumulation_each_optimizer_step_is_written_once(tmp_path):
    _run(tmp_path, "accumulated", "--accumulate", "2", "--steps", "40", "--stop-on", "none")
    for key in ("loss.total", "gradient.was_clipped"):  # 80 batches, 40 optimizer steps
        assert _written_steps(tmp_path / "accumulated", catalog.tag(key)) == list(range(40))


def test_an_open_ended_run_has_no_last_step():
    """Lightning answers -1 for an endless dataset without max_steps, inf without any
    limit: neither is a planned length (every step would be the last)."""
    from types import SimpleNamespace

    from hjepa_trainer.lightning_callback import _total_steps

    totals = [_total_steps(SimpleNamespace(estimated_stepping_batches=n)) for n in (-1, 300)]
    assert totals == [None, 300]
    assert _total_steps(SimpleNamespace(estimated_stepping_batches=float("inf"))) is None
