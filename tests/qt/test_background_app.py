"""Issue 23: with the explanations' child allowed, Grad-CAM, the inspector, Fool it and Distort answer the strokes
from it (off the GIL a stroke needs), with the answers computed here; closing the window ends it."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import line

from cnnviz.core.inspect.attribution import attribute
from cnnviz.core.inspect.background_process import IN_PROCESS_ENV

SEVEN = line((0.25, 0.22), (0.75, 0.22)) + line((0.75, 0.22), (0.4, 0.85))[1:]


@pytest.fixture
def child_allowed(monkeypatch):
    monkeypatch.delenv(IN_PROCESS_ENV, raising=False)  # before the window: its state reads it once


def test_the_explanations_answer_from_a_child_that_ends_with_the_window(child_allowed, qtbot, window, draw):
    state, panel = window.state, window.attribution
    window.dock_attribution.show()
    window.dock_attribution.raise_()
    panel.method.setCurrentIndex(panel.method.findData("gradcam"))
    panel.enabled.setChecked(True)
    stage = window.session.description.grad_cam_stage
    state.select_unit(stage, 1, 2, 2)
    draw(window.canvas, SEVEN)
    window.settle()
    qtbot.waitUntil(lambda: state._background is not None, timeout=30_000)
    background = state._background
    qtbot.waitUntil(lambda: background.in_child, timeout=60_000)  # the child has loaded torch
    before = background.runs_in_child
    draw(window.canvas, line((0.3, 0.5), (0.7, 0.5)))  # a stroke the child answers
    window.settle()
    qtbot.waitUntil(lambda: background.runs_in_child >= before + 2, timeout=30_000)  # Grad-CAM and the unit
    window.settle()
    image, target = window.session.result.image, window.session.result.predicted
    here = attribute(window.session.model, image, "gradcam", target, stage)
    np.testing.assert_allclose(panel.result.map, here.map, atol=1e-5)
    qtbot.waitUntil(lambda: window.inspector.data is not None and window.inspector.data["stage"] == stage)
    expected = window.session.explain_unit(stage, 1, 2, 2)
    qtbot.waitUntil(lambda: window.inspector.data["value"] == pytest.approx(expected["value"], abs=1e-5))
    assert not window.shown_errors
    proc = background._proc
    window.close()
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=10_000)


def test_fool_it_and_distort_answer_from_the_child(child_allowed, qtbot, window, draw):
    state = window.state
    window.dock_fool.show()
    window.dock_fool.raise_()
    fool = window.fool_it
    draw(window.canvas, SEVEN)
    window.settle()
    qtbot.waitUntil(lambda: state._background is not None and state._background.in_child, timeout=60_000)
    background = state._background
    before = background.runs_in_child
    fool.method.setCurrentIndex(fool.method.findData("pgd"))
    qtbot.waitUntil(lambda: background.runs_in_child > before, timeout=30_000)
    qtbot.waitUntil(lambda: fool.answer is not None and fool.answer["result"].method == "pgd", timeout=30_000)
    result = fool.answer["result"]
    assert int(np.argmax(window.session.predict(result.adversarial))) == result.adversarial_class
    window.dock_distort.show()
    window.dock_distort.raise_()
    distort = window.distort
    before = background.runs_in_child
    distort.sliders["rotate"].setValue(30)
    qtbot.waitUntil(lambda: background.runs_in_child > before, timeout=30_000)
    qtbot.waitUntil(lambda: not distort.runner.busy() and distort.picture.image is not None, timeout=30_000)
    from cnnviz.core.robust.distort import Distortion

    expected = Distortion(rotate=30).apply_image(window.session.result.image)
    k = int(np.argmax(window.session.predict(expected)))
    assert f": {window.session.class_names[k]} (" in distort.answer.text()
