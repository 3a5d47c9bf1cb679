"""ViT-B/16 on paper: what one step of the GPU config costs, traced without a GPU.

    python -m benchmarks.trainer --only gpu_plan [--fast]

Builds the model of ``trainer/configs/vit_b16_224_gpu.yaml`` (batch 64, bf16 autocast) on
fake tensors and runs the trainer's own ``train_step`` (see ``tracing.py``) on real masks:

- FLOPs of a step, counted by ``torch.utils.flop_counter.FlopCounterMode``: the target
  encoder (forward), the context encoder and the predictor (forward and backward), and the
  metrics, each group at its logging frequency, amortised over the frequencies' common
  period. The token counts vary from step to step: the model's FLOPs are averaged over
  the masks of every step of that period (``plan`` says how).
- Peak memory, traced: parameters and buffers, AdamW state, gradients and activations at
  the peak, and how far the metrics raise live memory while they run.
- Implied samples/s at 30-50% of the dense bf16 peak of an H100 SXM and an A100.
"""

from __future__ import annotations

import math
import os
import statistics
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from hjepa_trainer import config as C
from hjepa_trainer.masking import build_mask_generator, step_generator
from tensorboard_plugin_hjepa import catalog

from .tracing import PARTS, FakeStep, StepTrace

GPU_CONFIG = os.path.join(C.CONFIG_DIR, "vit_b16_224_gpu.yaml")
# Dense bf16 tensor-core peaks (no 2:4 sparsity), from the vendors' data sheets, TFLOP/s.
PEAK_BF16_TFLOPS = {"H100 SXM": 989.0, "A100": 312.0}
UTILISATIONS = (0.30, 0.40, 0.50)
SEED_A100_SAMPLES_PER_S = (200, 400)  # the seed's expectation for this config on an A100
GOAL_H100_SAMPLES_PER_S = 2000
MAX_PERIOD = 100_000  # steps: a longer common period of the metric frequencies is refused
GB = 1e9


@dataclass
class Plan:
    """One step of a config, on paper.

    Attributes:
        config: the config file.
        batch: images per step.
        model_flops: mean FLOPs of the step without metrics, over the masks of the
            period's steps.
        model_flops_range: (min, max) over those steps.
        part_flops: mean forward + backward FLOPs of each model part, likewise.
        metrics_flops_amortised: the metrics' FLOPs per step at their frequencies.
        metrics_flops_by_every: FLOPs of the metrics at a step where they are due, keyed by
            the step that first has that due-set ("0": everything), with the fraction of
            steps that have it.
        flops: model + amortised metrics, per step.
        num_context, num_target: mean tokens per image over the period's steps.
        parameter_bytes: parameters and buffers (both encoders, the predictor).
        optimizer_bytes: AdamW state.
        gradient_bytes: all gradients (live from the backward to ``zero_grad``).
        gradient_bytes_at_peak: the gradients live at the peak.
        activation_bytes_at_peak: everything else live at the peak (saved activations,
            autocast's bf16 weight copies, temporaries).
        peak_bytes: the largest live total of a step without periodic metrics.
        metrics_extra_bytes: the largest rise of live memory inside a metric call.
        peak_bytes_all_metrics: the peak of the first step with every metric due (its
            own masks: ``peak_context_all_metrics`` context tokens); 0 if none is.
        peak_context: context tokens of the step with that peak (the draws include the
            largest context of the period's steps without periodic metrics).
        ops: aten ops of a step without periodic metrics that are not views (eager
            PyTorch launches about one GPU kernel for each).
        ops_all_metrics: the same at the step with every metric due.
        draws: steps traced for the model's FLOPs.
        period: steps of the metric frequencies' period (the averages are over it).
        mask_steps: steps of the period whose masks the FLOPs are averaged over.
        fit_misfit: largest relative misfit of the FLOPs polynomial on the draws.
    """

    config: str
    batch: int
    model_flops: float
    model_flops_range: Tuple[float, float]
    part_flops: Dict[str, float]
    metrics_flops_amortised: float
    metrics_flops_by_every: Dict[str, Tuple[float, float]]
    flops: float
    num_context: float
    num_target: float
    parameter_bytes: int
    optimizer_bytes: int
    gradient_bytes: int
    gradient_bytes_at_peak: int
    activation_bytes_at_peak: int
    peak_bytes: int
    peak_context: int
    metrics_extra_bytes: int
    peak_bytes_all_metrics: int
    peak_context_all_metrics: int
    ops: int
    ops_all_metrics: int
    draws: int
    period: int
    mask_steps: int
    fit_misfit: float
    implied: Dict[str, Dict[str, float]] = field(default_factory=dict)

    @property
    def flops_per_sample(self) -> float:
        return self.flops / self.batch

    def samples_per_second(self, tflops: float) -> float:
        """Samples/s a device sustaining ``tflops`` TFLOP/s on this step would do."""
        return tflops * 1e12 / self.flops_per_sample

    def to_dict(self) -> dict:
        return asdict(self)


