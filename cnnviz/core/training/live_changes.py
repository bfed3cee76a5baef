"""Changing a run while it runs: learning rate, momentum, Adam's betas, applied before the next batch.

The GUI (or a test) asks ``TrainControl.change(lr=...)`` from any thread; the
loop takes the request before its next batch and ``apply`` writes it into the
optimizer's ``param_groups``. A changed value holds from then on: a schedule
that would overwrite it (every schedule sets the learning rate; one-cycle with
``cycle_momentum`` sets the momentum too) stops there.
"""

from __future__ import annotations

import torch

from cnnviz.core.errors import CnnvizError
from cnnviz.core.training.config import NUMBER_RULES
from cnnviz.core.training.validation import number_problem

NAMES = ("lr", "momentum", "beta1", "beta2")
_RULES = {rule[0]: rule for rule in NUMBER_RULES}


def check_change(name: str, value) -> float:
    """The value as a float, or ``CnnvizError`` with one sentence (the same rules as a run's settings)."""
    if name not in NAMES:
        raise CnnvizError(f"Only {', '.join(NAMES)} can change during a run (got {name!r}).")
    _, label, integer, _, in_range, requirement = _RULES[name]
    problem = number_problem(label, value, integer=integer) or (None if in_range(value) else f"{label} {requirement}")
    if problem:
        raise CnnvizError(f"{problem[0].upper() + problem[1:]} (got {value}).")
    return float(value)


def changeable(optimizer_name: str) -> tuple[str, ...]:
    """What can change for a run with this optimizer."""
    return ("lr", "momentum") if optimizer_name == "sgd" else ("lr", "beta1", "beta2")


def apply(optimizer: torch.optim.Optimizer, changes: dict[str, float]) -> dict[str, float]:
    """Write ``changes`` into every parameter group; returns what applied (momentum on Adam is its beta1)."""
    applied = {}
    for group in optimizer.param_groups:
        for name, value in changes.items():
            if name == "lr":
                group["lr"] = value
            elif "betas" in group and name in ("momentum", "beta1", "beta2"):
                beta1, beta2 = group["betas"]
                group["betas"] = (value, beta2) if name in ("momentum", "beta1") else (beta1, value)
            elif name == "momentum" and "momentum" in group:
                group["momentum"] = value
            else:
                continue
            applied[name] = value
    return applied


def stops_schedule(applied: dict[str, float], cycles_momentum: bool) -> bool:
    """Whether the run's schedule would overwrite what just changed."""
    return "lr" in applied or (cycles_momentum and bool(applied))


def describe(changes: dict[str, float]) -> str:
    """ "lr 0.01, momentum 0.5": the run log's and the curves' label of a change."""
    names = {"lr": "lr", "momentum": "momentum", "beta1": "beta1", "beta2": "beta2"}
    return ", ".join(f"{names.get(k, k)} {v:.3g}" for k, v in changes.items())
