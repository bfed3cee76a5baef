"""What a network is, from one zero image run through it once: stages, shapes, layers, diagram.

Every panel that shows the network's structure (the layer table, the feature
maps' stage list, the kernels' first convolution, attribution's stages, the
architecture diagram) reads one ``NetworkDescription``, which the session
computes once per network (``ModelSession.description``) instead of each panel
running its own forward pass on every network change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from cnnviz.core.errors import CnnvizError
from cnnviz.core.inspect.architecture import architecture, record_shapes
from cnnviz.core.inspect.layers import LayerInfo, capture, model_device, stages, table_rows
from cnnviz.core.models.lenet import EuclideanRBF, PartialConv2d


@dataclass(frozen=True)
class NetworkDescription:
    """The structure of one network (not its weights): all plain data, shared by every view.

    ``stage_names`` are the stages that ran, in the order they ran (the feature maps'
    list); ``layers`` the layer table (a stage that never ran comes last);
    ``first_conv_stage`` the stage holding the first convolution (None: none);
    ``attribution_stages`` the stages with maps of more than one cell, and
    ``grad_cam_stage`` the last of them holding a convolution (Grad-CAM's default; None:
    none); ``architecture`` the diagram's nodes (``Node.as_dict()``) and
    ``architecture_error`` one sentence when it cannot be drawn; ``output_is_distance``
    is True when the last stage gives minus each class's distance (LeNet-5's RBF).
    """

    stage_names: tuple[str, ...]
    layers: tuple[LayerInfo, ...]
    first_conv_stage: str | None
    attribution_stages: tuple[str, ...]
    grad_cam_stage: str | None
    architecture: tuple[dict, ...]
    architecture_error: str | None
    output_is_distance: bool


def has_conv(module: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d | PartialConv2d) for m in module.modules())


def first_conv(model: nn.Module) -> nn.Conv2d:
    """The model's first ``nn.Conv2d`` (LeNet-5's C1 included); ``CnnvizError`` without one."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return module
    raise CnnvizError("The model has no convolution whose kernels could be edited.")


def first_conv_stage(model: nn.Module) -> str | None:
    """The stage whose output the first convolution makes ("C1", not the module path "C1.0")."""
    try:
        conv = first_conv(model)
    except CnnvizError:
        return None
    return next((name for name, m in stages(model) if any(sub is conv for sub in m.modules())), None)


def grad_cam_stages(named: list[tuple[str, nn.Module]], shapes: dict[str, tuple[int, ...]]) -> list[str]:
    """Stages holding a convolution whose output is maps of more than one cell, in declaration order."""
    return [
        name
        for name, module in named
        if has_conv(module) and len(shapes.get(name, ())) == 3 and math.prod(shapes[name][1:]) > 1
    ]


@torch.no_grad()
def describe(model: nn.Module) -> NetworkDescription:
    """The description of ``model`` from one forward pass of a zero image (in eval mode).

    Raises whatever the network raises on that image (a user's network may fail).
    """
    named = stages(model)
    was_training = model.training
    model.eval()  # a training-mode pass would move BatchNorm's running statistics
    try:
        with capture(model, named, connections=True) as (outputs, counts), record_shapes(model) as module_shapes:
            model(torch.zeros(1, 1, 28, 28, device=model_device(model)))
    finally:
        model.train(was_training)
    shapes = {name: tuple(a.shape) for name, a in outputs.items()}
    try:
        nodes, error = tuple(n.as_dict() for n in architecture(model, module_shapes)), None
    except Exception as exc:  # a user's network whose shapes cannot be traced: no diagram, one sentence
        nodes, error = (), f"The architecture view cannot draw this network ({type(exc).__name__}: {exc})."
    cam = grad_cam_stages(named, shapes)
    return NetworkDescription(
        stage_names=tuple(outputs),
        layers=tuple(table_rows(named, outputs, counts)),
        first_conv_stage=first_conv_stage(model),
        attribution_stages=tuple(n for n, _m in named if len(shapes.get(n, ())) == 3 and math.prod(shapes[n][1:]) > 1),
        grad_cam_stage=cam[-1] if cam else None,
        architecture=nodes,
        architecture_error=error,
        output_is_distance=bool(named) and isinstance(named[-1][1], EuclideanRBF),
    )
