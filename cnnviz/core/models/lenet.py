"""LeNet-5 as published in 1998, and the modern LeNet that tutorials teach.

Faithful LeNet-5: LeCun, Bottou, Bengio, Haffner, "Gradient-Based Learning
Applied to Document Recognition", Proc. IEEE 86(11), 1998, section II.B.
"""

from __future__ import annotations

import functools
import math
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

# The paper's fixed parts live where the torch-free forward (the first strokes' answers) reads them too.
from cnnviz.core.before_torch.lenet5_paper import (  # noqa: F401 (C3_INPUTS, load_rbf_bitmaps: re-exported)
    BACKGROUND,
    C3_INPUTS,
    INK,
    SQUASH_A,
    SQUASH_S,
    c3_table,
    load_rbf_bitmaps,
)
from cnnviz.core.models.blocks import MNIST_MEAN, MNIST_STD, Normalize
from cnnviz.core.models.registry import ModelSpec, register_model


def c3_connection_table() -> torch.Tensor:
    """Boolean 6x16 table: ``table[i, j]`` is True when S2 map i feeds C3 map j."""
    return torch.from_numpy(c3_table())


def _lecun_uniform_(tensor: torch.Tensor, fan_in: int) -> None:
    # Paper, appendix: uniform in [-2.4/F, 2.4/F], F the fan-in of the unit.
    bound = 2.4 / fan_in
    with torch.no_grad():
        tensor.uniform_(-bound, bound)


class Squash(nn.Module):
    """The paper's squashing function f(a) = A tanh(S a), A = 1.7159, S = 2/3."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return SQUASH_A * torch.tanh(x * SQUASH_S)


class LeCunConv2d(nn.Conv2d):
    """A full convolution (C1, C5) with the paper's initialisation."""

    def reset_parameters(self) -> None:
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        _lecun_uniform_(self.weight, fan_in)
        _lecun_uniform_(self.bias, fan_in)


class LeCunLinear(nn.Linear):
    """F6 with the paper's initialisation."""

    def reset_parameters(self) -> None:
        _lecun_uniform_(self.weight, self.in_features)
        _lecun_uniform_(self.bias, self.in_features)


