"""The drawing path's pace: explanations follow the newest answer after it, and workers yield to a stroke."""

from __future__ import annotations


def test_explanations_follow_the_newest_answer_after_it(qtbot, window, draw, make_line):
    state = window.state
    order = []
    state.resultReady.connect(lambda r: order.append(("ready", r)))
    state.resultExplainable.connect(lambda r: order.append(("explain", r)))
    draw(window.canvas, make_line((0.5, 0.15), (0.5, 0.85), 12))
    qtbot.waitUntil(lambda: not window.state.inference_pending())
    kinds = [k for k, _r in order]
    assert kinds.count("ready") >= 1 and kinds.count("explain") >= 1
    assert kinds[0] == "ready" and kinds[-1] == "explain"  # an answer first; the newest one explained last
    assert order[-1][1] is state.session.result
    for i, (kind, result) in enumerate(order):  # each explanation is of the answer just before it
        if kind == "explain":
            assert result is [r for k, r in order[:i] if k == "ready"][-1]


def test_a_new_drawing_holds_background_work_until_its_answer_is_painted(qtbot, window):
    state = window.state
    assert state.drawing_answered.is_set()
    qtbot.waitUntil(lambda: not window.state.inference_pending())
    state.set_drawing(_ink())  # a drawing as the canvas sends it
    assert not state.drawing_answered.is_set()
    state.wait_for_drawing(0.001)  # bounded: a worker never waits long for a busy GUI
    qtbot.waitUntil(state.drawing_answered.is_set)
    qtbot.waitUntil(lambda: not window.state.inference_pending())  # and its explanations follow


def _ink():
    import numpy as np

    a = np.zeros((280, 280), np.float32)  # white ink on black, a one
    a[60:220, 130:150] = 1.0
    return a
