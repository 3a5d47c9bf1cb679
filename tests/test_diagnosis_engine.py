"""The whole verdict: overall status, summary, JSON-readiness, and no crash on any input."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tensorboard_plugin_hjepa import catalog
from tensorboard_plugin_hjepa.catalog import Source, schema
from tensorboard_plugin_hjepa.diagnosis import answer, diagnose, engine, overall_status, summarize
from tensorboard_plugin_hjepa.run_data import RunData, Series
from tests import logs
from tests.diagnosis_util import assert_json_types, branch, check, const, make_run


def _generated(kind, source="hjepa", steps=600):
    """A RunData straight from tests.logs curves (no event files)."""
    series = {}
    for (key, level), (s, v) in logs.curves(kind, steps=steps).items():
        tag = logs._tag_for(source, key, level)  # pylint: disable=protected-access
        if tag is None:
            continue
        resolved = catalog.resolve(tag)
        series[(key, level)] = Series(tag, s, s * 0.5, v, exact=resolved.exact)
    manifest = logs.manifest_for(total_steps=steps) if source == "hjepa" else None
    return RunData(run=kind, source=Source(source), manifest=manifest, series=series)


@pytest.mark.parametrize("kind", list(logs.EXPECTED_STATUS))
def test_generated_runs_get_their_expected_status(kind):
    health = diagnose(_generated(kind))
    assert health["status"] == logs.expected_status(kind)


@pytest.mark.parametrize("source", ["plain", "upstream"])
def test_healthy_logs_of_other_trainers_are_not_alarming(source):
    health = diagnose(_generated("healthy", source))
    assert health["status"] == logs.expected_status("healthy", source)
    assert health["dim_note"]  # no manifest: said


def test_collapse_is_still_seen_in_plain_logs_without_d():
    health = diagnose(_generated("collapsing", "plain"))
    assert health["status"] == "collapse"  # the similarity rule is absolute


def test_health_has_the_documented_shape_and_only_json_types():
    health = diagnose(_generated("collapsing"))
    assert set(health) >= {
        "run",
        "source",
        "status",
        "last_step",
        "total_steps",
        "progress",
        "levels",
        "embed_dim",
        "dim_note",
        "manifest",
        "lights",
        "contributions",
        "flowchart",
        "patterns",
        "ranges",
        "tags",
    }
    assert health["levels"] == [0, 1, 2] and health["embed_dim"] == logs.DEFAULT_EMBED_DIM
    assert health["manifest"]["hierarchy_weights"] == [1.0, 0.5, 0.25]
    assert_json_types(health)
    json.dumps(health, allow_nan=False)
    assert tuple(health) == answer.keys(judged=True)  # every field of the one builder, in order


def test_an_answer_without_a_verdict_has_the_fields_of_a_judged_one_and_its_reason():
    from tensorboard_plugin_hjepa.unknown import unknown_health

    unknown = unknown_health("run", "the diagnosis failed", run_data=_generated("healthy"))
    assert tuple(unknown) == answer.keys(judged=False)
    assert set(answer.keys(judged=False)) - set(answer.keys(judged=True)) == {"reason", "timeline"}
    assert unknown["timeline"] is None and unknown["reason"] == unknown["status_reason"]
    entry = summarize(unknown)
    assert entry["status"] == "unknown" and entry["reason"] == "the diagnosis failed"
    assert entry["levels"] == 3 and entry["embed_dim"] == logs.DEFAULT_EMBED_DIM


_GPU_RUN = make_run(
    {
        ("loss.level", 0): np.linspace(1.0, 0.5, 300),
        ("loss.level", 1): np.linspace(0.5, 0.001, 300),
        "performance.gpu_memory_reserved_gb": const(75.0, 30, every=10),
    },
    levels=2,
    gpu_total=80.0,
    total_steps=300,
)


@pytest.mark.parametrize("run", ["healthy", "collapsing", "stuck", "gpu"])
def test_the_sections_give_the_same_answer_in_any_order(run, monkeypatch):
    """No section leaves behind what another reads (the flowchart's GPU memory check and
    its contribution check read derived values computed from the context alone)."""
    run_data = _GPU_RUN if run == "gpu" else _generated(run)
    expected = diagnose(run_data)
    monkeypatch.setattr(engine, "SECTIONS", tuple(reversed(engine.SECTIONS)))
    assert diagnose(run_data) == expected
    if run == "gpu":
        memory = check(branch(expected, "slow_training"), "memory_near_capacity")
        assert memory["value"] == pytest.approx(75.0 / 80.0) and memory["fired"] is True
        fell = check(branch(expected, "poor_prediction"), "contribution_fell")
        assert fell["fired"] is True  # level 1's share fell to almost nothing


def test_tags_list_every_curve_of_the_run():
    run = _generated("healthy", "upstream")
    health = diagnose(run)
    assert {t["tag"] for t in health["tags"]} == {s.tag for s in run.series.values()}
    target_std = next(t for t in health["tags"] if t["tag"] == "train/target_std")
    assert target_std["exact"] is False and target_std["note"]


def _light(status, key="loss.total", category="loss", level=None):
    return {"status": status, "key": key, "category": category, "level": level}


def test_overall_status_is_the_worst_judged_light():
    lights = [_light(s) for s in ("unknown", "healthy", "warning")]
    assert overall_status(lights, [], [])[0] == "warning"
    worse = lights + [
        _light("critical"),
        _light("collapse", "collapse.effective_rank", "collapse", 1),
    ]
    status, reason = overall_status(worse, [], [])
    assert status == "critical" and "loss.total is critical" in reason
    assert overall_status([_light("unknown")], [], [])[0] == "unknown"
    assert overall_status([], [], []) == ("unknown", "no light could be judged")


def test_a_firing_diagnosis_makes_a_run_without_alerts_a_warning():
    fired = [{"id": "loss_not_decreasing", "fired": True}]
    status, reason = overall_status([_light("healthy")], fired, [])
    assert status == "warning" and "loss_not_decreasing" in reason
    detected = [{"id": "noisy", "detected": True}]
    assert overall_status([_light("healthy")], [], detected)[0] == "warning"
    # an alert stays the alert
    assert overall_status([_light("critical")], fired, detected)[0] == "critical"


def test_unknown_collapse_lights_never_read_as_healthy():
    lights = [_light("healthy"), _light("unknown", "collapse.effective_rank", "collapse", 0)]
    status, reason = overall_status(lights, [], [])
    assert status == "unknown" and "collapse cannot be ruled out" in reason
    # one judged collapse indicator is enough to vouch for the run
    judged = lights + [_light("healthy", "collapse.mean_similarity", "collapse", 0)]
    assert overall_status(judged, [], []) == ("healthy", "every judged light is healthy")
    # a known problem is still reported as such
    lights.append(_light("warning", "masking.mask_ratio", "masking"))
    assert overall_status(lights, [], [])[0] == "warning"


def test_summarize_lists_the_worst_lights_worst_first():
    curves = {
        ("collapse.mean_similarity", 0): const(0.99),
        "masking.mask_ratio": const(0.8),
        "gradient.clipping_percentage": const(60.0),
        ("collapse.mean_similarity", 1): const(0.99),
        "loss.total": np.ones(30),
    }
    health = diagnose(make_run(curves, levels=2))
    summary = summarize(health)
    assert summary["status"] == "critical"
    assert [w["status"] for w in summary["worst"]] == ["critical", "collapse", "collapse"]
    assert summary["worst"][0] == {
        "key": "gradient.clipping_percentage",
        "level": None,
        "status": "critical",
    }
    assert summary["levels"] == 2 and summary["embed_dim"] == 768
    assert summary["last_step"] == 29


def test_summarize_of_a_flat_loss_names_the_diagnosis_not_a_light():
    summary = summarize(diagnose(make_run({"loss.total": np.ones(30)})))
    assert summary["worst"] == []  # no light is in alert ...
    # ... but a flat loss fires the flowchart and the "stuck" pattern: not healthy.
    assert summary["branches"] == ["loss_not_decreasing"]
    assert summary["patterns"] == ["loss_stuck"]
    assert summary["status"] == "warning" and "loss_stuck" in summary["status_reason"]
    assert summary["unknown_lights"] > 0  # every collapse light: no data


def test_diagnose_does_not_modify_its_input():
    run = _generated("diverging")
    before = {k: s.values.copy() for k, s in run.series.items()}
    diagnose(run)
    for key, values in before.items():
        np.testing.assert_array_equal(run.series[key].values, values)


_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from([0.0, -0.0, 1e-30, 1e30, float("nan"), float("inf")]),
)
_KEYS = [
    (m.key, 0 if m.per_level else None)
    for m in catalog.metrics()
    if m.kind == "scalar" and "{group}" not in m.tag
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.dictionaries(st.sampled_from(_KEYS), st.lists(_VALUES, max_size=40), max_size=8),
    dim=st.sampled_from([None, 1, 7, 768]),
    manifest=st.booleans(),
    levels=st.integers(1, 3),
)
def test_any_curves_never_crash_and_stay_json_ready(data, dim, manifest, levels):
    run = make_run(
        {k: np.asarray(v, dtype=np.float64) for k, v in data.items()},
        dim=dim,
        manifest=manifest,
        levels=levels,
        total_steps=40,
    )
    health = diagnose(run)
    assert health["status"] in schema.STATUSES
    assert_json_types(health)
    json.dumps(health)
    for light in health["lights"]:
        curve = run.get(light["key"], light["level"])
        if curve is not None and not np.all(np.isfinite(curve.values)):
            assert light["status"] != "healthy", light
    summarize(health)
