"""Write H-JEPA metrics and the run manifest into TensorBoard event files.

Framework-agnostic (numpy + TensorBoard's own protos and event-file writer; no torch,
no TensorFlow), so any training loop can use it::

    from tensorboard_plugin_hjepa.summary import RunManifest, SummaryWriter

    manifest = RunManifest(num_levels=3, hierarchy_weights=[1.0, 0.5, 0.25], embed_dim=192)
    with SummaryWriter("runs/exp1", manifest=manifest) as writer:
        writer.scalar("loss.total", 0.73, step=10)
        writer.scalar("collapse.mean_std_per_dim", 0.04, step=10, level=0)

Deliberate choices, each tested:
- Metrics are named by catalogue key; an unknown key raises ``KeyError`` naming the
  closest keys. ``scalar_tag`` takes a concrete tag instead: an unknown tag raises
  ``ValueError`` unless ``allow_unknown=True``, in which case it is written as an
  ordinary TensorBoard scalar (visible in the Scalars dashboard, ignored by the
  diagnosis).
- NaN and +/-Inf are written faithfully: a non-finite loss is a diagnosis, not noise
  to drop. The diagnosis reports it as ``critical`` or the light as ``unknown``.
- Values are stored as rank-0 float32 tensors (TensorBoard's fast loader drops
  float64 scalars).
- ``plain_scalars=True`` writes metrics with the standard "scalars" plugin name, so
  they also show in TensorBoard's Scalars and Time Series dashboards; the H-JEPA tab
  reads both. The manifest is always written with the "hjepa" plugin name.
"""

import dataclasses
import json
import math
import numbers
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
from tensorboard.plugins.histogram import summary_v2 as histogram_summary
from tensorboard.plugins.scalar import metadata as scalar_metadata
from tensorboard.plugins.text import summary_v2 as text_summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from . import catalog
from . import metadata


