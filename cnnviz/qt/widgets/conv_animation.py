"""The convolution, animated: the kernel slides over the input one position at a time, the output
map fills in, and the sum at each position is written out (Play, Pause, Step, Restart, speed).

Takes a ``ConvSweep`` (``cnnviz.core.inspect.conv_sweep``) from a loader the panel gives it, asked
only when the animation needs it (a hidden inspector computes nothing). One QTimer, owned by the
widget, drives it; it stops when the widget is hidden, and dies with it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from cnnviz.qt.widgets.style import ACCENT, DIVERGING, GAP_COLOR, color_of, gray_image
from cnnviz.qt.widgets.visibility import is_on_screen

DEFAULT_SPEED = 8  # positions per second: slow enough to follow the sum, a 24x24 map in a minute
MAX_SPEED = 60


def _num(v: float) -> str:
    return f"{v:.3g}".replace("-", "−")


class _SweepPicture(QWidget):
    """Input with the kernel's window, the kernel, and the output map filled so far."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("convAnimationPicture")
        self.setMinimumSize(120, 120)
        self.sweep = None
        self.step = -1

    def sizeHint(self) -> QSize:
        return QSize(300, 150)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        sweep = self.sweep
        if sweep is None:
            return
        title_h = self.fontMetrics().height() + 4
        gap = 12
        side = max(10.0, min(self.height() - title_h - 2, (self.width() - 2 * gap) / 2.6))
        kernel_side = side * 0.6
        x0, x1 = 0.0, side + gap
        x2 = x1 + kernel_side + gap
        channels = len(sweep.input_channels)
        shown = self._kernel_channel()
        p.setPen(self.palette().text().color())
        names = ("input" if channels == 1 else f"{channels} maps",
                 "kernel" if channels == 1 else f"map {sweep.input_channels[shown]}", "output")  # fmt: skip
        metrics = self.fontMetrics()
        for x, width, name in zip((x0, x1, x2), (side, kernel_side, side), names, strict=True):
            text = metrics.elidedText(name, Qt.TextElideMode.ElideRight, int(width + gap - 2))
            p.drawText(QRectF(x, 0, width + gap, title_h), Qt.AlignmentFlag.AlignLeft, text)
        top = float(title_h)
        inputs = sweep.inputs.mean(0)
        lo, hi = float(inputs.min()), float(inputs.max())
        p.drawImage(QRectF(x0, top, side, side), gray_image((inputs - lo) / (hi - lo) if hi > lo else inputs * 0))
        self._draw_map(p, sweep.kernels[shown], QRectF(x1, top, kernel_side, kernel_side))
        out = sweep.filled(self.step + 1)
        self._draw_map(p, out, QRectF(x2, top, side, side), peak=float(np.abs(sweep.output).max()))
        if self.step >= 0:
            oy, ox, t, left = sweep.window(self.step)
            kh, kw = sweep.kernels.shape[1:]
            dh, dw = sweep.dilation
            h, w = sweep.inputs.shape[1:]
            sy, sx = side / h, side / w
            p.setPen(QPen(ACCENT, 2))
            p.drawRect(QRectF(x0 + left * sx, top + t * sy, ((kw - 1) * dw + 1) * sx, ((kh - 1) * dh + 1) * sy))
            oh, ow = sweep.output.shape
            p.drawRect(QRectF(x2 + ox * side / ow, top + oy * side / oh, side / ow, side / oh))

    def _kernel_channel(self) -> int:
        """The input map whose kernel is shown: the one adding most at this position."""
        if self.sweep is None or self.step < 0:
            return 0
        return int(np.argmax(np.abs(self.sweep.sums[self.step])))

    @staticmethod
    def _draw_map(p: QPainter, values: np.ndarray, rect: QRectF, peak: float | None = None) -> None:
        h, w = values.shape
        finite = values[np.isfinite(values)]
        peak = peak or (float(np.abs(finite).max()) if finite.size else 1.0) or 1.0
        cw, ch = rect.width() / w, rect.height() / h
        p.setPen(Qt.PenStyle.NoPen)
        for y in range(h):
            for x in range(w):
                v = values[y, x]
                color = GAP_COLOR if not np.isfinite(v) else color_of(DIVERGING, 0.5 + 0.5 * float(v) / peak)
                p.fillRect(QRectF(rect.x() + x * cw, rect.y() + y * ch, cw + 0.5, ch + 0.5), QColor(color))


