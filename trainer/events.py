"""Event writing that survives crashes without lost or duplicated steps.

TensorBoard keeps every event it finds, so a resumed run must neither rewrite
steps that are already on disk nor leave a gap. Two rules give that:

1. Hold back: metric writes are buffered in memory (Python floats and small numpy
   arrays) and committed to the event file only at checkpoints, *before* the
   checkpoint is saved. After a crash, the event files end at (or, if the crash
   fell between the commit and the checkpoint, after) the last checkpoint.
2. Skip what is on disk: on resume, the largest step of every tag already in the
   run's event files is read back, and records of that tag up to that step are
   dropped. Steps are recomputed deterministically from the checkpoint, so nothing
   is lost either. Per tag, because evaluations are logged at "after c steps" and
   a crash can leave a step half-written.
"""

from __future__ import annotations

import contextlib
import glob
import os
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from tensorboard.backend.event_processing import event_file_loader

from tensorboard_plugin_hjepa import catalog
from tensorboard_plugin_hjepa.metadata import MANIFEST_TAG
from tensorboard_plugin_hjepa.summary import RunManifest, SummaryWriter

from . import config as config_lib


def max_event_steps(run_dir: str) -> Dict[str, int]:
    """Largest step of every summary tag in ``run_dir``'s event files.

    Reads every ``events.out.tfevents*`` file of the directory with TensorBoard's
    own loader (a truncated last record, as a crash leaves, is tolerated by it).
    """
    best: Dict[str, int] = {}
    for path in sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents*"))):
        for event in event_file_loader.EventFileLoader(path).Load():
            for value in event.summary.value:
                best[value.tag] = max(best.get(value.tag, -1), event.step)
    return best


ABANDONED_PREFIX = "abandoned_after_step_"


def set_aside_after(run_dir: str, step: int, at_step_tags, *, also=()) -> str:
    """Move a run's events after ``step`` out of the way, for a resume from an older
    checkpoint (``hjepa-train --resume --from-healthy``); returns the folder they went to.

    The run's event files (and the files in ``also``: the checkpoint of the state after
    them) move to a sub-folder ``abandoned_after_step_<step>`` (TensorBoard lists it as
    a run of its own, so nothing is lost), and the run keeps a new event file with the events before
    ``step``, and those at ``step`` of ``at_step_tags`` (tags logged "after ``step``
    steps": evaluations, checkpoints). The resumed run then writes every later step
    once. The new file is written first and put in place last: a crash in between leaves
    every event in the sub-folder.

    Raises:
        EventWriteError: a file could not be written or moved (the message names it).
    """
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter

    files = sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents*")))
    dest = os.path.join(run_dir, "%s%d" % (ABANDONED_PREFIX, step))
    n = 1
    while os.path.exists(dest):  # set aside twice at one step: keep both
        n += 1
        dest = os.path.join(run_dir, "%s%d_%d" % (ABANDONED_PREFIX, step, n))
    kept = os.path.join(run_dir, "events.out.tfevents.%d.resumed" % int(time.time()))
    tmp = kept.replace("events.out.tfevents", "resumed-events") + ".tmp"
    try:
        with open(tmp, "wb") as f:
            writer = RecordWriter(f)
            header = False
            for path in files:
                for record in event_file_loader.RawEventFileLoader(path).Load():
                    event = event_pb2.Event.FromString(record)
                    if event.HasField("file_version"):
                        if not header:  # one file header
                            writer.write(record)
                            header = True
                        continue
                    tags = [value.tag for value in event.summary.value]
                    if event.step < step or (
                        event.step == step and tags and all(t in at_step_tags for t in tags)
                    ):
                        writer.write(record)
            writer.flush()
            os.fsync(f.fileno())
        os.makedirs(dest)
        for path in files + list(also):
            if os.path.exists(path):
                os.replace(path, os.path.join(dest, os.path.basename(path)))
        os.replace(tmp, kept)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise EventWriteError(
            "cannot set aside the events of %r after step %d: %s" % (run_dir, step, err)
        ) from err
    return dest


class EventWriteError(OSError):
    """The run's event file cannot be written (the message names the directory)."""


