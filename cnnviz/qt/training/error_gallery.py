"""The error gallery: the test images behind a confusion-matrix cell, most confident first.

Each tile is the 28x28 test image as the network got it, a strip of ten tiny
bars (its probabilities; the true class in green, the predicted one in the
accent colour) and the top class's probability. Clicking a tile (or Enter)
emits ``imageChosen(index, dataset)``: the window puts that image on the
canvas with its true label, and every panel then explains the mistake.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cnnviz.qt.state.lazy import core
from cnnviz.qt.widgets.style import ACCENT, gray_image

__all__ = ["ErrorGallery"]

PAGE = 60  # tiles per page: a large cell (a thousand right answers) is shown in pages
TRUE_COLOR = QColor("#2f9e44")
OTHER_COLOR = QColor(150, 150, 150)
INDEX_ROLE = Qt.ItemDataRole.UserRole


class ErrorGallery(QDialog):
    """A non-modal window of test images; ``show_images`` fills it, ``imageChosen`` says which one was picked.

    Signals
    -------
    imageChosen(int, str)  test-set index and dataset of the clicked image
    """

    imageChosen = Signal(int, str)

    def __init__(self, parent: QWidget | None = None, data_dir=lambda: None) -> None:
        super().__init__(parent)
        self._data_dir = data_dir  # asked at each read: the session's folder, wherever it is now
        self.setObjectName("errorGallery")
        self.setAccessibleName("Error gallery")
        self.setWindowTitle("Error gallery")
        self.setModal(False)
        self.header = QLabel("", objectName="galleryHeader")
        self.header.setWordWrap(True)
        self.header.setToolTip("Which test images these are and how many there are.")
        self.images = QListWidget(objectName="galleryImages")
        self.images.setAccessibleName("Test images")
        self.images.setToolTip(
            "Click an image (or select it and press Enter) to put it on the canvas with its true label."
        )
        self.images.setViewMode(QListView.ViewMode.IconMode)
        self.images.setMovement(QListView.Movement.Static)
        self.images.setResizeMode(QListView.ResizeMode.Adjust)
        self.images.setWordWrap(True)
        self.images.setUniformItemSizes(True)
        self.images.setSpacing(4)
        self.images.itemClicked.connect(self._on_item)
        self.images.itemActivated.connect(self._on_item)
        self.more_button = QPushButton(f"Show {PAGE} more", objectName="galleryMore")
        self.more_button.setToolTip(f"Add the next {PAGE} images (the less confident ones).")
        self.more_button.clicked.connect(self.show_more)
        close = QPushButton("Close", objectName="galleryClose")
        close.setToolTip("Close the gallery (Esc).")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.more_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(self.images, stretch=1)
        layout.addLayout(buttons)
        self.indices = np.zeros(0, dtype=np.int64)
        self.dataset = "mnist"
        self._result = None
        self._names: list[str] = []
        self._all_classes = False
        self._caption_width = 0
        self._title = self._note = ""
        self._pixels = np.zeros((0, 28, 28), np.float32)  # the shown tiles' images, kept to redraw at a new size
        self.resize(760, 560)
        self.setAttribute(Qt.WidgetAttribute.WA_WindowPropagation)  # presentation mode's font reaches this window

    # -- filling ------------------------------------------------------------------------------
    def show_images(self, title: str, indices, outcome, note: str = "", all_classes: bool = False) -> None:
        """Show the test images ``indices`` (already in order) of an ``EvaluationOutcome``'s result.

        ``all_classes``: the tiles are of many (true, predicted) pairs, so each caption names its pair.
        """
        self._all_classes = all_classes
        self.indices = np.asarray(indices, dtype=np.int64)
        self.dataset, self._result, self._names = outcome.dataset, outcome.result, outcome.names
        self._pixels = np.zeros((0, 28, 28), np.float32)
        self.images.clear()
        self.setWindowTitle(f"Error gallery: {title}")
        self._title, self._note = title, note
        self.show_more()
        if not self.isVisible():
            self._beside_the_drawing()
        self.show()
        self.raise_()
        self.activateWindow()

    def _beside_the_drawing(self) -> None:
        """Open over the right half of the window: the drawing (left) shows the image a click puts there."""
        parent = self.parentWidget()
        if parent is None:
            return
        area = parent.window().geometry()
        width, height = min(760, area.width() // 2), min(560, area.height() * 4 // 5)
        self.resize(width, height)
        self.move(area.right() - width - 16, area.top() + (area.height() - height) // 2)

    def show_more(self) -> None:
        """The next ``PAGE`` images."""
        start = len(self._pixels)
        chosen = self.indices[start : start + PAGE]
        if len(chosen):
            pixels, _ = core().load_test_images(self.dataset, chosen, self._data_dir())
            self._pixels = np.concatenate([self._pixels, pixels])
            for offset, index in enumerate(chosen):
                self.images.addItem(self._item(int(index), self._pixels[start + offset]))
            self._resize_tiles()
        self._update_header()

    def shown_indices(self) -> list[int]:
        """Test-set indices of the tiles, in the order shown."""
        return [int(self.images.item(i).data(INDEX_ROLE)) for i in range(self.images.count())]

    def _update_header(self) -> None:
        total, shown = len(self.indices), self.images.count()
        count = f"{total:,} image{'s' if total != 1 else ''}"
        if total == 0:
            text = f"<b>{self._title}</b>: no test images."
        elif shown < total:
            text = f"<b>{self._title}</b>: {count}, most confident first; showing the first {shown:,}."
        else:
            text = f"<b>{self._title}</b>: {count}, most confident first."
        self.header.setText(text + (f"<br>{self._note}" if self._note else ""))
        left = total - shown
        self.more_button.setText(f"Show {PAGE} more" if left > PAGE else f"Show the last {left:,}")
        self.more_button.setEnabled(left > 0)
        self.more_button.setVisible(left > 0)  # not a disabled button under seven images

    # -- tiles --------------------------------------------------------------------------------------
    def _tile_side(self) -> int:
        return max(56, 4 * QFontMetrics(self.font()).height())

    def _item(self, index: int, pixels: np.ndarray) -> QListWidgetItem:
        result, names = self._result, self._names
        probs = result.probabilities[index]
        true, pred = int(result.labels[index]), int(result.predictions[index])
        item = QListWidgetItem(self._icon(pixels, probs, true, pred), self._caption(true, pred, probs))
        item.setData(INDEX_ROLE, index)
        second = int(np.argsort(probs)[-2])
        item.setToolTip(
            f"Test image #{index:,}: true class {names[true]}, seen as {names[pred]} ({100 * probs[pred]:.1f} %);\n"
            f"next most likely: {names[second]} ({100 * probs[second]:.1f} %). Click to put it on the canvas."
        )
        return item

    def _caption(self, true: int, pred: int, probs: np.ndarray) -> str:
        names = self._names
        pct = f"{100 * probs[pred]:.0f}%"
        return f"{names[true]} → {names[pred]} {pct}" if self._all_classes else pct

    def _icon(self, pixels: np.ndarray, probs: np.ndarray, true: int, pred: int) -> QIcon:
        side = self._tile_side()
        bars = max(12, side // 4)
        # The icon is as wide as the caption: the view elides a caption wider than its icon.
        picture = QPixmap(max(side, self._caption_width), side + bars + 2)
        picture.fill(QColor(0, 0, 0, 0))
        left = (picture.width() - side) / 2
        p = QPainter(picture)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # each input pixel a crisp square
        p.drawImage(QRectF(left, 0, side, side), gray_image(pixels))
        width = side / len(probs)
        for k, value in enumerate(probs):
            color = ACCENT if k == pred else TRUE_COLOR if k == true else OTHER_COLOR
            height = max(1.0, float(value) * bars)
            p.fillRect(QRectF(left + k * width + 0.5, side + 2 + bars - height, width - 1, height), color)
        p.end()
        return QIcon(picture)

    def _resize_tiles(self) -> None:
        side = self._tile_side()
        fm = QFontMetrics(self.font())
        # As wide as the widest caption, up to two tile widths (longer ones wrap onto a second line).
        widest = max((fm.horizontalAdvance(self.images.item(i).text()) for i in range(self.images.count())), default=0)
        self._caption_width = max(side, min(widest + fm.horizontalAdvance("M"), 2 * side))
        self.images.setIconSize(QSize(self._caption_width, side + max(12, side // 4) + 2))
        self.images.setGridSize(QSize(self._caption_width + 16, side + max(12, side // 4) + 3 * fm.height() + 8))
        for row in range(self.images.count()):
            item = self.images.item(row)
            index = int(item.data(INDEX_ROLE))
            probs = self._result.probabilities[index]
            item.setIcon(self._icon(self._pixels[row], probs, int(self._result.labels[index]),
                                    int(self._result.predictions[index])))  # fmt: skip

    # -- choosing -------------------------------------------------------------------------------
    def choose(self, row: int) -> None:
        """Pick the tile in ``row`` (what a click does)."""
        self.imageChosen.emit(int(self.images.item(row).data(INDEX_ROLE)), self.dataset)

    def _on_item(self, item: QListWidgetItem) -> None:
        self.choose(self.images.row(item))

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        self._resize_tiles()

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # presentation mode: bigger tiles and captions
            self._resize_tiles()