class ConvAnimation(QGroupBox):
    """Play / Pause / Step / Restart and a speed slider over a ``_SweepPicture`` and the sum's text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Convolution, animated", parent)
        self.setObjectName("convAnimation")
        self.setToolTip("Play slides the kernel over the input one position at a time and fills the output map;\n"
                        "the text below adds up the products at the current position")  # fmt: skip
        self.loader = None  # () -> ConvSweep (may raise); set by the panel for the selected unit
        self.sweep = None
        self._stale = True
        self.picture = _SweepPicture()
        self.play_button = self._button(
            "Play", "convPlay", "Start or pause the kernel's slide (Space in the inspector)"
        )
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._on_play_toggled)
        self.step_button = self._button("Step", "convStep", "Move the kernel one position on")
        self.step_button.clicked.connect(self.step)
        self.restart_button = self._button("Restart", "convRestart", "Empty the output map and start again")
        self.restart_button.clicked.connect(self.restart)
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setObjectName("convSpeed")
        self.speed.setAccessibleName("Animation speed")
        self.speed.setToolTip("Positions per second")
        self.speed.setRange(1, MAX_SPEED)
        self.speed.setValue(DEFAULT_SPEED)
        self.speed.valueChanged.connect(self._on_speed)
        self.speed_label = QLabel("")
        self.position = QLabel("")
        self.position.setObjectName("convPosition")
        self.position.setWordWrap(True)
        self.sum_text = QLabel("Select a unit of a convolution's map, then press Play.")
        self.sum_text.setObjectName("convSum")
        self.sum_text.setWordWrap(True)
        self.sum_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.timer = QTimer(self)
        self.timer.setObjectName("convTimer")
        self.timer.timeout.connect(self._tick)
        controls, pace = QHBoxLayout(), QHBoxLayout()  # two short rows: a narrow column never scrolls sideways
        for widget in (self.play_button, self.step_button, self.restart_button):
            controls.addWidget(widget)
        controls.addStretch(1)
        for widget in (QLabel("Speed"), self.speed, self.speed_label):
            pace.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addLayout(pace)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.position)
        layout.addWidget(self.sum_text)
        self._on_speed(self.speed.value())

    def _button(self, text: str, name: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setToolTip(tip)
        return button

    # -- what the panel calls ---------------------------------------------------------------
    def set_loader(self, loader) -> None:
        """A new unit or input: the sweep is recomputed when next needed; None: nothing to animate."""
        self.loader = loader
        self._stale = True
        if loader is None:
            self.pause()
            self.sweep = self.picture.sweep = None
            self.picture.update()
            self.sum_text.setText("Select a unit of a convolution's map, then press Play.")
            self.position.setText("")
        elif self.timer.isActive() or self.sweep is not None:
            self._load()  # keep showing the same position with the new numbers

    def is_playing(self) -> bool:
        return self.timer.isActive()

    def play(self) -> None:
        self.play_button.setChecked(True)

    def pause(self) -> None:
        self.play_button.setChecked(False)

    def step(self) -> bool:
        """One position on (from the end: back to the start); False when there is nothing to show."""
        if not self._load():
            return False
        at = self.picture.step + 1
        self._show(at if at < self.sweep.positions else 0)
        return True

    def restart(self) -> None:
        if self._load():
            self._show(-1)

    # -- inside -----------------------------------------------------------------------------
    def _load(self) -> bool:
        if not self._stale:
            return self.sweep is not None
        self._stale = False
        sweep = None
        if self.loader is not None:
            try:
                sweep = self.loader()
            except Exception as exc:  # the core's sentence (e.g. "not a convolution"), never a traceback
                self.sum_text.setText(str(exc) if str(exc) else type(exc).__name__)
        keep = self.picture.step if sweep is not None and self.sweep is not None and (
            sweep.output.shape == self.sweep.output.shape) else -1  # fmt: skip
        self.sweep = self.picture.sweep = sweep
        if sweep is None:
            self.pause()
            self.picture.update()
            return False
        self._show(keep)
        return True

    def _show(self, step: int) -> None:
        sweep = self.sweep
        self.picture.step = step
        self.picture.update()
        where = f"{sweep.module}, map {sweep.channel}"
        if len(sweep.input_channels) > 1:  # the picture shows the maps' mean and the kernel adding most
            where += f" (input: the mean of {len(sweep.input_channels)} maps; kernel: the map adding most)"
        if step < 0:
            self.position.setText(f"{where}: 0 of {sweep.positions} positions")
            self.sum_text.setText("Press Play or Step: the kernel starts at the top left.")
            return
        oy, ox, _t, _l = sweep.window(step)
        self.position.setText(f"{where}: position {step + 1} of {sweep.positions} (row {oy}, column {ox})")
        sums = sweep.sums[step]
        if len(sums) == 1:
            text = f"Σ patch × kernel = {_num(sums[0])}"
        else:
            terms = " + ".join(_num(s) for s in sums[:8]) + (" + …" if len(sums) > 8 else "")
            text = f"Σ over {len(sums)} input maps of Σ patch × kernel = {terms} = {_num(sums.sum())}"
        self.sum_text.setText(f"{text}, + bias {_num(sweep.bias)} = <b>{_num(sweep.value(step))}</b>")

    def _tick(self) -> None:
        if not is_on_screen(self):  # behind another dock's tab (moved off-screen, not hidden): stop
            self.pause()
            return
        if not self._load() or self.picture.step + 1 >= self.sweep.positions:
            self.pause()  # the map is full
            return
        self._show(self.picture.step + 1)

    def _on_play_toggled(self, on: bool) -> None:
        if on and self._load():
            if self.picture.step + 1 >= self.sweep.positions:
                self._show(-1)  # a full map: Play starts again
            self.timer.start()
        else:
            self.timer.stop()
            if on:
                self.play_button.setChecked(False)
        self.play_button.setText("Pause" if self.timer.isActive() else "Play")

    def _on_speed(self, value: int) -> None:
        self.timer.setInterval(int(1000 / max(1, value)))
        self.speed_label.setText(f"{value}/s")

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.pause()  # nobody watches: no timer runs
        super().hideEvent(event)
