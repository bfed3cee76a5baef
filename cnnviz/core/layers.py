"""The layer table: per stage, its type, output shape, parameters and connections."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LayerInfo:
    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    connections: int

    def as_dict(self) -> dict:
        return asdict(self)


def _leaf_connections(module: nn.Module, out: torch.Tensor) -> int:
    """Connections in the paper's sense: each use of a weight or bias per output value.

    For convolutions and linear layers this is the multiply-accumulates plus
    one per bias; layers without weights (pooling, activations) have none.
    """
    shape = out.shape[1:]
    if hasattr(module, "connections"):
        return int(module.connections(shape))
    bias = int(getattr(module, "bias", None) is not None)
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return math.prod(shape) * (module.in_channels // module.groups * kh * kw + bias)
    if isinstance(module, nn.Linear):
        return math.prod(shape) * (module.in_features + bias)
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return math.prod(shape)  # one scale-and-shift per value
    return 0


def _stage_type(stage: nn.Module) -> str:
    if isinstance(stage, nn.Sequential):
        return " + ".join(type(m).__name__ for m in stage.children())
    return type(stage).__name__


def stages(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's named top-level stages: what the app shows as its layers."""
    return list(model.named_children())


@torch.no_grad()
def layer_table(model: nn.Module, input_size: tuple[int, int, int] = (1, 28, 28)) -> list[LayerInfo]:
    """One row per stage, computed by running one zero image through the model."""
    connections: dict[str, int] = {}
    hooks = []
    for qualified, module in model.named_modules():
        if qualified and (not any(module.children()) or hasattr(module, "connections")):
            top = qualified.split(".", 1)[0]

            def hook(mod, inp, out, top=top):
                connections[top] = connections.get(top, 0) + _leaf_connections(mod, out)

            hooks.append(module.register_forward_hook(hook))
    shapes: dict[str, tuple[int, ...]] = {}
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        x = torch.zeros(1, *input_size, device=device)
        for name, stage in stages(model):
            x = stage(x)
            shapes[name] = tuple(x.shape[1:])
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return [
        LayerInfo(
            name=name,
            type=_stage_type(stage),
            output_shape=shapes[name],
            params=sum(p.numel() for p in stage.parameters() if p.requires_grad),
            connections=connections.get(name, 0),
        )
        for name, stage in stages(model)
    ]


def total_connections(table: list[LayerInfo]) -> int:
    return sum(row.connections for row in table)
