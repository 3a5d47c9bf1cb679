"""The trainer benchmark's GPU figures, checked without a GPU.

``python -m benchmarks.trainer --only gpu_plan --fast`` traces the ViT-B/16 config's step
on fake tensors: its FLOPs are checked against the textbook count of a ViT-B/16 forward,
its memory against the parameter count. The roofline's FLOPs (fake tensors) are checked
against a real step's, and ``--only gpu`` on a machine without CUDA must say so, status 2.
No timing is asserted.
"""

import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from benchmarks.trainer import roofline, tracing  # noqa: E402
from hjepa_trainer.masking import step_generator  # noqa: E402
from hjepa_trainer.metrics import StepTimer  # noqa: E402
from hjepa_trainer.train import Trainer  # noqa: E402
from tests.trainer.trainer_helpers import tiny_config  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

N, D, DEPTH, PATCH = 196, 768, 12, 16  # ViT-B/16 at 224 px: 14 x 14 patches
P, P_DEPTH = 384, 6  # the config's predictor width and depth
BATCH = 64


def vit_forward_flops(tokens: int, *, width: int = D, depth: int = DEPTH) -> int:
    """Forward FLOPs of the encoder blocks on ``tokens`` tokens, 2 per multiply-add:
    qkv, projection and MLP (24 N D^2) and attention (4 N^2 D) per block."""
    return depth * (24 * tokens * width**2 + 4 * tokens**2 * width)


# One ViT-B/16 image: 34.7 GFLOP of blocks + 0.23 of patch embedding = 34.9 GFLOP, the
# "17.6 GFLOPs" usually quoted (those count multiply-adds).
PATCH_EMBED_FLOPS = 2 * N * D * 3 * PATCH * PATCH
VIT_B16_FORWARD = vit_forward_flops(N) + PATCH_EMBED_FLOPS


def block_params(width: int, depth: int) -> int:
    """qkv (3w^2 + 3w), proj (w^2 + w), fc1 (4w^2 + 4w), fc2 (4w^2 + w), 2 layer norms (4w)."""
    return depth * (12 * width**2 + 13 * width)


ENCODER_PARAMS = block_params(D, DEPTH) + (3 * PATCH * PATCH * D + D) + 2 * D
PREDICTOR_PARAMS = block_params(P, P_DEPTH) + (D * P + P) + P + 2 * P + (P * D + D)


@pytest.fixture(scope="module")
def plan_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_plan") / "plan.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.trainer", "--only", "gpu_plan", "--fast"]
        + ["--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, json.loads(out.read_text())["gpu_plan"]


def test_the_plan_prints_flops_memory_and_implied_throughput(plan_run):
    text, plan = plan_run
    for line in (
        "FLOPs of one training step",
        "target encoder, forward (no_grad)",
        "context encoder, forward + backward",
        "predictor, forward + backward",
        "metrics, amortised at their frequencies",
        f"total per step{' ' * 36}{plan['flops'] / 1e12:7.3f} TFLOP",
        "Peak memory",
        "optimizer state (AdamW exp_avg, exp_avg_sq)",
        "activations and temporaries at the peak",
        "metrics' extra (rise while they run)",
        "H100 SXM 989 TFLOP/s",
        "A100 312 TFLOP/s",
        "the seed's 200-400 samples/s on an A100",
    ):
        assert line in text, line
    for device in ("H100 SXM", "A100"):
        row = plan["implied"][device]
        assert 0 < row["30%"] < row["40%"] < row["50%"]
        assert f"{row['40%']:9.0f}" in text


def test_the_counted_flops_are_vit_b16s(plan_run):
    _, plan = plan_run
    assert plan["batch"] == BATCH
    parts = plan["part_flops"]
    # The target encoder runs forward only, on all 196 tokens: exactly the textbook count.
    assert parts["target_encoder"] == pytest.approx(BATCH * VIT_B16_FORWARD, rel=1e-3)
    # The context encoder on Nc tokens, forward and backward (the backward costs twice the
    # forward; the patch embedding runs on every patch and needs no input gradient). Nc
    # varies by step: the quadratic attention term is ~1% and the mean's, so 2% slack.
    nc, nt = plan["num_context"], plan["num_target"]
    context = 3 * vit_forward_flops(round(nc)) + 2 * PATCH_EMBED_FLOPS
    assert parts["context_encoder"] == pytest.approx(BATCH * context, rel=0.02)
    # The predictor: its blocks on Nc + Nt tokens, the D -> P embedding of the context and
    # the P -> D projection of the targets, forward and backward.
    predictor = 3 * (
        vit_forward_flops(round(nc + nt), width=P, depth=P_DEPTH) + 2 * (nc + nt) * D * P
    )
    assert parts["predictor"] == pytest.approx(BATCH * predictor, rel=0.02)
    # The whole step: the parts plus the metrics at their frequencies, nothing else counted.
    assert plan["model_flops"] == pytest.approx(sum(parts.values()), rel=1e-6)
    assert plan["flops"] == pytest.approx(plan["model_flops"] + plan["metrics_flops_amortised"])
    assert 0 < plan["metrics_flops_amortised"] < 0.01 * plan["flops"]
    assert plan["fit_misfit"] < 1e-6
    lo, hi = plan["model_flops_range"]
    assert lo < plan["model_flops"] < hi


def test_the_traced_memory_is_vit_b16s(plan_run):
    _, plan = plan_run
    params = 2 * ENCODER_PARAMS + PREDICTOR_PARAMS
    trainable = ENCODER_PARAMS + PREDICTOR_PARAMS
    assert plan["parameter_bytes"] == pytest.approx(4 * params, rel=0.01)  # + position buffers
    assert plan["optimizer_bytes"] == pytest.approx(2 * 4 * trainable, rel=0.01)
    assert plan["gradient_bytes"] == 4 * trainable
    persistent = plan["parameter_bytes"] + plan["optimizer_bytes"]
    assert plan["activation_bytes_at_peak"] > 0
    assert plan["peak_bytes"] == pytest.approx(
        persistent + plan["gradient_bytes_at_peak"] + plan["activation_bytes_at_peak"], rel=1e-3
    )
    assert 0 < plan["metrics_extra_bytes"] < plan["peak_bytes"]
    assert plan["peak_bytes"] < 16e9  # the design's aim at batch 64


def test_fake_step_counts_the_flops_a_real_step_computes(tmp_path):
    """The roofline's numerator: FLOPs traced on fake tensors = FLOPs of the real step."""
    cfg = tiny_config(
        tmp_path, "eval.random_init_baseline=false", "logging.tensorboard.enabled=false"
    )
    trainer = Trainer(cfg, progress=False)
    images, _ = trainer.data.train.get_batch(torch.arange(cfg.training.batch_size))
    counted = []
    for step in (0, 1):  # every metric due, then the every-step ones only
        with tracing.flop_counter() as counter:
            trainer.train_step(images, step, StepTimer(trainer.device))
        counted.append(counter.get_total_flops())

    def masks_of(step):
        return trainer.masks(cfg.training.batch_size, step_generator(cfg.training.seed, step))

    assert roofline.step_flops(cfg, [0, 1], masks_of) == counted
    assert counted[0] > counted[1] > 0  # step 0's collapse statistics are matmuls


def test_the_matmul_peak_is_measured_here():
    peak = roofline.matmul_peak(side=256, repeats=2)
    assert peak.wall_gflops > 0 and peak.cpu_gflops > 0
    assert peak.threads == torch.get_num_threads()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_gpu_part_without_cuda_says_so_with_status_2():
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.trainer", "--only", "gpu"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert "needs a CUDA device" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
