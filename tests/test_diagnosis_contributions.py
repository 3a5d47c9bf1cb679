"""Hierarchy contributions: shares of the weighted loss, each level judged against its own."""

import numpy as np
import pytest

from tensorboard_plugin_hjepa.diagnosis import diagnose
from tests.diagnosis_util import light, make_run

W = [1.0, 0.5, 0.25]
EXPECTED = [1 / 1.75, 0.5 / 1.75, 0.25 / 1.75]


def _contrib_curves(shares, n=100, scale=1.0):
    return {("loss.contribution", i): np.full(n, scale * s) for i, s in enumerate(shares)}


@pytest.mark.parametrize("scale", [100.0, 1.0], ids=["percent", "fraction"])
def test_logged_contributions_in_percent_or_fractions_give_the_same_shares(scale):
    health = diagnose(make_run(_contrib_curves([0.6, 0.3, 0.1], scale=scale), levels=3, weights=W))
    contrib = health["contributions"]
    assert contrib["source"] == "loss.contribution"
    assert contrib["recent"] == pytest.approx([0.6, 0.3, 0.1])
    assert ("percent" if scale == 100 else "fractions") in contrib["note"]
    for column in zip(*contrib["shares"]):
        assert sum(column) == pytest.approx(1.0)
    assert contrib["expected"] == pytest.approx(EXPECTED)
    assert contrib["status"] == "healthy"


def test_shares_from_level_losses_times_manifest_weights():
    curves = {("loss.level", i): np.full(100, 0.4) for i in range(3)}
    contrib = diagnose(make_run(curves, levels=3, weights=W))["contributions"]
    assert contrib["source"] == "loss.level"
    assert contrib["recent"] == pytest.approx(EXPECTED)
    assert contrib["weights_source"] == "the run manifest"
    fall = next(c for c in contrib["checks"] if c["key"] == "derived.contribution_fall")
    assert fall["value"] == pytest.approx(1.0)  # every level's share as it was
    assert contrib["ratios"] == pytest.approx([1.0, 1.0, 1.0])
    assert len(contrib["steps"]) == 100 and len(contrib["shares"]) == 3


def test_shares_over_many_steps_are_downsampled():
    curves = {("loss.level", i): np.full(50_000, 0.4) for i in range(2)}
    contrib = diagnose(make_run(curves, levels=2, weights=[1.0, 1.0]))["contributions"]
    assert len(contrib["steps"]) == 200
    assert contrib["shares"][0][0] == pytest.approx(0.5)


def test_plain_logs_without_weights_say_the_expected_shares_are_unknown():
    health = diagnose(make_run(_contrib_curves([0.7, 0.3], scale=100.0), manifest=False))
    contrib = health["contributions"]
    assert contrib["expected"] is None and contrib["weights"] is None
    assert "weights unknown" in contrib["note"]
    # The configured shares are unknown, but each level's share is judged against its own.
    fall = light(health, "derived.contribution_fall")
    assert fall["status"] == "healthy" and fall["value"] == pytest.approx(1.0)


def test_weights_are_recovered_when_the_total_is_an_exact_weighted_sum():
    rng = np.random.default_rng(0)
    losses = [0.5 + 0.1 * rng.random(200) for _ in range(3)]
    total = sum(w * loss for w, loss in zip(W, losses))
    curves = {("loss.level", i): loss for i, loss in enumerate(losses)}
    curves["loss.total"] = total
    contrib = diagnose(make_run(curves, manifest=False))["contributions"]
    assert contrib["weights"] == pytest.approx(W, rel=1e-6)
    assert "inferred" in contrib["weights_source"]
    assert contrib["expected"] == pytest.approx(EXPECTED, rel=1e-6)


def test_no_weights_and_no_exact_total_means_no_shares():
    rng = np.random.default_rng(1)
    curves = {("loss.level", i): 0.5 + 0.1 * rng.random(200) for i in range(2)}
    curves["loss.total"] = 0.3 + 0.1 * rng.random(200)  # not a weighted sum
    health = diagnose(make_run(curves, manifest=False))
    contrib = health["contributions"]
    assert contrib["shares"] == [] and contrib["status"] == "unknown"
    assert "cannot be computed" in contrib["note"]
    # unknown shares do not make the run unknown; its flat noisy loss is what it is judged on
    assert health["status"] == "warning" and "loss_stuck" in health["status_reason"]


