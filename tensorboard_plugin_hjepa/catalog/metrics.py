"""Every metric of the reference (sections 1-10), plus the few the project adds.

Bounds cite their source: "reference §N" where the reference states them, "project"
where the reference states none or states one that cannot hold (see Correction).
Expected ranges are reference §15, by fraction of training (epoch 10/100 = 0.1).
"""

from .schema import (
    COLLAPSE,
    CRITICAL,
    NORMALISE_RANK_FRACTION,
    NORMALISE_SQRT_DIM,
    WARNING,
    Alias,
    Band,
    Convention,
    Correction,
    ExpectedRange,
    Frequency,
    Metric,
    Note,
    ProgressBound,
    RankBound,
    VerdictRule,
)

UPSTREAM = "upstream H-JEPA implementation"
_OTHER_TRAINERS = "other trainers' usual name for a kNN top-1 probe"

# ------------------------------------------------------ other codebases' conventions
# What each codebase writes, looked up in its sources (the alias notes say what each tag
# means there). A tag whose meaning differs from the catalogue metric's is an inexact
# alias: shown, judged by its own history only.
LIGHTNING = "PyTorch Lightning"
STABLE_PRETRAINING = "stable-pretraining"
LIGHTLY = "lightly benchmarks"
SOLO_LEARN = "solo-learn"
DATA2VEC = "fairseq data2vec"
LIGHTNING_HJEPA = "hierarchical JEPA in PyTorch Lightning"
MAE_STYLE = "MAE-style loop"
COMMON = "a common training-loss tag"

CONVENTIONS = (
    Convention(
        UPSTREAM,
        "github.com/jonwiggins/H-JEPA: src/trainers/trainer.py (train/ and online_eval/ "
        "prefixes of MetricsLogger.log_metrics), src/losses/hjepa_loss.py and combined.py "
        "(loss_h{i}, jepa_loss, sigreg_loss, vicreg_h{i})",
    ),
    Convention(
        STABLE_PRETRAINING,
        "github.com/rbalestr-lab/stable-pretraining: callbacks/rankme.py, "
        "callbacks/teacher_student.py, callbacks/knn.py (eval/{name}_{metric}), "
        "callbacks/probe.py (train/ and eval/{name}_{metric}), benchmarks/imagenet10/"
        "ijepa-vit-base.py (self.log(f'{stage}/loss', on_step=True, on_epoch=True))",
        step_axis="Lightning's global step",
        lightning=True,
    ),
    Convention(
        LIGHTLY,
        "github.com/lightly-ai/lightly: benchmarks/imagenet/*/ (self.log('train_loss')), "
        "lightly/utils/benchmarking/knn_classifier.py (val_knn_top{k}) and "
        "online_linear_classifier.py (val_online_cls_top{k}), fractions",
        step_axis="Lightning's global step",
        lightning=True,
    ),
    Convention(
        SOLO_LEARN,
        "github.com/vturrisi/solo-learn: solo/methods/byol.py and simsiam.py (train_z_std), "
        "solo/methods/base.py (tau, val_acc1, val_knn_acc1; accuracies in percent)",
        step_axis="Lightning's global step",
        lightning=True,
    ),
    Convention(
        DATA2VEC,
        "github.com/facebookresearch/fairseq: examples/data2vec/models/data2vec2.py "
        "(target_var, pred_var, ema_decay = decay * 1000), fairseq/trainer.py (lr), "
        "fairseq/criterions/model_criterion.py (loss); one TensorBoard run per stage "
        "(train_inner, train, valid)",
        step_axis="fairseq's update count (num_updates)",
    ),
    Convention(
        LIGHTNING_HJEPA,
        "a hierarchical JEPA LightningModule with stable-pretraining's fit/ keys: "
        "self.log(f'fit/loss_level{L}') per level and one optimizer param group per level "
        "named level{L} (LearningRateMonitor: lr-AdamW/level{L})",
        step_axis="Lightning's global step",
        lightning=True,
    ),
    Convention(
        MAE_STYLE,
        "github.com/facebookresearch/mae: engine_pretrain.py (train_loss, lr at epoch_1000x), "
        "main_finetune.py and main_linprobe.py (perf/test_acc1 in percent, per epoch)",
        step_axis="epoch_1000x (1000 x the fractional epoch), not the step",
    ),
    Convention(
        LIGHTNING,
        "PyTorch Lightning: LightningModule.log (on_step and on_epoch give _step and _epoch "
        "twins of a key), callbacks/lr_monitor.py (lr-{optimizer}, lr-{optimizer}/pg{n} "
        "or lr-{optimizer}/{group name})",
        step_axis="Lightning's global step",
        lightning=True,
        generic=True,
    ),
    Convention(
        COMMON,
        "self.log('train_loss') in a LightningModule (lightly's benchmarks), "
        "log_writer.add_scalar('train_loss', ...) in MAE's engine_pretrain.py",
        generic=True,
    ),
    Convention(
        _OTHER_TRAINERS,
        "common kNN probe tag names",
        generic=True,
    ),
)

# Bounds that a rule and a flowchart check share, named once.
TYPICAL_MASK_RATIO = (0.4, 0.7)  # reference §3: "typical range 0.4-0.7"
GRAD_NORM_HIGH = 10.0  # reference §6: "global_norm > 10: potentially unstable gradients"
# Reference §4's trend: ~0.4 at epoch 1, 0.4-0.6 at 10% of training, 0.7-0.85 at 50%.
COSINE_LOW = ProgressBound(((0.0, -1.0), (0.05, 0.0), (0.1, 0.3), (0.3, 0.5)), when_unknown=0.0)

# Reference §12 frequencies (the lower end of a range where it gives one).
EVERY_STEP = Frequency(1, "every step")
EVERY_100 = Frequency(100, "every 100 steps")
EVERY_100_500 = Frequency(100, "every 100-500 steps")
EVERY_500_1000 = Frequency(500, "every 500-1000 steps")
AT_EVAL = Frequency(500, "at each evaluation (configurable) and at the end")
ONCE = Frequency(0, "once per run")

# The section-15 numbers are for the reference's un-normalised features; after the
# dimension-relative correction they are shown, not judged.
_STD_RANGE_NOTE = (
    "reference value is for un-normalised features; L2-normalised features have "
    "mean std <= 1/sqrt(D), so the project judges std * sqrt(D) instead"
)


def _m(key, tag, section, meaning, unit, frequency, **kw):
    category = key.split(".")[0]
    return Metric(
        key=key,
        tag=tag,
        category=category,
        section=section,
        meaning=meaning,
        unit=unit,
        frequency=frequency,
        **kw,
    )


