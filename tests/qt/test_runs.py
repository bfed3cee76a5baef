"""Runs to compare: two short real runs in the runs list, overlaid, exported as CSV and PNG."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QListWidget

from cnnviz.core import ModelSession
from cnnviz.core.training.loop import default_lr
from cnnviz.core.training.run_log import COLUMNS
from cnnviz.qt.training.monitor import TrainingMonitor

DEFAULT = default_lr("adam", 1)  # the panel's default rate for one epoch

RUN_TIMEOUT_MS = 120_000


@pytest.fixture
def monitor(qtbot, data_dir):
    widget = TrainingMonitor(ModelSession("lenet", data_dir=data_dir))  # the recipe the labels compare
    qtbot.addWidget(widget)
    widget.resize(900, 1300)
    widget.show()
    yield widget
    widget.shutdown()


def short_run(qtbot, monitor, batches: int) -> dict:
    """Start with the panel's settings, stop after at least ``batches`` batches; the panel's result."""
    with qtbot.waitSignal(monitor.trainingStarted, timeout=5000):
        monitor.start()
    assert not monitor.results.bar.button.isEnabled()  # no evaluating while a run trains the weights
    qtbot.waitUntil(lambda: monitor.steps_done >= batches, timeout=RUN_TIMEOUT_MS)
    with qtbot.waitSignal(monitor.trainingFinished, timeout=30_000) as blocker:
        monitor.stop()
    return blocker.args[0]


@pytest.fixture
def two_runs(qtbot, monitor):
    first = short_run(qtbot, monitor, 25)
    s = monitor.settings
    s.optimizer_combo.setCurrentIndex(s.optimizer_combo.findData("sgd"))
    s.lr_spin.setValue(0.1)
    second = short_run(qtbot, monitor, 25)
    return monitor, first, second


def test_every_run_is_kept_and_labelled_by_what_differs(two_runs):
    monitor, first, second = two_runs
    runs = monitor.findChild(QListWidget, "runsList")
    assert runs is monitor.runs.list and runs.toolTip()
    assert runs.count() == 2
    logs = [monitor.runs.logs[r] for r in sorted(monitor.runs.logs)]
    assert [log.batches for log in logs] == [first.steps, second.steps]  # every batch, none lost
    assert [log.steps for log in logs] == [list(range(1, r.steps + 1)) for r in (first, second)]
    assert [log.reason for log in logs] == ["stopped", "stopped"]
    texts = [runs.item(i).text() for i in range(2)]
    assert texts[0].startswith(f"#1 Adam lr {DEFAULT:g}") and texts[1].startswith("#2 SGD lr 0.1")
    assert all(text.endswith("stopped") for text in texts)  # stopped runs have no final test accuracy
    assert logs[1].settings["optimizer"] == "sgd" and logs[1].settings["start"] == "scratch"


def test_ticked_runs_overlay_their_curves(qtbot, two_runs):
    monitor, first, second = two_runs
    runs, curves = monitor.runs, monitor.curves
    assert runs.ticked() == [] and curves.loss_curve.isVisible()  # nothing ticked: the last run's live curves
    for i in range(2):
        runs.list.item(i).setCheckState(Qt.CheckState.Checked)  # as a click on the box does
    assert runs.ticked() == [1, 2]
    loss_overlays = [item for plot, item in runs._overlays if plot is curves.loss_plot]
    assert [item.name() for item in loss_overlays] == [f"#1 Adam lr {DEFAULT:g}", "#2 SGD lr 0.1"]
    for item, log in zip(loss_overlays, (runs.logs[1], runs.logs[2]), strict=True):
        x, y = item.getData()
        assert np.array_equal(x, log.steps) and np.allclose(y, log.smoothed_loss())
    legend = [label.text for _, label in curves.loss_plot.legend.items]
    assert "#2 SGD lr 0.1" in legend
    assert not curves.loss_curve.isVisible()  # compared between runs: the live curves step back
    (_, x_top), (_, y_top) = curves.loss_plot.viewRange()
    assert x_top >= max(first.steps, second.steps) and y_top >= max(runs.logs[1].smoothed_loss())
    runs.list.item(0).setCheckState(Qt.CheckState.Unchecked)
    # Alone, a run is described in full: there is nothing it differs from.
    assert [item.name() for plot, item in runs._overlays if plot is curves.loss_plot] == [
        "#2 LeNet (modern) · MNIST · SGD lr 0.1 · 1 epoch"
    ]


def test_export_csv_and_png(qtbot, two_runs, tmp_path):
    monitor, first, second = two_runs
    runs = monitor.runs
    runs.set_ticked([1, 2])
    path = tmp_path / "runs.csv"
    assert runs.export_csv(path)
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0][: len(COLUMNS)]) == COLUMNS
    assert "conv1/grad_norm" in rows[0]  # the app's runs measure inside their layers too (issue 20)
    assert len(rows) == 1 + first.steps + second.steps
    names = [r[0] for r in rows[1:]]
    assert names == [f"#1 Adam lr {DEFAULT:g}"] * first.steps + ["#2 SGD lr 0.1"] * second.steps
    assert [int(r[1]) for r in rows[1 : first.steps + 1]] == list(range(1, first.steps + 1))
    assert all(float(r[3]) > 0 and float(r[5]) > 0 for r in rows[1:])  # a loss and a learning rate every batch
    assert "Saved 2 runs" in runs.message.text()

    runs.set_ticked([2])
    assert runs.export_csv(tmp_path / "one.csv")
    with (tmp_path / "one.csv").open(newline="", encoding="utf-8") as f:
        one = list(csv.reader(f))
    assert len(one) == 1 + second.steps and one[1][0] == "#2 LeNet (modern) · MNIST · SGD lr 0.1 · 1 epoch"

    assert runs.export_png(tmp_path / "plots")
    image = QImage(str(tmp_path / "plots.png"))
    assert not image.isNull() and image.width() == monitor.curves.width()
    assert not runs.export_csv(tmp_path / "missing" / "x.csv")
    assert "Could not write" in runs.message.text()


def test_a_new_run_joins_a_comparison(qtbot, two_runs):
    monitor, _, _ = two_runs
    monitor.runs.set_ticked([2])
    third = short_run(qtbot, monitor, 5)
    assert monitor.runs.list.count() == 3 and monitor.runs.ticked() == [2, 3]
    assert monitor.runs.logs[3].batches == third.steps
