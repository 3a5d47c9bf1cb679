"""``python -m benchmarks.online_health``: the cost of the trainer's online health checks.

1. A real run of the tiny CPU demo config (``trainer/configs/tiny_cpu.yaml``, one
   torch thread) for ``--steps`` steps, checking every ``--every`` steps: mean ms per
   check and the checks' share of the training loop's time (``TrainResult``:
   ``health_check_seconds`` is inside ``step_seconds``).
2. The worst case a long run reaches: every catalogue curve of a 3-level run holding the
   full bounded history (``health.max_points`` points each), diagnosed once.

Prints one line per measurement; nothing is asserted (timings depend on the machine).
"""

import argparse
import math
import statistics
import sys
import tempfile
import time


def _real_run(steps: int, every: int) -> str:
    import torch

    from hjepa_trainer import config as C
    from hjepa_trainer.train import train

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as logdir:
        cfg = C.load_config(
            C.DEFAULT_CONFIG,
            [
                f"logging.log_dir={logdir}",
                f"training.total_steps={steps}",
                f"health.every={every}",
                "training.threads=1",
                "eval.interval=0",
                "eval.random_init_baseline=false",
                f"training.checkpoint_every={steps}",
            ],
        )
        result = train(cfg, progress=False)
    checks = result.health_check_seconds
    loop = sum(result.step_seconds)
    return (
        "tiny_cpu.yaml, %d steps, check every %d: %d checks, %.1f ms per check (median %.1f), "
        "mean step %.1f ms, checks = %.2f%% of the loop time"
        % (
            steps,
            every,
            len(checks),
            1000 * statistics.mean(checks),
            1000 * statistics.median(checks),
            1000 * loop / len(result.step_seconds),
            100 * sum(checks) / loop,
        )
    )


def _full_history(points: int) -> str:
    from hjepa_trainer.health import HealthMonitor
    from tensorboard_plugin_hjepa import catalog
    from tensorboard_plugin_hjepa.summary import RunManifest

    manifest = RunManifest(
        num_levels=3,
        hierarchy_weights=[1, 1, 1],
        embed_dim=128,
        total_steps=100 * points,
        collapse_rows=512,
    )
    monitor = HealthMonitor(manifest, every=1, say=lambda line: None, max_points=points)
    curves = 0
    for metric in catalog.metrics():
        if metric.kind != "scalar":
            continue
        levels = range(3) if metric.per_level else [None]
        for level in levels:
            group = 0 if "{group}" in metric.tag else None
            for i in range(points):
                monitor.history.add(
                    metric.key, 0.5 + 0.1 * math.sin(i), 10 * i, level=level, group=group
                )
            curves += 1
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        monitor.check(10 * points)
        times.append(time.perf_counter() - t0)
    return "full history: %d curves x %d points: %.1f ms per check (median of 5)" % (
        curves,
        points,
        1000 * statistics.median(times),
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.online_health")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--points", type=int, default=2000)
    args = parser.parse_args(argv)
    print(_real_run(args.steps, args.every), flush=True)
    print(_full_history(args.points), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
