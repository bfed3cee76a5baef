"""The test set's map as a pyqtgraph scatter: one colour per class, mistakes ringed, the drawing a star.

Imported when the Embedding panel first draws a map (pyqtgraph on the GUI thread, never at start-up).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

# Ten colours a projector tells apart (Tableau 10), in class order.
CLASS_COLORS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")  # fmt: skip
MISTAKE_COLOR = "#d62728"
STAR_RADIUS_PX = 11  # the drawing's star, 22 px across


def _star() -> QGraphicsPathItem:
    """The drawing's star: a plain Qt item drawn in pixels and moved with ``setPos``, so the map repaints only
    around it. As a ScatterPlotItem, each ``setData`` repainted the whole plot (~1 ms) on every stroke's answer."""
    path = QPainterPath()
    for k in range(10):
        r = STAR_RADIUS_PX if k % 2 == 0 else STAR_RADIUS_PX * 0.45
        angle = math.pi / 2 + k * math.pi / 5
        corner = QPointF(r * math.cos(angle), -r * math.sin(angle))
        path.moveTo(corner) if k == 0 else path.lineTo(corner)
    path.closeSubpath()
    star = QGraphicsPathItem(path)
    star.setBrush(QColor("#ffd43b"))
    star.setPen(QPen(QColor("black"), 2))
    star.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)  # pixels, whatever the zoom
    star.setZValue(10)
    star.setVisible(False)
    return star


class EmbeddingPlot(pg.PlotWidget):
    """Signals: ``hovered(int)`` / ``clicked(int)`` with a point's row (-1: none under the pointer)."""

    hovered = Signal(int)
    clicked = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="w")
        self.setObjectName("embeddingPlot")
        self.setAccessibleName("Map of the test set")
        self.setToolTip("Each dot a test image, coloured by its true class; hover to see it, click to draw it")
        item = self.getPlotItem()
        item.hideAxis("left")
        item.hideAxis("bottom")
        item.setMenuEnabled(False)
        self.legend = item.addLegend(offset=(4, 4), labelTextSize="8pt", colCount=2)
        self.points = pg.ScatterPlotItem(size=5, pen=None, hoverable=True, hoverSize=9, hoverPen=pg.mkPen("k", width=1))
        self.mistakes = pg.ScatterPlotItem(size=9, symbol="o", brush=None, pen=pg.mkPen(MISTAKE_COLOR, width=1.5))
        self.drawing = _star()
        for scatter in (self.points, self.mistakes):
            # Kept as a picture: the star moves with every stroke and repainted the 2,000 dots under it.
            scatter.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            item.addItem(scatter)
        item.addItem(self.drawing, ignoreBounds=True)  # moved with setPos: see _star
        self.points.sigHovered.connect(self._on_hover)
        self.points.sigClicked.connect(self._on_click)
        self._legend_items: list = []
        self.xy = np.zeros((0, 2), np.float32)

    def set_map(self, xy: np.ndarray, labels: np.ndarray, wrong: np.ndarray, names: tuple[str, ...]) -> None:
        self.xy = np.asarray(xy, np.float32)
        brushes = [pg.mkBrush(CLASS_COLORS[int(k) % 10]) for k in range(10)]
        self.points.setData(pos=self.xy, brush=[brushes[int(k) % 10] for k in labels], data=np.arange(len(self.xy)))
        self.mistakes.setData(pos=self.xy[np.asarray(wrong, bool)])
        self.legend.clear()
        for k, name in enumerate(names):
            self.legend.addItem(pg.ScatterPlotItem(size=8, pen=None, brush=brushes[k]), name)
        self.drawing.setVisible(False)
        self.getPlotItem().enableAutoRange()

    def show_mistakes(self, on: bool) -> None:
        self.mistakes.setVisible(on)

    def set_drawing(self, point) -> None:
        """The drawing's place in the map (None: nothing drawn); the view widens to show it when it falls outside."""
        if point is None:
            self.drawing.setVisible(False)
            return
        x, y = float(point[0]), float(point[1])
        self.drawing.setPos(x, y)
        self.drawing.setVisible(True)
        view = self.getPlotItem().getViewBox()
        shown = view.viewRect()
        if not shown.contains(x, y):  # a drawing unlike the test set: the map makes room for it (rare)
            left, right = min(shown.left(), x), max(shown.right(), x)  # (united() ignores an empty rectangle)
            top, bottom = min(shown.top(), y), max(shown.bottom(), y)
            view.setRange(rect=QRectF(left, top, right - left, bottom - top), padding=0.05)

    def _on_hover(self, _item, points, _event) -> None:
        self.hovered.emit(int(points[0].data()) if len(points) else -1)

    def _on_click(self, _item, points, _event) -> None:
        if len(points):
            self.clicked.emit(int(points[0].data()))

    @staticmethod
    def color(label: int) -> QColor:
        return QColor(CLASS_COLORS[label % 10])
