"""Which network is on screen: switching to a zoo network or to the user's own, and not losing a
trained one on the way (Save / Discard / Cancel)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QInputDialog, QProgressDialog

from cnnviz.qt.state.lazy import core

NETWORK_FILTER = "Python file with a network (*.py)"
RESOURCES = Path(__file__).resolve().parents[3] / "resources"  # the shipped example_net.py


def network_folder(settings) -> str:
    """Where File > Open network starts: the last folder used, else the shipped examples."""
    last = settings.value("networkDir")
    if isinstance(last, str) and last and Path(last).is_dir():
        return last
    return str(RESOURCES if RESOURCES.is_dir() else Path.home())


def split_typed_spec(text: str) -> tuple[str, str | None]:
    """What the user chose or typed -> (file, NAME or None): ``dir/example_net.py:ExampleNet``
    (the file dialog joins a typed name to its folder) -> (``dir/example_net.py``, ``ExampleNet``)."""
    head, sep, tail = str(text).rpartition(":")
    if sep and head.endswith(".py") and tail.isidentifier():
        return head, tail
    return str(text), None


class NetworkActions(QObject):
    """The network commands of the window it is given; the session announces what changed."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window

    def switch_model(self, model: str, dataset: str, probed=None) -> bool:
        """Show a network/dataset pair: the shipped weights of a zoo network (random weights if none
        are shipped), or a user's network from ``PATH.py:NAME`` with fresh weights (``probed``: the
        result of its child-process probe; without one the probe runs first)."""
        session = self.window.session
        if session is None or session.training:
            return False
        c = core()
        from cnnviz.core.models.user_model import is_user_spec, load_user_model

        registered = model in [spec.name for spec in c.list_models(variants=True)]
        if is_user_spec(model) and not registered and probed is None:  # behind the fence first
            return self.open_network(*split_typed_spec(model))
        if not self.confirm_discard("switching the network"):
            return False
        try:
            if is_user_spec(model) and not registered:  # runs the file's code: only a file the user picked or named
                spec = load_user_model(model, check=False)  # the probe ran its forward, in a child process
                session.load_untrained(spec.name, dataset)
                session.forward_seconds = probed.seconds_per_image  # slow: drawing runs it off the GUI thread
                for warning in probed.warnings:
                    self.window.statusBar().showMessage(warning, 15000)
                if not probed.warnings:
                    self.window.statusBar().showMessage(
                        f"Opened {spec.display_name}: random weights, ready to train.", 10000
                    )
                return True
            pretrained = session.load_pretrained(model, dataset)
        except c.CnnvizError as exc:
            self.window.show_error("Could not load the network", str(exc))
            return False
        spec, data = c.get_spec(model), c.DATASETS[dataset].display_name
        if pretrained:
            acc = session.test_accuracy
            extra = f" ({100 * acc:.1f}% test accuracy)" if isinstance(acc, float) else ""
            self.window.statusBar().showMessage(f"Loaded pretrained {spec.display_name} for {data}{extra}.", 6000)
        else:
            self.window.statusBar().showMessage(
                f"No pretrained {spec.display_name} for {data} yet: random weights.", 10000
            )
        self.window.settings.setValue("model", model)
        self.window.settings.setValue("dataset", dataset)
        return True

    def open_network(self, path: str | Path | None = None, name: str | None = None) -> bool:
        """File > Open network: a user's ``nn.Module`` from a Python file (running it runs its code).

        The file is first probed in a child process with a time limit (progress and Cancel; the
        window stays responsive); a file with several networks asks which one. The dialog also
        takes a typed ``FILE.py:NAME``.
        """
        if self.window.session is None:
            return False
        if path is None:
            typed = self.ask_network_file()
            if not typed:
                return False
            path, typed_name = split_typed_spec(typed)
            name = name or typed_name
        self.window.settings.setValue("networkDir", str(Path(path).expanduser().resolve().parent))
        spec = f"{path}:{name}" if name else str(path)
        result = self.probe(spec)
        if result is None:
            return False
        if result.needs_choice:
            name = self.choose_network(Path(path).name, result.networks)
            if not name:
                return False
            spec = f"{path}:{name}"
            result = self.probe(spec)
            if result is None:
                return False
        return self.switch_model(f"{path}:{result.name}", self.window.session.dataset, probed=result)

    def ask_network_file(self) -> str:
        """The file dialog (a typed ``FILE.py:NAME`` is accepted too); "" when cancelled."""
        dialog = QFileDialog(self.window, "Open network (runs the file's code)", network_folder(self.window.settings))
        dialog.setObjectName("openNetworkDialog")
        dialog.setNameFilter(NETWORK_FILTER)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)  # so "example_net.py:ExampleNet" is not "File not found"
        dialog.setLabelText(QFileDialog.DialogLabel.FileName, "File (or FILE.py:NAME):")
        if not dialog.exec() or not dialog.selectedFiles():
            return ""
        return dialog.selectedFiles()[0]

    def choose_network(self, file_name: str, networks: list[str]) -> str:
        """Which of the file's ``nn.Module`` classes to open; "" when cancelled. Tests replace this."""
        dialog = QInputDialog(self.window)
        dialog.setObjectName("chooseNetwork")
        dialog.setWindowTitle("Choose the network")
        dialog.setLabelText(f"{file_name} defines {len(networks)} networks (nn.Module classes). Open:")
        dialog.setComboBoxItems(networks)
        dialog.setTextValue(networks[-1])  # the last is usually the whole network, its blocks come first
        dialog.setMinimumWidth(480)  # the title and the names whole, also on a projector
        ok = dialog.exec()
        choice = dialog.textValue()
        dialog.deleteLater()
        return choice if ok else ""

    def probe(self, spec: str):
        """Run the child-process probe of ``spec`` with progress and Cancel; its result, or None
        (the reason shown as one sentence) when it failed, timed out or was cancelled."""
        from cnnviz.core.models.probe import Probe
        from cnnviz.core.models.user_model import UserModelError

        try:
            probe = Probe(spec)
        except UserModelError as exc:
            self.window.show_error("Could not open the network", str(exc))
            return None
        shown = probe.shown
        progress = QProgressDialog(
            f"Trying {shown} in a separate process (at most {probe.limit_s:.0f} s)…", "Cancel", 0, 0, self.window
        )
        progress.setObjectName("probeProgress")
        progress.setWindowTitle("Checking the network")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(300)
        loop = QEventLoop()
        outcome: dict = {}

        def check() -> None:
            if outcome:  # closing the progress dialog says "canceled" too
                return
            if progress.wasCanceled():
                probe.cancel()
                outcome["cancelled"] = True
                loop.quit()
                return
            try:
                result = probe.poll()
            except UserModelError as exc:
                outcome["error"] = str(exc)
                loop.quit()
                return
            if result is not None:
                outcome["result"] = result
                loop.quit()

        timer = QTimer()
        timer.timeout.connect(check)
        timer.start(50)
        progress.canceled.connect(check)
        self.window.statusBar().showMessage(f"Checking {shown} in a separate process…")
        loop.exec()  # the window keeps painting and answering; the probe's dialog is modal
        timer.stop()
        progress.close()
        progress.deleteLater()
        probe.cancel()
        self.window.statusBar().clearMessage()
        if "error" in outcome:  # the CLI says the same sentence; only a window has a network on screen
            self.window.show_error("Could not open the network", f"{outcome['error']} The network on screen stays.")
            return None
        if "cancelled" in outcome:
            self.window.statusBar().showMessage("Opening the network was cancelled; the network on screen stays.", 8000)
            return None
        return outcome["result"]

    def confirm_discard(self, what: str) -> bool:
        """Before ``what`` replaces a trained, unsaved network: Save / Discard / Cancel. True to go on."""
        session = self.window.session
        if session is None or not session.has_unsaved_work:
            return True
        answer = self.window.ask(
            "Save the trained network?",
            f"The network on screen was trained in this session and is not saved. Save it before {what}?",
            ["Save…", "Discard", "Cancel"],
        )
        if answer == "Save…":
            return self.window.files.save_weights()
        return answer == "Discard"