def due_cycle(metrics, period_limit: int = MAX_PERIOD) -> Tuple[int, Dict[frozenset, List[int]]]:
    """The steps of one period of the metric frequencies, grouped by what is due.

    Args:
        metrics: an ``HJepaMetrics`` (its policy and loss-only setting).
        period_limit: refuse periods longer than this.

    Returns:
        (period, {frozenset of due catalogue keys: steps in [0, period) with that set}).

    Raises:
        ValueError: the period is longer than ``period_limit``.
    """
    keys = [m.key for m in catalog.metrics()]
    everies = {metrics.policy.every(k) for k in keys} - {0}
    period = 1
    for e in everies:
        period = period * e // math.gcd(period, e)
    if period > period_limit:
        raise ValueError(
            f"the metric frequencies {sorted(everies)} repeat every {period} steps "
            f"(more than {period_limit}): set metrics.frequencies to common multiples"
        )
    groups: Dict[frozenset, List[int]] = {}
    for s in range(period):
        groups.setdefault(frozenset(k for k in keys if metrics.due(k, s)), []).append(s)
    return period, groups


def _features(num_context: int, num_target: int) -> List[float]:
    """The terms a step's FLOPs are a linear combination of: linear layers cost per token,
    attention per pair of tokens (context encoder: Nc tokens; predictor: Nc + Nt)."""
    nc, nt = float(num_context), float(num_target)
    return [1.0, nc, nt, nc * nc, nt * nt, nc * nt]


FIT_TERMS = len(_features(0, 0))


def _spread(steps: List[int], counts: Dict[int, Tuple[int, int]], n: int) -> List[int]:
    """``n`` steps whose token counts span the range: evenly spaced in the order of their
    (Nc, Nt), both ends included, one step per distinct pair."""
    distinct = {}
    for s in sorted(steps, key=lambda s: counts[s]):
        distinct.setdefault(counts[s], s)
    ordered = list(distinct.values())
    if len(ordered) <= n:
        return ordered
    return [ordered[round(i * (len(ordered) - 1) / (n - 1))] for i in range(n)]


def _fit(traces: List[StepTrace], values: List[float]) -> Tuple[np.ndarray, float]:
    """Coefficients of ``_features`` that give ``values`` at the traces' token counts, and
    the largest relative misfit (0 up to rounding when the model is what ``_features``
    says; only meaningful with more traces than terms)."""
    a = np.array([_features(t.num_context, t.num_target) for t in traces])
    y = np.array(values, dtype=np.float64)
    coef = np.linalg.lstsq(a, y, rcond=None)[0]
    return coef, float(np.max(np.abs(a @ coef - y) / y))


