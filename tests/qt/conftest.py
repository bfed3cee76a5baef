"""Qt test fixtures: leak checks, an isolated main window, and drawing with real mouse events."""

from __future__ import annotations

import gc
import threading
import time

import pytest
import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, QSettings, Qt, QThread, QTimer
from PySide6.QtWidgets import QApplication

# Qt's own helper windows that come and go by themselves.
_TRANSIENT = {"QTipLabel"}
# Hidden menus and combo-box popups may outlive their window for a while: pyqtgraph
# keeps its context menus in Python reference cycles. Only shown ones count as leaks.
_POPUPS = (Qt.WindowType.Popup, Qt.WindowType.ToolTip)


def _address(obj) -> int:
    return shiboken6.getCppPointer(obj)[0]


def _is_event_type(kind: type) -> bool:
    """A core event (cnnviz.core.session.events) or a psygnal signal instance: both count subscribers with len()."""
    return (kind.__module__ == "cnnviz.core.session.events" and kind.__name__ == "Event") or (
        kind.__name__ == "SignalInstance" and kind.__module__.startswith("psygnal")
    )


# What each type found on the heap is (None: nothing we track): the scan below looks at every object
# after every test, and a dict lookup per object is several times cheaper than asking each type anew.
_KINDS: dict[type, str | None] = {}
_FULLY_COLLECTED = False  # the first test in a process collects fully; later ones, see the fixture


def _kind_of(kind: type) -> str | None:
    if issubclass(kind, QThread):
        return "thread"
    if issubclass(kind, QTimer):
        return "timer"
    return "event" if _is_event_type(kind) else None


def _live_objects() -> tuple[list[QThread], list[QTimer], list]:
    """Running QThreads, active QTimers and the live events, in one pass over the heap."""
    main = QCoreApplication.instance().thread()
    threads, timers, events = [], [], []
    kinds = _KINDS
    for obj in gc.get_objects():
        # type(), not isinstance(): the latter reads __class__, which wakes lazy torch attributes.
        kind = type(obj)
        try:
            found = kinds[kind]
        except KeyError:
            found = kinds[kind] = _kind_of(kind)
        if found is None:
            continue
        try:
            if found == "thread":
                if shiboken6.isValid(obj) and obj is not main and obj.isRunning():
                    threads.append(obj)
            elif found == "timer":
                if shiboken6.isValid(obj) and obj.isActive():
                    timers.append(obj)
            else:
                events.append(obj)
        except RuntimeError:  # deleted under our feet
            pass
    return threads, timers, events


def _owner_gone(callback) -> bool:
    """True if the callback is a method of a Qt object that has been deleted (a view that is gone).

    Only bound methods count: a test's own lambdas may outlive the widgets they mention.
    """
    owner = getattr(callback, "__self__", None)
    return isinstance(owner, shiboken6.Shiboken.Object) and not shiboken6.isValid(owner)


def _callbacks(event) -> list:
    """An event's live callbacks (the core's events hold bound methods weakly: ``_subscribers``)."""
    subscribers = getattr(event, "_subscribers", None)
    if subscribers is None:
        return list(getattr(event, "_callbacks", ()))
    return [cb for cb in (s.get() for s in list(subscribers)) if cb is not None]


def _dead_subscribers(events) -> list[tuple[object, object]]:
    """(event, callback) pairs whose callback's Qt object is deleted: it would run on a dead view.

    A weak reference does not help here: the Python wrapper of a deleted Qt object lives on."""
    return [(e, cb) for e in events for cb in _callbacks(e) if _owner_gone(cb)]


def _timer_name(timer: QTimer) -> str:
    parent = timer.parent()
    owner = f" of {type(parent).__name__}" if parent is not None else " without a parent"
    return f"{timer.objectName() or 'QTimer'}{owner} ({timer.interval()} ms)"


