"""The six networks in a child process: the same answers as in-process, and no answer lost when it fails."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from cnnviz.core.inspect.child_frames import SIX_NETWORKS_NICENESS
from cnnviz.core.inspect.comparison import ZooComparison
from cnnviz.core.inspect.comparison_process import IN_PROCESS_ENV, ZooComparisonProcess

NAMES = ["lenet5", "lenet"]  # two small networks: the child's cost is importing torch, not the networks


@pytest.fixture
def child_allowed(monkeypatch):
    monkeypatch.delenv(IN_PROCESS_ENV, raising=False)


def _digit() -> np.ndarray:
    image = np.zeros((28, 28), np.float32)
    image[5:23, 13:15] = 1.0
    return image


def _wait_for_child(zoo, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while not zoo.in_child and zoo.failure is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert zoo.in_child, f"the child never got ready ({zoo.failure})"


def _same(got: list[dict], expected: list[dict]) -> None:
    assert [a["name"] for a in got] == [a["name"] for a in expected] == NAMES
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a["probabilities"], b["probabilities"], atol=1e-6)
        assert (a["top"], a["trained"]) == (b["top"], b["trained"])


def test_the_child_gives_the_in_process_answers_and_ends_when_closed(child_allowed):
    expected = ZooComparison("mnist", NAMES).predict(_digit())
    zoo = ZooComparisonProcess("mnist", NAMES)
    try:
        _same(zoo.predict(_digit()), expected)  # before the child is ready: answered in-process
        _wait_for_child(zoo)
        _same(zoo.predict(_digit()), expected)
        assert zoo.local._models == {}  # the in-process copies are freed once the child answers
        known = {"lenet5": np.full(10, 0.1, np.float32)}
        assert np.allclose(zoo.predict(_digit(), known)[0]["probabilities"], 0.1)  # the given answer is kept
        proc = zoo._proc
    finally:
        zoo.close()
    proc.wait(timeout=30)  # the child ends by itself, not left behind
    _same(zoo.predict(_digit()), expected)  # and the networks still answer, in-process


def test_a_child_that_dies_costs_no_answer(child_allowed):
    zoo = ZooComparisonProcess("mnist", NAMES)
    try:
        _wait_for_child(zoo)
        zoo._proc.kill()
        zoo._proc.wait(timeout=10)
        _same(zoo.predict(_digit()), ZooComparison("mnist", NAMES).predict(_digit()))
        assert not zoo.in_child and zoo.failure
    finally:
        zoo.close()


def test_the_setting_keeps_the_networks_in_process(monkeypatch):
    monkeypatch.setenv(IN_PROCESS_ENV, "1")
    zoo = ZooComparisonProcess("mnist", NAMES)
    assert zoo._proc is None and not zoo.in_child
    _same(zoo.predict(_digit()), ZooComparison("mnist", NAMES).predict(_digit()))
    zoo.close()


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="cores and scheduling classes are Linux's")
def test_the_child_leaves_the_first_core_to_the_drawing_and_no_reader_thread_waits_here(child_allowed):
    cores = sorted(os.sched_getaffinity(0))
    zoo = ZooComparisonProcess("mnist", NAMES)
    try:
        _wait_for_child(zoo)
        pid = zoo._proc.pid
        if len(cores) >= 2:  # the drawing's core is left alone; every other one is the child's
            assert os.sched_getaffinity(pid) == set(cores[1:])
        assert os.getpriority(os.PRIO_PROCESS, pid) == SIX_NETWORKS_NICENESS  # and yields to the app on a shared core
        _same(zoo.predict(_digit()), ZooComparison("mnist", NAMES).predict(_digit()))
        # The asking thread reads the answer itself: no thread here wakes for each answer.
        assert not [t.name for t in threading.enumerate() if t.name.endswith("-reader")]
    finally:
        zoo.close()
    assert os.sched_getaffinity(0) == set(cores)  # the app itself is not pinned
