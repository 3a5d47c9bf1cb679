"""Shared helpers of the trainer tests: a tiny config and event-file reading."""

import collections

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util import tensor_util

from hjepa_trainer import config as C

TINY = [
    "model.img_size=24",
    "model.patch_size=6",
    "model.embed_dim=32",
    "model.depth=1",
    "model.num_heads=2",
    "model.predictor_dim=16",
    "model.predictor_depth=1",
    "model.predictor_heads=2",
    "masking.num_masks=2",
    "masking.min_context=2",
    "data.train_size=96",
    "data.val_size=24",
    "data.probe_size=48",
    "training.batch_size=8",
    "training.total_steps=8",
    "training.warmup_steps=2",
    "training.checkpoint_every=2",
    "training.threads=1",
    "eval.interval=0",
    "eval.val_batches=1",
    "logging.log_frequency=2",
    "logging.experiment_name=run",
]


def tiny_config(logdir, *extra):
    return C.load_config(None, TINY + [f"logging.log_dir={logdir}", *extra])


def read_scalars(run_dir):
    """{tag: [(step, value)]} of every scalar-shaped tensor event, via EventAccumulator."""
    ea = EventAccumulator(str(run_dir), size_guidance={"tensors": 0})
    ea.Reload()
    out = collections.defaultdict(list)
    for tag in ea.Tags()["tensors"]:
        for ev in ea.Tensors(tag):
            arr = tensor_util.make_ndarray(ev.tensor_proto)
            if arr.ndim == 0 and arr.dtype.kind in "fiu":  # not the health alert's text
                out[tag].append((ev.step, float(arr)))
    return dict(out)


def read_histogram_tags(run_dir):
    ea = EventAccumulator(str(run_dir), size_guidance={"tensors": 0})
    ea.Reload()
    return [
        t
        for t in ea.Tags()["tensors"]
        if tensor_util.make_ndarray(ea.Tensors(t)[0].tensor_proto).ndim == 2
    ]


def ddp_worker(rank, world, port, logdir, out_dir):
    """One rank of a CPU/gloo DDP run; saves its final parameters and loss history."""
    import os

    import torch
    import torch.distributed as dist

    from hjepa_trainer.train import Trainer

    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        WORLD_SIZE=str(world),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    trainer = Trainer(
        tiny_config(logdir, "training.total_steps=4", "training.device=cpu"), progress=False
    )
    result = trainer.run()
    torch.save(
        {
            "history": result.history,
            "end_step": result.end_step,
            "model": trainer.model.state_dict(),
        },
        os.path.join(out_dir, f"rank{rank}.pt"),
    )
    dist.destroy_process_group()