@dataclasses.dataclass
class RunManifest:
    """What the diagnosis needs to know about a run beyond its curves.

    Attributes:
      num_levels: hierarchy levels L (1 or more).
      hierarchy_weights: the configured loss weight of each level (length L).
      embed_dim: embedding dimension D of the features the collapse metrics use.
      patch_grid: (height, width) of the level-0 patch grid.
      total_steps: planned length of the run (for progress-dependent ranges).
      collapse_rows: rows N sampled for collapse statistics (for min(N, D)).
      gpu_memory_total_gb: the device's memory, when training on a GPU.
      warmup_steps: steps of the LR warmup (history rules judge the run after it).
      stop_gradient: whether the targets are stop-gradient (None = not stated).
      mask_ratio_expected: the mask ratio the run's own mask generator gives for its
        grid and config (median over sampled batches).
      mask_ratio_range: (low, high) of the per-batch mask ratio over those batches.
      trainer: name and version of the program that wrote the run.
      config: the full resolved training config (JSON-serialisable).
    """

    num_levels: int
    hierarchy_weights: Sequence[float]
    embed_dim: Optional[int] = None
    patch_grid: Optional[Sequence[int]] = None
    total_steps: Optional[int] = None
    collapse_rows: Optional[int] = None
    gpu_memory_total_gb: Optional[float] = None
    warmup_steps: Optional[int] = None
    stop_gradient: Optional[bool] = None
    mask_ratio_expected: Optional[float] = None
    mask_ratio_range: Optional[Sequence[float]] = None
    trainer: str = ""
    config: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.num_levels, int) or self.num_levels < 1:
            raise ValueError("num_levels must be an int >= 1, got %r" % (self.num_levels,))
        weights = [float(w) for w in self.hierarchy_weights]
        if len(weights) != self.num_levels:
            raise ValueError("hierarchy_weights has %d entries for %d levels"
                             % (len(weights), self.num_levels))
        if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError("hierarchy_weights must be finite, >= 0 and not all 0: %r"
                             % (weights,))
        self.hierarchy_weights = weights
        for name in ("embed_dim", "total_steps", "collapse_rows"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError("%s must be a positive int or None, got %r" % (name, value))
        if self.warmup_steps is not None and (not isinstance(self.warmup_steps, int)
                                              or self.warmup_steps < 0):
            raise ValueError("warmup_steps must be an int >= 0 or None, got %r"
                             % (self.warmup_steps,))
        if self.stop_gradient is not None and not isinstance(self.stop_gradient, bool):
            raise ValueError("stop_gradient must be true, false or None, got %r"
                             % (self.stop_gradient,))
        if self.mask_ratio_expected is not None:
            ratio = float(self.mask_ratio_expected)
            if not 0.0 <= ratio <= 1.0:
                raise ValueError("mask_ratio_expected must be in [0, 1], got %r" % (ratio,))
            self.mask_ratio_expected = ratio
        if self.mask_ratio_range is not None:
            pair = [float(v) for v in self.mask_ratio_range]
            if len(pair) != 2 or not 0.0 <= pair[0] <= pair[1] <= 1.0:
                raise ValueError("mask_ratio_range must be (low, high) with 0 <= low <= high "
                                 "<= 1, got %r" % (self.mask_ratio_range,))
            self.mask_ratio_range = pair
        if self.patch_grid is not None:
            grid = [int(g) for g in self.patch_grid]
            if len(grid) != 2 or min(grid) < 1:
                raise ValueError("patch_grid must be (height, width) >= 1, got %r"
                                 % (self.patch_grid,))
            self.patch_grid = grid
        try:
            json.dumps(self.config, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise ValueError("config must be JSON-serialisable: %s" % e) from None

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "RunManifest":
        """Build from a dict, ignoring fields a newer writer may have added."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _scalar_value(value) -> float:
    """A Python float from a number-like value; rejects arrays, strings and bools."""
    if isinstance(value, (str, bytes, bool)) or value is None:
        raise TypeError("metric value must be a number, got %r" % (value,))
    if isinstance(value, numbers.Real):
        return float(value)
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "fiu":
        raise TypeError("metric value must be a scalar number, got shape %s dtype %s"
                        % (array.shape, array.dtype))
    return float(array.reshape(()))


def _float32_tensor(value: float) -> tensor_pb2.TensorProto:
    return tensor_pb2.TensorProto(
        dtype=types_pb2.DT_FLOAT,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(),
        float_val=[value],
    )


def _check_step(step) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
        raise ValueError("step must be a non-negative int, got %r" % (step,))
    return int(step)


class SummaryWriter:
    """Writes catalogue metrics, histograms, text and the run manifest of one run.

    Not thread-safe; use one writer per process (rank 0 under DDP).
    """

    def __init__(self, logdir: str, *, manifest: Optional[RunManifest] = None,
                 plain_scalars: bool = False, allow_unknown: bool = False,
                 flush_secs: float = 10.0, max_queue: int = 1000, filename_suffix: str = ""):
        """Opens a new event file in ``logdir``.

        Args:
          logdir: the run's directory (one run per directory, as TensorBoard expects).
          manifest: written at step 0 when given; also later through ``write_manifest``.
          plain_scalars: write metrics as standard TensorBoard scalars (see module doc).
          allow_unknown: let ``scalar_tag`` write tags the catalogue does not know.
          flush_secs, max_queue: passed to TensorBoard's EventFileWriter.
          filename_suffix: appended to the event file's name.
        """
        self._writer = EventFileWriter(logdir, max_queue_size=max_queue, flush_secs=flush_secs,
                                       filename_suffix=filename_suffix)
        self._plain = plain_scalars
        self._allow_unknown = allow_unknown
        self._described = set()  # tags whose metadata has been written by this writer
        self._closed = False
        self.logdir = logdir
        if manifest is not None:
            self.write_manifest(manifest)

    # -- context manager ---------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- writing -----------------------------------------------------------------------
    def write_manifest(self, manifest: RunManifest, step: int = 0) -> None:
        """Write the run manifest (the value stored is the number of levels)."""
        if not isinstance(manifest, RunManifest):
            raise TypeError("manifest must be a RunManifest, got %s" % type(manifest).__name__)
        meta = metadata.create_summary_metadata(
            metadata.KIND_MANIFEST, manifest=manifest.to_dict(),
            description="H-JEPA run manifest")
        self._write_value(metadata.MANIFEST_TAG, float(manifest.num_levels), step, meta, None)

    def scalar(self, key: str, value, step: int, *, level: Optional[int] = None,
               group: Optional[int] = None, wall_time: Optional[float] = None) -> None:
        """Write one catalogue metric.

        Args:
          key: catalogue key, e.g. "loss.total".
          value: a finite or non-finite number (float, int, numpy scalar, 1-element array).
          step: training step, int >= 0.
          level, group: fill the tag's ``{i}`` / ``{group}`` placeholder.
          wall_time: seconds since the epoch; now when omitted.

        Raises:
          KeyError: unknown key.  ValueError: bad placeholder or step.  TypeError: bad value.
        """
        metric = catalog.get(key)
        if metric.kind != "scalar":
            raise ValueError("metric %r is a %s, not a scalar" % (key, metric.kind))
        tag = catalog.tag(key, level=level, group=group)
        self._write_metric(tag, value, step, wall_time, metric.meaning)

    def scalars(self, values: Dict[str, float], step: int, *, level: Optional[int] = None) -> None:
        """Write several catalogue metrics of one step (and one level, if per-level)."""
        for key, value in values.items():
            self.scalar(key, value, step, level=level)

    def scalar_tag(self, tag: str, value, step: int, *, wall_time: Optional[float] = None) -> None:
        """Write a value under a concrete tag (a catalogue tag or, if allowed, any tag).

        Raises:
          ValueError: the tag is not in the catalogue and ``allow_unknown`` is False.
        """
        resolved = catalog.resolve(tag)
        if resolved is None or resolved.alias is not None or resolved.metric.kind != "scalar":
            if not self._allow_unknown:
                raise ValueError("tag %r is not a catalogue scalar tag; use a catalogue key with "
                                 "scalar(), or SummaryWriter(allow_unknown=True)" % (tag,))
            self._write_value(tag, _scalar_value(value), _check_step(step),
                              scalar_metadata.create_summary_metadata("", ""), wall_time)
            return
        self._write_metric(tag, value, step, wall_time, resolved.metric.meaning)

    def histogram(self, key: str, values, step: int, *, layer: str, buckets: int = 30,
                  wall_time: Optional[float] = None) -> None:
        """Write a histogram metric (e.g. "gradients.histogram", layer="predictor").

        Non-finite entries are dropped before bucketing (a histogram of NaN has no
        shape); their count is not lost: the global-norm scalar reports them.
        """
        metric = catalog.get(key)
        if metric.kind != "histogram":
            raise ValueError("metric %r is a %s, not a histogram" % (key, metric.kind))
        tag = catalog.tag(key, layer=layer)
        data = np.asarray(values, dtype=np.float64).ravel()
        data = data[np.isfinite(data)]
        summary = histogram_summary.histogram_pb(tag, data, buckets=buckets)
        self._add(summary, _check_step(step), wall_time)

    def text(self, tag: str, text: str, step: int, *, wall_time: Optional[float] = None) -> None:
        """Write a text summary (shown in TensorBoard's Text dashboard)."""
        if not isinstance(text, str):
            raise TypeError("text must be str, got %s" % type(text).__name__)
        self._add(text_summary.text_pb(tag, text), _check_step(step), wall_time)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        if not self._closed:
            self._writer.close()
            self._closed = True

    # -- internals ---------------------------------------------------------------------
    def _write_metric(self, tag, value, step, wall_time, description):
        if self._plain:
            meta = scalar_metadata.create_summary_metadata("", description)
        else:
            meta = metadata.create_summary_metadata(metadata.KIND_METRIC,
                                                    description=description)
        self._write_value(tag, _scalar_value(value), _check_step(step), meta, wall_time)

    def _write_value(self, tag, value, step, meta, wall_time):
        value_pb = summary_pb2.Summary.Value(tag=tag, tensor=_float32_tensor(value))
        # Metadata only with a tag's first value, as TensorBoard's own writers do.
        if tag not in self._described:
            value_pb.metadata.CopyFrom(meta)
            self._described.add(tag)
        self._add(summary_pb2.Summary(value=[value_pb]), step, wall_time)

    def _add(self, summary, step, wall_time):
        if self._closed:
            raise RuntimeError("SummaryWriter for %r is closed" % (self.logdir,))
        event = event_pb2.Event(summary=summary, step=step,
                                wall_time=time.time() if wall_time is None else wall_time)
        self._writer.add_event(event)


def write_plain_scalars(logdir: str, rows: List[tuple]) -> None:
    """Write (tag, value, step) rows as ordinary TensorBoard scalars, as any trainer would.

    A small helper for examples and tests of "logs from other trainers".
    """
    writer = SummaryWriter(logdir, plain_scalars=True, allow_unknown=True)
    try:
        for tag, value, step in rows:
            writer._write_value(tag, _scalar_value(value), _check_step(step),
                                scalar_metadata.create_summary_metadata("", ""), None)
    finally:
        writer.close()
