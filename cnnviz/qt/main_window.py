"""The main window: composes the panels as dock widgets and wires them to one ModelSession.

Panels never talk to each other. The window owns the session, turns a new
drawing into one coalesced inference (the newest drawing wins; nothing queues
behind the model), and hands each panel the numbers it shows.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSizePolicy,
    QTabWidget,
    QToolBar,
    QToolButton,
    QWidget,
)

from cnnviz.qt.c3_matrix import C3MatrixPanel
from cnnviz.qt.canvas import DEFAULT_BRUSH, CanvasPanel
from cnnviz.qt.errors import describe_error
from cnnviz.qt.feature_maps import FeatureMapsView, KernelsView
from cnnviz.qt.layer_table import LayerTable
from cnnviz.qt.prediction import InputPreview, PredictionPanel
from cnnviz.qt.style import BASE_POINT_SIZE, PRESENTATION_SCALE


def _core():
    """``cnnviz.core``, imported on first use: it brings torch, seconds a window need not wait for."""
    import cnnviz.core as core

    return core


def _training_monitor_class():
    from cnnviz.qt.monitor import TrainingMonitor  # pyqtgraph and the core: imported off the GUI thread

    return TrainingMonitor


DEFAULT_MODEL, DEFAULT_DATASET = "lenet5", "mnist"
DEFAULT_SIZE = QSize(1600, 1000)
WEIGHT_FILTER = "cnnviz weights (*.safetensors);;PyTorch state dict (*.pt *.pth);;All files (*)"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff);;All files (*)"


class _Relay(QObject):
    """Carries background threads' results into the GUI thread (queued signals)."""

    loaded = Signal(object)  # the model session, or the exception that stopped it
    testSetRead = Signal(object)  # None, or the exception that stopped the read


def _emit_unless_gone(signal, value) -> None:
    """Emit from a background thread; the window may have been closed meanwhile."""
    try:
        signal.emit(value)
    except RuntimeError:  # its C++ object is deleted
        pass


