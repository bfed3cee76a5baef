import numpy as np
import pytest
import torch

from cnnviz.core.errors import CnnvizError
from cnnviz.core.inspect.activations import activations, first_conv_kernels
from cnnviz.core.inspect.layers import layer_table, stages
from cnnviz.core.models.registry import (
    ModelSpec,
    build_model,
    count_parameters,
    get_spec,
    list_models,
    register_model,
    unregister_model,
)

NAMES = [s.name for s in list_models()]

# Written down by hand, as torchvision writes its weights' num_params: a change
# to an architecture that moves a count must change this table too.
WRITTEN_PARAMS = {
    "lenet5": 60_000,
    "lenet": 61_706,
    "alexnet": 543_882,
    "vgg": 222_298,
    "googlenet": 105_890,
    "resnet": 401_706,
}


def test_the_zoo():
    assert NAMES == ["lenet5", "lenet", "alexnet", "vgg", "googlenet", "resnet"]


@pytest.mark.parametrize("name", NAMES)
def test_spec_parameter_count_matches_the_model(name):
    model = build_model(name)
    assert get_spec(name).num_params == count_parameters(model) == WRITTEN_PARAMS[name]
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

    from cnnviz.core.models.zoo import BasicBlock, Inception

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


def test_parameter_count_leaves_the_global_rng_alone():
    spec = ModelSpec(name="tiny-rng", display_name="Tiny", builder=lambda: torch.nn.Linear(784, 10))
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    assert spec.num_params == 7850
    assert torch.equal(torch.rand(3), expected)


def test_a_model_registered_at_run_time_can_be_replaced_and_removed():
    def build_small():
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))

    def build_larger():
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 32), torch.nn.Linear(32, 10))

    first = register_model(ModelSpec(name="mine.py:Net", display_name="Net (mine.py)", builder=build_small))
    try:
        assert get_spec("mine.py:Net") is first and list_models()[-1] is first
        assert [s.name for s in list_models()][: len(NAMES)] == NAMES  # the zoo keeps its place
        with pytest.raises(ValueError, match="registered twice"):
            register_model(ModelSpec(name="mine.py:Net", display_name="Net", builder=build_larger))
        second = register_model(
            ModelSpec(name="mine.py:Net", display_name="Net (mine.py)", builder=build_larger), replace=True
        )
        assert get_spec("mine.py:Net") is second and second.num_params == 784 * 32 + 32 + 32 * 10 + 10
        assert len(build_model("mine.py:Net")) == 3
    finally:
        assert unregister_model("mine.py:Net") is not None
    assert unregister_model("mine.py:Net") is None
    with pytest.raises(CnnvizError, match="Unknown model 'mine.py:Net'"):
        get_spec("mine.py:Net")


def test_the_kernels_are_named_after_their_stage():
    """The kernels panel says "C1" where every other panel does, not the module path "C1.0"."""
    assert first_conv_kernels(build_model("lenet5"))[0] == "C1"
    assert first_conv_kernels(build_model("lenet"))[0] == "conv1"
    for spec in list_models():
        if spec.source_path is not None:  # a user's network another test opened (it may have no convolution)
            continue
        name, _ = first_conv_kernels(build_model(spec.name))
        assert "." not in name and name in dict(stages(build_model(spec.name))), (spec.name, name)
