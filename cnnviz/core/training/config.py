"""A run's recipe: ``TrainConfig``, its defaults, and the one validation of training numbers.

The CLI's arguments and the Training panel's form both become a ``TrainConfig``;
its ``__post_init__`` is the only place the numbers are checked.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from cnnviz.core.data.catalog import dataset_info
from cnnviz.core.errors import CnnvizError
from cnnviz.core.training.validation import number_problem

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("onecycle", "cosine", "constant")
# Adam at 0.008 with batch 96: the one-epoch LeNet recipe (99.0 % for seeds 0-2).
DEFAULT_LR = {"adam": 0.008, "adamw": 0.008, "sgd": 0.05}
LR_SCALE = {"lenet5": 0.25}  # per model, on DEFAULT_LR (see default_lr)
# Adam's moments forget fast (after the train_mnist_fast record's 0.7/0.9; 0.8/0.9
# did best for LeNet): in a one-epoch run the gradients change faster than a
# 0.9/0.999 average follows.
DEFAULT_BETAS = (0.8, 0.9)
# One-cycle: the share of the run spent raising the learning rate. A short
# warm-up leaves a one-epoch run most of its steps at a high, falling rate.
DEFAULT_WARMUP = 0.05


def default_lr(optimizer: str, epochs: int, model: str | None = None) -> float:
    """The default peak learning rate: the one-epoch recipe's, divided by sqrt(epochs), times the model's scale.

    0.008 serves one epoch (99.0 % for seeds 0-2) but is too hot for long runs (98.8 % after 15
    epochs, against 99.26 % at 0.008 / sqrt(15)); one epoch keeps its rate exactly. LeNet-5's RBF
    output wants a quarter (resources/benchmarks/lenet5-lr-sweep-*, on a GPU: one epoch 95.3 % at
    0.002 against 91.0 % at 0.008, which diverged in 3 of 5 100-step runs).
    """
    return DEFAULT_LR[optimizer] / math.sqrt(max(1, epochs)) * LR_SCALE.get(model or "", 1.0)


MAX_SEED = 2**63 - 1  # torch.manual_seed takes any int64 that is not negative


MAX_EPOCHS = 100_000
MAX_BATCH = 1_000_000
_ANY = "at least 0 and below 1"
# The one set of rules for a run's numbers: (field, label, whole number?, None allowed?, in range?, the range).
NUMBER_RULES = [
    ("epochs", "epochs", True, False, lambda v: 1 <= v <= MAX_EPOCHS, f"must be from 1 to {MAX_EPOCHS}"),
    ("batch_size", "batch size", True, False, lambda v: 1 <= v <= MAX_BATCH, f"must be from 1 to {MAX_BATCH}"),
    ("lr", "learning rate", False, True, lambda v: v > 0, "must be above 0"),
    ("weight_decay", "weight decay", False, False, lambda v: v >= 0, "must be at least 0"),
    ("momentum", "momentum", False, False, lambda v: 0 <= v < 1, f"must be {_ANY}"),
    ("beta1", "beta1", False, False, lambda v: 0 <= v < 1, f"must be {_ANY}"),
    ("beta2", "beta2", False, False, lambda v: 0 <= v < 1, f"must be {_ANY}"),
    ("warmup", "warmup", False, True, lambda v: 0 < v < 1, "must be above 0 and below 1"),
    ("label_smoothing", "label smoothing", False, False, lambda v: 0 <= v < 1, f"must be {_ANY}"),
    ("seed", "seed", True, False, lambda v: 0 <= v <= MAX_SEED, "must be from 0 to 2**63 - 1"),
    ("threads", "threads", True, True, lambda v: v >= 1, "must be at least 1"),
]  # fmt: skip


def check_numbers(config, labels: dict[str, str] | None = None) -> None:
    """Raise ``CnnvizError`` with one sentence for the first number of ``config`` out of its range.

    ``labels`` names fields the caller's way (the CLI: ``{"seed": "--seed"}``); the rules are the same.
    """
    betas = getattr(config, "betas", None) or ()
    values = {f: getattr(config, f) for f, *_ in NUMBER_RULES if hasattr(config, f)}
    values.update((f"beta{i + 1}", b) for i, b in enumerate(betas))
    for field, label, integer, optional, in_range, requirement in NUMBER_RULES:
        if field not in values or (optional and values[field] is None):
            continue  # a field the caller has not got (the CLI has no momentum option)
        value = values[field]
        label = (labels or {}).get(field, label)
        # That it is a number first: NaN fails every comparison, so a range message would mislead.
        problem = number_problem(label, value, integer=integer) or (
            None if in_range(value) else f"{label} {requirement}"
        )
        if problem:
            shown = str(value) if len(str(value)) <= 30 else str(value)[:27] + "..."
            raise CnnvizError(f"{problem[0].upper() + problem[1:]} (got {shown}).")


@dataclass
class TrainConfig:
    model: str = "lenet"
    dataset: str = "mnist"
    epochs: int = 1
    batch_size: int = 96  # 625 steps an epoch: one-epoch LeNet did better than with 128 or 64
    lr: float | None = None  # None: the optimizer's default (DEFAULT_LR)
    optimizer: str = "adam"
    momentum: float = 0.9  # SGD only
    nesterov: bool = True  # SGD only
    betas: tuple[float, float] | None = None  # Adam/AdamW only; None: DEFAULT_BETAS
    weight_decay: float = 0.0
    schedule: str = "onecycle"
    warmup: float | None = None  # one-cycle only: share of the steps warming up; None: DEFAULT_WARMUP
    cycle_momentum: bool = False  # one-cycle only: swing momentum/beta1 by 0.05 against the learning rate
    augment: bool = False
    mirror: bool = False  # left-right flips (clothes, not digits)
    label_smoothing: float = 0.1  # one-epoch LeNet: +0.1 % test accuracy over 0.0
    device: str = "auto"
    seed: int = 0
    threads: int | None = None  # CPU threads for this run's thread; None: all cores
    recipe: str | None = None  # "lecun1998": LeNet-5 the paper's way (SDLM, MAP loss); replaces optimizer and schedule
    distort: bool = False  # the lecun1998 recipe's random affine distortions

    def __post_init__(self) -> None:
        from cnnviz.core.models.registry import get_spec  # torch: imported when a run is made, not for --help

        get_spec(self.model)  # raises a clear error for an unknown model
        dataset_info(self.dataset)
        if self.betas is not None:
            if not isinstance(self.betas, tuple | list) or len(self.betas) != 2:
                raise CnnvizError("Betas must be two numbers (beta1, beta2).")
            self.betas = (self.betas[0], self.betas[1])  # a list from JSON metadata compares equal to a new config's
        for name in ("nesterov", "augment", "mirror", "cycle_momentum", "distort"):
            if not isinstance(getattr(self, name), bool):
                raise CnnvizError(f"{name.replace('_', ' ').capitalize()} must be True or False.")
        if self.optimizer not in OPTIMIZERS:
            raise CnnvizError(f"Optimizer must be one of {', '.join(OPTIMIZERS)}.")
        if self.schedule not in SCHEDULES:
            raise CnnvizError(f"Schedule must be one of {', '.join(SCHEDULES)}.")
        check_numbers(self)
        from cnnviz.core.training.lecun1998 import check_recipe

        problem = check_recipe(self.recipe, self.model, self.distort)
        if problem:
            raise CnnvizError(problem)

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else default_lr(self.optimizer, self.epochs, self.model)

    @property
    def adam_betas(self) -> tuple[float, float]:
        return self.betas if self.betas is not None else DEFAULT_BETAS

    def as_dict(self) -> dict:
        return asdict(self)
