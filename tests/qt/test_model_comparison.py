"""Six networks side by side: off the drawing path, newest input wins, the thread ends with the window."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import line

from cnnviz.core import ModelSession
from cnnviz.core.data.datasets import load_split

SEVEN = line((0.25, 0.22), (0.75, 0.22)) + line((0.75, 0.22), (0.4, 0.85))[1:]


def _panel(window):
    window.dock_comparison.show()
    window.dock_comparison.raise_()
    return window.comparison


def _answered(panel) -> bool:
    return bool(panel.view.answers) and not panel.pending() and panel._pending_answers is None


def test_the_six_answers_equal_each_networks_own_prediction(qtbot, window, draw):
    panel = _panel(window)
    qtbot.waitUntil(panel.isVisible)
    draw(window.canvas, SEVEN)
    window.settle()
    qtbot.waitUntil(lambda: _answered(panel), timeout=30_000)
    image = window.session.result.image
    answers = panel.view.answers
    assert [a["name"] for a in answers] == ["lenet5", "lenet", "alexnet", "vgg", "googlenet", "resnet"]
    session = ModelSession()
    for answer in answers:
        assert session.load_pretrained(answer["name"], "mnist")
        expected = session.predict(image)
        np.testing.assert_allclose(answer["probabilities"], expected, atol=1e-6)
        assert answer["top"] == int(np.argmax(expected))
    # The current network's own answer on screen agrees with its card.
    np.testing.assert_allclose(answers[0]["probabilities"], window.session.result.probabilities, atol=1e-6)
    assert panel.view.current == "lenet5" and not panel.view.stale
    # One cold answer (the six networks loading) is no delay to quote (issue 17): none yet.
    assert panel.header.text() == "Shipped weights for MNIST."
    first = answers[0]
    assert panel.view.accessibleDescription().startswith(f"LeNet-5 (1998): {first['top']} ")
    assert panel.latencies_ms and all(t > 0 for t in panel.latencies_ms)


def test_newest_input_wins(qtbot, window, data_dir):
    panel = _panel(window)
    qtbot.waitUntil(panel.isVisible)
    images = load_split("mnist", False, data_dir)[0][:5].float().div(255).numpy()
    # Hold the worker on its first job so the other inputs arrive while it is busy.
    gate = threading.Event()
    real_submit = panel.runner.submit
    jobs = []

    def gated_submit(tag, fn, cancel_running=False):
        def held(progress):
            gate.wait(30)
            return fn(progress)

        jobs.append(tag)
        real_submit(tag, held, cancel_running)

    panel.runner.submit = gated_submit
    for image in images:
        panel.set_input(image)
    assert panel.pending() and len(jobs) == 5
    gate.set()
    qtbot.waitUntil(lambda: _answered(panel), timeout=30_000)
    session = ModelSession()
    assert session.load_pretrained("resnet", "mnist")
    np.testing.assert_allclose(panel.view.answers[-1]["probabilities"], session.predict(images[-1]), atol=1e-6)
    # At most the first (already running) and the last input were computed: the middle three were dropped.
    assert len(panel.latencies_ms) <= 2


def test_a_hidden_panel_computes_nothing_and_catches_up_when_shown(qtbot, window, draw):
    panel = window.comparison
    window.dock_comparison.hide()
    draw(window.canvas, SEVEN)
    window.settle()
    assert not panel.runner.busy() and not panel.view.answers and panel.pending()
    _panel(window)
    qtbot.waitUntil(lambda: _answered(panel), timeout=30_000)
    assert len(panel.view.answers) == 6


def test_clearing_the_canvas_clears_the_cards(qtbot, window, draw):
    panel = _panel(window)
    qtbot.waitUntil(panel.isVisible)
    draw(window.canvas, SEVEN)
    window.settle()
    qtbot.waitUntil(lambda: _answered(panel), timeout=30_000)
    window.clear_canvas()
    window.settle()
    assert panel.view.answers == [] and not panel.pending()


def test_fashion_mnist_uses_its_own_weights_and_class_names(qtbot, window, draw):
    panel = _panel(window)
    qtbot.waitUntil(panel.isVisible)
    assert window.switch_model("resnet", "fashion-mnist")
    draw(window.canvas, SEVEN)
    window.settle()
    qtbot.waitUntil(lambda: _answered(panel), timeout=30_000)
    session = ModelSession()
    assert session.load_pretrained("lenet", "fashion-mnist")
    np.testing.assert_allclose(
        panel.view.answers[1]["probabilities"], session.predict(window.session.result.image), atol=1e-6
    )
    assert panel.view.current == "resnet" and panel.view.class_names[0] == "T-shirt/top"
    assert "Fashion-MNIST" in panel.header.text()


@pytest.mark.parametrize("busy", [False, True])
def test_the_worker_thread_ends_when_the_window_closes(qtbot, window, draw, busy):
    panel = _panel(window)
    qtbot.waitUntil(panel.isVisible)
    draw(window.canvas, SEVEN)
    if busy:
        window.settle()
        panel.set_input(window.session.result.image)  # a job in flight as the window closes
    window.close()
    assert not panel.runner.busy()
    assert not [t for t in threading.enumerate() if t.name.startswith("cnnviz-compare")]
    panel.set_input(np.zeros((28, 28), np.float32))  # after closing: refused, no new thread
    assert not panel.runner.busy()


def test_the_cards_keep_the_shipped_weights_whatever_the_current_weights(qtbot, window, draw):
    panel = _panel(window)
    qtbot.waitUntil(panel.isVisible)
    window.session.load_untrained("lenet", "mnist")  # random weights on screen, as before training
    draw(window.canvas, SEVEN)
    window.settle()
    qtbot.waitUntil(lambda: _answered(panel), timeout=30_000)
    shipped = ModelSession()
    assert shipped.load_pretrained("lenet", "mnist")
    card = panel.view.answers[1]
    np.testing.assert_allclose(card["probabilities"], shipped.predict(window.session.result.image), atol=1e-6)
    assert not np.allclose(card["probabilities"], window.session.result.probabilities, atol=1e-3)
    assert panel.view.current == "lenet"


def test_the_six_answer_from_a_child_process_that_ends_with_the_window(qtbot, window, draw, monkeypatch):
    """Off the GIL: once the child has loaded the networks it answers the strokes; closing the window ends it."""
    monkeypatch.delenv("CNNVIZ_SIX_IN_PROCESS", raising=False)
    panel = _panel(window)
    qtbot.waitUntil(panel.isVisible)
    draw(window.canvas, SEVEN)
    window.settle()
    qtbot.waitUntil(lambda: _answered(panel), timeout=30_000)
    zoo = panel._zoos["mnist"]
    qtbot.waitUntil(lambda: zoo.in_child, timeout=60_000)
    draw(window.canvas, line((0.3, 0.5), (0.7, 0.5)))  # a new stroke, answered by the child
    window.settle()
    qtbot.waitUntil(lambda: _answered(panel), timeout=30_000)
    session = ModelSession()
    assert session.load_pretrained("resnet", "mnist")
    np.testing.assert_allclose(panel.view.answers[-1]["probabilities"], session.predict(window.session.result.image),
                               atol=1e-6)  # fmt: skip
    proc = zoo._proc
    window.close()
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=10_000)


def test_an_answer_repaints_only_the_numbers_over_a_cached_layer(qtbot):
    """Frames, titles and digits are painted once per size and current network; new probabilities reuse them and
    still show; another current network or size paints the layer anew."""
    from cnnviz.qt.panels.comparison import ComparisonView

    view = ComparisonView()
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    qtbot.waitExposed(view)

    def answers(top: int) -> list[dict]:
        probs = np.full(10, 0.01, np.float32)
        probs[top] = 0.91
        return [{"name": n, "display_name": n.upper(), "trained": True, "top": top, "confidence": 0.91,
                 "probabilities": probs} for n in ("lenet5", "lenet", "alexnet", "vgg", "googlenet", "resnet")]  # fmt: skip

    view.current, view.answers = "lenet", answers(3)
    first = view.grab().toImage()
    layer = view._static[1]
    view.answers = answers(7)
    second = view.grab().toImage()
    assert view._static[1] is layer  # the same frames, titles and digits
    assert first != second  # but the bars and the answer moved
    view.answers = answers(3)
    assert view.grab().toImage() == first  # the same answer paints the same picture
    view.current = "vgg"
    assert view.grab().toImage() != first and view._static[1] is not layer  # the outline moved: painted anew
    view.resize(500, 400)
    assert view.grab().toImage().width() == 500 and view._static[0][0] == 500


def test_a_short_card_puts_the_answer_beside_the_name_to_keep_its_bars_and_never_cuts_the_answer(qtbot):
    """Presentation mode at 1280x720 left the bars a pixel or two tall under the name and the big answer."""
    from PySide6.QtGui import QFontMetrics

    from cnnviz.qt.panels.comparison import MIN_BAR_HEIGHT_LINES, ComparisonView

    view = ComparisonView()
    qtbot.addWidget(view)
    font = view.font()
    font.setPointSizeF(font.pointSizeF() * 1.6)  # a projector's type
    view.setFont(font)
    probs = np.full(10, 0.01, np.float32)
    probs[7] = 0.91
    view.answers = [{"name": n, "display_name": n, "trained": True, "top": 7, "confidence": 0.91,
                     "probabilities": probs} for n in ("LeNet-5 (1998)", "b", "c", "d", "e", "f")]  # fmt: skip
    label_h = QFontMetrics(view.font()).height() * 0.75

    def cards(width: int, height: int) -> list[dict]:
        view.resize(width, height)
        view.grab()
        return view._static[2]

    tall = cards(900, 600)  # room for all: the answer under the name, as always
    assert not any(c["compact"] for c in tall)
    short = cards(720, 200)  # the 1280x720 projector case: three wide, short cards
    assert all(c["compact"] for c in short)
    assert short[0]["area"].height() >= MIN_BAR_HEIGHT_LINES * label_h * 0.8
    assert short[0]["answer"].top() < short[0]["area"].top()  # the answer on the name's line, above the bars
    # Too narrow for "100.0%" beside the name: the answer keeps the card's width, the bars what is left.
    narrow = cards(380, 230)
    assert not any(c["compact"] for c in narrow)
    widest = QFontMetrics(view._big_font(0.9)).horizontalAdvance("7  100.0%")
    assert narrow[0]["answer"].width() >= widest