# ---------------------------------------------------------------------------- §1 loss
LOSS = (
    _m(
        "loss.total",
        "train/loss/total",
        1,
        "Total weighted hierarchical loss: sum_i w_i * L_i.",
        "loss",
        EVERY_STEP,
        rule=VerdictRule(
            action="Lower the learning rate or lengthen the warmup: the loss became NaN or "
            "infinite",
            bands=(Band(CRITICAL, ">", 0, "loss is NaN or infinite", "project"),),
            statistic="non_finite",
            healthy_text="every logged loss is finite",
        ),
        expected=(
            ExpectedRange(0.1, 0.5, 1.0),
            ExpectedRange(0.5, 0.1, 0.3),
            ExpectedRange(1.0, 0.05, 0.15),
        ),
        aliases=(
            Alias(
                "train/jepa_loss",
                UPSTREAM,
                note="upstream HEAD in SIGReg or VICReg mode: the weighted hierarchical "
                "prediction loss, without the regulariser (train/loss adds it)",
            ),
            Alias("train/loss", UPSTREAM),
            Alias(
                "fit/loss",
                STABLE_PRETRAINING,
                exact=False,
                note="stable-pretraining's {stage}/loss: the method's own training loss "
                "(another scale than the reference's): judged by its own history and "
                "NaN/Inf only",
            ),
            Alias(
                "train_loss",
                COMMON,
                exact=False,
                note="self.log('train_loss') of a LightningModule (lightly's benchmarks; "
                "MAE-style loops write the same tag): the method's own loss, judged by its "
                "own history and NaN/Inf only",
            ),
            Alias(
                "loss",
                DATA2VEC,
                exact=False,
                scope=(DATA2VEC,),
                note="data2vec's regression loss to its EMA targets (fairseq's loss per "
                "sample size): judged by its own history and NaN/Inf only",
            ),
        ),
    ),
    _m(
        "loss.level",
        "train/loss/h{i}",
        1,
        "Prediction loss at hierarchy level i (0 = finest patch grid; "
        "level i pools 2^i x 2^i patches).",
        "loss",
        EVERY_STEP,
        expected=(
            ExpectedRange(0.1, 0.3, 0.6, level=0),
            ExpectedRange(0.1, 0.2, 0.4, level=1),
            ExpectedRange(0.1, 0.1, 0.2, level=2),
            ExpectedRange(0.5, 0.05, 0.15, level=0),
            ExpectedRange(1.0, 0.02, 0.10, level=0),
        ),
        aliases=(
            Alias("train/loss_h{i}", UPSTREAM),
            Alias(
                "fit/loss_level{i}",
                LIGHTNING_HJEPA,
                note="self.log(f'fit/loss_level{L}'): the prediction loss of level L",
            ),
        ),
    ),
    _m(
        "loss.unweighted",
        "train/loss/unweighted",
        1,
        "Mean of the level losses, without weights.",
        "loss",
        EVERY_STEP,
        aliases=(Alias("train/loss_unweighted", UPSTREAM),),
    ),
    _m(
        "loss.contribution",
        "train/loss/contribution_h{i}",
        1,
        "Share of the total loss from level i: w_i*L_i / sum_j w_j*L_j (shares sum to 100%). "
        "Compare with the configured weights' expected shares.",
        "%",
        EVERY_STEP,
        correction=Correction(
            reference_says="contribution_h0 ~50-70%, h1 ~25-40%, h2 ~5-15% (ranges that need not "
            "sum to 100%)",
            rule="contribution_hi = 100 * w_i*L_i / sum_j w_j*L_j, compared with the configured "
            "weights' shares w_i / sum_j w_j",
            why="a share of the total must sum to 100% over levels; what is healthy depends on "
            "the configured hierarchy_weights, not on fixed ranges",
        ),
    ),
    _m(
        "loss.convergence_rate",
        "train/convergence/rate_h{i}",
        1,
        "Loss reduction rate of level i: relative drop of the level loss per 100 steps over the "
        "recent window (positive = decreasing).",
        "fraction / 100 steps",
        EVERY_STEP,
    ),
)

# ----------------------------------------------------------------------------- §2 EMA
EMA = (
    _m(
        "ema.momentum_current",
        "train/ema/momentum_current",
        2,
        "Current EMA momentum of the target encoder (scheduled 0.996 -> 1.0).",
        "",
        EVERY_100,
        rule=VerdictRule(
            action="Set the EMA momentum schedule within [0.99, 1.0] (I-JEPA: 0.996 rising to 1.0)",
            statistic="last",
            bands=(
                Band(
                    CRITICAL,
                    "outside",
                    (0.9, 1.0),
                    "momentum outside [0.9, 1.0]: the target encoder is either copied too fast "
                    "or extrapolated; check the EMA scheduler",
                    "project",
                ),
            ),
            healthy_text="momentum within [0.9, 1.0] (reaching 1.0 early is judged by "
            "derived.ema_frozen_at)",
            correction=Correction(
                reference_says="momentum_current should increase smoothly from 0.996 to ~1.0; "
                "check the EMA scheduler if it does not",
                rule="the last logged value, critical outside [0.9, 1.0]. Logged every 100 "
                "steps, as the learning rate is (the reference: with the EMA metrics, every "
                "500-1000)",
                why="the momentum is a schedule value, not a noisy measurement: its last value "
                "is the one to judge, and it costs nothing to log as often as the learning "
                "rate (the parameter divergence is what is expensive), so a momentum set to "
                "0.5 at a resume is seen at the next check, not 500 steps later",
            ),
        ),
        expected=(
            ExpectedRange(0.1, 0.9970, 0.9990),
            ExpectedRange(0.5, 0.999, 0.9999),
            ExpectedRange(1.0, 0.99999, 1.0),
        ),
        aliases=(
            Alias("train/ema_momentum", UPSTREAM),
            Alias(
                "teacher_student/{name}_coefficient",
                STABLE_PRETRAINING,
                note="the EMA coefficient of a TeacherStudentWrapper (teacher = c * teacher "
                "+ (1 - c) * student), logged by TeacherStudentCallback(verbose=True)",
            ),
            Alias(
                "tau",
                SOLO_LEARN,
                scope=(SOLO_LEARN,),
                note="solo-learn's momentum updater's current tau (the EMA momentum, 0.99 "
                "rising to 1.0 by default)",
            ),
            Alias(
                "ema_decay",
                DATA2VEC,
                scale=1e-3,
                scope=(DATA2VEC,),
                note="data2vec logs the EMA decay x1000 (999 for 0.999): read divided by 1000",
            ),
        ),
    ),
    _m(
        "ema.momentum_target",
        "train/ema/momentum_target",
        2,
        "Final momentum of the EMA schedule (1.0).",
        "",
        EVERY_500_1000,
    ),
    _m(
        "ema.avg_parameter_divergence",
        "train/ema/avg_parameter_divergence",
        2,
        "Average weight difference ||w_ctx - w_tgt|| per parameter tensor between context and "
        "target encoders.",
        "L2 norm",
        EVERY_500_1000,
        rule=VerdictRule(
            action="Raise the EMA momentum or lower the learning rate: the target encoder drifts "
            "from the context encoder",
            bands=(
                Band(
                    CRITICAL,
                    ">",
                    10.0,
                    "divergence grew more than 10x its first logged value: the target encoder "
                    "is deviating too much",
                    "reference §2",
                ),
            ),
            statistic="recent_over_first",
            healthy_text="divergence within 10x of its first logged value",
        ),
    ),
    _m(
        "ema.weight_magnitude_ratio",
        "train/ema/weight_magnitude_ratio",
        2,
        "||w_tgt|| / ||w_ctx||; should stay close to 1.",
        "ratio",
        EVERY_500_1000,
        rule=VerdictRule(
            action="Lower the learning rate (or the weight decay): the context encoder's weights "
            "run away from the target's",
            bands=(
                Band(
                    CRITICAL,
                    "outside",
                    (0.8, 1.2),
                    "magnitude mismatch between target and context weights: check the learning "
                    "rate",
                    "reference §2",
                ),
            ),
            healthy_text="ratio within [0.8, 1.2]",
        ),
    ),
)

