"""The lead-time benchmark's fast subset in CI: real faults injected mid-run, real alerts.

``python -m benchmarks.lead_time --fast`` trains the digits recipe's base run to step K,
resumes copies of it with a far too high LR, without stop-gradient, with a frozen EMA
target and with gradients clipped to nothing, and one with its config unchanged (a
control), with the real ``hjepa-train``; the online checks' alerts are replayed over the
event files and compared with what the trainer printed, and each fault's first alert must
lead with the action that fixes its cause; the statuses the trainer logged at its checks
(the tab's health timeline) are those of the replay, healthy until the check before the
first alert. The full
benchmark (both datasets, six faults, five seeds, four levels, batch 8) is the same
command without ``--fast``.
"""

import pytest

pytest.importorskip("torch")

from benchmarks.lead_time import detectors, report, runs  # noqa: E402
from benchmarks.lead_time.plan import CASES, CHECK_EVERY, FAULT  # noqa: E402
from tensorboard_plugin_hjepa.diagnosis import timeline  # noqa: E402


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("lead_time"))


@pytest.fixture(scope="module")
def rows(logdir):
    cases = [c for c in CASES if c.fast]
    outcomes = runs.train_all(logdir, cases, jobs=2, log=lambda m: None)
    assert all(o["returncode"] == 0 for o in outcomes.values()), outcomes
    return {c.name: report.measure(logdir, c) for c in cases}


FAST_FAULTS = ["clip_tiny", "ema_frozen", "lr_x20", "no_stop_gradient"]


def test_the_fast_subset_is_four_faults_and_a_resumed_control():
    assert sorted(c.name for c in CASES if c.fast) == FAST_FAULTS + ["resume_same"]


@pytest.mark.parametrize("name", FAST_FAULTS)
def test_a_fault_injected_mid_run_is_alerted_within_a_few_checks(rows, name):
    row = rows[name]
    assert row.case.kind == FAULT and row.case.resumed
    assert row.first is not None, "no alert after the onset at step %d" % row.onset
    assert row.delay <= report.FEW_CHECKS * CHECK_EVERY, (row.delay, row.first.what)
    if row.probe_step is not None:  # no later than the probe fails
        assert row.first.step <= row.probe_step


@pytest.mark.parametrize(
    "name, action",
    [
        ("no_stop_gradient", "Restore the stop-gradient"),
        ("ema_frozen", "Lower the EMA momentum's start"),
        ("lr_x20", "Lower the learning rate"),
        ("clip_tiny", "Raise the clip threshold"),
    ],
)
def test_the_first_alert_leads_with_the_action_that_fixes_the_injected_cause(rows, name, action):
    row = rows[name]
    assert row.first.action.startswith(action), row.first.action
    assert row.names_cause


def test_the_stop_gradient_fault_names_its_cause_at_once(rows):
    row = rows["no_stop_gradient"]
    assert row.first.status == "critical"
    assert "gradient_flow.target_features_grad_norm" in row.first.what
    assert row.delay <= CHECK_EVERY  # the first check after the resume


def test_the_unchanged_resume_raises_no_alert(rows):
    row = rows["resume_same"]
    assert row.alerts == [], [(a.step, a.status, a.what) for a in row.alerts]
    assert row.offline_status == "healthy"


def test_the_replay_is_what_the_trainer_printed(rows):
    for name, row in rows.items():
        assert row.trainer_agrees, name


def test_the_timeline_is_healthy_until_the_check_before_the_first_alert(rows):
    for name in FAST_FAULTS:
        row = rows[name]
        tl = row.timeline
        assert tl["source"] == "online checks", name
        assert tl["first_problem"]["step"] == row.first.step, (name, tl["summary"])
        assert tl["healthy_until"] == row.first.step - CHECK_EVERY, (name, tl["summary"])
        assert tl["summary"].startswith("healthy until step %d, then " % tl["healthy_until"])
    quiet = rows["resume_same"].timeline
    assert quiet["first_problem"] is None and quiet["summary"] == (
        "no warning or worse at any judged step"
    )


def test_the_trainer_logged_the_statuses_the_replayed_checks_give(rows, logdir):
    for name, row in rows.items():
        logged = detectors.load(runs.run_dir(logdir, row.case.recipe, name))
        strip = timeline.build(logged)["points"]
        assert strip == row.timeline["points"], name
