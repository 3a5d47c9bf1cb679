"""§15 expected ranges against training progress."""

import numpy as np
import pytest

from tensorboard_plugin_hjepa.catalog import Source
from tensorboard_plugin_hjepa.diagnosis import diagnose
from tests.diagnosis_util import make_run, series


def _ranges(last_step, total_steps, curves=None, **kwargs):
    steps = np.arange(last_step + 1)
    curves = curves or {"loss.total": (steps, np.full(steps.size, 0.2))}
    return diagnose(make_run(curves, total_steps=total_steps, **kwargs))["ranges"]


def _check(ranges, key, level=None):
    return next(c for c in ranges["checks"] if c["key"] == key and c["level"] == level)


def test_without_total_steps_progress_is_unknown_and_said():
    ranges = _ranges(999, None)
    assert ranges["progress"] is None and ranges["checks"] == []
    assert "total_steps" in ranges["note"]
    assert _ranges(999, None, manifest=False)["progress"] is None


def test_halfway_uses_the_50_percent_checkpoint_and_judges_comparable_ranges():
    ranges = _ranges(499, 1000)
    assert ranges["progress"] == pytest.approx(0.499)
    assert ranges["checkpoint"] == 0.5
    loss = _check(ranges, "loss.total")
    assert (loss["low"], loss["high"], loss["in_range"]) == (0.1, 0.3, True)
    assert loss["value"] == pytest.approx(0.2)


def test_out_of_range_value():
    steps = np.arange(500)
    ranges = _ranges(499, 1000, {"loss.total": (steps, np.full(500, 0.9))})
    assert _check(ranges, "loss.total")["in_range"] is False


def test_nearest_checkpoint_within_015_only():
    assert _ranges(599, 1000)["checkpoint"] == 0.5
    assert _ranges(249, 1000)["checkpoint"] == 0.1
    far = _ranges(299, 1000)
    assert far["checkpoint"] is None and "not within" in far["note"]


def test_non_comparable_ranges_are_shown_with_their_note_not_judged():
    steps = np.arange(100)
    curves = {("collapse.mean_std_per_dim", 0): (steps, np.full(100, 0.001))}
    ranges = _ranges(99, 100, curves)
    item = _check(ranges, "collapse.mean_std_per_dim", 0)
    assert item["comparable"] is False and item["in_range"] is None
    assert "sqrt(D)" in item["note"]


def test_missing_metric_is_listed_as_not_logged():
    item = _check(_ranges(99, 100), "learning_rate.base_lr")
    assert item["value"] is None and item["in_range"] is None
    assert "not logged" in item["note"]


def test_inexact_alias_is_not_judged():
    run = make_run({"loss.total": np.full(100, 0.1)}, total_steps=100)
    run.source = Source.UPSTREAM
    run.series[("hierarchy.feat_norm", 0)] = series(
        "hierarchy.feat_norm", 0, np.ones(100), tag="train/target_norm", exact=False
    )
    run.series[("collapse.mean_std_per_dim", 0)] = series(
        "collapse.mean_std_per_dim", 0, np.full(100, 0.12), tag="train/target_std", exact=False
    )
    item = _check(diagnose(run)["ranges"], "collapse.mean_std_per_dim", 0)
    assert item["in_range"] is None and "trend only" in item["note"]
