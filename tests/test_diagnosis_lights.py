"""Traffic lights: which exist, and what a missing, broken or borrowed curve gives."""

import numpy as np
import pytest

from tensorboard_plugin_hjepa import catalog
from tensorboard_plugin_hjepa.catalog import Source
from tensorboard_plugin_hjepa.diagnosis import diagnose
from tensorboard_plugin_hjepa.run_data import RunData
from tests.diagnosis_util import const, light, make_run, series

RULED = [m for m in catalog.metrics() if m.rule is not None and m.kind == "scalar"]
RULED += [d for d in catalog.derived() if d.rule is not None and d.category != "contribution"]


def test_one_light_per_ruled_metric_and_level_even_with_no_data():
    health = diagnose(make_run({}, levels=3))
    per_level = [m for m in RULED if m.per_level]
    assert len(health["lights"]) == len(RULED) - len(per_level) + 3 * len(per_level)
    assert {x["status"] for x in health["lights"]} == {"unknown"}
    assert health["status"] == "unknown"
    missing = light(health, "collapse.effective_rank", 2)
    assert missing["value"] is None
    assert "train/collapse/level2_effective_rank was not logged" in missing["explanation"]


def test_levels_come_from_the_data_without_a_manifest():
    run = make_run(
        {("collapse.mean_similarity", 0): const(0.1), ("collapse.mean_similarity", 1): const(0.1)},
        manifest=False,
    )
    health = diagnose(run)
    assert health["levels"] == [0, 1]
    assert {x["level"] for x in health["lights"] if x["key"] == "collapse.mean_similarity"} == {
        0,
        1,
    }


def test_a_run_with_no_per_level_data_still_shows_level_0_lights_as_unknown():
    health = diagnose(make_run({"loss.total": np.ones(50)}, manifest=False))
    assert health["levels"] == []
    assert light(health, "collapse.mean_std_per_dim", 0)["status"] == "unknown"
    # a flat loss is stuck (a warning); with no collapse data it could never be "healthy"
    assert health["status"] == "warning"


def test_a_light_carries_its_evidence():
    values = np.linspace(0.05, 0.02, 300)
    run = make_run({("collapse.mean_std_per_dim", 0): (np.arange(300) * 10, values)}, dim=768)
    result = light(diagnose(run), "collapse.mean_std_per_dim", 0)
    assert result["tag"] == "train/collapse/level0_mean_std_per_dim"
    assert result["category"] == "collapse"
    assert result["value"] == pytest.approx(np.median(values[-30:]))
    assert result["window"] == {
        "statistic": "recent",
        "start_step": 2700,
        "end_step": 2990,
        "points": 30,
        "non_finite": 0,
    }
    assert result["status"] == "healthy"
    assert result["threshold"]["op"] == "<" and result["threshold"]["bound"] == 0.2
    assert [b["status"] for b in result["bands"]] == ["collapse", "warning"]
    assert result["correction"]["reference_says"].startswith("mean_std_per_dim healthy > 0.05")
    assert result["healthy_text"] == result["explanation"]


def test_sparkline_is_at_most_50_points_and_spans_the_curve():
    values = np.linspace(1.0, 0.1, 100_000)
    health = diagnose(make_run({"loss.total": values}))
    spark = light(health, "loss.total")["sparkline"]
    assert len(spark) == 50
    assert spark[0][0] < 2100 and spark[-1][0] == 99_999
    assert spark[0][1] > spark[-1][1]
    assert all(type(step) is int and type(value) is float for step, value in spark)


def test_short_sparkline_keeps_every_point_and_nan_becomes_a_gap():
    health = diagnose(make_run({"masking.mask_ratio": [0.5, np.nan, 0.6]}))
    spark = light(health, "masking.mask_ratio")["sparkline"]
    assert spark == [[0, 0.5], [1, None], [2, 0.6]]


# ------------------------------------------------------------------ NaN/Inf/short
def test_nan_loss_is_critical():
    values = np.linspace(1.0, 0.2, 100)
    values[40] = np.nan
    result = light(diagnose(make_run({"loss.total": values})), "loss.total")
    assert result["status"] == "critical"
    assert result["value"] == 1.0


def test_a_curve_with_nan_in_the_past_is_never_healthy():
    values = np.full(100, 0.03)
    values[10] = np.inf
    result = light(
        diagnose(make_run({("collapse.mean_std_per_dim", 0): values})),
        "collapse.mean_std_per_dim",
        0,
    )
    assert result["status"] == "warning"
    assert "1 of 100 logged values are NaN/Inf (first at step 10)" in result["explanation"]


@pytest.mark.parametrize(
    "values",
    [[], [np.nan] * 30, [np.inf, -np.inf], [0.5]],
    ids=["empty", "all_nan", "all_inf", "one_point"],
)
def test_unusable_curves_give_unknown(values):
    run = make_run({"masking.mask_ratio": np.asarray(values, dtype=float)})
    result = light(diagnose(run), "masking.mask_ratio")
    assert result["status"] == "unknown"
    assert result["explanation"]


def test_one_nan_loss_point_is_critical_at_once():
    result = light(diagnose(make_run({"loss.total": [np.nan]})), "loss.total")
    assert result["status"] == "critical"


# ----------------------------------------------------------------- inexact aliases
def _upstream_run(tag, key, values, dim=768):
    run = make_run({}, dim=dim)
    run.source = Source.UPSTREAM
    run.series[(key, 0)] = series(key, 0, values, tag=tag, exact=False)
    return run


def test_inexact_alias_with_a_dimension_relative_rule_is_unknown_with_the_alias_note():
    run = _upstream_run("train/target_std", "collapse.mean_std_per_dim", np.full(20, 0.001))
    result = light(diagnose(run), "collapse.mean_std_per_dim", 0)
    assert result["status"] == "unknown"
    assert "un-normalised" in result["explanation"]
    assert result["tag"] == "train/target_std"
    assert result["sparkline"]  # still charted


def test_exact_alias_is_judged():
    run = make_run({}, dim=768)
    run.series[("ema.momentum_current", None)] = series(
        "ema.momentum_current", None, np.full(20, 0.5), tag="train/ema_momentum"
    )
    result = light(diagnose(run), "ema.momentum_current")
    assert result["status"] == "critical"
    assert result["tag"] == "train/ema_momentum"


def test_notes_of_a_count_rule_are_about_the_level_of_the_curve():
    # gradient_flow.global_norm is judged on its NaN count; its note "> 10" is about
    # the norm itself.
    result = light(
        diagnose(make_run({"gradient_flow.global_norm": np.full(30, 25.0)})),
        "gradient_flow.global_norm",
    )
    assert result["status"] == "healthy"
    assert any("potentially unstable" in note for note in result["notes"])
    calm = light(
        diagnose(make_run({"gradient_flow.global_norm": np.full(30, 1.0)})),
        "gradient_flow.global_norm",
    )
    assert calm["notes"] == []


def test_empty_run_data():
    health = diagnose(RunData(run="empty", source=Source.PLAIN))
    assert health["status"] == "unknown"
    assert health["last_step"] is None
    assert health["dim_note"] and "no manifest" in health["dim_note"]
