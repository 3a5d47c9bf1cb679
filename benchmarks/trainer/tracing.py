"""The trainer's own training step on fake tensors: its FLOPs and its memory, no data.

``trace_step`` runs ``hjepa_trainer.train.Trainer.train_step`` itself (masks, target
encoder, context encoder, predictor, hierarchical loss, backward, clipping, AdamW, EMA,
the metrics due at the step) under ``torch._subclasses.fake_tensor.FakeTensorMode``:
every tensor has a shape, a dtype and a device but no memory behind it, so a ViT-B/16
step at batch 64 costs seconds and a few hundred MB of real memory. Around it:

- ``torch.utils.flop_counter.FlopCounterMode`` counts the matmuls, convolutions and
  attention (2 FLOPs per multiply-add; elementwise work is not counted);
- ``MemoryTracker`` adds up the bytes of every storage an op creates and subtracts them
  when the storage is freed (the fake tensors keep sizes and lifetimes exactly): the peak
  is the ``max_memory_allocated`` of a caching allocator without fragmentation.

A fake tensor has no values, and three things in the step read values:

- host reads (``.item()``, ``.tolist()``: the loss check, the metrics) get 1.0;
- boolean indexing (the hierarchy levels keep the pooled cells a target covers) needs the
  number of True values: ``level_cell_counts`` computes them beforehand from the step's
  real masks, and the index becomes a long index of that length;
- ``.numpy()`` (the gradient histogram's sample) gets zeros.

The model is built on the meta device (no initialisation work) and moved to fake CPU
tensors. bf16 autocast therefore follows the CPU's autocast rules, which match CUDA's
for everything that holds memory here (matmuls and attention in bf16, the losses in
float32); CUDA's flash attention and the CPU's fused attention both keep only the
output and its log-sum-exp for the backward.
"""

from __future__ import annotations

import contextlib
import weakref
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional

import numpy as np
import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import FlopCounterMode

from hjepa_trainer import config as config_lib
from hjepa_trainer.events import NullSink
from hjepa_trainer.masking import Masks
from hjepa_trainer.metrics import FrequencyPolicy, HJepaMetrics, StepTimer, build_metrics
from hjepa_trainer.model import build_model, hierarchy_levels
from hjepa_trainer.optim import build_optimizer, param_groups
from hjepa_trainer.train import Trainer

aten = torch.ops.aten
_CPU = torch.device("cpu")


# ----------------------------------------------------------------------------- FLOPs
def _attention_flops(q_shape, k_shape, v_shape) -> int:
    """softmax(Q K^T) V: two batched matmuls, 2 FLOPs per multiply-add (as torch's
    ``sdpa_flop_count``). Shapes (B, H, N, d)."""
    b, h, nq, d = q_shape
    nk, dv = k_shape[-2], v_shape[-1]
    return 2 * b * h * nq * nk * d + 2 * b * h * nq * nk * dv


def _cpu_attention_forward(q_shape, k_shape, v_shape, *args, out_shape=None, **kwargs) -> int:
    return _attention_flops(q_shape, k_shape, v_shape)


def _cpu_attention_backward(grad_shape, q_shape, k_shape, v_shape, *args, **kwargs) -> int:
    # dV = P^T dO, dP = dO V^T, dQ = dS K, dK = dS^T Q: twice the forward's matmuls.
    return 2 * _attention_flops(q_shape, k_shape, v_shape)


def flop_counter() -> FlopCounterMode:
    """A ``FlopCounterMode`` that also counts the CPU's fused attention kernel (torch
    counts the CUDA ones only), so a fake CPU step counts what a GPU step computes."""
    mapping = {}
    for name, formula in (
        ("_scaled_dot_product_flash_attention_for_cpu", _cpu_attention_forward),
        ("_scaled_dot_product_flash_attention_for_cpu_backward", _cpu_attention_backward),
    ):
        if hasattr(aten, name):  # torch >= 2.2
            mapping[getattr(aten, name)] = formula
    return FlopCounterMode(display=False, custom_mapping=mapping)


