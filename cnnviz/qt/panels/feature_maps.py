"""The feature-maps panel (every stage's activations for the drawing) and the first-layer kernels.

Both draw through ``MosaicView`` (cnnviz/qt/mosaic.py); the panels follow the
app's state: a new network re-lists the stages, a new result redraws the maps.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QEvent, QRect, QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from cnnviz.qt.widgets.combos import narrow
from cnnviz.qt.widgets.mosaic import MosaicView, as_maps
from cnnviz.qt.widgets.style import (
    ACCENT,
    BAR_COLOR,
    DIVERGING,
    SEQUENTIAL,
    color_of,
    format_shape,
    scaled_font,
)
from cnnviz.qt.widgets.visibility import SkipWhileHidden

ALL_LAYERS = "All layers"


def _pg():
    """pyqtgraph, imported when a map is first enlarged: the first screen does not wait for it (~1 s)."""
    import pyqtgraph

    return pyqtgraph


HOVER_HELP = "Hover to read a value; click a unit to see how it was computed; Shift+click to enlarge its map."

DRAW_TEXT = "Draw on the canvas to see what every layer computes."
LOADING_TEXT = "The maps of your drawing appear as soon as the network has loaded."


class MapZoomDialog(QDialog):
    """One map (or one vector) large, with a colour bar; follows the drawing live."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mapZoom")
        self.setAccessibleName("Enlarged feature map")
        self.setWindowTitle("Feature map")
        self.resize(560, 560)
        self.layer: str | None = None
        self.channel = 0
        self.title = QLabel()
        self.title.setFont(scaled_font(self.font(), 1.2, bold=True))
        self.graphics = _pg().GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.graphics.setToolTip("Enlarged map: values on the colour bar; scroll to zoom, drag to pan")
        self.plot = self.graphics.addPlot()
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)
        self.image = _pg().ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.bars = _pg().BarGraphItem(x=[], height=[], width=0.8, brush=_pg().mkBrush(BAR_COLOR))
        self.plot.addItem(self.bars)
        self.colorbar = _pg().ColorBarItem(colorMap=_pg().colormap.get(SEQUENTIAL), interactive=False)
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        tick_font = scaled_font(self.font(), 0.95)
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).setStyle(tickFont=tick_font)
        self.colorbar.axis.setStyle(tickFont=tick_font)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.graphics, 1)

    def show_map(self, layer: str, channel: int, array: np.ndarray) -> None:
        self.layer, self.channel = layer, channel
        self.update_array(array)

    def update_array(self, array: np.ndarray | None) -> None:
        if array is None:
            self.image.clear()
            self.bars.setOpts(x=[], height=[])
            self.title.setText(f"{self.layer} · {self.channel}: draw something")
            return
        maps, is_vector = as_maps(array)
        if is_vector:
            v = maps[:, 0, 0]
            self.image.clear()
            self.image.setVisible(False)
            self.colorbar.setVisible(False)
            self.plot.invertY(False)
            self.plot.setAspectLocked(False)
            brushes = [_pg().mkBrush(ACCENT if i == self.channel else BAR_COLOR) for i in range(len(v))]
            self.bars.setOpts(x=np.arange(len(v)), height=v, brushes=brushes)
            self.bars.setVisible(True)
            self.title.setText(f"{self.layer}: all {len(v)} values (unit {self.channel} = {v[self.channel]:.3f})")
        else:
            m = maps[min(self.channel, maps.shape[0] - 1)]
            lo, hi = float(m.min()), float(m.max())
            signed = float(maps.min()) < -1e-6
            top = max(abs(lo), abs(hi), 1e-6)
            self.bars.setVisible(False)
            self.image.setVisible(True)
            self.colorbar.setVisible(True)
            self.plot.invertY(True)
            self.plot.setAspectLocked(True)
            self.colorbar.setColorMap(_pg().colormap.get(DIVERGING if signed else SEQUENTIAL))
            self.image.setImage(m, autoLevels=False)
            self.colorbar.setLevels((-top, top) if signed else (0.0, max(hi, 1e-6)))
            self.title.setText(
                f"{self.layer}  ·  channel {self.channel}  ·  {format_shape(m.shape)}  ·  range {lo:.2f} … {hi:.2f}"
            )
        self.setWindowTitle(f"{self.layer} · {self.channel}")


