"""H-JEPA health measures: pure functions of tensors, as catalogue-keyed records.

Each ``*_records`` function turns the tensors of one step (features, predictions,
gradients, parameters) into ``Record(key, value, level, group)`` rows of Python floats,
with one deliberate ``.tolist()``/``.item()`` host sync per group; nothing here keeps
state, decides when to measure or writes anything (``metrics.HJepaMetrics`` does).

Formulas follow the catalogue's Corrections (docs/metrics.md, "Corrections to the reference"):
contributions are w_i L_i / sum_j w_j L_j; collapse statistics use L2-normalised
target features on a bounded random sample of rows; effective rank is exp(entropy) of
the normalised singular values of the uncentred matrix (RankMe); pairwise cosine
statistics are taken on the uncentred rows (the centred mean is logged beside them,
with the mean's norm); the global gradient norm is sqrt(sum of squared per-tensor
norms); gradient statistics are taken before clipping.
"""

from __future__ import annotations

import collections
from typing import Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Record(NamedTuple):
    """One value to write: catalogue ``key``, Python float, optional placeholders."""

    key: str
    value: float
    level: Optional[int] = None
    group: Optional[int] = None


# ----------------------------------------------------------------------------- records of one step
def loss_records(level_losses: Sequence[float], weights: Sequence[float]) -> List[Record]:
    """Total, unweighted, per-level losses and contributions (in %).

    Args:
        level_losses: L_i as floats.
        weights: w_i.

    Returns:
        Records of loss.total, loss.unweighted, loss.level and loss.contribution.
    """
    weighted = [w * l for w, l in zip(weights, level_losses)]
    total = sum(weighted)
    out = [
        Record("loss.total", total),
        Record("loss.unweighted", sum(level_losses) / len(level_losses)),
    ]
    for i, (l, wl) in enumerate(zip(level_losses, weighted)):
        out.append(Record("loss.level", float(l), level=i))
        share = 100.0 * wl / total if total != 0 else float("nan")
        out.append(Record("loss.contribution", share, level=i))
    return out


def prediction_records(pred: torch.Tensor, target: torch.Tensor, level: int) -> List[Record]:
    """Prediction quality at one level.

    Args:
        pred: (M, D) predictions at valid positions.
        target: (M, D) targets at the same positions.
        level: hierarchy level.

    Returns:
        cosine mean/std/min/max (std with ddof=0), normalised MSE
        (mean over rows of ||p/|p| - t/|t|||^2 = 2 - 2 cos) and mean L2 distance.
    """
    p, t = pred.detach().float(), target.detach().float()
    cos = F.cosine_similarity(p, t, dim=-1)  # (M,)
    nmse = (F.normalize(p, dim=-1) - F.normalize(t, dim=-1)).pow(2).sum(-1).mean()
    l2 = (p - t).norm(dim=-1).mean()
    vals = torch.stack(
        [cos.mean(), cos.std(unbiased=False), cos.min(), cos.max(), nmse, l2]
    ).tolist()  # host sync
    keys = (
        "cosine_sim_mean",
        "cosine_sim_std",
        "cosine_sim_min",
        "cosine_sim_max",
        "normalized_mse",
        "l2_distance",
    )
    return [Record("prediction." + k, v, level=level) for k, v in zip(keys, vals)]


def sample_rows(
    features: torch.Tensor, max_rows: int, generator: Optional[torch.Generator]
) -> torch.Tensor:
    """A uniform random subset of at most ``max_rows`` rows (all rows if fewer).

    Args:
        features: (N, D).
        max_rows: bound on the rows returned.
        generator: CPU generator for the subset (None = global RNG).

    Returns:
        (min(N, max_rows), D).
    """
    n = features.shape[0]
    if n <= max_rows:
        return features
    idx = torch.randperm(n, generator=generator)[:max_rows].to(features.device)
    return features[idx]


def effective_rank(x: torch.Tensor) -> torch.Tensor:
    """exp(entropy of the normalised singular values) of ``x`` (N, D), uncentred (RankMe)."""
    return _erank_of_singular_values(torch.linalg.svdvals(x.float()))  # (min(N, D),)


def _erank_of_singular_values(s: torch.Tensor) -> torch.Tensor:
    p = s / s.sum()
    entropy = -(p * torch.log(p.clamp_min(1e-30))).sum()  # 0 * log(0) counts as 0
    return entropy.exp()


def _singular_values(f: torch.Tensor) -> torch.Tensor:
    """Singular values of f (N, D): from the (D, D) Gram matrix when N > D (float64, so the
    small ones survive the squaring), else directly."""
    if f.shape[0] <= f.shape[1]:
        return torch.linalg.svdvals(f)
    gram = f.double().T @ f.double()  # (D, D)
    return torch.linalg.eigvalsh(gram).clamp_min(0).sqrt().float()