def flops_by_part(counter: FlopCounterMode, parts: Iterable[str]) -> Dict[str, int]:
    """FLOPs of each named child of the step's root module (forward and backward), from
    the counter's module hierarchy ("HJEPA.context_encoder")."""
    counts = counter.get_flop_counts()
    out = {}
    for part in parts:
        names = [k for k in counts if k.split(".")[-1] == part and k.count(".") == 1]
        out[part] = sum(sum(counts[k].values()) for k in names)
    return out


# ----------------------------------------------------------------------------- memory
class MemoryTracker(TorchDispatchMode):
    """Bytes of the live storages that ops create (fake or real), and their peak; and the
    aten ops that are not views (eager PyTorch on a GPU launches about one kernel each).

    Args:
        at_peak: called at every new peak; its result is kept as ``at_peak_value``
            (the gradient bytes live at the peak, say).
    """

    def __init__(self, *, at_peak: Optional[Callable[[], int]] = None) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self.at_peak_value = 0
        self.ops = 0
        self._at_peak = at_peak
        self._sizes: Dict[int, int] = {}  # storage address -> bytes, while alive
        self._phases: List[List[int]] = []  # open phases: [live at entry, max live]
        self.phase_extra: Dict[str, int] = {}  # phase -> largest rise above its entry
        self.phase_ops: Dict[str, int] = {}  # phase -> ops inside it, all entries

    def track(self, tensors: Iterable[torch.Tensor]) -> None:
        """Count tensors made outside the tracker (parameters, optimizer state)."""
        for t in tensors:
            self._add(t)

    def _add(self, t: torch.Tensor) -> None:
        storage = t.untyped_storage()
        key = storage._cdata
        if key in self._sizes:  # a view, or an op that returned its input
            return
        size = storage.nbytes()
        self._sizes[key] = size
        weakref.finalize(storage, self._free, key)
        self.live += size
        for phase in self._phases:
            phase[1] = max(phase[1], self.live)
        if self.live > self.peak:
            self.peak = self.live
            if self._at_peak is not None:
                self.at_peak_value = self._at_peak()

    def _free(self, key: int) -> None:
        self.live -= self._sizes.pop(key)

    @contextlib.contextmanager
    def phase(self, name: str):
        """Record in ``phase_extra[name]`` how far live memory rises above its level at
        entry while the block runs (the largest rise over all entries)."""
        entry = [self.live, self.live]
        ops = self.ops
        self._phases.append(entry)
        try:
            yield
        finally:
            self._phases.remove(entry)
            rise = entry[1] - entry[0]
            self.phase_extra[name] = max(self.phase_extra.get(name, 0), rise)
            self.phase_ops[name] = self.phase_ops.get(name, 0) + self.ops - ops

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func.namespace == "aten" and not func.is_view:  # not prim.device and the like
            self.ops += 1
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                self._add(t)
        return out


def storage_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes of the distinct storages behind ``tensors``."""
    seen = {}
    for t in tensors:
        st = t.untyped_storage()
        seen[st._cdata] = st.nbytes()
    return sum(seen.values())


# ----------------------------------------------------------------------------- value reads
class _ValueStandIns(TorchDispatchMode):
    """Host reads return 1.0; a boolean index becomes a long index of the known count.

    Args:
        true_counts: number of elements of a boolean index -> its number of True values.
    """

    _INDEX_OPS = (
        aten.index.Tensor,
        aten.index_put.default,
        aten.index_put_.default,
        aten._index_put_impl_.default,
    )

    def __init__(self, true_counts: Dict[int, int]) -> None:
        super().__init__()
        self.true_counts = true_counts

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is aten._local_scalar_dense.default:
            return 1.0
        if func in self._INDEX_OPS:
            indices = list(args[1])
            for i, idx in enumerate(indices):
                if idx is not None and idx.dtype == torch.bool:
                    if idx.dim() != 1 or idx.numel() not in self.true_counts:
                        raise ValueError(
                            f"{func}: a boolean index of shape {tuple(idx.shape)} whose "
                            f"count of True values is unknown (known: {self.true_counts})"
                        )
                    count = self.true_counts[idx.numel()]
                    indices[i] = torch.zeros(count, dtype=torch.long, device=idx.device)
            args = (args[0], indices) + tuple(args[2:])
        return func(*args, **kwargs)


class _NumpyStandIn(TorchFunctionMode):
    """``Tensor.numpy()`` of a fake tensor returns zeros of its shape."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is torch.Tensor.numpy:
            t = args[0]
            return np.zeros(tuple(t.shape), dtype=np.float64)
        return func(*args, **(kwargs or {}))