class FeatureMapsView(QWidget):
    """The feature-maps panel: a layer chooser, the mosaic, a hover read-out; click to inspect, Shift+click to enlarge."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("featureMaps")
        self.setAccessibleName("Feature maps")
        self.setToolTip("")
        self._acts: OrderedDict[str, np.ndarray] | None = None
        self.while_hidden = SkipWhileHidden(self, self._show)  # redraw when shown; a hidden panel costs nothing
        self._output_kind, self._class_names = "scores", [str(i) for i in range(10)]

        self.chooser = QComboBox()
        self.chooser.setObjectName("layerChooser")
        self.chooser.setAccessibleName("Layer to show")
        self.chooser.setToolTip("Show every layer, or one layer large")
        self.chooser.addItem(ALL_LAYERS)
        narrow(self.chooser, 9)
        self.per_map = QCheckBox("Per-map scale")
        self.per_map.setObjectName("perMapScale")
        self.per_map.setAccessibleName("Scale each map on its own")
        self.per_map.setToolTip(
            "Off: one colour scale per layer, so you can compare how strongly maps respond.\n"
            "On: each map uses its own range, so weak maps still show their pattern."
        )
        top = QHBoxLayout()
        label = QLabel("Layer")
        label.setToolTip(self.chooser.toolTip())
        top.addWidget(label)
        top.addWidget(self.chooser)
        top.addSpacing(16)
        top.addWidget(self.per_map)
        top.addStretch(1)
        self.legend = _Legend()
        # The colour key on a row of its own: beside the controls it was cut off in a projector's column.
        key = QHBoxLayout()
        key.addStretch(1)
        key.addWidget(self.legend)

        self.mosaic = MosaicView()
        self.mosaic.setObjectName("featureMapMosaic")
        self.mosaic.setAccessibleName("Feature map grid")
        self.mosaic.set_empty_text(DRAW_TEXT)
        self.mosaic.setToolTip("Click a unit to see how its value was computed (Inspector);\n"
                               "Shift+click a map to enlarge it")  # fmt: skip
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.mosaic)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)

        self.hover = QLabel(HOVER_HELP)
        self.hover.setObjectName("mapHover")
        self.hover.setWordWrap(True)  # a narrow projector column wraps it rather than widening the window
        self.hover.setAccessibleName("Value under the mouse")
        self.hover.setToolTip("Layer, channel and value under the mouse pointer")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addLayout(key)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.hover)

        self.zoom: MapZoomDialog | None = None
        self.chooser.currentTextChanged.connect(self._on_layer_chosen)
        self.per_map.toggled.connect(self.mosaic.set_per_map)
        self.mosaic.hovered.connect(self._on_hovered)
        self.mosaic.mapClicked.connect(self.enlarge)

    # -- data in ----------------------------------------------------------------------
    def set_layer_names(self, names: list[str]) -> None:
        """A new model: offer its layers, keep the choice if the new model has it."""
        current = self.chooser.currentText()
        self.chooser.blockSignals(True)
        self.chooser.clear()
        self.chooser.addItem(ALL_LAYERS)
        self.chooser.addItems(names)
        index = self.chooser.findText(current)
        self.chooser.setCurrentIndex(max(index, 0))
        self.chooser.blockSignals(False)
        self._acts = None
        self._apply_fit()
        self.mosaic.set_arrays(None)
        if self.zoom is not None and self.zoom.layer not in names:  # same model (e.g. training starts): keep it
            self.zoom.hide()

    def follow(self, state) -> None:
        """Subscribe to the app's state: a new network re-lists its stages, a new result redraws."""

        def network() -> None:
            session = state.session
            described = session.description
            self.set_output_kind("rbf" if described.output_is_distance else "scores", session.class_names)
            self.set_layer_names(list(described.stage_names))

        state.networkChanged.connect(network)
        state.resultReady.connect(lambda result: self.set_activations(result.activations))
        # A drawing made while torch loads is answered by the prediction panel alone (state.first_answers).
        state.first_answers.answered.connect(lambda _result, _names: self.mosaic.set_empty_text(LOADING_TEXT))
        state.sessionReady.connect(lambda: self.mosaic.set_empty_text(DRAW_TEXT))
        state.loadFailed.connect(lambda _exc: self.mosaic.set_empty_text(DRAW_TEXT))  # no network is coming
        self.mosaic.unitClicked.connect(state.select_unit)
        state.stageSelected.connect(self.show_stage)

    def show_stage(self, name: str) -> None:
        """Show one stage large (a click in the architecture view); unknown names are ignored."""
        if self.chooser.findText(name) >= 0:
            self.chooser.setCurrentText(name)

    def set_output_kind(self, kind: str, class_names) -> None:
        """How the last stage's ten values read: class "scores", or LeNet-5's "rbf" distances."""
        self._output_kind, self._class_names = kind, list(class_names)

    def set_activations(self, acts: OrderedDict[str, np.ndarray] | None) -> None:
        self._acts = acts
        self._update_zoom()  # its own window: it follows the drawing even with this tab hidden
        if not self.while_hidden.skip():
            self._show()

    def refresh_if_stale(self) -> None:
        self.while_hidden.catch_up()

    def _show(self) -> None:
        acts = self._acts
        layer = self.chooser.currentText()
        if acts is not None and layer != ALL_LAYERS and layer in acts:
            acts = OrderedDict([(layer, acts[layer])])
        titles, labels = {}, {}
        last = next(reversed(self._acts)) if self._acts else None
        if acts is not None and last in acts and acts[last].shape == (len(self._class_names),):
            names = self._class_names  # the mosaic widens the cells for "Ankle boot"
            if self._output_kind == "rbf":  # LeNet-5 outputs minus the distance to each class's bitmap
                acts = OrderedDict(acts)
                acts[last] = -acts[last]
                titles[last] = "distance to each class's RBF bitmap (smaller = closer; the answer outlined)"
            else:
                titles[last] = "a score per class (the largest, outlined, is the answer)"
            answer = int(np.argmin(acts[last]) if self._output_kind == "rbf" else np.argmax(acts[last]))
            labels[last] = (names, answer)
        self.mosaic.set_arrays(acts, titles, labels)
        self.legend.set_signed_modes({b.signed for b in self.mosaic._blocks})

    def _update_zoom(self) -> None:
        if self.zoom is not None and self.zoom.isVisible():
            self.zoom.update_array(None if self._acts is None else self._acts.get(self.zoom.layer))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh_if_stale()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._apply_fit()

    def _apply_fit(self) -> None:
        single = self.chooser.currentText() != ALL_LAYERS
        self.mosaic.set_fit(self.scroll.viewport().size() if single else None)

    def _on_layer_chosen(self, _text: str) -> None:
        self._apply_fit()
        self._show()

    def _on_hovered(self, text: str) -> None:
        self.hover.setText(text or HOVER_HELP)

    def enlarge(self, layer: str, channel: int) -> None:
        """Open (or retarget) the large view of one map."""
        if self._acts is None or layer not in self._acts:
            return
        if self.zoom is None:
            self.zoom = MapZoomDialog(self.window())
        self.zoom.show_map(layer, channel, self._acts[layer])
        self.zoom.show()
        self.zoom.raise_()


