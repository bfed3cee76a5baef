"""How one unit of one stage got its value: the numbers behind a click on a feature map.

One forward pass captures every stage's input and output; the unit's stage is
then replayed module by module (a stage is usually a small ``nn.Sequential``
such as conv -> BatchNorm -> ReLU), and the unit is explained from the end
backwards: element-wise steps (activation, BatchNorm, dropout, normalisation)
keep the unit's position, index steps (flatten, padding) move it, and the first
step that mixes many inputs (convolution, pooling, subsampling, a linear or RBF
layer, an Inception or residual block) is written out in full and ends the
walk. Every number is recomputed in float64 from the captured float32 tensors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnnviz.core.errors import CnnvizError
from cnnviz.core.inspect.layers import first_tensor, stages
from cnnviz.core.inspect.receptive_field import POINTWISE, Box, chain_inputs, flat_chain, is_chain, receptive_field
from cnnviz.core.inspect.unit_steps import (
    Step,
    conv_step,
    float64,
    linear_step,
    pointwise_step,
    pool_step,
    subsampling_step,
)
from cnnviz.core.models.lenet import EuclideanRBF, PartialConv2d, Subsampling
from cnnviz.core.models.zoo import BasicBlock, Inception

TOP_INPUTS = 10  # a linear unit's largest contributions listed one by one


@dataclass
class UnitExplanation:
    """The unit, its value as captured, its receptive field and the steps that made it.

    ``receptive_field`` is in the 28x28 model input (None for a unit that lies
    in padding); ``pre_activation`` is the value fed to the stage's last
    activation function ``activation`` (both None without one).
    """

    model: str
    stage: str
    stage_type: str
    channel: int
    y: int
    x: int
    output_shape: tuple[int, ...]
    value: float
    receptive_field: Box | None
    steps: list[Step]
    pre_activation: float | None = None
    activation: str | None = None

    def step(self, kind: str) -> Step | None:
        """The first step of a kind, or None."""
        return next((s for s in self.steps if s.kind == kind), None)

    def as_dict(self) -> dict:
        return {
            "model": self.model,
            "stage": self.stage,
            "stage_type": self.stage_type,
            "unit": {"channel": self.channel, "y": self.y, "x": self.x},
            "output_shape": list(self.output_shape),
            "value": self.value,
            "receptive_field": self.receptive_field.as_dict() if self.receptive_field else None,
            "pre_activation": self.pre_activation,
            "activation": self.activation,
            "steps": [s.as_dict() for s in self.steps],
        }


def _inception(module: Inception, name: str, xt: torch.Tensor, idx: tuple, top: int) -> Step:
    c, y, xx = idx
    start = 0
    for i, branch in enumerate((module.branch1, module.branch2, module.branch3, module.branch4), start=1):
        with torch.no_grad():
            n = branch(xt.clone()).shape[1]
        if c < start + n:
            steps, pre, act = explain_chain(branch, f"{name}.branch{i}", xt, (c - start, y, xx), top)
            details = {"branch": f"branch{i}", "branch_index": i, "channels": [start, start + n],
                       "branch_channel": c - start, "steps": [s.as_dict() for s in steps]}  # fmt: skip
            return Step("inception", name, steps[-1].value, details)
        start += n
    raise CnnvizError(f"Channel {c} is beyond the {start} channels of '{name}'.")


def _residual(module: BasicBlock, name: str, xt: torch.Tensor, idx: tuple, top: int) -> list[Step]:
    with torch.no_grad():
        hidden = module.relu(module.bn1(module.conv1(xt.clone())))
    main_steps, _, _ = explain_chain(nn.Sequential(module.conv2, module.bn2), f"{name}", hidden, idx, top)
    for s, sub in zip(main_steps, ("conv2", "bn2"), strict=True):
        s.module = f"{name}.{sub}"
    projection = not isinstance(module.shortcut, nn.Identity)
    if projection:
        skip_steps, _, _ = explain_chain(module.shortcut, f"{name}.shortcut", xt, idx, top)
        skip = skip_steps[-1].value
    else:
        skip_steps, skip = [], float(float64(xt[0])[idx])
    main = main_steps[-1].value
    details = {"main": main, "skip": skip, "skip_kind": "projection" if projection else "identity",
               "sum": main + skip, "main_steps": [s.as_dict() for s in main_steps],
               "skip_steps": [s.as_dict() for s in skip_steps]}  # fmt: skip
    relu = Step(
        "activation",
        f"{name}.relu",
        max(main + skip, 0.0),
        {"function": "ReLU", "formula": "max(0, a)", "input": main + skip},
    )
    return [Step("residual", name, main + skip, details), relu]


# -- the walk from the unit backwards through a stage ---------------------------------------
def _flattened_from(chain: list, xs: list[torch.Tensor], i: int) -> tuple[int, ...] | None:
    """The map shape a linear layer's inputs were flattened from, so its inputs can be named (c, y, x)."""
    for j in range(i - 1, -1, -1):
        if isinstance(chain[j][1], nn.Flatten):
            return tuple(xs[j].shape[1:])
        if not isinstance(chain[j][1], POINTWISE):
            return None
    return None


