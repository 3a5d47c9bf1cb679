"""Quantities the diagnosis computes from several curves or from a run's own history.

Each is judged like a metric, with its rule and, where it departs from the reference,
its Correction. The diagnosis engine (``diagnosis.derived``, ``diagnosis.shares``)
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
CONTRIBUTION_FALL = Derived(
    "derived.contribution_fall",
    "Smallest ratio, over the levels with a weight, of a level's share of the weighted loss "
    "(w_i*L_i / sum_j w_j*L_j) in the recent window to its share in the first window after "
    "early training (1 = as it was; a level with weight 0 is not judged). The shares are "
    "shown beside the configured ones, w_i / sum_j w_j.",
    "factor",
    VerdictRule(
        action="Check the level whose loss vanished (trivial targets?), or adjust "
        "hierarchy_weights",
        bands=(
            Band(
                CRITICAL,
                "<",
                0.1,
                "a level's share of the loss fell to under a tenth of what it was after early "
                "training: that level's loss went (nearly) to zero while the others did not",
                "project",
            ),
            Band(
                WARNING,
                "<",
                0.25,
                "a level's share of the loss fell to under a quarter of what it was after "
                "early training",
                "reference §1 (contributions should reflect the configured weights)",
            ),
        ),
        healthy_text="every level keeps at least a quarter of its share after early training",
        correction=Correction(
            reference_says="contribution_h0 ~50-70%, h1 ~25-40%, h2 ~5-15%; imbalanced "
            "contributions mean the weights need adjusting",
            rule="each level's share is judged against its own share after early training: "
            "warning when it fell to under a quarter of it, critical under a tenth; the "
            "configured shares are shown, not judged; a level with weight 0 is a note",
            why="pooled levels are not smaller copies of level 0: their targets average "
            "several patches, so their losses are smaller by construction. A valid 4-level "
            "run's coarsest level sat at 0.19-0.31 of its configured share whatever the "
            "weights, and learnt as well as 3 levels; fixed share bounds before that called "
            "runs with weights [1, 0.002, 0.002] or [1, 0, 0], doing what they were told, "
            "'not trained'. What a level's own history shows is a level whose loss vanishes "
            "(its targets became trivial) while the others' do not",
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
                2.5,
                "the effective rank fell to 40% of its peak after early training or less",
                "project, calibrated",
            ),
        ),
        healthy_text="effective rank within 2.5x of its peak after early training",
        correction=Correction(
            reference_says="effective_rank healthy > 500 (768-D), warning 200-500, collapse < 200",
            rule="besides the fixed bound for what no healthy run reaches, the rank is judged "
            "against its own peak after early training: warning when it fell 2.5x, collapse 10x",
            why="no fixed fraction of D serves every model and dataset: healthy tiny-demo runs "
            "sit at 5-14 effective dimensions of 128, a healthy ViT-B in the hundreds of "
            "768, so a ViT whose rank fell from ~380 to 5% of D read healthy against fixed "
            "fractions. The fall from the run's own peak is width-free and needs no D. "
            "Early training (the warmup or the first quarter of the run, whichever is "
            "longer) is left out: the rank falls from its random-init value early in "
            "every healthy run (the healthy tiny demo's halves between 10% and 30% of "
            "its run). Healthy runs end 1.1-1.8x below their peak after early training, so "
            "a slow 3x fall warns",
        ),
    ),
    category="collapse",
    per_level=True,
    of_metric="collapse.effective_rank",
)

STD_FALL_FROM_PEAK = Derived(
    "derived.std_fall_from_peak",
    "Mean per-dimension std at its peak after early training / its recent value (1 = at its "
    "peak): the features' spread judged against the run's own history, whatever the std's "
    "convention (L2-normalised or not, another codebase's target_var).",
    "factor",
    VerdictRule(
        statistic="fall_from_peak",
        bands=(
            Band(
                COLLAPSE,
                ">=",
                10.0,
                "the features' std fell to a tenth of its peak after early training or less: "
                "they are collapsing to a point",
                "project, measured",
            ),
            Band(
                WARNING,
                ">=",
                2.5,
                "the features' std fell to 40% of its peak after early training or less",
                "project, measured",
            ),
        ),
        healthy_text="std within 2.5x of its peak after early training",
        correction=Correction(
            reference_says="mean_std_per_dim healthy 0.1-0.25, collapse < 0.01",
            rule="besides the bound relative to D, the std is judged against its own peak "
            "after early training: warning when it fell 2.5x, collapse 10x; the only rule "
            "for a std of another convention (data2vec's target_var, an un-normalised std)",
            why="a std of another convention has no bound relative to D, and data2vec stops "
            "its own training when target_var falls under a floor. On 42 real runs of the "
            "trainer (the scenarios and the lead-time runs) the healthy ones ended 1.0-1.7x "
            "below their peak; runs without stop-gradient fell 46-70x, and runs with an LR far "
            "too high, an EMA momentum of 0.5, or no stop-gradient or an LR 20x too high from "
            "the start 2.2-3.0x at their most affected level",
        ),
    ),
    category="collapse",
    per_level=True,
    of_metric="collapse.mean_std_per_dim",
)

RANK_FAST_FALL = Derived(
    "derived.rank_fast_fall",
    "Largest fall of the effective rank after the LR warmup from one window's median to the "
    "next's (windows of 5% of its points), as a fraction: 0.9 = it fell 10x within two "
    "windows.",
    "fraction",
    VerdictRule(
        statistic="fast_fall",
        bands=(
            Band(
                COLLAPSE,
                ">",
                0.8,
                "the effective rank fell 5x or more within two windows of 5% of the run: "
                "a dimensional collapse under way",
                "project, calibrated",
            ),
            Band(
                WARNING,
                ">",
                0.6,
                "the effective rank fell 2.5x or more within two windows of 5% of the run",
                "project, calibrated",
            ),
        ),
        healthy_text="the effective rank never fell 2.5x within two windows of 5% of the run",
        correction=Correction(
            reference_says="effective_rank healthy > 500 (768-D), warning 200-500, collapse < 200",
            rule="a fall of the rank is judged by its speed from the end of the warmup on: "
            "warning when it fell 2.5x within two windows of 5% of the run, collapse 5x",
            why="a collapse is fast and a healthy settling slow: the healthy tiny demo's rank "
            "falls 3x from the end of its warmup, but over 20% of its run (at most 1.7x "
            "within two windows), while a dimensional collapse right after the warmup fell "
            "16x within 10% of the run and read healthy, because the fall from the peak is "
            "judged only after early training",
        ),
    ),
    category="collapse",
    per_level=True,
    of_metric="collapse.effective_rank",
)

# ------------------------------------------------------------------------------- EMA
EMA_FROZEN_AT = Derived(
    "derived.ema_frozen_at",
    "Training progress (0-1 of the planned run) at which the EMA momentum first reached 1.0 "
    "(>= 0.999999): the target encoder stops following the context encoder from there.",
    "fraction",
    VerdictRule(
        action="Lower the EMA momentum's start or schedule below 1.0: the target encoder stopped "
        "updating",
        bands=(
            Band(
                WARNING,
                "<",
                0.95,
                "the EMA momentum reached 1.0 before 95% of training: the target encoder "
                "is frozen and no longer follows what the context encoder learns",
                "project (reference §2: momentum increases smoothly to ~1.0)",
            ),
        ),
        healthy_text="the momentum has not reached 1.0 before the last 5% of training",
        correction=Correction(
            reference_says="momentum_current should increase smoothly from 0.996 to ~1.0",
            rule="warning when the momentum first reached 1.0 before 95% of the planned run "
            "(unknown without a planned length; 1 while it stays below 1.0)",
            why="a momentum of exactly 1 freezes the target encoder: its targets stop "
            "following what the context encoder learns. Schedules reach 1.0 only at their "
            "end (linear or cosine from 0.996: 0.9998 and 0.99998 at 95%). When it happened "
            "is what tells a frozen target from a finished schedule, online and afterwards",
        ),
    ),
    category="ema",
    of_metric="ema.momentum_current",
)

# ------------------------------------------------------------------------ the probe
# A kNN probe scored on n queries has a binomial standard error sqrt(p(1-p)/n): every
# probe light is judged in standard errors (n from eval/probe_queries), so a 2-class
# probe at 0.60 on 900 queries (6 standard errors above chance) is not "at chance",
# and a probe at 1.02x its random-init encoder's does not "beat" it.
PROBE_SE_CORRECTION = Correction(
    reference_says="(the reference has no probe)",
    rule="each probe light is judged in binomial standard errors of the probe "
    "(sqrt(p(1-p)/n), n = eval/probe_queries): at chance within 2 of 1/classes; below "
    "the random-init encoder by 3; its best not above it by 2 at the end of training; fallen "
    "by more than 3 from its peak with the last three evaluations each lower. A light "
    "looked at after every evaluation takes 3 standard errors (a healthy procedural run's "
    "probe fell 2.3 from its peak, three evaluations in a row, and ended 1.2 below its "
    "random-init encoder's); one looked at once, at the end, takes 2",
    why="fixed ratios ignored the probe's noise both ways: 1.25x chance called a 2-class "
    "probe at 0.60 on ~900 queries (6 standard errors above chance) a collapse; 'above "
    "random init' counted 1.02x as learning; and a 10% fall from a single evaluation's "
    "peak, checked on two falls, fired at some check in 47-84% of healthy plateaus at 5% "
    "evaluation noise",
)
KNN_VS_RANDOM_INIT = Derived(
    "derived.knn_vs_random_init",
    "Latest kNN top-1 after early training minus the random-init encoder's, in standard "
    "errors of the difference (sqrt(p(1-p)/n + q(1-q)/n)): 0 = no better than no training.",
    "standard errors",
    VerdictRule(
        statistic="last_after_early",
        bands=(
            Band(
                WARNING,
                "<",
                -3.0,
                "the probe is below the random-init encoder's by 3 standard errors or more: "
                "the representation is worse than no training at all",
                "project",
            ),
        ),
        healthy_text="the probe is not below the random-init encoder's by 3 standard errors",
        correction=PROBE_SE_CORRECTION,
    ),
    category="eval",
    of_metric="eval.knn_top1",
)
KNN_GAIN = Derived(
    "derived.knn_gain",
    "Best kNN top-1 of the run minus the random-init encoder's, in standard errors of the "
    "difference; judged once a probe of the last 5% of training is logged (before, it is "
    "still learning).",
    "standard errors",
    VerdictRule(
        statistic="peak",
        bands=(
            Band(
                WARNING,
                "<",
                2.0,
                "at the end of training the probe never beat the random-init encoder's by 2 "
                "standard errors: the representation learnt no more than no training",
                "project",
            ),
        ),
        healthy_text="the probe beat the random-init encoder's by more than 2 standard errors "
        "(judged once a probe of the last 5% of training is logged)",
        correction=PROBE_SE_CORRECTION,
    ),
    category="eval",
    of_metric="eval.knn_top1",
)
KNN_VS_CHANCE = Derived(
    "derived.knn_vs_chance",
    "Latest kNN top-1 minus chance (1 / the number of classes), in standard errors of a "
    "probe at chance (sqrt(c(1-c)/n)): 0 = the features carry no class information.",
    "standard errors",
    VerdictRule(
        statistic="last",
        bands=(
            Band(
                COLLAPSE,
                "<=",
                2.0,
                "the probe is at chance (within 2 standard errors of 1/classes): the "
                "features carry no class information",
                "project",
            ),
        ),
        healthy_text="the probe is above chance by more than 2 standard errors",
        correction=PROBE_SE_CORRECTION,
    ),
    category="eval",
    of_metric="eval.knn_top1",
)
KNN_FALL = Derived(
    "derived.knn_fall",
    "How far the probe fell below its peak after early training (the peak of its 3-point "
    "running median), in standard errors of the difference, while its last three "
    "evaluations each fell (0 when it is not falling).",
    "standard errors",
    VerdictRule(
        statistic="steady_fall",
        bands=(
            Band(
                WARNING,
                ">",
                3.0,
                "the probe fell more than 3 standard errors below its peak, three "
                "evaluations in a row: the representation is getting worse",
                "project",
            ),
        ),
        healthy_text="the probe is not falling steadily from its peak",
        correction=PROBE_SE_CORRECTION,
    ),
    category="eval",
    of_metric="eval.knn_top1",
)

KNN_FALL_FROM_PEAK = Derived(
    "derived.knn_fall_from_peak",
    "Peak of the probe's 3-point running median after early training / its last value "
    "(1 = at its peak): a probe's fall that needs neither its size nor its classes (other "
    "codebases' probes log neither).",
    "factor",
    VerdictRule(
        statistic="probe_fall",
        bands=(
            Band(
                WARNING,
                ">=",
                2.0,
                "the probe fell to half its peak after early training or less: the "
                "representation lost what it had learnt",
                "project, measured",
            ),
        ),
        healthy_text="the probe is within 2x of its peak after early training",
        correction=Correction(
            reference_says="(the reference has no probe)",
            rule="a probe that fell to half of its peak after early training warns, "
            "whatever its size and classes",
            why="the standard-error lights need the probe's queries and classes, which "
            "lightly's, solo-learn's and MAE-style loops do not log; a halving is far "
            "beyond a probe's noise: on 42 real runs of the trainer (the scenarios and the "
            "lead-time runs) the probes ended 1.0-1.4x below their peak, faults included",
        ),
    ),
    category="eval",
    of_metric="eval.knn_top1",
)

# --------------------------------------------------------------------------- masking
MASK_RATIO_CHANGE = Derived(
    "derived.mask_ratio_change",
    "How far the recent median mask ratio lies outside what the run's own mask generator "
    "gives, over its median (0 inside): the per-batch range (1st-99th percentile) the "
    "manifest records for the run's grid and config, else the run's own first window +-10%.",
    "fraction",
    VerdictRule(
        action="Check the mask generator: the mask ratio is not what its config gives",
        bands=(
            Band(
                WARNING,
                ">",
                0.1,
                "the mask ratio moved more than 10% beyond what the run's masking gives: "
                "check the mask generator",
                "reference §3 (a sudden change of the mask ratio)",
            ),
        ),
        healthy_text="the mask ratio is what the run's masking gives (within 10% of its range)",
        correction=Correction(
            reference_says="mask_ratio should be consistent across batches; a sudden change "
            "means a mask generator problem",
            rule="the recent median is judged against the per-batch range of the run's own "
            "masking (manifest), else its first window +-10%: warning more than 10% of the "
            "median beyond it",
            why="on a small grid the ratio is coarse and varies by batch: on a 4x4 grid a "
            "median of 0.375 gives batches of 0.25-0.5, and five logged batches at 0.25 "
            "moved 33% from the median of a generator that had not changed",
        ),
    ),
    category="masking",
    of_metric="masking.mask_ratio",
)

DERIVED = (
    CONTRIBUTION_FALL,
    GPU_MEMORY_FRACTION,
    RANK_FALL_FROM_PEAK,
    STD_FALL_FROM_PEAK,
    RANK_FAST_FALL,
    EMA_FROZEN_AT,
    KNN_VS_RANDOM_INIT,
    KNN_GAIN,
    KNN_VS_CHANCE,
    KNN_FALL,
    KNN_FALL_FROM_PEAK,
    MASK_RATIO_CHANGE,
)
