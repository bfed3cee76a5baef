"""Inside the layers while a run trains: per-stage gradient norm, update size, histograms, dead units.

Everything is computed on the training thread from tensors the batch already
made (the gradients, the weights, the stage outputs seen by forward hooks): no
extra forward pass. The loop measures at its report rate only, on the batch
just before a report: ``before_step()`` keeps the weights before the optimizer
step (for the update / weight ratio ``||Δw|| / ||w||``), ``measure()`` reads the
figures back in one transfer.

A *unit* is a channel of a convolution's output or a feature of a linear one;
it is *dead* when it was never above 0 for any image of any batch since the
previous measurement. Only stages with a ReLU have dead units (NaN elsewhere:
a tanh unit is never "off").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnnviz.core.errors import CnnvizError

HIST_BINS = 32
# Fixed histogram bins, so the strips compare over time. Weights: linear, up to this many times the
# largest weight at the first measurement. Gradients shrink and grow by decades during a run: their
# bins are on sign(g) * log10 |g| over these decades (|g| below the first one lands in the middle).
WEIGHT_RANGE_FACTOR = 1.5
GRAD_DECADES = (-8, 0)


def signed_log(values: torch.Tensor) -> torch.Tensor:
    """sign(g) * (log10 |g| - GRAD_DECADES[0]), 0 for |g| at or below 10**GRAD_DECADES[0]: the gradient bins' axis."""
    low, high = GRAD_DECADES
    magnitude = (torch.log10(values.abs().clamp_min(10.0**low)) - low).clamp_max(high - low)
    return torch.sign(values) * magnitude


_RECTIFIERS = (nn.ReLU, nn.ReLU6)


def trainable_stages(model: nn.Module) -> list[tuple[str, list[nn.Parameter]]]:
    """The model's stages that hold trainable parameters, each with its parameters (a user's network too)."""
    from cnnviz.core.inspect.layers import stages

    try:
        named = stages(model)
    except CnnvizError:
        named = list(model.named_children())
    out = []
    for name, module in named:
        params = [p for p in module.parameters() if p.requires_grad]
        if params:
            out.append((name, params))
    return out


def _norm(tensors: list[torch.Tensor]) -> torch.Tensor:
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t.detach().float()) for t in tensors]))


def grad_norms(stages: list[tuple[str, list[nn.Parameter]]]) -> list[torch.Tensor]:
    """Each stage's gradient norm, on the device (0 for a stage whose parameters got no gradient)."""
    out = []
    for _, params in stages:
        grads = [p.grad for p in params if p.grad is not None]
        out.append(_norm(grads) if grads else torch.zeros((), device=params[0].device))
    return out


def update_ratios(stages, before: list[list[torch.Tensor]]) -> list[torch.Tensor]:
    """Each stage's ``||w_after - w_before|| / ||w_before||``, on the device."""
    out = []
    for (_, params), old in zip(stages, before, strict=True):
        delta = _norm([p.detach() - o for p, o in zip(params, old, strict=True)])
        out.append(delta / _norm(old).clamp_min(1e-12))
    return out


def copy_params(stages) -> list[list[torch.Tensor]]:
    return [[p.detach().clone() for p in params] for _, params in stages]


@dataclass(frozen=True)
class StageStats:
    """One measurement of every trainable stage (a run's report carries the latest)."""

    step: int
    names: tuple[str, ...]
    grad_norm: tuple[float, ...]
    update_ratio: tuple[float, ...]
    dead: tuple[float, ...]  # share of dead units in [0, 1]; NaN: the stage has no ReLU
    weight_hist: np.ndarray  # stages x HIST_BINS, each row's counts as shares (sums to 1)
    grad_hist: np.ndarray
    weight_range: tuple[float, ...]  # per stage: the weight histogram spans [-range, range]
    # The gradient histograms span signed_log's [-span, span], span = GRAD_DECADES[1] - GRAD_DECADES[0].

    def columns(self) -> dict[str, float]:
        """The CSV's per-stage columns: ``<stage>/grad_norm``, ``<stage>/update_ratio``, ``<stage>/dead``."""
        out = {}
        for i, name in enumerate(self.names):
            out[f"{name}/grad_norm"] = self.grad_norm[i]
            out[f"{name}/update_ratio"] = self.update_ratio[i]
            out[f"{name}/dead"] = self.dead[i]
        return out


