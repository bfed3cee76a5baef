"""Whether a panel is worth redrawing: one rule for every panel."""

from __future__ import annotations

from collections.abc import Callable

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


class SkipWhileHidden:
    """The "skip the redraw while hidden, catch up when shown" rule, for any panel.

    A panel that nobody sees must cost a stroke nothing. In the panel::

        self.while_hidden = SkipWhileHidden(self, self._show)   # what to run when shown again
        ...
        if self.while_hidden.skip():   # off screen: remembered, nothing drawn
            return
        self._show()
        ...
        def refresh_if_stale(self):    # from showEvent and the dock's visibilityChanged
            self.while_hidden.catch_up()
    """

    def __init__(self, widget: QWidget, catch_up_with: Callable[[], object]) -> None:
        self.widget = widget
        self.catch_up_with = catch_up_with
        self.stale = False  # something was skipped while hidden

    def skip(self) -> bool:
        """True, and remembered, when the widget is off screen; False (and no longer stale) when on it."""
        self.stale = not is_on_screen(self.widget)
        return self.stale

    def catch_up(self) -> None:
        """Run what was skipped, once, if the widget is on screen now."""
        if self.stale and is_on_screen(self.widget):
            self.stale = False
            self.catch_up_with()
