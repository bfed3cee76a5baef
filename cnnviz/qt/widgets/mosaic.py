"""A layer's maps tiled into one image: the fast core of the feature-maps and kernels panels.

Speed matters here (a redraw per mouse move), so a layer is one image: its C
maps are tiled into a mosaic at display resolution by a single numpy gather
through an index array that only changes when the layout does, then shown as
an Indexed8 QImage whose colour table is the colormap. No per-map widgets.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from cnnviz.qt.widgets.style import (
    ACCENT,
    DIVERGING,
    GAP_INDEX,
    SEQUENTIAL,
    color_lut,
    quantize,
    rgb32_image,
    scaled_font,
)

MARGIN = 10
BLOCK_SPACING = 14


@dataclass
class _Block:
    name: str
    data: np.ndarray  # C x H x W float32 (vectors as C x 1 x 1)
    is_vector: bool
    title: str = ""
    top: int = 0  # y of the header in widget coordinates
    header_h: int = 0
    scale: int = 1  # display pixels per data pixel (cell size for vectors)
    gap: int = 2
    cols: int = 1
    rows: int = 1
    width: int = 0  # mosaic size
    height: int = 0
    gather: np.ndarray | None = None
    flat: np.ndarray | None = None
    indices: np.ndarray | None = None  # colour-table index per value, C x H x W
    pixels: np.ndarray | None = None  # the mosaic in RGB32; the QImage shares its memory
    image: QImage | None = None
    signed: bool = False
    lo: float = 0.0
    hi: float = 0.0
    labels: list[str] | None = None  # written in the cells of a class-score row
    marked: int | None = None  # the cell outlined in the accent colour (the answer)
    label_w: int = 0  # a labelled row's cells are at least this wide: "Ankle boot" fits whole

    @property
    def channels(self) -> int:
        return self.data.shape[0]

    @property
    def mosaic_top(self) -> int:
        return self.top + self.header_h

    def mosaic_indices(self) -> np.ndarray:
        """The mosaic as colour-table indices (GAP_INDEX between tiles), for inspection."""
        flat = np.append(self.indices.ravel(), np.uint8(GAP_INDEX))
        return flat[self.gather]

    def cell_w(self) -> int:
        return max(self.data.shape[2] * self.scale, self.label_w)

    def cell_h(self) -> int:
        return self.data.shape[1] * self.scale


def as_maps(array: np.ndarray) -> tuple[np.ndarray, bool]:
    """(C,), (C, 1, 1) -> vector; (C, H, W) -> maps. Always returned as C x H x W float32."""
    a = np.asarray(array, dtype=np.float32)
    if a.ndim == 1:
        return a.reshape(-1, 1, 1), True
    if a.ndim == 2:
        a = a[None]
    if a.ndim > 3:
        a = a.reshape(a.shape[0], a.shape[-2], a.shape[-1])
    return a, a.shape[1] == 1 and a.shape[2] == 1


def _gather_index(block: _Block) -> np.ndarray:
    """For each mosaic pixel, the flat index into the block's data (or the gap slot)."""
    c, h, w = block.data.shape
    cw, ch = block.cell_w(), block.cell_h()
    py = np.arange(block.height)
    px = np.arange(block.width)
    ry, iy = py // (ch + block.gap), py % (ch + block.gap)
    rx, ix = px // (cw + block.gap), px % (cw + block.gap)
    valid_y, valid_x = iy < ch, ix < cw
    y = np.minimum(iy // block.scale, h - 1)
    x = np.minimum(ix // block.scale, w - 1)
    channel = ry[:, None] * block.cols + rx[None, :]
    valid = valid_y[:, None] & valid_x[None, :] & (channel < c)
    idx = channel * (h * w) + y[:, None] * w + x[None, :]
    return np.where(valid, idx, c * h * w).astype(np.intp)


class MosaicView(QWidget):
    """Paints named C x H x W arrays as tiled colour maps; hover reads values.

    A click picks one unit (``unitClicked``: stage, channel, y, x; the unit
    inspector explains it); Shift+click or a double-click picks the whole map
    (``mapClicked``: stage, channel; the panel enlarges it).
    """

    hovered = Signal(str)
    mapClicked = Signal(str, int)
    unitClicked = Signal(str, int, int, int)

    def __init__(self, parent: QWidget | None = None, per_map: bool = False, force_signed: bool | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self._blocks: list[_Block] = []
        self._per_map = per_map
        self._force_signed = force_signed
        self._fit: QSize | None = None  # single-layer mode: fit this viewport
        self._layout_width = -1
        self._empty_text = ""
        self.paint_count = 0  # for the benchmark: frames actually painted

    # -- data -------------------------------------------------------------------------
    def set_arrays(
        self,
        arrays: OrderedDict[str, np.ndarray] | None,
        titles: dict[str, str] | None = None,
        labels: dict[str, tuple[list[str], int | None]] | None = None,
    ) -> None:
        """Show ``arrays`` (stage -> C x H x W or (C,)); ``titles`` replace the headers' descriptions;
        ``labels`` name the cells of a vector stage (the class scores) and mark one (the answer)."""
        if not arrays:
            self._blocks = []
            self._layout_width = -1
            self._relayout()
            self.update()
            return
        items = [(name, *as_maps(a)) for name, a in arrays.items()]
        same = len(items) == len(self._blocks) and all(
            b.name == n and b.data.shape == d.shape for b, (n, d, _) in zip(self._blocks, items, strict=True)
        )
        if same:
            for b, (_, d, _) in zip(self._blocks, items, strict=True):
                b.data = d
        else:
            self._blocks = [_Block(n, d, v) for n, d, v in items]
            self._layout_width = -1
        for b in self._blocks:
            b.title = (titles or {}).get(b.name, "")
            b.labels, b.marked = (labels or {}).get(b.name, (None, None))
        if not same:
            self._relayout()
        for b in self._blocks:
            self._colorize(b)
        self.update()

    def set_per_map(self, per_map: bool) -> None:
        self._per_map = per_map
        for b in self._blocks:
            self._colorize(b)
        self.update()

    def set_fit(self, size: QSize | None) -> None:
        """Fit the (single) layer into ``size`` instead of a scrolling column of layers."""
        if size != self._fit:
            self._fit = size
            self._layout_width = -1
            self._relayout()
            for b in self._blocks:
                self._colorize(b)
            self.update()

    def set_empty_text(self, text: str) -> None:
        self._empty_text = text
        self.update()

    def block_names(self) -> list[str]:
        return [b.name for b in self._blocks]

    def block(self, name: str) -> _Block | None:
        return next((b for b in self._blocks if b.name == name), None)

    def _colorize(self, b: _Block) -> None:
        if b.gather is None:
            return
        b.indices, b.signed, b.lo, b.hi = quantize(b.data, self._per_map and not b.is_vector, self._force_signed)
        lut = color_lut(DIVERGING if b.signed else SEQUENTIAL, self.palette().base().color().rgba())
        # Colour the C*H*W values first, then one gather tiles them at display size.
        b.flat[:-1] = lut[b.indices.ravel()]
        b.flat[-1] = lut[GAP_INDEX]
        np.take(b.flat, b.gather, out=b.pixels)  # in place: the QImage keeps pointing at it
        if b.image is None:
            b.image = rgb32_image(b.pixels)

    # -- layout -----------------------------------------------------------------------
    def _header_height(self) -> int:
        return int(self.fontMetrics().height() * 1.5) + 2

    def _choose(self, b: _Block, avail_w: int, avail_h: int | None) -> None:
        c, h, w = b.data.shape
        font_scale = max(1.0, self.font().pointSizeF() / 12.0)
        b.gap = 2 if not b.is_vector else 1
        if b.is_vector:
            # A labelled score row gets cells its class names fit in (wider than tall for "Ankle boot").
            natural = int(min(36, 30 * font_scale)) if b.labels else int(min(22, max(9, 18 * font_scale)))
            b.label_w = self._label_width(b.labels, avail_w) if b.labels else 0
            candidates = range(64, 3, -1) if avail_h else [natural]
        elif avail_h:
            candidates = range(max(1, 360 // max(h, w)), 0, -1)
        else:
            # Fill the width: a handful of maps per row for small layers, more for wide ones.
            per_row = min(c, 8 if c <= 16 else 12 if c <= 64 else 16)
            cell = (avail_w + 3) / per_row - 3  # 3 = the widest gap
            cell = min(max(cell, 28 * font_scale), 110 * font_scale)
            candidates = [max(1, int(cell // max(h, w)))]
        for k in candidates:
            self._set_scale(b, k, avail_w)
            if avail_h is None or b.rows * (b.cell_h() + b.gap) - b.gap <= avail_h:
                break
        self._even_out(b)

    def _label_width(self, labels: list[str], avail_w: int) -> int:
        """The widest class name in the cells' font, with room for the outline; never wider than the column."""
        metrics = QFontMetrics(scaled_font(self.font(), 0.8, bold=True))
        return min(avail_w, max(metrics.horizontalAdvance(text) for text in labels) + 10)

    @staticmethod
    def _set_scale(b: _Block, k: int, avail_w: int) -> None:
        b.scale = k
        if not b.is_vector and k >= 6:
            b.gap = 3
        b.cols = max(1, min(b.channels, (avail_w + b.gap) // (b.cell_w() + b.gap)))
        b.rows = math.ceil(b.channels / b.cols)

    @staticmethod
    def _even_out(b: _Block) -> None:
        # Even columns out: 16 maps as 8 x 2, not 14 + 2.
        b.cols = math.ceil(b.channels / b.rows)
        b.width = b.cols * (b.cell_w() + b.gap) - b.gap
        b.height = b.rows * (b.cell_h() + b.gap) - b.gap

    def _no_map_smaller_than_a_later_one(self, avail_w: int) -> None:
        """A 28x28 stem of 64 maps would get the smallest cells and look coarser than the 7x7 maps
        after it. One pixel size for all layers would make those late maps specks, so the rule is:
        no layer's maps are drawn smaller than a later layer's (more rows instead)."""
        largest_later = 0
        for b in reversed(self._blocks):
            if b.is_vector:
                continue
            side = max(b.data.shape[1:])
            if side * b.scale < largest_later:
                self._set_scale(b, math.ceil(largest_later / side), avail_w)
                self._even_out(b)
            largest_later = max(largest_later, side * b.scale)

    def _relayout(self) -> None:
        width = self.width() if self._fit is None else self._fit.width()
        avail_w = max(40, width - 2 * MARGIN)
        header = self._header_height()
        y = MARGIN
        for b in self._blocks:
            avail_h = None
            if self._fit is not None and len(self._blocks) == 1:
                avail_h = max(20, self._fit.height() - header - 2 * MARGIN)
            self._choose(b, avail_w, avail_h)
        if self._fit is None:
            self._no_map_smaller_than_a_later_one(avail_w)
        for b in self._blocks:
            b.top, b.header_h = y, header
            b.gather = _gather_index(b)
            b.flat = np.zeros(b.data.size + 1, dtype=np.uint32)
            b.pixels = np.zeros(b.gather.shape, dtype=np.uint32)
            b.image = None
            y += header + b.height + BLOCK_SPACING
        self._layout_width = self.width()
        total = y if self._blocks else 0
        self.setMinimumHeight(max(total, 60))
        self.updateGeometry()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit is None and event.size().width() != self._layout_width and self._blocks:
            self._relayout()
            for b in self._blocks:
                self._colorize(b)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.FontChange and self._blocks:
            self._layout_width = -1
            self._relayout()
            for b in self._blocks:
                self._colorize(b)

    def sizeHint(self) -> QSize:
        return QSize(600, self.minimumHeight())

    # -- painting ---------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        self.paint_count += 1
        p = QPainter(self)
        clip = event.rect()
        p.fillRect(clip, self.palette().base())
        if not self._blocks:
            if self._empty_text:
                p.setPen(self.palette().placeholderText().color())
                p.setFont(scaled_font(self.font(), 1.3))
                p.drawText(
                    self.rect().adjusted(20, 20, -20, -20),
                    Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                    self._empty_text,
                )
            p.end()
            return
        bold = scaled_font(self.font(), 1.1, bold=True)
        small = scaled_font(self.font(), 0.9)
        for b in self._blocks:
            if b.top > clip.bottom() or b.mosaic_top + b.height < clip.top():
                continue
            header = QRect(MARGIN, b.top, max(10, self.width() - 2 * MARGIN), b.header_h)
            p.setFont(bold)
            p.setPen(self.palette().text().color())
            name_w = p.fontMetrics().horizontalAdvance(b.name + "   ")
            p.drawText(header, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, b.name)
            p.setFont(small)
            p.setPen(self.palette().placeholderText().color().darker(130))
            room = header.adjusted(name_w, 0, 0, 0)
            # A narrow column drops the value range (the hover read-out has the values), never cuts a number.
            metrics, desc = p.fontMetrics(), b.title or self._describe(b)
            if metrics.horizontalAdvance(desc) > room.width() and not b.title:
                desc = desc.split("   ·   ")[0]
            desc = metrics.elidedText(desc, Qt.TextElideMode.ElideRight, room.width())
            p.drawText(room, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, desc)
            if b.image is not None:
                p.drawImage(QPoint(MARGIN, b.mosaic_top), b.image)
            if b.labels:
                self._paint_labels(p, b)
        p.end()

    def _paint_labels(self, p: QPainter, b: _Block) -> None:
        """Class names in the cells of a score row, dark or light against each cell, the answer outlined."""
        p.setFont(scaled_font(self.font(), 0.8, bold=True))
        w, h = b.cell_w(), b.cell_h()
        for i, text in enumerate(b.labels[: b.channels]):
            centre = self.cell_center(b.name, i)
            rect = QRect(centre.x() - w // 2, centre.y() - h // 2, w, h)
            level = int(b.indices.ravel()[i]) if b.indices is not None else 0
            p.setPen(
                Qt.GlobalColor.black if 90 < level < 200 or (not b.signed and level >= 150) else Qt.GlobalColor.white
            )
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
            if i == b.marked:
                p.setPen(QPen(ACCENT, 3))
                p.drawRect(rect.adjusted(-2, -2, 1, 1))

    @staticmethod
    def _describe(b: _Block) -> str:
        c, h, w = b.data.shape
        what = f"{c} values" if b.is_vector else f"{c} map{'s' if c != 1 else ''} of {h}×{w}"
        return f"{what}   ·   {b.lo:.2f} … {b.hi:.2f}"

    # -- hover and click --------------------------------------------------------------
    def hit(self, pos: QPoint) -> tuple[_Block, int, int, int] | None:
        """(block, channel, y, x) under a widget position, or None."""
        for b in self._blocks:
            y = pos.y() - b.mosaic_top
            x = pos.x() - MARGIN
            if 0 <= y < b.height and 0 <= x < b.width:
                r, iy = divmod(y, b.cell_h() + b.gap)
                c, ix = divmod(x, b.cell_w() + b.gap)
                if iy >= b.cell_h() or ix >= b.cell_w():
                    return None
                channel = r * b.cols + c
                if channel >= b.channels:
                    return None
                h, w = b.data.shape[1:]
                return b, channel, min(iy // b.scale, h - 1), min(ix // b.scale, w - 1)
        return None

    def cell_center(self, name: str, channel: int) -> QPoint:
        """Widget position of the middle of one map (for tests and scripted clicks)."""
        b = self.block(name)
        r, c = divmod(channel, b.cols)
        return QPoint(
            MARGIN + c * (b.cell_w() + b.gap) + b.cell_w() // 2,
            b.mosaic_top + r * (b.cell_h() + b.gap) + b.cell_h() // 2,
        )

    def describe_at(self, pos: QPoint) -> str:
        hit = self.hit(pos)
        if hit is None:
            return ""
        b, ch, y, x = hit
        value = float(b.data[ch, y, x])
        if b.is_vector:
            return f"{b.name}  ·  unit {ch}  ·  value {value:.3f}"
        return f"{b.name}  ·  channel {ch}  ·  pixel (row {y}, col {x})  ·  value {value:.3f}"

    def mouseMoveEvent(self, event) -> None:
        text = self.describe_at(event.position().toPoint())
        self.hovered.emit(text)
        if text:
            QToolTip.showText(event.globalPosition().toPoint(), text, self)
        else:
            QToolTip.hideText()

    def leaveEvent(self, event) -> None:
        self.hovered.emit("")
        super().leaveEvent(event)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            hit = self.hit(event.position().toPoint())
            if hit is not None:
                b, channel, y, x = hit
                if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                    self.mapClicked.emit(b.name, channel)
                else:
                    self.unitClicked.emit(b.name, channel, y, x)
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        # Also enlarges when the inspector sits beside the maps (a tab in front of them takes the second press).
        hit = self.hit(event.position().toPoint()) if event.button() == Qt.MouseButton.LeftButton else None
        if hit is not None:
            self.mapClicked.emit(hit[0].name, hit[1])
            event.accept()
            return
        super().mouseDoubleClickEvent(event)
