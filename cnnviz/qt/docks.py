"""The panels as dock widgets: the default arrangement, reset, and presentation mode."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSize, Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QDockWidget, QScrollArea, QTabWidget, QWidget

from cnnviz.qt.style import BASE_POINT_SIZE, PRESENTATION_SCALE

DEFAULT_SIZE = QSize(1600, 1000)


class DockLayout(QObject):
    """Creates ``window.dock_*`` around the window's panels and switches presentation mode."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.presentation = False
        self._was_maximized = False
        self._state_before_presentation = None
        self._build()

    def _dock(self, title: str, name: str, widget: QWidget, tip: str) -> QDockWidget:
        w = self.window
        dock = QDockWidget(title, w)
        dock.setObjectName(name)
        dock.setAccessibleName(title)
        dock.setToolTip(tip)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        w.view_menu.addAction(dock.toggleViewAction())
        return dock

    def _build(self) -> None:
        # Every panel is a dock (no central widget), so a teacher can rearrange,
        # float or close any of them; the middle column holds the big views.
        w = self.window
        w.setDockNestingEnabled(True)
        w.setTabPosition(Qt.DockWidgetArea.AllDockWidgetAreas, QTabWidget.TabPosition.North)
        d = self._dock
        w.dock_maps = d("Feature maps", "dockFeatureMaps", w.feature_maps,
                        "Every layer's output for your drawing, updated while you draw")
        w.dock_kernels = d("First-layer kernels", "dockKernels", w.kernels,
                           "The weights of the first convolution: the patterns it looks for")
        w.dock_draw = d("Draw", "dockDraw", w.canvas_panel, "Draw here; the network answers while you draw")
        w.dock_input = d("Model input (28×28)", "dockInput", w.preview, "What the network sees")
        w.dock_prediction = d("Prediction", "dockPrediction", w.prediction, "The network's answer")
        w.dock_layers = d("Layers", "dockLayers", w.layer_table, "The model's layers, sizes and costs")
        w.dock_c3 = d("C3 connections", "dockC3", w.c3, "LeNet-5's S2→C3 connection table")  # fmt: skip
        # The monitor is tall; in a scroll area it can share the middle column and still be enlarged or floated.
        w.training_scroll = QScrollArea()
        w.training_scroll.setObjectName("trainingScroll")
        w.training_scroll.setWidgetResizable(True)
        w.training_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        w.training_scroll.setWidget(w.training_panel)
        w.dock_training = d("Training", "dockTraining", w.training_scroll, "Train the model and watch it learn")
        # A dock behind another's tab is moved off-screen, not hidden: catch up when its tab is raised.
        for dock, panel in ((w.dock_maps, w.feature_maps), (w.dock_c3, w.c3)):
            dock.visibilityChanged.connect(
                lambda visible, panel=panel: visible and QTimer.singleShot(0, panel, panel.refresh_if_stale)
            )
        w.resize(DEFAULT_SIZE)
        self.default_layout()
        self.default_state = w.saveState()

    def default_layout(self) -> None:
        w = self.window
        docks = (w.dock_draw, w.dock_input, w.dock_maps, w.dock_kernels, w.dock_training, w.dock_prediction,
                 w.dock_layers, w.dock_c3)  # fmt: skip
        for dock in docks:
            dock.setFloating(False)
            dock.show()
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        # Left: draw, and what the model sees. Middle: feature maps | kernels | training.
        # Right: the answer, and the model's structure.
        w.addDockWidget(left, w.dock_draw)
        w.splitDockWidget(w.dock_draw, w.dock_input, vertical)
        w.addDockWidget(right, w.dock_maps)
        w.splitDockWidget(w.dock_maps, w.dock_prediction, horizontal)
        w.splitDockWidget(w.dock_prediction, w.dock_layers, vertical)
        w.tabifyDockWidget(w.dock_maps, w.dock_kernels)
        w.tabifyDockWidget(w.dock_kernels, w.dock_training)
        w.tabifyDockWidget(w.dock_layers, w.dock_c3)
        w.dock_maps.raise_()
        w.dock_layers.raise_()
        w.resizeDocks([w.dock_draw, w.dock_maps, w.dock_prediction], [360, 740, 500], horizontal)
        w.resizeDocks([w.dock_draw, w.dock_input], [500, 380], vertical)
        w.resizeDocks([w.dock_prediction, w.dock_layers], [430, 470], vertical)

    def reset_layout(self) -> None:
        """Every panel back where it started (the state saved right after building them)."""
        self.window.restoreState(self.default_state)

    # -- presentation mode ------------------------------------------------------------
    def toggle_presentation_mode(self) -> None:
        self.set_presentation_mode(not self.presentation)

    def set_presentation_mode(self, on: bool) -> None:
        w = self.window
        if on == self.presentation:
            return
        self.presentation = on
        w.act_presentation.setChecked(on)
        font = QFont(w.base_font)
        font.setPointSizeF(BASE_POINT_SIZE * (PRESENTATION_SCALE if on else 1.0))
        w.setFont(font)
        if on:
            self._was_maximized = w.isMaximized()
            self._state_before_presentation = w.saveState()
            w.showFullScreen()
            QTimer.singleShot(0, self, self._fit_presentation_layout)
        else:
            if self._was_maximized:
                w.showMaximized()
            else:
                w.showNormal()
            w.restoreState(self._state_before_presentation)

    def _fit_presentation_layout(self) -> None:
        """Share the full screen out: drawing, the big views, the answer."""
        if not self.presentation:
            return
        w = self.window
        width = w.width()
        w.resizeDocks(
            [w.dock_draw, w.dock_maps, w.dock_prediction],
            [int(width * 0.24), int(width * 0.43), int(width * 0.33)],
            Qt.Orientation.Horizontal,
        )
