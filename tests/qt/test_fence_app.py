"""Issue 22 in the window, and issue 17 item 1 (File > Open network on the shipped example)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from cnnviz.qt.app.network_actions import network_folder, split_typed_spec

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "example_net.py"


# -- finding 1: a remembered value of the wrong type never stops the app ------------------------------------------
@pytest.mark.parametrize("bad", ["hello", "42", "@Rect(0 0 100 100)", "@ByteArray(\\x1\\xd9\\xd0\\xcb\\0\\x3)"])
def test_bad_remembered_geometry_is_dropped_and_named(qtbot, tmp_path, bad):
    from cnnviz.qt import MainWindow

    ini = tmp_path / "cnnviz.ini"
    ini.write_text(f"[General]\ngeometry={bad}\nwindowState={bad}\nlayoutCompact=False\nbrush=wide\n")
    settings = QSettings(str(ini), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)  # used to raise TypeError in restoreGeometry on every start
    qtbot.addWidget(window)
    message = window.statusBar().currentMessage()
    assert "geometry" in message and str(ini) in message
    assert window.canvas_panel.brush_slider.value() > 0


# -- issue 17 item 1: the shipped example with two networks -----------------------------------------------------
def test_opening_the_example_asks_which_network(window):
    offered = []

    def choose(file_name, networks):
        offered.append((file_name, networks))
        return "ExampleNet"

    window.networks.choose_network = choose
    assert window.open_network(EXAMPLE), window.shown_errors
    assert offered == [("example_net.py", ["ResidualBlock", "ExampleNet"])]
    assert window.session.model_name == "example_net.py:ExampleNet"
    assert window.settings.value("networkDir") == str(EXAMPLE.parent)


def test_a_cancelled_choice_keeps_the_network_on_screen(window):
    window.networks.choose_network = lambda file_name, networks: ""
    before = window.session.model_name
    assert not window.open_network(EXAMPLE)
    assert window.session.model_name == before and window.shown_errors == []


def test_a_typed_file_and_name_is_understood(tmp_path):
    assert split_typed_spec(f"{EXAMPLE.parent}/example_net.py:ExampleNet") == (
        f"{EXAMPLE.parent}/example_net.py",
        "ExampleNet",
    )
    assert split_typed_spec(str(EXAMPLE)) == (str(EXAMPLE), None)
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    assert network_folder(settings) == str(EXAMPLE.parent)  # first use: the shipped examples
    settings.setValue("networkDir", str(tmp_path))
    assert network_folder(settings) == str(tmp_path)  # then the last folder used
    settings.setValue("networkDir", str(tmp_path / "gone"))
    assert network_folder(settings) == str(EXAMPLE.parent)


def test_a_typed_spec_in_the_dialog_opens_that_network(window):
    window.networks.ask_network_file = lambda: f"{EXAMPLE}:ExampleNet"
    assert window.open_network(), window.shown_errors
    assert window.session.model_name == "example_net.py:ExampleNet"


# -- findings 2 and 3 in the window: an exit or an endless loop is one sentence; the network stays ----------------
@pytest.mark.parametrize(
    ("forward", "expected"), [("sys.exit(3)", "SystemExit"), ("while True: pass", "did not finish")]
)
def test_a_network_that_exits_or_never_answers_leaves_the_window(window, tmp_path, monkeypatch, forward, expected):
    monkeypatch.setenv("CNNVIZ_PROBE_SECONDS", "8")
    path = tmp_path / "bad.py"
    path.write_text(
        "import sys\nfrom torch import nn\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__(); self.fc = nn.Linear(784, 10)\n"
        f"    def forward(self, x):\n        {forward}\n        return self.fc(x.flatten(1))\n"
    )
    before = window.session.model_name
    assert not window.open_network(path, "Net")
    assert window.session.model_name == before
    assert len(window.shown_errors) == 1 and expected in window.shown_errors[0][1]


# -- finding 10: save_weights("") is a sentence, and panel exports are atomic ---------------------------------------
def test_saving_weights_to_an_empty_name_is_one_sentence(window):
    assert not window.save_weights("")
    assert window.shown_errors and "No file name" in window.shown_errors[-1][1]


def test_a_failed_panel_export_keeps_the_old_picture(window, tmp_path, monkeypatch):
    folder = tmp_path / "exports"
    folder.mkdir()
    target = folder / "panel.png"
    target.write_bytes(b"old picture")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    assert not window.export_panel_png(target)
    assert target.read_bytes() == b"old picture" and [p.name for p in folder.iterdir()] == ["panel.png"]


# -- a forward slower than the drawing budget runs off the GUI thread (newest input wins) --------------------
def test_a_slow_forward_runs_off_the_gui_thread(window, tmp_path, qtbot, draw):
    threads = tmp_path / "threads.txt"
    path = tmp_path / "slow.py"
    path.write_text(
        "import threading, time\nfrom torch import nn\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__(); self.fc = nn.Linear(784, 10)\n    def forward(self, x):\n"
        "        time.sleep(0.3)\n"
        f"        open({str(threads)!r}, 'a').write(threading.current_thread().name + chr(10))\n"
        "        return self.fc(x.flatten(1))\n"
    )
    assert window.open_network(path, "Net"), window.shown_errors
    threads.write_text("")
    draw(window.canvas, [(0.5, 0.2), (0.5, 0.5), (0.5, 0.8)])
    qtbot.waitUntil(lambda: not window.state.inference_pending(), timeout=30_000)
    assert window.session.result.probabilities is not None and window.session.result.error is None
    ran_in = set(threads.read_text().split())
    assert ran_in and "MainThread" not in ran_in, ran_in


# -- finding 2 in training: sys.exit inside a training batch ends the run with a sentence, not the worker ----------
def test_an_exit_during_training_is_one_sentence(window, tmp_path, qtbot):
    path = tmp_path / "exits.py"
    path.write_text(
        "import sys\nfrom torch import nn\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__(); self.fc = nn.Linear(784, 10)\n    def forward(self, x):\n"
        "        if x.shape[0] > 2:\n            sys.exit(3)\n        return self.fc(x.flatten(1))\n"
    )
    assert window.open_network(path, "Net"), window.shown_errors
    monitor = window.monitor
    with qtbot.waitSignal(monitor.trainingFinished, timeout=180_000) as finished:
        window.act_train_start.trigger()
    assert finished.args[0].reason == "error" and "SystemExit" in finished.args[0].message
    assert not monitor.is_running() and window.session.model_name == "exits.py:Net"


# -- finding 10: NaN scores at draw time are a sentence of their own, not "0 (nan%)" ------------------------------
def test_nan_scores_for_a_drawing_are_their_own_sentence(window, tmp_path, qtbot, draw):
    path = tmp_path / "nan_on_ink.py"
    path.write_text(  # finite for the probe's random image (mean 0.5), NaN for a drawing (mostly black)
        "from torch import nn\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__(); self.fc = nn.Linear(784, 10)\n    def forward(self, x):\n"
        "        out = self.fc(x.flatten(1))\n        return out * float('nan') if float(x.mean()) < 0.3 else out\n"
    )
    assert window.open_network(path, "Net"), window.shown_errors
    draw(window.canvas, [(0.5, 0.2), (0.5, 0.5), (0.5, 0.8)])
    qtbot.waitUntil(lambda: not window.state.inference_pending(), timeout=30_000)
    assert window.session.result.error is not None and "NaN" in window.session.result.error
