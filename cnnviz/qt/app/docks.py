"""The panels as dock widgets: the workspaces' arrangements, reset, and presentation mode."""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import QDockWidget, QScrollArea, QTabBar, QTabWidget, QToolTip, QWidget

from cnnviz.qt.app.figures import show_dock_menu
from cnnviz.qt.app.workspaces import SHORT_TITLES, STACKED, WORKSPACES, PanelDock, Workspaces
from cnnviz.qt.widgets.scrolled import scrolled
from cnnviz.qt.widgets.style import BASE_POINT_SIZE, PRESENTATION_SCALE

DEFAULT_SIZE = QSize(1600, 1000)
# Below this (in device-independent pixels) the screen is a projector's, not a monitor's:
# one column fewer in the normal layout, one chosen panel at a time in presentation mode.
ROOMY = QSize(1500, 950)
# After presentation mode the window manager gives the window its old size back, on a busy machine
# seconds later; a resize to it within this long puts the dock state back again.
RESTORE_ON_RESIZE_S = 5.0
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
        self._workspace_before_presentation = ""
        self._size_before_presentation = QSize()
        self._restore_on_resize_until = 0.0  # time.monotonic() until which a resize back puts the state back
        window.installEventFilter(self)
        self.focus_index = 0  # which of the workspace's panels presentation mode shows on a small screen
        self.workspaces = Workspaces(window, self.default_layout)
        self.workspaces.changed.connect(self._on_workspace_changed)
        self._build()

    def _dock(self, title: str, name: str, widget: QWidget, tip: str) -> QDockWidget:
        w = self.window
        dock = PanelDock(title, w)
        dock.bring_forward = self.bring_forward
        dock.context_menu = lambda event: show_dock_menu(w, dock, event)  # export a figure
        dock.setObjectName(name)
        dock.setAccessibleName(title)
        dock.setToolTip(tip)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
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
        # Scrolled (down only): on a 768-line screen they share the column with "Why this class?".
        w.dock_fool = d(
            "Fool it", "dockFoolIt", scrolled(w.fool_it), "Adversarial examples: tiny changes that flip the answer"
        )
        w.dock_distort = d(
            "Distort", "dockDistort", scrolled(w.distort), "Shift, turn, scale or cover the input; sweep accuracy"
        )
        w.dock_sanity = d(
            "Sanity check", "dockSanity", scrolled(w.sanity), "Do the heat maps explain the network? Randomise it"
        )
        w.dock_layers = d("Layers", "dockLayers", w.layer_table, "The model's layers, sizes and costs")
        # In a scroll area (down only): under the answer on a 720-line projector it must not make the window taller.
        w.c3_scroll = QScrollArea()
        w.c3_scroll.setObjectName("c3Scroll")
        w.c3_scroll.setWidgetResizable(True)
        w.c3_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        w.c3_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        w.c3_scroll.setWidget(w.c3)
        w.dock_c3 = d("C3 table", "dockC3", w.c3_scroll, "LeNet-5's S2→C3 connection table")  # fmt: skip
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
        w.dock_units = d(
            "Units",
            "dockUnits",
            w.units,
            "What one channel has learned: its strongest test images and the picture it likes most",
        )
        w.dock_embedding = d("Embedding", "dockEmbedding", w.embedding,
                             "The test set as a map (PCA or t-SNE) with your drawing in it")  # fmt: skip
        # A dock behind another's tab is moved off-screen, not hidden: catch up when its tab is raised.
        for dock, panel in ((w.dock_maps, w.feature_maps), (w.dock_c3, w.c3), (w.dock_inspector, w.inspector),
                            (w.dock_architecture, w.architecture), (w.dock_units, w.units),
                            (w.dock_embedding, w.embedding)):  # fmt: skip
            dock.visibilityChanged.connect(
                lambda visible, panel=panel: visible and QTimer.singleShot(0, panel, panel.refresh_if_stale)
            )
        w.insertToolBar(w.model_toolbar, self.workspaces.bar)
        w.insertToolBarBreak(w.model_toolbar)  # the workspace bar on a row of its own, above the pickers
        self._fill_view_menu()
        # Every dock is in the layout from the start (hidden where its workspace is not on screen): a saved
        # state then names all of them, and restoring it rebuilds the same arrangement exactly.
        for dock in self.all_docks():
            w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.fit_to_screen()
        self.default_layout()
        QTimer.singleShot(0, self, self.whole_tab_titles)  # the tab bars exist once the window is laid out

    def all_docks(self) -> list[QDockWidget]:
        return [*self.workspaces.always(), *(d for name in WORKSPACES for d in self.workspaces.docks(name))]

    def _fill_view_menu(self) -> None:
        """The workspaces (Ctrl+1...), then each panel: choosing one brings it forward, never hides it."""
        menu = self.window.view_menu
        menu.addSeparator()
        menu.addActions(list(self.workspaces.actions.values()))
        for name in (None, *WORKSPACES):
            menu.addSection(name or "Always on screen")
            docks = self.workspaces.always() if name is None else self.workspaces.docks(name)
            for dock in docks:
                action = menu.addAction(f"Show {dock.windowTitle()}")
                action.setObjectName(f"show{dock.objectName()[4:]}")
                action.setToolTip(f"Bring {dock.windowTitle()} forward" + (f" (the {name} workspace)" if name else ""))
                action.triggered.connect(lambda _=False, d=dock: d.raise_())

    def bring_forward(self, dock: QDockWidget) -> None:
        """Show this panel in front: its workspace on screen, its tab raised, one chosen panel on a projector."""
        name = self.workspaces.workspace_of(dock)
        if name is not None and name != self.workspaces.current:
            self.workspaces.show(name)
        if self.presentation and self.compact and dock in self.focus_docks():
            self.show_focus_panel(self.focus_docks().index(dock))
            return
        dock.show()
        dock.raise_here()

    def title_docks(self) -> None:
        """Short tab titles on a projector ("Maps", "Diagram"), whole ones on a monitor."""
        for dock in self.all_docks():
            short = SHORT_TITLES.get(dock.objectName()) if self.crowded else None
            dock.setWindowTitle(short or dock.accessibleName())

    def current_workspace(self) -> str:
        return self.workspaces.current

    def show_workspace(self, name: str) -> None:
        if name != self.workspaces.current:
            self.workspaces.show(name)

    def _on_workspace_changed(self, _name: str) -> None:
        self.title_docks()
        if self.presentation:
            self.focus_index = 0
            self._fit_presentation_layout()

    def follow(self, state) -> None:
        """Bring the panel a selection is for to the front: the inspector for a unit, the maps for a stage."""
        w = self.window

        def front(dock: QDockWidget, panel: QWidget) -> None:
            dock.raise_()  # switches to the dock's workspace first
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

    @property
    def crowded(self) -> bool:
        """A projector's screen, or presentation mode's large type: one column of big views, no side tabs."""
        return self.compact or self.presentation

    def default_layout(self, name: str | None = None) -> None:
        """Workspace ``name`` (default: the current one) arranged afresh: the drawing and its input on the
        left, the workspace's big views in the middle, the answer (and the small views) on the right."""
        w = self.window
        name = name or self.workspaces.current
        mine = self.workspaces.docks(name)
        for dock in self.all_docks():
            dock.setFloating(False)
            dock.setVisible(dock in mine or dock in self.workspaces.always())
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        self.title_docks()
        # On a projector the structure's views join the big ones' tabs (short titles: six fit at 1024 wide);
        # on a monitor they sit under the answer.
        middle, side, below = (mine, [], []) if self.crowded else (mine[:4], mine[4:], [])
        if name in STACKED:  # the method's short form above the six networks, both as wide as can be
            middle, side, below = mine[:1], [], mine[1:]
        w.addDockWidget(left, w.dock_draw)
        w.splitDockWidget(w.dock_draw, w.dock_input, vertical)
        w.addDockWidget(right, middle[0])
        w.splitDockWidget(middle[0], w.dock_prediction, horizontal)
        for before, dock in zip(middle, middle[1:], strict=False):  # a few short tabs: they fit a projector's column
            w.tabifyDockWidget(before, dock)
        for dock in below[:1]:
            w.splitDockWidget(middle[0], dock, vertical)
        for before, dock in zip(below, below[1:], strict=False):  # the rest as tabs beside the first: it fits 1024x768
            w.tabifyDockWidget(before, dock)
        if below:
            below[0].raise_here()
        if side:
            w.splitDockWidget(w.dock_prediction, side[0], vertical)
            for before, dock in zip(side, side[1:], strict=False):
                w.tabifyDockWidget(before, dock)
            side[0].raise_here()
        middle[0].raise_here()
        width, height = w.width(), w.height()
        shares = (0.27, 0.5, 0.23) if self.compact else (0.225, 0.46, 0.315)
        if name == "Train":  # the training form and its plots take the room the small views leave
            shares = (0.25, 0.55, 0.2) if self.compact else (0.2, 0.55, 0.25)
        w.resizeDocks([w.dock_draw, middle[0], w.dock_prediction], [int(width * s) for s in shares], horizontal)
        w.resizeDocks([w.dock_draw, w.dock_input], [int(height * 0.6), int(height * 0.4)], vertical)
        if side:
            w.resizeDocks([w.dock_prediction, side[0]], [int(height * 0.45), int(height * 0.55)], vertical)
        if below:
            top = 0.36 if self.presentation else 0.3  # the method's form in large type needs its lines
            w.resizeDocks([middle[0], below[0]], [int(height * top), int(height * (1 - top))], vertical)
        QTimer.singleShot(0, self, self.whole_tab_titles)

    def reset_layout(self) -> None:
        """Every panel back where it started: each workspace forgets its arrangement, this one is rebuilt."""
        self.workspaces.forget()
        if self.presentation:
            self._fit_presentation_layout()
        else:
            self.default_layout()
        self.whole_tab_titles()

    def whole_tab_titles(self) -> None:
        """Dock tabs keep their whole titles ("Why this class?", not "Wh…"); a workspace has few enough
        tabs per column that they fit, and should a user crowd one, the tab bar scrolls with arrows."""
        for bar in self.window.findChildren(QTabBar):
            bar.setElideMode(Qt.TextElideMode.ElideNone)
            bar.setUsesScrollButtons(True)

    # -- presentation mode ------------------------------------------------------------
    def focus_docks(self) -> list[QDockWidget]:
        """The current workspace's pages, which presentation mode shows one at a time on a small screen
        (a workspace whose panels are stacked, not tabbed, is one page)."""
        docks = self.workspaces.docks(self.workspaces.current)
        return docks[:1] if self.workspaces.current in STACKED else docks

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
        self.workspaces.scale_bar(font)
        QToolTip.setFont(font)
        for window in w.findChildren(QWidget):  # separate windows (the enlarged map) do not inherit fonts
            if window.isWindow() and window is not w:
                window.setFont(font)
        w.status_model.setVisible(not on)  # the toolbar's pickers say it in large type: room for the weights' name
        toolbar, extras = w.model_toolbar, w.model_toolbar_extras
        for action in extras:  # in the menus and on keys (F11 leaves): the pickers get the whole row
            toolbar.removeAction(action)
        if not on:
            toolbar.addActions(extras)
        if on:
            self.workspaces.save(self.compact)
            self.workspaces.remember = False  # presentation's arrangement is not the user's
            self._was_maximized = w.isMaximized()
            self._size_before_presentation = w.size()
            self._state_before_presentation = w.saveState()
            self._workspace_before_presentation = self.workspaces.current
            self.focus_index = 0
            w.showFullScreen()
            QTimer.singleShot(0, self, self._fit_presentation_layout)
        else:
            self.workspaces.current = self._workspace_before_presentation
            self.workspaces.actions[self.workspaces.current].setChecked(True)
            w.showNormal()  # out of full screen first: some window managers ignore full screen -> maximised
            if self._was_maximized:
                w.showMaximized()
            self._restore_state_before_presentation()
            # The window manager gives the window its old size back later (on a busy machine, seconds
            # later); dock sizes are shares of the window, so the state is put back again once it has.
            self._restore_on_resize_until = time.monotonic() + RESTORE_ON_RESIZE_S  # no timer left ticking
        QTimer.singleShot(0, self, self.whole_tab_titles)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt override)
        if (time.monotonic() < self._restore_on_resize_until and watched is self.window
                and event.type() == QEvent.Type.Resize and event.size() == self._size_before_presentation):  # fmt: skip
            self._restore_on_resize_until = 0.0
            QTimer.singleShot(0, self, self._restore_state_before_presentation)
        return False

    def _restore_state_before_presentation(self) -> None:
        if self.presentation or self._state_before_presentation is None:
            return
        self.window.restoreState(self._state_before_presentation)
        self.workspaces.remember = True
        self.title_docks()

    def _fit_presentation_layout(self) -> None:
        """Share the full screen out: on a projector the drawing, the answer and one panel of the
        workspace; on a big screen the whole workspace, the big views in the middle."""
        if not self.presentation:
            return
        w = self.window
        self.default_layout()
        width = w.width()
        docks = self.focus_docks()
        # The training form must not scroll sideways; the six networks' tiles need their width in large type.
        wide = self.workspaces.current in ("Train", "Why")
        if self.compact:
            w.dock_input.hide()
            self.show_focus_panel(self.focus_index)
            shares = (0.22, 0.58, 0.2) if wide else (0.3, 0.45, 0.25)
            w.resizeDocks([w.dock_draw, docks[self.focus_index], w.dock_prediction],
                          [int(width * s) for s in shares], Qt.Orientation.Horizontal)  # fmt: skip
            return
        shares = (0.2, 0.55, 0.25) if wide else (0.22, 0.5, 0.28)
        w.resizeDocks([w.dock_draw, docks[0], w.dock_prediction], [int(width * s) for s in shares],
                      Qt.Orientation.Horizontal)  # fmt: skip

    def show_focus_panel(self, index: int) -> None:
        """On a small screen in presentation mode: this panel alone between the drawing and the answer."""
        docks = self.focus_docks()
        self.focus_index = index % len(docks)
        if self.workspaces.current in STACKED:
            return
        for i, dock in enumerate(docks):
            dock.setVisible(i == self.focus_index)
        docks[self.focus_index].raise_here()
        self.title_docks()
        if len(docks) > 1:  # the others are off screen: say they are there, and how to reach them
            dock = docks[self.focus_index]
            dock.setWindowTitle(f"{dock.windowTitle()}  ·  {self.focus_index + 1} of {len(docks)}  ·  Page Down: next")

    def next_panel(self, step: int = 1) -> None:
        """PgDown / PgUp in presentation mode (a presenter's remote sends these): the workspace's next
        panel, and after its last one the next workspace's first (its last, going back)."""
        if not self.presentation:
            return
        names = list(WORKSPACES)
        docks = self.focus_docks()
        index = self.focus_index + step
        if 0 <= index < len(docks):
            if self.compact:
                self.show_focus_panel(index)
            else:
                self.focus_index = index
                docks[index].raise_here()
            return
        name = names[(names.index(self.workspaces.current) + (1 if step > 0 else -1)) % len(names)]
        self.workspaces.show(name)  # lays the workspace out and shows its first panel
        if step < 0:
            last = len(self.focus_docks()) - 1
            if self.compact:
                self.show_focus_panel(last)
            else:
                self.focus_index = last
                self.focus_docks()[last].raise_here()