class _Legend(QWidget):
    """Tiny colour ramps saying what the colours mean."""

    def __init__(self) -> None:
        super().__init__()
        self._modes: set[bool] = set()
        self.setToolTip("Colours: sequential (0 to max) for non-negative layers, blue-white-red for signed ones")
        self.setMinimumHeight(22)

    def set_signed_modes(self, modes: set[bool]) -> None:
        if modes != self._modes:
            self._modes = modes
            self.setMinimumWidth(self.sizeHint().width())  # never squeezed: its words must show whole
            self.updateGeometry()
            self.update()

    def sizeHint(self) -> QSize:
        fm = self.fontMetrics()
        width = sum(fm.horizontalAdvance(a) + fm.horizontalAdvance(b) + 6 + 70 + 4 + 14
                    for a, b in (("−", "+") if signed else ("0", "max") for signed in self._modes))  # fmt: skip
        return QSize(max(width, 20), max(24, fm.height() + 6))

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:
            self.setMinimumWidth(self.sizeHint().width())

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        x = 0
        h = self.height()
        fm = p.fontMetrics()
        for signed in sorted(self._modes):
            name = DIVERGING if signed else SEQUENTIAL
            left, right = ("−", "+") if signed else ("0", "max")
            p.setPen(self.palette().text().color())
            p.drawText(QRect(x, 0, fm.horizontalAdvance(left) + 4, h), Qt.AlignmentFlag.AlignVCenter, left)
            x += fm.horizontalAdvance(left) + 6
            ramp_w = 70
            for i in range(ramp_w):
                p.setPen(color_of(name, i / (ramp_w - 1)))
                p.drawLine(x + i, 4, x + i, h - 4)
            x += ramp_w + 4
            p.setPen(self.palette().text().color())
            p.drawText(QRect(x, 0, fm.horizontalAdvance(right) + 4, h), Qt.AlignmentFlag.AlignVCenter, right)
            x += fm.horizontalAdvance(right) + 14
        p.end()


