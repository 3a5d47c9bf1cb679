"""H-JEPA health metrics, computed in torch and written by catalogue key.

Usable from any training loop: the pure ``*_records`` functions turn tensors into
``Record(key, value, level, group)`` rows of Python floats (one deliberate
``.tolist()``/``.item()`` host sync per group), and ``HJepaMetrics`` adds the
windows (stability, clipping percentage, convergence), the logging frequencies of
reference section 12, and writing through ``tensorboard_plugin_hjepa.summary``
(or anything with the same ``scalar``/``histogram`` methods)::

    metrics = HJepaMetrics(writer, hierarchy_weights=[1, .5, .25], embed_dim=192)
    # every step, after backward and before clipping (clipping rescales the gradients):
    metrics.log_losses(step, [l.item() for l in level_losses])
    pre_norm = global_grad_norm(params)
    metrics.log_gradients(step, parts={"context_encoder": ctx, "predictor": pred,
                                       "target_encoder": tgt}, global_norm=pre_norm)
    # ... clip, then:
    metrics.log_clipping(step, pre_norm, post_norm)
    # after optimizer.step() and the EMA update:
    if metrics.levels_due(step):
        metrics.log_levels(step, preds=preds, targets=targets, features=features, cells=cells)
    metrics.log_ema(step, context_encoder=ctx, target_encoder=tgt, momentum=m, momentum_target=1.0)

``hjepa_trainer.train.Trainer.train_step`` is the complete example.

Formulas follow the catalogue's Corrections (docs/metrics.md, "Corrections to the reference"):
contributions are w_i L_i / sum_j w_j L_j; collapse statistics use L2-normalised
target features on a bounded random sample of rows; effective rank is exp(entropy) of
the normalised singular values of the uncentred matrix (RankMe); pairwise cosine
statistics are taken on the uncentred rows (the centred mean is logged beside them,
with the mean's norm); the global gradient norm is sqrt(sum of squared per-tensor
norms); gradient statistics are taken before clipping.

Buffers hold Python floats only, never tensors (no autograd history kept alive).
"""

from __future__ import annotations

import collections
import time
import warnings
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from tensorboard_plugin_hjepa import catalog


class Record(NamedTuple):
    """One value to write: catalogue ``key``, Python float, optional placeholders."""

    key: str
    value: float
    level: Optional[int] = None
    group: Optional[int] = None


# ----------------------------------------------------------------------------- pure maths
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


def _warn_once(message: str) -> None:
    """A warning the default filter shows once per call site (a loop calls it every step)."""
    warnings.warn(message, RuntimeWarning, stacklevel=3)


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


