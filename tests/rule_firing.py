"""What makes every judged rule fire, built with the trainer's own metric code.

One case per (rule, non-healthy status) of the catalogue: the inputs are tensors
(features, gradients, masks, losses, probe features) passed through the trainer's
metric functions (``hjepa_trainer.metrics``, ``masking``, ``probe``, a tiny ``HJEPA``),
never a judged value written directly. ``tests/test_rule_firing.py`` diagnoses each
case and checks the light; the "What fires each rule" table of ``docs/metrics.md`` is
generated from the same cases::

    python -m tests.rule_firing docs/metrics.md
"""

import dataclasses
import sys
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F

from hjepa_trainer import metrics as M
from hjepa_trainer.health import MetricHistory
from hjepa_trainer.masking import MultiBlockMaskGenerator, mask_ratio_profile, step_generator
from hjepa_trainer.model import HJEPA
from hjepa_trainer.probe import knn_top1
from tensorboard_plugin_hjepa import catalog
from tensorboard_plugin_hjepa.catalog import markdown, schema
from tensorboard_plugin_hjepa.run_data import RunData
from tensorboard_plugin_hjepa.summary import RunManifest

D = 128  # embedding dimension of the constructed features
N = 512  # rows of the collapse statistics (4 * D)
TOTAL = 1000  # planned steps of every case's run


class Recorder(MetricHistory):
    """Stands where the trainer's event sink stands: keeps what the metric code writes."""

    def __init__(self):
        super().__init__(max_points=100_000)

    def run(self, *, levels=1, weights=None, **manifest) -> RunData:
        manifest.setdefault("embed_dim", D)
        manifest.setdefault("total_steps", TOTAL)
        manifest.setdefault("collapse_rows", N)
        return self.run_data(
            "case",
            RunManifest(num_levels=levels, hierarchy_weights=weights or [1.0] * levels, **manifest),
        )


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _basis(d, g):
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g))
    return q  # (D, D) orthonormal


def _point(noise, g, n=N, d=D):
    """Every row one direction plus relative ``noise``: raw cosine ~ 1 / (1 + noise^2)."""
    c = F.normalize(torch.randn(1, d, generator=g), dim=1)
    return c + noise * torch.randn(n, d, generator=g) / d**0.5


def _rank(k, g, n=N, d=D, stds=None):
    """Rows spanning k random directions (with these stds along them; 1 by default)."""
    scale = torch.ones(k) if stds is None else torch.tensor(stds)
    return (torch.randn(n, k, generator=g) * scale) @ _basis(d, g)[:k]


def _collapse_run(make, steps=range(900, 1000, 10), **manifest) -> RunData:
    rec = Recorder()
    for i, step in enumerate(steps):
        rec.add_records(M.collapse_records(make(_gen(i)), 0, max_rows=N), step)
    return rec.run(**manifest)


def _dead_dimension(scale):
    def make(g):
        f = torch.randn(N, D, generator=g)
        f[:, 0] *= scale  # one dimension nearly constant (std ~ scale / sqrt(D) after L2)
        return f

    return make


def _prediction_run(make_pair) -> RunData:
    rec = Recorder()
    for i, step in enumerate(range(900, 1000, 10)):
        pred, target = make_pair(_gen(i))
        rec.add_records(M.prediction_records(pred, target, 0), step)
    return rec.run()


def _prediction_history_run(healthy_pair, pathology_pair, *, switch=500) -> RunData:
    """prediction_records of healthy pairs, then from ``switch`` on of the pathology's."""
    rec = Recorder()
    for i, step in enumerate(range(0, 1000, 20)):
        make = healthy_pair if step < switch else pathology_pair
        pred, target = make(_gen(i))
        rec.add_records(M.prediction_records(pred, target, 0), step)
    return rec.run(warmup_steps=50)


def _mixed_difficulty(g):
    """Predictions of their targets with noise from none to much: some easy, some hard."""
    target = torch.randn(256, D, generator=g)
    scale = torch.linspace(0.0, 2.0, 256).unsqueeze(1)
    return target + scale * torch.randn(256, D, generator=g), target


def _all_equally_easy(g):
    """Every prediction its target scaled: all positions equally easy."""
    target = torch.randn(256, D, generator=g)
    return 2.0 * target + 1e-4 * torch.randn(target.shape, generator=g), target


