"""workers.start: results on the GUI thread, progress, cancel, pause, one error path, deleted receivers."""

from __future__ import annotations

import threading
import warnings

import pytest
from PySide6.QtCore import QObject

from cnnviz.qt.state import workers


def _record(job) -> list:
    events = []
    job.progressed.connect(lambda v: events.append(("progress", v)))
    job.returned.connect(
        lambda v: events.append(("returned", v, threading.current_thread() is threading.main_thread()))
    )
    job.failed.connect(lambda text: events.append(("failed", text)))
    job.cancelled.connect(lambda: events.append(("cancelled",)))
    job.paused.connect(lambda: events.append(("paused",)))
    job.resumed.connect(lambda: events.append(("resumed",)))
    job.finished.connect(lambda: events.append(("finished",)))
    return events


def test_a_function_job_reports_progress_and_returns_on_the_gui_thread(qtbot):
    owner = QObject()

    def work(progress):
        progress((1, 2))
        progress((2, 2))
        return threading.current_thread().name

    job = workers.start(work, name="unit-test", parent=owner)
    events = _record(job)
    qtbot.waitUntil(lambda: ("finished",) in events)
    assert events == [("progress", (1, 2)), ("progress", (2, 2)), ("returned", "cnnviz-unit-test", True), ("finished",)]
    qtbot.waitUntil(lambda: workers.active() == [])


def test_a_generator_job_yields_progress_and_its_return_value(qtbot):
    owner = QObject()

    def work(progress):
        yield from range(3)
        return "done"

    events = _record(workers.start(work, name="unit-test", parent=owner))
    qtbot.waitUntil(lambda: ("finished",) in events)
    assert events == [("progress", 0), ("progress", 1), ("progress", 2), ("returned", "done", True), ("finished",)]


@pytest.mark.parametrize("exc", [ZeroDivisionError("division by zero"), SystemExit(3), KeyboardInterrupt()])
def test_anything_a_job_raises_is_one_sentence_and_the_app_goes_on(qtbot, exc):
    owner = QObject()

    def work(progress):
        raise exc

    job = workers.start(work, name="unit-test", parent=owner, failure="The network could not run")
    events = _record(job)
    qtbot.waitUntil(lambda: ("finished",) in events)
    ((kind, text), end) = events
    assert kind == "failed" and end == ("finished",) and job.error is exc
    assert text.startswith("The network could not run (" + type(exc).__name__) and text.endswith(").")


def test_a_core_error_says_its_own_sentence(qtbot):
    from cnnviz.core.errors import CnnvizError

    owner = QObject()
    job = workers.start(lambda progress: (_ for _ in ()).throw(CnnvizError("No such file.")), name="t", parent=owner)
    events = _record(job)
    qtbot.waitUntil(lambda: ("finished",) in events)
    assert events[0] == ("failed", "No such file.")


def test_a_generator_raising_runtime_error_fails_instead_of_vanishing(qtbot):
    owner = QObject()  # superqt's own loop takes a RuntimeError for a deleted worker and ends silently

    def work(progress):
        yield 1
        raise RuntimeError("element 0 of tensors does not require grad")

    events = _record(workers.start(work, name="unit-test", parent=owner))
    qtbot.waitUntil(lambda: ("finished",) in events)
    assert ("failed", "Something went wrong (RuntimeError: element 0 of tensors does not require grad).") in events


@pytest.mark.parametrize("kind", ["function", "generator"])
def test_cancel_stops_a_job_and_a_generator_cleans_up_in_its_own_thread(qtbot, kind):
    owner = QObject()
    started, cleaned_in = threading.Event(), []

    def function_job(progress):
        started.set()
        while True:
            progress(0.5)
            threading.Event().wait(0.005)

    def generator_job(progress):
        started.set()
        try:
            while True:
                threading.Event().wait(0.005)
                yield 0.5
        finally:
            cleaned_in.append(threading.current_thread().name)

    job = workers.start(function_job if kind == "function" else generator_job, name="unit-test", parent=owner)
    events = _record(job)
    assert started.wait(30)
    job.cancel()
    qtbot.waitUntil(lambda: ("finished",) in events)
    assert events[-2:] == [("cancelled",), ("finished",)] and not any(e[0] == "returned" for e in events)
    assert cleaned_in == ([] if kind == "function" else ["cnnviz-unit-test"])