def plan(
    config: str = GPU_CONFIG,
    *,
    batch: int = 64,
    draws: int = 8,
    mask_steps: Optional[int] = None,
    log=print,
) -> Plan:
    """Trace the config's step on fake tensors: FLOPs, memory, implied throughput.

    The model's FLOPs depend on the step's token counts only (Nc, Nt), as a quadratic
    polynomial (``_features``): it is fitted to ``draws`` traced steps whose counts span
    the range, checked on the draws beyond the polynomial's terms, and averaged over the
    masks of every step of the metric frequencies' period.

    Args:
        config: config file (its model, masking, metrics and ``training.amp``).
        batch: images per step.
        draws: steps traced for the model's FLOPs; at least one more than the
            polynomial's terms (so the fit is checked).
        mask_steps: average the FLOPs over the masks of this many steps, evenly spread
            over the period (None: all of them; fewer is faster, ~15 ms per step).
        log: progress lines.

    Returns:
        A ``Plan``.

    Raises:
        ValueError: too few draws, or the traced FLOPs are not the polynomial.
    """
    if draws <= FIT_TERMS:
        raise ValueError(f"draws must be > {FIT_TERMS} (the fitted terms), got {draws}")
    cfg = C.load_config(config, [f"training.batch_size={batch}"])
    fake = FakeStep(cfg, optimizer_for="cuda")
    masks_of = build_mask_generator(cfg, cfg.model.img_size // cfg.model.patch_size)

    def masks(step):
        return masks_of(batch, step_generator(cfg.training.seed, step))

    period, groups = due_cycle(fake.trainer.metrics)
    stride = max(1, period // mask_steps) if mask_steps else 1
    counts = {}
    for s in range(0, period, stride):
        m = masks(s)
        counts[s] = (m.context.shape[1], m.target.shape[1])
    plain = min(groups, key=len)  # the due-set with the fewest keys: every-step metrics only
    draw_steps = _spread([s for s in groups[plain] if s in counts], counts, draws)
    # The first trace also creates the AdamW state: its FLOPs count, its memory does not.
    traces: List[StepTrace] = [fake.trace(s, masks(s)) for s in draw_steps]
    log(f"  gpu_plan: traced {len(traces)} steps for the model's FLOPs")

    model_values = [t.flops - t.metrics_flops for t in traces]
    coef, misfit = _fit(traces, model_values)
    if misfit > 1e-6:
        raise ValueError(
            f"the traced FLOPs are not a quadratic of the token counts (misfit {misfit:.2e})"
        )
    mean_features = np.mean([_features(*c) for c in counts.values()], axis=0)
    per_step = [float(np.dot(coef, _features(*c))) for c in counts.values()]
    part_flops = {
        part: float(np.dot(_fit(traces, [t.part_flops[part] for t in traces])[0], mean_features))
        for part in PARTS
    }

    by_every: Dict[str, Tuple[float, float]] = {}
    amortised = 0.0
    all_due = max(groups, key=len)
    peak_all = context_all = ops_all = 0
    metrics_extra = max(t.metrics_extra_bytes for t in traces[1:])
    for due, steps in sorted(groups.items(), key=lambda g: g[1][0]):
        share = len(steps) / period
        if due == plain:
            flops = statistics.mean(t.metrics_flops for t in traces)
        else:
            t = fake.trace(steps[0], masks(steps[0]))
            flops = t.metrics_flops
            metrics_extra = max(metrics_extra, t.metrics_extra_bytes)
            if due == all_due:
                peak_all, context_all, ops_all = t.peak_bytes, t.num_context, t.ops
        by_every[str(steps[0])] = (flops, share)
        amortised += share * flops
    log(f"  gpu_plan: traced {len(groups) - 1} metric steps (period {period} steps)")

    peak = max(traces[1:], key=lambda t: t.peak_bytes)
    model_mean = float(np.dot(coef, mean_features))
    result = Plan(
        config=os.path.relpath(config),
        batch=batch,
        model_flops=model_mean,
        model_flops_range=(min(per_step), max(per_step)),
        part_flops=part_flops,
        metrics_flops_amortised=amortised,
        metrics_flops_by_every=by_every,
        flops=model_mean + amortised,
        num_context=float(mean_features[1]),
        num_target=float(mean_features[2]),
        parameter_bytes=fake.parameter_bytes(),
        optimizer_bytes=fake.optimizer_state_bytes(),
        gradient_bytes=sum(p.numel() * p.element_size() for p in fake.trainer.trainable),
        gradient_bytes_at_peak=peak.grad_bytes_at_peak,
        activation_bytes_at_peak=peak.peak_bytes - peak.persistent_bytes - peak.grad_bytes_at_peak,
        peak_bytes=peak.peak_bytes,
        peak_context=peak.num_context,
        metrics_extra_bytes=metrics_extra,
        peak_bytes_all_metrics=peak_all,
        peak_context_all_metrics=context_all,
        ops=round(statistics.mean(t.ops for t in traces[1:])),
        ops_all_metrics=ops_all,
        draws=len(traces),
        period=period,
        mask_steps=len(counts),
        fit_misfit=misfit,
    )
    result.implied = {
        device: {f"{u:.0%}": result.samples_per_second(u * tf) for u in UTILISATIONS}
        for device, tf in PEAK_BF16_TFLOPS.items()
    }
    return result


def _row(label: str, value: str) -> str:
    return f"  {label:<50s}{value}"


def _tflop(flops: float) -> str:
    return f"{flops / 1e12:7.3f} TFLOP"


def _gb(nbytes: float) -> str:
    return f"{nbytes / GB:7.2f} GB"


def report(p: Plan) -> str:
    """The plan as the table ``--only gpu_plan`` prints."""
    lo, hi = p.model_flops_range
    every = ", ".join(
        f"{f / 1e9:.1f} GFLOP at step {s}, {share:.1%} of steps"
        for s, (f, share) in p.metrics_flops_by_every.items()
        if f
    )
    lines = [
        f"ViT-B/16 plan: {p.config}, batch {p.batch}, traced on fake tensors (no GPU)",
        f"  masks: {p.num_context:.1f} context / {p.num_target:.1f} target tokens per image "
        f"(mean over the masks of {p.mask_steps} of the {p.period} steps of the metrics' "
        "period)",
        "FLOPs of one training step (FlopCounterMode: matmuls, convolutions, attention; "
        "2 per multiply-add)",
        _row("target encoder, forward (no_grad)", _tflop(p.part_flops["target_encoder"])),
        _row("context encoder, forward + backward", _tflop(p.part_flops["context_encoder"])),
        _row("predictor, forward + backward", _tflop(p.part_flops["predictor"])),
        _row("model step (mean over the period's masks)", _tflop(p.model_flops))
        + f"  (steps range {lo / 1e12:.3f}-{hi / 1e12:.3f})",
        _row("metrics, amortised at their frequencies", _tflop(p.metrics_flops_amortised))
        + f"  ({every or 'none counted'})",
        _row("total per step", _tflop(p.flops))
        + f"  = {p.flops_per_sample / 1e9:.1f} GFLOP per sample",
        "Peak memory (traced: the live storages of the step, bf16 autocast)",
        _row("parameters + buffers (both encoders, predictor)", _gb(p.parameter_bytes)),
        _row("optimizer state (AdamW exp_avg, exp_avg_sq)", _gb(p.optimizer_bytes)),
        _row(
            f"gradients at the peak (all: {p.gradient_bytes / GB:.2f} GB)",
            _gb(p.gradient_bytes_at_peak),
        ),
        _row("activations and temporaries at the peak", _gb(p.activation_bytes_at_peak)),
        _row(f"peak of a step ({p.peak_context} context tokens)", _gb(p.peak_bytes)),
        _row("metrics' extra (rise while they run)", _gb(p.metrics_extra_bytes))
        + f"  (the step with every metric due, {p.peak_context_all_metrics} context tokens, "
        f"peaks at {p.peak_bytes_all_metrics / GB:.2f} GB: they run after the backward)",
        f"Host work: {p.ops} aten ops per step that are not views (eager: about one GPU "
        f"kernel launch each); {p.ops_all_metrics} at a step with every metric due",
        "Implied samples/s at a fraction of the dense bf16 peak",
        "  " + f"{'device, dense bf16 peak':<26s}" + "".join(f"{u:>9.0%}" for u in UTILISATIONS),
    ]
    for device, tf in PEAK_BF16_TFLOPS.items():
        row = p.implied[device]
        lines.append(
            f"  {f'{device} {tf:.0f} TFLOP/s':<26s}"
            + "".join(f"{row[f'{u:.0%}']:9.0f}" for u in UTILISATIONS)
        )

    def share(samples_per_s: float, tf: float) -> str:
        return f"{samples_per_s * p.flops_per_sample / (tf * 1e12):.1%}"

    h100, a100 = PEAK_BF16_TFLOPS["H100 SXM"], PEAK_BF16_TFLOPS["A100"]
    lo_sps, hi_sps = SEED_A100_SAMPLES_PER_S
    lines += [
        f"  the seed's {lo_sps}-{hi_sps} samples/s on an A100 = "
        f"{share(lo_sps, a100)}-{share(hi_sps, a100)} of its peak",
        f"  the goal's {GOAL_H100_SAMPLES_PER_S} samples/s on an H100 = "
        f"{share(GOAL_H100_SAMPLES_PER_S, h100)} of its peak "
        f"({GOAL_H100_SAMPLES_PER_S * p.flops_per_sample / 1e12:.0f} TFLOP/s)",
    ]
    return "\n".join(lines)
