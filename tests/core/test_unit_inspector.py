"""The unit inspector's numbers against the activations the app captures, for all six networks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from torch import nn

from cnnviz.core.data.datasets import load_split
from cnnviz.core.errors import CnnvizError
from cnnviz.core.inspect.activations import activations
from cnnviz.core.inspect.kernel_edit import (
    PRESETS,
    edited_kernels,
    first_kernel,
    kernel_preset,
    reset_first_kernel,
    set_first_kernel,
)
from cnnviz.core.inspect.receptive_field import Box
from cnnviz.core.inspect.unit_inspector import inspect_unit
from cnnviz.core.models.lenet import BACKGROUND, C3_INPUTS
from cnnviz.core.models.registry import build_model
from cnnviz.core.resources import pretrained_path
from cnnviz.core.weights.checkpoint import load_checkpoint

ZOO = ("lenet5", "lenet", "alexnet", "vgg", "googlenet", "resnet")


def close(a: float, b: float) -> bool:
    """Agreement to 1e-5 (relative above 1: the captured values are float32)."""
    return abs(a - b) <= 1e-5 * max(1.0, abs(b))


@pytest.fixture(scope="module")
def image(data_dir) -> np.ndarray:
    return load_split("mnist", False, data_dir)[0][0].numpy() / 255.0  # a 7


@pytest.fixture(scope="module")
def zoo() -> dict[str, nn.Module]:
    return {name: load_checkpoint(pretrained_path(name, "mnist"), name)[0] for name in ZOO}


def _units(act: np.ndarray, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """Two random units and the stage's strongest one (so an active ReLU is always among them)."""
    if act.ndim == 1:
        return [(int(rng.integers(act.size)), 0, 0) for _ in range(2)] + [(int(act.argmax()), 0, 0)]
    units = [tuple(int(rng.integers(n)) for n in act.shape) for _ in range(2)]
    return units + [tuple(int(i) for i in np.unravel_index(act.argmax(), act.shape))]


def _check_step(step: dict) -> None:
    """A step's own arithmetic adds up (nested steps of Inception and residual blocks included)."""
    d, v = step["details"], step["value"]
    kind = step["kind"]
    if kind == "convolution":
        for inp in d["inputs"]:
            products = np.array(inp["patch"]) * np.array(inp["kernel"])
            assert np.allclose(products, inp["products"], atol=1e-12)
            assert close(inp["sum"], products.sum())
        assert close(sum(i["sum"] for i in d["inputs"]) + d["bias"], v)
    elif kind == "batchnorm":
        assert close(d["input"] * d["scale"] + d["shift"], v)
        assert close(d["scale"], d["gamma"] / np.sqrt(d["var"] + d["eps"]))
    elif kind == "subsampling":
        assert close(np.sum(d["window"]) * d["coefficient"] + d["bias"], v)
    elif kind == "max_pool":
        cells = [c for row in d["window"] for c in row if c is not None]
        assert v == max(cells)
    elif kind == "avg_pool":
        assert close(d["sum"] / d["divisor"], v)
    elif kind == "linear":
        assert close(sum(t["contribution"] for t in d["top"]) + d["rest"] + d["bias"], v)
        magnitudes = [abs(t["contribution"]) for t in d["top"]]
        assert magnitudes == sorted(magnitudes, reverse=True)
    elif kind == "rbf":
        assert close(-(sum(t["squared_difference"] for t in d["top"]) + d["rest"]), v)
    elif kind == "residual":
        assert close(d["main"] + d["skip"], v)
        assert close(d["main_steps"][-1]["value"], d["main"])
        for s in d["main_steps"] + d["skip_steps"]:
            _check_step(s)
    elif kind == "inception":
        assert close(d["steps"][-1]["value"], v)
        for s in d["steps"]:
            _check_step(s)


