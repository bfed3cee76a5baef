"""Hostile and unlucky weights files: each is refused with one sentence, or loads with its bad fields noted."""

from __future__ import annotations

import json
import os
import pickle

import pytest
import torch
from fifo_guard import fifo_guard
from safetensors.torch import save_file

from cnnviz.core.data import files
from cnnviz.core.errors import CheckpointError
from cnnviz.core.models.registry import build_model
from cnnviz.core.weights import checkpoint
from cnnviz.core.weights.checkpoint import build_metadata, load_checkpoint, read_metadata, save_checkpoint


def _state(name="lenet5"):
    torch.manual_seed(0)
    return {k: v.contiguous().clone() for k, v in build_model(name).state_dict().items()}


def _write(path, state, **meta):
    meta = {"model": "lenet5", "dataset": "mnist", "test_accuracy": 0.99, **meta}
    save_file(state, str(path), metadata={"cnnviz": json.dumps(meta)})
    return path


def _refused(path, match, model="lenet5"):
    with pytest.raises(CheckpointError, match=match) as err:
        load_checkpoint(path, model)
    message = str(err.value)
    assert "\n" not in message and len(message) < 400
    return err.value


def test_a_fifo_is_refused_without_being_opened(tmp_path):
    path = tmp_path / "x.safetensors"
    with fifo_guard(path) as guard:
        _refused(path, "not a regular file")
        with pytest.raises(CheckpointError, match="not a regular file"):
            read_metadata(path)
    assert not guard["opened"]


def test_a_folder_and_an_oversized_file_are_refused_before_reading(tmp_path):
    (tmp_path / "dir.safetensors").mkdir()
    _refused(tmp_path / "dir.safetensors", "is a folder, not a weights file")
    big = tmp_path / "big.safetensors"
    with open(big, "wb") as f:
        f.truncate(checkpoint.MAX_FILE_BYTES + 1)  # sparse: no disk used
    _refused(big, "more than the 200 MB cnnviz reads")


def test_an_unreadable_file_is_called_unreadable(tmp_path, monkeypatch):
    path = _write(tmp_path / "w.safetensors", _state())
    real_open = os.open

    def denied(p, *args, **kwargs):  # chmod 000 would not stop root
        if os.fspath(p) == os.fspath(path):
            raise PermissionError(13, "Permission denied")
        return real_open(p, *args, **kwargs)

    monkeypatch.setattr(files.os, "open", denied)
    _refused(path, r"'w.safetensors' is unreadable \(permission denied\)")


@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8, torch.int64, torch.bool])
def test_weights_that_are_not_floating_point_are_refused(tmp_path, dtype):
    state = _state()
    state["C1.0.weight"] = state["C1.0.weight"].to(dtype)
    _refused(_write(tmp_path / "w.safetensors", state), "tensor 'C1.0.weight' holds .* not floating-point weights")


@pytest.mark.parametrize(
    "damage, match",
    [
        (lambda t: t.fill_(float("nan")), "NaN or infinite"),
        (lambda t: t.fill_(float("inf")), "NaN or infinite"),
        (lambda t: t.mul_(1e30), "values up to .* beyond"),
    ],
    ids=["nan", "inf", "scaled-1e30"],
)
def test_weights_with_values_no_network_has_are_refused(tmp_path, damage, match):
    state = _state()
    damage(state["F6.1.weight"])
    _refused(_write(tmp_path / "w.safetensors", state), f"tensor 'F6.1.weight' holds {match}")


def test_a_legacy_state_dict_with_nan_is_refused(tmp_path):
    state = _state("lenet")
    state["fc3.weight"][0, 0] = float("nan")
    torch.save(state, tmp_path / "old.pt")
    _refused(tmp_path / "old.pt", "NaN or infinite", model="lenet")


def test_random_bytes_and_real_pickles_are_told_apart(tmp_path):
    (tmp_path / "noise.pt").write_bytes(bytes(range(256)) * 4)
    _refused(tmp_path / "noise.pt", "'noise.pt' is not a PyTorch weights file", model="lenet")

    class Exploit:
        def __reduce__(self):
            return (os.system, ("true",))

    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"fc3.weight": Exploit()}, protocol=2))
    _refused(tmp_path / "evil.pt", "contains Python objects", model="lenet")


@pytest.mark.parametrize(
    "field, value",
    [
        ("test_accuracy", "0.99"),
        ("test_accuracy", {"value": 0.99}),
        ("test_accuracy", float("inf")),
        ("test_accuracy", float("nan")),
        ("test_accuracy", -5.0),
        ("test_accuracy", True),
        ("dataset", ["mnist"]),
        ("dataset", "cifar"),
        ("epochs", "many"),
        ("normalisation", {"mean": "x"}),
    ],
)
def test_a_bad_optional_field_is_dropped_with_a_note(tmp_path, field, value):
    path = _write(tmp_path / "w.safetensors", _state(), **{field: value})
    model, meta = load_checkpoint(path, "lenet5")
    assert field not in meta and meta["model"] == "lenet5"
    (note,) = meta.notes
    assert note.startswith(f"Its {field} field") and "ignored" in note
    assert field not in read_metadata(path) and read_metadata(path).notes == [note]
    if field != "dataset":
        assert meta["dataset"] == "mnist"  # the good fields stay


def test_good_metadata_has_no_notes_and_notes_are_never_saved(tmp_path):
    path = _write(tmp_path / "w.safetensors", _state(), test_accuracy="high")
    model, meta = load_checkpoint(path)
    assert meta.notes and "test_accuracy" not in meta
    save_checkpoint(tmp_path / "again.safetensors", model, {**meta, **build_metadata("lenet5", model)})
    again = read_metadata(tmp_path / "again.safetensors")
    assert again.notes == [] and "notes" not in again


@pytest.mark.parametrize("model", [5_000_000 * "x", 12, ["lenet5"], ""])
def test_a_model_name_that_is_not_a_short_string_is_refused_briefly(tmp_path, model):
    err = _refused(_write(tmp_path / "w.safetensors", _state(), model=model), "'w.safetensors'")
    assert err.file_model is None


def test_a_long_tensor_name_is_cut_in_the_message(tmp_path):
    state = _state()
    state["y" * 100_000] = torch.zeros(1)
    _refused(_write(tmp_path / "w.safetensors", state), "unexpected tensor 'yyy")


def test_the_error_names_the_files_model_so_the_app_need_not_reopen_it(tmp_path):
    path = _write(tmp_path / "w.safetensors", _state("lenet"), model="lenet")
    err = _refused(path, "holds weights for LeNet")
    assert err.file_model == "lenet"
    state = _state()
    state["C1.0.weight"].fill_(float("nan"))
    assert _refused(_write(tmp_path / "nan.safetensors", state), "NaN").file_model == "lenet5"
