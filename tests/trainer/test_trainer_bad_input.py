"""Bad input to ``hjepa-train`` (issue 8): a clear one-line error naming the problem.

Through the CLI's ``main`` in process: exit status 2 and one line on stderr naming the
config key (or the image file), never a traceback. Extends ``test_trainer_config.py``
(which covers wrong types, unknown keys and cross-field checks at the ``load_config``
level) with impossible values found by trying every config key with hostile values,
unreadable images (read in the main process and in DataLoader workers), and a full disk
while a checkpoint is written (exit 1, the previous checkpoint intact).
"""

import dataclasses
import errno
import glob
import os
import shutil
import subprocess
import sys

import pytest
import torch
from PIL import Image

from hjepa_trainer import checkpoint as ckpt
from hjepa_trainer import cli
from hjepa_trainer import config as C

from trainer_helpers import TINY, read_scalars

HOSTILE_VALUES = (
    "0",
    "-1",
    ".nan",
    ".inf",
    "-.inf",
    "1e400",
    "''",
    "x",
    "[]",
    "{}",
    "null",
    "true",
    "[0, 0]",
    "[.nan, 1]",
    "[0.5, .inf]",
    "[-1, 2]",
    "'..'",
    "'.'",
    "99999999999999999999999999999999999999999999",
)


def _sets(*overrides):
    return [a for item in TINY + list(overrides) for a in ("--set", item)]


def _cli(capsys, *args):
    """(exit status, stdout, stderr without the online health checks' alert lines)."""
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    err = "".join(
        line for line in err.splitlines(keepends=True) if not line.startswith("hjepa-health:")
    )
    return code, out, err


def _leaf_keys():
    keys = []

    def walk(obj, prefix):
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                walk(value, prefix + f.name + ".")
            else:
                keys.append(prefix + f.name)

    walk(C.Config(), "")
    return keys


def test_every_key_with_hostile_values_fails_only_with_a_config_error():
    """Each (key, value) either validates or raises ConfigError naming the key: never
    another exception (``model.num_heads=0`` was a ZeroDivisionError)."""
    tried = 0
    for key in _leaf_keys():
        for value in HOSTILE_VALUES:
            tried += 1
            try:
                C.load_config(None, [f"{key}={value}"])
            except C.ConfigError as err:
                assert key.split(".")[0] in str(err), (key, value, err)
    assert tried > 1000


@pytest.mark.parametrize(
    "override,names",
    [
        ("model.num_heads=0", "model.num_heads"),
        ("model.predictor_heads=0", "model.predictor_heads"),
        ("model.embed_dim=0", "model.embed_dim"),
        ("model.predictor_dim=0", "model.predictor_dim"),
        ("model.mlp_ratio=0", "model.mlp_ratio"),
        ("model.mlp_ratio=-1", "model.mlp_ratio"),
        ("model.mlp_ratio=.nan", "model.mlp_ratio"),
        ("training.lr=.inf", "training.lr"),
        ("training.clip_grad=.inf", "training.clip_grad"),
        ("training.weight_decay=-1", "training.weight_decay"),
        ("training.weight_decay_end=.nan", "training.weight_decay_end"),
        ("masking.aspect_ratio=[0.5, .inf]", "masking.aspect_ratio"),
        ("eval.knn_temperature=1e400", "eval.knn_temperature"),
        ("logging.experiment_name='..'", "logging.experiment_name"),
        ("logging.experiment_name='.'", "logging.experiment_name"),
        # More levels than the patch grid allows (24 px / 6 px patches: a 4x4 grid, 3 levels).
        ("model.num_levels=4", "model.num_levels"),
        # Mask scales outside (0, 1).
        ("masking.mask_scale=[0.5, 1.5]", "masking.mask_scale"),
        ("masking.mask_scale=[0, 0.2]", "masking.mask_scale"),
        ("masking.mask_scale=[-0.1, 0.2]", "masking.mask_scale"),
        ("masking.context_scale=[0.85, 1.2]", "masking.context_scale"),
        # Wrong types and unknown keys, through the CLI.
        ("model.depth=four", "model.depth"),
        ("training.total_steps=[1]", "training.total_steps"),
        ("masking.mask_scale=0.2", "masking.mask_scale"),
        ("training.nonsense=1", "training.nonsense"),
    ],
)
def test_impossible_values_exit_2_with_one_line_naming_the_key(tmp_path, capsys, override, names):
    extra = ["model.hierarchy_weights=[1, 1, 1, 1]"] if "num_levels=4" in override else []
    code, _, err = _cli(
        capsys, *_sets(*extra, override), "--logdir", str(tmp_path), "--no-progress"
    )
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("hjepa-train: "), err
    assert names in err and "Traceback" not in err
    assert not os.path.exists(tmp_path / "run"), "nothing is written for a bad config"


