"""Trainer benchmark: instrumentation overhead, learning vs random init, ViT-Tiny speed,
the ViT-B/16 GPU config on paper and on a device.

    python -m benchmarks.trainer                 # the CPU parts (long: three full demo runs)
    python -m benchmarks.trainer --only overhead --steps 120
    python -m benchmarks.trainer --only knn --seeds 0 1 2
    python -m benchmarks.trainer --only vit_tiny --threads 1
    python -m benchmarks.trainer --only gpu_plan [--fast]
    python -m benchmarks.trainer --only gpu      # needs CUDA; exit status 2 without it

Parts:
- overhead: the tiny CPU config, full metrics vs loss-only logging, in one process,
  alternating short runs (so machine load hits both alike); samples/s of the whole
  loop (steps, metric computation, event commits, checkpoints; evaluations off).
  Goal: overhead < 3%.
- knn: the tiny demo (its full step budget) per seed: kNN top-1 of the trained
  target encoder vs the same probe on the random-init encoder, and wall time.
- vit_tiny: ViT-Tiny/16 at 224 px, 3 levels, batch 8 and 32: whole-step samples/s
  (wall) and samples per CPU-second, and the step's FLOP/s as a fraction of this
  machine's own float32 matmul peak, measured in the same process with the same threads
  (``roofline.py``): a figure that compares across machines. Compare wall figures only on
  an idle machine; on a shared one compare per CPU-second.
- gpu_plan: the ViT-B/16 GPU config's step at batch 64 traced on fake tensors, no GPU
  needed (``gpu_plan.py``): FLOPs, peak memory, implied samples/s on an H100 and an A100.
- gpu: the same step timed on a CUDA device, bf16 eager and compiled (``gpu.py``).

Prints one table per part; ``--json FILE`` also saves the numbers. See README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import torch

from hjepa_trainer import config as C
from hjepa_trainer.masking import step_generator
from hjepa_trainer.train import Trainer

from . import gpu as gpu_lib
from . import gpu_plan as gpu_plan_lib
from . import roofline

# An existing H-JEPA implementation on 2 cores (ViT-Tiny/16, batch 8 and 32), measured on
# another machine: printed for context only, never divided by (see the roofline figure).
REFERENCE_VIT_TINY_SPS_ELSEWHERE = 13.5


BATCH = C.load_config(C.DEFAULT_CONFIG).training.batch_size
WARMUP_STEPS = 2  # excluded from speed figures (first-step allocations)


def _run(cfg_overrides, *, max_steps=None, tmp):
    cfg = C.load_config(C.DEFAULT_CONFIG, [f"logging.log_dir={tmp}"] + cfg_overrides)
    t0 = time.perf_counter()
    result = Trainer(cfg, progress=False, max_steps=max_steps).run()
    return result, time.perf_counter() - t0


def _steady_sps(result, batch: int) -> float:
    """Samples/s over the loop time of all steps after the warm-up steps."""
    times = result.step_seconds[WARMUP_STEPS:]
    return batch * len(times) / sum(times)


def overhead(steps: int, repeats: int, threads: int) -> dict:
    """Full metrics vs loss-only samples/s, alternating runs of ``steps`` steps."""
    common = [
        "eval.interval=0",
        "eval.random_init_baseline=false",
        f"training.threads={threads}",
        "training.checkpoint_every=100",
    ]
    rows = {"full": [], "loss_only": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeats):
            for mode in ("full", "loss_only"):
                res, _ = _run(
                    common
                    + [
                        f"metrics.loss_only={mode == 'loss_only'}",
                        f"logging.experiment_name={mode}{r}",
                    ],
                    max_steps=steps,
                    tmp=tmp,
                )
                rows[mode].append(_steady_sps(res, BATCH))
                print(f"  overhead run {r} {mode:9s}: {rows[mode][-1]:7.1f} samples/s", flush=True)
    ratios = [f / l for f, l in zip(rows["full"], rows["loss_only"])]
    out = {
        "steps": steps,
        "repeats": repeats,
        "threads": threads,
        "full_sps": rows["full"],
        "loss_only_sps": rows["loss_only"],
        "ratio_median": statistics.median(ratios),
        "overhead_percent": 100.0 * (1.0 - statistics.median(ratios)),
    }
    print(
        f"overhead: full / loss-only samples/s = {out['ratio_median']:.3f} (median of {repeats}); "
        f"instrumentation overhead {out['overhead_percent']:.1f}% (goal < 3%)"
    )
    return out


def knn(seeds, threads: int, steps=None) -> dict:
    """kNN top-1 trained vs random-init after the demo's budget, per seed."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            over = [
                f"training.seed={seed}",
                f"data.seed={seed}",
                f"training.threads={threads}",
                f"logging.experiment_name=seed{seed}",
            ]
            if steps:
                over.append(f"training.total_steps={steps}")
            res, wall = _run(over, tmp=tmp)
            rows.append(
                {
                    "seed": seed,
                    "knn_top1": res.knn_top1,
                    "knn_top1_random_init": res.knn_top1_random_init,
                    "wall_seconds": wall,
                    "steps": res.end_step,
                    "samples_per_second": res.samples_per_second,
                }
            )
            print(
                f"  seed {seed}: kNN top-1 {res.knn_top1:.3f} "
                f"vs random-init {res.knn_top1_random_init:.3f} "
                f"({res.end_step} steps, {wall:.0f}s wall, {res.samples_per_second:.0f} samples/s)",
                flush=True,
            )
    trained = [r["knn_top1"] for r in rows]
    base = [r["knn_top1_random_init"] for r in rows]
    print(
        f"knn: trained mean {statistics.mean(trained):.3f} "
        f"vs random-init mean {statistics.mean(base):.3f} "
        f"(ratio {statistics.mean(trained) / statistics.mean(base):.2f}; chance = 1/6 = 0.167)"
    )
    return {"runs": rows}


