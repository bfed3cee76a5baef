"""``cnnviz units`` and ``cnnviz embed``: the JSON the issue specifies, and one sentence for bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnviz.cli.commands import main
from cnnviz.cli.units import write_grey_png
from cnnviz.core.data.datasets import load_split

pytestmark = pytest.mark.filterwarnings("ignore:The image decoding:DeprecationWarning")


def _run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_units_json_lists_the_top_images_and_the_maximised_picture(capsys, data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path / "cache"))  # not the user's cache folder
    out_png = tmp_path / "c3.png"
    code, out, err = _run(
        capsys, "units", "--model", "lenet5", "--layer", "C3", "--channel", "3", "--top", "5",
        "--visualise", "--steps", "64", "--out", str(out_png), "--json", "--data-dir", str(data_dir),
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    top = report["top"]
    assert [sorted(t) for t in top] == [["index", "label", "value", "x", "y"]] * 5
    assert all(a["value"] >= b["value"] for a, b in zip(top, top[1:], strict=False))
    labels = load_split("mnist", False, data_dir)[1].numpy()
    assert all(labels[t["index"]] == t["label"] and 0 <= t["y"] < 10 and 0 <= t["x"] < 10 for t in top)
    image = np.array(report["visualisation"]["image"])
    assert image.shape == (28, 28) and image.min() >= 0 and image.max() <= 1
    assert isinstance(report["visualisation"]["value"], float)
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list((tmp_path / "cache" / "learned").glob("top-*.npz"))  # the next run answers from disk


def test_embed_json_places_a_drawn_seven_among_the_sevens(capsys, data_dir, tmp_path):
    images, labels = load_split("mnist", False, data_dir)
    drawing = tmp_path / "seven.png"
    write_grey_png(images[0].numpy() / 255.0, str(drawing), scale=4)  # test image 0 is a 7
    code, out, err = _run(
        capsys, "embed", "--model", "lenet", "--method", "pca", "--n", "400", "--image", str(drawing),
        "--json", "--data-dir", str(data_dir),
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    points, indices = np.array(report["points"]), report["indices"]
    assert points.shape == (400, 2) and len(indices) == len(report["labels"]) == 400
    assert report["labels"] == labels.numpy()[indices].tolist() and report["layer"] == "fc2"
    nearest = np.array(report["labels"])[np.argsort(((points - report["drawing"]) ** 2).sum(1))[:10]]
    assert np.bincount(nearest, minlength=10).argmax() == 7


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["units", "--model", "lenet5", "--layer", "C3", "--channel", "16"], "must be 0 to 15"),
        (["units", "--model", "lenet5", "--layer", "C9"], "no stage 'C9'"),
        (["units", "--layer", "C3", "--out", "x.png"], "add --visualise"),
        (["embed", "--model", "lenet", "--image", "/nonexistent/seven.png"], "seven.png"),
    ],
)
def test_bad_input_is_one_sentence(capsys, data_dir, args, says):
    code, out, err = _run(capsys, *args, "--data-dir", str(data_dir))
    assert code == 1 and out == "" and says in err and "Traceback" not in err and err.count("\n") == 1


def test_numbers_are_range_checked(capsys):
    with pytest.raises(SystemExit) as info:
        main(["units", "--layer", "C3", "--top", "0"])
    assert info.value.code == 2 and "--top must be 1 to 100" in capsys.readouterr().err
