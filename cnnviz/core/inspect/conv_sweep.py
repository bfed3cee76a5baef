"""A convolution, position by position: the numbers behind the inspector's animation.

For one output channel of one convolution, every output position's window of
the input, each input channel's sum of patch × kernel there, and the output
value (the sum over channels plus the bias), in the order the kernel slides:
row by row, left to right. Computed in float64 from one forward pass; the
output map equals the convolution's own output for that channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.core.errors import CnnvizError
from cnnviz.core.models.lenet import PartialConv2d

MAX_POSITIONS = 65_536  # a 256x256 map; this app's maps are far smaller


@dataclass(frozen=True)
class ConvSweep:
    """One output channel of a convolution, swept over its input.

    ``inputs`` (C, H + 2p, W + 2p) are the connected input channels with the
    zero padding; ``kernels`` (C, kh, kw); ``sums`` (Ho * Wo, C) each channel's
    patch × kernel sum at each position; ``output`` (Ho, Wo) = sums over C + bias.
    """

    module: str
    channel: int
    input_channels: tuple[int, ...]
    inputs: np.ndarray
    kernels: np.ndarray
    bias: float
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: tuple[int, int]
    sums: np.ndarray
    output: np.ndarray

    @property
    def positions(self) -> int:
        return int(self.output.size)

    def window(self, step: int) -> tuple[int, int, int, int]:
        """(output row, output column, top, left) of position ``step``; top/left in the padded input."""
        oy, ox = divmod(int(step), self.output.shape[1])
        return oy, ox, oy * self.stride[0], ox * self.stride[1]

    def patch(self, step: int, channel_index: int = 0) -> np.ndarray:
        """The (kh, kw) input values under the kernel at position ``step`` for one connected channel."""
        _oy, _ox, top, left = self.window(step)
        kh, kw = self.kernels.shape[1:]
        dh, dw = self.dilation
        return self.inputs[channel_index, top : top + dh * (kh - 1) + 1 : dh, left : left + dw * (kw - 1) + 1 : dw]

    def value(self, step: int) -> float:
        return float(self.sums[step].sum() + self.bias)

    def filled(self, steps: int) -> np.ndarray:
        """The output map after ``steps`` positions: the rest is NaN (not computed yet)."""
        out = np.full(self.output.size, np.nan)
        out[:steps] = self.output.reshape(-1)[:steps]
        return out.reshape(self.output.shape)


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def find_convolution(steps: list[dict], channel: int) -> tuple[str, int] | None:
    """The convolution an explanation (``UnitExplanation.as_dict()["steps"]``) ends with, and the
    channel of its output that leads to the unit; None when the unit is not made by a convolution."""
    for step in steps:
        kind, details = step["kind"], step.get("details") or {}
        if kind == "convolution":
            return step["module"], channel
        if kind == "inception":
            return find_convolution(details.get("steps", []), int(details.get("branch_channel", channel)))
        if kind == "residual":
            return find_convolution(details.get("main_steps", []), channel)
    return None


def convolution_sweep(model: nn.Module, image: np.ndarray, module_name: str, channel: int) -> ConvSweep:
    """Sweep output ``channel`` of the convolution ``module_name`` (a dotted path in ``model``)
    for one 28x28 input in [0, 1]; raises ``CnnvizError`` (one sentence) when it cannot."""
    try:
        conv = model.get_submodule(module_name)
    except AttributeError:
        raise CnnvizError(f"The network has no module '{module_name}'.") from None
    if not isinstance(conv, (nn.Conv2d, PartialConv2d)):
        raise CnnvizError(f"'{module_name}' is not a convolution.")
    captured: list[torch.Tensor] = []
    hook = conv.register_forward_pre_hook(lambda _m, args: captured.append(args[0].detach().clone()))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            device = next(model.parameters()).device
            model(torch.as_tensor(np.asarray(image, np.float32), device=device).reshape(1, 1, 28, 28))
    finally:
        hook.remove()
        model.train(was_training)
    if not captured:
        raise CnnvizError(f"The convolution '{module_name}' did not run for this input.")
    x = captured[0][0].detach().cpu().double()
    if isinstance(conv, PartialConv2d):
        weight = conv.dense_weight().detach().cpu().double()
        stride, padding, dilation = (1, 1), (0, 0), (1, 1)
        connected = [int(i) for i in np.flatnonzero(conv.connection_table[:, channel].cpu().numpy())]
        kernels = weight[channel, connected]
    else:
        if isinstance(conv.padding, str) or conv.padding_mode != "zeros":
            raise CnnvizError(
                f"The animation cannot yet show the convolution '{module_name}' (padding '{conv.padding}')."
            )
        weight = conv.weight.detach().cpu().double()
        stride, padding, dilation = _pair(conv.stride), _pair(conv.padding), _pair(conv.dilation)
        per_group = weight.shape[1]
        group = channel // (weight.shape[0] // conv.groups)
        connected = list(range(group * per_group, (group + 1) * per_group))
        kernels = weight[channel]
    if not 0 <= channel < weight.shape[0]:
        raise CnnvizError(f"'{module_name}' has no output channel {channel}.")
    inputs = F.pad(x[connected], (padding[1], padding[1], padding[0], padding[0]))
    kh, kw = kernels.shape[1:]
    # unfold: (C * kh * kw, L) windows in the order the kernel slides (row by row).
    cols = F.unfold(inputs.unsqueeze(0), (kh, kw), dilation=dilation, stride=stride)[0]
    if cols.shape[1] > MAX_POSITIONS:
        raise CnnvizError(f"'{module_name}' has too many positions ({cols.shape[1]:,}) to animate.")
    sums = (cols.reshape(len(connected), kh * kw, -1) * kernels.reshape(len(connected), kh * kw, 1)).sum(1).T
    out_h = (inputs.shape[1] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    out_w = (inputs.shape[2] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    bias = float(conv.bias.detach().cpu().double()[channel]) if conv.bias is not None else 0.0
    sums_np = sums.numpy()
    return ConvSweep(
        module=module_name, channel=int(channel), input_channels=tuple(connected), inputs=inputs.numpy(),
        kernels=kernels.numpy(), bias=bias, stride=stride, dilation=dilation, padding=padding, sums=sums_np,
        output=(sums_np.sum(1) + bias).reshape(out_h, out_w),
    )  # fmt: skip


__all__ = ["ConvSweep", "convolution_sweep", "find_convolution"]
