"""A 28x28 picture (the model input, an adversarial example, a map) drawn large with square pixels and a caption."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from cnnviz.qt.widgets.style import gray_image, scaled_font


class SmallPicture(QWidget):
    """Paints a grey (2-D float in [0, 1]) or colour (H x W x 3 uint8) picture, scaled to fit, captioned below."""

    def __init__(self, caption: str, name: str, tip: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setAccessibleName(caption)
        self.setToolTip(tip)
        self.caption = caption
        self.image: QImage | None = None
        self.setMinimumSize(64, 80)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(120, 140)

    def set_gray(self, values: np.ndarray | None) -> None:
        self.image = None if values is None else gray_image(np.asarray(values, np.float32))
        self.update()

    def set_rgb(self, rgb: np.ndarray | None) -> None:
        if rgb is None:
            self.image = None
        else:
            rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
            h, w = rgb.shape[:2]
            self.image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        self.update()

    def set_caption(self, caption: str) -> None:
        self.caption = caption
        self.update()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        font = scaled_font(self.font(), 0.85)
        p.setFont(font)
        line = p.fontMetrics().height()
        side = max(8, min(self.width(), self.height() - line - 2))
        box = QRect((self.width() - side) // 2, 0, side, side)
        if self.image is None:
            p.fillRect(box, self.palette().alternateBase())
        else:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # square pixels: each one counts
            p.drawImage(box, self.image)
        p.setPen(self.palette().text().color())
        text = p.fontMetrics().elidedText(self.caption, Qt.TextElideMode.ElideRight, self.width())
        p.drawText(QRect(0, side + 2, self.width(), line), Qt.AlignmentFlag.AlignHCenter, text)
        p.end()
