"""Datasets and step-indexed batch loading.

Two sources:
- ``ProceduralShapes``: an embedded labelled dataset generated from a seed (no
  download): six classes of procedural textures (horizontal and vertical gratings,
  checkerboards, rings, Gaussian spots, pinwheels) with random tint, polarity,
  frequency, phase, centre and scale, plus pixel noise. Periods are a few patches
  long, so every patch shows texture. Held in memory as uint8.
- ``ImageFolder``: any folder with one sub-folder per class, read with Pillow.

Batches are a pure function of (seed, step, rank): epoch e uses the permutation
seeded by (seed, e), so resuming at step s continues exactly where the run was.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Tuple

import torch

from .config import Config

CLASS_NAMES = ("grating_h", "grating_v", "checkerboard", "rings", "blobs", "pinwheel")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
# Fixed input normalisation (images are in [0, 1]).
MEAN, STD = 0.5, 0.25
_SPLIT_OFFSETS = {"train": 0, "val": 1, "probe": 2}


def _uniform(gen: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, 1, 1, generator=gen)  # (n, 1, 1)


def _patterns(label: int, n: int, size: int, gen: torch.Generator) -> torch.Tensor:
    """(n, size, size) float patterns in [0, 1] for one class."""
    coords = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    y, x = torch.meshgrid(coords, coords, indexing="ij")  # (S, S) each
    phase = _uniform(gen, n, 0.0, 2 * math.pi)
    if label in (0, 1):  # oriented grating, +-20 degrees around horizontal / vertical
        theta = _uniform(gen, n, -math.pi / 9, math.pi / 9) + (math.pi / 2 if label == 1 else 0.0)
        freq = _uniform(gen, n, 5.0, 9.0)
        u = x * torch.sin(theta) + y * torch.cos(theta)
        return 0.5 + 0.5 * torch.sin(2 * math.pi * freq * u + phase)
    if label == 2:  # checkerboard, slightly rotated
        theta = _uniform(gen, n, -math.pi / 12, math.pi / 12)
        cells = _uniform(gen, n, 5.0, 9.0)
        off = _uniform(gen, n, 0.0, 1.0)
        u = x * torch.cos(theta) - y * torch.sin(theta) + off
        v = x * torch.sin(theta) + y * torch.cos(theta) + off
        return (torch.sin(math.pi * cells * u) * torch.sin(math.pi * cells * v) > 0).float()
    cy, cx = _uniform(gen, n, 0.25, 0.75), _uniform(gen, n, 0.25, 0.75)
    if label == 3:  # concentric rings around a random centre
        r = ((x - cx) ** 2 + (y - cy) ** 2).sqrt()
        return 0.5 + 0.5 * torch.sin(2 * math.pi * _uniform(gen, n, 6.0, 10.0) * r + phase)
    if label == 4:  # scattered Gaussian spots
        k = 10
        by = torch.rand(n, k, 1, 1, generator=gen)
        bx = torch.rand(n, k, 1, 1, generator=gen)
        sigma = 0.03 + 0.03 * torch.rand(n, k, 1, 1, generator=gen)
        d2 = (y - by) ** 2 + (x - bx) ** 2  # (n, k, S, S)
        return torch.exp(-d2 / (2 * sigma**2)).sum(1).clamp(0, 1)
    if label == 5:  # pinwheel: angular sectors around a random centre
        spokes = torch.randint(8, 14, (n, 1, 1), generator=gen).float()
        ang = torch.atan2(y - cy, x - cx)
        return 0.5 + 0.5 * torch.sin(spokes * ang + phase)
    raise ValueError(f"unknown procedural class {label}")


def generate_procedural(num: int, size: int, seed: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Generate ``num`` labelled images, balanced over classes.

    Args:
        num: Number of images.
        size: Image side in pixels.
        seed: Generator seed; equal seeds give equal images.

    Returns:
        (images, labels): (num, 3, size, size) uint8 and (num,) long.
    """
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(num) % len(CLASS_NAMES)
    labels = labels[torch.randperm(num, generator=gen)]
    images = torch.empty(num, 3, size, size, dtype=torch.uint8)
    for c in range(len(CLASS_NAMES)):
        idx = (labels == c).nonzero().squeeze(1)
        n = idx.numel()
        if n == 0:
            continue
        p = _patterns(c, n, size, gen).unsqueeze(1)  # (n, 1, S, S)
        # Dark and light tones with a random tint and random polarity: colour varies
        # between images but does not drown the pattern, which carries the class.
        dark = 0.35 * torch.rand(n, 1, 1, 1, generator=gen) + 0.15 * (
            2 * torch.rand(n, 3, 1, 1, generator=gen) - 1
        )
        light = (
            0.65
            + 0.35 * torch.rand(n, 1, 1, 1, generator=gen)
            + 0.15 * (2 * torch.rand(n, 3, 1, 1, generator=gen) - 1)
        )
        swap = torch.rand(n, 1, 1, 1, generator=gen) < 0.5
        bg, fg = torch.where(swap, light, dark), torch.where(swap, dark, light)
        img = bg + p * (fg - bg) + 0.04 * torch.randn(n, 3, size, size, generator=gen)
        images[idx] = (img.clamp(0, 1) * 255).round().to(torch.uint8)
    return images, labels


