"""``hjepa-doctor`` on generated logdirs: exit status, readable and JSON output, catalog."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tensorboard_plugin_hjepa import catalog, doctor
from tensorboard_plugin_hjepa.summary import RunManifest, SummaryWriter, write_plain_scalars

STEPS = 60


def _write_healthy(run_dir, *, nan_loss=False, collapse=False, dim=192):
    manifest = RunManifest(num_levels=2, hierarchy_weights=[1.0, 0.5], embed_dim=dim,
                           total_steps=STEPS, collapse_rows=1024)
    with SummaryWriter(run_dir, manifest=manifest) as writer:
        for step in range(STEPS):
            loss = 0.2 + np.exp(-step / 10)
            if nan_loss and step == STEPS - 1:
                loss = float("nan")
            writer.scalar("loss.total", loss, step)
            for level in range(2):
                writer.scalar("loss.level", loss / (level + 1), step, level=level)
                std = (0.05 if collapse and step > STEPS // 2 else 0.8) / np.sqrt(dim)
                writer.scalar("collapse.mean_std_per_dim", std, step, level=level)
                writer.scalar("collapse.mean_similarity", 0.05, step, level=level)


@pytest.fixture
def logdir(tmp_path):
    _write_healthy(str(tmp_path / "good"))
    return tmp_path


def _run(argv, capsys):
    code = doctor.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_healthy_logdir_exits_0_and_prints_the_verdict(logdir, capsys):
    code, out, err = _run([str(logdir)], capsys)
    assert code == 0, err
    assert "HEALTHY" in out and "run 'good'" in out
    assert "collapse.mean_std_per_dim" in out and "level 1:" in out
    assert "Hierarchy contributions" in out and "expected 66.7%" in out
    assert "\033[" not in out  # not a terminal: no colour codes


def test_a_collapsing_run_exits_1(logdir, capsys):
    _write_healthy(str(logdir / "bad"), collapse=True)
    code, out, _ = _run([str(logdir)], capsys)
    assert code == 1
    assert "COLLAPSE  run 'bad'" in out
    assert "Collapse detected?" in out  # the firing branch and its actions
    assert "Reduce the learning rate" in out
    assert "1 collapse, 1 healthy" in out


def test_a_nan_loss_exits_1_as_critical(logdir, capsys):
    _write_healthy(str(logdir / "nan"), nan_loss=True)
    code, out, _ = _run([str(logdir), "--run", "nan"], capsys)
    assert code == 1
    assert "CRITICAL" in out and "loss is NaN or infinite" in out
    assert "run 'good'" not in out


def test_json_output_parses_and_holds_every_run(logdir, capsys):
    _write_healthy(str(logdir / "nan"), nan_loss=True)
    code, out, _ = _run([str(logdir), "--json"], capsys)
    assert code == 1
    runs = json.loads(out)["runs"]
    assert set(runs) == {"good", "nan"}
    assert runs["good"]["status"] == "healthy" and runs["nan"]["status"] == "critical"
    assert runs["good"]["embed_dim"] == 192


def test_plain_scalar_logs_are_read_and_say_what_is_unknown(tmp_path, capsys):
    rows = []
    for step in range(STEPS):
        rows.append(("train/loss/total", 1.0 / (1 + step), step))
        rows.append(("train/collapse/level0_mean_std_per_dim", 0.03, step))
        rows.append(("train/collapse/level0_mean_similarity", 0.9, step))
    write_plain_scalars(str(tmp_path / "plain"), rows)
    code, out, _ = _run([str(tmp_path), "--json"], capsys)
    health = json.loads(out)["runs"]["plain"]
    assert code == 1 and health["status"] == "collapse"
    assert health["source"] == "plain" and health["embed_dim"] is None
    std = next(x for x in health["lights"] if x["key"] == "collapse.mean_std_per_dim")
    assert std["status"] == "unknown" and "embedding dim unknown" in std["explanation"]


@pytest.mark.parametrize("argv, message", [
    (["{tmp}/nope"], "does not exist"),
    (["{tmp}/empty"], "no H-JEPA runs found"),
    (["{tmp}/logs", "--run", "missing"], "unknown run 'missing'"),
])
def test_read_errors_exit_2_with_one_line(tmp_path, capsys, argv, message):
    (tmp_path / "empty").mkdir()
    write_plain_scalars(str(tmp_path / "empty" / "other"), [("accuracy", 0.5, 1)])
    _write_healthy(str(tmp_path / "logs" / "good"))
    code, out, err = _run([a.format(tmp=tmp_path) for a in argv], capsys)
    assert code == 2
    assert out == ""
    assert message in err and err.count("\n") == 1 and err.startswith("hjepa-doctor: error:")


def test_usage_error_exits_2(capsys):
    code, _, err = _run([], capsys)
    assert code == 2 and "logdir" in err
    code, _, err = _run(["x", "--colour", "pink"], capsys)
    assert code == 2


def test_colour_always_keeps_the_status_word(logdir, capsys):
    code, out, _ = _run([str(logdir), "--color", "always"], capsys)
    assert "\033[32mHEALTHY" in out


def test_colour_auto_respects_no_color(monkeypatch):
    class Tty:
        def isatty(self):
            return True
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert doctor._use_colour("auto", Tty()) is True  # pylint: disable=protected-access
    monkeypatch.setenv("NO_COLOR", "1")
    assert doctor._use_colour("auto", Tty()) is False  # pylint: disable=protected-access


def test_catalog_json_lists_every_metric(capsys):
    code, out, _ = _run(["catalog", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert [m["key"] for m in data["metrics"]] == [m.key for m in catalog.metrics()]
    assert data["flowchart"] and data["patterns"]


def test_catalog_table_lists_every_tag_with_its_rule(capsys):
    code, out, _ = _run(["catalog"], capsys)
    assert code == 0
    for metric in catalog.metrics():
        assert metric.tag in out
    line = next(x for x in out.splitlines() if x.startswith("train/collapse/level{i}_mean_std"))
    assert "collapse if < 0.1" in line and "sqrt_dim" in line
    line = next(x for x in out.splitlines() if "level{i}_mean_similarity " in x)
    assert "max(0.3, 4/sqrt(D))" in line


def test_console_script_runs(logdir):
    exe = os.path.join(os.path.dirname(sys.executable), "hjepa-doctor")
    if not os.path.exists(exe):
        pytest.skip("console script not installed")
    result = subprocess.run([exe, str(logdir), "--json"], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["runs"]["good"]["status"] == "healthy"
