"""Batched augmentation on the training device: random shifts, rotations and scaling."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Augmentation:
    max_shift: float = 2.0  # pixels
    max_rotation: float = 10.0  # degrees
    max_scale: float = 0.1  # +-10 %

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Apply one random affine transform per image of an N x 1 x H x W batch."""
        n, _, h, w = x.shape

        def uniform(bound: float) -> torch.Tensor:
            return (torch.rand(n, device=x.device, generator=generator) * 2 - 1) * bound

        angle = uniform(math.radians(self.max_rotation))
        scale = 1 + uniform(self.max_scale)
        # affine_grid works in [-1, 1] coordinates: a pixel is 2/size wide.
        tx, ty = uniform(self.max_shift * 2 / w), uniform(self.max_shift * 2 / h)
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
