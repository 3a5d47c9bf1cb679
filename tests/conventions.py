"""Logs in other codebases' naming conventions, written with torch's own SummaryWriter.

Each convention writes the tags its codebase writes (looked up in its sources; see the
catalogue's ``conventions``), at a frequency like its defaults, with
``torch.utils.tensorboard.SummaryWriter.add_scalar`` as those codebases (or PyTorch
Lightning's TensorBoardLogger) do. Two kinds of run:

- ``healthy``: the loss falls, the EMA momentum follows its schedule, the collapse
  signals the codebase logs stay where healthy runs sit, the probe rises;
- ``collapsing``: from ``COLLAPSE_AT`` of the run on, within a tenth of it, every
  collapse signal the codebase logs goes where a collapsed run's goes (an effective rank
  to ~1, a target std to ~0, a probe to chance) and the loss drops fast.

API::

    from tests import conventions
    run_dir = conventions.write(logdir, "solo_learn", "collapsing")
    runs = conventions.write_all(logdir)     # {run name: (convention, kind)}
    conventions.SIGNALS["lightly"]           # "probe": what its collapsing run shows
    conventions.write_unrelated(logdir)      # a classifier's scalars: no H-JEPA run

Values are deterministic for a given seed.
"""

import math
import os
from typing import Callable, Dict, Optional, Tuple

import numpy as np
from torch.utils.tensorboard import SummaryWriter

STEPS = 1000  # training steps (MAE-style: 10 epochs of 1000 epoch_1000x units)
LOG_EVERY = 10  # Lightning's log_every_n_steps in these runs; fairseq's log_interval
VAL_EVERY = 50  # validation (probes, RankMe) every so many steps
EPOCH = 100  # steps per epoch (Lightning's *_epoch twins, the "epoch" scalar)
COLLAPSE_AT = 0.55  # fraction of the run where a collapsing run starts to collapse
CLASSES = 10  # classes of the probes: chance is 0.1
KINDS = ("healthy", "collapsing")


# ----------------------------------------------------------------------------- curves
def _noisy(values: np.ndarray, rng: np.random.Generator, cv: float = 0.03) -> np.ndarray:
    """Multiplicative noise: a curve's noise shrinks with it, as a loss's does."""
    return values * (1.0 + cv * rng.standard_normal(values.shape))


def _collapse(kind: str, steps: np.ndarray, healthy: np.ndarray, collapsed: float) -> np.ndarray:
    """The healthy curve, or for a collapsing run one that moves geometrically to
    ``collapsed`` between COLLAPSE_AT and COLLAPSE_AT + 0.1 of the run."""
    if kind == "healthy":
        return healthy
    t = np.clip((steps / STEPS - COLLAPSE_AT) / 0.1, 0.0, 1.0)
    if collapsed > 0 and np.all(healthy > 0):
        return np.exp((1 - t) * np.log(healthy) + t * math.log(collapsed))
    return (1 - t) * healthy + t * collapsed


def loss(kind, steps, rng, start=1.0, end=0.3):
    """A JEPA-like loss: a fast first drop, then slowly down; a collapsing run's drops to a
    twentieth (the targets became trivial)."""
    healthy = end + (start - end) * np.exp(-steps / (0.12 * STEPS))
    return _noisy(_collapse(kind, steps, healthy, end / 20.0), rng)


def rank(kind, steps, rng, init=150.0, settled=80.0):
    """An effective rank: falls from its random-init value early, then holds; a
    collapsing run's goes to ~1 direction."""
    healthy = settled + (init - settled) * np.exp(-steps / (0.07 * STEPS))
    return _noisy(_collapse(kind, steps, healthy, 1.05), rng, 0.02)


def std(kind, steps, rng, healthy_value, collapsed=1e-4):
    """A per-dimension std: steady in a healthy run, to ~0 in a collapsing one."""
    healthy = np.full(steps.shape, float(healthy_value))
    return _noisy(_collapse(kind, steps, healthy, collapsed), rng, 0.02)


