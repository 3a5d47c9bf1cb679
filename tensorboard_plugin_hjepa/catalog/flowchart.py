"""Reference §11 (diagnostic flowchart) and §16 (common patterns) as data.

Each check is metric + statistic + comparison + bound; the diagnosis engine evaluates
them and reports every value, so the user sees why a branch fired or not.
"""

from .schema import (
    COLLAPSE,
    CRITICAL,
    NORMALISE_RANK_FRACTION,
    NORMALISE_SQRT_DIM,
    WARNING,
    Band,
    Branch,
    Check,
    Correction,
    Derived,
    Pattern,
    VerdictRule,
)

# ------------------------------------------------------------------ derived quantities
CONTRIBUTION_MIN_SHARE = Derived(
    "derived.contribution_min_share",
    "Smallest level share of the weighted loss, w_i*L_i / sum_j w_j*L_j (recent window).",
    "fraction",
    VerdictRule(
        bands=(Band(CRITICAL, "<", 0.01, "a level contributes under 1% of the loss: it is "
                    "effectively not trained", "project"),
               Band(WARNING, "<", 0.05, "a level contributes under 5% of the loss", "project")),
        healthy_text="every level contributes at least 5%"))
CONTRIBUTION_MAX_SHARE = Derived(
    "derived.contribution_max_share",
    "Largest level share of the weighted loss (with 2 or more levels).",
    "fraction",
    VerdictRule(
        bands=(Band(CRITICAL, ">", 0.97, "one level makes more than 97% of the loss: the "
                    "hierarchy is not trained", "project"),
               Band(WARNING, ">", 0.85, "one level makes more than 85% of the loss", "project")),
        healthy_text="no level makes more than 85% of the loss"))
CONTRIBUTION_DEVIATION = Derived(
    "derived.contribution_deviation",
    "Largest factor between a level's observed share and its expected share "
    "w_i / sum_j w_j from the configured hierarchy weights (1 = as configured).",
    "factor",
    VerdictRule(
        bands=(Band(WARNING, ">", 3.0, "a level's share is more than 3x off its configured "
                    "share: level losses differ a lot, adjust hierarchy_weights", "reference §1"),),
        healthy_text="every share within 3x of its configured share"))
GPU_MEMORY_FRACTION = Derived(
    "derived.gpu_memory_fraction",
    "Reserved GPU memory / the device's total memory (from the run manifest).",
    "fraction")
DERIVED = (CONTRIBUTION_MIN_SHARE, CONTRIBUTION_MAX_SHARE, CONTRIBUTION_DEVIATION,
           GPU_MEMORY_FRACTION)

# Checks shared by branches and patterns.
_LOSS_NOT_DECREASING = Check(
    "loss_not_decreasing", "loss.total", ">", -0.05,
    "total loss fell less than 5% from its first window", statistic="relative_change",
    level=None)
_LR_TOO_LOW = Check("lr_too_low", "learning_rate.base_lr", "<=", 1e-5,
                    "learning_rate/base_lr should be > 1e-5", level=None)
_GRAD_ZERO = Check("grad_zero", "gradient_flow.global_norm", "<", 1e-8,
                   "gradient_flow/global_norm should be non-zero", level=None)
_SMOOTHNESS_HIGH = Check("smoothness_high", "stability.loss_smoothness", ">=", 1.0,
                         "stability/loss_smoothness should be < 1.0", level=None)
_STD_COLLAPSED = Check("std_collapsed", "collapse.mean_std_per_dim", "<", 0.1,
                       "mean_std collapsed (judged as std * sqrt(D) < 0.1, the catalogue's "
                       "calibrated collapse bound; the reference: 0.01 at D=768)",
                       normalise=NORMALISE_SQRT_DIM)
_RANK_COLLAPSED = Check("rank_collapsed", "collapse.effective_rank", "<", 0.02,
                        "effective rank collapsed (judged as erank / min(N, D) < 0.02, the "
                        "catalogue's calibrated collapse bound; the reference: 200 of 768)",
                        normalise=NORMALISE_RANK_FRACTION)
_SIMILARITY_COLLAPSED = Check("similarity_collapsed", "collapse.mean_similarity", ">", 0.7,
                              "mean pairwise cosine > 0.7")
_COSINE_LOW = Check("cosine_low", "prediction.cosine_sim_mean", "<", 0.5,
                    "prediction/levelX_cosine_sim_mean < 0.5")
_CLIPPING_HIGH = Check("clipping_high", "gradient.clipping_percentage", ">", 50.0,
                       "gradient/clipping_percentage > 50%", level=None)
