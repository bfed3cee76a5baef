"""The benchmark's per-phase clock: exclusive time, workers apart, one record per move."""

from __future__ import annotations

import threading

import pytest

from cnnviz.tools import bench_phases
from cnnviz.tools.bench_phases import PhaseClock


@pytest.fixture
def fake_time(monkeypatch):
    """A clock that moves only when told, so the figures are exact."""
    now = [0.0]
    monkeypatch.setattr(bench_phases.time, "perf_counter", lambda: now[0])
    return now


def test_nested_phase_counts_once_in_the_inner_phase(fake_time):
    clock = PhaseClock()

    def inner():
        fake_time[0] += 0.003

    def outer():
        fake_time[0] += 0.001
        timed_inner()
        fake_time[0] += 0.002

    timed_inner, timed_outer = clock.wrap(inner, "inner"), clock.wrap(outer, "outer")
    clock.start()
    timed_outer()
    fake_time[0] += 0.004  # not in any phase: "other"
    clock.stop()
    move = clock.moves[0]
    assert move["inner"] == pytest.approx(3.0)
    assert move["outer"] == pytest.approx(3.0)
    assert move["stroke"] == pytest.approx(10.0)
    assert move["other (events, layouts, GIL waits)"] == pytest.approx(4.0)


def test_work_in_another_thread_is_a_worker_phase_and_not_subtracted(fake_time):
    clock = PhaseClock()

    def job():
        fake_time[0] += 0.005

    timed = clock.wrap(job, "six networks")
    clock.start()
    thread = threading.Thread(target=timed)
    thread.start()
    thread.join()
    clock.stop()
    move = clock.moves[0]
    assert move["worker: six networks"] == pytest.approx(5.0)
    assert "six networks" not in move
    assert move["other (events, layouts, GIL waits)"] == pytest.approx(5.0)  # the GUI thread's own time


def test_calls_outside_a_move_are_not_counted_and_summary_fills_absent_phases(fake_time):
    clock = PhaseClock()

    def work():
        fake_time[0] += 0.002

    timed = clock.wrap(work, "maps")
    timed()  # between moves: ignored
    for with_maps in (True, False):
        clock.start()
        if with_maps:
            timed()
        clock.stop()
    summary = clock.summary()
    assert summary["maps"]["mean"] == pytest.approx(1.0)  # 2 ms in one move of two
    assert list(summary)[-1] == "stroke"
