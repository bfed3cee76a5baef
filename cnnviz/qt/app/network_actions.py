"""Which network is on screen: switching to a zoo network or to the user's own, and not losing a
trained one on the way (Save / Discard / Cancel)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from cnnviz.qt.state.lazy import core

NETWORK_FILTER = "Python file with a network (*.py)"


class NetworkActions(QObject):
    """The network commands of the window it is given; the session announces what changed."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window

    def switch_model(self, model: str, dataset: str) -> bool:
        """Show a network/dataset pair: the shipped weights of a zoo network (random weights if none
        are shipped), or a user's network from ``PATH.py:NAME`` with fresh weights."""
        session = self.window.session
        if session is None or session.training or not self.confirm_discard("switching the network"):
            return False
        c = core()
        from cnnviz.core.models.user_model import is_user_spec, load_user_model

        try:
            registered = model in [spec.name for spec in c.list_models(variants=True)]
            if is_user_spec(model) and not registered:  # runs the file's code: only a file the user picked or named
                spec = load_user_model(model)
                session.load_untrained(spec.name, dataset)
                for warning in spec.warnings:
                    self.window.statusBar().showMessage(warning, 15000)
                if not spec.warnings:
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
        """File > Open network: a user's ``nn.Module`` from a Python file (running it runs its code)."""
        if self.window.session is None:
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self.window, "Open network (runs the file's code)", str(self.window.settings.value("networkDir", str(Path.home()))),
                NETWORK_FILTER,
            )  # fmt: skip
            if not path:
                return False
        self.window.settings.setValue("networkDir", str(Path(path).parent))
        spec = f"{path}:{name}" if name else str(path)
        return self.switch_model(spec, self.window.session.dataset)

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
