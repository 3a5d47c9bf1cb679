"""The §11 flowchart: each branch firing and not firing, and the check semantics."""

import numpy as np
import pytest

from tensorboard_plugin_hjepa import catalog
from tensorboard_plugin_hjepa.catalog import schema
from tensorboard_plugin_hjepa.diagnosis import diagnose, findings
from tensorboard_plugin_hjepa.diagnosis.context import Context
from tests.diagnosis_util import branch, check, const, jepa_loss, make_run

HEALTHY = {
    "loss.total": jepa_loss(1000),
    "learning_rate.base_lr": const(3e-4, 10, every=100),
    "gradient_flow.global_norm": (np.arange(100) * 10, 1.0 + 0.01 * np.sin(np.arange(100))),
    "stability.loss_smoothness": const(0.1, 100),
    ("collapse.mean_std_per_dim", 0): const(0.03, 10, every=100),
    ("collapse.effective_rank", 0): const(600.0, 10, every=100),
    ("collapse.mean_similarity", 0): const(0.4, 10, every=100),  # raw: a shared mean direction
    ("collapse.num_rows", 0): const(4096, 10, every=100),
    ("prediction.cosine_sim_mean", 0): const(0.8, 10, every=100),
    "gradient.clipping_percentage": const(3.0, 100),
    "masking.mask_ratio": const(0.6, 10, every=100),
    "gradient_flow.predictor_max": const(0.2, 10, every=100),
    "gradient_flow.context_encoder_max": const(0.1, 10, every=100),
}


def _health(**changes):
    curves = dict(HEALTHY)
    for key, value in changes.items():
        key = tuple(key.split("@")) if "@" in key else key
        if isinstance(key, tuple):
            key = (key[0], int(key[1]))
        if value is None:
            curves.pop(key, None)
        else:
            curves[key] = value
    return diagnose(make_run(curves, dim=768, gpu_total=80.0, total_steps=1000))


def _fired(health):
    return {b["id"] for b in health["flowchart"] if b["fired"]}


def test_every_branch_is_reported_with_every_check_evaluated():
    health = _health()
    assert [b["id"] for b in health["flowchart"]] == [b.id for b in catalog.branches()]
    for result, spec in zip(health["flowchart"], catalog.branches()):
        assert [t["id"] for t in result["triggers"]] == [t.id for t in spec.triggers]
        assert [c["id"] for c in result["checks"]] == [c.id for c in spec.checks]
        assert result["actions"] == list(spec.actions)
        for item in result["triggers"] + result["checks"]:
            assert item["fired"] in (True, False, None)
            assert item["detail"]


def test_a_healthy_run_fires_no_branch():
    assert _fired(_health()) == set()


def test_loss_not_decreasing():
    health = _health(
        **{"loss.total": np.full(1000, 0.9), "learning_rate.base_lr": const(1e-6, 10, every=100)}
    )
    assert "loss_not_decreasing" in _fired(health)
    result = branch(health, "loss_not_decreasing")
    assert check(result, "lr_too_low")["fired"] is True
    assert check(result, "grad_zero")["fired"] is False


@pytest.mark.parametrize(
    "change",
    [
        {"collapse.mean_std_per_dim@0": const(0.002, 10, every=100)},  # r = 0.055 < 0.1
        {"collapse.effective_rank@0": const(5.0, 10, every=100)},  # 5 of 768 < 0.01
        {"collapse.mean_similarity@0": const(0.99, 10, every=100)},  # raw cosine: one direction
    ],
    ids=["std", "rank", "similarity"],
)
def test_collapse_fires_on_any_collapse_indicator(change):
    health = _health(**change)
    assert "collapse" in _fired(health)
    assert branch(health, "collapse")["correction"]["rule"]


def test_collapse_triggers_without_data_are_unknown_and_do_not_fire():
    health = _health(
        **{
            "collapse.mean_std_per_dim@0": None,
            "collapse.effective_rank@0": None,
            "collapse.mean_similarity@0": None,
        }
    )
    result = branch(health, "collapse")
    assert not result["fired"]
    assert [t["fired"] for t in result["triggers"]] == [None] * len(result["triggers"])


def test_poor_prediction():
    health = _health(
        **{
            "prediction.cosine_sim_mean@0": const(0.3, 10, every=100),
            "masking.mask_ratio": const(0.8, 10, every=100),
        }
    )
    assert "poor_prediction" in _fired(health)
    assert check(branch(health, "poor_prediction"), "mask_aggressive")["fired"] is True


@pytest.mark.parametrize(
    "change, trigger",
    [
        ({"gradient.clipping_percentage": const(60.0, 100, every=10)}, "clipping_high"),
        ({"gradient_flow.global_norm": const(20.0, 100)}, "grad_exploding"),
        (
            {
                "gradient_flow.global_norm": (
                    np.arange(100),
                    np.r_[np.ones(60) + 0.01 * np.sin(np.arange(60)), 5.0, np.ones(39)],
                )
            },
            "grad_spike",
        ),
        (
            {
                "gradient_flow.global_norm": (
                    np.arange(100),
                    np.r_[np.ones(50), np.nan, np.ones(49)],
                )
            },
            "grad_non_finite",
        ),
    ],
)
def test_gradient_issues(change, trigger):
    health = _health(**change)
    result = branch(health, "gradient_issues")
    assert result["fired"]
    assert check(result, trigger, "triggers")["fired"] is True


