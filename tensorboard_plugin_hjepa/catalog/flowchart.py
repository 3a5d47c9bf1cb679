"""Reference §11 (diagnostic flowchart) and §16 (common patterns) as data.

Each check is metric + statistic + comparison + bound; the diagnosis engine evaluates
them and reports every value, so the user sees why a branch fired or not. A check on a
judged quantity names that quantity's band (``band_check``) instead of retyping its
bound: it fires when the light is in that band or a worse one, so a recalibration is
one edit and a check cannot disagree with the light beside it.
"""

from typing import Optional, Union

from . import derived_metrics as derived_records
from .metrics import GRAD_NORM_HIGH, METRICS, TYPICAL_MASK_RATIO
from .schema import (
    COLLAPSE,
    CRITICAL,
    WARNING,
    Branch,
    Check,
    Correction,
    Pattern,
    VerdictRule,
)

_RULES = {m.key: m.rule for m in METRICS if m.rule is not None}
_RULES.update({d.key: d.rule for d in derived_records.DERIVED if d.rule is not None})


def band_check(
    check_id: str,
    key: str,
    status: str,
    text: str,
    level: Union[str, int, None] = "any",
    action: Optional[str] = None,
) -> Check:
    """A check that fires when ``key``'s light is in its ``status`` band or a worse one.

    Raises:
      KeyError: ``key`` has no rule, or its rule no band of that status.
    """
    rule: VerdictRule = _RULES[key]
    band = next((b for b in rule.bands if b.status == status), None)
    if band is None:
        raise KeyError("%s has no %s band" % (key, status))
    return Check(
        check_id,
        key,
        band.op,
        band.bound,
        text,
        statistic=rule.statistic,
        level=level,
        normalise=rule.normalise,
        band=status,
        action=rule.action if action is None else action,
    )


# Bounds two checks share, named once.
LOSS_RISE = 1.5  # recent loss / the minimum of its running median
LOSS_SUDDEN_DROP = 0.5  # the loss fell by half within two windows of 5% of the run
THROUGHPUT_FALL = 2.0  # throughput at its peak after early training / recent
NOISE_GROWTH = 2.0  # the loss's recent noise / its noise after early training

