"""The confusion matrix of the weights on screen: a count in every cell, and every cell a way in.

Rows are the true class, columns the predicted one; a last column gives each
class's accuracy (its diagonal share). Every cell shows its count (or, as an
option, its share of the row in %) in a font fitted to the cell with
``QFontMetrics``: as large as the widget's font (so it grows in presentation
mode) and shrunk until the widest number fits, never spilling into a
neighbour. Clicking a cell, or Enter on the keyboard-selected one, emits
``cellActivated(true, predicted)``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from cnnviz.qt.widgets.style import ACCENT, color_of

__all__ = ["ConfusionMatrix"]

FIT = 0.94  # the share of a cell's width and height a number may take (a little air either side)
MIN_POINT_SIZE = 5.0  # below this a number is unreadable: the cell stays a colour only
SEQUENTIAL = "viridis"


class ConfusionMatrix(QWidget):
    """A k x k confusion matrix with counts, per-class accuracy, hover read-out and clickable cells.

    Signals
    -------
    cellActivated(int, int)
        (true class, predicted class) of a clicked cell, or of the selected one on Enter.
    """

    cellActivated = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("confusionMatrix")
        self.setAccessibleName("Confusion matrix")
        self.setToolTip(
            "Rows: the true class; columns: what the network said; outlined: the diagonal, the right answers.\n"
            "Click a cell (or select it with the arrow keys and press Enter) to see its test images, most confident first."
        )
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.confusion: np.ndarray | None = None
        self.per_class_accuracy: np.ndarray | None = None
        self.names: list[str] = [str(i) for i in range(10)]
        self.row_percentages = False
        self.selected = (0, 0)
        self.empty_text = "Evaluate the network on the test set, or train it, to fill the matrix."

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(420, 380)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        """Cells just large enough for a four-digit count at ``MIN_POINT_SIZE``, plus the headers at this font."""
        small = QFont(self.font())
        small.setPointSizeF(MIN_POINT_SIZE)
        fm = QFontMetricsF(small)
        side = max(fm.horizontalAdvance("8,888"), fm.height()) / FIT + 1
        left, top, right, bottom = self._margins()
        k = len(self.names) if self.confusion is None else self.confusion.shape[0]
        return QSize(int(left + right + k * side) + 1, int(top + bottom + k * side) + 1)

    # -- what it shows ----------------------------------------------------------------------
    def show_matrix(self, confusion, names=None, per_class_accuracy=None) -> None:
        """Show a confusion matrix (None clears it); the accuracy column defaults to the diagonal's share."""
        self.confusion = None if confusion is None else np.asarray(confusion, dtype=np.int64)
        if names and list(names) != self.names:
            self.names = [str(n) for n in names]
            self.updateGeometry()  # longer class names need a wider left margin
        if self.confusion is not None and per_class_accuracy is None:
            per_class_accuracy = self.confusion.diagonal() / np.maximum(self.confusion.sum(1), 1)
        self.per_class_accuracy = None if per_class_accuracy is None else np.asarray(per_class_accuracy, float)
        self.update()

    def set_row_percentages(self, on: bool) -> None:
        """Show each cell as its share of the row (the true class) in %, instead of a count."""
        self.row_percentages = bool(on)
        self.update()

    def cell_text(self, true: int, predicted: int) -> str:
        value = int(self.confusion[true, predicted])
        if not self.row_percentages:
            return f"{value:,}"
        total = int(self.confusion[true].sum())
        share = 100 * value / total if total else 0.0
        return "0" if value == 0 else f"{share:.1f}" if share < 99.95 else "100"

    # -- geometry (public: tests and hit-testing use the same numbers as the painting) -------
    def _header_font(self) -> QFont:
        return QFont(self.font())

    def _margins(self) -> tuple[float, float, float, float]:
        """Room for "true class" and the row names (left), "predicted" and the column names (top), the accuracy
        column (right)."""
        fm = QFontMetricsF(self._header_font())
        short = all(len(n) <= 2 for n in self.names)
        names = max(fm.horizontalAdvance(n if short else f"{n} {i}") for i, n in enumerate(self.names))
        left = fm.height() + 4 + names + 10
        return left, fm.height() * 2 + 6, fm.horizontalAdvance("100.0%") + 12, 4.0

    def geometry_of_cells(self) -> tuple[QRectF, float]:
        """The matrix's square area (without headers) and the side of one cell, in widget pixels."""
        k = len(self.names) if self.confusion is None else self.confusion.shape[0]
        left, top, right, bottom = self._margins()
        side = max(1.0, min((self.width() - left - right) / k, (self.height() - top - bottom) / k))
        x0 = left + max(0.0, (self.width() - left - right - side * k) / 2)
        y0 = top + max(0.0, (self.height() - top - bottom - side * k) / 2)
        return QRectF(x0, y0, side * k, side * k), side

    def cell_rect(self, true: int, predicted: int) -> QRectF:
        area, side = self.geometry_of_cells()
        return QRectF(area.left() + predicted * side, area.top() + true * side, side, side)

    def cell_at(self, pos: QPointF) -> tuple[int, int] | None:
        if self.confusion is None:
            return None
        area, side = self.geometry_of_cells()
        if not area.contains(pos):
            return None
        k = self.confusion.shape[0]
        return min(int((pos.y() - area.top()) / side), k - 1), min(int((pos.x() - area.left()) / side), k - 1)

    def count_font(self, diagonal: bool = False) -> QFont | None:
        """The font for the numbers off the diagonal (or on it): the widget's font, shrunk until the widest fits.

        Two fonts, so the few mistakes (one or two digits) stay large next to a
        diagonal of four-digit counts. None if even ``MIN_POINT_SIZE`` does not
        fit (those cells are then colour only).
        """
        if self.confusion is None:
            return None
        _, side = self.geometry_of_cells()
        k = self.confusion.shape[0]
        texts = [self.cell_text(t, p) for t in range(k) for p in range(k) if (t == p) == diagonal]
        if not texts:
            return None
        font = QFont(self.font())
        size = font.pointSizeF() if font.pointSizeF() > 0 else 12.0
        while size >= MIN_POINT_SIZE:
            font.setPointSizeF(size)
            fm = QFontMetricsF(font)
            widest = max(fm.horizontalAdvance(t) for t in texts)
            if widest <= side * FIT and fm.height() <= side * FIT:
                return font
            size -= 0.5
        return None

    # -- painting -------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.fillRect(self.rect(), self.palette().base())
        area, side = self.geometry_of_cells()
        text = self.palette().text().color()
        header = self._header_font()
        p.setFont(header)
        fm = QFontMetricsF(header)
        k = len(self.names) if self.confusion is None else self.confusion.shape[0]
        short = all(len(n) <= 2 for n in self.names)
        p.setPen(text)
        labels_top = area.top() - fm.height() - 4
        p.drawText(QRectF(area.left(), labels_top - fm.height() - 2, area.width(), fm.height() + 2),
                   Qt.AlignmentFlag.AlignCenter, "predicted")  # fmt: skip
        p.save()  # "true class" up the left edge, as "predicted" runs along the top
        p.translate(2, area.center().y())
        p.rotate(-90)
        p.drawText(QRectF(-area.height() / 2, 0, area.height(), fm.height() + 2), Qt.AlignmentFlag.AlignCenter,
                   "true class")  # fmt: skip
        p.restore()
        acc_left = area.right() + 6
        p.drawText(QRectF(acc_left, labels_top, self.width() - acc_left, fm.height() + 2),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "acc.")  # fmt: skip
        for i, name in enumerate(self.names[:k]):
            column = QRectF(area.left() + i * side, labels_top, side, fm.height() + 2)
            p.drawText(column, Qt.AlignmentFlag.AlignCenter, name if short else str(i))
            row = QRectF(0, area.top() + i * side, area.left() - 6, side)
            p.drawText(
                row, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name if short else f"{name} {i}"
            )
        if self.confusion is None:
            p.setPen(QPen(QColor(150, 150, 150), 1))
            p.drawRect(area)
            p.drawText(area.adjusted(8, 8, -8, -8), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       self.empty_text)  # fmt: skip
            p.end()
            return
        confusion = self.confusion
        scale = np.log1p(confusion.max()) or 1.0
        fonts = {False: self.count_font(False), True: self.count_font(True)}
        for t in range(k):
            for q in range(k):
                rect = self.cell_rect(t, q)
                value = int(confusion[t, q])
                # log1p: the few mistakes stay visible next to a diagonal of ~1,000.
                color = color_of(SEQUENTIAL, float(np.log1p(value) / scale))
                p.fillRect(rect, color)
                font = fonts[t == q]
                if font is None:
                    continue
                p.setFont(font)
                light = 0.299 * color.redF() + 0.587 * color.greenF() + 0.114 * color.blueF() > 0.55
                ink = QColor(0, 0, 0) if light else QColor(255, 255, 255)
                if value == 0:
                    ink.setAlpha(90)  # zeros are there, but quietly
                p.setPen(ink)
                p.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.cell_text(t, q))
            if self.per_class_accuracy is not None:
                p.setFont(header)
                p.setPen(text)
                p.drawText(QRectF(acc_left, area.top() + t * side, self.width() - acc_left, side),
                           Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                           f"{100 * self.per_class_accuracy[t]:.1f}%")  # fmt: skip
        # The diagonal (the right answers) outlined, so the eye finds it before the colours.
        p.setPen(QPen(text, max(1.0, side / 24)))
        p.setBrush(Qt.BrushStyle.NoBrush)
        for t in range(k):
            p.drawRect(self.cell_rect(t, t).adjusted(0.5, 0.5, -0.5, -0.5))
        if self.hasFocus():
            p.setPen(QPen(ACCENT, 3))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(self.cell_rect(*self.selected).adjusted(1.5, 1.5, -1.5, -1.5))
        p.end()

    # -- interaction ---------------------------------------------------------------------------
    def describe_cell(self, true: int, predicted: int) -> str:
        count, total = int(self.confusion[true, predicted]), int(self.confusion[true].sum())
        share = f" ({100 * count / total:.1f} % of the {self.names[true]}s)" if total else ""
        what = "read right" if true == predicted else f"seen as {self.names[predicted]}"
        return f"{self.names[true]} {what}: {count:,} image{'s' if count != 1 else ''}{share}. Click to see them."

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip and self.confusion is not None:
            cell = self.cell_at(QPointF(event.pos()))
            if cell is not None:
                QToolTip.showText(event.globalPos(), self.describe_cell(*cell), self)
                return True
        return super().event(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt override)
        cell = self.cell_at(event.position())
        if cell is not None and event.button() == Qt.MouseButton.LeftButton:
            self.selected = cell
            self.update()
            self.cellActivated.emit(*cell)
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        moves = {Qt.Key.Key_Left: (0, -1), Qt.Key.Key_Right: (0, 1), Qt.Key.Key_Up: (-1, 0), Qt.Key.Key_Down: (1, 0)}
        k = len(self.names) if self.confusion is None else self.confusion.shape[0]
        if event.key() in moves:
            dt, dp = moves[event.key()]
            self.selected = (min(max(self.selected[0] + dt, 0), k - 1), min(max(self.selected[1] + dp, 0), k - 1))
            self.update()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space) and self.confusion is not None:
            self.cellActivated.emit(*self.selected)
            return
        super().keyPressEvent(event)

    def focusInEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().focusOutEvent(event)
        self.update()

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # presentation mode: headers and numbers grow
            self.updateGeometry()
            self.update()
