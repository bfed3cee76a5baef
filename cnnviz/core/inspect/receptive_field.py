"""Which pixels of the 28x28 model input a unit can see: its theoretical receptive field.

The box is found by carrying an interval of rows and one of columns backwards
through every module, from the unit to the model input, with the textbook
window arithmetic (a k-wide window with stride s and padding p maps outputs
``[a, b]`` to inputs ``[a s - p, b s - p + d (k - 1)]``), clipping to each
input's size so padding (LeNet-5's 32x32 frame included) never counts.
Weights play no part: a dead ReLU does not shrink the box (the gradient's
support would).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from cnnviz.core.models.blocks import Normalize
from cnnviz.core.models.lenet import PartialConv2d, Squash, Subsampling
from cnnviz.core.models.zoo import BasicBlock, Inception

Interval = tuple[int, int]  # inclusive, in a tensor's own rows or columns

# Modules whose output at (c, y, x) depends only on the input at (c', y, x).
POINTWISE = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardtanh, nn.PReLU,
    Squash, Normalize, nn.modules.batchnorm._BatchNorm, nn.Dropout, nn.Dropout2d, nn.Identity, nn.LocalResponseNorm,
)  # fmt: skip


@dataclass(frozen=True)
class Box:
    """A rectangle of model-input pixels; ``bottom`` and ``right`` are exclusive, like slices."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left

    def as_dict(self) -> dict:
        return asdict(self)


def is_chain(module: nn.Module) -> bool:
    """Whether the module is a plain ``nn.Sequential`` whose forward runs its children in order."""
    return isinstance(module, nn.Sequential) and type(module).forward is nn.Sequential.forward


def flat_chain(module: nn.Module, prefix: str) -> list[tuple[str, nn.Module]]:
    """Nested plain Sequentials flattened into one list of (qualified name, module)."""
    if not is_chain(module):
        return [(prefix, module)]
    out: list[tuple[str, nn.Module]] = []
    for name, child in module.named_children():
        out += flat_chain(child, f"{prefix}.{name}" if prefix else name)
    return out


def chain_inputs(chain: list[tuple[str, nn.Module]], x: torch.Tensor) -> list[torch.Tensor]:
    """The input of every module of a chain, then the chain's output (cloned: ReLUs may be in place)."""
    xs = [x.clone()]
    with torch.no_grad():
        for _, module in chain:
            xs.append(module(xs[-1].clone()))
    return xs


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _window(iv: Interval, k: int, s: int, p: int, d: int, size: int) -> Interval:
    return max(iv[0] * s - p, 0), min(iv[1] * s - p + d * (k - 1), size - 1)


