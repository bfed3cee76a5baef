"""Every number in a TrainConfig is checked, with a message that names it."""

import math

import numpy as np
import pytest

from cnnviz.core.errors import CnnvizError
from cnnviz.core.training.loop import DEFAULT_BETAS, DEFAULT_LR, MAX_SEED, TrainConfig


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("epochs", 0, "Epochs must be from 1 to 100000 (got 0)."),
        ("epochs", 1.5, "Epochs must be a whole number"),
        ("epochs", math.nan, "Epochs must be a whole number"),
        ("epochs", True, "Epochs must be a whole number"),
        ("batch_size", 0, "Batch size must be from 1 to 1000000"),
        ("batch_size", "128", "Batch size must be a whole number"),
        ("lr", 0.0, "Learning rate must be above 0"),
        ("lr", -1e-3, "Learning rate must be above 0"),
        ("lr", math.nan, "Learning rate must be a finite number"),
        ("lr", math.inf, "Learning rate must be a finite number"),
        ("weight_decay", -0.1, "Weight decay must be at least 0"),
        ("weight_decay", math.nan, "Weight decay must be a finite number"),
        ("weight_decay", math.inf, "Weight decay must be a finite number"),
        ("momentum", 1.0, "Momentum must be at least 0 and below 1"),
        ("momentum", -0.1, "Momentum must be at least 0 and below 1"),
        ("momentum", math.nan, "Momentum must be a finite number"),
        ("warmup", 0.0, "Warmup must be above 0 and below 1"),
        ("warmup", 1.0, "Warmup must be above 0 and below 1"),
        ("warmup", math.nan, "Warmup must be a finite number"),
        ("label_smoothing", 1.0, "Label smoothing must be at least 0 and below 1"),
        ("label_smoothing", math.nan, "Label smoothing must be a finite number"),
        ("betas", (0.9, 1.0), "Beta2 must be at least 0 and below 1"),
        ("betas", (-0.1, 0.9), "Beta1 must be at least 0 and below 1"),
        ("betas", (math.nan, 0.9), "Beta1 must be a finite number"),
        ("betas", (0.9,), "Betas must be two numbers (beta1, beta2)."),
        ("betas", 0.9, "Betas must be two numbers (beta1, beta2)."),
        ("seed", -1, "Seed must be from 0 to 2**63 - 1"),
        ("seed", MAX_SEED + 1, "Seed must be from 0 to 2**63 - 1"),
        ("seed", 1.0, "Seed must be a whole number"),
        ("threads", 0, "Threads must be at least 1"),
        ("threads", 2.0, "Threads must be a whole number"),
        ("cycle_momentum", 1, "Cycle momentum must be True or False."),
        ("augment", "yes", "Augment must be True or False."),
        ("optimizer", "rmsprop", "Optimizer must be one of adam, adamw, sgd."),
        ("schedule", "step", "Schedule must be one of onecycle, cosine, constant."),
        ("dataset", "cifar", "Unknown dataset 'cifar'"),
    ],
)
def test_each_bad_value_is_a_clear_error_naming_its_field(field, value, message):
    with pytest.raises(CnnvizError) as info:
        TrainConfig(**{field: value})
    assert str(info.value).startswith(message)


def test_edges_and_numpy_numbers_are_accepted():
    config = TrainConfig(epochs=np.int64(2), lr=np.float32(0.5), seed=MAX_SEED, momentum=0.0, threads=1,
                         label_smoothing=0.0, weight_decay=0.0, betas=[0.0, 0.999])  # fmt: skip
    assert config.betas == (0.0, 0.999)  # a list (JSON metadata) becomes the tuple a new config holds
    assert TrainConfig(lr=None).learning_rate == DEFAULT_LR["adam"]
    assert TrainConfig().adam_betas == DEFAULT_BETAS and TrainConfig(betas=(0.9, 0.999)).adam_betas == (0.9, 0.999)