class Subsampling(nn.Module):
    """S2/S4: the sum of each 2x2 block times a trainable coefficient, plus a bias, per map."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(channels))
        self.bias = nn.Parameter(torch.empty(channels))
        _lecun_uniform_(self.weight, 4)
        _lecun_uniform_(self.bias, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        block_sum = F.avg_pool2d(x, 2) * 4.0
        return block_sum * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)

    def connections(self, out_shape: torch.Size) -> int:
        return math.prod(out_shape) * (4 + 1)


class PartialConv2d(nn.Module):
    """C3: a 5x5 convolution in which each output map sees only its table's inputs.

    Only the weights inside the table are stored (1,500 of them, plus 16
    biases), so absent connections cannot be trained back into existence.
    """

    def __init__(self, table: torch.Tensor, kernel_size: int = 5) -> None:
        super().__init__()
        in_maps, out_maps = table.shape
        self.kernel_size = kernel_size
        self.register_buffer("connection_table", table.clone(), persistent=False)
        # mask[o, i, :, :] is True where output map o reads input map i.
        mask = table.t()[:, :, None, None].expand(out_maps, in_maps, kernel_size, kernel_size)
        self.register_buffer("mask", mask.contiguous(), persistent=False)
        self.weight = nn.Parameter(torch.empty(int(mask.sum())))
        self.bias = nn.Parameter(torch.empty(out_maps))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        k2 = self.kernel_size**2
        offset = 0
        for o, fan_maps in enumerate(self.connection_table.sum(0).tolist()):
            n = fan_maps * k2
            _lecun_uniform_(self.weight[offset : offset + n], n)
            _lecun_uniform_(self.bias[o : o + 1], n)
            offset += n

    def dense_weight(self) -> torch.Tensor:
        """The 16x6x5x5 kernel with zeros where the table has no connection."""
        return self.weight.new_zeros(self.mask.shape).masked_scatter(self.mask, self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.dense_weight(), self.bias)

    def connections(self, out_shape: torch.Size) -> int:
        per_map = self.connection_table.sum(0) * self.kernel_size**2 + 1
        return int(per_map.sum()) * math.prod(out_shape[1:])


class EuclideanRBF(nn.Module):
    """Output layer: y_i = sum_j (x_j - w_ij)^2 with fixed +1/-1 centres.

    Returns ``-y`` so that, as for every other model, the largest score wins
    (the paper's smallest distance) and cross-entropy on it is the paper's
    MAP criterion without the rubbish class.
    """

    def __init__(self, centres: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("centres", centres.flatten(1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, 84) -> (N, 10) squared distances, via |x|^2 - 2 x.w + |w|^2.
        dist = (x * x).sum(1, keepdim=True) - 2 * x @ self.centres.t() + (self.centres**2).sum(1)
        return -dist

    def connections(self, out_shape: torch.Size) -> int:
        return int(self.centres.numel())


class LeNet5(nn.Sequential):
    """The faithful LeNet-5; accepts 1x28x28 in [0, 1] and pads to 32x32 itself."""

    def __init__(self) -> None:
        scale = INK - BACKGROUND  # pixel p in [0,1] -> BACKGROUND + p * scale
        super().__init__(
            OrderedDict(
                input=nn.Sequential(
                    Normalize(mean=-BACKGROUND / scale, std=1.0 / scale),
                    nn.ConstantPad2d(2, BACKGROUND),  # 28x28 -> 32x32, the paper's framing
                ),  # 1x32x32
                C1=nn.Sequential(LeCunConv2d(1, 6, 5), Squash()),  # 6x28x28
                S2=nn.Sequential(Subsampling(6), Squash()),  # 6x14x14
                C3=nn.Sequential(PartialConv2d(c3_connection_table()), Squash()),  # 16x10x10
                S4=nn.Sequential(Subsampling(16), Squash()),  # 16x5x5
                C5=nn.Sequential(LeCunConv2d(16, 120, 5), Squash()),  # 120x1x1
                F6=nn.Sequential(nn.Flatten(), LeCunLinear(120, 84), Squash()),  # 84
                output=EuclideanRBF(torch.from_numpy(load_rbf_bitmaps())),  # 10
            )
        )

    @property
    def c3(self) -> PartialConv2d:
        return self.C3[0]


class LeNet(nn.Sequential):
    """The modern LeNet of the tutorials: ReLU, 2x2 max-pool, linear 400-120-84-10."""

    def __init__(self, activation: str = "relu") -> None:
        act = ACTIVATIONS[activation]
        super().__init__(
            OrderedDict(
                input=Normalize(MNIST_MEAN, MNIST_STD),  # 1x28x28
                conv1=nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), act()),  # 6x28x28
                pool1=nn.MaxPool2d(2),  # 6x14x14
                conv2=nn.Sequential(nn.Conv2d(6, 16, 5), act()),  # 16x10x10
                pool2=nn.MaxPool2d(2),  # 16x5x5
                fc1=nn.Sequential(nn.Flatten(), nn.Linear(400, 120), act()),  # 120
                fc2=nn.Sequential(nn.Linear(120, 84), act()),  # 84
                fc3=nn.Linear(84, 10),  # 10
            )
        )


# The modern LeNet's activation is a training setting: sigmoid as the early tutorials used it
# (the classic comparison with ReLU), tanh as in between. Each is its own registered variant, so a
# weights file names the network that reads it and can never be loaded into the wrong activation.
ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


def lenet_variant(activation: str) -> str:
    """The registered name of the modern LeNet with this activation ("lenet" for ReLU)."""
    if activation not in ACTIVATIONS:
        from cnnviz.core.errors import CnnvizError

        raise CnnvizError(f"Activation must be one of {', '.join(ACTIVATIONS)}, not '{activation}'.")
    return "lenet" if activation == "relu" else f"lenet-{activation}"


register_model(
    ModelSpec(
        name="lenet5",
        display_name="LeNet-5 (1998)",
        builder=LeNet5,
        reference="LeCun et al., Gradient-Based Learning Applied to Document Recognition, 1998",
        description="The original: C3 connection table, trainable subsampling, scaled tanh, RBF output.",
    )
)
# Trained with the 1998 recipe (cnnviz.core.training.lecun1998): the same network, registered under its own
# name so that its weights ship beside the default LeNet-5's and the pickers offer both.
for _name, _shown, _how in (
    ("lenet5-lecun1998", "LeNet-5 (1998 recipe)", ""),
    ("lenet5-lecun1998-distort", "LeNet-5 (1998 recipe, distortions)", ", on randomly distorted images"),
):
    register_model(
        ModelSpec(
            name=_name,
            display_name=_shown,
            builder=LeNet5,
            reference="LeCun et al. 1998, trained the paper's way",
            description=f"The faithful LeNet-5 trained as in the paper: SDLM, the MAP loss on the RBF outputs{_how}.",
            variant_of="lenet5",
        )
    )
register_model(
    ModelSpec(
        name="lenet",
        display_name="LeNet (modern)",
        builder=LeNet,
        reference="The LeNet of today's tutorials (ReLU, max-pool)",
        description="LeNet-5's shape with ReLU, max-pooling, full connections and a linear output.",
    )
)
for _activation in ("sigmoid", "tanh"):
    register_model(
        ModelSpec(
            name=lenet_variant(_activation),
            display_name=f"LeNet (modern, {_activation})",
            builder=functools.partial(LeNet, _activation),
            reference="The LeNet of the early tutorials, with a saturating activation",
            description=f"The modern LeNet with {_activation} instead of ReLU: the classic comparison.",
            variant_of="lenet",
        )
    )
