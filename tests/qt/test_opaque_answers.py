"""The widgets an answer repaints paint every pixel themselves: the panel beneath them is not painted again
on every stroke (issue 23: ~0.3 ms of dock paints per mouse move, ``cnnviz bench --app``), and a new answer
asks for no layout pass."""

from __future__ import annotations

from conftest import canvas_point, line
from PySide6.QtCore import QEvent, QObject, QRect, Qt

SEVEN = line((0.25, 0.22), (0.75, 0.22)) + line((0.75, 0.22), (0.4, 0.85))[1:]


class _Received(QObject):
    """How many events of one type a widget receives, and the rectangle of each paint."""

    def __init__(self, widget, kind: QEvent.Type = QEvent.Type.Paint) -> None:
        super().__init__(widget)
        self.kind, self.n, self.rects = kind, 0, []
        widget.installEventFilter(self)

    def eventFilter(self, _obj, event) -> bool:
        if event.type() == self.kind:
            self.n += 1
            if self.kind == QEvent.Type.Paint:
                self.rects.append(event.rect())
        return False


def _beneath(child, parent_paints: _Received) -> list[QRect]:
    """The parent's paints that covered part of ``child``."""
    area = QRect(child.mapTo(child.parentWidget(), child.rect().topLeft()), child.size())
    return [r for r in parent_paints.rects if r.intersects(area)]


def test_an_answer_repaints_the_bars_the_model_input_and_the_cards_but_not_the_panels_beneath(qtbot, window, draw):
    window.dock_comparison.show()
    window.dock_comparison.raise_()
    panel = window.comparison
    qtbot.waitUntil(panel.view.isVisible)
    draw(window.canvas, SEVEN)  # the first answers: layouts settle, the six networks load
    window.settle()
    qtbot.waitUntil(lambda: bool(panel.view.answers) and not panel.pending(), timeout=30_000)
    widgets = [window.prediction.bars, window.preview, panel.view]
    beneath = {w: _Received(w.parentWidget()) for w in widgets}
    before = [w.paint_count for w in widgets]

    draw(window.canvas, line((0.3, 0.5), (0.7, 0.5)))  # a new stroke: new answers everywhere
    window.settle()
    qtbot.waitUntil(lambda: not panel.pending() and panel._pending_answers is None, timeout=30_000)
    qtbot.wait(50)  # the last paints

    assert all(w.paint_count > n for w, n in zip(widgets, before, strict=True))  # each repainted its answer
    for w in widgets:
        assert _beneath(w, beneath[w]) == [], f"{w.objectName()}'s panel painted beneath it"


def test_a_new_answer_while_drawing_relays_no_docks(qtbot, window):
    """The headline ("7  (98.2%)") changes on every move; as a QLabel that asked for a layout pass which
    climbed to the main window, relaid every dock and repainted the tab bars (~1.5 ms a move, issue 23)."""
    canvas = window.canvas
    points = line((0.3, 0.2), (0.55, 0.85), n=12)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(canvas, *points[0]))
    for u, v in points[1:3]:  # the first answers: the maps appear, layouts settle
        qtbot.mouseMove(canvas, canvas_point(canvas, u, v))
        window.settle()
    qtbot.wait(50)
    layouts, headlines = _Received(window, QEvent.Type.LayoutRequest), []
    for u, v in points[3:]:
        qtbot.mouseMove(canvas, canvas_point(canvas, u, v))
        window.settle()
        headlines.append(window.prediction.label.text())
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(canvas, *points[-1]))
    assert len(set(headlines)) > 1  # the answer did change while drawing
    assert layouts.n == 0