@pytest.fixture(autouse=True)
def no_leaked_windows_or_threads(qapp):
    """Fail a test that leaves a top-level window alive, a thread running, a QTimer ticking or an event subscriber.

    pytest-qt closes and schedules deletion of widgets given to
    ``qtbot.addWidget`` before fixtures are torn down, so by now every window
    a test made properly is gone, and with it its timers; and no session event
    still calls a method of a deleted view (an event that outlives the test is
    fine: pytest itself holds fixture values until the end).
    """
    global _FULLY_COLLECTED
    windows_before = {_address(w) for w in QApplication.topLevelWidgets()}
    threads_before = set(threading.enumerate())
    # A full collection takes a tenth of a second on the heap torch makes: one at the first test, then
    # the young generations (garbage left uncollected only adds to what counts as there before).
    gc.collect(1 if _FULLY_COLLECTED else 2)
    _FULLY_COLLECTED = True
    _, timers, events = _live_objects()
    timers_before = {_address(t) for t in timers}
    dead_before = {(id(e), id(cb)) for e, cb in _dead_subscribers(events)}
    del timers, events
    yield
    deadline = time.monotonic() + 3.0
    generation = 1  # uncollected garbage can only add to what is found: collect fully only once something is
    while True:
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QApplication.processEvents()
        gc.collect(generation)  # pyqtgraph's menus live in reference cycles until collected
        generation = 2
        windows = [
            w
            for w in QApplication.topLevelWidgets()
            if _address(w) not in windows_before
            and type(w).__name__ not in _TRANSIENT
            and (w.isVisible() or w.windowType() not in _POPUPS)
        ]
        threads = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
        qthreads, timers, events = _live_objects()
        timers = [t for t in timers if _address(t) not in timers_before]
        subscribers = [(e, cb) for e, cb in _dead_subscribers(events) if (id(e), id(cb)) not in dead_before]
        del events
        if not (windows or threads or qthreads or timers or subscribers) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    problems = []
    if windows:
        problems.append(
            "top-level windows left alive: "
            + ", ".join(f"{type(w).__name__}({w.objectName()!r}, visible={w.isVisible()})" for w in windows)
        )
        for w in windows:  # do not let one leak fail the following tests too
            w.close()
            w.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    if threads:
        problems.append("Python threads still running: " + ", ".join(t.name for t in threads))
    if qthreads:
        problems.append("QThreads still running: " + ", ".join(t.objectName() or repr(t) for t in qthreads))
    if timers:
        problems.append("QTimers still active: " + ", ".join(_timer_name(t) for t in timers))
        for t in timers:  # do not let one leak fail the following tests too
            t.stop()
    if subscribers:
        problems.append(
            "event subscribers whose Qt object is deleted: "
            + ", ".join(f"{getattr(e, 'name', '?')} -> {getattr(cb, '__qualname__', cb)!r}" for e, cb in subscribers)
        )
        for e, cb in subscribers:
            e.disconnect(cb)
    if problems:
        pytest.fail("; ".join(problems))


@pytest.fixture
def settings(tmp_path) -> QSettings:
    """Settings in a throw-away ini file, never the user's."""
    return QSettings(str(tmp_path / "cnnviz-test.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    """The real main window (LeNet-5, MNIST), shown offscreen; error boxes are recorded, not shown."""
    from cnnviz.qt import MainWindow

    w = MainWindow(settings=settings)
    w.shown_errors = []
    # Questions are recorded and answered from w.answers (first in, first out), else by a default
    # that never opens a dialog: keep a stopped run's weights, discard, quit.
    w.asked, w.answers = [], []

    def ask(title, text, buttons):
        w.asked.append((title, text, buttons))
        if w.answers:
            return w.answers.pop(0)
        return next((b for b in ("Keep", "Discard", "Quit") if b in buttons), buttons[-1])

    w.ask = ask
    w.show_error = lambda title, text: w.shown_errors.append((title, text))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    # The newest drawing is answered, and its live heat map (computed in a worker) is in.
    w.settle = lambda: qtbot.waitUntil(
        lambda: not w.state.inference_pending() and not w.attribution.busy() and not w.state.displays.pending()
    )
    qtbot.waitUntil(lambda: w.state.inference_count >= 1)  # the first (empty) inference has run
    return w


def canvas_point(canvas, u: float, v: float) -> QPoint:
    """Widget position of (u, v) in 0..1 of the canvas's square drawing area, in whole pixels for mouse events."""
    return canvas.widget_point(u, v).toPoint()


@pytest.fixture
def draw(qtbot):
    """``draw(canvas, [(u, v), ...])``: one stroke with real press/move/release mouse events."""

    def stroke(canvas, points, settle=None):
        first = canvas_point(canvas, *points[0])
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=first)
        for u, v in points[1:]:
            qtbot.mouseMove(canvas, canvas_point(canvas, u, v))
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(canvas, *points[-1]))
        if settle is not None:
            qtbot.waitUntil(settle)

    return stroke


def line(a, b, n=20):
    """n + 1 points from a to b, both (u, v)."""
    return [(a[0] + (b[0] - a[0]) * i / n, a[1] + (b[1] - a[1]) * i / n) for i in range(n + 1)]


@pytest.fixture
def make_line():
    return line


@pytest.fixture
def held_loader(monkeypatch):
    """The network's loader waits until the fixture's value is called: the window is up, torch "still loading"."""
    gate = threading.Event()
    from cnnviz.qt.state.app_state import AppState

    build = AppState._build_session

    def slow_build(self, model, dataset):
        assert threading.current_thread() is not threading.main_thread()  # the loader, never the GUI thread
        gate.wait(30)
        return build(self, model, dataset)

    monkeypatch.setattr(AppState, "_build_session", slow_build)
    yield gate.set
    gate.set()
