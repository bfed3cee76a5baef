"""What the File and Edit menus do with files: weights, pictures, test images, PNG exports.

``FileActions`` acts on the app's state (the session) and the canvas; it
shows dialogs over the window it is given and reports one sentence per
problem through ``window.show_error``. Nothing here refreshes a panel: the
session announces what changed and the panels follow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QPoint
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QDockWidget, QFileDialog, QScrollArea, QWidget

from cnnviz.qt.app.errors import describe_error
from cnnviz.qt.state import workers
from cnnviz.qt.state.lazy import core
from cnnviz.qt.widgets.visibility import is_on_screen

WEIGHT_FILTER = "cnnviz weights (*.safetensors);;PyTorch state dict (*.pt *.pth);;All files (*)"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff);;All files (*)"


class FileActions(QObject):
    """Open/save weights, open a picture, put a test image on the canvas, export a panel."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.state = window.state
        self.reading_test_set = False
        self._read_job = None  # the test set read in the background, while it runs
        self.state.closing.connect(self._abandon_read)
        # Picks Ctrl+R's test images; replace it with a seeded one for a repeatable sequence.
        self.test_image_rng = np.random.default_rng()

    @property
    def settings(self):
        return self.window.settings

    def _start_dir(self, key: str) -> str:
        return str(self.settings.value(key, str(Path.home())))

    def _message(self, text: str, ms: int = 6000) -> None:
        self.window.statusBar().showMessage(text, ms)

    # -- weights ----------------------------------------------------------------------
    def open_weights(self, path: str | Path | None = None) -> bool:
        """Load a weights file for the current network; on any problem say why and keep the network."""
        session = self.state.session
        if session is None or not self.window.confirm_discard("opening other weights"):
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self.window, "Open weights", self._start_dir("weightsDir"), WEIGHT_FILTER
            )
            if not path:
                return False
        path = Path(path)
        self.settings.setValue("weightsDir", str(path.parent))
        current = session.spec
        try:
            # The file must be for the network on screen; this raises the sentence if not.
            session.load_file(path, session.model_name)
        except core().CheckpointError as exc:
            text = str(exc)
            other = getattr(exc, "file_model", None)  # the loader says which network the file is for
            if other and other != current.name:
                try:
                    name = core().get_spec(other).display_name
                    text += f" Choose {name} in the Model list first, then open the file again."
                except core().CnnvizError:
                    pass
            self.window.show_error("Could not open the weights file", text)
            return False
        except Exception as exc:
            self.window.show_error("Could not open the weights file", describe_error(exc))
            return False
        notes = " ".join(getattr(session.metadata, "notes", []))  # fields of the file that were ignored
        self._message(f"Loaded weights from {path.name}. {notes}".strip())
        return True

    def save_weights(self, path: str | Path | None = None) -> bool:
        session = self.state.session
        if session is None:
            return False
        edited = session.edited_kernels()
        if edited:  # a file that looks trained but holds a hand-made kernel would mislead whoever opens it
            which = ", ".join(str(out) for out, _ in edited)
            answer = self.window.ask(
                "Save edited weights?",
                f"First-layer kernel(s) {which} were edited by hand, so these are not the trained weights. "
                "Reset them in the Inspector to save the trained ones.",
                ["Save anyway", "Cancel"],
            )
            if answer != "Save anyway":
                return False
        if path is not None and not str(path).strip():
            self.window.show_error("Could not save the weights", "No file name was given for the weights.")
            return False
        if path is None:
            from cnnviz.core.models.user_model import weights_stem

            stem = f"{weights_stem(session.model_name)}-{session.dataset}"
            start = Path(self._start_dir("weightsDir")) / f"{stem}.safetensors"
            path, _ = QFileDialog.getSaveFileName(self.window, "Save weights", str(start), WEIGHT_FILTER.split(";;")[0])
            if not path:
                return False
        path = Path(path)
        if path.suffix != ".safetensors":
            path = path.with_name(path.name + ".safetensors")
        try:
            saved = session.save(path)
        except Exception as exc:
            self.window.show_error("Could not save the weights", f"Could not save to '{path}': {describe_error(exc)}")
            return False
        self.settings.setValue("weightsDir", str(path.parent))
        self._message(f"Saved weights to {saved}.")
        return True

    # -- pictures ---------------------------------------------------------------------
    def open_image(self, path: str | Path | None = None) -> bool:
        """Put a picture file on the canvas (dark ink on light paper is inverted to match the canvas)."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self.window, "Open image", self._start_dir("imageDir"), IMAGE_FILTER)
            if not path:
                return False
        path = Path(path)
        try:
            from cnnviz.qt.widgets.picture_file import picture_for_canvas  # the core (torch) on first use only

            square = picture_for_canvas(path)  # size-checked, shrunk, alpha laid on paper, ink found or refused
        except Exception as exc:
            self.window.show_error("Could not open the image", describe_error(exc))
            return False
        self.settings.setValue("imageDir", str(path.parent))
        self.window.canvas.set_picture(square)
        self.window.canvas_panel.set_true_label(f"Picture: {path.name}")
        return True

    # -- test images ------------------------------------------------------------------
    def show_random_test_image(self) -> bool:
        """Put a random test image on the canvas and feed it to the network unchanged; True if it is there now.

        The first call per dataset reads the test set in a background thread
        (a first-time download can take a minute) and shows the image then.
        """
        session = self.state.session
        if session is None or self.reading_test_set:
            return False
        if not session.test_set_in_memory():
            if self.window.data.ensure(session.dataset, then=self.show_random_test_image):  # else: asked
                self._read_test_set_in_background()
            return False
        try:
            index = session.random_test_index(self.state.data_dir, rng=self.test_image_rng)
        except Exception as exc:
            self.window.show_error("No test images", describe_error(exc))
            return False
        return self.show_test_image(index)

    def show_test_image(self, index: int, dataset: str | None = None) -> bool:
        """Put test image ``index`` on the canvas with its true label, fed to the network unchanged.

        ``dataset`` (e.g. the error gallery's) must be the network's: an image of
        another dataset is refused with one sentence.
        """
        session = self.state.session
        if session is None:
            return False
        c = core()
        if dataset is not None and dataset != session.dataset:
            self.window.show_error("Another dataset", f"This image is from {c.DATASETS[dataset].display_name}, but the "
                                   f"network on screen is for {c.DATASETS[session.dataset].display_name}.")  # fmt: skip
            return False
        try:
            image, label = session.test_image(index, self.state.data_dir)
        except Exception as exc:
            self.window.show_error("No test images", describe_error(exc))
            return False
        self.window.canvas.set_picture(image)
        self.state.set_test_image(image, label)  # after the canvas's own drawingChanged: this one wins
        self.window.canvas_panel.set_true_label(
            f"Test image #{index:,} from {c.DATASETS[session.dataset].display_name} · "
            f"true label: <b>{session.class_names[label]}</b>"
        )
        return True

    def _read_test_set_in_background(self) -> None:
        dataset, data_dir = self.state.session.dataset, self.state.data_dir
        self.reading_test_set = True
        self.window.act_random.setEnabled(False)
        self.window.statusBar().showMessage(f"Reading the {core().DATASETS[dataset].display_name} test set…")

        job = workers.start(lambda _progress: core().load_split(dataset, False, data_dir), name="read-test-set",
                            parent=self, failure="The test images could not be read")  # fmt: skip
        job.returned.connect(lambda _split: self._on_test_set_read(None))
        job.failed.connect(self._on_test_set_read)
        self._read_job = job

    def _abandon_read(self) -> None:
        """The window closes: a read still going (maybe a download) finishes on its own, unheard."""
        if self._read_job is not None:
            self._read_job.abandon()
            self._read_job = None

    def _on_test_set_read(self, error: str | None) -> None:
        self.reading_test_set, self._read_job = False, None
        self.window.act_random.setEnabled(self.state.session is not None)
        self.window.statusBar().clearMessage()
        if error is not None:
            self.window.show_error("No test images", error)
        else:
            self.show_random_test_image()

    # -- export -----------------------------------------------------------------------
    def export_panel_png(self, path: str | Path | None = None, widget: QWidget | None = None, name: str = "") -> bool:
        if widget is None:
            name, widget = self.window.current_panel()
        if path is None:
            stem = (name or "panel").lower().replace(" ", "-")
            start = Path(self._start_dir("exportDir")) / f"cnnviz-{stem}.png"
            path, _ = QFileDialog.getSaveFileName(
                self.window, f"Export {name or 'panel'} as PNG", str(start), "PNG image (*.png)"
            )
            if not path:
                return False
        from cnnviz.qt.widgets.picture_file import png_path, write_png

        path = png_path(path)
        try:
            write_png(self.panel_picture(widget), path)  # the old file stays if this fails
        except Exception as exc:
            self.window.show_error(
                "Could not export", f"Could not write the picture to '{path}': {describe_error(exc)}"
            )
            return False
        self.settings.setValue("exportDir", str(path.parent))
        self._message(f"Saved {name or 'panel'} as {path}.")
        return True

    def export_figure(self, path: str | Path | None = None, widget: QWidget | None = None, name: str = "") -> bool:
        """A panel as a figure for a slide: without its controls, PNG at 2x, or SVG for plots and diagrams."""
        from cnnviz.core.data.files import write_atomic
        from cnnviz.qt.app import figures

        if widget is None:
            name, widget = self.window.current_panel()
        name, part = figures.part_of(self.window, name, widget)
        vector = figures.is_vector(part)
        if path is None:
            stem = name.lower().replace(" ", "-").replace("?", "")
            start = Path(self._start_dir("exportDir")) / f"cnnviz-{stem}.png"
            kinds = "PNG picture, 2x (*.png)" + (";;SVG drawing (*.svg)" if vector else "")
            path, chosen = QFileDialog.getSaveFileName(self.window, f"Export {name} as a figure", str(start), kinds)
            if not path:
                return False
            if chosen.startswith("SVG") and Path(path).suffix.lower() != ".svg":
                path = str(path) + ".svg"
        path, svg = figures.figure_path(path, vector)
        front = figures.bring_to_front(self.window, part)
        try:
            write_atomic(path, figures.figure_bytes(self.window, name, part, svg), what="figure")
        except Exception as exc:
            self.window.show_error("Could not export", describe_error(exc))
            return False
        finally:
            if front is not None:
                front.raise_()
        self.settings.setValue("exportDir", str(path.parent))
        self._message(f"Saved the {name} figure as {path}.")
        return True

    def panel_picture(self, widget: QWidget) -> QPixmap:
        """The whole panel as a picture: brought to the front if it hides behind another dock's tab
        (its contents are only drawn when shown), and with the whole of a scrolled content, not
        only the part in view."""
        window = self.window
        dock = next((d for d in window.findChildren(QDockWidget) if d.widget() is widget
                     or (d.widget() is not None and d.widget().isAncestorOf(widget))), None)  # fmt: skip
        front = None
        if dock is not None and not is_on_screen(widget):
            front = next((d for d in window.tabifiedDockWidgets(dock) if is_on_screen(d)), None)
            dock.raise_()
            for _ in range(3):  # the raise, the catch-up repaint, the layout
                QApplication.processEvents()
        picture = widget.grab()
        scroll = next((a for a in widget.findChildren(QScrollArea)
                       if a.widget() is not None and a.widget().height() > a.viewport().height()), None)  # fmt: skip
        if scroll is not None:
            view = scroll.viewport()
            top = view.mapTo(widget, QPoint(0, 0)).y()
            inner = scroll.widget().grab()
            whole = QPixmap(picture.width(), picture.height() - view.height() + inner.height())
            whole.fill(widget.palette().window().color())
            p = QPainter(whole)
            p.drawPixmap(0, 0, picture, 0, 0, picture.width(), top)
            p.drawPixmap(view.mapTo(widget, QPoint(0, 0)).x(), top, inner)
            below = top + view.height()
            p.drawPixmap(0, top + inner.height(), picture, 0, below, picture.width(), picture.height() - below)
            p.end()
            picture = whole
        if front is not None:
            front.raise_()
        return picture
