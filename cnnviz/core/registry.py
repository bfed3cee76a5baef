"""The model zoo as data: one ``ModelSpec`` per model, buildable by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass(frozen=True)
class ModelSpec:
    """What the app and the command line need to know about a model.

    ``num_params`` is written down here and recomputed from the built model by
    a test, the way torchvision checks its weight metadata.
    """

    name: str
    display_name: str
    builder: Callable[[], nn.Module] = field(repr=False)
    num_params: int
    reference: str
    description: str
    input_size: tuple[int, int, int] = (1, 28, 28)
    num_classes: int = 10


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"model {spec.name!r} is registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def _ensure_loaded() -> None:
    # The model modules register themselves on import; importing them here
    # keeps registry.py free of a circular import.
    from cnnviz.core import lenet, zoo  # noqa: F401


def list_models() -> list[ModelSpec]:
    """All registered models, in the order they were registered."""
    _ensure_loaded()
    return list(_REGISTRY.values())


def get_spec(name: str) -> ModelSpec:
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        from cnnviz.core.errors import CnnvizError

        known = ", ".join(_REGISTRY)
        raise CnnvizError(f"Unknown model '{name}'; choose one of: {known}.") from None


def build_model(name: str, seed: int | None = None) -> nn.Module:
    """A freshly initialised model; every model maps 1x28x28 in [0, 1] to 10 scores.

    With ``seed``, the initial weights are repeatable and the global RNG is left as it was.
    """
    spec = get_spec(name)
    if seed is None:
        return spec.builder()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return spec.builder()


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters (LeNet-5's absent C3 weights are not stored, so not counted)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