def _masks_of(trainer: Trainer, batch: int):
    """step -> the masks ``trainer.train_step`` draws at that step (rank 0)."""
    return lambda step: trainer.masks(batch, step_generator(trainer.cfg.training.seed, step))


def vit_tiny(batches, steps: int, threads: int) -> dict:
    """Whole-step speed of ViT-Tiny/16 at 224 px (3 levels) for each batch size.

    Calls ``Trainer.train_step`` directly (masks, target and context encoders,
    predictor, loss, backward, clip, AdamW, EMA, metrics at their frequencies) and
    reports wall-clock samples/s and samples per CPU-second of this process. On a
    shared machine the wall figure depends on other load; the CPU-time figure much
    less (with threads=1 it is the single-core speed).

    The speed relative to the machine: the FLOPs of the timed steps (counted on fake
    tensors with the same masks) over their time, as a fraction of this process's
    float32 matmul peak, measured before and after the runs (the better of the two).
    """
    from hjepa_trainer.data import iterate_batches
    from hjepa_trainer.metrics import StepTimer

    if threads > 0:
        torch.set_num_threads(threads)
    peak = roofline.matmul_peak()
    out = {}
    model = [
        "model.img_size=224",
        "model.patch_size=16",
        "model.embed_dim=192",
        "model.depth=12",
        "model.num_heads=3",
        "model.predictor_dim=96",
        "model.predictor_depth=6",
        "model.predictor_heads=3",
        "masking.min_context=10",
        "masking.mask_scale=[0.15, 0.2]",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for b in batches:
            over = model + [
                f"training.batch_size={b}",
                "data.train_size=128",
                "data.val_size=64",
                "data.probe_size=64",
                "training.total_steps=1000",
                "training.warmup_steps=10",
                f"training.threads={threads}",
                f"logging.experiment_name=vit_tiny_b{b}",
            ]
            cfg = C.load_config(C.DEFAULT_CONFIG, [f"logging.log_dir={tmp}"] + over)
            trainer = Trainer(cfg, progress=False)
            data = iterate_batches(trainer.data.train, start_step=0, batch=b, seed=0)
            timer = StepTimer(trainer.device)
            wall = cpu = 0.0
            for step in range(WARMUP_STEPS + steps):
                images, _ = next(data)
                w0, c0 = time.perf_counter(), time.process_time()
                trainer.train_step(images, step, timer)
                if step >= WARMUP_STEPS:
                    wall += time.perf_counter() - w0
                    cpu += time.process_time() - c0
            timed = range(WARMUP_STEPS, WARMUP_STEPS + steps)
            flops = sum(roofline.step_flops(cfg, timed, _masks_of(trainer, b)))
            out[b] = {
                "wall_sps": b * steps / wall,
                "cpu_sps": b * steps / cpu,
                "gflop_per_step": flops / steps / 1e9,
                "wall_gflops": flops / wall / 1e9,
                "cpu_gflops": flops / cpu / 1e9,
            }
            print(
                f"  ViT-Tiny/16 224px batch {b}: {out[b]['wall_sps']:.1f} samples/s wall, "
                f"{out[b]['cpu_sps']:.1f} samples per CPU-second, "
                f"{out[b]['gflop_per_step']:.1f} GFLOP per step",
                flush=True,
            )
    peak = peak.best(roofline.matmul_peak())
    print(
        f"  this machine's float32 matmul peak ({peak.side}x{peak.side} torch.mm, "
        f"torch threads {peak.threads}): {peak.wall_gflops:.1f} GFLOP/s wall, "
        f"{peak.cpu_gflops:.1f} GFLOP per CPU-second"
    )
    for b, r in out.items():
        r["wall_fraction"] = r["wall_gflops"] / peak.wall_gflops
        r["cpu_fraction"] = r["cpu_gflops"] / peak.cpu_gflops
        print(
            f"  ViT-Tiny/16 batch {b}: the step runs at {r['wall_fraction']:.1%} of the matmul "
            f"peak (wall: {r['wall_gflops']:.1f} GFLOP/s), {r['cpu_fraction']:.1%} per "
            f"CPU-second ({r['cpu_gflops']:.1f} GFLOP)",
            flush=True,
        )
    print(
        f"  (an existing implementation: {REFERENCE_VIT_TINY_SPS_ELSEWHERE} samples/s on 2 cores, "
        "measured elsewhere, on another machine: not a ratio on this one)"
    )
    return {
        "results": out,
        "matmul_peak": vars(peak),
        "reference_sps_2_cores_measured_elsewhere": REFERENCE_VIT_TINY_SPS_ELSEWHERE,
    }


def gpu_plan(fast: bool) -> dict:
    """The ViT-B/16 GPU config's step on paper (``gpu_plan.plan``); ``fast`` traces fewer
    steps (the fit's minimum) over fewer masks."""
    p = (
        gpu_plan_lib.plan(draws=gpu_plan_lib.FIT_TERMS + 1, mask_steps=100)
        if fast
        else gpu_plan_lib.plan()
    )
    print(gpu_plan_lib.report(p), flush=True)
    return p.to_dict()


def gpu(steps: int, fast: bool) -> dict:
    """The plan's step timed on this CUDA device (``gpu.measure``)."""
    p = (
        gpu_plan_lib.plan(draws=gpu_plan_lib.FIT_TERMS + 1, mask_steps=100, log=lambda m: None)
        if fast
        else gpu_plan_lib.plan(log=lambda m: None)
    )
    rows = gpu_lib.measure(p, steps=steps)
    print(gpu_lib.report(p, rows), flush=True)
    return {"plan": p.to_dict(), "rows": rows}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", choices=["overhead", "knn", "vit_tiny", "gpu_plan", "gpu"], action="append"
    )
    parser.add_argument("--steps", type=int, default=150, help="steps per overhead run")
    parser.add_argument("--repeats", type=int, default=3, help="alternating overhead run pairs")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--knn-steps", type=int, help="override the demo's total_steps (default: its budget)"
    )
    parser.add_argument("--vit-steps", type=int, default=4)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    parser.add_argument(
        "--fast", action="store_true", help="gpu_plan / gpu: trace fewer steps and masks"
    )
    parser.add_argument("--gpu-steps", type=int, default=100, help="timed steps per gpu mode")
    parser.add_argument("--json", help="write the numbers to this file")
    args = parser.parse_args(argv)
    parts = args.only or ["overhead", "knn", "vit_tiny", "gpu_plan"]
    if "gpu" in parts:
        try:
            gpu_lib.require_cuda()
        except gpu_lib.NeedsCuda as err:  # before any other part runs
            print(f"python -m benchmarks.trainer: {err}", file=sys.stderr)
            return 2
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    results = {}
    if "overhead" in parts:
        results["overhead"] = overhead(args.steps, args.repeats, args.threads)
    if "vit_tiny" in parts:
        results["vit_tiny"] = vit_tiny([8, 32], args.vit_steps, args.threads)
    if "knn" in parts:
        results["knn"] = knn(args.seeds, args.threads, args.knn_steps)
    if "gpu_plan" in parts:
        results["gpu_plan"] = gpu_plan(args.fast)
    if "gpu" in parts:
        results["gpu"] = gpu(args.gpu_steps, args.fast)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
