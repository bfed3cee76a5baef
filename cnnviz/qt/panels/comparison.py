"""Six networks side by side (``modelComparison``): the zoo reads the current input at once.

The six networks run off the drawing path: each new input is handed to a
``NewestWins`` runner (one background job at a time, one torch thread, the newest input
wins and older waiting ones are dropped), which runs
``cnnviz.core.inspect.comparison_process.ZooComparisonProcess`` on it: the networks answer in a child
process, so they never hold the GIL a stroke needs (until the child is ready, they run in the job's
thread and, between their stages, wait at most 20 ms while a newer stroke is being answered,
``AppState.wait_for_drawing``). The GUI thread only paints
the answers, at most ~30 times a second, and greys them while a newer input
is still on its way, so a student sees how far behind the row is. A hidden
panel computes nothing; it catches up when it is shown.
"""

from __future__ import annotations

import collections
import time

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from cnnviz.qt.state.display_pacer import show_paced
from cnnviz.qt.state.lazy import core
from cnnviz.qt.state.newest import NewestWins
from cnnviz.qt.widgets.style import ACCENT, BAR_COLOR, ERROR_COLOR, scaled_font, widget_pixmap

REPAINT_MS = 33  # ~30 repaints a second at most, however fast answers come
# The cards' display (a repaint, ~1 ms) does not wait for a pause in the drawing, only for its turn among the
# displays of one answer (``show_paced``): the header tells the student how far behind the row is, and with
# the pacer's 100 ms a pen that never pauses (the benchmark's) saw answers ~40 ms later (issue 23).
SHOW_AT_LATEST_MS = 0
MIN_JOB_INTERVAL_S = 0.05  # ~20 rounds of six networks a second at most: the drawing keeps the cores
STALE_OPACITY = 0.4
HEADER_EVERY_S = 1.0  # the header's "answers arrive N ms after" (median of the last 20) changes once a second
WARM_UP_ANSWERS = 3  # answers not counted in the header's delay (the first loads the networks)
STALE_AFTER_MS = 150  # answers this far behind the newest input are greyed
MIN_BAR_HEIGHT_LINES = 2.5  # bars shorter than this many digit-label lines: the card goes compact
COMPACT_TITLE_SHARE = 0.42  # a compact card's name takes this share of the first line, the answer the rest


def _fitting_name(name: str, font, width: float):
    """A card's title that fits a narrow card (a projector's large type): smaller type first, then the
    name without its "(…)" ("GoogLeNet (Inception)" -> "GoogLeNet"); only then an ellipsis."""
    room = int(width) - 2  # what elidedText is given, less its rounding
    for factor in (0.9, 0.8, 0.72):
        title = scaled_font(font, factor, True)
        if QFontMetrics(title).horizontalAdvance(name) <= room:
            return name, title
    short = name.split(" (")[0] + (" (untrained)" if name.endswith("(untrained)") else "")
    return (short if QFontMetrics(title).horizontalAdvance(short) <= room else name), title


