"""The §16 patterns: each detected on a curve shaped as the reference describes it, and
not detected on a realistic healthy JEPA run."""

import numpy as np
import pytest

from tensorboard_plugin_hjepa import catalog
from tensorboard_plugin_hjepa.diagnosis import diagnose
from tests.diagnosis_util import check, const, jepa_loss, make_run, pattern

N = 2000


def healthy_curves():
    """A realistic healthy run: loss drops fast, rises a little, falls slowly."""
    t = np.linspace(0, 1, 20)
    return {
        "loss.total": jepa_loss(N),
        "learning_rate.base_lr": const(3e-4, 20, every=100),
        "gradient_flow.global_norm": (
            np.arange(200) * 10,
            1.0 + 0.05 * np.random.default_rng(0).standard_normal(200),
        ),
        "gradient.clipping_percentage": const(2.0, N),
        "ema.momentum_current": (np.arange(20) * 100, 0.996 + 0.004 * t),
        "stability.loss_smoothness": const(0.05, N),
        "masking.mask_ratio": (np.arange(20) * 100, 0.6 + 0.005 * np.sin(np.arange(20))),
        ("collapse.mean_std_per_dim", 0): const(0.03, 20, every=100),
        ("collapse.effective_rank", 0): const(600.0, 20, every=100),
        ("collapse.mean_similarity", 0): const(0.05, 20, every=100),
        ("collapse.num_rows", 0): const(4096, 20, every=100),
        ("prediction.cosine_sim_mean", 0): (np.arange(20) * 100, 0.3 + 0.6 * (1 - np.exp(-4 * t))),
        "gradient_flow.target_encoder_mean": const(0.0, 20, every=100),
    }


def _detected(curves):
    health = diagnose(make_run(curves, dim=768))
    return {p["id"] for p in health["patterns"] if p["detected"]}, health


def test_every_pattern_is_reported():
    _, health = _detected(healthy_curves())
    assert [p["id"] for p in health["patterns"]] == [p.id for p in catalog.patterns()]
    for item in health["patterns"]:
        assert item["likely_cause"] and item["fix"]
        assert item["evidence_count"] == sum(1 for e in item["evidence"] if e["fired"])


def test_a_realistic_healthy_run_shows_no_pattern():
    found, health = _detected(healthy_curves())
    assert found == set()
    assert health["status"] in ("healthy", "unknown")  # unknown: lights without data
    assert "diagnosis fired" not in health["status_reason"]


def test_healthy_curve_caught_in_its_rise_is_not_divergence():
    curves = healthy_curves()
    curves["loss.total"] = jepa_loss(N)[: N // 4]  # stops at the top of the small rise
    found, health = _detected(curves)
    assert "divergence" not in found
    assert "loss_stuck" not in found


def test_a_big_rise_alone_is_not_divergence_without_evidence():
    curves = healthy_curves()
    loss = jepa_loss(N)
    loss[N // 2 :] *= np.linspace(1.0, 2.0, N - N // 2)  # rises 2x, all else healthy
    found, health = _detected(curves | {"loss.total": loss})
    item = pattern(health, "divergence")
    assert check(item, "loss_rises")["fired"] is True
    assert item["evidence_count"] == 0 and not item["detected"]


def test_divergence_with_clipping_evidence():
    loss = jepa_loss(N)
    loss[N // 2 :] *= np.linspace(1.0, 3.0, N - N // 2)
    curves = healthy_curves() | {"loss.total": loss, "gradient.clipping_percentage": const(70.0, N)}
    found, health = _detected(curves)
    assert "divergence" in found
    assert check(pattern(health, "divergence"), "clipping_high")["fired"] is True


def test_loss_stuck():
    curves = healthy_curves() | {
        "loss.total": 0.9 + 0.01 * np.sin(np.arange(N)),
        "learning_rate.base_lr": const(1e-6, 20, every=100),
    }
    found, health = _detected(curves)
    assert "loss_stuck" in found
    assert check(pattern(health, "loss_stuck"), "lr_too_low")["fired"] is True


def test_collapse_pattern_with_its_evidence():
    t = np.linspace(0, 1, 20)
    loss = jepa_loss(N) * np.r_[np.ones(N // 2), np.linspace(1, 0.05, N - N // 2)]
    curves = healthy_curves() | {
        "loss.total": loss,
        ("collapse.effective_rank", 0): (np.arange(20) * 100, 600 * (1 - 0.9 * t)),
        ("collapse.mean_std_per_dim", 0): (np.arange(20) * 100, 0.03 * (1 - 0.99 * t) ** 3),
    }
    found, health = _detected(curves)
    assert "collapse" in found
    item = pattern(health, "collapse")
    assert check(item, "loss_fast_drop")["fired"] is True
    assert check(item, "rank_falling")["fired"] is True
    assert health["status"] == "collapse"


def test_a_loss_noisier_than_it_was_is_the_noisy_pattern():
    rng = np.random.default_rng(5)
    loss = jepa_loss(N)
    noise = np.where(np.arange(N) < N // 2, 0.03, 0.3)  # the LR raised mid-run
    found, health = _detected(
        healthy_curves() | {"loss.total": np.abs(loss * (1 + noise * rng.standard_normal(N)))}
    )
    assert "noisy" in found
    assert check(pattern(health, "noisy"), "loss_noisy")["value"] > 2


def test_a_small_batch_loss_noisy_from_start_to_end_is_not_the_noisy_pattern():
    # Batch 8: per-batch noise 0.26 of the level all along (batch 64: 0.07-0.09).
    rng = np.random.default_rng(5)
    noisy = jepa_loss(N) * (1 + 0.26 * rng.standard_normal(N))
    found, health = _detected(healthy_curves() | {"loss.total": np.abs(noisy)})
    assert "noisy" not in found
    assert check(pattern(health, "noisy"), "loss_noisy")["value"] < 1.2


def test_early_plateau_needs_a_pinned_momentum():
    flat = {("prediction.cosine_sim_mean", 0): const(0.45, 20, every=100)}
    found, _ = _detected(healthy_curves() | flat)
    assert "early_plateau" not in found  # flat cosine, momentum on its 0.996 schedule
    pinned = flat | {"ema.momentum_current": const(0.99995, 20, every=100)}
    found, health = _detected(healthy_curves() | pinned)
    assert "early_plateau" in found
    assert check(pattern(health, "early_plateau"), "ema_pinned")["fired"] is True


@pytest.mark.parametrize("pattern_id", [p.id for p in catalog.patterns()])
def test_no_pattern_is_detected_without_data(pattern_id):
    health = diagnose(make_run({}))
    assert pattern(health, pattern_id)["detected"] is False


def test_a_detected_pattern_makes_a_run_without_alerts_a_warning():
    curves = healthy_curves() | {
        "loss.total": 0.9 + 0.01 * np.sin(np.arange(N)),
        "learning_rate.base_lr": const(1e-6, 20, every=100),
    }
    found, health = _detected(curves)
    assert "loss_stuck" in found
    assert health["status"] == "warning" and "loss_stuck" in health["status_reason"]
