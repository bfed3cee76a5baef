import json
import subprocess
import sys

import numpy as np
import pytest

from cnnviz.core.models.registry import build_model
from cnnviz.core.training.evaluate import evaluate


def _cnnviz(*args):
    return subprocess.run([sys.executable, "-m", "cnnviz", *args], capture_output=True, text=True, timeout=600)


def _in_process(capsys, *args) -> tuple[int, str, str]:
    """``cnnviz ARGS`` as ``python -m cnnviz`` runs it (``sys.exit(main())``), without starting a process
    (test_train_is_repeatable_then_eval crosses that boundary): (exit status, stdout, stderr)."""
    from cnnviz.cli.commands import main

    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's refusals
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_evaluation_is_consistent(data_dir):
    result = evaluate(build_model("lenet"), "mnist", data_dir)
    assert result.confusion.sum() == 10000
    assert result.accuracy == pytest.approx(np.trace(result.confusion) / 10000)
    assert len(result.misclassified) == 10000 - np.trace(result.confusion)
    assert result.per_class_accuracy.shape == (10,)


def test_models_and_layers_json(capsys):
    models = json.loads(_in_process(capsys, "models", "--json")[1])
    assert [m["name"] for m in models][:2] == ["lenet5", "lenet"]
    lenet5 = next(m for m in models if m["name"] == "lenet5")
    assert (lenet5["params"], lenet5["connections"]) == (60000, 340908)
    rows = json.loads(_in_process(capsys, "layers", "lenet5", "--json")[1])
    assert [r["name"] for r in rows] == ["input", "C1", "S2", "C3", "S4", "C5", "F6", "output"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["layers", "lenet9"], "Unknown model 'lenet9'"),
        (["eval", "--weights", "nowhere.safetensors"], "There is no weights file"),
        (["train", "--model", "lenet", "--lr", "-1"], "--lr must be above 0 (got -1.0)"),
        (["train", "--label-smoothing", "1.5"], "--label-smoothing must be at least 0 and below 1"),
        (["train", "--seed", "100000000000000000000000"], "--seed must be from 0 to 2**63 - 1"),
        (["train", "--out", "w.pt"], "name the file 'w.safetensors'"),  # refused before training, not after
        (["train", "--out", "no/such/folder/w.safetensors"], "does not exist"),
        (["eval", "--weights", "w.pt"], "There is no weights file"),
        (["train", "--epochs", "x"], "invalid int value: 'x'"),  # argparse: one line too, status 2
    ],
)
def test_failures_are_one_line_without_traceback(capsys, args, message):
    code, _, err = _in_process(capsys, *args)  # a traceback would be an exception here
    assert code == (2 if "invalid" in message else 1)
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_train_is_repeatable_then_eval(tmp_path, small_data_dir):
    """Same seed, same weights, in two processes (MNIST's accuracy is tests/core/test_training.py's)."""
    from safetensors.torch import load_file

    data = ("--data-dir", str(small_data_dir))

    runs = []
    for name in ("a", "b"):  # two processes: each starts torch's generator from its own random seed
        weights = tmp_path / f"lenet-{name}.safetensors"
        out = _cnnviz("train", "--model", "lenet", "--epochs", "1", "--batch-size", "64", "--out", str(weights), *data)
        assert out.returncode == 0, out.stderr
        assert "epoch 1/1" in out.stdout + out.stderr
        runs.append(load_file(weights))
    assert all(np.array_equal(runs[0][k].numpy(), runs[1][k].numpy()) for k in runs[0])
    report = json.loads(_cnnviz("eval", "--weights", str(weights), "--json", *data).stdout)
    assert report["model"] == "lenet" and report["dataset"] == "mnist"
    assert report["accuracy"] == pytest.approx(report["metadata_test_accuracy"], abs=5e-4)
    assert report["accuracy"] > 0.3  # learned: chance is 0.1


def test_recorded_recipe_becomes_the_command_that_reproduces_it():
    import shlex

    from cnnviz.cli.commands import _parser, config_from_args, train_command
    from cnnviz.core.training.loop import TrainConfig

    recipe = TrainConfig(model="vgg", dataset="fashion-mnist", epochs=6, lr=0.002, augment=True,
                         mirror=True, label_smoothing=0.1, seed=3).as_dict()  # fmt: skip
    line = train_command(recipe, "weights/vgg-fashion-mnist.safetensors")
    args = _parser().parse_args(shlex.split(line)[1:])
    rebuilt = config_from_args(args)
    assert rebuilt.as_dict() == recipe and args.out == "weights/vgg-fashion-mnist.safetensors"
