"""The kNN probe as lights, judged in the probe's binomial standard errors.

Against the random-init encoder (below it), its gain over the run (at the end), chance,
and a steady fall from its own peak; n is ``eval/probe_queries``.
"""

import numpy as np
import pytest

from tensorboard_plugin_hjepa.catalog import Source
from tensorboard_plugin_hjepa.diagnosis import diagnose
from tensorboard_plugin_hjepa.run_data import RunData
from tests.diagnosis_util import light, make_run, series

EVALS = np.arange(300, 1001, 100)  # after early training of a 1000-step run
QUERIES = 1000.0


def _run(knn, *, baseline=0.30, classes=10.0, queries=QUERIES, steps=None, **kwargs):
    steps = EVALS[: len(knn)] if steps is None else steps
    curves = {"eval.knn_top1": (steps, np.asarray(knn, dtype=float))}
    for key, value in (
        ("eval.knn_top1_random_init", baseline),
        ("eval.num_classes", classes),
        ("eval.probe_queries", queries),
    ):
        if value is not None:
            curves[key] = (np.array([0]), np.array([value]))
    return diagnose(make_run(curves, total_steps=1000, **kwargs))


def _se(p, n=QUERIES):
    return np.sqrt(p * (1 - p) / n)


def test_a_probe_above_random_init_and_still_rising_is_healthy():
    health = _run([0.35, 0.40, 0.42, 0.43])
    for key in ("derived.knn_vs_random_init", "derived.knn_vs_chance", "derived.knn_fall"):
        assert light(health, key)["status"] == "healthy", key
    gain = light(health, "derived.knn_gain")  # at 50% of training: still learning
    assert gain["status"] == "unknown" and "last 5% of training" in gain["explanation"]


def test_a_probe_below_the_random_init_encoder_by_its_noise_warns_and_within_it_does_not():
    result = light(_run([0.35, 0.28, 0.24]), "derived.knn_vs_random_init")
    assert result["value"] == pytest.approx((0.24 - 0.30) / np.hypot(_se(0.24), _se(0.30)))
    assert result["status"] == "warning"
    assert "random-init encoder's 0.300 on 1000 queries" in result["compared_with"]
    within = light(_run([0.35, 0.30, 0.28]), "derived.knn_vs_random_init")
    assert -3 < within["value"] < 0 and within["status"] == "healthy"


def test_a_probe_that_never_beat_the_random_init_encoder_warns_at_the_end():
    # 1.02x its random-init encoder's at the end of training: no better than no training.
    stagnant = _run([0.30, 0.31, 0.30, 0.305, 0.31, 0.30, 0.306, 0.306])
    gain = light(stagnant, "derived.knn_gain")
    assert gain["status"] == "warning" and gain["value"] < 2
    assert light(stagnant, "derived.knn_vs_random_init")["status"] == "healthy"
    learnt = light(_run([0.30, 0.36, 0.40, 0.41, 0.40, 0.39, 0.40, 0.40]), "derived.knn_gain")
    assert learnt["status"] == "healthy" and learnt["value"] > 2  # its best, 0.41


def test_the_gain_waits_for_the_probe_of_the_end_of_training():
    # The tiny demo at its check of step 1450 of 1500: probes at 33% and 67% of training,
    # the last one 1.6 standard errors above the random-init encoder's; the probe of the
    # end of training is still to come, so the gain is not judged yet (it warned there).
    # The run's other curves go on to step 970 (97% of the run).
    base, late = 0.3516, 0.3848
    at_97 = make_run(
        {
            "eval.knn_top1": (np.array([333, 667]), np.array([0.373, late])),
            "eval.knn_top1_random_init": (np.array([0]), np.array([base])),
            "eval.num_classes": (np.array([0]), np.array([6.0])),
            "eval.probe_queries": (np.array([0]), np.array([1024.0])),
            "loss.total": (np.arange(0, 971, 10), np.full(98, 0.5)),
        },
        total_steps=1000,
    )
    gain = light(diagnose(at_97), "derived.knn_gain")
    assert gain["status"] == "unknown" and "step 667" in gain["explanation"], gain
    # Its end-of-training probe, 0.419: judged, healthy (3.1 standard errors above).
    at_97.series[("eval.knn_top1", None)] = series(
        "eval.knn_top1", None, (np.array([333, 667, 1000]), np.array([0.373, late, 0.4189]))
    )
    gain = light(diagnose(at_97), "derived.knn_gain")
    assert gain["status"] == "healthy" and gain["value"] > 2


