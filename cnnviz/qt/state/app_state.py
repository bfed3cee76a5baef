"""The Qt face of the app's one owner: ``ModelSession``'s events as signals, and the drawing pipeline.

``AppState`` holds the ``ModelSession`` (the owner, in the Qt-free core) once
it is loaded, turns its events into Qt signals, and turns canvas drawings into
one coalesced inference per event-loop turn (the newest drawing wins; nothing
queues behind the model). Every panel connects to the signals of what it shows
and reads ``state.session``; no panel calls another, nor the window::

    canvas --drawingChanged--> AppState.set_drawing --(coalesced)--> session.show_input --> resultReady
        --(after the answer is painted, at most every EXPLAIN_INTERVAL_MS, newest wins)--> resultExplainable
    training worker --weights--> session.show_live_weights --> weightsChanged --> (re-infer) --> resultReady
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from cnnviz.core.data.preprocess import prepare_drawing, too_small_note  # torch-free
from cnnviz.qt.state import workers
from cnnviz.qt.state.display_pacer import DisplayPacer
from cnnviz.qt.state.first_answers import FirstAnswers
from cnnviz.qt.state.lazy import core
from cnnviz.qt.state.session_builder import build_session

DRAW_BUDGET_S = 0.1  # a forward slower than this runs off the GUI thread, so drawing never freezes
LOAD_AFTER_MS = 300  # a network loading in the background while LeNet-5 answers in numpy waits this long
# Explanations (Grad-CAM, the unit inspector) follow the drawing at most this often, after the answer:
# a stroke pays for the prediction and the maps; the heat and the inspector catch up a frame later.
EXPLAIN_INTERVAL_MS = 33
# ... and a pen that keeps the GUI thread busy with answers (a slow machine, a fast stroke) still sees them
# at least this often: they never wait longer than this for a pause in the drawing.
EXPLAIN_AT_LATEST_MS = 100


class AppState(QObject):
    """Signals of the app's state; see the module docstring.

    Signals
    -------
    heatChanged(object, object) a heat picture (RGBA) for the model input and one for the canvas, or None, None
    classPicked(int)        the student picked a class to explain (e.g. clicked its bar)
    closing()               the window closes: background workers stop now
    sessionReady()          the network is loaded: ``session`` is set
    loadFailed(object)      the network could not be loaded (the exception)
    networkChanged()        another network, dataset or weights file
    weightsChanged()        the same network's weights moved (live training)
    resultReady(object)     a ``DrawingResult`` for the current drawing
    resultExplainable(object) the newest ``DrawingResult`` again, once the answer is painted and no newer
                            drawing waits, at most every ``EXPLAIN_INTERVAL_MS``: for what explains it
    trainingStarted()
    trainingFinished(object) a ``RunEnd`` (its message says what happened to the weights)
    accuracyChanged()       the test accuracy of the weights on screen is known anew (an evaluation)
    statusMessage(str, int) a line for the status bar and how long to show it (ms)
    unitSelected(object)    the unit to inspect: (stage, channel, y, x), or None
    unitExplained(object)   ``explain_selected_unit``'s answer: a ``UnitExplanation.as_dict()``, or None
    stageSelected(str)      a stage to show in the feature-maps panel (a click in the diagram)
    pictureOffered(object)  a 28x28 picture a panel puts on the canvas (Fool it's adversarial example)
    """

    heatChanged = Signal(object, object)
    classPicked = Signal(int)
    closing = Signal()
    sessionReady = Signal()
    loadFailed = Signal(object)
    networkChanged = Signal()
    weightsChanged = Signal()
    resultReady = Signal(object)
    resultExplainable = Signal(object)
    trainingStarted = Signal()
    trainingFinished = Signal(object)
    accuracyChanged = Signal()
    statusMessage = Signal(str, int)
    unitSelected = Signal(object)
    unitExplained = Signal(object)
    stageSelected = Signal(str)
    pictureOffered = Signal(object)

    def __init__(
        self, data_dir: str | Path | None = None, parent: QObject | None = None, preload: tuple[str, ...] = ()
    ) -> None:
        super().__init__(parent)
        # Qt-free modules the loader thread imports, so the GUI thread never waits for them. Never a Qt module
        # (pyqtgraph, superqt): PySide sets its types up lazily, not thread-safely, and a Qt module imported
        # in another thread while the window painted crashed one start in three on a busy machine.
        if any(not m.startswith("cnnviz.core") for m in preload):
            raise ValueError(f"only cnnviz.core modules can be imported off the GUI thread, not {preload}")
        self.preload = preload
        self.session = None
        self._data_dir: Path | None = Path(data_dir) if data_dir else None  # until the session holds it
        self.device_text = "…"
        self.load_error: str | None = None
        self.inference_count = 0
        self._pending_drawing: np.ndarray | None = None
        self._pending_image: tuple[np.ndarray, int | None] | None = None
        self.loader: workers.Job | None = None  # the background load, while it runs
        self._load_wanted: tuple[str, str] | None = None  # (model, dataset) whose load starts soon
        self._infer_timer = QTimer(self)
        self._infer_timer.setSingleShot(True)
        self._infer_timer.setInterval(0)
        self._infer_timer.timeout.connect(self._run_inference)
        self._explain_timer = QTimer(self)
        self._explain_timer.setSingleShot(True)
        self._explain_timer.timeout.connect(self._explain)
        self._explained_at = float("-inf")  # when the last explanation was asked for
        self._explain_wanted_at = 0.0  # when the waiting explanation's first answer came
        # Clear from a new drawing until its answer is painted: background work (the six networks) waits on
        # it between stages, so the drawing gets the cores and the GIL (``wait_for_drawing``).
        self.drawing_answered = threading.Event()
        self.drawing_answered.set()
        self._painted_timer = QTimer(self)
        self._painted_timer.setSingleShot(True)
        self._painted_timer.setInterval(0)  # a timer fires after the paints the result's panels posted
        self._painted_timer.timeout.connect(self._on_answer_painted)
        # The explanation panels' displays, one per painted answer while the pen moves (display_pacer).
        self.displays = DisplayPacer(self, drawing_waits=self._infer_timer.isActive)
        self.first_answers = FirstAnswers(self)  # the drawing's answers while torch loads (LeNet-5 only)
        self._slow_forward = None  # a NewestWins runner, made for the first network slower than DRAW_BUDGET_S
        self.selected_unit: tuple[str, int, int, int] | None = None
        self.unit_explanation: dict | None = None
        self.unit_error: str | None = None  # why the selected unit could not be explained
        self._unit_runner = None  # a NewestWins for the explanations strokes ask for, made at the first
        self._unit_model = None  # its copy of the network; None: make anew (the network or weights changed)
        self._unit_request = 0
        self.offer_data = None  # (dataset, then): the window's question, Download or Choose folder (DataFolder)
        self._background = None  # the explanations' child process, started by the first job that needs it
        self._background_lock = threading.Lock()

    # -- loading ------------------------------------------------------------------------
    def load(self, model: str, dataset: str, *, in_background: bool) -> None:
        """Build the session for ``model``/``dataset`` (a zoo name or ``PATH.py:NAME``)."""
        if not in_background:
            self._on_loaded(self._build_session(model, dataset))
            return

        self._load_wanted = (model, dataset)
        # While LeNet-5 answers in numpy, the load (superqt's and torch's imports: ~2 s of a core and the GIL)
        # starts LOAD_AFTER_MS after the event loop does: the window opened and a drawing drawn at once was
        # answered ~0.6 s sooner, the network as soon as before (``cnnviz bench --app``'s cold start, issue 23).
        delay = LOAD_AFTER_MS if self.first_answers.expect(model, dataset) else 0
        QTimer.singleShot(0, self, lambda: QTimer.singleShot(delay, self, self._start_load))

    def _start_load(self) -> None:
        if self._load_wanted is None:  # the window closed meanwhile, or a newer load's timer started it
            return
        (model, dataset), self._load_wanted = self._load_wanted, None
        job = workers.start(lambda _progress: self._build_session(model, dataset), name="load-model", parent=self)
        job.returned.connect(self._on_loaded)
        job.failed.connect(lambda _text: self._on_loaded(job.error))  # the window words it (describe_error)
        self.loader = job

    def _build_session(self, model: str, dataset: str) -> dict:
        """The session for ``model``/``dataset`` (``build_session``). Touches no widget: may run in any thread."""
        return build_session(model, dataset, self._data_dir, self.preload)

    def _on_loaded(self, result) -> None:
        self.loader = None
        if isinstance(result, BaseException):
            self.loadFailed.emit(result)
            return
        # One torch thread for drawing, in this (the GUI) thread only: a training
        # thread still uses every core (see cnnviz.core.training.device.set_cpu_threads).
        core().set_cpu_threads(1)
        self.device_text = result["device"]
        self.attach(result["session"])
        for note in result["notes"]:
            self.statusMessage.emit(note, 15000)

    def attach(self, session) -> None:
        """Adopt a session: its events become this object's signals."""
        self.session = session
        ev = session.events
        subscriptions = [
            (ev.network_changed, self._on_network_changed), (ev.weights_changed, self._on_weights_changed),
            (ev.result_ready, self._on_result_ready), (ev.training_started, self._on_training_started),
            (ev.training_finished, self._on_training_finished), (ev.callback_failed, self._on_callback_failed),
            (ev.accuracy_changed, self._on_accuracy_changed),
        ]  # fmt: skip
        for event, callback in subscriptions:
            event.connect(callback)
        # The session may outlive the window (a test, a script), and a deleted Qt object's Python wrapper can
        # outlive it too (so the weak references alone would not drop these): unsubscribe when deleted.
        self.destroyed.connect(lambda: [event.disconnect(callback) for event, callback in subscriptions])
        self.sessionReady.emit()
        self._on_network_changed()

    @property
    def data_dir(self) -> Path | None:
        """The dataset folder: the session's (its one home) once it is loaded."""
        return self.session.data_dir if self.session is not None else self._data_dir

    @data_dir.setter
    def data_dir(self, folder) -> None:
        self._data_dir = Path(folder) if folder else None
        if self.session is not None:
            self.session.data_dir = self._data_dir

    def is_ready(self) -> bool:
        return self.session is not None

    def _on_network_changed(self) -> None:
        self._unit_model = None  # the unit worker's copy is of the old network
        self.networkChanged.emit()
        self.rerun()

    def _on_weights_changed(self) -> None:
        self._unit_model = None
        self.weightsChanged.emit()
        self.rerun()

    # Own methods, not the signals' ``emit``: the session holds bound methods weakly.
    def _on_training_started(self) -> None:
        self.trainingStarted.emit()

    def _on_training_finished(self, end) -> None:
        self.trainingFinished.emit(end)

    def _on_accuracy_changed(self) -> None:
        self.accuracyChanged.emit()

    def _on_callback_failed(self, failure) -> None:
        self.statusMessage.emit(failure.sentence(), 8000)  # logged with its traceback by the core

    def _on_result_ready(self, result) -> None:
        self.inference_count += 1
        if result.error:
            self.statusMessage.emit(f"The network could not run on this drawing ({result.error}).", 8000)
        self.resultReady.emit(result)
        if not self._infer_timer.isActive():  # no newer drawing waits
            self._painted_timer.start()
        if not self._explain_timer.isActive():
            self._explain_wanted_at = time.perf_counter()
            since_ms = (self._explain_wanted_at - self._explained_at) * 1000
            self._explain_timer.start(int(max(0.0, EXPLAIN_INTERVAL_MS - since_ms)))

    def _on_answer_painted(self) -> None:
        self.drawing_answered.set()
        self.displays.answer_painted()

    def _explain(self) -> None:
        """The newest result for what explains it: after the answer's paint (a timer runs after posted paints)."""
        if self.session is None:
            return
        waited_ms = (time.perf_counter() - self._explain_wanted_at) * 1000
        if self._infer_timer.isActive() and waited_ms < EXPLAIN_AT_LATEST_MS:  # a newer drawing's answer first
            self._explain_timer.start(0)
            return
        self._explained_at = time.perf_counter()
        self.resultExplainable.emit(self.session.result)

    # -- the drawing -------------------------------------------------------------------
    def set_drawing(self, drawing: np.ndarray) -> None:
        """A new canvas image (white ink on black): keep only the newest, answer it on the next loop turn."""
        self._pending_drawing, self._pending_image = drawing, None
        if self.session is not None:
            self.drawing_answered.clear()
        if not self._infer_timer.isActive():
            self._infer_timer.start()

    def set_test_image(self, image: np.ndarray, label: int | None) -> None:
        """A dataset image, fed to the network as it is (no crop and re-centre: that rule is for drawings)."""
        self._pending_drawing, self._pending_image = None, (np.asarray(image, np.float32), label)
        if not self._infer_timer.isActive():
            self._infer_timer.start()

    def run_in_background(self, task):
        """A ``ModelTask`` (``fn(model, *args)``) in the explanations' child process (``ModelProcess``), from a
        worker thread: it waits on a pipe, not on the GIL a stroke needs; any other task runs right here."""
        with self._background_lock:
            if self._background is None:
                from cnnviz.core.inspect.background_process import ModelProcess

                self._background = ModelProcess()
            background = self._background
        return background.run_task(task)

    def wait_for_drawing(self, limit_s: float = 0.02) -> None:
        """In a background thread: wait (at most ``limit_s``) until the newest drawing's answer is painted."""
        self.drawing_answered.wait(limit_s)

    def rerun(self) -> None:
        """Run the network again on the current input (new weights, new model)."""
        if not self._infer_timer.isActive():
            self._infer_timer.start()

    def inference_pending(self) -> bool:
        """True while a newer drawing (or weights) waits for the network, or its answer for its explanations."""
        slow = self._slow_forward is not None and self._slow_forward.busy()
        return self._infer_timer.isActive() or self._explain_timer.isActive() or slow or self.explaining()

    # -- overlays and picks, from one panel to the others -------------------------------
    def show_heat(self, input_rgba: np.ndarray | None, drawing_rgba: np.ndarray | None = None) -> None:
        """Lay heat pictures over the model input (28x28x4) and the drawing square (HxWx4); None clears."""
        self.heatChanged.emit(input_rgba, drawing_rgba)

    def offer_picture(self, image: np.ndarray) -> None:
        """A panel's 28x28 picture for the canvas (an adversarial example): the window puts it there."""
        self.pictureOffered.emit(np.array(image, np.float32))

    def pick_class(self, index: int) -> None:
        """The student picked a class (its bar in the prediction panel): panels that explain one follow."""
        self.classPicked.emit(int(index))

    def _run_inference(self) -> None:
        session = self.session
        if session is None:  # still loading: the newest drawing waits for the network, LeNet-5's numpy answers it
            self.first_answers.answer(self._pending_drawing)
            return
        drawing, self._pending_drawing = self._pending_drawing, None
        image, self._pending_image = self._pending_image, None
        show = session.show_input
        if getattr(session, "forward_seconds", 0.0) > DRAW_BUDGET_S:  # slow: off the GUI thread, newest wins
            show = self._show_off_thread
        if image is not None:
            show(image[0], None, image[1])
        elif drawing is not None:
            prepared = prepare_drawing(drawing, ink_is_dark=False)  # the canvas draws white ink on black
            if prepared is None:
                session.show_input(None)
            elif note := too_small_note(prepared, session.dataset):
                session.show_input(None, note=note)
            else:  # the transform lets a 28x28 map (a heat map, a receptive field) be drawn back on the canvas
                show(prepared.image, prepared.transform)
        else:
            r = session.result
            show(r.image, r.transform, r.true_label)

    def _show_off_thread(self, image, transform=None, true_label=None) -> None:
        """Run a slow network's forward in a background thread; a newer input replaces a waiting one."""
        if self._slow_forward is None:
            from cnnviz.qt.state.newest import NewestWins

            self._slow_forward = NewestWins("slow-forward", self)
            self._slow_forward.finished.connect(self._on_slow_forward)
        session = self.session
        self._slow_forward.submit(session, lambda progress: session.result_for(image, transform, true_label))

    def _on_slow_forward(self, session, result) -> None:
        if session is self.session:  # not a network replaced meanwhile
            session.publish(result)

    # -- what the student points at (unit inspector, architecture view) ------------------------
    def select_unit(self, stage: str, channel: int, y: int = 0, x: int = 0) -> None:
        """Inspect this unit from now on (a click on a feature map, an arrow key in the inspector)."""
        self.selected_unit = (str(stage), int(channel), int(y), int(x))
        self.unitSelected.emit(self.selected_unit)

    def explain_selected_unit(self) -> dict | None:
        """Explain the selected unit for the current input and announce it (``unitExplained``).

        Called by the inspector only while it is on screen, so a hidden inspector costs a stroke nothing.
        """
        data, self.unit_error = None, None
        self._unit_request += 1  # an explanation still running in the worker is older than this one
        if self.session is not None and self.selected_unit is not None:
            try:
                data = self.session.explain_unit(*self.selected_unit)
            except core().CnnvizError as exc:  # e.g. a new network without that stage
                self.unit_error = str(exc)
            except BaseException as exc:  # a user's network, SystemExit too: one sentence
                self.unit_error = f"This unit cannot be explained ({type(exc).__name__}: {exc})."
        self.unit_explanation = data
        self.displays.drop("unit")  # an older stroke's explanation waiting to be shown is not this one
        self.unitExplained.emit(data)
        return data

    def data_ready(self, dataset: str, then=None, ask: bool = True) -> bool:
        """True if ``dataset`` is in the data folder. Else, with ``ask`` and a window that set ``offer_data``,
        the window offers to download it or to choose its folder (``then()`` runs once it is there), and
        ``missing_data_text`` says it in one sentence for a panel's note."""
        from cnnviz.core.data.datasets import is_available

        if is_available(dataset, self.data_dir):
            return True
        if ask and self.offer_data is not None:
            self.offer_data(dataset, then)
        return False

    def missing_data_text(self, dataset: str) -> str:
        name = core().DATASETS[dataset].display_name
        return f"{name} is not in the data folder: download it or choose its folder (Edit > Preferences…)."

    def explain_selected_unit_later(self) -> None:
        """``explain_selected_unit`` in a worker on a copy of the network, the newest drawing winning: what a
        stroke asks for, so the GUI thread only shows the answer (on it, explaining added a few ms to every
        third stroke or so: the stroke's p95 in ``cnnviz bench --app``)."""
        if self.session is None or self.selected_unit is None:
            return
        from cnnviz.qt.state.newest import NewestWins

        if self._unit_runner is None:
            self._unit_runner = NewestWins("explain-unit", self, failure="This unit cannot be explained")
            self._unit_runner.finished.connect(self._on_unit_explained)
            self._unit_runner.failed.connect(self._on_unit_failed)
            self.closing.connect(self._unit_runner.stop)
        if self._unit_model is None:
            self._unit_model = self.session.model_copy()
        self._unit_request += 1
        explain = self.session.explain_unit_task(*self.selected_unit, model=self._unit_model)

        def job(_progress):
            self.wait_for_drawing()  # a stroke being answered first: it keeps the GIL
            try:
                return self.run_in_background(explain)  # in the explanations' child: off the GIL
            except core().CnnvizError:
                raise
            except BaseException as exc:  # a user's network, SystemExit too: one sentence
                raise core().CnnvizError(f"This unit cannot be explained ({type(exc).__name__}: {exc}).") from None

        self._unit_runner.submit(self._unit_request, job)

    def explaining(self) -> bool:
        """True while a unit's explanation for the newest drawing is being computed."""
        return self._unit_runner is not None and self._unit_runner.busy()

    def _on_unit_explained(self, tag: int, data) -> None:
        if tag == self._unit_request:
            self.unit_explanation, self.unit_error = data, None
            self.displays.show("unit", lambda: self.unitExplained.emit(data))  # after the stroke's answer

    def _on_unit_failed(self, tag: int, text: str) -> None:
        if tag == self._unit_request:
            self.unit_explanation, self.unit_error = None, text
            self.displays.show("unit", lambda: self.unitExplained.emit(None))

    def _forget_unit_model(self) -> None:
        self._unit_model = None

    def select_stage(self, name: str) -> None:
        """Show this stage in the feature-maps panel (a click on a box of the architecture view)."""
        self.stageSelected.emit(str(name))

    def edit_first_kernel(self, out_channel: int, in_channel: int, kernel: np.ndarray) -> bool:
        """Edit a first-layer kernel (the session announces the new weights); False, with a reason, if refused."""
        return self._kernel_command(lambda: self.session.edit_first_kernel(out_channel, in_channel, kernel))

    def reset_first_kernel(self, out_channel: int, in_channel: int = 0) -> bool:
        """Put a first-layer kernel's trained weights back; False, with a reason, if refused."""
        return self._kernel_command(lambda: self.session.reset_first_kernel(out_channel, in_channel))

    def _kernel_command(self, command) -> bool:
        if self.session is None:
            return False
        try:
            command()
        except core().CnnvizError as exc:
            self.statusMessage.emit(str(exc), 8000)
            return False
        return True

    def stop(self) -> None:
        """The window closes: background work stops now. A network still loading (maybe inside
        ``import torch``) is abandoned: it finishes on its own, its result dropped, and
        ``cnnviz.qt.app.launch`` waits for it before the interpreter exits."""
        self._infer_timer.stop()
        self._load_wanted = None
        if self.loader is not None:
            self.loader.abandon()
        self._explain_timer.stop()
        self._painted_timer.stop()
        self.drawing_answered.set()  # no worker waits for a window that closes
        if self._slow_forward is not None:  # a daemon thread: a forward stuck in user code is left behind
            self._slow_forward.stop(timeout=1.0)
        self.closing.emit()
        self.displays.clear()
        with self._background_lock:
            if self._background is not None:
                self._background.close()
