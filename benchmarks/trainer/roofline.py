"""A speed figure that holds on any machine: the trainer's FLOP/s over the machine's own.

The denominator is this machine's float32 matmul peak, measured in the same process
with the same torch threads (the best of a few large ``torch.mm``); the numerator is
the FLOPs of the steps that were timed, counted by ``FlopCounterMode`` on fake tensors
(``tracing.FakeStep``: the same step, the same masks), over their time. Both are taken
in wall time and per CPU-second of the process: on a shared machine the CPU-second
figures move less with other load.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable, List

import torch

from hjepa_trainer import config as config_lib
from hjepa_trainer.masking import Masks

from .tracing import FakeStep

MATMUL_SIDE = 2048  # 2 * 2048**3 = 17 GFLOP per product: ~0.1-0.5 s on one core


@dataclass
class MatmulPeak:
    """Best float32 ``torch.mm`` speed of this process.

    Attributes:
        wall_gflops: GFLOP/s over wall time.
        cpu_gflops: GFLOP per CPU-second of the process (all its threads).
        threads: torch threads it ran with.
        side: matrix side n (2 n^3 FLOPs per product).
    """

    wall_gflops: float
    cpu_gflops: float
    threads: int
    side: int

    def best(self, other: "MatmulPeak") -> "MatmulPeak":
        return MatmulPeak(
            max(self.wall_gflops, other.wall_gflops),
            max(self.cpu_gflops, other.cpu_gflops),
            self.threads,
            self.side,
        )


def matmul_peak(*, side: int = MATMUL_SIDE, repeats: int = 5) -> MatmulPeak:
    """Time ``repeats`` float32 products of two (side, side) matrices after one warm-up;
    the fastest wall time and the smallest CPU time give the peak."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(side, side, generator=gen)
    b = torch.randn(side, side, generator=gen)
    torch.mm(a, b)  # warm-up: allocation, thread pool
    wall = cpu = float("inf")
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        torch.mm(a, b)
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    flops = 2.0 * side**3
    return MatmulPeak(
        flops / wall / 1e9, flops / max(cpu, 1e-9) / 1e9, torch.get_num_threads(), side
    )


def step_flops(cfg: config_lib.Config, steps: Iterable[int], masks_of) -> List[int]:
    """FLOPs of ``train_step`` at each step, on fake tensors.

    Args:
        cfg: the trainer's config.
        steps: step indices (which metrics are due).
        masks_of: step -> the real ``Masks`` the trainer draws at that step.
    """
    fake = FakeStep(cfg)
    out = []
    for step in steps:
        masks: Masks = masks_of(step)
        out.append(fake.trace(step, masks).flops)
    return out