def test_predictor_dominates_is_a_ratio_of_two_metrics():
    health = _health(**{"gradient_flow.predictor_max": const(5.0, 10, every=100)})
    item = check(branch(health, "gradient_issues"), "predictor_dominates")
    assert item["divide_by"] == "gradient_flow.context_encoder_max"
    assert item["value"] == pytest.approx(50.0)
    assert item["fired"] is True


def _throughput(*values):
    """samples/s logged every 50 steps of the 1,000-step run, in equal runs of ``values``."""
    return np.arange(20) * 50, np.repeat(np.asarray(values, dtype=float), 20 // len(values))


def test_slow_training_applies_only_on_a_gpu_and_fires_on_a_run_slower_than_it_was():
    slowed = {"performance.samples_per_second": _throughput(200.0, 50.0)}
    cpu = _health(**slowed)
    result = branch(cpu, "slow_training")
    assert result["applicable"] is False and result["fired"] is False
    gpu = _health(**slowed, **{"performance.gpu_memory_reserved_gb": const(76.0, 10, every=100)})
    result = branch(gpu, "slow_training")
    assert result["applicable"] is True and result["fired"] is True
    assert check(result, "throughput_fell", "triggers")["value"] == pytest.approx(4.0)
    memory = check(result, "memory_near_capacity")
    assert memory["value"] == pytest.approx(76.0 / 80.0) and memory["fired"] is True


def test_a_steady_run_under_100_samples_per_second_on_a_gpu_is_not_slow():
    # ViT-L on one GPU: ~60 samples/s from start to end, as configured.
    steady = _health(
        **{
            "performance.samples_per_second": _throughput(60.0),
            "performance.gpu_memory_reserved_gb": const(40.0, 10, every=100),
        }
    )
    result = branch(steady, "slow_training")
    assert result["applicable"] is True and result["fired"] is False
    assert check(result, "throughput_low")["fired"] is True  # the reference's check, shown
    assert steady["status"] == "healthy"


def test_per_level_checks_report_every_level_and_fire_on_any():
    curves = dict(HEALTHY)
    curves[("collapse.mean_similarity", 1)] = const(0.99, 10, every=100)
    curves[("collapse.mean_similarity", 2)] = const(0.4, 10, every=100)
    health = diagnose(make_run(curves, dim=768, levels=3))
    item = check(branch(health, "collapse"), "similarity_collapsed")
    assert item["fired"] is True and item["level"] == 1 and item["level_mode"] == "any"
    assert [lv["fired"] for lv in item["levels"]] == [False, True, False]
    assert "level 1: collapse: features point the same way" in item["detail"]


def test_level_all_fires_only_when_every_level_with_data_fires():
    curves = {
        ("collapse.mean_similarity", 0): const(0.9),
        ("collapse.mean_similarity", 1): const(0.1),
    }
    ctx = Context(make_run(curves, levels=3))
    spec = schema.Check(
        "all_similar", "collapse.mean_similarity", ">", 0.7, "all levels", level="all"
    )
    assert findings.evaluate_check(ctx, spec)["fired"] is False
    ctx = Context(make_run({("collapse.mean_similarity", 0): const(0.9)}, levels=3))
    assert findings.evaluate_check(ctx, spec)["fired"] is True  # levels 1 and 2 have no data
    spec_one = schema.Check("level2", "collapse.mean_similarity", ">", 0.7, "level 2", level=2)
    result = findings.evaluate_check(ctx, spec_one)
    assert result["fired"] is None and result["level"] == 2


def test_normalised_check_without_d_is_unknown_where_d_decides():
    health = diagnose(make_run({("collapse.mean_std_per_dim", 0): const(0.003)}, dim=None))
    item = check(branch(health, "collapse"), "std_collapsed")
    assert item["fired"] is None
    assert "embedding dim unknown" in item["detail"]


def test_normalised_check_without_d_fires_where_every_plausible_d_agrees():
    health = diagnose(make_run({("collapse.mean_std_per_dim", 0): const(0.0001)}, dim=None))
    item = check(branch(health, "collapse"), "std_collapsed")
    assert item["fired"] is True  # std * sqrt(D) < 0.001 at every D in 64-8192


def test_a_check_that_names_a_band_agrees_with_the_light_beside_it():
    # The collapse branch's similarity trigger and the similarity light read one verdict.
    for value, fired in ((0.97, False), (0.99, True)):
        health = _health(**{"collapse.mean_similarity@0": const(value, 10, every=100)})
        item = check(branch(health, "collapse"), "similarity_collapsed")
        status = next(
            x["status"]
            for x in health["lights"]
            if x["key"] == "collapse.mean_similarity" and x["level"] == 0
        )
        assert item["fired"] is fired and (status == "collapse") is fired