# Checks shared by branches and patterns.
_LOSS_NOT_DECREASING = Check(
    "loss_not_decreasing",
    "loss.total",
    ">",
    -0.05,
    "total loss fell less than 5% from its first window",
    statistic="relative_change",
    level=None,
)
_LR_TOO_LOW = Check(
    "lr_too_low",
    "learning_rate.base_lr",
    "<=",
    1e-5,
    "learning_rate/base_lr should be > 1e-5",
    level=None,
    action="Raise the learning rate: it is at or below 1e-5",
)
_GRAD_ZERO = Check(
    "grad_zero",
    "gradient_flow.global_norm",
    "<",
    1e-8,
    "gradient_flow/global_norm should be non-zero",
    level=None,
    action="Check that gradients reach the parameters: frozen or detached modules?",
)
_SMOOTHNESS_HIGH = band_check(
    "smoothness_high",
    "stability.loss_smoothness",
    WARNING,
    "stability/loss_smoothness should be < 1.0",
    level=None,
)
_STD_COLLAPSED = band_check(
    "std_collapsed",
    "collapse.mean_std_per_dim",
    COLLAPSE,
    "mean_std collapsed (judged as std * sqrt(D), the catalogue's "
    "calibrated collapse bound; the reference: 0.01 at D=768)",
)
_RANK_COLLAPSED = band_check(
    "rank_collapsed",
    "collapse.effective_rank",
    COLLAPSE,
    "effective rank collapsed (judged as erank / min(N, D), the "
    "catalogue's calibrated collapse bound; the reference: 200 of 768)",
)
_SIMILARITY_COLLAPSED = band_check(
    "similarity_collapsed",
    "collapse.mean_similarity",
    COLLAPSE,
    "features point the same way (mean pairwise cosine)",
)
_RANK_FELL_FAR = band_check(
    "rank_fell_far",
    derived_records.RANK_FALL_FROM_PEAK.key,
    COLLAPSE,
    "effective rank fell to a tenth of its peak after early training",
)
_RANK_FELL_FAST = band_check(
    "rank_fell_fast",
    derived_records.RANK_FAST_FALL.key,
    COLLAPSE,
    "effective rank fell 5x within two windows of 5% of the run",
)
_PROBE_AT_CHANCE = band_check(
    "probe_at_chance",
    derived_records.KNN_VS_CHANCE.key,
    COLLAPSE,
    "the kNN probe is at chance",
    level=None,
)
_COSINE_LOW = band_check(
    "cosine_low",
    "prediction.cosine_sim_mean",
    WARNING,
    "prediction/levelX_cosine_sim_mean low (< 0.5 once training is under "
    "way; the bound follows progress)",
)
_CLIPPING_HIGH = band_check(
    "clipping_high",
    "gradient.clipping_percentage",
    CRITICAL,
    "gradient/clipping_percentage > 50%",
    level=None,
)
_DIVERGENCE_LARGE = band_check(
    "ema_divergence_large",
    "ema.avg_parameter_divergence",
    CRITICAL,
    "ema/parameter_divergence more than 10x its first value",
    level=None,
)
_TARGET_GETS_GRADIENT = band_check(
    "target_gets_gradient",
    "gradient_flow.target_encoder_mean",
    CRITICAL,
    "gradient_flow/target_encoder_mean must be 0 (stop-gradient)",
    level=None,
)
_TARGETS_GET_GRADIENT = band_check(
    "targets_get_gradient",
    "gradient_flow.target_features_grad_norm",
    CRITICAL,
    "no gradient may reach the target features (stop-gradient)",
    level=None,
)
_GRAD_EXPLODING = Check(
    "grad_exploding",
    "gradient_flow.global_norm",
    ">",
    GRAD_NORM_HIGH,
    "gradient_flow/global_norm > 10 (exploding?)",
    level=None,
    action="Lower the learning rate: the gradient norm explodes",
)
_GRAD_SPIKE = Check(
    "grad_spike",
    "gradient_flow.global_norm",
    ">",
    6.0,
    "a gradient-norm spike: z-score > 6 against the preceding points",
    statistic="max_zscore",
    level=None,
    action="Lower the learning rate or lengthen the warmup: the gradient norm spikes",
)
_GRAD_NON_FINITE = band_check(
    "grad_non_finite",
    "gradient_flow.global_norm",
    CRITICAL,
    "gradient norm is NaN or infinite",
    level=None,
)
_MASK_AGGRESSIVE = Check(
    "mask_aggressive",
    "masking.mask_ratio",
    ">",
    TYPICAL_MASK_RATIO[1],
    "masking/mask_ratio above the typical 0.7 (too aggressive?)",
    level=None,
    action="Mask less: smaller target blocks (masking.mask_scale)",
)
_RANK_FALLING = band_check(
    "rank_falling",
    derived_records.RANK_FALL_FROM_PEAK.key,
    WARNING,
    "effective rank fell from its peak after early training (its warning band; a fall from "
    "the random-init value is normal)",
)
_THROUGHPUT_LOW = Check(
    "throughput_low",
    "performance.samples_per_second",
    "<",
    100.0,
    "performance/samples_per_second < 100",
    level=None,
)