@pytest.mark.parametrize("model_name", ZOO)
def test_every_stage_agrees_with_the_captured_activations(zoo, image, model_name):
    model = zoo[model_name]
    _, acts = activations(model, image)
    rng = np.random.default_rng(11)
    kinds = set()
    for stage, act in acts.items():
        for c, y, x in _units(act, rng):
            captured = float(act[c, y, x] if act.ndim == 3 else act[c])
            e = inspect_unit(model, image, stage, c, y, x)
            assert close(e.value, captured)
            # The value the steps compute, each from the one before, is the captured activation.
            assert close(e.steps[-1].value, captured), (stage, c, y, x, [s.kind for s in e.steps])
            for step in e.as_dict()["steps"]:
                _check_step(step)
            if e.activation is not None:
                act_step = [s for s in e.steps if s.kind == "activation"][-1]
                assert act_step.details["input"] == e.pre_activation
                if e.activation == "ReLU":
                    assert close(max(e.pre_activation, 0.0), act_step.value)
                elif e.activation == "LeNet-5 squash":
                    assert close(1.7159 * np.tanh(2 * e.pre_activation / 3), act_step.value)
            kinds |= {s.kind for s in e.steps}
            json.dumps(e.as_dict())  # plain data all the way down
    expected = {
        "lenet5": {"normalize", "pad", "convolution", "subsampling", "activation", "linear", "rbf"},
        "lenet": {"convolution", "max_pool", "linear", "activation"},
        "alexnet": {"convolution", "lrn", "max_pool", "linear"},
        "vgg": {"convolution", "batchnorm", "max_pool", "linear", "dropout"},
        "googlenet": {"inception", "max_pool", "avg_pool", "linear"},
        "resnet": {"residual", "batchnorm", "avg_pool", "linear"},
    }[model_name]
    assert expected <= kinds


@pytest.mark.parametrize("model_name, stage", [("lenet", "conv1"), ("lenet5", "C1")])
def test_first_convolution_sees_the_5x5_box_around_the_unit(zoo, image, model_name, stage):
    for y, x in [(0, 0), (10, 13), (27, 27), (1, 26)]:
        e = inspect_unit(zoo[model_name], image, stage, 0, y, x)
        assert e.receptive_field == Box(max(y - 2, 0), max(x - 2, 0), min(y + 3, 28), min(x + 3, 28))


def test_receptive_fields_grow_through_the_stages(zoo, image):
    model = zoo["lenet5"]
    # C3 (y, x): 5x5 over S2, each S2 cell 2x2 over C1, each C1 cell 5x5 over the 32x32 frame.
    assert inspect_unit(model, image, "C3", 0, 7, 7).receptive_field == Box(12, 12, 26, 26)
    assert inspect_unit(model, image, "S4", 0, 2, 2).receptive_field == Box(6, 6, 22, 22)
    assert inspect_unit(model, image, "F6", 0).receptive_field == Box(0, 0, 28, 28)
    lenet = zoo["lenet"]
    assert inspect_unit(lenet, image, "pool1", 0, 5, 5).receptive_field == Box(8, 8, 14, 14)
    g = zoo["googlenet"]
    # branch1 (1x1) sees one pool1 cell, branch3 (two 3x3) a 5x5 block of them.
    one = inspect_unit(g, image, "inception3a", 0, 5, 5).receptive_field
    five = inspect_unit(g, image, "inception3a", 16 + 32, 5, 5).receptive_field
    assert (one.height, five.height) == (4, 12)


def test_lenet5_padding_and_the_c3_table(zoo, image):
    model = zoo["lenet5"]
    pad = inspect_unit(model, image, "input", 0, 0, 30)
    assert pad.receptive_field is None and pad.steps[-1].kind == "pad"
    assert close(pad.value, BACKGROUND)
    for c in (0, 6, 12, 15):
        conv = inspect_unit(model, image, "C3", c, 4, 4).step("convolution")
        assert [i["channel"] for i in conv.details["inputs"]] == list(C3_INPUTS[c])


def test_pool_winner_and_linear_sources(zoo, image):
    model = zoo["lenet"]
    _, acts = activations(model, image)
    c, y, x = np.unravel_index(acts["pool1"].argmax(), acts["pool1"].shape)
    pool = inspect_unit(model, image, "pool1", int(c), int(y), int(x)).step("max_pool")
    wy, wx = pool.details["winner"]
    assert acts["conv1"][c, wy, wx] == acts["pool1"][c, y, x]
    fc1 = inspect_unit(model, image, "fc1", 5, top=4).step("linear")
    assert len(fc1.details["top"]) == 4 and fc1.details["n_inputs"] == 400
    for t in fc1.details["top"]:
        assert close(acts["pool2"][tuple(t["source"])], t["input"])


