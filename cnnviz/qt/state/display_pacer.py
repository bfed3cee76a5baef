"""One panel's display at a time, after the stroke's answer: the explanations never pile up on one stroke.

Grad-CAM, the inspector, Fool it, Distort, the embedding's star and the six
networks all answer the same drawing, so their answers come back together and
their repaints landed on the same mouse move: each costs a millisecond or two,
all of them together made that move the slowest of the stroke (issue 23,
``cnnviz bench --app``, section 1c). Panels hand their display to
``DisplayPacer.show(key, fn)`` instead: at most one display runs per painted
answer (oldest waiting first; a newer one for the same key replaces the waiting
one), and none while a newer drawing already waits for its answer (a pen faster
than the answers, or a machine slower: the displays then wait, never longer than
``DISPLAY_AT_LATEST_MS``, and newer answers replace them meanwhile); when the pen
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
        self._waiting: dict[str, tuple[Callable[[], None], float]] = {}  # key -> (display, since)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._turn)

    def show(self, key: str, display: Callable[[], None]) -> None:
        """Run ``display()`` soon: after the stroke being answered, one display at a time."""
        since = self._waiting[key][1] if key in self._waiting else time.perf_counter()
        self._waiting[key] = (display, since)
        if not self._timer.isActive():
            self._timer.start()

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
        if self._drawing_waits():
            if self._waiting and not self._timer.isActive():
                self._timer.start()
            return
        self._run_one()

    def _turn(self) -> None:
        if not self._waiting:
            return
        oldest_ms = (time.perf_counter() - min(s for _d, s in self._waiting.values())) * 1000
        if self._drawing_waits() and oldest_ms < DISPLAY_AT_LATEST_MS:
            self._timer.start(int(DISPLAY_AT_LATEST_MS - oldest_ms) + 1)  # answer_painted comes sooner
            return
        self._run_one()

    def _run_one(self) -> None:
        if not self._waiting:
            return
        key = next(iter(self._waiting))
        display, _since = self._waiting.pop(key)
        try:
            display()
        finally:
            if self._waiting and not self._timer.isActive():
                self._timer.start(0)


def show_paced(state, key: str, display: Callable[[], None]) -> None:
    """``display()`` through ``state.displays`` when the panel follows a state, else at once (a panel alone)."""
    pacer = getattr(state, "displays", None)
    if pacer is None:
        display()
    else:
        pacer.show(key, display)
