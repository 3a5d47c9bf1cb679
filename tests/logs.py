"""Generated H-JEPA logdirs for tests and benchmarks (shared by every test module).

Curves are shaped like real H-JEPA runs (loss that drops fast then slowly, EMA
momentum on its linear schedule, collapse statistics in their healthy ranges for the
run's embedding dimension), each metric at its catalogue frequency (reference §12).
Values are deterministic for a given seed.

API::

    from tests import logs
    run_dir = logs.write_run(logdir, "healthy", "healthy")                 # summary API
    logs.write_run(logdir, "plain/collapsing", "collapsing", source="plain")
    logs.write_run(logdir, "upstream", "healthy", source="upstream")
    logs.write_logdir(logdir)            # one run of every STANDARD_RUNS entry
    logs.write_unrelated_run(logdir)     # scalars the catalogue does not know
    logs.curves("healthy", steps=600)    # {(key, level): (steps, values)}: what is written
    logs.EXPECTED_STATUS["collapsing"]   # "collapse": the overall status to expect

``kind`` (what happens in training):
  - ``healthy``: every verdict rule healthy; overall status ``healthy``.
  - ``collapsing``: std, effective rank fall and similarity rises between 20% and 45%
    of the run; the loss drops suspiciously fast; overall ``collapse``.
  - ``diverging``: loss and gradient norm blow up in the last third, then NaN;
    overall ``critical``.
  - ``stuck``: loss flat at its starting value, tiny learning rate.
  - ``missing``: only the loss curves (no collapse, EMA, gradient, ... metrics):
    those lights are ``unknown``.

``source`` (who wrote the log):
  - ``hjepa``: ``summary.SummaryWriter`` with plugin name "hjepa" and a manifest.
  - ``plain``: the reference's tags as ordinary TensorBoard scalars, no manifest
    (as a PyTorch ``SummaryWriter.add_scalar`` trainer writes them).
  - ``upstream``: the upstream H-JEPA implementation's tags (``train/loss``,
    ``train/loss_h{i}``, ``train/lr``, ``train/target_std``, ...), plain scalars.

Writing is batched (one event per step holding every value of that step), so 100,000
steps of every catalogue metric take seconds, not minutes.
"""

import math
import os
from typing import Dict, Iterable, Optional, Tuple

import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins.scalar import metadata as scalar_metadata
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from tensorboard_plugin_hjepa import catalog, metadata
from tensorboard_plugin_hjepa.diagnosis import timeline
from tensorboard_plugin_hjepa.summary import RunManifest, SummaryWriter, _float32_tensor

KINDS = ("healthy", "collapsing", "diverging", "stuck", "missing")
SOURCES = ("hjepa", "plain", "upstream")

# The overall status the diagnosis should give each kind (None: not pinned down).
EXPECTED_STATUS = {
    "healthy": "healthy",
    "collapsing": "collapse",
    "diverging": "critical",
    "stuck": "warning",
    "missing": "unknown",
}


def expected_status(kind: str, source: str = "hjepa") -> str:
    """The overall status the product must give a generated run.

    Upstream logs carry collapse indicators only in the upstream's own convention
    (un-normalised std, its rank definition), which no collapse light can judge: a
    healthy upstream run is ``unknown``, never vouched for as ``healthy``.
    """
    if source == "upstream" and kind == "healthy":
        return "unknown"
    return EXPECTED_STATUS[kind]


# (run name, kind, source) written by ``write_logdir``.
STANDARD_RUNS = (
    ("healthy", "healthy", "hjepa"),
    ("collapsing", "collapsing", "hjepa"),
    ("diverging", "diverging", "hjepa"),
    ("stuck", "stuck", "hjepa"),
    ("missing", "missing", "hjepa"),
    ("plain_healthy", "healthy", "plain"),
    ("upstream_healthy", "healthy", "upstream"),
)

DEFAULT_STEPS = 2000
DEFAULT_LEVELS = 3
DEFAULT_EMBED_DIM = 192
DEFAULT_ROWS = 1024  # rows of the collapse statistics (B x tokens sampled)
WALL_START = 1_700_000_000.0
SECONDS_PER_STEP = 0.5

# Metrics of the "missing" kind (everything else is absent).
_MISSING_KEEP = ("loss.total", "loss.level", "loss.unweighted", "loss.contribution")

