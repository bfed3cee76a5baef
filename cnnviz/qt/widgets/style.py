"""Shared look: fonts sized for a projector, colormaps as QImage lookup tables."""

from __future__ import annotations

import functools
import importlib.util
import os

import numpy as np
from PySide6.QtGui import QColor, QFont, QImage, QPixmap

# A projected classroom screen is read from 10 m away: start large.
BASE_POINT_SIZE = 12.0
PRESENTATION_SCALE = 1.4

# Index 255 of every lookup table is the background between tiles.
GAP_INDEX = 255
GAP_COLOR = QColor("#2b2b2b")
ACCENT = QColor("#e8590c")  # the predicted class, the highlighted C3 inputs
BAR_COLOR = QColor("#4c6ef5")
ERROR_COLOR = QColor("#c62828")
ERROR_STYLE = f"color: {ERROR_COLOR.name()}; font-weight: bold;"  # a label that must be noticed
# The architecture diagram's boxes by kind (light, so dark text reads on them in any palette).
NODE_COLORS = {
    "image": "#e9ecef", "stage": "#dbe4ff", "branch": "#d3f9d8", "concat": "#b2f2bb",
    "main": "#ffe8cc", "skip": "#fff3bf", "add": "#ffd8a8", "other": "#dee2e6",
}  # fmt: skip
NODE_EDGE, NODE_TEXT = QColor("#495057"), QColor("#212529")
# Training curves (RGB(A) tuples, as pyqtgraph pens take them).
CURVE_COLORS = {
    "blue": (40, 110, 240),
    "light_blue": (90, 150, 255, 70),
    "orange": (230, 120, 20),
    "green": (40, 170, 90),
    "grey": (150, 150, 150),
}

# Sequential map for activations that are never negative (after ReLU),
# diverging map (blue < 0 < red) for signed ones (tanh squash, weights).
SEQUENTIAL = "viridis"
DIVERGING = "CET-D1"


def widget_pixmap(widget) -> QPixmap:
    """An unfilled pixmap of ``widget``'s size at its screen's pixel ratio: a layer painted once, blitted per paint."""
    dpr = widget.devicePixelRatioF()
    pixmap = QPixmap(max(1, round(widget.width() * dpr)), max(1, round(widget.height() * dpr)))
    pixmap.setDevicePixelRatio(dpr)
    return pixmap


def scaled_font(font: QFont, factor: float, bold: bool = False) -> QFont:
    f = QFont(font)
    size = font.pointSizeF() if font.pointSizeF() > 0 else BASE_POINT_SIZE
    f.setPointSizeF(size * factor)
    f.setBold(bold)
    return f


@functools.lru_cache(maxsize=16)
def color_table(name: str, gap: int | None = None) -> tuple[int, ...]:
    """256 ARGB entries for ``QImage.setColorTable``: 255 colours, then the gap colour (ARGB int)."""
    lut = _lookup_table(name, 255)
    table = [0xFF000000 | (int(r) << 16) | (int(g) << 8) | int(b) for r, g, b in lut]
    table.append(GAP_COLOR.rgba() if gap is None else int(gap))
    return tuple(table)


def _lookup_table(name: str, points: int) -> np.ndarray:
    """pyqtgraph's ``colormap.get(name).getLookupTable(nPts=points, mode="byte")``, byte for byte, read from
    its colour file without importing pyqtgraph (~1 s at start-up, before the first feature map could show)."""
    folder = importlib.util.find_spec("pyqtgraph").submodule_search_locations[0]
    stops = []
    with open(os.path.join(folder, "colors", "maps", f"{name}.csv"), encoding="utf-8") as fh:
        for line in fh:
            parts = line.strip().split(";", 1)[0].split(",")
            if len(parts) >= 3:
                stops.append([int(255 * float(c) + 0.5) for c in parts[:3]])
    colors = np.asarray(stops, np.float64)
    where, x = np.linspace(0.0, 1.0, len(colors)), np.linspace(0.0, 1.0, points)
    return np.stack([np.interp(x, where, colors[:, k]) for k in range(3)], 1).astype(np.uint8)


def color_of(name: str, t: float) -> QColor:
    """Colour of value ``t`` in [0, 1] on a colormap (for legends)."""
    return QColor.fromRgba(color_table(name)[int(round(min(max(t, 0.0), 1.0) * 254))])


def quantize(
    data: np.ndarray, per_map: bool = False, signed: bool | None = None
) -> tuple[np.ndarray, bool, float, float]:
    """Map a C x H x W array to colour indices 0..254.

    Signed data is scaled symmetrically (0 lands mid-table, on white in the
    diverging map); non-negative data from 0 to its maximum. With ``per_map``
    each channel gets its own scale, so weak maps still show their pattern.
    Returns (indices uint8, signed, min, max).
    """
    lo, hi = float(data.min()), float(data.max())
    if signed is None:
        signed = lo < -1e-6
    if per_map and data.ndim == 3:
        axes = (1, 2)
        m = np.abs(data).max(axis=axes, keepdims=True) if signed else data.max(axis=axes, keepdims=True)
    else:
        m = max(abs(lo), abs(hi)) if signed else hi
    m = np.maximum(m, 1e-8)
    if signed:
        t = data / m * 127.0 + 127.0
    else:
        t = data / m * 254.0
    return np.clip(t, 0, 254).astype(np.uint8), signed, lo, hi


