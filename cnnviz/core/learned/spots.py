"""Where on the 28x28 input a unit's strongest spot lies: the box a view outlines on a top image."""

from __future__ import annotations

import numpy as np
from torch import nn

from cnnviz.core.inspect.receptive_field import is_chain, receptive_field
from cnnviz.core.inspect.unit_inspector import capture_stages

Box = tuple[int, int, int, int]  # top, left, bottom, right (exclusive), in input pixels


def _scaled(map_shape: tuple[int, ...], y: int, x: int) -> Box:
    """The cell's share of the input: for a network whose receptive field cannot be traced."""
    if len(map_shape) != 2:
        return (0, 0, 28, 28)
    h, w = map_shape
    return (int(y * 28 / h), int(x * 28 / w), max(int((y + 1) * 28 / h), int(y * 28 / h) + 1),
            max(int((x + 1) * 28 / w), int(x * 28 / w) + 1))  # fmt: skip


def spot_boxes(model: nn.Module, stage: str, channel: int, map_shape: tuple[int, ...], spots) -> list[Box]:
    """For each (y, x) of a stage's map, the input box its unit sees (the receptive field, else the cell's share).

    A vector stage's unit sees the whole input. Errors of a user's network give the cell's share.
    """
    if len(map_shape) != 2:
        return [(0, 0, 28, 28) for _ in spots]
    try:
        if not is_chain(model):
            raise ValueError
        named, ins, _outs = capture_stages(model, np.zeros((28, 28), np.float32))
        k = [n for n, _ in named].index(stage)
        mods = [m for _, m in named[: k + 1]]
        boxes = []
        for y, x in spots:
            box = receptive_field(mods, ins[: k + 1], channel, int(y), int(x))
            boxes.append(_scaled(map_shape, y, x) if box is None else (box.top, box.left, box.bottom, box.right))
        return boxes
    except BaseException:  # noqa: BLE001 - a user's network, or one the arithmetic cannot follow
        return [_scaled(map_shape, y, x) for y, x in spots]
