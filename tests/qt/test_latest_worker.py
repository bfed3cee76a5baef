"""LatestJobRunner: the newest job wins, cancelling, and a thread that never outlives its work."""

from __future__ import annotations

import threading

from cnnviz.qt.state.latest_worker import LatestJobRunner


def test_a_waiting_job_is_replaced_by_a_newer_one(qtbot):
    runner = LatestJobRunner("test")
    started, gate, done = threading.Event(), threading.Event(), []
    runner.finished.connect(lambda tag, result: done.append((tag, result)))
    runner.submit(1, lambda progress: started.set() or (gate.wait(30) and "first"))
    assert started.wait(30)  # job 1 runs; the next ones wait, each replacing the one before
    for tag in (2, 3, 4):
        runner.submit(tag, lambda progress, tag=tag: f"job {tag}")
    gate.set()
    qtbot.waitUntil(lambda: not runner.busy() and len(done) == 2)
    assert done == [(1, "first"), (4, "job 4")]


def test_cancel_stops_a_running_job_at_its_next_progress_report(qtbot):
    runner = LatestJobRunner("test")
    started, gate = threading.Event(), threading.Event()
    cancelled, finished = [], []
    runner.cancelled.connect(cancelled.append)
    runner.finished.connect(lambda tag, result: finished.append(tag))

    def job(progress):
        started.set()
        gate.wait(30)
        progress(0.5)  # raises once cancelled
        return "never"

    runner.submit("slow", job)
    assert started.wait(30)
    runner.cancel()
    gate.set()
    qtbot.waitUntil(lambda: not runner.busy())
    qtbot.waitUntil(lambda: cancelled == ["slow"])
    assert finished == []


def test_a_failing_job_is_one_sentence_and_the_runner_goes_on(qtbot):
    runner = LatestJobRunner("test")
    failed, finished = [], []
    runner.failed.connect(lambda tag, text: failed.append((tag, text)))
    runner.finished.connect(lambda tag, result: finished.append(result))
    runner.submit(1, lambda progress: 1 / 0)
    qtbot.waitUntil(lambda: bool(failed))
    assert failed == [(1, "ZeroDivisionError: division by zero")]
    runner.submit(2, lambda progress: "fine")
    qtbot.waitUntil(lambda: finished == ["fine"])


def test_stop_joins_the_thread_and_refuses_new_jobs(qtbot):
    runner = LatestJobRunner("test", min_interval_s=5.0)  # a long wait between jobs must not hold up stop()
    runner.submit(1, lambda progress: "a")
    runner.submit(2, lambda progress: "b")
    runner.stop()
    assert not runner.busy()
    assert not [t for t in threading.enumerate() if t.name == "cnnviz-test"]
    runner.submit(3, lambda progress: "c")
    assert not runner.busy()