class EventSink:
    """Buffers metric writes until ``commit()``.

    Args:
        writer: a ``tensorboard_plugin_hjepa.summary.SummaryWriter`` or None (writes
            are dropped, e.g. ``logging.tensorboard.enabled: false``).
        skip_through: tag -> step; records of a tag with ``step <=`` its entry are
            dropped at commit (``max_event_steps`` of the run on resume).
        mirror: optional callable ``(key, value, step, level, group)`` for scalars
            (the wandb bridge), called at commit for the same records.
    """

    def __init__(
        self, writer, *, skip_through: Optional[Dict[str, int]] = None, mirror=None
    ) -> None:
        self.writer = writer
        self.skip_through = dict(skip_through or {})
        self.mirror = mirror
        self._pending: List[Tuple[str, tuple, dict]] = []
        self._failed = False  # a commit failed: the writer is broken

    def scalar(
        self,
        key: str,
        value: float,
        step: int,
        *,
        level: Optional[int] = None,
        group: Optional[int] = None,
    ) -> None:
        """Queue a catalogue scalar (same signature as ``SummaryWriter.scalar``)."""
        self._pending.append(
            (
                "scalar",
                (key, float(value), step),
                {"level": level, "group": group, "wall_time": time.time()},
            )
        )

    def histogram(self, key: str, values: Any, step: int, *, layer: str) -> None:
        """Queue a catalogue histogram (same signature as ``SummaryWriter.histogram``)."""
        self._pending.append(
            ("histogram", (key, values, step), {"layer": layer, "wall_time": time.time()})
        )

    def text(self, tag: str, text: str, step: int) -> None:
        """Queue a text summary under a concrete tag (``SummaryWriter.text``)."""
        self._pending.append(("text", (tag, text, step), {"wall_time": time.time()}))

    @property
    def pending(self) -> int:
        return len(self._pending)

    def commit(self) -> None:
        """Write the queued records (minus those already on disk) and flush.

        Raises:
            EventWriteError: the event file cannot be written (e.g. a full disk); the
                writer is then broken and ``close()`` only releases it.
        """
        pending, self._pending = self._pending, []
        try:
            for kind, args, kwargs in pending:
                if self.skip_through and args[2] <= self.skip_through.get(
                    self._tag(kind, args[0], kwargs), -1
                ):
                    continue
                if self.writer is not None:
                    getattr(self.writer, kind)(*args, **kwargs)
                if self.mirror is not None and kind == "scalar":
                    self.mirror(args[0], args[1], args[2], kwargs["level"], kwargs["group"])
            if self.writer is not None:
                self.writer.flush()
        except OSError as err:  # raised by the event writer's thread, e.g. ENOSPC
            self._failed = True
            raise EventWriteError(
                f"cannot write events to {getattr(self.writer, 'logdir', '?')!r}: "
                f"{err.strerror or err}; "
                "no checkpoint is written after them; the last checkpoint (if any) is intact: "
                "--resume once fixed"
            ) from err

    @staticmethod
    def _tag(kind: str, key: str, kwargs: dict) -> str:
        if kind == "text":
            return key  # already a concrete tag
        if kind == "histogram":
            return catalog.tag(key, layer=kwargs["layer"])
        return catalog.tag(key, level=kwargs["level"], group=kwargs["group"])

    def close(self) -> None:
        """Commit and close the writer (after a failed commit: release it, raise nothing)."""
        if self._failed:
            if self.writer is not None:
                with contextlib.suppress(Exception):
                    self.writer.close()
            return
        self.commit()
        if self.writer is not None:
            self.writer.close()


class NullSink:
    """Sink of non-zero ranks under DDP: metrics are written by rank 0 only."""

    pending = 0

    def scalar(self, *args, **kwargs) -> None:
        pass

    def histogram(self, *args, **kwargs) -> None:
        pass

    def text(self, *args, **kwargs) -> None:
        pass

    def commit(self) -> None:
        pass

    def close(self) -> None:
        pass


def wandb_mirror(cfg: config_lib.Config, run_dir: str):
    """A scalar mirror to Weights & Biases when ``wandb.enabled`` and wandb is installed."""
    if not cfg.wandb.enabled:
        return None
    try:
        import wandb
    except ImportError:
        print(
            "wandb.enabled is true but the 'wandb' package is not installed "
            "(pip install wandb); continuing with TensorBoard logging only.",
            file=sys.stderr,
        )
        return None
    run = wandb.init(
        project="hjepa",
        name=cfg.logging.experiment_name,
        dir=run_dir,
        config=config_lib.to_dict(cfg),
        resume="allow",
    )

    def mirror(key, value, step, level, group):
        run.log({catalog.tag(key, level=level, group=group): value}, step=step)

    return mirror


def open_sink(
    cfg: config_lib.Config,
    run_dir: str,
    *,
    skip_through: Dict[str, int],
    manifest: Optional[Callable[[], RunManifest]] = None,
) -> EventSink:
    """The event sink of a run (rank 0): a ``SummaryWriter`` on ``run_dir`` unless
    ``logging.tensorboard.enabled`` is false, and the wandb mirror of ``wandb.enabled``.

    Args:
        cfg: the run's config.
        run_dir: the run's directory (it exists).
        skip_through: tag -> step already on disk (``max_event_steps``; empty when fresh).
        manifest: returns the run's manifest, written first when the event files hold
            none yet; None on a resume from a checkpoint (the manifest is on disk).
    """
    writer = None
    if cfg.logging.tensorboard.enabled:
        writer = SummaryWriter(run_dir, plain_scalars=cfg.metrics.plain_scalars)
        if manifest is not None and MANIFEST_TAG not in skip_through:
            writer.write_manifest(manifest())
    return EventSink(writer, skip_through=skip_through, mirror=wandb_mirror(cfg, run_dir))