# ----------------------------------------------------------------------------- timing
class StepTimer:
    """Forward / backward timings; CUDA events on GPU (read lazily), perf_counter on CPU."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self._marks: List = []

    def mark(self) -> None:
        """Record a time point (call at step start, after forward, after backward)."""
        if self.cuda:
            ev = torch.cuda.Event(enable_timing=True)
            ev.record()
            self._marks.append(ev)
        else:
            self._marks.append(time.perf_counter())

    def reset(self) -> None:
        self._marks = []

    def intervals_ms(self) -> List[float]:
        """Milliseconds between consecutive marks (synchronises on CUDA)."""
        if self.cuda:
            self._marks[-1].synchronize()
            return [a.elapsed_time(b) for a, b in zip(self._marks, self._marks[1:])]
        return [1000.0 * (b - a) for a, b in zip(self._marks, self._marks[1:])]


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


# ----------------------------------------------------------------------------- logger
# The metrics each periodic group computes together. A group is computed when any of
# its metrics is due, and each metric is then written at its own frequency.
_KEYS_BY_CATEGORY: Dict[str, Tuple[str, ...]] = collections.defaultdict(tuple)
for _metric in catalog.metrics():
    _KEYS_BY_CATEGORY[_metric.category] += (_metric.key,)
_GRADIENT_FLOW_KEYS = _KEYS_BY_CATEGORY["gradient_flow"]
# Keys written at "after c steps" (step = the steps completed: evaluations, checkpoints),
# not at the index of a step run: at a resume from c they belong to the state at c.
AFTER_STEPS_KEYS = (
    "eval.num_classes",
    "eval.probe_queries",
    "eval.knn_top1_random_init",
    "eval.knn_top1",
    "eval.val_loss",
    "stability.val_train_loss_ratio",
    "health.healthy_checkpoint_step",
)
_EMA_TENSOR_KEYS = ("ema.avg_parameter_divergence", "ema.weight_magnitude_ratio")
_LR_KEYS = (
    "learning_rate.base_lr",
    "learning_rate.param_group",
)  # avg_param_update: begin/end_update
_LEVEL_KEYS = (
    _KEYS_BY_CATEGORY["prediction"] + _KEYS_BY_CATEGORY["collapse"] + _KEYS_BY_CATEGORY["hierarchy"]
)


@dataclass
class FrequencyPolicy:
    """Steps between writes of each metric.

    The catalogue frequency of a metric (reference section 12) is the default:
    every-step metrics stay every step; "every 100 steps" style metrics are scaled
    by ``log_frequency / 100`` (so the default 100 reproduces section 12 exactly);
    ``overrides`` maps a catalogue key or category to steps (0 = never).
    """

    log_frequency: int = 100
    overrides: Optional[Dict[str, int]] = None

    def every(self, key: str) -> int:
        metric = catalog.get(key)
        over = self.overrides or {}
        if key in over:
            return int(over[key])
        if metric.category in over:
            return int(over[metric.category])
        base = metric.frequency.steps
        if base <= 1:
            return base
        return max(1, base * self.log_frequency // 100)

    def due(self, key: str, step: int, *, last_step: bool = False) -> bool:
        every = self.every(key)
        return every > 0 and (step % every == 0 or last_step)


class HJepaMetrics:
    """Stateful metric logger: windows, frequencies and writing.

    Args:
        writer: object with ``scalar(key, value, step, level=, group=)`` and
            ``histogram(key, values, step, layer=)`` (the project's SummaryWriter or
            the trainer's buffered sink).
        hierarchy_weights: w_i of the L levels.
        embed_dim: D (sets the default collapse row bound 4 * D).
        policy: ``FrequencyPolicy``.
        collapse_max_rows: rows sampled for collapse statistics; 0 = 4 * D.
        window: steps in the stability, clipping and convergence windows.
        histogram_max_values: gradient values sampled per layer group.
        loss_only: write only the loss category (benchmark baseline).
        seed: seed of the row / value sampling.
        enabled: False computes nothing periodic and writes nothing (DDP ranks > 0);
            the windows are still kept.
    """

    def __init__(
        self,
        writer,
        *,
        hierarchy_weights: Sequence[float],
        embed_dim: int,
        policy: Optional[FrequencyPolicy] = None,
        collapse_max_rows: int = 0,
        window: int = 100,
        histogram_max_values: int = 16384,
        loss_only: bool = False,
        seed: int = 0,
        enabled: bool = True,
    ) -> None:
        self.writer = writer
        self.weights = [float(w) for w in hierarchy_weights]
        self.policy = policy or FrequencyPolicy()
        self.max_rows = collapse_max_rows or 4 * embed_dim
        self.histogram_max_values = histogram_max_values
        self.loss_only = loss_only
        self.enabled = enabled
        self.window = window
        self.generator = torch.Generator().manual_seed(seed)
        self.loss_window: collections.deque = collections.deque(maxlen=window)  # total loss, floats
        self.level_windows = [collections.deque(maxlen=window) for _ in self.weights]
        self.clip_window: collections.deque = collections.deque(maxlen=window)  # 0/1 floats
        self._param_snapshot: Optional[List[torch.Tensor]] = None
        self._throughput_mark: Optional[Tuple[int, float]] = None  # (samples seen, time)
        self._samples_seen = 0

    # -- frequencies ------------------------------------------------------------------
    def due(self, key: str, step: int, *, last_step: bool = False) -> bool:
        """Whether ``key`` is written at ``step`` (never outside "loss" in loss-only mode)."""
        if not self.enabled:
            return False
        if self.loss_only and catalog.get(key).category != "loss":
            return False
        return self.policy.due(key, step, last_step=last_step)

    def any_due(self, keys: Iterable[str], step: int, *, last_step: bool = False) -> bool:
        """Whether any of ``keys`` is written at ``step`` (a group is computed only then)."""
        return any(self.due(k, step, last_step=last_step) for k in keys)

    def write(self, records: Iterable[Record], step: int) -> None:
        for r in records:
            self.writer.scalar(r.key, r.value, step, level=r.level, group=r.group)

    def write_due(self, records: Iterable[Record], step: int, *, last_step: bool = False) -> None:
        """Write the records whose own key is due: a group is computed together, but each
        metric keeps its own frequency (``metrics.frequencies`` may set any key)."""
        self.write([r for r in records if self.due(r.key, step, last_step=last_step)], step)

    # -- every step --------------------------------------------------------------------
    def log_losses(self, step: int, level_losses: Sequence[float]) -> None:
        """Loss, contributions, stability window stats and per-level convergence rates."""
        records = loss_records(level_losses, self.weights)
        total = sum(w * l for w, l in zip(self.weights, level_losses))
        self.loss_window.append(float(total))
        for win, l in zip(self.level_windows, level_losses):
            win.append(float(l))
        if len(self.loss_window) >= 2:
            var, slope, spike = window_stats(list(self.loss_window))
            records += [
                Record("stability.loss_smoothness", var),
                Record("stability.loss_trend_slope", slope),
                Record("stability.loss_spike_ratio", spike),
            ]
            for i, win in enumerate(self.level_windows):
                _, s, _ = window_stats(list(win))
                mean = sum(win) / len(win)
                records.append(
                    Record(
                        "loss.convergence_rate",
                        -100.0 * s / mean if mean else float("nan"),
                        level=i,
                    )
                )
        self.write([r for r in records if self.due(r.key, step)], step)

    def log_clipping(self, step: int, pre: float, post: float) -> None:
        """Clip norms, ratio, was_clipped and the percentage of clipped steps in the window."""
        was = 1.0 if post < pre else 0.0
        self.clip_window.append(was)
        records = [
            Record("gradient.global_norm_before_clip", pre),
            Record("gradient.global_norm_after_clip", post),
            Record("gradient.clipping_ratio", post / pre if pre > 0 else 1.0),
            Record("gradient.was_clipped", was),
            Record(
                "gradient.clipping_percentage",
                100.0 * sum(self.clip_window) / len(self.clip_window),
            ),
        ]
        self.write([r for r in records if self.due(r.key, step)], step)

    def count_samples(self, n: int) -> None:
        """Add the samples of a finished step (all ranks) to the throughput counter."""
        self._samples_seen += n

    # -- periodic ----------------------------------------------------------------------
    def log_gradients(
        self,
        step: int,
        *,
        parts: Mapping[str, nn.Module],
        global_norm,
        target_features: Optional[torch.Tensor] = None,
        last_step: bool = False,
    ) -> None:
        """Gradient flow per part and per-layer-group histograms (after backward, before clipping).

        Args:
            parts: must hold "context_encoder", "predictor" and "target_encoder".
            global_norm: the global gradient norm before clipping (float or 0-dim tensor).
            target_features: the target feature tensor of the step's forward pass; when it
                requires gradients (no stop-gradient) its ``.grad`` must have been retained
                (``target.retain_grad()`` before backward). Without it the gradient at the
                targets, the stop-gradient's signal, is not logged: its light says unknown.
        """
        if self.any_due(_GRADIENT_FLOW_KEYS, step, last_step=last_step):
            measured = target_features is not None
            grad = None
            if measured and target_features.requires_grad:
                grad = target_features.grad
                if grad is None:  # gradients flow into the targets, but were not kept
                    measured = False
                    _warn_once(
                        "log_gradients: target_features requires grad but its .grad is None; "
                        "call target_features.retain_grad() before backward (the gradient "
                        "at the targets is not logged)"
                    )
            self.write_due(
                gradient_flow_records(
                    context_encoder=parts["context_encoder"],
                    predictor=parts["predictor"],
                    target_encoder=parts["target_encoder"],
                    global_norm=global_norm,
                    target_features_grad=grad,
                    target_features_measured=measured,
                ),
                step,
                last_step=last_step,
            )
        if self.due("gradients.histogram", step, last_step=last_step):
            trainable = {k: v for k, v in parts.items() if k != "target_encoder"}
            for layer, params in layer_groups(trainable).items():
                if any(p.grad is not None for p in params):
                    values = sample_gradient_values(
                        params, self.histogram_max_values, self.generator
                    )
                    self.writer.histogram("gradients.histogram", values, step, layer=layer)

    def begin_update(
        self, step: int, params: List[torch.Tensor], *, last_step: bool = False
    ) -> None:
        """Snapshot parameters before ``optimizer.step()`` when avg_param_update is due."""
        if self.due("learning_rate.avg_param_update", step, last_step=last_step):
            self._param_snapshot = [p.detach().clone() for p in params]

    def end_update(self, step: int, params: List[torch.Tensor]) -> None:
        """Write mean |w_t - w_{t-1}| over all parameter entries (after ``optimizer.step()``)."""
        if self._param_snapshot is None:
            return
        total = torch.stack(
            [(p.detach() - q).abs().sum().float() for p, q in zip(params, self._param_snapshot)]
        ).sum()
        count = sum(p.numel() for p in params)
        self._param_snapshot = None
        self.write([Record("learning_rate.avg_param_update", total.item() / count)], step)

    def log_schedule(
        self, step: int, optimizer: torch.optim.Optimizer, *, last_step: bool = False
    ) -> None:
        """Learning rates of every param group."""
        if self.any_due(_LR_KEYS, step, last_step=last_step):
            self.write_due(learning_rate_records(optimizer), step, last_step=last_step)

    def log_ema(
        self,
        step: int,
        *,
        context_encoder: nn.Module,
        target_encoder: nn.Module,
        momentum: float,
        momentum_target: float,
        last_step: bool = False,
    ) -> None:
        """EMA momentum and parameter divergence (after the EMA update).

        The momentum is a schedule value, written at its own (more frequent) interval; the
        parameter comparisons only when they are due."""
        if not self.any_due(_EMA_TENSOR_KEYS, step, last_step=last_step):
            records = momentum_records(momentum=momentum, momentum_target=momentum_target)
            self.write_due(records, step, last_step=last_step)
        else:
            self.write_due(
                ema_records(
                    context_encoder,
                    target_encoder,
                    momentum=momentum,
                    momentum_target=momentum_target,
                ),
                step,
                last_step=last_step,
            )

    def log_masks(
        self,
        step: int,
        *,
        num_context: int,
        num_target: int,
        num_patches: int,
        last_step: bool = False,
    ) -> None:
        if self.any_due(_KEYS_BY_CATEGORY["masking"], step, last_step=last_step):
            self.write_due(
                mask_records(
                    num_context=num_context, num_target=num_target, num_patches=num_patches
                ),
                step,
                last_step=last_step,
            )

    def levels_due(self, step: int, *, last_step: bool = False) -> bool:
        """Whether any per-level feature metric (prediction, collapse, hierarchy) is due."""
        return self.any_due(_LEVEL_KEYS, step, last_step=last_step)

    def log_levels(
        self,
        step: int,
        *,
        preds: Sequence[torch.Tensor],
        targets: Sequence[torch.Tensor],
        features: Sequence[torch.Tensor],
        cells: Sequence[int],
        last_step: bool = False,
    ) -> None:
        """Prediction, collapse and hierarchy statistics of every level.

        Args:
            preds: per level (M_i, D) predictions at valid positions.
            targets: per level (M_i, D) targets at the same positions.
            features: per level (N_i, D) target features of all grid cells (collapse
                and hierarchy statistics).
            cells: per level number of grid cells (Hk * Wk).
        """

        def due(category):
            return self.any_due(_KEYS_BY_CATEGORY[category], step, last_step=last_step)

        for i, (p, t, f, c) in enumerate(zip(preds, targets, features, cells)):
            if due("prediction"):
                self.write_due(prediction_records(p, t, i), step, last_step=last_step)
            if due("collapse"):
                self.write_due(
                    collapse_records(f, i, max_rows=self.max_rows, generator=self.generator),
                    step,
                    last_step=last_step,
                )
            if due("hierarchy"):
                self.write_due(hierarchy_records(f, i, c), step, last_step=last_step)

    def log_performance(
        self, step: int, *, timer: StepTimer, device: torch.device, last_step: bool = False
    ) -> None:
        """Timings of this step and the whole-step throughput since the last write.

        Args:
            timer: marked at step start, after forward and after backward; read
                (on CUDA: synchronised) only when the metrics are written.
        """
        now = time.perf_counter()
        if self._throughput_mark is None:  # first step after start or a pause: open the interval
            self._throughput_mark = (self._samples_seen, now)
            return
        if not self.any_due(_KEYS_BY_CATEGORY["performance"], step, last_step=last_step):
            return
        samples, then = self._throughput_mark
        self._throughput_mark = (self._samples_seen, now)
        rate = (self._samples_seen - samples) / (now - then) if now > then else float("nan")
        forward_ms, backward_ms = timer.intervals_ms()
        self.write_due(
            performance_records(
                forward_ms=forward_ms,
                backward_ms=backward_ms,
                samples_per_second=rate,
                device=device,
            ),
            step,
            last_step=last_step,
        )

    def restart_throughput(self) -> None:
        """Forget the throughput mark (after an evaluation or a checkpoint pause)."""
        self._throughput_mark = None

    # -- evaluation ---------------------------------------------------------------------
    def log_probe_setup(
        self,
        step: int,
        *,
        num_classes: int,
        num_queries: int,
        knn_top1_random_init: Optional[float] = None,
    ) -> None:
        """What the probe lights compare with, once per run: chance (1 / classes), the
        queries the probe is scored on (its binomial standard error) and the random-init
        encoder's accuracy."""
        if self.loss_only:
            return
        records = [
            Record("eval.num_classes", float(num_classes)),
            Record("eval.probe_queries", float(num_queries)),
        ]
        if knn_top1_random_init is not None:
            records.append(Record("eval.knn_top1_random_init", knn_top1_random_init))
        self.write(records, step)

    def log_eval(
        self, step: int, *, val_loss: Optional[float] = None, knn_top1: Optional[float] = None
    ) -> None:
        """Validation loss, val/train ratio (train = mean of the loss window), kNN accuracy."""
        if self.loss_only:
            return
        records = []
        if val_loss is not None:
            records.append(Record("eval.val_loss", val_loss))
            if self.loss_window:
                train = sum(self.loss_window) / len(self.loss_window)
                records.append(
                    Record(
                        "stability.val_train_loss_ratio",
                        val_loss / train if train else float("nan"),
                    )
                )
        if knn_top1 is not None:
            records.append(Record("eval.knn_top1", knn_top1))
        self.write(records, step)

    # -- persistence --------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Window contents and sampler state (floats only), for checkpoints."""
        return {
            "loss_window": list(self.loss_window),
            "level_windows": [list(w) for w in self.level_windows],
            "clip_window": list(self.clip_window),
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.loss_window.extend(state["loss_window"])
        for win, values in zip(self.level_windows, state["level_windows"]):
            win.extend(values)
        self.clip_window.extend(state["clip_window"])
        self.generator.set_state(state["generator"])