class ProceduralShapes:
    """In-memory procedural dataset for one split.

    Args:
        split: "train", "val" or "probe" (disjoint seeds).
        num: Number of images.
        size: Image side in pixels.
        seed: Dataset seed.
    """

    num_classes = len(CLASS_NAMES)

    def __init__(self, *, split: str, num: int, size: int, seed: int) -> None:
        if split not in _SPLIT_OFFSETS:
            raise ValueError(f"split must be one of {sorted(_SPLIT_OFFSETS)}, got {split!r}")
        self.images, self.labels = generate_procedural(num, size, seed * 10 + _SPLIT_OFFSETS[split])

    def __len__(self) -> int:
        return self.images.shape[0]

    def get_batch(self, indices: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return (images uint8 (B, 3, S, S), labels (B,)) for ``indices``."""
        return self.images[indices], self.labels[indices]


def _load_image(path: str, size: int) -> torch.Tensor:
    """Read one image with Pillow: RGB, shorter side resized to ``size``, centre crop.

    Raises:
        ValueError: naming the file when Pillow cannot read it.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            w, h = im.size
            scale = size / min(w, h)
            im = im.resize(
                (max(size, round(w * scale)), max(size, round(h * scale))), Image.BICUBIC
            )
            w, h = im.size
            left, top = (w - size) // 2, (h - size) // 2
            im = im.crop((left, top, left + size, top + size))
            data = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise ValueError(f"cannot read image {path!r}: {err}") from err
    return data.reshape(size, size, 3).permute(2, 0, 1).contiguous()  # (3, S, S)


class ImageFolder:
    """Images in ``root/<class>/<file>``, read lazily with Pillow (no torchvision).

    Args:
        root: Folder with one sub-folder per class.
        size: Output side in pixels.
        files: Optional explicit (path, label) list (used for held-out splits).

    Raises:
        ValueError: if ``root`` is not a directory or has no class folders or no images.
    """

    def __init__(
        self, root: str, *, size: int, files: Optional[List[Tuple[str, int]]] = None
    ) -> None:
        self.size = size
        if not os.path.isdir(root):
            raise ValueError(f"data.path {root!r} is not a directory")
        self.classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
        if not self.classes:
            raise ValueError(f"data.path {root!r} has no class sub-folders")
        self.num_classes = len(self.classes)
        if files is None:
            files = []
            for label, cls in enumerate(self.classes):
                for dirpath, _, names in sorted(os.walk(os.path.join(root, cls))):
                    files += [
                        (os.path.join(dirpath, f), label)
                        for f in sorted(names)
                        if f.lower().endswith(IMAGE_EXTENSIONS)
                    ]
        if not files:
            raise ValueError(f"data.path {root!r} has no images with extensions {IMAGE_EXTENSIONS}")
        self.files = files

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> Tuple[torch.Tensor, int]:
        path, label = self.files[i]
        return _load_image(path, self.size), label

    def subset(self, indices: Sequence[int]) -> "ImageFolder":
        """A view over some of the files (same classes)."""
        out = ImageFolder.__new__(ImageFolder)
        out.size, out.classes, out.num_classes = self.size, self.classes, self.num_classes
        out.files = [self.files[i] for i in indices]
        return out

    def get_batch(self, indices: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Load a batch in this process: (B, 3, S, S) uint8, (B,) long."""
        items = [self[int(i)] for i in indices]
        return torch.stack([im for im, _ in items]), torch.tensor([lb for _, lb in items])


def split_folder(
    folder: ImageFolder, *, val_fraction: float, seed: int
) -> Tuple[ImageFolder, ImageFolder]:
    """Deterministic train / held-out split of an ``ImageFolder``."""
    perm = torch.randperm(len(folder), generator=torch.Generator().manual_seed(seed)).tolist()
    n_val = max(1, int(round(len(folder) * val_fraction)))
    return folder.subset(sorted(perm[n_val:])), folder.subset(sorted(perm[:n_val]))


def batch_indices(
    step: int, *, size: int, batch: int, seed: int, rank: int = 0, world: int = 1
) -> torch.Tensor:
    """Indices of this rank's batch at ``step``: a pure function of the arguments.

    Each epoch is a permutation seeded by (seed, epoch); the global batch of
    ``batch * world`` images is split between ranks. The incomplete tail of an
    epoch is dropped.

    Args:
        step: Global step.
        size: Dataset length.
        batch: Per-rank batch size.
        seed: Data seed.
        rank: This rank.
        world: Number of ranks.

    Returns:
        (batch,) long indices.

    Raises:
        ValueError: if the dataset is smaller than one global batch.
    """
    global_batch = batch * world
    per_epoch = size // global_batch
    if per_epoch == 0:
        raise ValueError(
            f"dataset has {size} images, fewer than one global batch of {global_batch}"
        )
    epoch, pos = divmod(step, per_epoch)
    perm = torch.randperm(size, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
    start = pos * global_batch + rank * batch
    return perm[start : start + batch]


def iterate_batches(
    dataset,
    *,
    start_step: int,
    batch: int,
    seed: int,
    rank: int = 0,
    world: int = 1,
    num_workers: int = 0,
) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
    """Yield (images uint8, labels) batches for steps ``start_step, start_step+1, ...``.

    In-memory datasets are indexed directly; file datasets are read in this process
    (``num_workers`` 0) or by a ``DataLoader`` with ``num_workers`` worker processes over
    the same step-indexed batches.
    """

    def index_stream():
        step = start_step
        while True:
            yield batch_indices(
                step, size=len(dataset), batch=batch, seed=seed, rank=rank, world=world
            )
            step += 1

    if isinstance(dataset, ProceduralShapes) or num_workers == 0:
        for idx in index_stream():
            yield dataset.get_batch(idx)
        return
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_sampler=(idx.tolist() for idx in index_stream()),
        num_workers=num_workers,
        persistent_workers=False,
    )
    try:
        yield from loader
    except ValueError as err:
        # An error in a worker (an unreadable image) arrives with the worker's whole
        # traceback as its message; keep the one line that names the problem.
        lines = [line for line in str(err).splitlines() if line.strip()]
        if len(lines) <= 1:
            raise
        raise ValueError(lines[-1].split("ValueError: ", 1)[-1]) from None


def normalize(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 (B, 3, S, S) -> float32 on ``device``, normalised with MEAN/STD."""
    x = images.to(device, non_blocking=True).float().div_(255.0)
    return (x - MEAN) / STD


@dataclass
class Datasets:
    """The datasets of a run: train, held-out (validation loss, probe queries), the
    probe's labelled bank, and the number of classes."""

    train: object
    val: object
    probe_bank: object
    num_classes: int


def build_datasets(cfg: Config) -> Datasets:
    """Train / held-out / probe-bank datasets of ``cfg.data``."""
    d, size = cfg.data, cfg.model.img_size
    if d.source == "procedural":

        def make(split, n):
            return ProceduralShapes(split=split, num=n, size=size, seed=d.seed)

        train = make("train", d.train_size)
        return Datasets(
            train,
            make("val", d.val_size),
            make("probe", d.probe_size),
            ProceduralShapes.num_classes,
        )
    folder = ImageFolder(d.path, size=size)
    if d.val_path:
        train, val = folder, ImageFolder(d.val_path, size=size)
    else:
        train, val = split_folder(folder, val_fraction=d.val_fraction, seed=d.seed)
    bank = train.subset(range(min(len(train), d.probe_size)))
    return Datasets(train, val, bank, folder.num_classes)
