"""The unit inspector: how one clicked unit got its value, written out step by step.

Takes plain data only (``cnnviz.core.inspect.unit_inspector.UnitExplanation.as_dict()``,
numpy kernels); never torch. The owner connects its signals: the arrow keys
step the unit (``unitStepped``), the kernel editor edits or resets the first
layer's kernel (``kernelEdited``, ``kernelResetRequested``); the owner
recomputes and calls ``show_explanation``/``set_kernel`` again.
"""

from __future__ import annotations

import functools

import numpy as np
from PySide6.QtCore import QEvent, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cnnviz.core.inspect.step_text import num, step_rows, step_summary
from cnnviz.qt.widgets.style import ACCENT, gray_image, scaled_font


def cell_text(v: float) -> str:
    """A matrix cell: two decimals keep a 5x5 patch, kernel and products side by side."""
    return f"{v:.2f}"


@functools.cache
def _tint(step: int) -> QBrush:
    """A cell's background for a tint step (-64..64): red above zero, blue below, as in the maps; none at 0."""
    if not step:
        return QBrush()
    color = QColor(ACCENT if step > 0 else QColor("#4c6ef5"))
    color.setAlphaF(0.45 * abs(step) / 64)
    return QBrush(color)


class _Matrix(QTableWidget):
    """A small grid of numbers (a patch, a kernel, products); editable for the kernel editor."""

    def __init__(self, name: str, editable: bool = False) -> None:
        super().__init__(0, 0)
        self.setObjectName(name)
        self.horizontalHeader().setVisible(False)
        self.verticalHeader().setVisible(False)
        # Sized once per fill by _fit: ResizeToContents would re-measure the grid at every cell (~20 ms a unit).
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        if not editable:
            self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSizeAdjustPolicy(QAbstractItemView.SizeAdjustPolicy.AdjustToContents)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Maximum)
        self._widest = -1  # the longest cell text at the last fit
        self._tints: dict[tuple[int, int], int] = {}  # (row, column) -> the tint step set there

    def set_values(self, rows) -> None:
        rows = np.asarray([[np.nan if v is None else v for v in row] for row in rows], dtype=float)
        self.blockSignals(True)
        resized = (self.rowCount(), self.columnCount()) != rows.shape
        self.setRowCount(rows.shape[0])
        self.setColumnCount(rows.shape[1])
        if resized:
            self._tints = {}
        peak = float(np.nanmax(np.abs(rows))) if np.isfinite(rows).any() else 0.0
        # Red for positive, blue for negative, as in the maps; the tint in 64 steps, so a cell whose colour
        # did not visibly change is not set again (each set is a change signal and a repaint of the cell).
        steps = np.zeros(rows.shape, int)
        if peak > 0:
            known = np.nan_to_num(rows)  # "pad" cells untinted
            steps = np.round(64 * np.minimum(np.abs(known) / peak, 1.0)).astype(int) * np.sign(known).astype(int)
        columns = rows.shape[1]
        texts = ["pad" if v != v else cell_text(v) for v in rows.ravel().tolist()]  # v != v: NaN, a padded cell
        for i, (text, step) in enumerate(zip(texts, steps.ravel().tolist(), strict=True)):
            r, c = divmod(i, columns)
            item = self.item(r, c)
            if item is None:  # items are reused: the inspector refills its grids on every stroke
                item = QTableWidgetItem()
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.setItem(r, c, item)
            if item.text() != text:
                item.setText(text)
            if self._tints.get((r, c)) != step:
                self._tints[(r, c)] = step
                item.setBackground(_tint(step))
        widest = max(map(len, texts), default=0)
        self.blockSignals(False)
        if (
            resized or widest != self._widest
        ):  # measuring every cell costs more than filling them: only when it may move
            self._widest = widest
            self._fit()

    def _fit(self) -> None:
        # Exactly the cells' size: a layout otherwise squeezes the grid behind scroll bars. Every column as
        # wide as the widest: a refill refits only when its longest text grew, and "-1.46" must then fit in
        # a column that held "0.73" at the last fit.
        self.resizeColumnsToContents()
        self.resizeRowsToContents()
        widest = max((self.columnWidth(c) for c in range(self.columnCount())), default=0)
        for c in range(self.columnCount()):
            self.setColumnWidth(c, widest)
        frame = 2 * self.frameWidth()
        self.setFixedSize(self.horizontalHeader().length() + frame, self.verticalHeader().length() + frame)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.FontChange and self.rowCount():  # presentation mode: larger cells
            self._fit()

    def values(self) -> np.ndarray:
        return np.array(
            [[float(self.item(r, c).text()) for c in range(self.columnCount())] for r in range(self.rowCount())]
        )


