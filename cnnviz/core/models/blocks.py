"""Small modules shared by the models."""

from __future__ import annotations

import torch
from torch import nn


class Normalize(nn.Module):
    """Maps pixels in [0, 1] (ink = 1) to the model's input range.

    Living inside the model means every caller feeds plain [0, 1] images and a
    checkpoint can never be paired with the wrong normalisation.
    """

    def __init__(self, mean: float, std: float) -> None:
        super().__init__()
        self.mean = mean
        self.std = std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={self.mean:.4f}, std={self.std:.4f}"


def conv_bn_relu(cin: int, cout: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
