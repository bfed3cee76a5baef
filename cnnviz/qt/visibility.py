"""Whether a panel is worth redrawing: one rule for every panel."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QWidget


def is_on_screen(widget: QWidget) -> bool:
    """Visible and inside its window: Qt moves a dock tabbed away behind another outside the
    window rather than hiding it, so it stays "visible"."""
    if not widget.isVisible():
        return False
    window = widget.window()
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size()).intersects(window.rect())
