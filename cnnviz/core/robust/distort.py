"""Distortions of the 28x28 model input, the LeNet-5 paper's robustness question as numbers.

Each acts on a batch N x 1 x 28 x 28 in [0, 1] (ink = 1), after the drawing was
made into the model input, so every network sees the same distorted picture:

- ``shift-x`` / ``shift-y``: pixels right / down (bilinear, so half pixels work).
- ``rotate``: degrees counter-clockwise about the centre.
- ``scale``: 1 is the picture as it is, 0.5 half its size, 2 twice (about the centre).
- ``thickness``: grey dilation (positive, 3x3 maximum, repeated) or erosion (negative)
  of the strokes, in whole pixels.
- ``noise``: Gaussian noise of this standard deviation, clipped to [0, 1]; seeded,
  so a sweep's images are the same for every network.
- ``occlude``: a black (no ink) square of this side in pixels, centred on
  (``occlude_x``, ``occlude_y``), the image centre by default.

At its identity value (shift 0, rotate 0, scale 1, thickness 0, noise 0, occlude 0)
a distortion returns its input unchanged, bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from cnnviz.core.errors import CnnvizError

# name -> (field, identity, lowest, highest, unit): the ranges the CLI and the sliders accept.
TRANSFORMS: dict[str, tuple[str, float, float, float, str]] = {
    "rotate": ("rotate", 0.0, -180.0, 180.0, "degrees"),
    "shift-x": ("shift_x", 0.0, -28.0, 28.0, "pixels"),
    "shift-y": ("shift_y", 0.0, -28.0, 28.0, "pixels"),
    "scale": ("scale", 1.0, 0.1, 4.0, "times"),
    "thickness": ("thickness", 0.0, -3.0, 3.0, "pixels"),
    "noise": ("noise", 0.0, 0.0, 1.0, "standard deviation"),
    "occlude": ("occlude", 0.0, 0.0, 28.0, "pixels"),
}
WHOLE_NUMBERS = ("thickness", "occlude")
NOISE_SEED = 0


@dataclass(frozen=True)
class Distortion:
    """All distortions at once (the Distort panel's sliders); the identity by default."""

    shift_x: float = 0.0
    shift_y: float = 0.0
    rotate: float = 0.0
    scale: float = 1.0
    thickness: int = 0
    noise: float = 0.0
    occlude: int = 0
    occlude_x: float = 13.5  # the square's centre, in pixels
    occlude_y: float = 13.5

    @property
    def is_identity(self) -> bool:
        return self.geometry_is_identity and self.thickness == 0 and self.noise == 0 and self.occlude == 0

    @property
    def geometry_is_identity(self) -> bool:
        return self.shift_x == 0 and self.shift_y == 0 and self.rotate == 0 and self.scale == 1

    def with_value(self, transform: str, value: float) -> Distortion:
        """This distortion with one of ``TRANSFORMS`` set to ``value`` (checked)."""
        field = TRANSFORMS[transform][0]
        value = check_value(transform, value)
        changes: dict[str, Any] = {field: int(value) if transform in WHOLE_NUMBERS else float(value)}
        return replace(self, **changes)

    def apply(self, images: torch.Tensor, seed: int = NOISE_SEED) -> torch.Tensor:
        """The distorted batch (N x 1 x 28 x 28 in [0, 1]); ``images`` is left as it was."""
        x = images
        if not self.geometry_is_identity:
            x = _affine(x, self.shift_x, self.shift_y, self.rotate, self.scale)
        if self.thickness:
            x = _thicken(x, self.thickness)
        if self.occlude:
            x = _occlude(x, self.occlude, self.occlude_x, self.occlude_y)
        if self.noise:
            generator = torch.Generator(device="cpu").manual_seed(seed)
            noise = torch.randn(x.shape, generator=generator).to(x.device, x.dtype)
            x = (x + self.noise * noise).clamp(0.0, 1.0)
        return x

    def apply_image(self, image: np.ndarray) -> np.ndarray:
        """One 28x28 picture in [0, 1] -> the distorted 28x28 float32 picture."""
        x = torch.as_tensor(np.asarray(image, dtype=np.float32)).reshape(1, 1, 28, 28)
        return self.apply(x)[0, 0].numpy()

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def check_transform(name: str) -> str:
    if name not in TRANSFORMS:
        raise CnnvizError(f"Unknown distortion '{name}'; choose one of: {', '.join(TRANSFORMS)}.")
    return name


def check_value(transform: str, value: float) -> float:
    """A distortion's value within its range (whole for thickness and occlude), or one sentence."""
    _, _, low, high, unit = TRANSFORMS[check_transform(transform)]
    if not (isinstance(value, int | float) and math.isfinite(value) and low <= value <= high):
        raise CnnvizError(f"A {transform} value must be from {low:g} to {high:g} {unit}, not {value}.")
    if transform in WHOLE_NUMBERS and value != int(value):
        raise CnnvizError(f"A {transform} value must be a whole number of pixels, not {value}.")
    return float(value)


def identity_value(transform: str) -> float:
    return TRANSFORMS[check_transform(transform)][1]


def _affine(x: torch.Tensor, dx: float, dy: float, degrees: float, scale: float) -> torch.Tensor:
    # affine_grid maps each output pixel to the input point it samples, in [-1, 1] coordinates:
    # the inverse of "rotate by degrees, scale, then shift", with 28 pixels spanning 2 units.
    a = math.radians(degrees)
    cos, sin = math.cos(a) / scale, math.sin(a) / scale
    tx, ty = 2 * dx / 28, 2 * dy / 28
    # Screen y points down, so a counter-clockwise turn on screen samples the input at (-v, u) for 90 degrees.
    theta = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=x.dtype, device=x.device)
    theta[:, 2] = -(theta[:, :2] @ torch.tensor([tx, ty], dtype=x.dtype, device=x.device))
    grid = F.affine_grid(theta.expand(len(x), 2, 3), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _thicken(x: torch.Tensor, steps: int) -> torch.Tensor:
    for _ in range(abs(steps)):  # grey dilation (maximum over 3x3) or erosion (minimum)
        x = F.max_pool2d(x, 3, 1, 1) if steps > 0 else -F.max_pool2d(-x, 3, 1, 1)
    return x


def _occlude(x: torch.Tensor, side: int, cx: float, cy: float) -> torch.Tensor:
    x = x.clone()
    top, left = round(cy - (side - 1) / 2), round(cx - (side - 1) / 2)
    x[..., max(top, 0) : max(top + side, 0), max(left, 0) : max(left + side, 0)] = 0.0
    return x


def distort_and_predict(model, image: np.ndarray, values: dict) -> tuple[np.ndarray, np.ndarray]:
    """The distorted picture (``Distortion(**values)``) and the network's probabilities for it: Distort's
    answer, as plain data (it may come from a child process)."""
    from cnnviz.core.inspect.activations import predict

    distorted = Distortion(**values).apply_image(image)
    return distorted, predict(model, distorted)
