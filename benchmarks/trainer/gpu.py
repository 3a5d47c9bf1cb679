"""ViT-B/16 on a CUDA device: the plan's step measured, bf16 eager and compiled.

    python -m benchmarks.trainer --only gpu [--gpu-steps 100]

Builds the GPU config's ``Trainer`` (``trainer/configs/vit_b16_224_gpu.yaml``, batch 64,
bf16 autocast, fused AdamW) on in-memory procedural images at 224 px (no data loading:
the step alone, from pinned host memory), calls ``train_step`` for ``WARMUP_STEPS`` steps
(compilation included), then times the next ``--gpu-steps`` steps, each with its one host
sync (the loss check), and reports per mode (``training.compile`` false / true):

- samples/s over the timed steps (``torch.cuda.synchronize`` at both ends);
- the peak of ``torch.cuda.max_memory_allocated`` over the timed steps;
- achieved TFLOP/s: the plan's FLOPs of the timed steps (``gpu_plan``: the model's mean
  step and the metrics due at each step) over their time, and its share of the device's
  dense bf16 peak where the device is known.

Without CUDA it says so and ``main`` exits with status 2.
"""

from __future__ import annotations

import tempfile
import time
from typing import List, Optional

import torch

from hjepa_trainer import config as C
from hjepa_trainer.data import iterate_batches
from hjepa_trainer.metrics import StepTimer
from hjepa_trainer.train import Trainer

from .gpu_plan import GPU_CONFIG, Plan, due_cycle

# Dense bf16 tensor-core peaks, TFLOP/s, by a substring of torch.cuda.get_device_name();
# the first match wins (PCIe H100s have a lower clock than SXM ones).
DEVICE_PEAK_BF16_TFLOPS = (
    ("H100 PCIe", 756.0),
    ("H100", 989.0),
    ("H200", 989.0),
    ("A100", 312.0),
    ("L40S", 362.0),
)
WARMUP_STEPS = 8  # compilation, cuDNN/cuBLAS heuristics, allocator growth


class NeedsCuda(RuntimeError):
    """``--only gpu`` ran on a machine without a CUDA device."""


def require_cuda() -> None:
    """Raise ``NeedsCuda``, saying what to run instead, on a machine without CUDA."""
    if not torch.cuda.is_available():
        raise NeedsCuda(
            "--only gpu needs a CUDA device: torch.cuda.is_available() is False "
            f"(torch {torch.__version__}); run it on a GPU machine. "
            "--only gpu_plan gives the same step's FLOPs and memory without one."
        )


def device_peak_tflops(name: str) -> Optional[float]:
    """The dense bf16 peak of a device name, or None for a device not in the table."""
    for key, tflops in DEVICE_PEAK_BF16_TFLOPS:
        if key in name:
            return tflops
    return None


def measure(p: Plan, *, steps: int = 100, log=print) -> List[dict]:
    """Time the plan's config on this CUDA device, eager and compiled.

    Args:
        p: the plan of the same config and batch (its FLOPs).
        steps: timed steps per mode, from step ``WARMUP_STEPS`` on.
        log: progress lines.

    Returns:
        One row per mode: mode, device, and samples_per_s, step_ms, peak_gb, tflops,
        peak_share; or error where the mode failed (a compiler error, say).

    Raises:
        NeedsCuda: no CUDA device.
    """
    require_cuda()
    name = torch.cuda.get_device_name()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for compile_ in (False, True):
            mode = "bf16 compiled" if compile_ else "bf16 eager"
            try:
                row = _measure_mode(p, compile_, steps=steps, log_dir=tmp)
            except Exception as e:  # a compiler failure is a result of this table, not a crash
                row = {"mode": mode, "error": f"{type(e).__name__}: {str(e).strip()[:200]}"}
                log(f"  gpu: {mode}: failed ({row['error']})")
            else:
                log(f"  gpu: {mode}: {row['samples_per_s']:.0f} samples/s")
            row.update(mode=mode, device=name)
            rows.append(row)
            torch.cuda.empty_cache()
    return rows


def _measure_mode(p: Plan, compile_: bool, *, steps: int, log_dir: str) -> dict:
    """One row of ``measure``: the plan's config timed with ``training.compile`` = compile_."""
    peak_tf = device_peak_tflops(torch.cuda.get_device_name())
    cfg = C.load_config(
        GPU_CONFIG,
        [
            f"training.batch_size={p.batch}",
            f"training.compile={str(compile_).lower()}",
            "training.device=cuda",
            "training.amp=bf16",
            "data.source=procedural",
            f"data.train_size={4 * p.batch}",
            f"data.val_size={p.batch}",
            f"data.probe_size={p.batch}",
            f"logging.log_dir={log_dir}",
            f"logging.experiment_name=gpu_compile_{compile_}",
        ],
    )
    trainer = Trainer(cfg, progress=False)
    period, groups = due_cycle(trainer.metrics)
    # The metrics' FLOPs of each step: those of the first step with the same due-set.
    metrics_flops = {
        s: p.metrics_flops_by_every[str(steps_alike[0])][0]
        for steps_alike in groups.values()
        for s in steps_alike
    }
    data = iterate_batches(trainer.data.train, start_step=0, batch=p.batch, seed=cfg.data.seed)
    timer = StepTimer(trainer.device)
    for step in range(WARMUP_STEPS):
        trainer.train_step(next(data)[0], step, timer)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    timed = range(WARMUP_STEPS, WARMUP_STEPS + steps)
    pinned = [next(data)[0].pin_memory() for _ in range(4)]  # host copies overlap
    t0 = time.perf_counter()
    for step in timed:
        trainer.train_step(pinned[step % len(pinned)], step, timer)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    flops = sum(p.model_flops + metrics_flops[s % period] for s in timed)
    tflops = flops / seconds / 1e12
    return {
        "samples_per_s": p.batch * steps / seconds,
        "step_ms": 1000.0 * seconds / steps,
        "peak_gb": torch.cuda.max_memory_allocated() / 1e9,
        "tflops": tflops,
        "peak_share": tflops / peak_tf if peak_tf else None,
    }


def report(p: Plan, rows: List[dict]) -> str:
    """The table ``--only gpu`` prints."""
    device = rows[0]["device"] if rows else "?"
    peak_tf = device_peak_tflops(device)
    peak_text = f"{peak_tf:.0f} TFLOP/s dense bf16" if peak_tf else "peak not in the table"
    lines = [
        f"ViT-B/16 measured on {device} ({peak_text}), batch {p.batch}, "
        f"plan: {p.flops / 1e12:.3f} TFLOP per mean step",
        f"  {'mode':<14s}{'samples/s':>10s}{'step ms':>9s}{'peak GB':>9s}"
        f"{'TFLOP/s':>9s}{'of peak':>9s}",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"  {r['mode']:<14s}failed: {r['error']}")
            continue
        share = f"{r['peak_share']:.1%}" if r["peak_share"] is not None else "n/a"
        lines.append(
            f"  {r['mode']:<14s}{r['samples_per_s']:10.0f}{r['step_ms']:9.1f}"
            f"{r['peak_gb']:9.2f}{r['tflops']:9.1f}{share:>9s}"
        )
    lines.append(
        f"  plan's traced peak: {p.peak_bytes / 1e9:.2f} GB (max allocated, no fragmentation)"
    )
    return "\n".join(lines)
