"""The network as a diagram: stages as boxes, Inception branches side by side, residual skips.

Takes plain data only: the nodes of ``cnnviz.core.inspect.architecture.architecture``
as dicts (``Node.as_dict()``) and, per stage, a 2-D map to show as a thumbnail.
Rows are the nodes' depth (longest path from the image), so branches that
read the same input stand side by side. A click announces the node's stage.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsTextItem,
    QGraphicsView,
    QWidget,
)

from cnnviz.qt.widgets.style import (
    ACCENT,
    BASE_POINT_SIZE,
    DIVERGING,
    NODE_COLORS,
    NODE_EDGE,
    NODE_TEXT,
    SEQUENTIAL,
    color_table,
    format_shape,
    indexed_image,
    quantize,
    scaled_font,
)

BOX_W, BOX_H, THUMB, GAP_X, GAP_Y = 240.0, 104.0, 56.0, 24.0, 34.0  # room for a type of three lines
# Shorter module names so a residual main path fits its box in two lines.
ABBREVIATIONS = (
    ("BatchNorm2d", "BN"),
    ("LocalResponseNorm", "LRN"),
    ("PartialConv2d", "partial conv"),
    ("Conv2d", "conv"),
    (" + ", " · "),
)


def short_type(text: str) -> str:
    """A stage's type for its box: a chain of convolutions each followed by BatchNorm and ReLU
    (an Inception branch) as "conv 1x1 → conv 3x3, each with BN, ReLU", else the abbreviated names."""
    parts = text.split(" + ")
    convs = [i for i, part in enumerate(parts) if part.startswith("Conv2d")]
    if (
        len(convs) > 1
        and len(parts) == 3 * len(convs)
        and all(parts[i + 1 : i + 3] == ["BatchNorm2d", "ReLU"] for i in convs)
    ):
        text = " → ".join(parts[i] for i in convs) + ", each with BN, ReLU"
    for long, short in ABBREVIATIONS:
        text = text.replace(long, short)
    return text


def depths(nodes: list[dict]) -> dict[str, int]:
    """Each node's row: one more than its deepest input (nodes come in drawing order)."""
    depth: dict[str, int] = {}
    for n in nodes:
        depth[n["id"]] = 1 + max((depth[i] for i in n["inputs"]), default=-1)
    return depth


def thumbnail_of(array: np.ndarray) -> np.ndarray | None:
    """A 2-D map to show for a stage's activation: the mean over channels, or None for a vector."""
    a = np.asarray(array, dtype=np.float32)
    if a.ndim == 3 and a.shape[1] * a.shape[2] > 1:
        return a.mean(axis=0)
    if a.ndim == 2:
        return a
    return None


class _NodeItem(QGraphicsRectItem):
    def __init__(self, node: dict, rect: QRectF, font) -> None:
        super().__init__(rect)
        self.node = node
        self.setBrush(QBrush(QColor(NODE_COLORS.get(node["kind"], NODE_COLORS["other"]))))
        self.setPen(QPen(NODE_EDGE, 1))
        self.setToolTip(f"{node['id']}: {node['type']}, output {format_shape(tuple(node['output_shape']))}")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        kind_text = short_type(node["type"])
        width = rect.width() - THUMB - 16
        y = rect.top() + 4
        for k, line in enumerate((node["label"], kind_text, format_shape(tuple(node["output_shape"])))):
            if k == 1:  # the type may wrap onto a second and third line (an Inception branch)
                text = QGraphicsTextItem(line, self)
                self.type_text = text  # PySide drops a QGraphicsTextItem child without a Python reference
                text.setTextWidth(width)
                text.document().setDocumentMargin(0)
                text.setDefaultTextColor(NODE_TEXT)  # the boxes are light in any palette
            else:
                text = QGraphicsSimpleTextItem(line, self)
                text.setBrush(QColor("#212529"))
            text.setFont(scaled_font(font, 1.0, bold=k == 0))
            text.setPos(rect.left() + 8, y)
            y += min(text.boundingRect().height(), 3.6 * QFontMetricsF(text.font()).height())
        self.thumb = QGraphicsPixmapItem(self)
        self.thumb.setPos(rect.right() - THUMB - 6, rect.top() + (rect.height() - THUMB) / 2)
        table = node["details"].get("connection_table")
        if table:  # LeNet-5's C3: which S2 maps (rows) feed which C3 maps (columns)
            cell = 3.0
            x0, y0 = rect.right() - THUMB - 6 - 16 * cell - 8, rect.bottom() - 6 * cell - 6
            for i, row in enumerate(table):
                for j, on in enumerate(row):
                    dot = QGraphicsRectItem(x0 + j * cell, y0 + i * cell, cell - 0.5, cell - 0.5, self)
                    dot.setBrush(QBrush(QColor("#212529") if on else QColor("#ffffff")))
                    dot.setPen(QPen(Qt.PenStyle.NoPen))
            self.setToolTip(self.toolTip() + "; the grid is its S2 → C3 connection table")

    def set_selected_look(self, selected: bool) -> None:
        self.setPen(QPen(ACCENT, 3) if selected else QPen(NODE_EDGE, 1))


