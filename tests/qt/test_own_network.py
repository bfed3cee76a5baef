"""A user's own network (resources/example_net.py: functional ReLU, a loop over two residual blocks,
a skip add) through File > Open network and every panel, driven only by the owner's events."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import line

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "example_net.py"


@pytest.fixture
def own(window, tmp_path):
    path = tmp_path / "example_net.py"
    shutil.copy(EXAMPLE, path)
    assert window.open_network(path, "ExampleNet"), window.shown_errors
    window.settle()
    return window, path


def test_every_panel_shows_the_users_network(qtbot, own, draw):
    window, _ = own
    session = window.session
    assert session.model_name == "example_net.py:ExampleNet" and session.source_kind == "untrained"
    assert window.model_picker.currentData() == session.model_name
    assert window.model_picker.currentText().startswith("ExampleNet (example_net.py)")
    assert "ExampleNet" in window.status_model.text() and window.prediction.untrained.isVisible()
    draw(window.canvas, line((0.5, 0.15), (0.5, 0.85)))
    window.settle()
    probabilities = window.prediction.bars.probabilities
    assert probabilities.shape == (10,) and abs(probabilities.sum() - 1) < 1e-5
    np.testing.assert_allclose(probabilities, session.predict(window.session.result.image), atol=1e-6)
    stages = ["stem", "blocks.0", "blocks.1", "head"]
    assert list(window.session.result.activations) == stages
    chooser = window.feature_maps.chooser
    assert [chooser.itemText(i) for i in range(1, chooser.count())] == stages
    assert window.session.result.activations["blocks.1"].shape == (
        16,
        14,
        14,
    )  # the loop's second block, after the skip add
    name, weights = session.first_kernels()
    assert name == "stem" and window.kernels.mosaic.block(name).channels == weights.shape[0] == 16
    rows = session.description.layers
    assert [r.name for r in rows] == stages
    assert window.layer_table.rowCount() == len(rows) + 1
    assert window.layer_table.totals()[0] == f"{sum(r.params for r in rows):,}"
    assert window.c3.stack.currentIndex() == 0  # "Only LeNet-5 has a C3 table"


def test_the_users_network_trains_saves_and_reopens(qtbot, own, tmp_path):
    window, path = own
    monitor = window.monitor
    assert monitor.config().model == "example_net.py:ExampleNet"  # the Training panel follows the opened network
    with qtbot.waitSignal(monitor.trainingStarted, timeout=10_000):
        window.act_train_start.trigger()
    qtbot.waitUntil(lambda: monitor.steps_done >= 5, timeout=120_000)
    with qtbot.waitSignal(monitor.trainingFinished, timeout=30_000) as finished:
        monitor.stop()
    assert finished.args[0].reason == "stopped" and finished.args[0].adopted
    assert window.session.source_kind == "trained" and window.session.model_name == "example_net.py:ExampleNet"
    saved = tmp_path / "mine.safetensors"
    assert window.save_weights(saved)
    trained = {k: v.clone() for k, v in window.session.model.state_dict().items()}
    assert window.open_network(path, "ExampleNet")  # fresh random weights again
    assert window.open_weights(saved), window.shown_errors
    for key, value in window.session.model.state_dict().items():
        assert (value == trained[key]).all(), key
    # The same file with other content: the weights are refused in one sentence.
    path.write_text(path.read_text() + "\n# edited\n")
    assert window.open_network(path, "ExampleNet")
    assert not window.open_weights(saved)
    ((_title, text),) = window.shown_errors
    assert "other content" in text and "Traceback" not in text


@pytest.mark.parametrize(
    "source, expected",
    [
        ("def broken(:\n", "line 1"),
        ("import no_such_module_here\n", "no_such_module_here"),
        ("from torch import nn\nclass Net(nn.Module):\n    def forward(self, x):\n        return x\n", "shape"),
    ],
    ids=["syntax-error", "import-error", "wrong-output"],
)
def test_a_bad_network_file_is_one_sentence_and_the_network_stays(window, tmp_path, source, expected):
    before = window.session.model
    bad = tmp_path / "bad_net.py"
    bad.write_text(source)
    assert not window.open_network(bad, "Net")
    ((title, text),) = window.shown_errors
    assert expected in text and "Traceback" not in text and len(text.splitlines()) == 1
    assert window.session.model is before and window.session.model_name == "lenet5"


def test_the_picker_lists_an_opened_network_and_switches_back(qtbot, own):
    window, _ = own
    picker = window.model_picker
    assert picker.findData("example_net.py:ExampleNet") >= 0
    picker.setCurrentIndex(picker.findData("lenet5"))
    qtbot.waitUntil(lambda: window.session.model_name == "lenet5")
    assert window.session.source_kind == "pretrained"
