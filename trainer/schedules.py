"""Learning-rate, weight-decay and EMA-momentum schedules as pure functions of step.

No hidden counters: resuming at step s evaluates the schedules at s (nanoGPT's
``get_lr``, DINOv2's precomputed schedules), never replays earlier steps.
"""

from __future__ import annotations

import math


def learning_rate(
    step: int, *, base_lr: float, min_lr: float, warmup_steps: int, total_steps: int
) -> float:
    """Linear warmup from 0 at step 0, then cosine decay to ``min_lr``.

    Args:
        step: Global step (0-based).
        base_lr: Peak LR reached at ``warmup_steps``.
        min_lr: LR at ``total_steps`` and beyond.
        warmup_steps: Warmup length (0 = no warmup).
        total_steps: Schedule length.

    Returns:
        The LR for this step.
    """
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    if step >= total_steps:
        return min_lr
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + math.cos(math.pi * progress))


def weight_decay(step: int, *, start: float, end: float, total_steps: int) -> float:
    """Cosine schedule from ``start`` at step 0 to ``end`` at ``total_steps``.

    Args:
        step: Global step.
        start: Value at step 0.
        end: Value at ``total_steps`` and beyond.
        total_steps: Schedule length.

    Returns:
        The weight decay for this step.
    """
    progress = min(1.0, step / max(1, total_steps))
    return end + 0.5 * (start - end) * (1.0 + math.cos(math.pi * progress))


def ema_momentum(step: int, *, start: float, end: float, total_steps: int) -> float:
    """Linear EMA momentum from ``start`` at step 0 to ``end`` at ``total_steps``.

    Args:
        step: Global step.
        start: Momentum at step 0 (0.996 by default in the config).
        end: Momentum at ``total_steps`` and beyond (1.0 by default).
        total_steps: Schedule length.

    Returns:
        The momentum used for the EMA update after this step's optimizer step.
    """
    progress = min(1.0, step / max(1, total_steps))
    return start + (end - start) * progress
