"""Labels that fit narrow columns (a projector's 1024 pixels) without clipping or widening the window."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontMetrics, QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from cnnviz.qt.widgets.style import scaled_font


class FittedLabel(QWidget):
    """One line of large text (the headline) whose font shrinks to fit the label's width.

    ``scale`` is the size relative to the widget's font when there is room;
    it never goes below ``min_scale``, and the label never asks for more width
    than that smallest size needs, so it cannot push the window off the screen.

    It paints its text itself rather than being a QLabel: QLabel.setText asks for a
    layout pass on every call, and the headline changes on every mouse move while
    drawing; that pass climbed to the main window and relaid every dock (issue 23).
    Its size hint does not depend on the text, so a new text is only a repaint.
    """

    def __init__(self, text: str = "", scale: float = 2.6, min_scale: float = 1.0, parent: QWidget | None = None):
        super().__init__(parent)
        self.scale, self.min_scale = scale, min_scale
        self._text, self._alignment = text, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # paints its background: the panel need not
        self.setAccessibleDescription(text)  # what QLabel gave a screen reader
        self._fit()

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 (the QLabel name its callers know)
        if text == self._text:
            return
        self._text = text
        self.setAccessibleDescription(text)
        self._fit()
        self.update()

    def setAlignment(self, alignment: Qt.AlignmentFlag) -> None:  # noqa: N802 (QLabel's name)
        self._alignment = alignment
        self.update()

    def fitted_scale(self) -> float:
        """The scale the text is drawn at now."""
        return self._scale_now

    def _fit(self) -> None:
        base = self.parentWidget().font() if self.parentWidget() is not None else self.font()
        room = max(self.contentsRect().width() - 4, 1)
        scale = self.scale
        while scale > self.min_scale:
            if QFontMetrics(scaled_font(base, scale, bold=True)).horizontalAdvance(self._text) <= room:
                break
            scale = max(self.min_scale, scale * 0.92)
        self._scale_now = scale
        font = scaled_font(base, scale, bold=True)
        if font != self.font():
            self.setFont(font)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        base = self.parentWidget().font() if self.parentWidget() is not None else self.font()
        metrics = QFontMetrics(scaled_font(base, self.scale, bold=True))
        return QSize(0, metrics.height())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return self.minimumSizeHint()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._fit()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.fillRect(event.rect(), self.palette().window())
        p.setPen(self.palette().windowText().color())
        p.drawText(self.contentsRect(), int(self._alignment), self._text)
        p.end()

    def refit(self) -> None:
        """The parent's font changed (presentation mode): fit again from the new base size."""
        self._fit()
        self.updateGeometry()


class ElidedLabel(QLabel):
    """A label that shows "…" when its column is too narrow; ``text()`` and the tooltip keep all of it."""

    def __init__(self, text: str = "", parent: QWidget | None = None, min_chars: int = 10) -> None:
        super().__init__(text, parent)
        self._min_chars = min_chars
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        hint = super().minimumSizeHint()
        width = min(hint.width(), self.fontMetrics().averageCharWidth() * self._min_chars)
        return QSize(width, hint.height())

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideMiddle, rect.width())
        p.setPen(self.palette().windowText().color())
        p.drawText(rect, int(self.alignment()), text)
        p.end()
