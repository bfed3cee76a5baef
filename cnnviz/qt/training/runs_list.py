"""Runs to compare: every run since the app opened, ticked to overlay its curves, exported as CSV or PNG.

The Training panel feeds ``RunsList`` what its worker reports (the same
payloads the live curves get); each run is a ``cnnviz.core.RunLog`` (its
settings, every batch's loss and learning rate, every epoch's accuracies,
how it ended), the class ``cnnviz train --log`` writes with. Ticked runs are
drawn over the loss and accuracy plots (smoothed loss per batch, test
accuracy per epoch), each labelled by what differs between them, e.g.
"#2 sigmoid · SGD lr 0.9".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cnnviz.qt.state.lazy import core
from cnnviz.qt.widgets.style import ERROR_STYLE

__all__ = ["RunsList"]

# Overlay colours, one per run (by its number, so a run keeps its colour when others are ticked);
# none is the live curves' blue or orange.
RUN_COLORS = ("#d62728", "#9467bd", "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#2ca02c", "#7f7f7f")
RUN_ROLE = Qt.ItemDataRole.UserRole


def _run_log():
    """``cnnviz.core.training.run_log``, imported on first use (it brings torch)."""
    from cnnviz.core.training import run_log

    return run_log


class RunsList(QWidget):
    """The runs list (``runsList``), its overlays on ``curves``, and the CSV/PNG export buttons.

    Parameters
    ----------
    curves
        The panel's ``TrainingCurves``: ticked runs are drawn on its loss and accuracy plots.
    """

    def __init__(self, curves, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runsPanel")
        self.curves = curves
        self.logs: dict[int, object] = {}  # run number -> RunLog, in the order they ran
        self._current: tuple[int, object] | None = None  # the run going on now
        self._overlays: list = []
        self.list = QListWidget(objectName="runsList")
        self.list.setAccessibleName("Training runs")
        self.list.setToolTip(
            "Every run since cnnviz was opened. Tick runs to draw their curves over the plots\n"
            "(smoothed loss, test accuracy per epoch), labelled by what differs between them."
        )
        self.list.itemChanged.connect(lambda _item: self.update_overlays())
        # Whole entries, wrapped on a narrow column: a cut "… lr 0.0…" hides what sets the run apart.
        self.list.setWordWrap(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.csv_button = QPushButton("Curves as CSV…", objectName="runsExportCsv")
        self.csv_button.setToolTip("Save the ticked runs' curves (all runs if none is ticked) as one CSV file.")
        self.csv_button.clicked.connect(lambda: self.export_csv())
        self.png_button = QPushButton("Plots as PNG…", objectName="runsExportPng")
        self.png_button.setToolTip("Save the plots as they are shown now, overlays included, as a PNG picture.")
        self.png_button.clicked.connect(lambda: self.export_png())
        self.message = QLabel("", objectName="runsMessage")
        self.message.setWordWrap(True)
        self.message.setToolTip("What the last export did.")
        title = QLabel("Runs to compare", objectName="runsTitle")
        title.setBuddy(self.list)
        title.setToolTip(self.list.toolTip())
        buttons = QHBoxLayout()
        buttons.addWidget(self.csv_button)
        buttons.addWidget(self.png_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.list, stretch=1)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        self._enable_buttons()

    # -- a run, as the panel reports it ------------------------------------------------------------
    def run_started(self, run: int, config, from_current: bool) -> None:
        settings = {**config.as_dict(), "start": "current" if from_current else "scratch"}
        self._current = (run, core().RunLog(settings))
        self.update_overlays()

    def add_batches(self, p) -> None:
        """A run's ``Progress`` report."""
        if self._current is None:
            return
        log = self._current[1]
        first = log.batches == 0
        steps_per_epoch = max(p.total_steps // max(p.epochs, 1), 1)
        steps = np.asarray(p.steps, dtype=np.int64)
        epochs = (steps - 1) // steps_per_epoch + 1
        log.add_batches(steps, np.asarray(p.losses), np.asarray(p.lrs), np.asarray(p.accuracies), epochs)
        log.changes.extend(getattr(p, "changes", ()))
        if getattr(p, "layers", None) is not None:
            log.layer_rows[int(p.layers.step)] = p.layers.columns()
        if first:  # the live run has just set its axes: widen them for longer ticked runs
            self._fit_ranges(self.ticked())

    def add_epoch(self, e) -> None:
        """A run's ``EpochStats``."""
        if self._current is not None:
            self._current[1].add_epoch(e.epoch, e.train_accuracy, e.test_accuracy)

    def run_finished(self, end) -> None:
        """A run's ``RunEnd``: keep the run (unless not one batch ran)."""
        if self._current is None:
            return
        (run, log), self._current = self._current, None
        log.finish(end.reason, end.test_accuracy)
        if log.batches == 0:
            self.update_overlays()
            return
        comparing = bool(self.ticked())
        self.logs[run] = log
        item = QListWidgetItem()
        item.setData(RUN_ROLE, run)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        self.list.blockSignals(True)
        item.setCheckState(Qt.CheckState.Checked if comparing else Qt.CheckState.Unchecked)  # keep comparing
        self.list.addItem(item)
        self.list.blockSignals(False)
        self._relabel()
        self.update_overlays()
        self._enable_buttons()

    def add_log(self, log, ticked: bool = True) -> int:
        """Keep a finished run recorded elsewhere (``cnnviz train --log``, a script); returns its number."""
        run = max(self.logs, default=0) + 1
        self.logs[run] = log
        item = QListWidgetItem()
        item.setData(RUN_ROLE, run)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        self.list.blockSignals(True)
        item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
        self.list.addItem(item)
        self.list.blockSignals(False)
        self._relabel()
        self.update_overlays()
        self._enable_buttons()
        return run

    # -- what is shown ------------------------------------------------------------------------------
    def ticked(self) -> list[int]:
        """Run numbers of the ticked runs, in list order."""
        return [int(self.list.item(i).data(RUN_ROLE)) for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.CheckState.Checked]  # fmt: skip

    def set_ticked(self, runs) -> None:
        runs = set(runs)
        self.list.blockSignals(True)
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.data(RUN_ROLE) in runs else Qt.CheckState.Unchecked)
        self.list.blockSignals(False)
        self.update_overlays()

    def labels(self, runs) -> dict[int, str]:
        """Each run's label among ``runs``: its number and what sets it apart from the others."""
        runs = list(runs)
        texts = _run_log().difference_labels([self.logs[r].settings for r in runs]) if runs else []
        return {r: f"#{r} {t}" for r, t in zip(runs, texts, strict=True)}

    def _relabel(self) -> None:
        labels = self.labels(self.logs)
        self.list.blockSignals(True)
        for i in range(self.list.count()):
            item = self.list.item(i)
            run = int(item.data(RUN_ROLE))
            log = self.logs[run]
            acc = f"{100 * log.final_accuracy:.2f} %" if log.final_accuracy is not None else log.reason
            changed = "; ".join(f"{text} at batch {step:,}" for step, text in log.change_labels().items())
            item.setText(f"{labels[run]}{f' · changed {changed}' if changed else ''}  —  {acc}")
            item.setToolTip(f"Run {run}: {_run_log().describe(log.settings)}, {log.batches:,} batches, "
                            f"started {log.started:%H:%M}, {log.reason}. Tick it to draw its curves.")  # fmt: skip
        self.list.blockSignals(False)

    def update_overlays(self) -> None:
        """Draw the ticked runs over the plots; the live curves step back while runs are compared between runs."""
        curves = self.curves
        for plot, item in self._overlays:
            plot.removeItem(item)
        self._overlays = []
        ticked = self.ticked()
        labels = self.labels(ticked)
        for run in ticked:
            log = self.logs[run]
            color = RUN_COLORS[(run - 1) % len(RUN_COLORS)]
            loss = curves.loss_plot.plot(np.asarray(log.steps, float), log.smoothed_loss(),
                                         pen=pg.mkPen(color, width=2.5), name=labels[run])  # fmt: skip
            x, y = log.test_curve()
            accuracy = curves.accuracy_plot.plot(x, 100 * y, pen=pg.mkPen(color, width=2), symbol="s", symbolSize=7,
                                                 symbolBrush=color, name=labels[run])  # fmt: skip
            self._overlays += [(curves.loss_plot, loss), (curves.accuracy_plot, accuracy)]
        live = self._current is not None or not ticked
        for item in (curves.loss_raw_curve, curves.loss_curve, curves.batch_accuracy_curve,
                     curves.train_accuracy_curve, curves.test_accuracy_curve):  # fmt: skip
            item.setVisible(live)
        self._fit_ranges(ticked)

    def _fit_ranges(self, ticked: list[int]) -> None:
        """Widen the loss and accuracy axes so every ticked run fits (the live run's axes come first)."""
        if not ticked:
            return
        logs = [self.logs[r] for r in ticked]
        curves = self.curves
        steps = max(log.steps[-1] for log in logs)
        epochs = max((log.epoch_rows[-1][0] for log in logs if log.epoch_rows), default=1)
        (_, x_loss), _ = curves.loss_plot.viewRange()
        (_, x_acc), _ = curves.accuracy_plot.viewRange()
        if self._current is None or steps > x_loss:
            curves.loss_plot.setXRange(0, steps, padding=0.02)
        if self._current is None or epochs > x_acc:
            curves.accuracy_plot.setXRange(0, epochs, padding=0.02)
        tests = [100 * log.test_curve()[1] for log in logs]
        lows = [float(np.min(t)) for t in tests if len(t)]
        bottom, _ = curves.accuracy_range()
        if lows:  # every ticked run's test accuracy in view, and no lower than that needs
            low = min(lows)
            step = 1.0 if low >= 95 else 5.0 if low >= 80 else 10.0
            bottom = min(bottom, max(0.0, np.floor((low - 0.5 * step) / step) * step))
        curves.accuracy_plot.setYRange(bottom, 100, padding=0.02)
        curves.fit_loss_axis(np.concatenate([log.smoothed_loss() for log in logs]))

    # -- export -----------------------------------------------------------------------------------------
    def export_csv(self, path: str | Path | None = None) -> bool:
        """The ticked runs (all if none is ticked) in one CSV file with ``cnnviz train --log``'s columns."""
        runs = self.ticked() or list(self.logs)
        if not runs:
            return self._say("No finished run to export yet: train first.", error=True)
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export curves as CSV", "cnnviz-runs.csv", "CSV file (*.csv)")
            if not path:
                return False
        labels = self.labels(runs)
        logs = [self.logs[r] for r in runs]
        try:
            written = _run_log().write_csv(logs, path, [labels[r] for r in runs])
        except core().CnnvizError as exc:
            return self._say(str(exc), error=True)
        return self._say(f"Saved {len(logs)} run{'s' if len(logs) != 1 else ''} to {written}.")

    def export_png(self, path: str | Path | None = None) -> bool:
        """The plots as shown (overlays included) as a PNG picture."""
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export plots as PNG", "cnnviz-curves.png", "PNG image (*.png)")
            if not path:
                return False
        from cnnviz.core.errors import CnnvizError
        from cnnviz.qt.widgets.picture_file import png_path, write_png

        path = png_path(path)
        try:  # atomic: a failure leaves the old file as it was
            write_png(self.curves.grab(), path)
        except CnnvizError as exc:
            return self._say(str(exc), error=True)
        return self._say(f"Saved the plots to {path}.")

    def _say(self, text: str, error: bool = False) -> bool:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if error else "")
        return not error

    def _enable_buttons(self) -> None:
        self.csv_button.setEnabled(bool(self.logs))
