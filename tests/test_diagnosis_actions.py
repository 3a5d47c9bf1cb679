"""What to do first: the action of the strongest evidence that fired, from the catalogue."""

from tensorboard_plugin_hjepa.diagnosis import diagnose
from tests import rule_firing
from tests.diagnosis_util import const, jepa_loss, make_run


def test_a_missing_stop_gradient_leads_with_restoring_it_not_with_the_branchs_first_action():
    health = diagnose(rule_firing._no_stop_gradient_run())
    first = health["first_action"]
    assert first["action"].startswith("Restore the stop-gradient")
    assert first["evidence"] == "gradient_flow.target_features_grad_norm"
    assert first["kind"] == "light" and first["status"] == "critical"
    assert "stop-gradient is missing" in first["answers"]


def test_clipping_on_most_steps_leads_with_the_clip_threshold():
    health = diagnose(rule_firing._clipping_run(0.9))
    assert health["first_action"]["action"].startswith("Raise the clip threshold")
    assert health["first_action"]["evidence"] == "gradient.clipping_percentage"


def test_a_frozen_target_leads_with_the_ema_momentum():
    health = diagnose(rule_firing._ema_run(momentum=1.0, from_step=500))
    assert "EMA momentum" in health["first_action"]["action"]
    assert health["first_action"]["evidence"] == "derived.ema_frozen_at"


def test_symptoms_alone_fall_back_on_the_branchs_general_action():
    # Features collapsed to a point: only symptom lights (no cause is logged).
    health = diagnose(rule_firing._collapse_run(lambda g: rule_firing._point(0.05, g)))
    first = health["first_action"]
    collapse = next(b for b in health["flowchart"] if b["id"] == "collapse")
    assert collapse["fired"]
    assert first["kind"] == "branch" and first["evidence"] == "collapse"
    assert first["action"] == collapse["actions"][0]


def test_a_check_that_fired_in_a_branch_carries_its_action():
    # A learning rate at 1e-7 on a flat loss: the loss-stuck pattern's evidence names it.
    curves = {
        "loss.total": const(1.0, 1000),
        "learning_rate.base_lr": const(1e-7, 100, every=10),
    }
    health = diagnose(make_run(curves, total_steps=1000))
    assert health["first_action"]["action"].startswith("Raise the learning rate")
    assert health["first_action"]["evidence"] == "lr_too_low"


def test_a_healthy_run_has_nothing_to_do():
    health = diagnose(make_run({"loss.total": jepa_loss(1000)}, total_steps=1000))
    assert health["first_action"] is None