def _windowed(module: nn.Module) -> tuple[tuple[int, int], ...] | None:
    """(kernel, stride, padding, dilation) as (rows, cols) pairs, for sliding-window modules."""
    if isinstance(module, nn.Conv2d):
        if isinstance(module.padding, str):  # "same"/"valid": the output grid is the input's
            pad = (
                (0, 0)
                if module.padding == "valid"
                else tuple(d * (k - 1) // 2 for k, d in zip(module.kernel_size, module.dilation, strict=True))
            )
        else:
            pad = module.padding
        return _pair(module.kernel_size), _pair(module.stride), _pair(pad), _pair(module.dilation)
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
        stride = module.stride if module.stride is not None else module.kernel_size
        dilation = getattr(module, "dilation", 1)
        return _pair(module.kernel_size), _pair(stride), _pair(module.padding), _pair(dilation)
    if isinstance(module, PartialConv2d):
        return (module.kernel_size,) * 2, (1, 1), (0, 0), (1, 1)
    if isinstance(module, Subsampling):
        return (2, 2), (2, 2), (0, 0), (1, 1)
    return None


def _adaptive(iv: Interval, out_size: int, in_size: int) -> Interval:
    return (iv[0] * in_size) // out_size, math.ceil((iv[1] + 1) * in_size / out_size) - 1


def _union(a: tuple[Interval, Interval] | None, b: tuple[Interval, Interval] | None):
    if a is None or b is None:
        return a or b
    return tuple((min(p[0], q[0]), max(p[1], q[1])) for p, q in zip(a, b, strict=True))


def back(
    module: nn.Module, x: torch.Tensor, rows: Interval | None, cols: Interval | None, channel: int | None = None
) -> tuple[Interval, Interval] | None:
    """The input rows and columns that ``module``'s output rows x cols (None: all of it) depend on.

    ``x`` is the module's batched input; ``channel`` narrows Inception blocks to
    one branch. Returns None when the input is a vector (no rows and columns)
    or when no input pixel is involved (a unit in padding).
    """
    if x.dim() != 4:
        return None
    height, width = x.shape[-2:]
    full = ((0, height - 1), (0, width - 1))
    if is_chain(module):
        chain = flat_chain(module, "")
        xs = chain_inputs(chain, x)
        for (_, child), xin in zip(reversed(chain), reversed(xs[:-1]), strict=True):
            region = back(child, xin, rows, cols, channel)
            if region is None and xin.dim() == 4:
                return None  # in padding
            rows, cols = region if region is not None else (None, None)
            if not isinstance(child, POINTWISE):
                channel = None
        return (rows, cols) if rows is not None and cols is not None else full
    with torch.no_grad():
        y = module(x.clone())
    if y.dim() != 4:
        return full  # a vector: every input pixel may matter
    if rows is None or cols is None:
        rows, cols = (0, y.shape[-2] - 1), (0, y.shape[-1] - 1)
    if isinstance(module, POINTWISE):
        return rows, cols
    if isinstance(module, nn.ConstantPad2d | nn.ZeroPad2d):
        left, _, top, _ = module.padding
        r = max(rows[0] - top, 0), min(rows[1] - top, height - 1)
        c = max(cols[0] - left, 0), min(cols[1] - left, width - 1)
        return None if r[0] > r[1] or c[0] > c[1] else (r, c)
    params = _windowed(module)
    if params is not None:
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = params
        return _window(rows, kh, sh, ph, dh, height), _window(cols, kw, sw, pw, dw, width)
    if isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        return _adaptive(rows, y.shape[-2], height), _adaptive(cols, y.shape[-1], width)
    if isinstance(module, Inception):
        region, start = None, 0
        for branch in (module.branch1, module.branch2, module.branch3, module.branch4):
            with torch.no_grad():
                n = branch(x.clone()).shape[1]
            if channel is None or start <= channel < start + n:
                region = _union(region, back(branch, x, rows, cols))
            start += n
        return region
    if isinstance(module, BasicBlock):
        main = back(nn.Sequential(module.conv1, module.conv2), x, rows, cols)
        return _union(main, back(module.shortcut, x, rows, cols))
    return full  # an unknown module: assume it mixes everything


def receptive_field(
    stage_modules: list[nn.Module], stage_inputs: list[torch.Tensor], channel: int, y: int, x: int
) -> Box | None:
    """The model-input box seen by unit (channel, y, x) of the last of ``stage_modules``.

    ``stage_modules`` are the model's stages up to and including the unit's,
    run one after the other; ``stage_inputs`` their batched inputs. None when
    the unit sees no pixel at all (it lies in padding).
    """
    rows: Interval | None = (y, y)
    cols: Interval | None = (x, x)
    region: tuple[Interval, Interval] | None = None
    for i in range(len(stage_modules) - 1, -1, -1):
        region = back(stage_modules[i], stage_inputs[i], rows, cols, channel if i == len(stage_modules) - 1 else None)
        if region is None:
            if stage_inputs[i].dim() == 4:
                return None
            rows = cols = None  # a vector: the stage before contributes everywhere
            continue
        rows, cols = region
    if region is None:
        return Box(0, 0, 28, 28)
    (top, bottom), (left, right) = region
    return Box(top, left, bottom + 1, right + 1)
