"""DisplayPacer: the explanation panels' displays wait for the stroke's answer, one per painted answer."""

from __future__ import annotations

import time

from cnnviz.qt.state.display_pacer import DISPLAY_AT_LATEST_MS, DisplayPacer, show_paced


def _pacer(qtbot, waits: list[bool]) -> DisplayPacer:
    from PySide6.QtCore import QObject

    owner = QObject()
    pacer = DisplayPacer(owner, drawing_waits=lambda: waits[0])
    pacer._owner = owner  # kept alive with the pacer
    return pacer


def test_while_the_pen_moves_one_display_per_painted_answer_oldest_first(qtbot):
    waits, shown = [True], []
    pacer = _pacer(qtbot, waits)
    for key in ("six", "unit", "heat"):
        pacer.show(key, lambda key=key: shown.append(key))
    pacer.show("six", lambda: shown.append("six, newer"))  # replaces the waiting one, keeps its turn
    qtbot.wait(30)
    assert shown == []  # a drawing waits for its answer: nothing yet
    waits[0] = False  # its answer is painted, and the next move has not come yet
    pacer.answer_painted()
    assert shown == ["six, newer"]
    waits[0] = True  # the next move came before the loop turned: the next display waits for its answer
    pacer.answer_painted()
    assert shown == ["six, newer"]
    waits[0] = False
    pacer.answer_painted()
    assert shown == ["six, newer", "unit"]
    assert pacer.pending()
    qtbot.waitUntil(lambda: not pacer.pending(), timeout=1000)  # the pen rests: the rest follow at once
    assert shown == ["six, newer", "unit", "heat"]


def test_a_pen_faster_than_the_answers_gets_the_displays_by_their_deadline_newest_only(qtbot):
    waits, shown = [True], []
    pacer = _pacer(qtbot, waits)
    t0 = time.perf_counter()
    for k in range(5):  # every answer painted with a newer drawing already waiting
        pacer.show("unit", lambda k=k: shown.append((k, time.perf_counter() - t0)))
        pacer.answer_painted()
        qtbot.wait(5)
    assert shown == []
    qtbot.waitUntil(lambda: bool(shown), timeout=2000)
    assert [k for k, _t in shown] == [4]  # the newest answer's display, once
    assert DISPLAY_AT_LATEST_MS / 1000 * 0.9 <= shown[0][1] < 1.0


def test_a_display_never_waits_longer_than_the_limit(qtbot):
    waits, shown = [True], []
    pacer = _pacer(qtbot, waits)
    t0 = time.perf_counter()
    pacer.show("unit", lambda: shown.append(time.perf_counter() - t0))
    qtbot.waitUntil(lambda: bool(shown), timeout=2000)  # no answer painted, the pen never rests
    assert DISPLAY_AT_LATEST_MS / 1000 * 0.9 <= shown[0] < 1.0


def test_drop_clear_and_a_panel_without_a_state(qtbot):
    waits, shown = [True], []
    pacer = _pacer(qtbot, waits)
    pacer.show("unit", lambda: shown.append("unit"))
    pacer.show("heat", lambda: shown.append("heat"))
    pacer.drop("unit")
    waits[0] = False  # an answer painted, no newer drawing waiting
    pacer.answer_painted()
    assert shown == ["heat"]
    pacer.show("six", lambda: shown.append("six"))
    pacer.clear()
    pacer.answer_painted()
    qtbot.wait(DISPLAY_AT_LATEST_MS + 50)
    assert shown == ["heat"] and not pacer.pending()
    show_paced(None, "alone", lambda: shown.append("alone"))  # a panel made without the app: at once
    assert shown == ["heat", "alone"]


def test_a_panel_with_a_shorter_deadline_is_shown_by_it_before_an_older_display(qtbot):
    waits, shown = [True], []
    pacer = _pacer(qtbot, waits)
    t0 = time.perf_counter()
    pacer.show("unit", lambda: shown.append(("unit", time.perf_counter() - t0)))
    pacer.show("six", lambda: shown.append(("six", time.perf_counter() - t0)), at_latest_ms=20)
    qtbot.waitUntil(lambda: len(shown) == 2, timeout=2000)  # the pen never rests
    (first, at_first), (second, at_second) = shown
    assert (first, second) == ("six", "unit")
    assert 0.018 <= at_first < DISPLAY_AT_LATEST_MS / 1000 * 0.9 <= at_second


def test_after_a_deadline_a_display_is_again_shown_at_the_next_turn_once_the_pen_rests(qtbot):
    waits, shown = [True], []
    pacer = _pacer(qtbot, waits)
    pacer.show("unit", lambda: shown.append("unit"))
    qtbot.waitUntil(lambda: bool(shown), timeout=2000)  # by its deadline
    waits[0] = False
    t0 = time.perf_counter()
    pacer.show("heat", lambda: shown.append(time.perf_counter() - t0))
    qtbot.waitUntil(lambda: len(shown) == 2, timeout=2000)
    assert shown[1] < DISPLAY_AT_LATEST_MS / 1000 / 2  # not the last deadline's wait again


def test_a_display_due_at_once_takes_a_free_turn_at_once_and_else_waits_for_one(qtbot):
    waits, shown = [True], []
    pacer = _pacer(qtbot, waits)
    pacer.show("six", lambda: shown.append("six"), at_latest_ms=0)  # no display has had this answer's turn
    assert shown == ["six"]  # right now, not after a hop through the event loop
    pacer.show("six", lambda: shown.append("six again"), at_latest_ms=0)  # the turn is taken: it waits
    assert shown == ["six"] and pacer.pending()
    pacer.answer_painted()  # a new answer: its turn is free, though a drawing waits (so nothing runs on it)
    pacer.show("unit", lambda: shown.append("unit"))
    assert shown[-1] != "unit"  # a display with a deadline never takes a turn at once
    qtbot.waitUntil(lambda: not pacer.pending(), timeout=2000)
    assert shown[:2] == ["six", "six again"] and shown[-1] == "unit"
