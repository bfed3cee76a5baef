"""The layer table: layer, type, output shape, parameters, connections, and the totals."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from cnnviz.qt.widgets.style import format_shape, scaled_font

MIN_SCALE = 0.6  # smallest type the table shrinks to, relative to the window (10 pt in presentation mode)
GROW_MARGIN = 24  # pixels of room the table wants before its type grows back a step
COLUMNS = ("Layer", "Type", "Output", "Params", "Connections")
TIPS = (
    "The stage's name, as in the paper (C = convolution, S = subsampling, F = fully connected)",
    "What the stage is made of",
    "Channels × height × width of its output for one 28×28 input",
    "Trainable weights and biases",
    "Multiply-adds plus biases per input image (LeCun et al. 1998 count these as connections)",
)


class LayerTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setObjectName("layerTable")
        self.setAccessibleName("Layer table")
        self.setToolTip("Every stage of the model with its size and cost; the last row sums them")
        self.setHorizontalHeaderLabels(COLUMNS)
        for col, tip in enumerate(TIPS):
            self.horizontalHeaderItem(col).setToolTip(tip)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)  # sized by _fit_type_column
        self.setWordWrap(True)  # long types ("LeCunConv2d + Squash") wrap at their spaces
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self._longest_word = 80
        self._rows = None
        self._scale = 1.0
        self._fitting = False
        self._fitted_width = -1  # the viewport width the type was last fitted to

    def follow(self, state) -> None:
        """Subscribe to the app's state: every new network fills the table."""
        state.networkChanged.connect(lambda: self.set_rows(state.session.description.layers))

    def set_rows(self, rows) -> None:
        """``rows``: ``LayerInfo`` records (``ModelSession.description.layers``)."""
        rows = self._rows = list(rows)
        self.setRowCount(len(rows) + 1)
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for r, info in enumerate(rows):
            cells = (info.name, info.type, format_shape(info.output_shape), f"{info.params:,}", f"{info.connections:,}")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{info.name}: {text}" if c else f"{info.name} ({info.type})")
                if c >= 3:
                    item.setTextAlignment(right)
                self.setItem(r, c, item)
        total_params = sum(i.params for i in rows)
        total_conn = sum(i.connections for i in rows)
        bold = scaled_font(self.font(), 1.0, bold=True)
        for c, text in enumerate(("Total", "", "", f"{total_params:,}", f"{total_conn:,}")):
            item = QTableWidgetItem(text)
            item.setFont(bold)
            item.setToolTip("Sum over all layers")
            if c >= 3:
                item.setTextAlignment(right)
            self.setItem(len(rows), c, item)
        self._apply_scale(self._scale)
        self._fitted_width = -1  # new rows: fit again
        self._fit_type_column()

    def _apply_scale(self, scale: float) -> None:
        """Cell and header fonts at ``scale`` times the table's font (bold totals stay bold)."""
        self._scale = scale
        cell = scaled_font(self.font(), scale)
        bold = scaled_font(self.font(), scale, bold=True)
        last = self.rowCount() - 1
        for r in range(self.rowCount()):
            for c in range(self.columnCount()):
                item = self.item(r, c)
                if item is not None:
                    item.setFont(bold if r == last else cell)
        self.horizontalHeader().setFont(cell)
        words = [w for info in self._rows or [] for w in info.type.split()]
        fm = QFontMetrics(cell)
        self._longest_word = max((fm.horizontalAdvance(w) for w in words), default=60) + 16
        self.resizeColumnsToContents()

    def _needed_width(self) -> int:
        header = self.horizontalHeader()
        others = sum(header.sectionSize(c) for c in range(self.columnCount()) if c != 1)
        return others + self._longest_word

    def _fit_type_column(self) -> None:
        """Type takes the room left over, never less than its longest word. Where even that does not
        fit (a narrow column, presentation mode's large type), the table's type shrinks a step at a
        time, down to 60 %, rather than hide the Connections column behind a scroll bar."""
        room = self.viewport().width()
        # Resizing columns can resize the viewport (a scroll bar comes or goes); and a table only made taller
        # (the window's layout moves on every stroke) needs nothing: refitting set every cell's font each time.
        if self._fitting or room == self._fitted_width:
            return
        self._fitting = True
        self._fitted_width = room
        try:
            self._fit_scale(room)
        finally:
            self._fitting = False

    def _fit_scale(self, room: int) -> None:
        if self._rows is not None:
            while self._needed_width() > room and self._scale > MIN_SCALE:
                self._apply_scale(max(MIN_SCALE, self._scale * 0.9))
            while self._scale < 1.0:  # room again (a wider column, normal type): grow back
                before = self._scale
                self._apply_scale(min(1.0, self._scale / 0.9))
                if self._needed_width() > room - GROW_MARGIN:  # a margin, so a scroll bar cannot flip it back
                    self._apply_scale(before)
                    break
        header = self.horizontalHeader()
        others = sum(header.sectionSize(c) for c in range(self.columnCount()) if c != 1)
        header.resizeSection(1, max(self._longest_word, room - others))
        self.resizeRowsToContents()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_type_column()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.FontChange and self._rows is not None:
            self.set_rows(self._rows)  # the bold totals row carries its own font

    def totals(self) -> tuple[str, str]:
        """The totals row's parameter and connection cells, as displayed."""
        last = self.rowCount() - 1
        return self.item(last, 3).text(), self.item(last, 4).text()
