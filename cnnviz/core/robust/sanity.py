"""Sanity checks for attribution maps (Adebayo et al. 2018, "Sanity checks for saliency maps").

*Cascading randomisation*: re-initialise the network's stages one at a time from the
output down and compare each map with the trained network's map. A method that
explains the network must change as its weights are destroyed; one whose maps stay
alike (Guided Backprop, in the paper) shows the picture's edges, not the network's
reasoning. The comparison is Spearman's rank correlation of the maps' absolute
values, averaged over N test images, each explained for the class the *trained*
network gives it.

Only stages with parameters are randomised (a pooling stage or LeNet-5's fixed RBF
output has nothing to re-draw). A stage is re-drawn by its modules' own
``reset_parameters`` (the initialisation the network was built with); a parameter
no such method touches (a user's ``nn.Parameter``) is re-drawn from a normal
distribution of its own spread. A map that is constant (Grad-CAM's ReLU can zero
it) has no ranks: its correlation counts as 0.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from cnnviz.core.errors import CnnvizError
from cnnviz.core.inspect.attribution import METHODS as ATTRIBUTION_NAMES
from cnnviz.core.inspect.attribution import attribute, last_conv_stage
from cnnviz.core.inspect.layers import stages

METHODS = ("saliency", "gradcam", "guided", "ig")
DEFAULT_N = 20
ORIGINAL = "(original)"
LOW, HIGH = 0.3, 0.6  # below LOW the maps depend on the weights; above HIGH they barely do

Progress = Callable[[int, int], bool | None]  # (maps done, maps in all) -> False to cancel


class SanityCancelled(CnnvizError):
    """The progress callback asked the check to stop."""


@dataclass
class SanityResult:
    method: str
    stages: list[str]  # ORIGINAL, then the randomised stages from the top down
    correlation: list[float]  # mean Spearman per entry of ``stages``
    n: int
    maps: list[np.ndarray] = field(default_factory=list)  # the first image's map per entry of ``stages``

    def as_dict(self) -> dict:
        return {"method": self.method, "stages": self.stages, "correlation": self.correlation, "n": self.n,
                "verdict": verdict(self.method, self.correlation)}  # fmt: skip


def check_method(method: str) -> str:
    if method not in METHODS:
        raise CnnvizError(f"The sanity check covers {', '.join(METHODS)}; '{method}' is not one of them.")
    return method


def ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of a flat array, ties sharing their average rank (as Spearman's correlation needs)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(v, kind="stable")
    sorted_v = v[order]
    starts = np.flatnonzero(np.r_[True, sorted_v[1:] != sorted_v[:-1]])
    ends = np.r_[starts[1:], len(v)]
    average = (starts + ends + 1) / 2.0  # ranks start..end-1 (from 1) share their mean
    out = np.empty(len(v))
    out[order] = np.repeat(average, ends - starts)
    return out


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two maps' absolute values; 0 when either map is constant."""
    ra, rb = ranks(np.abs(a)), ranks(np.abs(b))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / denominator) if denominator > 0 else 0.0


def weighted_stages(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The stages that have parameters, in forward order."""
    return [(name, stage) for name, stage in stages(model) if any(True for _ in stage.parameters())]


def randomise(stage: nn.Module, generator_seed: int) -> None:
    """Re-draw a stage's weights in place, repeatably (see the module docstring)."""
    before = {id(p): p.detach().clone() for p in stage.parameters()}
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(generator_seed)
        for module in stage.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                try:
                    reset()
                except BaseException:  # noqa: BLE001 - a user's module: its parameters get the fallback below
                    pass
        for p in stage.parameters():
            if torch.equal(p, before[id(p)]):
                spread = float(before[id(p)].float().std()) if p.numel() > 1 else 0.0
                p.normal_(0.0, spread if spread > 0 else 0.1)


def _maps(model: nn.Module, images: np.ndarray, targets: list[int], method: str, stage: str | None) -> list:
    return [
        attribute(model, image, method, target=t, stage=stage).map for image, t in zip(images, targets, strict=True)
    ]


def cascading_steps(
    model: nn.Module, images: np.ndarray, method: str, seed: int = 0
) -> Iterator[tuple[str, float, list[np.ndarray]]]:
    """(stage, mean correlation, maps) for the trained network, then after each stage is randomised, top down.

    ``model`` is left as it was: the stages are randomised in a copy.
    """
    check_method(method)
    if len(images) == 0:
        raise CnnvizError("The sanity check needs at least one image.")
    stage = last_conv_stage(model) if method == "gradcam" else None
    net = copy.deepcopy(model).eval()
    with torch.no_grad():
        device = next(net.parameters()).device
        x = torch.as_tensor(np.asarray(images, dtype=np.float32), device=device).reshape(-1, 1, 28, 28)
        targets = [int(k) for k in net(x).argmax(1).cpu()]
    original = _maps(net, images, targets, method, stage)
    yield ORIGINAL, 1.0, original
    for i, (name, module) in enumerate(reversed(weighted_stages(net))):
        randomise(module, seed + i)
        maps = _maps(net, images, targets, method, stage)
        yield name, float(np.mean([spearman(a, b) for a, b in zip(original, maps, strict=True)])), maps


def cascading_randomisation(
    model: nn.Module, images: np.ndarray, method: str, seed: int = 0, progress: Progress | None = None
) -> SanityResult:
    """The whole check as one result; ``progress`` (stages done, stages in all) may return False to cancel."""
    total = len(weighted_stages(model)) + 1
    result = SanityResult(method, [], [], len(images))
    for name, corr, maps in cascading_steps(model, images, method, seed):
        result.stages.append(name)
        result.correlation.append(corr)
        result.maps.append(maps[0])
        if progress is not None and progress(len(result.stages), total) is False:
            raise SanityCancelled("The sanity check was cancelled.")
    return result


def verdict(method: str, correlation: list[float]) -> str:
    """One plain sentence on a method's cascading randomisation."""
    name = ATTRIBUTION_NAMES[method]
    if len(correlation) < 2:
        return f"{name}: the network has no weights to randomise, so there is nothing to check."
    end = correlation[-1]
    if end < LOW:
        return (f"{name} passes: with every stage's weights random its maps keep little of the original "
                f"(correlation {end:.2f}), so they depend on what the network learned.")  # fmt: skip
    if end > HIGH:
        return (f"{name} fails: with every stage's weights random its maps stay alike (correlation {end:.2f}); "
                "they show the picture's shape more than the network's reasoning.")  # fmt: skip
    return (f"{name} passes only partly: with every stage's weights random its maps keep some of the "
            f"original (correlation {end:.2f}); part of what they show is the picture, not the network.")  # fmt: skip
