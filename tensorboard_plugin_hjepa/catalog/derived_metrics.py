"""Quantities the diagnosis computes from several curves or from a run's own history.

Each is judged like a metric, with its rule and, where it departs from the reference,
its Correction. The diagnosis engine (``diagnosis.derived``, ``diagnosis.contributions``)
computes the values; every number that judges them is here.
"""

from .schema import (
    COLLAPSE,
    CRITICAL,
    WARNING,
    Band,
    Correction,
    Derived,
    VerdictRule,
)

# ----------------------------------------------------------------------- contributions
CONTRIBUTION_VS_CONFIG = Derived(
    "derived.contribution_vs_config",
    "Smallest ratio, over the levels with a weight, of a level's observed share of the "
    "weighted loss (w_i*L_i / sum_j w_j*L_j, recent window) to its configured share "
    "w_i / sum_j w_j (1 = as configured; a level with weight 0 is not judged).",
    "factor",
    VerdictRule(
        bands=(
            Band(
                CRITICAL,
                "<",
                0.1,
                "a level contributes under a tenth of its configured "
                "share: it is effectively not trained",
                "project",
            ),
            Band(
                WARNING,
                "<",
                0.25,
                "a level contributes under a quarter of its configured "
                "share: the level losses differ a lot, adjust hierarchy_weights",
                "reference §1 (contributions should reflect the configured weights)",
            ),
        ),
        healthy_text="every level contributes at least a quarter of its configured share",
        correction=Correction(
            reference_says="contribution_h0 ~50-70%, h1 ~25-40%, h2 ~5-15%; imbalanced "
            "contributions mean the weights need adjusting",
            rule="each level's share is judged against its configured share: warning under a "
            "quarter of it, critical under a tenth; a level with weight 0 is a note, not "
            "an alert",
            why="a run whose levels contribute exactly what its hierarchy_weights ask is not in "
            "trouble, whatever the weights: fixed share bounds (under 1% or over 97% "
            "critical) called a run with weights [1, 0.002, 0.002] or [1, 0, 0], doing "
            "what it was told, 'not trained'. Coarse levels average several patches and "
            "their losses are smaller: healthy tiny-demo levels sit within 3x of their "
            "configured shares",
        ),
    ),
    category="contribution",
)
GPU_MEMORY_FRACTION = Derived(
    "derived.gpu_memory_fraction",
    "Reserved GPU memory / the device's total memory (from the run manifest).",
    "fraction",
    category="performance",
)

# ----------------------------------------------------------- collapse against history
# Bounds from the calibration (benchmarks/calibration) and the real runs (scenarios/).
RANK_FALL_FROM_PEAK = Derived(
    "derived.rank_fall_from_peak",
    "Effective rank at its peak after early training / its recent value (1 = at its peak): a "
    "dimensional collapse judged against the run's own history, at any width.",
    "factor",
    VerdictRule(
        statistic="fall_from_peak",
        bands=(
            Band(
                COLLAPSE,
                ">=",
                10.0,
                "the effective rank fell to a tenth of its peak "
                "after early training or less: dimensional collapse",
                "project, calibrated",
            ),
            Band(
                WARNING,
                ">=",
                4.0,
                "the effective rank fell to a quarter of its peak after early training or less",
                "project, calibrated",
            ),
        ),
        healthy_text="effective rank within 4x of its peak after early training",
        correction=Correction(
            reference_says="effective_rank healthy > 500 (768-D), warning 200-500, collapse < 200",
            rule="besides the fixed bound for what no healthy run reaches, the rank is judged "
            "against its own peak after early training: warning when it fell 4x, collapse 10x",
            why="no fixed fraction of D serves every model and dataset: healthy tiny-demo runs "
            "sit at 5-14 effective dimensions of 128, a healthy ViT-B in the hundreds of "
            "768, so a ViT whose rank fell from ~380 to 5% of D read healthy against fixed "
            "fractions. The fall from the run's own peak is width-free and needs no D. "
            "Early training (the warmup or the first quarter of the run, whichever is "
            "longer) is left out: the rank falls from its random-init value early in "
            "every healthy run (the healthy tiny demo's halves between 10% and 30% of "
            "its run)",
        ),
    ),
    category="collapse",
    per_level=True,
    of_metric="collapse.effective_rank",
)

# ------------------------------------------------------------------------ the probe
KNN_VS_RANDOM_INIT = Derived(
    "derived.knn_vs_random_init",
    "Latest kNN top-1 after early training / the same probe on the random-init encoder (1 = no "
    "better than no training).",
    "factor",
    VerdictRule(
        statistic="last_after_warmup",
        bands=(
            Band(
                WARNING,
                "<",
                1.0,
                "the probe is below the random-init encoder's: the "
                "representation is worse than no training at all",
                "project",
            ),
        ),
        healthy_text="the probe beats the random-init encoder",
    ),
    category="eval",
    of_metric="eval.knn_top1",
    divide_by="eval.knn_top1_random_init",
)
KNN_VS_CHANCE = Derived(
    "derived.knn_vs_chance",
    "Latest kNN top-1 / chance (1 / the number of classes): 1 = the features carry no "
    "class information.",
    "factor",
    VerdictRule(
        statistic="last",
        bands=(
            Band(
                COLLAPSE,
                "<=",
                1.25,
                "the probe is at chance (at most 1.25x 1/classes): the "
                "features carry no class information",
                "project",
            ),
        ),
        healthy_text="the probe is above chance (more than 1.25x 1/classes)",
    ),
    category="eval",
    of_metric="eval.knn_top1",
    multiply_by="eval.num_classes",
)
KNN_FALL = Derived(
    "derived.knn_fall",
    "How far the probe fell below its peak after early training, (peak - last) / peak, while its "
    "last three evaluations each fell (0 when it is not falling).",
    "fraction",
    VerdictRule(
        statistic="steady_fall",
        bands=(
            Band(
                WARNING,
                ">",
                0.1,
                "the probe fell more than 10% below its peak, three "
                "evaluations in a row: the representation is getting worse",
                "project",
            ),
        ),
        healthy_text="the probe is not falling steadily from its peak",
    ),
    category="eval",
    of_metric="eval.knn_top1",
)

# --------------------------------------------------------------------------- masking
MASK_RATIO_CHANGE = Derived(
    "derived.mask_ratio_change",
    "|recent mask ratio / expected - 1|, expected being what the run's own mask generator "
    "gives for its grid and config (the manifest), else the run's own first window.",
    "fraction",
    VerdictRule(
        bands=(
            Band(
                WARNING,
                ">",
                0.2,
                "the mask ratio moved more than 20% from what the run's "
                "masking gives: check the mask generator",
                "reference §3 (a sudden change of the mask ratio)",
            ),
        ),
        healthy_text="the mask ratio is what the run's masking gives (within 20%)",
    ),
    category="masking",
    of_metric="masking.mask_ratio",
)

DERIVED = (
    CONTRIBUTION_VS_CONFIG,
    GPU_MEMORY_FRACTION,
    RANK_FALL_FROM_PEAK,
    KNN_VS_RANDOM_INIT,
    KNN_VS_CHANCE,
    KNN_FALL,
    MASK_RATIO_CHANGE,
)
