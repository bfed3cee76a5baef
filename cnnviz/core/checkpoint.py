"""Weights on disk: safetensors plus JSON metadata, validated, written atomically.

Nothing here unpickles a user's file: safetensors holds only tensors, and a
legacy ``.pt``/``.pth`` state dict is read with ``torch.load(weights_only=True)``,
which refuses anything that could run code.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import pickle
import tempfile
import warnings
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes
from torch import nn

import cnnviz
from cnnviz.core.blocks import Normalize
from cnnviz.core.errors import CheckpointError
from cnnviz.core.registry import build_model, get_spec

METADATA_KEY = "cnnviz"
FORMAT = "cnnviz-weights/1"


def normalisation_of(model: nn.Module) -> dict:
    """The input normalisation built into the model, for the metadata."""
    for module in model.modules():
        if isinstance(module, Normalize):
            return {"mean": module.mean, "std": module.std}
    return {}


def build_metadata(model_name: str, model: nn.Module, **fields) -> dict:
    """Standard metadata; ``fields`` adds dataset, epochs, test_accuracy, recipe, ..."""
    return {
        "format": FORMAT,
        "model": model_name,
        "normalisation": normalisation_of(model),
        "cnnviz_version": cnnviz.__version__,
        "torch_version": torch.__version__,
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        **fields,
    }


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_checkpoint(path: str | os.PathLike, model: nn.Module, metadata: dict) -> Path:
    """Write the model's weights and ``metadata`` (must name the model) atomically.

    The bytes go to a temporary file in the same folder, are flushed to disk,
    then renamed over ``path``: a crash mid-save leaves the old file intact.
    """
    path = Path(path)
    if "model" not in metadata:
        raise ValueError("metadata must name the model")
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    blob = safetensors_bytes(tensors, metadata={METADATA_KEY: json.dumps(metadata)})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp makes 0600; a saved file is an ordinary file
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    try:
        with safe_open(str(path), framework="pt") as f:
            raw_meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception:
        raise CheckpointError(
            f"'{path.name}' is not a cnnviz weights file (it is corrupt or not safetensors)."
        ) from None
    try:
        metadata = json.loads(raw_meta[METADATA_KEY])
    except (KeyError, ValueError):
        raise CheckpointError(f"'{path.name}' holds tensors but no cnnviz metadata, so its model is unknown.") from None
    return tensors, metadata


def _read_legacy(path: Path) -> dict[str, torch.Tensor]:
    try:
        with warnings.catch_warnings():  # torch warns about the pickle protocol of files it then reads fine
            warnings.simplefilter("ignore", UserWarning)
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"'{path.name}' contains Python objects, not just weights; cnnviz will not load it because that could run code."
        ) from None
    except Exception:
        raise CheckpointError(f"'{path.name}' is not a readable PyTorch weights file.") from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not (isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values())):
        raise CheckpointError(f"'{path.name}' is not a state dict of tensors.")
    return obj


def read_metadata(path: str | os.PathLike) -> dict:
    """Only the metadata of a safetensors weights file."""
    return _read_safetensors(Path(path))[1] if Path(path).exists() else {}


def _check_state(path: Path, model_name: str, model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    missing = [k for k in expected if k not in got]
    extra = [k for k in got if k not in expected]
    wrong = [k for k in expected if k in got and got[k] != expected[k]]
    display = get_spec(model_name).display_name
    if missing or extra:
        name = (missing or extra)[0]
        what = "lacks" if missing else "has an unexpected"
        raise CheckpointError(
            f"'{path.name}' does not fit {display}: it {what} tensor '{name}' "
            f"({len(missing)} missing, {len(extra)} unexpected)."
        )
    if wrong:
        k = wrong[0]
        raise CheckpointError(
            f"'{path.name}' does not fit {display}: tensor '{k}' has shape {list(got[k])}, expected {list(expected[k])}."
        )


def load_checkpoint(path: str | os.PathLike, model_name: str | None = None) -> tuple[nn.Module, dict]:
    """Build the model named in the file and load its weights.

    ``model_name``, if given, must match the file (for a legacy ``.pt`` file
    without metadata it says which model to build). Raises ``CheckpointError``
    with one sentence on any mismatch.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"There is no weights file at '{path}'.")
    if path.suffix in (".pt", ".pth"):
        if model_name is None:
            raise CheckpointError(f"'{path.name}' is a PyTorch state dict without metadata; say which model it is for.")
        state, metadata = _read_legacy(path), {"model": model_name, "format": "legacy-state-dict"}
    else:
        state, metadata = _read_safetensors(path)
    file_model = metadata.get("model")
    try:
        spec = get_spec(str(file_model))
    except Exception:
        raise CheckpointError(f"'{path.name}' is for an unknown model '{file_model}'.") from None
    if model_name is not None and file_model != model_name:
        raise CheckpointError(
            f"'{path.name}' holds weights for {spec.display_name}, not {get_spec(model_name).display_name}."
        )
    model = build_model(spec.name)
    _check_state(path, spec.name, model, state)
    model.load_state_dict(state)
    model.eval()
    return model, metadata
