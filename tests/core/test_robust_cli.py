"""``cnnviz attack``, ``cnnviz sweep`` and ``cnnviz sanity``: the JSON the issue specifies, and one-sentence errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from cnnviz.cli.commands import main
from cnnviz.core.resources import pretrained_path
from cnnviz.core.weights.checkpoint import load_checkpoint


def _run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_attack_json_is_what_the_network_answers_on_the_picture(capsys, data_dir, tmp_path):
    out = tmp_path / "adv.png"
    code, text, err = _run(capsys, "attack", "--model", "lenet", "--test-index", "3", "--method", "pgd",
                           "--epsilon", "0.2", "--target", "8", "--out", str(out), "--json")  # fmt: skip
    assert code == 0, err
    report = json.loads(text)
    assert report["epsilon"] == 0.2 and report["target"] == 8 and report["label"] == 0
    adv = np.array(report["adversarial"]["image"], dtype=np.float32)
    assert adv.shape == (28, 28) and adv.min() >= 0 and adv.max() <= 1
    model = load_checkpoint(pretrained_path("lenet", "mnist"), "lenet")[0].eval()
    with torch.no_grad():
        probs = torch.softmax(model(torch.from_numpy(adv)[None, None]), 1)[0].numpy()
    assert int(probs.argmax()) == report["adversarial"]["class"] == 8
    np.testing.assert_allclose(probs, report["adversarial"]["probabilities"], atol=1e-5)
    assert report["original"]["class"] == 0 and len(report["original"]["probabilities"]) == 10
    assert out.read_bytes().startswith(b"\x89PNG")


def test_sweep_at_the_identity_equals_cnnviz_eval(capsys, small_data_dir):
    weights = str(pretrained_path("lenet5", "mnist"))
    code, text, err = _run(capsys, "eval", "--weights", weights, "--dataset", "mnist",
                           "--data-dir", str(small_data_dir), "--json")  # fmt: skip
    assert code == 0, err
    evaluated = json.loads(text)["accuracy"]
    for transform, values in [("rotate", ["0", "20"]), ("scale", ["1"]), ("thickness", ["0"]), ("occlude", ["0"])]:
        code, text, err = _run(capsys, "sweep", "--model", "lenet5", "--transform", transform, "--values", *values,
                               "--n", "200", "--data-dir", str(small_data_dir), "--json")  # fmt: skip
        assert code == 0, err
        report = json.loads(text)
        assert report["transform"] == transform and report["n"] == 200
        assert report["values"] == [float(v) for v in values] and report["accuracy"][0] == evaluated


def test_sanity_json_lists_the_stages_top_down(capsys, data_dir):
    code, text, err = _run(capsys, "sanity", "--model", "lenet", "--method", "gradcam", "--n", "3", "--json")
    assert code == 0, err
    report = json.loads(text)
    assert report["stages"] == ["(original)", "fc3", "fc2", "fc1", "conv2", "conv1"]
    assert report["correlation"][0] == 1.0 and len(report["correlation"]) == 6
    assert all(-1 <= c <= 1 for c in report["correlation"]) and report["verdict"].startswith("Grad-CAM")


@pytest.mark.parametrize(
    "args, message",
    [
        (["attack", "--test-index", "0", "--epsilon", "1.5"], "must be from 0 to 1"),
        (["attack", "--test-index", "0", "--epsilon", "nan"], "must be a finite number"),
        (["attack", "--test-index", "0", "--epsilon", "0.1", "--target", "7"], "already answers 7"),
        (["attack", "--test-index", "0", "--epsilon", "0.1", "--target", "12"], "class number 0 to 9"),
        (["attack", "--test-index", "10000", "--epsilon", "0.1"], "The test index must be 0 to 9999"),
        (["attack", "--test-index", "0", "--epsilon", "0.1", "--out", "no/such/a.png"], "does not exist"),
        (["sweep", "--transform", "scale", "--values", "0"], "A scale value must be from 0.1 to 4"),
        (["sweep", "--transform", "thickness", "--values", "0.5"], "whole number"),
        (["sweep", "--transform", "rotate", "--n", "0"], "must be 1 to"),
        (["sweep", "--transform", "rotate", "--n", "20000"], "test split has 10000"),
        (["sweep", "--transform", "blur"], "invalid choice: 'blur'"),
        (["sanity", "--method", "occlusion"], "invalid choice: 'occlusion'"),
    ],
)
def test_bad_input_is_one_sentence(capsys, data_dir, args, message):
    try:
        code, out, err = _run(capsys, args[0], "--model", "lenet", *args[1:])
    except SystemExit as exc:  # argparse's own errors
        code, out, err = exc.code, *capsys.readouterr()
    assert code in (1, 2) and out == ""
    assert message in err and len(err.strip().splitlines()) == 1
