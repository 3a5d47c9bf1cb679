"""A run that does what its configuration says is not an alarm.

Each case goes through the trainer's own code (its config files, mask generator and
metric functions) and the diagnosis must stay quiet on the light concerned.
"""

import dataclasses
import os

import numpy as np
import pytest
import torch

from hjepa_trainer import config as C
from hjepa_trainer import metrics as M
from hjepa_trainer.masking import build_mask_generator, mask_ratio_profile, step_generator
from tensorboard_plugin_hjepa.diagnosis import diagnose
from tensorboard_plugin_hjepa.summary import RunManifest
from tests import rule_firing
from tests.diagnosis_util import light
from tests.rule_firing import Recorder

CONFIGS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "trainer", "configs"
)


@pytest.mark.parametrize("name", ["vit_b16_224_gpu.yaml", "tiny_cpu.yaml"])
def test_the_projects_own_masking_raises_no_mask_warning(name):
    cfg = C.load_config(os.path.join(CONFIGS, name))
    masks = build_mask_generator(cfg, cfg.model.img_size // cfg.model.patch_size)
    batch = cfg.training.batch_size
    profile = mask_ratio_profile(masks, batch=batch, seed=cfg.training.seed)  # as the manifest
    rec = Recorder()
    for step in range(0, 1000, 10):
        m = masks(batch, step_generator(cfg.training.seed, step))
        rec.add_records(
            M.mask_records(
                num_context=m.context.shape[1],
                num_target=m.target.shape[1],
                num_patches=masks.grid**2,
            ),
            step,
        )
    health = diagnose(
        rec.run(mask_ratio_expected=profile.median, mask_ratio_range=[profile.low, profile.high])
    )
    if name.startswith("vit_b"):
        assert profile.median < 0.4  # outside the reference's typical range, as configured
    assert light(health, "masking.mask_ratio")["status"] == "healthy"
    assert light(health, "derived.mask_ratio_change")["status"] == "healthy"
    assert health["status"] in ("healthy", "unknown"), health["status_reason"]  # no collapse data


def test_block_sizes_drawn_per_batch_without_a_manifest_profile_raise_no_mask_warning():
    # I-JEPA's collator draws one block size per batch: ratios 0.50-0.75 from the first
    # steps on, and an own loop that states no profile in its manifest.
    rng = np.random.default_rng(0)
    rec = Recorder()
    for step in range(0, 1000, 10):
        num_target = int(rng.integers(98, 148))  # 50-75% of a 14x14 grid
        rec.add_records(
            M.mask_records(num_context=196 - num_target, num_target=num_target, num_patches=196),
            step,
        )
    health = diagnose(rec.run())
    assert light(health, "derived.mask_ratio_change")["status"] == "healthy"
    # The same collator switched to much smaller blocks mid-run is still a change.
    for step in range(1000, 2000, 10):
        num_target = int(rng.integers(40, 60))
        rec.add_records(
            M.mask_records(num_context=196 - num_target, num_target=num_target, num_patches=196),
            step,
        )
    assert light(diagnose(rec.run()), "derived.mask_ratio_change")["status"] == "warning"


@pytest.mark.parametrize("weights", [[1.0, 0.0, 0.0], [1.0, 0.002, 0.002], [1.0, 1.0, 0.0]])
def test_tiny_or_zero_weights_that_behave_as_configured_raise_nothing(weights):
    rec = Recorder()
    logger = M.HJepaMetrics(rec, hierarchy_weights=weights, embed_dim=128, window=50)
    rng = np.random.default_rng(0)
    for step in range(300):
        logger.log_losses(step, list(0.3 + 0.01 * rng.standard_normal(3)))
    health = diagnose(rec.run(levels=3, weights=weights, total_steps=300))
    assert health["contributions"]["status"] == "healthy", health["contributions"]["checks"]
    assert not [c for c in health["contributions"]["checks"] if c["status"] != "healthy"]
    if 0.0 in weights:
        assert "not trained, as configured" in health["contributions"]["note"]


def test_early_predictions_are_not_a_warning_until_training_is_under_way():
    def run(steps):
        rec = Recorder()
        g = torch.Generator().manual_seed(0)
        for step in steps:  # a young predictor: cosine ~0.25
            target = torch.randn(256, 64, generator=g)
            pred = target + 3.9 * torch.randn(256, 64, generator=g)
            rec.add_records(M.prediction_records(pred, target, 0), step)
        return light(diagnose(rec.run(total_steps=1000)), "prediction.cosine_sim_mean", 0)

    early, late = run(range(0, 40, 10)), run(range(600, 700, 10))
    assert 0.15 < early["value"] < 0.35
    assert early["status"] == "healthy"  # 4% into training: the reference expects ~0.4 later
    assert late["status"] == "warning"  # 70% into training, still 0.25


@pytest.mark.parametrize(
    "manifest, status",
    [
        ({"stop_gradient": False}, "unknown"),  # declared: no teacher (LeJEPA/SIGReg-style)
        ({"stop_gradient": False, "teacher": "none"}, "unknown"),
        ({"stop_gradient": False, "teacher": "ema"}, "critical"),  # the trainer's ablation
        ({}, "critical"),  # not stated: an EMA target's targets must get no gradient
    ],
)
def test_a_run_without_a_teacher_by_design_is_not_a_missing_stop_gradient(manifest, status):
    # The trainer's own model without stop-gradient: gradients reach its targets.
    health = diagnose(_rerun(manifest))
    result = light(health, "gradient_flow.target_features_grad_norm")
    assert result["status"] == status, result["explanation"]
    if status == "unknown":
        assert "no teacher by design" in result["explanation"]
        assert health["status"] not in ("critical",), health["status_reason"]


def _rerun(manifest):
    """The no-stop-gradient run's curves under a manifest stating ``manifest``."""
    data = rule_firing._no_stop_gradient_run()
    base = data.manifest.to_dict()
    base.update(manifest)
    return dataclasses.replace(data, manifest=RunManifest.from_dict(base))


def test_a_large_model_on_a_large_card_is_not_a_memory_alarm():
    # 60 GB allocated from start to end on an 80 GB card: a ViT-L, as configured.
    health = diagnose(rule_firing._gpu_memory_run(lambda step: 60.0))
    memory = light(health, "performance.gpu_memory_allocated_gb")
    assert memory["status"] == "healthy"
    assert any("40 GB" in note for note in memory["notes"])  # the reference's bound, shown