def probe(kind, steps, rng, start=0.2, end=0.7):
    """A probe's top-1 (a fraction): rises; a collapsing run's falls to chance."""
    healthy = end - (end - start) * np.exp(-steps / (0.3 * STEPS))
    value = _collapse(kind, steps, healthy, 1.0 / CLASSES)
    return np.clip(value + 0.005 * rng.standard_normal(steps.shape), 0.0, 1.0)


def momentum(steps, start=0.996, end=1.0):
    """The EMA momentum on its linear schedule (I-JEPA's 0.996 -> 1.0)."""
    return start + (end - start) * steps / STEPS


def learning_rate(steps, peak=1e-3, warmup=0.1, final=1e-5):
    """Linear warmup from 0, then cosine to ``final``."""
    w = warmup * STEPS
    after = np.clip((steps - w) / (STEPS - w), 0.0, 1.0)
    cos = final + 0.5 * (peak - final) * (1 + np.cos(np.pi * after))
    return np.where(steps < w, peak * steps / w, cos)


# ---------------------------------------------------------------------------- writing
class _Run:
    """A torch SummaryWriter with helpers for Lightning's twins and its "epoch" scalar."""

    def __init__(self, run_dir: str):
        self.writer = SummaryWriter(run_dir, flush_secs=3600)
        self.run_dir = run_dir

    def add(self, tag: str, steps: np.ndarray, values: np.ndarray) -> None:
        for step, value in zip(steps.tolist(), np.asarray(values, dtype=float).tolist()):
            self.writer.add_scalar(tag, value, int(step))

    def lightning(self, key: str, steps: np.ndarray, values: np.ndarray) -> None:
        """``self.log(key, on_step=True, on_epoch=True)``: ``key_step`` at each logged step,
        ``key_epoch`` (the epoch's mean) at each epoch's last step."""
        self.add(key + "_step", steps, values)
        ends = np.arange(EPOCH - 1, STEPS, EPOCH)
        means = [np.mean(values[(steps > end - EPOCH) & (steps <= end)]) for end in ends]
        self.add(key + "_epoch", ends, np.array(means))

    def epochs(self, steps: np.ndarray) -> None:
        """Lightning's TensorBoardLogger writes the current epoch beside the metrics."""
        self.add("epoch", steps, steps // EPOCH)

    def close(self) -> None:
        self.writer.close()


def _steps(every: int, start: int = 0) -> np.ndarray:
    return np.arange(start, STEPS, every, dtype=np.int64)


def _stable_pretraining(run: _Run, kind: str, rng) -> None:
    """stable-pretraining's I-JEPA benchmark: self.log(f"{stage}/loss", on_step=True,
    on_epoch=True), TeacherStudentCallback(verbose=True), RankMe and OnlineKNN callbacks,
    an OnlineProbe, LearningRateMonitor(logging_interval="step")."""
    s, v = _steps(LOG_EVERY), _steps(VAL_EVERY, VAL_EVERY - 1)
    run.lightning("fit/loss", s, loss(kind, s, rng))
    run.add("lr-AdamW", s, learning_rate(s))
    run.add("teacher_student/ema_coefficient", s, momentum(s))
    run.add("rankme", v, rank(kind, v, rng, init=500.0, settled=300.0))
    run.add("eval/knn_probe_top1", v, probe(kind, v, rng))
    run.lightning("train/linear_probe_top1", s, probe(kind, s, rng, end=0.75))
    run.lightning("train/linear_probe_loss", s, loss("healthy", s, rng, start=2.3, end=1.0))
    run.add("eval/linear_probe_top1", v, probe(kind, v, rng, end=0.75))
    run.epochs(s)


def _lightly(run: _Run, kind: str, rng) -> None:
    """lightly's benchmarks: self.log("train_loss"), OnlineLinearClassifier and
    KNNClassifier (fractions), LearningRateMonitor."""
    s, v = _steps(LOG_EVERY), _steps(VAL_EVERY, VAL_EVERY - 1)
    run.add("train_loss", s, loss(kind, s, rng, start=3.5, end=0.8))
    run.add("train_online_cls_loss", s, loss("healthy", s, rng, start=2.3, end=1.1))
    run.add("train_online_cls_top1", s, probe(kind, s, rng, end=0.65))
    run.add("val_online_cls_loss", v, loss("healthy", v, rng, start=2.3, end=1.2))
    run.add("val_online_cls_top1", v, probe(kind, v, rng, end=0.62))
    run.add("val_knn_top1", v, probe(kind, v, rng))
    run.add("val_knn_top5", v, np.minimum(1.0, probe(kind, v, rng) + 0.2))
    run.add("lr-LARS", s, learning_rate(s, peak=4.8))
    run.epochs(s)


def _solo_learn(run: _Run, kind: str, rng) -> None:
    """solo-learn's BYOL: log_dict(on_epoch=True) in training_step (so _step and _epoch
    twins), self.log("tau"), validation accuracies in percent, LearningRateMonitor."""
    s, v = _steps(LOG_EVERY), _steps(VAL_EVERY, VAL_EVERY - 1)
    run.lightning("train_neg_cos_sim", s, -4.0 + loss(kind, s, rng, start=3.0, end=0.4))
    run.lightning("train_z_std", s, std(kind, s, rng, 0.045))
    run.lightning("train_class_loss", s, loss("healthy", s, rng, start=2.3, end=1.0))
    run.lightning("train_acc1", s, 100.0 * probe(kind, s, rng, end=0.65))
    run.add("tau", s, momentum(s, start=0.99))
    run.add("val_loss", v, loss("healthy", v, rng, start=2.3, end=1.1))
    run.add("val_acc1", v, 100.0 * probe(kind, v, rng, end=0.62))
    run.add("val_knn_acc1", v, 100.0 * probe(kind, v, rng))
    run.add("val_knn_acc5", v, np.minimum(100.0, 100.0 * probe(kind, v, rng) + 20.0))
    run.add("lr-LARS", s, learning_rate(s, peak=1.0))
    run.epochs(s)


def _data2vec(run: _Run, kind: str, rng) -> None:
    """fairseq's data2vec 2.0, the train_inner run: fairseq's loss, lr, gnorm, ... and the
    model's target_var, pred_var and ema_decay (x1000) every log_interval updates."""
    s = _steps(LOG_EVERY, LOG_EVERY)
    run.add("loss", s, loss(kind, s, rng, start=2.0, end=0.5))
    run.add("lr", s, learning_rate(s, peak=5e-4))
    run.add("ema_decay", s, 1000.0 * momentum(s, start=0.9998, end=0.99999))
    run.add("target_var", s, std(kind, s, rng, 0.65, collapsed=1e-3))
    run.add("pred_var", s, std(kind, s, rng, 0.5, collapsed=5e-4))
    run.add("gnorm", s, _noisy(np.full(s.shape, 0.6), rng, 0.1))
    run.add("loss_scale", s, np.full(s.shape, 64.0))
    run.add("wps", s, _noisy(np.full(s.shape, 5e4), rng, 0.05))
    run.add("ups", s, _noisy(np.full(s.shape, 3.0), rng, 0.05))
    run.add("bsz", s, np.full(s.shape, 256.0))


def _upstream_head(run: _Run, kind: str, rng) -> None:
    """The upstream H-JEPA at HEAD in SIGReg mode, log_frequency 2 (its default 100 logs
    every 500 batches): train/ metrics every 10 steps, the collapse metrics every 20 (a
    rank of -1 where SVD was not available), online k-NN in percent every 100."""
    s, c, e = _steps(LOG_EVERY), _steps(2 * LOG_EVERY), _steps(EPOCH, EPOCH - 1)
    jepa = loss(kind, s, rng)
    sigreg = _noisy(np.full(s.shape, 0.05), rng, 0.1)
    run.add("train/loss", s, jepa + 0.1 * sigreg)
    run.add("train/jepa_loss", s, jepa)
    run.add("train/sigreg_loss", s, sigreg)
    for level, share in enumerate((0.5, 0.3, 0.2)):
        run.add("train/loss_h%d" % level, s, share * loss(kind, s, rng))
    run.add("train/loss_unweighted", s, loss(kind, s, rng, start=0.5, end=0.15))
    run.add("train/lr", s, learning_rate(s))
    run.add("train/ema_momentum", s, momentum(s))
    run.add("train/memory_cpu_allocated_gb", s, np.full(s.shape, 1.5))
    run.add("train/target_std", c, std(kind, c, rng, 0.9, collapsed=1e-3))
    run.add("train/target_norm", c, std("healthy", c, rng, 27.0))
    target_rank = rank(kind, c, rng, init=95.0, settled=60.0)
    target_rank[0] = -1.0  # not computed (the device had no SVD)
    run.add("train/target_eff_rank", c, target_rank)
    run.add("train/context_std", c, std(kind, c, rng, 0.8, collapsed=1e-3))
    run.add("train/context_eff_rank", c, rank(kind, c, rng, init=95.0, settled=55.0))
    run.add("online_eval/knn_accuracy", e, 100.0 * probe(kind, e, rng))


def _lightning_hjepa(run: _Run, kind: str, rng) -> None:
    """A hierarchical JEPA LightningModule: self.log("fit/loss") and
    self.log(f"fit/loss_level{L}") with on_step and on_epoch, one optimizer param group
    per level named level{L} (LearningRateMonitor: lr-AdamW/level{L})."""
    s = _steps(LOG_EVERY)
    levels = [share * loss(kind, s, rng) for share in (0.5, 0.3, 0.2)]
    run.lightning("fit/loss", s, sum(levels))
    for level, curve in enumerate(levels):
        run.lightning("fit/loss_level%d" % level, s, curve)
        run.add("lr-AdamW/level%d" % level, s, learning_rate(s) * 0.5**level)
    run.epochs(s)


def _mae(run: _Run, kind: str, rng) -> None:
    """An MAE-style loop: train_loss and lr at epoch_1000x (1000 units per epoch, written
    every 20 iterations of 100 per epoch), perf/test_acc1 (percent) at each epoch's end."""
    x = np.arange(0, 10 * 1000, 200, dtype=np.int64)  # epoch_1000x
    t = x * STEPS // 10_000  # the curves' progress, in this module's steps
    run.add("train_loss", x, loss(kind, t, rng, start=0.9, end=0.4))
    run.add("lr", x, learning_rate(t, peak=1.5e-4))
    ends = np.arange(1000, 10_001, 1000, dtype=np.int64)
    te = ends * STEPS // 10_000
    run.add("perf/test_acc1", ends, 100.0 * probe(kind, te, rng))
    run.add("perf/test_acc5", ends, np.minimum(100.0, 100.0 * probe(kind, te, rng) + 20.0))
    run.add("perf/test_loss", ends, loss("healthy", te, rng, start=2.3, end=1.1))


def _lightning_reference(run: _Run, kind: str, rng) -> None:
    """A LightningModule logging the reference's own tags with self.log(tag,
    on_step=True, on_epoch=True): every tag comes as its _step and _epoch twins."""
    s, c = _steps(LOG_EVERY), _steps(2 * LOG_EVERY)
    run.lightning("train/loss/total", s, loss(kind, s, rng))
    run.lightning("train/ema/momentum_current", s, momentum(s))
    run.lightning("train/collapse/level0_mean_std_per_dim", c, std(kind, c, rng, 0.03))
    run.lightning("train/collapse/level0_effective_rank", c, rank(kind, c, rng))
    similarity = _collapse(kind, c, np.full(c.shape, 0.5), 0.999)
    run.lightning("train/collapse/level0_mean_similarity", c, similarity)
    run.add("lr-AdamW", s, learning_rate(s))
    run.epochs(s)


def _lightning_plain(run: _Run, kind: str, rng) -> None:
    """A plain LightningModule: self.log("train_loss", ...) and the defaults
    (LearningRateMonitor, the epoch): only a loss, no collapse signal."""
    s = _steps(LOG_EVERY)
    run.add("train_loss", s, loss(kind, s, rng))
    run.add("lr-Adam", s, learning_rate(s))
    run.epochs(s)


_WRITERS: Dict[str, Tuple[Callable, Optional[str]]] = {
    "stable_pretraining": (_stable_pretraining, None),
    "lightly": (_lightly, None),
    "solo_learn": (_solo_learn, None),
    "data2vec": (_data2vec, "train_inner"),  # fairseq: one TensorBoard run per stage
    "upstream_head": (_upstream_head, None),
    "lightning_hjepa": (_lightning_hjepa, None),
    "mae": (_mae, None),
    "lightning_reference": (_lightning_reference, None),
    "lightning_plain": (_lightning_plain, None),
}
NAMES = tuple(_WRITERS)

# The collapse signal each convention's collapsing run carries (None: its codebase logs
# none: only a loss, learning rates, per-level losses).
SIGNALS = {
    "stable_pretraining": "rank",  # rankme, and its probes to chance
    "lightly": "probe",
    "solo_learn": "std",  # train_z_std, and its probes to chance
    "data2vec": "std",  # target_var
    "upstream_head": "rank",  # train/target_eff_rank, target_std, and its k-NN to chance
    "lightning_hjepa": None,
    "mae": "probe",
    "lightning_reference": "rank",  # and the std to ~0, the similarity to 1
    "lightning_plain": None,
}

# The catalogue convention each is recognised as (the health answer's "convention").
RECOGNISED_AS = {
    "stable_pretraining": "stable-pretraining",
    "lightly": "lightly benchmarks",
    "solo_learn": "solo-learn",
    "data2vec": "fairseq data2vec",
    "upstream_head": "upstream H-JEPA implementation",
    "lightning_hjepa": "hierarchical JEPA in PyTorch Lightning",
    "mae": "MAE-style loop",
    "lightning_reference": "the reference's tags, logged through PyTorch Lightning",
    "lightning_plain": "PyTorch Lightning",
}


def run_name(convention: str, kind: str) -> str:
    """The TensorBoard run name ``write`` gives (data2vec's is its train_inner stage)."""
    sub = _WRITERS[convention][1]
    return "%s_%s" % (convention, kind) + ("/" + sub if sub else "")


def write(logdir: str, convention: str, kind: str, *, seed: int = 0) -> str:
    """Write one run of ``convention`` (one of NAMES) and ``kind`` (one of KINDS).

    Returns:
      The run's directory (``logdir/run_name(convention, kind)``).

    Raises:
      ValueError: an unknown convention or kind.
    """
    if convention not in _WRITERS:
        raise ValueError("unknown convention %r; expected one of %r" % (convention, NAMES))
    if kind not in KINDS:
        raise ValueError("unknown kind %r; expected one of %r" % (kind, KINDS))
    run_dir = os.path.join(logdir, run_name(convention, kind))
    run = _Run(run_dir)
    try:
        _WRITERS[convention][0](run, kind, np.random.default_rng(seed))
    finally:
        run.close()
    return run_dir


def write_all(logdir: str) -> Dict[str, Tuple[str, str]]:
    """Every convention's healthy and collapsing run: ``{run name: (convention, kind)}``."""
    runs = {}
    for i, convention in enumerate(NAMES):
        for kind in KINDS:
            write(logdir, convention, kind, seed=i)
            runs[run_name(convention, kind)] = (convention, kind)
    return runs


def write_unrelated(logdir: str, name: str = "classifier", tags: int = 25) -> str:
    """A supervised classifier's scalars (``Loss/train``, ``Accuracy/val``, ...): no tag
    the catalogue knows, so no H-JEPA run."""
    run_dir = os.path.join(logdir, name)
    writer = SummaryWriter(run_dir, flush_secs=3600)
    try:
        for step in range(0, 100, 10):
            writer.add_scalar("Loss/train", 1.0 / (1 + step), step)
            writer.add_scalar("Accuracy/val", step / 100.0, step)
            for i in range(tags - 2):
                writer.add_scalar("layer%02d/weight_norm" % i, 1.0 + i, step)
    finally:
        writer.close()
    return run_dir