_DIVERGENCE_LARGE = Check("ema_divergence_large", "ema.avg_parameter_divergence", ">", 10.0,
                          "ema/parameter_divergence more than 10x its first value",
                          statistic="recent_over_first", level=None)
_TARGET_GETS_GRADIENT = Check("target_gets_gradient", "gradient_flow.target_encoder_mean", ">",
                              0.0, "gradient_flow/target_encoder_mean must be 0 (stop-gradient)",
                              level=None)
_GRAD_EXPLODING = Check("grad_exploding", "gradient_flow.global_norm", ">", 10.0,
                        "gradient_flow/global_norm > 10 (exploding?)", level=None)
_GRAD_SPIKE = Check("grad_spike", "gradient_flow.global_norm", ">", 6.0,
                    "a gradient-norm spike: z-score > 6 against the preceding points",
                    statistic="max_zscore", level=None)
_GRAD_NON_FINITE = Check("grad_non_finite", "gradient_flow.global_norm", ">", 0,
                         "gradient norm is NaN or infinite", statistic="non_finite", level=None)
_MASK_AGGRESSIVE = Check("mask_aggressive", "masking.mask_ratio", ">", 0.7,
                         "masking/mask_ratio > 0.7 (too aggressive?)", level=None)

BRANCHES = (
    Branch(
        id="loss_not_decreasing",
        question="Loss not decreasing?",
        triggers=(_LOSS_NOT_DECREASING,),
        checks=(_LR_TOO_LOW, _GRAD_ZERO, _SMOOTHNESS_HIGH),
        actions=("Increase the learning rate", "Check data loading")),
    Branch(
        id="collapse",
        question="Collapse detected? (mean_std < 0.01)",
        triggers=(_STD_COLLAPSED, _RANK_COLLAPSED, _SIMILARITY_COLLAPSED),
        checks=(_COSINE_LOW, _CLIPPING_HIGH, _DIVERGENCE_LARGE, _TARGET_GETS_GRADIENT),
        actions=("Reduce the learning rate", "Increase the EMA momentum",
                 "Use stronger augmentation",
                 "Make sure no gradient reaches the target encoder (stop-gradient)"),
        correction=Correction(
            reference_says="collapse is mean_std < 0.01",
            rule="the branch also fires on an effective-rank or similarity collapse light",
            why="the reference asks to watch all three indicators; any of them in collapse is "
                "the symptom this branch explains, and the std bound alone is "
                "dimension-dependent")),
    Branch(
        id="poor_prediction",
        question="Poor prediction quality?",
        triggers=(_COSINE_LOW,),
        checks=(
            Check("contribution_starved", "derived.contribution_min_share", "<", 0.05,
                  "loss/contribution_hX imbalanced? (a level under 5%)", level=None),
            Check("contribution_off_config", "derived.contribution_deviation", ">", 3.0,
                  "loss/contribution_hX imbalanced? (3x off the configured share)", level=None),
            Check("feat_std_low", "hierarchy.feat_std", "<", 0.1,
                  "hierarchy/levelX_feat_std low variance? (< 0.1)"),
            _MASK_AGGRESSIVE),
        actions=("Adjust hierarchy_weights", "Check the masking config")),
    Branch(
        id="gradient_issues",
        question="Gradient issues?",
        triggers=(_CLIPPING_HIGH, _GRAD_EXPLODING, _GRAD_SPIKE, _GRAD_NON_FINITE),
        checks=(
            _CLIPPING_HIGH, _GRAD_EXPLODING,
            Check("predictor_dominates", "gradient_flow.predictor_max", ">", 10.0,
                  "gradient_flow/predictor_max much higher than others? (> 10x the context "
                  "encoder's)", divide_by="gradient_flow.context_encoder_max", level=None)),
        actions=("Reduce the learning rate", "Increase the clip_grad threshold",
                 "Check layer scales")),
    Branch(
        id="slow_training",
        question="Slow training?",
        applies_when=(Check("on_gpu", "performance.gpu_memory_reserved_gb", ">", 0,
                            "the run logged GPU memory (ran on a GPU)", statistic="count",
                            level=None),),
        triggers=(Check("throughput_low", "performance.samples_per_second", "<", 100.0,
                        "performance/samples_per_second < 100", level=None),),
        checks=(
            Check("forward_dominates", "performance.forward_time_ms", ">", 0.6,
                  "performance/forward_time_ms most of the step? (GPU limited?)",
                  divide_by="performance.total_time_ms", level=None),
            Check("memory_near_capacity", "derived.gpu_memory_fraction", ">", 0.9,
                  "performance/gpu_memory_reserved_gb near capacity? (> 90%)", level=None),
            Check("throughput_low", "performance.samples_per_second", "<", 100.0,
                  "performance/samples_per_second < 100", level=None)),
        actions=("Reduce the batch size", "Profile the code", "Check data loading"),
        correction=Correction(
            reference_says="samples_per_second < 100 means slow training",
            rule="the branch applies only to runs on a GPU",
            why="the reference's throughput figures are for ViT-B on an A100; on a CPU every "
                "run is below 100 samples/s and the branch would always fire")),
)

