"""The main window driven like a user: draw, read the answer, switch models, keys, settings."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import canvas_point, line
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QWidget

from cnnviz.core import DATASETS, drawing_to_input, list_models
from cnnviz.core.resources import pretrained_path
from cnnviz.qt.widgets.canvas import DEFAULT_BRUSH
from cnnviz.qt.widgets.visibility import is_on_screen

SEVEN = [line((0.25, 0.22), (0.75, 0.22)), line((0.75, 0.22), (0.4, 0.85))]


def test_starts_with_pretrained_lenet5_on_mnist_ready_to_draw(window):
    assert window.session.model_name == "lenet5" and window.session.dataset == "mnist"
    assert window.model_picker.currentData() == "lenet5"
    assert window.dataset_picker.currentData() == "mnist"
    assert window.canvas.isVisible() and window.canvas.isEnabled()
    assert window.canvas.width() >= 250 and abs(window.canvas.width() - window.canvas.height()) < 120
    assert window.session.source.startswith("pretrained")
    assert window.session.source == "pretrained lenet5-mnist.safetensors"
    assert window.status_weights.text() == "Weights: lenet5-mnist (shipped)"  # short: a projector's status bar
    assert window.status_weights.toolTip().endswith(window.session.source)
    assert window.status_accuracy.text().startswith("Test accuracy: 9")
    assert not window.prediction.untrained.isVisible()
    assert window.status_device.text().startswith("Device: ")
    assert "LeNet-5" in window.status_model.text() and "MNIST" in window.status_model.text()


def test_empty_canvas_shows_no_prediction(window, draw):
    assert window.prediction.bars.probabilities is None
    assert window.prediction.label.text() == "Draw a digit"
    assert window.preview.values is None
    assert window.feature_maps.mosaic.block_names() == []
    draw(window.canvas, SEVEN[0])
    window.settle()
    assert window.prediction.bars.probabilities is not None
    window.clear_canvas()
    QApplication.processEvents()
    assert window.prediction.bars.probabilities is None
    assert window.prediction.label.text() == "Draw a digit"
    assert window.preview.values is None


def test_the_prediction_and_maps_update_while_the_stroke_is_drawn(qtbot, window, make_line):
    assert window.prediction.bars.probabilities is None
    canvas = window.canvas
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(canvas, 0.3, 0.2))
    counts = []
    for u, v in make_line((0.3, 0.2), (0.6, 0.8), n=10)[1:]:
        qtbot.mouseMove(canvas, canvas_point(canvas, u, v))
        window.settle()  # the coalescing timer has run
        counts.append(window.state.inference_count)
    # Mid-stroke (no release yet), every move has been answered.
    assert canvas.stroke_count() == 0
    assert counts == sorted(counts) and counts[-1] - counts[0] >= 8
    probs = window.prediction.bars.probabilities
    assert probs is not None and probs.shape == (10,) and abs(probs.sum() - 1) < 1e-4
    top = int(np.argmax(probs))
    assert window.prediction.label.text().startswith(f"{top}  (")
    assert window.feature_maps.mosaic.block_names() == list(window.session.result.activations.keys())
    expected = drawing_to_input(canvas.image_array(), ink_is_dark=False)
    np.testing.assert_allclose(window.preview.values, expected)
    np.testing.assert_allclose(probs, window.session.predict(expected), atol=1e-5)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(canvas, 0.6, 0.8))


def test_drawing_changes_the_prediction(qtbot, window, draw):
    draw(window.canvas, SEVEN[0] + SEVEN[1][1:])
    window.settle()
    seven = window.prediction.bars.probabilities.copy()
    window.canvas.clear()
    draw(window.canvas, [(0.5 + 0.28 * np.sin(t), 0.5 - 0.33 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 40)])
    window.settle()
    zero = window.prediction.bars.probabilities
    assert np.abs(zero - seven).max() > 0.2
    assert int(np.argmax(seven)) == 7 and int(np.argmax(zero)) == 0
    assert window.prediction.label.text().startswith("0  (")


def test_a_vertical_stroke_is_a_one(qtbot, window, draw):
    draw(window.canvas, line((0.5, 0.15), (0.5, 0.85)))
    window.settle()
    probs = window.prediction.bars.probabilities
    assert int(np.argmax(probs)) == 1, probs
    assert window.prediction.label.text().startswith("1  (")


def test_switching_model_and_dataset_reloads_weights(qtbot, window, draw):
    draw(window.canvas, SEVEN[0] + SEVEN[1][1:])
    old_model = window.session.model
    window.model_picker.setCurrentIndex(window.model_picker.findData("lenet"))
    assert window.session.model_name == "lenet" and window.session.model is not old_model
    assert window.model_picker.currentData() == "lenet"
    has_file = pretrained_path("lenet", "mnist").exists()
    assert window.session.source.startswith("pretrained" if has_file else "untrained")
    assert window.prediction.untrained.isVisibleTo(window) == (not has_file)
    assert "LeNet (modern)" in window.status_model.text()
    qtbot.waitUntil(lambda: "conv1" in window.feature_maps.mosaic.block_names())  # maps follow the model
    assert window.layer_table.totals()[0] == "61,706"

    window.dataset_picker.setCurrentIndex(window.dataset_picker.findData("fashion-mnist"))
    assert window.session.dataset == "fashion-mnist" and window.session.model_name == "lenet"
    has_file = pretrained_path("lenet", "fashion-mnist").exists()
    assert window.session.source.startswith("pretrained" if has_file else "untrained")
    assert window.prediction.bars.class_names == DATASETS["fashion-mnist"].classes
    window.settle()
    top = int(np.argmax(window.prediction.bars.probabilities))
    assert window.prediction.label.text().startswith(DATASETS["fashion-mnist"].classes[top])
    assert "Fashion-MNIST" in window.status_model.text()


def test_pickers_show_parameters_and_accuracy_or_untrained(window):
    from cnnviz.core import pickable_models, pretrained_accuracy

    offered = pickable_models("mnist")  # the zoo, and the variants that ship MNIST weights
    assert {s.name for s in list_models()} <= {s.name for s in offered}
    assert window.model_picker.count() == len(offered)
    for i, spec in enumerate(offered):
        text = window.model_picker.itemText(i)
        assert text.startswith(spec.display_name)
        tip = window.model_picker.itemData(i, Qt.ItemDataRole.ToolTipRole)
        assert f"{spec.num_params:,} parameters" in tip
        acc = pretrained_accuracy(spec.name, "mnist")
        assert (f"{100 * acc:.1f}%" in text) if acc is not None else ("not evaluated" in text)
    assert [window.dataset_picker.itemText(i) for i in range(2)] == ["MNIST", "Fashion-MNIST"]


def test_a_missing_pretrained_file_means_random_weights_said_clearly(qtbot, settings, monkeypatch, tmp_path):
    from cnnviz.qt import MainWindow

    monkeypatch.setenv("CNNVIZ_WEIGHTS_DIR", str(tmp_path))  # no shipped weights at all
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.show()
    assert w.session.source.startswith("untrained")
    assert w.prediction.untrained.isVisible()
    assert "untrained" in w.status_weights.text() and "bold" in w.status_weights.styleSheet()
    assert all("not evaluated" in w.model_picker.itemText(i) for i in range(w.model_picker.count()))
    assert w.status_accuracy.text() == "Test accuracy: not evaluated"


def test_keyboard_clear_and_undo(qtbot, window, draw):
    draw(window.canvas, SEVEN[0])
    one = window.canvas.image_array()
    draw(window.canvas, SEVEN[1])
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(window.canvas.image_array(), one)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert window.canvas.is_empty()
    draw(window.canvas, SEVEN[0])
    qtbot.keyClick(window.canvas, Qt.Key.Key_Delete)
    assert window.canvas.is_empty()
    window.settle()
    assert window.prediction.bars.probabilities is None


def test_shortcuts_are_bound(window):
    keys = {a.objectName(): [k.toString() for k in a.shortcuts()] for a in window.actions()}
    assert keys["actionClear"] == ["Esc", "Del"]
    assert keys["actionUndo"] == ["Ctrl+Z"]
    assert keys["actionOpenWeights"] == ["Ctrl+O"] and keys["actionSaveWeights"] == ["Ctrl+S"]
    assert keys["actionPresentation"] == ["F11"] and keys["actionRandom"] == ["Ctrl+R"]
    assert keys["actionQuit"] == ["Ctrl+Q"]


def test_random_test_image_shows_its_true_label(qtbot, window, data_dir):
    window.data_dir = data_dir
    window.files.test_image_rng = np.random.default_rng(3)
    qtbot.keyClick(window.canvas, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.canvas.is_empty(), timeout=30_000)  # the first press reads the test set
    window.settle()
    label = window.session.result.true_label
    assert f"true label: <b>{label}</b>" in window.canvas_panel.true_label.text()
    window.settle()
    # test images are what the model knows best; seed 3 picks an easy one
    assert int(np.argmax(window.prediction.bars.probabilities)) == label
    window.canvas.clear()
    assert window.canvas_panel.true_label.text() == ""
    assert window.show_random_test_image()  # in memory now: at once
    assert not window.canvas.is_empty()


@pytest.fixture
def no_split_in_memory():
    import cnnviz.core.data.datasets as data

    kept = dict(data._SPLITS)
    data._SPLITS.clear()
    yield data
    data._SPLITS.clear()
    data._SPLITS.update(kept)


def test_first_random_image_reads_the_test_set_off_the_gui_thread(
    qtbot, window, draw, data_dir, no_split_in_memory, monkeypatch
):
    gate, real_read = threading.Event(), no_split_in_memory._read_split

    def slow_read(*args):
        assert threading.current_thread() is not threading.main_thread()
        gate.wait(30)  # a first-time download
        return real_read(*args)

    monkeypatch.setattr(no_split_in_memory, "_read_split", slow_read)
    window.data_dir = data_dir
    assert not window.show_random_test_image()
    assert "Reading the MNIST test set" in window.statusBar().currentMessage()
    assert not window.act_random.isEnabled() and window.canvas.is_empty()
    draw(window.canvas, line((0.5, 0.15), (0.5, 0.85)))  # the window still answers
    window.settle()
    assert window.prediction.bars.probabilities is not None
    gate.set()
    qtbot.waitUntil(lambda: window.session.result.true_label is not None, timeout=30_000)
    assert window.act_random.isEnabled() and window.statusBar().currentMessage() == ""


def test_missing_data_is_a_sentence_not_a_traceback(qtbot, window, tmp_path, no_split_in_memory):
    window.data_dir = tmp_path / "nowhere"
    window.session.dataset = "mnist"
    assert not window.show_random_test_image()  # one question, not seconds of silence (tests/qt/test_data_folder.py)
    ((title, text, buttons),) = window.asked
    assert "MNIST" in text and "Traceback" not in text and "Download" in buttons
    assert window.shown_errors == [] and window.act_random.isEnabled()  # cancelled: the user can try again


def test_open_image_inverts_dark_ink_on_paper(qtbot, window, tmp_path):
    from PySide6.QtGui import QColor, QImage, QPainter, QPen

    img = QImage(200, 120, QImage.Format.Format_RGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    p.setPen(QPen(QColor("black"), 12))
    p.drawLine(100, 15, 100, 105)
    p.end()
    path = tmp_path / "one.png"
    assert img.save(str(path))
    assert window.open_image(path)
    arr = window.canvas.image_array()
    assert arr[140, 140] > 200 and arr[140, 40] < 30  # bright ink in the middle, black around
    qtbot.waitUntil(lambda: window.preview.values is not None)
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    assert not window.open_image(bad)
    assert "notes.png" in window.shown_errors[-1][1]


def test_settings_remember_model_dataset_brush_and_geometry(qtbot, tmp_path):
    from cnnviz.qt import MainWindow

    path = str(tmp_path / "remember.ini")
    w = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    assert w.canvas_panel.brush_slider.value() == DEFAULT_BRUSH
    w.model_picker.setCurrentIndex(w.model_picker.findData("alexnet"))
    w.dataset_picker.setCurrentIndex(w.dataset_picker.findData("fashion-mnist"))
    w.canvas_panel.brush_spin.setValue(33)
    w.dock_input.hide()  # the dock layout is part of the window state
    w.close()
    assert QSettings(path, QSettings.Format.IniFormat).value("geometry") is not None

    again = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    assert (again.session.model_name, again.session.dataset) == ("alexnet", "fashion-mnist")
    assert again.model_picker.currentData() == "alexnet"
    assert again.canvas_panel.brush_slider.value() == 33 and again.canvas.brush_size == 33
    again.show()
    assert again.dock_draw.isVisible() and not again.dock_input.isVisible()


def test_presentation_mode_is_full_screen_with_larger_type(qtbot, window):
    base = window.font().pointSizeF()
    label_size = window.prediction.label.font().pointSizeF()
    accuracy_size = window.monitor.accuracy_label.font().pointSizeF()
    qtbot.keyClick(window.canvas, Qt.Key.Key_F11)
    assert window.is_presentation_mode() and window.isFullScreen()
    assert window.font().pointSizeF() > base * 1.3
    assert window.prediction.label.font().pointSizeF() > label_size * 1.3
    assert window.monitor.accuracy_label.font().pointSizeF() > accuracy_size * 1.3
    assert window.canvas_panel.brush_slider.font().pointSizeF() > base * 1.3
    qtbot.keyClick(window.canvas, Qt.Key.Key_F11)
    assert not window.is_presentation_mode() and not window.isFullScreen()
    assert window.font().pointSizeF() == base


def test_export_panel_writes_a_png(qtbot, window, tmp_path, draw):
    from PySide6.QtGui import QImage

    draw(window.canvas, SEVEN[0])
    name, widget = window.current_panel()
    assert name == "Drawing"  # the canvas has the focus after drawing
    qtbot.mouseClick(window.prediction, Qt.MouseButton.LeftButton)  # then the teacher clicks the bars
    assert window.current_panel()[1] is window.prediction
    path = tmp_path / "maps"
    assert window.export_panel_png(path, window.feature_maps, "Feature maps")
    img = QImage(str(path) + ".png")
    assert not img.isNull() and img.width() == window.feature_maps.width()


def test_named_widgets_have_accessible_names_and_tooltips(window):
    for name in (
        "canvas",
        "inputPreview",
        "predictionBars",
        "predictionLabel",
        "modelPicker",
        "datasetPicker",
        "featureMaps",
        "c3Matrix",
        "layerTable",
        "brushSize",
        "layerChooser",
        "trainingMonitor",
        "trainStart",
        "trainPause",
        "trainStop",
    ):
        widget = window.findChild(QWidget, name)
        assert widget is not None, name
        assert widget.accessibleName(), name
    for name in (
        "canvas",
        "inputPreview",
        "predictionBars",
        "predictionLabel",
        "modelPicker",
        "datasetPicker",
        "layerTable",
        "brushSize",
        "layerChooser",
        "perMapScale",
    ):
        assert window.findChild(QWidget, name).toolTip(), name
    for button in ("buttonClear", "buttonUndo", "buttonRandom", "buttonOpenImage"):
        assert window.findChild(QWidget, button).toolTip(), button


def test_inference_is_coalesced_newest_drawing_wins(qtbot, window):
    """A burst of drawings between two event-loop turns costs one inference, on the last one."""
    from cnnviz.qt.widgets.canvas import MODEL_SIZE

    before = window.state.inference_count
    for k in range(5):
        img = np.zeros((MODEL_SIZE, MODEL_SIZE), np.uint8)
        img[40:240, 40 + 40 * k : 60 + 40 * k] = 255
        window.state.set_drawing(img)
    window.settle()
    assert window.state.inference_count == before + 1
    np.testing.assert_allclose(window.preview.values, drawing_to_input(img, ink_is_dark=False))


def test_session_change_from_elsewhere_refreshes_everything(qtbot, window):
    """The session announces a new network; every panel follows from that event alone (no refresh call)."""
    window.session.load_pretrained("resnet", "fashion-mnist")
    assert window.model_picker.currentData() == "resnet"
    assert window.dataset_picker.currentData() == "fashion-mnist"
    assert window.layer_table.item(0, 0).text() == window.session.description.layers[0].name
    assert window.c3.stack.currentIndex() == 0  # ResNet has no C3 table
    assert "ResNet" in window.status_model.text()


def test_deferred_start_takes_strokes_while_the_model_loads(qtbot, settings, draw, held_loader):
    """What the app does at start-up: window first, torch and the model in a background thread."""

    from cnnviz.qt.app.main_window import MainWindow

    w = MainWindow(settings=settings, defer_model=True)
    qtbot.addWidget(w)
    w.show()
    assert w.session is None and not w.state.is_ready()
    assert not w.act_random.isEnabled() and not w.model_picker.isEnabled()
    assert w.prediction.label.text() == "Loading…"
    draw(w.canvas, line((0.5, 0.15), (0.5, 0.85)))
    QApplication.processEvents()
    assert w.canvas.stroke_count() == 1
    qtbot.waitUntil(lambda: w.prediction.bars.probabilities is not None)  # LeNet-5 in numpy answers it at once
    assert w.prediction.label.text().startswith("1  (") and w.feature_maps.mosaic.block_names() == []
    with qtbot.waitSignal(w.sessionReady, timeout=30_000):
        held_loader()
    qtbot.waitUntil(lambda: not w.state.inference_pending())
    assert w.model_picker.isEnabled() and w.act_random.isEnabled()
    assert w.model_picker.currentData() == "lenet5"
    assert w.prediction.label.text().startswith("1  (")  # the torch network answers the stroke again
    assert "C3" in w.feature_maps.mosaic.block_names()
    assert w.findChild(QWidget, "trainingMonitor") is w.monitor


def test_reset_layout_brings_every_panel_back(qtbot, window):
    window.dock_c3.hide()
    window.dock_prediction.setFloating(True)
    window.act_reset_layout.trigger()
    assert window.current_workspace() == "Inside"
    for dock in (
        window.dock_draw,
        window.dock_input,
        window.dock_maps,
        window.dock_prediction,
        window.dock_layers,
        window.dock_c3,
        window.dock_kernels,
        window.dock_inspector,
        window.dock_architecture,
    ):
        assert not dock.isFloating() and not dock.isHidden(), dock.objectName()
    assert window.dock_training.isHidden()  # the Train workspace's
    assert window.dock_maps in window.tabifiedDockWidgets(window.dock_kernels)


def test_export_menu_lists_every_panel(window):
    window.export_menu.aboutToShow.emit()
    names = [a.text() for a in window.export_menu.actions()]
    assert names == [f"{n}…" for n in window.panels()]


def test_a_dot_is_not_read_as_a_digit(qtbot, window, draw):
    """A click or a tiny scribble would be blown up to full size and "recognised": it is not."""
    draw(window.canvas, line((0.5, 0.5), (0.52, 0.51), n=3))
    window.settle()
    assert window.session.result.probabilities is None and window.prediction.bars.probabilities is None
    assert window.prediction.label.text() == "Draw a bigger digit"
    draw(window.canvas, line((0.5, 0.15), (0.5, 0.85)))  # a real stroke is read again
    window.settle()
    assert window.prediction.label.text().startswith("1  (")


def test_export_takes_a_panel_behind_a_tab_and_all_of_a_scrolled_one(qtbot, window, draw, tmp_path):
    from PySide6.QtGui import QImage

    window.resize(1280, 720)  # the feature maps of LeNet-5 do not fit: they scroll
    draw(window.canvas, line((0.3, 0.2), (0.6, 0.8)))
    window.settle()
    window.dock_kernels.raise_()  # the feature maps hide behind the Kernels tab
    qtbot.waitUntil(lambda: not is_on_screen(window.feature_maps))
    path = tmp_path / "maps.png"
    assert window.export_panel_png(path, widget=window.feature_maps, name="Feature maps")
    image = QImage(str(path))
    mosaic = window.feature_maps.mosaic
    assert image.height() > window.feature_maps.height()  # the whole column of layers, not the part in view
    assert image.height() >= mosaic.height()
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 50  # maps, not a blank panel
    assert is_on_screen(window.kernels)  # the tab the user had in front is in front again


def test_closing_while_the_network_loads_returns_at_once(qtbot, settings, monkeypatch):
    """The window closes at once; the loader (maybe inside `import torch`) finishes on its own, its
    result dropped, and cnnviz.qt.app.launch waits for it before the interpreter exits, never the window."""
    from cnnviz.qt.app.main_window import MainWindow
    from cnnviz.qt.state import workers
    from cnnviz.qt.state.app_state import AppState

    gate = threading.Event()
    real_load = AppState._build_session
    monkeypatch.setattr(AppState, "_build_session", lambda self, m, d: gate.wait(30) and real_load(self, m, d))
    w = MainWindow(settings=settings, defer_model=True)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.state.loader is not None, timeout=5000)  # the load starts once the window is up
    loader = w.state.loader
    release = threading.Timer(5.0, gate.set)  # had close() waited for the loader, it would return only now
    release.start()
    w.close()
    assert not w.isVisible() and loader.is_running()  # closed while the load still runs
    assert workers.active() == ["load-model"]
    release.cancel()
    release.join()
    gate.set()
    assert workers.wait_for_all(timeout=30)  # what launch does before the interpreter exits
    assert not loader.is_running() and workers.active() == []
    qtbot.wait(50)
    assert w.session is None  # the abandoned load's network was dropped, not attached to a closed window