# ------------------------------------------------------------------------- §3 masking
MASKING = (
    _m(
        "masking.mask_ratio",
        "train/masking/mask_ratio",
        3,
        "Fraction of patches that are prediction targets (masked from the context encoder).",
        "fraction",
        EVERY_100,
        rule=VerdictRule(
            action="Mask less: smaller target blocks (masking.mask_scale) or a larger context",
            bands=(
                Band(
                    CRITICAL,
                    ">",
                    0.9,
                    "more than 90% of patches masked: the context is too small to predict from",
                    "project",
                ),
            ),
            healthy_text="at most 90% of patches masked (a change from what the run's masking "
            "gives is judged by derived.mask_ratio_change)",
            notes=(
                Note(
                    "outside",
                    TYPICAL_MASK_RATIO,
                    "outside the reference's typical 0.4-0.7 "
                    "(a typical range for a 14x14 grid; the run is judged against its own "
                    "masking)",
                    "reference §3",
                ),
            ),
            correction=Correction(
                reference_says="typical mask ratio 0.4-0.7; a sudden change means a mask "
                "generator problem",
                rule="critical above 0.9; a warning when the ratio leaves the per-batch range "
                "of the run's own mask generator for its grid and config (recorded in the "
                "manifest; else the run's own first window), judged by "
                "derived.mask_ratio_change; 0.4-0.7 is a note",
                why="the ratio a multi-block masking gives depends on the grid: I-JEPA's own "
                "settings (4 blocks of 15-20%, context 85-100%) give about 0.31 on ViT-B's "
                "14x14 grid, so every correctly configured ViT-B run warned, and "
                "health.stop_on=warning stopped it at its first check",
            ),
        ),
    ),
    _m(
        "masking.num_masked_patches",
        "train/masking/num_masked_patches",
        3,
        "Average number of target (masked) patches per sample.",
        "patches",
        EVERY_100,
    ),
    _m(
        "masking.num_unmasked_patches",
        "train/masking/num_unmasked_patches",
        3,
        "Average number of visible context patches per sample.",
        "patches",
        EVERY_100,
    ),
)

# ---------------------------------------------------------------------- §4 prediction
PREDICTION = (
    _m(
        "prediction.cosine_sim_mean",
        "train/prediction/level{i}_cosine_sim_mean",
        4,
        "Mean cosine similarity between prediction and target over target positions.",
        "cosine",
        EVERY_100_500,
        rule=VerdictRule(
            bands=(
                Band(
                    WARNING,
                    "<",
                    COSINE_LOW,
                    "predictions barely agree with targets for this point of training",
                    "reference §11 (0.5), following §4's expected trend",
                ),
            ),
            healthy_text="cosine above its bound for this point of training (> 0.7 is good, "
            "reference §4)",
            notes=(Note(">", 0.7, "good predictions (> 0.7)", "reference §4"),),
            correction=Correction(
                reference_says="cosine_sim_mean < 0.5 means poor predictions; the expected trend "
                "is ~0.4 at epoch 1, 0.7 at epoch 50",
                rule="the bound follows training progress: none in the first 5%, then 0 rising "
                "to 0.3 at 10% and 0.5 from 30% on, taken at the middle of the window the "
                "value is the median of; 0 when progress is unknown",
                why="predictions start near cosine 0 and the reference itself expects ~0.4 at "
                "epoch 1 and 0.4-0.6 at 10% of training, so a fixed 0.5 warned at the start "
                "of every run; and a median over steps 0-100 judged with step 110's bound "
                "warned on sparsely logged runs",
            ),
        ),
        expected=(
            ExpectedRange(0.1, 0.4, 0.6, level=0),
            ExpectedRange(0.5, 0.7, 0.85, level=0),
            ExpectedRange(1.0, 0.85, 0.95, level=0),
        ),
    ),
    _m(
        "prediction.cosine_sim_std",
        "train/prediction/level{i}_cosine_sim_std",
        4,
        "Std of the per-position cosine similarity (diversity of prediction difficulty).",
        "cosine",
        EVERY_100_500,
        rule=VerdictRule(
            statistic="fall_from_peak",
            bands=(
                Band(
                    WARNING,
                    ">=",
                    10.0,
                    "the spread of prediction difficulty fell to a tenth of its peak after "
                    "early training: every position equally easy, the targets may be trivial",
                    "project, calibrated on real runs (reference §4: 0.1)",
                ),
            ),
            healthy_text="std within 10x of its peak after early training: some positions "
            "hard, some easy",
            notes=(
                Note(
                    "<=",
                    0.1,
                    "std <= 0.1: little diversity of prediction difficulty "
                    "(reference §4); usual on pooled levels and small models",
                    "reference §4",
                ),
            ),
            correction=Correction(
                reference_says="cosine_sim_std > 0.1 means diverse prediction difficulty; "
                "lower means all patches are equally easy or hard",
                rule="each level is judged against its own spread: warning when it fell to a "
                "tenth of its peak after early training; std <= 0.1 is a note",
                why="pooled levels have few positions that each average many patches, so their "
                "difficulty varies little: healthy tiny-demo runs sit at 0.03-0.10, and a "
                "valid 4-level run's coarsest level under 0.01 at cosine 0.99, while a "
                "collapsed run, whose targets are trivial, sits at 0.0001. A level's own "
                "history separates them where a fixed 0.01 could not",
            ),
        ),
    ),
    _m(
        "prediction.cosine_sim_min",
        "train/prediction/level{i}_cosine_sim_min",
        4,
        "Minimum cosine similarity: the hardest position.",
        "cosine",
        EVERY_100_500,
        correction=Correction(
            reference_says="cosine_sim_min marks the easiest patches, cosine_sim_max the hardest",
            rule="cosine_sim_min is the hardest position, cosine_sim_max the easiest",
            why="a higher similarity between prediction and target means a better, easier "
            "prediction; the reference's labels are swapped",
        ),
    ),
    _m(
        "prediction.cosine_sim_max",
        "train/prediction/level{i}_cosine_sim_max",
        4,
        "Maximum cosine similarity: the easiest position.",
        "cosine",
        EVERY_100_500,
    ),
    _m(
        "prediction.normalized_mse",
        "train/prediction/level{i}_normalized_mse",
        4,
        "MSE between L2-normalised prediction and target (= 2 - 2 cos).",
        "",
        EVERY_100_500,
    ),
    _m(
        "prediction.l2_distance",
        "train/prediction/level{i}_l2_distance",
        4,
        "Mean L2 distance between prediction and target embeddings.",
        "L2 norm",
        EVERY_100_500,
    ),
)

