"""A run's record as CSV: the RunLog class, its labels, and ``cnnviz train --log``."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from cnnviz.core.errors import CnnvizError
from cnnviz.core.training.loop import BatchStats, EpochStats, TrainConfig, TrainingEnded, default_lr
from cnnviz.core.training.run_log import COLUMNS, RunLog, describe, difference_labels, format_lr, smooth, write_csv


def _read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_a_log_collects_batches_and_epochs_and_writes_one_row_per_batch(tmp_path):
    log = RunLog(TrainConfig(epochs=2).as_dict(), name="run 1")
    for step in range(1, 7):  # 3 batches per epoch, 2 epochs
        epoch = (step - 1) // 3 + 1
        log.record(BatchStats(step, 6, epoch, loss=2.0 / step, accuracy=0.1 * step, images_per_second=1.0, lr=1e-3))
        if step % 3 == 0:
            log.record(EpochStats(epoch, 2, 0.5, 0.5 + epoch / 10, 0.4, 0.6 + epoch / 10, 1.0))
    log.record(TrainingEnded("completed", "done", 2, 0.8, 1.0, "cpu"))
    rows = _read(log.to_csv(tmp_path / "run.csv"))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == 1 + 6
    by_step = {int(r[1]): dict(zip(COLUMNS, r, strict=True)) for r in rows[1:]}
    assert [int(by_step[s]["epoch"]) for s in range(1, 7)] == [1, 1, 1, 2, 2, 2]
    assert float(by_step[2]["loss"]) == pytest.approx(1.0) and float(by_step[2]["learning_rate"]) == 1e-3
    # Accuracies per epoch sit on the epoch's last batch and nowhere else.
    assert float(by_step[3]["test_accuracy"]) == pytest.approx(0.7) and by_step[2]["test_accuracy"] == ""
    assert float(by_step[6]["train_accuracy"]) == pytest.approx(0.7)
    assert {r["run"] for r in by_step.values()} == {"run 1"}
    assert (log.reason, log.final_accuracy) == ("completed", 0.8)
    x, y = log.test_curve()
    assert x.tolist() == [1, 2] and y == pytest.approx([0.7, 0.8])


def test_smoothing_is_the_debiased_moving_average_and_skips_a_diverged_point():
    values = np.array([1.0, 3.0, float("nan"), 2.0])
    out = smooth(values, beta=0.5)
    assert out[0] == pytest.approx(1.0)  # debiased: the first point is itself, not half of it
    assert out[1] == pytest.approx((0.25 * 1 + 0.5 * 3) / 0.75)
    assert out[2] == pytest.approx(out[1])  # a NaN loss leaves the average where it was
    assert np.isfinite(out).all()


def test_several_runs_share_one_file_with_the_same_columns(tmp_path):
    logs = []
    for name, n in (("a", 3), ("b", 5)):
        log = RunLog({}, name=name)
        log.add_batches(range(1, n + 1), np.linspace(2, 1, n), [0.1] * n, [0.5] * n, [1] * n)
        logs.append(log)
    rows = _read(write_csv(logs, tmp_path / "runs.csv"))
    assert tuple(rows[0]) == COLUMNS
    assert [r[0] for r in rows[1:]] == ["a"] * 3 + ["b"] * 5


def test_an_unwritable_path_is_one_sentence(tmp_path):
    with pytest.raises(CnnvizError, match="Could not write"):
        RunLog({}).to_csv(tmp_path / "no" / "such" / "folder" / "run.csv")


def test_labels_say_only_what_differs():
    relu = {**TrainConfig().as_dict(), "activation": "relu"}
    sigmoid_sgd = {**TrainConfig(optimizer="sgd", lr=0.9).as_dict(), "activation": "sigmoid"}
    assert difference_labels([sigmoid_sgd, relu]) == [
        "sigmoid · SGD lr 0.9",
        f"relu · Adam lr {format_lr(default_lr('adam', 1))}",
    ]
    longer = TrainConfig(epochs=3).as_dict()
    one, three = (f"Adam lr {format_lr(default_lr('adam', n))} · {n} epoch{'s' * (n > 1)}" for n in (1, 3))
    assert format_lr(default_lr("adam", 5)) == "0.0036"  # two significant digits, not 0.00357771
    assert difference_labels([TrainConfig().as_dict(), longer]) == [one, three]  # the default rate follows the epochs
    # Nothing differs (or one run alone): each run is described in full.
    assert (
        difference_labels([longer])
        == [describe(longer)]
        == [f"LeNet (modern) · MNIST · Adam lr {format_lr(default_lr('adam', 3))} · 3 epochs"]
    )


def test_cnnviz_train_log_writes_the_same_columns(tmp_path, small_data_dir, capsys):
    from cnnviz.cli.commands import main

    log_path, weights = tmp_path / "run.csv", tmp_path / "w.safetensors"
    # One epoch of the small modern LeNet on the 1,200 synthetic images: 30 batches, a second or two.
    code = main(["train", "--model", "lenet", "--epochs", "1", "--batch-size", "40", "--data-dir", str(small_data_dir),
                 "--device", "cpu", "--out", str(weights), "--log", str(log_path)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    rows = _read(log_path)
    assert tuple(rows[0][: len(COLUMNS)]) == COLUMNS  # then the per-stage columns (tests/core/test_steps.py)
    assert len(rows) == 1 + 30  # 1200 / 40 batches
    assert [int(r[1]) for r in rows[1:]] == list(range(1, 31))
    last = dict(zip(rows[0], rows[-1], strict=True))
    assert 0.2 < float(last["test_accuracy"]) <= 1  # learned: chance is 0.1 and float(last["train_accuracy"]) > 0
    assert all(r[8] == "" for r in rows[1:-1])  # one epoch: one test accuracy
    assert "Wrote 30 batches" in capsys.readouterr().out


def test_cnnviz_train_log_to_a_missing_folder_fails_before_training(tmp_path, capsys):
    from cnnviz.cli.commands import main

    code = main(["train", "--out", str(tmp_path / "w.safetensors"), "--log", str(tmp_path / "none" / "run.csv")])
    assert code == 1
    err = capsys.readouterr().err
    assert "Could not write" in err and len(err.strip().splitlines()) == 1
