"""Issue 22: the user's code and files never take cnnviz down (the probe, the CLI, writes, pictures).

Each test is one finding of the attack on the surfaces for own networks, explain and exports;
every file is generated here, small.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from cnnviz.cli.commands import main
from cnnviz.core.errors import CnnvizError, UserModelError
from cnnviz.core.models.probe import probe_network
from cnnviz.core.models.user_model import load_user_model

ROOT = Path(__file__).resolve().parents[2]
NET = """import torch
from torch import nn
{head}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        {init}
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        {forward}
        return self.fc(x.flatten(1)){tail}
"""


def net_file(tmp_path, name="net.py", head="", init="pass", forward="pass", tail="") -> Path:
    path = tmp_path / name
    path.write_text(NET.format(head=head, init=init, forward=forward, tail=tail))
    return path


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


# -- finding 2: sys.exit inside a network is one sentence, never the end of cnnviz -------------------------
@pytest.mark.parametrize(
    ("init", "forward"), [("pass", "sys.exit(3)"), ("sys.exit(5)", "pass"), ("pass", "raise KeyboardInterrupt")]
)
def test_an_exit_in_the_users_code_is_one_sentence(tmp_path, capsys, init, forward):
    path = net_file(tmp_path, head="import sys", init=init, forward=forward)
    with pytest.raises(UserModelError, match="SystemExit|KeyboardInterrupt"):
        probe_network(f"{path}:Net")
    with pytest.raises(UserModelError, match="SystemExit|KeyboardInterrupt"):
        load_user_model(f"{path}:Net")  # in this process too: BaseException is caught
    code, out, err = run_cli(capsys, "layers", f"{path}:Net")
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert "SystemExit" in err or "KeyboardInterrupt" in err


def test_os_exit_in_the_file_is_one_sentence(tmp_path):
    path = net_file(tmp_path, head="import os\nos._exit(7)")
    with pytest.raises(UserModelError, match="exit code 7"):
        probe_network(f"{path}:Net")


# -- finding 3: an endless forward has a time limit, in a child process ---------------------------------------
def test_an_endless_forward_is_stopped_by_the_probes_time_limit(tmp_path, capsys, monkeypatch):
    path = net_file(tmp_path, forward="while True: pass")
    monkeypatch.setenv("CNNVIZ_PROBE_SECONDS", "8")
    code, out, err = run_cli(capsys, "layers", f"{path}:Net")
    assert code == 1 and "did not finish" in err and "8 s" in err


# -- finding 6: integer scores fail the load check ----------------------------------------------------------------
def test_integer_scores_fail_the_load_check(tmp_path):
    path = net_file(tmp_path, tail=".long()")
    with pytest.raises(UserModelError, match="int64 scores; it must return floating-point"):
        probe_network(f"{path}:Net")
    with pytest.raises(UserModelError, match="floating-point"):
        load_user_model(f"{path}:Net")


# -- finding 10: NaN output and sys.path edits ------------------------------------------------------------------
def test_nan_scores_are_their_own_sentence(tmp_path):
    path = net_file(tmp_path, tail=" * float('nan')")
    with pytest.raises(UserModelError, match="NaN or infinite scores"):
        load_user_model(f"{path}:Net")


def test_a_file_that_edits_sys_path_still_loads(tmp_path):
    before = list(sys.path)
    path = net_file(tmp_path, head="import sys\nsys.path[:] = [p for p in sys.path if 'net' not in p or True][1:]")
    try:
        assert load_user_model(f"{path}:Net").name == "net.py:Net"
    finally:
        sys.path[:] = before


def test_the_example_with_two_networks_asks_for_a_choice():
    result = probe_network(str(ROOT / "resources" / "example_net.py"))
    assert result.needs_choice and "ExampleNet" in result.networks


# -- finding 7: a thread the file starts never keeps the process alive ---------------------------------------
def test_a_thread_started_by_the_file_does_not_keep_the_command_alive(tmp_path):
    path = net_file(tmp_path, head="import threading, time\nthreading.Thread(target=lambda: time.sleep(10**6)).start()")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "cnnviz", "layers", f"{path}:Net"], env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr
    assert "fc" in done.stdout


# -- finding 4: explain checks a picture's declared size before decoding -------------------------------------
def _png_declaring(width: int, height: int) -> bytes:
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def test_explain_refuses_a_huge_declared_picture_before_decoding(tmp_path, capsys):
    picture = tmp_path / "huge.png"
    picture.write_bytes(_png_declaring(30000, 30000))
    code, out, err = run_cli(capsys, "explain", "--model", "lenet", "--image", str(picture), "--layer", "conv1")
    assert code == 1 and "30000x30000 pixels" in err and len(err.strip().splitlines()) == 1


# -- finding 5: --out on a full disk is said before training --------------------------------------------------
def test_train_out_on_a_full_disk_is_refused_before_training(tmp_path, capsys, monkeypatch):
    import shutil

    from cnnviz.core.data import datasets

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage._replace(free=0))
    monkeypatch.setattr(datasets, "load_split", lambda *a, **k: pytest.fail("the dataset was read"))
    code, out, err = run_cli(
        capsys, "train", "--model", "lenet", "--epochs", "1", "--out", str(tmp_path / "w.safetensors")
    )
    assert code == 1 and "free" in err and "weights file needs" in err
    assert not list(tmp_path.iterdir())


# -- finding 8: writes are atomic ---------------------------------------------------------------------------------
def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    from cnnviz.core.training.run_log import RunLog

    target = tmp_path / "runs.csv"
    target.write_text("the good old file\n")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(CnnvizError, match="no space left on device"):
        RunLog({}).to_csv(target)
    assert target.read_text() == "the good old file\n"
    assert [p.name for p in tmp_path.iterdir()] == ["runs.csv"]


# -- finding 9: explain's arguments and --out ---------------------------------------------------------------------
@pytest.mark.parametrize(("args", "message"), [
    (["--attribution", "saliency", "--target", "100000000000000000000000"], "class number 0 to 9"),
    (["--layer", "fc1", "--top", "-5"], "0 to 10,000"),
])  # fmt: skip
def test_explain_range_checks_its_numbers(capsys, args, message):
    with pytest.raises(SystemExit) as stop:
        main(["explain", "--model", "lenet", "--test-index", "0", *args])
    assert stop.value.code == 2 and message in capsys.readouterr().err


def test_explain_out_to_a_folder_is_refused_before_the_work(tmp_path, capsys, monkeypatch):
    from cnnviz.core.inspect import attribution

    monkeypatch.setattr(attribution, "attribute", lambda *a, **k: pytest.fail("the map was computed"))
    code, out, err = run_cli(
        capsys, "explain", "--model", "lenet", "--test-index", "0", "--attribution", "saliency", "--out", str(tmp_path)
    )
    assert code == 1 and "is a folder" in err


def test_explain_takes_a_network_file_and_warns_about_the_dataset(tmp_path, capsys):
    from cnnviz.core.models.registry import build_model
    from cnnviz.core.weights.checkpoint import build_metadata, save_checkpoint

    path = net_file(tmp_path)
    spec = load_user_model(f"{path}:Net")
    own = tmp_path / "own.safetensors"
    model = build_model(spec.name)
    save_checkpoint(own, model, build_metadata(spec.name, model, dataset="mnist"))
    code, out, err = run_cli(
        capsys, "explain", "--model", f"{path}:Net", "--weights", str(own), "--image", str(_digit(tmp_path)),
        "--layer", "fc",
    )  # fmt: skip
    assert code == 0, err
    from cnnviz.core.resources import pretrained_path

    weights = pretrained_path("lenet", "mnist")
    code, out, err = run_cli(
        capsys, "explain", "--weights", str(weights), "--dataset", "fashion-mnist", "--image", str(_digit(tmp_path)),
        "--layer", "conv1",
    )  # fmt: skip
    assert code == 0 and "trained on mnist, not fashion-mnist" in err


def _digit(tmp_path) -> Path:
    import numpy as np

    from cnnviz.cli.explain import png_bytes

    rgb = np.full((28, 28, 3), 255, np.uint8)
    rgb[5:23, 12:16] = 0  # a dark stroke on white paper
    path = tmp_path / "one.png"
    path.write_bytes(png_bytes(rgb))
    return path


# -- finding 10: a stage that gives a tuple is inspected by its first tensor, or one sentence ---------------------
def test_a_tuple_stage_is_inspected_without_an_internal_error(tmp_path):
    import numpy as np

    from cnnviz.core.inspect.unit_inspector import inspect_unit
    from cnnviz.core.models.registry import build_model

    path = tmp_path / "pair.py"
    path.write_text(
        "from torch import nn\nclass Pair(nn.Module):\n    def forward(self, x):\n        return (x.relu(), x)\n"
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.conv = nn.Conv2d(1, 2, 3)\n        self.pair = Pair()\n        self.fc = nn.Linear(2 * 26 * 26, 10)\n"
        "    def forward(self, x):\n        a, _ = self.pair(self.conv(x))\n        return self.fc(a.flatten(1))\n"
    )
    model = build_model(load_user_model(f"{path}:Net").name).eval()
    image = np.zeros((28, 28), np.float32)
    try:
        unit = inspect_unit(model, image, "pair", 0, 5, 5)
    except CnnvizError as exc:  # one sentence is fine; an AttributeError on .detach is not
        assert "pair" in str(exc)
    else:
        assert unit.as_dict()["value"] == pytest.approx(
            max(0.0, float(model.conv(torch_input(image))[0, 0, 5, 5])), abs=1e-5
        )


def torch_input(image):
    import torch

    return torch.as_tensor(image)[None, None]


def test_gradcam_on_a_tuple_stage_is_one_sentence(tmp_path):
    import numpy as np

    from cnnviz.core.inspect.attribution import attribute
    from cnnviz.core.models.registry import build_model

    path = tmp_path / "pair2.py"
    path.write_text(
        "from torch import nn\nclass Pair(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.conv = nn.Conv2d(1, 2, 3)\n    def forward(self, x):\n        y = self.conv(x)\n"
        "        return (y.relu(), y)\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.pair = Pair()\n        self.fc = nn.Linear(2 * 26 * 26, 10)\n"
        "    def forward(self, x):\n        a, _ = self.pair(x)\n        return self.fc(a.flatten(1))\n"
    )
    model = build_model(load_user_model(f"{path}:Net").name).eval()
    image = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    with pytest.raises(CnnvizError):  # "no convolutional stage", or "gives several": never an AttributeError
        attribute(model, image, "gradcam")
    with pytest.raises(CnnvizError, match="gives several"):
        attribute(model, image, "gradcam", stage="pair")