@pytest.mark.parametrize("kind", ["function", "generator"])
def test_pause_holds_a_job_until_resume(qtbot, kind):
    owner = QObject()
    steps, gate = [], threading.Event()

    def function_job(progress):
        gate.wait(30)
        for i in range(200):
            steps.append(i)
            progress(i)
        return len(steps)

    def generator_job(progress):
        gate.wait(30)
        for i in range(200):
            steps.append(i)
            yield i
        return len(steps)

    job = workers.start(function_job if kind == "function" else generator_job, name="unit-test", parent=owner)
    job.pause()  # asked before the job reports anything: it holds at its first report
    events = _record(job)
    gate.set()
    qtbot.waitUntil(lambda: ("paused",) in events)
    held = len(steps)
    qtbot.wait(100)
    assert len(steps) == held < 200 and job.is_running()
    job.resume()
    qtbot.waitUntil(lambda: ("finished",) in events)
    assert ("resumed",) in events and ("returned", 200, True) in events


@pytest.mark.parametrize("kind", ["function", "generator"])
def test_a_resume_before_the_pause_lands_wins(qtbot, kind):
    """The user's last word wins: pause then resume before the job's next report never holds it."""
    owner, gate = QObject(), threading.Event()

    def function_job(progress):
        gate.wait(30)
        for i in range(50):
            progress(i)
        return "done"

    def generator_job(progress):
        gate.wait(30)
        yield from range(50)
        return "done"

    job = workers.start(function_job if kind == "function" else generator_job, name="unit-test", parent=owner)
    job.pause()
    assert job.is_paused
    job.resume()  # before the job made a single report
    assert not job.is_paused
    events = _record(job)
    gate.set()
    qtbot.waitUntil(lambda: ("finished",) in events)
    assert ("paused",) not in events and ("returned", "done", True) in events


def test_cancel_wakes_a_paused_job(qtbot):
    owner, gate = QObject(), threading.Event()

    def work(progress):  # holds at the gate, so the pause lands while it still has reports to make
        gate.wait(30)
        return [progress(i) for i in range(100)]

    job = workers.start(work, name="unit-test", parent=owner)
    job.pause()
    events = _record(job)
    gate.set()
    qtbot.waitUntil(lambda: ("paused",) in events)
    job.cancel()
    qtbot.waitUntil(lambda: ("finished",) in events)
    assert ("cancelled",) in events and ("resumed",) not in events  # it stopped where it was held


def test_an_error_after_cancel_counts_as_cancelled(qtbot):
    owner, started, gate = QObject(), threading.Event(), threading.Event()

    def wrapped(progress):  # a library that turns our Cancelled into an error of its own
        started.set()
        gate.wait(30)
        try:
            progress(0.5)
        except workers.Cancelled as exc:
            raise ValueError("interrupted") from exc

    job = workers.start(wrapped, name="unit-test", parent=owner)
    events = _record(job)
    assert started.wait(30)
    job.cancel()
    gate.set()
    qtbot.waitUntil(lambda: ("finished",) in events)
    assert events == [("cancelled",), ("finished",)]


def test_a_deleted_receiver_gets_nothing_and_nothing_breaks(qtbot):
    owner = QObject()
    gate = threading.Event()
    job = workers.start(lambda progress: gate.wait(30) and "late", name="unit-test", parent=owner)
    events = _record(job)
    assert workers.active() == ["unit-test"]  # what a test checks for leaks
    owner.deleteLater()  # e.g. the window closed and its panels went
    qtbot.waitUntil(lambda: not _valid(owner))
    gate.set()
    assert job.wait(30)  # the Python side of a deleted job still answers
    qtbot.wait(50)
    assert events == [] and workers.active() == []


def test_abandon_drops_everything_still_on_its_way(qtbot):
    owner = QObject()
    started, gate = threading.Event(), threading.Event()
    job = workers.start(lambda progress: started.set() or gate.wait(30) and "late", name="unit-test", parent=owner)
    events = _record(job)
    assert started.wait(30)
    job.abandon()
    gate.set()
    assert job.wait(30)
    qtbot.wait(50)
    assert events == []


@pytest.mark.parametrize("ends", ["yields", "raises", "returns"])
def test_a_job_that_outlives_its_signals_object_ends_without_a_traceback(qtbot, monkeypatch, ends):
    # A job whose worker's signals object is deleted under it (as when a training abandoned at closing is
    # still in its batch while the interpreter tears the app down) must end quietly: under load, the
    # close-while-training test in test_training_monitor once saw "Exception in thread training" and a traceback.
    import shiboken6

    escaped = []
    monkeypatch.setattr(threading, "excepthook", lambda args: escaped.append(args.exc_value))
    started, gate = threading.Event(), threading.Event()

    def job(_progress):
        started.set()
        gate.wait(30)
        if ends == "yields":
            yield "a report nobody can take"
        elif ends == "raises":
            raise ValueError("a failure nobody can hear")
        return "a result nobody can take"

    running = workers.start(job, name="unit-test", parent=None)
    assert started.wait(30)
    qtbot.waitUntil(lambda: running._worker is not None)
    signals = running._worker.signals
    shiboken6.delete(signals)  # what the teardown does to it
    assert not shiboken6.isValid(signals)
    gate.set()
    assert running.wait(30)
    assert escaped == []


