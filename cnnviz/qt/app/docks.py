"""The panels as dock widgets: the default arrangement, reset, and presentation mode."""

from __future__ import annotations

from PySide6.QtCore import QObject, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import QDockWidget, QScrollArea, QTabBar, QTabWidget, QToolTip, QWidget

from cnnviz.qt.widgets.style import BASE_POINT_SIZE, PRESENTATION_SCALE

DEFAULT_SIZE = QSize(1600, 1000)
# Below this (in device-independent pixels) the screen is a projector's, not a monitor's:
# one column fewer in the normal layout, one chosen panel at a time in presentation mode.
ROOMY = QSize(1500, 950)
FRAME_ALLOWANCE = QSize(8, 36)  # a window manager's borders and title bar, not part of geometry()


def available_area(widget: QWidget) -> QRect:
    """The part of the widget's screen that windows may use (without panels and docks)."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry()


def is_roomy(area: QRect) -> bool:
    return area.width() >= ROOMY.width() and area.height() >= ROOMY.height()


class DockLayout(QObject):
    """Creates ``window.dock_*`` around the window's panels and switches presentation mode."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.presentation = False
        self._was_maximized = False
        self._state_before_presentation = None
        self._hidden_for_presentation: list[QDockWidget] = []
        self.focus_index = 0  # which panel presentation mode shows on a small screen
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
        w.dock_maps = d(
            "Feature maps",
            "dockFeatureMaps",
            w.feature_maps,
            "Every layer's output for your drawing, updated while you draw",
        )
        w.dock_kernels = d(
            "Kernels", "dockKernels", w.kernels, "The weights of the first convolution: the patterns it looks for"
        )
        w.dock_draw = d("Draw", "dockDraw", w.canvas_panel, "Draw here; the network answers while you draw")
        w.dock_input = d("Model input (28×28)", "dockInput", w.preview, "What the network sees")
        w.dock_prediction = d("Prediction", "dockPrediction", w.prediction, "The network's answer")
        w.dock_attribution = d(
            "Why this class?",
            "dockAttribution",
            w.attribution,
            "Heat maps over your drawing: which pixels make the network choose a class",
        )
        w.dock_comparison = d(
            "Six networks",
            "dockComparison",
            w.comparison,
            "The six zoo networks with their shipped weights read your drawing at once",
        )
        w.dock_layers = d("Layers", "dockLayers", w.layer_table, "The model's layers, sizes and costs")
        w.dock_c3 = d("C3 table", "dockC3", w.c3, "LeNet-5's S2→C3 connection table")  # fmt: skip
        # In a scroll area: its grids must not squeeze the answer's column on a projector.
        w.inspector_scroll = QScrollArea()
        w.inspector_scroll.setObjectName("inspectorScroll")
        w.inspector_scroll.setWidgetResizable(True)
        w.inspector_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        w.inspector_scroll.setWidget(w.inspector)
        w.dock_inspector = d(
            "Inspector",
            "dockInspector",
            w.inspector_scroll,
            "How one unit's value was computed: click a unit of a feature map",
        )
        w.dock_architecture = d("Architecture", "dockArchitecture", w.architecture,
                                "The network as a diagram; click a box to see that stage's maps")  # fmt: skip
        # The monitor is tall; in a scroll area it can share the middle column and still be enlarged or floated.
        w.training_scroll = QScrollArea()
        w.training_scroll.setObjectName("trainingScroll")
        w.training_scroll.setWidgetResizable(True)
        w.training_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        w.training_scroll.setWidget(w.training_panel)
        w.dock_training = d("Training", "dockTraining", w.training_scroll, "Train the model and watch it learn")
        # A dock behind another's tab is moved off-screen, not hidden: catch up when its tab is raised.
        for dock, panel in ((w.dock_maps, w.feature_maps), (w.dock_c3, w.c3), (w.dock_inspector, w.inspector),
                            (w.dock_architecture, w.architecture)):  # fmt: skip
            dock.visibilityChanged.connect(
                lambda visible, panel=panel: visible and QTimer.singleShot(0, panel, panel.refresh_if_stale)
            )
        self.fit_to_screen()
        self.default_layout()
        self.default_state = w.saveState()
        QTimer.singleShot(0, self, self.whole_tab_titles)  # the tab bars exist once the window is laid out

    def follow(self, state) -> None:
        """Bring the panel a selection is for to the front: the inspector for a unit, the maps for a stage."""
        w = self.window

        def front(dock: QDockWidget, panel: QWidget) -> None:
            if self.presentation and self.compact:  # one panel at a time: this one
                docks = self.focus_docks()
                self.show_focus_panel(docks.index(dock))
            dock.show()
            dock.raise_()
            panel.setFocus()  # the inspector takes the arrow keys at once

        state.unitSelected.connect(lambda _unit: front(w.dock_inspector, w.inspector))
        state.stageSelected.connect(lambda _stage: front(w.dock_maps, w.feature_maps))

    def fit_to_screen(self) -> None:
        """Size and place the window inside its screen's available area (1600x1000 where it fits)."""
        w, area = self.window, available_area(self.window)
        width = min(DEFAULT_SIZE.width(), area.width() - FRAME_ALLOWANCE.width())
        height = min(DEFAULT_SIZE.height(), area.height() - FRAME_ALLOWANCE.height())
        w.resize(width, height)
        w.move(area.x() + (area.width() - width) // 2, area.y() + max(0, (area.height() - height - 30) // 2))

    def ensure_on_screen(self) -> None:
        """A remembered geometry from a bigger screen (the lecturer's laptop, then the projector) is refitted."""
        area = available_area(self.window)
        if not area.contains(self.window.frameGeometry()) and not self.window.isMaximized():
            self.fit_to_screen()

    @property
    def compact(self) -> bool:
        return not is_roomy(available_area(self.window))

    def default_layout(self) -> None:
        w = self.window
        docks = (w.dock_draw, w.dock_input, w.dock_maps, w.dock_kernels, w.dock_training, w.dock_prediction,
                 w.dock_layers, w.dock_c3, w.dock_inspector, w.dock_architecture)  # fmt: skip
        for dock in docks:
            dock.setFloating(False)
            dock.show()
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        for dock in (w.dock_attribution, w.dock_comparison):  # the explanations: tabbed with the structure below
            dock.setFloating(False)
            dock.show()
        # Left: draw, and what the model sees. Middle: feature maps | kernels | training.
        # Right: the answer, and the model's structure.
        w.addDockWidget(left, w.dock_draw)
        w.splitDockWidget(w.dock_draw, w.dock_input, vertical)
        w.addDockWidget(right, w.dock_maps)
        w.splitDockWidget(w.dock_maps, w.dock_prediction, horizontal)
        w.tabifyDockWidget(w.dock_maps, w.dock_kernels)
        w.tabifyDockWidget(w.dock_kernels, w.dock_training)
        # The inspector needs the middle column's room (patch, kernel and products side by side).
        w.tabifyDockWidget(w.dock_training, w.dock_inspector)
        w.tabifyDockWidget(w.dock_inspector, w.dock_architecture)
        width, height = w.width(), w.height()
        if self.compact:
            # A projector: the answer keeps a column of its own; the structure joins the big views' tabs.
            w.tabifyDockWidget(w.dock_training, w.dock_layers)
            w.tabifyDockWidget(w.dock_layers, w.dock_c3)
            w.tabifyDockWidget(w.dock_c3, w.dock_attribution)
            w.tabifyDockWidget(w.dock_attribution, w.dock_comparison)
            w.dock_maps.raise_()
            w.resizeDocks([w.dock_draw, w.dock_maps, w.dock_prediction],
                          [int(width * 0.29), int(width * 0.47), int(width * 0.24)], horizontal)  # fmt: skip
            w.resizeDocks([w.dock_draw, w.dock_input], [int(height * 0.62), int(height * 0.38)], vertical)
            return
        w.splitDockWidget(w.dock_prediction, w.dock_layers, vertical)
        w.tabifyDockWidget(w.dock_layers, w.dock_c3)
        # The explanations share the answer's column: the prediction stays in sight above them.
        w.tabifyDockWidget(w.dock_c3, w.dock_attribution)
        w.tabifyDockWidget(w.dock_attribution, w.dock_comparison)
        w.dock_maps.raise_()
        w.dock_layers.raise_()
        w.resizeDocks([w.dock_draw, w.dock_maps, w.dock_prediction],
                      [int(width * 0.225), int(width * 0.46), int(width * 0.315)], horizontal)  # fmt: skip
        w.resizeDocks([w.dock_draw, w.dock_input], [int(height * 0.56), int(height * 0.44)], vertical)
        w.resizeDocks([w.dock_prediction, w.dock_layers], [int(height * 0.48), int(height * 0.52)], vertical)

    def reset_layout(self) -> None:
        """Every panel back where it started (the state saved right after building them)."""
        self.window.restoreState(self.default_state)
        self.whole_tab_titles()

    def whole_tab_titles(self) -> None:
        """Dock tabs keep their whole titles ("Why this class?", not "Wh…"); where a projector's
        column is too narrow for all of them, the tab bar scrolls with arrows instead."""
        for bar in self.window.findChildren(QTabBar):
            bar.setElideMode(Qt.TextElideMode.ElideNone)
            bar.setUsesScrollButtons(True)

    # -- presentation mode ------------------------------------------------------------
    def focus_docks(self) -> list[QDockWidget]:
        """The panels presentation mode shows one at a time on a small screen (PgDown/PgUp cycle)."""
        w = self.window
        return [w.dock_maps, w.dock_kernels, w.dock_training, w.dock_layers, w.dock_c3, w.dock_inspector,
                w.dock_architecture, w.dock_attribution, w.dock_comparison]  # fmt: skip

    def toggle_presentation_mode(self) -> None:
        self.set_presentation_mode(not self.presentation)

    def set_presentation_mode(self, on: bool) -> None:
        w = self.window
        if on == self.presentation:
            return
        self.presentation = on
        w.act_presentation.setChecked(on)
        w.act_next_panel.setEnabled(on)
        w.act_previous_panel.setEnabled(on)
        font = QFont(w.base_font)
        font.setPointSizeF(BASE_POINT_SIZE * (PRESENTATION_SCALE if on else 1.0))
        w.setFont(font)
        QToolTip.setFont(font)
        for window in w.findChildren(QWidget):  # separate windows (the enlarged map) do not inherit fonts
            if window.isWindow() and window is not w:
                window.setFont(font)
        if on:
            self._was_maximized = w.isMaximized()
            self._state_before_presentation = w.saveState()
            w.showFullScreen()
            QTimer.singleShot(0, self, self._fit_presentation_layout)
        else:
            for dock in self._hidden_for_presentation:
                dock.show()
            self._hidden_for_presentation = []
            if self._was_maximized:
                w.showMaximized()
            else:
                w.showNormal()
            w.restoreState(self._state_before_presentation)
        QTimer.singleShot(0, self, self.whole_tab_titles)

    def _fit_presentation_layout(self) -> None:
        """Share the full screen out: on a projector the drawing, the answer and one chosen panel;
        on a big screen every panel, the big views in the middle."""
        if not self.presentation:
            return
        w = self.window
        width = w.width()
        if self.compact:
            self.default_layout()  # the projector arrangement, then only the chosen panel in the middle
            self._hidden_for_presentation = [w.dock_input, *self.focus_docks()]
            for dock in self._hidden_for_presentation:
                dock.hide()
            self.show_focus_panel(self.focus_index)
            w.resizeDocks([w.dock_draw, w.dock_maps, w.dock_prediction],
                          [int(width * 0.3), int(width * 0.42), int(width * 0.28)], Qt.Orientation.Horizontal)  # fmt: skip
            return
        w.resizeDocks(
            [w.dock_draw, w.dock_maps, w.dock_prediction],
            [int(width * 0.22), int(width * 0.44), int(width * 0.34)],
            Qt.Orientation.Horizontal,
        )

    def show_focus_panel(self, index: int) -> None:
        """On a small screen in presentation mode: this panel alone between the drawing and the answer."""
        docks = self.focus_docks()
        self.focus_index = index % len(docks)
        for i, dock in enumerate(docks):
            dock.setVisible(i == self.focus_index)
        docks[self.focus_index].raise_()

    def next_panel(self, step: int = 1) -> None:
        """PgDown / PgUp in presentation mode (a presenter's remote sends these): the next panel."""
        if not self.presentation:
            return
        if self.compact:
            self.show_focus_panel(self.focus_index + step)
        else:  # every panel is on screen: bring the next tab of the middle column to the front
            self.focus_index = (self.focus_index + step) % 3
            (self.window.dock_maps, self.window.dock_kernels, self.window.dock_training)[self.focus_index].raise_()
