"""H-JEPA model: ViT context encoder, EMA target encoder, narrow predictor.

Implements the joint-embedding predictive architecture of I-JEPA (Assran et al.,
"Self-Supervised Learning from Images with a Joint-Embedding Predictive
Architecture", CVPR 2023) with the hierarchical loss of H-JEPA: predictions and
targets are placed back on the patch grid and compared at L levels of a 2-D
average-pooling pyramid (level 0 = patch grid, level k = pooling with kernel and
stride 2**k, ``ceil_mode`` so odd grids work).

Shapes: B batch, N = H*W patches, Nc context tokens, Nt target tokens, D encoder
width, P predictor width.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

# The loss choices and the level limit are declared with the config fields that take them.
from .config import LOSS_KINDS, MAX_LEVELS, Config, LossKind, ModelConfig


def sincos_pos_embed(dim: int, grid_h: int, grid_w: int) -> torch.Tensor:
    """Fixed 2-D sine-cosine positional embedding (MAE / I-JEPA convention).

    Args:
        dim: Embedding width; must be divisible by 4.
        grid_h: Patch rows.
        grid_w: Patch columns.

    Returns:
        Tensor of shape (grid_h * grid_w, dim), row-major over the grid.

    Raises:
        ValueError: if ``dim`` is not divisible by 4.
    """
    if dim % 4 != 0:
        raise ValueError(f"positional embedding width must be divisible by 4, got {dim}")
    quarter = dim // 4
    omega = 1.0 / (10000 ** (torch.arange(quarter, dtype=torch.float64) / quarter))  # (D/4,)
    rows, cols = torch.meshgrid(
        torch.arange(grid_h, dtype=torch.float64),
        torch.arange(grid_w, dtype=torch.float64),
        indexing="ij",
    )
    out_r = rows.reshape(-1, 1) * omega  # (N, D/4)
    out_c = cols.reshape(-1, 1) * omega  # (N, D/4)
    emb = torch.cat([out_r.sin(), out_r.cos(), out_c.sin(), out_c.cos()], dim=1)  # (N, D)
    return emb.float()


def gather_tokens(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Select tokens per sample.

    Args:
        x: (B, N, C) tokens.
        idx: (B, K) long indices into N.

    Returns:
        (B, K, C) selected tokens.
    """
    return torch.gather(x, 1, idx.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


class Attention(nn.Module):
    """Multi-head self-attention through ``F.scaled_dot_product_attention``."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads != 0:
            raise ValueError(f"width {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, heads, N, C/heads)
        out = F.scaled_dot_product_attention(q, k, v)  # fused kernel where available
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm(x)), x + mlp(norm(x))."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class VisionTransformer(nn.Module):
    """ViT encoder that can run on a subset of patch tokens.

    Args:
        img_size: Input side in pixels (square images).
        patch_size: Patch side in pixels; must divide ``img_size``.
        in_chans: Input channels.
        embed_dim: Token width D.
        depth: Number of transformer blocks.
        num_heads: Attention heads.
        mlp_ratio: MLP hidden width / D.
    """

    def __init__(
        self,
        *,
        img_size: int,
        patch_size: int,
        in_chans: int = 3,
        embed_dim: int = 192,
        depth: int = 12,
        num_heads: int = 3,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__()
        if img_size % patch_size != 0:
            raise ValueError(f"patch_size {patch_size} does not divide img_size {img_size}")
        self.grid = img_size // patch_size
        self.num_patches = self.grid * self.grid
        self.embed_dim = embed_dim
        self.patch_embed = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        # Fixed (non-trainable) positions, as in I-JEPA: a buffer, so ``.to()`` moves it;
        # not persistent (not in the state dict): it is recomputed from the grid at init.
        self.register_buffer(
            "pos_embed",
            sincos_pos_embed(embed_dim, self.grid, self.grid).unsqueeze(0),
            persistent=False,
        )  # (1, N, D)
        self.blocks = nn.ModuleList(Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(embed_dim)
        self.apply(_init_weights)
        # Rescale residual projections by depth (GPT-2 / I-JEPA style) for a stable start.
        for i, blk in enumerate(self.blocks):
            blk.attn.proj.weight.data.div_(math.sqrt(2.0 * (i + 1)))
            blk.fc2.weight.data.div_(math.sqrt(2.0 * (i + 1)))

    def forward(
        self, images: torch.Tensor, keep_idx: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """Encode images, optionally keeping only some patch tokens.

        Args:
            images: (B, C, H_img, W_img).
            keep_idx: Optional (B, K) indices of the patches to keep; the dropped
                tokens are never computed on (I-JEPA token dropping).

        Returns:
            (B, K, D) tokens, or (B, N, D) when ``keep_idx`` is None.
        """
        x = self.patch_embed(images).flatten(2).transpose(1, 2)  # (B, N, D)
        x = x + self.pos_embed
        if keep_idx is not None:
            x = gather_tokens(x, keep_idx)  # (B, K, D)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)


class Predictor(nn.Module):
    """Narrow transformer that predicts target-position features from context tokens.

    Args:
        num_patches: N, patches per image (square grid).
        embed_dim: Encoder width D (input and output).
        predictor_dim: Internal width P, typically well below D.
        depth: Predictor blocks.
        num_heads: Predictor heads.
        mlp_ratio: MLP hidden width / P.
    """

    def __init__(
        self,
        *,
        num_patches: int,
        embed_dim: int,
        predictor_dim: int,
        depth: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__()
        grid = int(round(math.sqrt(num_patches)))
        self.embed = nn.Linear(embed_dim, predictor_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, predictor_dim))
        self.register_buffer(
            "pos_embed", sincos_pos_embed(predictor_dim, grid, grid).unsqueeze(0), persistent=False
        )  # (1, N, P)
        self.blocks = nn.ModuleList(
            Block(predictor_dim, num_heads, mlp_ratio) for _ in range(depth)
        )
        self.norm = nn.LayerNorm(predictor_dim)
        self.proj = nn.Linear(predictor_dim, embed_dim)
        self.apply(_init_weights)
        nn.init.trunc_normal_(self.mask_token, std=0.02)

    def forward(
        self, ctx: torch.Tensor, ctx_idx: torch.Tensor, tgt_idx: torch.Tensor
    ) -> torch.Tensor:
        """Predict features at the target positions.

        Args:
            ctx: (B, Nc, D) context-encoder tokens.
            ctx_idx: (B, Nc) their patch positions.
            tgt_idx: (B, Nt) patch positions to predict.

        Returns:
            (B, Nt, D) predictions.
        """
        b, nc = ctx_idx.shape
        pos = self.pos_embed.expand(b, -1, -1)  # (B, N, P)
        x = self.embed(ctx) + gather_tokens(pos, ctx_idx)  # (B, Nc, P)
        queries = self.mask_token + gather_tokens(pos, tgt_idx)  # (B, Nt, P)
        x = torch.cat([x, queries], dim=1)  # (B, Nc + Nt, P)
        for blk in self.blocks:
            x = blk(x)
        return self.proj(self.norm(x[:, nc:]))  # (B, Nt, D)


def pool_masked(grid: torch.Tensor, weight: torch.Tensor, level: int):
    """Masked 2-D average pooling of a feature grid at one hierarchy level.

    A pooled cell averages only the positions where ``weight`` is 1, so positions
    that were never predicted (weight 0) do not enter the cell's value.

    Args:
        grid: (B, D, H, W) features (zeros where weight is 0 are fine).
        weight: (B, 1, H, W) 0/1 float mask of positions that count.
        level: k >= 0; kernel and stride 2**k, ``ceil_mode=True``.

    Returns:
        (pooled, valid): pooled (B, D, Hk, Wk) masked averages; valid (B, Hk, Wk)
        bool, True where the cell covers at least one counted position.
    """
    if level == 0:
        return grid, weight[:, 0] > 0
    k = 2**level
    num = F.avg_pool2d(grid * weight, k, stride=k, ceil_mode=True)  # (B, D, Hk, Wk)
    den = F.avg_pool2d(weight, k, stride=k, ceil_mode=True)  # (B, 1, Hk, Wk)
    # Both use the same divisor, so num/den is the mean over counted positions.
    pooled = num / den.clamp_min(1e-12)
    return pooled, den[:, 0] > 0


@dataclass
class LevelOutput:
    """Predictions and targets of one hierarchy level at its valid cells.

    Attributes:
        pred: (M, D) predicted features at the valid cells of all samples.
        target: (M, D) target features at the same cells (no grad, except in the
            ``stop_gradient=False`` ablation).
        grid_size: (Hk, Wk) of the level's grid.
    """

    pred: torch.Tensor
    target: torch.Tensor
    grid_size: tuple


def level_loss(pred: torch.Tensor, target: torch.Tensor, kind: LossKind) -> torch.Tensor:
    """Per-level prediction loss averaged over rows and feature dims.

    Args:
        pred: (M, D).
        target: (M, D).
        kind: one of ``LOSS_KINDS``.

    Returns:
        Scalar tensor.

    Raises:
        ValueError: ``kind`` is not one of ``LOSS_KINDS``.
    """
    if kind == "smooth_l1":
        return F.smooth_l1_loss(pred, target)
    if kind == "mse":
        return F.mse_loss(pred, target)
    raise ValueError(f"loss must be one of {LOSS_KINDS}, got {kind!r}")


def hierarchy_levels(
    pred: torch.Tensor,
    target_full: torch.Tensor,
    tgt_idx: torch.Tensor,
    grid: int,
    num_levels: int,
) -> List[LevelOutput]:
    """Place predictions on the patch grid and build the pooled levels.

    Args:
        pred: (B, Nt, D) predictions at ``tgt_idx``.
        target_full: (B, N, D) layer-normed target-encoder features, all patches.
        tgt_idx: (B, Nt) predicted patch positions.
        grid: side of the square patch grid (N = grid**2).
        num_levels: L >= 1.

    Returns:
        L ``LevelOutput`` records; level 0 holds exactly the Nt predicted tokens per
        sample, coarser levels the cells covering at least one of them. Targets are
        averaged over the same predicted positions as the predictions.
    """
    b, nt, d = pred.shape
    levels = [
        LevelOutput(
            pred.reshape(-1, d), gather_tokens(target_full, tgt_idx).reshape(-1, d), (grid, grid)
        )
    ]
    if num_levels == 1:
        return levels
    n = grid * grid
    weight = torch.zeros(b, n, device=pred.device, dtype=pred.dtype)
    weight.scatter_(1, tgt_idx, 1.0)  # (B, N)
    pred_grid = torch.zeros(b, n, d, device=pred.device, dtype=pred.dtype)
    pred_grid = pred_grid.scatter(1, tgt_idx.unsqueeze(-1).expand(-1, -1, d), pred)  # (B, N, D)

    def to_grid(t: torch.Tensor) -> torch.Tensor:  # (B, N, D) -> (B, D, H, W)
        return t.transpose(1, 2).reshape(b, d, grid, grid)

    weight_grid = weight.reshape(b, 1, grid, grid)
    pred_grid = to_grid(pred_grid)
    tgt_grid = to_grid(target_full.to(pred.dtype))
    for k in range(1, num_levels):
        p, valid = pool_masked(pred_grid, weight_grid, k)  # (B, D, Hk, Wk), (B, Hk, Wk)
        t, _ = pool_masked(tgt_grid, weight_grid, k)
        hk, wk = valid.shape[1:]
        rows = valid.reshape(-1)  # (B*Hk*Wk,)
        levels.append(
            LevelOutput(
                p.permute(0, 2, 3, 1).reshape(-1, d)[rows],  # (M_k, D)
                t.permute(0, 2, 3, 1).reshape(-1, d)[rows],
                (int(hk), int(wk)),
            )
        )
    return levels


def pooled_grid_features(features: torch.Tensor, grid: int, level: int) -> torch.Tensor:
    """Average-pool full-grid features to one level (all cells valid).

    Args:
        features: (B, N, D) with N = grid**2.
        grid: grid side.
        level: k >= 0.

    Returns:
        (B * Hk * Wk, D) rows.
    """
    b, n, d = features.shape
    if level == 0:
        return features.reshape(-1, d)
    x = features.transpose(1, 2).reshape(b, d, grid, grid)
    k = 2**level
    x = F.avg_pool2d(x, k, stride=k, ceil_mode=True)  # (B, D, Hk, Wk)
    return x.permute(0, 2, 3, 1).reshape(-1, d)


@dataclass
class ForwardOutput:
    """Everything one H-JEPA forward pass produces.

    Attributes:
        loss: Scalar total loss sum_i w_i * L_i (with grad).
        level_losses: L scalar tensors L_i (with grad).
        levels: L ``LevelOutput`` records.
        target_full: (B, N, D) layer-normed target features (no grad, except in the
            ``stop_gradient=False`` ablation).
        context: (B, Nc, D) context-encoder output (with grad).
    """

    loss: torch.Tensor
    level_losses: List[torch.Tensor]
    levels: List[LevelOutput]
    target_full: torch.Tensor
    context: torch.Tensor


class HJEPA(nn.Module):
    """Context encoder + EMA target encoder + predictor with a hierarchical loss.

    Args:
        img_size: Image side in pixels.
        patch_size: Patch side in pixels.
        embed_dim: Encoder width D.
        depth: Encoder blocks.
        num_heads: Encoder heads.
        predictor_dim: Predictor width P (well below D by default).
        predictor_depth: Predictor blocks.
        predictor_heads: Predictor heads.
        num_levels: Hierarchy levels L (1 to ``MAX_LEVELS``).
        hierarchy_weights: L loss weights w_i (default: all 1).
        loss: Per-level loss, one of ``LOSS_KINDS``.
        mlp_ratio: MLP hidden width / width.
        stop_gradient: True (always, for real training): targets come from the EMA
            target encoder under no_grad. False is an ablation (config
            ``training.stop_gradient``): targets are the context encoder's own features
            with gradients, which invites collapse.

    Raises:
        ValueError: an argument out of range (``num_levels``, ``loss``, a width not
            divisible by its heads, ...), naming the argument.
    """

    def __init__(
        self,
        *,
        img_size: int,
        patch_size: int,
        embed_dim: int,
        depth: int,
        num_heads: int,
        predictor_dim: int,
        predictor_depth: int,
        predictor_heads: int,
        num_levels: int = 3,
        hierarchy_weights: Optional[List[float]] = None,
        loss: LossKind = "smooth_l1",
        mlp_ratio: float = 4.0,
        stop_gradient: bool = True,
    ) -> None:
        super().__init__()
        self.stop_gradient = stop_gradient
        if loss not in LOSS_KINDS:
            raise ValueError(f"loss must be one of {LOSS_KINDS}, got {loss!r}")
        if not 1 <= num_levels <= MAX_LEVELS:
            raise ValueError(f"num_levels must be in 1..{MAX_LEVELS}, got {num_levels}")
        weights = list(hierarchy_weights) if hierarchy_weights is not None else [1.0] * num_levels
        if len(weights) != num_levels:
            raise ValueError(
                f"hierarchy_weights has {len(weights)} entries for {num_levels} levels"
            )
        self.num_levels = num_levels
        self.hierarchy_weights = [float(w) for w in weights]
        self.loss_kind = loss
        self.context_encoder = VisionTransformer(
            img_size=img_size,
            patch_size=patch_size,
            embed_dim=embed_dim,
            depth=depth,
            num_heads=num_heads,
            mlp_ratio=mlp_ratio,
        )
        self.grid = self.context_encoder.grid
        if 2 ** (num_levels - 1) > self.grid:
            raise ValueError(
                f"{num_levels} levels need a patch grid of at least {2 ** (num_levels - 1)}, "
                f"got {self.grid}"
            )
        # The target starts as an exact copy and then only follows by EMA: no grads.
        self.target_encoder = copy.deepcopy(self.context_encoder)
        for p in self.target_encoder.parameters():
            p.requires_grad_(False)
        self.predictor = Predictor(
            num_patches=self.context_encoder.num_patches,
            embed_dim=embed_dim,
            predictor_dim=predictor_dim,
            depth=predictor_depth,
            num_heads=predictor_heads,
            mlp_ratio=mlp_ratio,
        )

    @classmethod
    def from_config(cls, cfg: ModelConfig, *, stop_gradient: bool = True) -> HJEPA:
        """The model of a ``model`` config section: each of its fields is the keyword
        argument of the same name (random init from the current torch seed).

        Args:
            cfg: A validated ``ModelConfig``.
            stop_gradient: See the class docstring (config ``training.stop_gradient``).

        Returns:
            A new ``HJEPA``.
        """
        kwargs = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}
        return cls(**kwargs, stop_gradient=stop_gradient)

    def forward_target(self, images: torch.Tensor) -> torch.Tensor:
        """Target features of all patches, layer-normed without affine parameters.

        Args:
            images: (B, C, H_img, W_img).

        Returns:
            (B, N, D) features: of the EMA target encoder under no_grad (targets are
            stop-gradient), or of the context encoder with gradients when
            ``stop_gradient`` is False (the ablation).
        """
        if not self.stop_gradient:  # ablation: no stop-gradient, no EMA target
            h = self.context_encoder(images)  # (B, N, D), with gradients
            return F.layer_norm(h, (h.shape[-1],))
        with torch.no_grad():
            h = self.target_encoder(images)  # (B, N, D)
            # Parameter-free layer norm (I-JEPA): normalises the target scale per token
            # so the loss cannot shrink by shrinking the targets.
            return F.layer_norm(h, (h.shape[-1],))

    def forward(
        self, images: torch.Tensor, ctx_idx: torch.Tensor, tgt_idx: torch.Tensor
    ) -> ForwardOutput:
        """One H-JEPA forward pass.

        Args:
            images: (B, C, H_img, W_img).
            ctx_idx: (B, Nc) visible context patch indices.
            tgt_idx: (B, Nt) target patch indices (disjoint from ``ctx_idx``).

        Returns:
            A ``ForwardOutput``.
        """
        target_full = self.forward_target(images)  # (B, N, D)
        context = self.context_encoder(images, ctx_idx)  # (B, Nc, D)
        pred = self.predictor(context, ctx_idx, tgt_idx)  # (B, Nt, D)
        # The pyramid and the loss in float32: under bf16 autocast the predictions are bf16,
        # and pooling the targets in their dtype would round them to bf16 too.
        levels = hierarchy_levels(
            pred.float(), target_full.float(), tgt_idx, self.grid, self.num_levels
        )
        level_losses = [
            level_loss(lv.pred.float(), lv.target.float(), self.loss_kind) for lv in levels
        ]
        total = sum(w * l for w, l in zip(self.hierarchy_weights, level_losses))
        return ForwardOutput(total, level_losses, levels, target_full, context)


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, momentum: float) -> None:
    """target <- momentum * target + (1 - momentum) * online, in place.

    Call after ``optimizer.step()`` so the target follows the updated weights.

    Args:
        target: Target encoder (no grads).
        online: Context encoder.
        momentum: EMA momentum in [0, 1].
    """
    t_params = list(target.parameters())
    o_params = [p.detach() for p in online.parameters()]
    torch._foreach_lerp_(t_params, o_params, 1.0 - momentum)


def build_model(cfg: Config) -> HJEPA:
    """The H-JEPA model of ``cfg.model`` (random init from the current torch seed)."""
    return HJEPA.from_config(cfg.model, stop_gradient=cfg.training.stop_gradient)