BRANCHES = (
    Branch(
        id="loss_not_decreasing",
        question="Loss not decreasing?",
        triggers=(_LOSS_NOT_DECREASING,),
        checks=(_LR_TOO_LOW, _GRAD_ZERO, _SMOOTHNESS_HIGH),
        actions=("Increase the learning rate", "Check data loading"),
    ),
    Branch(
        id="collapse",
        question="Collapse detected? (mean_std < 0.01)",
        triggers=(
            _STD_COLLAPSED,
            _RANK_COLLAPSED,
            _SIMILARITY_COLLAPSED,
            _RANK_FELL_FAR,
            _RANK_FELL_FAST,
            _PROBE_AT_CHANCE,
        ),
        checks=(
            _TARGETS_GET_GRADIENT,
            _COSINE_LOW,
            _CLIPPING_HIGH,
            _DIVERGENCE_LARGE,
            _TARGET_GETS_GRADIENT,
        ),
        actions=(
            "Reduce the learning rate",
            "Increase the EMA momentum",
            "Use stronger augmentation",
            "Make sure no gradient reaches the targets (stop-gradient)",
        ),
        correction=Correction(
            reference_says="collapse is mean_std < 0.01",
            rule="the branch also fires on an effective-rank, similarity, rank-fall or "
            "probe-at-chance collapse light; the stop-gradient check reads the gradient "
            "at the target features",
            why="the reference asks to watch all three indicators; any of them in collapse is "
            "the symptom this branch explains, and the std bound alone is "
            "dimension-dependent. The target encoder's own parameters never get a "
            "gradient, even when the targets do, so target_encoder_mean alone cannot show "
            "a missing stop-gradient",
        ),
    ),
    Branch(
        id="poor_prediction",
        question="Poor prediction quality?",
        triggers=(_COSINE_LOW,),
        checks=(
            band_check(
                "contribution_fell",
                derived_records.CONTRIBUTION_FALL.key,
                WARNING,
                "loss/contribution_hX imbalanced? (a level's share fell under a quarter of "
                "its share after early training)",
                level=None,
            ),
            band_check(
                "feat_std_low",
                "collapse.mean_std_per_dim",
                WARNING,
                "hierarchy/levelX_feat_std low variance? (read as the collapse std "
                "light: std * sqrt(D) across samples)",
            ),
            _MASK_AGGRESSIVE,
        ),
        actions=("Adjust hierarchy_weights", "Check the masking config"),
    ),
    Branch(
        id="gradient_issues",
        question="Gradient issues?",
        triggers=(_CLIPPING_HIGH, _GRAD_EXPLODING, _GRAD_SPIKE, _GRAD_NON_FINITE),
        checks=(
            _CLIPPING_HIGH,
            _GRAD_EXPLODING,
            Check(
                "predictor_dominates",
                "gradient_flow.predictor_max",
                ">",
                10.0,
                "gradient_flow/predictor_max much higher than others? (> 10x the context "
                "encoder's)",
                divide_by="gradient_flow.context_encoder_max",
                level=None,
                action="Check the predictor's layer scales and learning rate",
            ),
        ),
        actions=(
            "Reduce the learning rate",
            "Increase the clip_grad threshold",
            "Check layer scales",
        ),
    ),
    Branch(
        id="slow_training",
        question="Slow training?",
        applies_when=(
            Check(
                "on_gpu",
                "performance.gpu_memory_reserved_gb",
                ">",
                0,
                "the run logged GPU memory (ran on a GPU)",
                statistic="count",
                level=None,
            ),
        ),
        triggers=(
            Check(
                "throughput_fell",
                "performance.samples_per_second",
                ">=",
                THROUGHPUT_FALL,
                "performance/samples_per_second fell to half its peak after early training or less",
                statistic="fall_from_peak",
                level=None,
                action="Check data loading and the device: the run got slower than it was",
            ),
        ),
        checks=(
            Check(
                "forward_dominates",
                "performance.forward_time_ms",
                ">",
                0.6,
                "performance/forward_time_ms most of the step? (GPU limited?)",
                divide_by="performance.total_time_ms",
                level=None,
                action="Profile the forward pass: it takes most of the step",
            ),
            Check(
                "memory_near_capacity",
                derived_records.GPU_MEMORY_FRACTION.key,
                ">",
                0.9,
                "performance/gpu_memory_reserved_gb near capacity? (> 90%)",
                level=None,
                action="Reduce the batch size: GPU memory is near capacity",
            ),
            _THROUGHPUT_LOW,
        ),
        actions=("Reduce the batch size", "Profile the code", "Check data loading"),
        correction=Correction(
            reference_says="samples_per_second < 100 means slow training",
            rule="the branch applies only to runs on a GPU and fires when the throughput fell "
            "to half its own peak after early training; under 100 samples/s is reported as "
            "a check",
            why="the reference's throughput figures are for ViT-B on an A100: on a CPU every "
            "run is below 100 samples/s, and so is a correctly configured ViT-L on one GPU "
            "(~60 samples/s). What a user can act on is a run slower than it was (a data "
            "loader stall, a throttled or shared device), which the run's own history shows",
        ),
    ),
)