def test_a_probe_at_chance_is_collapse_and_fires_the_collapse_branch():
    health = _run([0.20, 0.11])
    assert light(health, "derived.knn_vs_chance")["status"] == "collapse"
    assert health["status"] == "collapse"
    assert any(b["id"] == "collapse" and b["fired"] for b in health["flowchart"])


def test_a_two_class_probe_six_standard_errors_above_chance_is_not_at_chance():
    result = light(_run([0.60], classes=2.0, baseline=0.55, queries=900.0), "derived.knn_vs_chance")
    assert result["value"] == pytest.approx(0.10 / _se(0.5, 900))  # 6 standard errors
    assert result["status"] == "healthy"
    assert light(_run([0.52], classes=2.0, queries=900.0), "derived.knn_vs_chance")["status"] == (
        "collapse"
    )


def test_a_probe_falling_steadily_from_its_peak_warns_but_not_a_noisy_one():
    falling = light(_run([0.50, 0.49, 0.48, 0.45, 0.41]), "derived.knn_fall")
    assert falling["status"] == "warning" and falling["value"] > 3
    assert light(_run([0.50, 0.44, 0.47, 0.45]), "derived.knn_fall")["status"] == "healthy"


def test_a_healthy_plateau_with_evaluation_noise_rarely_raises_the_fall_light():
    # 5% evaluation noise: a probe at 0.5 scored on 100 queries, judged after every one of
    # 20 evaluations, as the online checks do.
    rng = np.random.default_rng(0)
    steps = np.arange(300, 1000, 35)
    fired = 0
    runs = 200
    for _ in range(runs):
        knn = rng.binomial(100, 0.5, steps.size) / 100.0
        for k in range(4, steps.size + 1):
            health = _run(knn[:k], steps=steps[:k], baseline=0.3, queries=100.0)
            if light(health, "derived.knn_fall")["status"] != "healthy":
                fired += 1
                break
    assert fired / runs < 0.05  # was 47-84% with 2 falls against one evaluation's peak


def test_a_probe_before_early_training_ends_is_not_judged_against_random_init():
    health = _run([0.2], steps=np.array([100]))
    result = light(health, "derived.knn_vs_random_init")
    assert result["status"] == "unknown" and "after early training" in result["explanation"]


def test_a_probe_of_unknown_size_is_unknown_not_guessed():
    result = light(_run([0.50, 0.48, 0.45, 0.41], queries=None), "derived.knn_fall")
    assert result["status"] == "unknown" and "eval/probe_queries" in result["explanation"]


def test_another_trainers_probe_tag_gets_the_same_lights():
    steps = EVALS[:5]
    curves = {
        ("eval.knn_top1", None): series(
            "eval.knn_top1",
            None,
            (steps, np.array([0.5, 0.49, 0.48, 0.45, 0.41])),
            tag="val/knn_top1",
        ),
        ("eval.probe_queries", None): series(
            "eval.probe_queries", None, (np.array([0]), np.array([QUERIES]))
        ),
    }
    health = diagnose(RunData(run="plain", source=Source.PLAIN, manifest=None, series=curves))
    assert light(health, "derived.knn_fall")["status"] == "warning"
    assert light(health, "derived.knn_fall")["tag"] == "val/knn_top1"
    # No baseline and no class count in such logs: those two lights say unknown.
    assert light(health, "derived.knn_vs_random_init")["status"] == "unknown"
    assert light(health, "derived.knn_vs_chance")["status"] == "unknown"
