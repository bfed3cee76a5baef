"""AlexNet, VGG, GoogLeNet and ResNet, each sized for 28x28 digits.

Each keeps its family's defining idea at a size that predicts one image in
well under 10 ms on a 2-core CPU and trains an MNIST epoch in a few minutes.
Every model is an ``nn.Sequential`` of named stages: a stage is what the app
shows as one layer.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from cnnviz.core.models.blocks import MNIST_MEAN, MNIST_STD, Normalize, conv_bn_relu
from cnnviz.core.models.registry import ModelSpec, register_model


class AlexNet28(nn.Sequential):
    """AlexNet (Krizhevsky et al. 2012): a large strided first convolution,
    local response normalisation, overlapping max-pools, stacked 3x3
    convolutions and dropout fully connected layers."""

    def __init__(self, dropout: float = 0.5) -> None:
        super().__init__(
            OrderedDict(
                input=Normalize(MNIST_MEAN, MNIST_STD),  # 1x28x28
                conv1=nn.Sequential(
                    nn.Conv2d(1, 32, 5, stride=2, padding=2), nn.ReLU(), nn.LocalResponseNorm(5)
                ),  # 32x14x14
                conv2=nn.Sequential(nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.LocalResponseNorm(5)),  # 64x14x14
                pool2=nn.MaxPool2d(3, stride=2, padding=1),  # 64x7x7 (overlapping)
                conv3=nn.Sequential(nn.Conv2d(64, 96, 3, padding=1), nn.ReLU()),  # 96x7x7
                conv4=nn.Sequential(nn.Conv2d(96, 96, 3, padding=1), nn.ReLU()),  # 96x7x7
                conv5=nn.Sequential(nn.Conv2d(96, 64, 3, padding=1), nn.ReLU()),  # 64x7x7
                pool5=nn.MaxPool2d(3, stride=2, padding=1),  # 64x4x4
                fc6=nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(1024, 256), nn.ReLU()),  # 256
                fc7=nn.Sequential(nn.Dropout(dropout), nn.Linear(256, 256), nn.ReLU()),  # 256
                fc8=nn.Linear(256, 10),  # 10
            )
        )


# VGG's architecture as data: numbers are 3x3 conv widths, "M" a 2x2 max-pool.
VGG_CONFIGS: dict[str, list[int | str]] = {
    "vgg28": [16, 16, "M", 32, 32, "M", 64, 64, "M"],
}


class VGG28(nn.Sequential):
    """VGG (Simonyan & Zisserman 2014): blocks of 3x3 convolutions from a
    configuration table, halving resolution and doubling width."""

    def __init__(self, config: str = "vgg28", dropout: float = 0.3) -> None:
        stages: OrderedDict[str, nn.Module] = OrderedDict(input=Normalize(MNIST_MEAN, MNIST_STD))
        channels, block, conv, size = 1, 1, 1, 28
        for item in VGG_CONFIGS[config]:
            if item == "M":
                size //= 2
                stages[f"pool{block}"] = nn.MaxPool2d(2)  # halves resolution
                block, conv = block + 1, 1
            else:
                stages[f"conv{block}_{conv}"] = conv_bn_relu(channels, int(item))
                channels, conv = int(item), conv + 1
        stages["fc1"] = nn.Sequential(
            nn.Flatten(), nn.Linear(channels * size * size, 256), nn.ReLU(), nn.Dropout(dropout)
        )
        stages["fc2"] = nn.Linear(256, 10)
        super().__init__(stages)


class Inception(nn.Module):
    """Four branches concatenated on channels: 1x1; 1x1 -> 3x3; 1x1 -> 5x5
    (two 3x3, as in Inception v2 and torchvision's GoogLeNet); 3x3 max-pool -> 1x1."""

    def __init__(self, cin: int, c1: int, c3red: int, c3: int, c5red: int, c5: int, pool_proj: int) -> None:
        super().__init__()
        self.branch1 = conv_bn_relu(cin, c1, 1)
        self.branch2 = nn.Sequential(conv_bn_relu(cin, c3red, 1), conv_bn_relu(c3red, c3, 3))
        self.branch3 = nn.Sequential(conv_bn_relu(cin, c5red, 1), conv_bn_relu(c5red, c5, 3), conv_bn_relu(c5, c5, 3))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), conv_bn_relu(cin, pool_proj, 1))
        self.out_channels = c1 + c3 + c5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x))
        return torch.cat(branches, 1)


