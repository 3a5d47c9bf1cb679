"""The kNN probe as lights: against the random-init encoder, against chance, and its own peak."""

import numpy as np

from tensorboard_plugin_hjepa.catalog import Source
from tensorboard_plugin_hjepa.diagnosis import diagnose
from tensorboard_plugin_hjepa.run_data import RunData
from tests.diagnosis_util import light, make_run, series

EVALS = np.arange(300, 1001, 100)  # after early training of a 1000-step run


def _run(knn, *, baseline=0.30, classes=10.0, **kwargs):
    curves = {"eval.knn_top1": (EVALS[: len(knn)], np.asarray(knn, dtype=float))}
    if baseline is not None:
        curves["eval.knn_top1_random_init"] = (np.array([0]), np.array([baseline]))
    if classes is not None:
        curves["eval.num_classes"] = (np.array([0]), np.array([classes]))
    return diagnose(make_run(curves, total_steps=1000, **kwargs))


def test_a_probe_above_random_init_and_still_rising_is_healthy():
    health = _run([0.35, 0.40, 0.42])
    for key in ("derived.knn_vs_random_init", "derived.knn_vs_chance", "derived.knn_fall"):
        assert light(health, key)["status"] == "healthy", key


def test_a_probe_below_the_random_init_encoder_warns():
    result = light(_run([0.35, 0.31, 0.28]), "derived.knn_vs_random_init")
    assert result["status"] == "warning"
    assert abs(result["value"] - 0.28 / 0.30) < 1e-12


def test_a_probe_at_chance_is_collapse_and_fires_the_collapse_branch():
    health = _run([0.20, 0.11])
    assert light(health, "derived.knn_vs_chance")["status"] == "collapse"
    assert health["status"] == "collapse"
    assert any(b["id"] == "collapse" and b["fired"] for b in health["flowchart"])


def test_a_probe_falling_steadily_from_its_peak_warns_but_not_a_noisy_one():
    assert light(_run([0.50, 0.48, 0.45, 0.41]), "derived.knn_fall")["status"] == "warning"
    assert light(_run([0.50, 0.44, 0.47, 0.45]), "derived.knn_fall")["status"] == "healthy"


def test_a_probe_before_early_training_ends_is_not_judged_against_random_init():
    curves = {
        "eval.knn_top1": (np.array([100]), np.array([0.2])),
        "eval.knn_top1_random_init": (np.array([0]), np.array([0.3])),
    }
    result = light(diagnose(make_run(curves, total_steps=1000)), "derived.knn_vs_random_init")
    assert result["status"] == "unknown" and "after warmup" in result["explanation"]


def test_another_trainers_probe_tag_gets_the_same_lights():
    knn = series(
        "eval.knn_top1", None, (EVALS[:4], np.array([0.5, 0.48, 0.45, 0.41])), tag="val/knn_top1"
    )
    health = diagnose(
        RunData(
            run="plain", source=Source.PLAIN, manifest=None, series={("eval.knn_top1", None): knn}
        )
    )
    assert light(health, "derived.knn_fall")["status"] == "warning"
    assert light(health, "derived.knn_fall")["tag"] == "val/knn_top1"
    # No baseline and no class count in such logs: those two lights say unknown.
    assert light(health, "derived.knn_vs_random_init")["status"] == "unknown"
    assert light(health, "derived.knn_vs_chance")["status"] == "unknown"