def test_wait_for_all_waits_for_every_running_job(qtbot):
    owner, gate = QObject(), threading.Event()
    for _ in range(3):
        workers.start(lambda progress: gate.wait(30), name="unit-test", parent=owner)
    assert workers.active() == ["unit-test"] * 3
    assert not workers.wait_for_all(timeout=0.05)
    gate.set()
    assert workers.wait_for_all(timeout=30) and workers.active() == []


def test_jobs_at_once_leave_the_warnings_setup_alone(qtbot):
    owner, gate = QObject(), threading.Event()
    before = (warnings.showwarning, list(warnings.filters))
    jobs = [workers.start(lambda progress: gate.wait(30), name="unit-test", parent=owner) for _ in range(4)]
    gate.set()
    for job in jobs:
        job.wait(30)
    assert (warnings.showwarning, list(warnings.filters)) == before


def _valid(obj) -> bool:
    import shiboken6

    return shiboken6.isValid(obj)


def test_a_partial_of_a_generator_function_runs_as_a_generator_job(qtbot):
    import functools

    def counting(limit, progress):
        yield from range(limit)
        return "counted"

    owner = QObject()
    events = _record(workers.start(functools.partial(counting, 2), name="unit-test", parent=owner))
    qtbot.waitUntil(lambda: ("finished",) in events)
    assert events == [("progress", 0), ("progress", 1), ("returned", "counted", True), ("finished",)]


def test_closing_the_window_stops_or_abandons_every_job(qtbot, window, draw, monkeypatch, data_dir):
    """Evaluation, six networks, a slow attribution map and a test-set read all in flight at the close:
    the window stops and joins the first three, abandons the read (it may be a download), hears
    nothing more from any, and no thread is left behind."""
    from conftest import line

    import cnnviz.core
    from cnnviz.core.data import datasets

    def until_cancelled(progress):
        while True:  # a job that only ends when told to
            progress(0.5)
            threading.Event().wait(0.005)

    monkeypatch.setattr(cnnviz.core, "evaluate_copy", lambda *a, progress, **k: until_cancelled(
        lambda f: progress(5_000, 10_000)))  # fmt: skip
    monkeypatch.setattr(window.session, "attribution_task", lambda *a, **k: until_cancelled)
    read_gate = threading.Event()
    monkeypatch.setattr(datasets, "_SPLITS", {})
    real_read = datasets._read_split
    monkeypatch.setattr(datasets, "_read_split", lambda *a: read_gate.wait(30) and real_read(*a))
    window.data_dir = data_dir
    qtbot.waitUntil(lambda: window.monitor is not None, timeout=30_000)
    heard = []
    window.monitor.results.evaluationFinished.connect(heard.append)
    window.attribution.runner.cancelled.connect(heard.append)

    window.dock_comparison.show()
    window.dock_comparison.raise_()
    draw(window.canvas, line((0.5, 0.15), (0.5, 0.85)))
    window.settle()
    assert window.monitor.results.evaluate()
    window.dock_attribution.show()
    window.dock_attribution.raise_()
    window.attribution.enabled.setChecked(True)
    window.attribution.method.setCurrentIndex(window.attribution.method.findData("ig"))
    assert not window.show_random_test_image()  # reading the test set
    qtbot.waitUntil(lambda: {"evaluate", "attribution", "read-test-set"} <= set(workers.active()))

    window.close()
    assert workers.active() == ["read-test-set"]  # the others were stopped and joined
    assert not window.comparison.runner.busy() and not window.attribution.runner.busy()
    read_gate.set()
    assert workers.wait_for_all(timeout=30) and workers.active() == []
    qtbot.wait(100)
    assert heard == [] and window.shown_errors == [] and window.session.result.true_label is None


def test_the_window_starts_without_waiting_for_superqt():
    """superqt brings all its widgets (most of a second): a job's thread imports it, not the window's start."""
    import subprocess
    import sys

    code = (
        "import sys, cnnviz.qt.app.main_window, cnnviz.qt.state.workers, cnnviz.qt.state.newest; "
        "assert 'superqt' not in sys.modules and 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