def level_cell_counts(tgt_idx: torch.Tensor, grid: int, num_levels: int) -> Dict[int, int]:
    """For each pooled level k >= 1: B * Hk * Wk (the size of its boolean cell mask) ->
    the cells covering at least one target (its True count), from real target indices."""
    b, nt = tgt_idx.shape
    levels = hierarchy_levels(
        torch.zeros(b, nt, 1), torch.zeros(b, grid * grid, 1), tgt_idx, grid, num_levels
    )
    return {b * lv.grid_size[0] * lv.grid_size[1]: lv.pred.shape[0] for lv in levels[1:]}


# ----------------------------------------------------------------------------- the step
class _MeteredMetrics:
    """Forwards to ``HJepaMetrics``; every method call is the "metrics" memory phase and
    its FLOPs are added up."""

    def __init__(self, metrics: HJepaMetrics, memory: MemoryTracker, flops: FlopCounterMode):
        self._metrics, self._memory, self._flops = metrics, memory, flops
        self.flops = 0

    def __getattr__(self, name):
        attr = getattr(self._metrics, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            before = self._flops.get_total_flops()
            with self._memory.phase("metrics"):
                out = attr(*args, **kwargs)
            self.flops += self._flops.get_total_flops() - before
            return out

        return call


@dataclass
class StepTrace:
    """What one fake step costs.

    Attributes:
        step: the step index (its metrics due-set).
        flops: all counted FLOPs of the step.
        metrics_flops: the part inside the metric calls.
        part_flops: forward + backward FLOPs of each model part.
        peak_bytes: largest live total (parameters and optimizer state included).
        persistent_bytes: live at the step's start: parameters, buffers, optimizer state.
        grad_bytes_at_peak: gradients live at the peak.
        metrics_extra_bytes: largest rise above the live total during a metric call.
        ops: aten ops of the step that are not views (about one GPU kernel each, eager).
        metrics_ops: the part inside the metric calls.
        num_context, num_target: tokens per image of the step's masks.
    """

    step: int
    flops: int
    metrics_flops: int
    part_flops: Dict[str, int] = field(default_factory=dict)
    peak_bytes: int = 0
    persistent_bytes: int = 0
    grad_bytes_at_peak: int = 0
    metrics_extra_bytes: int = 0
    ops: int = 0
    metrics_ops: int = 0
    num_context: int = 0
    num_target: int = 0


PARTS = ("target_encoder", "context_encoder", "predictor")


class FakeStep:
    """A ``Trainer`` whose model and optimizer hold fake tensors, and ``trace`` to run its
    ``train_step``. It has what ``train_step`` reads and nothing else: no data, no event
    files (metrics go to a ``NullSink``), no health checks.

    Args:
        cfg: a validated config; ``training.device`` is ignored (fake CPU tensors).
        optimizer_for: the device type whose optimizer the trainer builds: "cuda" gives
            the fused AdamW of a GPU run (one op per step instead of several per
            parameter; where torch cannot fuse on the CPU, < 2.4, the CPU's is used).
    """

    def __init__(self, cfg: config_lib.Config, *, optimizer_for: str = "cpu") -> None:
        self.fake = FakeTensorMode(allow_non_fake_inputs=True)
        with torch.device("meta"):
            model = build_model(cfg)  # meta: no initialisation work, no memory
        with self.fake:
            model = model.to_empty(device=_CPU)
        t = cfg.training
        trainer = Trainer.__new__(Trainer)
        trainer.cfg, trainer.device, trainer.model, trainer.ddp = cfg, _CPU, model, None
        trainer.world, trainer.rank, trainer.main = 1, 0, True
        trainer.trainable = [p for p in model.parameters() if p.requires_grad]
        groups = param_groups(
            [("context_encoder", model.context_encoder), ("predictor", model.predictor)]
        )
        with self.fake:
            try:
                trainer.optimizer = build_optimizer(
                    groups,
                    lr=0.0,
                    weight_decay=t.weight_decay,
                    betas=t.betas,
                    device=torch.device(optimizer_for),
                )
            except RuntimeError:  # torch < 2.4: no fused AdamW for CPU tensors
                trainer.optimizer = build_optimizer(
                    groups, lr=0.0, weight_decay=t.weight_decay, betas=t.betas, device=_CPU
                )
        policy = FrequencyPolicy(
            log_frequency=cfg.logging.log_frequency, overrides=cfg.metrics.frequencies
        )
        trainer.metrics = build_metrics(cfg, NullSink(), policy)
        self.trainer = trainer
        self.cfg = cfg

    def persistent_tensors(self) -> List[torch.Tensor]:
        """Parameters, buffers and optimizer state."""
        model, opt = self.trainer.model, self.trainer.optimizer
        state = [v for s in opt.state.values() for v in s.values() if isinstance(v, torch.Tensor)]
        return list(model.parameters()) + list(model.buffers()) + state

    def optimizer_state_bytes(self) -> int:
        opt = self.trainer.optimizer
        return storage_bytes(
            v for s in opt.state.values() for v in s.values() if isinstance(v, torch.Tensor)
        )

    def parameter_bytes(self) -> int:
        model = self.trainer.model
        return storage_bytes(list(model.parameters()) + list(model.buffers()))

    def trace(self, step: int, masks: Masks) -> StepTrace:
        """Run ``train_step`` at ``step`` (its metrics due-set) with the real ``masks``.

        Args:
            step: step index: the schedules and which metrics are due.
            masks: the batch's real context / target indices (shapes and, for the
                hierarchy levels, values matter).

        Returns:
            A ``StepTrace``.
        """
        tr, cfg = self.trainer, self.cfg
        grid = cfg.model.img_size // cfg.model.patch_size
        b, size = masks.context.shape[0], cfg.model.img_size
        counts = level_cell_counts(masks.target, grid, cfg.model.num_levels)
        memory = MemoryTracker(
            at_peak=lambda: storage_bytes(p.grad for p in tr.trainable if p.grad is not None)
        )
        counter = flop_counter()
        metrics = tr.metrics
        tr.masks = lambda batch, generator: masks  # this step's masks, whatever the seed
        with self.fake:
            images = torch.empty(b, 3, size, size, dtype=torch.uint8)
            memory.track(self.persistent_tensors())
            persistent = memory.live
            metered = _MeteredMetrics(metrics, memory, counter)
            tr.metrics = metered
            try:
                with counter, memory, _ValueStandIns(counts), _NumpyStandIn():
                    tr.train_step(images, step, StepTimer(_CPU))
            finally:
                tr.metrics = metrics
        return StepTrace(
            step=step,
            flops=counter.get_total_flops(),
            metrics_flops=metered.flops,
            part_flops=flops_by_part(counter, PARTS),
            peak_bytes=memory.peak,
            persistent_bytes=persistent,
            grad_bytes_at_peak=memory.at_peak_value,
            metrics_extra_bytes=memory.phase_extra.get("metrics", 0),
            ops=memory.ops,
            metrics_ops=memory.phase_ops.get("metrics", 0),
            num_context=masks.context.shape[1],
            num_target=masks.target.shape[1],
        )
