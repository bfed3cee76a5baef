"""LeNet-5's S2 -> C3 connection table, read from the model's own mask.

Click a C3 column: its S2 inputs light up, and below you see those S2 maps
for the current drawing and the C3 map they combine into.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cnnviz.qt.widgets.style import ACCENT, DIVERGING, SEQUENTIAL, color_table, indexed_image, quantize, scaled_font
from cnnviz.qt.widgets.visibility import SkipWhileHidden


class _MapStrip(QWidget):
    """The chosen column's S2 inputs, an arrow, and the C3 map they feed."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("c3Maps")
        self.setAccessibleName("S2 inputs and the resulting C3 map")
        self.setToolTip("The S2 maps this C3 map reads (left) and the C3 map itself (right), for the current drawing")
        self.setMinimumHeight(110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.inputs: list[int] = []
        self.column = 0
        self._s2: np.ndarray | None = None
        self._c3: np.ndarray | None = None
        self._keep = []

    def sizeHint(self) -> QSize:
        return QSize(420, 130)

    def set_data(self, column: int, inputs: list[int], s2: np.ndarray | None, c3: np.ndarray | None) -> None:
        self.column, self.inputs, self._s2, self._c3 = column, inputs, s2, c3
        self.update()

    def _image(self, maps: np.ndarray, k: int):
        q, signed, _, _ = quantize(maps)  # one scale per layer, as in the feature-maps panel
        self._keep.append(q)
        return indexed_image(q[k], color_table(DIVERGING if signed else SEQUENTIAL))

    def paintEvent(self, event) -> None:
        self._keep = []
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        fm = p.fontMetrics()
        cap_h = fm.height() + 4
        n = len(self.inputs) + 1
        arrow_w = 40
        side = int(min(self.height() - cap_h - 8, (self.width() - 16 - arrow_w) / max(n, 1) - 8))
        side = max(side, 16)
        x = 8
        y = 4
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        for slot in range(n):
            is_c3 = slot == n - 1
            if is_c3:
                p.setPen(QPen(self.palette().text().color(), 2))
                mid = y + side / 2
                p.drawLine(int(x + 4), int(mid), int(x + arrow_w - 8), int(mid))
                p.drawLine(int(x + arrow_w - 16), int(mid - 6), int(x + arrow_w - 8), int(mid))
                p.drawLine(int(x + arrow_w - 16), int(mid + 6), int(x + arrow_w - 8), int(mid))
                x += arrow_w
            rect = QRectF(x, y, side, side)
            maps, k, caption = (
                (self._c3, self.column, f"C3 #{self.column}")
                if is_c3
                else (self._s2, self.inputs[slot], f"S2 #{self.inputs[slot]}")
            )
            if maps is None:
                p.fillRect(rect, QColor(60, 60, 60))
            else:
                p.drawImage(rect, self._image(maps, k))
            p.setPen(QPen(ACCENT if not is_c3 else self.palette().text().color(), 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(rect)
            p.setPen(self.palette().text().color())
            p.drawText(
                QRectF(x - 4, y + side + 2, side + 8, cap_h),
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                caption,
            )
            x += side + 8
        p.end()


class _FittedGrid(QTableWidget):
    """A table whose every row and column is always on screen: its type shrinks (or grows, up to
    1.1x bold) to fit the space, so the whole 6x16 table shows, never behind a scroll bar."""

    MIN_SCALE, MAX_SCALE = 0.55, 1.1

    def fit(self) -> None:
        rows, cols = self.rowCount(), self.columnCount()
        if not rows or not cols:
            return
        scale = self.MAX_SCALE
        while scale > self.MIN_SCALE:
            fm = QFontMetrics(scaled_font(self.font(), scale, bold=True))
            row_label = fm.horizontalAdvance(f"S2 {rows - 1}") + 12
            cell_w = fm.horizontalAdvance(str(cols - 1)) + 6
            cell_h = fm.height() + 4
            if row_label + cols * cell_w <= self.width() - 4 and (rows + 1) * cell_h <= self.height() - 4:
                break
            scale *= 0.92
        cell = scaled_font(self.font(), max(scale, self.MIN_SCALE), bold=True)
        header = scaled_font(self.font(), max(scale, self.MIN_SCALE) * 0.95)
        for i in range(rows):
            for j in range(cols):
                item = self.item(i, j)
                if item is not None and item.font() != cell:
                    item.setFont(cell)
        self.horizontalHeader().setFont(header)
        self.verticalHeader().setFont(header)
        self.scale = scale

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self.fit()

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:
            self.fit()


class C3MatrixPanel(QWidget):
    """The 6 x 16 table (rows: S2 maps, columns: C3 maps; X = connected)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("c3Matrix")
        self.setAccessibleName("LeNet-5 C3 connection table")
        self.table_values: np.ndarray | None = None
        self.column: int | None = None
        self._acts = None
        self.while_hidden = SkipWhileHidden(self, self._refresh_strip)  # a panel nobody sees costs nothing

        self.note = QLabel(
            "Only LeNet-5 has a C3 table.\n\nIn LeNet-5 (1998) each C3 map reads only some of the S2 maps. "
            "Choose “LeNet-5 (1998)” in the Model list to see which."
        )
        self.note.setObjectName("c3Note")
        self.note.setAccessibleName("No C3 table for this model")
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.grid = _FittedGrid(6, 16)
        self.grid.setObjectName("c3Grid")
        self.grid.setAccessibleName("C3 connection grid")
        self.grid.setToolTip(
            "Rows: the 6 S2 maps. Columns: the 16 C3 maps. X: this C3 map reads that S2 map.\nClick a column to see it."
        )
        self.grid.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.grid.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.grid.setHorizontalHeaderLabels([str(j) for j in range(16)])
        self.grid.setVerticalHeaderLabels([f"S2 {i}" for i in range(6)])
        self.grid.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.grid.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.grid.horizontalHeader().setToolTip("C3 map number: click to select the column")
        self.grid.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.grid.setMinimumHeight(120)
        for header in (self.grid.horizontalHeader(), self.grid.verticalHeader()):
            header.setMinimumSectionSize(4)
        self.grid.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.grid.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.grid.cellClicked.connect(lambda _r, c: self.select_column(c))
        self.grid.horizontalHeader().sectionClicked.connect(self.select_column)

        self.caption = QLabel()
        self.caption.setObjectName("c3Caption")
        self.caption.setWordWrap(True)
        self.caption.setAccessibleName("Selected C3 map")
        self.strip = _MapStrip()
        self.summary = QLabel()
        self.summary.setObjectName("c3Summary")
        self.summary.setWordWrap(True)

        page = QWidget()
        v = QVBoxLayout(page)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(self.summary)
        v.addWidget(self.grid, 3)
        v.addWidget(self.caption)
        v.addWidget(self.strip, 2)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.note)
        self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.stack)

    # -- model ------------------------------------------------------------------------
    def set_table(self, table: np.ndarray | None) -> None:
        """The model's 6 x 16 boolean table, or None for a model without one."""
        self.table_values = None if table is None else np.asarray(table).astype(bool)
        if self.table_values is None:
            self.stack.setCurrentIndex(0)
            self.column = None
            return
        rows, cols = self.table_values.shape
        self.grid.setRowCount(rows)
        self.grid.setColumnCount(cols)
        self.grid.setHorizontalHeaderLabels([str(j) for j in range(cols)])
        self.grid.setVerticalHeaderLabels([f"S2 {i}" for i in range(rows)])
        for i in range(rows):
            for j in range(cols):
                item = self.grid.item(i, j)
                if item is None:
                    item = QTableWidgetItem()
                    self.grid.setItem(i, j, item)
                item.setText("X" if self.table_values[i, j] else "")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setToolTip(f"C3 map {j} {'reads' if self.table_values[i, j] else 'does not read'} S2 map {i}")
        n = self.connection_count()
        self.summary.setText(
            f"{n} of {rows * cols} possible S2→C3 connections (read from the model's mask). "
            "Leaving some out breaks the symmetry between maps and saves weights."
        )
        self.stack.setCurrentIndex(1)
        self.grid.fit()
        self.select_column(self.column if self.column is not None and self.column < cols else 0)

    def connection_count(self) -> int:
        return 0 if self.table_values is None else int(self.table_values.sum())

    def highlighted_inputs(self) -> list[int]:
        """S2 maps feeding the selected C3 column."""
        if self.table_values is None or self.column is None:
            return []
        return [int(i) for i in np.flatnonzero(self.table_values[:, self.column])]

    def select_column(self, column: int) -> None:
        if self.table_values is None:
            return
        self.column = int(column)
        inputs = self.highlighted_inputs()
        accent, light = QBrush(ACCENT), QBrush(ACCENT.lighter(175))
        plain = QBrush(self.palette().base().color())
        for i in range(self.grid.rowCount()):
            for j in range(self.grid.columnCount()):
                item = self.grid.item(i, j)
                if j == self.column:
                    item.setBackground(accent if i in inputs else light)
                    item.setForeground(
                        QBrush(QColor("white")) if i in inputs else QBrush(self.palette().text().color())
                    )
                else:
                    item.setBackground(plain)
                    item.setForeground(QBrush(self.palette().text().color()))
        names = ", ".join(str(i) for i in inputs)
        self.caption.setText(
            f"<b>C3 map {self.column}</b> adds up S2 maps {names} ({len(inputs)} of {self.grid.rowCount()}), "
            f"each through its own 5×5 kernel."
        )
        self._refresh_strip()

    # -- live data --------------------------------------------------------------------
    def follow(self, state) -> None:
        """Subscribe to the app's state: the table comes from the network, the maps from each result."""
        state.networkChanged.connect(lambda: self.set_table(state.session.c3_table()))
        state.resultReady.connect(lambda result: self.set_activations(result.activations))

    def set_activations(self, acts) -> None:
        self._acts = acts
        if not self.while_hidden.skip():
            self._refresh_strip()

    def refresh_if_stale(self) -> None:
        self.while_hidden.catch_up()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh_if_stale()

    def _refresh_strip(self) -> None:
        if self.table_values is None or self.column is None:
            return
        s2 = c3 = None
        if self._acts is not None and "S2" in self._acts and "C3" in self._acts:
            s2, c3 = self._acts["S2"], self._acts["C3"]
        self.strip.set_data(self.column, self.highlighted_inputs(), s2, c3)
