"""Procedural dataset, image-folder reader and step-indexed batches."""

import pytest
import torch
from PIL import Image

from hjepa_trainer import data as D


def test_procedural_is_deterministic_balanced_and_varied():
    a = D.ProceduralShapes(split="train", num=120, size=24, seed=3)
    b = D.ProceduralShapes(split="train", num=120, size=24, seed=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert a.images.dtype == torch.uint8 and a.images.shape == (120, 3, 24, 24)
    assert torch.bincount(a.labels).tolist() == [20] * 6
    val = D.ProceduralShapes(split="val", num=120, size=24, seed=3)
    assert not torch.equal(a.images, val.images)
    # No two images identical, even within a class.
    flat = a.images.reshape(120, -1)
    assert torch.unique(flat, dim=0).shape[0] == 120


def _write_folder(root, broken=False):
    for c, colour in (("cats", (255, 0, 0)), ("dogs", (0, 0, 255))):
        (root / c).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (40 + i, 30), colour).save(root / c / f"{i}.png")
    if broken:
        (root / "dogs" / "bad.jpg").write_bytes(b"not an image")


def test_image_folder_reads_classes_and_resizes(tmp_path):
    _write_folder(tmp_path)
    ds = D.ImageFolder(str(tmp_path), size=16)
    assert ds.classes == ["cats", "dogs"] and len(ds) == 6
    images, labels = ds.get_batch(torch.arange(6))
    assert images.shape == (6, 3, 16, 16) and images.dtype == torch.uint8
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert images[0, 0].float().mean() > 250 and images[5, 2].float().mean() > 250
    train, val = D.split_folder(ds, val_fraction=0.34, seed=0)
    assert len(train) + len(val) == 6 and not set(train.files) & set(val.files)


def test_image_folder_unreadable_image_error_names_file(tmp_path):
    _write_folder(tmp_path, broken=True)
    ds = D.ImageFolder(str(tmp_path), size=16)
    with pytest.raises(ValueError, match="cannot read image .*bad.jpg"):
        ds.get_batch(torch.arange(len(ds)))


def test_image_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="not a directory"):
        D.ImageFolder(str(tmp_path / "missing"), size=8)
    with pytest.raises(ValueError, match="no class sub-folders"):
        D.ImageFolder(str(tmp_path), size=8)


def test_batch_indices_pure_and_sharded():
    kw = dict(size=100, batch=10, seed=1)
    assert torch.equal(D.batch_indices(7, **kw), D.batch_indices(7, **kw))
    epoch = torch.cat([D.batch_indices(s, **kw) for s in range(10)])
    assert sorted(epoch.tolist()) == list(range(100))  # one epoch = a permutation
    r0 = D.batch_indices(3, rank=0, world=2, **kw)
    r1 = D.batch_indices(3, rank=1, world=2, **kw)
    assert not set(r0.tolist()) & set(r1.tolist())
    with pytest.raises(ValueError, match="fewer than one global batch"):
        D.batch_indices(0, size=5, batch=10, seed=0)


def test_iterate_batches_resumes_at_step():
    ds = D.ProceduralShapes(split="train", num=60, size=12, seed=0)
    full = D.iterate_batches(ds, start_step=0, batch=8, seed=0)
    seq = [next(full)[1] for _ in range(5)]
    resumed = D.iterate_batches(ds, start_step=3, batch=8, seed=0)
    assert torch.equal(next(resumed)[1], seq[3])
