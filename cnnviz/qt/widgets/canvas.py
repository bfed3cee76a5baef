"""The drawing canvas: smooth white-on-black strokes, emitted as a numpy image.

Strokes are kept as points in canvas units (0..1 across the square), so the
drawing survives a resize and undo can redraw without the last stroke. Each
new point is painted incrementally into two images: one at the widget's
resolution (what you see) and one at 280 x 280 (what the model gets, ten
times MNIST's 28 x 28).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnviz.qt.widgets.style import OverlayMixin, gray_image, qimage_to_gray, scaled_font

MODEL_SIZE = 280  # pixels of the image handed to preprocessing
DEFAULT_BRUSH = 20  # in MODEL_SIZE pixels: MNIST strokes are ~2 px of 28
MIN_BRUSH, MAX_BRUSH = 4, 60


@dataclass
class _Stroke:
    # (x, y, width) with x, y in 0..1 of the square and width as a fraction of its side
    points: list[tuple[float, float, float]] = field(default_factory=list)


@dataclass
class _Picture:
    image: QImage  # MODEL_SIZE x MODEL_SIZE Grayscale8, white ink on black


def _mid(a, b):
    return ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, (a[2] + b[2]) / 2)


class DrawingCanvas(OverlayMixin, QWidget):
    """A square drawing area. ``drawingChanged`` carries a (280, 280) uint8 array, ink = 255."""

    drawingChanged = Signal(object)
    cleared = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setAccessibleName("Drawing canvas")
        self.setToolTip(
            "Draw a digit here with the mouse or a pen.\nEsc or Delete clears, Ctrl+Z undoes the last stroke."
        )
        self.setMinimumSize(160, 160)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(Qt.WidgetAttribute.WA_TabletTracking)

        self.brush_size = DEFAULT_BRUSH
        self._items: list[_Stroke | _Picture] = []  # undo history, oldest first
        self._cleared: list[list] = []  # drawings wiped by clear(), for undo
        self._stroke: _Stroke | None = None  # the stroke being drawn
        self._model_image = self._blank(MODEL_SIZE)
        self._view_image = self._blank(1)
        self._hint = "Draw here"

    # -- public API -------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(300, 300)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def set_brush_size(self, size: int) -> None:
        self.brush_size = int(min(max(size, MIN_BRUSH), MAX_BRUSH))

    def image_array(self) -> np.ndarray:
        """The drawing as a (280, 280) uint8 array: white (255) ink on black."""
        return qimage_to_gray(self._model_image)

    def is_empty(self) -> bool:
        return not self._items and self._stroke is None

    def stroke_count(self) -> int:
        return sum(isinstance(i, _Stroke) for i in self._items)

    def clear(self) -> None:
        """Clear the canvas; undo brings the cleared drawing back (an Esc too many costs nothing)."""
        if self._items:
            self._cleared.append(list(self._items))
        self._items.clear()
        self._stroke = None
        self._rerender()
        self.cleared.emit()
        self.drawingChanged.emit(self.image_array())

    def undo(self) -> bool:
        """Undo the last stroke, picture or clear; False when there is nothing to undo."""
        if self._stroke is not None:
            return False
        if self._items:  # strokes drawn since the last clear go first, then the clear itself
            self._items.pop()
        elif self._cleared:
            self._items = self._cleared.pop()
        else:
            return False
        self._rerender()
        if not self._items:
            self.cleared.emit()
        self.drawingChanged.emit(self.image_array())
        return True

    def set_picture(self, image: np.ndarray) -> None:
        """Put a picture on the canvas (2-D array, float in [0, 1] or uint8; white ink on black).

        It is scaled to fill the square; strokes drawn afterwards go on top and
        undo removes them first, then the picture.
        """
        small = gray_image(np.asarray(image))
        big = small.scaled(
            MODEL_SIZE, MODEL_SIZE, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
        ).convertToFormat(QImage.Format.Format_Grayscale8)
        self._stroke = None
        self._items.append(_Picture(big))
        self._rerender()
        self.drawingChanged.emit(self.image_array())

    def drawing_items(self) -> list:
        """The drawing as plain data, oldest first: a stroke is a list of (x, y, width) in canvas
        units, a picture a (280, 280) uint8 array (what a lesson's scene keeps)."""
        return [qimage_to_gray(i.image) if isinstance(i, _Picture) else [tuple(p) for p in i.points]
                for i in self._items]  # fmt: skip

    def set_drawing_items(self, items: list) -> None:
        """Replace the drawing with ``drawing_items()``'s data (a scene shown again); the old one can be undone."""
        if self._items:
            self._cleared.append(list(self._items))
        self._stroke = None
        self._items = []
        for item in items:
            if isinstance(item, np.ndarray):
                big = gray_image(item).scaled(MODEL_SIZE, MODEL_SIZE).convertToFormat(QImage.Format.Format_Grayscale8)
                self._items.append(_Picture(big))
            else:
                self._items.append(_Stroke([(float(x), float(y), float(w)) for x, y, w in item]))
        self._rerender()
        if not self._items:
            self.cleared.emit()
        self.drawingChanged.emit(self.image_array())

    # -- stroke input --------------------------------------------------------------
    def _square(self) -> QRectF:
        side = min(self.width(), self.height())
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def widget_point(self, u: float, v: float) -> QPointF:
        """The widget position of (u, v), given in fractions (0..1) of the drawing square."""
        sq = self._square()
        return QPointF(sq.x() + u * sq.width(), sq.y() + v * sq.height())

    def _to_unit(self, pos: QPointF, pressure: float = 1.0) -> tuple[float, float, float]:
        sq = self._square()
        side = max(sq.width(), 1.0)
        width = self.brush_size / MODEL_SIZE * (0.3 + 0.7 * min(max(pressure, 0.0), 1.0))
        return ((pos.x() - sq.x()) / side, (pos.y() - sq.y()) / side, width)

    def begin_stroke(self, pos: QPointF, pressure: float = 1.0) -> None:
        hint_shown = self.is_empty()
        self._stroke = _Stroke([self._to_unit(pos, pressure)])
        self._paint_step(self._stroke, 0)
        if hint_shown:
            self.update()  # the hint text goes: repaint all of it, not only under the first dot
        self.drawingChanged.emit(self.image_array())

    def extend_stroke(self, pos: QPointF, pressure: float = 1.0) -> None:
        if self._stroke is None:
            return
        p = self._to_unit(pos, pressure)
        last = self._stroke.points[-1]
        # Sub-pixel jitter adds nothing but work.
        if abs(p[0] - last[0]) + abs(p[1] - last[1]) < 0.5 / MODEL_SIZE:
            return
        self._stroke.points.append(p)
        self._paint_step(self._stroke, len(self._stroke.points) - 1)
        self.drawingChanged.emit(self.image_array())

    def end_stroke(self) -> None:
        if self._stroke is None:
            return
        stroke, self._stroke = self._stroke, None
        self._paint_step(stroke, len(stroke.points), final=True)
        self._items.append(stroke)
        self.drawingChanged.emit(self.image_array())

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.setFocus(Qt.FocusReason.MouseFocusReason)
            self.begin_stroke(event.position())
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        # A stroke runs from press to release; the move's button state is not
        # consulted because synthetic (test, accessibility) moves may omit it.
        if self._stroke is not None:
            self.extend_stroke(event.position())
            event.accept()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._stroke is not None:
            self.extend_stroke(event.position())
            self.end_stroke()
            event.accept()

    def tabletEvent(self, event) -> None:
        kind = event.type()
        pressure = event.pressure()
        if kind == QEvent.Type.TabletPress:
            self.begin_stroke(event.position(), pressure)
        elif kind == QEvent.Type.TabletMove:
            if self._stroke is not None:
                self.extend_stroke(event.position(), pressure)
        elif kind == QEvent.Type.TabletRelease:
            self.end_stroke()
        event.accept()  # no synthesized mouse events on top

    # -- rendering ------------------------------------------------------------------
    @staticmethod
    def _blank(side: int) -> QImage:
        img = QImage(max(side, 1), max(side, 1), QImage.Format.Format_Grayscale8)
        img.fill(0)
        return img

    def _view_side(self) -> int:
        return max(1, int(round(min(self.width(), self.height()) * self.devicePixelRatioF())))

    def _painters(self):
        painters = []
        for img in (self._model_image, self._view_image):
            p = QPainter(img)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            painters.append((p, img.width()))
        return painters

    @staticmethod
    def _draw_step(p: QPainter, side: int, pts: list, i: int, final: bool) -> QRectF:
        """Draw piece ``i`` of a stroke (quadratic smoothing through midpoints); returns its bounds.

        Piece 0 is a dot; piece 1 a line to the first midpoint; piece k a quadratic
        from midpoint k-2 through point k-1 to midpoint k-1; the final piece a line
        from the last midpoint to the last point.
        """

        def xy(q):
            return QPointF(q[0] * side, q[1] * side)

        path = QPainterPath()
        if i == 0 and not final:
            a = pts[0]
            pen_w = a[2] * side
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QBrush(QColor(255, 255, 255)))
            p.drawEllipse(xy(a), pen_w / 2, pen_w / 2)
            return QRectF(xy(a), xy(a)).adjusted(-pen_w, -pen_w, pen_w, pen_w)
        n = len(pts)
        if final:
            if n < 2:
                return QRectF()
            start, end, ctrl = _mid(pts[-2], pts[-1]), pts[-1], None
        elif i == 1:
            start, end, ctrl = pts[0], _mid(pts[0], pts[1]), None
        else:
            start, ctrl, end = _mid(pts[i - 2], pts[i - 1]), pts[i - 1], _mid(pts[i - 1], pts[i])
        path.moveTo(xy(start))
        if ctrl is None:
            path.lineTo(xy(end))
        else:
            path.quadTo(xy(ctrl), xy(end))
        pen_w = max(0.5, (start[2] + end[2]) / 2 * side)
        pen = QPen(
            QColor(255, 255, 255), pen_w, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin
        )
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(path)
        return path.boundingRect().adjusted(-pen_w, -pen_w, pen_w, pen_w)

    def _paint_step(self, stroke: _Stroke, i: int, final: bool = False) -> None:
        dirty = QRectF()
        for p, side in self._painters():
            r = self._draw_step(p, side, stroke.points, i, final)
            p.end()
            if side == self._view_image.width():
                dirty = r
        if not dirty.isEmpty():
            dpr = self.devicePixelRatioF()
            sq = self._square()
            widget_rect = QRectF(
                sq.x() + dirty.x() / dpr, sq.y() + dirty.y() / dpr, dirty.width() / dpr, dirty.height() / dpr
            )
            self.update(widget_rect.toAlignedRect().adjusted(-2, -2, 2, 2))

    def _render_all(self, img: QImage) -> None:
        img.fill(0)
        side = img.width()
        start = 0
        for k in range(len(self._items) - 1, -1, -1):
            if isinstance(self._items[k], _Picture):
                start = k
                break
        p = QPainter(img)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        for item in self._items[start:]:
            if isinstance(item, _Picture):
                p.drawImage(QRectF(0, 0, side, side), item.image)
                continue
            pts = item.points
            for i in range(len(pts)):
                self._draw_step(p, side, pts, i, False)
            self._draw_step(p, side, pts, len(pts), True)
        p.end()

    def _rerender(self) -> None:
        self._model_image = self._blank(MODEL_SIZE)
        self._render_all(self._model_image)
        self._view_image = self._blank(self._view_side())
        self._render_all(self._view_image)
        self.update()

    def resizeEvent(self, event) -> None:
        if self._view_image.width() != self._view_side():
            self._view_image = self._blank(self._view_side())
            self._render_all(self._view_image)
        super().resizeEvent(event)

    def overlay_square(self):
        return self._square()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(event.rect(), self.palette().window())
        sq = self._square()
        # The image holds device pixels (it has no device pixel ratio, so strokes
        # are drawn in its own pixels); the target rect maps them 1:1 on HiDPI.
        p.drawImage(sq, self._view_image)
        self.paint_overlay(p, sq)  # attribution heat, receptive field (outline in fractions of the square)
        if self.is_empty():
            p.setPen(QColor(150, 150, 150))
            p.setFont(scaled_font(self.font(), 1.6))
            p.drawText(sq, Qt.AlignmentFlag.AlignCenter, self._hint)
        p.setPen(QPen(QColor(120, 120, 120), 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(sq.toAlignedRect().adjusted(0, 0, -1, -1))
        p.end()


class CanvasPanel(QWidget):
    """The canvas with its brush control, the buttons the main window adds, and the true label."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvasPanel")
        self.setAccessibleName("Drawing panel")
        self.canvas = DrawingCanvas(self)

        self.brush_slider = QSlider(Qt.Orientation.Horizontal)
        self.brush_slider.setObjectName("brushSize")
        self.brush_slider.setAccessibleName("Brush size")
        self.brush_slider.setRange(MIN_BRUSH, MAX_BRUSH)
        self.brush_slider.setValue(DEFAULT_BRUSH)
        self.brush_slider.setToolTip("Brush size in canvas pixels (the canvas is 280 px wide for the model)")
        self.brush_spin = QSpinBox()
        self.brush_spin.setObjectName("brushSizeSpin")
        self.brush_spin.setAccessibleName("Brush size value")
        self.brush_spin.setRange(MIN_BRUSH, MAX_BRUSH)
        self.brush_spin.setValue(DEFAULT_BRUSH)
        self.brush_spin.setToolTip(self.brush_slider.toolTip())
        self.brush_slider.valueChanged.connect(self.brush_spin.setValue)
        self.brush_spin.valueChanged.connect(self.brush_slider.setValue)
        self.brush_slider.valueChanged.connect(self.canvas.set_brush_size)

        brush_row = QHBoxLayout()
        brush_label = QLabel("Brush")
        brush_label.setToolTip(self.brush_slider.toolTip())
        brush_row.addWidget(brush_label)
        brush_row.addWidget(self.brush_slider, 1)
        brush_row.addWidget(self.brush_spin)

        self.button_grid = QGridLayout()
        self.button_grid.setSpacing(4)

        self.true_label = QLabel("")
        self.true_label.setObjectName("trueLabel")
        self.true_label.setAccessibleName("True label of the test image")
        self.true_label.setToolTip("The label a person gave this test image")
        self.true_label.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(brush_row)
        layout.addLayout(self.button_grid)
        layout.addWidget(self.true_label)
        self.canvas.cleared.connect(lambda: self.true_label.setText(""))

    def set_brush_size(self, size: int) -> None:
        self.brush_slider.setValue(int(size))

    def follow(self, state) -> None:
        """Subscribe to the app's state: the heat picture laid over the drawing square."""
        state.heatChanged.connect(lambda _input_rgba, drawing_rgba: self.canvas.set_heat(drawing_rgba))

    def set_true_label(self, text: str) -> None:
        self.true_label.setText(text)
