import threading

import pytest
import torch

from cnnviz.core.errors import CnnvizError
from cnnviz.core.models.registry import build_model
from cnnviz.core.training.loop import BatchStats, TrainConfig, TrainControl, TrainingEnded, train


def _events(config, data_dir, **kw):
    return list(train(config, data_dir=data_dir, **kw))


# One epoch of the default recipe on real MNIST (its accuracy, batch count and falling loss):
# tests/core/test_one_epoch.py, which runs the same configuration for three seeds.


def test_stop_is_honoured_within_one_batch(data_dir):
    control = TrainControl()
    seen = []
    config = TrainConfig(model="lenet", epochs=1, device="cpu")
    for event in train(config, control=control, data_dir=data_dir, report_interval=0):
        seen.append(event)
        if isinstance(event, BatchStats) and event.step == 3:
            control.stop()
    assert isinstance(seen[-1], TrainingEnded) and seen[-1].reason == "stopped"
    assert [e.step for e in seen if isinstance(e, BatchStats)] == [1, 2, 3]


def test_pause_blocks_and_resume_continues(data_dir):
    control = TrainControl()
    gen = train(
        TrainConfig(model="lenet", epochs=1, device="cpu"), control=control, data_dir=data_dir, report_interval=0
    )
    assert next(gen).step == 1
    control.pause()
    box = []
    worker = threading.Thread(target=lambda: box.append(next(gen)))
    worker.start()
    worker.join(0.5)
    assert worker.is_alive() and box == []  # paused: no batch is produced
    control.resume()
    worker.join(10)
    assert box[0].step == 2
    control.stop()
    assert next(gen).reason == "stopped"


def test_divergence_stops_with_reason_and_keeps_finite_weights(data_dir):
    model = build_model("lenet")
    config = TrainConfig(model="lenet", optimizer="sgd", lr=1e6, schedule="constant", device="cpu")
    events = _events(config, data_dir, model=model)
    end = events[-1]
    assert end.reason == "diverged" and "diverged" in end.message and "learning rate" in end.message
    assert all(torch.isfinite(p).all() for p in model.parameters())
    # "Last good" means they still give a finite loss, as the rolled-back step's weights did.
    from cnnviz.core.data.datasets import load_split, to_float

    x, y = load_split("mnist", True, data_dir)
    with torch.no_grad():
        assert torch.isfinite(torch.nn.functional.cross_entropy(model(to_float(x[:512])), y[:512]))


def test_cpu_training_is_repeatable(data_dir):
    def losses(seed):
        control, out = TrainControl(), []
        for e in train(
            TrainConfig(model="lenet5", device="cpu", seed=seed, augment=True), control=control, data_dir=data_dir
        ):
            if not isinstance(e, BatchStats):
                break
            out.extend(e.losses)
            if len(out) >= 5:
                control.stop()
        return out[:5]

    assert losses(7) == losses(7)
    assert losses(7) != losses(8)


def test_bad_settings_are_clear_errors():
    with pytest.raises(CnnvizError, match="Optimizer must be one of"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(CnnvizError, match="Unknown model"):
        TrainConfig(model="lenet7")
    with pytest.raises(CnnvizError, match="not available"):
        list(train(TrainConfig(device="cuda:7" if not torch.cuda.is_available() else "mps:9")))


def test_seeded_builds_are_repeatable_and_leave_the_global_rng_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a, b = build_model("lenet", seed=5), build_model("lenet", seed=5)
    assert torch.rand(1).item() == expected_next.item()
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    assert not torch.equal(build_model("lenet", seed=6).fc3.weight, a.fc3.weight)


def test_session_begins_training_from_scratch_or_from_current():
    from cnnviz.core.session.session import ModelSession

    session = ModelSession("lenet")
    model, note = session.begin_training("lenet", "mnist", from_current=False, seed=3)
    assert session.source_kind == "training" and note is None
    assert torch.equal(model.fc3.weight, build_model("lenet", seed=3).fc3.weight)
    assert model is not session.model  # the GUI keeps its own copy
    model, _ = session.begin_training("lenet", "fashion-mnist", from_current=True)
    assert torch.equal(model.fc3.weight, session.model.fc3.weight) and session.dataset == "fashion-mnist"
