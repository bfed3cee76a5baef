"""Whether a panel is worth redrawing: one rule for every panel."""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QWidget


def is_on_screen(widget: QWidget) -> bool:
    """Visible, and some of it inside every parent up to its window.

    Qt moves a dock tabbed away behind another outside the window rather than
    hiding it, so it stays "visible"; and a large panel inside a small scroll
    area pokes out of a dock that was moved away. Clipping the widget's rectangle
    by each parent in turn catches both.
    """
    if not widget.isVisible():
        return False
    rect = QRect(widget.rect())
    child = widget
    while not child.isWindow():
        parent = child.parentWidget()
        if parent is None:
            break
        rect = rect.translated(child.pos()).intersected(parent.rect())
        if rect.isEmpty():
            return False
        child = parent
    return not rect.isEmpty()
