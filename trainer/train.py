"""The H-JEPA training loop.

One step, in order (I-JEPA train.py stages; EMA after the optimizer step):
masks -> forward (target under no_grad, context on visible tokens, predictor,
per-level loss) -> loss check -> backward -> clip -> optimizer step (scheduled LR
and weight decay) -> EMA update (scheduled momentum) -> metrics.

Steps are numbered from 0; "after c steps" is the state a checkpoint at step c
holds and the step evaluations are logged at (the random-init probe is "after 0
steps"). Everything random is a function of (seed, step, rank), so a resumed run
recomputes exactly what an uninterrupted one would.
"""

from __future__ import annotations

import contextlib
import glob
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch
import torch.distributed as dist

from tensorboard_plugin_hjepa import catalog
from tensorboard_plugin_hjepa.metadata import TEACHER_EMA
from tensorboard_plugin_hjepa.summary import RunManifest

from . import checkpoint as ckpt
from . import config as config_lib
from .data import build_datasets, iterate_batches, normalize
from .events import NullSink, max_event_steps, open_sink, set_aside_after
from .health import HealthMonitor
from .masking import build_mask_generator, mask_ratio_profile, step_generator
from .measures import global_grad_norm_tensor
from .metrics import AFTER_STEPS_KEYS, FrequencyPolicy, StepTimer, build_metrics
from .model import build_model, ema_update, pooled_grid_features
from .optim import apply_schedules, build_optimizer, clip_gradients, param_groups
from .probe import encode, knn_top1
from .schedules import ema_momentum, learning_rate, weight_decay

