"""Batched augmentation on the training device: random shifts, rotations and
scaling, and optionally left-right mirroring."""

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
    # Half the images flipped left-right: a mirrored shirt is still a shirt,
    # a mirrored 7 is no digit, so this is for Fashion-MNIST only.
    mirror: bool = False

    @classmethod
    def from_flags(cls, affine: bool, mirror: bool) -> Augmentation | None:
        """The augmentation that ``--augment`` and ``--mirror`` ask for (None: none)."""
        if not (affine or mirror):
            return None
        return cls(mirror=mirror) if affine else cls(max_shift=0, max_rotation=0, max_scale=0, mirror=mirror)

    @property
    def affine(self) -> bool:
        return bool(self.max_shift or self.max_rotation or self.max_scale)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Apply one random transform per image of an N x 1 x H x W batch."""
        if self.affine:
            x = self._affine(x, generator)
        if self.mirror:  # drawn after the affine ones, so affine-only runs repeat as before
            flip = torch.rand(len(x), device=x.device, generator=generator) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        return x

    def _affine(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
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
