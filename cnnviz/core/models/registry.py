"""The model zoo as data: one ``ModelSpec`` per model, buildable by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import torch
from torch import nn


@dataclass(frozen=True)
class ModelSpec:
    """What the app and the command line need to know about a model.

    ``num_params`` is computed from a built model (once per spec); the
    registry's test compares the zoo's figures with written ones, the way
    torchvision checks its weight metadata. A network loaded from the user's
    own ``.py`` file records that file's absolute path and SHA-256, and any
    warnings its checks raised (see ``cnnviz.core.models.user_model``).
    """

    name: str
    display_name: str
    builder: Callable[[], nn.Module] = field(repr=False)
    reference: str = ""
    description: str = ""
    input_size: tuple[int, int, int] = (1, 28, 28)
    num_classes: int = 10
    source_path: str | None = None
    source_sha256: str | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)
    variant_of: str | None = None  # e.g. the sigmoid LeNet is a training setting of "lenet", not a zoo entry

    @property
    def source_name(self) -> str | None:
        """The file name of a user's network (``my_net.py``), else None."""
        return Path(self.source_path).name if self.source_path else None

    @cached_property
    def num_params(self) -> int:
        """Trainable parameters of the built model (computed once; the global RNG is left as it was)."""
        with torch.random.fork_rng(devices=[]):
            return count_parameters(self.builder())


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec, *, replace: bool = False) -> ModelSpec:
    """Add ``spec`` to the registry; at import time for the zoo, or at run time.

    ``replace=True`` swaps a registered spec of the same name for ``spec`` (a
    user's network reloaded from its file). Call ``list_models()`` first at run
    time so the zoo keeps its place at the head of the list.

    Raises
    ------
    ValueError
        If the name is taken and ``replace`` is false.
    """
    if spec.name in _REGISTRY and not replace:
        raise ValueError(f"model {spec.name!r} is registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def unregister_model(name: str) -> ModelSpec | None:
    """Remove a model added at run time; returns its spec, or None if it was not registered."""
    return _REGISTRY.pop(name, None)


def list_models(variants: bool = False) -> list[ModelSpec]:
    """The registered models in registration order: the zoo and the user's networks, and with
    ``variants`` also the settings-made variants (the modern LeNet with sigmoid or tanh)."""
    return [spec for spec in _REGISTRY.values() if variants or spec.variant_of is None]


def get_spec(name: str) -> ModelSpec:
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
