"""File > Open/Save weights: good files load; bad ones give one sentence and change nothing."""

from __future__ import annotations

import pytest

from cnnviz.core import CheckpointError, build_metadata, build_model, load_checkpoint, save_checkpoint


def _corrupt(tmp_path):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"\x93\x01garbage" * 50)
    return path


def _other_model(tmp_path):
    model = build_model("lenet")  # the modern LeNet, not LeNet-5
    path = tmp_path / "lenet-mnist.safetensors"
    save_checkpoint(path, model, build_metadata("lenet", model, dataset="mnist"))
    return path


def _text(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("these are my lesson notes, not weights\n")
    return path


@pytest.mark.parametrize("make", [_corrupt, _other_model, _text], ids=["corrupt", "other-model", "text"])
def test_a_bad_weights_file_is_explained_and_the_model_kept(window, tmp_path, make):
    path = make(tmp_path)
    session = window.session
    before = (session.model, session.model_name, session.dataset, session.source)
    assert not window.open_weights(path)
    assert (session.model, session.model_name, session.dataset, session.source) == before
    assert window.model_picker.currentData() == "lenet5"
    ((title, text),) = window.shown_errors
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path, "lenet5")
    assert text.startswith(str(err.value))  # the core's own sentence, first
    assert path.name in text and "Traceback" not in text and "\n" not in text
    if make is _other_model:
        assert "Choose LeNet (modern) in the Model list" in text


def test_save_then_open_round_trips(window, tmp_path, draw):
    from conftest import line

    draw(window.canvas, line((0.5, 0.2), (0.5, 0.8)))
    window.settle()
    before = window.prediction.bars.probabilities.copy()
    path = tmp_path / "mine"
    assert window.save_weights(path)
    saved = tmp_path / "mine.safetensors"
    assert saved.exists()
    window.model_picker.setCurrentIndex(window.model_picker.findData("lenet"))
    window.model_picker.setCurrentIndex(window.model_picker.findData("lenet5"))
    assert window.open_weights(saved)
    assert window.session.source == "file mine.safetensors"
    assert window.status_weights.text() == "Weights: file mine.safetensors"
    window.settle()
    assert abs(window.prediction.bars.probabilities - before).max() < 1e-6
    assert window.shown_errors == []


def test_saving_to_an_unwritable_place_says_so(window, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert not window.save_weights(blocker / "sub" / "w.safetensors")
    ((title, text),) = window.shown_errors
    assert "Could not save" in text and "Traceback" not in text


def test_open_weights_is_disabled_while_training(window):
    from cnnviz.core import RunEnd

    window.session.begin_training("lenet", "mnist", from_current=False)  # what the Training panel does
    assert not window.act_open_weights.isEnabled()
    assert not window.model_picker.isEnabled() and not window.dataset_picker.isEnabled()
    window.session.end_training(RunEnd("stopped", "Stopped after 12 batches."))
    assert window.act_open_weights.isEnabled() and window.model_picker.isEnabled()
    assert window.statusBar().currentMessage().startswith("Stopped after 12 batches.")
