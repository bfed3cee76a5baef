"""Why this class? Attribution maps over the 28x28 input, computed with captum.

captum (pytorch/captum) is maintained alongside PyTorch and gives every method
one API (``Method(model).attribute(inputs, target=...)``), so the app's five
methods are a table here rather than five hand-written gradient tricks.

- ``saliency``: |d score / d pixel| (Simonyan et al. 2013).
- ``gradcam``: Grad-CAM (Selvaraju et al. 2017) on a stage's feature maps (the
  last convolutional stage with more than one cell by default), ReLU'd and
  upsampled bilinearly to 28x28 with ``LayerAttribution.interpolate``. For
  LeNet-5 the maps are of its 32x32 padded frame; stretching them onto 28x28
  shifts them by at most two pixels at the border.
- ``guided``: Guided Backprop (Springenberg et al. 2014), signed. captum
  overrides the backward pass of ``nn.ReLU`` *modules* only: a ReLU applied
  with ``torch.nn.functional.relu`` keeps its plain gradient, and a network
  without ReLU modules (LeNet-5's scaled tanh) gets the plain gradient, which
  ``AttributionResult.note`` then says. A ReLU module used twice (ResNet's
  BasicBlock) is fine: the guided rule needs only each use's own gradient.
  In-place ReLUs are fine too: captum's hook clones their input.
- ``ig``: Integrated Gradients (Sundararajan et al. 2017) from a black image
  (all zeros, no ink), signed; its map sums to score(image) - score(black).
- ``occlusion``: the score's drop when a small square is blacked out (Zeiler &
  Fergus 2014), signed.

Every call runs the model in eval mode and restores its mode, leaves no hook
behind, and never writes a parameter's ``.grad`` (captum differentiates with
``torch.autograd.grad``).
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import GuidedBackprop, IntegratedGradients, LayerAttribution, LayerGradCam, Occlusion, Saliency
from torch import nn

from cnnviz.core.errors import CnnvizError
from cnnviz.core.inspect.description import grad_cam_stages
from cnnviz.core.inspect.layers import stages

METHODS: dict[str, str] = {
    "saliency": "Saliency",
    "gradcam": "Grad-CAM",
    "guided": "Guided Backprop",
    "ig": "Integrated Gradients",
    "occlusion": "Occlusion",
}
LIVE_METHODS = ("saliency", "gradcam", "guided")  # fast enough for every stroke
IG_STEPS = 32
OCCLUSION_WINDOW, OCCLUSION_STRIDE = 4, 2

Progress = Callable[[float], None]


@dataclass
class AttributionResult:
    """A 28x28 attribution map for one class.

    ``map`` is float32 in the input's pixels; ``stage`` is the stage Grad-CAM
    used (None for the other methods); ``note`` says when a method fell back.
    """

    method: str
    target: int
    map: np.ndarray
    stage: str | None = None
    note: str = ""

    def as_dict(self) -> dict:
        return {
            "method": self.method,
            "method_name": METHODS[self.method],
            "target": self.target,
            "stage": self.stage,
            "note": self.note,
            "map": self.map.astype(float).tolist(),
        }


_LAST_CONV: weakref.WeakKeyDictionary[nn.Module, str] = weakref.WeakKeyDictionary()


def _stage_shapes(model: nn.Module, x: torch.Tensor) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [
        # A stage giving a tuple or dict has no one shape: it is skipped (never Grad-CAM's default stage).
        m.register_forward_hook(lambda _m, _a, out, n=n: shapes.__setitem__(n, tuple(getattr(out, "shape", ())[1:])))
        for n, m in stages(model)
    ]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return shapes


def last_conv_stage(model: nn.Module) -> str:
    """The last stage that contains a convolution and outputs maps of more than one cell."""
    if model in _LAST_CONV:
        return _LAST_CONV[model]
    device = next(model.parameters()).device
    shapes = _stage_shapes(model, torch.zeros(1, 1, 28, 28, device=device))
    found = grad_cam_stages(stages(model), shapes)
    if not found:
        raise CnnvizError("Grad-CAM needs a convolutional stage with feature maps, and this model has none.")
    _LAST_CONV[model] = found[-1]
    return found[-1]


def _counting(model: nn.Module, total: int, progress: Progress | None) -> Callable[[torch.Tensor], torch.Tensor]:
    """The model as a forward function that reports the fraction of ``total`` images evaluated."""
    done = 0

    def forward(x: torch.Tensor) -> torch.Tensor:
        nonlocal done
        out = model(x)
        done += x.shape[0]
        if progress is not None:
            progress(min(done / total, 1.0))
        return out

    return forward


def attribute(
    model: nn.Module,
    image: np.ndarray,
    method: str,
    target: int | None = None,
    stage: str | None = None,
    progress: Progress | None = None,
) -> AttributionResult:
    """Attribution map of one method for one 28x28 image in [0, 1].

    Parameters
    ----------
    model
        A zoo network or any model that maps (N, 1, 28, 28) to class scores.
    image
        28x28 array in [0, 1], ink = 1.
    method
        One of ``METHODS``: saliency, gradcam, guided, ig, occlusion.
    target
        The class to explain; the predicted class when None.
    stage
        Grad-CAM's stage (a top-level stage name); the last convolutional stage when None.
    progress
        Called with the fraction done (0..1] during ``ig`` and ``occlusion``; it
        may raise to cancel the computation.

    Raises
    ------
    CnnvizError
        For an unknown method, class or stage.
    """
    if method not in METHODS:
        raise CnnvizError(f"Unknown attribution method '{method}'; choose one of: {', '.join(METHODS)}.")
    device = next(model.parameters()).device
    x = torch.as_tensor(np.asarray(image, dtype=np.float32), device=device).reshape(1, 1, 28, 28)
    was_training = model.training
    model.eval()
    try:
        if target is None:
            with torch.no_grad():
                target = int(model(x)[0].argmax())
        try:  # a given target is checked by the method's own pass: the app's live overlay saves a forward pass
            if target < 0:
                raise IndexError(target)
            return _attribute(model, x, method, int(target), stage, progress)
        except IndexError:
            with torch.no_grad():
                classes = model(x).shape[1]
            if 0 <= target < classes:  # an IndexError of the model's own
                raise
            raise CnnvizError(f"There is no class {target}; the model has classes 0 to {classes - 1}.") from None
    finally:
        model.train(was_training)


def _attribute(
    model: nn.Module, x: torch.Tensor, method: str, target: int, stage: str | None, progress: Progress | None
) -> AttributionResult:
    note = ""
    if method != "occlusion":
        x = x.clone().requires_grad_(True)  # our own copy; captum would warn and set it itself
    if method == "saliency":
        attr = Saliency(model).attribute(x, target=target, abs=True)
    elif method == "gradcam":
        named = dict(stages(model))
        stage = stage or last_conv_stage(model)
        if stage not in named:
            raise CnnvizError(f"The model has no stage '{stage}'; choose one of: {', '.join(named)}.")
        cam = LayerGradCam(model, named[stage]).attribute(x, target=target, relu_attributions=True)
        if isinstance(cam, tuple | list):  # captum gives one map per output of a stage giving a tuple
            raise CnnvizError(
                f"Grad-CAM needs one tensor of feature maps, and stage '{stage}' gives several (a tuple)."
            )
        if cam.dim() != 4:
            raise CnnvizError(f"Grad-CAM needs feature maps, and stage '{stage}' gives a vector.")
        attr = LayerAttribution.interpolate(cam, (28, 28), interpolate_mode="bilinear")
    elif method == "guided":
        if not any(isinstance(m, nn.ReLU) for m in model.modules()):
            note = "The model has no ReLU modules, so Guided Backprop equals the plain gradient."
        with warnings.catch_warnings():  # captum announces its ReLU hooks on every call
            warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU")
            attr = GuidedBackprop(model).attribute(x, target=target)
    elif method == "ig":
        forward = _counting(model, IG_STEPS, progress)
        attr = IntegratedGradients(forward).attribute(
            x, baselines=torch.zeros_like(x), target=target, n_steps=IG_STEPS, internal_batch_size=8
        )
    else:
        n = ((28 - OCCLUSION_WINDOW) // OCCLUSION_STRIDE + 1) ** 2
        forward = _counting(model, n + 1, progress)  # + the unoccluded image
        attr = Occlusion(forward).attribute(
            x,
            sliding_window_shapes=(1, OCCLUSION_WINDOW, OCCLUSION_WINDOW),
            strides=(1, OCCLUSION_STRIDE, OCCLUSION_STRIDE),
            baselines=0.0,
            target=target,
            perturbations_per_eval=16,
        )
    result = attr.detach()[0, 0].float().cpu().numpy()
    return AttributionResult(method, target, result, stage if method == "gradcam" else None, note)


SIGNED_METHODS = ("guided", "ig", "occlusion")  # maps with meaningful negative values


def heat_colors(values: np.ndarray, signed: bool | None = None) -> np.ndarray:
    """An (H, W, 3) uint8 picture of a map: black-red-yellow-white for magnitudes,
    blue-white-red around zero for signed maps (``signed`` None: signed when any value is negative).
    """
    v = np.nan_to_num(np.asarray(values, dtype=np.float64))
    if signed is None:
        signed = bool((v < 0).any())
    peak = float(np.abs(v).max()) or 1.0
    if signed:
        t = np.clip(v / peak, -1.0, 1.0)[..., None]  # -1 blue, 0 white, +1 red
        white, red, blue = np.ones(3), np.array([0.84, 0.1, 0.1]), np.array([0.1, 0.3, 0.84])
        rgb = np.where(t >= 0, white + t * (red - white), white - t * (blue - white))
    else:
        t = np.clip(v / peak, 0.0, 1.0)
        rgb = np.stack([np.clip(3 * t, 0, 1), np.clip(3 * t - 1, 0, 1), np.clip(3 * t - 2, 0, 1)], axis=-1)
    return (rgb * 255 + 0.5).astype(np.uint8)
