"""The session's explaining side: a unit for the current input, kernel edits as new weights, the diagram."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnviz.core import CnnvizError, ModelSession, RunEnd


@pytest.fixture(scope="module")
def image(data_dir) -> np.ndarray:
    from cnnviz.core.data.datasets import load_split

    return load_split("mnist", False, data_dir)[0][0].numpy() / 255.0


@pytest.fixture
def session(image) -> ModelSession:
    s = ModelSession("lenet5", "mnist")
    s.load_pretrained("lenet5", "mnist")
    s.show_input(image)
    return s


def test_explain_unit_is_the_inspector_on_the_current_input(session):
    data = session.explain_unit("C3", 4, 3, 6)
    assert data["value"] == pytest.approx(float(session.result.activations["C3"][4, 3, 6]), abs=1e-5)
    json.dumps(data)  # plain data for the Qt side
    with pytest.raises(CnnvizError, match="no stage"):
        session.explain_unit("conv9", 0)
    session.show_input(None)
    assert session.explain_unit("C3", 4, 3, 6) is None  # nothing drawn: nothing to explain


@pytest.mark.parametrize(("model", "stage"), [("lenet5", "C1"), ("lenet", "conv1"), ("resnet", "stem")])
def test_the_first_convolutions_stage(model, stage):
    assert ModelSession(model).description.first_conv_stage == stage


def test_an_edit_announces_new_weights_and_a_reset_brings_back_exactly_the_trained_ones(session):
    announced = []
    session.events.weights_changed.connect(lambda: announced.append(True))
    trained = session.result
    info = session.kernel_for_editor(3)
    assert (info["out"], info["in"], info["stage"], info["edited"]) == (3, 0, "C1", False)
    assert set(info["presets"]) >= {"vertical edge", "zero"}
    session.edit_first_kernel(3, 0, info["presets"]["vertical edge"])
    assert announced == [True] and session.edited_kernels() == [(3, 0)]
    assert session.kernel_for_editor(3)["edited"] and not session.kernel_for_editor(2)["edited"]
    edited = session.rerun()
    assert not np.array_equal(edited.activations["C1"][3], trained.activations["C1"][3])
    np.testing.assert_array_equal(edited.activations["C1"][2], trained.activations["C1"][2])
    session.reset_first_kernel(3, 0)
    assert announced == [True, True] and session.edited_kernels() == []
    back = session.rerun()
    for name, act in trained.activations.items():
        np.testing.assert_array_equal(back.activations[name], act)
    assert session.kernel_for_editor(99)["out"] == 5  # clamped to the six kernels


def test_new_weights_forget_edits(session):
    session.edit_first_kernel(0, 0, np.zeros((5, 5), np.float32))
    session.load_pretrained("lenet5", "mnist")
    assert session.edited_kernels() == []


def test_edits_are_refused_while_training(session):
    session.begin_training("lenet5", "mnist", from_current=True)
    with pytest.raises(CnnvizError, match="while the network trains"):
        session.edit_first_kernel(0, 0, np.zeros((5, 5), np.float32))
    with pytest.raises(CnnvizError, match="while the network trains"):
        session.reset_first_kernel(0, 0)
    session.end_training(RunEnd("stopped", "Stopped.", steps=0))
    session.edit_first_kernel(0, 0, np.zeros((5, 5), np.float32))  # allowed again


def test_architecture_nodes_are_plain_data():
    nodes = list(ModelSession("googlenet").description.architecture)
    json.dumps(nodes)
    assert nodes[0]["id"] == "image" and any(n["kind"] == "concat" for n in nodes)