@functools.lru_cache(maxsize=16)
def color_lut(name: str, gap: int | None = None) -> np.ndarray:
    """The colour table as a uint32 numpy array, for ``lut[indices]`` -> RGB32 pixels."""
    return np.array(color_table(name, gap), dtype=np.uint32)


def rgb32_image(pixels: np.ndarray) -> QImage:
    """An RGB32 QImage sharing a (H, W) uint32 array's memory: keep the array alive.

    Colouring in numpy and handing Qt ready RGB32 pixels makes painting a
    plain blit; an Indexed8 image would be converted on every paint.
    """
    pixels = np.ascontiguousarray(pixels, dtype=np.uint32)
    h, w = pixels.shape
    return QImage(pixels.data, w, h, 4 * w, QImage.Format.Format_RGB32)


def indexed_image(indices: np.ndarray, table: tuple[int, ...]) -> QImage:
    """An Indexed8 QImage that shares ``indices``' memory: keep the array alive."""
    indices = np.ascontiguousarray(indices, dtype=np.uint8)
    h, w = indices.shape
    img = QImage(indices.data, w, h, w, QImage.Format.Format_Indexed8)
    img.setColorTable(list(table))
    return img


def gray_image(values: np.ndarray) -> QImage:
    """A Grayscale8 copy of a 2-D float array in [0, 1] (or uint8)."""
    if values.dtype != np.uint8:
        values = (np.clip(values, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    values = np.ascontiguousarray(values)
    h, w = values.shape
    return QImage(values.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def qimage_to_gray(img: QImage) -> np.ndarray:
    """A Grayscale8 QImage -> a (H, W) uint8 numpy copy (scanline padding removed)."""
    if img.format() != QImage.Format.Format_Grayscale8:
        img = img.convertToFormat(QImage.Format.Format_Grayscale8)
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=h * bpl)
    return buf.reshape(h, bpl)[:, :w].copy()


def format_shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(s) for s in shape)


def rgba_image(rgba: np.ndarray) -> QImage:
    """An H x W x 4 uint8 array as a QImage that owns a copy of the pixels."""
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


OUTLINE_PEN = 3  # the outline's pen width, px


class OverlayMixin:
    """A heat picture and an outlined box laid over a widget's square picture (the canvas, the model
    input): mix in before ``QWidget`` and call ``paint_overlay`` after drawing the picture."""

    OUTLINE_UNITS = 1.0  # the outline box's units per side of the square (28: input pixels)
    _heat: QImage | None = None
    _outline: tuple[float, float, float, float] | None = None

    def set_heat(self, rgba: np.ndarray | None) -> None:
        """An RGBA (H x W x 4 uint8) picture laid over the whole square, or None."""
        # Premultiplied once here: every repaint then blends it on the fast path.
        self._heat = (
            None if rgba is None else rgba_image(rgba).convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
        )
        self.update()

    def set_outline(self, box: tuple[float, float, float, float] | None) -> None:
        """A rectangle (top, left, bottom, right, in ``OUTLINE_UNITS`` per side), or None."""
        old, self._outline = self._outline, box
        square = self.overlay_square()
        if old is None or box is None or square is None:
            self.update()
            return
        # The box moves with every answer (each stroke re-crops the drawing): repaint where it was and where
        # it goes, not the whole canvas (issue 23: a whole repaint, ~0.2 ms, on each answer that moved it).
        moved = self._outline_rect(old, square).united(self._outline_rect(box, square))
        self.update(moved.toAlignedRect().adjusted(-OUTLINE_PEN, -OUTLINE_PEN, OUTLINE_PEN, OUTLINE_PEN))

    def overlay_square(self):
        """Where the picture is, as ``paint_overlay`` gets it (a QRectF), or None: an outline repaints it all."""
        return None

    def _outline_rect(self, box, square):
        from PySide6.QtCore import QRectF

        top, left, bottom, right = (v / self.OUTLINE_UNITS for v in box)
        return QRectF(square.x() + left * square.width(), square.y() + top * square.height(),
                      (right - left) * square.width(), (bottom - top) * square.height())  # fmt: skip

    def paint_overlay(self, p, square) -> None:
        from PySide6.QtGui import QPen

        if self._heat is not None:
            p.drawImage(square, self._heat)
        if self._outline is not None:
            p.setPen(QPen(ACCENT, OUTLINE_PEN))
            p.setBrush(QColor(0, 0, 0, 0))
            p.drawRect(self._outline_rect(self._outline, square))