PATTERNS = (
    Pattern(
        id="loss_stuck",
        name="Loss stuck high (not decreasing)",
        likely_cause="Learning rate too low, or a data issue",
        fix="Increase the LR by 2x or check data loading",
        symptoms=(_LOSS_NOT_DECREASING,
                  Check("loss_not_rising", "loss.total", "<=", 1.5,
                        "and not rising: recent loss within 50% of its minimum (a rising loss "
                        "is the divergence pattern)", statistic="rise_from_min", level=None)),
        evidence=(_LR_TOO_LOW, _GRAD_ZERO)),
    Pattern(
        id="divergence",
        name="Loss decreases then increases (divergence)",
        likely_cause="Learning rate too high, or EMA momentum too low",
        fix="Reduce the LR, increase the EMA momentum",
        symptoms=(Check("loss_rises", "loss.total", ">", 1.5,
                        "recent loss more than 50% above its minimum",
                        statistic="rise_from_min", level=None),),
        evidence=(_CLIPPING_HIGH, _GRAD_SPIKE, _GRAD_NON_FINITE, _GRAD_EXPLODING,
                  Check("ema_low", "ema.momentum_current", "<", 0.99,
                        "ema/momentum below 0.99", level=None),
                  Check("rank_falling", "collapse.effective_rank", "<", -0.3,
                        "effective rank fell more than 30%", statistic="relative_change")),
        min_evidence=1,
        correction=Correction(
            reference_says="loss decreases then increases = divergence",
            rule="a rise of more than 50% above the minimum counts, and only with gradient, "
                 "clipping, EMA or rank evidence",
            why="JEPA losses are a proxy: a healthy curve often drops, rises while the target "
                "encoder sharpens, then falls slowly. The minimum of a 5-point running median "
                "sits below the typical level of a noisy curve (mask sizes differ per batch): "
                "the healthy 1500-step tiny demo, flat at its end, reads 1.32 with its rank "
                "down 70% from random init, while a far too high LR reads 1.74")),
    Pattern(
        id="collapse",
        name="Collapse to a low-rank solution",
        likely_cause="The model collapsed to a low-rank (or constant) solution",
        fix="Restart with better augmentation or different masking",
        symptoms=(),
        any_symptoms=(_STD_COLLAPSED, _RANK_COLLAPSED, _SIMILARITY_COLLAPSED),
        evidence=(Check("loss_fast_drop", "loss.total", "<", -0.5,
                        "loss fell by more than half (a fast drop with falling rank is collapse)",
                        statistic="relative_change", level=None),
                  Check("rank_falling", "collapse.effective_rank", "<", -0.3,
                        "effective rank fell more than 30%", statistic="relative_change"),
                  _TARGET_GETS_GRADIENT)),
    Pattern(
        id="noisy",
        name="Loss very noisy / high variance",
        likely_cause="Unstable training, possibly bad batch composition",
        fix="Reduce the LR, check data augmentation strength",
        symptoms=(Check("loss_noisy", "loss.total", ">", 0.15,
                        "detrended loss varies by more than 15% of its level",
                        statistic="noise_cv", level=None),),
        evidence=(_SMOOTHNESS_HIGH,
                  Check("mask_ratio_unsteady", "masking.mask_ratio", ">", 0.1,
                        "mask ratio varies by more than 10% between batches",
                        statistic="noise_cv", level=None))),
    Pattern(
        id="early_plateau",
        name="Prediction quality plateaus early",
        likely_cause="EMA momentum too high (target encoder not updating)",
        fix="Reduce the EMA momentum starting value",
        symptoms=(Check("cosine_flat", "prediction.cosine_sim_mean", "<", 0.01,
                        "prediction/level0_cosine_sim_mean stagnates (changed < 0.01 over the "
                        "last half)", statistic="late_change", level=0),),
        evidence=(Check("ema_pinned", "ema.momentum_current", ">=", 0.9999,
                        "EMA momentum already >= 0.9999 at the start", statistic="at_start",
                        level=None),),
        min_evidence=1,
        correction=Correction(
            reference_says="prediction quality stagnating is the pattern",
            rule="a flat cosine counts only with a momentum at or near 1.0 from the start",
            why="a converged healthy run also has a flat cosine; the pattern is about a target "
                "encoder that never updates, which the momentum curve shows directly")),
)
