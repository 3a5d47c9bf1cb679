"""``examples/own_training_loop.py``: a plain PyTorch JEPA loop (not the bundled trainer)
with ``hjepa_trainer.metrics`` and the online checks writes logs the tab reads fully."""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")

from tensorboard_plugin_hjepa.catalog import schema
from tests.conftest import app_for

EXAMPLE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "own_training_loop.py"
)


def _run(logdir, *extra, expect=0):
    proc = subprocess.run(
        [
            sys.executable,
            EXAMPLE,
            "--logdir",
            str(logdir),
            "--steps",
            "120",
            "--check-every",
            "20",
            "--threads",
            "1",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == expect, proc.stderr
    return proc.stderr


@pytest.fixture(scope="module")
def healthy_logdir(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("own")
    err = _run(logdir / "own")
    return logdir, err


def test_every_light_is_known_through_the_health_route(healthy_logdir):
    logdir, err = healthy_logdir
    client, _, _ = app_for(str(logdir))
    response = client.get("/data/plugin/hjepa/health?run=own")
    assert response.status_code == 200
    health = json.loads(response.get_data())
    unknown = [
        (l["key"], l["level"], l["explanation"])
        for l in health["lights"]
        if l["status"] == schema.UNKNOWN
    ]
    # On a CPU there is no GPU memory to measure: the one light that says so.
    assert unknown == [
        (
            "performance.gpu_memory_allocated_gb",
            None,
            "no data: train/performance/gpu_memory_allocated_gb was not logged",
        )
    ]
    assert health["contributions"]["status"] != schema.UNKNOWN
    assert health["source"] == "hjepa" and health["levels"] == [0, 1] and health["embed_dim"] == 64
    assert health["status"] not in schema.ALERTS, health["status_reason"]
    assert not [b["id"] for b in health["flowchart"] if b["fired"] and b["id"] == "collapse"]
    runs = json.loads(client.get("/data/plugin/hjepa/runs").get_data())["runs"]
    assert [(r["run"], r["unknown_lights"]) for r in runs] == [("own", 1)]
    assert "120 steps; 5 online checks" in err  # after steps 20, 40, ..., 100


def test_breaking_the_stop_gradient_is_caught_online(tmp_path):
    err = _run(tmp_path / "broken", "--no-stop-gradient", expect=3)
    alerts = [line for line in err.splitlines() if line.startswith("hjepa-health:")]
    assert alerts and "health.stop_on=collapse reached: stopping" in alerts[-1]
    # Within ~20 steps the loss falls to ~0 (targets with gradients are trivial to
    # predict): the loss-ratio light is critical before the collapse lights are judged.
    assert alerts[-1].split(": ")[2].split(" ")[0] in ("COLLAPSE", "CRITICAL"), alerts[-1]
    # The loop passes its target features: the missing stop-gradient is named (it used to
    # log 0 there, a "healthy" stop-gradient light).
    assert "gradient_flow.target_features_grad_norm CRITICAL" in alerts[0], alerts[0]
    assert "do first: Restore the stop-gradient" in alerts[0], alerts[0]
    assert os.path.exists(tmp_path / "broken" / "checkpoint.pt")
