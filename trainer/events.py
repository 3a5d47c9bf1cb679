"""Event writing that survives crashes without lost or duplicated steps.

TensorBoard keeps every event it finds, so a resumed run must neither rewrite
steps that are already on disk nor leave a gap. Two rules give that:

1. Hold back: metric writes are buffered in memory (Python floats and small numpy
   arrays) and committed to the event file only at checkpoints, *before* the
   checkpoint is saved. After a crash, the event files end at (or, if the crash
   fell between the commit and the checkpoint, after) the last checkpoint.
2. Skip what is on disk: on resume, the largest step already in the run's event
   files is read back, and records up to that step are dropped. Steps are
   recomputed deterministically from the checkpoint, so nothing is lost either.
"""

from __future__ import annotations

import glob
import os
import time
from typing import Any, List, Optional, Tuple

from tensorboard.backend.event_processing import event_file_loader


def max_event_step(run_dir: str) -> int:
    """Largest step of any summary event in ``run_dir`` (-1 if none).

    Reads every ``events.out.tfevents*`` file of the directory with TensorBoard's
    own loader (a truncated last record, as a crash leaves, is tolerated by it).
    """
    best = -1
    for path in sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents*"))):
        for event in event_file_loader.EventFileLoader(path).Load():
            if event.HasField("summary"):
                best = max(best, event.step)
    return best


class EventSink:
    """Buffers metric writes until ``commit()``.

    Args:
        writer: a ``tensorboard_plugin_hjepa.summary.SummaryWriter`` or None (writes
            are dropped, e.g. ``logging.tensorboard.enabled: false``).
        skip_through: records with ``step <= skip_through`` are dropped at commit.
        mirror: optional callable ``(key, value, step, level, group)`` for scalars
            (the wandb bridge), called at commit for the same records.
    """

    def __init__(self, writer, *, skip_through: int = -1, mirror=None) -> None:
        self.writer = writer
        self.skip_through = skip_through
        self.mirror = mirror
        self._pending: List[Tuple[str, tuple, dict]] = []

    def scalar(self, key: str, value: float, step: int, *, level: Optional[int] = None,
               group: Optional[int] = None) -> None:
        """Queue a catalogue scalar (same signature as ``SummaryWriter.scalar``)."""
        self._pending.append(("scalar", (key, float(value), step),
                              {"level": level, "group": group, "wall_time": time.time()}))

    def histogram(self, key: str, values: Any, step: int, *, layer: str) -> None:
        """Queue a catalogue histogram (same signature as ``SummaryWriter.histogram``)."""
        self._pending.append(("histogram", (key, values, step), {"layer": layer, "wall_time": time.time()}))

    @property
    def pending(self) -> int:
        return len(self._pending)

    def commit(self) -> None:
        """Write the queued records (minus those already on disk) and flush."""
        pending, self._pending = self._pending, []
        for kind, args, kwargs in pending:
            if args[2] <= self.skip_through:
                continue
            if self.writer is not None:
                getattr(self.writer, kind)(*args, **kwargs)
            if self.mirror is not None and kind == "scalar":
                self.mirror(args[0], args[1], args[2], kwargs["level"], kwargs["group"])
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        """Commit and close the writer."""
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

    def commit(self) -> None:
        pass

    def close(self) -> None:
        pass