def _mixing(chain: list, xs: list[torch.Tensor], i: int, idx: tuple, top: int) -> list[Step]:
    """The full explanation of a step that combines many inputs into the unit."""
    (name, child), xin = chain[i], xs[i]
    before = float64(xin[0])
    if isinstance(child, nn.Conv2d | PartialConv2d):
        return [conv_step(child, name, before, idx)]
    if isinstance(child, Subsampling):
        return [subsampling_step(child, name, before, idx)]
    if isinstance(child, nn.MaxPool2d | nn.AvgPool2d | nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        return [pool_step(child, name, before, idx)]
    if isinstance(child, nn.Linear | EuclideanRBF):
        return [linear_step(child, name, before.reshape(-1), idx, _flattened_from(chain, xs, i), top)]
    if isinstance(child, Inception):
        return [_inception(child, name, xin, idx, top)]
    if isinstance(child, BasicBlock):
        return _residual(child, name, xin, idx, top)
    try:
        value = float(float64(xs[i + 1][0])[idx])
    except (IndexError, ValueError):  # a stage giving a tuple or dict: its parts have other shapes
        raise CnnvizError(
            f"Stage {name} ({type(child).__name__}) gives several outputs (a tuple or dict), so this unit "
            f"cannot be followed through it."
        ) from None
    return [Step("other", name, value, {"type": type(child).__name__})]


def explain_chain(
    module: nn.Module, prefix: str, x: torch.Tensor, idx: tuple, top: int = TOP_INPUTS
) -> tuple[list[Step], float | None, str | None]:
    """Steps (in forward order) that made unit ``idx`` of ``module(x)``, plus pre-activation and activation.

    ``x`` is the batched input; ``idx`` indexes the unbatched output. Walking
    backwards finds where the unit came from; the values are then computed
    forwards, each step from the one before, so the last value is derived,
    not copied from the captured tensors.
    """
    chain = flat_chain(module, prefix) if is_chain(module) else [(prefix, module)]
    xs = chain_inputs(chain, x)
    first: list[Step] = []
    pending: list[tuple] = []  # (kind, i, idx) of the steps after ``first``, last step first
    for i in range(len(chain) - 1, -1, -1):
        child = chain[i][1]
        if isinstance(child, POINTWISE):
            pending.append(("pointwise", i, idx))
        elif isinstance(child, nn.Flatten):
            src = tuple(map(int, np.unravel_index(idx[0], xs[i].shape[1:])))
            pending.append(("flatten", i, src))
            idx = src
        elif isinstance(child, nn.ConstantPad2d | nn.ZeroPad2d):
            left, _, top_pad, _ = child.padding
            src = (idx[0], idx[1] - top_pad, idx[2] - left)
            inside = 0 <= src[1] < xs[i].shape[2] and 0 <= src[2] < xs[i].shape[3]
            pending.append(("pad", i, src if inside else None))
            if not inside:
                break
            idx = src
        else:
            first = _mixing(chain, xs, i, idx, top)
            break
    steps = list(first)
    # The value entering the first pending step: the mixing step's result, else the stage input.
    value = (
        steps[-1].value
        if steps
        else (float(float64(xs[pending[-1][1]][0])[pending[-1][2]]) if pending and pending[-1][2] is not None else 0.0)
    )
    for kind, i, where in reversed(pending):
        name, child = chain[i]
        if kind == "pointwise":
            step = pointwise_step(child, name, value, xs[i], where)
        elif kind == "flatten":
            step = Step("flatten", name, value, {"source": list(where)})
        else:
            value = value if where is not None else float(child.value)
            step = Step(
                "pad",
                name,
                value,
                {"source": list(where) if where is not None else None, "constant": float(child.value)},
            )
        steps.append(step)
        value = step.value
    acts = [s for s in steps if s.kind == "activation"]
    if not acts:
        return steps, None, None
    return steps, acts[-1].details["input"], acts[-1].details["function"]


def _as_batch(model: nn.Module, image: np.ndarray) -> torch.Tensor:
    device = next(model.parameters()).device
    return torch.as_tensor(np.asarray(image, dtype=np.float32), device=device).reshape(1, 1, 28, 28)


def capture_stages(
    model: nn.Module, image: np.ndarray
) -> tuple[list[tuple[str, nn.Module]], list[torch.Tensor], list[torch.Tensor]]:
    """Stages, and each stage's batched input and output, from one forward pass (eval mode)."""
    named = stages(model)
    inputs: dict[int, torch.Tensor] = {}
    outputs: dict[int, torch.Tensor] = {}
    hooks = []
    for i, (_, module) in enumerate(named):
        # Cloned as they pass: a later in-place ReLU must not rewrite what was captured.
        # A stage may take or give a tuple or dict: its first tensor stands for it (None: no tensor at all).
        hooks.append(module.register_forward_pre_hook(lambda m, a, i=i: inputs.__setitem__(i, _copy(a))))
        hooks.append(module.register_forward_hook(lambda m, a, out, i=i: outputs.__setitem__(i, _copy(out))))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(_as_batch(model, image))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    for i, (name, _) in enumerate(named):
        if inputs.get(i) is None or outputs.get(i) is None:
            raise CnnvizError(
                f"Stage {name} takes or gives no tensor (a tuple or dict without one), so it cannot be inspected."
            )
    return named, [inputs[i] for i in range(len(named))], [outputs[i] for i in range(len(named))]


def _copy(value) -> torch.Tensor | None:
    """A detached copy of ``value``'s first tensor: a later in-place ReLU must not rewrite it."""
    tensor = first_tensor(value)
    return None if tensor is None else tensor.detach().clone()


def _stage_type(stage: nn.Module) -> str:
    if is_chain(stage):
        return " + ".join(type(m).__name__ for _, m in flat_chain(stage, ""))
    return type(stage).__name__


def inspect_unit(
    model: nn.Module, image: np.ndarray, stage: str, channel: int, y: int = 0, x: int = 0, top: int = TOP_INPUTS
) -> UnitExplanation:
    """Explain unit (channel, y, x) of one stage's output for one 28x28 image in [0, 1].

    Parameters
    ----------
    model
        Any model whose top-level children are its stages (``layers.stages``).
    image
        28x28 array in [0, 1], ink = 1.
    stage
        The stage's name, e.g. ``"C3"`` or ``"inception3a"``.
    channel, y, x
        The unit; for a vector output ``channel`` is the index and y = x = 0.
    top
        How many of a linear unit's largest contributions to list.

    Raises
    ------
    CnnvizError
        For an unknown stage or a unit outside the stage's output.
    """
    names = [n for n, _ in stages(model)]
    if stage not in names:
        raise CnnvizError(f"The model has no stage '{stage}'; choose one of: {', '.join(names)}.")
    named, ins, outs = capture_stages(model, image)
    k = names.index(stage)
    module, out = named[k][1], outs[k][0]
    shape = tuple(out.shape)
    idx = (channel, y, x) if out.dim() == 3 else (channel,)
    limits = shape if out.dim() == 3 else (shape[0], 1, 1)
    for name, v, n in zip(("channel", "y", "x"), (channel, y, x), limits, strict=True):
        if not 0 <= v < n:
            raise CnnvizError(
                f"The {name} {v} is outside stage '{stage}', whose output is {'x'.join(map(str, shape))}."
            )
    steps, pre, act = explain_chain(module, stage, ins[k], idx, top)
    box = receptive_field([m for _, m in named[: k + 1]], ins[: k + 1], channel, y, x) if is_chain(model) else None
    return UnitExplanation(
        model=type(model).__name__,
        stage=stage,
        stage_type=_stage_type(module),
        channel=channel,
        y=y,
        x=x,
        output_shape=shape,
        value=float(out.detach().cpu().double().numpy()[idx]),
        receptive_field=box,
        steps=steps,
        pre_activation=pre,
        activation=act,
    )


def inspect_unit_as_dict(model: nn.Module, image: np.ndarray, stage: str, channel: int, y: int = 0, x: int = 0) -> dict:
    """``inspect_unit(...).as_dict()``: what the inspector shows, as plain data (it may come from a child process)."""
    return inspect_unit(model, image, stage, channel, y, x).as_dict()
