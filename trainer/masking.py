"""Multi-block masking for I-JEPA / H-JEPA (Assran et al. 2023, section 3).

Per image: several target blocks (rectangles of random scale and aspect ratio)
and one large context block from which every target position is removed. Block
sizes are drawn once per batch and positions per image, all with tensor ops.

The union of the target blocks and the context differ in size between images;
to keep the batch rectangular without padding, every image keeps the same number
of positions: the batch minimum, chosen as a random subset of each image's
positions (I-JEPA truncates the same way). Nothing is padded or duplicated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Tuple

import torch

from .config import Config


@dataclass
class Masks:
    """Index tensors of one batch.

    Attributes:
        context: (B, Nc) long, sorted patch indices visible to the context encoder.
        target: (B, Nt) long, sorted patch indices to predict; disjoint from context.
    """

    context: torch.Tensor
    target: torch.Tensor


def _block_sizes(
    gen: torch.Generator,
    grid: int,
    scale: Tuple[float, float],
    aspect: Tuple[float, float],
    count: int,
) -> torch.Tensor:
    """Draw ``count`` block (height, width) pairs in patches; returns (count, 2) long."""
    u = torch.rand(count, 2, generator=gen)  # (count, 2)
    s = scale[0] + u[:, 0] * (scale[1] - scale[0])
    log_a = math.log(aspect[0]) + u[:, 1] * (math.log(aspect[1]) - math.log(aspect[0]))
    a = log_a.exp()
    area = s * grid * grid
    h = (area * a).sqrt().round().clamp(1, grid)
    w = (area / a).sqrt().round().clamp(1, grid)
    return torch.stack([h, w], dim=1).long()


def _block_masks(gen: torch.Generator, batch: int, grid: int, sizes: torch.Tensor) -> torch.Tensor:
    """Place blocks of the given sizes at random positions, per image.

    Args:
        gen: Random generator.
        batch: B.
        grid: Grid side G.
        sizes: (K, 2) block heights and widths.

    Returns:
        (B, K, G, G) bool, True inside each block.
    """
    k = sizes.shape[0]
    h, w = sizes[:, 0], sizes[:, 1]  # (K,)
    u = torch.rand(batch, k, 2, generator=gen)  # (B, K, 2)
    top = (u[..., 0] * (grid - h + 1)).floor().long()  # (B, K)
    left = (u[..., 1] * (grid - w + 1)).floor().long()
    ar = torch.arange(grid)
    rows = (ar >= top[..., None]) & (ar < (top + h)[..., None])  # (B, K, G)
    cols = (ar >= left[..., None]) & (ar < (left + w)[..., None])  # (B, K, G)
    return rows[..., :, None] & cols[..., None, :]  # (B, K, G, G)


def _random_subset(gen: torch.Generator, member: torch.Tensor, count: int) -> torch.Tensor:
    """Pick ``count`` random True positions per row, returned sorted.

    Args:
        member: (B, N) bool with at least ``count`` True per row.
        count: positions to keep.

    Returns:
        (B, count) long indices.
    """
    score = torch.rand(member.shape, generator=gen)  # (B, N) in [0, 1)
    score = torch.where(member, score, torch.full_like(score, 2.0))  # non-members sort last
    idx = score.argsort(dim=1)[:, :count]
    return idx.sort(dim=1).values


class MultiBlockMaskGenerator:
    """Sample context/target index masks for a batch.

    Args:
        grid: Patch-grid side G (N = G*G).
        num_targets: Target blocks per image.
        target_scale: (min, max) fraction of the grid per target block.
        target_aspect: (min, max) aspect ratio of target blocks.
        context_scale: (min, max) fraction of the grid of the context block.
        min_context: Minimum context positions per image.
        max_tries: Redraws (target and context blocks) of the images left with fewer
            than ``min_context`` context positions.
    """

    def __init__(
        self,
        *,
        grid: int,
        num_targets: int = 4,
        target_scale: Tuple[float, float] = (0.15, 0.2),
        target_aspect: Tuple[float, float] = (0.75, 1.5),
        context_scale: Tuple[float, float] = (0.85, 1.0),
        min_context: int = 4,
        max_tries: int = 20,
    ) -> None:
        self.grid = grid
        self.num_targets = num_targets
        self.target_scale = tuple(target_scale)
        self.target_aspect = tuple(target_aspect)
        self.context_scale = tuple(context_scale)
        self.min_context = min_context
        self.max_tries = max_tries

    def __call__(self, batch: int, gen: torch.Generator) -> Masks:
        """Draw masks for ``batch`` images.

        Args:
            batch: B.
            gen: CPU generator (seed it from the step for resumable runs).

        Returns:
            ``Masks`` with equal counts per image.

        Raises:
            ValueError: if some image keeps fewer than ``min_context`` context
                positions after ``max_tries`` redraws (the masking config leaves
                no room for context).
        """
        g, n = self.grid, self.grid * self.grid
        tgt_sizes = _block_sizes(gen, g, self.target_scale, self.target_aspect, self.num_targets)
        ctx_size = _block_sizes(gen, g, self.context_scale, (1.0, 1.0), 1)
        target = _block_masks(gen, batch, g, tgt_sizes).any(dim=1).reshape(batch, n)  # (B, N)
        context = _block_masks(gen, batch, g, ctx_size)[:, 0].reshape(batch, n)  # (B, N)
        context = context & ~target
        for _ in range(self.max_tries):
            short = context.sum(1) < self.min_context  # (B,)
            if not bool(short.any()):
                break
            m = int(short.sum())
            new_t = _block_masks(gen, m, g, tgt_sizes).any(dim=1).reshape(m, n)
            new_c = _block_masks(gen, m, g, ctx_size)[:, 0].reshape(m, n) & ~new_t
            target[short], context[short] = new_t, new_c
        n_ctx = int(context.sum(1).min())
        if n_ctx < self.min_context:
            raise ValueError(
                f"masking leaves {n_ctx} context patches "
                f"(< masking.min_context={self.min_context}); "
                "lower masking.mask_scale or masking.num_masks, or raise masking.context_scale"
            )
        n_tgt = int(target.sum(1).min())
        return Masks(
            context=_random_subset(gen, context, n_ctx), target=_random_subset(gen, target, n_tgt)
        )


def step_generator(seed: int, step: int, rank: int = 0) -> torch.Generator:
    """A CPU generator that depends only on (seed, step, rank): resume = re-seed.

    Args:
        seed: Run seed.
        step: Global step.
        rank: Distributed rank (different masks per rank).

    Returns:
        A seeded ``torch.Generator``.
    """
    gen = torch.Generator()
    gen.manual_seed((seed * 1_000_003 + step * 1_009 + rank * 7_919) % (2**63 - 1))
    return gen


@dataclass
class MaskRatioProfile:
    """The mask ratio a generator gives over many batches (targets / patches).

    Attributes:
        median: median per-batch ratio.
        low, high: 1st and 99th percentiles of the per-batch ratio.
        batches: batches drawn.
    """

    median: float
    low: float
    high: float
    batches: int


def mask_ratio_profile(
    generator: MultiBlockMaskGenerator, *, batch: int, batches: int = 200, seed: int = 0
) -> MaskRatioProfile:
    """What a mask generator gives for its grid and config, drawn from its own sampler.

    A run whose masking does what its config says is not an alarm: the diagnosis
    compares the logged mask ratio with this profile (recorded in the run manifest),
    not with a typical range for another grid. The draws use their own generators
    (seeded from ``seed``), so the training masks are unchanged.

    Args:
        generator: the run's mask generator.
        batch: images per batch (the batch minimum sets the per-batch count).
        batches: batches to draw.
        seed: seed of the draws.

    Returns:
        A ``MaskRatioProfile``.
    """
    n = generator.grid * generator.grid
    return mask_ratio_profile_of(
        lambda i: generator(batch, step_generator(seed + 7, i)).target.shape[1] / n,
        batches=batches,
    )


def mask_ratio_profile_of(draw: Callable[[int], float], *, batches: int = 200) -> MaskRatioProfile:
    """The profile of any masking, your own collator's too: ``draw(i)`` masks the i-th
    batch and returns its mask ratio as ``log_masks`` counts it (the target patches of a
    sample, overlapping blocks counted once, over the patches of the grid).

    Record it in the run manifest (``mask_ratio_expected=profile.median``,
    ``mask_ratio_range=[profile.low, profile.high]``): the mask-ratio light then judges
    the run against what its own masking gives, per-batch block sizes included.
    """
    ratios = torch.tensor([float(draw(i)) for i in range(batches)], dtype=torch.float64)
    low, median, high = torch.quantile(
        ratios, torch.tensor([0.01, 0.5, 0.99], dtype=torch.float64)
    ).tolist()
    return MaskRatioProfile(median=median, low=low, high=high, batches=batches)


def build_mask_generator(cfg: Config, grid: int) -> MultiBlockMaskGenerator:
    """The mask generator of ``cfg.masking`` on a ``grid`` x ``grid`` patch grid."""
    mk = cfg.masking
    return MultiBlockMaskGenerator(
        grid=grid,
        num_targets=mk.num_masks,
        target_scale=tuple(mk.mask_scale),
        target_aspect=tuple(mk.aspect_ratio),
        context_scale=tuple(mk.context_scale),
        min_context=mk.min_context,
    )
