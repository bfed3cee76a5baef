"""Activations and the layer table of networks that are not an nn.Sequential of stages."""

from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.core.errors import CnnvizError
from cnnviz.core.inspect.activations import activations
from cnnviz.core.inspect.layers import layer_table, stages
from cnnviz.core.models.registry import count_parameters

IMAGE = np.random.default_rng(0).random((28, 28), dtype=np.float32)


class SkipNet(nn.Module):
    """Functional ReLU and pooling in forward, a loop over two blocks, a residual add."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)
        self.blocks = nn.ModuleList([nn.Conv2d(8, 8, 3, padding=1) for _ in range(2)])
        self.head = nn.Linear(8 * 14 * 14, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.stem(x)), 2)  # 8x14x14
        for block in self.blocks:
            x = F.relu(x + block(x))  # residual add
        return self.head(x.flatten(1))  # 10


class Pair(nn.Module):
    def forward(self, x):
        return x.mean(1, keepdim=True), x  # a tuple: the first tensor is the stage's output


class DeclaredNet(nn.Module):
    """Declares its stages (one dotted), calls one of them twice, returns a tuple from another."""

    cnnviz_stages = ("features.conv", "shared", "pair", "fc")

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(OrderedDict(conv=nn.Conv2d(1, 4, 3, padding=1)))
        self.shared = nn.Conv2d(4, 4, 3, padding=1)
        self.pair = Pair()
        self.fc = nn.Linear(28 * 28, 10)

    def forward(self, x):
        x = self.features(x)
        x = self.shared(x)
        x = self.shared(x).relu_()  # second call; the in-place ReLU must not reach the capture
        mean, _ = self.pair(x)
        return self.fc(mean.flatten(1))


def _expected_skipnet(model, image):
    x = torch.from_numpy(image).reshape(1, 1, 28, 28)
    stem = model.stem(x)
    x = F.max_pool2d(F.relu(stem), 2)
    b0 = model.blocks[0](x)
    x = F.relu(x + b0)
    b1 = model.blocks[1](x)
    x = F.relu(x + b1)
    out = model.head(x.flatten(1))
    return torch.softmax(out, 1)[0], {"stem": stem, "blocks.0": b0, "blocks.1": b1, "head": out}


@torch.no_grad()
def test_activations_of_a_network_with_skips_and_functional_ops():
    torch.manual_seed(0)
    model = SkipNet().eval()
    probs, acts = activations(model, IMAGE)
    expected_probs, expected = _expected_skipnet(model, IMAGE)
    assert list(acts) == ["stem", "blocks.0", "blocks.1", "head"]  # a ModuleList's items are stages
    for name, tensor in expected.items():
        np.testing.assert_allclose(acts[name], tensor[0].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probs, expected_probs.numpy(), rtol=1e-5, atol=1e-7)
    assert probs.shape == (10,) and probs.sum() == pytest.approx(1.0, abs=1e-5)


def test_layer_table_of_a_network_with_skips():
    model = SkipNet()
    table = layer_table(model)
    assert [r.name for r in table] == ["stem", "blocks.0", "blocks.1", "head"]
    assert [r.output_shape for r in table] == [(8, 28, 28), (8, 14, 14), (8, 14, 14), (10,)]
    assert [r.type for r in table] == ["Conv2d", "Conv2d", "Conv2d", "Linear"]
    assert sum(r.params for r in table) == count_parameters(model)
    assert table[0].connections == 8 * 28 * 28 * (9 + 1)
    assert table[1].connections == 8 * 14 * 14 * (8 * 9 + 1)
    assert table[3].connections == 10 * (8 * 14 * 14 + 1)
    assert model.training  # the table's pass leaves the mode as it was


@torch.no_grad()
def test_declared_stages_a_stage_called_twice_and_a_tuple_output():
    torch.manual_seed(0)
    model = DeclaredNet().eval()
    assert [name for name, _ in stages(model)] == list(DeclaredNet.cnnviz_stages)
    _, acts = activations(model, IMAGE)
    assert list(acts) == ["features.conv", "shared", "pair", "fc"]
    x = model.features(torch.from_numpy(IMAGE).reshape(1, 1, 28, 28))
    last = model.shared(model.shared(x))
    np.testing.assert_allclose(acts["shared"], last[0].numpy(), rtol=1e-5, atol=1e-6)  # the last call
    assert acts["shared"].min() < 0  # captured before the in-place ReLU
    assert acts["pair"].shape == (1, 28, 28)  # the first tensor of the tuple
    table = layer_table(model)
    assert [r.output_shape for r in table] == [(4, 28, 28), (4, 28, 28), (1, 28, 28), (10,)]
    # The shared convolution ran twice, so its connections count twice.
    assert table[1].connections == 2 * 4 * 28 * 28 * (4 * 9 + 1)
    assert table[2].params == 0 and table[0].params == 4 * 9 + 4


def test_a_stage_forward_never_calls_is_listed_last_without_a_shape():
    class WithSpare(SkipNet):
        def __init__(self) -> None:
            super().__init__()
            self.spare = nn.Linear(3, 3)  # defined, never called

    model = WithSpare()
    _, acts = activations(model.eval(), IMAGE)
    assert "spare" not in acts
    table = layer_table(model)
    assert [r.name for r in table][-1] == "spare" and table[-1].output_shape == () and table[-1].params == 12
    assert sum(r.params for r in table) == count_parameters(model)


def test_a_declared_stage_that_does_not_exist_is_one_sentence():
    class Wrong(SkipNet):
        cnnviz_stages = ("stem", "nope.conv")

    with pytest.raises(CnnvizError, match=r"^Wrong.cnnviz_stages names 'nope.conv', which is not a submodule"):
        layer_table(Wrong())


@torch.no_grad()
def test_hooks_are_gone_after_capture_even_when_forward_raises():
    model = SkipNet().eval()
    activations(model, IMAGE)
    layer_table(model)
    assert all(not m._forward_hooks for m in model.modules())
    with pytest.raises(RuntimeError):
        layer_table(model, input_size=(3, 28, 28))  # the stem takes one channel
    assert all(not m._forward_hooks for m in model.modules())


@torch.no_grad()
def test_capture_records_only_its_own_thread():
    import threading

    from cnnviz.core.inspect.layers import capture

    model = SkipNet().eval()
    with capture(model, connections=True) as (outputs, counts):
        other = threading.Thread(target=model, args=(torch.rand(4, 1, 28, 28),))
        other.start()
        other.join()
        assert not outputs and not counts  # e.g. a training thread running the same model
        model(torch.zeros(1, 1, 28, 28))
    assert list(outputs) == ["stem", "blocks.0", "blocks.1", "head"] and counts["stem"] == 8 * 28 * 28 * 10
