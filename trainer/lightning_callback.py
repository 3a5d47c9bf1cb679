"""H-JEPA health metrics and online checks in PyTorch Lightning: ``HJepaHealth``.

A LightningModule keeps its own training; two things connect it to this project:

1. ``training_step`` returns ``{"loss": loss, "hjepa": JepaStep(...)}``: the step's
   per-level losses, predictions, targets and features (what ``HJepaMetrics`` measures);
2. ``Trainer(callbacks=[HJepaHealth(...)])``.

The callback then writes every catalogue metric at the reference's frequencies into the
run directory of Lightning's TensorBoard logger (one run in TensorBoard, beside the
module's own ``self.log`` curves), runs the online checks every ``every`` steps, and
stops the trainer on ``stop_on`` with a checkpoint (``stopped`` says why; the example
exits with status 3).

Where each measure is taken, in Lightning's order of hooks:

- the gradients in ``on_before_optimizer_step``: after backward, before Lightning's
  own clipping (``gradient_clip_val``), which would rescale what the norms report;
- the norm after clipping, the parameter update, the EMA metrics and the level metrics
  in ``on_train_batch_end``, after the optimizer step (the gradients are still there);
- the step index in ``on_train_batch_start`` (``trainer.global_step`` counts optimizer
  steps and is one higher in ``on_train_batch_end``).

Resuming (``trainer.fit(ckpt_path=...)``) reloads the metric windows from the checkpoint
and the online checks' history from the run's event files.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Callable, Dict, List, Mapping, Optional, Sequence

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import TensorBoardLogger

from tensorboard_plugin_hjepa.metadata import TEACHER_EMA
from tensorboard_plugin_hjepa.summary import RunManifest, SummaryWriter

from .health import Alert, HealthMonitor
from .metrics import FrequencyPolicy, HJepaMetrics, StepTimer, global_grad_norm

OUTPUT_KEY = "hjepa"  # the key of training_step's returned dict that holds the JepaStep
PARTS = ("context_encoder", "predictor", "target_encoder")


@dataclasses.dataclass
class JepaStep:
    """What one training step hands to ``HJepaHealth`` (return it under ``"hjepa"``).

    Per level ``i``: ``preds[i]`` and ``targets[i]`` are ``(M_i, D)`` predictions and
    targets at the predicted positions only; ``features[i]`` is ``(N_i, D)`` target
    features of all the level's grid cells; ``cells[i]`` the level's number of cells.

    Attributes:
        level_losses: the unweighted loss of each level (tensors or floats).
        preds, targets, features, cells: as above (detached or not).
        target_features: the target tensor of the forward pass: the stop-gradient's
            signal. When it requires grad (no stop-gradient), call
            ``target_features.retain_grad()`` in ``training_step``. None: unknown.
        num_context, num_target, num_patches: the mask sizes (``num_target`` counts a
            sample's target patches with overlapping blocks once).
        ema_momentum: the EMA momentum used after this step; None without a teacher.
        batch_size: the step's samples (default: the first dimension of
            ``target_features``): the throughput.
    """

    level_losses: Sequence
    preds: Sequence[torch.Tensor]
    targets: Sequence[torch.Tensor]
    features: Sequence[torch.Tensor]
    cells: Sequence[int]
    target_features: Optional[torch.Tensor] = None
    num_context: Optional[int] = None
    num_target: Optional[int] = None
    num_patches: Optional[int] = None
    ema_momentum: Optional[float] = None
    batch_size: Optional[int] = None


class HJepaHealth(pl.Callback):
    """Catalogue metrics and online health checks for a JEPA LightningModule.

    Args:
        hierarchy_weights: the configured loss weight of each level.
        embed_dim: D of the features (collapse bounds are relative to it).
        patch_grid: [H, W] of the patch grid (optional, shown in the tab).
        every: steps between online checks.
        stop_on: None, "warning", "collapse" or "critical": stop the trainer (with a
            checkpoint) when a check's overall status is at least this severe.
        log_frequency: the reference's "every 100 steps" (other intervals scale with it).
        window: steps in the loss, clipping and convergence windows.
        parts: catalogue part -> the module's attribute holding it (the three of
            ``PARTS``; the target encoder is the EMA teacher).
        ema_momentum_target: the momentum's final value (for the EMA lights).
        probe: ``probe(module) -> kNN top-1`` on a fixed held-out set, run before the
            first step (the random-init baseline) and every ``probe_every`` steps.
        probe_classes, probe_queries: the probe's classes and scored queries (chance
            and its standard error); both needed with ``probe``.
        probe_every: steps between probes (default: ``every``).
        val_loss_key: the ``self.log`` key of the module's validation loss, read after
            each validation (the val/train loss ratio).
        manifest: more ``RunManifest`` fields (``mask_ratio_expected``, ``teacher``...).
        logdir: where to write; default: the TensorBoard logger's run directory, else
            ``<default_root_dir>/hjepa``.
        say: called with each alert line (default: stderr).
    """

    def __init__(
        self,
        *,
        hierarchy_weights: Sequence[float],
        embed_dim: int,
        patch_grid: Optional[Sequence[int]] = None,
        every: int = 100,
        stop_on: Optional[str] = "collapse",
        log_frequency: int = 100,
        window: int = 100,
        parts: Optional[Mapping[str, str]] = None,
        ema_momentum_target: float = 1.0,
        probe: Optional[Callable[[pl.LightningModule], float]] = None,
        probe_classes: Optional[int] = None,
        probe_queries: Optional[int] = None,
        probe_every: Optional[int] = None,
        val_loss_key: str = "val_loss",
        manifest: Optional[Mapping] = None,
        logdir: Optional[str] = None,
        say: Optional[Callable[[str], None]] = None,
    ) -> None:
        if probe is not None and not (probe_classes and probe_queries):
            raise ValueError("probe needs probe_classes and probe_queries (chance, its noise)")
        self.weights = [float(w) for w in hierarchy_weights]
        self.embed_dim = embed_dim
        self.patch_grid = list(patch_grid) if patch_grid else None
        self.every = every
        self.stop_on = stop_on
        self.policy = FrequencyPolicy(log_frequency=log_frequency)
        self.window = window
        self.part_attrs = dict(parts or {p: p for p in PARTS})
        self.ema_momentum_target = ema_momentum_target
        self.probe = probe
        self.probe_classes, self.probe_queries = probe_classes, probe_queries
        self.probe_every = probe_every or every
        self.val_loss_key = val_loss_key
        self.manifest_extra = dict(manifest or {})
        self.logdir = logdir
        self.say = say
        self.stopped: Optional[Alert] = None  # the alert that stopped the trainer
        self.stop_checkpoint: Optional[str] = None  # the checkpoint written then
        self.monitor: Optional[HealthMonitor] = None
        self.metrics: Optional[HJepaMetrics] = None
        self._writer: Optional[SummaryWriter] = None
        self._restored: Optional[dict] = None  # metric windows from a checkpoint
        self._step = 0
        self._last: Optional[JepaStep] = None
        self._pre_clip = float("nan")
        self._stepped = False
        self._total: Optional[int] = None  # the run's optimizer steps, from on_fit_start
        self._timer: Optional[StepTimer] = None
        self._original_training_step = None

    # -- set-up ------------------------------------------------------------------------
    def run_dir(self, trainer: pl.Trainer) -> str:
        """The directory the metrics go to (the TensorBoard logger's run, if there is one)."""
        if self.logdir:
            return self.logdir
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                return logger.log_dir
        return os.path.join(trainer.default_root_dir, "hjepa")

    def _manifest(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> RunManifest:
        fields = {
            "num_levels": len(self.weights),
            "hierarchy_weights": self.weights,
            "embed_dim": self.embed_dim,
            "patch_grid": self.patch_grid,
            "total_steps": self._total,
            "collapse_rows": 4 * self.embed_dim,
            "stop_gradient": True,
            "teacher": TEACHER_EMA,
            "trainer": f"lightning ({type(pl_module).__name__})",
        }
        fields.update(self.manifest_extra)
        return RunManifest(**fields)

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._wrap_training_step(pl_module)
        self._total = _total_steps(trainer)
        if not trainer.is_global_zero:
            return  # one writer per run; the other ranks only follow the stop decision
        manifest = self._manifest(trainer, pl_module)
        run_dir = self.run_dir(trainer)
        os.makedirs(run_dir, exist_ok=True)
        self._writer = SummaryWriter(run_dir, manifest=manifest)
        self.monitor = HealthMonitor(
            manifest,
            writer=self._writer,
            run=run_dir,
            every=self.every,
            stop_on=self.stop_on,
            say=self.say,
        )
        self.metrics = HJepaMetrics(
            self.monitor,
            hierarchy_weights=self.weights,
            embed_dim=self.embed_dim,
            window=self.window,
            policy=self.policy,
        )
        self._timer = StepTimer(pl_module.device)
        if self._restored is not None:  # trainer.fit(ckpt_path=...): the run goes on
            self.metrics.load_state_dict(self._restored)
            self.monitor.resume(run_dir, trainer.global_step)
        elif self.probe is not None:
            self.metrics.log_probe_setup(
                0,
                num_classes=self.probe_classes,
                num_queries=self.probe_queries,
                knn_top1_random_init=self._run_probe(pl_module),
            )

    def _wrap_training_step(self, pl_module: pl.LightningModule) -> None:
        """Keep the step's ``JepaStep`` before Lightning sees the output.

        The gradient metrics are taken in ``on_before_optimizer_step``, which gets no
        outputs; and ``target_features.grad`` must be read on the very tensor of the
        forward pass. The ``"hjepa"`` entry is removed from what Lightning receives.
        """
        original = pl_module.training_step
        self._original_training_step = original

        def training_step(*args, **kwargs):
            out = original(*args, **kwargs)
            if isinstance(out, Mapping) and OUTPUT_KEY in out:
                self._last = out[OUTPUT_KEY]
                out = {k: v for k, v in out.items() if k != OUTPUT_KEY}
            return out

        pl_module.training_step = training_step  # an instance attribute: Lightning looks it up

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._original_training_step is not None:
            del pl_module.training_step  # the class's method again
            self._original_training_step = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # -- every step --------------------------------------------------------------------
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._step = trainer.global_step
        self._last = None
        self._stepped = False  # set when this batch ends in an optimizer step
        if self._timer is not None:
            self._timer.reset()
            self._timer.mark()

    def on_before_backward(self, trainer, pl_module, loss) -> None:
        if self._timer is not None:
            self._timer.mark()  # forward done

    def on_after_backward(self, trainer, pl_module) -> None:
        if self._timer is not None:
            self._timer.mark()  # backward done

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        if self.metrics is None or self._last is None:
            return
        step, out, m = self._step, self._last, self.metrics
        self._stepped = True
        last = self._is_last()
        params = _trainable(optimizer)
        self._pre_clip = global_grad_norm(params)
        m.log_losses(step, [float(torch.as_tensor(v).detach()) for v in out.level_losses])
        m.log_gradients(
            step,
            parts=self._parts(pl_module),
            global_norm=self._pre_clip,
            target_features=out.target_features,
            last_step=last,
        )
        m.log_schedule(step, optimizer, last_step=last)
        m.begin_update(step, params, last_step=last)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        stop = False
        # With gradient accumulation only the batch that ends in an optimizer step counts
        # (its micro-batch's tensors stand for the step).
        if self.metrics is not None and self._last is not None and self._stepped:
            stop = self._after_step(trainer, pl_module)
        if trainer.world_size > 1 and self._check_due():  # every rank stops together
            stop = trainer.strategy.reduce_boolean_decision(stop, all=False)
        if stop and not trainer.should_stop:
            trainer.should_stop = True
            if trainer.is_global_zero:
                path = os.path.join(self.run_dir(trainer), "checkpoint_health_stop.ckpt")
                trainer.save_checkpoint(path)
                self.stop_checkpoint = path

    def _after_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> bool:
        """The metrics measured after the optimizer step, then the online check."""
        step, out, m = self._step, self._last, self.metrics
        last = self._is_last()
        params = _trainable(trainer.optimizers[0]) if trainer.optimizers else []
        # Lightning clipped after our gradient hook: the norm of what the optimizer used.
        m.log_clipping(step, self._pre_clip, global_grad_norm(params))
        m.end_update(step, params)
        parts = self._parts(pl_module)
        if out.ema_momentum is not None:
            m.log_ema(
                step,
                context_encoder=parts["context_encoder"],
                target_encoder=parts["target_encoder"],
                momentum=float(out.ema_momentum),
                momentum_target=self.ema_momentum_target,
                last_step=last,
            )
        if out.num_target is not None and out.num_patches:
            m.log_masks(
                step,
                num_context=out.num_context or 0,
                num_target=out.num_target,
                num_patches=out.num_patches,
                last_step=last,
            )
        if m.levels_due(step, last_step=last):
            m.log_levels(
                step,
                preds=[p.detach().reshape(-1, p.shape[-1]) for p in out.preds],
                targets=[t.detach().reshape(-1, t.shape[-1]) for t in out.targets],
                features=[f.detach().reshape(-1, f.shape[-1]) for f in out.features],
                cells=list(out.cells),
                last_step=last,
            )
        m.count_samples(_batch_size(out) * trainer.world_size)
        m.log_performance(step, timer=self._timer, device=pl_module.device, last_step=last)
        if self.probe is not None and (step > 0 and step % self.probe_every == 0 or last):
            m.log_eval(step, knn_top1=self._run_probe(pl_module))
            m.restart_throughput()
        self._last = None
        # The last step is always checked: the end-of-training probe lights judge it.
        alert = self.monitor.check(step) if last else self.monitor.maybe_check(step)
        if alert is not None and alert.stop:
            self.stopped = alert
            return True
        return False

    # -- validation and probes -----------------------------------------------------------
    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.metrics is None or trainer.sanity_checking:
            return
        value = trainer.callback_metrics.get(self.val_loss_key)
        if value is not None:
            self.metrics.log_eval(self._step, val_loss=float(value))
            self.metrics.restart_throughput()

    def _run_probe(self, pl_module: pl.LightningModule) -> float:
        was_training = pl_module.training
        pl_module.eval()
        try:
            with torch.no_grad():
                return float(self.probe(pl_module))
        finally:
            pl_module.train(was_training)

    # -- checkpoints -------------------------------------------------------------------
    def state_dict(self) -> Dict:
        return self.metrics.state_dict() if self.metrics is not None else {}

    def load_state_dict(self, state_dict: Dict) -> None:
        self._restored = dict(state_dict) or None

    # -- helpers -----------------------------------------------------------------------
    def _parts(self, pl_module: pl.LightningModule) -> Dict[str, torch.nn.Module]:
        return {part: getattr(pl_module, attr) for part, attr in self.part_attrs.items()}

    def _is_last(self) -> bool:
        return self._total is not None and self._step + 1 >= self._total

    def _check_due(self) -> bool:
        # HealthMonitor.due's schedule, known on every rank (only rank 0 has a monitor).
        return self._step > 0 and self._step % self.every == 0 or self._is_last()


def _total_steps(trainer: pl.Trainer) -> Optional[int]:
    """The run's optimizer steps, or None when it is open-ended: no max_steps/epochs
    (infinite), or an endless dataset without max_steps (Lightning answers -1)."""
    total = trainer.estimated_stepping_batches
    return int(total) if math.isfinite(total) and total > 0 else None


def _trainable(optimizer: torch.optim.Optimizer) -> List[torch.Tensor]:
    return [p for g in optimizer.param_groups for p in g["params"] if p.requires_grad]


def _batch_size(out: JepaStep) -> int:
    """Samples of the step: as given, else the target features' first dimension."""
    if out.batch_size is not None:
        return int(out.batch_size)
    return int(out.target_features.shape[0]) if out.target_features is not None else 0
