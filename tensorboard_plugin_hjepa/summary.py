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

This module only writes. ``RunManifest`` is defined in ``metadata`` (with the rest of
the plugin's content schema, which the reader shares) and re-exported here.
"""

import numbers
import time
from typing import Dict, List, Optional

import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
from tensorboard.plugins.histogram import summary_v2 as histogram_summary
from tensorboard.plugins.scalar import metadata as scalar_metadata
from tensorboard.plugins.text import summary_v2 as text_summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from . import catalog, metadata

# The manifest's schema and parsing are the metadata's (the reader needs them without
# this writer); it stays importable from here, where trainers have always found it.
from .metadata import RunManifest  # noqa: F401  (documented API)

__all__ = ["RunManifest", "SummaryWriter", "write_plain_scalars"]


def _scalar_value(value) -> float:
    """A Python float from a number-like value; rejects arrays, strings and bools."""
    if isinstance(value, (str, bytes, bool)) or value is None:
        raise TypeError("metric value must be a number, got %r" % (value,))
    if isinstance(value, numbers.Real):
        return float(value)
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "fiu":
        raise TypeError(
            "metric value must be a scalar number, got shape %s dtype %s"
            % (array.shape, array.dtype)
        )
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

    def __init__(
        self,
        logdir: str,
        *,
        manifest: Optional[RunManifest] = None,
        plain_scalars: bool = False,
        allow_unknown: bool = False,
        flush_secs: float = 10.0,
        max_queue: int = 1000,
        filename_suffix: str = "",
    ):
        """Opens a new event file in ``logdir``.

        Args:
          logdir: the run's directory (one run per directory, as TensorBoard expects).
          manifest: written at step 0 when given; also later through ``write_manifest``.
          plain_scalars: write metrics as standard TensorBoard scalars (see module doc).
          allow_unknown: let ``scalar_tag`` write tags the catalogue does not know.
          flush_secs, max_queue: passed to TensorBoard's EventFileWriter.
          filename_suffix: appended to the event file's name.
        """
        self._writer = EventFileWriter(
            logdir, max_queue_size=max_queue, flush_secs=flush_secs, filename_suffix=filename_suffix
        )
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
            metadata.KIND_MANIFEST, manifest=manifest.to_dict(), description="H-JEPA run manifest"
        )
        self._write_value(metadata.MANIFEST_TAG, float(manifest.num_levels), step, meta, None)

    def scalar(
        self,
        key: str,
        value,
        step: int,
        *,
        level: Optional[int] = None,
        group: Optional[int] = None,
        wall_time: Optional[float] = None,
    ) -> None:
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
                raise ValueError(
                    "tag %r is not a catalogue scalar tag; use a catalogue key with "
                    "scalar(), or SummaryWriter(allow_unknown=True)" % (tag,)
                )
            self._write_value(
                tag,
                _scalar_value(value),
                _check_step(step),
                scalar_metadata.create_summary_metadata("", ""),
                wall_time,
            )
            return
        self._write_metric(tag, value, step, wall_time, resolved.metric.meaning)

    def histogram(
        self,
        key: str,
        values,
        step: int,
        *,
        layer: str,
        buckets: int = 30,
        wall_time: Optional[float] = None,
    ) -> None:
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
            meta = metadata.create_summary_metadata(metadata.KIND_METRIC, description=description)
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
        event = event_pb2.Event(
            summary=summary, step=step, wall_time=time.time() if wall_time is None else wall_time
        )
        self._writer.add_event(event)


def write_plain_scalars(logdir: str, rows: List[tuple]) -> None:
    """Write (tag, value, step) rows as ordinary TensorBoard scalars, as any trainer would.

    A small helper for examples and tests of "logs from other trainers".
    """
    writer = SummaryWriter(logdir, plain_scalars=True, allow_unknown=True)
    try:
        for tag, value, step in rows:
            writer._write_value(
                tag,
                _scalar_value(value),
                _check_step(step),
                scalar_metadata.create_summary_metadata("", ""),
                None,
            )
    finally:
        writer.close()