def _loss_run(per_step_losses, weights, *, window=100, steps=200) -> RunData:
    rec = Recorder()
    logger = M.HJepaMetrics(rec, hierarchy_weights=weights, embed_dim=D, window=window)
    for step in range(steps):
        logger.log_losses(step, per_step_losses(step))
    return rec.run(levels=len(weights), weights=list(weights), total_steps=steps)


def _modules(seed=0):
    g = _gen(seed)
    ctx = torch.nn.Linear(16, 16)
    tgt = torch.nn.Linear(16, 16)
    with torch.no_grad():
        for p in list(ctx.parameters()) + list(tgt.parameters()):
            p.copy_(torch.randn(p.shape, generator=g))
    return ctx, tgt


def _ema_run(momentum=0.996, target_scale=1.0, drift=0.0, *, from_step=0) -> RunData:
    """ema_records every 50 steps; ``momentum`` from ``from_step`` on (0.996 before)."""
    rec = Recorder()
    ctx, tgt = _modules()
    for i, step in enumerate(range(0, 1000, 50)):
        with torch.no_grad():
            for c, t in zip(ctx.parameters(), tgt.parameters()):
                t.copy_(target_scale * c + drift * (i + 1) ** 2 * torch.ones_like(c))
        m = momentum if step >= from_step else 0.996
        rec.add_records(M.ema_records(ctx, tgt, momentum=m, momentum_target=1.0), step)
    return rec.run()


def _grad_modules(seed, *, target_grad=False, nan=False):
    ctx, tgt = _modules(seed)
    g = _gen(seed + 1)
    for p in ctx.parameters():
        p.grad = torch.randn(p.shape, generator=g)
    if nan:
        next(ctx.parameters()).grad[0, 0] = float("nan")
    if target_grad:
        for p in tgt.parameters():
            p.grad = torch.randn(p.shape, generator=g)
    return ctx, tgt


def _gradient_run(**kwargs) -> RunData:
    rec = Recorder()
    for i, step in enumerate(range(0, 1000, 100)):
        ctx, tgt = _grad_modules(i, **kwargs)
        rec.add_records(
            M.gradient_flow_records(
                context_encoder=ctx,
                predictor=ctx,
                target_encoder=tgt,
                global_norm=M.global_grad_norm(list(ctx.parameters())),
            ),
            step,
        )
    return rec.run()


def _no_stop_gradient_run() -> RunData:
    """A tiny H-JEPA without stop-gradient: forward, backward, the gradient at its targets."""
    torch.manual_seed(0)
    model = HJEPA(
        img_size=16,
        patch_size=4,
        embed_dim=32,
        depth=1,
        num_heads=2,
        predictor_dim=16,
        predictor_depth=1,
        predictor_heads=2,
        num_levels=1,
        stop_gradient=False,
    )
    masks = MultiBlockMaskGenerator(grid=4, num_targets=2, target_scale=(0.15, 0.2), min_context=2)
    rec = Recorder()
    for i, step in enumerate(range(0, 1000, 100)):
        m = masks(4, step_generator(0, i))
        out = model(torch.randn(4, 3, 16, 16, generator=_gen(i)), m.context, m.target)
        out.target_full.retain_grad()
        out.loss.backward()
        rec.add_records(
            M.gradient_flow_records(
                context_encoder=model.context_encoder,
                predictor=model.predictor,
                target_encoder=model.target_encoder,
                global_norm=M.global_grad_norm(model.parameters()),
                target_features_grad=out.target_full.grad,
            ),
            step,
        )
        model.zero_grad(set_to_none=True)
    return rec.run()


def _clipping_run(fraction) -> RunData:
    rec = Recorder()
    logger = M.HJepaMetrics(rec, hierarchy_weights=[1.0], embed_dim=D, window=50)
    for step in range(200):
        clipped = (step * 37) % 100 < 100 * fraction  # spread over the run
        logger.log_clipping(step, 2.0 if clipped else 0.5, 1.0 if clipped else 0.5)
    return rec.run(total_steps=200)


def _val_run(ratio) -> RunData:
    """Held-out losses equal to the training loss until mid-run, then ``ratio`` times it."""
    rec = Recorder()
    logger = M.HJepaMetrics(rec, hierarchy_weights=[1.0], embed_dim=D, window=20)
    for step in range(1000):
        logger.log_losses(step, [0.4])
        if step % 50 == 49:
            logger.log_eval(step, val_loss=0.4 * (ratio if step >= 500 else 1.0))
    return rec.run()