# ------------------------------------------------------------------------ §5 collapse
# Calibration on real runs (scenarios/, `python -m scenarios`, and the tiny demo itself):
# the tiny CPU demo (D=128, 8x8 patch grid pooled to 4x4 and 2x2, procedural images)
# healthy sits at std*sqrt(D) 0.45-0.61 after 200 steps and 0.30-0.37 from step ~600 on
# (levels 2..0), min std*sqrt(D) 0.042-0.11, erank/min(N,D) 0.04-0.11 (0.15-0.35 already at
# random init), prediction cosine std 0.02-0.10; the same run without stop-gradient
# reaches 0.005-0.012, 0.0015-0.005, 0.010-0.014 and 0.0000-0.0001. Bounds sit between
# the two, about at their geometric mean, each a factor >= 1.3 from the healthy values.
_STD_CORRECTION = Correction(
    reference_says="mean_std_per_dim healthy > 0.05, warning 0.02-0.05, collapse < 0.01",
    rule="judge r = mean_std * sqrt(D): healthy r >= 0.2, warning 0.1-0.2, collapse r < 0.1",
    why="the std of L2-normalised D-dim features is at most 1/sqrt(D) (0.036 at D=768), so "
    "'healthy > 0.05' can never hold; r = 1 is isotropic (the reference's 0.01 is r = 0.28 "
    "at D=768). Real features are far from isotropic: healthy tiny-demo runs settle at r "
    "0.30-0.37 (pooled coarse levels average 4-16 patches, which removes patch-specific "
    "spread), while a run without stop-gradient falls to r 0.005-0.012. Collapse below "
    "0.1 (0.0036 at D=768) and warning below 0.2 sit between the two; the reference's "
    "0.28 would call the healthy demo nearly collapsed",
)
_MIN_STD_CORRECTION = Correction(
    reference_says="min_std_per_dim healthy > 0.005, warning 0.001-0.005, collapse < 0.001",
    rule="judge r_min = min_std * sqrt(D): healthy >= 0.024, warning 0.012-0.024, collapse < 0.012",
    why="scaled by sqrt(D) like the mean std so the rule holds at every dimension (the "
    "reference's 0.001 / 0.005 are r_min 0.028 / 0.14 at D=768). Healthy tiny-demo runs "
    "settle at r_min 0.042-0.11 (the 2x2 pooled level lowest), a run without stop-gradient "
    "falls to 0.0015-0.005: collapse below 0.012 and warning below 0.024 sit between",
)
_RANK_CORRECTION = Correction(
    reference_says="effective_rank healthy > 500 (768-D), warning 200-500, collapse < 200",
    rule="judge f = erank / min(N, D): collapse when f < 0.01 or under 2 directions, warning "
    "when f < 0.015 or under 2.5 directions; a fall from the run's own peak is judged by "
    "derived.rank_fall_from_peak",
    why="effective rank (exp of the entropy of normalised singular values of the uncentred "
    "features, the RankMe convention) is bounded by min(N, D) and biased low for few rows "
    "(noise at N=256, D=768 gives ~244), hence the fraction. No fixed fraction serves every "
    "model and dataset: a random-init tiny encoder sits at f 0.15-0.35 on procedural "
    "images but at 0.03 on scikit-learn's digits (pooled level, 3.9 directions of 128), "
    "and healthy training lowers both (the demo to 0.04, the digits run to 3.2 "
    "directions), while a run without stop-gradient goes to 1.3-2.1 directions. The fixed "
    "bounds keep only what no healthy run reaches: about one or two directions (7.7 of "
    "768 at 1%), with a floor in directions so that a rank of 1.3 is a collapse at D=64 "
    "too (logs without a manifest are judged at every plausible D). A fall to a fraction "
    "of the run's own peak is the rule that sees a dimensional collapse at ViT widths",
)
_SIM_CORRECTION = Correction(
    reference_says="mean_similarity healthy < 0.3, warning 0.3-0.7, collapse > 0.7",
    rule="judged on the raw (uncentred) mean pairwise cosine: warning above 0.96, collapse above "
    "0.98",
    why="the cosine of centred features cannot show a collapse: centred rows sum to zero, so "
    "their mean pairwise cosine sits near -1/(N-1) whatever the features (constant "
    "features plus 1% noise read 0.01 while their raw cosine is 0.999). The raw cosine "
    "reaches 1 when every feature points one way; a shared mean direction lifts it in "
    "healthy runs too: the healthy 1500-step tiny demo's levels climb from 0.3-0.6 at "
    "random init to 0.80-0.90 (pooled levels highest; 1 - cos >= 0.10), the example "
    "loop's pooled level to 0.94 and a 200-step run on scikit-learn's digits (dark "
    "backgrounds: 0.82 at random init) to 0.94, while a run without stop-gradient reads "
    "0.998-1.0 (1 - cos <= 0.002) and point collapse with 10% noise 0.99. Collapse above "
    "0.98 and warning above 0.96 (1 - cos under 0.04, as std * sqrt(D) under 0.2) sit "
    "between. The reference's 0.3 and 0.7 would call the healthy demo collapsed",
)

COLLAPSE_METRICS = (
    _m(
        "collapse.mean_std_per_dim",
        "train/collapse/level{i}_mean_std_per_dim",
        5,
        "Mean over dimensions of the per-dimension std of L2-normalised target features "
        "at level i.",
        "std",
        EVERY_100_500,
        rule=VerdictRule(
            normalise=NORMALISE_SQRT_DIM,
            bands=(
                Band(
                    COLLAPSE,
                    "<",
                    0.1,
                    "features collapsed to (nearly) a constant: std * sqrt(D) < 0.1",
                    "project, calibrated on real runs (reference §5: 0.01 at D=768, i.e. 0.28)",
                ),
                Band(
                    WARNING,
                    "<",
                    0.2,
                    "feature spread is close to collapse: 0.1 <= std * sqrt(D) < 0.2",
                    "project, calibrated on real runs",
                ),
            ),
            healthy_text="std * sqrt(D) >= 0.2 (1.0 = isotropic)",
            correction=_STD_CORRECTION,
        ),
        expected=(
            ExpectedRange(0.1, 0.05, 0.15, level=0, comparable=False, note=_STD_RANGE_NOTE),
            ExpectedRange(0.5, 0.08, 0.2, level=0, comparable=False, note=_STD_RANGE_NOTE),
            ExpectedRange(1.0, 0.10, 0.25, level=0, comparable=False, note=_STD_RANGE_NOTE),
        ),
        aliases=(
            Alias(
                "train/target_std",
                UPSTREAM,
                level=0,
                exact=False,
                note="upstream std of un-normalised target features: trend only",
            ),
            Alias(
                "train_z_std",
                SOLO_LEARN,
                level=0,
                note="solo-learn's F.normalize(z).std(dim=batch).mean(): the same statistic, "
                "of the L2-normalised projector outputs z of the trained branch (collapse "
                "shows there as in the targets)",
            ),
            Alias(
                "target_var",
                DATA2VEC,
                level=0,
                exact=False,
                note="data2vec's mean per-dimension std of its targets (instance-normalised, "
                "layer-averaged, not L2-normalised): trend only; data2vec itself stops "
                "training under min_target_var (0.1 by default)",
            ),
        ),
    ),
    _m(
        "collapse.min_std_per_dim",
        "train/collapse/level{i}_min_std_per_dim",
        5,
        "Smallest per-dimension std of L2-normalised target features (the worst dimension).",
        "std",
        EVERY_100_500,
        rule=VerdictRule(
            normalise=NORMALISE_SQRT_DIM,
            bands=(
                Band(
                    COLLAPSE,
                    "<",
                    0.012,
                    "some dimension is dead: min std * sqrt(D) < 0.012",
                    "project, calibrated on real runs (reference §5: 0.001 at D=768)",
                ),
                Band(
                    WARNING,
                    "<",
                    0.024,
                    "weak dimensions: 0.012 <= min std * sqrt(D) < 0.024",
                    "project, calibrated on real runs (reference §5: 0.005 at D=768)",
                ),
            ),
            healthy_text="min std * sqrt(D) >= 0.024",
            correction=_MIN_STD_CORRECTION,
        ),
    ),
    _m(
        "collapse.effective_rank",
        "train/collapse/level{i}_effective_rank",
        5,
        "Effective rank: exp(entropy of the normalised singular values) of the uncentred "
        "L2-normalised target feature matrix (RankMe convention).",
        "dimensions",
        EVERY_100_500,
        rule=VerdictRule(
            normalise=NORMALISE_RANK_FRACTION,
            bands=(
                Band(
                    COLLAPSE,
                    "<",
                    RankBound(0.01, 2.0),
                    "features span one or two "
                    "directions: erank / min(N, D) < 0.01, or fewer than 2 directions",
                    "project, calibrated on real runs (reference §5: 200 of 768)",
                ),
                Band(
                    WARNING,
                    "<",
                    RankBound(0.015, 2.5),
                    "rank close to collapse: erank / "
                    "min(N, D) < 0.015, or fewer than 2.5 directions",
                    "project, calibrated on real runs (reference §5: 500 of 768)",
                ),
            ),
            healthy_text="erank / min(N, D) >= 0.015 and at least 2.5 directions (a fall from "
            "the run's own peak is judged by derived.rank_fall_from_peak)",
            correction=_RANK_CORRECTION,
        ),
        aliases=(
            Alias(
                "train/target_rank",
                UPSTREAM,
                level=0,
                exact=False,
                note="upstream rank convention may differ: trend only",
            ),
            Alias(
                "train/target_eff_rank",
                UPSTREAM,
                level=0,
                exact=False,
                no_value=-1.0,
                note="upstream HEAD: exp(entropy) of the singular values of up to 100 "
                "flattened (B, N*D) target rows, at most 100; -1 where it was not computed: "
                "trend only",
            ),
            Alias(
                "rankme",
                STABLE_PRETRAINING,
                level=0,
                exact=False,
                note="stable-pretraining's RankMe callback: exp(entropy) of the singular "
                "values (+1e-5) of a queue of the student's validation embeddings, not of "
                "L2-normalised target features: trend only",
            ),
        ),
    ),
    _m(
        "collapse.mean_similarity",
        "train/collapse/level{i}_mean_similarity",
        5,
        "Mean pairwise cosine similarity of the L2-normalised (uncentred) target features, "
        "off-diagonal pairs: 1 when every feature points the same way.",
        "cosine",
        EVERY_100_500,
        rule=VerdictRule(
            bands=(
                Band(
                    COLLAPSE,
                    ">",
                    0.98,
                    "features point the same way (mean cosine > 0.98)",
                    "project, calibrated on real runs (reference §5: 0.7)",
                ),
                Band(
                    WARNING,
                    ">",
                    0.96,
                    "features are getting alike (mean cosine > 0.96)",
                    "project, calibrated on real runs (reference §5: 0.3)",
                ),
            ),
            healthy_text="mean cosine at most 0.96",
            correction=_SIM_CORRECTION,
        ),
    ),
    _m(
        "collapse.max_similarity",
        "train/collapse/level{i}_max_similarity",
        5,
        "Largest pairwise cosine similarity of the L2-normalised target features (off-diagonal).",
        "cosine",
        EVERY_100_500,
    ),
    _m(
        "collapse.std_similarity",
        "train/collapse/level{i}_std_similarity",
        5,
        "Std of the pairwise cosine similarities of the L2-normalised target features.",
        "cosine",
        EVERY_100_500,
    ),
    _m(
        "collapse.mean_similarity_centred",
        "train/collapse/level{i}_mean_similarity_centred",
        0,
        "Mean pairwise cosine of the centred features (project addition, shown, not judged: "
        "centred rows sum to zero, so their mean pairwise cosine sits near -1/(N-1) whatever "
        "the features; "
        "it only shows that the shared mean direction is what the raw cosine measures).",
        "cosine",
        EVERY_100_500,
        origin="project",
    ),
    _m(
        "collapse.feature_mean_norm",
        "train/collapse/level{i}_feature_mean_norm",
        0,
        "Norm of the mean L2-normalised feature (project addition: 1 = all features identical, "
        "~1/sqrt(N) = no shared direction).",
        "L2 norm",
        EVERY_100_500,
        origin="project",
    ),
    _m(
        "collapse.num_rows",
        "train/collapse/level{i}_num_rows",
        0,
        "Rows (sampled features) the collapse statistics were computed on: N in min(N, D) "
        "(project addition: the effective rank is only trustworthy for N >= ~4D).",
        "rows",
        EVERY_100_500,
        origin="project",
    ),
)

