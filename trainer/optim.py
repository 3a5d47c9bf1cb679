"""AdamW parameter groups, schedule application and gradient clipping."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple

import torch
import torch.nn as nn

from .measures import global_grad_norm_tensor


def param_groups(modules: Iterable[Tuple[str, nn.Module]]) -> List[dict]:
    """Split trainable parameters into a decayed and a non-decayed AdamW group.

    Biases and normalisation parameters (every tensor with fewer than 2 dims) get no
    weight decay, as in I-JEPA / timm.

    Args:
        modules: (prefix, module) pairs whose trainable parameters are optimised.

    Returns:
        Two param-group dicts, ``name`` "decay" then "no_decay".
    """
    decay, no_decay = [], []
    for _, module in modules:
        for name, p in module.named_parameters():
            if not p.requires_grad:
                continue
            (no_decay if p.ndim < 2 or name.endswith(".bias") else decay).append(p)
    return [
        {"params": decay, "name": "decay", "apply_wd": True},
        {"params": no_decay, "name": "no_decay", "apply_wd": False, "weight_decay": 0.0},
    ]


def build_optimizer(
    groups: List[dict], *, lr: float, weight_decay: float, betas, device: torch.device
):
    """AdamW over ``groups``; fused kernels on CUDA.

    Args:
        groups: From ``param_groups``.
        lr: Initial LR (overwritten every step by ``apply_schedules``).
        weight_decay: Initial decay of the decayed group.
        betas: Adam betas.
        device: Training device.

    Returns:
        ``torch.optim.AdamW``.
    """
    kwargs = {"fused": True} if device.type == "cuda" else {}
    return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay, betas=tuple(betas), **kwargs)


def apply_schedules(optimizer: torch.optim.Optimizer, *, lr: float, weight_decay: float) -> None:
    """Set this step's LR on every group and the weight decay on decayed groups."""
    for group in optimizer.param_groups:
        group["lr"] = lr
        if group.get("apply_wd", True):
            group["weight_decay"] = weight_decay


@dataclass
class ClipResult:
    """Gradient norms around clipping, as 0-dim tensors (no host sync yet).

    Attributes:
        pre: Global norm before clipping, sqrt(sum of squared per-tensor norms).
        post: Global norm after clipping: pre * min(1, max_norm / (pre + 1e-6)),
            exactly the scaling ``clip_grad_norm_`` applies.
    """

    pre: torch.Tensor
    post: torch.Tensor


def clip_gradients(
    params: List[torch.Tensor], max_norm: float, *, pre: Optional[torch.Tensor] = None
) -> ClipResult:
    """Clip the global gradient norm in place and report the norms.

    Scales every gradient by ``min(1, max_norm / (pre + 1e-6))``, exactly as
    ``clip_grad_norm_`` does; taking ``pre`` lets the caller read the gradients
    before they are scaled (the gradient-flow metrics) without computing the norm twice.

    Args:
        params: Parameters with ``.grad``.
        max_norm: Clip threshold; <= 0 disables clipping (norms are still reported).
        pre: The global norm before clipping (``metrics.global_grad_norm_tensor``); computed
            when None.

    Returns:
        A ``ClipResult``.
    """
    if pre is None:
        pre = global_grad_norm_tensor(params)
    if max_norm <= 0:
        return ClipResult(pre, pre)
    coef = torch.clamp(max_norm / (pre + 1e-6), max=1.0)
    grads = [p.grad for p in params if p.grad is not None]
    if grads:
        torch._foreach_mul_(grads, coef.to(grads[0].device))
    return ClipResult(pre, pre * coef)