def _timing_run(forward_ms, backward_ms) -> RunData:
    rec = Recorder()
    for step in range(0, 1000, 100):
        rec.add_records(
            M.performance_records(
                forward_ms=forward_ms,
                backward_ms=backward_ms,
                samples_per_second=50.0,
                device=torch.device("cpu"),
            ),
            step,
        )
    return rec.run()


def _gpu_memory_run(allocated_gb) -> RunData:
    """performance_records on a CUDA device whose allocator reports ``allocated_gb(step)``.

    There is no GPU here: the allocator's two counters are patched for the call, the
    rest is the trainer's own code path for a CUDA device.
    """
    rec = Recorder()
    saved = torch.cuda.memory_allocated, torch.cuda.memory_reserved
    step = 0
    torch.cuda.memory_allocated = lambda device=None: allocated_gb(step) * 1e9
    torch.cuda.memory_reserved = lambda device=None: (allocated_gb(step) + 2) * 1e9
    try:
        for step in range(0, 1000, 50):
            rec.add_records(
                M.performance_records(
                    forward_ms=30.0,
                    backward_ms=60.0,
                    samples_per_second=900.0,
                    device=torch.device("cuda", 0),
                ),
                step,
            )
    finally:
        torch.cuda.memory_allocated, torch.cuda.memory_reserved = saved
    return rec.run(gpu_memory_total_gb=80.0)


def _mask_run(expected_generator, logged_generator, batch) -> RunData:
    rec = Recorder()
    profile = mask_ratio_profile(expected_generator, batch=batch, batches=50)
    n = logged_generator.grid**2
    for i, step in enumerate(range(0, 1000, 20)):
        m = logged_generator(batch, step_generator(1, i))
        rec.add_records(
            M.mask_records(
                num_context=m.context.shape[1], num_target=m.target.shape[1], num_patches=n
            ),
            step,
        )
    return rec.run(mask_ratio_expected=profile.median, mask_ratio_range=[profile.low, profile.high])


def _near_point(spread):
    """Rows ``spread`` (in units of a row's own scale) around one fixed point."""
    centre = torch.randn(D, generator=_gen(99))

    def make(g):
        return centre + spread * torch.randn(N, D, generator=g)

    return make


def _history_run(healthy, pathology, *, switch=500) -> RunData:
    """Collapse statistics of healthy features, then from ``switch`` on of the pathology."""
    rec = Recorder()
    for i, step in enumerate(range(0, 1000, 20)):
        make = healthy if step < switch else pathology
        rec.add_records(M.collapse_records(make(_gen(i)), 0, max_rows=N), step)
    return rec.run(warmup_steps=100)


_CENTRES = F.normalize(torch.randn(10, 32, generator=_gen(100)), dim=1)  # 10 classes, d=32


def _labelled(noise, g, *, per_class=40):
    """Features of the 10 class centres with ``noise`` around them (None: every row the
    same vector), and their labels."""
    labels = torch.arange(_CENTRES.shape[0]).repeat_interleave(per_class)
    if noise is None:
        return torch.full((len(labels), _CENTRES.shape[1]), _CENTRES.shape[1] ** -0.5), labels
    x = _CENTRES[labels] + noise * torch.randn(len(labels), _CENTRES.shape[1], generator=g)
    return F.normalize(x, dim=1), labels


def _probe(noise, seed):
    """kNN top-1 of the trainer's probe (bank vs held-out queries) on such features."""
    bank, bank_y = _labelled(noise, _gen(2 * seed))
    queries, query_y = _labelled(noise, _gen(2 * seed + 1))
    return knn_top1(bank, bank_y, queries, query_y, k=20, temperature=0.07, num_classes=10)


def _probe_run(random_init_noise, noises, *, every=150) -> RunData:
    """The probe at step 0 (random init) and at evaluations from step 300 on, every
    ``every`` steps, written by the trainer's metrics logger."""
    rec = Recorder()
    logger = M.HJepaMetrics(rec, hierarchy_weights=[1.0], embed_dim=D)
    _, labels = _labelled(0.1, _gen(0))
    logger.log_probe_setup(
        0,
        num_classes=10,
        num_queries=len(labels),
        knn_top1_random_init=_probe(random_init_noise, 0),
    )
    for i, noise in enumerate(noises):
        logger.log_eval(300 + every * i, knn_top1=_probe(noise, i + 1))
    return rec.run(warmup_steps=100)