class LayerStats:
    """Per-stage statistics of a model in training; see the module docstring. ``close()`` removes the hooks."""

    def __init__(self, model: nn.Module, bins: int = HIST_BINS) -> None:
        self.bins = bins
        self.stages = trainable_stages(model)
        self.names = tuple(name for name, _ in self.stages)
        modules = dict(model.named_modules())
        self._ever: dict[int, torch.Tensor] = {}  # stage index -> "was above 0" per unit, since the last measure
        self._rectified = []
        self._hooks = []
        for i, name in enumerate(self.names):
            module = modules.get(name)
            rectified = module is not None and any(isinstance(m, _RECTIFIERS) for m in module.modules())
            self._rectified.append(rectified)
            if rectified and module is not None:
                self._hooks.append(module.register_forward_hook(self._hook(i)))
        self._before: list[list[torch.Tensor]] | None = None
        self._weight_range: list[float] | None = None

    def _hook(self, index: int):
        def hook(_module, _inputs, output) -> None:
            if not torch.is_grad_enabled() or not isinstance(output, torch.Tensor) or output.dim() < 2:
                return  # evaluations and the step view's looks run without gradients: not training batches
            # The largest value per unit over the batch (one reduction: 20x faster than comparing every value).
            out = output.detach()
            alive = (out.flatten(2).amax(dim=(0, 2)) if out.dim() > 2 else out.amax(dim=0)) > 0
            seen = self._ever.get(index)
            self._ever[index] = alive if seen is None or seen.shape != alive.shape else seen | alive

        return hook

    def close(self) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks = []

    def before_step(self) -> None:
        """Keep the weights as they are before the optimizer's step (call after backward, before step)."""
        self._before = copy_params(self.stages)

    def measure(self, step: int) -> StageStats | None:
        """The figures after the step that ``before_step`` preceded (None without it); one read-back."""
        if self._before is None or not self.stages:
            return None
        before, self._before = self._before, None
        device = self.stages[0][1][0].device
        flat_w = [torch.cat([p.detach().flatten().float() for p in params]) for _, params in self.stages]
        flat_g = [
            torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).detach().flatten().float()
                       for p in params])
            for _, params in self.stages
        ]  # fmt: skip
        if self._weight_range is None:  # fixed for the run from its first measurement
            extents = torch.stack([w.abs().max() for w in flat_w]).cpu().tolist()
            self._weight_range = [max(WEIGHT_RANGE_FACTOR * w, 1e-6) for w in extents]
        rows = [torch.stack(grad_norms(self.stages)), torch.stack(update_ratios(self.stages, before))]
        dead = []
        for i in range(len(self.stages)):
            seen = self._ever.get(i)
            dead.append(1 - seen.float().mean() if seen is not None else torch.tensor(math.nan, device=device))
        rows.append(torch.stack([d.to(device) for d in dead]))
        self._ever = {}
        hists = []
        span = float(GRAD_DECADES[1] - GRAD_DECADES[0])
        for w, r in zip(flat_w, self._weight_range, strict=True):
            hists.append(torch.histc(w.clamp(-r, r), self.bins, -r, r) / max(1, w.numel()))
        for g in flat_g:
            hists.append(torch.histc(signed_log(g), self.bins, -span, span) / max(1, g.numel()))
        read = torch.cat([torch.cat(rows), torch.cat(hists)]).cpu().numpy()
        k = len(self.stages)
        hist = read[3 * k :].reshape(2, k, self.bins)
        return StageStats(
            step=step, names=self.names,
            grad_norm=tuple(float(v) for v in read[:k]),
            update_ratio=tuple(float(v) for v in read[k : 2 * k]),
            dead=tuple(float(v) if self._rectified[i] else math.nan for i, v in enumerate(read[2 * k : 3 * k])),
            weight_hist=hist[0], grad_hist=hist[1],
            weight_range=tuple(self._weight_range),
        )  # fmt: skip
