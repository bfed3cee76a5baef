"""Runs of a handful of steps (a quick check, a step-by-step lesson) train with every schedule."""

import pytest

from cnnviz.core.training.loop import SCHEDULES, TrainConfig, TrainingEnded, train


@pytest.mark.parametrize("steps", [1, 2, 3, 5, 20])
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_a_few_steps_complete(data_dir, steps, schedule):
    events = list(train(TrainConfig(model="lenet", schedule=schedule), data_dir=data_dir, max_steps=steps))
    ended = events[-1]
    assert isinstance(ended, TrainingEnded) and ended.reason == "completed", ended.message