PATTERNS = (
    Pattern(
        id="loss_stuck",
        name="Loss stuck high (not decreasing)",
        likely_cause="Learning rate too low, or a data issue",
        fix="Increase the LR by 2x or check data loading",
        symptoms=(
            _LOSS_NOT_DECREASING,
            Check(
                "loss_not_rising",
                "loss.total",
                "<=",
                LOSS_RISE,
                "and not rising: recent loss within 50% of its minimum (a rising loss "
                "is the divergence pattern)",
                statistic="rise_from_min",
                level=None,
            ),
        ),
        evidence=(_LR_TOO_LOW, _GRAD_ZERO),
    ),
    Pattern(
        id="divergence",
        name="Loss decreases then increases (divergence)",
        likely_cause="Learning rate too high, or EMA momentum too low",
        fix="Reduce the LR, increase the EMA momentum",
        symptoms=(
            Check(
                "loss_rises",
                "loss.total",
                ">",
                LOSS_RISE,
                "recent loss more than 50% above its minimum",
                statistic="rise_from_min",
                level=None,
                action="Lower the learning rate: the loss rose 50% above its minimum",
            ),
        ),
        evidence=(
            _CLIPPING_HIGH,
            _GRAD_SPIKE,
            _GRAD_NON_FINITE,
            _GRAD_EXPLODING,
            Check(
                "ema_low",
                "ema.momentum_current",
                "<",
                0.99,
                "ema/momentum below 0.99",
                level=None,
                action="Raise the EMA momentum (I-JEPA starts it at 0.996)",
            ),
            _RANK_FALLING,
        ),
        min_evidence=1,
        correction=Correction(
            reference_says="loss decreases then increases = divergence",
            rule="a rise of more than 50% above the minimum counts, and only with gradient, "
            "clipping, EMA or rank evidence; the rank evidence is a fall from its peak after "
            "early training",
            why="JEPA losses are a proxy: a healthy curve often drops, rises while the target "
            "encoder sharpens, then falls slowly. The minimum of a 5-point running median "
            "sits below the typical level of a noisy curve (mask sizes differ per batch): "
            "the healthy 1500-step tiny demo, flat at its end, reads 1.32 with its rank "
            "down 70% from random init, while a far too high LR reads 1.74. A rank below its "
            "random-init value is no evidence: it fired in 8 of 8 healthy runs",
        ),
    ),
    Pattern(
        id="collapse",
        name="Collapse to a low-rank solution",
        likely_cause="The model collapsed to a low-rank (or constant) solution",
        fix="Restart with better augmentation or different masking",
        symptoms=(),
        any_symptoms=(
            _STD_COLLAPSED,
            _RANK_COLLAPSED,
            _SIMILARITY_COLLAPSED,
            _RANK_FELL_FAR,
            _RANK_FELL_FAST,
        ),
        evidence=(
            Check(
                "loss_fast_drop",
                "loss.total",
                "<",
                -0.5,
                "loss fell by more than half (a fast drop with falling rank is collapse)",
                statistic="relative_change",
                level=None,
            ),
            _RANK_FALLING,
            _TARGETS_GET_GRADIENT,
            _TARGET_GETS_GRADIENT,
        ),
    ),
    Pattern(
        id="partial_collapse",
        name="Sudden loss drop with a falling rank (partial collapse)",
        likely_cause="The model found a shortcut: the loss drops because the representation "
        "lost directions, not because predictions got better",
        fix="Reduce the LR, increase the EMA momentum, or use stronger augmentation; check "
        "the probe (eval/knn_top1)",
        symptoms=(
            Check(
                "loss_sudden_drop",
                "loss.total",
                ">",
                LOSS_SUDDEN_DROP,
                "the loss fell by more than half within two windows (5% of the run "
                "each) after early training",
                statistic="sudden_drop",
                level=None,
            ),
            band_check(
                "rank_fell",
                derived_records.RANK_FALL_FROM_PEAK.key,
                WARNING,
                "effective rank fell to 40% of its peak after early training (its warning band)",
            ),
        ),
        evidence=(
            _PROBE_AT_CHANCE,
            band_check(
                "probe_below_random_init",
                derived_records.KNN_VS_RANDOM_INIT.key,
                WARNING,
                "the probe is below the random-init encoder's",
                level=None,
            ),
        ),
        correction=Correction(
            reference_says="a collapse is the collapse metrics at their alert thresholds",
            rule="a sudden loss drop (by half within two windows of 5% of the run) together "
            "with an effective rank fallen 2.5x from its peak is a pattern of its own, "
            "detected before any fixed bound is reached",
            why="JEPA losses are a proxy: a partial collapse makes the loss drop fast (the "
            "targets got easier, not the predictions better) while the rank falls; at ViT "
            "widths the fixed collapse bounds are reached only much later, if ever",
        ),
    ),
    Pattern(
        id="noisy",
        name="Loss very noisy / high variance",
        likely_cause="Unstable training, possibly bad batch composition",
        fix="Reduce the LR, check data augmentation strength",
        symptoms=(
            Check(
                "loss_noisy",
                "loss.total",
                ">",
                NOISE_GROWTH,
                "the loss's noise (std around its trend) grew more than %gx from its first "
                "window after the warmup" % NOISE_GROWTH,
                statistic="noise_growth",
                level=None,
                action="Lower the learning rate: the loss got noisier than it was",
            ),
        ),
        correction=Correction(
            reference_says="loss very noisy / high variance",
            rule="the loss's noise (std around its trend) is judged against its own noise in "
            "the first window after the warmup: the pattern needs it %gx higher" % NOISE_GROWTH,
            why="per-batch loss noise scales with 1/sqrt(batch): a fixed bound on the "
            "coefficient of variation (0.15) called every batch-8 run noisy (0.26) while "
            "batch 64 read 0.07-0.09, and the coefficient grows in every healthy run as the "
            "loss falls (the unchanged demo's from 0.03 to 0.15, alerting at step 450). The "
            "noise itself shrinks as a healthy loss falls (2-3x in the demo): a run whose "
            "loss got noisier than it was is what the pattern is about",
        ),
        evidence=(
            _SMOOTHNESS_HIGH,
            Check(
                "mask_ratio_unsteady",
                "masking.mask_ratio",
                ">",
                0.1,
                "mask ratio varies by more than 10% between batches",
                statistic="noise_cv",
                level=None,
                action="Check the mask generator: the mask ratio varies between batches",
            ),
        ),
    ),
    Pattern(
        id="early_plateau",
        name="Prediction quality plateaus early",
        likely_cause="EMA momentum too high (target encoder not updating)",
        fix="Reduce the EMA momentum starting value",
        symptoms=(
            Check(
                "cosine_flat",
                "prediction.cosine_sim_mean",
                "<",
                0.01,
                "prediction/level0_cosine_sim_mean stagnates (changed < 0.01 over the last half)",
                statistic="late_change",
                level=0,
            ),
        ),
        evidence=(
            Check(
                "ema_pinned",
                "ema.momentum_current",
                ">=",
                0.9999,
                "EMA momentum already >= 0.9999 at the start",
                statistic="at_start",
                level=None,
                action="Lower the EMA momentum's start (for example 0.996): the target encoder "
                "does not update",
            ),
        ),
        min_evidence=1,
        correction=Correction(
            reference_says="prediction quality stagnating is the pattern",
            rule="a flat cosine counts only with a momentum at or near 1.0 from the start",
            why="a converged healthy run also has a flat cosine; the pattern is about a target "
            "encoder that never updates, which the momentum curve shows directly",
        ),
    ),
)