TRAINER_NAME = "hjepa-train"
_AFTER_STEPS_TAGS = frozenset(catalog.tag(key) for key in AFTER_STEPS_KEYS)


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; a checkpoint of the last good state was written."""


@dataclass
class TrainResult:
    """What a call to ``train`` did.

    Attributes:
        run_dir: directory with events, config and checkpoint.
        start_step: step the run started (or resumed) at.
        end_step: steps completed when it returned.
        interrupted: stopped by SIGINT/SIGTERM (a checkpoint was written).
        health_stop: the overall status that stopped the run through
            ``health.stop_on`` (a checkpoint was written), else None.
        health_alerts: the one-line alerts of the online health checks.
        health_check_seconds: wall time of every online health check (inside
            ``step_seconds``).
        train_seconds: wall time of the loop: steps, metrics, event commits and
            checkpoints; evaluations (probe, validation loss) excluded.
        samples_per_second: samples over ``train_seconds`` (all ranks).
        history: total loss of every step run.
        step_seconds: loop wall time of every step run, evaluations excluded.
        knn_top1: last kNN accuracy (None if no probe ran).
        knn_top1_random_init: baseline accuracy (None unless a fresh run probed it).
        last_loss: total loss of the last step.
    """

    run_dir: str
    start_step: int
    end_step: int
    interrupted: bool = False
    health_stop: Optional[str] = None
    health_alerts: List[str] = field(default_factory=list)
    health_check_seconds: List[float] = field(default_factory=list)
    train_seconds: float = 0.0
    samples_per_second: float = 0.0
    knn_top1: Optional[float] = None
    knn_top1_random_init: Optional[float] = None
    last_loss: float = float("nan")
    history: List[float] = field(default_factory=list)  # total loss per step
    step_seconds: List[float] = field(
        default_factory=list
    )  # loop time per step, evaluations excluded


def run_dir_of(cfg: config_lib.Config) -> str:
    """``logging.log_dir / logging.experiment_name``."""
    return os.path.join(cfg.logging.log_dir, cfg.logging.experiment_name)


# ----------------------------------------------------------------------------- setup helpers
def _device(cfg: config_lib.Config, local_rank: int) -> torch.device:
    want = cfg.training.device
    if want == "cuda" or (want == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RuntimeError("training.device is 'cuda' but CUDA is not available")
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def _autocast(cfg: config_lib.Config, device: torch.device):
    """bf16 autocast for ``training.amp`` "bf16" (CUDA or CPU) and "auto" on CUDA; else
    float32 ("none", or "auto" on the CPU, where bf16 matmuls are slow without AMX)."""
    amp = cfg.training.amp
    if amp == "bf16" or (amp == "auto" and device.type == "cuda"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _dist_info():
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    return world, rank, local_rank


def _all_images(dataset, limit: int):
    """(images uint8, labels) of the first ``limit`` items."""
    return dataset.get_batch(torch.arange(min(len(dataset), limit)))


class _StopFlag:
    """Turns SIGINT/SIGTERM into a flag checked between steps."""

    def __init__(self) -> None:
        self.signum: Optional[int] = None
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: leave the handlers alone
                pass
        return self

    def _handle(self, signum, frame):
        if self.signum is not None:  # second signal: stop now
            raise KeyboardInterrupt
        self.signum = signum

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


# ----------------------------------------------------------------------------- the trainer
def compile_dynamic(parts) -> None:
    """``torch.compile`` each module for shapes that change every step (the masks' sizes).

    Inductor's memory-coalescing analysis does not handle dynamic shapes yet (its own
    config says so) and fails an assertion on the predictor's graph on CUDA (torch 2.11,
    H200): it is turned off before compiling, where this torch has it.
    """
    import torch._inductor.config as inductor_config

    if hasattr(inductor_config.triton, "coalesce_tiling_analysis"):
        inductor_config.triton.coalesce_tiling_analysis = False
    for part in parts:
        part.compile(dynamic=True)


class Trainer:
    """Holds the state of one run; ``run()`` trains until the configured end.

    Args:
        cfg: validated config.
        resume: continue from ``<run_dir>/checkpoint.pt``.
        progress: show a tqdm progress bar (rank 0).
        max_steps: stop after this many steps (exclusive end step) without changing
            the schedules; None = ``training.total_steps``.
        from_healthy: with ``resume``, continue from the last checkpoint written while
            the online verdict was healthy (``checkpoint_healthy.pt``); the events after
            it move to ``<run>/abandoned_after_step_<step>``.
    """

    def __init__(
        self,
        cfg: config_lib.Config,
        *,
        resume: bool = False,
        progress: bool = True,
        max_steps: Optional[int] = None,
        from_healthy: bool = False,
    ) -> None:
        self.cfg = cfg
        self.world, self.rank, local_rank = _dist_info()
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group(
                "nccl" if torch.cuda.is_available() and cfg.training.device != "cpu" else "gloo"
            )
        self.device = _device(cfg, local_rank)
        if cfg.training.threads > 0:
            torch.set_num_threads(cfg.training.threads)
        self.main = self.rank == 0
        self.progress = progress and self.main
        self.run_dir = run_dir_of(cfg)
        self.end_step = (
            min(cfg.training.total_steps, max_steps)
            if max_steps is not None
            else cfg.training.total_steps
        )

        torch.manual_seed(cfg.training.seed)  # same init on every rank
        self.data = build_datasets(cfg)
        self.model = build_model(cfg).to(self.device)
        self.ddp = None
        if self.world > 1:
            self.ddp = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        if cfg.training.compile:
            compile_dynamic(
                (self.model.context_encoder, self.model.target_encoder, self.model.predictor)
            )
        self.masks = build_mask_generator(cfg, self.model.grid)
        self._mask_profile = None  # what this masking gives, for the manifest (computed once)
        self.trainable = [p for p in self.model.parameters() if p.requires_grad]
        groups = param_groups(
            [("context_encoder", self.model.context_encoder), ("predictor", self.model.predictor)]
        )
        t = cfg.training
        self.optimizer = build_optimizer(
            groups, lr=0.0, weight_decay=t.weight_decay, betas=t.betas, device=self.device
        )
        self.step = 0
        self.knn_random_init: Optional[float] = None

        skip_through: Dict[str, int] = {}
        state = None
        if from_healthy and not resume:
            raise ValueError("from_healthy needs resume")
        if resume and from_healthy and self.main:
            self._rewind_to_healthy()
        if resume:
            path = os.path.join(self.run_dir, ckpt.CHECKPOINT_NAME)
            if os.path.exists(path) or not glob.glob(
                os.path.join(self.run_dir, "events.out.tfevents*")
            ):
                state = ckpt.load(path)  # FileNotFoundError when there is nothing to resume
                self._check_resumable(state)
            elif self.main:
                # Killed after the first event commit, before the first checkpoint: start
                # at step 0; the steps already on disk are recomputed and not written again.
                print(
                    f"hjepa-train: --resume: no checkpoint yet in {self.run_dir}; "
                    "starting at step 0 "
                    "(steps already in the event files are not written twice)",
                    file=sys.stderr,
                )
            if self.main:
                skip_through = max_event_steps(self.run_dir)
        self.sink = self._open_sink(skip_through, fresh=state is None)
        policy = FrequencyPolicy(
            log_frequency=cfg.logging.log_frequency, overrides=cfg.metrics.frequencies
        )
        self.health = self._health_monitor(policy)
        self._health_stop: Optional[str] = None
        self._bar = None
        self.metrics = build_metrics(cfg, self.health or self.sink, policy, enabled=self.main)
        if state is not None:
            self._restore(state)
            if self.health is not None:  # the online checks see the history before the resume
                self.health.resume(self.run_dir, self.step)

    # -- persistence ---------------------------------------------------------------------
    def _rewind_to_healthy(self) -> None:
        """Make the last healthy checkpoint the one to resume from: the events after it and
        the checkpoint after them move to a sub-folder (a run of their own in TensorBoard)."""
        healthy = os.path.join(self.run_dir, ckpt.HEALTHY_NAME)
        if not os.path.exists(healthy):
            raise ckpt.CheckpointNotFoundError(
                f"--from-healthy: no {ckpt.HEALTHY_NAME} in {self.run_dir}: no checkpoint was "
                "written while the online verdict was healthy"
            )
        step = int(ckpt.load(healthy)["step"])
        current = os.path.join(self.run_dir, ckpt.CHECKPOINT_NAME)
        aside = set_aside_after(self.run_dir, step, _AFTER_STEPS_TAGS, also=(current,))
        ckpt.keep_copy(healthy, current)
        print(
            f"hjepa-train: --from-healthy: resuming at step {step} ({ckpt.HEALTHY_NAME}); "
            f"the events after it are kept in {aside} (a run of its own in TensorBoard)",
            file=sys.stderr,
        )

    def _check_resumable(self, state: dict) -> None:
        saved = config_lib.from_dict(state["config"])
        if config_lib.to_dict(saved)["model"] != config_lib.to_dict(self.cfg)["model"]:
            raise ValueError(
                "--resume: the checkpoint's model config differs from the current config; "
                f"checkpoint model = {config_lib.to_dict(saved)['model']}"
            )

    def _open_sink(self, skip_through: Dict[str, int], *, fresh: bool):
        if not self.main:
            return NullSink()
        os.makedirs(self.run_dir, exist_ok=True)
        config_lib.dump(self.cfg, os.path.join(self.run_dir, "config.yaml"))
        return open_sink(
            self.cfg,
            self.run_dir,
            skip_through=skip_through,
            manifest=self.manifest if fresh else None,
        )

    def _health_monitor(self, policy: FrequencyPolicy) -> Optional[HealthMonitor]:
        """The online health checks of ``cfg.health`` (rank 0; None when disabled)."""
        h = self.cfg.health
        if not (self.main and h.enabled) or self.cfg.metrics.loss_only:
            return None
        every = h.every or policy.every("collapse.effective_rank") or self.cfg.logging.log_frequency
        return HealthMonitor(
            self.manifest(),
            writer=self.sink,
            run=self.cfg.logging.experiment_name,
            every=every,
            stop_on=h.stop_on,
            say=self._say,
            max_points=h.max_points,
        )

    def _say(self, line: str) -> None:
        """Print a line to stderr without breaking the progress bar."""
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)

    def _health_check(self) -> bool:
        """The online health check after ``self.step`` steps, when due (and after the
        schedule's last step, whose sparse metrics are logged too); True: stop asked."""
        last = self.step == self.cfg.training.total_steps
        if self.health is not None and (self.health.due(self.step - 1) or last):
            alert = self.health.check(self.step - 1)
            if alert is not None and alert.stop:
                self._health_stop = alert.status
        return self._health_stop is not None

    def manifest(self) -> RunManifest:
        m, t = self.cfg.model, self.cfg.training
        grid = m.img_size // m.patch_size
        if self._mask_profile is None:
            self._mask_profile = mask_ratio_profile(self.masks, batch=t.batch_size, seed=t.seed)
        return RunManifest(
            num_levels=m.num_levels,
            hierarchy_weights=list(m.hierarchy_weights),
            embed_dim=m.embed_dim,
            patch_grid=[grid, grid],
            total_steps=self.cfg.training.total_steps,
            collapse_rows=self.cfg.metrics.collapse_max_rows or 4 * m.embed_dim,
            gpu_memory_total_gb=(
                torch.cuda.get_device_properties(self.device).total_memory / 1e9
                if self.device.type == "cuda"
                else None
            ),
            warmup_steps=t.warmup_steps,
            stop_gradient=t.stop_gradient,
            teacher=TEACHER_EMA,  # an EMA target encoder, even in the no-stop-gradient ablation
            mask_ratio_expected=self._mask_profile.median,
            mask_ratio_range=[self._mask_profile.low, self._mask_profile.high],
            trainer=f"{TRAINER_NAME} {ckpt.__version__}",
            config=config_lib.to_dict(self.cfg),
        )

    def save_checkpoint(self) -> None:
        """Commit held-back events, then write the checkpoint (rank 0); while the online
        verdict is healthy, keep a copy of it as the last healthy one."""
        keep_healthy = self.main and self.health is not None and self.health.healthy()
        if keep_healthy:
            # Its step goes out with this commit, before the save: a process killed after
            # the save resumes past this step and would never log it again.
            self.health.note_healthy_checkpoint(self.step)
        self.sink.commit()
        if not self.main:
            return
        path = os.path.join(self.run_dir, ckpt.CHECKPOINT_NAME)
        ckpt.save(
            path,
            {
                "step": self.step,
                "config": config_lib.to_dict(self.cfg),
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "metrics": self.metrics.state_dict(),
                "rng": {
                    "torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
                },
                "knn_top1_random_init": self.knn_random_init,
            },
        )
        if keep_healthy:
            ckpt.keep_copy(path, os.path.join(self.run_dir, ckpt.HEALTHY_NAME))

    def _restore(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.metrics.load_state_dict(state["metrics"])
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.step = int(state["step"])
        self.knn_random_init = state.get("knn_top1_random_init")

    # -- evaluation ----------------------------------------------------------------------
    def knn(self) -> float:
        """kNN top-1 of the current target encoder (probe bank -> held-out split)."""
        bank_x, bank_y = _all_images(self.data.probe_bank, self.cfg.data.probe_size)
        val_x, val_y = _all_images(self.data.val, self.cfg.data.val_size)
        e, b = self.cfg.eval, self.cfg.training.batch_size
        encoder = self.model.target_encoder
        # The encoder under autocast; the similarities and votes outside it, in float32
        # (encode returns float32): under CPU autocast a bf16 matmul would feed bf16 votes.
        with _autocast(self.cfg, self.device):
            bank = encode(encoder, bank_x, batch_size=b, device=self.device)  # (Nb, D)
            queries = encode(encoder, val_x, batch_size=b, device=self.device)  # (Nq, D)
        return knn_top1(
            bank,
            bank_y,
            queries,
            val_y,
            num_classes=self.data.num_classes,
            k=e.knn_k,
            temperature=e.knn_temperature,
        )

    @torch.no_grad()
    def val_loss(self) -> float:
        """Mean total loss over fixed held-out batches with fixed masks."""
        b = self.cfg.training.batch_size
        losses = []
        for i in range(self.cfg.eval.val_batches):
            idx = torch.arange(i * b, (i + 1) * b) % len(self.data.val)
            images, _ = self.data.val.get_batch(idx)
            masks = self.masks(images.shape[0], step_generator(self.cfg.training.seed + 1, i))
            with _autocast(self.cfg, self.device):
                out = self.model(
                    normalize(images, self.device),
                    masks.context.to(self.device),
                    masks.target.to(self.device),
                )
            losses.append(out.loss.item())  # host sync, deliberate
        return sum(losses) / len(losses)

    def evaluate(self, step: int) -> Optional[float]:
        """Probe + validation loss at ``step`` (rank 0); returns the kNN accuracy."""
        if not self.main or self.cfg.metrics.loss_only:
            return None
        acc = self.knn()
        self.metrics.log_eval(step, val_loss=self.val_loss(), knn_top1=acc)
        self.metrics.restart_throughput()
        return acc

    # -- one step -------------------------------------------------------------------------
    def train_step(self, images: torch.Tensor, step: int, timer: StepTimer, *, stop: bool = False):
        """One optimisation step.

        Args:
            images: (B, 3, S, S) uint8 batch of this rank.
            step: global step.
            timer: forward / backward timer.
            stop: this rank received a stop signal.

        Returns:
            ([total, L_0, ..., L_{L-1}] as floats, averaged over ranks; whether any rank
            asked to stop). The stop flag travels with the loss all-reduce so that all
            ranks stop after the same step.

        Raises:
            NonFiniteLossError: the loss is NaN/Inf; parameters are left untouched.
        """
        cfg, t = self.cfg, self.cfg.training
        # Sparse metrics are also written at the schedule's last step (not at a
        # --max-steps stop, so that a stopped-and-resumed run logs the same steps).
        last = step == t.total_steps - 1
        timer.reset()
        timer.mark()
        x = normalize(images, self.device)  # (B, 3, S, S)
        masks = self.masks(x.shape[0], step_generator(t.seed, step, self.rank))
        ctx_idx, tgt_idx = (
            masks.context.to(self.device),
            masks.target.to(self.device),
        )  # (B, Nc), (B, Nt)

        # Forward: target (no_grad) -> context on visible tokens -> predictor -> per-level loss.
        with _autocast(cfg, self.device):
            out = (self.ddp or self.model)(x, ctx_idx, tgt_idx)
        timer.mark()

        # Loss check before any update: one deliberate host sync per step.
        losses = torch.stack([out.loss.detach()] + [l.detach() for l in out.level_losses]).float()
        losses = torch.cat([losses, torch.tensor([float(stop)], device=losses.device)])
        if self.world > 1:
            dist.all_reduce(losses)
            losses /= self.world
        *values, stop_any = losses.tolist()
        if not all(math.isfinite(v) for v in values):
            raise NonFiniteLossError(
                f"non-finite loss at step {step}: total={values[0]}, levels={values[1:]}; "
                "stopped before the update (lower training.lr or raise training.warmup_steps)"
            )

        if out.target_full.requires_grad:  # no stop-gradient: keep the gradient at the targets
            out.target_full.retain_grad()
        out.loss.backward()
        timer.mark()

        # Gradient metrics before clipping (clipping rescales every gradient), then clip.
        m = self.metrics
        m.log_losses(step, values[1:])
        pre_norm = global_grad_norm_tensor(self.trainable)
        parts = {
            "context_encoder": self.model.context_encoder,
            "predictor": self.model.predictor,
            "target_encoder": self.model.target_encoder,
        }
        m.log_gradients(
            step, parts=parts, global_norm=pre_norm, target_features=out.target_full, last_step=last
        )
        clip = clip_gradients(self.trainable, t.clip_grad, pre=pre_norm)
        pre, post = torch.stack([clip.pre, clip.post]).tolist()
        m.log_clipping(step, pre, post)

        # Optimizer step with this step's schedules, then EMA (after the step).
        apply_schedules(
            self.optimizer,
            lr=learning_rate(
                step,
                base_lr=t.lr,
                min_lr=t.min_lr,
                warmup_steps=t.warmup_steps,
                total_steps=t.total_steps,
            ),
            weight_decay=weight_decay(
                step, start=t.weight_decay, end=t.weight_decay_end, total_steps=t.total_steps
            ),
        )
        m.log_schedule(step, self.optimizer, last_step=last)
        m.begin_update(step, self.trainable, last_step=last)
        self.optimizer.step()
        m.end_update(step, self.trainable)
        momentum = ema_momentum(
            step, start=t.ema_momentum_start, end=t.ema_momentum_end, total_steps=t.total_steps
        )
        ema_update(self.model.target_encoder, self.model.context_encoder, momentum)
        self.optimizer.zero_grad(set_to_none=True)

        # Periodic metrics (features are detached; nothing here keeps autograd history).
        m.log_ema(
            step,
            context_encoder=self.model.context_encoder,
            target_encoder=self.model.target_encoder,
            momentum=momentum,
            momentum_target=t.ema_momentum_end,
            last_step=last,
        )
        n = self.model.context_encoder.num_patches
        m.log_masks(
            step,
            num_context=ctx_idx.shape[1],
            num_target=tgt_idx.shape[1],
            num_patches=n,
            last_step=last,
        )
        if m.levels_due(step, last_step=last):
            g = self.model.grid
            feats = [
                pooled_grid_features(out.target_full, g, k) for k in range(cfg.model.num_levels)
            ]
            cells = [lv.grid_size[0] * lv.grid_size[1] for lv in out.levels]
            m.log_levels(
                step,
                preds=[lv.pred for lv in out.levels],
                targets=[lv.target for lv in out.levels],
                features=feats,
                cells=cells,
                last_step=last,
            )
        m.count_samples(x.shape[0] * self.world)
        m.log_performance(step, timer=timer, device=self.device, last_step=last)
        return values, stop_any > 0

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> TrainResult:
        """Train from ``self.step`` to the end step; evaluate, checkpoint, handle signals."""
        cfg = self.cfg
        result = TrainResult(self.run_dir, self.step, self.step)
        e = cfg.eval
        if self.step == 0 and self.main and not cfg.metrics.loss_only:
            if e.random_init_baseline:
                # At step 0 the target encoder is the random init: the probe's baseline.
                self.knn_random_init = self.knn()
            # Through the metrics logger like every value, so the online checks see them.
            self.metrics.log_probe_setup(
                0,
                num_classes=self.data.num_classes,
                num_queries=min(len(self.data.val), cfg.data.val_size),
                knn_top1_random_init=self.knn_random_init,
            )
        result.knn_top1_random_init = self.knn_random_init

        batches = iterate_batches(
            self.data.train,
            start_step=self.step,
            batch=cfg.training.batch_size,
            seed=cfg.data.seed,
            rank=self.rank,
            world=self.world,
            num_workers=cfg.data.num_workers,
        )
        bar = None
        if self.progress:
            from tqdm import tqdm

            bar = tqdm(
                total=self.end_step,
                initial=self.step,
                unit="step",
                dynamic_ncols=True,
                desc="hjepa-train",
            )
        self._bar = bar
        timer = StepTimer(self.device)
        rate = None
        self.model.train()
        with _StopFlag() as stop:
            try:
                while self.step < self.end_step:
                    t0 = time.perf_counter()
                    images, _ = next(batches)
                    try:
                        values, stop_all = self.train_step(
                            images,
                            self.step,
                            timer,
                            stop=stop.signum is not None or self._health_stop is not None,
                        )
                    except NonFiniteLossError:
                        self.save_checkpoint()  # the state before the bad step: the last good one
                        raise
                    dt = time.perf_counter() - t0
                    result.history.append(values[0])
                    result.last_loss = values[0]
                    self.step += 1
                    sps = images.shape[0] * self.world / dt
                    rate = sps if rate is None else 0.9 * rate + 0.1 * sps
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(
                            loss=f"{values[0]:.4f}", samples_s=f"{rate:.1f}", refresh=False
                        )
                    done = self.step == self.end_step
                    t_eval = time.perf_counter()
                    if (
                        e.interval and self.step % e.interval == 0
                    ) or self.step == cfg.training.total_steps:
                        acc = self.evaluate(self.step)
                        result.knn_top1 = acc if acc is not None else result.knn_top1
                    t_check = time.perf_counter()
                    # Online health check (rank 0), after the evaluation: the run's last probe
                    # is judged while it trains too. Alone, stop now; under DDP the stop
                    # travels with the next step's loss all-reduce so all ranks stop together.
                    if self._health_check() and self.world == 1:
                        stop_all = True
                    if done or self.step % cfg.training.checkpoint_every == 0 or stop_all:
                        self.save_checkpoint()
                    # Training time: the step, metric writing and checkpoints; not evaluations.
                    result.step_seconds.append(time.perf_counter() - t0 - (t_check - t_eval))
                    result.train_seconds += result.step_seconds[-1]
                    if stop_all and self._health_stop is not None:
                        result.health_stop = self._health_stop
                        kept = self.health.healthy_checkpoint_step
                        print(
                            f"\nhjepa-train: health.stop_on={cfg.health.stop_on}: "
                            f"status {self._health_stop} "
                            f"at step {self.step}; checkpoint written in {self.run_dir}"
                            + (
                                f"; the last healthy one: {ckpt.HEALTHY_NAME}, step {kept} "
                                "(hjepa-train --resume --from-healthy)"
                                if kept is not None
                                else "; no healthy checkpoint was kept"
                            ),
                            file=sys.stderr,
                        )
                        break
                    if stop_all:
                        result.interrupted = True
                        if self.main:
                            print(
                                f"\nhjepa-train: stop signal received; checkpoint written at step "
                                f"{self.step} in {self.run_dir}",
                                file=sys.stderr,
                            )
                        break
            finally:
                if bar is not None:
                    bar.close()
                self._bar = None
                self.sink.close()
        if self.health is not None:
            result.health_alerts = [a.line for a in self.health.alerts]
            result.health_check_seconds = list(self.health.check_seconds)
        result.end_step = self.step
        total_samples = (result.end_step - result.start_step) * cfg.training.batch_size * self.world
        result.samples_per_second = (
            total_samples / result.train_seconds if result.train_seconds else 0.0
        )
        return result


def train(
    cfg: config_lib.Config,
    *,
    resume: bool = False,
    progress: bool = True,
    max_steps: Optional[int] = None,
    from_healthy: bool = False,
) -> TrainResult:
    """Build a ``Trainer`` and run it. See ``Trainer`` for the arguments."""
    return Trainer(
        cfg, resume=resume, progress=progress, max_steps=max_steps, from_healthy=from_healthy
    ).run()
