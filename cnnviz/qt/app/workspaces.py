"""Workspaces: the panels grouped by the question they answer, one group on screen at a time.

The drawing, the model input and the prediction are always on screen; the rest
belongs to one workspace each (*Inside*, *Why*, *Train*, *Learned*), switched by a bar of
large buttons at the top and Ctrl+1...Ctrl+N. A workspace shows its panels side
by side, with at most a few short tabs per column, so no tab strip overflows at
1024x768. The user may still move docks; each workspace remembers its own
arrangement (QSettings ``workspaces/NAME``) for the screen class it was made on.
*Learned* (the units and the embedding) comes last, so Ctrl+1-3 keep their meaning.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QFont, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QDockWidget, QSizePolicy, QToolBar, QToolButton, QWidget

# Name, tooltip, the docks (window attributes) in the order Page Down visits them.
WORKSPACES: dict[str, tuple[str, tuple[str, ...]]] = {
    "Inside": (
        "What happens inside the network: feature maps, kernels, one unit's sum, the structure",
        ("dock_maps", "dock_kernels", "dock_inspector", "dock_architecture", "dock_layers", "dock_c3"),
    ),
    "Why": (
        "Why this answer: heat maps over the drawing, and six networks reading it at once",
        ("dock_attribution", "dock_comparison", "dock_fool", "dock_distort", "dock_sanity"),
    ),
    "Train": ("Train the network on screen and watch it learn", ("dock_training",)),
    "Learned": (
        "What the network learned: each unit's strongest test images and favourite picture, the map of the test set",
        ("dock_units", "dock_embedding"),
    ),
}
STACKED = {"Why"}  # panels one above the other (no tabs): presentation mode shows them together
# Tab titles on a projector, where Inside's six panels share one tab strip (tooltips say the rest).
SHORT_TITLES = {"dockFeatureMaps": "Maps", "dockArchitecture": "Diagram", "dockC3": "C3", "dockLayers": "Layers"}
ALWAYS = ("dock_draw", "dock_input", "dock_prediction")  # the drawing and the answer
DEFAULT_WORKSPACE = "Inside"
BAR_SCALE = 1.25
NO_WINDOW_MANAGER = (
    "offscreen",
    "minimal",
)  # platforms where Qt alone keeps a maximised window on screen  # the workspace buttons' type, relative to the window's


class Workspaces(QObject):
    """Switches the window's docks between workspaces; ``changed(name)`` after a switch."""

    changed = Signal(str)

    def __init__(self, window, arrange) -> None:
        super().__init__(window)
        self.window = window
        self._arrange = arrange  # arrange(name): the default layout of a workspace (DockLayout's)
        self.current = DEFAULT_WORKSPACE
        self.remember = True  # off in presentation mode: its layout is not the user's
        self.actions: dict[str, QAction] = {}
        self.bar = self._build_bar()
        self.scale_bar(QFont(window.font()))

    # -- the bar -----------------------------------------------------------------------
    def _build_bar(self) -> QToolBar:
        w = self.window
        bar = QToolBar("Workspaces")
        bar.setObjectName("workspaceBar")
        bar.setAccessibleName("Workspaces")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        group = QActionGroup(bar)
        group.setExclusive(True)
        for k, (name, (tip, _docks)) in enumerate(WORKSPACES.items(), start=1):
            action = QAction(name, w)
            action.setObjectName(f"workspace{name}")
            action.setCheckable(True)
            action.setShortcut(QKeySequence(f"Ctrl+{k}"))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setToolTip(f"{tip} (Ctrl+{k})")
            action.setStatusTip(tip)
            action.triggered.connect(lambda _checked=False, n=name: self.show(n))
            group.addAction(action)
            w.addAction(action)
            bar.addAction(action)
            button = bar.widgetForAction(action)
            if isinstance(button, QToolButton):
                button.setObjectName(f"workspaceButton{name}")
                button.setAccessibleName(f"{name} workspace")
                button.setMinimumWidth(110)
            self.actions[name] = action
        self.actions[self.current].setChecked(True)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        bar.addAction(w.act_presentation)  # the way into (and out of) the lecture hall, at the far right
        return bar

    def scale_bar(self, font: QFont) -> None:
        """Larger type than the rest: the bar is how one finds everything."""
        big = QFont(font)
        big.setPointSizeF(font.pointSizeF() * BAR_SCALE)
        big.setBold(True)
        self.bar.setFont(big)
        for action in [*self.actions.values(), self.window.act_presentation]:
            button = self.bar.widgetForAction(action)
            if button is not None:
                button.setFont(big)

    # -- which dock is where ---------------------------------------------------------------
    def docks(self, name: str) -> list[QDockWidget]:
        return [getattr(self.window, attr) for attr in WORKSPACES[name][1]]

    def always(self) -> list[QDockWidget]:
        return [getattr(self.window, attr) for attr in ALWAYS]

    def workspace_of(self, dock: QDockWidget) -> str | None:
        """The workspace a dock belongs to (None for the drawing and the answer, always on screen)."""
        for name in WORKSPACES:
            if dock in self.docks(name):
                return name
        return None

    # -- switching -------------------------------------------------------------------------
    def _key(self, name: str, compact: bool) -> str:
        return f"workspaces/{name}/{'compact' if compact else 'roomy'}"

    def save(self, compact: bool) -> None:
        """Remember the current workspace's arrangement (not presentation mode's)."""
        if self.remember:
            self.window.settings.setValue(self._key(self.current, compact), self.window.saveState())

    def forget(self) -> None:
        """Reset layout: every workspace's remembered arrangement goes."""
        self.window.settings.remove("workspaces")

    def show(self, name: str, compact: bool | None = None, *, keep_current: bool = True) -> None:
        """Bring workspace ``name`` on screen: its panels in their remembered (or default) places."""
        if name not in WORKSPACES:
            raise ValueError(f"no workspace {name!r}; there are {', '.join(WORKSPACES)}")
        w = self.window
        compact = w.docks.compact if compact is None else compact
        if keep_current and name != self.current:
            self.save(compact)
        self.current = name
        self.actions[name].setChecked(True)
        size = w.size()
        others = [d for other in WORKSPACES if other != name for d in self.docks(other)]
        saved = w.settings.value(self._key(name, compact)) if self.remember else None
        if saved is None or not w.restoreState(saved):
            self._arrange(name)
        for dock in others:  # a remembered state may predate a panel's workspace
            dock.hide()
        if all(d.isHidden() for d in self.docks(name)):
            for dock in self.docks(name):  # never an empty workspace: its panels come back
                dock.show()
        self.changed.emit(name)
        # Docks coming into view must not make the window grow past its screen: it keeps its size.
        QTimer.singleShot(0, self, lambda: self._keep_size(size))

    def _keep_size(self, size) -> None:
        w = self.window
        if w.isFullScreen() or w.size() == size:
            return
        if not w.isMaximized():
            w.resize(size)
            return
        if QGuiApplication.platformName() not in NO_WINDOW_MANAGER:
            return  # the window manager keeps a maximised window in (moving it would un-maximise it)
        area = w.screen().availableGeometry()
        frame, inner = w.frameGeometry(), w.geometry()
        if not area.contains(frame):
            w.setGeometry(area.adjusted(inner.left() - frame.left(), inner.top() - frame.top(),
                                        inner.right() - frame.right(), inner.bottom() - frame.bottom()))  # fmt: skip


class PanelDock(QDockWidget):
    """A dock that, raised, brings its workspace on screen first (View menu, a selection, a script)."""

    def __init__(self, title: str, parent) -> None:
        super().__init__(title, parent)
        self.bring_forward = None  # set by DockLayout: switches to this dock's workspace
        self.context_menu = None  # set by DockLayout: the right-click menu (export a figure)

    def raise_(self) -> None:  # noqa: D102 (Qt override)
        if self.bring_forward is not None:
            self.bring_forward(self)
        else:
            super().raise_()

    def contextMenuEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if self.context_menu is not None:
            self.context_menu(event)
        else:
            super().contextMenuEvent(event)

    def raise_here(self) -> None:
        QDockWidget.raise_(self)


__all__ = ["STACKED", "SHORT_TITLES", "ALWAYS", "DEFAULT_WORKSPACE", "WORKSPACES", "PanelDock", "Workspaces"]
