"""``cnnviz explain``: the inspector's numbers and attribution maps from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torchvision.io import decode_png, read_file, write_png

from cnnviz.cli.commands import main
from cnnviz.core.data.datasets import load_split
from cnnviz.core.inspect.activations import activations
from cnnviz.core.resources import pretrained_path
from cnnviz.core.weights.checkpoint import load_checkpoint

# The tests check the PNG writer with torchvision's own decoder (deprecated in 0.29, still correct).
pytestmark = pytest.mark.filterwarnings("ignore:The image decoding:DeprecationWarning")


def _run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def seven(data_dir) -> np.ndarray:
    return load_split("mnist", False, data_dir)[0][0].numpy() / 255.0


def test_unit_json_agrees_with_the_captured_activation(capsys, seven):
    code, out, _ = _run(
        capsys, "explain", "--model", "lenet5", "--test-index", "0", "--layer", "C3",
        "--channel", "2", "--y", "4", "--x", "6", "--json",
    )  # fmt: skip
    assert code == 0
    report = json.loads(out)
    assert report["image"] == {"source": "mnist test image 0", "label": 7}
    assert report["prediction"]["class"] == 7
    unit = report["unit"]
    model = load_checkpoint(pretrained_path("lenet5", "mnist"))[0]
    captured = float(activations(model, seven)[1]["C3"][2, 4, 6])
    assert unit["value"] == pytest.approx(captured, abs=1e-5)
    assert unit["receptive_field"] == {"top": 6, "left": 10, "bottom": 20, "right": 24}
    conv = unit["steps"][0]["details"]
    assert [i["channel"] for i in conv["inputs"]] == [2, 3, 4]  # C3 map 2 reads S2 maps 2, 3, 4
    assert all(np.array(i["patch"]).shape == (5, 5) == np.array(i["kernel"]).shape for i in conv["inputs"])
    assert "bias" in conv and unit["activation"] == "LeNet-5 squash"
    assert 1.7159 * np.tanh(2 * unit["pre_activation"] / 3) == pytest.approx(captured, abs=1e-5)


def test_attribution_json_and_png(capsys, tmp_path):
    out_png = tmp_path / "heat.png"
    code, out, _ = _run(
        capsys,
        "explain",
        "--model",
        "lenet",
        "--test-index",
        "0",
        "--attribution",
        "gradcam",
        "--out",
        str(out_png),
        "--json",
    )
    assert code == 0
    attr = json.loads(out)["attribution"]
    assert attr["target"] == 7 and attr["stage"] == "conv2" and attr["out"] == str(out_png)
    heat = np.array(attr["map"])
    assert heat.shape == (28, 28) and np.isfinite(heat).all()
    # A figure for a slide at 2x: the digit with the heat over it (20x20 squares), a colour key, a title.
    from cnnviz.qt.widgets.attribution_figure import CELL

    png = decode_png(read_file(str(out_png))).numpy().astype(int)
    left, top, side = 2 * 12, 2 * (12 + 20 + 6), 2 * 28 * CELL
    assert png.shape[0] == 3 and png.shape[1] > top + side and png.shape[2] > left + side + 2 * 24

    def square(y, x):  # the colour of input pixel (y, x) in the figure
        return png[:, top + 2 * CELL * y + CELL, left + 2 * CELL * x + CELL]

    y, x = np.unravel_index(heat.argmax(), heat.shape)
    r, g, b = square(y, x)
    assert r > 150 and r > b + 80  # the hottest pixel is warm, whatever the ink under it
    cold = np.argwhere(heat == 0)  # Grad-CAM's ReLU leaves pixels without evidence: the digit shows as it is
    assert len(cold) and len(set(square(*cold[0]))) == 1
    key = png[:, top + 4 : top + side - 4, left + side + 2 * 12 + 2 * 9]  # down the middle of the key
    assert key[0, 0] > 150 and key[:, -1].sum() < 60  # strongest at the top, none (black) at the bottom
    assert (png[:, : top - 4, :].sum(0) < 200).any()  # the title's dark letters
    # The figure was drawn by a Qt application on the platform the tests chose (their 1920x1080 offscreen
    # screen), not a default one that later window tests in this process would inherit.
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.primaryScreen().geometry().width() == 1920
    code, out, _ = _run(
        capsys,
        "explain",
        "--model",
        "lenet",
        "--test-index",
        "0",
        "--attribution",
        "saliency",
        "--target",
        "3",
        "--json",
    )
    assert json.loads(out)["attribution"]["target"] == 3


def test_a_picture_file_is_read_like_a_drawing(capsys, tmp_path, seven):
    # Dark ink on light paper, four times larger and off-centre: preprocessing makes it MNIST-like again.
    paper = np.full((160, 200), 255, dtype=np.uint8)
    ink = np.kron(seven, np.ones((4, 4)))
    paper[20:132, 70:182] = (255 * (1 - ink)).astype(np.uint8)
    path = tmp_path / "seven.png"
    write_png(torch.from_numpy(paper)[None], str(path))
    code, out, _ = _run(
        capsys, "explain", "--model", "vgg", "--image", str(path), "--layer", "fc2", "--channel", "7", "--json"
    )
    assert code == 0
    report = json.loads(out)
    assert report["image"] == {"source": str(path), "label": None}
    assert report["prediction"]["class"] == 7
    assert report["unit"]["steps"][0]["kind"] == "linear"


def test_text_report_and_own_weights_file(capsys):
    weights = str(pretrained_path("resnet", "mnist"))
    code, out, _ = _run(
        capsys,
        "explain",
        "--weights",
        weights,
        "--test-index",
        "0",
        "--layer",
        "layer3",
        "--channel",
        "5",
        "--y",
        "1",
        "--x",
        "1",
    )
    assert code == 0
    assert out.startswith(f"resnet ({weights}) on mnist test image 0, label 7")
    assert "receptive field: rows" in out and "main path" in out and "skip (projection)" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--test-index", "0"], "Say what to explain"),
        (["--test-index", "0", "--layer", "conv9"], "no stage 'conv9'"),
        (["--test-index", "0", "--layer", "conv1", "--channel", "6"], "The channel 6 is outside stage 'conv1'"),
        (["--test-index", "10000", "--layer", "conv1"], "The test index must be 0 to 9999"),
        (["--image", "no/such.png", "--layer", "conv1"], "There is no picture file"),
        (["--test-index", "0", "--attribution", "saliency", "--out", "no/such/heat.png"], "does not exist"),
        (["--test-index", "0", "--attribution", "gradcam", "--stage", "fc1"], "gives a vector"),
        (["--test-index", "0", "--layer", "conv1", "--out", "h.png"], "--out writes an attribution map"),
        (["--model", "lenet9", "--test-index", "0", "--layer", "conv1"], "Unknown model 'lenet9'"),
    ],
)
def test_user_errors_are_one_sentence(capsys, args, message):
    if "--model" not in args:
        args = ["--model", "lenet", *args]
    code, out, err = _run(capsys, "explain", *args)
    assert code == 1 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_blank_and_unreadable_pictures(capsys, tmp_path):
    blank = tmp_path / "blank.png"
    write_png(torch.full((1, 50, 50), 255, dtype=torch.uint8), str(blank))
    junk = tmp_path / "junk.png"
    junk.write_text("not a picture")
    for path, message in [(blank, "is blank"), (junk, "is not a picture")]:
        code, _, err = _run(capsys, "explain", "--image", str(path), "--layer", "C1")
        assert code == 1 and message in err