def test_inception_branches_and_residual_skips(zoo, image):
    g = zoo["googlenet"]
    branches = [inspect_unit(g, image, "inception3a", c, 3, 3).step("inception").details for c in (0, 15, 16, 63)]
    assert [b["branch"] for b in branches] == ["branch1", "branch1", "branch2", "branch4"]
    assert branches[0]["channels"] == [0, 16] and branches[3]["channels"] == [56, 64]
    r = zoo["resnet"]
    assert inspect_unit(r, image, "layer1", 0, 3, 3).step("residual").details["skip_kind"] == "identity"
    projection = inspect_unit(r, image, "layer3", 0, 1, 1).step("residual").details
    assert projection["skip_kind"] == "projection"
    assert [s["kind"] for s in projection["skip_steps"]] == ["convolution", "batchnorm"]
    assert projection["skip_steps"][0]["details"]["stride"] == [2, 2]


def test_any_sequential_of_stages_and_unknown_stages(image):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Sigmoid(), nn.Flatten(), nn.Linear(2 * 26 * 26, 3), nn.Tanh()).eval()
    _, acts = activations(model, image)
    e = inspect_unit(model, image, "1", 1, 4, 5)
    assert e.activation == "sigmoid" and close(e.value, float(acts["1"][1, 4, 5]))
    assert e.receptive_field == Box(4, 5, 7, 8)
    assert close(inspect_unit(model, image, "4", 2).value, float(acts["4"][2]))
    with pytest.raises(CnnvizError, match="no stage 'conv9'"):
        inspect_unit(model, image, "conv9", 0)
    with pytest.raises(CnnvizError, match="channel 7 is outside"):
        inspect_unit(model, image, "0", 7, 0, 0)


def test_inspecting_leaves_the_model_alone(zoo, image):
    model = zoo["resnet"]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    inspect_unit(model, image, "layer2", 1, 2, 2)
    assert not model.training
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert all((before[k] == v).all() for k, v in model.state_dict().items())


@pytest.mark.parametrize("model_name", ZOO)
def test_kernel_presets_fit_and_edits_reset(image, model_name):
    model = build_model(model_name, seed=0).eval()
    trained = first_kernel(model, 1)
    stage = next(name for name, m in model.named_children() if any(isinstance(c, nn.Conv2d) for c in m.modules()))
    before = activations(model, image)[1][stage].copy()
    for name in PRESETS:
        preset = kernel_preset(name, trained.shape)
        assert preset.shape == trained.shape
        set_first_kernel(model, 1, 0, preset)
        assert np.array_equal(first_kernel(model, 1), preset)
    assert edited_kernels(model) == [(1, 0)]
    after = activations(model, image)[1][stage]
    assert not np.allclose(after[1], before[1]) and np.array_equal(after[-1], before[-1])  # last: beyond LRN's reach
    reset_first_kernel(model, 1)
    assert np.array_equal(first_kernel(model, 1), trained) and edited_kernels(model) == []
    assert np.array_equal(activations(model, image)[1][stage], before)


def test_kernel_presets_do_what_they_say():
    v = kernel_preset("vertical edge", (3, 3))
    assert np.allclose(v, [[-0.25, 0, 0.25], [-0.5, 0, 0.5], [-0.25, 0, 0.25]])
    assert np.allclose(kernel_preset("horizontal edge", (5, 5)), kernel_preset("vertical edge", (5, 5)).T)
    assert kernel_preset("blur", (5, 5)).sum() == pytest.approx(1.0)
    assert kernel_preset("identity", (5, 5))[2, 2] == 1 and kernel_preset("identity", (5, 5)).sum() == 1
    model = build_model("lenet", seed=0)
    with pytest.raises(CnnvizError, match="is 5x5, not 3x3"):
        set_first_kernel(model, 0, 0, np.zeros((3, 3)))
    with pytest.raises(CnnvizError, match="no kernel 6"):
        set_first_kernel(model, 6, 0, np.zeros((5, 5)))
    with pytest.raises(CnnvizError, match="Unknown kernel preset"):
        kernel_preset("sharpen", (5, 5))
