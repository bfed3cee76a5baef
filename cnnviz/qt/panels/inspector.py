"""The unit inspector and the architecture view as panels that follow the app's state.

``UnitInspectorPanel`` and ``ArchitectureView`` (the widgets) take plain data;
the classes here connect them to ``AppState``: the selection and the kernel
edits go to the owner, the owner's answers come back as signals. The
receptive field is drawn on the model input and the canvas by
``ReceptiveFieldOverlay``, which follows the owner too (no panel calls another).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QToolButton, QWidget

from cnnviz.qt.widgets.architecture_view import ArchitectureView
from cnnviz.qt.widgets.conv_animation import ConvAnimation
from cnnviz.qt.widgets.style import BASE_POINT_SIZE, scaled_font
from cnnviz.qt.widgets.unit_inspector_view import UnitInspectorPanel
from cnnviz.qt.widgets.visibility import SkipWhileHidden

EMPTY_TEXT = "Click a unit of a feature map to see how its value was computed."
# While a stroke goes on, the inspector catches up with ``AppState.resultExplainable`` (at most ~30 times a
# second, the last drawing, after its answer is painted): the prediction and the maps answer each mouse move
# first (DESIGN.md: the GUI never waits).
GRID_SCALE = 0.85


class InspectorPanel(UnitInspectorPanel):
    """The unit inspector for the selected unit of the current drawing; recomputed only while on screen."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip(
            "How the selected unit's value was computed. Arrow keys move the unit in its map,\n"
            "Page Up / Page Down change the map; the outline shows what it sees of the input."
        )
        self.steps.setToolTip("The steps that made the value; select a map's row to see its patch × kernel")
        self.kernel_editor = self.findChild(QWidget, "kernelEditor")
        self.kernel_editor.setToolTip("Change a first-layer kernel and watch every map and the prediction follow")
        self.preset_box.setToolTip("Replace the kernel with a classic one: edges, blur, identity, zero")
        self.preset_box.setAccessibleName("Kernel preset")
        self.reset_button.setToolTip("Put back the trained weights of this kernel")
        self.kernel_table.setAccessibleName("Kernel weights")
        self.state = None
        self.while_hidden = SkipWhileHidden(self, self.refresh)  # off the drawing path: hidden, a stroke costs nothing
        self._kernel_out = 0  # which first-layer kernel the editor shows
        self._training = False
        self.animation = ConvAnimation()  # the kernel sliding over the input, for the selected unit's convolution
        self.layout().insertWidget(2, self.animation)
        self._size_grids()

    def follow(self, state) -> None:
        """Recompute on every result and selection; send steps and kernel edits to the owner."""
        self.state = state
        state.resultExplainable.connect(lambda _result: self._on_result())
        state.unitSelected.connect(self._on_unit_selected)
        state.unitExplained.connect(self._on_explained)
        state.networkChanged.connect(self._show_kernel)
        state.weightsChanged.connect(self._show_kernel)
        state.trainingStarted.connect(lambda: self._set_training(True))
        state.trainingFinished.connect(lambda _end: self._set_training(False))
        self.unitStepped.connect(state.select_unit)
        self.kernelEdited.connect(state.edit_first_kernel)
        self.kernelResetRequested.connect(state.reset_first_kernel)

    # -- following the owner -----------------------------------------------------------
    def refresh(self, later: bool = False) -> None:
        """Ask the owner to explain the selected unit now (``later``: in its worker), or remember to when shown."""
        if self.state is None or self.state.selected_unit is None:
            return
        if self.while_hidden.skip():
            return
        if later:
            self.state.explain_selected_unit_later()
        else:
            self.state.explain_selected_unit()

    def _on_result(self) -> None:
        """A new result, after the maps and the prediction have painted (the state paces these): explained in
        a worker, so the stroke after it does not wait."""
        self.refresh(later=True)

    def refresh_if_stale(self) -> None:
        self.while_hidden.catch_up()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh_if_stale()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # presentation mode: header and grids keep their share
            self.header.setFont(scaled_font(self.font(), 1.15, bold=True))
            self._size_grids()

    def _size_grids(self) -> None:
        # A little smaller than the text: patch, kernel and products side by side fit the middle column.
        for grid in (self.patch, self.kernel, self.products, self.kernel_table):
            grid.setFont(scaled_font(self.font(), GRID_SCALE))

    def _on_unit_selected(self, unit) -> None:
        stage, channel = unit[0], unit[1]
        session = self.state.session
        if session is not None and stage == session.description.first_conv_stage and channel != self._kernel_out:
            self._kernel_out = channel  # a first-layer unit: edit the kernel that made it
            self._show_kernel()
        self.refresh()

    def _on_explained(self, data: dict | None) -> None:
        self.animation.set_loader(None if data is None else self._sweep_loader(data))
        if data is not None:
            result = self.state.session.result
            self.show_explanation(data, result.image)
            return
        self.clear()
        if self.state.unit_error:
            self.header.setText(self.state.unit_error)
        elif self.state.selected_unit is not None:
            self.header.setText(f"Draw on the canvas to see how {self.state.selected_unit[0]} computes.")
        else:
            self.header.setText(EMPTY_TEXT)

    def _sweep_loader(self, data: dict):
        """How to sweep the convolution that made the explained unit (None: no convolution made it)."""
        from cnnviz.core.inspect.conv_sweep import convolution_sweep, find_convolution

        found = find_convolution(data["steps"], int(data["unit"]["channel"]))
        session = self.state.session
        if found is None or session is None or session.result.image is None:
            return None
        model, image = session.model, session.result.image
        return lambda: convolution_sweep(model, image, *found)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and self.animation.loader is not None:  # Play / Pause
            self.animation.pause() if self.animation.is_playing() else self.animation.play()
            event.accept()
            return
        super().keyPressEvent(event)

    def _show_kernel(self) -> None:
        session = self.state.session if self.state is not None else None
        info = session.kernel_for_editor(self._kernel_out) if session is not None else None
        if info is None:
            self.kernel_editor.setEnabled(False)
            self.kernel_state.setText("this network has no convolution")
            return
        self._kernel_out = info["out"]
        self.set_kernel(info["out"], info["in"], info["kernel"], info["presets"], info["edited"])
        self.kernel_editor.setTitle(f"Edit a first-layer kernel: {info['stage']}, kernel {info['out']}")
        self._set_training(self._training)

    def _set_training(self, running: bool) -> None:
        self._training = running
        if running:
            self.kernel_editor.setEnabled(False)  # the run would overwrite the edit at its next batch
            self.kernel_state.setText("training: stop the run to edit")
        elif self._kernel_key is not None:
            self.kernel_editor.setEnabled(True)


