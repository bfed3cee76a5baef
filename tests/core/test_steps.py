"""Issue 20 in the core: one Step is one optimizer step, live changes, the weights back in time, layer figures."""

from __future__ import annotations

import copy
import csv
import math
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tiny_idx import write_idx_dataset  # noqa: E402

from cnnviz.core import TrainConfig, TrainingRun  # noqa: E402
from cnnviz.core.errors import CnnvizError  # noqa: E402
from cnnviz.core.models.registry import build_model  # noqa: E402
from cnnviz.core.training.loop import make_optimizer  # noqa: E402
from cnnviz.core.training.run import Progress, RunEnd  # noqa: E402
from cnnviz.core.training.run_log import COLUMNS  # noqa: E402
from cnnviz.core.training.snapshots import Snapshots  # noqa: E402
from cnnviz.core.training.step_mode import StepReport  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_idx_dataset(tmp_path_factory.mktemp("tiny"), n_train=320, n_test=100)


def _config(**changes) -> TrainConfig:
    return TrainConfig(**{"model": "lenet", "batch_size": 32, "device": "cpu", "threads": 1, **changes})


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k].cpu(), b[k].cpu()) for k in a)


def test_one_step_is_exactly_one_optimizer_step_reproduced_with_torch(tiny):
    config = _config(epochs=1)  # Adam, one-cycle: the step's own learning rate and Adam's state both matter
    model = build_model("lenet", seed=3)
    shadow = copy.deepcopy(model)
    optimizer = make_optimizer(config, shadow.parameters())
    run = TrainingRun(config, model, tiny)
    run.step_once()  # from the very start: the first batch is a step
    reports = run.reports()
    steps = []
    for report in reports:
        if isinstance(report, StepReport):
            steps.append(report)
            before = {k: v.clone() for k, v in shadow.state_dict().items()}
            for group in optimizer.param_groups:
                group["lr"] = report.lr
            # The same batch, the same loss, the same optimizer state: torch by hand.
            scores = shadow(torch.from_numpy(report.images))
            loss = F.cross_entropy(scores, torch.from_numpy(report.labels), label_smoothing=config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            assert _same(shadow.state_dict(), run.model.state_dict())  # exactly one step, no more, no less
            assert not _same(before, shadow.state_dict())
            assert report.train_loss == pytest.approx(float(loss.detach()), rel=1e-6)
            if len(steps) == 3:
                run.stop()
            else:
                run.step_once()  # the second and third steps start from the state the first left (Adam's moments)
        assert not isinstance(report, RunEnd) or report.reason == "stopped"
    assert [s.step for s in steps] == [1, 2, 3] and run.end.steps == 3
    first = steps[0]
    assert first.images.shape == (32, 1, 28, 28) and first.labels.shape == first.answers_after.shape == (32,)
    assert first.kernel_stage == "conv1" and first.kernels_before.shape == (6, 1, 5, 5)
    assert first.kernels_change is not None and abs(first.kernels_change).max() > 0
    assert first.stages[0] == "conv1" and all(g > 0 for g in first.grad_norm) and all(r > 0 for r in first.update_ratio)
    assert math.isfinite(first.loss_before) and math.isfinite(first.loss_after)


def test_a_learning_rate_change_reaches_the_optimizer_at_the_next_batch(tiny):
    run = TrainingRun(_config(epochs=1, schedule="onecycle"), data_dir=tiny, report_interval=0)
    lrs = {}
    changes = []
    for report in run.reports():
        if isinstance(report, Progress):
            lrs.update(zip(report.steps, report.lrs, strict=True))
            changes.extend(report.changes)
            if report.step == 4:
                run.change(lr=0.0123, beta1=0.5)
    assert run.end.reason == "completed"
    assert lrs[4] != 0.0123 and all(lrs[s] == 0.0123 for s in range(5, 11))  # held: the schedule stopped there
    assert changes == [(5, {"lr": 0.0123, "beta1": 0.5})]


def test_momentum_of_sgd_changes_and_bad_values_are_one_sentence(tiny):
    run = TrainingRun(_config(epochs=1, optimizer="sgd", schedule="constant"), data_dir=tiny, report_interval=0)
    with pytest.raises(CnnvizError, match="Momentum must be at least 0 and below 1"):
        run.change(momentum=1.5)
    with pytest.raises(CnnvizError, match="Learning rate must be above 0"):
        run.change(lr=0)
    changes = []
    for report in run.reports():
        if isinstance(report, Progress):
            changes.extend(report.changes)
            if report.step == 2:
                run.change(momentum=0.5)
    assert changes == [(3, {"momentum": 0.5})]


def test_snapshots_give_the_starting_and_the_final_weights_exactly_and_stay_bounded(tiny):
    model = build_model("lenet", seed=1)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    snapshots = Snapshots(every=5, capacity=12)
    run = TrainingRun(_config(epochs=30, batch_size=32), model, tiny, snapshots=snapshots, max_steps=300)
    for _ in run.reports():
        pass
    assert run.end.reason == "completed" and run.end.steps == 300
    steps = snapshots.steps()
    assert steps[0] == 0 and steps[-1] == 300 and len(steps) <= 12
    assert _same(snapshots.weights(0), start)
    assert _same(snapshots.weights(300), run.model.state_dict())
    regular = steps[:-1]  # the final weights close the time line wherever the run ended
    gaps = {b - a for a, b in zip(regular[:-1], regular[1:], strict=True)}
    assert gaps == {snapshots.every} and snapshots.every > 5 and 300 - regular[-1] <= snapshots.every  # even
    assert not _same(snapshots.weights(steps[1]), start)


def test_cli_log_has_the_per_stage_columns(tmp_path, tiny, capsys):
    from cnnviz.cli.commands import main

    log = tmp_path / "run.csv"
    code = main(["train", "--model", "lenet", "--epochs", "1", "--batch-size", "32", "--data-dir", str(tiny),
                 "--device", "cpu", "--out", str(tmp_path / "w.safetensors"), "--log", str(log)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    with open(log, newline="") as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0])
    assert tuple(header[: len(COLUMNS)]) == COLUMNS
    for stage in ("conv1", "conv2", "fc1", "fc3"):
        assert {f"{stage}/grad_norm", f"{stage}/update_ratio", f"{stage}/dead"} <= set(header)
    measured = [r for r in rows if r["conv1/grad_norm"]]
    assert measured and rows[-1]["conv1/grad_norm"]  # the last batch is always measured
    assert all(float(r["conv1/grad_norm"]) > 0 and 0 <= float(r["conv1/dead"]) <= 1 for r in measured)
    assert all(r["fc3/dead"] == "" for r in rows)  # the output layer has no ReLU: no dead units to count


def test_layer_stats_count_dead_units_and_fill_fixed_histograms():
    from torch import nn

    from cnnviz.core.training.layer_stats import LayerStats

    torch.manual_seed(0)
    model = nn.Sequential()
    model.add_module("hidden", nn.Sequential(nn.Linear(4, 6), nn.ReLU()))
    model.add_module("out", nn.Linear(6, 3))
    with torch.no_grad():
        model.hidden[0].bias[:2] = -100.0  # two units that no input can switch on: dead
    stats = LayerStats(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):  # the report window: three batches
        loss = F.cross_entropy(model(torch.randn(8, 4)), torch.randint(0, 3, (8,)))
        optimizer.zero_grad()
        loss.backward()
        stats.before_step()
        optimizer.step()
    with torch.no_grad():
        model(torch.randn(8, 4) * 1000)  # an evaluation (no gradients) does not count as a training batch
    measured = stats.measure(3)
    stats.close()
    assert measured.names == ("hidden", "out")
    assert measured.dead[0] == pytest.approx(2 / 6) and math.isnan(measured.dead[1])
    assert measured.weight_hist.shape == measured.grad_hist.shape == (2, 32)
    assert measured.weight_hist.sum(1) == pytest.approx([1, 1]) and measured.grad_hist.sum(1) == pytest.approx([1, 1])
    assert all(v > 0 for v in measured.grad_norm) and all(v > 0 for v in measured.update_ratio)
    assert stats.measure(4) is None  # no weights kept before a step: nothing to compare


def test_the_run_log_records_a_change_where_it_took_effect(tiny, tmp_path):
    from cnnviz.core.training.run_log import RunLog

    run = TrainingRun(_config(epochs=1, optimizer="sgd"), data_dir=tiny, report_interval=0, layer_stats=True)
    log = RunLog(run.config.as_dict())
    for report in run.reports():
        log.record(report)
        if isinstance(report, Progress) and report.step == 3:
            run.change(lr=0.02, momentum=0.5)
    with open(log.to_csv(tmp_path / "run.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["change"] for r in rows if r["change"]] == ["lr 0.02, momentum 0.5"]
    assert [int(r["step"]) for r in rows if r["change"]] == [4]
    assert float(rows[3]["learning_rate"]) == pytest.approx(0.02)
    assert all(r["conv1/grad_norm"] for r in rows)  # a report after every batch: every batch measured