class ArchitectureView(QGraphicsView):
    """Boxes and arrows of the current network, each stage with its activation's thumbnail."""

    stageClicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("architectureView")
        self.setAccessibleName("Architecture diagram")
        self.setToolTip("The network built from its own modules; click a box to show that stage's maps")
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.items_by_id: dict[str, _NodeItem] = {}
        self._images: list = []  # the numpy buffers the thumbnails' QImages share
        self.selected: str | None = None

    def set_architecture(self, nodes: list[dict]) -> None:
        """Lay out ``Node.as_dict()`` records: one row per depth, edges from bottom to top."""
        scene = self.scene()
        scene.clear()
        self.items_by_id.clear()
        self.selected = None
        depth = depths(nodes)
        font = QFont(self.font())  # the boxes are sized for the normal type; presentation mode scales the view
        font.setPointSizeF(BASE_POINT_SIZE)
        rows: dict[int, list[dict]] = {}
        for n in nodes:
            rows.setdefault(depth[n["id"]], []).append(n)
        widest = max((len(r) for r in rows.values()), default=1)
        total_w = widest * BOX_W + (widest - 1) * GAP_X
        for d, row in rows.items():
            row_w = len(row) * BOX_W + (len(row) - 1) * GAP_X
            for k, n in enumerate(row):
                x = (total_w - row_w) / 2 + k * (BOX_W + GAP_X)
                item = _NodeItem(n, QRectF(x, d * (BOX_H + GAP_Y), BOX_W, BOX_H), font)
                scene.addItem(item)
                self.items_by_id[n["id"]] = item
        pen = QPen(QColor("#495057"), 1.5)
        for n in nodes:
            end = self.items_by_id[n["id"]].rect()
            for src in n["inputs"]:
                start = self.items_by_id[src].rect()
                path = QPainterPath(QPointF(start.center().x(), start.bottom()))
                mid = (start.bottom() + end.top()) / 2
                path.cubicTo(start.center().x(), mid, end.center().x(), mid, end.center().x(), end.top())
                edge = QGraphicsPathItem(path)
                edge.setPen(pen)
                edge.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent)
                edge.setZValue(-1)
                scene.addItem(edge)
        scene.setSceneRect(scene.itemsBoundingRect().adjusted(-10, -10, 10, 10))

    def set_thumbnails(self, activations: dict[str, np.ndarray]) -> None:
        """Show each stage's activation (C x H x W, or 2-D) in its box; vectors show none."""
        self._images = []
        tables = {signed: color_table(DIVERGING if signed else SEQUENTIAL) for signed in (False, True)}
        for node_id, item in self.items_by_id.items():
            array = activations.get(node_id)
            thumb = thumbnail_of(array) if array is not None else None
            if thumb is None:
                item.thumb.setPixmap(QPixmap())
                continue
            signed = bool((np.asarray(array) < -1e-6).any())  # as the stage's maps are: blue-white-red if signed
            q = quantize(thumb[None], signed=signed)[0][0]
            self._images.append(q)
            image = indexed_image(q, tables[signed]).scaled(int(THUMB), int(THUMB), Qt.AspectRatioMode.KeepAspectRatio)
            item.thumb.setPixmap(QPixmap.fromImage(image))

    def select_stage(self, stage: str | None) -> None:
        """Outline the box of a stage's output (the one whose id is the stage's name)."""
        for node_id, item in self.items_by_id.items():
            item.set_selected_look(node_id == stage)
        self.selected = stage
        if stage in self.items_by_id:
            self.ensureVisible(self.items_by_id[stage])

    def node_at(self, pos) -> dict | None:
        """The node under a viewport position, or None."""
        for item in self.items(pos):
            while item is not None and not isinstance(item, _NodeItem):
                item = item.parentItem()
            if isinstance(item, _NodeItem):
                return item.node
        return None

    def mousePressEvent(self, event) -> None:
        node = self.node_at(event.position().toPoint())
        if node is not None and node["stage"] is not None:
            self.select_stage(node["stage"])
            self.stageClicked.emit(node["stage"])
            event.accept()
            return
        super().mousePressEvent(event)
