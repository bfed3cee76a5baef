"""A run that blows up ends "diverged" and keeps weights from before the damage."""

import math

import pytest
import torch

from cnnviz.core.data.datasets import load_split, to_float
from cnnviz.core.models.registry import build_model
from cnnviz.core.training.loop import BatchStats, TrainConfig, TrainingEnded, evaluate_loss_accuracy, train
from cnnviz.core.training.rollback import Rollback


def _test_accuracy(model, data_dir) -> float:
    x, y = load_split("mnist", False, data_dir)
    return evaluate_loss_accuracy(model, x, y)[1]


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(optimizer="adam", lr=1e3, schedule="constant", device="cpu"),
        TrainConfig(optimizer="sgd", lr=1000.0, schedule="constant", device="cpu"),
        TrainConfig(optimizer="sgd", lr=1e6, device="cpu"),  # one-cycle: it warms up into the damage
    ],
    ids=["adam-1e3", "sgd-1000", "sgd-1e6-onecycle"],
)
def test_huge_learning_rates_end_diverged_with_undamaged_weights(data_dir, config):
    model = build_model("lenet", seed=0)
    initial = [t.clone() for t in model.state_dict().values()]
    events = list(train(config, model=model, data_dir=data_dir, report_interval=0, rollback_every=20, max_steps=300))
    end = events[-1]
    assert isinstance(end, TrainingEnded) and end.reason == "diverged"
    assert "diverged" in end.message and "learning rate" in end.message
    assert all(torch.isfinite(t).all() for t in model.state_dict().values())
    restored_initial = all(torch.equal(a, b) for a, b in zip(initial, model.state_dict().values(), strict=True))
    accuracy = _test_accuracy(model, data_dir)
    assert (end.kept_step == 0) == restored_initial  # the app shows the network from before the run then
    if restored_initial:
        assert "from before the run" in end.message
    else:  # a copy from during the run: the message names it and its test accuracy, which beats chance
        assert accuracy > 0.15 and end.test_accuracy == pytest.approx(accuracy)
        assert f"{100 * accuracy:.2f}%" in end.message and "weights of batch" in end.message
    # Every reported loss is a number: the damaged batches are not drawn.
    assert all(math.isfinite(v) for e in events if isinstance(e, BatchStats) for v in e.losses)


def test_a_run_that_learns_nothing_ends_diverged_and_restores_the_weights_from_before(data_dir):
    # Zero learning is the quietest way to end an epoch at chance level (an untrained lenet).
    model = build_model("lenet", seed=0)
    initial = [t.clone() for t in model.state_dict().values()]
    assert _test_accuracy(model, data_dir) <= 0.15
    config = TrainConfig(optimizer="sgd", lr=1e-12, momentum=0.0, schedule="constant", device="cpu")
    end = list(train(config, model=model, data_dir=data_dir, max_steps=30))[-1]
    assert end.reason == "diverged" and "chance level" in end.message and "from before the run" in end.message
    assert all(torch.equal(a, b) for a, b in zip(initial, model.state_dict().values(), strict=True))


def test_rollback_trusts_a_copy_only_after_its_own_losses_were_read_back():
    model = torch.nn.Linear(2, 2)
    rollback = Rollback(model, num_classes=10, every=10)
    assert [c.step for c in rollback.candidates()] == [0]  # only the weights from before the run
    assert rollback.first_bad([2.3, 2.2]) is None and rollback.reference_loss == 2.3
    rollback.maybe_take(12)
    rollback.sound_up_to(12)  # losses up to 12 were computed before the copy: not yet trusted
    assert [c.step for c in rollback.candidates()] == [0]
    rollback.sound_up_to(14)
    assert [c.step for c in rollback.candidates()] == [12, 0]
    # A non-finite loss is damage at once; so is a recent mean 10x above the start (or 10 log(classes)).
    assert rollback.first_bad([1.0, math.nan]) == 1
    fresh = Rollback(model, num_classes=10, every=10)
    assert fresh.first_bad([2.3, 1e3]) == 1  # the mean of (2.3, 1000) is far above 23
    steady = Rollback(model, num_classes=10, every=10)
    assert steady.first_bad([2.3] * 9 + [44.0] + [2.0] * 5) is None  # one spike among ten: (20.7 + 44) / 10 < 23
    assert steady.first_bad([30.0] * 9) == 7  # a run that stays high: the ten-batch mean passes 23 at the eighth
    rollback.epoch_passed(30, 0.9)
    assert [(c.step, c.test_accuracy) for c in rollback.candidates()] == [(30, 0.9)]


def test_restore_gives_back_the_copied_weights_exactly():
    model = torch.nn.Linear(3, 2)
    before = model.weight.detach().clone()
    rollback = Rollback(model, num_classes=10, every=1)
    with torch.no_grad():
        model.weight.fill_(math.nan)
    rollback.candidates()[-1].restore()
    assert torch.equal(model.weight, before)


def test_diverged_run_from_the_cli_keeps_no_file(tmp_path, data_dir, capsys):
    from cnnviz.cli.commands import main

    out = tmp_path / "w.safetensors"
    code = main(["train", "--optimizer", "sgd", "--lr", "1e6", "--out", str(out), "--data-dir", str(data_dir),
                 "--device", "cpu", "--batch-size", "6000"])  # fmt: skip
    assert code == 1 and not out.exists()
    assert "diverged" in capsys.readouterr().err


def test_weights_after_rollback_still_give_a_finite_loss(data_dir):
    model = build_model("lenet", seed=1)
    config = TrainConfig(optimizer="sgd", lr=1e6, schedule="constant", device="cpu")
    assert list(train(config, model=model, data_dir=data_dir, max_steps=50))[-1].reason == "diverged"
    x, y = load_split("mnist", True, data_dir)
    with torch.no_grad():
        assert torch.isfinite(torch.nn.functional.cross_entropy(model(to_float(x[:512])), y[:512]))


def test_damage_mid_run_rolls_back_to_the_latest_copy_that_beats_chance(data_dir):
    model = build_model("lenet", seed=0)
    config = TrainConfig(device="cpu")
    events, damaged_after = [], None
    for event in train(config, model=model, data_dir=data_dir, report_interval=0, rollback_every=20, max_steps=200):
        events.append(event)
        if isinstance(event, BatchStats) and event.step == 90:
            with torch.no_grad():  # as a wild step would: every later loss is NaN
                model.fc3.weight.fill_(math.nan)
            damaged_after = event.step
    end = events[-1]
    assert end.reason == "diverged" and f"at batch {damaged_after + 1} the loss became nan" in end.message
    # Copies are taken every 20 steps and trusted once the next read-back is sound: step 80 is the latest.
    assert "weights of batch 80" in end.message
    accuracy = _test_accuracy(model, data_dir)
    assert accuracy > 0.5 and end.test_accuracy == pytest.approx(accuracy)
    assert torch.isfinite(model.fc3.weight).all()
