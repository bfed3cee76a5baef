"""The training step never waits for the host: device values are read back once per report, not per batch."""

import sys
import threading

import pytest
import torch

from cnnviz.core.training import loop as training
from cnnviz.core.training.loop import BatchStats, EpochStats, TrainConfig, TrainControl, TrainingEnded, train

# Every way a tensor's value reaches Python (each one waits for a CUDA/MPS device).
_CONVERSIONS = ("item", "tolist", "numpy", "cpu", "__float__", "__int__", "__bool__", "__index__")
_ENGINE_FILES = ("training.py", "rollback.py", "augment.py")


@pytest.fixture
def host_reads(monkeypatch):
    """Counts ``_read_back`` calls, and tensor conversions made by the engine anywhere else."""
    counts = {"read_back": 0, "elsewhere": []}
    read_back = training._read_back

    def counted_read_back(values):
        counts["read_back"] += 1
        return read_back(values)

    monkeypatch.setattr(training, "_read_back", counted_read_back)
    for name in _CONVERSIONS:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            frame = sys._getframe(1)
            path = frame.f_code.co_filename.replace("\\", "/")
            if "/cnnviz/core/" in path and path.endswith(_ENGINE_FILES) and frame.f_code.co_name != "_read_back":
                counts["elsewhere"].append(f"{_name} in {frame.f_code.co_name}")
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return counts


@pytest.mark.parametrize("interval", [0.0, 3600.0])
def test_one_read_back_per_report_and_per_evaluation(data_dir, host_reads, interval):
    events = list(train(TrainConfig(device="cpu"), data_dir=data_dir, report_interval=interval, max_steps=40))
    reports = [e for e in events if isinstance(e, BatchStats)]
    epochs = [e for e in events if isinstance(e, EpochStats)]
    assert events[-1].reason == "completed" and len(epochs) == 1
    assert host_reads["elsewhere"] == []  # no float(loss), int(correct), bool(isfinite) per batch
    assert host_reads["read_back"] <= len(reports) + len(epochs)  # one per report, one per test-set evaluation
    if interval > 60:  # nothing reported until the epoch's end: 40 batches, one read-back
        assert len(reports) == 1 and reports[0].batches == 40
    else:
        assert len(reports) == 40


def test_reports_cover_every_batch_once_in_order(small_data_dir):
    config = TrainConfig(device="cpu", batch_size=120, epochs=2)  # 10 batches an epoch of the 1,200 images
    events = list(train(config, data_dir=small_data_dir, report_interval=3600.0, max_steps=15))
    reports = [e for e in events if isinstance(e, BatchStats)]
    assert [list(r.steps) for r in reports] == [list(range(1, 11)), list(range(11, 16))]  # never across epochs
    assert [r.epoch for r in reports] == [1, 2]
    for r in reports:
        assert len(r.losses) == len(r.accuracies) == len(r.lrs) == r.batches
        assert (r.loss, r.accuracy, r.lr) == (r.losses[-1], r.accuracies[-1], r.lrs[-1])
        assert all(0 <= a <= 1 for a in r.accuracies)
    epochs = [e for e in events if isinstance(e, EpochStats)]
    assert [e.epoch for e in epochs] == [1, 2] and epochs[0].epochs == 2
    # The epoch's training loss is the size-weighted mean of its batches' losses.
    assert epochs[0].train_loss == pytest.approx(sum(reports[0].losses) / 10)


def test_pause_shows_every_batch_done_before_blocking(data_dir):
    control = TrainControl()
    gen = train(TrainConfig(device="cpu"), control=control, data_dir=data_dir, report_interval=3600.0)
    seen = []

    def consume():
        for event in gen:
            seen.append(event)
            if isinstance(event, TrainingEnded):
                return

    control.pause()  # before the first batch: nothing to show, so the loop blocks at once
    worker = threading.Thread(target=consume)
    worker.start()
    worker.join(0.5)
    assert worker.is_alive() and seen == []
    control.resume()
    while not seen:  # batches run until the pause below; the report interval is an hour
        if not worker.is_alive():
            break
        control.pause()
        worker.join(0.5)
    assert worker.is_alive(), "a pause after some batches must block the loop"
    done = seen[-1].step
    assert isinstance(seen[-1], BatchStats) and list(seen[-1].steps) == list(range(1, done + 1))
    control.stop()
    worker.join(10)
    assert isinstance(seen[-1], TrainingEnded) and seen[-1].reason == "stopped"
    assert f"after {done} of" in seen[-1].message


def test_one_cycle_with_beta1_0_9_keeps_torch_momentum_cycle():
    # Recipes recorded before betas, warmup and cycle_momentum existed ran Adam(0.9, 0.999) with
    # torch's 0.85-0.95 momentum cycle and a quarter of the steps warming up: these repeat them.
    model = torch.nn.Linear(2, 2)
    config = TrainConfig(betas=(0.9, 0.999), warmup=0.25, cycle_momentum=True)
    ours = training.make_schedule(config, training.make_optimizer(config, model.parameters()), 100)
    theirs = torch.optim.lr_scheduler.OneCycleLR(
        torch.optim.Adam(model.parameters(), lr=config.learning_rate), config.learning_rate, total_steps=100,
        pct_start=0.25,
    )  # fmt: skip
    for _ in range(60):
        ours_group, theirs_group = ours.optimizer.param_groups[0], theirs.optimizer.param_groups[0]
        assert (ours_group["betas"], ours_group["lr"]) == (theirs_group["betas"], theirs_group["lr"])
        ours.optimizer.step(), ours.step(), theirs.optimizer.step(), theirs.step()


def test_without_momentum_cycling_beta1_stays_put():
    model = torch.nn.Linear(2, 2)
    config = TrainConfig()
    schedule = training.make_schedule(config, training.make_optimizer(config, model.parameters()), 50)
    for _ in range(40):
        assert schedule.optimizer.param_groups[0]["betas"] == training.DEFAULT_BETAS
        schedule.optimizer.step(), schedule.step()
