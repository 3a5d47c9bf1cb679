"""Atomic checkpoints: model, optimizer, step, config, version, RNG and metric windows."""

from __future__ import annotations

import contextlib
import glob
import os
from typing import Any, Dict

import torch

from tensorboard_plugin_hjepa.version import __version__

CHECKPOINT_NAME = "checkpoint.pt"
# Version of the checkpoint layout (bump when keys change; ``load`` refuses newer ones).
CHECKPOINT_FORMAT = 1


class CheckpointError(OSError):
    """A checkpoint could not be written (the message names the file and says whether the
    previous checkpoint is intact)."""


def save(path: str, state: Dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically: temp file, fsync, ``os.replace``.

    A crash at any point leaves either the previous checkpoint or the new one,
    never a truncated file. A write that fails (a full disk) removes its temp file.

    Args:
        path: destination file.
        state: picklable dict; ``format`` and ``version`` are added.

    Raises:
        CheckpointError: the file could not be written; ``path`` is unchanged.
    """
    state = dict(state, format=CHECKPOINT_FORMAT, version=__version__)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    # A process killed while writing leaves its temp file: one writer per run, so any
    # temp file of this checkpoint is a dead one (each is a full checkpoint's size).
    for stale in glob.glob(glob.escape(path) + ".tmp.*"):
        with contextlib.suppress(OSError):
            os.remove(stale)
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:  # e.g. a full disk: the previous checkpoint is untouched
        with contextlib.suppress(OSError):
            os.remove(tmp)
        previous = "the previous checkpoint is intact" if os.path.exists(path) else "no checkpoint was written"
        raise CheckpointError(f"cannot write checkpoint {path!r}: {err.strerror or err}; {previous}") from err
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def load(path: str) -> Dict[str, Any]:
    """Read a checkpoint written by ``save``.

    Raises:
        FileNotFoundError: no checkpoint at ``path``.
        ValueError: the file is not a trainer checkpoint (unreadable, truncated) or is of
            a newer format.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint to resume from at {path!r}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # re-raised with the file named, not swallowed
        first_line = (str(err).strip().splitlines() or [""])[0]
        raise ValueError(f"{path!r} is not a readable hjepa-train checkpoint (truncated or corrupt?): "
                         f"{type(err).__name__}: {first_line}") from err
    if not isinstance(state, dict) or "format" not in state or "step" not in state:
        raise ValueError(f"{path!r} is not an hjepa-train checkpoint")
    if state["format"] > CHECKPOINT_FORMAT:
        raise ValueError(f"{path!r} has checkpoint format {state['format']}, newer than this trainer's "
                         f"{CHECKPOINT_FORMAT}; upgrade tensorboard-plugin-hjepa")
    return state