class KernelsView(QWidget):
    """The first convolution's kernels: what each first-layer map looks for."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("kernelView")
        self.setAccessibleName("First-layer kernels")
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.mosaic = MosaicView(force_signed=True)
        self.mosaic.setObjectName("kernelMosaic")
        self.mosaic.setAccessibleName("Kernel grid")
        self.mosaic.setToolTip("Each square is one kernel: red = positive weight, blue = negative, white = 0")
        self.hover = QLabel("Hover over a kernel to read its weights.")
        self.hover.setObjectName("kernelHover")
        self.hover.setWordWrap(True)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.mosaic)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.note)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.hover)
        self.mosaic.hovered.connect(
            lambda t: self.hover.setText(t.replace("channel", "kernel") or "Hover over a kernel to read its weights.")
        )
        self._kernels: tuple[str, np.ndarray] | None = None
        # The kernels fill the room they have (a presentation page, not 20-pixel specks): they follow the
        # viewport's own size, which settles after the panel's (a dock shown from behind a tab, F11).
        self.scroll.viewport().installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt override)
        if watched is self.scroll.viewport() and event.type() == QEvent.Type.Resize and self._kernels is not None:
            self.mosaic.set_fit(event.size())
        return False

    def follow(self, state) -> None:
        """Subscribe to the app's state: new networks and live weights redraw the kernels."""

        def refresh() -> None:
            if state.session.description.first_conv_stage is None:  # a user's own network may have none
                self.set_kernels(None, None)
            else:
                self.set_kernels(*state.session.first_kernels())

        state.networkChanged.connect(refresh)
        state.weightsChanged.connect(refresh)

    def set_kernels(self, name: str | None, weights: np.ndarray | None) -> None:
        """``weights``: out x in x kh x kw; input channel 0 is shown (all zoo models read one channel)."""
        self._kernels = None if weights is None else (name, weights)
        if weights is None:
            self.note.setText("This network has no convolution, so it has no kernels to show.")
            self.mosaic.set_arrays(None)
            return
        out, cin, kh, kw = weights.shape
        self.note.setText(
            f"<b>{name}</b>: {out} kernels of {kh}×{kw} (one per map of the first layer). "
            "Each slides over the input and responds where the picture looks like it."
        )
        self.mosaic.set_fit(self.scroll.viewport().size())
        self.mosaic.set_arrays(
            OrderedDict([(name, weights[:, 0])]),
            {name: f"{out} kernels of {kh}×{kw}   ·   red = positive, blue = negative"},
        )

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._kernels is not None:
            self.mosaic.set_fit(self.scroll.viewport().size())
