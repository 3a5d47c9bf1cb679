"""``hjepa-doctor LOGDIR --watch``: follows a live logdir and prints only what changed.

The logdir is written *between polls*: ``time.sleep`` of the doctor is replaced by a
function that appends events (deterministic, no race with a background writer), and
raising ``KeyboardInterrupt`` from it stands for the user's Ctrl-C.
"""

import numpy as np
import pytest

from tensorboard_plugin_hjepa import doctor
from tensorboard_plugin_hjepa.summary import RunManifest, SummaryWriter

DIM = 192


def _write(writer, steps, *, collapse=False):
    for step in steps:
        loss = 0.2 + np.exp(-step / 10)
        writer.scalar("loss.total", loss, step)
        for level in range(2):
            writer.scalar("loss.level", loss / (level + 1), step, level=level)
            std = (0.05 if collapse else 0.8) / np.sqrt(DIM)
            writer.scalar("collapse.mean_std_per_dim", std, step, level=level)
            writer.scalar("collapse.mean_similarity", 0.05, step, level=level)
    writer.flush()


def _writer(run_dir):
    manifest = RunManifest(
        num_levels=2,
        hierarchy_weights=[1.0, 0.5],
        embed_dim=DIM,
        total_steps=200,
        collapse_rows=1024,
    )
    return SummaryWriter(str(run_dir), manifest=manifest)


def _watch(logdir, monkeypatch, capsys, between_polls, *extra):
    """Run --watch; ``between_polls[i]()`` runs at the i-th sleep; then Ctrl-C."""
    sleeps = []

    def fake_sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) > len(between_polls):
            raise KeyboardInterrupt
        between_polls[len(sleeps) - 1]()

    monkeypatch.setattr(doctor.time, "sleep", fake_sleep)
    code = doctor.main([str(logdir), "--watch", "--interval", "0.5", *extra])
    out, err = capsys.readouterr()
    assert sleeps and all(s == 0.5 for s in sleeps)
    return code, out, err


def test_watch_prints_a_run_once_then_only_its_changes(tmp_path, monkeypatch, capsys):
    writer = _writer(tmp_path / "live")
    _write(writer, range(60))
    other = []

    def nothing_new():
        pass

    def collapse():
        _write(writer, range(60, 120), collapse=True)

    def new_run():
        other.append(_writer(tmp_path / "second"))
        _write(other[0], range(60))

    code, out, err = _watch(tmp_path, monkeypatch, capsys, [nothing_new, collapse, new_run])
    writer.close()
    other[0].close()
    lines = [line for line in out.splitlines() if "run '" in line]
    assert len(lines) == 3, out  # the first sight, the change, the new run; nothing for no change
    assert "new run 'live'" in lines[0] and "HEALTHY" in lines[0]
    assert "run 'live': step 119: COLLAPSE (was healthy)" in lines[1]
    assert "collapse.mean_std_per_dim level 0 COLLAPSE" in lines[1]
    assert "Collapse detected?" in lines[1] and "Reduce the learning rate" in lines[1]
    assert "new run 'second'" in lines[2] and "HEALTHY" in lines[2]
    assert "stopped watching; 2 run(s): 1 collapse, 1 healthy" in out
    assert code == doctor.EXIT_ALERT  # the last state has a collapsed run
    assert err == ""


def test_watch_reports_a_recovery_and_exits_0(tmp_path, monkeypatch, capsys):
    writer = _writer(tmp_path / "live")
    _write(writer, range(60), collapse=True)

    def recover():
        _write(writer, range(60, 200))

    code, out, _ = _watch(tmp_path, monkeypatch, capsys, [recover], "--run", "live")
    writer.close()
    assert "new run 'live'" in out and "COLLAPSE" in out
    assert "HEALTHY (was collapse)" in out and "better or cleared: collapse" in out
    assert code == doctor.EXIT_OK


def test_watch_waits_for_runs_and_says_so_once(tmp_path, monkeypatch, capsys):
    writers = []

    def nothing():
        pass

    def first_run():
        writers.append(_writer(tmp_path / "late"))
        _write(writers[0], range(60))

    code, out, err = _watch(tmp_path, monkeypatch, capsys, [nothing, nothing, first_run])
    writers[0].close()
    assert err.count("no H-JEPA runs found") == 1 and "still watching" in err
    assert "new run 'late'" in out
    assert code == doctor.EXIT_OK


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--watch", "--json"], "--json is not supported"),
        (["--watch", "--interval", "0"], "--interval must be > 0"),
    ],
)
def test_watch_usage_errors(tmp_path, capsys, argv, message):
    assert doctor.main([str(tmp_path)] + argv) == doctor.EXIT_ERROR
    assert message in capsys.readouterr().err


def test_watch_of_a_missing_logdir_is_a_clean_error(tmp_path, capsys):
    assert doctor.main([str(tmp_path / "nope"), "--watch"]) == doctor.EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith("hjepa-doctor: error: logdir") and "Traceback" not in err


def test_max_polls_bounds_the_watch(tmp_path, capsys):
    writer = _writer(tmp_path / "live")
    _write(writer, range(60))
    writer.close()
    code = doctor.main([str(tmp_path), "--watch", "--interval", "0.01", "--max-polls", "3"])
    out = capsys.readouterr().out
    assert code == doctor.EXIT_OK
    assert out.count("new run 'live'") == 1 and "stopped watching; 1 run(s): 1 healthy" in out


def test_watch_judges_logs_without_a_manifest_at_the_given_dimension(tmp_path, capsys):
    from tensorboard_plugin_hjepa.summary import write_plain_scalars

    rows = []
    for step in range(60):
        rows.append(("train/loss/total", 1.0 / (1 + step), step))
        rows.append(("train/collapse/level0_mean_std_per_dim", 0.05 / np.sqrt(DIM), step))
        rows.append(("train/collapse/level0_mean_similarity", 0.05, step))
    write_plain_scalars(str(tmp_path / "plain"), rows)
    code = doctor.main([str(tmp_path), "--watch", "--interval", "0.01", "--max-polls", "1"])
    assert code == doctor.EXIT_OK and "COLLAPSE" not in capsys.readouterr().out
    code = doctor.main(
        [
            str(tmp_path),
            "--watch",
            "--interval",
            "0.01",
            "--max-polls",
            "1",
            "--embed-dim",
            str(DIM),
        ]
    )
    out = capsys.readouterr().out
    assert code == doctor.EXIT_ALERT
    assert "new run 'plain'" in out and "collapse.mean_std_per_dim level 0 COLLAPSE" in out
