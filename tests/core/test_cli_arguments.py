"""``cnnviz train``: arguments checked before training, --out checked by a real file, SIGTERM cleans up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cnnviz.cli import commands as cli
from cnnviz.core.training import loop as training
from cnnviz.core.training.loop import TrainConfig, TrainingEnded


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if training starts: every check here must come first."""

    def train(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(training, "train", train)
    monkeypatch.setattr("cnnviz.core.data.datasets.load_split", lambda *a, **k: None)


def _run(capsys, *argv):
    code = cli.main(["train", *argv])
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--seed", "100000000000000000000000"], "--seed must be from 0 to 2**63 - 1"),
        (["--seed", "-1"], "--seed must be from 0 to 2**63 - 1 (got -1)"),
        (["--target-accuracy", "nan"], "--target-accuracy must be a finite number (got nan)"),
        (["--target-accuracy", "0"], "--target-accuracy must be above 0 and at most 1"),
        (["--target-accuracy", "99"], "--target-accuracy must be above 0 and at most 1"),
        (["--weight-decay", "nan"], "--weight-decay must be a finite number (got nan)"),
        (["--weight-decay", "-0.1"], "--weight-decay must be at least 0"),
        (["--lr", "inf"], "--lr must be a finite number (got inf)"),
        (["--lr", "-1"], "--lr must be above 0"),
        (["--lr", "0"], "--lr must be above 0"),
        (["--label-smoothing", "nan"], "--label-smoothing must be a finite number"),
        (["--label-smoothing", "1"], "--label-smoothing must be at least 0 and below 1"),
        (["--epochs", "0"], "--epochs must be from 1 to 100000"),
        (["--batch-size", "0"], "--batch-size must be from 1 to 1000000 (got 0)"),
        (["--batch-size", "10000000000"], "--batch-size must be from 1 to 1000000"),
    ],
)
def test_every_numeric_option_is_checked_with_a_message_naming_it(capsys, no_training, tmp_path, argv, message):
    code, err = _run(capsys, *argv, "--out", str(tmp_path / "w.safetensors"))
    assert code == 1
    assert err.startswith("cnnviz: error: " + message) and len(err.strip().splitlines()) == 1
    assert len(err) < 200 and "unexpected" not in err


def test_a_folder_as_out_is_refused_before_training(capsys, no_training, tmp_path):
    (tmp_path / "w.safetensors").mkdir()
    code, err = _run(capsys, "--out", str(tmp_path / "w.safetensors"))
    assert code == 1 and "is a folder" in err


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_out_is_checked_by_creating_a_file_not_by_permission_bits(capsys, no_training):
    assert os.access("/proc", os.W_OK) or os.getuid() != 0  # the bits say yes for root; creating a file says no
    code, err = _run(capsys, "--out", "/proc/w.safetensors")
    assert code == 1 and "Cannot create files in the folder '/proc'" in err


def test_the_out_check_leaves_nothing_behind(capsys, monkeypatch, tmp_path):
    def diverged(config, model, control, data_dir, **_options):
        yield TrainingEnded("diverged", "Training diverged: the loss became NaN at batch 3.", 0, None, 0.1, "cpu")

    monkeypatch.setattr(training, "train", diverged)
    monkeypatch.setattr("cnnviz.core.data.datasets.load_split", lambda *a, **k: None)
    out = tmp_path / "w.safetensors"
    out.write_bytes(b"the 99 % weights")
    code, err = _run(capsys, "--out", str(out))
    # A diverged run fails and writes nothing over the existing file; the probe file is gone too.
    assert code == 1 and "diverged" in err
    assert out.read_bytes() == b"the 99 % weights"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.safetensors"]


def test_train_defaults_come_from_train_config(monkeypatch):
    args = cli._parser().parse_args(["train"])
    assert cli.config_from_args(args).as_dict() == TrainConfig().as_dict()
    monkeypatch.setattr(TrainConfig.__dataclass_fields__["batch_size"], "default", 512)
    monkeypatch.setattr(TrainConfig.__dataclass_fields__["weight_decay"], "default", 0.05)
    args = cli._parser().parse_args(["train"])
    assert (args.batch_size, args.weight_decay) == (512, 0.05)


_SLOW_SAVE = """
import os, sys, time
import cnnviz.core.data.datasets as data
import cnnviz.core.training.loop as training
from cnnviz.core.training.loop import TrainingEnded

def train(config, model, control, data_dir, **options):
    yield TrainingEnded("completed", "Completed.", 1, 0.5, 1.0, "cpu")

def fsync(fd):  # the temporary file is written and open: the moment a SIGTERM hurts most
    print("saving", flush=True)
    while True:  # short naps: a signal delivered to another thread does not cut a long sleep short
        time.sleep(0.05)

data.load_split = lambda *a, **k: None
training.train = train
os.fsync = fsync
from cnnviz.cli.commands import main
sys.exit(main(["train", "--out", sys.argv[1]]))
"""


def test_sigterm_during_the_save_removes_the_temporary_file(tmp_path):
    out = tmp_path / "w.safetensors"
    out.write_bytes(b"old weights")
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_SAVE, str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        for line in proc.stdout:  # wait, without a clock, until the save has begun
            if line.strip() == "saving":
                break
        assert any(p.name.endswith(".tmp") for p in tmp_path.iterdir())  # the save really was under way
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM and "cnnviz: terminated" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.safetensors"]
    assert out.read_bytes() == b"old weights"


def test_eval_ignores_bad_metadata_instead_of_failing(capsys, monkeypatch, tmp_path):
    import json

    import numpy as np
    from safetensors.torch import save_file

    from cnnviz.core.models.registry import build_model
    from cnnviz.core.training.evaluate import EvalResult

    seen = []

    def evaluate(model, dataset, data_dir=None):  # the metadata is under test, not the evaluation
        seen.append(dataset)
        return EvalResult(0.5, np.zeros(10), np.zeros((10, 10), int), np.arange(3), np.zeros(3, int))

    # The module, not cnnviz.core.training.evaluate (the package re-exports the function under that name).
    monkeypatch.setattr(sys.modules["cnnviz.core.training.evaluate"], "evaluate", evaluate)
    state = {k: v.contiguous() for k, v in build_model("lenet").state_dict().items()}
    meta = {"model": "lenet", "dataset": ["mnist"], "test_accuracy": "99 %"}
    save_file(state, str(tmp_path / "w.safetensors"), metadata={"cnnviz": json.dumps(meta)})
    assert cli.main(["eval", "--weights", str(tmp_path / "w.safetensors"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert seen == ["mnist"] and report["dataset"] == "mnist" and report["metadata_test_accuracy"] is None
    os.mkfifo(tmp_path / "pipe.safetensors")
    assert cli.main(["eval", "--weights", str(tmp_path / "pipe.safetensors")]) == 1
    assert "not a regular file" in capsys.readouterr().err