# ----------------------------------------------------------------------- §6 gradients
_GRAD_MEAN = "Mean absolute gradient over the parameters of the {}."
_GRAD_MAX = "Largest absolute gradient in the {}."
GRADIENTS = (
    _m(
        "gradient_flow.global_norm",
        "train/gradient_flow/global_norm",
        6,
        "Global gradient norm before clipping: sqrt(sum of squared per-tensor norms), as "
        "clip_grad_norm_ computes it.",
        "L2 norm",
        EVERY_100,
        correction=Correction(
            reference_says="total gradient norm (all params), formula unstated",
            rule="sqrt(sum over tensors of ||g||^2), the norm clip_grad_norm_ clips",
            why="other definitions (mean of per-tensor norms) are not the quantity clipping acts "
            "on, so global_norm and global_norm_before_clip would disagree",
        ),
        rule=VerdictRule(
            action="Lower the learning rate or lengthen the warmup: a gradient became NaN or "
            "infinite",
            bands=(Band(CRITICAL, ">", 0, "gradient norm is NaN or infinite", "project"),),
            statistic="non_finite",
            healthy_text="every gradient norm is finite",
            notes=(
                Note(
                    ">",
                    GRAD_NORM_HIGH,
                    "global norm > 10: potentially unstable gradients",
                    "reference §6",
                ),
            ),
        ),
        expected=(
            ExpectedRange(0.1, 0.5, 2.0),
            ExpectedRange(0.5, 0.1, 0.5),
            ExpectedRange(1.0, 0.01, 0.1),
        ),
        log_scale=True,
    ),
    _m(
        "gradient_flow.context_encoder_mean",
        "train/gradient_flow/context_encoder_mean",
        6,
        _GRAD_MEAN.format("context encoder"),
        "abs gradient",
        EVERY_100,
        log_scale=True,
    ),
    _m(
        "gradient_flow.context_encoder_max",
        "train/gradient_flow/context_encoder_max",
        6,
        _GRAD_MAX.format("context encoder"),
        "abs gradient",
        EVERY_100,
        log_scale=True,
    ),
    _m(
        "gradient_flow.predictor_mean",
        "train/gradient_flow/predictor_mean",
        6,
        _GRAD_MEAN.format("predictor"),
        "abs gradient",
        EVERY_100,
        log_scale=True,
    ),
    _m(
        "gradient_flow.predictor_max",
        "train/gradient_flow/predictor_max",
        6,
        _GRAD_MAX.format("predictor"),
        "abs gradient",
        EVERY_100,
        log_scale=True,
    ),
    _m(
        "gradient_flow.target_encoder_mean",
        "train/gradient_flow/target_encoder_mean",
        6,
        "Mean absolute gradient in the target encoder: must be 0 (stop-gradient, EMA only).",
        "abs gradient",
        EVERY_100,
        rule=VerdictRule(
            action="Restore the stop-gradient: compute the targets under no_grad with the EMA "
            "target encoder",
            statistic="last",
            bands=(
                Band(
                    CRITICAL,
                    ">",
                    0.0,
                    "gradients reach the target encoder: the stop-gradient is missing, which "
                    "invites collapse",
                    "reference §6",
                ),
            ),
            healthy_text="no gradient in the target encoder",
        ),
        teacher_only=True,
    ),
    _m(
        "gradient_flow.target_features_grad_norm",
        "train/gradient_flow/target_features_grad_norm",
        0,
        "L2 norm of the loss gradient at the target features (project addition: must be 0 under "
        "stop-gradient; the target encoder's own parameters never get a gradient even when the "
        "targets do, so target_encoder_mean cannot show a missing stop-gradient).",
        "L2 norm",
        EVERY_100,
        origin="project",
        rule=VerdictRule(
            action="Restore the stop-gradient: compute the targets under no_grad with the EMA "
            "target encoder",
            statistic="last",
            bands=(
                Band(
                    CRITICAL,
                    ">",
                    0.0,
                    "gradients flow into the targets: the stop-gradient is missing, which "
                    "invites collapse",
                    "project (reference §6: targets are detached)",
                ),
            ),
            healthy_text="no gradient reaches the targets (stop-gradient)",
            correction=Correction(
                reference_says="target_encoder should have near-zero gradients (detached)",
                rule="the last logged value, judged in runs with a teacher; a run whose "
                "manifest declares no teacher (teacher: none, or stop_gradient: false with no "
                "teacher stated) gets unknown",
                why="runs without an EMA teacher (SIGReg/LeJEPA-style, SimSiam-style) are a "
                "valid design: their targets come from the trained encoder and get "
                "gradients by construction, so a missing stop-gradient is no fault there. A "
                "value that must be 0 is judged on its last point: the median of a window "
                "waited for half of it to be non-zero (two checks after a resume that broke "
                "the stop-gradient)",
            ),
        ),
        teacher_only=True,
    ),
    _m(
        "gradient.global_norm_before_clip",
        "train/gradient/global_norm_before_clip",
        6,
        "Global gradient norm before clipping.",
        "L2 norm",
        EVERY_STEP,
        log_scale=True,
    ),
    _m(
        "gradient.global_norm_after_clip",
        "train/gradient/global_norm_after_clip",
        6,
        "Global gradient norm after clipping.",
        "L2 norm",
        EVERY_STEP,
        log_scale=True,
    ),
    _m(
        "gradient.clipping_ratio",
        "train/gradient/clipping_ratio",
        6,
        "after_clip / before_clip (1 = not clipped).",
        "ratio",
        EVERY_STEP,
    ),
    _m(
        "gradient.was_clipped",
        "train/gradient/was_clipped",
        6,
        "1 if the step's gradients were clipped, else 0.",
        "0/1",
        EVERY_STEP,
    ),
    _m(
        "gradient.clipping_percentage",
        "train/gradient/clipping_percentage",
        6,
        "Percentage of recent steps whose gradients were clipped.",
        "%",
        EVERY_STEP,
        rule=VerdictRule(
            action="Raise the clip threshold (training.clip_grad), or lower the learning rate if "
            "the gradients are genuinely large",
            statistic="recent_after_warmup",
            correction=Correction(
                reference_says="clipping_percentage > 50%: learning rate likely too high",
                rule="judged on the recent window after the LR warmup; not during it",
                why="gradients are largest at random init, while the LR is still ramping up: a "
                "valid 4-level run clipped 45-100% of its first steps and then rarely, and "
                "was told to lower its learning rate at its first check",
            ),
            bands=(
                Band(
                    CRITICAL,
                    ">",
                    50.0,
                    "clipping on more than 50% of steps: the learning rate "
                    "is likely too high (or the clip threshold too low)",
                    "reference §6",
                ),
                Band(
                    WARNING,
                    ">",
                    10.0,
                    "clipping on more than 10% of steps: more than 'working but not excessive'",
                    "reference §6",
                ),
            ),
            healthy_text="clipping on at most 10% of steps",
            notes=(
                Note(
                    "==",
                    0.0,
                    "never clipped: the clip threshold may be too high to matter",
                    "reference §6",
                ),
            ),
        ),
    ),
    _m(
        "gradients.histogram",
        "gradients/{layer}_histogram",
        6,
        "Distribution of gradient values of one layer group (watch for bimodal shapes, heavy "
        "tails, clusters at zero).",
        "gradient",
        EVERY_100,
        kind="histogram",
    ),
)

