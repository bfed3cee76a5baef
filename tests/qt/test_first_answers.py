"""While torch loads, a drawing is answered by LeNet-5 in numpy; the torch network then answers it the same."""

from __future__ import annotations

import numpy as np


def _open(qtbot, settings, model=None):
    from cnnviz.qt import MainWindow

    w = MainWindow(settings=settings, defer_model=True, initial_model=model)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_a_stroke_drawn_while_torch_loads_is_answered_then_answered_again_by_torch(
    qtbot, settings, held_loader, draw, make_line
):
    w = _open(qtbot, settings)
    answers = []
    w.state.first_answers.answered.connect(lambda result, _names: answers.append(result))
    draw(w.canvas, make_line((0.5, 0.15), (0.5, 0.85)))  # a 1, with real mouse events
    qtbot.waitUntil(lambda: bool(answers) and answers[-1].probabilities is not None)
    assert w.state.session is None  # torch has not answered: LeNet-5 in numpy did
    early = answers[-1]
    assert w.prediction.bars.probabilities is not None
    np.testing.assert_allclose(w.prediction.bars.probabilities, early.probabilities)
    top = int(np.argmax(early.probabilities))
    assert w.prediction.label.text().startswith(f"{top}  (")
    np.testing.assert_array_equal(w.preview.values, early.image)
    assert "as soon as the network has loaded" in w.feature_maps.mosaic._empty_text  # not "Draw on the canvas"
    held_loader()
    qtbot.waitUntil(lambda: w.state.session is not None and w.state.session.result.probabilities is not None)
    qtbot.waitUntil(lambda: not w.state.inference_pending())
    result = w.state.session.result
    np.testing.assert_array_equal(result.image, early.image)  # the same drawing, the same model input
    np.testing.assert_allclose(result.probabilities, early.probabilities, atol=1e-5)
    assert result.activations and "C3" in result.activations  # the maps came with torch
    assert "C3" in w.feature_maps.mosaic.block_names()
    count = w.state.first_answers.count
    draw(w.canvas, make_line((0.3, 0.5), (0.7, 0.5)))
    qtbot.waitUntil(lambda: not w.state.inference_pending())
    assert w.state.first_answers.count == count  # once torch is there, it answers alone
    w.close()


def test_a_dot_drawn_while_torch_loads_asks_for_a_bigger_digit(qtbot, settings, held_loader, draw):
    w = _open(qtbot, settings)
    draw(w.canvas, [(0.5, 0.5), (0.51, 0.5)])
    qtbot.waitUntil(lambda: w.state.first_answers.count >= 1)
    assert w.prediction.bars.probabilities is None
    assert w.prediction.label.text() == "Draw a bigger digit"
    held_loader()
    qtbot.waitUntil(lambda: w.state.session is not None)
    w.close()


def test_another_network_waits_for_torch(qtbot, settings, held_loader, draw, make_line):
    w = _open(qtbot, settings, model="alexnet")
    draw(w.canvas, make_line((0.5, 0.15), (0.5, 0.85)))
    qtbot.wait(100)
    assert w.state.first_answers.count == 0 and w.prediction.bars.probabilities is None
    held_loader()
    qtbot.waitUntil(lambda: w.state.session is not None and w.state.session.result.probabilities is not None)
    qtbot.waitUntil(lambda: w.prediction.bars.probabilities is not None)
    assert w.state.first_answers.count == 0
    w.close()


def test_damaged_lenet5_weights_leave_the_drawing_to_torch_without_an_error(
    qtbot, settings, held_loader, draw, make_line, tmp_path, monkeypatch
):
    (tmp_path / "lenet5-mnist.safetensors").write_bytes(b"damaged")
    monkeypatch.setenv("CNNVIZ_WEIGHTS_DIR", str(tmp_path))
    w = _open(qtbot, settings)
    draw(w.canvas, make_line((0.5, 0.15), (0.5, 0.85)))
    qtbot.wait(100)
    assert w.state.first_answers.count == 0 and w.prediction.bars.probabilities is None
    held_loader()
    qtbot.waitUntil(lambda: w.state.session is not None)  # random weights, and the status bar says why
    qtbot.waitUntil(lambda: w.prediction.bars.probabilities is not None)
    w.close()


