"""Feature-matrix families for the calibration: healthy shapes and pathologies, any width.

Each family is a function ``(n, d, generator) -> (n, d) tensor``: rows as an encoder
would emit them (any scale: the trainer's metric code L2-normalises them).
"""

from typing import Callable, Dict

import torch
import torch.nn.functional as F

Family = Callable[[int, int, torch.Generator], torch.Tensor]


def _basis(d: int, g: torch.Generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g))
    return q  # (D, D) orthonormal, a random basis


def isotropic(n, d, g):
    return torch.randn(n, d, generator=g)


def power_law(alpha: float) -> Family:
    """Covariance eigenvalues k^-alpha (k = 1..D), in a random basis."""

    def make(n, d, g):
        scale = torch.arange(1, d + 1, dtype=torch.float32).pow(
            -alpha / 2
        )  # (D,) std per direction
        return (torch.randn(n, d, generator=g) * scale) @ _basis(d, g)

    return make


def rank(fraction: float, aligned: bool) -> Family:
    """Rows spanning k = fraction * D directions (at least 1): random or axis-aligned basis."""

    def make(n, d, g):
        k = max(1, int(round(fraction * d)))
        coords = torch.randn(n, k, generator=g)
        if aligned:
            return torch.cat([coords, torch.zeros(n, d - k)], dim=1)
        return coords @ _basis(d, g)[:k]

    return make


def point(noise: float) -> Family:
    """Every row one direction plus relative ``noise`` (raw cosine ~ 1 / (1 + noise^2))."""

    def make(n, d, g):
        c = F.normalize(torch.randn(1, d, generator=g), dim=1)
        return c + noise * torch.randn(n, d, generator=g) / d**0.5

    return make


def shared_mean(cosine: float) -> Family:
    """Isotropic rows plus a shared mean direction giving a raw mean cosine ~ ``cosine``."""

    def make(n, d, g):
        a = (cosine / (1.0 - cosine)) ** 0.5  # |mean|^2 / (|mean|^2 + |noise|^2) = cosine
        c = F.normalize(torch.randn(1, d, generator=g), dim=1)
        return a * c + torch.randn(n, d, generator=g) / d**0.5

    return make


HEALTHY: Dict[str, Family] = {
    "isotropic": isotropic,
    "power-law a=1": power_law(1.0),
    "power-law a=1.5": power_law(1.5),
    "power-law a=2": power_law(2.0),
    "shared mean cos 0.3": shared_mean(0.3),
    "shared mean cos 0.6": shared_mean(0.6),
}

# name -> (fraction of D, family)
RANK = {
    "rank %g%% %s" % (100 * p, "aligned" if aligned else "random"): (p, rank(p, aligned))
    for p in (0.10, 0.05, 0.02, 0.01)
    for aligned in (False, True)
}

POINT = {"point + %d%% noise" % round(100 * s): point(s) for s in (0.01, 0.03, 0.10)}
