"""An example of your own network for cnnviz: open it with File > Open network,
or `cnnviz --model resources/example_net.py:ExampleNet`.

cnnviz feeds N x 1 x 28 x 28 images in [0, 1] (ink = 1) and expects N x 10
class scores. The app shows each of the network's top-level modules (and each
item of a top-level ModuleList) as one layer; list others in a class attribute
`cnnviz_stages = ("stem", "blocks.0", ...)` to show those instead.
"""

import torch
import torch.nn.functional as F
from torch import nn


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions whose output is added to the block's input (a skip path)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.conv2(F.relu(self.conv1(x))))  # the residual add


class ExampleNet(nn.Module):
    """A small residual network: a stem, two residual blocks, a linear head."""

    def __init__(self, channels: int = 16) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, channels, 3, padding=1)
        self.blocks = nn.ModuleList([ResidualBlock(channels) for _ in range(2)])
        self.head = nn.Linear(channels * 7 * 7, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - 0.1307) / 0.3081  # MNIST's mean and spread, as a plain operation
        x = F.max_pool2d(F.relu(self.stem(x)), 2)  # 16x14x14; the ReLU is functional
        for block in self.blocks:  # a loop over the two blocks
            x = block(x)  # 16x14x14
        x = F.max_pool2d(x, 2)  # 16x7x7
        return self.head(x.flatten(1))  # 10 class scores
