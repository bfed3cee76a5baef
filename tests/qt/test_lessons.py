"""A lecture as a list of scenes: captured with F9, saved, reopened in a new window the same, stepped
through with Page Down in presentation mode, a quiz that hides the answer, bad files one sentence."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import line
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QPushButton

from cnnviz.qt.widgets.visibility import is_on_screen

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "example_net.py"


def _new_window(qtbot, tmp_path, name="second"):
    from cnnviz.qt import MainWindow

    w = MainWindow(settings=QSettings(str(tmp_path / f"{name}.ini"), QSettings.Format.IniFormat))
    w.shown_errors, w.asked, w.answers = [], [], []
    w.show_error = lambda title, text: w.shown_errors.append((title, text))

    def ask(title, text, buttons):
        w.asked.append((title, text, buttons))
        return w.answers.pop(0) if w.answers else buttons[-1]

    w.ask = ask
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.state.inference_count >= 1)
    w.settle = lambda: qtbot.waitUntil(lambda: not w.state.inference_pending())
    return w


def _on_screen(window) -> dict:
    """What a scene must bring back, read from the window as a person sees it."""
    session = window.session
    return {
        "model": session.model_name,
        "dataset": session.dataset,
        "weights": {k: v.clone() for k, v in session.model.state_dict().items()},
        "drawing": window.canvas.drawing_items(),
        "unit": window.state.selected_unit,
        "method": window.attribution.method.currentData(),
        "target": window.attribution.target.currentData(),
        "probabilities": None
        if window.session.result.probabilities is None
        else window.session.result.probabilities.copy(),
    }


def _same(a: dict, b: dict) -> None:
    assert (a["model"], a["dataset"], a["unit"], a["method"], a["target"]) == (
        b["model"], b["dataset"], b["unit"], b["method"], b["target"])  # fmt: skip
    assert a["weights"].keys() == b["weights"].keys()
    assert all(torch.equal(a["weights"][k], b["weights"][k]) for k in a["weights"])
    assert len(a["drawing"]) == len(b["drawing"])
    for x, y in zip(a["drawing"], b["drawing"], strict=True):
        if isinstance(x, np.ndarray):
            assert np.array_equal(x, y)
        else:
            np.testing.assert_allclose(np.array(x), np.array(y), atol=1e-6)
    np.testing.assert_allclose(a["probabilities"], b["probabilities"], atol=1e-5)


def test_a_saved_lesson_reopens_in_a_new_window_the_same(qtbot, window, draw, tmp_path):
    # Scene 1: LeNet-5's shipped weights, a drawn stroke, a unit of C1 in the inspector.
    draw(window.canvas, line((0.5, 0.15), (0.5, 0.85)))
    window.settle()
    window.state.select_unit("C1", 2, 5, 6)
    window.act_capture_scene.trigger()
    # Scene 2: the modern LeNet on Fashion-MNIST with a kernel edited by hand, a picture on the canvas
    # and another stroke over it, Grad-CAM for class 3, the architecture in front, as a quiz.
    assert window.switch_model("lenet", "fashion-mnist")
    assert window.state.edit_first_kernel(0, 0, np.ones((5, 5), np.float32))
    picture = np.zeros((28, 28), np.float32)
    picture[6:22, 10:18] = 1.0
    window.canvas.set_picture(picture)
    draw(window.canvas, line((0.2, 0.2), (0.8, 0.8)))
    window.settle()
    window.attribution.method.setCurrentIndex(window.attribution.method.findData("gradcam"))
    window.attribution.target.setCurrentIndex(window.attribution.target.findData(3))
    window.state.select_unit(window.session.description.stage_names[0], 1, 0, 0)
    window.dock_architecture.raise_()
    window.lessons.set_quiz(True)
    window.act_capture_scene.trigger()
    window.settle()
    captured = [None, _on_screen(window)]
    assert window.lessons.position_text().startswith("Scene 2 of 2")
    assert window.lessons.show_scene(0)
    window.settle()
    captured[0] = _on_screen(window)
    assert not window.lessons.answer_hidden()
    assert window.lessons.rename(1, "Edited kernel") is None and window.lessons.scenes[1].name == "Edited kernel"
    path = tmp_path / "lecture.cnnlesson"
    assert window.save_lesson(path) and path.is_file(), window.shown_errors

    other = _new_window(qtbot, tmp_path)
    assert other.open_lesson(path), other.shown_errors
    for index in range(2):
        assert other.lessons.show_scene(index)
        other.settle()
        _same(_on_screen(other), captured[index])
        scene = other.lessons.scenes[index]
        for name in scene.docks:  # the panels that were on screen are on screen again
            assert is_on_screen(other.findChild(type(other.dock_lesson), name)), name
    assert other.lessons.scenes[1].name == "Edited kernel"
    assert "test_accuracy" not in other.session.metadata  # a kernel edited by hand: the shipped figure is not its
    assert is_on_screen(other.dock_architecture)
    assert other.lessons.answer_hidden() and other.lessons.cover.isVisible()  # scene 2 is a quiz
    other.dock_comparison.raise_()
    qtbot.waitUntil(lambda: other.comparison.isVisible())
    assert all(c.isVisible() for c in other.lessons.covers)  # Six networks' answers are hidden too
    other.act_reveal.trigger()
    assert not other.lessons.answer_hidden() and not any(c.isVisible() for c in other.lessons.covers)
    assert other.shown_errors == []
    other.session.source_kind = "trained"  # as after a run nobody saved: another scene's weights ask first
    other.answers = ["Cancel"]
    assert not other.lessons.show_scene(0)
    assert other.asked[-1][0] == "Save the trained network?" and other.session.model_name == "lenet"


def test_cnnviz_lesson_opens_the_app_with_that_lesson(monkeypatch):
    import cnnviz.qt.app.launch as launch
    from cnnviz.cli.commands import main

    seen = {}
    monkeypatch.setattr(launch, "main", lambda **kwargs: seen.update(kwargs) or 0)
    assert main(["--lesson", "lecture.cnnlesson"]) == 0
    assert seen == {"model": None, "lesson": "lecture.cnnlesson"}
    assert main(["gui", "--lesson", "other.cnnlesson"]) == 0 and seen["lesson"] == "other.cnnlesson"


def test_page_down_steps_through_scenes_in_presentation_mode(qtbot, window, draw):
    for k in range(3):
        window.canvas.clear()
        draw(window.canvas, line((0.2 + 0.2 * k, 0.15), (0.5, 0.85)))
        window.settle()
        window.lessons.capture(f"Step {k + 1}")
    window.lessons.show_scene(0)
    window.state.select_unit("C1", 0, 1, 1)  # chosen after the scenes: none of them has a unit
    window.dock_lesson.raise_()
    window.set_presentation_mode(True)
    try:
        qtbot.waitUntil(lambda: not window.dock_lesson.isVisible())  # the room sees the scenes, not their list
        qtbot.keyClick(window, Qt.Key.Key_PageDown)
        assert window.lessons.current == 1 and window.state.selected_unit is None
        assert "Scene 2 of 3: Step 2" in window.lessons.counter.text() and window.lessons.counter.isVisible()
        qtbot.keyClick(window, Qt.Key.Key_PageDown)
        qtbot.keyClick(window, Qt.Key.Key_PageDown)  # the last one stays
        assert window.lessons.current == 2
        qtbot.keyClick(window, Qt.Key.Key_PageUp)
        assert window.lessons.current == 1
        window.settle()
        assert len(window.canvas.drawing_items()) == 1
        np.testing.assert_allclose(window.canvas.drawing_items()[0][0][:2], (0.4, 0.15), atol=0.02)
    finally:
        window.set_presentation_mode(False)
    qtbot.waitUntil(lambda: window.dock_lesson.isVisible())


def test_reordering_and_deleting_scenes(qtbot, window):
    for k in range(3):
        window.lessons.capture(f"S{k}")
    lessons = window.lessons
    lessons.move(2, 0)
    assert [s.name for s in lessons.scenes] == ["S2", "S0", "S1"]
    assert lessons.current == 0  # the scene on screen (the last captured) moved with it
    lessons.remove(1)
    assert [s.name for s in lessons.scenes] == ["S2", "S1"]
    items = window.dock_lesson.widget().list
    assert [items.item(i).text() for i in range(items.count())] == ["S2", "S1"]
    window.dock_lesson.raise_()
    qtbot.waitUntil(lambda: items.isVisible())
    assert all(not items.visualItemRect(items.item(i)).isEmpty() for i in range(items.count()))  # drawn, not only held
    items.item(1).setText("Renamed in the list")  # what an edit in the list commits
    qtbot.waitUntil(lambda: lessons.scenes[1].name == "Renamed in the list")
    window.dock_lesson.widget().list.setCurrentRow(1)
    window.dock_lesson.findChild(QPushButton, "sceneUp").click()
    assert [s.name for s in lessons.scenes] == ["Renamed in the list", "S2"]


@pytest.mark.parametrize("content", [b"", b"not a lesson at all", b'\x10\x00\x00\x00\x00\x00\x00\x00{"a": 1}'])
def test_a_bad_lesson_file_is_one_sentence(window, tmp_path, content):
    path = tmp_path / "broken.cnnlesson"
    path.write_bytes(content)
    assert not window.open_lesson(path)
    ((title, text),) = window.shown_errors
    assert title == "Could not open the lesson" and "broken.cnnlesson" in text and "\n" not in text


def test_a_lesson_on_the_users_network_asks_before_running_it(qtbot, window, tmp_path):
    net = tmp_path / "example_net.py"
    shutil.copy(EXAMPLE, net)
    assert window.open_network(net, "ExampleNet"), window.shown_errors
    window.settle()
    window.lessons.capture("Mine")
    path = tmp_path / "mine.cnnlesson"
    assert window.save_lesson(path)

    other = _new_window(qtbot, tmp_path)
    other.answers = ["Cancel"]
    assert not other.open_lesson(path)
    assert other.asked[-1][0] == "Run your network file?" and other.session.model_name == "lenet5"
    other.answers = ["Run it"]
    assert other.open_lesson(path), other.shown_errors
    assert other.session.model_name == "example_net.py:ExampleNet"
    assert all(torch.equal(a, b) for a, b in zip(window.session.model.state_dict().values(),
                                                 other.session.model.state_dict().values(), strict=True))  # fmt: skip
    net.write_text(net.read_text() + "\n# changed\n")
    asked = len(other.asked)
    assert not other.open_lesson(path)
    assert len(other.asked) == asked and "changed" in other.shown_errors[-1][1]  # never run, never asked