# ------------------------------------------------------------------- §7 learning rate
LEARNING_RATE = (
    _m(
        "learning_rate.base_lr",
        "train/learning_rate/base_lr",
        7,
        "Learning rate of the base parameter group (warmup from 0, then cosine).",
        "lr",
        EVERY_100,
        expected=(
            ExpectedRange(0.1, 3e-4, 5e-4),
            ExpectedRange(0.5, 1e-4, 3e-4),
            ExpectedRange(1.0, 1e-5, 1e-4),
        ),
        aliases=(
            Alias("train/lr", UPSTREAM),
            Alias(
                "lr-{optimizer}",
                LIGHTNING,
                note="LearningRateMonitor: the learning rate of an optimizer with one group",
            ),
            Alias(
                "lr-{optimizer}/pg1",
                LIGHTNING,
                note="LearningRateMonitor: the learning rate of the first param group",
            ),
            Alias(
                "lr-{optimizer}/level0",
                LIGHTNING_HJEPA,
                note="LearningRateMonitor: the learning rate of the param group named level0",
            ),
            Alias(
                "lr",
                DATA2VEC,
                scope=(DATA2VEC, MAE_STYLE),
                note="fairseq's and MAE's learning rate (of the first param group)",
            ),
        ),
        log_scale=True,
    ),
    _m(
        "learning_rate.param_group",
        "train/learning_rate/param_group_{group}",
        7,
        "Learning rate of optimizer param group {group}.",
        "lr",
        EVERY_100,
        log_scale=True,
        aliases=(
            Alias(
                "lr-{optimizer}/level{group}",
                LIGHTNING_HJEPA,
                note="LearningRateMonitor: the param group of level L, named level{L}",
            ),
        ),
    ),
    _m(
        "learning_rate.avg_param_update",
        "train/learning_rate/avg_param_update",
        7,
        "Average parameter update magnitude |w_t - w_{t-1}| per parameter.",
        "abs update",
        EVERY_100,
        log_scale=True,
    ),
)

# ----------------------------------------------------------------------- §8 hierarchy
HIERARCHY = (
    _m(
        "hierarchy.feat_mean",
        "train/hierarchy/level{i}_feat_mean",
        8,
        "Mean of the target embeddings at level i.",
        "",
        EVERY_100,
    ),
    _m(
        "hierarchy.feat_std",
        "train/hierarchy/level{i}_feat_std",
        8,
        "Std of the target embeddings at level i across samples: the per-dimension std over "
        "rows, averaged over dimensions (0 when every row is the same vector).",
        "",
        EVERY_100,
        correction=Correction(
            reference_says="feat_std low variance is a check of the poor-prediction branch",
            rule="taken across samples, charted, not judged; the branch's low-variance check "
            "reads the collapse std light (collapse.mean_std_per_dim) instead",
            why="over all entries of a layer-normed target it is 1 by construction (it read 1.0 "
            "even when every token was the same vector). Across samples it is 0 for "
            "identical rows, but on layer-normed targets it equals mean_std_per_dim * "
            "sqrt(D), which is judged already, and other trainers' un-normalised features "
            "have no scale a fixed bound could use",
        ),
    ),
    _m(
        "hierarchy.feat_range",
        "train/hierarchy/level{i}_feat_range",
        8,
        "Max - min of the target embeddings at level i.",
        "",
        EVERY_100,
    ),
    _m(
        "hierarchy.feat_norm",
        "train/hierarchy/level{i}_feat_norm",
        8,
        "Average L2 norm of the target embeddings at level i.",
        "L2 norm",
        EVERY_100,
        aliases=(
            Alias(
                "train/target_norm",
                UPSTREAM,
                level=0,
                exact=False,
                note="upstream norm of level-0 target features",
            ),
        ),
    ),
    _m(
        "hierarchy.num_patches",
        "train/hierarchy/level{i}_num_patches",
        8,
        "Number of grid cells at level i (2-D average pooling of the patch grid by 2^i).",
        "patches",
        EVERY_100,
        correction=Correction(
            reference_says="levels of 14x14 / 7x7 / 4x4 patches, and elsewhere 196 / 98 / 49",
            rule="level i is 2-D average pooling of the level-0 patch grid with a 2^i window "
            "(ceil for odd sizes: 14x14 -> 7x7 -> 4x4); the trainer logs num_patches",
            why="the reference's two grid descriptions contradict each other (7x7 is 49, not "
            "98); one explicit definition, logged, removes the doubt",
        ),
    ),
)