# Upstream implementation: catalogue key -> upstream tag (level 0 only for per-level).
_UPSTREAM_TAGS = {
    ("loss.total", None): "train/loss",
    ("loss.unweighted", None): "train/loss_unweighted",
    ("learning_rate.base_lr", None): "train/lr",
    ("ema.momentum_current", None): "train/ema_momentum",
}
_UPSTREAM_LEVEL0 = {
    "collapse.mean_std_per_dim": "train/target_std",
    "collapse.effective_rank": "train/target_rank",
    "hierarchy.feat_norm": "train/target_norm",
}


def hierarchy_weights(levels: int):
    """Default weights 1, 0.5, 0.25, ... ."""
    return [0.5**i for i in range(levels)]


def manifest_for(
    levels: int = DEFAULT_LEVELS,
    embed_dim: int = DEFAULT_EMBED_DIM,
    total_steps: int = DEFAULT_STEPS,
) -> RunManifest:
    """The manifest ``write_run`` writes for a summary-API run."""
    return RunManifest(
        num_levels=levels,
        hierarchy_weights=hierarchy_weights(levels),
        embed_dim=embed_dim,
        patch_grid=(14, 14),
        total_steps=total_steps,
        collapse_rows=DEFAULT_ROWS,
        trainer="tests.logs",
        config={"model": "vit_tiny", "levels": levels},
    )


def _ramp(t, start, end, t0=0.0, t1=1.0):
    """Linear from ``start`` at t0 to ``end`` at t1, constant outside."""
    x = np.clip((t - t0) / max(t1 - t0, 1e-9), 0.0, 1.0)
    return start + (end - start) * x


def _metric_steps(metric, steps: int) -> np.ndarray:
    every = metric.frequency.steps
    if every <= 0:
        return np.array([steps - 1], dtype=np.int64)
    return np.arange(0, steps, every, dtype=np.int64)


