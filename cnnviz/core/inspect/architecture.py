"""The network as a small graph, built from its own modules, for the architecture diagram.

Every stage is a node. An Inception stage opens into its four branches and a
concatenation; a stage of residual blocks into each block's main path, skip
path (identity or 1x1 projection) and addition; LeNet-5's C3 carries its
partial connection table. Any other model is a chain of its stages. Output
shapes come from one zero image run through the model with forward hooks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from cnnviz.core.inspect.layers import first_tensor, model_device, stages
from cnnviz.core.inspect.receptive_field import flat_chain, is_chain
from cnnviz.core.models.lenet import PartialConv2d
from cnnviz.core.models.zoo import BasicBlock, Inception

IMAGE = "image"  # the id of the input node (the zoo's first stage is itself called "input")


@dataclass
class Node:
    """One box of the diagram.

    ``kind`` is image, stage, branch, concat, main, skip or add; ``inputs``
    are the ids of the nodes feeding it; ``stage`` is the top-level stage the
    node belongs to (what a click on it selects). The node whose ``id`` equals
    a stage's name is that stage's output (for Inception the concatenation,
    for residual blocks the last addition).
    """

    id: str
    label: str
    kind: str
    type: str
    output_shape: tuple[int, ...]
    inputs: list[str]
    stage: str | None
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "label": self.label,
            "kind": self.kind,
            "type": self.type,
            "output_shape": list(self.output_shape),
            "inputs": list(self.inputs),
            "stage": self.stage,
            "details": self.details,
        }


def _describe(module: nn.Module) -> str:
    """Short type text: the chain's module names joined with +, a 1x1 or strided conv marked."""
    parts = []
    for _, m in flat_chain(module, ""):
        text = type(m).__name__
        if isinstance(m, nn.Conv2d):
            k, s = m.kernel_size, m.stride
            text = f"Conv2d {k[0]}x{k[1]}" + (f" /{s[0]}" if s[0] > 1 else "")
        elif isinstance(m, nn.MaxPool2d | nn.AvgPool2d):
            k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
            s = m.stride if isinstance(m.stride, int) else m.stride[0]
            text = f"{type(m).__name__} {k}x{k}" + (f" /{s}" if s > 1 else "")
        parts.append(text)
    return " + ".join(parts)


@contextmanager
def record_shapes(model: nn.Module) -> Iterator[dict[nn.Module, tuple[int, ...]]]:
    """Hooks that record the output shape (no batch axis) of every module while the block runs."""
    shapes: dict[nn.Module, tuple[int, ...]] = {}

    def hook(module, _inputs, output) -> None:
        out = first_tensor(output)
        if out is not None:
            shapes[module] = tuple(out.shape[1:])

    hooks = [m.register_forward_hook(hook) for m in model.modules() if m is not model]
    try:
        yield shapes
    finally:
        for h in hooks:
            h.remove()


def _shapes(model: nn.Module) -> dict[nn.Module, tuple[int, ...]]:
    """Output shape (no batch axis) of every module, from one zero image in eval mode."""
    was_training = model.training
    model.eval()  # a training-mode pass would move BatchNorm's running statistics
    try:
        with torch.no_grad(), record_shapes(model) as shapes:
            model(torch.zeros(1, 1, 28, 28, device=model_device(model)))
    finally:
        model.train(was_training)
    return shapes


def _inception(name: str, module: Inception, source: str, shapes) -> list[Node]:
    nodes, start = [], 0
    branches = [module.branch1, module.branch2, module.branch3, module.branch4]
    for i, branch in enumerate(branches, start=1):
        n = shapes[branch][0]
        nodes.append(
            Node(
                f"{name}.branch{i}",
                f"branch {i}",
                "branch",
                _describe(branch),
                shapes[branch],
                [source],
                name,
                {"channels": [start, start + n]},
            )
        )
        start += n
    ids = [node.id for node in nodes]
    nodes.append(Node(name, name, "concat", "concatenate channels", shapes[module], ids, name))
    return nodes


def _residual(name: str, blocks: list[tuple[str, BasicBlock]], source: str, shapes) -> list[Node]:
    nodes = []
    for k, (block_id, block) in enumerate(blocks):
        out_id = name if k == len(blocks) - 1 else block_id
        main = nn.Sequential(block.conv1, block.bn1, block.relu, block.conv2, block.bn2)
        projection = not isinstance(block.shortcut, nn.Identity)
        skip_type = _describe(block.shortcut) if projection else "identity"
        nodes += [
            Node(f"{block_id}.main", "main path", "main", _describe(main), shapes[block.bn2], [source], name),
            Node(
                f"{block_id}.skip",
                "1x1 projection" if projection else "identity",
                "skip",
                skip_type,
                shapes[block.shortcut] if projection else shapes[block],  # identity: same shape as the output
                [source],
                name,
                {"projection": projection},
            ),
            Node(
                out_id,
                out_id if out_id == name else f"{block_id} add",  # the stage's output is named for the stage
                "add",
                "add + ReLU",
                shapes[block],
                [f"{block_id}.main", f"{block_id}.skip"],
                name,
            ),
        ]
        source = out_id
    return nodes


def architecture(model: nn.Module, shapes: dict[nn.Module, tuple[int, ...]] | None = None) -> list[Node]:
    """The model's diagram as nodes in a valid drawing order (every node after its inputs).

    Parameters
    ----------
    model
        Any model whose top-level children are its stages (``layers.stages``);
        they are taken to run one after the other.
    shapes
        Every module's output shape (``record_shapes``), if already recorded; else one zero image is run.
    """
    shapes = _shapes(model) if shapes is None else shapes
    nodes = [Node(IMAGE, "image", "image", "28x28 drawing", (1, 28, 28), [], None)]
    source = IMAGE
    for name, stage in stages(model):
        blocks = [(f"{name}.{n}", m) for n, m in flat_chain(stage, "")]
        if isinstance(stage, Inception):
            nodes += _inception(name, stage, source, shapes)
        elif isinstance(stage, BasicBlock):
            nodes += _residual(name, [(name, stage)], source, shapes)
        elif is_chain(stage) and blocks and all(isinstance(m, BasicBlock) for _, m in blocks):
            nodes += _residual(name, [(f"{name}.{i}", m) for i, (_, m) in enumerate(blocks)], source, shapes)
        else:
            details = {}
            partial = next((m for m in stage.modules() if isinstance(m, PartialConv2d)), None)
            if partial is not None:
                details["connection_table"] = partial.connection_table.cpu().numpy().astype(bool).tolist()
            nodes.append(Node(name, name, "stage", _describe(stage), shapes.get(stage, ()), [source], name, details))
        source = name
    return nodes


def edges(nodes: list[Node]) -> list[tuple[str, str]]:
    """(from id, to id) for every arrow of the diagram."""
    return [(src, node.id) for node in nodes for src in node.inputs]
