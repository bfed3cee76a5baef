"""The Training panel's live curves: loss per batch, accuracy, learning rate.

Worker payloads only append to numpy buffers; a ~30 Hz timer redraws what
changed, so the cost of drawing does not grow with the batch rate, and the
redraw rate adapts to what a frame costs the GUI thread (see ``_on_tick``).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGraphicsItem

from cnnviz.qt.widgets.style import CURVE_COLORS
from cnnviz.qt.widgets.visibility import is_on_screen

__all__ = ["TrainingCurves"]

REDRAW_HZ = 30  # the redraw timer; the plots redraw at this rate when the GUI thread can afford it
MIN_REDRAW_HZ = 10
GUI_BUDGET = 0.06  # the share of one core the GUI thread should use while training (see _on_tick)
LOSS_SMOOTHING = 0.95  # EMA factor for the bold loss curve (debiased, as TensorBoard does)
TEXT_COLOR = (225, 225, 225)  # axis text on the plots' black: light, for the back row
SLOW_PLOT_EVERY = 3  # the learning-rate and accuracy curves change slowly: a third of the loss curve's rate


class _Series:
    """A growing pair of numpy buffers; ``view()`` is the filled part (no copy)."""

    def __init__(self, capacity: int = 1024) -> None:
        self.x = np.zeros(capacity)
        self.y = np.zeros(capacity)
        self.n = 0

    def extend(self, x, y) -> None:
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        end = self.n + len(x)
        if end > len(self.x):
            size = max(end, 2 * len(self.x))
            self.x = np.concatenate([self.x[: self.n], np.zeros(size - self.n)])
            self.y = np.concatenate([self.y[: self.n], np.zeros(size - self.n)])
        self.x[self.n : end] = x
        self.y[self.n : end] = y
        self.n = end

    def clear(self) -> None:
        self.n = 0

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[: self.n], self.y[: self.n]


class _Ema:
    """Debiased exponential moving average, fed point by point."""

    def __init__(self, beta: float) -> None:
        self.beta = beta
        self.clear()

    def clear(self) -> None:
        self._value, self._count = 0.0, 0

    def feed(self, values: np.ndarray) -> np.ndarray:
        out = np.empty(len(values))
        for i, v in enumerate(values):
            if not math.isfinite(v):  # a diverging batch: show the raw point, keep the average sane
                out[i] = self.value if self._count else v
                continue
            self._count += 1
            self._value = self.beta * self._value + (1 - self.beta) * v
            out[i] = self.value
        return out

    @property
    def value(self) -> float:
        return self._value / (1 - self.beta**self._count) if self._count else math.nan


class TrainingCurves(pg.GraphicsLayoutWidget):
    """Loss and accuracy plots side by side, the learning rate in a shorter row beneath both.

    ``ticked`` fires on every redraw-timer tick, for other throttled views (the progress bar).
    """

    ticked = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("trainPlots")
        self.setMinimumHeight(380)
        self.setToolTip("Live curves of the training run; ticked runs in the runs list are drawn over them.")
        self._loss = _Series()
        self._loss_ema = _Series()
        self._lr = _Series()
        self._batch_acc = _Series()
        self._epoch_train = _Series(64)
        self._epoch_test = _Series(64)
        self._smooth_loss = _Ema(LOSS_SMOOTHING)
        self._smooth_acc = _Ema(LOSS_SMOOTHING)
        self._dirty = False
        self._total_steps = 0
        self._plot_interval = 1.0 / REDRAW_HZ
        self._last_plot = 0.0
        self._budget_window: tuple[float, float, int] | None = None  # (wall, GUI CPU, plot redraws) at its start
        self._plot_redraws = 0
        self._pens: dict = {}  # curve -> (colour, width at normal type), for presentation mode's thicker lines
        self._titles: dict = {}
        self._marks: list = []  # (plot, line) per change made during the run
        self._build()
        self.apply_font()
        self._timer = QTimer(self)
        self._timer.setInterval(round(1000 / REDRAW_HZ))
        self._timer.timeout.connect(self._on_tick)

    def _build(self) -> None:
        blue, light_blue, orange, green, grey = (
            CURVE_COLORS[k] for k in ("blue", "light_blue", "orange", "green", "grey")
        )
        self.loss_plot = self.addPlot(row=0, col=0, title="Loss per batch")
        self.loss_plot.setLabel("bottom", "batch")
        self.loss_plot.setLabel("left", "cross-entropy")
        self.loss_plot.addLegend(offset=(-10, 10))
        self.loss_raw_curve = self.loss_plot.plot(pen=pg.mkPen(light_blue, width=1), name="batch")
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen(blue, width=2.5), name="smoothed")
        self._pens.update({self.loss_raw_curve: (light_blue, 1.0), self.loss_curve: (blue, 2.5)})

        self.accuracy_plot = self.addPlot(row=0, col=1, title="Accuracy (%)")
        self.accuracy_plot.setLabel("bottom", "epoch")
        self.accuracy_plot.addLegend(offset=(-10, -10))
        self.batch_accuracy_curve = self.accuracy_plot.plot(pen=pg.mkPen(grey, width=1), name="train (running)")
        self.train_accuracy_curve = self.accuracy_plot.plot(
            pen=pg.mkPen(blue, width=2), symbol="o", symbolSize=7, symbolBrush=blue, name="train (epoch)"
        )
        self.test_accuracy_curve = self.accuracy_plot.plot(
            pen=pg.mkPen(orange, width=2), symbol="s", symbolSize=7, symbolBrush=orange, name="test"
        )

        # The confusion matrix is a widget of its own now (confusion_view.py): the learning rate,
        # the least looked-at curve, takes the whole second row, at half the height.
        self.lr_plot = self.addPlot(row=1, col=0, colspan=2, title="Learning rate")
        self.ci.layout.setRowStretchFactor(0, 2)
        self.ci.layout.setRowStretchFactor(1, 1)
        self.lr_plot.setLabel("bottom", "batch")
        self.lr_curve = self.lr_plot.plot(pen=pg.mkPen(green, width=2))
        self._pens.update({self.batch_accuracy_curve: (grey, 1.0), self.train_accuracy_curve: (blue, 2.0),
                           self.test_accuracy_curve: (orange, 2.0), self.lr_curve: (green, 2.0)})  # fmt: skip
        self._titles = {self.loss_plot: "Loss per batch", self.accuracy_plot: "Accuracy (%)",
                        self.lr_plot: "Learning rate"}  # fmt: skip

        for plot in (self.loss_plot, self.accuracy_plot, self.lr_plot):
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)  # no drag or wheel zoom: the panel scrolls instead
            # The x range is the whole run, set at the start (see start_run),
            # so the axes stay put and only the curves repaint at 30 Hz.
            plot.enableAutoRange(x=False, y=True)
            for name in ("left", "bottom"):
                # An axis with a grid spans its whole plot, so every curve update
                # would re-render its tick text; cache it as a pixmap instead.
                plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # The loss axis only grows (see fit_loss_axis): following every new low
        # would re-render its ticks each frame, a third of the GUI's plot time.
        self.loss_plot.enableAutoRange(y=False)
        self._loss_top = 0.0

    # -- type that grows with presentation mode -------------------------------------------
    def apply_font(self) -> None:
        """Axes, ticks, titles, legends and line widths follow the widget's font (presentation mode
        makes everything a lecturer points at larger, the plots included)."""
        font = self.font()
        points = font.pointSizeF() if font.pointSizeF() > 0 else 12.0
        scale = points / 12.0
        tick = QFont(font)
        tick.setPointSizeF(points * 0.85)
        for plot in self.plots():
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setTickFont(tick)
                axis.setStyle(tickTextOffset=max(3, round(4 * scale)))
                axis.label.setFont(tick)
                axis.setTextPen(TEXT_COLOR)
                axis.setPen(TEXT_COLOR)
                axis._updateLabel()
            if plot in self._titles:
                plot.setTitle(self._titles[plot], size=f"{points:.0f}pt", color=TEXT_COLOR)
            if plot.legend is not None:
                size = f"{points * 0.85:.0f}pt"
                plot.legend.setLabelTextSize(size)
                plot.legend.setLabelTextColor(TEXT_COLOR)
                for _sample, label in plot.legend.items:  # the existing entries too
                    label.setText(label.text, size=size, color=TEXT_COLOR)
        for curve, (color, width) in self._pens.items():
            curve.setPen(pg.mkPen(color, width=width * max(1.0, scale)))
        for curve in (self.train_accuracy_curve, self.test_accuracy_curve):
            curve.setSymbolSize(round(7 * max(1.0, scale)))

    def plots(self) -> list:
        return [item for item in self.ci.items if isinstance(item, pg.PlotItem)]

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:
            self.apply_font()

    # -- a run ----------------------------------------------------------------------
    def start_run(self, epochs: int, lr: float) -> None:
        """Clear the curves, fix the axes for a run of ``epochs`` peaking at ``lr``, start redrawing."""
        self.clear_curves()
        self.accuracy_plot.setXRange(0, epochs, padding=0.02)
        self._accuracy_range = (0.0, 100.0)
        self.accuracy_plot.setYRange(0, 100, padding=0.02)
        self.accuracy_plot.enableAutoRange(y=False)
        self.lr_plot.setYRange(0, lr, padding=0.05)
        self.lr_plot.enableAutoRange(y=False)
        self._budget_window = None
        self._plot_interval = 1.0 / REDRAW_HZ
        self._timer.start()

    def stop_run(self) -> None:
        self._timer.stop()
        self.redraw()

    def clear_curves(self) -> None:
        for series in (self._loss, self._loss_ema, self._lr, self._batch_acc, self._epoch_train, self._epoch_test):
            series.clear()
        self._smooth_loss.clear()
        self._smooth_acc.clear()
        self._loss_top = 0.0
        self._total_steps = 0
        for plot, line in self._marks:
            plot.removeItem(line)
        self._marks = []
        self.redraw()

    def mark_change(self, step: int, text: str) -> None:
        """A change made during the run ("lr 0.01" from batch ``step`` on): a labelled vertical line."""
        for plot in (self.loss_plot, self.lr_plot):
            line = pg.InfiniteLine(pos=step, angle=90, pen=pg.mkPen(CURVE_COLORS["orange"], width=1.5, style=Qt.PenStyle.DashLine),
                                   label=text if plot is self.loss_plot else None,
                                   labelOpts={"position": 0.9, "color": TEXT_COLOR})  # fmt: skip
            plot.addItem(line)
            self._marks.append((plot, line))

    def add_batches(self, p) -> None:
        """A run's ``Progress`` report: every batch since the last one."""
        steps, losses = np.asarray(p.steps, dtype=float), np.asarray(p.losses, dtype=float)
        self._loss.extend(steps, losses)
        self.fit_loss_axis(losses)
        self._loss_ema.extend(steps, self._smooth_loss.feed(losses))
        self._lr.extend(steps, p.lrs)
        steps_per_epoch = max(p.total_steps / max(p.epochs, 1), 1.0)
        self._batch_acc.extend(steps / steps_per_epoch, 100 * self._smooth_acc.feed(np.asarray(p.accuracies)))
        if not self._total_steps:  # the first report: now the run's length is known
            for plot in (self.loss_plot, self.lr_plot):
                plot.setXRange(0, p.total_steps, padding=0.02)
        self._total_steps = p.total_steps
        self.fit_accuracy_axis()
        self._dirty = True

    def add_epoch(self, epoch: int, train_accuracy: float, test_accuracy: float) -> None:
        self._epoch_train.extend([epoch], [100 * train_accuracy])
        self._epoch_test.extend([epoch], [100 * test_accuracy])
        self.fit_accuracy_axis()
        self._dirty = True

    def accuracy_range(self) -> tuple[float, float]:
        """The accuracy axis: from a round number below the lowest epoch accuracy (or the running
        accuracy's last stretch) to 100, so 98-99 % spreads over the plot instead of lying flat at the top."""
        values = [s.view()[1] for s in (self._epoch_train, self._epoch_test)]
        running = self._batch_acc.view()[1]
        values.append(running[len(running) // 2 :])  # the first steps start at chance: not worth the axis
        data = np.concatenate(values) if values else np.zeros(0)
        data = data[np.isfinite(data)]
        if not data.size:
            return 0.0, 100.0
        low = float(data.min())
        step = 1.0 if low >= 95 else 5.0 if low >= 80 else 10.0
        bottom = max(0.0, math.floor((low - 0.5 * step) / step) * step)
        return bottom, 100.0

    def fit_accuracy_axis(self) -> None:
        bottom, top = self.accuracy_range()
        if (bottom, top) != getattr(self, "_accuracy_range", None):
            self._accuracy_range = (bottom, top)
            self.accuracy_plot.setYRange(bottom, top, padding=0.02)

    def wheelEvent(self, event) -> None:  # noqa: N802 (Qt override)
        # The wheel scrolls the panel, never zooms a plot (a zoom into an empty range stayed there).
        event.ignore()

    def fit_loss_axis(self, losses) -> None:
        """Loss axis from 0 to a round number above the largest finite loss yet."""
        finite = np.asarray(losses, dtype=float)
        finite = finite[np.isfinite(finite)]
        if finite.size and finite.max() > self._loss_top:
            top = 1.1 * float(finite.max())
            step = 10 ** math.floor(math.log10(top)) / 2 if top > 0 else 1.0
            self._loss_top = math.ceil(top / step) * step
            self.loss_plot.setYRange(0, self._loss_top, padding=0)

    # -- drawing ----------------------------------------------------------------------
    def _on_tick(self) -> None:
        """Redraw what changed, at up to ``REDRAW_HZ``.

        Painting three pyqtgraph plots costs a few ms of GUI-thread time, with
        the interpreter lock held, and the training thread needs that lock
        between torch ops. So, once a second, the plot interval is set from
        what a frame really cost the GUI thread (everything it did, the other
        panels' inference included) to keep it within ``GUI_BUDGET`` of a core:
        30 Hz on a fast machine, down to ``MIN_REDRAW_HZ`` on a slow one.
        """
        now = time.perf_counter()
        self._update_plot_interval(now)
        self.ticked.emit()
        # Plots tabbed away behind another dock cost nothing: redraw once they show.
        if self._dirty and is_on_screen(self) and now - self._last_plot >= self._plot_interval * 0.9:
            self._redraw_plots()

    def _update_plot_interval(self, now: float) -> None:
        cpu = time.thread_time()
        if self._budget_window is None:
            self._budget_window = (now, cpu, self._plot_redraws)
            return
        wall0, cpu0, redraws0 = self._budget_window
        if now - wall0 < 1.0:
            return
        frames = self._plot_redraws - redraws0
        if frames > 0:
            per_frame = (cpu - cpu0) / frames
            self._plot_interval = min(max(per_frame / GUI_BUDGET, 1.0 / REDRAW_HZ), 1.0 / MIN_REDRAW_HZ)
        self._budget_window = (now, cpu, self._plot_redraws)

    def redraw(self) -> None:
        self._redraw_plots(everything=True)

    def _redraw_plots(self, everything: bool = False) -> None:
        """The loss every frame; the slow curves (learning rate, accuracy) every ``SLOW_PLOT_EVERY``-th."""
        self._dirty = False
        self.loss_raw_curve.setData(*self._loss.view())
        self.loss_curve.setData(*self._loss_ema.view())
        if everything or self._plot_redraws % SLOW_PLOT_EVERY == 0:
            self.lr_curve.setData(*self._lr.view())
            self.batch_accuracy_curve.setData(*self._batch_acc.view())
            self.train_accuracy_curve.setData(*self._epoch_train.view())
            self.test_accuracy_curve.setData(*self._epoch_test.view())
        self._plot_redraws += 1
        self._last_plot = time.perf_counter()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if self._dirty:
            self.redraw()
