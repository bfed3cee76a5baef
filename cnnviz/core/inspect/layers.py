"""A network's stages, captured with forward hooks, and the layer table built from them.

A *stage* is what the app shows as one layer. By default the stages are the
network's top-level children (the items of a top-level ``nn.ModuleList`` or
``nn.ModuleDict`` count one by one, since such a container is never called
itself); a network may instead name them in a class attribute::

    class Net(nn.Module):
        cnnviz_stages = ("stem", "blocks.0", "blocks.1", "head")

Hooks see every call of a stage however ``forward`` is written: functional ops
between stages, loops over blocks and skip paths all work. What a hook cannot
see is a functional op's own output (``F.relu(self.conv(x))`` shows the
convolution's output, before the ReLU): wrap the op in a module to show it.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from cnnviz.core.errors import CnnvizError


@dataclass(frozen=True)
class LayerInfo:
    name: str
    type: str
    output_shape: tuple[int, ...]  # () for a stage that forward() never called
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
    """The model's named stages, in declaration order: what the app shows as its layers.

    ``model.cnnviz_stages`` (names of submodules, dotted for nested ones) if the
    network declares it, else its top-level children with a top-level
    ``ModuleList``/``ModuleDict`` expanded into its items (``blocks.0``, ...).

    Raises
    ------
    CnnvizError
        If a declared stage name is not a submodule of the model.
    """
    declared = getattr(model, "cnnviz_stages", None)
    if declared is not None:
        found = []
        for name in declared:
            try:
                found.append((str(name), model.get_submodule(str(name))))
            except AttributeError:
                raise CnnvizError(
                    f"{type(model).__name__}.cnnviz_stages names '{name}', which is not a submodule of the network."
                ) from None
        return found
    found = []
    for name, child in model.named_children():
        if isinstance(child, nn.ModuleList | nn.ModuleDict):
            found += [(f"{name}.{item}", module) for item, module in child.named_children()]
        else:
            found.append((name, child))
    return found


def first_tensor(value) -> torch.Tensor | None:
    """``value`` if it is a tensor, else the first tensor inside a tuple, list or dict."""
    if isinstance(value, torch.Tensor):
        return value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list | tuple) else ()
    for item in items:
        found = first_tensor(item)
        if found is not None:
            return found
    return None


@contextmanager
def capture(
    model: nn.Module, named_stages: list[tuple[str, nn.Module]] | None = None, connections: bool = False
) -> Iterator[tuple[OrderedDict[str, np.ndarray], dict[str, int]]]:
    """Hooks that record each stage's output (first sample) while the block runs.

    Yields ``(outputs, connections)``: ``outputs`` maps stage name to a numpy
    copy of its output without the batch axis, in order of first call (a hook fires
    when a stage returns, so a stage nested in another comes before it); a
    stage called more than once (a shared block in a loop) keeps its *last*
    output at the place of its first call. A stage whose output is not a
    tensor (a tuple, say) records the first tensor in it. With
    ``connections``, ``connections`` sums the connections of every leaf module
    call per stage (a stage called twice counts twice, as it computes twice).
    Only calls from this thread are recorded: another thread running the same
    model meanwhile (training, say) leaves no trace.
    """
    named_stages = stages(model) if named_stages is None else named_stages
    outputs: OrderedDict[str, np.ndarray] = OrderedDict()
    counts: dict[str, int] = {}
    handles = []
    owner = threading.get_ident()

    def record(name: str):
        def hook(module, inputs, output) -> None:
            if threading.get_ident() != owner:
                return
            out = first_tensor(output)
            if out is not None:
                # A copy: a later in-place op (ReLU(inplace=True), x += skip) must not change it.
                # On the CPU, numpy slices and copies faster than torch indexes (this runs per stroke).
                cpu = out.device.type == "cpu" and out.dtype != torch.bfloat16
                outputs[name] = out.detach().numpy()[0].copy() if cpu else out[0].detach().float().cpu().numpy()

        return hook

    try:
        for name, stage in named_stages:
            handles.append(stage.register_forward_hook(record(name)))
        if connections:
            handles += _connection_hooks(model, [name for name, _ in named_stages], counts, owner)
        yield outputs, counts
    finally:
        for handle in handles:
            handle.remove()


def _connection_hooks(model: nn.Module, names: list[str], counts: dict[str, int], owner: int) -> list:
    # Longest stage name first, so a module counts for the innermost stage holding it.
    by_length = sorted(names, key=len, reverse=True)
    handles = []
    for qualified, module in model.named_modules():
        if not qualified or (any(module.children()) and not hasattr(module, "connections")):
            continue
        stage = next((n for n in by_length if qualified == n or qualified.startswith(n + ".")), None)
        if stage is None:
            continue

        def hook(mod, inp, out, stage=stage) -> None:
            out = first_tensor(out)
            if out is not None and threading.get_ident() == owner:
                counts[stage] = counts.get(stage, 0) + _leaf_connections(mod, out)

        handles.append(module.register_forward_hook(hook))
    return handles


def model_device(model: nn.Module) -> torch.device:
    """Where the model's parameters (else buffers) live; CPU for a model with neither."""
    for tensors in (model.parameters(), model.buffers()):
        for tensor in tensors:  # the first one only: walking them all costs more than a small forward pass
            return tensor.device
    return torch.device("cpu")


@torch.no_grad()
def layer_table(model: nn.Module, input_size: tuple[int, int, int] = (1, 28, 28)) -> list[LayerInfo]:
    """One row per stage, from one zero image run through the model with hooks on its stages.

    Rows follow the order in which the stages ran; a stage that ``forward``
    never called comes last with an empty output shape (its parameters still
    count).
    """
    named = stages(model)
    was_training = model.training
    model.eval()
    try:
        with capture(model, named, connections=True) as (outputs, counts):
            model(torch.zeros(1, *input_size, device=model_device(model)))
    finally:
        model.train(was_training)
    return table_rows(named, outputs, counts)


def table_rows(
    named: list[tuple[str, nn.Module]], outputs: OrderedDict[str, np.ndarray], counts: dict[str, int]
) -> list[LayerInfo]:
    """The layer table's rows from what ``capture(model, named, connections=True)`` recorded."""
    modules = dict(named)
    order = list(outputs) + [name for name, _ in named if name not in outputs]
    return [
        LayerInfo(
            name=name,
            type=_stage_type(modules[name]),
            output_shape=tuple(outputs[name].shape) if name in outputs else (),
            params=sum(p.numel() for p in modules[name].parameters() if p.requires_grad),
            connections=counts.get(name, 0),
        )
        for name in order
    ]


def total_connections(table: list[LayerInfo]) -> int:
    return sum(row.connections for row in table)
