"""The window's actions (with their shortcuts and tips), menus and toolbar."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox, QSizePolicy, QToolBar, QToolButton

KEYS_HELP = (
    "<b>Keys</b>: Esc/Delete clear · Ctrl+Z undo · Ctrl+R random test image · Ctrl+O/Ctrl+S open/save "
    "weights · Ctrl+Shift+O open network (.py) · Ctrl+I open image · Ctrl+E export panel · "
    "Ctrl+1 / Ctrl+2 / Ctrl+3 the Inside, Why and Train workspaces · "
    "Ctrl+T / Ctrl+P / Ctrl+Shift+T start, pause or resume, stop training · F11 presentation mode (PgDown/PgUp: "
    "next/previous scene of a lesson, else panel) · F9 capture a scene · F8 reveal a quiz's answer · Ctrl+Q quit"
)


def make_action(window, text: str, slot, shortcut=None, tip: str = "", name: str = "") -> QAction:
    """A window-wide action: its shortcut works even with the menu bar hidden."""
    action = QAction(text, window)
    keys = [] if shortcut is None else shortcut if isinstance(shortcut, list) else [shortcut]
    if keys:
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    shown = ", ".join(QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in keys)
    action.setToolTip(f"{tip} ({shown})" if shown and tip else tip or text)
    action.setStatusTip(tip)
    if name:
        action.setObjectName(name)
    action.triggered.connect(slot)
    window.addAction(action)
    return action


def build_actions(w) -> None:
    """Create ``w.act_*`` for the window ``w`` (a ``MainWindow``)."""
    a = lambda *args: make_action(w, *args)  # noqa: E731
    files = w.files
    w.act_open_weights = a(
        "&Open weights…",
        lambda: files.open_weights(),
        QKeySequence.StandardKey.Open,
        "Load a weights file for the current network",
        "actionOpenWeights",
    )
    w.act_save_weights = a(
        "&Save weights…",
        lambda: files.save_weights(),
        QKeySequence.StandardKey.Save,
        "Save the current network's weights to a file",
        "actionSaveWeights",
    )
    w.act_open_network = a(
        "Open &network (.py)…",
        lambda: w.open_network(),
        "Ctrl+Shift+O",
        "Load your own network from a Python file (this runs the file's code)",
        "actionOpenNetwork",
    )
    w.act_open_image = a(
        "Open &image…", lambda: files.open_image(), "Ctrl+I", "Put a picture file on the canvas", "actionOpenImage"
    )
    w.act_export = a(
        "&Export panel…",
        lambda: files.export_figure(),
        "Ctrl+E",
        "Save the panel you last used as a figure for a slide: without its controls, PNG at 2x or SVG for diagrams",
        "actionExportPanel",
    )
    w.act_preferences = a("Pr&eferences…", lambda: w.data.preferences(), "Ctrl+,",
                          "The data folder: where MNIST and Fashion-MNIST are read from", "actionPreferences")  # fmt: skip
    w.act_quit = a("&Quit", w.close, "Ctrl+Q", "Close cnnviz", "actionQuit")
    w.act_clear = a("&Clear", w.clear_canvas, ["Esc", "Delete"], "Clear the canvas", "actionClear")
    w.act_undo = a("&Undo stroke", w.undo_stroke, "Ctrl+Z", "Remove the last stroke", "actionUndo")
    w.act_random = a(
        "&Random test image",
        files.show_random_test_image,
        "Ctrl+R",
        "Put a random image of the test set on the canvas and show its true label",
        "actionRandom",
    )
    w.act_presentation = a(
        "&Presentation mode",
        lambda: w.docks.toggle_presentation_mode(),
        "F11",
        "Full screen with larger type, for projecting",
        "actionPresentation",
    )
    w.act_presentation.setCheckable(True)
    w.act_next_panel = a(
        "&Next panel",
        lambda: w.lessons.step(1) or w.docks.next_panel(1),
        ["PgDown", "Ctrl+Tab"],
        "Presentation mode: the next scene of the lesson, else the next panel (a presenter's remote sends Page Down)",
        "actionNextPanel",
    )
    w.act_previous_panel = a(
        "P&revious panel",
        lambda: w.lessons.step(-1) or w.docks.next_panel(-1),
        ["PgUp", "Ctrl+Shift+Tab"],
        "Presentation mode: show the previous panel",
        "actionPreviousPanel",
    )
    for action in (w.act_next_panel, w.act_previous_panel):
        action.setEnabled(False)  # only in presentation mode: elsewhere PgDown scrolls
    w.act_reset_layout = a(
        "Reset &layout",
        lambda: w.docks.reset_layout(),
        None,
        "Put every panel back where it started",
        "actionResetLayout",
    )
    w.act_train_start = a(
        "&Start training",
        lambda: w.training_command("start"),
        "Ctrl+T",
        "Train with the settings in the Training panel",
        "actionTrainStart",
    )
    w.act_train_pause = a(
        "&Pause or resume training",
        lambda: w.training_command("pause"),
        "Ctrl+P",
        "Pause the run after the current batch, or resume it",
        "actionTrainPause",
    )
    w.act_train_stop = a(
        "S&top training",
        lambda: w.training_command("stop"),
        "Ctrl+Shift+T",
        "Stop after the current batch and keep the weights learned so far",
        "actionTrainStop",
    )
    w.act_evaluate = a(
        "&Evaluate on the test set",
        lambda: w.training_command("evaluate"),
        None,
        "Run the weights on screen on the test set and fill the confusion matrix",
        "evaluateTestSet",
    )
    lessons = w.lessons
    w.act_capture_scene = a("&Capture scene", lambda: lessons.capture(), "F9",
                            "Add what is on screen to the lesson as a scene", "actionCaptureScene")  # fmt: skip
    w.act_open_lesson = a("Open &lesson…", lambda: w.open_lesson(), None, "Open a lesson file and show its first scene",
                          "actionOpenLesson")  # fmt: skip
    w.act_save_lesson = a("Save lesson…", lambda: w.save_lesson(), None, "Save the lesson's scenes and their weights",
                          "actionSaveLesson")  # fmt: skip
    w.act_reveal = a("Reveal the &answer", lessons.reveal_answer, "F8", "Show the answer a quiz hides", "actionReveal")
    w.act_about = a("&About cnnviz", lambda: show_about(w), None, "What cnnviz is and its keyboard shortcuts",
                    "actionAbout")  # fmt: skip


def build_menus_and_toolbar(w) -> None:
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.setToolTipsVisible(True)
    file_menu.addActions([w.act_open_weights, w.act_save_weights, w.act_open_network])
    file_menu.addActions([w.act_open_lesson, w.act_save_lesson, w.act_capture_scene])
    file_menu.addSeparator()
    file_menu.addAction(w.act_open_image)
    file_menu.addAction(w.act_export)
    w.figure_menu = file_menu.addMenu("Export &figure of")
    w.figure_menu.aboutToShow.connect(lambda: _fill_figure_menu(w))
    w.export_menu = file_menu.addMenu("Export &screenshot of panel")
    w.export_menu.aboutToShow.connect(lambda: _fill_export_menu(w))
    file_menu.addSeparator()
    file_menu.addAction(w.act_quit)
    edit_menu = bar.addMenu("&Edit")
    edit_menu.addActions([w.act_undo, w.act_clear, w.act_random])
    edit_menu.addSeparator()
    edit_menu.addAction(w.act_preferences)
    w.view_menu = bar.addMenu("&View")
    w.view_menu.addActions([w.act_presentation, w.act_next_panel, w.act_previous_panel])
    w.view_menu.addAction(w.act_reset_layout)
    w.view_menu.addAction(w.act_reveal)
    w.view_menu.addSeparator()
    w.view_menu.setToolTipsVisible(True)  # the workspaces and panels follow (DockLayout)
    train_menu = bar.addMenu("&Training")
    train_menu.setToolTipsVisible(True)
    train_menu.addActions([w.act_train_start, w.act_train_pause, w.act_train_stop])
    train_menu.addSeparator()
    train_menu.addAction(w.act_evaluate)
    bar.addMenu("&Help").addAction(w.act_about)

    tb = w.model_toolbar = QToolBar("Model")
    tb.setObjectName("modelToolbar")
    tb.setAccessibleName("Model toolbar")
    tb.setMovable(False)
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    w.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
    tb.addWidget(w.pickers)
    separators = [QAction(tb)]
    separators[0].setSeparator(True)
    # Left out in presentation mode (they stay in the menus and on their keys): the pickers get the row.
    w.model_toolbar_extras = [separators[0], w.act_open_weights, w.act_save_weights]  # F11 is on the workspace bar
    tb.addActions(w.model_toolbar_extras)

    # Short words on the canvas's buttons (a projector's column is narrow); the tooltips say it all.
    short = {w.act_clear: "Clear", w.act_undo: "Undo", w.act_random: "Test image", w.act_open_image: "Picture…"}
    for k, action in enumerate((w.act_clear, w.act_undo, w.act_random, w.act_open_image)):
        action.setIconText(short[action])  # what a text-only tool button shows; menus keep the full text
        button = QToolButton()
        button.setDefaultAction(action)
        button.setObjectName(action.objectName().replace("action", "button"))
        button.setAccessibleName(action.text().replace("&", "").rstrip("…"))
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        w.canvas_panel.button_grid.addWidget(button, k // 2, k % 2)


def _fill_export_menu(w) -> None:
    w.export_menu.clear()
    for name, widget in w.panels().items():
        action = w.export_menu.addAction(f"{name}…")
        action.triggered.connect(lambda _=False, wd=widget, n=name: w.files.export_panel_png(widget=wd, name=n))


def _fill_figure_menu(w) -> None:
    from cnnviz.qt.app.figures import figure_parts

    w.figure_menu.clear()
    for name, part in figure_parts(w).items():
        action = w.figure_menu.addAction(f"{name}…")
        action.triggered.connect(lambda _=False, wd=part, n=name: w.files.export_figure(widget=wd, name=n))


def show_about(w) -> None:
    QMessageBox.about(
        w,
        "About cnnviz",
        "<h3>cnnviz</h3><p>Draw a digit and watch classic convolutional networks think and learn.</p>"
        f"<p>{KEYS_HELP}</p>",
    )


def ask_question(parent, title: str, text: str, buttons: list[str]) -> str:
    """A question box with these buttons (the first accepts, the last is the default); the chosen text, or ""."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("questionBox")
    roles = [QMessageBox.ButtonRole.AcceptRole] + [QMessageBox.ButtonRole.RejectRole] * (len(buttons) - 1)
    made = [box.addButton(b, role) for b, role in zip(buttons, roles, strict=True)]
    box.setDefaultButton(made[-1])  # Enter does the safe thing
    box.exec()
    clicked = box.clickedButton()
    box.deleteLater()
    return clicked.text() if clicked in made else ""
