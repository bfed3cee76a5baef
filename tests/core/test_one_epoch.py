"""The default recipe: the modern LeNet reads 99 % of MNIST's test set after one epoch on the CPU."""

import math

import pytest

from cnnviz.core.training.loop import BatchStats, EpochStats, TrainConfig, TrainingEnded, train


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lenet_reaches_99_percent_in_one_epoch_with_the_defaults(data_dir, seed):
    config = TrainConfig(model="lenet", dataset="mnist", epochs=1, seed=seed, device="cpu")
    events = list(train(config, data_dir=data_dir))
    assert isinstance(events[-1], TrainingEnded) and events[-1].reason == "completed"
    (epoch,) = [e for e in events if isinstance(e, EpochStats)]
    assert epoch.test_accuracy >= 0.99, f"seed {seed}: {100 * epoch.test_accuracy:.2f}%"
    batches = [e for e in events if isinstance(e, BatchStats)]
    assert batches[-1].step == batches[-1].total_steps == math.ceil(60000 / TrainConfig().batch_size)
    assert batches[-1].loss < batches[0].loss
