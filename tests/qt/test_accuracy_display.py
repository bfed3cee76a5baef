"""One truth on screen (issue 17, item 4, display side): the accuracy shown is that of the weights on screen."""

from __future__ import annotations

import numpy as np


def test_an_edited_kernel_says_edited_not_evaluated_and_a_reset_brings_the_figure_back(qtbot, window):
    session = window.session
    assert window.status_accuracy.text().startswith("Test accuracy: 99.")
    assert "99." in window.model_picker.currentText()
    kernel = window.session.kernel_for_editor(0, 0)["kernel"]
    session.edit_first_kernel(0, 0, np.zeros_like(kernel))
    qtbot.waitUntil(lambda: "edited" in window.status_accuracy.text(), timeout=5000)
    assert window.status_accuracy.text() == "Test accuracy: edited, not evaluated"
    assert window.model_picker.currentText().endswith("edited, not evaluated")
    assert "99." not in window.model_picker.currentText()
    session.reset_first_kernel()
    qtbot.waitUntil(lambda: "99." in window.status_accuracy.text(), timeout=5000)
    assert "99." in window.model_picker.currentText()


def test_the_accuracy_text_rule():
    from types import SimpleNamespace

    from cnnviz.qt.app.status_bar import accuracy_text

    def session(acc, edited=()):
        return SimpleNamespace(test_accuracy=acc, model=object(), edited_kernels=lambda: list(edited))

    assert accuracy_text(session(0.99361)) == "99.36%"
    assert accuracy_text(session(0.99361), digits=1) == "99.4%"
    assert accuracy_text(session(None)) == "not evaluated"
    assert accuracy_text(session(float("nan"))) == "not evaluated"
    assert accuracy_text(session(0.99, edited=[(0, 0)])) == "edited, not evaluated"


def test_a_wrong_answer_to_a_test_image_is_marked_in_the_prediction(qtbot, window, data_dir):
    from types import SimpleNamespace

    window.data_dir = data_dir
    window.files.test_image_rng = np.random.default_rng(3)  # an easy one: read right
    assert window.show_random_test_image() or qtbot.waitUntil(lambda: not window.canvas.is_empty(), timeout=30_000)
    qtbot.waitUntil(
        lambda: window.session.result.true_label is not None and not window.state.inference_pending(), timeout=30_000
    )
    assert window.prediction.bars.true_label == window.session.result.true_label
    assert window.prediction.wrong.isHidden()  # right: nothing to mark

    probs = np.full(10, 0.01)
    probs[7] = 0.91
    window.prediction.show_result(SimpleNamespace(probabilities=probs, true_label=2, note=None))
    assert not window.prediction.wrong.isHidden()
    assert window.prediction.wrong.text() == "Wrong: the true label is 2"
    window.prediction.show_result(SimpleNamespace(probabilities=probs, true_label=None, note=None))
    assert window.prediction.wrong.isHidden()  # a drawing has no known label


def test_six_networks_mark_the_cards_that_miss_a_known_label(qtbot, window, data_dir):
    window.data_dir = data_dir
    window.files.test_image_rng = np.random.default_rng(3)
    window.dock_comparison.raise_()
    window.show_random_test_image()
    qtbot.waitUntil(lambda: window.session.result.true_label is not None, timeout=30_000)
    qtbot.waitUntil(lambda: window.comparison.view.true_label == window.session.result.true_label, timeout=30_000)


def test_six_networks_quote_no_delay_from_their_first_cold_answers(window):
    panel = window.comparison
    panel.latencies_ms.clear()
    panel.latencies_ms.extend([343.0, 120.0, 90.0])  # loading the six networks
    panel._set_header()
    assert "ms" not in panel.header.text()
    panel.latencies_ms.extend([21.0, 19.0, 20.0])
    panel._set_header()
    assert "Answers arrive 20 ms after your stroke." in panel.header.text()
