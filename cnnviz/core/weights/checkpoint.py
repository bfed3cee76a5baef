"""Weights on disk: safetensors plus JSON metadata, validated, written atomically.

Nothing here unpickles a user's file: safetensors holds only tensors, and a
legacy ``.pt``/``.pth`` state dict is read with ``torch.load(weights_only=True)``,
which refuses anything that could run code.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import pickle
import secrets
import warnings
from pathlib import Path

import torch
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_bytes
from torch import nn

import cnnviz
from cnnviz.core.data.files import open_regular, read_regular, short
from cnnviz.core.errors import CheckpointError, CnnvizError
from cnnviz.core.models.blocks import Normalize
from cnnviz.core.models.registry import build_model, get_spec
from cnnviz.core.weights.checks import MAX_FILE_BYTES, Metadata, check_values, checked_metadata, registered_model

METADATA_KEY = "cnnviz"
FORMAT = "cnnviz-weights/1"


def normalisation_of(model: nn.Module) -> dict:
    """The input normalisation built into the model, for the metadata."""
    for module in model.modules():
        if isinstance(module, Normalize):
            return {"mean": module.mean, "std": module.std}
    return {}


def build_metadata(model_name: str, model: nn.Module, **fields) -> dict:
    """Standard metadata; ``fields`` adds dataset, epochs, test_accuracy, recipe, ...

    A user's network from a .py file also records ``model_file``: the file's
    name and SHA-256, so its weights load only into that same network.
    """
    spec = _registered(model_name)
    model_file = {"name": spec.source_name, "sha256": spec.source_sha256} if spec and spec.source_sha256 else None
    return {
        "format": FORMAT,
        "model": model_name,
        **({"model_file": model_file} if model_file else {}),
        "normalisation": normalisation_of(model),
        "cnnviz_version": cnnviz.__version__,
        "torch_version": torch.__version__,
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        **fields,
    }


def expected_size(model: nn.Module) -> int:
    """About the bytes a weights file of ``model`` takes: its tensors plus room for the header."""
    return sum(t.numel() * t.element_size() for t in model.state_dict().values()) + 64_000


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
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        # 0o666 less the umask, as for any ordinary file (mkstemp would make it 0600).
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _not_safetensors(path: Path) -> CheckpointError:
    return CheckpointError(f"'{path.name}' is not a cnnviz weights file (it is corrupt or not safetensors).")


def _parse_metadata(path: Path, raw_meta: dict) -> dict:
    try:
        metadata = json.loads(raw_meta[METADATA_KEY])
    except (KeyError, ValueError, TypeError, RecursionError):
        metadata = None
    if not isinstance(metadata, dict):
        raise CheckpointError(f"'{path.name}' holds tensors but no cnnviz metadata, so its model is unknown.")
    return metadata


def _header(path: Path, head: bytes, size: int) -> tuple[dict, dict[str, tuple]]:
    """The raw ``__metadata__`` and the tensor shapes of a safetensors header, checked for form.

    ``head`` starts at byte 0 and holds at least the whole header.
    """
    n = int.from_bytes(head[:8], "little") if len(head) >= 8 else -1
    if not 2 <= n <= size - 8 or len(head) < 8 + n:
        raise _not_safetensors(path)
    try:
        header = json.loads(head[8 : 8 + n])
        raw_meta = header.pop("__metadata__", None) or {}
        shapes = {k: tuple(int(d) for d in v["shape"]) for k, v in header.items()}
    except Exception:
        raise _not_safetensors(path) from None
    if not isinstance(raw_meta, dict):
        raise _not_safetensors(path)
    return raw_meta, shapes


def _read_header(path: Path) -> tuple[dict, dict[str, tuple]]:
    """Only the header of a safetensors file: its metadata and shapes, no tensor."""
    with open_regular(path, what="weights file", limit=MAX_FILE_BYTES, error=CheckpointError) as (f, size):
        try:
            head = f.read(8)
            n = int.from_bytes(head, "little") if len(head) == 8 else -1
            if 0 <= n <= size - 8:
                head += f.read(n)
        except OSError:
            raise CheckpointError(f"'{path.name}' is unreadable.") from None
    return _header(path, head, size)


def _read_safetensors(path: Path) -> tuple[Metadata, dict[str, tuple], bytes]:
    """Metadata (checked), shapes and the file's bytes, read once."""
    data = read_regular(path, what="weights file", limit=MAX_FILE_BYTES, error=CheckpointError)
    raw_meta, shapes = _header(path, data, len(data))
    return checked_metadata(path, _parse_metadata(path, raw_meta)), shapes, data


def _tensors(path: Path, data: bytes) -> dict[str, torch.Tensor]:
    try:
        return safetensors_load(data)
    except Exception:
        raise _not_safetensors(path) from None


