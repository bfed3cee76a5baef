"""The picture a channel likes most: gradient ascent on a 28x28 input in [0, 1].

Small greyscale pictures come out as noise with plain gradient ascent (lucid #175);
regularisers make them more readable: the picture is shifted by up to two pixels
at random each step (it must work wherever the network looks), lightly blurred every
few steps, its total variation (neighbouring pixels alike) and its ink (L1: dark
paper, as in MNIST) are penalised, and the map's mean is pushed too (a gradient where
the maximum has saturated, LeNet-5's squashing). Four noisy starts run at once (a ReLU
unit silent on one start has no gradient, ever). The last 40 % of the steps drop the
regularisers, so the final picture reaches as high an activation as it can. The strength is the one ranked by ``topk``: the channel's largest
activation over positions (for a vector stage, the unit itself; the class outputs
are the last stage's units).

``maximise`` is a generator: it yields the picture every few steps, so a worker can
show it refining live; its last ``Picture`` is the best one found.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.core.errors import CnnvizError
from cnnviz.core.inspect.layers import model_device
from cnnviz.core.learned.stage_pass import stage_outputs

STEPS = 256
JITTER = 2  # pixels
STARTS = 4
_BLUR = torch.tensor([0.25, 0.5, 0.25])


@dataclass(frozen=True)
class Picture:
    """One refinement: the 28x28 picture in [0, 1], the channel's strength on it, and how far along."""

    image: np.ndarray
    value: float
    step: int
    steps: int

    @property
    def done(self) -> bool:
        return self.step >= self.steps

    def as_dict(self) -> dict:
        return {"image": np.round(self.image.astype(float), 5).tolist(), "value": self.value}


def channel_strength(outputs: torch.Tensor, channel: int) -> torch.Tensor:
    """Per image: the channel's largest activation over positions (a vector stage: the unit's value)."""
    if not 0 <= channel < outputs.shape[1]:
        raise CnnvizError(f"The channel must be 0 to {outputs.shape[1] - 1}, not {channel}.")
    return outputs[:, channel].reshape(len(outputs), -1).amax(1)


def strength_of(model: nn.Module, stage: str, channel: int, images: np.ndarray) -> np.ndarray:
    """The channel's strength on each of N 28x28 images (the same quantity ``topk`` ranks)."""
    x = torch.as_tensor(np.asarray(images, dtype=np.float32)).reshape(-1, 1, 28, 28)
    was_training = model.training
    model.eval()
    try:
        return channel_strength(stage_outputs(model, stage, x), channel).numpy()
    finally:
        model.train(was_training)


def _blur(x: torch.Tensor) -> torch.Tensor:
    k = (_BLUR[:, None] * _BLUR[None, :]).to(x)[None, None]
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k)


def _total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


def maximise(
    model: nn.Module, stage: str, channel: int, steps: int = STEPS, *, every: int = 16, seed: int = 0,
    lr: float = 0.05, tv: float = 0.5, start: float = 0.2, spread: float = 0.5, l1: float = 0.3,
    blur_every: int = 4, free: float = 0.4,
) -> Iterator[Picture]:  # fmt: skip
    """Yield ever better pictures for (stage, channel) every ``every`` steps; the last is the best.

    The model is copied (the caller's keeps answering drawings); errors of a user's network
    become ``CnnvizError`` (one sentence).
    """
    if steps < 1:
        raise CnnvizError("Activation maximisation needs at least one step.")
    net = copy.deepcopy(model).eval()
    net.requires_grad_(False)
    device = model_device(net)
    rng = torch.Generator().manual_seed(seed)
    # A few noisy starts at once: a ReLU unit silent on one start (no gradient, ever) fires on another.
    x = (start + 0.15 * torch.randn(STARTS, 1, 28, 28, generator=rng)).clamp(0, 1).to(device).requires_grad_(True)
    optimiser = torch.optim.Adam([x], lr=lr)
    regularised = int(steps * (1 - free))
    scale: float | None = None  # the activation's size at the start, so the penalty weighs alike for any unit
    best: Picture | None = None
    for step in range(1, steps + 1):
        if step <= regularised:
            dy, dx = (int(v) for v in torch.randint(-JITTER, JITTER + 1, (2,), generator=rng))
            seen = torch.roll(x, (dy, dx), (2, 3))
        else:
            seen = x
        out = stage_outputs(net, stage, seen, grad=True)
        act = channel_strength(out, channel).sum()
        if (
            spread and out.dim() == 4 and step <= regularised
        ):  # the map's mean too: a gradient where the maximum has saturated
            act = act + spread * out[:, channel].mean((1, 2)).sum()
        if scale is None:
            scale = max(abs(float(act.detach())) / STARTS, 1.0)
        penalty = tv * _total_variation(x) + l1 * x.mean()
        loss = -act + (scale * STARTS * penalty if step <= regularised else 0.0)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        with torch.no_grad():
            if step <= regularised and step % blur_every == 0:
                x.copy_(_blur(x))
            x.clamp_(0, 1)
        if step % every == 0 or step == steps:
            images = x.detach().cpu().numpy()[:, 0]
            values = strength_of(net, stage, channel, images)
            image, value = images[int(np.argmax(values))].copy(), float(np.max(values))
            if best is None or value >= best.value or step <= regularised:
                best = Picture(image, value, step, steps)  # while regularised: the newest, as it refines
            yield Picture(best.image, best.value, step, steps)
