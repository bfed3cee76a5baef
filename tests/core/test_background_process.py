"""The explanations in a child process: the answers they give in-process, errors raised as they were, and no
answer lost for a network the child cannot load or a child that dies."""

from __future__ import annotations

import copy
import sys
import time
import types

import numpy as np
import pytest
import torch
from torch import nn

from cnnviz.core.errors import CnnvizError
from cnnviz.core.inspect.activations import predict
from cnnviz.core.inspect.attribution import attribute
from cnnviz.core.inspect.background_process import IN_PROCESS_ENV, ModelProcess, ModelTask
from cnnviz.core.inspect.heat_pictures import attribute_with_pictures, heat_pictures
from cnnviz.core.inspect.unit_inspector import inspect_unit_as_dict
from cnnviz.core.models.registry import build_model
from cnnviz.core.robust.attacks import attack
from cnnviz.core.robust.distort import distort_and_predict


@pytest.fixture
def helper(monkeypatch):
    monkeypatch.delenv(IN_PROCESS_ENV, raising=False)
    process = ModelProcess()
    yield process
    process.close()


def _digit() -> np.ndarray:
    image = np.zeros((28, 28), np.float32)
    image[5:23, 13:15] = 1.0
    return image


def _ready(process: ModelProcess, model) -> None:
    process.run(model, predict, _digit())  # starts the child; answered here meanwhile
    deadline = time.monotonic() + 60
    while not process.in_child and process.failure is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.in_child, f"the child never got ready ({process.failure})"


def test_the_child_gives_the_answers_given_here(helper):
    torch.manual_seed(0)
    model = build_model("lenet5").eval()
    _ready(helper, model)
    image = _digit()
    np.testing.assert_allclose(helper.run(model, predict, image), predict(model, image), atol=1e-6)
    here = attribute(model, image, "gradcam", None, None)
    there = helper.run_task(ModelTask(attribute, model, (image, "gradcam", None, None), takes_progress=True))
    np.testing.assert_allclose(there.map, here.map, atol=1e-5)
    assert (there.method, there.target, there.stage) == (here.method, here.target, here.stage)
    task = ModelTask(attribute_with_pictures, model, (image, "gradcam", None, None, None), takes_progress=True)
    coloured, pictures = helper.run_task(task)  # the heat map coloured there, as the live overlay asks
    np.testing.assert_allclose(coloured.map, here.map, atol=1e-5)
    assert [p.shape for p in pictures] == [(28, 28, 4), (28, 28, 4)] and pictures[0].dtype == np.uint8
    np.testing.assert_array_equal(pictures[1], heat_pictures(coloured.map, None)[1])
    unit = helper.run(model, inspect_unit_as_dict, image, "C3", 2, 3, 4)
    assert unit["value"] == pytest.approx(inspect_unit_as_dict(model, image, "C3", 2, 3, 4)["value"], abs=1e-5)
    fooled = helper.run_task(ModelTask(attack, model, (image, "fgsm", 0.2, None), here={"pause": lambda: None}))
    np.testing.assert_allclose(fooled.adversarial, attack(model, image, "fgsm", 0.2, None).adversarial, atol=1e-6)
    distorted, probs = helper.run(model, distort_and_predict, image, {"rotate": 30.0})
    np.testing.assert_allclose(probs, distort_and_predict(model, image, {"rotate": 30.0})[1], atol=1e-6)
    assert helper.runs_in_child == 6  # every answer above came from the child, none from a fallback


def test_an_error_there_is_raised_here_as_it_was(helper):
    model = build_model("lenet").eval()
    _ready(helper, model)
    with pytest.raises(CnnvizError, match="Unknown attribution method"):
        helper.run(model, attribute, _digit(), "nonsense", None, None)
    assert helper.in_child  # and the child goes on
    assert helper.run(model, predict, _digit()).shape == (10,)


def test_changed_weights_are_a_new_copy_and_the_child_answers_for_them(helper):
    model = build_model("lenet").eval()
    _ready(helper, model)
    before = helper.run(model, predict, _digit())
    changed = copy.deepcopy(model)
    with torch.no_grad():
        changed.fc3.bias += torch.arange(10.0)  # the panels copy the network anew when its weights move
    after = helper.run(changed, predict, _digit())
    np.testing.assert_allclose(after, predict(changed, _digit()), atol=1e-6)
    assert not np.allclose(before, after, atol=1e-3)


def test_a_network_the_child_cannot_import_runs_here(helper):
    module = types.ModuleType("users_own_network")  # as a user's .py file is loaded: not importable by name
    exec("import torch.nn as nn\nclass Tiny(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
         "        self.fc = nn.Linear(784, 10)\n    def forward(self, x):\n        return self.fc(x.flatten(1))\n",
         module.__dict__)  # fmt: skip
    sys.modules["users_own_network"] = module
    try:
        tiny = module.Tiny().eval()
        _ready(helper, build_model("lenet").eval())
        np.testing.assert_allclose(helper.run(tiny, predict, _digit()), predict(tiny, _digit()), atol=1e-6)
        assert helper.runs_in_child == 0 and helper.in_child  # answered here; the child is fine
    finally:
        del sys.modules["users_own_network"]


def test_a_child_that_dies_costs_no_answer(helper):
    model = build_model("lenet").eval()
    _ready(helper, model)
    proc = helper._proc
    proc.kill()
    proc.wait(timeout=30)
    np.testing.assert_allclose(helper.run(model, predict, _digit()), predict(model, _digit()), atol=1e-6)
    assert helper.failure is not None and not helper.in_child


def test_closing_ends_the_child(helper):
    model = build_model("lenet").eval()
    _ready(helper, model)
    proc = helper._proc
    helper.close()
    proc.wait(timeout=30)
    assert helper.run(model, predict, _digit()).shape == (10,)  # still answered, here


def test_no_child_when_told_so(monkeypatch):
    monkeypatch.setenv(IN_PROCESS_ENV, "1")
    process = ModelProcess()
    assert process.run(nn.Identity(), lambda m, x: m(x) * 2, torch.ones(2)).tolist() == [2.0, 2.0]
    assert process._proc is None and process.failure
