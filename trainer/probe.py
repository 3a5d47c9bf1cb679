"""kNN probe on frozen encoder features (the evaluation of DINO / I-JEPA papers).

Features are the mean over patch tokens of the encoder output, L2-normalised; each
query votes with its k nearest bank features weighted by exp(cos / T).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .data import normalize


@torch.no_grad()
def encode(
    encoder: nn.Module, images: torch.Tensor, *, batch_size: int, device: torch.device
) -> torch.Tensor:
    """Mean-pooled, L2-normalised features of uint8 images.

    Args:
        encoder: maps (B, 3, S, S) float to (B, N, D) tokens.
        images: (M, 3, S, S) uint8.
        batch_size: images per forward pass.
        device: where the encoder runs.

    Returns:
        (M, D) float32 on CPU.
    """
    was_training = encoder.training
    encoder.eval()
    out = []
    for i in range(0, images.shape[0], batch_size):
        tokens = encoder(normalize(images[i : i + batch_size], device))  # (b, N, D)
        out.append(F.normalize(tokens.float().mean(dim=1), dim=1).cpu())  # (b, D)
    encoder.train(was_training)
    return torch.cat(out)


def knn_top1(
    bank: torch.Tensor,
    bank_labels: torch.Tensor,
    queries: torch.Tensor,
    query_labels: torch.Tensor,
    *,
    k: int = 20,
    temperature: float = 0.07,
    num_classes: int,
    chunk: int = 1024,
) -> float:
    """Top-1 accuracy of a cosine-weighted kNN classifier.

    Args:
        bank: (Nb, D) L2-normalised labelled features.
        bank_labels: (Nb,) long.
        queries: (Nq, D) L2-normalised features.
        query_labels: (Nq,) long.
        k: neighbours (capped at Nb).
        temperature: vote weight exp(cos / T).
        num_classes: number of labels.
        chunk: queries per similarity block (bounds memory).

    Returns:
        Accuracy in [0, 1].
    """
    k = min(k, bank.shape[0])
    correct = 0
    for i in range(0, queries.shape[0], chunk):
        sim = queries[i : i + chunk] @ bank.T  # (q, Nb)
        top, idx = sim.topk(k, dim=1)  # (q, k)
        votes = torch.zeros(sim.shape[0], num_classes)
        # float32 votes whatever the features' dtype (under bf16 autocast the similarity
        # matmul comes out bf16, which scatter_add_ into float32 votes refuses).
        votes.scatter_add_(1, bank_labels[idx], (top.float() / temperature).exp())
        correct += int((votes.argmax(1) == query_labels[i : i + chunk]).sum())
    return correct / queries.shape[0]


def probe(
    encoder: nn.Module,
    bank_images: torch.Tensor,
    bank_labels: torch.Tensor,
    query_images: torch.Tensor,
    query_labels: torch.Tensor,
    *,
    num_classes: int,
    k: int,
    temperature: float,
    batch_size: int,
    device: torch.device,
) -> float:
    """Encode both sets with the frozen ``encoder`` and return kNN top-1 accuracy."""
    bank = encode(encoder, bank_images, batch_size=batch_size, device=device)
    queries = encode(encoder, query_images, batch_size=batch_size, device=device)
    return knn_top1(
        bank,
        bank_labels,
        queries,
        query_labels,
        k=k,
        temperature=temperature,
        num_classes=num_classes,
    )