def curves(
    kind: str = "healthy",
    *,
    steps: int = DEFAULT_STEPS,
    levels: int = DEFAULT_LEVELS,
    embed_dim: int = DEFAULT_EMBED_DIM,
    seed: int = 0,
) -> Dict[Tuple[str, Optional[int]], Tuple[np.ndarray, np.ndarray]]:
    """Every scalar catalogue metric of a run of this kind.

    Returns:
      ``{(metric key, level or None): (steps int64, values float64)}``; each metric at
      its catalogue frequency; per-param-group metrics for group 0 only (level None).
    """
    if kind not in KINDS:
        raise ValueError("unknown kind %r; expected one of %r" % (kind, KINDS))
    rng = np.random.default_rng(seed)
    weights = np.array(hierarchy_weights(levels))
    sqrt_d = math.sqrt(embed_dim)
    rank_cap = min(DEFAULT_ROWS, embed_dim)
    out = {}

    def noise(n, scale):
        return 1.0 + scale * rng.standard_normal(n)

    def level_loss(t, i):
        # Drop, a small rise, then a slow fall (JEPA losses are a proxy), per level.
        base = 0.12 / (1 + i) + 0.9 / (1 + i) * np.exp(-t / 0.08)
        base = base + 0.04 / (1 + i) * np.exp(-(((t - 0.2) / 0.06) ** 2)) + 0.1 / (1 + i) * (1 - t)
        if kind == "stuck":
            base = np.full_like(t, 1.0 / (1 + i))
        elif kind == "collapsing":
            base = base * _ramp(t, 1.0, 0.05, 0.2, 0.35)
        elif kind == "diverging":
            base = base * np.exp(np.clip(t - 0.66, 0, None) * 12)
        return base

    for metric in catalog.metrics():
        if metric.kind != "scalar" or "{layer}" in metric.tag:
            continue
        if kind == "missing" and metric.key not in _MISSING_KEEP:
            continue
        if metric.key == timeline.STATUS_KEY:  # the online checks' verdicts, not a curve: left
            continue  # out, so the health timeline judges prefixes of these curves
        s = _metric_steps(metric, steps)
        t = s / max(steps - 1, 1)
        n = len(s)
        per_level = metric.per_level
        for level in range(levels) if per_level else [None]:
            i = level or 0
            key = metric.key
            collapse_t = _ramp(t, 0.0, 1.0, 0.2, 0.45) if kind == "collapsing" else np.zeros(n)
            if key == "loss.total":
                v = sum(weights[j] * level_loss(t, j) for j in range(levels)) * noise(n, 0.02)
            elif key == "loss.level":
                v = level_loss(t, i) * noise(n, 0.02)
            elif key == "loss.unweighted":
                v = sum(level_loss(t, j) for j in range(levels)) * noise(n, 0.02)
            elif key == "loss.contribution":
                parts = np.array([weights[j] * level_loss(t, j) for j in range(levels)])
                v = parts[i] / parts.sum(axis=0)
            elif key == "loss.convergence_rate":
                v = -0.001 * np.exp(-t / 0.3) * noise(n, 0.1)
            elif key == "ema.momentum_current" or key == "ema.momentum_target":
                v = 0.996 + 0.0039 * t
            elif key == "ema.avg_parameter_divergence":
                v = 0.01 + 0.02 * t
            elif key == "ema.weight_magnitude_ratio":
                v = 1.0 + 0.01 * np.sin(t * 6)
            elif key == "masking.mask_ratio":
                v = 0.58 * noise(n, 0.01)
            elif key == "masking.num_masked_patches":
                v = np.full(n, 114.0)
            elif key == "masking.num_unmasked_patches":
                v = np.full(n, 82.0)
            elif key == "prediction.cosine_sim_mean":
                v = 0.2 + 0.68 * (1 - np.exp(-3 * t))
                if kind == "collapsing":
                    v = _ramp(t, 0.3, 0.99, 0.2, 0.45)
            elif key == "prediction.cosine_sim_std":
                v = 0.2 - 0.05 * t - 0.14 * collapse_t
            elif key == "prediction.cosine_sim_min":
                v = -0.1 + 0.4 * t
            elif key == "prediction.cosine_sim_max":
                v = 0.6 + 0.35 * t
            elif key == "prediction.normalized_mse":
                v = 0.9 * np.exp(-2 * t) + 0.1
            elif key == "prediction.l2_distance":
                v = 1.2 * np.exp(-2 * t) + 0.2
            elif key == "collapse.mean_std_per_dim":
                v = (0.8 / sqrt_d) * (1 - 0.93 * collapse_t) * noise(n, 0.01)
            elif key == "collapse.min_std_per_dim":
                v = (0.3 / sqrt_d) * (1 - 0.99 * collapse_t)
            elif key == "collapse.effective_rank":
                v = 0.8 * rank_cap * (1 - 0.9 * collapse_t) * noise(n, 0.01)
            elif key == "collapse.mean_similarity":  # raw: a shared mean direction, then one point
                v = 0.35 + 0.645 * np.clip(1.5 * collapse_t, 0.0, 1.0)  # ~1 two thirds in
            elif key == "collapse.max_similarity":
                v = 0.8 + 0.19 * collapse_t
            elif key == "collapse.std_similarity":
                v = 0.2 * (1 - 0.9 * collapse_t)
            elif key == "collapse.mean_similarity_centred":  # pinned near -1/(N-1)
                v = np.full(n, -1.0 / (DEFAULT_ROWS - 1))
            elif key == "collapse.feature_mean_norm":
                v = 0.3 + 0.6 * collapse_t
            elif key == "collapse.num_rows":
                v = np.full(n, float(DEFAULT_ROWS))
            elif key in ("gradient_flow.global_norm", "gradient.global_norm_before_clip"):
                v = (1.5 * np.exp(-2 * t) + 0.2) * noise(n, 0.05)
                if kind == "diverging":
                    v = v * np.exp(np.clip(t - 0.66, 0, None) * 25)
            elif key == "gradient.global_norm_after_clip":
                v = np.minimum((1.5 * np.exp(-2 * t) + 0.2), 1.0)
            elif key == "gradient.clipping_ratio":
                v = np.full(n, 1.0)
            elif key == "gradient.was_clipped":
                v = (rng.random(n) < 0.02).astype(np.float64)
            elif key == "gradient.clipping_percentage":
                v = np.full(n, 2.0) if kind != "diverging" else _ramp(t, 2.0, 95.0, 0.66, 0.8)
            elif key == "gradient_flow.target_features_grad_norm":
                v = np.zeros(n)
            elif key.startswith("gradient_flow.") and key.endswith("_mean"):
                v = (
                    np.zeros(n)
                    if key == "gradient_flow.target_encoder_mean"
                    else 0.01 * np.exp(-t) * noise(n, 0.05)
                )
            elif key.startswith("gradient_flow.") and key.endswith("_max"):
                v = 0.2 * np.exp(-t) * noise(n, 0.05)
            elif key == "learning_rate.base_lr" or key == "learning_rate.param_group":
                peak = 1e-6 if kind == "stuck" else 5e-4
                warm = np.clip(t / 0.05, 0, 1)
                v = peak * warm * (0.5 * (1 + np.cos(math.pi * np.clip((t - 0.05) / 0.95, 0, 1))))
                v = np.maximum(v, peak * 1e-3)
            elif key == "learning_rate.avg_param_update":
                v = 1e-4 * np.exp(-t)
            elif key == "hierarchy.feat_mean":
                v = 0.01 * rng.standard_normal(n)
            elif key == "hierarchy.feat_std":
                v = (0.5 + 0.05 * i) * (1 - 0.99 * collapse_t)
            elif key == "hierarchy.feat_range":
                v = 6.0 * (1 - 0.9 * collapse_t)
            elif key == "hierarchy.feat_norm":
                v = 8.0 + 0.5 * i + 0.5 * t
            elif key == "hierarchy.num_patches":
                grid = max(14 // (2**i), 1)
                v = np.full(n, float(grid * grid))
            elif key == "stability.loss_smoothness":
                v = 0.2 * noise(n, 0.1)
            elif key == "stability.loss_trend_slope":
                v = -1e-4 * np.exp(-t / 0.3)
            elif key == "stability.loss_spike_ratio":
                v = 1.1 * noise(n, 0.02)
                if kind == "diverging":
                    v = v * _ramp(t, 1.0, 4.0, 0.66, 0.8)
            elif key == "stability.val_train_loss_ratio":
                v = 1.03 * noise(n, 0.005)
            elif key == "performance.forward_time_ms":
                v = 120.0 * noise(n, 0.03)
            elif key == "performance.backward_time_ms":
                v = 220.0 * noise(n, 0.03)
            elif key == "performance.total_time_ms":
                v = 360.0 * noise(n, 0.03)
            elif key == "performance.samples_per_second":
                v = 180.0 * noise(n, 0.03)
            elif key == "performance.forward_backward_ratio":
                v = 0.55 * noise(n, 0.03)
            elif key == "performance.gpu_memory_allocated_gb":
                v = np.full(n, 12.0)
            elif key == "performance.gpu_memory_reserved_gb":
                v = np.full(n, 14.0)
            elif key == "eval.knn_top1":
                v = 0.3 + 0.3 * t * (1 - 0.8 * collapse_t)  # 10 classes: chance 0.1
            elif key == "eval.knn_top1_random_init":
                v = np.full(n, 0.25)
            elif key == "eval.num_classes":
                v = np.full(n, 10.0)
            elif key == "eval.probe_queries":
                v = np.full(n, 1000.0)
            elif key == "health.healthy_checkpoint_step":  # logged once here, at the end
                last_healthy = 0.2 if kind == "collapsing" else 1.0
                v = np.full(n, float(int(last_healthy * (steps - 1))))
            elif key == "eval.val_loss":
                v = sum(weights[j] * level_loss(t, j) for j in range(levels)) * 1.03
            else:  # a metric added to the catalogue later: a plausible flat curve
                v = np.full(n, 1.0)
            v = np.asarray(v, dtype=np.float64).copy()
            if kind == "diverging" and key in (
                "loss.total",
                "loss.level",
                "loss.unweighted",
                "gradient_flow.global_norm",
                "gradient.global_norm_before_clip",
            ):
                v[t > 0.97] = np.nan
            out[(key, level)] = (s, v)
    return out


def _tag_for(source: str, key: str, level: Optional[int]) -> Optional[str]:
    """The tag a trainer of this source writes for (key, level); None if it does not."""
    if source != "upstream":
        metric = catalog.get(key)
        if "{group}" in metric.tag:
            return catalog.tag(key, group=0)
        return catalog.tag(key, level=level)
    if (key, level) in _UPSTREAM_TAGS:
        return _UPSTREAM_TAGS[(key, level)]
    if key == "loss.level":
        return "train/loss_h%d" % level
    if level == 0 and key in _UPSTREAM_LEVEL0:
        return _UPSTREAM_LEVEL0[key]
    return None


def _write_events(
    run_dir: str,
    rows: Dict[str, Tuple[np.ndarray, np.ndarray]],
    plugin_metadata: Dict[str, summary_pb2.SummaryMetadata],
    first_event_values=(),
):
    """Write ``{tag: (steps, values)}`` as one event per step holding all its values."""
    by_step: Dict[int, list] = {}
    for tag, (steps, values) in rows.items():
        for step, value in zip(steps.tolist(), values.tolist()):
            by_step.setdefault(step, []).append((tag, value))
    writer = EventFileWriter(run_dir, max_queue_size=100_000, flush_secs=3600)
    described = set()
    try:
        first = True
        for step in sorted(by_step):
            summary = summary_pb2.Summary()
            if first:
                for value_pb in first_event_values:
                    summary.value.append(value_pb)
                first = False
            for tag, value in by_step[step]:
                value_pb = summary.value.add(tag=tag)
                value_pb.tensor.CopyFrom(_float32_tensor(value))
                if tag not in described:
                    value_pb.metadata.CopyFrom(plugin_metadata[tag])
                    described.add(tag)
            writer.add_event(
                event_pb2.Event(
                    step=step, wall_time=WALL_START + step * SECONDS_PER_STEP, summary=summary
                )
            )
    finally:
        writer.close()


def write_run(
    logdir: str,
    name: str,
    kind: str = "healthy",
    *,
    source: str = "hjepa",
    steps: int = DEFAULT_STEPS,
    levels: int = DEFAULT_LEVELS,
    embed_dim: int = DEFAULT_EMBED_DIM,
    seed: int = 0,
    keys: Optional[Iterable[str]] = None,
    extra_scalars: Optional[Dict[str, Tuple[np.ndarray, np.ndarray]]] = None,
) -> str:
    """Write one generated run into ``logdir/name`` and return that directory.

    Args:
      logdir: the TensorBoard logdir.
      name: the run name (may contain "/" for nested runs, or any character a
        directory name may hold).
      kind: one of KINDS (what happens in training).
      source: one of SOURCES (who wrote the log; see the module docstring).
      steps: training steps; every-step metrics get this many points.
      levels, embed_dim: hierarchy levels and embedding dimension (the manifest's).
      seed: noise seed.
      keys: write only these catalogue keys (None: all the kind has).
      extra_scalars: more ``{tag: (steps, values)}`` written as ordinary TensorBoard
        scalars into the same event file (e.g. a marker at the last step).

    Returns:
      The run's directory.
    """
    if source not in SOURCES:
        raise ValueError("unknown source %r; expected one of %r" % (source, SOURCES))
    run_dir = os.path.join(logdir, name)
    os.makedirs(run_dir, exist_ok=True)
    data = curves(kind, steps=steps, levels=levels, embed_dim=embed_dim, seed=seed)
    keys = None if keys is None else set(keys)
    rows, meta = {}, {}
    for (key, level), (s, v) in data.items():
        if keys is not None and key not in keys:
            continue
        tag = _tag_for(source, key, level)
        if tag is None:
            continue
        rows[tag] = (s, v)
        if source == "hjepa":
            meta[tag] = metadata.create_summary_metadata(metadata.KIND_METRIC)
        else:
            meta[tag] = scalar_metadata.create_summary_metadata("", "")
    first = []
    if source == "hjepa":
        manifest = manifest_for(levels, embed_dim, steps)
        value_pb = summary_pb2.Summary.Value(
            tag=metadata.MANIFEST_TAG, tensor=_float32_tensor(float(levels))
        )
        value_pb.metadata.CopyFrom(
            metadata.create_summary_metadata(metadata.KIND_MANIFEST, manifest=manifest.to_dict())
        )
        first.append(value_pb)
    elif source == "upstream":
        # An upstream tag the catalogue deliberately leaves unmapped.
        s = np.arange(0, steps, 100, dtype=np.int64)
        rows["train/context_std"] = (s, np.full(len(s), 0.05))
        meta["train/context_std"] = scalar_metadata.create_summary_metadata("", "")
    for tag, (s, v) in (extra_scalars or {}).items():
        rows[tag] = (np.asarray(s, dtype=np.int64), np.asarray(v, dtype=np.float64))
        meta[tag] = scalar_metadata.create_summary_metadata("", "")
    _write_events(run_dir, rows, meta, first)
    return run_dir


def write_unrelated_run(logdir: str, name: str = "not_hjepa", steps: int = 50) -> str:
    """A run of ordinary scalars the catalogue does not know (must not be listed)."""
    run_dir = os.path.join(logdir, name)
    os.makedirs(run_dir, exist_ok=True)
    writer = SummaryWriter(run_dir, plain_scalars=True, allow_unknown=True)
    try:
        for step in range(steps):
            writer.scalar_tag("accuracy/top1", step / steps, step)
    finally:
        writer.close()
    return run_dir


def write_logdir(logdir: str, runs=STANDARD_RUNS, *, steps: int = DEFAULT_STEPS) -> str:
    """Write every ``(name, kind, source)`` of ``runs`` into ``logdir``; returns logdir."""
    for seed, (name, kind, source) in enumerate(runs):
        write_run(logdir, name, kind, source=source, steps=steps, seed=seed)
    return logdir
