"""The Lesson dock: the lesson's scenes in order, to name (double-click or F2), reorder (drag, or
the arrows), show (Enter or a click on Show), delete, and the quiz switch."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDockWidget,
    QGridLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)


class SceneList(QWidget):
    """Shows ``lessons``'s scenes and edits them through its commands (it holds no scene itself)."""

    def __init__(self, lessons, capture_action) -> None:
        super().__init__()
        self.setObjectName("sceneList")
        self.setAccessibleName("Lesson scenes")
        self.lessons = lessons
        self.position = QLabel("No scenes yet: press F9 to capture what is on screen.")
        self.position.setObjectName("scenePosition")
        self.position.setWordWrap(True)
        self.list = QListWidget()
        self.list.setObjectName("scenes")
        self.list.setAccessibleName("Scenes of the lesson")
        self.list.setToolTip("The lesson's scenes: Enter or a double-click shows one, F2 renames it, drag to reorder")
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        # A double-click shows the scene; F2 or a click on the selected one renames it.
        self.list.setEditTriggers(
            QAbstractItemView.EditTrigger.EditKeyPressed | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self._refreshing = False  # the list is being refilled from the lesson: its signals are not the user's
        self.list.itemChanged.connect(self._on_item_changed)
        self.list.itemActivated.connect(lambda item: lessons.show_scene(self.list.row(item)))
        self.list.model().rowsMoved.connect(self._on_rows_moved)
        buttons = QGridLayout()
        capture = QPushButton("Capture")
        capture.setObjectName("captureScene")
        capture.setToolTip(capture_action.toolTip())
        capture.clicked.connect(capture_action.trigger)
        show = self._button("Show", "showScene", "Put the selected scene on screen (Enter)",
                            lambda: lessons.show_scene(self.list.currentRow()))  # fmt: skip
        up = self._button("Up", "sceneUp", "Move the selected scene one up", lambda: self._move(-1))
        down = self._button("Down", "sceneDown", "Move the selected scene one down", lambda: self._move(1))
        delete = self._button("Delete", "deleteScene", "Remove the selected scene from the lesson",
                              lambda: lessons.remove(self.list.currentRow()))  # fmt: skip
        for k, button in enumerate((capture, show, up, down, delete)):
            buttons.addWidget(button, k // 2, k % 2)
        self.quiz = QCheckBox("Quiz: hide the answer (F8 reveals)")
        self.quiz.setObjectName("quizToggle")
        self.quiz.setToolTip("Hide the network's answer on this scene and those captured next, until F8 reveals it")
        self.quiz.toggled.connect(lessons.set_quiz)
        layout = QVBoxLayout(self)
        layout.addWidget(self.position)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.quiz)
        lessons.changed.connect(self.refresh)

    def _button(self, text: str, name: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if not self._refreshing:  # renamed by the user; the list is refilled after this signal, not inside it
            row, text = self.list.row(item), item.text()
            QTimer.singleShot(0, self, lambda: self.lessons.rename(row, text))

    def _move(self, step: int) -> None:
        row = self.list.currentRow()
        self.lessons.move(row, row + step)
        self.list.setCurrentRow(max(0, min(self.list.count() - 1, row + step)))

    def _on_rows_moved(self, _parent, start: int, _end: int, _dest, row: int) -> None:
        # The list moved its item already; the lesson follows (row counts the moved item's old place).
        if not self._refreshing:
            self.lessons.move(start, row - 1 if row > start else row)

    def refresh(self) -> None:
        lessons = self.lessons
        self._refreshing = True
        self.list.clear()
        for k, scene in enumerate(lessons.scenes):
            item = QListWidgetItem(scene.name)
            if scene.quiz:  # a quiz: its answer is hidden until F8
                item.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxQuestion))
            item.setToolTip(f"{scene.model} on {scene.dataset}" + (" · quiz" if scene.quiz else ""))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            if k == lessons.current:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.list.addItem(item)
        if 0 <= lessons.current < self.list.count():
            self.list.setCurrentRow(lessons.current)
        self._refreshing = False
        self.position.setText(lessons.position_text() or "No scenes yet: press F9 to capture what is on screen.")
        self.quiz.blockSignals(True)
        self.quiz.setChecked(lessons.quiz)
        self.quiz.blockSignals(False)


def add_lesson_dock(window, lessons, capture_action) -> QDockWidget:
    """The Lesson dock, a tab of the answer column, hidden until a lesson has a scene (capture or open)."""
    dock = QDockWidget("Lesson", window)
    dock.setObjectName("dockLesson")
    dock.setAccessibleName("Lesson")
    dock.setToolTip("The lecture's scenes: capture (F9), name, reorder, step through (Page Down in presentation)")
    dock.setWidget(SceneList(lessons, capture_action))
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.tabifyDockWidget(window.dock_prediction, dock)  # beside the answer, in every workspace
    dock.hide()  # until there is a lesson: the answer stays in front
    window.dock_prediction.raise_()
    window.view_menu.addAction(dock.toggleViewAction())
    lessons.dock = dock
    window.act_presentation.toggled.connect(lessons.on_presentation)
    return dock