# ----------------------------------------------------------------------- §9 stability
STABILITY = (
    _m(
        "stability.loss_smoothness",
        "train/stability/loss_smoothness",
        9,
        "Variance of the total loss over the recent window.",
        "loss^2",
        EVERY_STEP,
        rule=VerdictRule(
            action="Lower the learning rate: the loss varies a lot",
            bands=(
                Band(
                    WARNING, ">=", 1.0, "loss variance >= 1.0: unstable training", "reference §11"
                ),
            ),
            healthy_text="loss variance < 1.0",
        ),
        log_scale=True,
    ),
    _m(
        "stability.loss_trend_slope",
        "train/stability/loss_trend_slope",
        9,
        "Least-squares slope of the total loss over the recent window (negative = converging).",
        "loss / step",
        EVERY_STEP,
    ),
    _m(
        "stability.loss_spike_ratio",
        "train/stability/loss_spike_ratio",
        9,
        "Largest loss in the recent window over its local trend (the 9-step running median "
        "around it): 1 for a smooth curve, 3 when one step's loss tripled.",
        "ratio",
        EVERY_STEP,
        rule=VerdictRule(
            action="Lower the learning rate or lengthen the warmup: the loss spikes",
            bands=(
                Band(
                    CRITICAL,
                    ">",
                    10.0,
                    "loss spikes of more than 10x within the window",
                    "project, calibrated on real runs",
                ),
                Band(
                    WARNING,
                    ">",
                    3.0,
                    "loss spikes detected: the loss tripled within the window (ratio > 3)",
                    "project, calibrated on real runs (reference §9: 1.5)",
                ),
            ),
            healthy_text="max/min loss in the window <= 3",
            notes=(
                Note(
                    ">",
                    1.5,
                    "ratio > 1.5: the reference's spike bound; per-batch noise "
                    "alone reaches it at small batches (masks differ per batch)",
                    "reference §9",
                ),
            ),
            correction=Correction(
                reference_says="loss_spike_ratio (max/min loss in the window) > 1.5: spikes",
                rule="the ratio is taken over the loss's local trend (max_i loss_i / the 9-step "
                "running median around i); warning above 3, critical above 10",
                why="max/min of raw per-step losses grows with batch noise: block sizes of the "
                "masks are drawn per batch, so some batches are much harder than others. "
                "A max/min over the window also grows with the trend inside it: the unchanged "
                "demo's smoothly falling loss read 3.2 and warned at step 250. Over its "
                "trend a window reads about 1 + 3 noise CVs (batch 8: ~2.3), and a "
                "genuine spike is its own height",
            ),
        ),
    ),
    _m(
        "stability.val_train_loss_ratio",
        "train/stability/val_train_loss_ratio",
        9,
        "Held-out loss / training loss (overfitting indicator).",
        "ratio",
        AT_EVAL,
        rule=VerdictRule(
            action="Train on more data or with stronger augmentation: the held-out loss pulls away",
            statistic="growth_over_early",
            bands=(
                Band(
                    WARNING,
                    ">",
                    1.1,
                    "possible overfitting: the held-out loss pulled away from the training "
                    "loss, val/train 10% above both 1 and its value after early training",
                    "reference §9 (val/train > 1.1)",
                ),
            ),
            healthy_text="val/train within 10% of max(1, its value after early training)",
            notes=(
                Note(
                    ">", 1.1, "val/train > 1.1: the reference's overfitting bound", "reference §9"
                ),
            ),
            correction=Correction(
                reference_says="val_train_loss_ratio > 1.1: possible overfitting",
                rule="judged against the run's own ratio: warning when the recent ratio is more "
                "than 1.1x max(1, its median in the first window after early training); above "
                "1.1 by itself is a note",
                why="a small dataset's held-out loss can sit above the training loss from early "
                "on without getting worse: a healthy run on scikit-learn's digits (1,257 "
                "training images) read 1.05-1.15 from step 80 to its end while its probe rose "
                "from 1.2x to 1.4x the random-init encoder's, and warned at step 140. "
                "Overfitting is the gap growing",
            ),
        ),
    ),
)

# --------------------------------------------------------------------- §10 performance
PERFORMANCE = (
    _m(
        "performance.forward_time_ms",
        "train/performance/forward_time_ms",
        10,
        "Forward time of the step (target encoder, context encoder, predictor, loss).",
        "ms",
        EVERY_100,
    ),
    _m(
        "performance.backward_time_ms",
        "train/performance/backward_time_ms",
        10,
        "Backward time of the step.",
        "ms",
        EVERY_100,
    ),
    _m(
        "performance.total_time_ms",
        "train/performance/total_time_ms",
        10,
        "Forward + backward time.",
        "ms",
        EVERY_100,
    ),
    _m(
        "performance.samples_per_second",
        "train/performance/samples_per_second",
        10,
        "Throughput of the whole step (data, forward, backward, optimizer, EMA).",
        "samples/s",
        EVERY_100,
        correction=Correction(
            reference_says="throughput (samples/sec); forward and backward times, unsynchronised",
            rule="samples/s over the whole step; GPU timings use CUDA synchronisation",
            why="CUDA kernels run asynchronously: unsynchronised timers measure the launch, not "
            "the work, and forward + backward leave out the optimizer and EMA update",
        ),
        expected=(
            ExpectedRange(
                0.1,
                100,
                400,
                comparable=False,
                note="reference throughput is for ViT-B on an A100; it depends "
                "on hardware and model size",
            ),
        ),
    ),
    _m(
        "performance.forward_backward_ratio",
        "train/performance/forward_backward_ratio",
        10,
        "forward_time / backward_time.",
        "ratio",
        EVERY_100,
        rule=VerdictRule(
            bands=(
                Band(
                    WARNING,
                    "<",
                    0.3,
                    "backward is more than 3x the forward: check gradient computation",
                    "reference §10 (corrected)",
                ),
                Band(
                    WARNING,
                    ">",
                    8.0,
                    "forward is more than 8x the backward: unusual, check "
                    "the timing code (GPU timings need synchronisation)",
                    "project, calibrated on real runs (reference §10: 2)",
                ),
            ),
            healthy_text="ratio within 0.3-8 (JEPA's forward includes a target encoder with no "
            "backward)",
            correction=Correction(
                reference_says="ratio > 2: backward very expensive; ratio < 0.3: check timing code",
                rule="ratio < 0.3: backward very expensive; ratio > 2: check timing code",
                why="the ratio is forward / backward, so a large ratio means a cheap backward and "
                "a small one an expensive backward; the reference swapped the two. The upper "
                "bound is 8, not 2: a JEPA forward also runs the EMA target encoder on every "
                "patch, which has no backward, and the context encoder's backward covers only "
                "the visible patches; healthy tiny-demo runs on CPU measure 2.1-2.9, and on a "
                "busy machine (two other trainings on the same 2 cores) single steps read up "
                "to 9 and the recent median up to 4.8, which a bound of 4 alerted on while the "
                "run trained",
            ),
        ),
    ),
    _m(
        "performance.gpu_memory_allocated_gb",
        "train/performance/gpu_memory_allocated_gb",
        10,
        "GPU memory allocated by tensors.",
        "GB",
        EVERY_100,
        rule=VerdictRule(
            action="Find the tensors kept with their autograd history (log .item() floats, not "
            "tensors): memory grows",
            statistic="recent_over_post_warmup",
            bands=(
                Band(
                    WARNING,
                    ">",
                    1.5,
                    "allocated memory grew by more than half since early training: a memory "
                    "leak (tensors kept with their autograd history?)",
                    "project (reference §10: a memory leak)",
                ),
            ),
            healthy_text="allocated memory within 1.5x of its value after early training",
            notes=(
                Note(
                    ">",
                    40.0,
                    "more than 40 GB allocated: the reference's bound for ViT-B at batch 64 "
                    "(a larger model or batch on an 80-141 GB card is no fault)",
                    "reference §10",
                ),
            ),
            correction=Correction(
                reference_says="allocated > 40 GB: memory leak or incorrect batch size",
                rule="a leak is allocated memory growing: warning when the recent median is "
                "more than 1.5x that of the first window after early training; 40 GB is a note",
                why="a fixed 40 GB is right for one model, batch and card: a ViT-L run or a "
                "large batch on an 80-141 GB card allocates more by design and was warned. "
                "A leak shows as growth over the run (a known H-JEPA implementation grew "
                "~60 MB per batch), whatever the card",
            ),
        ),
    ),
    _m(
        "performance.gpu_memory_reserved_gb",
        "train/performance/gpu_memory_reserved_gb",
        10,
        "GPU memory reserved by the caching allocator (allocated + headroom).",
        "GB",
        EVERY_100,
    ),
)

