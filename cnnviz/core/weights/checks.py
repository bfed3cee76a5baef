"""What a weights file must satisfy before anything in it is used.

A file's tensors must be floating point, finite and of a size a trained
network can have (a file scaled by 1e30 predicts "0 (nan%)"); its metadata
fields must have the types and ranges the app formats them with. A bad
optional field is dropped with a note, so that nothing fails after the
weights have been adopted; a bad model name refuses the file.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnnviz.core.data.datasets import DATASETS
from cnnviz.core.data.files import short
from cnnviz.core.errors import CheckpointError

MAX_FILE_BYTES = 200_000_000  # 200 MB; the largest shipped file (AlexNet) is 2.2 MB
MAX_MAGNITUDE = 1e6  # trained weights, biases and BatchNorm statistics stay far below this
MAX_NAME = 200  # characters of a model name
_DATASETS = tuple(DATASETS)


class Metadata(dict):
    """A weights file's metadata; ``notes`` says, one sentence each, which fields were ignored.

    A plain ``dict`` to every reader (and to ``json.dumps``); ``notes`` is
    not a key, so it is never written back into a saved file.
    """

    def __init__(self, *args, notes: list[str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.notes: list[str] = list(notes or [])


def registered_model(name: object) -> str | None:
    """``name`` if it is a model of the registry, else None."""
    from cnnviz.core.models.registry import get_spec

    if not isinstance(name, str) or len(name) > MAX_NAME:
        return None
    try:
        return get_spec(name).name
    except Exception:
        return None


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _fraction(value: Any) -> bool:
    return _is_number(value) and 0 <= value <= 1


def _short_string(value: object) -> bool:
    return isinstance(value, str) and len(value) <= MAX_NAME


# Optional fields the app or the CLI reads, and what each must be. Others pass untouched.
_FIELDS = {
    "dataset": (lambda v: v in _DATASETS if isinstance(v, str) else False, f"one of {', '.join(_DATASETS)}"),
    "test_accuracy": (_fraction, "a number from 0 to 1"),
    "epochs": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "a whole number"),
    "training_seconds": (lambda v: _is_number(v) and v >= 0, "a number of seconds"),
    "test_accuracy_history": (lambda v: isinstance(v, list) and all(map(_fraction, v)), "a list of accuracies"),
    "recipe": (lambda v: isinstance(v, dict), "a set of training settings"),
    "normalisation": (
        lambda v: isinstance(v, dict) and all(k in ("mean", "std") and _is_number(x) for k, x in v.items()),
        "a mean and a standard deviation",
    ),
    **{key: (_short_string, "a short text") for key in ("format", "cnnviz_version", "torch_version", "date", "device")},
}


def checked_metadata(path: Path, metadata: dict) -> Metadata:
    """``metadata`` with its model name checked and bad optional fields dropped (see ``notes``).

    Raises ``CheckpointError`` when the model name is missing or not a short string.
    """
    model = metadata.get("model")
    if model is None:
        raise CheckpointError(f"'{path.name}' does not say which model its weights are for.")
    if not isinstance(model, str):
        raise CheckpointError(f"'{path.name}' names its model with {type(model).__name__} data, not a name.")
    if not 0 < len(model) <= MAX_NAME:
        raise CheckpointError(
            f"'{path.name}' names a model of {len(model):,} characters ('{short(model)}'); "
            f"a model name has 1 to {MAX_NAME}."
        )
    checked = Metadata(metadata)
    for key, (ok, meaning) in _FIELDS.items():
        if key in checked and not ok(checked[key]):
            value = checked.pop(key)
            checked.notes.append(f"Its {key} field ({short(repr(value), 40)}) is not {meaning}, so it was ignored.")
    return checked


def check_values(path: Path, model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Refuse tensors of the wrong kind or with values no trained network has.

    Floating-point parameters and buffers must be floating point in the file,
    finite and within ``MAX_MAGNITUDE``; integer buffers (BatchNorm's batch
    counter) must be non-negative integers. Shapes are checked before this.
    """
    reference = model.state_dict()
    for key, tensor in state.items():
        expected = reference.get(key)
        if expected is None:
            continue  # an unexpected name is refused by the shape check
        where = f"'{path.name}' cannot be used: tensor '{short(key)}'"
        if expected.is_floating_point():
            if not tensor.is_floating_point():
                raise CheckpointError(f"{where} holds {_dtype(tensor)} values, not floating-point weights.")
            values = tensor.detach().double()
            if not bool(torch.isfinite(values).all()):
                raise CheckpointError(f"{where} holds NaN or infinite values.")
            if values.numel() and float(values.abs().max()) > MAX_MAGNITUDE:
                raise CheckpointError(
                    f"{where} holds values up to {float(values.abs().max()):.3g}, "
                    f"beyond the ±{MAX_MAGNITUDE:.0e} of any trained network."
                )
        elif tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
            raise CheckpointError(f"{where} holds {_dtype(tensor)} values, not a whole-number counter.")
        elif tensor.numel() and bool((tensor < 0).any()):
            raise CheckpointError(f"{where} holds a negative counter.")


def _dtype(tensor: torch.Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")