def _read_legacy(path: Path) -> dict[str, torch.Tensor]:
    data = read_regular(path, what="weights file", limit=MAX_FILE_BYTES, error=CheckpointError)
    try:
        with warnings.catch_warnings():  # torch warns about the pickle protocol of files it then reads fine
            warnings.simplefilter("ignore", UserWarning)
            obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # Only a pickle that names a forbidden global (os.system, a class, ...) holds Python
        # objects; torch raises the same error type for bytes that are no pickle at all.
        if "GLOBAL" in str(exc):
            raise CheckpointError(
                f"'{path.name}' contains Python objects, not just weights; cnnviz will not load it because that could run code."
            ) from None
        raise CheckpointError(f"'{path.name}' is not a PyTorch weights file.") from None
    except Exception:
        raise CheckpointError(f"'{path.name}' is not a PyTorch weights file.") from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not (isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values())):
        raise CheckpointError(f"'{path.name}' is not a state dict of tensors.")
    return obj


def read_metadata(path: str | os.PathLike) -> dict:
    """Only the metadata of a safetensors weights file (no tensor is read), checked.

    Returns ``{}`` when there is no file; raises ``CheckpointError`` for a file
    that is not a cnnviz weights file. Bad optional fields are dropped and
    listed in the result's ``notes``.
    """
    path = Path(path)
    if not os.path.lexists(path):
        return {}
    return checked_metadata(path, _parse_metadata(path, _read_header(path)[0]))


def _check_shapes(path: Path, model_name: str, expected: dict[str, tuple], got: dict[str, tuple]) -> None:
    missing = [k for k in expected if k not in got]
    extra = [k for k in got if k not in expected]
    wrong = [k for k in expected if k in got and got[k] != expected[k]]
    display = get_spec(model_name).display_name
    if missing or extra:
        name = (missing or extra)[0]
        what = "lacks" if missing else "has an unexpected"
        raise CheckpointError(
            f"'{path.name}' does not fit {display}: it {what} tensor '{short(name)}' "
            f"({len(missing)} missing, {len(extra)} unexpected)."
        )
    if wrong:
        k = wrong[0]
        raise CheckpointError(
            f"'{path.name}' does not fit {display}: tensor '{short(k)}' has shape {short(list(got[k]))}, "
            f"expected {list(expected[k])}."
        )


def _registered(model_name: str):
    try:
        return get_spec(model_name)
    except CnnvizError:
        return None


def _check_model_file(path: Path, metadata: dict, spec) -> None:
    """Weights of a user's network fit only the network open now from the same file content.

    Only compares names and hashes: nothing in a weights file ever leads to running a .py file.
    """
    saved = metadata.get("model_file")
    saved_name = saved.get("name") if isinstance(saved, dict) else None
    if spec is None:
        if saved_name:
            raise CheckpointError(
                f"'{path.name}' was saved from {saved_name}: open that network first "
                f"(File > Open network, or --model PATH/{str(metadata.get('model'))[:100]} on the command line)."
            )
        raise CheckpointError(f"'{path.name}' is for an unknown model '{metadata.get('model')}'.")
    # A legacy .pt/.pth state dict has no metadata: whoever names its model vouches for it.
    if spec.source_sha256 and metadata.get("format") != "legacy-state-dict":
        if not isinstance(saved, dict) or saved.get("sha256") != spec.source_sha256:
            raise CheckpointError(
                f"'{path.name}' was saved from {saved_name or 'a network file'} with other content than "
                f"the {spec.source_name} open now."
            )


def _model_for(path: Path, metadata: dict, model_name: str | None) -> nn.Module:
    """A fresh model of the kind the file names, which must be ``model_name`` if given."""
    file_model = metadata.get("model")
    spec = _registered(str(file_model))
    _check_model_file(path, metadata, spec)
    if model_name is not None and file_model != model_name:
        raise CheckpointError(
            f"'{path.name}' holds weights for {spec.display_name}, not {get_spec(model_name).display_name}."
        )
    return build_model(spec.name)


def load_checkpoint(path: str | os.PathLike, model_name: str | None = None) -> tuple[nn.Module, dict]:
    """Build the model named in the file and load its weights.

    ``model_name``, if given, must match the file (for a legacy ``.pt`` file
    without metadata it says which model to build). The file is read once;
    its tensors and metadata are all checked before the model is returned.
    Raises ``CheckpointError`` with one sentence on any problem; its
    ``file_model`` names the file's model when that is known.

    Returns
    -------
    model, metadata
        ``metadata`` is a ``Metadata`` dict whose ``notes`` list the optional
        fields that were ignored.
    """
    path = Path(path)
    if not os.path.lexists(path):
        raise CheckpointError(f"There is no weights file at '{path}'.")
    if path.suffix in (".pt", ".pth"):
        if model_name is None:
            raise CheckpointError(f"'{path.name}' is a PyTorch state dict without metadata; say which model it is for.")
        metadata = Metadata({"model": model_name, "format": "legacy-state-dict"})
        model = _model_for(path, metadata, model_name)
        state = _read_legacy(path)
        _check_shapes(path, model_name, _shapes(model), {k: tuple(v.shape) for k, v in state.items()})
        check_values(path, model, state)
    else:
        metadata, shapes, data = _read_safetensors(path)
        try:
            model = _model_for(path, metadata, model_name)
            _check_shapes(path, metadata["model"], _shapes(model), shapes)
            state = _tensors(path, data)
            check_values(path, model, state)
        except CheckpointError as exc:
            exc.file_model = registered_model(metadata["model"])
            raise
    model.load_state_dict(state)
    model.eval()
    return model, metadata


def _shapes(model: nn.Module) -> dict[str, tuple]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}