class ReceptiveFieldOverlay:
    """Outlines the inspected unit's receptive field on the model input and (for a drawing) the canvas.

    The box is in input pixels and does not change with the drawing; the canvas outline is mapped
    through each new result's transform, since every stroke re-crops the drawing.
    """

    def __init__(self, preview, canvas) -> None:
        self.preview, self.canvas = preview, canvas
        self.box: dict | None = None
        self.transform = None

    def follow(self, state) -> None:
        state.unitExplained.connect(self._on_explained)
        state.resultReady.connect(self._on_result)
        state.networkChanged.connect(lambda: self._on_explained(None))

    def _on_explained(self, data: dict | None) -> None:
        self.box = None if data is None else data["receptive_field"]
        self._show()

    def _on_result(self, result) -> None:
        self.transform = result.transform
        if result.image is None:  # an empty canvas: nothing to outline
            self.box = None
        self._show()

    def _show(self) -> None:
        box, transform = self.box, self.transform
        edges = None if box is None else (box["top"], box["left"], box["bottom"], box["right"])
        on_canvas = None
        if edges is not None and transform is not None:  # None: a test image fed unchanged, no drawing
            top, left, bottom, right = transform.box_to_drawing(*edges)
            rows, cols = transform.drawing_shape
            on_canvas = (top / rows, left / cols, bottom / rows, right / cols)
        # Only a change repaints: with no unit selected, a stroke costs nothing here.
        if edges != self.preview._outline:
            self.preview.set_outline(edges)
        if on_canvas != self.canvas._outline:
            self.canvas.set_outline(on_canvas)