class _InputView(QWidget):
    """The 28x28 model input with the unit's receptive field outlined."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("unitReceptiveField")
        self.setToolTip("The model input; the outline is the part of it this unit can see")
        self.image: np.ndarray | None = None
        self.box: dict | None = None

    def sizeHint(self) -> QSize:
        return QSize(140, 140)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        side = min(self.width(), self.height())
        p.fillRect(self.rect(), self.palette().base())
        if self.image is not None:
            p.drawImage(QRectF(0, 0, side, side), gray_image(self.image))
        if self.box:
            s = side / 28.0
            b = self.box
            p.setPen(QPen(ACCENT, 2))
            p.drawRect(QRectF(b["left"] * s, b["top"] * s, (b["right"] - b["left"]) * s, (b["bottom"] - b["top"]) * s))


class UnitInspectorPanel(QWidget):
    """Everything that made one unit's value: receptive field, steps, patches and kernels."""

    unitStepped = Signal(str, int, int, int)  # stage, channel, y, x
    kernelEdited = Signal(int, int, object)  # out channel, in channel, kernel (numpy)
    kernelResetRequested = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("unitInspector")
        self.setAccessibleName("Unit inspector")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # arrow keys step the unit
        self.data: dict | None = None
        self._kernel_key: tuple[int, int] | None = None
        self._presets: dict[str, np.ndarray] = {}

        self.header = QLabel("Click a unit of a feature map to see how its value was computed.")
        self.header.setObjectName("unitHeader")
        self.header.setWordWrap(True)
        self.header.setFont(scaled_font(self.font(), 1.15, bold=True))
        self.field = QLabel("")
        self.field.setObjectName("unitFieldText")
        self.field.setWordWrap(True)  # a projector's narrow column: two lines, not a panel scrolling sideways
        self.input_view = _InputView()
        self.steps = QTreeWidget()
        self.steps.setObjectName("unitSteps")
        self.steps.setHeaderHidden(True)
        self.steps.setWordWrap(True)
        self.steps.currentItemChanged.connect(self._on_step_selected)
        # What selecting a line shows, by (step, line) with line -1 for a step's own line. Kept here, not as
        # the items' data: setting a Python object there is a change and a repaint of the line even when the
        # numbers are the same, ~45 lines on every stroke (2 ms of the inspector's display, issue 23).
        self._payloads: dict[tuple[int, int], object] = {}
        self.patch, self.kernel, self.products = (_Matrix(n) for n in ("unitPatch", "unitKernel", "unitProducts"))
        matrices = QBoxLayout(QBoxLayout.Direction.LeftToRight)  # stacked when the panel is narrow (arrange_grids)
        self.patch_title = QLabel("input patch")
        for title, table in (
            (self.patch_title, self.patch),
            (QLabel("× kernel"), self.kernel),
            (QLabel("= products"), self.products),
        ):
            col = QVBoxLayout()
            col.addWidget(title)
            col.addWidget(table)
            col.addStretch(1)
            matrices.addLayout(col)
        matrices.addStretch(1)
        self.matrices = QWidget()
        self.matrices.setLayout(matrices)
        self.matrices.setVisible(False)

        top = QHBoxLayout()
        words = QVBoxLayout()
        words.addWidget(self.header)
        words.addWidget(self.field)
        words.addStretch(1)
        top.addLayout(words, 1)
        top.addWidget(self.input_view)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.steps)
        splitter.addWidget(self.matrices)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)  # a projector's narrow column has no pixel to spare
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        layout.addWidget(self._kernel_editor())

    def _kernel_editor(self) -> QGroupBox:
        box = QGroupBox("Edit a first-layer kernel")
        box.setObjectName("kernelEditor")
        self.kernel_table = _Matrix("kernelEditorTable", editable=True)
        self.kernel_table.setToolTip("Type a weight into a cell; the maps and the prediction follow")
        self.kernel_table.cellChanged.connect(self._on_kernel_cell_changed)
        self.preset_box = QComboBox()
        self.preset_box.setObjectName("kernelPreset")
        self.preset_box.activated.connect(self._on_preset_chosen)
        self.reset_button = QPushButton("Reset to trained")
        self.reset_button.setObjectName("kernelReset")
        self.reset_button.clicked.connect(self._on_reset)
        self.kernel_state = QLabel("")
        side = QVBoxLayout()
        side.addWidget(QLabel("Preset"))
        side.addWidget(self.preset_box)
        side.addWidget(self.reset_button)
        side.addWidget(self.kernel_state)
        side.addStretch(1)
        row = QBoxLayout(QBoxLayout.Direction.LeftToRight, box)  # the presets go under the grid when narrow
        row.addWidget(self.kernel_table)
        row.addLayout(side)
        row.addStretch(1)
        box.setEnabled(False)
        return box

    # -- what the owner calls ----------------------------------------------------------
    def show_explanation(self, data: dict, image: np.ndarray | None = None) -> None:
        """Show a ``UnitExplanation.as_dict()``; ``image`` is the 28x28 model input, if known."""
        self.data = data
        u = data["unit"]
        where = f"channel {u['channel']}" + (
            f", row {u['y']}, column {u['x']}" if len(data["output_shape"]) == 3 else ""
        )
        self.header.setText(f"{data['stage']} · {where} = {num(data['value'])}")
        box = data["receptive_field"]
        if box is None:
            self.field.setText("Receptive field: none, this unit lies in the padding.")
        else:
            self.field.setText(
                f"Receptive field: rows {box['top']}–{box['bottom'] - 1}, columns {box['left']}–{box['right'] - 1} "
                f"({box['bottom'] - box['top']}×{box['right'] - box['left']} pixels)"
            )
        self.input_view.box = box
        if image is not None:
            self.input_view.image = np.asarray(image, dtype=np.float32)
        self.input_view.update()
        self._show_steps([(step_summary(step), step, list(step_rows(step))) for step in data["steps"]])
        current = self.steps.currentItem()  # a map's row the reader chose stays chosen, with its new numbers
        chosen = self._payload(current)
        conv = next((s for s in data["steps"] if s["kind"] == "convolution"), None)
        first = conv["details"]["inputs"][0] if conv and conv["details"]["inputs"] else None
        self._show_matrices(chosen if isinstance(chosen, dict) and "patch" in chosen else first)

    def _show_steps(self, steps: list[tuple[str, dict, list]]) -> None:
        """The steps' tree: its lines rewritten in place when only the numbers changed (a new stroke on the
        same unit: no rebuild, no new layout, the reader's scroll and selection stay), else built anew."""
        tree = self.steps
        same = tree.topLevelItemCount() == len(steps) and all(
            tree.topLevelItem(i).childCount() == len(rows) for i, (_t, _s, rows) in enumerate(steps)
        )
        if not same:
            tree.clear()
        self._payloads = {}
        for i, (summary, step, rows) in enumerate(steps):
            item = tree.topLevelItem(i) if same else QTreeWidgetItem()
            _set_line(item, summary)  # its tooltip: the whole line where a narrow column ends it in "…"
            self._payloads[i, -1] = step
            for k, (text, payload) in enumerate(rows):
                if not same:
                    item.addChild(QTreeWidgetItem())
                _set_line(item.child(k), text)
                self._payloads[i, k] = payload
            if not same:
                tree.addTopLevelItem(item)
        if not same:
            tree.expandToDepth(0)

    def _payload(self, item: QTreeWidgetItem | None):
        """What the line ``item`` shows when selected (a step's dict, or a map's patch, kernel and products)."""
        if item is None:
            return None
        parent = item.parent()
        if parent is None:
            return self._payloads.get((self.steps.indexOfTopLevelItem(item), -1))
        return self._payloads.get((self.steps.indexOfTopLevelItem(parent), parent.indexOfChild(item)))

    def set_kernel(
        self, out_channel: int, in_channel: int, kernel: np.ndarray, presets: dict[str, np.ndarray], edited: bool
    ) -> None:
        """Show the first layer's kernel (out_channel, in_channel) in the editor, with presets of its size."""
        self._kernel_key = (out_channel, in_channel)
        self._presets = dict(presets)
        self.kernel_table.set_values(np.asarray(kernel).tolist())
        self.preset_box.clear()
        self.preset_box.addItems(["(choose)", *self._presets])
        self.kernel_state.setText("edited, not the trained kernel" if edited else "the trained kernel")
        self.reset_button.setEnabled(edited)
        self.findChild(QGroupBox, "kernelEditor").setEnabled(True)

    def clear(self) -> None:
        self.data = None
        self.steps.clear()
        self._payloads = {}
        self.header.setText("Click a unit of a feature map to see how its value was computed.")
        self.field.setText("")
        self.input_view.box = None
        self.input_view.update()
        self.matrices.setVisible(False)

    def step_unit(self, dy: int, dx: int, dc: int = 0) -> None:
        """Move the unit within its stage's output (clamped) and announce it."""
        if self.data is None:
            return
        shape, u = self.data["output_shape"], self.data["unit"]
        c = min(max(u["channel"] + dc, 0), shape[0] - 1)
        y = min(max(u["y"] + dy, 0), shape[1] - 1) if len(shape) == 3 else 0
        x = min(max(u["x"] + dx, 0), shape[2] - 1) if len(shape) == 3 else 0
        if (c, y, x) != (u["channel"], u["y"], u["x"]):
            self.unitStepped.emit(self.data["stage"], c, y, x)

    def text(self) -> str:
        """What the panel says, as plain text (tests, screen readers)."""
        lines = [self.header.text(), self.field.text()]
        for i in range(self.steps.topLevelItemCount()):
            item = self.steps.topLevelItem(i)
            lines.append(item.text(0))
            lines += ["  " + item.child(k).text(0) for k in range(item.childCount())]
        return "\n".join(lines)

    # -- handlers ----------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:
        moves = {
            Qt.Key.Key_Left: (0, -1, 0),
            Qt.Key.Key_Right: (0, 1, 0),
            Qt.Key.Key_Up: (-1, 0, 0),
            Qt.Key.Key_Down: (1, 0, 0),
            Qt.Key.Key_PageUp: (0, 0, -1),
            Qt.Key.Key_PageDown: (0, 0, 1),
        }
        if event.key() in moves and self.data is not None:
            self.step_unit(*moves[event.key()])
            event.accept()
            return
        super().keyPressEvent(event)

    def _show_matrices(self, conv_input: dict | None) -> None:
        self.matrices.setVisible(conv_input is not None)
        if conv_input is not None:
            self.patch_title.setText(f"input map {conv_input['channel']}: patch")
            self.patch.set_values(conv_input["patch"])
            self.kernel.set_values(conv_input["kernel"])
            self.products.set_values(conv_input["products"])
            self.arrange_grids()

    def room(self) -> int:
        """The width the panel has: its scroll area's view when it is in one (it never scrolls sideways)."""
        parent = self.parentWidget()
        return (
            parent.width() if parent is not None and parent.objectName() == "qt_scrollarea_viewport" else self.width()
        )

    def arrange_grids(self) -> None:
        """Patch, kernel and products side by side where they fit, else one under another (a projector's
        narrow column in presentation mode): the panel never scrolls sideways."""
        layout = self.matrices.layout()
        grids = (self.patch, self.kernel, self.products)
        margins = self.layout().contentsMargins()
        needed = sum(g.width() for g in grids) + 3 * layout.spacing() + margins.left() + margins.right() + 8
        direction = QBoxLayout.Direction.LeftToRight if self.room() >= needed else QBoxLayout.Direction.TopToBottom
        if layout.direction() != direction:
            layout.setDirection(direction)
        editor = self.findChild(QGroupBox, "kernelEditor")
        row = editor.layout() if editor is not None else None
        if isinstance(row, QBoxLayout):
            side = max(row.itemAt(1).sizeHint().width(), 0)
            wide = self.room() >= self.kernel_table.width() + side + 4 * row.spacing() + margins.left() + 40
            row.setDirection(QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self.arrange_grids()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Resize and watched is self.parentWidget():
            self.arrange_grids()  # the scroll area's view got narrower: the panel itself keeps its minimum
        return super().eventFilter(watched, event)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        parent = self.parentWidget()
        if parent is not None and parent.objectName() == "qt_scrollarea_viewport":
            parent.removeEventFilter(self)
            parent.installEventFilter(self)
        self.arrange_grids()

    def _on_step_selected(self, current: QTreeWidgetItem | None, _previous) -> None:
        payload = self._payload(current)
        if isinstance(payload, dict) and "patch" in payload:
            self._show_matrices(payload)

    def _on_kernel_cell_changed(self, row: int, col: int) -> None:
        if self._kernel_key is None:
            return
        try:
            kernel = self.kernel_table.values()
        except ValueError:  # not a number: put the shown value back
            self.kernel_state.setText("type a number, e.g. -0.5")
            return
        self.kernelEdited.emit(*self._kernel_key, kernel.astype(np.float32))

    def _on_preset_chosen(self, index: int) -> None:
        name = self.preset_box.itemText(index)
        if self._kernel_key is not None and name in self._presets:
            self.kernelEdited.emit(*self._kernel_key, np.asarray(self._presets[name], dtype=np.float32))

    def _on_reset(self) -> None:
        if self._kernel_key is not None:
            self.kernelResetRequested.emit(*self._kernel_key)


def _set_line(item: QTreeWidgetItem, text: str) -> None:
    """A line of the steps' tree: its text, also its tooltip (set only when it changed: each set repaints)."""
    if item.text(0) != text:
        item.setText(0, text)
        item.setToolTip(0, text)
