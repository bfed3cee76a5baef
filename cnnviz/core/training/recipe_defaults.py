"""A recipe's own defaults for the numbers a command line leaves out (torch-free: the CLI's parse stays light)."""

from __future__ import annotations

# lecun1998: the paper's 20 passes; batches of 10 per-sample steps; the schedule's first rate
# (cnnviz.core.training.lecun1998.eta_for_pass(0), which a test keeps equal to it).
RECIPE_DEFAULTS = {"lecun1998": {"epochs": 20, "batch_size": 10, "first_lr": 0.00001}}


def fill_recipe_defaults(args, fallback: dict) -> None:
    """Set ``args.epochs`` / ``args.batch_size`` where None: the recipe's value, else ``fallback``'s (TrainConfig's)."""
    own = RECIPE_DEFAULTS.get(getattr(args, "recipe", None) or "", {})
    for name in ("epochs", "batch_size"):
        if getattr(args, name, None) is None:
            setattr(args, name, own.get(name, fallback[name]))


# The networks each recipe can train: lecun1998's loss reads the faithful LeNet-5's RBF outputs.
RECIPE_MODELS = {"lecun1998": ("lenet5", "lenet5-lecun1998", "lenet5-lecun1998-distort")}