def _off_diagonal_max(f: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """Largest f_i . f_j over i != j, in row blocks (no (N, N) matrix is held)."""
    n = f.shape[0]
    best = torch.full((), -float("inf"), device=f.device)
    for start in range(0, n, chunk):
        block = f[start : start + chunk] @ f.T  # (c, N)
        rows = torch.arange(block.shape[0], device=f.device)
        block[rows, rows + start] = -float("inf")  # the pair of a row with itself
        best = torch.maximum(best, block.max())
    return best


def _pair_mean_std(f: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Mean and std (ddof=0) of f_i . f_j over the N(N-1) ordered pairs i != j, from (D,)
    and (D, D) sums: sum_{i!=j} f_i.f_j = |sum_i f_i|^2 - sum_i |f_i|^2, and the sum of
    squares is |F^T F|_F^2 - sum_i |f_i|^4 (F F^T and F^T F have the same Frobenius norm)."""
    n = f.shape[0]
    f64 = f.double()
    pairs = n * (n - 1)
    norms = f64.pow(2).sum(1)  # (N,) |f_i|^2: 1, or 0 for a row with nothing left
    total = f64.sum(0)
    mean = (total @ total - norms.sum()) / pairs
    gram = f64.T @ f64  # (D, D)
    square_mean = ((gram * gram).sum() - norms.pow(2).sum()) / pairs
    return mean.float(), (square_mean - mean * mean).clamp_min(0).sqrt().float()


def collapse_records(
    features: torch.Tensor,
    level: int,
    *,
    max_rows: int,
    generator: Optional[torch.Generator] = None,
) -> List[Record]:
    """Collapse statistics of target features at one level.

    Args:
        features: (N, D) target features (any scale; rows are L2-normalised here).
        level: hierarchy level.
        max_rows: rows sampled (bounds the cost; erank is trustworthy for N >= ~4D).
        generator: CPU generator for the row sample.

    Returns:
        mean/min std per dim (ddof=0) of the L2-normalised rows, effective rank,
        mean/max/std of the off-diagonal pairwise cosine of the rows (the reference's
        similarity, uncentred: it reaches 1 when every row points the same way), the
        mean pairwise cosine of the centred rows (shown only: it sits near -1/(N-1)
        whatever the features, since centred rows sum to 0), the norm of the mean
        normalised row and N. No (N, N) matrix is built: the pair statistics come from
        (D, D) sums and a blockwise maximum, so N = 8D rows at D = 1024 cost seconds.
    """
    f = F.normalize(sample_rows(features.detach().float(), max_rows, generator), dim=1)  # (N, D)
    n = f.shape[0]
    std = f.std(dim=0, unbiased=False)  # (D,)
    z = F.normalize(f - f.mean(dim=0, keepdim=True), dim=1)  # centred, re-normalised rows
    raw_mean, raw_std = _pair_mean_std(f)
    centred_mean, _ = _pair_mean_std(z)
    vals = torch.stack(
        [
            std.mean(),
            std.min(),
            _erank_of_singular_values(_singular_values(f)),
            raw_mean,
            _off_diagonal_max(f),
            raw_std,
            centred_mean,
            f.mean(dim=0).norm(),
        ]
    ).tolist()  # host sync
    keys = (
        "mean_std_per_dim",
        "min_std_per_dim",
        "effective_rank",
        "mean_similarity",
        "max_similarity",
        "std_similarity",
        "mean_similarity_centred",
        "feature_mean_norm",
    )
    out = [Record("collapse." + k, v, level=level) for k, v in zip(keys, vals)]
    out.append(Record("collapse.num_rows", float(n), level=level))
    return out


def hierarchy_records(features: torch.Tensor, level: int, num_cells: int) -> List[Record]:
    """Feature statistics of the target embeddings at one level.

    Args:
        features: (N, D) target features at the level (not normalised).
        level: hierarchy level.
        num_cells: grid cells of the level (Hk * Wk).

    Returns:
        mean of all entries, std across rows (per dimension, ddof=0, averaged over
        dimensions: 0 when every row is the same vector; the std over all entries of a
        layer-normed row is 1 by construction and says nothing), max - min, mean row
        L2 norm, num_patches.
    """
    f = features.detach().float()
    vals = torch.stack(
        [f.mean(), f.std(dim=0, unbiased=False).mean(), f.max() - f.min(), f.norm(dim=1).mean()]
    ).tolist()
    keys = ("feat_mean", "feat_std", "feat_range", "feat_norm")
    out = [Record("hierarchy." + k, v, level=level) for k, v in zip(keys, vals)]
    out.append(Record("hierarchy.num_patches", float(num_cells), level=level))
    return out


def _grads(module: nn.Module) -> List[torch.Tensor]:
    return [p.grad.detach() for p in module.parameters() if p.grad is not None]


def _abs_stats(grads: List[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor, int]:
    """(sum |g|, max |g|, element count) over a list of gradients, as 0-dim tensors."""
    if not grads:
        zero = torch.zeros(())
        return zero, zero, 0
    l1 = torch.stack([g.float().abs().sum() for g in grads]).sum()
    mx = torch.stack([g.float().abs().max() for g in grads]).max()
    return l1, mx, sum(g.numel() for g in grads)


def gradient_flow_records(
    *,
    context_encoder: nn.Module,
    predictor: nn.Module,
    target_encoder: nn.Module,
    global_norm: float,
    target_features_grad: Optional[torch.Tensor] = None,
    target_features_measured: bool = True,
) -> List[Record]:
    """Mean and max absolute gradient per part, the global norm, and the gradient at the targets.

    Call before clipping: clipping scales every gradient by the same factor, which
    would hide the scale the global norm (taken before clipping) reports.

    The target encoder's mean is over its parameters' gradients; parameters without
    a gradient count as 0. That alone cannot show a missing stop-gradient: when the
    targets are computed with gradients (from the context encoder), the target
    encoder's own parameters still get none. ``target_features_grad`` is the loss
    gradient at the target features themselves: 0 under stop-gradient, > 0 when
    gradients flow into the targets.

    Args:
        global_norm: the global gradient norm before clipping (float or 0-dim tensor).
        target_features_grad: the ``.grad`` of the target feature tensor, or None when
            the targets do not require gradients (stop-gradient).
        target_features_measured: False when the caller could not see the target
            features (none given, or their gradient was not retained): the gradient at
            the targets is then left out (unknown), never written as 0.
    """
    ctx_l1, ctx_max, ctx_n = _abs_stats(_grads(context_encoder))
    pred_l1, pred_max, pred_n = _abs_stats(_grads(predictor))
    tgt_l1, _, _ = _abs_stats(_grads(target_encoder))
    tgt_n = sum(p.numel() for p in target_encoder.parameters())
    device = ctx_l1.device
    target_grad = (
        target_features_grad.detach().float().norm()
        if target_features_grad is not None
        else torch.zeros(())
    )
    vals = torch.stack(
        [
            ctx_l1,
            ctx_max.to(device),
            pred_l1.to(device),
            pred_max.to(device),
            tgt_l1.to(device),
            target_grad.to(device),
            torch.as_tensor(global_norm, dtype=torch.float32).to(device),
        ]
    ).tolist()  # host sync
    out = [
        Record("gradient_flow.global_norm", vals[6]),
        Record("gradient_flow.context_encoder_mean", vals[0] / max(1, ctx_n)),
        Record("gradient_flow.context_encoder_max", vals[1]),
        Record("gradient_flow.predictor_mean", vals[2] / max(1, pred_n)),
        Record("gradient_flow.predictor_max", vals[3]),
        Record("gradient_flow.target_encoder_mean", vals[4] / max(1, tgt_n)),
    ]
    if target_features_measured:
        out.append(Record("gradient_flow.target_features_grad_norm", vals[5]))
    return out


def global_grad_norm_tensor(params: Iterable[torch.Tensor]) -> torch.Tensor:
    """sqrt(sum of squared per-tensor gradient norms), as ``clip_grad_norm_`` computes it,
    as a 0-dim tensor (no host sync); parameters without a gradient are skipped."""
    norms = [p.grad.detach().float().norm(2) for p in params if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack(norms), 2) if norms else torch.zeros(())


def global_grad_norm(params: Iterable[torch.Tensor]) -> float:
    """``global_grad_norm_tensor`` as a Python float (one host sync)."""
    return global_grad_norm_tensor(params).item()


def ema_records(
    context_encoder: nn.Module,
    target_encoder: nn.Module,
    *,
    momentum: float,
    momentum_target: float,
) -> List[Record]:
    """EMA dynamics: momentum, mean per-tensor ||w_ctx - w_tgt||, ||w_tgt|| / ||w_ctx||."""
    ctx = [p.detach().float() for p in context_encoder.parameters()]
    tgt = [p.detach().float() for p in target_encoder.parameters()]
    div = torch.stack([(c - t).norm() for c, t in zip(ctx, tgt)]).mean()
    ctx_norm = torch.stack([c.norm() for c in ctx]).norm()
    tgt_norm = torch.stack([t.norm() for t in tgt]).norm()
    vals = torch.stack([div, tgt_norm / ctx_norm]).tolist()
    return momentum_records(momentum=momentum, momentum_target=momentum_target) + [
        Record("ema.avg_parameter_divergence", vals[0]),
        Record("ema.weight_magnitude_ratio", vals[1]),
    ]


def momentum_records(*, momentum: float, momentum_target: float) -> List[Record]:
    """The EMA schedule's current and final momentum (no tensor work)."""
    return [
        Record("ema.momentum_current", float(momentum)),
        Record("ema.momentum_target", float(momentum_target)),
    ]


def learning_rate_records(optimizer: torch.optim.Optimizer) -> List[Record]:
    """Base LR (group 0) and the LR of every param group."""
    out = [Record("learning_rate.base_lr", float(optimizer.param_groups[0]["lr"]))]
    out += [
        Record("learning_rate.param_group", float(g["lr"]), group=i)
        for i, g in enumerate(optimizer.param_groups)
    ]
    return out


def mask_records(*, num_context: int, num_target: int, num_patches: int) -> List[Record]:
    """Mask ratio (targets / patches) and per-sample masked / visible counts."""
    return [
        Record("masking.mask_ratio", num_target / num_patches),
        Record("masking.num_masked_patches", float(num_target)),
        Record("masking.num_unmasked_patches", float(num_context)),
    ]


SPIKE_TREND_POINTS = 9  # width of the running median the spike ratio divides by


def spike_ratio(values: Sequence[float]) -> float:
    """The largest loss over its local trend: max_i y_i / (running median around i).

    1 for any smooth curve, 3 when one step's loss is three times that of the steps
    around it. The trend is removed because max / min of a window grows with the trend
    inside it: a smoothly falling loss read 3.2 by itself. The running median (9 steps,
    held flat at the ends) follows a curve of any shape and ignores a lone spike.
    """
    y = np.asarray(values, dtype=np.float64)
    width = min(SPIKE_TREND_POINTS, y.size - (1 - y.size % 2))  # odd, at most n
    trend = np.median(np.lib.stride_tricks.sliding_window_view(y, width), axis=1)
    trend = np.pad(trend, (width // 2, width // 2), mode="edge")
    if not np.all(trend > 0):
        return float("inf")
    return float(np.max(y / trend))


def window_stats(values: Sequence[float]) -> Tuple[float, float, float]:
    """(variance with ddof=0, least-squares slope per step, ``spike_ratio``) of a window.

    Args:
        values: at least 2 consecutive per-step values.
    """
    y = np.asarray(values, dtype=np.float64)
    slope = np.polyfit(np.arange(y.size, dtype=np.float64), y, 1)[0]
    return float(np.var(y)), float(slope), spike_ratio(y)


# ----------------------------------------------------------------------------- timings
def performance_records(
    *, forward_ms: float, backward_ms: float, samples_per_second: float, device: torch.device
) -> List[Record]:
    """Timings, whole-step throughput and (CUDA only) memory in GB."""
    out = [
        Record("performance.forward_time_ms", forward_ms),
        Record("performance.backward_time_ms", backward_ms),
        Record("performance.total_time_ms", forward_ms + backward_ms),
        Record("performance.samples_per_second", samples_per_second),
        Record(
            "performance.forward_backward_ratio",
            forward_ms / backward_ms if backward_ms > 0 else float("nan"),
        ),
    ]
    if device.type == "cuda":
        out.append(
            Record("performance.gpu_memory_allocated_gb", torch.cuda.memory_allocated(device) / 1e9)
        )
        out.append(
            Record("performance.gpu_memory_reserved_gb", torch.cuda.memory_reserved(device) / 1e9)
        )
    return out


# ----------------------------------------------------------------------------- layer groups
def layer_groups(parts: Mapping[str, nn.Module]) -> Dict[str, List[torch.Tensor]]:
    """Parameters grouped per layer for gradient histograms.

    A group is ``<part>.<child>`` with transformer blocks split per block
    (``context_encoder.blocks.3``); names are valid catalogue layer names.
    """
    groups: Dict[str, List[torch.Tensor]] = collections.OrderedDict()
    for part, module in parts.items():
        for name, p in module.named_parameters():
            if not p.requires_grad:
                continue
            bits = name.split(".")
            head = ".".join(bits[:2]) if bits[0] == "blocks" else bits[0]
            groups.setdefault(f"{part}.{head}", []).append(p)
    return groups


def sample_gradient_values(
    params: List[torch.Tensor], max_values: int, generator: torch.Generator
) -> np.ndarray:
    """Up to ``max_values`` gradient entries of a group, uniformly sampled, plus min/max.

    The extremes are always included so the histogram's range is exact; the rest is
    a uniform sample (the full gradient of a ViT-B block is millions of values).

    Returns:
        A numpy float64 array.
    """
    flat = torch.cat([p.grad.detach().reshape(-1).float() for p in params if p.grad is not None])
    if flat.numel() > max_values:
        idx = torch.randint(flat.numel(), (max_values - 2,), generator=generator).to(flat.device)
        flat = torch.cat([flat[idx], flat.min().reshape(1), flat.max().reshape(1)])
    return flat.cpu().double().numpy()
