import os
import pickle

import pytest
import torch

from cnnviz.core.errors import CheckpointError
from cnnviz.core.models.registry import build_model
from cnnviz.core.weights.checkpoint import build_metadata, load_checkpoint, read_metadata, save_checkpoint


def _save(path, name="lenet5", **fields):
    torch.manual_seed(1)
    model = build_model(name)
    save_checkpoint(path, model, build_metadata(name, model, dataset="mnist", test_accuracy=0.5, **fields))
    return model


def test_round_trip_is_exact(tmp_path):
    path = tmp_path / "w.safetensors"
    original = _save(path, epochs=3, recipe={"lr": 0.001})
    loaded, meta = load_checkpoint(path, "lenet5")
    for (k, a), (_, b) in zip(original.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    assert meta["model"] == "lenet5" and meta["dataset"] == "mnist" and meta["epochs"] == 3
    assert meta["recipe"] == {"lr": 0.001}
    assert meta["normalisation"]["mean"] == pytest.approx(0.1 / 1.275)
    assert {"torch_version", "cnnviz_version", "date"} <= set(meta)
    assert read_metadata(path) == meta
    x = torch.rand(2, 1, 28, 28)
    assert torch.equal(original.eval()(x), loaded(x))


def test_saved_file_has_ordinary_permissions(tmp_path):
    path = tmp_path / "w.safetensors"
    _save(path)
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_corrupt_file(tmp_path):
    path = tmp_path / "w.safetensors"
    _save(path)
    path.write_bytes(path.read_bytes()[:300])  # truncated mid-file
    with pytest.raises(CheckpointError, match="corrupt or not safetensors"):
        load_checkpoint(path)
    (tmp_path / "notes.safetensors").write_text("hello, not weights")
    with pytest.raises(CheckpointError, match="not a cnnviz weights file"):
        load_checkpoint(tmp_path / "notes.safetensors")


def test_file_of_another_model(tmp_path):
    path = tmp_path / "w.safetensors"
    _save(path, name="lenet")
    with pytest.raises(CheckpointError, match=r"holds weights for LeNet \(modern\), not LeNet-5 \(1998\)"):
        load_checkpoint(path, "lenet5")


def test_shape_mismatch_names_the_tensor(tmp_path):
    path = tmp_path / "w.pt"
    state = build_model("lenet").state_dict()
    state["fc3.weight"] = torch.zeros(5, 84)
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"tensor 'fc3.weight' has shape \[5, 84\], expected \[10, 84\]"):
        load_checkpoint(path, "lenet")


def test_safetensors_of_the_wrong_shape_or_with_foreign_metadata(tmp_path):
    from safetensors.torch import save_file

    state = {k: v.contiguous() for k, v in build_model("lenet").state_dict().items()}
    state["fc3.weight"] = torch.zeros(5, 84)
    save_file(state, tmp_path / "w.safetensors", metadata={"cnnviz": '{"model": "lenet"}'})
    with pytest.raises(CheckpointError, match=r"tensor 'fc3.weight' has shape \[5, 84\], expected \[10, 84\]"):
        load_checkpoint(tmp_path / "w.safetensors")
    save_file(state, tmp_path / "list.safetensors", metadata={"cnnviz": "[1, 2]"})  # JSON, but not an object
    with pytest.raises(CheckpointError, match="no cnnviz metadata"):
        load_checkpoint(tmp_path / "list.safetensors")


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch EXPLOITED",))


def test_a_pickle_cannot_run_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("evil.pt", "evil.safetensors"):
        (tmp_path / name).write_bytes(pickle.dumps({"conv1.weight": _Exploit()}))
        with pytest.raises(CheckpointError) as err:
            load_checkpoint(tmp_path / name, "lenet")
        assert "\n" not in str(err.value)
    assert not (tmp_path / "EXPLOITED").exists()


def test_a_legacy_state_dict_loads_with_weights_only(tmp_path):
    model = build_model("lenet")
    torch.save(model.state_dict(), tmp_path / "old.pth")
    loaded, meta = load_checkpoint(tmp_path / "old.pth", "lenet")
    assert torch.equal(loaded.state_dict()["fc3.weight"], model.state_dict()["fc3.weight"])


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    _save(path)
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        _save(path, name="lenet")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.safetensors"]  # no temp file left


def test_session_refuses_a_file_of_another_model_and_keeps_its_own(tmp_path):
    from cnnviz.core.session.session import ModelSession

    path = tmp_path / "w.safetensors"
    _save(path, name="lenet")
    session = ModelSession("lenet5")
    before = session.model
    with pytest.raises(CheckpointError, match="not LeNet-5"):
        session.load_file(path, "lenet5")
    assert session.model is before and session.model_name == "lenet5" and session.source_kind == "untrained"
    session.load_file(path)  # without a required model, the file's own model is adopted
    assert session.model_name == "lenet" and session.source_kind == "file"
