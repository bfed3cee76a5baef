"""The default recipe: the modern LeNet reads 99 % of MNIST's test set after one epoch on the CPU."""

import math

import pytest

from cnnviz.core.training.loop import BatchStats, EpochStats, TrainConfig, TrainingEnded, train

# The same seed lands a few test images apart on different CPUs (oneDNN picks other kernels on AVX-512/AMX
# machines): seeds 0-2 read 99.05/99.00/99.02 % on one 2-core machine, 98.97/98.90/99.06 % on another. What holds
# on both, and what the README says: about 99 %, never far below it.
FLOOR, MEAN_FLOOR = 0.988, 0.989
_ACCURACY: dict[int, float] = {}


@pytest.mark.slow
@pytest.mark.xdist_group("one-epoch")  # the three seeds in one worker: the last one checks their mean
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lenet_reads_about_99_percent_after_one_epoch_with_the_defaults(data_dir, seed):
    config = TrainConfig(model="lenet", dataset="mnist", epochs=1, seed=seed, device="cpu")
    events = list(train(config, data_dir=data_dir))
    assert isinstance(events[-1], TrainingEnded) and events[-1].reason == "completed"
    (epoch,) = [e for e in events if isinstance(e, EpochStats)]
    assert epoch.test_accuracy >= FLOOR, f"seed {seed}: {100 * epoch.test_accuracy:.2f}%"
    _ACCURACY[seed] = epoch.test_accuracy
    if len(_ACCURACY) == 3:  # the last seed: their mean too
        mean = sum(_ACCURACY.values()) / 3
        assert mean >= MEAN_FLOOR, f"seeds 0-2: mean {100 * mean:.2f}%"
    batches = [e for e in events if isinstance(e, BatchStats)]
    assert batches[-1].step == batches[-1].total_steps == math.ceil(60000 / TrainConfig().batch_size)
    assert batches[-1].loss < batches[0].loss
