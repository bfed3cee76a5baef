"""The user's own network from a .py file: loading, bad files, training, weights, the command line."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnviz.cli.commands import main as cli_main
from cnnviz.core.errors import CheckpointError, CnnvizError
from cnnviz.core.inspect.activations import activations
from cnnviz.core.inspect.layers import layer_table
from cnnviz.core.models import user_model
from cnnviz.core.models.registry import build_model, count_parameters, get_spec, list_models, unregister_model
from cnnviz.core.models.user_model import UserModelError, load_user_model, resolve_model_name, weights_stem
from cnnviz.core.training.loop import BatchStats, TrainConfig, TrainControl, TrainingEnded, train
from cnnviz.core.weights.checkpoint import build_metadata, load_checkpoint, read_metadata, save_checkpoint

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "resources" / "example_net.py"
EXAMPLE_SPEC = f"{EXAMPLE}:ExampleNet"
IMAGE = np.random.default_rng(0).random((28, 28), dtype=np.float32)

HEADER = "import torch\nimport torch.nn.functional as F\nfrom torch import nn\n\n"
GOOD = (
    HEADER
    + """
class Net(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.conv = nn.Conv2d(1, width, 3, padding=1)
        self.fc = nn.Linear(width * 14 * 14, 10)

    def forward(self, x):
        return self.fc(F.max_pool2d(F.relu(self.conv(x)), 2).flatten(1))
"""
)


@pytest.fixture(autouse=True)
def _forget_user_models():
    yield
    for spec in list_models():
        if spec.source_path:
            unregister_model(spec.name)


def _write(tmp_path, text, name="my_net.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _fails(spec, pattern):
    with pytest.raises(UserModelError, match=pattern) as info:
        load_user_model(str(spec))
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message and message.endswith(".")
    return message


def test_the_example_network_loads_and_registers():
    spec = load_user_model(EXAMPLE_SPEC)
    assert spec.name == "example_net.py:ExampleNet" and spec.display_name == "ExampleNet (example_net.py)"
    assert spec.source_path == str(EXAMPLE) and spec.source_name == "example_net.py"
    assert spec.source_sha256 == user_model.file_sha256(EXAMPLE) and len(spec.source_sha256) == 64
    assert spec.warnings == ()
    assert get_spec(spec.name) is spec and list_models()[-1] is spec
    model = build_model(spec.name)
    assert spec.num_params == count_parameters(model) == 17_290
    assert resolve_model_name(EXAMPLE_SPEC) == spec.name and resolve_model_name("lenet5") == "lenet5"


@torch.no_grad()
def test_the_example_network_through_activations_and_the_layer_table():
    model = build_model(resolve_model_name(EXAMPLE_SPEC)).eval()
    probs, acts = activations(model, IMAGE)
    assert list(acts) == ["stem", "blocks.0", "blocks.1", "head"]
    assert [a.shape for a in acts.values()] == [(16, 28, 28), (16, 14, 14), (16, 14, 14), (10,)]
    torch.testing.assert_close(torch.from_numpy(probs), torch.softmax(model(torch.from_numpy(IMAGE)[None, None]), 1)[0])
    assert acts["blocks.1"].min() >= 0  # a residual block ends in a ReLU
    table = layer_table(model)
    assert [r.name for r in table] == list(acts) and sum(r.params for r in table) == 17_290


def test_a_name_is_optional_for_a_file_with_one_network(tmp_path):
    path = _write(tmp_path, GOOD)
    assert load_user_model(str(path)).name == "my_net.py:Net"
    _write(tmp_path, GOOD + "\ndef build():\n    return Net(width=4)\n")
    spec = load_user_model(str(path))  # a build() function wins: it says how to build
    assert spec.name == "my_net.py:build" and spec.num_params == 4 * 9 + 4 + 4 * 14 * 14 * 10 + 10


def test_reloading_a_changed_file_replaces_the_model(tmp_path):
    path = _write(tmp_path, GOOD)
    first = load_user_model(f"{path}:Net")
    _write(tmp_path, GOOD.replace("width=8", "width=4"))
    second = load_user_model(f"{path}:Net")
    assert second.name == first.name and second.source_sha256 != first.source_sha256
    assert get_spec("my_net.py:Net") is second and build_model("my_net.py:Net").conv.out_channels == 4
    assert [s.name for s in list_models()].count("my_net.py:Net") == 1


BAD_FILES = [
    ("missing", None, "Net", r"^There is no network file '.*nowhere\.py'\.$"),
    ("syntax", HEADER + "class Net(nn.Module):\n    def forward(self, x)\n        return x\n", "Net", r"^my_net\.py, line 6: "),
    ("import", "import torch\nimport not_a_module_anyone_has\n", "Net", r"line 2: cannot import module 'not_a_module_anyone_has'"),
    ("raises", HEADER + "WIDTH = 1 / 0\n", "Net", r"line 5: running the file raised ZeroDivisionError: division by zero\.$"),
    ("no name", GOOD, "Netz", r"^my_net\.py has no 'Netz' \(it defines Net\)\.$"),
    ("not a module", GOOD + "\nNUMBER = 3\n", "NUMBER", r"'NUMBER' in my_net\.py is not an nn\.Module subclass or a function that returns one \(it is of type int\)"),
    ("plain class", GOOD + "\nclass Plain:\n    pass\n", "Plain", r"'Plain' in my_net\.py is a class but not an nn\.Module subclass\."),
    ("function", GOOD + "\ndef make():\n    return [Net()]\n", "make", r"make\(\) in my_net\.py returned an object of type list, not an nn\.Module\."),
    ("arguments", GOOD.replace("width=8", "width"), "Net", r"Net in my_net\.py cannot be built without arguments: its constructor needs width;"),
    ("builder raises", GOOD.replace("super().__init__()", "super().__init__()\n        raise ValueError('no GPU here')"), "Net", r"^Building Net raised ValueError: no GPU here \(my_net\.py, line \d+\)\.$"),
    ("shape", GOOD.replace("14 * 14, 10)", "14 * 14, 12)"), "Net", r"^Net returned shape 1 x 12 for 1 x 1 x 28 x 28 input; it must return N x 10 class scores\.$"),
    ("flat", GOOD.replace(".flatten(1))", ".flatten(1))[0]"), "Net", r"^Net returned shape 10 for 1 x 1 x 28 x 28 input"),
    ("forward raises", GOOD.replace("return self.fc(", "raise RuntimeError('mat1 and mat2 shapes')\n        return self.fc("), "Net", r"^Net's forward raised RuntimeError: mat1 and mat2 shapes \(my_net\.py, line 13\) for 1 x 1 x 28 x 28 input\.$"),
    ("batch", GOOD.replace(".flatten(1))", ".flatten(1))[:1]"), "Net", r"^Net returned shape 1 x 10 for 2 x 1 x 28 x 28 input"),
    ("tuple", GOOD.replace("return self.fc(", "return 1, self.fc("), "Net", r"^Net returned an object of type tuple, not a tensor"),
    ("stages", GOOD.replace("class Net(nn.Module):", "class Net(nn.Module):\n    cnnviz_stages = ('conv', 'pool')"), "Net", r"^Net\.cnnviz_stages names 'pool', which is not a submodule"),
    ("ambiguous", GOOD + "\nclass Other(Net):\n    pass\n", None, r"^my_net\.py defines 2 networks \(Net, Other\): say which, e\.g\. my_net\.py:Other\.$"),
    ("none", HEADER + "X = 1\n", None, r"^my_net\.py defines no nn\.Module subclass"),
    ("not a spec", GOOD, "2fast", r"is not a network file: write PATH\.py or PATH\.py:NAME"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "name", "pattern"), [case[1:] for case in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_a_bad_file_is_one_sentence(tmp_path, source, name, pattern):
    path = tmp_path / "nowhere.py" if source is None else _write(tmp_path, source)
    _fails(f"{path}:{name}" if name else path, pattern)
    assert not any(s.source_path for s in list_models())  # nothing was registered


def test_a_slow_network_warns_and_still_loads(tmp_path, monkeypatch):
    monkeypatch.setattr(user_model, "SLOW_SECONDS", 0.05)
    slow = GOOD.replace("    def forward(self, x):\n", "    def forward(self, x):\n        time.sleep(0.1)\n")
    path = _write(tmp_path, "import time\n" + slow)
    spec = load_user_model(f"{path}:Net")
    assert get_spec("my_net.py:Net") is spec
    assert len(spec.warnings) == 1 and spec.warnings[0].startswith("Net takes ")
    assert "s for one image, so the app will answer each stroke slowly." in spec.warnings[0]
    heard = []
    resolve_model_name(f"{path}:Net", warn=heard.append)
    assert heard == list(load_user_model(f"{path}:Net").warnings)


def test_the_file_runs_under_its_own_module_name_with_its_folder_importable(tmp_path):
    _write(tmp_path, "WIDTH = 4\n", name="my_settings.py")
    source = "from my_settings import WIDTH\n" + GOOD.replace("width=8", "width=WIDTH")
    source += "\nif __name__ == '__main__':\n    raise SystemExit('a script block must not run')\n"
    path = _write(tmp_path, source)
    assert build_model(load_user_model(f"{path}:Net").name).conv.out_channels == 4
    assert str(tmp_path) not in sys.path


def test_weights_files_name_the_network_file_and_its_hash(tmp_path):
    spec = load_user_model(EXAMPLE_SPEC)
    model = build_model(spec.name, seed=1)
    path = save_checkpoint(tmp_path / "w.safetensors", model, build_metadata(spec.name, model, dataset="mnist"))
    meta = read_metadata(path)
    assert meta["model"] == "example_net.py:ExampleNet"
    assert meta["model_file"] == {"name": "example_net.py", "sha256": spec.source_sha256}
    loaded, _ = load_checkpoint(path)
    for (key, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), key
    assert "model_file" not in build_metadata("lenet5", build_model("lenet5"))


def test_weights_need_their_network_file_open_and_never_run_it(tmp_path):
    marker = tmp_path / "ran.txt"
    source = f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n" + GOOD
    net = _write(tmp_path, source)
    name = load_user_model(f"{net}:Net").name
    model = build_model(name)
    weights = save_checkpoint(tmp_path / "w.safetensors", model, build_metadata(name, model))
    unregister_model(name)  # a fresh session: the network file is not open
    marker.unlink()
    with pytest.raises(
        CheckpointError,
        match=r"^'w\.safetensors' was saved from my_net\.py: open that network first \(File > Open network",
    ):
        load_checkpoint(weights)
    assert not marker.exists()  # reading the weights did not run the file
    _write(tmp_path, source.replace("width=8", "width=16"))  # the file changed since
    load_user_model(f"{net}:Net")
    with pytest.raises(CheckpointError, match=r"^'w\.safetensors' was saved from my_net\.py with other content than"):
        load_checkpoint(weights)
    with pytest.raises(CheckpointError, match="with other content"):
        load_checkpoint(weights, name)


def test_training_the_example_network_for_a_few_steps_then_saving_it(tmp_path, data_dir):
    name = resolve_model_name(EXAMPLE_SPEC)
    model = build_model(name, seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = TrainConfig(model=name, batch_size=64, schedule="constant", seed=0, device="cpu", threads=1)
    control, losses = TrainControl(), []
    for event in train(config, model=model, control=control, data_dir=data_dir):
        if isinstance(event, BatchStats):  # a report covers every batch since the last
            losses.extend(event.losses)
            if event.step >= 30:
                control.stop()
        elif isinstance(event, TrainingEnded):
            ended = event
    assert ended.reason == "stopped" and 30 <= len(losses) < 625
    assert np.mean(losses[-5:]) < np.mean(losses[:5])  # it learns
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    path = save_checkpoint(tmp_path / "trained.safetensors", model, build_metadata(name, model, dataset="mnist"))
    loaded, meta = load_checkpoint(path, name)
    x = torch.rand(4, 1, 28, 28)
    assert meta["dataset"] == "mnist" and torch.equal(loaded(x), model.eval()(x))


def test_weights_stem_is_safe_for_file_names():
    assert weights_stem("my_net.py:Net") == "my_net-Net" and weights_stem("lenet5") == "lenet5"


def test_cli_layers_of_the_example_network(capsys):
    assert cli_main(["layers", EXAMPLE_SPEC, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["stem", "blocks.0", "blocks.1", "head"]
    assert rows[1]["type"] == "ResidualBlock" and rows[1]["output_shape"] == [16, 14, 14]


def test_cli_layers_as_a_subprocess():
    result = subprocess.run(
        [sys.executable, "-m", "cnnviz", "layers", "resources/example_net.py:ExampleNet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "ExampleNet (example_net.py)"
    assert "blocks.1" in result.stdout and "17,290" in result.stdout


def test_cli_bad_network_file_is_one_line(tmp_path, capsys):
    path = _write(tmp_path, GOOD.replace("14 * 14, 10)", "14 * 14, 12)"))
    for argv in (
        ["layers", f"{path}:Net"],
        ["train", "--model", f"{path}:Net", "--out", str(tmp_path / "x.safetensors")],
    ):
        assert cli_main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("cnnviz: error: Net returned shape 1 x 12") and err.count("\n") == 1


def test_cli_eval_rebuilds_the_network_from_the_file_named(tmp_path, capsys, data_dir):
    name = resolve_model_name(EXAMPLE_SPEC)
    model = build_model(name, seed=0)
    weights = save_checkpoint(tmp_path / "ex.safetensors", model, build_metadata(name, model, dataset="mnist"))
    unregister_model(name)
    assert cli_main(["eval", "--weights", str(weights), "--json", "--data-dir", str(data_dir)]) == 1
    assert "was saved from example_net.py: open that network first" in capsys.readouterr().err
    assert cli_main(["eval", "--weights", str(weights), "--model", EXAMPLE_SPEC, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == name and 0 <= report["accuracy"] <= 1


@pytest.mark.parametrize("argv", [["--model", "my_net.py:Net"], ["gui", "--model", "my_net.py:Net"], ["gui"]])
def test_cli_passes_the_network_to_the_app(monkeypatch, argv):
    import cnnviz.qt.app.launch

    opened = []
    monkeypatch.setattr(cnnviz.qt.app.launch, "main", lambda model=None, lesson=None: opened.append(model) or 0)
    assert cli_main(argv) == 0
    assert opened == [None if argv == ["gui"] else "my_net.py:Net"]


def test_user_model_errors_are_cnnviz_errors():
    assert issubclass(UserModelError, CnnvizError)