def test_a_config_file_with_wrong_types_and_unknown_keys(tmp_path, capsys):
    for text, names in (
        ("model:\n  depth: four\n", "model.depth"),
        ("model:\n  depht: 2\n", "model.depht"),
        ("masking:\n  mask_scale: [0.1, 2.0]\n", "masking.mask_scale"),
        ("training: 5\n", "training"),
        ("- a list\n", "<root>"),
    ):
        path = tmp_path / "bad.yaml"
        path.write_text(text)
        code, _, err = _cli(capsys, "--config", str(path), "--logdir", str(tmp_path))
        assert code == 2 and err.count("\n") == 1 and names in err, (text, err)


def _image_folder(root, bad):
    for cls, colour in (("a", (255, 0, 0)), ("b", (0, 0, 255))):
        (root / cls).mkdir(parents=True)
        for i in range(12):
            Image.new("RGB", (30 + i, 30), colour).save(root / cls / f"{i}.png")
    good = (root / "a" / "0.png").read_bytes()
    faults = {
        "garbage": lambda p: p.write_bytes(b"not an image at all"),
        "zero_length": lambda p: p.write_bytes(b""),
        "truncated": lambda p: p.write_bytes(good[: len(good) // 2]),
        "directory": lambda p: p.mkdir(),
    }
    path = root / "b" / ("bad_%s.png" % bad)
    faults[bad](path)
    return path


@pytest.mark.parametrize(
    "bad,workers",
    [
        ("garbage", 0),
        ("zero_length", 0),
        ("truncated", 0),
        ("directory", 0),
        ("garbage", 2),
        ("truncated", 2),
    ],
)
def test_unreadable_images_exit_2_naming_the_file(tmp_path, capsys, bad, workers):
    """Read in the main process (workers=0) or in DataLoader workers (the probe bank is
    kept small and the random-init probe off, so the training batches meet it first)."""
    path = _image_folder(tmp_path / "images", bad)
    code, _, err = _cli(
        capsys,
        *_sets(
            "data.source=folder",
            f"data.path={tmp_path / 'images'}",
            f"data.num_workers={workers}",
            "data.probe_size=4",
            "eval.random_init_baseline=false",
            "training.total_steps=6",
        ),
        "--logdir",
        str(tmp_path / "logs"),
        "--no-progress",
    )
    if bad == "directory":  # not a file: not listed as an image at all, training works
        assert code == 0, err
        return
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "cannot read image" in err and path.name in err, err


def test_disk_full_while_writing_a_checkpoint(tmp_path, capsys, monkeypatch):
    """The second checkpoint write fails half-way with ENOSPC: exit 1 with one line, the
    first checkpoint intact and loadable, no temp file left; --resume then completes
    with every step logged once."""
    real_save = torch.save
    calls = {"n": 0}

    def full_disk(obj, f, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            f.write(b"\0" * 4096)  # part of the file made it to disk
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", full_disk)
    args = _sets("training.total_steps=6") + ["--logdir", str(tmp_path), "--no-progress"]
    code, _, err = _cli(capsys, *args)
    assert code == 1, err
    assert err.count("\n") == 1 and "No space left on device" in err, err
    assert "checkpoint.pt" in err and "previous checkpoint is intact" in err, err
    path = str(tmp_path / "run" / ckpt.CHECKPOINT_NAME)
    assert ckpt.load(path)["step"] == 2  # checkpoint_every=2: the first one
    assert glob.glob(path + ".tmp.*") == []
    monkeypatch.setattr(torch, "save", real_save)
    code, _, err = _cli(capsys, *args, "--resume")
    assert code == 0, err
    assert ckpt.load(path)["step"] == 6
    scalars = read_scalars(tmp_path / "run")
    assert [s for s, _ in scalars["train/loss/total"]] == list(range(6))
    for tag, points in scalars.items():
        steps = [s for s, _ in points]
        assert len(steps) == len(set(steps)), tag


def test_disk_full_while_keeping_the_healthy_checkpoint(tmp_path, capsys, monkeypatch):
    """The copy of a healthy checkpoint meets ENOSPC (no hard links here, and the copy
    fails half-way): exit 1 with one line naming checkpoint_healthy.pt, the previous copy
    intact and loadable, no temp file left."""
    real_copy = shutil.copyfile
    calls = {"n": 0}

    def no_link(src, dst):
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    def full_disk(src, dst, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            with open(dst, "wb") as f:
                f.write(b"\0" * 4096)  # part of the copy made it to disk
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_copy(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "link", no_link)
    monkeypatch.setattr(shutil, "copyfile", full_disk)
    every10 = ("training.total_steps=100", "health.every=10", "training.checkpoint_every=10")
    args = _sets(*every10) + [
        "--logdir",
        str(tmp_path),
        "--no-progress",
    ]
    code, _, err = _cli(capsys, *args)
    assert code == 1, err
    assert err.count("\n") == 1 and "No space left on device" in err, err
    assert ckpt.HEALTHY_NAME in err and "previous copy is intact" in err, err
    kept = str(tmp_path / "run" / ckpt.HEALTHY_NAME)
    assert ckpt.load(kept)["step"] == 20  # the first copy: the first checkpoint after a check
    assert glob.glob(kept + ".tmp.*") == []


@pytest.mark.parametrize("damage", ["missing", "truncated", "garbage", "empty"])
def test_resume_from_a_missing_or_damaged_checkpoint_exits_2_naming_the_file(
    tmp_path, capsys, damage
):
    """``checkpoint.save`` never leaves a damaged file, but a disk or a user can: a
    truncated checkpoint was a RuntimeError traceback from torch.load."""
    args = _sets("training.total_steps=2") + ["--logdir", str(tmp_path), "--no-progress"]
    path = tmp_path / "run" / ckpt.CHECKPOINT_NAME
    if damage != "missing":
        assert _cli(capsys, *args)[0] == 0
        data = path.read_bytes()
        path.write_bytes(
            {"truncated": data[: len(data) // 2], "garbage": b"garbage\n", "empty": b""}[damage]
        )
    code, _, err = _cli(capsys, *args, "--resume")
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert str(path) in err
    assert (
        "no checkpoint to resume from"
        if damage == "missing"
        else "not a readable hjepa-train checkpoint"
    ) in err, err


def test_disk_full_while_writing_events(tmp_path, capsys, monkeypatch):
    """The event writer's thread meets ENOSPC: exit 1 with one ``hjepa-train:`` line and
    no traceback of the main thread (it was two tracebacks: one from the commit, one
    from closing the broken writer); --resume then completes without duplicates.
    (TensorBoard's writer thread still prints its own exception through
    ``threading.excepthook``.)"""
    from tensorboard.summary.writer import record_writer

    real_write = record_writer.RecordWriter.write
    calls = {"n": 0}

    def full_disk(self, data):
        calls["n"] += 1
        if calls["n"] > 60:  # after the first checkpoint's events
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(self, data)

    monkeypatch.setattr(record_writer.RecordWriter, "write", full_disk)
    args = _sets("training.total_steps=8") + ["--logdir", str(tmp_path), "--no-progress"]
    code, _, err = _cli(capsys, *args)
    assert code == 1, err
    lines = [line for line in err.splitlines() if line.startswith("hjepa-train:")]
    assert len(lines) == 1 and "cannot write events" in lines[0], err
    assert "No space left on device" in lines[0] and str(tmp_path / "run") in lines[0]
    assert "train.py" not in err, err  # no traceback through the training loop
    path = str(tmp_path / "run" / ckpt.CHECKPOINT_NAME)
    saved = ckpt.load(path)["step"] if os.path.exists(path) else None
    monkeypatch.setattr(record_writer.RecordWriter, "write", real_write)
    code, _, err = _cli(capsys, *args, "--resume")
    assert code == 0, (saved, err)
    scalars = read_scalars(tmp_path / "run")
    assert [s for s, _ in scalars["train/loss/total"]] == list(range(8))
    for tag, points in scalars.items():
        steps = [s for s, _ in points]
        assert len(steps) == len(set(steps)), tag


@pytest.mark.parametrize("damage", ["missing_keys", "not_a_dict", "newer_format", "wrong_type"])
def test_resume_from_an_incomplete_or_newer_checkpoint_exits_2_naming_the_file(
    tmp_path, capsys, damage
):
    """A file that unpickles but is not a checkpoint this trainer wrote: keys missing (it
    was a KeyError traceback), not a mapping, a newer format, a value of the wrong type."""
    args = _sets("training.total_steps=2") + ["--logdir", str(tmp_path), "--no-progress"]
    assert _cli(capsys, *args)[0] == 0
    path = tmp_path / "run" / ckpt.CHECKPOINT_NAME
    state = torch.load(path, weights_only=False)
    if damage == "missing_keys":
        state = {k: v for k, v in state.items() if k not in ("model", "optimizer")}
    elif damage == "not_a_dict":
        state = [state]
    elif damage == "newer_format":
        state["format"] = ckpt.CHECKPOINT_FORMAT + 1
    else:
        state["config"] = "model: {}"
    torch.save(state, path)
    with pytest.raises(ckpt.CheckpointReadError, match=str(path)) as err:
        ckpt.load(str(path))
    assert isinstance(err.value, ValueError) and err.value.path == str(path)
    code, _, err = _cli(capsys, *args, "--resume")
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("hjepa-train: ") and str(path) in err, err
    expected = {
        "missing_keys": "missing model, optimizer",
        "not_a_dict": "is not an hjepa-train checkpoint",
        "newer_format": "upgrade tensorboard-plugin-hjepa",
        "wrong_type": "config of the wrong type",
    }
    assert expected[damage] in err, err


def test_resume_with_another_model_config_exits_2(tmp_path, capsys):
    args = _sets("training.total_steps=2") + ["--logdir", str(tmp_path), "--no-progress"]
    assert _cli(capsys, *args)[0] == 0
    code, _, err = _cli(capsys, *args, "--set", "model.depth=2", "--resume")
    assert code == 2, err
    assert err.count("\n") == 1 and "checkpoint's model config differs" in err, err


@pytest.mark.parametrize(
    "overrides,names",
    [
        # Masks that leave no context patch on the 4x4 grid, found when the first batch is masked.
        (["masking.mask_scale=[0.9, 1.0]"], "masking.min_context"),
        (["data.train_size=4"], "fewer than one global batch of 8"),
        (
            ["data.source=folder", "data.path={tmp}/no_such_folder"],
            "no_such_folder' is not a directory",
        ),
    ],
)
def test_bad_input_found_after_start_up_exits_2_with_one_line(tmp_path, capsys, overrides, names):
    overrides = [o.replace("{tmp}", str(tmp_path)) for o in overrides]
    code, _, err = _cli(capsys, *_sets(*overrides), "--logdir", str(tmp_path), "--no-progress")
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("hjepa-train: ") and names in err, err


def test_a_non_finite_loss_exits_1_with_one_line(tmp_path, capsys, monkeypatch):
    from hjepa_trainer.model import HJEPA

    original = HJEPA.forward

    def poisoned(self, *args):
        out = original(self, *args)
        out.loss = out.loss * float("nan")
        return out

    monkeypatch.setattr(HJEPA, "forward", poisoned)
    code, _, err = _cli(capsys, *_sets(), "--logdir", str(tmp_path), "--no-progress")
    assert code == 1, err
    assert err.count("\n") == 1 and "non-finite loss at step 0" in err, err


# A ValueError that no input explains (here: the loss function is broken).
_BUG_RUNNER = r"""
import sys
from hjepa_trainer import model
def broken(*args, **kwargs):
    raise ValueError("math domain error")
model.level_loss = broken
from hjepa_trainer.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_value_error_from_a_bug_is_not_reported_as_bad_input(tmp_path):
    """Real process: exit status 1 with the traceback, not 2 and one line of bad usage."""
    proc = subprocess.run(
        [sys.executable, "-c", _BUG_RUNNER, *_sets(), "--logdir", str(tmp_path), "--no-progress"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback (most recent call last)" in proc.stderr, proc.stderr
    assert proc.stderr.rstrip().endswith("ValueError: math domain error"), proc.stderr
    assert "hjepa-train: math domain error" not in proc.stderr, proc.stderr
