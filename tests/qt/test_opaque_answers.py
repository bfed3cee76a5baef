"""The widgets an answer repaints paint every pixel themselves: the panel beneath them is not painted again
on every stroke (issue 23: ~0.3 ms of dock paints per mouse move, ``cnnviz bench --app``)."""

from __future__ import annotations

from conftest import line
from PySide6.QtCore import QEvent, QObject, QRect

SEVEN = line((0.25, 0.22), (0.75, 0.22)) + line((0.75, 0.22), (0.4, 0.85))[1:]


class _PaintedRegions(QObject):
    """Every rectangle a widget is asked to paint."""

    def __init__(self, widget) -> None:
        super().__init__(widget)
        self.rects: list[QRect] = []
        widget.installEventFilter(self)

    def eventFilter(self, _obj, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.rects.append(event.rect())
        return False


def _beneath(child, parent_paints: _PaintedRegions) -> list[QRect]:
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
    beneath = {w: _PaintedRegions(w.parentWidget()) for w in widgets}
    before = [w.paint_count for w in widgets]

    draw(window.canvas, line((0.3, 0.5), (0.7, 0.5)))  # a new stroke: new answers everywhere
    window.settle()
    qtbot.waitUntil(lambda: not panel.pending() and panel._pending_answers is None, timeout=30_000)
    qtbot.wait(50)  # the last paints

    assert all(w.paint_count > n for w, n in zip(widgets, before, strict=True))  # each repainted its answer
    for w in widgets:
        assert _beneath(w, beneath[w]) == [], f"{w.objectName()}'s panel painted beneath it"
