"""Bad weights files and pictures in the app: one sentence, nothing half-adopted, never a freeze."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
from fifo_guard import fifo_guard
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from safetensors.torch import save_file

from cnnviz.core import build_model, list_models


def _weights(path, damage=None, **meta):
    torch.manual_seed(0)
    state = {k: v.contiguous().clone() for k, v in build_model("lenet5").state_dict().items()}
    if damage:
        damage(state)
    meta = {"model": "lenet5", "dataset": "mnist", "test_accuracy": 0.99, **meta}
    save_file(state, str(path), metadata={"cnnviz": json.dumps(meta)})
    return path


def _kept(window):
    s = window.session
    return s.model, s.model_name, s.dataset, s.source, dict(s.metadata)


def _png(path, pixels: np.ndarray):
    """Save a uint8 H x W (grey) or H x W x 4 (RGBA) array as a PNG."""
    pixels = np.ascontiguousarray(pixels)
    h, w = pixels.shape[:2]
    fmt = QImage.Format.Format_Grayscale8 if pixels.ndim == 2 else QImage.Format.Format_RGBA8888
    image = QImage(pixels.data, w, h, pixels.strides[0], fmt).copy()
    assert image.save(str(path))
    return path


def _seven(size=200):
    mask = np.zeros((size, size), bool)
    s = size // 10
    mask[2 * s : 3 * s, 3 * s : 8 * s] = True
    for i in range(2 * s, 8 * s):
        x = 8 * s - (i - 2 * s) * 4 // 6
        mask[i, x - s // 2 : x + s // 2] = True
    return mask


def test_a_fifo_named_like_weights_is_refused_without_opening_it(window, tmp_path):
    path = tmp_path / "x.safetensors"
    before = _kept(window)
    with fifo_guard(path) as guard:
        assert not window.open_weights(path)
    assert not guard["opened"]
    ((title, text),) = window.shown_errors
    assert "not a regular file" in text and "\n" not in text
    assert _kept(window) == before


@pytest.mark.parametrize(
    "damage, match",
    [
        (lambda s: s.update({"C1.0.weight": s["C1.0.weight"].to(torch.int8)}), "not floating-point weights"),
        (lambda s: s["F6.1.weight"].fill_(float("nan")), "NaN or infinite"),
        (lambda s: s["F6.1.weight"].mul_(1e30), "beyond"),
    ],
    ids=["int8", "nan", "scaled-1e30"],
)
def test_broken_weights_are_refused_and_the_model_kept(window, tmp_path, damage, match):
    before = _kept(window)
    assert not window.open_weights(_weights(tmp_path / "w.safetensors", damage))
    ((title, text),) = window.shown_errors
    assert match in text and _kept(window) == before


@pytest.mark.parametrize("accuracy", ["99 %", {"v": 1}, float("inf"), -5.0])
def test_bad_metadata_is_ignored_with_a_note_never_a_failure_after_adoption(window, tmp_path, draw, accuracy):
    from conftest import line

    path = _weights(tmp_path / "w.safetensors", test_accuracy=accuracy, dataset=["mnist"])
    assert window.open_weights(path)
    assert window.shown_errors == []
    assert window.session.source == "file w.safetensors" and window.session.test_accuracy is None
    assert window.session.dataset == "mnist"
    message = window.statusBar().currentMessage()
    assert "test_accuracy field" in message and "dataset field" in message and "ignored" in message
    assert "nan" not in window.status_weights.text() + window.status_model.text()
    draw(window.canvas, line((0.5, 0.15), (0.5, 0.85)))
    window.settle()
    assert np.isfinite(window.prediction.bars.probabilities).all()


def test_a_huge_model_name_gives_a_short_message(window, tmp_path):
    assert not window.open_weights(_weights(tmp_path / "w.safetensors", model="x" * 5_000_000))
    ((title, text),) = window.shown_errors
    assert len(text) < 300 and "5,000,000 characters" in text


@pytest.mark.parametrize("size", [(30000, 1), (1, 100000), (9000, 9000)])
def test_a_picture_too_large_is_refused_before_decoding(window, tmp_path, size):
    w, h = size
    image = QImage(w, h, QImage.Format.Format_Mono)  # 1 bit a pixel: a tiny file, a huge picture
    image.fill(1)
    path = tmp_path / "huge.png"
    assert image.save(str(path))
    assert not window.open_image(path)
    ((title, text),) = window.shown_errors
    assert f"{w}x{h} pixels" in text and "8000x8000" in text
    assert window.canvas.is_empty()


def test_a_large_picture_is_shrunk_and_shown(window, tmp_path):
    page = np.full((2000, 3000), 255, np.uint8)
    page[600:1400, 1400:1600] = 0  # a dark "1"
    assert window.open_image(_png(tmp_path / "big.png", page))
    window.settle()
    assert window.shown_errors == [] and window.canvas.image_array().max() == 255
    assert int(np.argmax(window.prediction.bars.probabilities)) == 1


@pytest.mark.parametrize("hidden", [0, 255], ids=["black-behind", "white-behind"])
def test_white_ink_on_a_transparent_background_is_ink(window, tmp_path, hidden):
    rgba = np.full((200, 200, 4), hidden, np.uint8)
    rgba[..., 3] = 0
    rgba[_seven()] = 255
    assert window.open_image(_png(tmp_path / "ink.png", rgba))
    window.settle()
    drawn = window.canvas.image_array()
    assert drawn.max() == 255 and 0.02 < (drawn > 127).mean() < 0.3
    assert window.prediction.bars.probabilities is not None


def test_a_dark_digit_on_a_noisy_grey_photo_is_not_all_ink(window, tmp_path):
    rng = np.random.default_rng(0)
    page = rng.normal(128, 20, (200, 200))
    page[_seven()] = rng.normal(25, 8, _seven().sum())
    assert window.open_image(_png(tmp_path / "photo.png", np.clip(page, 0, 255).astype(np.uint8)))
    drawn = window.canvas.image_array()
    assert 0.02 < (drawn > 127).mean() < 0.3 and (drawn == 0).mean() > 0.6


@pytest.mark.parametrize("shade", [0, 255, 128])
def test_a_picture_without_ink_says_so_instead_of_a_blank_canvas(window, tmp_path, shade):
    assert not window.open_image(_png(tmp_path / "blank.png", np.full((100, 100), shade, np.uint8)))
    ((title, text),) = window.shown_errors
    assert text.startswith("No ink found in 'blank.png'") and window.canvas.is_empty()


def test_pictures_that_are_not_pictures_or_not_files(window, tmp_path):
    (tmp_path / "notes.png").write_text("not a picture")
    (tmp_path / "folder.png").mkdir()
    with fifo_guard(tmp_path / "pipe.png") as guard:
        for name, phrase in [
            ("notes.png", "is not a picture cnnviz can read"),
            ("folder.png", "is a folder"),
            ("pipe.png", "not a regular file"),
            ("absent.png", "There is no picture"),
        ]:
            window.shown_errors.clear()
            assert not window.open_image(tmp_path / name)
            ((title, text),) = window.shown_errors
            assert phrase in text and "\n" not in text, text
    assert not guard["opened"] and window.canvas.is_empty()


@pytest.mark.slow
def test_strokes_and_model_switches_soak(window, draw):
    """500 random strokes and 30 model switches: no error, and the window still predicts."""
    rnd = random.Random(12)
    names = [spec.name for spec in list_models()]
    switches = 0
    for k in range(500):
        points = [(rnd.uniform(0.05, 0.95), rnd.uniform(0.05, 0.95)) for _ in range(rnd.randint(2, 8))]
        draw(window.canvas, points)
        if k % 16 == 15 and switches < 30:  # a switch every 16 strokes: 30 in all
            name = rnd.choice([n for n in names if n != window.session.model_name])
            window.model_picker.setCurrentIndex(window.model_picker.findData(name))
            assert window.session.model_name == name
            window.settle()  # the new model answers the drawing
            switches += 1
        if k % 25 == 24:
            window.canvas.clear()
    assert switches == 30
    window.settle()
    assert window.shown_errors == []
    window.canvas.clear()
    from conftest import line

    window.model_picker.setCurrentIndex(window.model_picker.findData("lenet5"))
    draw(window.canvas, line((0.5, 0.15), (0.5, 0.85)))
    window.settle()
    probs = window.prediction.bars.probabilities
    assert probs is not None and np.isfinite(probs).all() and int(np.argmax(probs)) == 1
    assert window.canvas.testAttribute(Qt.WidgetAttribute.WA_WState_Visible)
