"""Inside the layers over time: a run's per-stage figures (``StageStats``) as heat strips and curves.

For the stage chosen above: its weight and its gradient histograms over time,
one column per measurement (TensorBoard's histograms, seen from above: bright
where many values are). Below, for every stage: the gradient norm, the update /
weight ratio (both on log axes) and the share of dead ReLU units.

The run measures at its report rate; this view only stores the figures and
redraws on the curves' tick (``redraw_if_dirty``), at most every ``REDRAW_S``, so it adds no
timer of its own and leaves the GUI thread (and the interpreter lock) to the run.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QComboBox, QGraphicsItem, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from cnnviz.core.training.layer_stats import GRAD_DECADES
from cnnviz.qt.widgets.style import CURVE_COLORS, SEQUENTIAL

REDRAW_S = 0.5  # seconds between redraws: a repaint of its five plots costs ~50-100 ms of the GUI thread
MAX_COLUMNS = 400  # measurements kept; beyond, every other one goes (the strips stay evenly spread)
_PALETTE = [CURVE_COLORS[k] for k in ("blue", "orange", "green", "light_blue", "grey")] + [
    (190, 75, 219), (250, 82, 82), (252, 196, 25), (32, 201, 151), (134, 142, 150)
]  # fmt: skip


class LayerView(QWidget):
    """Per-stage histograms over time and gradient / update / dead-unit curves; see the module docstring."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("trainLayerView")
        self.setAccessibleName("Inside the layers over time")
        self.stage_combo = QComboBox(objectName="trainLayerStage")
        self.stage_combo.setToolTip("The layer whose weight and gradient histograms the strips show.")
        self.stage_combo.currentIndexChanged.connect(lambda _i: self._redraw(everything=True))
        self.note = QLabel("Start a run: each layer's figures appear here as it trains.", objectName="trainLayerNote")
        self.note.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(QLabel("Layer:"))
        row.addWidget(self.stage_combo)
        row.addWidget(self.note, stretch=1)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setToolTip(
            "Top: the chosen layer's weight and gradient histograms over time (bright: many values there). "
            "Bottom: every layer's gradient norm, update size (||Δw|| / ||w||; about 0.001 is healthy) and the share "
            "of its ReLU units that were never active during the last report window (dead)."
        )
        self.plots.setMinimumHeight(300)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.plots, stretch=1)
        self._build()
        self.clear()

    def _build(self) -> None:
        cmap = pg.colormap.get(SEQUENTIAL)
        self.weight_plot = self.plots.addPlot(row=0, col=0, title="Weights over time")
        self.grad_plot = self.plots.addPlot(row=0, col=1, title="Gradients over time")
        self.weight_image, self.grad_image = pg.ImageItem(), pg.ImageItem()
        for plot, image in ((self.weight_plot, self.weight_image), (self.grad_plot, self.grad_image)):
            image.setLookupTable(cmap.getLookupTable(nPts=256))
            plot.addItem(image)
            plot.setLabel("bottom", "batch")
        # The gradient strip's axis is sign(g) * log10 |g| shifted (layer_stats.signed_log): ticks say the values.
        low, high = GRAD_DECADES
        ticks = [(0.0, "0")] + [(s * (e - low), f"{'-' if s < 0 else ''}1e{e}") for e in range(high, low, -3)
                                for s in (1, -1)]  # fmt: skip
        self.grad_plot.getAxis("left").setTicks([ticks])
        self.norm_plot = self.plots.addPlot(row=1, col=0, title="Gradient norm")
        self.ratio_plot = self.plots.addPlot(row=1, col=1, title="Update / weight")
        self.dead_plot = self.plots.addPlot(row=2, col=0, colspan=2, title="Dead ReLU units (%)")
        for plot in (self.norm_plot, self.ratio_plot):
            plot.setLogMode(y=True)
            plot.getAxis("left").setStyle(maxTextLevel=0)  # decades only: minor labels would overlap
        # Update sizes on a fixed scale from 1e-6 to 1, so "about 1e-3 is healthy" reads the same in every run.
        self.ratio_plot.setYRange(-6, 0, padding=0)
        self.ratio_plot.enableAutoRange(y=False)
        self.dead_plot.addLegend(offset=(-10, 5), colCount=5)
        for plot in (self.weight_plot, self.grad_plot, self.norm_plot, self.ratio_plot, self.dead_plot):
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            for name in ("left", "bottom"):  # tick text as a pixmap, not re-rendered each redraw
                plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        for plot in (self.norm_plot, self.ratio_plot, self.dead_plot):
            plot.showGrid(x=True, y=True, alpha=0.2)
        self._titles = {self.weight_plot: "Weights over time", self.grad_plot: "Gradients over time",
                        self.norm_plot: "Gradient norm", self.ratio_plot: "Update / weight",
                        self.dead_plot: "Dead ReLU units (%)"}  # fmt: skip
        self._last_redraw = 0.0
        self._part = 0
        self._curves: dict[str, list] = {}

    # -- data --------------------------------------------------------------------------------
    def clear(self) -> None:
        self.history: list = []  # StageStats, oldest first
        self.stage_combo.blockSignals(True)
        self.stage_combo.clear()
        self.stage_combo.blockSignals(False)
        for plot in (self.norm_plot, self.ratio_plot, self.dead_plot):
            plot.clear()
        if self.dead_plot.legend is not None:
            self.dead_plot.legend.clear()
        self._curves = {}
        self.weight_image.clear()
        self.grad_image.clear()
        self._dirty = False

    def add(self, stats) -> None:
        """One measurement of the run (``Progress.layers``)."""
        if not self.history or tuple(self.history[-1].names) != tuple(stats.names):
            self.clear()
            self._start(stats)
        self.history.append(stats)
        if len(self.history) > MAX_COLUMNS:
            self.history = self.history[::2]
        self._dirty = True

    def _start(self, stats) -> None:
        self.stage_combo.blockSignals(True)
        self.stage_combo.addItems(list(stats.names))
        self.stage_combo.blockSignals(False)
        self.note.setText("")
        for i, name in enumerate(stats.names):
            pen = pg.mkPen(_PALETTE[i % len(_PALETTE)], width=2)
            self._curves[name] = [plot.plot(pen=pen, name=name if plot is self.dead_plot else None)
                                  for plot in (self.norm_plot, self.ratio_plot, self.dead_plot)]  # fmt: skip

    # -- drawing -----------------------------------------------------------------------------
    def set_run_length(self, total_steps: int) -> None:
        """Fix every plot's x axis to the whole run (its tick text is then cached, not redrawn each time)."""
        for plot in (self.weight_plot, self.grad_plot, self.norm_plot, self.ratio_plot, self.dead_plot):
            plot.setXRange(0, max(1, total_steps), padding=0.02)
            plot.enableAutoRange(x=False)

    def redraw_if_dirty(self) -> None:
        """One part (the strips, or one of the three curve plots) per call, each every ``REDRAW_S``: a
        repaint of one plot is a few ms of the GUI thread, where all five at once would stall it."""
        now = time.perf_counter()
        if not self.isVisible() or now - self._last_redraw < REDRAW_S / len(self._PARTS):
            return
        if self._part == 0:
            if not self._dirty:
                return
            self._dirty = False
        self._last_redraw = now
        self._draw_part(self._PARTS[self._part])
        self._part = (self._part + 1) % len(self._PARTS)

    _PARTS = ("strips", "norm", "ratio", "dead")

    def _redraw(self, everything: bool = True) -> None:
        self._dirty = False
        for part in self._PARTS:
            self._draw_part(part)

    def _draw_part(self, part: str) -> None:
        if not self.history:
            return
        steps = np.array([s.step for s in self.history], dtype=float)
        names = self.history[-1].names
        if part != "strips":
            column = ("norm", "ratio", "dead").index(part)
            for i, name in enumerate(names):
                curve = self._curves[name][column]
                if part == "norm":
                    curve.setData(steps, np.maximum([s.grad_norm[i] for s in self.history], 1e-12))
                elif part == "ratio":
                    curve.setData(steps, np.maximum([s.update_ratio[i] for s in self.history], 1e-12))
                else:
                    values = np.array([100 * s.dead[i] for s in self.history])
                    curve.setData(steps, values) if not np.isnan(values).all() else curve.setData([], [])
            return
        index = max(0, self.stage_combo.currentIndex())
        last = self.history[-1]
        x0, x1 = steps[0], max(steps[-1], steps[0] + 1)
        span = float(GRAD_DECADES[1] - GRAD_DECADES[0])
        for image, key, r in ((self.weight_image, "weight_hist", last.weight_range[index]),
                              (self.grad_image, "grad_hist", span)):  # fmt: skip
            strip = np.stack([getattr(s, key)[index] for s in self.history])  # columns x bins
            image.setImage(np.log1p(1000 * strip), autoLevels=True)
            image.setRect(QRectF(x0, -r, x1 - x0, 2 * r))
        self.weight_plot.setLabel("left", f"{last.names[index]} weight")
        self.grad_plot.setLabel("left", f"{last.names[index]} gradient")

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:  # presentation mode: the plots' text grows with the rest
            self.apply_font()

    def apply_font(self) -> None:
        points = self.font().pointSizeF() if self.font().pointSizeF() > 0 else 12.0
        tick = QFont(self.font())
        tick.setPointSizeF(points * 0.85)
        for plot, title in self._titles.items():
            plot.setTitle(title, size=f"{points:.0f}pt")
            for name in ("left", "bottom"):
                plot.getAxis(name).setTickFont(tick)
                plot.getAxis(name).label.setFont(tick)

    def dead_share(self, stage: str) -> float:
        """The latest dead share of ``stage`` (NaN: no ReLU, or not measured yet)."""
        if not self.history or stage not in self.history[-1].names:
            return math.nan
        return self.history[-1].dead[self.history[-1].names.index(stage)]
