"""DDP on CPU with the gloo backend and 2 processes: in sync, metrics by rank 0 only."""

import glob
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from tensorboard_plugin_hjepa import catalog

from trainer_helpers import ddp_worker, read_scalars


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_processes_gloo(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    mp.start_processes(
        ddp_worker,
        args=(2, _free_port(), str(tmp_path / "logs"), str(out)),
        nprocs=2,
        join=True,
        start_method="spawn",
    )
    r0, r1 = (torch.load(out / f"rank{r}.pt", weights_only=False) for r in (0, 1))
    assert r0["end_step"] == r1["end_step"] == 4
    # Gradients are averaged: both ranks hold the same weights, target encoders included.
    for key, value in r0["model"].items():
        assert torch.allclose(value, r1["model"][key], atol=1e-6), key
    # The logged loss is the all-rank mean, identical on both ranks.
    assert r0["history"] == r1["history"]
    run = tmp_path / "logs" / "run"
    assert len(glob.glob(os.path.join(run, "events.out.tfevents*"))) == 1  # rank 0 only
    logged = [v for _, v in read_scalars(run)[catalog.tag("loss.total")]]
    assert logged == pytest.approx(r0["history"], rel=1e-6)
