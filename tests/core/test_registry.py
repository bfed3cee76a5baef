import numpy as np
import pytest
import torch

from cnnviz.core.errors import CnnvizError
from cnnviz.core.inspect import activations, first_conv_kernels
from cnnviz.core.layers import layer_table
from cnnviz.core.registry import build_model, count_parameters, get_spec, list_models

NAMES = [s.name for s in list_models()]


def test_the_zoo():
    assert NAMES == ["lenet5", "lenet", "alexnet", "vgg", "googlenet", "resnet"]


@pytest.mark.parametrize("name", NAMES)
def test_spec_parameter_count_matches_the_model(name):
    model = build_model(name)
    assert get_spec(name).num_params == count_parameters(model)
    assert sum(r.params for r in layer_table(model)) == count_parameters(model)


@pytest.mark.parametrize("name", NAMES)
def test_every_model_maps_28x28_to_ten_scores(name):
    model = build_model(name).eval()
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 10)


@pytest.mark.parametrize("name", NAMES)
def test_activations_follow_the_layer_table(name):
    model = build_model(name).eval()
    probs, acts = activations(model, np.random.default_rng(0).random((28, 28), dtype=np.float32))
    table = layer_table(model)
    assert list(acts) == [r.name for r in table]
    assert [a.shape for a in acts.values()] == [r.output_shape for r in table]
    assert probs.shape == (10,) and probs.sum() == pytest.approx(1.0, abs=1e-5)
    _, kernels = first_conv_kernels(model)
    assert kernels.ndim == 4 and kernels.shape[1] == 1


def test_defining_ideas_are_present():
    from torch import nn

    from cnnviz.core.zoo import BasicBlock, Inception

    alex = build_model("alexnet")
    first = next(m for m in alex.modules() if isinstance(m, nn.Conv2d))
    assert first.kernel_size[0] >= 5 and first.stride[0] >= 2
    assert any(isinstance(m, nn.Dropout) for m in alex.modules())
    vgg = build_model("vgg")
    assert all(m.kernel_size == (3, 3) for m in vgg.modules() if isinstance(m, nn.Conv2d))
    inception = next(m for m in build_model("googlenet").modules() if isinstance(m, Inception))
    assert inception(torch.rand(1, 32, 14, 14)).shape[1] == inception.out_channels
    blocks = [m for m in build_model("resnet").modules() if isinstance(m, BasicBlock)]
    assert any(isinstance(b.shortcut, nn.Identity) for b in blocks)
    assert any(isinstance(b.shortcut, nn.Sequential) for b in blocks)


def test_unknown_model_is_a_clear_error():
    with pytest.raises(CnnvizError, match="Unknown model 'alexnett'"):
        get_spec("alexnett")
