"""A 28x28 picture drawn large, with an optional outlined box and a caption; clicking it emits ``clicked``."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QKeyEvent, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from cnnviz.qt.widgets.style import ACCENT, gray_image

BOX_COLOR = QColor(ACCENT)


class PictureTile(QWidget):
    """A square picture (ink white, as the network sees it) with the spot that fired outlined in the accent colour."""

    clicked = Signal()

    def __init__(self, name: str, parent: QWidget | None = None, min_side: int = 56) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setMinimumSize(min_side, min_side + QFontMetrics(self.font()).height())
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.pixels: np.ndarray | None = None
        self.box: tuple[int, int, int, int] | None = None
        self.caption = ""
        self._image = None

    def set_picture(self, pixels: np.ndarray | None, box=None, caption: str = "", tip: str = "") -> None:
        self.pixels, self.box, self.caption = pixels, box, caption
        self._image = None if pixels is None else gray_image(np.asarray(pixels, np.float32))
        self.setToolTip(tip)
        self.setAccessibleName(caption or "Empty tile")
        self.setCursor(Qt.CursorShape.PointingHandCursor if pixels is not None else Qt.CursorShape.ArrowCursor)
        self.update()

    def sizeHint(self) -> QSize:
        line = QFontMetrics(self.font()).height()
        return QSize(4 * line + 8, 5 * line + 8)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        line = QFontMetrics(self.font()).height()
        side = max(8, min(self.width(), self.height() - line - 2))
        left = (self.width() - side) / 2
        square = QRectF(left, 0, side, side)
        p.fillRect(square, QColor(0, 0, 0))
        if self._image is not None:
            p.drawImage(square, self._image)
            if self.box is not None:
                top, lft, bottom, right = self.box
                scale = side / 28
                pen = QPen(BOX_COLOR, max(2.0, side / 70))
                p.setPen(pen)
                p.drawRect(QRectF(left + lft * scale, top * scale, (right - lft) * scale, (bottom - top) * scale))
        if self.hasFocus():
            p.setPen(QPen(self.palette().highlight().color(), 2))
            p.drawRect(square.adjusted(1, 1, -1, -1))
        p.setPen(self.palette().windowText().color())
        elided = QFontMetrics(self.font()).elidedText(self.caption, Qt.TextElideMode.ElideRight, self.width())
        p.drawText(QRectF(0, side + 1, self.width(), line), Qt.AlignmentFlag.AlignHCenter, elided)
        p.end()

    def mousePressEvent(self, event) -> None:
        if self.pixels is not None and event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.pixels is not None and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.clicked.emit()
        else:
            super().keyPressEvent(event)
