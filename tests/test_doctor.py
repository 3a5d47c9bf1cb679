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
    manifest = RunManifest(
        num_levels=2,
        hierarchy_weights=[1.0, 0.5],
        embed_dim=dim,
        total_steps=STEPS,
        collapse_rows=1024,
    )
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


def test_healthy_logdir_exits_0_and_prints_a_summary(logdir, capsys):
    code, out, err = _run([str(logdir)], capsys)
    assert code == 0, err
    assert "HEALTHY  run 'good'" in out
    assert "status: every judged light is healthy" in out
    lights = next(line for line in out.splitlines() if "Lights:" in line)
    verdict = json.loads(_run([str(logdir), "--json"], capsys)[1])["runs"]["good"]
    judged = verdict["lights"] + verdict["contributions"]["checks"]
    statuses = [light["status"] for light in judged]
    assert lights.strip() == "Lights: 0 not healthy, %d healthy, %d unknown" % (
        statuses.count("healthy"),
        statuses.count("unknown"),
    )
    assert statuses.count("healthy") > 0 and statuses.count("unknown") > 0
    assert "level 1:" not in out and "Hierarchy contributions" not in out  # --verbose only
    assert "--verbose" in out  # the summary says how to see everything
    assert "\033[" not in out  # not a terminal: no colour codes


def test_verbose_prints_every_light_by_level(logdir, capsys):
    code, out, err = _run([str(logdir), "--verbose"], capsys)
    assert code == 0, err
    assert "HEALTHY" in out and "run 'good'" in out
    assert "collapse.mean_std_per_dim" in out and "level 1:" in out
    assert "Hierarchy contributions" in out and "expected 66.7%" in out
    assert "Expected ranges" in out


def test_a_collapsing_run_exits_1(logdir, capsys):
    _write_healthy(str(logdir / "bad"), collapse=True)
    code, out, _ = _run([str(logdir)], capsys)
    assert code == 1
    assert "COLLAPSE  run 'bad'" in out
    assert "Collapse detected?" in out  # the firing branch and its actions
    assert "Reduce the learning rate" in out
    assert "1 collapse, 1 healthy" in out


