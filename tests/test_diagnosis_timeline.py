"""The verdict through a run: prefixes judged, the first problem, each light's first step."""

import numpy as np

from tensorboard_plugin_hjepa.catalog import schema
from tensorboard_plugin_hjepa.diagnosis import timeline
from tests.diagnosis_util import series
from tests.test_diagnosis_engine import _generated


def test_a_collapsing_run_was_healthy_until_its_collapse_and_says_which_light_went_first():
    run = _generated("collapsing")  # 600 steps; the collapse ramps in from 20% to 45%
    tl = timeline.build(run)
    assert tl["source"] == "judged" and len(tl["points"]) <= timeline.POINTS
    steps = [p["step"] for p in tl["points"]]
    assert steps == sorted(steps) and steps[-1] == run.last_step
    problem = tl["first_problem"]
    assert problem is not None and 0.2 * 600 <= problem["step"] <= 0.45 * 600
    assert tl["healthy_until"] is not None and tl["healthy_until"] < problem["step"]
    before = [p["status"] for p in tl["points"] if p["step"] <= tl["healthy_until"]]
    assert schema.HEALTHY in before and schema.COLLAPSE not in before
    # Every light that left healthy has the first judged step at which it did.
    firsts = {(x["key"], x["level"]): x["judged_step"] for x in tl["lights"]}
    assert firsts[("collapse.mean_similarity", 0)] >= problem["step"]
    assert min(firsts.values()) == problem["step"] or problem["key"].startswith(
        ("branch", "pattern")
    )
    # Charts mark the last point the light judged: a point of its own curve, no later.
    for x in tl["lights"]:
        curve = run.get(x["key"], x["level"])
        assert x["step"] in curve.steps and x["step"] <= x["judged_step"]
    sentence = timeline.sentence(tl)
    assert sentence.startswith("healthy until step %d, then " % tl["healthy_until"])
    assert "at step %d from " % problem["step"] in sentence


def test_a_healthy_run_never_left_healthy():
    tl = timeline.build(_generated("healthy"))
    assert tl["first_problem"] is None and tl["lights"] == []
    assert timeline.sentence(tl) == "no warning or worse at any judged step"


def test_the_online_checks_statuses_make_the_strip_when_the_trainer_logged_them():
    run = _generated("healthy")
    ranks = np.array([1, 1, 1, 2, 4, 4], dtype=float)  # healthy, ..., warning, critical
    run.series[("health.status", None)] = series(
        "health.status", None, (np.arange(100, 700, 100), ranks)
    )
    tl = timeline.build(run)
    assert tl["source"] == "online checks"
    assert [(p["step"], p["status"]) for p in tl["points"]] == [
        (100, "healthy"),
        (200, "healthy"),
        (300, "healthy"),
        (400, "warning"),
        (500, "critical"),
        (600, "critical"),
    ]
    assert tl["healthy_until"] == 300 and tl["first_problem"]["step"] == 400


def test_a_prefix_is_the_run_as_it_was_after_a_step():
    run = _generated("healthy")
    cut = timeline.prefix(run, 99)
    assert cut.last_step == 99
    assert cut.get("loss.total").steps[-1] == 99 and len(cut.get("loss.total")) == 100
    assert cut.manifest is run.manifest
    assert timeline.judged_steps(run)[-1] == run.last_step
    assert len(timeline.judged_steps(run, points=7)) == 7


def test_with_logged_checks_each_light_is_named_at_a_check_step():
    run = _generated("collapsing")
    checks = np.arange(50, 600, 50)
    ranks = np.where(checks < 500, 1.0, 3.0)  # healthy, then collapse from step 500
    run.series[("health.status", None)] = series("health.status", None, (checks, ranks))
    tl = timeline.build(run)
    assert tl["source"] == "online checks" and tl["first_problem"]["step"] == 500
    assert tl["lights"] and {x["judged_step"] for x in tl["lights"]} <= set(checks.tolist())
    # What the check at 500 saw first: a collapse light judged there.
    assert tl["first_problem"]["key"].startswith("collapse.")


def test_the_last_check_is_judged_with_the_evaluation_logged_just_after_it():
    run = _generated("healthy")  # 600 steps: the last logged step is 599
    checks = np.array([100, 200, 300, 400, 500, 598])
    run.series[("health.status", None)] = series(
        "health.status", None, (checks, np.array([1.0, 1.0, 1.0, 1.0, 1.0, 2.0]))
    )
    # The probe of "after 599 steps" falls to chance: only the last check saw it.
    probe = run.get("eval.knn_top1")
    steps, values = np.append(probe.steps, 599), np.append(probe.values, 0.1)
    run.series[("eval.knn_top1", None)] = series("eval.knn_top1", None, (steps, values))
    assert run.last_step == 599
    tl = timeline.build(run)
    assert tl["first_problem"]["step"] == 598
    assert tl["first_problem"]["key"].startswith(("derived.knn", "eval.knn")), tl["first_problem"]
