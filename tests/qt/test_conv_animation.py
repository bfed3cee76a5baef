"""The inspector's convolution animation: Step and Play fill the output map with the network's own
numbers, the sum is written out (over input maps for C3), and its timer stops when hidden or closed."""

from __future__ import annotations

import numpy as np
from conftest import line
from PySide6.QtCore import Qt


def _select(qtbot, window, draw, unit, convolution=True):
    draw(window.canvas, line((0.5, 0.15), (0.5, 0.85)))
    window.settle()
    with qtbot.waitSignal(window.state.unitExplained, timeout=10_000):
        window.state.select_unit(*unit)
    animation = window.inspector.animation
    assert (animation.loader is not None) == convolution
    return animation


def test_step_and_play_fill_the_output_map_with_the_networks_numbers(qtbot, window, draw):
    animation = _select(qtbot, window, draw, ("C1", 2, 3, 4))
    assert animation.step()
    sweep = animation.sweep
    assert sweep.output.shape == (28, 28) and animation.picture.step == 0
    assert "position 1 of 784" in animation.position.text()
    assert f"{sweep.value(0):.3g}".replace("-", "−") in animation.sum_text.text()
    filled = sweep.filled(1)
    assert np.isfinite(filled[0, 0]) and np.isnan(filled).sum() == 783
    # The sweep's map is the network's C1 map before its activation: check the selected unit.
    explained = window.state.unit_explanation
    conv = next(s for s in explained["steps"] if s["kind"] == "convolution")
    assert sweep.output[3, 4] == conv["value"]
    animation.speed.setValue(animation.speed.maximum())
    animation.play()
    assert animation.is_playing() and animation.play_button.text() == "Pause"
    qtbot.waitUntil(lambda: animation.picture.step >= 4, timeout=10_000)
    animation.pause()
    assert not animation.timer.isActive() and animation.play_button.text() == "Play"
    # Space in the inspector plays and pauses too.
    window.inspector.setFocus()
    qtbot.keyClick(window.inspector, Qt.Key.Key_Space)
    assert animation.is_playing()
    qtbot.keyClick(window.inspector, Qt.Key.Key_Space)
    assert not animation.is_playing()


def test_c3_adds_its_connected_input_maps(qtbot, window, draw):
    animation = _select(qtbot, window, draw, ("C3", 0, 2, 2))
    animation.restart()
    animation.step()
    assert animation.sweep.input_channels == (0, 1, 2)
    assert "Σ over 3 input maps" in animation.sum_text.text()
    assert animation.sweep.output.shape == (10, 10)


def test_the_timer_stops_when_the_inspector_is_hidden_or_the_window_closes(qtbot, window, draw):
    animation = _select(qtbot, window, draw, ("C1", 0, 5, 5))
    animation.play()
    assert animation.is_playing()
    window.dock_training.raise_()  # the inspector's tab goes behind another
    qtbot.waitUntil(lambda: not animation.is_playing(), timeout=5_000)
    window.dock_inspector.raise_()
    qtbot.waitUntil(lambda: window.inspector.isVisible())
    animation.play()
    assert animation.is_playing()
    window.close()
    assert not animation.timer.isActive()


def test_a_unit_no_convolution_made_has_nothing_to_play(qtbot, window, draw):
    animation = _select(qtbot, window, draw, ("F6", 3, 0, 0), convolution=False)
    assert not animation.step()
    animation.play()
    assert not animation.is_playing()