def _section(out, run):
    """The lines of one run's report."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if "run %r" % run in line)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("=")), len(lines))
    return lines[start:end]


def test_the_summary_lists_what_is_wrong_and_what_to_do(logdir, capsys):
    _write_healthy(str(logdir / "bad"), collapse=True)
    code, out, _ = _run([str(logdir)], capsys)
    assert code == 1
    bad = _section(out, "bad")
    assert bad[1].strip().startswith("status: worst light: collapse.")
    listed = [
        line.split()[:4]
        for line in bad
        if line.startswith("    ") and line.split()[0] in ("WARNING", "COLLAPSE", "CRITICAL")
    ]
    assert ["COLLAPSE", "collapse.mean_std_per_dim", "level", "0"] in listed
    assert ["COLLAPSE", "collapse.mean_std_per_dim", "level", "1"] in listed
    assert not any(line.split()[0] in ("HEALTHY", "UNKNOWN") for line in bad[2:])
    counts = next(line for line in bad if "Lights:" in line)
    assert "%d not healthy" % len(listed) in counts
    actions = [line.strip() for line in bad if line.strip().startswith("actions:")]
    assert actions and "Reduce the learning rate" in actions[0]
    fixes = [line.strip() for line in bad if line.strip().startswith("fix:")]
    assert fixes  # a detected pattern comes with its fix
    good = _section(out, "good")
    assert not any(line.strip().startswith(("actions:", "fix:")) for line in good)
    # Verbose shows the same run with every check behind the branch.
    code, verbose, _ = _run([str(logdir), "--verbose", "--run", "bad"], capsys)
    assert code == 1 and "check [" in verbose and "HEALTHY " in verbose


def test_the_summary_says_when_the_run_left_healthy(logdir, capsys):
    _write_healthy(str(logdir / "bad"), collapse=True)  # collapses after step 30 of 60
    code, out, _ = _run([str(logdir), "--json"], capsys)
    runs = json.loads(out)["runs"]
    tl = runs["bad"]["timeline"]
    assert tl["source"] == "judged" and tl["points"][-1]["step"] == STEPS - 1
    problem = tl["first_problem"]
    assert problem["status"] == "collapse" and problem["key"].startswith("collapse.")
    # Lights read the median of the last 5 points: 3 collapsed points turn it.
    assert STEPS // 2 < problem["step"] <= STEPS // 2 + 3
    assert 0 < problem["step"] - tl["healthy_until"] <= 2  # 50 judged steps over 60
    assert runs["good"]["timeline"]["first_problem"] is None
    code, out, _ = _run([str(logdir)], capsys)
    when = [line.strip() for line in _section(out, "bad") if line.strip().startswith("When:")]
    assert when == [
        "When: healthy until step %d, then collapse at step %d from %s (level %d)"
        % (tl["healthy_until"], problem["step"], problem["key"], problem["level"])
    ]
    good = [line.strip() for line in _section(out, "good") if line.strip().startswith("When:")]
    assert good == ["When: no warning or worse at any judged step"]


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
        # std * sqrt(D) is 0.15 at D=192: its verdict depends on the unknown D.
        rows.append(("train/collapse/level0_mean_std_per_dim", 0.15 / np.sqrt(192), step))
        rows.append(("train/collapse/level0_mean_similarity", 0.99, step))
    write_plain_scalars(str(tmp_path / "plain"), rows)
    code, out, _ = _run([str(tmp_path), "--json"], capsys)
    health = json.loads(out)["runs"]["plain"]
    assert code == 1 and health["status"] == "collapse"
    assert health["source"] == "plain" and health["embed_dim"] is None
    std = next(x for x in health["lights"] if x["key"] == "collapse.mean_std_per_dim")
    assert std["status"] == "unknown" and "embedding dim unknown" in std["explanation"]


def _write_plain(run_dir, std=0.03):
    rows = []
    for step in range(STEPS):
        rows.append(("train/loss/total", 1.0 / (1 + step), step))
        rows.append(("train/collapse/level0_mean_std_per_dim", std, step))
        rows.append(("train/collapse/level0_mean_similarity", 0.05, step))
    write_plain_scalars(str(run_dir), rows)


def _light(health, key, level=0):
    return next(x for x in health["lights"] if x["key"] == key and x["level"] == level)


def test_embed_dim_judges_logs_without_a_manifest_at_that_dimension(tmp_path, capsys):
    std = 0.15 / np.sqrt(192)  # std * sqrt(D) depends on D: 0.15 at D=192
    _write_plain(tmp_path / "plain", std=std)
    with SummaryWriter(
        str(tmp_path / "manifest"),
        manifest=RunManifest(num_levels=1, hierarchy_weights=[1.0], embed_dim=192),
    ) as writer:
        for step in range(STEPS):  # the same curves, with a manifest D
            writer.scalar("loss.total", 1.0 / (1 + step), step)
            writer.scalar("collapse.mean_std_per_dim", std, step, level=0)
            writer.scalar("collapse.mean_similarity", 0.05, step, level=0)
    code, out, _ = _run([str(tmp_path), "--json"], capsys)
    unknown = json.loads(out)["runs"]["plain"]
    assert unknown["embed_dim"] is None and unknown["embed_dim_source"] is None

    code, out, _ = _run([str(tmp_path), "--json", "--embed-dim", "192"], capsys)
    runs = json.loads(out)["runs"]
    health = runs["plain"]
    assert health["embed_dim"] == 192 and health["embed_dim_source"] == "user"
    assert "D=192 assumed" in health["dim_note"]
    light, reference = (_light(h, "collapse.mean_std_per_dim") for h in (health, runs["manifest"]))
    assert light["judged_value"] == pytest.approx(0.15, rel=1e-5)
    assert light["status"] == reference["status"] != "unknown"  # as if the manifest said 192

    code, out, _ = _run([str(tmp_path), "--embed-dim", "192"], capsys)
    header = _section(out, "plain")[0]
    assert "D=192 (assumed: --embed-dim)" in header
    assert "note: embedding dimension D=192 assumed" in out
    assert "(assumed" not in _section(out, "manifest")[0]


def test_embed_dim_can_turn_a_run_red_that_was_unknown(tmp_path, capsys):
    _write_plain(tmp_path / "plain", std=0.05 / np.sqrt(192))
    code, out, _ = _run([str(tmp_path), "--embed-dim", "192"], capsys)
    assert code == doctor.EXIT_ALERT
    assert "COLLAPSE  run 'plain'" in out
    assert any(
        line.split()[:2] == ["COLLAPSE", "collapse.mean_std_per_dim"] for line in out.splitlines()
    )


def test_a_manifest_dimension_wins_over_embed_dim(logdir, capsys):
    code, out, _ = _run([str(logdir), "--json", "--embed-dim", "64"], capsys)
    health = json.loads(out)["runs"]["good"]
    assert code == 0
    assert health["embed_dim"] == 192 and health["embed_dim_source"] == "manifest"
    assert "D=64 is ignored" in health["dim_note"]


@pytest.mark.parametrize("value", ["0", "-5", "abc", "1.5", "65537", "", "+64", "\u0663"])
def test_a_bad_embed_dim_exits_2_with_one_line_naming_the_flag(logdir, capsys, value):
    code, out, err = _run([str(logdir), "--embed-dim", value], capsys)
    assert code == 2 and out == ""
    assert err.startswith("hjepa-doctor: error: --embed-dim ") and err.count("\n") == 1


def test_a_failing_diagnosis_is_unknown_with_every_field_of_a_verdict(logdir, capsys, monkeypatch):
    from tensorboard_plugin_hjepa import diagnosis

    code, out, _ = _run([str(logdir), "--json"], capsys)
    judged = json.loads(out)["runs"]["good"]

    def fail(run_data, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(diagnosis, "diagnose", fail)
    code, out, err = _run([str(logdir), "--json"], capsys)
    health = json.loads(out)["runs"]["good"]
    assert code == 0 and health["status"] == "unknown" and "boom" in health["reason"]
    assert set(judged) <= set(health)  # clients read both kinds of answer the same way
    assert health["embed_dim"] == 192 and health["levels"] == [0, 1] and health["tags"]
    assert "run 'good': the diagnosis failed: ZeroDivisionError: boom" in err
    code, out, _ = _run([str(logdir)], capsys)
    assert "UNKNOWN  run 'good'" in out and "status: the diagnosis failed" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["{tmp}/nope"], "does not exist"),
        (["{tmp}/empty"], "no H-JEPA runs found"),
        (["{tmp}/logs", "--run", "missing"], "unknown run 'missing'"),
    ],
)
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
    from tensorboard_plugin_hjepa.catalog.describe import rule_summary

    code, out, _ = _run(["catalog"], capsys)
    assert code == 0
    lines = out.splitlines()
    for metric in catalog.metrics():
        line = next(x for x in lines if x.startswith(metric.tag + " "))
        assert line.endswith(rule_summary(metric.rule)), metric.tag  # as docs/metrics.md writes it
    line = next(x for x in lines if x.startswith("train/collapse/level{i}_mean_std"))
    assert "value*sqrt(D) <" in line


def test_console_script_runs(logdir):
    exe = os.path.join(os.path.dirname(sys.executable), "hjepa-doctor")
    if not os.path.exists(exe):
        pytest.skip("console script not installed")
    result = subprocess.run(
        [exe, str(logdir), "--json"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["runs"]["good"]["status"] == "healthy"
