"""One panel's display at a time, after the stroke's answer: the explanations never pile up on one stroke.

Grad-CAM, the inspector, Fool it, Distort, the embedding's star and the six
networks all answer the same drawing, so their answers come back together and
their repaints landed on the same mouse move: each costs a millisecond or two,
all of them together made that move the slowest of the stroke (issue 23,
``cnnviz bench --app``, section 1c). Panels hand their display to
``DisplayPacer.show(key, fn)`` instead: at most one display runs per painted
answer (the first due first; a newer one for the same key replaces the waiting
one), and none while a newer drawing already waits for its answer (a pen faster
than the answers, or a machine slower: the displays then wait, never longer than
their deadline, ``DISPLAY_AT_LATEST_MS`` unless the panel gives a shorter one,
and newer answers replace them meanwhile); when the pen
rests, the rest follow one per event-loop turn, at once to the eye. A pen that
leaves the GUI thread idle between moves, as a hand at 60-125 Hz does, sees every
display right after its answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

DISPLAY_AT_LATEST_MS = 100  # a display waits at most this long for a pause in the drawing


class DisplayPacer(QObject):
    """Displays of background answers, paced against the drawing; see the module docstring.

    ``drawing_waits()`` says whether a newer drawing waits for its answer; the owner calls
    ``answer_painted()`` after each answer's paint.
    """

    def __init__(self, parent: QObject, drawing_waits: Callable[[], bool]) -> None:
        super().__init__(parent)
        self._drawing_waits = drawing_waits
        self._waiting: dict[str, tuple[Callable[[], None], float]] = {}  # key -> (display, due: perf_counter s)
        self._turn_free = True  # no display has run since the last painted answer
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._turn)

    def show(self, key: str, display: Callable[[], None], at_latest_ms: float = DISPLAY_AT_LATEST_MS) -> None:
        """Run ``display()`` soon: after the stroke being answered, one display at a time, at the latest
        ``at_latest_ms`` after the first of ``key``'s displays that are waiting. 0: right now, if no other
        display has run since the last painted answer (each hop through the event loop waits for a move)."""
        due = self._waiting[key][1] if key in self._waiting else time.perf_counter() + at_latest_ms / 1000
        self._waiting[key] = (display, due)
        if at_latest_ms <= 0 and self._turn_free:  # due at once, and no display has had this answer's turn
            self._run_one(key)
            return
        self._timer.start(0)  # even if it runs: this display may be due before the one it waits for

    def pending(self) -> bool:
        """True while a display waits (tests and benchmarks settle on it)."""
        return bool(self._waiting)

    def drop(self, key: str) -> None:
        """Forget ``key``'s waiting display (a newer answer was shown another way)."""
        self._waiting.pop(key, None)

    def clear(self) -> None:
        """Drop every waiting display (the window closes)."""
        self._waiting.clear()
        self._timer.stop()

    def answer_painted(self) -> None:
        """A stroke's answer is on screen: one waiting display may run now, unless a newer drawing already
        waits for its answer (the pen outpaces the answers): then the displays keep to their deadline."""
        self._turn_free = True
        if self._drawing_waits():
            if self._waiting and not self._timer.isActive():
                self._timer.start(0)  # start() alone would reuse the last deadline's interval
            return
        self._run_one()

    def _turn(self) -> None:
        if not self._waiting:
            return
        left_ms = (min(due for _d, due in self._waiting.values()) - time.perf_counter()) * 1000
        if self._drawing_waits() and left_ms > 0:
            self._timer.start(int(left_ms) + 1)  # answer_painted may come sooner
        else:
            self._run_one()

    def _run_one(self, key: str | None = None) -> None:
        if not self._waiting:
            return
        if key is None:
            key = min(self._waiting, key=lambda k: self._waiting[k][1])  # the first due (of equal deadlines, oldest)
        display, _due = self._waiting.pop(key)
        self._turn_free = False
        try:
            display()
        finally:
            if self._waiting and not self._timer.isActive():
                self._timer.start(0)


def show_paced(state, key: str, display: Callable[[], None], at_latest_ms: float = DISPLAY_AT_LATEST_MS) -> None:
    """``display()`` through ``state.displays`` when the panel follows a state, else at once (a panel alone)."""
    pacer = getattr(state, "displays", None)
    if pacer is None:
        display()
    else:
        pacer.show(key, display, at_latest_ms)