class ComparisonView(QWidget):
    """Six cards (name, top class and confidence, ten small bars), painted in one pass."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("comparisonView")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # paints every pixel: the dock need not
        self.setAccessibleName("Six networks' answers")
        self.setToolTip(
            "Each zoo network with its shipped weights reads the same 28×28 input.\n"
            "Bars: the ten class probabilities; the orange bar is that network's answer.\n"
            "The current network's card is outlined; greyed cards are still working on your newest stroke."
        )
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 200)
        self.answers: list[dict] = []
        self.class_names: tuple[str, ...] = tuple(str(i) for i in range(10))
        self.current = ""
        self.true_label: int | None = None  # a test image's label: cards that answer otherwise are marked ✗
        self.stale = False
        self.paint_count = 0
        self._static = None  # (key, pixmap, cards): the cards' unchanging parts, see _static_layer
        self._fonts: dict = {}  # (font key, scale) -> the answer's bold font

    def sizeHint(self) -> QSize:
        return QSize(420, 420)

    def columns(self) -> int:
        return 3 if self.width() > 1.25 * self.height() else 2

    def paintEvent(self, event) -> None:
        self.paint_count += 1
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        if not self.answers:
            p.setPen(QColor(140, 140, 140))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Draw a digit: six networks will read it")
            p.end()
            return
        if self.stale:
            p.setOpacity(STALE_OPACITY)
        pixmap, cards = self._static_layer()
        p.drawPixmap(0, 0, pixmap)
        for answer, card in zip(self.answers, cards, strict=False):
            self._paint_answer(p, card, answer)
        p.end()

    def _cards(self) -> list[QRectF]:
        cols = self.columns()
        rows = (len(self.answers) + cols - 1) // cols
        w, h = self.width() / cols, self.height() / rows
        return [QRectF((i % cols) * w, (i // cols) * h, w, h).adjusted(3, 3, -3, -3) for i in range(len(self.answers))]

    def _static_layer(self) -> tuple[QPixmap, list[dict]]:
        """What changes only with the size, the type, the classes, the networks and the current one (frames,
        titles, the bars' slots and digits), painted once into a pixmap: an answer repaints only its numbers and
        bars."""
        dpr = self.devicePixelRatioF()
        networks = tuple((a["name"], a["display_name"], a["trained"], len(a["probabilities"])) for a in self.answers)
        key = (self.width(), self.height(), dpr, self.font().key(), self.palette().cacheKey(), self.current,
               self.class_names, networks)  # fmt: skip
        if self._static is not None and self._static[0] == key:
            return self._static[1], self._static[2]
        pixmap = widget_pixmap(self)
        pixmap.fill(Qt.GlobalColor.transparent)
        p = QPainter(pixmap)
        cards = [self._paint_card_frame(p, r, answer) for r, answer in zip(self._cards(), self.answers, strict=True)]
        p.end()
        self._static = (key, pixmap, cards)
        return pixmap, cards

    def _paint_card_frame(self, p: QPainter, r: QRectF, answer: dict) -> dict:
        """A card's frame, title, bar slots and digits; returns where its answer and bars go."""
        text = self.palette().text().color()
        p.setPen(QPen(ACCENT, 3) if answer["name"] == self.current else QPen(QColor(150, 150, 150), 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(r)
        r = r.adjusted(6, 4, -6, -4)
        line = QFontMetrics(scaled_font(self.font(), 0.9, True)).height()
        big_line = QFontMetrics(scaled_font(self.font(), 1.5, True)).height()
        small = scaled_font(self.font(), 0.75)
        label_h = QFontMetrics(small).height()
        # A short card (a projector's large type in a small window) puts the answer beside the name, so its
        # bars keep some height: under the name they were a pixel or two tall at 1280x720.
        # Only where the longest answer still fits beside the name: "100.0%" is never cut.
        widest = max(QFontMetrics(self._big_font(0.9)).horizontalAdvance(f"{n}  100.0%") for n in self.class_names)
        compact = (r.height() - line - big_line - 4 - label_h < MIN_BAR_HEIGHT_LINES * label_h
                   and widest <= r.width() * (1 - COMPACT_TITLE_SHARE))  # fmt: skip
        if compact:
            line = QFontMetrics(scaled_font(self.font(), 1.0, True)).height()
        title_w = r.width() * (COMPACT_TITLE_SHARE if compact else 1.0)
        p.setPen(text)
        name = answer["display_name"] + ("" if answer["trained"] else " (untrained)")
        name, font = _fitting_name(name, self.font(), title_w)
        p.setFont(font)
        p.drawText(QRectF(r.x(), r.y(), title_w, line), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
                   QFontMetrics(font).elidedText(name, Qt.TextElideMode.ElideRight, int(title_w)))  # fmt: skip
        # Ten bar slots from the bottom up, digit labels under them.
        p.setFont(small)
        top = r.y() + line + (2 if compact else big_line + 4)
        area = QRectF(r.x(), top, r.width(), r.bottom() - top - label_h)
        n = len(answer["probabilities"])
        step = area.width() / n
        for k in range(n):
            x = area.x() + k * step
            p.fillRect(QRectF(x + 1, area.y(), step - 2, area.height()), self.palette().alternateBase())
            p.drawText(QRectF(x, area.bottom(), step, label_h), Qt.AlignmentFlag.AlignCenter, str(k))
        if compact:
            answer_rect, scale = QRectF(r.x() + title_w, r.y(), r.width() - title_w, line), 1.0
        else:
            answer_rect, scale = QRectF(r.x(), r.y() + line, r.width(), big_line), 1.5
        return {"answer": answer_rect, "scale": scale, "compact": compact, "area": area, "step": step}

    def _paint_answer(self, p: QPainter, card: dict, answer: dict) -> None:
        """A card's top class and confidence, and its ten bars (the answer's orange)."""
        wrong = self.true_label is not None and answer["top"] != self.true_label
        top = answer["top"]
        label = self.class_names[top] if top < len(self.class_names) else str(top)
        answer_text = f"{label}  {100 * answer['confidence']:.1f}%" + ("  ✗" if wrong else "")
        r = card["answer"]
        scale = card["scale"]
        big = self._big_font(scale)
        while scale > 0.9 and QFontMetrics(big).horizontalAdvance(answer_text) > r.width():
            scale -= 0.1  # a narrow card (a projector's large type) shrinks the answer, never cuts "100.0%"
            big = self._big_font(round(scale, 1))
        p.setFont(big)
        p.setPen(ERROR_COLOR if wrong else ACCENT)
        align = (
            (Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom)
            if card["compact"]
            else Qt.AlignmentFlag.AlignLeft
        )
        p.drawText(r, align, p.fontMetrics().elidedText(answer_text, Qt.TextElideMode.ElideRight, int(r.width())))
        area, step = card["area"], card["step"]
        for k, prob in enumerate(answer["probabilities"]):
            bar = max(0.0, float(prob)) * area.height()
            if bar >= 0.5:  # thinner than half a pixel shows nothing: not painted
                p.fillRect(QRectF(area.x() + k * step + 1, area.bottom() - bar, step - 2, bar),
                           ACCENT if k == top else BAR_COLOR)  # fmt: skip

    def _big_font(self, scale: float):
        key = (self.font().key(), scale)
        if key not in self._fonts:
            self._fonts[key] = scaled_font(self.font(), scale, True)
        return self._fonts[key]


class ComparisonPanel(QWidget):
    """The six zoo networks on the current input; see the module docstring.

    ``latencies_ms`` keeps, for the newest answers, how long each took from the
    input's arrival to its answer on the panel (the benchmark reads it).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelComparison")
        self.setAccessibleName("Six networks side by side")
        self.header = QLabel("Six networks with their shipped weights")
        self.header.setObjectName("comparisonHeader")
        self.header.setAccessibleName("Which weights and how far behind")
        self.header.setToolTip("The shipped weights of each network for the current dataset, whatever the current "
                               "network's weights are; and how long the answers took to arrive")  # fmt: skip
        self.header.setWordWrap(True)
        self.view = ComparisonView()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.header)
        layout.addWidget(self.view, 1)
        self.runner = NewestWins("compare-networks", self, MIN_JOB_INTERVAL_S, failure="The networks could not run")
        self.runner.finished.connect(self._on_answers)
        self.runner.failed.connect(lambda _tag, text: self.header.setText(text))
        self._zoos: dict = {}  # dataset -> ZooComparisonProcess, touched only by the runner's jobs (one at a time)
        self._dataset = "mnist"
        self._dataset_name = "MNIST"
        self._input: np.ndarray | None = None
        self._known: dict | None = None
        self._serial = 0  # of the newest input
        self._answered = 0  # serial of the answers on screen
        self._sent = 0  # serial of the newest input handed to the runner
        self._sent_at: dict[int, float] = {}
        self.latencies_ms: collections.deque[float] = collections.deque(maxlen=2000)
        self._repaint = QTimer(self)
        self._repaint.setSingleShot(True)
        self._repaint.setInterval(REPAINT_MS)
        self._repaint.timeout.connect(self._show_paced)
        # Grey the cards only when the newest input has waited a while: greying on every stroke flickers.
        self._stale_timer = QTimer(self)
        self._stale_timer.setSingleShot(True)
        self._stale_timer.setInterval(STALE_AFTER_MS)
        self._stale_timer.timeout.connect(self._grey_if_behind)
        self._pending_answers: tuple[int, list[dict], float | None] | None = None  # serial, answers, sent at
        self._last_repaint = 0.0
        self._header_at, self._header_timed = 0.0, False
        self._pause = None  # the state's wait_for_drawing: the networks yield to a stroke between stages
        self._state = None  # the app's state, once followed: its display pacer

    def follow(self, state) -> None:
        """Subscribe to the app's state: the dataset and current network, each result's input, closing."""

        def network() -> None:
            session = state.session
            self._dataset = session.dataset
            self._dataset_name = core().DATASETS[session.dataset].display_name
            self.view.class_names = tuple(session.class_names)
            self.view.current = session.model_name
            self.view.update()
            self._set_header()

        state.networkChanged.connect(network)
        self._pause, self._state = state.wait_for_drawing, state

        def result_ready(result) -> None:
            session = state.session
            # The current network's answer is on screen already; with its shipped weights it is the card's too.
            shipped = session.source_kind == "pretrained" and result.probabilities is not None
            self.view.true_label = result.true_label  # a test image's known answer marks the wrong cards
            self.set_input(result.image, {session.model_name: result.probabilities} if shipped else None)

        state.resultReady.connect(result_ready)
        state.closing.connect(self.shutdown)

    # -- inputs in, answers out ----------------------------------------------------------
    def set_input(self, image: np.ndarray | None, known: dict | None = None) -> None:
        """A new 28x28 input (None: nothing drawn). Answered in the background if the panel shows.

        ``known``: {network name: probabilities} already computed for it with shipped weights.
        """
        self._serial += 1
        self._input = None if image is None else np.asarray(image, np.float32)
        self._known = known
        if self._input is None:
            self.runner.cancel()
            self._answered, self._pending_answers = self._serial, None
            self.view.answers, self.view.stale = [], False
            self.view.update()
            self._set_header()
            return
        if self.isVisible():
            self._send()
        if not self._stale_timer.isActive():
            self._stale_timer.start()

    def settled(self) -> bool:
        """True once the networks answer from their child process (or it was given up on): for benchmarks."""
        return all(zoo.in_child or zoo.failure for zoo in list(self._zoos.values()))

    def pending(self) -> bool:
        """True while the answers on screen are not those for the newest input."""
        return self._input is not None and self._answered != self._serial

    def _send(self) -> None:
        serial, image, dataset, known = self._serial, self._input, self._dataset, self._known
        self._sent = serial
        self._sent_at[serial] = time.perf_counter()
        zoos, pause = self._zoos, self._pause

        def job(_progress):
            if dataset not in zoos:
                from cnnviz.core.inspect.comparison_process import ZooComparisonProcess

                zoos[dataset] = ZooComparisonProcess(dataset, pause=pause)
            return zoos[dataset].predict(image, known)

        self.runner.submit(serial, job)

    def _on_answers(self, serial: int, answers: list[dict]) -> None:
        sent = self._sent_at.pop(serial, None)
        for old in [s for s in self._sent_at if s < serial]:  # dropped in favour of this newer one
            del self._sent_at[old]
        if serial < self._answered or self._input is None:
            return
        self._pending_answers = (serial, answers, sent)
        if not self._repaint.isActive():
            # Answers arrive as fast as inputs do; paint at most ~30 times a second, always the newest.
            wait = REPAINT_MS - (time.perf_counter() - self._last_repaint) * 1000
            if wait > 0:
                self._repaint.start(int(wait) + 1)
            else:  # no timer in between: each hop through the event loop waited for a mouse move's answer
                self._show_paced()

    def _show_paced(self) -> None:
        show_paced(self._state, "six", self._show, SHOW_AT_LATEST_MS)

    def _show(self) -> None:
        if self._pending_answers is None:
            return
        (serial, answers, sent), self._pending_answers = self._pending_answers, None
        self._last_repaint = time.perf_counter()
        if sent is not None:  # from the input's hand-off to its answers on the panel
            self.latencies_ms.append((self._last_repaint - sent) * 1000)
        self._answered = serial
        self.view.answers = answers
        self.view.stale = self.view.stale and serial != self._serial
        self.view.setAccessibleDescription(
            "; ".join(f"{a['display_name']}: {self.view.class_names[a['top']]} ({100 * a['confidence']:.0f}%)"
                      for a in answers))  # fmt: skip
        self.view.update()
        # A new text lays the dock out again: once a second, not on every answer (but at once for the first).
        if not self._header_timed or time.perf_counter() - self._header_at > HEADER_EVERY_S:
            self._set_header()

    def _grey_if_behind(self) -> None:
        if self.pending() and self.view.answers and not self.view.stale:
            self.view.stale = True
            self.view.update()

    def _set_header(self) -> None:
        # The first answers include loading six networks: a figure only once the worker runs warm.
        warm = list(self.latencies_ms)[WARM_UP_ANSWERS:]
        self._header_at, self._header_timed = time.perf_counter(), bool(warm)
        text = f"Shipped weights for {self._dataset_name}."
        if warm:
            recent = sorted(warm[-20:])
            text += f" Answers arrive {recent[len(recent) // 2]:.0f} ms after your stroke."
        self.header.setText(text)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._input is not None and self._sent != self._serial:  # catch up with what was drawn while hidden
            QTimer.singleShot(0, self, lambda: self.isVisible() and self._send())

    def shutdown(self) -> None:
        """Stop the background job (the window is closing)."""
        self._repaint.stop()
        self._stale_timer.stop()
        self.runner.stop()  # waits for the running job: no one is using the children any more
        for zoo in self._zoos.values():
            zoo.close()
        self._zoos.clear()
