"""The lesson file (Qt-free): scenes and their weights round-trip; bad files are one sentence."""

import json
import shutil

import numpy as np
import pytest
import torch

from cnnviz.core.models.registry import build_model
from cnnviz.core.session.lesson import (
    Lesson,
    LessonError,
    NetworkFile,
    Scene,
    check_network_file,
    load_lesson,
    model_for,
    save_lesson,
)


def _lesson() -> Lesson:
    lesson = Lesson()
    torch.manual_seed(3)
    a = build_model("lenet5")
    torch.manual_seed(4)
    b = build_model("lenet")
    key_a = lesson.add_weights("lenet5", a.state_dict(), {"dataset": "mnist", "test_accuracy": 0.9, "notes": ["x"]})
    key_b = lesson.add_weights("lenet", b.state_dict())
    assert lesson.add_weights("lenet5", a.state_dict()) == key_a  # shared weights are stored once
    picture = lesson.add_picture(np.arange(280 * 280, dtype=np.uint8).reshape(280, 280))
    test = lesson.add_picture(np.linspace(0, 1, 784, dtype=np.float32).reshape(28, 28))
    lesson.scenes = [
        Scene("Strokes", "lenet5", "mnist", key_a, drawing=[{"stroke": [[0.1, 0.2, 0.07], [0.5, 0.6, 0.07]]}],
              unit=("C1", 2, 3, 4), attribution_method="saliency", attribution_class=7, docks=["dockInspector"]),
        Scene("Picture", "lenet", "fashion-mnist", key_b, drawing=[{"picture": picture}], page=3, quiz=True),
        Scene("Test image", "lenet5", "mnist", key_a, drawing=[{"picture": picture}], test_input=test, true_label=5,
              workspace="Inside"),
    ]  # fmt: skip
    return lesson


def test_a_saved_lesson_reads_back_the_same(tmp_path):
    original = _lesson()
    path = save_lesson(tmp_path / "l.cnnlesson", original)
    lesson = load_lesson(path)
    assert lesson.scenes == original.scenes
    assert len(lesson.weights) == 2
    for key, weights in original.weights.items():
        model = model_for(lesson, key)
        for name, tensor in weights.tensors.items():
            assert torch.equal(model.state_dict()[name], tensor), name
    assert lesson.weights[original.scenes[0].weights].metadata == {"dataset": "mnist", "test_accuracy": 0.9}
    for key, array in original.pictures.items():
        assert lesson.pictures[key].dtype == array.dtype and np.array_equal(lesson.pictures[key], array)


def test_deleting_scenes_drops_what_only_they_used(tmp_path):
    lesson = _lesson()
    del lesson.scenes[1]
    reread = load_lesson(save_lesson(tmp_path / "l.cnnlesson", lesson))
    assert len(reread.weights) == 1 and len(reread.pictures) == 2


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "weights file", "other format", "no scenes",
                                    "wrong shapes", "unknown network", "nan weights", "missing picture"])  # fmt: skip
def test_bad_lesson_files_are_one_sentence(tmp_path, damage):
    path = tmp_path / "bad.cnnlesson"
    lesson = _lesson()
    if damage == "wrong shapes":
        key = lesson.scenes[0].weights
        first = next(iter(lesson.weights[key].tensors))
        lesson.weights[key].tensors[first] = torch.zeros(3, 3)
    elif damage == "unknown network":
        lesson.weights[lesson.scenes[0].weights].model = "no-such-net"
    elif damage == "nan weights":
        next(iter(lesson.weights[lesson.scenes[0].weights].tensors.values())).fill_(float("nan"))
    save_lesson(path, lesson)
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"PK\x03\x04 this is a zip, not a lesson" * 10)
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "weights file":
        shutil.copy(_weights_file(tmp_path), path)
    elif damage in ("other format", "no scenes", "missing picture"):
        n = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + n])
        document = json.loads(header["__metadata__"]["cnnviz_lesson"])
        if damage == "other format":
            document["format"] = "cnnviz-lesson/99"
        elif damage == "no scenes":
            document["scenes"] = []
        else:
            document["scenes"][1]["drawing"] = [{"picture": "nope"}]
        header["__metadata__"]["cnnviz_lesson"] = json.dumps(document)
        raw = json.dumps(header).encode()
        raw += b" " * (-len(raw) % 8)
        path.write_bytes(len(raw).to_bytes(8, "little") + raw + data[8 + n :])
    with pytest.raises(LessonError) as info:
        load_lesson(path)
    text = str(info.value)
    assert "bad.cnnlesson" in text and "\n" not in text and "Traceback" not in text
    assert text.count(". ") <= 1 and len(text) < 240, text


def _weights_file(tmp_path):
    from cnnviz.core.weights.checkpoint import build_metadata, save_checkpoint

    model = build_model("lenet5")
    return save_checkpoint(tmp_path / "w.safetensors", model, build_metadata("lenet5", model))


def test_a_missing_file_is_one_sentence(tmp_path):
    with pytest.raises(LessonError, match="nope.cnnlesson"):
        load_lesson(tmp_path / "nope.cnnlesson")


def test_a_users_network_is_never_run_on_opening_and_must_be_unchanged(tmp_path):
    net = tmp_path / "net.py"
    net.write_text("raise SystemExit('must not run')\n")
    import hashlib

    lesson = _lesson()
    model = "net.py:Net"
    lesson.networks[model] = NetworkFile(str(net), hashlib.sha256(net.read_bytes()).hexdigest())
    key = lesson.add_weights(model, {"w": torch.ones(2)})
    lesson.scenes.append(Scene("Mine", model, "mnist", key))
    reread = load_lesson(save_lesson(tmp_path / "l.cnnlesson", lesson))  # the file's code did not run
    assert reread.user_networks() == [model]
    assert check_network_file(reread, model) == net
    net.write_text("# changed\n")
    with pytest.raises(LessonError, match="changed"):
        check_network_file(reread, model)
    net.unlink()
    with pytest.raises(LessonError, match="not at"):
        check_network_file(reread, model)
