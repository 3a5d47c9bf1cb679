"""H-JEPA health metrics logger: what to measure when, and writing by catalogue key.

Usable from any training loop. The measures themselves are the pure ``*_records``
functions of ``hjepa_trainer.measures`` (re-exported here); ``HJepaMetrics`` adds the
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

Buffers hold Python floats only, never tensors (no autograd history kept alive).
"""

from __future__ import annotations

import collections
import time
import warnings
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from tensorboard_plugin_hjepa import catalog

from .config import Config
from .measures import (
    SPIKE_TREND_POINTS,
    Record,
    collapse_records,
    effective_rank,
    ema_records,
    global_grad_norm,
    global_grad_norm_tensor,
    gradient_flow_records,
    hierarchy_records,
    layer_groups,
    learning_rate_records,
    loss_records,
    mask_records,
    momentum_records,
    performance_records,
    prediction_records,
    sample_gradient_values,
    sample_rows,
    spike_ratio,
    window_stats,
)

__all__ = [
    # the logger
    "AFTER_STEPS_KEYS",
    "FrequencyPolicy",
    "HJepaMetrics",
    "StepTimer",
    "build_metrics",
    # the measures, re-exported from ``measures`` (``from hjepa_trainer.metrics import ...``)
    "SPIKE_TREND_POINTS",
    "Record",
    "collapse_records",
    "effective_rank",
    "ema_records",
    "global_grad_norm",
    "global_grad_norm_tensor",
    "gradient_flow_records",
    "hierarchy_records",
    "layer_groups",
    "learning_rate_records",
    "loss_records",
    "mask_records",
    "momentum_records",
    "performance_records",
    "prediction_records",
    "sample_gradient_values",
    "sample_rows",
    "spike_ratio",
    "window_stats",
]


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


def _warn_once(message: str) -> None:
    """A warning the default filter shows once per call site (a loop calls it every step)."""
    warnings.warn(message, RuntimeWarning, stacklevel=3)


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


def build_metrics(
    cfg: Config, sink, policy: FrequencyPolicy, *, enabled: bool = True
) -> HJepaMetrics:
    """The metric logger of ``cfg.metrics`` writing to ``sink`` at ``policy``'s steps."""
    return HJepaMetrics(
        sink,
        hierarchy_weights=cfg.model.hierarchy_weights,
        embed_dim=cfg.model.embed_dim,
        policy=policy,
        collapse_max_rows=cfg.metrics.collapse_max_rows,
        window=cfg.metrics.window,
        histogram_max_values=cfg.metrics.histogram_max_values,
        loss_only=cfg.metrics.loss_only,
        seed=cfg.training.seed,
        enabled=enabled,
    )
