"""The GPU config's precision and compile paths, exercised on the CPU.

``training.amp=bf16`` runs the step under ``torch.autocast("cpu", dtype=torch.bfloat16)``
(the switch the CUDA config uses); ``training.compile=true`` compiles the encoders and the
predictor with ``dynamic=True`` through inductor's C++ backend, with the real mask
generator's varying context and target counts. Both are compared with a float32 eager run
from the same seed.

The compile test compiles ~40 C++ kernels: 70-100 s on a busy 2-core machine the first
time, ~10 s once inductor's on-disk cache (``/tmp/torchinductor_<user>``) holds them.
"""

import math
import shutil
import sys

import pytest
import torch

from hjepa_trainer.masking import step_generator
from hjepa_trainer.train import Trainer, train
from tensorboard_plugin_hjepa import catalog

from trainer_helpers import read_scalars, tiny_config

STEPS = 8  # the tiny config's schedule: the last step's probe and validation loss run too

# bf16 keeps 8 significant bits: each activation is rounded by up to 2**-9 = 0.2%. The loss
# is a mean over thousands of rounded values, and 8 AdamW steps from the same init keep the
# two runs together: the largest relative gap measured was 2e-4. 1% is 50x that, and still
# ten times smaller than the loss's own change over these 8 steps (0.69 -> 0.62).
BF16_LOSS_REL = 1e-2
# The collapse statistics are computed in float32 from the (float32) target features; they
# move by the same rounding (largest gap measured: 0.4% of min_std_per_dim at level 2).
BF16_COLLAPSE_REL, BF16_COLLAPSE_ABS = 2e-2, 2e-3


@pytest.fixture(scope="module")
def float32_and_bf16(tmp_path_factory):
    runs = {}
    for amp in ("none", "bf16"):
        logdir = tmp_path_factory.mktemp(amp)
        result = train(tiny_config(logdir, f"training.amp={amp}"), progress=False)
        runs[amp] = result, read_scalars(logdir / "run")
    return runs


def test_bf16_autocast_is_honoured_on_the_cpu(float32_and_bf16):
    (f32, _), (bf16, _) = float32_and_bf16["none"], float32_and_bf16["bf16"]
    assert f32.end_step == bf16.end_step == STEPS
    # Not the float32 run again: some loss differs (the first step's rounding already does).
    assert f32.history != bf16.history


def test_bf16_logs_every_metric_of_float32_all_finite(float32_and_bf16):
    (_, f32), (_, bf16) = float32_and_bf16["none"], float32_and_bf16["bf16"]
    assert set(bf16) == set(f32)
    bad = {tag: pts for tag, pts in bf16.items() if not all(math.isfinite(v) for _, v in pts)}
    assert not bad, bad
    # The probe (encoder under autocast, votes in float32) ran at random init and at the end.
    assert [s for s, _ in bf16[catalog.tag("eval.knn_top1")]] == [STEPS]
    assert catalog.tag("eval.knn_top1_random_init") in bf16


def test_bf16_losses_and_collapse_statistics_track_float32(float32_and_bf16):
    (f32_result, f32), (bf16_result, bf16) = float32_and_bf16["none"], float32_and_bf16["bf16"]
    for step, (a, b) in enumerate(zip(f32_result.history, bf16_result.history)):
        assert b == pytest.approx(a, rel=BF16_LOSS_REL), f"total loss at step {step}"
    level_tags = [catalog.tag("loss.level", level=i) for i in range(3)]
    collapse_tags = [
        catalog.tag(m.key, level=i)
        for m in catalog.metrics()
        if m.category == "collapse"
        for i in range(3)
    ]
    for tag in level_tags:
        for (step, a), (_, b) in zip(f32[tag], bf16[tag]):
            assert b == pytest.approx(a, rel=BF16_LOSS_REL), (tag, step)
    for tag in collapse_tags:
        assert f32[tag], tag
        assert [s for s, _ in bf16[tag]] == [s for s, _ in f32[tag]], tag
        for (step, a), (_, b) in zip(f32[tag], bf16[tag]):
            assert b == pytest.approx(a, rel=BF16_COLLAPSE_REL, abs=BF16_COLLAPSE_ABS), (tag, step)


# ----------------------------------------------------------------------------- compile
COMPILE_STEPS = 24
# inductor fuses elementwise ops and reorders float32 reductions: a different summation
# order, ~1e-7 relative per op. The largest gap measured over 30 steps was 1.2e-7; a
# wrong graph (a stale token count, a missed mask) is off by percent.
COMPILE_LOSS_REL = 1e-4
# Compiled frames over the whole run: VisionTransformer.forward twice (the target encoder
# runs it under no_grad, the context encoder with gradients; grad mode is a guard and both
# encoders share the code) and Predictor.forward once. With dynamic=True the varying
# context and target token counts recompile nothing; a count above 3 means they do, and
# past torch._dynamo's cache limit the step would silently run eagerly.
COMPILED_FRAMES = 3
_COMPILED_CODE = 2  # VisionTransformer.forward, Predictor.forward


def _compile_config(logdir, compile_):
    # total_steps past the run's end: no end-of-schedule probe or validation loss, whose
    # eval mode and no_grad predictor would add frames of their own.
    return tiny_config(
        logdir,
        f"training.compile={str(compile_).lower()}",
        "training.total_steps=1000",
        "training.warmup_steps=5",
        "eval.random_init_baseline=false",
        "health.enabled=false",
        "logging.tensorboard.enabled=false",  # the losses come back in the result
        f"logging.experiment_name=compile_{compile_}",
    )


def _cxx_compiler_missing() -> bool:
    return not any(shutil.which(c) for c in ("g++", "c++", "clang++"))


@pytest.mark.skipif(sys.platform == "win32", reason="inductor's C++ backend: Linux and macOS")
def test_compile_matches_eager_with_varying_masks_and_bounded_recompiles(tmp_path):
    from torch._dynamo.utils import counters

    eager = Trainer(_compile_config(tmp_path, False), progress=False, max_steps=COMPILE_STEPS)
    counts = {
        (m.context.shape[1], m.target.shape[1])
        for m in (eager.masks(8, step_generator(0, s)) for s in range(COMPILE_STEPS))
    }
    assert len(counts) >= 3, f"the masks must vary for this test: {counts}"
    eager_history = eager.run().history

    torch._dynamo.reset()
    counters.clear()
    try:
        compiled = Trainer(
            _compile_config(tmp_path, True), progress=False, max_steps=COMPILE_STEPS
        ).run()
    except Exception as err:  # skipped only when no C++ compiler exists
        if _cxx_compiler_missing():
            pytest.skip(f"torch.compile on the CPU needs a C++ compiler (g++/clang++): {err}")
        raise
    frames = counters["frames"]["ok"]
    graph_breaks = sum(counters["graph_break"].values())
    torch._dynamo.reset()

    assert compiled.end_step == COMPILE_STEPS
    for step, (a, b) in enumerate(zip(eager_history, compiled.history)):
        assert b == pytest.approx(a, rel=COMPILE_LOSS_REL), f"total loss at step {step}"
    assert graph_breaks == 0
    assert frames == COMPILED_FRAMES, (
        f"{frames} frames compiled ({frames - _COMPILED_CODE} recompilations) for "
        f"{len(counts)} different (context, target) token counts"
    )
