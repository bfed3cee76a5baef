"""Combo boxes that do not let their longest entry decide their width (a projector's column is narrow)."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QComboBox, QStyle, QStyleOptionComboBox


def narrow(combo: QComboBox, chars: int = 6) -> QComboBox:
    """A chooser whose long entries do not set the panel's minimum width (they show in full when open)."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)
    return combo


class CurrentItemComboBox(QComboBox):
    """As wide as the item it shows, not its longest one: "LeNet-5 (1998 recipe, distortions)" in the list
    would otherwise push the toolbar past a 1024-pixel screen. The open list still shows every item in full."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.currentIndexChanged.connect(self.updateGeometry)

    def _width_for_current(self) -> int:
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        text = QSize(self.fontMetrics().horizontalAdvance(self.currentText()) + 4, self.fontMetrics().height())
        return self.style().sizeFromContents(QStyle.ContentsType.CT_ComboBox, option, text, self).width()

    def sizeHint(self) -> QSize:
        return QSize(self._width_for_current(), super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def showPopup(self) -> None:
        view = self.view()
        view.setMinimumWidth(view.sizeHintForColumn(0) + 2 * view.frameWidth() + 24)  # the longest entry in full
        super().showPopup()
