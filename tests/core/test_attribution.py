"""Attribution maps (captum) against plain autograd and a hand computation."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.core.data.datasets import load_split
from cnnviz.core.errors import CnnvizError
from cnnviz.core.inspect.attribution import METHODS, attribute, last_conv_stage
from cnnviz.core.resources import pretrained_path
from cnnviz.core.weights.checkpoint import load_checkpoint

ZOO = ("lenet5", "lenet", "alexnet", "vgg", "googlenet", "resnet")


@pytest.fixture(scope="module")
def image(data_dir) -> np.ndarray:
    return load_split("mnist", False, data_dir)[0][1].numpy() / 255.0  # a 2


@pytest.fixture(scope="module")
def zoo() -> dict[str, nn.Module]:
    return {name: load_checkpoint(pretrained_path(name, "mnist"), name)[0] for name in ZOO}


def _input_gradient(model: nn.Module, image: np.ndarray, target: int) -> np.ndarray:
    x = torch.tensor(image, dtype=torch.float32).reshape(1, 1, 28, 28).requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x)[0, target], x)
    return grad[0, 0].numpy()


def _untouched(model: nn.Module, requires_grad: list[bool]) -> None:
    assert not model.training
    assert all(
        not (m._forward_hooks or m._forward_pre_hooks or m._backward_hooks or m._backward_pre_hooks)
        for m in model.modules()
    )
    assert [p.requires_grad for p in model.parameters()] == requires_grad
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("model_name", ZOO)
def test_every_method_gives_a_finite_28x28_map_and_leaves_the_model_alone(zoo, image, model_name):
    model = zoo[model_name]
    requires_grad = [p.requires_grad for p in model.parameters()]
    predicted = int(model(torch.tensor(image, dtype=torch.float32).reshape(1, 1, 28, 28)).argmax())
    for method in METHODS:
        result = attribute(model, image, method)
        assert result.map.shape == (28, 28) and result.map.dtype == np.float32
        assert np.isfinite(result.map).all() and np.abs(result.map).max() > 0, method
        assert result.target == predicted and result.method == method
        _untouched(model, requires_grad)
    assert attribute(model, image, "saliency", target=3).target == 3


@pytest.mark.parametrize("model_name", ["lenet5", "resnet"])
def test_saliency_is_the_absolute_input_gradient(zoo, image, model_name):
    model = zoo[model_name]
    for target in (2, 7):
        expected = np.abs(_input_gradient(model, image, target))
        np.testing.assert_allclose(attribute(model, image, "saliency", target).map, expected, rtol=1e-5, atol=1e-7)


def _tiny(stride: int) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        OrderedDict(
            conv=nn.Sequential(nn.Conv2d(1, 3, 3, stride=stride, padding=1), nn.ReLU()),
            pool=nn.AdaptiveAvgPool2d(1),
            fc=nn.Sequential(nn.Flatten(), nn.Linear(3, 10)),
        )
    ).eval()


@pytest.mark.parametrize("stride", [1, 2])
def test_gradcam_is_the_hand_computation_on_a_tiny_network(image, stride):
    model = _tiny(stride)
    target = 4
    x = torch.tensor(image, dtype=torch.float32).reshape(1, 1, 28, 28)
    with torch.no_grad():
        maps = model.conv(x)[0]  # (3, h, w)
    # d score / d A_k(i, j) = w_k / (h w) everywhere, so the channel weights are w_k / (h w).
    h, w = maps.shape[1:]
    weights = model.fc[1].weight[target].detach() / (h * w)
    cam = torch.relu((weights[:, None, None] * maps).sum(0))
    expected = F.interpolate(cam[None, None], size=(28, 28), mode="bilinear")[0, 0].numpy()
    assert last_conv_stage(model) == "conv"
    result = attribute(model, image, "gradcam", target)
    assert result.stage == "conv"
    np.testing.assert_allclose(result.map, expected, rtol=1e-5, atol=1e-8)


def test_gradcam_default_stage_and_any_stage(zoo, image):
    expected = {"lenet5": "C3", "lenet": "conv2", "alexnet": "conv5", "vgg": "conv3_2"}
    expected |= {"googlenet": "inception4b", "resnet": "layer3"}
    assert {name: last_conv_stage(zoo[name]) for name in ZOO} == expected
    early = attribute(zoo["lenet"], image, "gradcam", stage="conv1")
    assert early.stage == "conv1" and early.map.shape == (28, 28)
    with pytest.raises(CnnvizError, match="gives a vector"):
        attribute(zoo["lenet"], image, "gradcam", stage="fc1")
    with pytest.raises(CnnvizError, match="no stage 'conv9'"):
        attribute(zoo["lenet"], image, "gradcam", stage="conv9")


def test_guided_backprop_passes_only_positive_gradients_through_relus(zoo, image):
    model = zoo["lenet"]
    handles = []

    def guide(module, inputs, output):
        handles.append(output.register_hook(lambda g: g.clamp(min=0)))  # ReLU's backward then masks x <= 0

    hooks = [m.register_forward_hook(guide) for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        expected = _input_gradient(model, image, 2)
    finally:
        for h in hooks + handles:
            h.remove()
    result = attribute(model, image, "guided", 2)
    np.testing.assert_allclose(result.map, expected, rtol=1e-5, atol=1e-7)
    assert result.note == ""
    # LeNet-5 squashes with tanh: no ReLU to guide, so the plain gradient, and it says so.
    lenet5 = attribute(zoo["lenet5"], image, "guided", 2)
    np.testing.assert_allclose(lenet5.map, _input_gradient(zoo["lenet5"], image, 2), rtol=1e-5, atol=1e-7)
    assert "plain gradient" in lenet5.note


def test_integrated_gradients_add_up_and_report_progress(zoo, image):
    model = zoo["lenet"]
    fractions: list[float] = []
    result = attribute(model, image, "ig", 2, progress=fractions.append)
    with torch.no_grad():
        x = torch.tensor(image, dtype=torch.float32).reshape(1, 1, 28, 28)
        gap = float(model(x)[0, 2] - model(torch.zeros_like(x))[0, 2])
    assert result.map.sum() == pytest.approx(gap, rel=0.05)  # completeness, up to the Riemann sum
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) > 1


def test_occlusion_measures_the_drop_and_can_be_cancelled(zoo, image):
    model = zoo["lenet"]
    fractions: list[float] = []
    result = attribute(model, image, "occlusion", 2, progress=fractions.append)
    assert fractions[-1] == 1.0
    assert np.abs(result.map[:3, :3]).max() < 1e-4  # blacking out blank paper changes nothing
    assert result.map.max() > 0  # blacking out ink lowers the score

    def cancel(fraction: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        attribute(model, image, "occlusion", progress=cancel)
    _untouched(model, [True] * len(list(model.parameters())))


def test_user_errors_are_one_sentence(zoo, image):
    with pytest.raises(CnnvizError, match="Unknown attribution method 'lime'"):
        attribute(zoo["lenet"], image, "lime")
    with pytest.raises(CnnvizError, match="no class 10"):
        attribute(zoo["lenet"], image, "saliency", target=10)