class GoogLeNet28(nn.Sequential):
    """GoogLeNet (Szegedy et al. 2014): Inception blocks with 1x1 reductions,
    global average pooling instead of large fully connected layers."""

    def __init__(self, dropout: float = 0.2) -> None:
        super().__init__(
            OrderedDict(
                input=Normalize(MNIST_MEAN, MNIST_STD),  # 1x28x28
                stem=conv_bn_relu(1, 32, 3),  # 32x28x28
                pool1=nn.MaxPool2d(2),  # 32x14x14
                inception3a=Inception(32, 16, 24, 32, 4, 8, 8),  # 64x14x14
                inception3b=Inception(64, 32, 32, 48, 8, 16, 16),  # 112x14x14
                pool3=nn.MaxPool2d(3, stride=2, padding=1),  # 112x7x7
                inception4a=Inception(112, 48, 32, 64, 8, 16, 16),  # 144x7x7
                inception4b=Inception(144, 48, 32, 64, 8, 16, 16),  # 144x7x7
                avgpool=nn.AdaptiveAvgPool2d(1),  # 144x1x1
                fc=nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(144, 10)),  # 10
            )
        )


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers plus a shortcut: identity when shapes match,
    else a strided 1x1 convolution (He et al. 2015, option B)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet28(nn.Sequential):
    """ResNet (He et al. 2015): stages of basic residual blocks with batch norm."""

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128), blocks: tuple[int, ...] = (2, 2, 1)) -> None:
        stages: OrderedDict[str, nn.Module] = OrderedDict(
            input=Normalize(MNIST_MEAN, MNIST_STD),  # 1x28x28
            stem=conv_bn_relu(1, widths[0], 3),  # 32x28x28
        )
        cin = widths[0]
        for i, (width, count) in enumerate(zip(widths, blocks, strict=True), start=1):
            # Each stage halves resolution: 28 -> 14 -> 7 -> 4.
            layers = [BasicBlock(cin if b == 0 else width, width, 2 if b == 0 else 1) for b in range(count)]
            stages[f"layer{i}"] = nn.Sequential(*layers)
            cin = width
        stages["avgpool"] = nn.AdaptiveAvgPool2d(1)
        stages["fc"] = nn.Sequential(nn.Flatten(), nn.Linear(cin, 10))
        super().__init__(stages)
        for m in self.modules():
            if isinstance(m, BasicBlock):
                # Zero-init the last BN of each block so it starts as identity (Goyal et al. 2017).
                nn.init.zeros_(m.bn2.weight)


register_model(
    ModelSpec(
        name="alexnet",
        display_name="AlexNet",
        builder=AlexNet28,
        reference="Krizhevsky, Sutskever, Hinton, ImageNet Classification with Deep CNNs, 2012",
        description="Large strided first convolution, LRN, overlapping pools, dropout FC layers.",
    )
)
register_model(
    ModelSpec(
        name="vgg",
        display_name="VGG",
        builder=VGG28,
        reference="Simonyan, Zisserman, Very Deep Convolutional Networks, 2014",
        description="Pairs of 3x3 convolutions from a configuration table, then max-pool.",
    )
)
register_model(
    ModelSpec(
        name="googlenet",
        display_name="GoogLeNet (Inception)",
        builder=GoogLeNet28,
        reference="Szegedy et al., Going Deeper with Convolutions, 2014",
        description="Four-branch Inception blocks with 1x1 reductions, global average pooling.",
    )
)
register_model(
    ModelSpec(
        name="resnet",
        display_name="ResNet",
        builder=ResNet28,
        reference="He, Zhang, Ren, Sun, Deep Residual Learning for Image Recognition, 2015",
        description="Basic residual blocks with batch norm and identity or 1x1 shortcuts.",
    )
)