@dataclasses.dataclass(frozen=True)
class Case:
    key: str  # a metric or derived key with a rule
    status: str  # the band status the case must turn the light to
    fires_it: str  # what the input is, in words (the docs/metrics.md table)
    build: Callable[[], RunData]
    level: Optional[int] = None

    @property
    def test_id(self) -> str:
        return "%s-%s" % (self.key, self.status)


_DEMO_MASKS = MultiBlockMaskGenerator(grid=8, num_targets=4, target_scale=(0.25, 0.3))
_LARGE_MASKS = MultiBlockMaskGenerator(
    grid=8, num_targets=4, target_scale=(0.6, 0.7), min_context=1
)
_HUGE_MASKS = MultiBlockMaskGenerator(
    grid=8, num_targets=5, target_scale=(0.65, 0.75), context_scale=(1.0, 1.0), min_context=1
)

CASES = (
    Case(
        "loss.total",
        schema.CRITICAL,
        "loss_records with a NaN level loss",
        lambda: _loss_run(lambda s: [float("nan") if s == 150 else 0.5, 0.3], [1.0, 0.5]),
    ),
    Case(
        "ema.momentum_current",
        schema.CRITICAL,
        "ema_records with momentum 0.5",
        lambda: _ema_run(momentum=0.5),
    ),
    Case(
        "derived.ema_frozen_at",
        schema.WARNING,
        "ema_records with momentum 1.0 from mid-run (the target encoder frozen)",
        lambda: _ema_run(momentum=1.0, from_step=500),
    ),
    Case(
        "ema.avg_parameter_divergence",
        schema.CRITICAL,
        "ema_records of a target drifting away from its context encoder, growing 400x over the run",
        lambda: _ema_run(drift=0.5),
    ),
    Case(
        "ema.weight_magnitude_ratio",
        schema.CRITICAL,
        "ema_records of a target whose weights are 1.5x the context encoder's",
        lambda: _ema_run(target_scale=1.5),
    ),
    Case(
        "masking.mask_ratio",
        schema.CRITICAL,
        "mask_records of the trainer's mask generator with 5 blocks of 65-75% on an 8x8 grid, "
        "batch 2 (~0.97 masked)",
        lambda: _mask_run(_HUGE_MASKS, _HUGE_MASKS, 2),
    ),
    Case(
        "prediction.cosine_sim_mean",
        schema.WARNING,
        "prediction_records of predictions unrelated to their targets, late in training",
        lambda: _prediction_run(
            lambda g: (torch.randn(256, D, generator=g), torch.randn(256, D, generator=g))
        ),
        level=0,
    ),
    Case(
        "prediction.cosine_sim_std",
        schema.WARNING,
        "prediction_records of predictions some easy, some hard, then from mid-run every "
        "prediction its target scaled (all equally easy)",
        lambda: _prediction_history_run(_mixed_difficulty, _all_equally_easy),
        level=0,
    ),
    Case(
        "collapse.mean_std_per_dim",
        schema.COLLAPSE,
        "collapse_records of one point plus 5% noise",
        lambda: _collapse_run(lambda g: _point(0.05, g)),
        level=0,
    ),
    Case(
        "collapse.mean_std_per_dim",
        schema.WARNING,
        "collapse_records of one point plus 15% noise",
        lambda: _collapse_run(lambda g: _point(0.15, g)),
        level=0,
    ),
    Case(
        "collapse.min_std_per_dim",
        schema.COLLAPSE,
        "collapse_records of isotropic features with one dimension scaled by 0.001",
        lambda: _collapse_run(_dead_dimension(0.001)),
        level=0,
    ),
    Case(
        "collapse.min_std_per_dim",
        schema.WARNING,
        "collapse_records of isotropic features with one dimension scaled by 0.018",
        lambda: _collapse_run(_dead_dimension(0.018)),
        level=0,
    ),
    Case(
        "collapse.effective_rank",
        schema.COLLAPSE,
        "collapse_records of features along one random direction",
        lambda: _collapse_run(lambda g: _rank(1, g)),
        level=0,
    ),
    Case(
        "collapse.effective_rank",
        schema.WARNING,
        "collapse_records of features along 3 random directions with stds 1, 0.2, 0.05 "
        "(effective rank ~2.4)",
        lambda: _collapse_run(lambda g: _rank(3, g, stds=[1.0, 0.2, 0.05])),
        level=0,
    ),
    Case(
        "collapse.mean_similarity",
        schema.COLLAPSE,
        "collapse_records of one point plus 10% noise (raw cosine 0.99)",
        lambda: _collapse_run(lambda g: _point(0.1, g)),
        level=0,
    ),
    Case(
        "collapse.mean_similarity",
        schema.WARNING,
        "collapse_records of a shared direction plus 18% noise (raw cosine 0.97)",
        lambda: _collapse_run(lambda g: _point(0.18, g)),
        level=0,
    ),
    Case(
        "gradient_flow.global_norm",
        schema.CRITICAL,
        "gradient_flow_records of gradients holding a NaN",
        lambda: _gradient_run(nan=True),
    ),
    Case(
        "gradient_flow.target_encoder_mean",
        schema.CRITICAL,
        "gradient_flow_records of a target encoder whose parameters have gradients",
        lambda: _gradient_run(target_grad=True),
    ),
    Case(
        "gradient_flow.target_features_grad_norm",
        schema.CRITICAL,
        "a tiny HJEPA with stop_gradient=False: forward, backward, the gradient at its targets",
        _no_stop_gradient_run,
    ),
    Case(
        "gradient.clipping_percentage",
        schema.CRITICAL,
        "HJepaMetrics.log_clipping with the norm above the threshold on 60% of steps",
        lambda: _clipping_run(0.6),
    ),
    Case(
        "gradient.clipping_percentage",
        schema.WARNING,
        "HJepaMetrics.log_clipping with the norm above the threshold on 20% of steps",
        lambda: _clipping_run(0.2),
    ),
    Case(
        "stability.loss_smoothness",
        schema.WARNING,
        "HJepaMetrics.log_losses of a loss alternating 0.5 and 3.5",
        lambda: _loss_run(lambda s: [0.5 if s % 2 else 3.5], [1.0]),
    ),
    Case(
        "stability.loss_spike_ratio",
        schema.CRITICAL,
        "HJepaMetrics.log_losses of a loss of 0.2 with one step at 3.0",
        lambda: _loss_run(lambda s: [3.0 if s == 150 else 0.2], [1.0]),
    ),
    Case(
        "stability.loss_spike_ratio",
        schema.WARNING,
        "HJepaMetrics.log_losses of a loss of 0.2 with one step at 1.0",
        lambda: _loss_run(lambda s: [1.0 if s == 150 else 0.2], [1.0]),
    ),
    Case(
        "stability.val_train_loss_ratio",
        schema.WARNING,
        "HJepaMetrics.log_eval with a held-out loss equal to the training loss, then from "
        "mid-run 1.5x it",
        lambda: _val_run(1.5),
    ),
    Case(
        "performance.forward_backward_ratio",
        schema.WARNING,
        "performance_records with a backward 10x the forward (and, in its test, 10x shorter)",
        lambda: _timing_run(10.0, 100.0),
    ),
    Case(
        "performance.gpu_memory_allocated_gb",
        schema.WARNING,
        "performance_records on a CUDA device whose allocated memory grows from 12 to 31 GB "
        "over the run (counters patched: no GPU here)",
        lambda: _gpu_memory_run(lambda step: 12.0 + 0.02 * step),
    ),
    Case(
        "derived.contribution_fall",
        schema.CRITICAL,
        "loss_records of 3 equally weighted levels where level 2's loss falls to 0.5% of the "
        "others' at mid-run",
        lambda: _loss_run(lambda s: [1.0, 1.0, 1.0 if s < 100 else 0.005], [1.0, 1.0, 1.0]),
    ),
    Case(
        "derived.contribution_fall",
        schema.WARNING,
        "loss_records of 3 equally weighted levels where level 2's loss falls to 15% of the "
        "others' at mid-run",
        lambda: _loss_run(lambda s: [1.0, 1.0, 1.0 if s < 100 else 0.15], [1.0, 1.0, 1.0]),
    ),
    Case(
        "derived.rank_fall_from_peak",
        schema.COLLAPSE,
        "collapse_records of isotropic features, then from mid-run of features spanning 5 "
        "directions",
        lambda: _history_run(lambda g: torch.randn(N, D, generator=g), lambda g: _rank(5, g)),
        level=0,
    ),
    Case(
        "derived.rank_fall_from_peak",
        schema.WARNING,
        "collapse_records of isotropic features, then from mid-run of features spanning 20 "
        "directions",
        lambda: _history_run(lambda g: torch.randn(N, D, generator=g), lambda g: _rank(20, g)),
        level=0,
    ),
    Case(
        "derived.std_fall_from_peak",
        schema.COLLAPSE,
        "collapse_records of isotropic features, then from mid-run of features 0.05 around "
        "one point (std a twentieth of its peak)",
        lambda: _history_run(lambda g: torch.randn(N, D, generator=g), _near_point(0.05)),
        level=0,
    ),
    Case(
        "derived.std_fall_from_peak",
        schema.WARNING,
        "collapse_records of isotropic features, then from mid-run of features 0.25 around "
        "one point (std a quarter of its peak)",
        lambda: _history_run(lambda g: torch.randn(N, D, generator=g), _near_point(0.25)),
        level=0,
    ),
    Case(
        "derived.rank_fast_fall",
        schema.COLLAPSE,
        "collapse_records of isotropic features, then, just after the warmup (10% of the run), "
        "of features spanning 5 directions",
        lambda: _history_run(
            lambda g: torch.randn(N, D, generator=g), lambda g: _rank(5, g), switch=160
        ),
        level=0,
    ),
    Case(
        "derived.rank_fast_fall",
        schema.WARNING,
        "collapse_records of isotropic features, then, just after the warmup, of features "
        "spanning 30 directions",
        lambda: _history_run(
            lambda g: torch.randn(N, D, generator=g), lambda g: _rank(30, g), switch=160
        ),
        level=0,
    ),
    Case(
        "derived.knn_vs_random_init",
        schema.WARNING,
        "the trainer's kNN probe: random-init features with clear classes, trained features "
        "noisier",
        lambda: _probe_run(0.3, [1.2, 1.5]),
    ),
    Case(
        "derived.knn_gain",
        schema.WARNING,
        "the trainer's kNN probe on features as noisy as the random-init encoder's, up to the "
        "end of training",
        lambda: _probe_run(1.2, [1.2] * 5, every=175),
    ),
    Case(
        "derived.knn_vs_chance",
        schema.COLLAPSE,
        "the trainer's kNN probe on constant features (every row the same vector)",
        lambda: _probe_run(0.8, [0.8, None]),
    ),
    Case(
        "derived.knn_fall",
        schema.WARNING,
        "the trainer's kNN probe on features that get noisier at each of the last 3 evaluations",
        lambda: _probe_run(1.5, [0.3, 0.6, 0.9, 1.2]),
    ),
    Case(
        "derived.knn_fall_from_peak",
        schema.WARNING,
        "the trainer's kNN probe on clean class clusters at two evaluations, then on features "
        "that are all the same vector (a probe at chance) at the next two",
        lambda: _probe_run(1.5, [0.1, 0.1, None, None]),
    ),
    Case(
        "derived.mask_ratio_change",
        schema.WARNING,
        "the manifest's profile of the demo's masking (4 blocks of 25-30%), then masks of "
        "4 blocks of 60-70% logged",
        lambda: _mask_run(_DEMO_MASKS, _LARGE_MASKS, 32),
    ),
)


def rules_with_bands():
    """(key, status) of every band of every judged rule (metrics and derived quantities)."""
    out = []
    for record in list(catalog.metrics()) + list(catalog.derived()):
        rule = record.rule
        if rule is None or getattr(record, "kind", "scalar") != "scalar":
            continue
        for band in rule.bands:
            if (record.key, band.status) not in out:
                out.append((record.key, band.status))
    return out


def table() -> str:
    """The docs/metrics.md table: rule -> what fires it -> the test."""
    rows = [
        "| rule | status | what fires it (through the trainer's metric code) | test |",
        "|---|---|---|---|",
    ]
    for case in CASES:
        rows.append(
            "| `%s` | %s | %s | `tests/test_rule_firing.py::test_rule_fires[%s]` |"
            % (case.key, case.status, case.fires_it, case.test_id)
        )
    return "\n".join(rows)


def replace_block(text: str) -> str:
    """The text of docs/metrics.md with its rule-firing block set to ``table()``."""
    return markdown.replace_block(text, "rule-firing", table())


def main(argv=None):
    return markdown.rewrite(argv, replace_block, "python -m tests.rule_firing")


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
