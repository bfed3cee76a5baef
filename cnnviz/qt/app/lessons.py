"""A lecture as a list of scenes: capture what is on screen (F9), show it again, step through with
Page Down / Page Up in presentation mode, save and open lesson files, and a quiz that hides the answer.

``Lessons`` reads and sets the window's state through the same commands a user has (the session,
the canvas, the selected unit, the attribution settings, the docks); the file format and its
checks are the core's (``cnnviz.core.session.lesson``). The scene list dock is ``scene_list.py``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel

from cnnviz.qt.app.errors import describe_error
from cnnviz.qt.widgets.visibility import is_on_screen

LESSON_FILTER = "cnnviz lesson (*.cnnlesson);;All files (*)"


def _lesson_module():
    from cnnviz.core.session import lesson  # torch: imported when a lesson is first used

    return lesson


class AnswerCover(QLabel):
    """Covers the prediction panel in a quiz until the answer is revealed (the key or a click)."""

    def __init__(self, panel, reveal) -> None:
        super().__init__("Quiz: what will the network answer?\n\nF8 reveals the answer", panel)
        self.setObjectName("answerCover")
        self.setAccessibleName("Answer hidden for the quiz")
        self.setToolTip("The answer is hidden for a quiz: press F8 or click here to reveal it")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setAutoFillBackground(True)
        self.setStyleSheet("QLabel#answerCover { background: #202833; color: white; font-weight: bold; }")
        self._reveal = reveal
        panel.installEventFilter(self)
        self.hide()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt override)
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self.setGeometry(watched.rect())
        return False

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self._reveal()

    def cover(self, on: bool) -> None:
        self.setGeometry(self.parentWidget().rect())
        self.setVisible(on)
        if on:
            self.raise_()


class Lessons(QObject):
    """The window's lesson: its scenes, the one on screen, the quiz. ``changed`` after any change."""

    changed = Signal()

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.lesson = None  # a core Lesson, made on the first capture or opening
        self.current = -1
        self.path: Path | None = None
        self.quiz = False  # scenes captured from now on are quizzes
        self.cover = AnswerCover(window.prediction, self.reveal_answer)
        self.covers = [self.cover, AnswerCover(window.comparison, self.reveal_answer)]  # six answers too
        self._shown: tuple[str, int] | None = None  # (weights key, id of the model made from them)
        self.dock: QDockWidget | None = None  # the Lesson dock (scene_list.py), set by the window
        self.counter = QLabel("")  # "Scene 3 of 9: ..." in the status bar, also in presentation mode
        self.counter.setObjectName("sceneCounter")
        self.counter.setToolTip("The lesson's scene on screen: Page Down / Page Up in presentation mode step through")
        self.counter.hide()
        window.statusBar().addPermanentWidget(self.counter)
        self.changed.connect(self._show_counter)

    def _show_counter(self) -> None:
        self.counter.setText(f"<b>{self.position_text()}</b>")
        self.counter.setVisible(bool(self.scenes))

    # -- the list -----------------------------------------------------------------------
    @property
    def scenes(self) -> list:
        return [] if self.lesson is None else self.lesson.scenes

    def position_text(self) -> str:
        """ "Scene 3 of 9: name", or "" without scenes."""
        if not self.scenes:
            return ""
        if self.current < 0:
            return f"{len(self.scenes)} scenes"
        return f"Scene {self.current + 1} of {len(self.scenes)}: {self.scenes[self.current].name}"

    def rename(self, index: int, name: str) -> None:
        if 0 <= index < len(self.scenes) and name.strip():
            self.scenes[index].name = name.strip()[:200]
            self.changed.emit()

    def move(self, index: int, to: int) -> None:
        """Move scene ``index`` to position ``to`` (the list's drag and its Up/Down buttons)."""
        scenes = self.scenes
        if not (0 <= index < len(scenes) and 0 <= to < len(scenes)) or index == to:
            return
        current = scenes[self.current] if 0 <= self.current < len(scenes) else None
        scenes.insert(to, scenes.pop(index))
        self.current = scenes.index(current) if current is not None else -1
        self.changed.emit()

    def remove(self, index: int) -> None:
        if 0 <= index < len(self.scenes):
            del self.scenes[index]
            self.current = min(self.current, len(self.scenes) - 1) if self.current != index else -1
            self.changed.emit()

    # -- capture ------------------------------------------------------------------------
    def show_dock(self) -> None:
        """The Lesson dock comes forward once there is a lesson (it is hidden until then)."""
        if self.dock is not None and not self.window.isFullScreen():
            self.dock.show()
            self.dock.raise_()

    def capture(self, name: str | None = None) -> bool:
        """Add what is on screen as a scene after the current one (F9)."""
        w, lesson_mod = self.window, _lesson_module()
        session = w.session
        if session is None or session.training:
            w.statusBar().showMessage("A scene can be captured once the network is loaded and not training.", 6000)
            return False
        if self.lesson is None:
            self.lesson = lesson_mod.Lesson()
            self.show_dock()
        lesson = self.lesson
        metadata = dict(session.metadata)
        if session.edited_kernels():  # hand-edited weights: the recorded accuracy is not theirs
            metadata.pop("test_accuracy", None)
        key = lesson.add_weights(session.model_name, session.model.state_dict(), metadata)
        spec = session.spec
        if spec.source_sha256:  # the user's own network: the lesson names its file and content
            lesson.networks[session.model_name] = lesson_mod.NetworkFile(str(spec.source_path), spec.source_sha256)
        drawing = [{"stroke": [list(p) for p in item]} if isinstance(item, list) else {"picture": lesson.add_picture(item)}
                   for item in w.canvas.drawing_items()]  # fmt: skip
        result, test_input = session.result, None
        if result.image is not None and result.transform is None and result.true_label is not None:
            test_input = lesson.add_picture(result.image.astype("float32"))  # a test image, fed unchanged
        workspace = w.current_workspace() if hasattr(w, "current_workspace") else None
        scene = lesson_mod.Scene(
            name=name or f"Scene {len(lesson.scenes) + 1}: {spec.display_name}",
            model=session.model_name, dataset=session.dataset, weights=key, drawing=drawing,
            test_input=test_input, true_label=result.true_label if test_input else None,
            unit=w.state.selected_unit, attribution_method=w.attribution.method.currentData(),
            attribution_class=w.attribution.target.currentData(), workspace=workspace,
            # TODO(workspaces): once every main window has workspaces, the workspace alone says this.
            docks=[d.objectName() for d in w.findChildren(QDockWidget) if is_on_screen(d) and d is not self.dock],
            page=w.docks.focus_index, quiz=self.quiz,
        )  # fmt: skip
        self.current = min(self.current + 1, len(lesson.scenes)) if self.current >= 0 else len(lesson.scenes)
        lesson.scenes.insert(self.current, scene)
        self._shown = (key, id(session.model))
        w.statusBar().showMessage(f"Captured {self.position_text()}.", 4000)
        self.changed.emit()
        return True

    # -- showing a scene ----------------------------------------------------------------
    def step(self, delta: int) -> bool:
        """The next (or previous) scene; False without a lesson (Page Down then moves between panels)."""
        if not self.scenes:
            return False
        target = max(0, min(len(self.scenes) - 1, self.current + delta)) if self.current >= 0 else 0
        if target == self.current:
            self.window.statusBar().showMessage("The last scene." if delta > 0 else "The first scene.", 3000)
            return True
        self.show_scene(target)
        return True

    def show_scene(self, index: int) -> bool:
        """Put scene ``index`` on screen: network and weights, drawing, unit, attribution, panels, page."""
        w, lesson_mod = self.window, _lesson_module()
        session = w.session
        if session is None or session.training or not 0 <= index < len(self.scenes):
            return False
        scene = self.scenes[index]
        if self._shown != (scene.weights, id(session.model)) or (session.model_name, session.dataset) != (
            scene.model,
            scene.dataset,
        ):
            from cnnviz.core.session.session import NetworkState

            if not w.confirm_discard("showing another scene"):  # a network trained since: Save / Discard / Cancel
                return False

            try:
                model = lesson_mod.model_for(self.lesson, scene.weights)
            except Exception as exc:
                w.show_error("Could not show the scene", describe_error(exc))
                return False
            metadata = dict(self.lesson.weights[scene.weights].metadata)
            where = self.path.name if self.path else "this lesson"
            session.restore(NetworkState(scene.model, scene.dataset, model, metadata, "file", f"lesson {where}"))
            self._shown = (scene.weights, id(session.model))
        self._show_drawing(scene)
        attribution = w.attribution
        attribution.method.setCurrentIndex(max(0, attribution.method.findData(scene.attribution_method)))
        attribution.target.setCurrentIndex(max(0, attribution.target.findData(scene.attribution_class)))
        if scene.unit is not None:
            w.state.select_unit(*scene.unit)
        elif w.state.selected_unit is not None:  # no unit in this scene: none from the last one either
            w.state.selected_unit = None
            w.state.explain_selected_unit()  # announces "nothing explained": the inspector and outlines clear
        if scene.workspace and hasattr(w, "show_workspace"):
            w.show_workspace(scene.workspace)
        self._show_panels(scene)
        self.current = index
        self._cover(scene.quiz)
        w.statusBar().showMessage(self.position_text(), 4000)
        self.changed.emit()
        return True

    def _show_panels(self, scene) -> None:
        """The scene's panels in front (after the unit: its selection brings the inspector forward)."""
        w = self.window
        if w.docks.presentation and w.docks.compact:  # a projector shows one panel: the scene's
            focus = [d.objectName() for d in w.docks.focus_docks()]
            shown = [focus.index(name) for name in scene.docks if name in focus]
            w.docks.show_focus_panel(shown[0] if shown else scene.page)
            return
        for name in scene.docks:
            dock = w.findChild(QDockWidget, name)
            if dock is not None and not dock.isFloating():
                dock.show()
                dock.raise_()
        w.docks.focus_index = scene.page

    def on_presentation(self, on: bool) -> None:
        """Presentation mode shows the scenes, not their list (leaving it restores the layout from before)."""
        if on and self.dock is not None and not self.dock.isFloating():
            QTimer.singleShot(0, self.dock, self.dock.hide)

    def _show_drawing(self, scene) -> None:
        w, pictures = self.window, self.lesson.pictures
        w.canvas.set_drawing_items([pictures[i["picture"]] if "picture" in i else i["stroke"] for i in scene.drawing])
        if scene.test_input is not None:
            w.state.set_test_image(pictures[scene.test_input], scene.true_label)  # after the canvas's: this wins
            if scene.true_label is not None:
                names = w.session.class_names
                label = names[scene.true_label] if 0 <= scene.true_label < len(names) else str(scene.true_label)
                w.canvas_panel.set_true_label(f"Test image · true label: <b>{label}</b>")

    # -- the quiz -----------------------------------------------------------------------
    def set_quiz(self, on: bool) -> None:
        """Quiz on: the answer is hidden now and in the scenes captured from now on, until F8 reveals it."""
        self.quiz = bool(on)
        self._cover(self.quiz)
        self.changed.emit()

    def reveal_answer(self) -> None:
        self._cover(False)

    def answer_hidden(self) -> bool:
        return self.cover.isVisibleTo(self.window.prediction)

    def _cover(self, on: bool) -> None:
        for cover in self.covers:
            cover.cover(on)

    # -- files --------------------------------------------------------------------------
    def save(self, path: str | Path | None = None) -> bool:
        w = self.window
        if not self.scenes:
            w.show_error("Nothing to save", "The lesson has no scenes yet: press F9 to capture what is on screen.")
            return False
        if path is None:
            start = self.path or Path(str(w.settings.value("lessonDir", str(Path.home())))) / "lesson.cnnlesson"
            path, _ = QFileDialog.getSaveFileName(w, "Save lesson", str(start), LESSON_FILTER.split(";;")[0])
            if not path:
                return False
        path = Path(path)
        if path.suffix != ".cnnlesson":
            path = path.with_name(path.name + ".cnnlesson")
        try:
            _lesson_module().save_lesson(path, self.lesson)
        except Exception as exc:
            w.show_error("Could not save the lesson", f"Could not save to '{path}': {describe_error(exc)}")
            return False
        self.path = path
        w.settings.setValue("lessonDir", str(path.parent))
        w.statusBar().showMessage(f"Saved the lesson ({len(self.scenes)} scenes) to {path}.", 6000)
        return True

    def open(self, path: str | Path | None = None) -> bool:
        """Read a lesson and show its first scene; a lesson running the user's own network asks first."""
        w = self.window
        if w.session is None or w.session.training or not w.confirm_discard("opening a lesson"):
            return False
        if path is None:
            start = str(w.settings.value("lessonDir", str(Path.home())))
            path, _ = QFileDialog.getOpenFileName(w, "Open lesson", start, LESSON_FILTER)
            if not path:
                return False
        path, lesson_mod = Path(path), _lesson_module()
        try:
            lesson = lesson_mod.load_lesson(path)
            for model in lesson.user_networks():
                if not self._open_user_network(lesson, model):
                    return False
        except Exception as exc:
            w.show_error("Could not open the lesson", describe_error(exc))
            return False
        self.lesson, self.path, self.current, self._shown = lesson, path, -1, None
        self.show_dock()
        w.settings.setValue("lessonDir", str(path.parent))
        self.changed.emit()
        return self.show_scene(0)

    def _open_user_network(self, lesson, model: str) -> bool:
        """Run the user's network file the lesson names, if unchanged (SHA-256) and the user agrees."""
        from cnnviz.core.models.user_model import load_user_model

        file = _lesson_module().check_network_file(lesson, model)
        answer = self.window.ask(
            "Run your network file?",
            f"This lesson uses your network {model.split(':')[-1]} from {file}; opening it runs that file's code.",
            ["Run it", "Cancel"],
        )
        if answer != "Run it":
            return False
        spec = load_user_model(f"{file}:{model.split(':')[-1]}")
        if spec.source_sha256 != lesson.networks[model].sha256 or spec.name != model:
            raise _lesson_module().LessonError(f"Your network file {file.name} changed while it was opened.")
        return True
