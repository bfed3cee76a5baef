"""The autouse leak check (tests/qt/conftest.py) catches a ticking QTimer and a dead view's event subscription."""

import gc
import importlib.util
import shutil
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, QTimer

from cnnviz.core import ModelSession

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location("qt_conftest", HERE / "conftest.py")
qt_conftest = importlib.util.module_from_spec(_spec)  # the fixture's helpers, called as the fixture calls them
_spec.loader.exec_module(qt_conftest)


def test_an_active_parentless_timer_is_found_and_a_stopped_one_is_not(qapp):
    timer = QTimer()
    timer.start(60_000)
    try:
        _, timers, _ = qt_conftest._live_objects()
        assert any(t is timer for t in timers)
    finally:
        timer.stop()
    _, timers, _ = qt_conftest._live_objects()
    assert not any(t is timer for t in timers)


def test_a_deleted_views_method_left_on_a_session_event_is_found(qapp):
    class View(QObject):
        def refresh(self):
            pass

    session = ModelSession()
    view = View()
    session.events.network_changed.connect(view.refresh)
    gc.collect()
    assert qt_conftest._dead_subscribers(qt_conftest._live_objects()[2]) == []  # alive: fine
    shiboken6.delete(view)
    dead = qt_conftest._dead_subscribers(qt_conftest._live_objects()[2])
    assert [(e.name, cb.__name__) for e, cb in dead] == [("network_changed", "refresh")]
    session.events.network_changed.disconnect(dead[0][1])
    assert qt_conftest._dead_subscribers(qt_conftest._live_objects()[2]) == []


def test_the_fixture_fails_tests_that_leak(pytester):
    """Leaking tests, run in a child pytest with this folder's conftest, fail and name the leak."""
    shutil.copy(HERE / "conftest.py", pytester.path / "conftest.py")
    pytester.makepyfile(
        test_leaky="""
import shiboken6
from PySide6.QtCore import QObject, QTimer
from cnnviz.core import ModelSession

LEAKS = []
SESSION = ModelSession()

class View(QObject):
    def refresh(self):
        pass

def test_leaves_a_timer_ticking(qapp):
    timer = QTimer()
    timer.start(60_000)
    LEAKS.append(timer)

def test_leaves_a_deleted_view_subscribed(qapp):
    view = View()
    SESSION.events.network_changed.connect(view.refresh)
    shiboken6.delete(view)
    LEAKS.append(view)

def test_tidy(qapp):
    timer = QTimer()
    timer.start(60_000)
    timer.stop()
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines_random(
        [
            "*Failed: QTimers still active: QTimer without a parent (60000 ms)*",
            "*Failed: event subscribers whose Qt object is deleted: network_changed -> 'View.refresh'*",
        ]
    )
