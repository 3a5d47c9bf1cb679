"""Atomic checkpoints: model, optimizer, step, config, version, RNG and metric windows.

Errors propagate with the file named: a checkpoint that cannot be written is a
``CheckpointError`` (an ``OSError``: the disk), one that cannot be resumed from is a
``CheckpointReadError`` (a ``ValueError``: bad input) or ``CheckpointNotFoundError``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
from typing import Any, Dict

import torch

from tensorboard_plugin_hjepa.version import __version__

CHECKPOINT_NAME = "checkpoint.pt"
# A copy of the last checkpoint written while the online verdict was healthy: what to go
# back to after a collapse (``hjepa-train --resume --from-healthy``).
HEALTHY_NAME = "checkpoint_healthy.pt"
# Version of the checkpoint layout (bump when keys change; ``load`` refuses newer ones).
# Format 1 holds STATE_KEYS (written by ``train.Trainer.save_checkpoint``) plus ``format``
# and ``version`` (added by ``save``).
CHECKPOINT_FORMAT = 1
STATE_KEYS = ("step", "config", "model", "optimizer", "metrics", "rng")


class CheckpointError(OSError):
    """A checkpoint could not be written (the message names the file and says whether the
    previous checkpoint is intact)."""


class CheckpointReadError(ValueError):
    """A file at the checkpoint path that this trainer cannot resume from: not a checkpoint
    (truncated, empty, garbage), missing keys, or of a newer format. The message names
    the file.

    Attributes:
        path: the checkpoint file.
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


class CheckpointNotFoundError(FileNotFoundError):
    """No checkpoint at the path to resume from (the message names the file)."""


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
        previous = (
            "the previous checkpoint is intact"
            if os.path.exists(path)
            else "no checkpoint was written"
        )
        raise CheckpointError(
            f"cannot write checkpoint {path!r}: {err.strerror or err}; {previous}"
        ) from err
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def keep_copy(path: str, copy_path: str) -> None:
    """Make ``copy_path`` a copy of the checkpoint at ``path``, atomically.

    A hard link where the filesystem has them (no bytes written: ``save`` replaces
    ``path`` by a new file, so the link keeps the old content), else a copied file; then
    ``os.replace``, so a crash leaves the previous copy or the new one.

    Raises:
        CheckpointError: the copy could not be written; ``copy_path`` is unchanged.
    """
    for stale in glob.glob(glob.escape(copy_path) + ".tmp.*"):  # of a killed process
        with contextlib.suppress(OSError):
            os.remove(stale)
    tmp = f"{copy_path}.tmp.{os.getpid()}"
    try:
        try:
            os.link(path, tmp)
        except OSError:  # no hard links here (another filesystem, some network mounts)
            shutil.copyfile(path, tmp)
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, copy_path)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        previous = (
            "the previous copy is intact" if os.path.exists(copy_path) else "no copy was written"
        )
        raise CheckpointError(
            f"cannot write checkpoint {copy_path!r}: {err.strerror or err}; {previous}"
        ) from err


def load(path: str) -> Dict[str, Any]:
    """Read a checkpoint written by ``save``.

    Args:
        path: the checkpoint file.

    Returns:
        The state: ``STATE_KEYS``, ``format`` and ``version``, with tensors on the CPU.

    Raises:
        CheckpointNotFoundError: no checkpoint at ``path``.
        CheckpointReadError: the file is not a trainer checkpoint (unreadable, truncated,
            empty, keys missing) or is of a newer format.
    """
    if not os.path.exists(path):
        raise CheckpointNotFoundError(f"no checkpoint to resume from at {path!r}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # re-raised with the file named, not swallowed
        first_line = (str(err).strip().splitlines() or [""])[0]
        raise CheckpointReadError(
            path,
            f"{path!r} is not a readable hjepa-train checkpoint (truncated or "
            f"corrupt?): {type(err).__name__}: {first_line}",
        ) from err
    if (
        not isinstance(state, dict)
        or not isinstance(state.get("format"), int)
        or "step" not in state
    ):
        raise CheckpointReadError(path, f"{path!r} is not an hjepa-train checkpoint")
    if state["format"] > CHECKPOINT_FORMAT:
        raise CheckpointReadError(
            path,
            f"{path!r} has checkpoint format {state['format']!r}, newer than this "
            f"trainer's {CHECKPOINT_FORMAT}; upgrade tensorboard-plugin-hjepa",
        )
    missing = [key for key in STATE_KEYS if key not in state]
    if missing:
        raise CheckpointReadError(
            path, f"{path!r} is not a complete hjepa-train checkpoint: missing {', '.join(missing)}"
        )
    wrong = [
        key for key in STATE_KEYS if not isinstance(state[key], int if key == "step" else dict)
    ]
    if wrong:
        raise CheckpointReadError(
            path, f"{path!r} is not an hjepa-train checkpoint: {', '.join(wrong)} of the wrong type"
        )
    return state
