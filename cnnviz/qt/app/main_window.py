"""The main window: composes the panels as dock widgets around the app's one owner of state.

The window owns nothing but the composition. The state (``AppState`` over the
core's ``ModelSession``) holds the network, the drawing's result and the
training run and announces each change; every panel follows the signals of
what it shows (``panel.follow(state)``) and never calls another panel. Menus
and actions live in window_actions.py, docks and presentation mode in
docks.py, files in file_actions.py.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QMessageBox, QWidget

from cnnviz.qt.app.data_folder import DataFolder
from cnnviz.qt.app.docks import DockLayout
from cnnviz.qt.app.errors import describe_error
from cnnviz.qt.app.file_actions import FileActions
from cnnviz.qt.app.lessons import Lessons
from cnnviz.qt.app.model_pickers import ModelPickers
from cnnviz.qt.app.network_actions import NetworkActions
from cnnviz.qt.app.scene_list import add_lesson_dock
from cnnviz.qt.app.status_bar import StatusFields
from cnnviz.qt.app.window_actions import ask_question, build_actions, build_menus_and_toolbar
from cnnviz.qt.app.workspaces import WORKSPACES
from cnnviz.qt.panels.attribution import AttributionPanel
from cnnviz.qt.panels.c3_matrix import C3MatrixPanel
from cnnviz.qt.panels.comparison import ComparisonPanel
from cnnviz.qt.panels.distort import DistortPanel
from cnnviz.qt.panels.embedding import EmbeddingPanel
from cnnviz.qt.panels.feature_maps import FeatureMapsView, KernelsView
from cnnviz.qt.panels.fool_it import FoolItPanel
from cnnviz.qt.panels.inspector import ArchitecturePanel, InspectorPanel, ReceptiveFieldOverlay
from cnnviz.qt.panels.layer_table import LayerTable
from cnnviz.qt.panels.prediction import InputPreview, PredictionPanel
from cnnviz.qt.panels.sanity_check import SanityCheckPanel
from cnnviz.qt.panels.units import UnitsPanel
from cnnviz.qt.state.app_state import AppState
from cnnviz.qt.state.lazy import core
from cnnviz.qt.widgets.canvas import DEFAULT_BRUSH, CanvasPanel
from cnnviz.qt.widgets.style import BASE_POINT_SIZE

DEFAULT_MODEL, DEFAULT_DATASET = "lenet5", "mnist"


class MainWindow(QMainWindow):
    """cnnviz's window. ``inferenceDone`` fires after the panels show a new result.

    Parameters
    ----------
    data_dir
        Dataset folder; default ``CNNVIZ_DATA_DIR`` or the user data folder.
    settings
        Where to remember layout, model, dataset and brush (default: the app's QSettings).
    defer_model
        Show the window at once and load torch and the network in a background
        thread (what the app does at start-up): the canvas takes strokes while
        the network loads, and they are answered as soon as it is ready.
        ``sessionReady`` fires then. Default: load before returning.
    initial_model
        Open with this network (a zoo name or ``PATH.py:NAME``) instead of the remembered one.
    """

    inferenceDone = Signal()
    sessionReady = Signal()

    def __init__(
        self,
        data_dir: str | Path | None = None,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
        *,
        defer_model: bool = False,
        initial_model: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setAccessibleName("cnnviz main window")
        self.settings = settings if settings is not None else QSettings()
        self.base_font = QFont(self.font())
        self.base_font.setPointSizeF(BASE_POINT_SIZE)
        self.setFont(self.base_font)
        data_dir = data_dir or str(self.settings.value("dataDir", "") or "") or None  # Preferences' folder
        self.state = AppState(data_dir, self, preload=("cnnviz.core.training.run", "cnnviz.core.training.evaluate"))
        self.monitor = None

        self._build_panels()
        self.files = FileActions(self)
        self.data = DataFolder(self)  # Preferences' data folder; a missing dataset offered for download
        self.state.offer_data = self.data.ensure  # panels that read the test set ask through the state
        self.lessons = Lessons(self)  # a lecture's scenes (lessons.py)
        self.networks = NetworkActions(self)
        self.pickers = ModelPickers()
        self.model_picker, self.dataset_picker = self.pickers.model_picker, self.pickers.dataset_picker
        build_actions(self)
        build_menus_and_toolbar(self)
        self.docks = DockLayout(self)
        self.dock_lesson = add_lesson_dock(self, self.lessons, self.act_capture_scene)
        self.status = StatusFields(self.statusBar())
        self.status_device, self.status_model = self.status.device, self.status.model
        self.status_weights, self.status_accuracy = self.status.weights, self.status.accuracy
        self._follow_state()
        self._restore_settings()
        self.canvas.setFocus()
        model = initial_model or str(self.settings.value("model", DEFAULT_MODEL))
        dataset = str(self.settings.value("dataset", DEFAULT_DATASET))
        if initial_model is None and ".py" in model:
            model = DEFAULT_MODEL  # a remembered .py network is never run without the user asking again
        self._set_loading(True)
        self.state.load(model, dataset, in_background=defer_model)

    # -- composition --------------------------------------------------------------------
    def _build_panels(self) -> None:
        self.canvas_panel = CanvasPanel()
        self.canvas = self.canvas_panel.canvas
        self.canvas.drawingChanged.connect(self.state.set_drawing)
        self.canvas_panel.brush_slider.valueChanged.connect(lambda v: self.settings.setValue("brush", int(v)))
        self.preview = InputPreview()
        self.prediction = PredictionPanel()
        self.attribution, self.comparison = AttributionPanel(), ComparisonPanel()  # "Why this class?", six networks
        self.fool_it, self.distort, self.sanity = FoolItPanel(), DistortPanel(), SanityCheckPanel()  # robustness
        self.feature_maps = FeatureMapsView()
        self.kernels = KernelsView()
        self.layer_table = LayerTable()
        self.c3 = C3MatrixPanel()
        self.inspector, self.architecture = InspectorPanel(), ArchitecturePanel()
        self.units, self.embedding = UnitsPanel(), EmbeddingPanel()  # what the network learned (Learned)
        self.receptive_field = ReceptiveFieldOverlay(self.preview, self.canvas)
        for panel in (self.preview, self.prediction, self.feature_maps, self.kernels, self.layer_table, self.c3):
            if panel.focusPolicy() == Qt.FocusPolicy.NoFocus:  # a click makes it the panel Ctrl+E exports
                panel.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        # Replaced by the training monitor once the network is loaded.
        self.training_panel = QLabel("Loading the training monitor…")
        self.training_panel.setObjectName("trainingPlaceholder")
        self.training_panel.setAccessibleName("Training monitor (loading)")
        self.training_panel.setToolTip("The training controls appear as soon as the network has loaded.")
        self.training_panel.setAlignment(Qt.AlignmentFlag.AlignCenter)

    def _follow_state(self) -> None:
        state = self.state
        # Every panel subscribes to what it shows (the docks: a selection brings its panel to the front).
        for panel in (self.canvas_panel, self.preview, self.prediction, self.feature_maps, self.kernels,
                      self.layer_table, self.c3, self.docks, self.inspector, self.architecture, self.receptive_field,
                      self.attribution, self.comparison, self.pickers, self.status,
                      self.fool_it, self.distort, self.sanity, self.units, self.embedding):  # fmt: skip
            panel.follow(state)
        state.pictureOffered.connect(self._put_on_canvas)
        for panel in (self.units, self.embedding):  # their test images go on the canvas with their labels
            panel.testImageRequested.connect(self.files.show_test_image)
        self.pickers.switchRequested.connect(self.switch_model)
        state.sessionReady.connect(self._on_session_ready)
        state.loadFailed.connect(self._on_load_failed)
        state.networkChanged.connect(self._on_network_changed)
        state.resultReady.connect(lambda _result: self.inferenceDone.emit())
        state.trainingStarted.connect(lambda: self._set_training(True))
        state.trainingFinished.connect(lambda _end: self._set_training(False))

    def _put_on_canvas(self, image) -> None:
        """A panel's picture (Fool it's adversarial example) on the canvas, read as it is by every panel."""
        self.canvas.set_picture(image)
        self.state.set_test_image(image, None)  # after the canvas's own drawingChanged: this one wins

    def _on_session_ready(self) -> None:
        from cnnviz.qt.training.monitor import TrainingMonitor

        self.monitor = TrainingMonitor(
            self.state.session,
            confirm_discard=lambda what: self.confirm_discard(what),  # looked up when asked: tests replace ask
            ask=lambda *question: self.ask(*question),
            switch_network=lambda model, dataset: self.switch_model(model, dataset),
            ensure_data=lambda dataset, then: self.data.ensure(dataset, then),
        )
        self.monitor.follow(self.state)
        self.monitor.results.testImageRequested.connect(self.files.show_test_image)  # the error gallery's picks
        self.training_panel = self.monitor
        self.training_scroll.setWidget(self.monitor)
        self._set_loading(False)
        self.docks.whole_tab_titles()
        self.sessionReady.emit()

    def _on_load_failed(self, exc: BaseException) -> None:
        self.prediction.label.setText("Could not load")
        self.show_error("Could not load the network", describe_error(exc))

    def _on_network_changed(self) -> None:
        session = self.session
        dataset = core().DATASETS[session.dataset].display_name
        # The platform appends the application display name ("— cnnviz").
        self.setWindowTitle(f"{session.spec.display_name} on {dataset}")

    def _set_loading(self, loading: bool) -> None:
        for action in (self.act_open_weights, self.act_save_weights, self.act_random, self.act_open_network):
            action.setEnabled(not loading)
        if loading:
            self.prediction.label.setText("Loading…")
            self.status.set_loading()

    def _set_training(self, running: bool) -> None:
        self.act_open_weights.setEnabled(not running)
        self.act_open_network.setEnabled(not running)
        if running:
            self.dock_training.raise_()

    # -- the owner, as the window's helpers read it ------------------------------------------
    @property
    def session(self):
        return self.state.session

    @property
    def data_dir(self) -> Path | None:
        return self.state.data_dir

    @data_dir.setter
    def data_dir(self, folder) -> None:
        self.state.data_dir = Path(folder) if folder else None

    # -- commands ---------------------------------------------------------------------------
    def show_error(self, title: str, text: str) -> None:
        """A warning box with one sentence; tests replace this method."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("errorBox")
        box.exec()
        box.deleteLater()

    def ask(self, title: str, text: str, buttons: list[str]) -> str:
        """A question with these buttons; returns the chosen one's text ("" if closed). Tests replace this."""
        return ask_question(self, title, text, buttons)

    def confirm_discard(self, what: str) -> bool:
        return self.networks.confirm_discard(what)

    def open_weights(self, path: str | Path | None = None) -> bool:
        return self.files.open_weights(path)

    def save_weights(self, path: str | Path | None = None) -> bool:
        return self.files.save_weights(path)

    def open_image(self, path: str | Path | None = None) -> bool:
        return self.files.open_image(path)

    def show_random_test_image(self) -> bool:
        return self.files.show_random_test_image()

    def export_panel_png(self, path: str | Path | None = None, widget: QWidget | None = None, name: str = "") -> bool:
        return self.files.export_panel_png(path, widget, name)

    def clear_canvas(self) -> None:
        self.canvas.clear()

    def undo_stroke(self) -> None:
        if not self.canvas.undo():
            self.statusBar().showMessage("Nothing to undo.", 2000)

    def training_command(self, command: str) -> None:
        """The Training menu: the same as the panel's buttons, from anywhere in the window."""
        if self.monitor is None:
            return
        self.dock_training.raise_()
        {"start": self.monitor.start, "pause": self.monitor.toggle_pause, "stop": self.monitor.stop,
         "step": self.monitor.step, "evaluate": self.monitor.results.evaluate}[command]()  # fmt: skip

    def save_lesson(self, path: str | Path | None = None) -> bool:
        return self.lessons.save(path)

    def open_lesson(self, path: str | Path | None = None) -> bool:
        return self.lessons.open(path)

    def switch_model(self, model: str, dataset: str) -> bool:
        return self.networks.switch_model(model, dataset)

    def open_network(self, path: str | Path | None = None, name: str | None = None) -> bool:
        return self.networks.open_network(path, name)

    # -- panels -----------------------------------------------------------------------
    def panels(self) -> dict[str, QWidget]:
        return {
            "Drawing": self.canvas_panel,
            "Model input": self.preview,
            "Prediction": self.prediction,
            "Why this class?": self.attribution,
            "Six networks": self.comparison,
            "Fool it": self.fool_it,
            "Distort": self.distort,
            "Sanity check": self.sanity,
            "Feature maps": self.feature_maps,
            "First-layer kernels": self.kernels,
            "Layer table": self.layer_table,
            "C3 table": self.c3,
            "Inspector": self.inspector,
            "Architecture": self.architecture,
            "Training": self.training_panel,
            "Whole window": self,
        }

    def current_panel(self) -> tuple[str, QWidget]:
        """The panel holding the keyboard focus (the drawing after drawing), else the feature maps."""
        focus = QApplication.focusWidget()
        for name, widget in self.panels().items():
            if widget is not self and focus is not None and (focus is widget or widget.isAncestorOf(focus)):
                return name, widget
        if self.kernels.isVisible() and not self.feature_maps.isVisible():
            return "First-layer kernels", self.kernels
        return "Feature maps", self.feature_maps

    def set_presentation_mode(self, on: bool) -> None:
        self.docks.set_presentation_mode(on)

    def toggle_presentation_mode(self) -> None:
        self.docks.toggle_presentation_mode()

    def is_presentation_mode(self) -> bool:
        return self.docks.presentation

    def reset_layout(self) -> None:
        self.docks.reset_layout()

    def current_workspace(self) -> str:
        """The workspace on screen: "Inside", "Why" or "Train" (cnnviz.qt.app.workspaces.WORKSPACES)."""
        return self.docks.current_workspace()

    def show_workspace(self, name: str) -> None:
        """Bring a workspace on screen (what its button and Ctrl+1... do); ValueError for an unknown name."""
        self.docks.show_workspace(name)

    # -- settings and closing -----------------------------------------------------------
    def _restore_settings(self) -> None:
        from cnnviz.qt.app.remembered import drop_bad_settings, dropped_message

        dropped = drop_bad_settings(self.settings)  # a value of the wrong type never stops the app
        geometry = self.settings.value("geometry")
        if geometry is not None and not self.restoreGeometry(geometry):
            dropped.append("geometry")
        if geometry is not None:
            self.docks.ensure_on_screen()
        workspace = str(self.settings.value("workspace", self.docks.current_workspace()))
        if workspace in WORKSPACES:
            self.docks.workspaces.show(workspace, keep_current=False)  # its remembered arrangement
        if dropped:
            self.statusBar().showMessage(dropped_message(self.settings, dropped), 20000)
        try:
            brush = int(self.settings.value("brush", DEFAULT_BRUSH))
        except (TypeError, ValueError):
            brush = DEFAULT_BRUSH
        self.canvas_panel.set_brush_size(brush)

    def _save_settings(self) -> None:
        if not self.is_presentation_mode():
            self.settings.setValue("geometry", self.saveGeometry())
            self.docks.workspaces.save(self.docks.compact)  # each workspace's arrangement, per screen class
            self.settings.setValue("workspace", self.docks.current_workspace())
        if self.session is not None:
            if ".py" not in self.session.model_name:
                self.settings.setValue("model", self.session.model_name)
            self.settings.setValue("dataset", self.session.dataset)
        self.settings.setValue("brush", int(self.canvas_panel.brush_slider.value()))
        self.settings.sync()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        # Closing while the network loads returns at once: the loader thread finishes on its own
        # (its result is dropped) and cnnviz.qt.app.launch waits for it before the interpreter exits.
        if self.monitor is not None and self.monitor.is_running():
            answer = self.ask("Training is running", "Quit and lose the run's weights?", ["Quit", "Cancel"])
            if answer != "Quit":
                event.ignore()
                return
        elif not self.confirm_discard("quitting"):
            event.ignore()
            return
        if self.is_presentation_mode():
            self.set_presentation_mode(False)
        self._save_settings()
        if self.monitor is not None:
            self.monitor.shutdown()
        if self.feature_maps.zoom is not None:
            self.feature_maps.zoom.close()
        self.state.stop()
        super().closeEvent(event)


__all__ = ["MainWindow"]
