"""The ``cnnviz train`` line that reproduces a recorded recipe (the shipped table prints it; tests rebuild it)."""

from __future__ import annotations

import dataclasses

# Recipes recorded before these settings existed ran with torch's Adam and one-cycle defaults.
BEFORE_SETTINGS = {"betas": (0.9, 0.999), "warmup": 0.25, "cycle_momentum": True}


def train_command(recipe: dict, out: str) -> str:
    """The ``cnnviz train`` line that reproduces a recorded recipe."""
    from cnnviz.core.training.loop import TrainConfig

    recipe = {**recipe, **{k: v for k, v in BEFORE_SETTINGS.items() if k not in recipe}}
    defaults = {
        f.name: f.default
        for f in dataclasses.fields(TrainConfig)
        if f.name in ("momentum", "nesterov", "weight_decay", "label_smoothing", "device")
    }
    parts = ["cnnviz train"]
    replaced = ("optimizer", "schedule", "betas", "warmup", "cycle_momentum", "label_smoothing")
    for key, value in recipe.items():
        if key in ("threads",) or defaults.get(key, object()) == value or value is None:
            continue
        if recipe.get("recipe") and key in replaced:  # settings the 1998 recipe does not use
            continue
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            parts += [flag] if value else []
        elif isinstance(value, tuple | list):
            parts += [flag, *map(str, value)]
        elif key not in ("momentum", "nesterov"):
            parts += [flag, str(value)]
    return " ".join([*parts, "--out", out])
