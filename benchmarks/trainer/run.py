"""Trainer benchmark: instrumentation overhead, learning vs random init, ViT-Tiny speed.

    python -m benchmarks.trainer                 # everything (long: three full demo runs)
    python -m benchmarks.trainer --only overhead --steps 120
    python -m benchmarks.trainer --only knn --seeds 0 1 2
    python -m benchmarks.trainer --only vit_tiny

Parts:
- overhead: the tiny CPU config, full metrics vs loss-only logging, in one process,
  alternating short runs (so machine load hits both alike); samples/s of the whole
  loop (steps, metric computation, event commits, checkpoints; evaluations off).
  Goal: overhead < 3%.
- knn: the tiny demo (its full step budget) per seed: kNN top-1 of the trained
  target encoder vs the same probe on the random-init encoder, and wall time.
- vit_tiny: ViT-Tiny/16 at 224 px, 3 levels, batch 8 and 32: whole-step samples/s
  (wall) and samples per CPU-second. The reference point: an existing H-JEPA implementation
  does 13-14 samples/s on 2 (idle) cores; the goal is >= 2x that. Compare wall
  figures only on an idle machine; on a shared one compare per CPU-second.

Prints one table per part and the ratios; ``--json FILE`` also saves the numbers.
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
from hjepa_trainer.train import Trainer

REFERENCE_VIT_TINY_SPS = 13.5  # an existing implementation, 2 CPU cores, batch 8 and 32


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


def vit_tiny(batches, steps: int, threads: int) -> dict:
    """Whole-step speed of ViT-Tiny/16 at 224 px (3 levels) for each batch size.

    Calls ``Trainer.train_step`` directly (masks, target and context encoders,
    predictor, loss, backward, clip, AdamW, EMA, metrics at their frequencies) and
    reports wall-clock samples/s and samples per CPU-second of this process. On a
    shared machine the wall figure depends on other load; the CPU-time figure much
    less (with threads=1 it is the single-core speed).
    """
    from hjepa_trainer.data import iterate_batches
    from hjepa_trainer.metrics import StepTimer

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
            out[b] = {"wall_sps": b * steps / wall, "cpu_sps": b * steps / cpu}
            print(
                f"  ViT-Tiny/16 224px batch {b}: {out[b]['wall_sps']:.1f} samples/s wall, "
                f"{out[b]['cpu_sps']:.1f} samples per CPU-second "
                f"(reference: {REFERENCE_VIT_TINY_SPS} samples/s on 2 cores = "
                f"{REFERENCE_VIT_TINY_SPS / 2:.2f} per core-second; ratio "
                f"{out[b]['cpu_sps'] / (REFERENCE_VIT_TINY_SPS / 2):.2f}x per CPU-second, "
                f"{out[b]['wall_sps'] / REFERENCE_VIT_TINY_SPS:.2f}x wall)",
                flush=True,
            )
    return {"results": out, "reference_sps_2_cores": REFERENCE_VIT_TINY_SPS}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["overhead", "knn", "vit_tiny"], action="append")
    parser.add_argument("--steps", type=int, default=150, help="steps per overhead run")
    parser.add_argument("--repeats", type=int, default=3, help="alternating overhead run pairs")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--knn-steps", type=int, help="override the demo's total_steps (default: its budget)"
    )
    parser.add_argument("--vit-steps", type=int, default=4)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    parser.add_argument("--json", help="write the numbers to this file")
    args = parser.parse_args(argv)
    parts = args.only or ["overhead", "knn", "vit_tiny"]
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
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