def _shares_then(before, after, n=100):
    """Logged contributions: ``before`` for the first half of the run, ``after`` from then."""
    return {
        ("loss.contribution", i): np.array([b] * (n // 2) + [a] * (n - n // 2))
        for i, (b, a) in enumerate(zip(before, after))
    }


def test_a_level_whose_share_fell_far_below_its_own_is_critical_and_makes_the_run_critical():
    # Level 2 held 14% after early training; now 0.1%: under a tenth of what it was.
    curves = _shares_then(EXPECTED, [0.895, 0.104, 0.001])
    health = diagnose(make_run(curves, levels=3, weights=W, total_steps=100))
    fall = light(health, "derived.contribution_fall")
    assert fall["value"] == pytest.approx(0.001 / EXPECTED[2])
    assert fall["status"] == "critical"
    assert "level 2's share after early training" in fall["compared_with"]
    assert health["contributions"]["status"] == "critical"
    assert health["status"] == "critical"


def test_a_level_under_a_quarter_of_its_own_share_is_a_warning():
    curves = _shares_then(EXPECTED, [0.74, 0.23, 0.03])
    health = diagnose(make_run(curves, levels=3, weights=W, total_steps=100))
    fall = light(health, "derived.contribution_fall")
    assert fall["value"] == pytest.approx(0.03 / EXPECTED[2])
    assert fall["status"] == "warning"
    assert health["contributions"]["status"] == "warning"


def test_a_pooled_level_steady_far_below_its_configured_share_is_healthy():
    # A valid 4-level run: the coarsest level sits at ~0.2 of its configured share all along.
    shares = [0.35, 0.35, 0.25, 0.05]
    health = diagnose(make_run(_contrib_curves(shares), levels=4, weights=[1.0] * 4))
    contrib = health["contributions"]
    assert contrib["ratios"][3] == pytest.approx(0.2)  # shown beside the configured share
    assert light(health, "derived.contribution_fall")["status"] == "healthy"
    assert contrib["status"] == "healthy"


@pytest.mark.parametrize("weights", [[1.0, 0.002, 0.002], [1.0, 0.0, 0.0], [1.0, 0.01, 0.0]])
def test_tiny_or_zero_weights_that_behave_as_configured_raise_no_alert(weights):
    # Equal level losses: every level contributes exactly its configured share.
    curves = {("loss.level", i): np.full(100, 0.4) for i in range(3)}
    health = diagnose(make_run(curves, levels=3, weights=weights))
    contrib = health["contributions"]
    assert contrib["status"] == "healthy"
    assert light(health, "derived.contribution_fall")["value"] == pytest.approx(1.0)
    if 0.0 in weights:
        assert "weight 0: not trained, as configured" in contrib["note"]


def test_a_zero_weight_level_is_left_out_of_the_comparison():
    curves = {("loss.level", i): np.full(50, 0.5) for i in range(3)}
    contrib = diagnose(make_run(curves, levels=3, weights=[1.0, 1.0, 0.0]))["contributions"]
    assert contrib["recent"] == pytest.approx([0.5, 0.5, 0.0])
    assert contrib["ratios"] == [pytest.approx(1.0), pytest.approx(1.0), None]
    assert contrib["status"] == "healthy"
    assert "weight 0" in contrib["note"]


def test_one_level_has_no_hierarchy_to_balance():
    contrib = diagnose(make_run({("loss.level", 0): np.ones(50)}, levels=1))["contributions"]
    assert contrib["status"] == "unknown" and "one level" in contrib["note"]
    assert contrib["checks"] == []


def test_a_missing_level_loss_is_named():
    curves = {("loss.level", 0): np.ones(50), ("loss.level", 1): np.ones(50)}
    contrib = diagnose(make_run(curves, levels=3, weights=W))["contributions"]
    assert contrib["status"] == "unknown"
    assert "level(s) 2" in contrib["note"]


def test_curves_on_different_steps_are_aligned_on_common_steps():
    a = (np.arange(0, 200, 1), np.full(200, 0.5))
    b = (np.arange(0, 200, 2), np.full(100, 0.5))
    contrib = diagnose(
        make_run({("loss.level", 0): a, ("loss.level", 1): b}, levels=2, weights=[1.0, 3.0])
    )["contributions"]
    assert contrib["recent"] == pytest.approx([0.25, 0.75])
    assert contrib["steps"][-1] == 198


def test_nan_in_a_level_loss_does_not_break_the_shares():
    loss0 = np.full(100, 0.5)
    loss0[-3:] = np.nan
    contrib = diagnose(
        make_run(
            {("loss.level", 0): loss0, ("loss.level", 1): np.full(100, 0.5)},
            levels=2,
            weights=[1.0, 1.0],
        )
    )["contributions"]
    assert contrib["recent"] == pytest.approx([0.5, 0.5])
    assert contrib["shares"][0][-1] is None
