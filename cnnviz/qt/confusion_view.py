"""The confusion matrix of a finished run, drawn in the training curves' bottom-right cell."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetrics

from cnnviz.core import DATASETS

__all__ = ["ConfusionView"]

CONFUSION_TITLE = "Confusion matrix (test set)"


class ConfusionView:
    """A 10x10 heat map (rows: true class, columns: predicted) in a ``pg.GraphicsLayoutWidget`` cell."""

    def __init__(self, layout: pg.GraphicsLayoutWidget, row: int = 1, col: int = 1) -> None:
        self._layout = layout
        self.plot = layout.addPlot(row=row, col=col, title=CONFUSION_TITLE)
        self.plot.setLabel("bottom", "predicted")
        self.plot.setLabel("left", "true")
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.plot.addItem(self.image)
        self._texts: list[pg.TextItem] = []
        self.confusion: np.ndarray | None = None
        self._names: list[str] = list(DATASETS["mnist"].classes)
        self._set_class_ticks(self._names)
        layout.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plot.setRange(xRange=(0, 10), yRange=(0, 10), padding=0)
        layout._titles[self.plot] = CONFUSION_TITLE  # its title grows with the others' in presentation mode

    def show(self, confusion: np.ndarray | None, names: list[str] | None = None) -> None:
        """Draw a confusion matrix, or clear it (None)."""
        for item in self._texts:
            self.plot.removeItem(item)
        self._texts = []
        self.confusion = confusion
        if confusion is None:
            self.image.clear()
            return
        k = confusion.shape[0]
        # ImageItem indexes [x, y]; x = predicted (columns), y = true (rows, drawn top-down).
        # log1p so the few mistakes stay visible next to a diagonal of ~1000.
        self.image.setImage(np.log1p(confusion.T.astype(float)), levels=(0, np.log1p(confusion.max())))
        self.image.setRect(0, 0, k, k)
        if names:
            self._names = list(names)
            self._set_class_ticks(self._names)
        # Only the mistakes are numbered (the diagonal is plainly the bright one):
        # four-digit counts would not fit a cell of a panel this size.
        font = QFont(self._layout.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.75))
        for true, pred in zip(*np.nonzero(confusion), strict=True):
            if true == pred or k > 10:
                continue
            text = pg.TextItem(str(int(confusion[true, pred])), color=(255, 255, 255), anchor=(0.5, 0.5))
            text.setFont(font)
            text.setPos(pred + 0.5, true + 0.5)
            self.plot.addItem(text)
            self._texts.append(text)
        self.plot.setRange(xRange=(0, k), yRange=(0, k), padding=0)

    def _on_mouse_moved(self, pos) -> None:
        """Hovering a cell reads it out in the title."""
        title = CONFUSION_TITLE
        plot = self.plot
        if self.confusion is not None and plot.sceneBoundingRect().contains(pos):
            point = plot.vb.mapSceneToView(pos)
            true, pred = int(math.floor(point.y())), int(math.floor(point.x()))
            k = self.confusion.shape[0]
            if 0 <= true < k and 0 <= pred < k:
                count = int(self.confusion[true, pred])
                title = f"{self._names[true]} seen as {self._names[pred]}: {count:,}"
        if plot.titleLabel.text != title:
            plot.setTitle(title)

    def _set_class_ticks(self, names: list[str]) -> None:
        """Rows named in full; columns by name only if every name is short (digits), else by number."""
        short = all(len(name) <= 2 for name in names)
        rows = [(i + 0.5, name if short else f"{name} {i}") for i, name in enumerate(names)]
        left = self.plot.getAxis("left")
        left.setTicks([rows])
        metrics = QFontMetrics(left.style.get("tickFont") or self._layout.font())
        left.setWidth(max(metrics.horizontalAdvance(text) for _, text in rows) + 28)  # + tick and axis label
        columns = [(i + 0.5, name if short else str(i)) for i, name in enumerate(names)]
        self.plot.getAxis("bottom").setTicks([columns])