class ArchitecturePanel(ArchitectureView):
    """The architecture view of the current network; a click shows that stage's maps."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._acts = None
        self.while_hidden = SkipWhileHidden(self, self._show_thumbnails)  # hidden: the thumbnails wait
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip("The network built from its own modules. Click a box (or choose one with the arrow keys\n"
                        "and press Enter) to show that stage's feature maps")  # fmt: skip
        # Over the view's corner, not in the diagram (a figure of the panel leaves it out).
        self.fit_button = QToolButton(self)
        self.fit_button.setObjectName("architectureFit")
        self.fit_button.setAccessibleName("Zoom to fit")
        self.fit_button.setText("Fit all")
        self.fit_button.setCheckable(True)
        self.fit_button.setToolTip("Zoom to fit the whole network in the panel (F); again: as wide as the panel")
        self.fit_button.toggled.connect(lambda _on: self.fit())

    def follow(self, state) -> None:
        """A new network redraws the diagram, a result the thumbnails; a click goes to the owner."""
        state.networkChanged.connect(lambda: self.show_network(state))
        state.resultReady.connect(self._on_result)
        state.stageSelected.connect(self.select_stage)
        self.stageClicked.connect(state.select_stage)

    def show_network(self, state) -> None:
        described = state.session.description
        if described.architecture_error:  # a user's network whose shapes cannot be traced: no diagram
            state.statusMessage.emit(described.architecture_error, 8000)
        self.set_architecture(list(described.architecture))
        self._acts = None

    def _on_result(self, result) -> None:
        self._acts = result.activations
        if not self.while_hidden.skip():
            self._show_thumbnails()

    def _show_thumbnails(self) -> None:
        self.set_thumbnails(self._acts or {})

    def refresh_if_stale(self) -> None:
        self.while_hidden.catch_up()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh_if_stale()

    def set_architecture(self, nodes: list[dict]) -> None:
        super().set_architecture(nodes)
        self.fit()

    def stages(self) -> list[str]:
        """The stages in the diagram, from the image to the output."""
        return list(dict.fromkeys(i.node["stage"] for i in self.items_by_id.values() if i.node["stage"]))

    def keyPressEvent(self, event) -> None:
        # Keyboard access: arrows walk the stages, Enter shows the chosen one's maps.
        stages = self.stages()
        step = {Qt.Key.Key_Up: -1, Qt.Key.Key_Left: -1, Qt.Key.Key_Down: 1, Qt.Key.Key_Right: 1}.get(event.key())
        if step is not None and stages:
            at = stages.index(self.selected) + step if self.selected in stages else 0
            self.select_stage(stages[min(max(at, 0), len(stages) - 1)])
            event.accept()
            return
        if event.key() == Qt.Key.Key_F and not event.modifiers():
            self.fit_button.toggle()
            event.accept()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space) and self.selected:
            self.stageClicked.emit(self.selected)
            event.accept()
            return
        super().keyPressEvent(event)

    def fit(self) -> None:
        """Scale with the type (presentation mode enlarges), but never wider than the panel:
        GoogLeNet's four branches side by side are the point of the diagram. "Fit all" also
        fits the height: the whole network at once, down to the output."""
        rect = self.scene().sceneRect()
        room_w, room_h = self.viewport().width() - 4, self.viewport().height() - 4
        ratio = self.font().pointSizeF() / BASE_POINT_SIZE if self.font().pointSizeF() > 0 else 1.0
        if rect.width() > 0 and room_w > 0:
            ratio = min(ratio, room_w / rect.width())
        if self.fit_button.isChecked() and rect.height() > 0 and room_h > 0:
            ratio = min(ratio, room_h / rect.height())
        self.resetTransform()
        self.scale(ratio, ratio)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit()
        self.fit_button.adjustSize()
        self.fit_button.move(max(0, self.viewport().width() - self.fit_button.width() - 6), 6)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # presentation mode: the boxes are sized for the normal type
            self.fit()
