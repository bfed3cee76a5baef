"""The core's events: a deleted subscriber drops out, a failing one stops no other, payloads are checked."""

from __future__ import annotations

import gc
import logging
import weakref

import numpy as np
import pytest

from cnnviz.core import DrawingResult, ModelSession
from cnnviz.core.session.events import CallbackFailure, Event, EventGroup


class View:
    def __init__(self, log: list) -> None:
        self.log = log

    def refresh(self, *args) -> None:
        self.log.append(("refresh", args))

    def broken(self, *args) -> None:
        raise ValueError("no such stage")


def test_a_deleted_subscriber_is_not_called_and_leaves_no_reference():
    calls: list = []
    event = Event("network_changed")
    view = View(calls)
    event.connect(view.refresh)
    event.emit()
    assert calls == [("refresh", ())] and len(event) == 1
    gone = weakref.ref(view)
    del view
    gc.collect()
    assert gone() is None  # the event did not keep the view alive
    event.emit()
    assert calls == [("refresh", ())]  # ... and does not call it any more
    assert len(event) == 0 and event._subscribers == []  # nor keeps an entry for it


def test_a_function_is_held_until_disconnected():
    calls: list = []
    event = Event("weights_changed")
    event.connect(lambda: calls.append(1))  # nothing else holds a lambda: the event must
    gc.collect()
    event.emit()
    assert calls == [1]
    view = View(calls)
    event.connect(view.refresh)
    event.connect(view.refresh)  # twice is once
    assert len(event) == 2
    event.disconnect(view.refresh)
    event.emit()
    assert calls == [1, 1]


def test_a_failing_subscriber_stops_no_other_and_is_reported_once(caplog):
    calls: list = []
    failures: list[CallbackFailure] = []
    group = EventGroup(result_ready=(int,))
    group.callback_failed.connect(failures.append)
    first, broken, last = View(calls), View(calls), View(calls)
    group.result_ready.connect(first.refresh)
    group.result_ready.connect(broken.broken)
    group.result_ready.connect(last.refresh)
    with caplog.at_level(logging.ERROR, logger="cnnviz.core.session.events"):
        group.result_ready.emit(7)  # must not raise into the emitter
    assert calls == [("refresh", (7,)), ("refresh", (7,))]  # the one after the failure was called too
    assert len(failures) == 1 and failures[0].event == "result_ready"
    assert failures[0].callback == "View.broken" and isinstance(failures[0].error, ValueError)
    assert failures[0].sentence() == "A view could not follow 'result_ready' (ValueError: no such stage)."
    assert [r.getMessage() for r in caplog.records] == ["View.broken failed on event 'result_ready'"]


def test_a_failing_failure_handler_is_only_logged(caplog):
    group = EventGroup("network_changed")
    view = View([])
    group.callback_failed.connect(view.broken)
    group.network_changed.connect(view.broken)
    with caplog.at_level(logging.ERROR, logger="cnnviz.core.session.events"):
        group.network_changed.emit()
    assert len(caplog.records) == 2  # the failure, then the handler's own: no loop


def test_payloads_are_checked():
    event = Event("result_ready", DrawingResult)
    with pytest.raises(TypeError, match="DrawingResult"):
        event.emit({"image": None})
    with pytest.raises(TypeError, match="1 value"):
        event.emit()
    optional = Event("unit", (tuple, None))
    optional.emit(None)
    optional.emit(("C1", 0, 0, 0))


def test_the_session_announces_typed_results_and_counts_its_subscribers():
    session = ModelSession("lenet", "mnist")
    before = session.events.subscriber_count()
    results: list = []
    view = View(results)
    session.events.result_ready.connect(view.refresh)
    assert session.events.subscriber_count() == before + 1
    session.show_input(np.zeros((28, 28), np.float32))
    assert isinstance(results[0][1][0], DrawingResult)
    del view
    gc.collect()
    assert session.events.subscriber_count() == before