class MainWindow(QMainWindow):
    """cnnviz's window. ``inferenceDone`` fires after the panels show a new prediction.

    Parameters
    ----------
    data_dir
        Dataset folder; default ``CNNVIZ_DATA_DIR`` or the user data folder.
    settings
        Where to remember layout, model, dataset and brush (default: the app's QSettings).
    defer_model
        Show the window at once and load torch and the model in a background
        thread (what the app does at start-up): the canvas takes strokes while
        the model loads, and they are answered as soon as it is ready.
        ``sessionReady`` fires then. Default: load before returning.
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
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setAccessibleName("cnnviz main window")
        self._data_dir_arg = data_dir
        self.data_dir: Path | None = Path(data_dir) if data_dir else None
        self.settings = settings if settings is not None else QSettings()
        self._base_font = QFont(self.font())
        self._base_font.setPointSizeF(BASE_POINT_SIZE)
        self.setFont(self._base_font)
        self.setDockNestingEnabled(True)
        self._presentation = False
        self._was_maximized = False
        self._state_before_presentation = None
        # Picks Ctrl+R's test images; replace it with a seeded one for a repeatable sequence.
        self.test_image_rng = np.random.default_rng()
        self._pending_drawing: np.ndarray | None = None
        self._input: np.ndarray | None = None  # the current 28x28 model input (None = empty)
        self.probabilities: np.ndarray | None = None
        self.activations: OrderedDict | None = None
        self.inference_count = 0
        self.training_running = False
        self.true_label: int | None = None  # the class of the test image on the canvas, if one is

        self.session = None  # a ModelSession once loaded
        self.monitor = None
        self._loader: threading.Thread | None = None
        self._reading_test_set = False
        self._relay = _Relay(self)
        self._relay.loaded.connect(self._attach_session)
        self._relay.testSetRead.connect(self._on_test_set_read)

        self._infer_timer = QTimer(self)
        self._infer_timer.setSingleShot(True)
        self._infer_timer.setInterval(0)
        self._infer_timer.timeout.connect(self._run_inference)

        self._build_panels()
        self._build_actions()
        self._build_menus_and_toolbar()
        self._build_docks()
        self._build_status_bar()
        self._restore_settings()
        self.canvas.setFocus()
        model = str(self.settings.value("model", DEFAULT_MODEL))
        dataset = str(self.settings.value("dataset", DEFAULT_DATASET))
        if defer_model:
            self._set_loading(True)
            self._loader = threading.Thread(
                target=self._load_in_background, args=(model, dataset), name="cnnviz-load-model", daemon=True
            )
            self._loader.start()
        else:
            self._attach_session(self._load_session(model, dataset))

    # -- the model, loaded now or in the background ------------------------------------
    def _load_session(self, model: str, dataset: str) -> dict:
        """Import the core and build the session. Touches no widget: may run in any thread."""
        core = _core()
        # One torch thread here: a thread that once ran a two-thread OpenMP team
        # keeps it for life, and libgomp then throttles every later team (the
        # training thread's) to sleep between ops, costing training ~40 %.
        core.set_cpu_threads(1)
        if model not in [s.name for s in core.list_models()]:
            model = DEFAULT_MODEL
        if dataset not in core.DATASETS:
            dataset = DEFAULT_DATASET
        session = core.ModelSession(model, dataset)
        error = None
        try:
            session.load_pretrained(model, dataset)
        except core.CnnvizError as exc:  # a damaged shipped file: keep random weights, say so
            error = str(exc)
        session.infer(np.zeros((28, 28), np.float32))  # first-call costs, off the first stroke
        try:
            device = core.device_label(core.resolve_device("auto"))
        except Exception:  # a broken driver must not stop the app
            device = "CPU"
        data_dir = Path(self._data_dir_arg) if self._data_dir_arg else core.default_data_dir()
        monitor_class = _training_monitor_class()  # imports it here too, off the GUI thread
        return {
            "session": session,
            "error": error,
            "device": device,
            "data_dir": data_dir,
            "monitor_class": monitor_class,
        }

    def _load_in_background(self, model: str, dataset: str) -> None:
        try:
            result = self._load_session(model, dataset)
        except BaseException as exc:  # reported in the window, never a traceback
            result = exc
        _emit_unless_gone(self._relay.loaded, result)

    def _set_loading(self, loading: bool) -> None:
        for widget in (self.model_picker, self.dataset_picker):
            widget.setEnabled(not loading and not self.training_running)
        for action in (self.act_open_weights, self.act_save_weights, self.act_random):
            action.setEnabled(not loading)
        self.act_open_weights.setEnabled(not loading and not self.training_running)
        if loading:
            self.model_picker.addItem("Loading the network…")
            self.prediction.label.setText("Loading…")
            self.status_model.setText("Loading the network…")

    def _attach_session(self, result) -> None:
        """The session is ready (GUI thread): fill the pickers, the monitor, every panel."""
        self._loader = None
        if isinstance(result, BaseException):
            self.prediction.label.setText("Could not load")
            self.model_picker.clear()  # not "Loading…" forever
            self.model_picker.setPlaceholderText("No network")
            self.status_model.setText("The network could not be loaded")
            self._show_error("Could not load the network", describe_error(result))
            return
        self.session = result["session"]
        self.data_dir = result["data_dir"]
        # One torch thread for drawing, in this (the GUI) thread only: a training
        # thread still uses every core (see cnnviz.core.device.set_cpu_threads).
        _core().set_cpu_threads(1)
        self.status_device.setText(f"Device: {result['device']}")
        self._fill_pickers()
        monitor_class = result["monitor_class"]
        if monitor_class is not None:
            self.monitor = monitor_class(self.session, data_dir=self.data_dir)
            self.monitor.trainingStarted.connect(self._on_training_started)
            self.monitor.weightsUpdated.connect(self._on_weights_updated)
            self.monitor.sessionChanged.connect(self._on_session_changed)
            self.monitor.trainingFinished.connect(self._on_training_finished)
            self.training_panel = self.monitor
            self.training_scroll.setWidget(self.monitor)
        self._set_loading(False)
        self._on_session_changed()
        if result["error"]:
            self.statusBar().showMessage(f"Pretrained weights could not be read: {result['error']}", 15000)
        self.sessionReady.emit()

    def is_ready(self) -> bool:
        return self.session is not None

    # -- construction -----------------------------------------------------------------
    def _build_panels(self) -> None:
        self.canvas_panel = CanvasPanel()
        self.canvas = self.canvas_panel.canvas
        self.canvas.drawingChanged.connect(self._on_drawing_changed)
        self.canvas_panel.brush_slider.valueChanged.connect(lambda v: self.settings.setValue("brush", int(v)))
        self.preview = InputPreview()
        self.prediction = PredictionPanel()
        self.feature_maps = FeatureMapsView()
        self.kernels = KernelsView()
        self.layer_table = LayerTable()
        self.c3 = C3MatrixPanel()
        self.canvas.cleared.connect(lambda: setattr(self, "true_label", None))
        for panel in (self.preview, self.prediction, self.feature_maps, self.kernels, self.layer_table, self.c3):
            if panel.focusPolicy() == Qt.FocusPolicy.NoFocus:  # a click makes it the panel Ctrl+E exports
                panel.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

        # Replaced by the training monitor once the network is loaded.
        self.training_panel = QLabel("Loading the training monitor…")
        self.training_panel.setObjectName("trainingPlaceholder")
        self.training_panel.setAccessibleName("Training monitor (loading)")
        self.training_panel.setToolTip("The training controls appear as soon as the network has loaded.")
        self.training_panel.setAlignment(Qt.AlignmentFlag.AlignCenter)

    def _action(self, text: str, slot, shortcut=None, tip: str = "", name: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        shown = ", ".join(
            QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in (keys if shortcut else [])
        )
        action.setToolTip(f"{tip} ({shown})" if shown and tip else tip or text)
        action.setStatusTip(tip)
        if name:
            action.setObjectName(name)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even with the menu bar hidden
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.act_open_weights = a(
            "&Open weights…",
            lambda: self.open_weights(),
            QKeySequence.StandardKey.Open,
            "Load a weights file for the current model",
            "actionOpenWeights",
        )
        self.act_save_weights = a(
            "&Save weights…",
            lambda: self.save_weights(),
            QKeySequence.StandardKey.Save,
            "Save the current model's weights to a file",
            "actionSaveWeights",
        )
        self.act_open_image = a(
            "Open &image…", lambda: self.open_image(), "Ctrl+I", "Put a picture file on the canvas", "actionOpenImage"
        )
        self.act_export = a(
            "&Export current panel as PNG…",
            lambda: self.export_panel_png(),
            "Ctrl+E",
            "Save the panel you last used as a PNG picture",
            "actionExportPanel",
        )
        self.act_quit = a("&Quit", self.close, "Ctrl+Q", "Close cnnviz", "actionQuit")
        self.act_clear = a("&Clear", self.clear_canvas, ["Esc", "Delete"], "Clear the canvas", "actionClear")
        self.act_undo = a("&Undo stroke", self.undo_stroke, "Ctrl+Z", "Remove the last stroke", "actionUndo")
        self.act_random = a(
            "&Random test image",
            self.show_random_test_image,
            "Ctrl+R",
            "Put a random image of the test set on the canvas and show its true label",
            "actionRandom",
        )
        self.act_presentation = a(
            "&Presentation mode",
            self.toggle_presentation_mode,
            "F11",
            "Full screen with larger type, for projecting",
            "actionPresentation",
        )
        self.act_presentation.setCheckable(True)
        self.act_reset_layout = a(
            "Reset &layout", self.reset_layout, None, "Put every panel back where it started", "actionResetLayout"
        )
        self.act_train_start = a(
            "&Start training", lambda: self._training("start"), "Ctrl+T",
            "Train with the settings in the Training panel", "actionTrainStart",
        )  # fmt: skip
        self.act_train_pause = a(
            "&Pause or resume training", lambda: self._training("pause"), "Ctrl+P",
            "Pause the run after the current batch, or resume it", "actionTrainPause",
        )  # fmt: skip
        self.act_train_stop = a(
            "S&top training", lambda: self._training("stop"), "Ctrl+Shift+T",
            "Stop after the current batch and keep the weights learned so far", "actionTrainStop",
        )  # fmt: skip
        self.act_about = a(
            "&About cnnviz", self._show_about, None, "What cnnviz is and its keyboard shortcuts", "actionAbout"
        )

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.setToolTipsVisible(True)
        file_menu.addActions([self.act_open_weights, self.act_save_weights])
        file_menu.addSeparator()
        file_menu.addAction(self.act_open_image)
        file_menu.addAction(self.act_export)
        self.export_menu = file_menu.addMenu("Export &panel as PNG")
        self.export_menu.aboutToShow.connect(self._fill_export_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addActions([self.act_undo, self.act_clear, self.act_random])
        self.view_menu = bar.addMenu("&View")
        self.view_menu.addAction(self.act_presentation)
        self.view_menu.addAction(self.act_reset_layout)
        self.view_menu.addSeparator()
        train_menu = bar.addMenu("&Training")
        train_menu.setToolTipsVisible(True)
        train_menu.addActions([self.act_train_start, self.act_train_pause, self.act_train_stop])
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.act_about)

        tb = QToolBar("Model")
        tb.setObjectName("modelToolbar")
        tb.setAccessibleName("Model toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        model_label = QLabel(" Model ")
        self.model_picker = QComboBox()
        self.model_picker.setObjectName("modelPicker")
        self.model_picker.setAccessibleName("Model")
        self.model_picker.setToolTip("Choose a network; its pretrained weights for the dataset are loaded")
        self.model_picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        model_label.setToolTip(self.model_picker.toolTip())
        dataset_label = QLabel("   Dataset ")
        self.dataset_picker = QComboBox()
        self.dataset_picker.setObjectName("datasetPicker")
        self.dataset_picker.setAccessibleName("Dataset")
        self.dataset_picker.setToolTip("Handwritten digits (MNIST) or clothing pictures (Fashion-MNIST)")
        self.dataset_picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        dataset_label.setToolTip(self.dataset_picker.toolTip())
        tb.addWidget(model_label)
        tb.addWidget(self.model_picker)
        tb.addWidget(dataset_label)
        tb.addWidget(self.dataset_picker)
        tb.addSeparator()
        tb.addAction(self.act_open_weights)
        tb.addAction(self.act_save_weights)
        tb.addSeparator()
        tb.addAction(self.act_presentation)
        self.model_picker.currentIndexChanged.connect(self._on_model_picked)
        self.dataset_picker.currentIndexChanged.connect(self._on_dataset_picked)

        for k, action in enumerate((self.act_clear, self.act_undo, self.act_random, self.act_open_image)):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setObjectName(action.objectName().replace("action", "button"))
            button.setAccessibleName(action.text().replace("&", "").rstrip("…"))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self.canvas_panel.button_grid.addWidget(button, k // 2, k % 2)

    def _fill_pickers(self) -> None:
        core = _core()
        for picker in (self.model_picker, self.dataset_picker):
            picker.blockSignals(True)
            picker.clear()
        for spec in core.list_models():
            self.model_picker.addItem(spec.display_name, spec.name)
        for key, info in core.DATASETS.items():
            self.dataset_picker.addItem(info.display_name, key)
        for picker in (self.model_picker, self.dataset_picker):
            picker.blockSignals(False)

    def _dock(self, title: str, name: str, widget: QWidget, tip: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setAccessibleName(title)
        dock.setToolTip(tip)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.view_menu.addAction(dock.toggleViewAction())
        return dock

    def _build_docks(self) -> None:
        # Every panel is a dock (no central widget), so a teacher can rearrange,
        # float or close any of them; the middle column holds the big views.
        self.setTabPosition(Qt.DockWidgetArea.AllDockWidgetAreas, QTabWidget.TabPosition.North)
        self.dock_maps = self._dock(
            "Feature maps",
            "dockFeatureMaps",
            self.feature_maps,
            "Every layer's output for your drawing, updated while you draw",
        )
        self.dock_kernels = self._dock(
            "First-layer kernels",
            "dockKernels",
            self.kernels,
            "The weights of the first convolution: the patterns it looks for",
        )
        self.dock_draw = self._dock(
            "Draw", "dockDraw", self.canvas_panel, "Draw here; the network answers while you draw"
        )
        self.dock_input = self._dock("Model input (28×28)", "dockInput", self.preview, "What the network sees")
        self.dock_prediction = self._dock("Prediction", "dockPrediction", self.prediction, "The network's answer")
        self.dock_layers = self._dock("Layers", "dockLayers", self.layer_table, "The model's layers, sizes and costs")
        self.dock_c3 = self._dock("C3 connections", "dockC3", self.c3, "LeNet-5's S2→C3 connection table")
        # The monitor is tall; in a scroll area it can share the right column and still be enlarged or floated.
        self.training_scroll = QScrollArea()
        self.training_scroll.setObjectName("trainingScroll")
        self.training_scroll.setWidgetResizable(True)
        self.training_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.training_scroll.setWidget(self.training_panel)
        self.dock_training = self._dock(
            "Training", "dockTraining", self.training_scroll, "Train the model and watch it learn"
        )
        # A dock behind another's tab is moved off-screen, not hidden: catch up when its tab is raised.
        for dock, panel in ((self.dock_maps, self.feature_maps), (self.dock_c3, self.c3)):
            dock.visibilityChanged.connect(
                lambda visible, panel=panel: visible and QTimer.singleShot(0, panel, panel.refresh_if_stale)
            )
        self.resize(DEFAULT_SIZE)
        self._default_layout()
        self._default_state = self.saveState()

    def _default_layout(self) -> None:
        docks = (
            self.dock_draw,
            self.dock_input,
            self.dock_maps,
            self.dock_kernels,
            self.dock_training,
            self.dock_prediction,
            self.dock_layers,
            self.dock_c3,
        )
        for dock in docks:
            dock.setFloating(False)
            dock.show()
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        # Left: draw, and what the model sees. Middle: feature maps | kernels | training.
        # Right: the answer, and the model's structure.
        self.addDockWidget(left, self.dock_draw)
        self.splitDockWidget(self.dock_draw, self.dock_input, vertical)
        self.addDockWidget(right, self.dock_maps)
        self.splitDockWidget(self.dock_maps, self.dock_prediction, horizontal)
        self.splitDockWidget(self.dock_prediction, self.dock_layers, vertical)
        self.tabifyDockWidget(self.dock_maps, self.dock_kernels)
        self.tabifyDockWidget(self.dock_kernels, self.dock_training)
        self.tabifyDockWidget(self.dock_layers, self.dock_c3)
        self.dock_maps.raise_()
        self.dock_layers.raise_()
        self.resizeDocks([self.dock_draw, self.dock_maps, self.dock_prediction], [360, 740, 500], horizontal)
        self.resizeDocks([self.dock_draw, self.dock_input], [500, 380], vertical)
        self.resizeDocks([self.dock_prediction, self.dock_layers], [430, 470], vertical)

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        sb.setObjectName("statusBar")
        self.status_device = QLabel()
        self.status_model = QLabel()
        self.status_weights = QLabel()
        self.status_accuracy = QLabel()
        for label, name, tip in (
            (self.status_device, "statusDevice", "Where training runs (drawing inference always runs on the CPU)"),
            (self.status_model, "statusModel", "The current model and dataset"),
            (self.status_weights, "statusWeights", "Where the current weights come from"),
            (self.status_accuracy, "statusAccuracy", "Test accuracy recorded with these weights"),
        ):
            label.setObjectName(name)
            label.setAccessibleName(tip)
            label.setToolTip(tip)
            label.setContentsMargins(8, 0, 8, 0)
            sb.addPermanentWidget(label)
        self.status_device.setText("Device: …")

    # -- settings ---------------------------------------------------------------------
    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.value("windowState")
        if state is not None:
            self.restoreState(state)
        try:
            brush = int(self.settings.value("brush", DEFAULT_BRUSH))
        except (TypeError, ValueError):
            brush = DEFAULT_BRUSH
        self.canvas_panel.set_brush_size(brush)

    def _save_settings(self) -> None:
        if not self._presentation:
            self.settings.setValue("geometry", self.saveGeometry())
            self.settings.setValue("windowState", self.saveState())
        if self.session is not None:
            self.settings.setValue("model", self.session.model_name)
            self.settings.setValue("dataset", self.session.dataset)
        self.settings.setValue("brush", int(self.canvas_panel.brush_slider.value()))
        self.settings.sync()

    def reset_layout(self) -> None:
        """Every panel back where it started (the state saved right after building them)."""
        self.restoreState(self._default_state)

    # -- drawing -> inference -----------------------------------------------------------
    def _on_drawing_changed(self, drawing: np.ndarray) -> None:
        # Keep only the newest drawing; one inference per event-loop turn at most.
        self._pending_drawing = drawing
        if not self._infer_timer.isActive():
            self._infer_timer.start()

    def inference_pending(self) -> bool:
        """True while a newer drawing (or weights) waits for the model."""
        return self._infer_timer.isActive()

    def rerun_inference(self) -> None:
        """Run the model again on the current drawing (new weights, new model)."""
        if not self._infer_timer.isActive():
            self._infer_timer.start()

    def _run_inference(self) -> None:
        if self.session is None:  # still loading: the newest drawing waits for the model
            return
        drawing, self._pending_drawing = self._pending_drawing, None
        if drawing is not None:
            # The canvas draws white ink on black.
            self._input = _core().drawing_to_input(drawing, ink_is_dark=False)
        try:
            if self._input is None:
                self.probabilities, self.activations = None, None
            else:
                self.probabilities, self.activations = self.session.infer(self._input)
        except Exception as exc:  # never a traceback: say it in the status bar
            self.probabilities, self.activations = None, None
            self.statusBar().showMessage(f"The model could not run on this drawing: {describe_error(exc)}", 8000)
        self.preview.set_input(self._input)
        self.prediction.set_probabilities(self.probabilities)
        self.feature_maps.set_activations(self.activations)
        self.c3.set_activations(self.activations)
        self.inference_count += 1
        self.inferenceDone.emit()

    def clear_canvas(self) -> None:
        self.canvas.clear()

    def undo_stroke(self) -> None:
        if not self.canvas.undo():
            self.statusBar().showMessage("Nothing to undo.", 2000)

    # -- model and dataset ------------------------------------------------------------
    def _on_model_picked(self, index: int) -> None:
        if self.session is None:
            return
        name = self.model_picker.itemData(index)
        if name and name != self.session.model_name:
            self.switch_model(name, self.session.dataset)

    def _on_dataset_picked(self, index: int) -> None:
        if self.session is None:
            return
        dataset = self.dataset_picker.itemData(index)
        if dataset and dataset != self.session.dataset:
            self.switch_model(self.session.model_name, dataset)

    def switch_model(self, model: str, dataset: str) -> bool:
        """Load the shipped weights of a model/dataset pair (random weights if none are shipped)."""
        try:
            pretrained = self.session.load_pretrained(model, dataset)
        except _core().CnnvizError as exc:
            self._show_error("Could not load the pretrained weights", str(exc))
            self._sync_pickers()
            return False
        self._on_session_changed()
        spec = _core().get_spec(model)
        if pretrained:
            acc = self.session.test_accuracy
            extra = f" ({100 * acc:.1f}% test accuracy)" if acc is not None else ""
            self.statusBar().showMessage(
                f"Loaded pretrained {spec.display_name} for {_core().DATASETS[dataset].display_name}{extra}.", 6000
            )
        else:
            self.statusBar().showMessage(
                f"No pretrained {spec.display_name} for {_core().DATASETS[dataset].display_name} yet: random weights.",
                10000,
            )
        self.settings.setValue("model", model)
        self.settings.setValue("dataset", dataset)
        return True

    def _picker_text(self, spec, dataset: str) -> str:
        acc = _core().pretrained_accuracy(spec.name, dataset)
        trained = f"{100 * acc:.1f}% test acc." if acc is not None else "untrained"
        return f"{spec.display_name}  ·  {spec.num_params:,} params  ·  {trained}"

    def _sync_pickers(self) -> None:
        dataset = self.session.dataset
        for picker in (self.model_picker, self.dataset_picker):
            picker.blockSignals(True)
        for i, spec in enumerate(_core().list_models()):
            self.model_picker.setItemText(i, self._picker_text(spec, dataset))
            self.model_picker.setItemData(i, f"{spec.description}\n{spec.reference}", Qt.ItemDataRole.ToolTipRole)
        self.model_picker.setCurrentIndex(self.model_picker.findData(self.session.model_name))
        self.dataset_picker.setCurrentIndex(self.dataset_picker.findData(dataset))
        for picker in (self.model_picker, self.dataset_picker):
            picker.blockSignals(False)

    def is_untrained(self) -> bool:
        return self.session is not None and self.session.source_kind == "untrained"

    def _update_status(self) -> None:
        spec = self.session.spec
        self.status_model.setText(f"{spec.display_name} · {_core().DATASETS[self.session.dataset].display_name}")
        untrained = self.is_untrained()
        self.status_weights.setText(f"Weights: {self.session.source}")
        self.status_weights.setStyleSheet("color: #c92a2a; font-weight: bold;" if untrained else "")
        acc = self.session.test_accuracy
        self.status_accuracy.setText(f"Test accuracy: {100 * acc:.2f}%" if acc is not None else "Test accuracy: —")
        self.prediction.set_untrained(untrained)
        # The platform appends the application display name ("— cnnviz").
        self.setWindowTitle(f"{spec.display_name} on {_core().DATASETS[self.session.dataset].display_name}")

    def _on_session_changed(self) -> None:
        """The model, its weights or the dataset changed: refresh every panel."""
        self._sync_pickers()
        if self.monitor is not None and hasattr(self.monitor, "sync_from_session"):
            self.monitor.sync_from_session()
        self.prediction.set_class_names(self.session.class_names)
        self.layer_table.set_rows(self.session.layer_table())
        self.c3.set_table(self.session.c3_table())
        self._refresh_kernels()
        self.feature_maps.set_layer_names(list(self.session.infer(np.zeros((28, 28), np.float32))[1].keys()))
        self._update_status()
        self.rerun_inference()

    def _refresh_kernels(self) -> None:
        try:
            name, weights = self.session.first_kernels()
        except ValueError:
            return
        self.kernels.set_kernels(name, weights)

    # -- training monitor -------------------------------------------------------------
    def _training(self, command: str) -> None:
        """The Training menu: the same as the panel's buttons, from anywhere in the window."""
        if self.monitor is None:
            return
        self.dock_training.raise_()
        {"start": self.monitor.start, "pause": self.monitor.toggle_pause, "stop": self.monitor.stop}[command]()

    def _on_training_started(self) -> None:
        self.training_running = True
        self.dock_training.raise_()
        for w in (self.model_picker, self.dataset_picker):
            w.setEnabled(False)
        self.act_open_weights.setEnabled(False)
        self.statusBar().showMessage("Training… the panels follow the weights as they learn.", 5000)

    def _on_weights_updated(self) -> None:
        self._update_status()
        self._refresh_kernels()
        self.rerun_inference()

    def _on_training_finished(self, info: dict) -> None:
        self.training_running = False
        for w in (self.model_picker, self.dataset_picker):
            w.setEnabled(True)
        self.act_open_weights.setEnabled(True)
        self._update_status()
        self._sync_pickers()
        self.rerun_inference()
        message = (info or {}).get("message") or f"Training {(info or {}).get('reason', 'ended')}."
        self.statusBar().showMessage(message, 15000)

    # -- files ------------------------------------------------------------------------
    def _show_error(self, title: str, text: str) -> None:
        """A warning box with one sentence; tests replace this method."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("errorBox")
        box.exec()
        box.deleteLater()

    def _start_dir(self, key: str) -> str:
        return str(self.settings.value(key, str(Path.home())))

    def open_weights(self, path: str | Path | None = None) -> bool:
        """Load a weights file for the current model; on any problem say why and keep the model."""
        if self.session is None:
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Open weights", self._start_dir("weightsDir"), WEIGHT_FILTER)
            if not path:
                return False
        path = Path(path)
        self.settings.setValue("weightsDir", str(path.parent))
        current = self.session.spec
        try:
            # The file must be for the model on screen; this raises the sentence if not.
            self.session.load_file(path, self.session.model_name)
        except _core().CheckpointError as exc:
            text = str(exc)
            other = exc.file_model  # read by the failed load: the file is not opened again (it may be a FIFO)
            if other and other != current.name:
                text += f" Choose {_core().get_spec(other).display_name} in the Model list first, then open the file again."
            self._show_error("Could not open the weights file", text)
            return False
        except Exception as exc:
            self._show_error("Could not open the weights file", describe_error(exc))
            return False
        self._on_session_changed()
        notes = " ".join(getattr(self.session.metadata, "notes", []))  # fields of the file that were ignored
        self.statusBar().showMessage(f"Loaded weights from {path.name}. {notes}".strip(), 6000)
        return True

    def save_weights(self, path: str | Path | None = None) -> bool:
        if self.session is None:
            return False
        if path is None:
            start = (
                Path(self._start_dir("weightsDir")) / f"{self.session.model_name}-{self.session.dataset}.safetensors"
            )
            path, _ = QFileDialog.getSaveFileName(self, "Save weights", str(start), WEIGHT_FILTER.split(";;")[0])
            if not path:
                return False
        path = Path(path)
        if path.suffix != ".safetensors":
            path = path.with_name(path.name + ".safetensors")
        try:
            saved = self.session.save(path)
        except Exception as exc:
            self._show_error("Could not save the weights", f"Could not save to '{path}': {describe_error(exc)}")
            return False
        self.settings.setValue("weightsDir", str(path.parent))
        self.statusBar().showMessage(f"Saved weights to {saved}.", 6000)
        return True

    def open_image(self, path: str | Path | None = None) -> bool:
        """Put a picture file on the canvas (dark ink on light paper is inverted to match the canvas)."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Open image", self._start_dir("imageDir"), IMAGE_FILTER)
            if not path:
                return False
        path = Path(path)
        try:
            from cnnviz.qt.picture_file import picture_for_canvas  # the core (torch) on first use only

            square = picture_for_canvas(path)  # size-checked, shrunk, alpha laid on paper, ink found or refused
        except Exception as exc:
            self._show_error("Could not open the image", describe_error(exc))
            return False
        self.settings.setValue("imageDir", str(path.parent))
        self.canvas.set_picture(square)
        self.canvas_panel.set_true_label(f"Picture: {path.name}")
        self.true_label = None
        return True

    def show_random_test_image(self) -> bool:
        """Put a random test image on the canvas; True if it is there now.

        The first call per dataset reads the test set in a background thread
        (a first-time download can take a minute) and shows the image then.
        """
        if self.session is None or self._reading_test_set:
            return False
        if not self.session.test_set_in_memory(self.data_dir):
            self._read_test_set_in_background()
            return False
        try:
            image, label = self.session.random_test_image(self.data_dir, rng=self.test_image_rng)
        except Exception as exc:
            self._show_error("No test images", describe_error(exc))
            return False
        self.canvas.set_picture(image)
        name = self.session.class_names[label]
        self.canvas_panel.set_true_label(
            f"Test image from {_core().DATASETS[self.session.dataset].display_name} · true label: <b>{name}</b>"
        )
        self.true_label = label
        return True

    def _read_test_set_in_background(self) -> None:
        dataset, data_dir = self.session.dataset, self.data_dir
        self._reading_test_set = True
        self.act_random.setEnabled(False)
        self.statusBar().showMessage(f"Reading the {_core().DATASETS[dataset].display_name} test set…")

        def read() -> None:
            try:
                _core().load_split(dataset, False, data_dir)
                result = None
            except BaseException as exc:  # reported in the window, never a traceback
                result = exc
            _emit_unless_gone(self._relay.testSetRead, result)

        threading.Thread(target=read, name="cnnviz-read-test-set", daemon=True).start()

    def _on_test_set_read(self, error: BaseException | None) -> None:
        self._reading_test_set = False
        self.act_random.setEnabled(self.session is not None)
        self.statusBar().clearMessage()
        if error is not None:
            self._show_error("No test images", describe_error(error))
        else:
            self.show_random_test_image()

    # -- export -----------------------------------------------------------------------
    def panels(self) -> dict[str, QWidget]:
        return {
            "Drawing": self.canvas_panel,
            "Model input": self.preview,
            "Prediction": self.prediction,
            "Feature maps": self.feature_maps,
            "First-layer kernels": self.kernels,
            "Layer table": self.layer_table,
            "C3 table": self.c3,
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

    def _fill_export_menu(self) -> None:
        self.export_menu.clear()
        for name, widget in self.panels().items():
            action = self.export_menu.addAction(f"{name}…")
            action.triggered.connect(lambda _=False, w=widget, n=name: self.export_panel_png(widget=w, name=n))

    def export_panel_png(self, path: str | Path | None = None, widget: QWidget | None = None, name: str = "") -> bool:
        if widget is None:
            name, widget = self.current_panel()
        if path is None:
            stem = (name or "panel").lower().replace(" ", "-")
            start = Path(self._start_dir("exportDir")) / f"cnnviz-{stem}.png"
            path, _ = QFileDialog.getSaveFileName(
                self, f"Export {name or 'panel'} as PNG", str(start), "PNG image (*.png)"
            )
            if not path:
                return False
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_name(path.name + ".png")
        if not widget.grab().save(str(path), "PNG"):
            self._show_error("Could not export", f"Could not write the picture to '{path}'.")
            return False
        self.settings.setValue("exportDir", str(path.parent))
        self.statusBar().showMessage(f"Saved {name or 'panel'} as {path}.", 6000)
        return True

    # -- presentation mode ------------------------------------------------------------
    def toggle_presentation_mode(self) -> None:
        self.set_presentation_mode(not self._presentation)

    def set_presentation_mode(self, on: bool) -> None:
        if on == self._presentation:
            return
        self._presentation = on
        self.act_presentation.setChecked(on)
        font = QFont(self._base_font)
        font.setPointSizeF(BASE_POINT_SIZE * (PRESENTATION_SCALE if on else 1.0))
        self.setFont(font)
        if self.session is not None:  # its bold totals row carries its own font
            self.layer_table.set_rows(self.session.layer_table())
        if on:
            self._was_maximized = self.isMaximized()
            self._state_before_presentation = self.saveState()
            self.showFullScreen()
            QTimer.singleShot(0, self, self._fit_presentation_layout)
        else:
            if self._was_maximized:
                self.showMaximized()
            else:
                self.showNormal()
            self.restoreState(self._state_before_presentation)

    def _fit_presentation_layout(self) -> None:
        """Share the full screen out: drawing, the big views, the answer."""
        if not self._presentation:
            return
        w = self.width()
        self.resizeDocks(
            [self.dock_draw, self.dock_maps, self.dock_prediction],
            [int(w * 0.24), int(w * 0.43), int(w * 0.33)],
            Qt.Orientation.Horizontal,
        )

    def is_presentation_mode(self) -> bool:
        return self._presentation

    def _show_about(self) -> None:
        QMessageBox.about(
            self,
            "About cnnviz",
            "<h3>cnnviz</h3><p>Draw a digit and watch classic convolutional networks think and learn.</p>"
            "<p><b>Keys</b>: Esc/Delete clear · Ctrl+Z undo · Ctrl+R random test image · Ctrl+O/Ctrl+S open/save "
            "weights · Ctrl+I open image · Ctrl+E export panel · Ctrl+T / Ctrl+P / Ctrl+Shift+T start, "
            "pause or resume, stop training · F11 presentation mode · Ctrl+Q quit</p>",
        )

    # -- closing ----------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        if self._presentation:
            self.set_presentation_mode(False)
        self._save_settings()
        if self._loader is not None:  # closing while the model loads: let the import finish
            self._loader.join()
        if self.monitor is not None:
            self.monitor.shutdown()
        if self.feature_maps.zoom is not None:
            self.feature_maps.zoom.close()
        self._infer_timer.stop()
        super().closeEvent(event)


__all__ = ["MainWindow"]
