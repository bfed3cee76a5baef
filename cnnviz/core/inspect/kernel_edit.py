"""Edit a first-layer kernel and put the trained one back.

The trained kernel is remembered the first time a kernel is edited (per
convolution module, held weakly so a discarded model takes its memory with
it); ``reset_first_kernel`` restores it and ``edited_kernels`` tells a save
dialog that the weights on screen are not the trained ones. Loading or
training new weights should call ``forget_edits``.
"""

from __future__ import annotations

import weakref

import numpy as np
import torch
from torch import nn

from cnnviz.core.errors import CnnvizError
from cnnviz.core.inspect.description import first_conv

PRESETS = ("vertical edge", "horizontal edge", "blur", "identity", "zero")

_TRAINED: weakref.WeakKeyDictionary[nn.Module, dict[tuple[int, int], np.ndarray]] = weakref.WeakKeyDictionary()


def _check(conv: nn.Conv2d, out_channel: int, in_channel: int) -> None:
    outs, ins = conv.weight.shape[:2]
    if not 0 <= out_channel < outs:
        raise CnnvizError(f"The first convolution has {outs} kernels, so there is no kernel {out_channel}.")
    if not 0 <= in_channel < ins:
        raise CnnvizError(f"The first convolution reads {ins} input channel(s), so there is no input {in_channel}.")


def first_kernel(model: nn.Module, out_channel: int, in_channel: int = 0) -> np.ndarray:
    """A copy of one kernel (kh x kw, float32) of the first convolution as it is now."""
    conv = first_conv(model)
    _check(conv, out_channel, in_channel)
    return conv.weight[out_channel, in_channel].detach().cpu().numpy().copy()


def set_first_kernel(model: nn.Module, out_channel: int, in_channel: int, kernel: np.ndarray) -> None:
    """Overwrite one kernel of the first convolution, remembering the trained one first.

    Raises
    ------
    CnnvizError
        When the channels do not exist or ``kernel`` is not of the kernel's size.
    """
    conv = first_conv(model)
    _check(conv, out_channel, in_channel)
    kernel = np.asarray(kernel, dtype=np.float32)
    size = tuple(conv.weight.shape[2:])
    if kernel.shape != size:
        raise CnnvizError(
            f"A kernel of the first convolution is {size[0]}x{size[1]}, not {'x'.join(map(str, kernel.shape))}."
        )
    if not np.isfinite(kernel).all():
        raise CnnvizError("A kernel's weights must be finite numbers.")
    originals = _TRAINED.setdefault(conv, {})
    originals.setdefault((out_channel, in_channel), first_kernel(model, out_channel, in_channel))
    with torch.no_grad():
        conv.weight[out_channel, in_channel] = torch.from_numpy(kernel).to(conv.weight)


def reset_first_kernel(model: nn.Module, out_channel: int | None = None, in_channel: int = 0) -> None:
    """Put back the trained kernel (every edited kernel when ``out_channel`` is None)."""
    conv = first_conv(model)
    originals = _TRAINED.get(conv, {})
    keys = list(originals) if out_channel is None else [(out_channel, in_channel)]
    with torch.no_grad():
        for key in keys:
            if key in originals:
                conv.weight[key] = torch.from_numpy(originals.pop(key)).to(conv.weight)


def edited_kernels(model: nn.Module) -> list[tuple[int, int]]:
    """(out_channel, in_channel) of every kernel edited and not reset, sorted."""
    try:
        conv = first_conv(model)
    except CnnvizError:
        return []
    return sorted(_TRAINED.get(conv, {}))


def forget_edits(model: nn.Module) -> None:
    """Keep the current kernels as the trained ones (after loading or training weights)."""
    try:
        _TRAINED.pop(first_conv(model), None)
    except CnnvizError:
        pass


def kernel_preset(name: str, size: tuple[int, int]) -> np.ndarray:
    """A preset kernel of ``size`` (kh, kw): vertical/horizontal edge, blur, identity or zero.

    Edges are Sobel-like (a difference across the centre, smoothed along it) and
    sum to zero, so flat regions give 0; blur sums to one; identity copies the input.
    """
    kh, kw = size
    if name == "vertical edge":
        ramp = np.sign(np.arange(kw) - (kw - 1) / 2)  # -1 left of centre, +1 right
        smooth = 1.0 + (np.arange(kh) == kh // 2)
        return (np.outer(smooth, ramp) / np.abs(np.outer(smooth, ramp)).sum() * 2).astype(np.float32)
    if name == "horizontal edge":
        return kernel_preset("vertical edge", (kw, kh)).T.copy()
    if name == "blur":
        return np.full((kh, kw), 1.0 / (kh * kw), dtype=np.float32)
    if name == "identity":
        k = np.zeros((kh, kw), dtype=np.float32)
        k[kh // 2, kw // 2] = 1.0
        return k
    if name == "zero":
        return np.zeros((kh, kw), dtype=np.float32)
    raise CnnvizError(f"Unknown kernel preset '{name}'; choose one of: {', '.join(PRESETS)}.")


def kernel_presets(size: tuple[int, int]) -> dict[str, np.ndarray]:
    """Every preset for kernels of ``size``, by name."""
    return {name: kernel_preset(name, size) for name in PRESETS}
