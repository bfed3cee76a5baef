"""The first strokes' answers, before torch: LeNet-5 in numpy and the numpy resize give torch's answers."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnviz.core.before_torch.lenet5_numpy import NumpyLeNet5
from cnnviz.core.data.preprocess import MIN_DRAWING_EXTENT, _resize_weights, prepare_drawing, too_small_note
from cnnviz.core.models.registry import build_model
from cnnviz.core.resources import pretrained_path
from cnnviz.core.session.session import ModelSession
from cnnviz.core.weights.checkpoint import save_checkpoint


def _blobs(n: int, seed: int = 0) -> np.ndarray:
    """Digit-like 28x28 pictures: a few thick random strokes in a 20x20 box."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 28, 28), np.float32)
    yy, xx = np.mgrid[0:28, 0:28]
    for k in range(n):
        for _ in range(rng.integers(1, 4)):
            (y0, x0), (y1, x1) = rng.uniform(4, 24, (2, 2))
            for t in np.linspace(0, 1, 12):
                y, x = y0 + t * (y1 - y0), x0 + t * (x1 - x0)
                out[k] = np.maximum(out[k], np.clip(2.2 - np.hypot(yy - y, xx - x), 0, 1))
    return out


def test_the_torch_free_modules_import_without_torch():
    code = (
        "import sys\n"
        "import cnnviz.core.before_torch.lenet5_numpy, cnnviz.core.data.preprocess, cnnviz.core.session.result\n"
        "import cnnviz.qt.state.first_answers, cnnviz.qt.state.app_state\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_numpy_lenet5_answers_as_the_torch_model_with_the_shipped_weights(dataset):
    session = ModelSession("lenet5", dataset, None)
    session.load_pretrained("lenet5", dataset)
    network = NumpyLeNet5.from_file(pretrained_path("lenet5", dataset))
    images = _blobs(40)
    with torch.no_grad():
        scores = session.model(torch.from_numpy(images)[:, None]).numpy()
    for image, expected in zip(images, scores, strict=True):
        np.testing.assert_allclose(network.scores(image), expected, rtol=1e-5, atol=1e-3)
        probs, _ = session.infer(image)
        np.testing.assert_allclose(network.probabilities(image), probs, atol=1e-5)
    assert network.dataset == dataset


def test_numpy_lenet5_reads_c3_in_the_table_order_of_untrained_weights(tmp_path):
    torch.manual_seed(3)
    model = build_model("lenet5")
    with torch.no_grad():  # every C3 weight distinct, so a weight read into the wrong place shows
        model.C3[0].weight.copy_(torch.linspace(-0.3, 0.3, model.C3[0].weight.numel()))
    path = tmp_path / "lenet5-untrained.safetensors"
    save_checkpoint(path, model, {"model": "lenet5", "dataset": "mnist"})
    network = NumpyLeNet5.from_file(path)
    images = _blobs(8, seed=5)
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy(images)[:, None]).numpy()
    np.testing.assert_allclose(np.stack([network.scores(i) for i in images]), expected, rtol=1e-5, atol=1e-3)


def test_numpy_lenet5_refuses_another_network_and_a_damaged_file(tmp_path):
    with pytest.raises(ValueError, match="alexnet"):
        NumpyLeNet5.from_file(pretrained_path("alexnet", "mnist"))
    damaged = tmp_path / "lenet5-mnist.safetensors"
    damaged.write_bytes(b"\x00\x01not a weights file")
    with pytest.raises(ValueError, match="not readable"):
        NumpyLeNet5.from_file(damaged)
    with pytest.raises(ValueError, match="not readable"):
        NumpyLeNet5.from_file(tmp_path / "missing.safetensors")


@pytest.mark.parametrize(("size", "new_size"), [(2, 5), (3, 20), (7, 20), (19, 20), (20, 20), (21, 20), (40, 13),
                                                (233, 20), (517, 19), (300, 1), (4, 2)])  # fmt: skip
def test_the_numpy_resize_is_torchs_antialiased_bilinear(size, new_size):
    rng = np.random.default_rng(size * 1000 + new_size)
    crop = rng.random((size, 37)).astype(np.float32)
    expected = F.interpolate(
        torch.from_numpy(crop)[None, None], size=(new_size, 11), mode="bilinear", antialias=True, align_corners=False
    )[0, 0].numpy()
    got = _resize_weights(size, new_size) @ crop @ _resize_weights(37, 11).T
    np.testing.assert_allclose(got, expected, atol=2e-6)


def test_the_numpy_resize_of_a_one_pixel_wide_result_keeps_each_row():
    # torch's antialiased kernel gives every row the first row's value when the result is one pixel wide
    # (0.714 for both rows here); the weights keep the rows apart: the mean of each half, with the overlap.
    column = np.arange(4, dtype=np.float32)[:, None]
    got = (_resize_weights(4, 2) @ column @ _resize_weights(1, 1).T).ravel()
    np.testing.assert_allclose(got, [0.7142857, 2.2857143], rtol=1e-6)


def test_a_dot_is_too_small_to_read_and_a_digit_is_not():
    canvas = np.zeros((280, 280), np.float32)
    canvas[100:110, 100:110] = 1
    dot = prepare_drawing(canvas)
    assert dot.extent < MIN_DRAWING_EXTENT
    assert too_small_note(dot, "mnist") == "Draw a bigger digit"
    assert too_small_note(dot, "fashion-mnist") == "Draw bigger"
    canvas[40:240, 130:150] = 1
    assert too_small_note(prepare_drawing(canvas), "mnist") is None
