"""The network's description: computed once per network from one forward pass, shared by every view."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cnnviz.core import ModelSession, build_model, copy_weights
from cnnviz.core.inspect.activations import activations
from cnnviz.core.inspect.attribution import last_conv_stage
from cnnviz.core.inspect.description import describe
from cnnviz.core.inspect.layers import layer_table


def _count_forward_passes(model: nn.Module) -> list:
    calls: list = []
    model.register_forward_hook(lambda *_: calls.append(1))  # the whole network: once per pass
    return calls


@pytest.mark.parametrize("name", ["lenet5", "googlenet", "resnet"])
def test_one_forward_pass_describes_the_network_as_the_separate_answers_did(name):
    model = build_model(name).eval()
    passes = _count_forward_passes(model)
    described = describe(model)
    assert len(passes) == 1
    _, acts = activations(model, np.zeros((28, 28), np.float32))
    assert described.stage_names == tuple(acts)
    assert described.layers == tuple(layer_table(model))
    assert described.grad_cam_stage == last_conv_stage(model)
    assert described.grad_cam_stage in described.attribution_stages
    assert all(acts[s].ndim == 3 and acts[s][0].size > 1 for s in described.attribution_stages)
    assert described.architecture[0]["id"] == "image" and described.architecture_error is None
    assert described.output_is_distance == (name == "lenet5")


def test_the_session_describes_each_network_once():
    session = ModelSession("lenet5", "mnist")
    passes = _count_forward_passes(session.model)
    first = session.description
    for _ in range(3):  # every panel reads it on a network change
        assert session.description is first
    session.edit_first_kernel(0, 0, np.zeros((5, 5), np.float32))  # weights moving in place
    trainee, _note = session.begin_training("lenet5", "mnist", from_current=True)  # the same network trains
    assert session.show_live_weights(copy_weights(trainee), 1)
    assert session.description is first
    assert len(passes) == 1
    assert first.first_conv_stage == "C1" and first.output_is_distance

    session.load_untrained("lenet", "mnist")  # another network: described anew, once
    passes = _count_forward_passes(session.model)
    second = session.description
    assert session.description is second and second is not first and len(passes) == 1
    assert second.first_conv_stage == "conv1" and not second.output_is_distance


def test_a_network_the_diagram_cannot_trace_still_gets_its_layer_table(monkeypatch):
    import cnnviz.core.inspect.description as description

    def fails(*_args):
        raise KeyError("branch1")

    monkeypatch.setattr(description, "architecture", fails)
    described = describe(build_model("lenet"))
    assert described.architecture == () and "cannot draw this network" in described.architecture_error
    assert "conv1" in [row.name for row in described.layers]


def test_a_network_without_convolution_has_no_first_convolution_nor_grad_cam_stage():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10)).eval()
    described = describe(model)
    assert described.first_conv_stage is None and described.grad_cam_stage is None
    assert described.attribution_stages == () and len(described.layers) == 2
    with torch.no_grad():
        assert model(torch.zeros(1, 1, 28, 28)).shape == (1, 10)
