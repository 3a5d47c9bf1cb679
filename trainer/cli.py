"""``hjepa-train``: train the reference H-JEPA and log every catalogue metric.

    hjepa-train                                   # the tiny CPU demo
    hjepa-train --config trainer/configs/vit_b16_224_gpu.yaml --set training.batch_size=128
    hjepa-train --config my.yaml --logdir runs --max-steps 500 --resume
    hjepa-train --config my.yaml --resume --from-healthy   # back to the last healthy checkpoint
    torchrun --nproc_per_node 2 -m hjepa_trainer --config my.yaml   # DDP, rank 0 logs

Exit codes (each failure but an internal error prints one ``hjepa-train:`` line naming the
file or key):

- 0 done;
- 1 non-finite loss (checkpoint written), a checkpoint or events that cannot be written
  (e.g. a full disk; the last checkpoint is intact), or an internal error (Python prints
  its traceback);
- 2 bad input: usage, an impossible config value, an unreadable image or image folder, a
  missing or damaged checkpoint, a checkpoint of another model config, or missing torch;
- 3 stopped by an online health check (``health.stop_on``; checkpoint written);
- 130 stopped by a signal (checkpoint written).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import FrozenSet, List, Optional

INSTALL_HINT = (
    "hjepa-train needs PyTorch: install the trainer extra with\n"
    "    pip install 'tensorboard-plugin-hjepa[train]'"
)


def _input_checks() -> FrozenSet:
    """The functions whose own ``raise ValueError`` reports bad input (naming the file or key),
    as code objects: an unreadable image or image folder, a dataset smaller than one batch,
    masks that leave no context, a checkpoint of another model config. A ValueError raised
    anywhere else (inside torch, or by a check that a validated config cannot fail) is a bug."""
    from . import data, masking, train

    return frozenset(
        f.__code__
        for f in (
            data._load_image,
            data.ImageFolder.__init__,
            data.batch_indices,
            data.iterate_batches,
            masking.MultiBlockMaskGenerator.__call__,
            train.Trainer._check_resumable,
        )
    )


def _is_input_error(err: ValueError) -> bool:
    """Whether ``err`` was raised by one of ``_input_checks`` itself."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_code in _input_checks()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hjepa-train",
        description="Train the reference H-JEPA with full "
        "TensorBoard health metrics (no arguments: the tiny CPU demo). Online health checks run "
        "the diagnosis every health.every steps and print one line on a new problem.",
        epilog="exit status: 0 done; 1 non-finite loss (checkpoint written), a checkpoint or "
        "events that cannot be written, or an internal error (with its traceback); 2 bad "
        "usage, config, image or checkpoint, or missing torch; 3 stopped by an online health "
        "check, --set health.stop_on=collapse (or warning / critical; checkpoint written); "
        "130 stopped by a signal (checkpoint written)",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="YAML config (default: the bundled tiny_cpu.yaml)"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set training.lr=1e-3 (repeatable)",
    )
    parser.add_argument(
        "--logdir", help="logging.log_dir (the run goes to LOGDIR/<experiment_name>)"
    )
    parser.add_argument(
        "--max-steps", type=int, help="stop after N steps (schedules keep training.total_steps)"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the run's checkpoint.pt (a run killed before its first "
        "checkpoint restarts at step 0 without writing logged steps twice)",
    )
    parser.add_argument(
        "--from-healthy",
        action="store_true",
        help="with --resume: continue from checkpoint_healthy.pt, the last checkpoint written "
        "while the online verdict was healthy; the events after it move to "
        "<run>/abandoned_after_step_<step> (a run of its own in TensorBoard)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Console entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        import torch  # noqa: F401
    except ImportError:
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    from . import config as config_lib
    from .checkpoint import CheckpointError, CheckpointNotFoundError, CheckpointReadError
    from .events import EventWriteError
    from .train import NonFiniteLossError, train

    overrides = list(args.overrides)
    if args.logdir:
        overrides.append(f"logging.log_dir={args.logdir}")
    if args.from_healthy and not args.resume:
        print("hjepa-train: --from-healthy needs --resume", file=sys.stderr)
        return 2
    if args.max_steps is not None and args.max_steps < 1:
        print("hjepa-train: --max-steps must be >= 1", file=sys.stderr)
        return 2
    try:
        cfg = config_lib.load_config(args.config or config_lib.DEFAULT_CONFIG, overrides)
    except (config_lib.ConfigError, OSError) as err:
        print(f"hjepa-train: {err}", file=sys.stderr)
        return 2
    start = time.time()
    try:
        result = train(
            cfg,
            resume=args.resume,
            progress=not args.no_progress,
            max_steps=args.max_steps,
            from_healthy=args.from_healthy,
        )
    except NonFiniteLossError as err:
        print(f"hjepa-train: {err}", file=sys.stderr)
        return 1
    except (
        CheckpointError,
        EventWriteError,
    ) as err:  # e.g. a full disk; the last checkpoint is intact
        print(f"hjepa-train: {err}", file=sys.stderr)
        return 1
    except (config_lib.ConfigError, CheckpointNotFoundError, CheckpointReadError) as err:
        print(f"hjepa-train: {err}", file=sys.stderr)
        return 2
    except ValueError as err:
        if not _is_input_error(err):
            raise  # a bug, not bad input: its traceback, exit status 1
        print(f"hjepa-train: {err}", file=sys.stderr)
        return 2
    if result.interrupted:
        return 130
    if result.health_stop is not None:
        from .health import EXIT_HEALTH_STOP

        return EXIT_HEALTH_STOP
    msg = (
        f"hjepa-train: {result.end_step} steps in {time.time() - start:.0f}s "
        f"({result.samples_per_second:.1f} samples/s); logs in {result.run_dir}"
    )
    if result.knn_top1 is not None:
        base = result.knn_top1_random_init
        msg += f"\n  kNN top-1 {result.knn_top1:.3f}" + (
            f" (random-init encoder {base:.3f})" if base is not None else ""
        )
    print(msg + f"\n  view: tensorboard --logdir {cfg.logging.log_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