def test_the_cnnviz_command_builds_its_window_before_importing_torch(tmp_path):
    # ``import torch`` is 1.1-1.5 s: a launch that imports it before the window keeps a class waiting for it
    # (it did: launch asked models.user_model whether --model names a file, and that module imports torch).
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import cnnviz.qt.app.main_window as main_window\n"
        "def build(window, *args, **kwargs):\n"
        "    print('TORCH' if 'torch' in sys.modules else 'NO TORCH', flush=True)\n"
        "    raise KeyboardInterrupt\n"
        "main_window.MainWindow.__init__ = build\n"
        "from cnnviz.cli import main\n"
        "main([])\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.splitlines()[0] == "NO TORCH", out.stderr


def test_a_remembered_fashion_mnist_is_answered_with_its_class_names(qtbot, settings, held_loader, draw, make_line):
    settings.setValue("dataset", "fashion-mnist")
    w = _open(qtbot, settings)
    draw(w.canvas, make_line((0.5, 0.1), (0.5, 0.9)))  # a long bar: trousers, or near them
    qtbot.waitUntil(lambda: w.prediction.bars.probabilities is not None)
    assert w.state.session is None
    assert w.prediction.bars.class_names[1] == "Trouser"
    top = int(np.argmax(w.prediction.bars.probabilities))
    assert w.prediction.label.text().startswith(w.prediction.bars.class_names[top] + "  (")
    held_loader()
    qtbot.waitUntil(lambda: w.state.session is not None and w.state.session.result.probabilities is not None)
    assert w.state.session.dataset == "fashion-mnist"
    qtbot.waitUntil(lambda: not w.state.inference_pending())
    assert int(np.argmax(w.state.session.result.probabilities)) == top
    w.close()


def test_a_failed_load_stops_the_first_answers_and_the_promise_of_maps(qtbot, settings, draw, make_line, monkeypatch):
    import threading

    from cnnviz.qt.state.app_state import AppState

    gate = threading.Event()

    def failing_build(self, model, dataset):
        gate.wait(30)
        raise RuntimeError("torch is broken")

    monkeypatch.setattr(AppState, "_build_session", failing_build)
    w = _open(qtbot, settings)
    errors = []
    w.show_error = lambda title, text: errors.append(title)  # recorded, not a modal box
    draw(w.canvas, make_line((0.5, 0.15), (0.5, 0.85)))
    qtbot.waitUntil(lambda: w.state.first_answers.count >= 1)
    assert "as soon as the network has loaded" in w.feature_maps.mosaic._empty_text
    gate.set()
    qtbot.waitUntil(lambda: errors == ["Could not load the network"])
    assert "Draw on the canvas" in w.feature_maps.mosaic._empty_text  # no maps are coming
    count = w.state.first_answers.count
    draw(w.canvas, make_line((0.3, 0.5), (0.7, 0.5)))
    qtbot.wait(100)
    assert w.state.first_answers.count == count  # no half-app answering without its network
    w.close()


def test_the_load_waits_for_the_window_while_lenet5_answers_in_numpy_and_not_for_another_network(qtbot, settings):
    from cnnviz.qt.state.app_state import LOAD_AFTER_MS

    started = []
    w = _open(qtbot, settings)  # LeNet-5: numpy answers meanwhile, so the window and a first drawing go first
    w.state.first_answers.answered.connect(lambda *_a: started.append(w.state.loader is not None))
    w.canvas.begin_stroke(w.canvas.widget_point(0.5, 0.15))
    w.canvas.extend_stroke(w.canvas.widget_point(0.5, 0.85))
    w.canvas.end_stroke()
    qtbot.waitUntil(lambda: bool(started), timeout=5000)
    assert started[0] is False  # answered before the load (superqt's and torch's imports) began
    qtbot.waitUntil(lambda: w.state.session is not None, timeout=60000)  # and then it loads on its own
    w.close()
    other = _open(qtbot, settings, model="alexnet")  # nothing answers meanwhile: no reason to wait
    qtbot.waitUntil(lambda: other.state.loader is not None or other.state.session is not None, timeout=LOAD_AFTER_MS)
    other.close()