# ------------------------------------------------------------ project: evaluation
EVALUATION = (
    _m(
        "eval.knn_top1",
        "eval/knn_top1",
        0,
        "kNN top-1 accuracy of frozen, mean-pooled target-encoder features on a labelled probe "
        "split (project addition: the representation actually learns).",
        "accuracy",
        AT_EVAL,
        origin="project",
        aliases=tuple(
            Alias(tag, _OTHER_TRAINERS)
            for tag in ("val/knn_top1", "knn_top1", "val/knn_acc", "eval/knn_acc", "knn/top1")
        )
        + (
            Alias(
                "eval/knn_probe_top1",
                STABLE_PRETRAINING,
                note="OnlineKNN(name='knn_probe'): torchmetrics' MulticlassAccuracy "
                "(macro-averaged by default) of a kNN on a queue of training embeddings",
            ),
            Alias("val_knn_top1", LIGHTLY, note="lightly's KNNClassifier top-1, a fraction"),
            Alias(
                "val_knn_acc1",
                SOLO_LEARN,
                scale=0.01,
                note="solo-learn's WeightedKNNClassifier top-1 in percent: read / 100",
            ),
            Alias(
                "online_eval/knn_accuracy",
                UPSTREAM,
                scale=0.01,
                note="upstream HEAD's online k-NN (k=20, cosine, up to 5000 queries) in "
                "percent: read / 100",
            ),
            Alias(
                "val_online_cls_top1",
                LIGHTLY,
                exact=False,
                note="lightly's OnlineLinearClassifier on frozen features: a linear probe, "
                "not a kNN",
            ),
            Alias(
                "eval/linear_probe_top1",
                STABLE_PRETRAINING,
                exact=False,
                note="OnlineProbe(name='linear_probe') on validation: a linear probe, not a kNN",
            ),
            Alias(
                "train/linear_probe_top1",
                STABLE_PRETRAINING,
                exact=False,
                note="OnlineProbe(name='linear_probe') scored on the training batches it "
                "trains on: a linear probe, not a kNN",
            ),
            Alias(
                "val_acc1",
                SOLO_LEARN,
                exact=False,
                scale=0.01,
                scope=(SOLO_LEARN,),
                note="solo-learn's online linear classifier on validation, in percent: a "
                "linear probe, not a kNN; read / 100",
            ),
            Alias(
                "perf/test_acc1",
                MAE_STYLE,
                exact=False,
                scale=0.01,
                note="MAE's perf/test_acc1: a linear probe's or fine-tuned model's top-1 in "
                "percent, not a kNN; read / 100",
            ),
        ),
    ),
    _m(
        "eval.knn_top1_random_init",
        "eval/knn_top1_random_init",
        0,
        "The same kNN probe on a random-init encoder of the same architecture: the baseline "
        "eval/knn_top1 must beat (project addition).",
        "accuracy",
        ONCE,
        origin="project",
    ),
    _m(
        "eval.num_classes",
        "eval/num_classes",
        0,
        "Classes of the labelled probe split: chance for the kNN probe is 1 / classes (project "
        "addition).",
        "classes",
        ONCE,
        origin="project",
    ),
    _m(
        "eval.probe_queries",
        "eval/probe_queries",
        0,
        "Labelled queries the kNN probe is scored on (project addition: a probe's accuracy "
        "on n queries has a binomial standard error sqrt(p(1-p)/n), which the probe lights "
        "judge against).",
        "queries",
        ONCE,
        origin="project",
    ),
    _m(
        "eval.val_loss",
        "val/loss/total",
        0,
        "Total loss on the held-out split, same masks policy as training (project addition: "
        "the numerator of val_train_loss_ratio).",
        "loss",
        AT_EVAL,
        origin="project",
    ),
)

# ------------------------------------------------------------ project: online health
HEALTH = (
    _m(
        "health.alert",
        "train/health/alert",
        0,
        "Text written by the online health checks (hjepa_trainer.health) when a check finds a "
        "new warning, collapse or critical verdict: the status, the new lights, the firing "
        "flowchart branches with their actions (project addition; shown in TensorBoard's Text "
        "dashboard).",
        "",
        Frequency(0, "at an online health check that finds a new problem"),
        kind="text",
        origin="project",
    ),
    _m(
        "health.status",
        "train/health/status",
        0,
        "The online checks' overall status at each check, as its rank: 0 unknown, 1 healthy, "
        "2 warning, 3 collapse, 4 critical (project addition: the verdict through the run, "
        "the tab's timeline).",
        "status rank",
        Frequency(0, "at each online health check"),
        origin="project",
    ),
    _m(
        "health.healthy_checkpoint_step",
        "train/health/healthy_checkpoint_step",
        0,
        "Step of the last checkpoint written while the online verdict was healthy (project "
        "addition: hjepa-train keeps it as checkpoint_healthy.pt, what to go back to after a "
        "collapse with hjepa-train --resume --from-healthy).",
        "step",
        Frequency(0, "at each checkpoint written while the online verdict is healthy"),
        origin="project",
    ),
)

METRICS = (
    LOSS
    + EMA
    + MASKING
    + PREDICTION
    + COLLAPSE_METRICS
    + GRADIENTS
    + LEARNING_RATE
    + HIERARCHY
    + STABILITY
    + PERFORMANCE
    + EVALUATION
    + HEALTH
)

# Upstream tags whose meaning matches none of the reference's metrics: they are
# charted under their own name, never judged.
UNMAPPED_UPSTREAM_TAGS = {
    "train/context_std": "context-encoder features; every collapse metric of the reference is "
    "about target features",
    "train/context_norm": "context-encoder features; the reference's feat_norm is about targets",
    "train/context_rank": "context-encoder features; the reference's rank is about targets",
    "train/context_eff_rank": "upstream HEAD's context-encoder rank; the reference's rank is "
    "about targets",
    "train/sigreg_loss": "upstream HEAD's SIGReg regulariser (SIGReg mode): the reference has "
    "no regulariser term",
    "train/vicreg_h{i}": "upstream HEAD's VICReg regulariser of level i (VICReg mode): the "
    "reference has no regulariser term",
}
