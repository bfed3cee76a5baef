"""NewestWins: the newest job wins, cancelling, and no thread outlives its work."""

from __future__ import annotations

import threading

from cnnviz.qt.state import workers
from cnnviz.qt.state.newest import NewestWins


def test_a_waiting_job_is_replaced_by_a_newer_one(qtbot):
    runner = NewestWins("test")
    started, gate, done = threading.Event(), threading.Event(), []
    runner.finished.connect(lambda tag, result: done.append((tag, result)))
    runner.submit(1, lambda progress: started.set() or (gate.wait(30) and "first"))
    assert started.wait(30)  # job 1 runs; the next ones wait, each replacing the one before
    for tag in (2, 3, 4):
        runner.submit(tag, lambda progress, tag=tag: f"job {tag}")
    gate.set()
    qtbot.waitUntil(lambda: not runner.busy() and len(done) == 2)
    assert done == [(1, "first"), (4, "job 4")]
    qtbot.waitUntil(lambda: workers.active() == [])


def test_cancel_stops_a_running_job_at_its_next_progress_report(qtbot):
    runner = NewestWins("test")
    started, gate = threading.Event(), threading.Event()
    cancelled, finished, reached = [], [], []
    runner.cancelled.connect(cancelled.append)
    runner.finished.connect(lambda tag, result: finished.append(tag))

    def job(progress):
        started.set()
        gate.wait(30)
        progress(0.5)  # raises once cancelled
        reached.append("after")
        return "never"

    runner.submit("slow", job)
    assert started.wait(30)
    runner.cancel()
    gate.set()
    qtbot.waitUntil(lambda: not runner.busy())
    assert cancelled == ["slow"] and finished == [] and reached == []


def test_a_newer_job_can_cancel_the_running_one(qtbot):
    runner = NewestWins("test")
    started, events = threading.Event(), []
    runner.cancelled.connect(lambda tag: events.append(("cancelled", tag)))
    runner.finished.connect(lambda tag, result: events.append(("finished", tag)))

    def endless(progress):
        started.set()
        while True:
            progress(0.1)
            threading.Event().wait(0.01)

    runner.submit("old", endless)
    assert started.wait(30)
    runner.submit("new", lambda progress: "done", cancel_running=True)
    qtbot.waitUntil(lambda: not runner.busy())
    assert events == [("cancelled", "old"), ("finished", "new")]


def test_a_failing_job_is_one_sentence_and_the_runner_goes_on(qtbot):
    runner = NewestWins("test")
    failed, finished = [], []
    runner.failed.connect(lambda tag, text: failed.append((tag, text)))
    runner.finished.connect(lambda tag, result: finished.append(result))
    runner.submit(1, lambda progress: 1 / 0)
    qtbot.waitUntil(lambda: bool(failed))
    assert failed == [(1, "Something went wrong (ZeroDivisionError: division by zero).")]
    runner.submit(2, lambda progress: "fine")
    qtbot.waitUntil(lambda: finished == ["fine"])


def test_progress_is_reported_with_its_tag_and_the_end_always_passes(qtbot):
    runner = NewestWins("test")
    seen, done = [], []
    runner.progress.connect(lambda tag, fraction: seen.append((tag, fraction)))
    runner.finished.connect(lambda tag, result: done.append(tag))

    def job(progress):
        for i in range(1, 201):
            progress(i / 200)  # 200 reports in a blink: thinned, but the last one (1.0) always arrives

    runner.submit("a", job)
    qtbot.waitUntil(lambda: done == ["a"])
    assert seen and seen[-1] == ("a", 1.0) and len(seen) < 200
    assert [f for _, f in seen] == sorted(f for _, f in seen)


def test_jobs_start_at_most_every_min_interval_but_stop_does_not_wait_for_it(qtbot):
    runner = NewestWins("test", min_interval_s=5.0)  # a long wait between jobs must not hold up stop()
    done = []
    runner.finished.connect(lambda tag, result: done.append(tag))
    runner.submit(1, lambda progress: "a")
    qtbot.waitUntil(lambda: done == [1])
    runner.submit(2, lambda progress: "b")
    assert runner.busy()  # waiting for its turn
    runner.stop()
    assert not runner.busy() and workers.active() == []
    assert not [t for t in threading.enumerate() if t.name == "cnnviz-test"]
    runner.submit(3, lambda progress: "c")
    assert not runner.busy() and done == [1]


def test_stop_waits_for_the_running_job_and_drops_its_answer(qtbot):
    runner = NewestWins("test")
    started, answers = threading.Event(), []
    runner.finished.connect(lambda tag, result: answers.append(tag))
    runner.cancelled.connect(lambda tag: answers.append(("cancelled", tag)))
    runner.submit(1, lambda progress: started.set() or threading.Event().wait(0.2) or "late")
    assert started.wait(30)
    runner.stop()
    assert workers.active() == []
    qtbot.wait(50)  # let anything still queued arrive: nothing does
    assert answers == []
