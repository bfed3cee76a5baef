"""Data where the user is: the data folder in Preferences, and a missing dataset offered for download.

The folder lives in one place, ``session.data_dir`` (through ``window.data_dir``):
the test images, Evaluate, training and the error gallery all read it when they
start, so a change applies everywhere at once. It is remembered (QSettings
``dataDir``; empty: ``CNNVIZ_DATA_DIR`` or the user data folder). When a dataset
is missing, one sentence offers to download it (a background job with progress
and Cancel) or to choose the folder that has it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressDialog,
    QPushButton,
    QVBoxLayout,
)

from cnnviz.qt.state import workers

SETTING = "dataDir"
DOWNLOAD, CHOOSE = "Download", "Choose folder…"


def _datasets():
    from cnnviz.core.data.catalog import DATASETS  # no torch

    return DATASETS


def folder_report(folder: Path | None) -> str:
    """Which datasets a folder holds, for the Preferences dialog: "MNIST: there · Fashion-MNIST: missing"."""
    from cnnviz.core.data.datasets import is_available, resolve_data_dir

    where = resolve_data_dir(folder)
    found = [f"{info.display_name}: {'there' if is_available(name, where) else 'missing'}"
             for name, info in _datasets().items()]  # fmt: skip
    return f"{where} — " + " · ".join(found)


class PreferencesDialog(QDialog):
    """Edit > Preferences…: the data folder (empty: the default)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.setObjectName("preferencesDialog")
        self.setWindowTitle("Preferences")
        self.folder = QLineEdit(str(window.data_dir or ""))
        self.folder.setObjectName("dataFolder")
        self.folder.setAccessibleName("Data folder")
        self.folder.setPlaceholderText("Default: $CNNVIZ_DATA_DIR, else the user data folder")
        self.folder.setToolTip("Where MNIST and Fashion-MNIST are kept (torchvision's layout: MNIST/raw/…)")
        choose = QPushButton("Choose…")
        choose.setObjectName("chooseDataFolder")
        choose.setToolTip("Pick the folder that holds the datasets")
        choose.clicked.connect(self._choose)
        default = QPushButton("Default")
        default.setObjectName("defaultDataFolder")
        default.setToolTip("Use $CNNVIZ_DATA_DIR, else the user data folder")
        default.clicked.connect(self.folder.clear)
        self.report = QLabel()
        self.report.setObjectName("dataFolderReport")
        self.report.setWordWrap(True)
        self.folder.textChanged.connect(self._update_report)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(choose)
        row.addWidget(default)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        label = QLabel("&Data folder (used at once by test images, Evaluate, training and the error gallery):")
        label.setBuddy(self.folder)
        label.setWordWrap(True)
        layout.addWidget(label)
        layout.addLayout(row)
        layout.addWidget(self.report)
        layout.addWidget(buttons)
        self.resize(640, self.sizeHint().height())
        self._update_report()

    def chosen(self) -> Path | None:
        text = self.folder.text().strip()
        return Path(text).expanduser() if text else None

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Data folder", self.folder.text() or str(Path.home()))
        if folder:
            self.folder.setText(folder)

    def _update_report(self) -> None:
        chosen = self.chosen()
        if chosen is not None and not chosen.is_dir():
            self.report.setText(f"{chosen} is not a folder (yet): a download would make it.")
        else:
            self.report.setText(folder_report(chosen))


class DataFolder(QObject):
    """The window's data folder: Preferences, remembering it, and missing datasets."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.download_job = None
        self.progress_dialog: QProgressDialog | None = None
        window.state.closing.connect(self._abandon)

    def remembered(self) -> Path | None:
        text = str(self.window.settings.value(SETTING, "") or "")
        return Path(text) if text else None

    def set_folder(self, folder: str | Path | None) -> None:
        """Use ``folder`` (None: the default) from now on, everywhere, and remember it."""
        self.window.data_dir = folder
        self.window.settings.setValue(SETTING, str(folder) if folder else "")
        shown = str(folder) if folder else "the default data folder"
        self.window.statusBar().showMessage(f"Datasets are read from {shown} now.", 6000)

    def preferences(self) -> bool:
        """Edit > Preferences…; True when the user pressed OK."""
        dialog = PreferencesDialog(self.window)
        try:
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return False
            self.set_folder(dialog.chosen())
            return True
        finally:
            dialog.deleteLater()

    # -- a missing dataset ---------------------------------------------------------------
    def ensure(self, dataset: str, then=None) -> bool:
        """True if ``dataset`` is in the data folder; else ask once (Download / Choose folder… / Cancel)
        and return False; ``then()`` runs once the dataset is there (after a download or a choice)."""
        from cnnviz.core.data.datasets import is_available

        if is_available(dataset, self.window.data_dir):
            return True
        if self.download_job is not None:
            return False
        from cnnviz.core.data.download import raw_folder

        name = _datasets()[dataset].display_name
        answer = self.window.ask(
            f"{name} is missing",
            f"{name} is not in {raw_folder(dataset, self.window.data_dir)}: download it (about 30 MB) "
            "or choose the folder that has it?",
            [DOWNLOAD, CHOOSE, "Cancel"],
        )
        if answer == DOWNLOAD:
            self.download(dataset, then)
        elif answer == CHOOSE:
            folder = self.choose_folder()
            if folder is not None:
                self.set_folder(folder)
                if is_available(dataset, folder):
                    if then is not None:
                        then()
                else:
                    self.window.show_error(f"{name} is missing", f"{name} is not in {raw_folder(dataset, folder)} "
                                           "either (torchvision's layout: MNIST/raw/…).")  # fmt: skip
        return False

    def choose_folder(self) -> Path | None:
        """Asks for a folder; tests replace this."""
        folder = QFileDialog.getExistingDirectory(self.window, "Data folder", str(self.window.data_dir or Path.home()))
        return Path(folder) if folder else None

    def download(self, dataset: str, then=None) -> None:
        """Download in a background job, with a progress dialog and Cancel; ``then()`` after success."""
        from cnnviz.core.data.download import download

        name, folder = _datasets()[dataset].display_name, self.window.data_dir
        dialog = QProgressDialog(f"Downloading {name} into {folder or 'the default data folder'}…", "Cancel", 0, 100,
                                 self.window)  # fmt: skip
        dialog.setObjectName("downloadProgress")
        dialog.setWindowTitle(f"Downloading {name}")
        dialog.setMinimumWidth(420)  # the title and the bar whole, not "Downl…"
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        self.progress_dialog = dialog
        job = workers.start(lambda progress: download(dataset, folder, progress), name="download-dataset",
                            parent=self, failure=f"{name} could not be downloaded")  # fmt: skip
        self.download_job = job
        job.progressed.connect(lambda f: dialog.setValue(round(100 * float(f))) if f is not None else None)
        job.returned.connect(lambda _raw: self._downloaded(None, then))
        job.failed.connect(lambda sentence: self._downloaded(sentence, None))
        job.cancelled.connect(lambda: self._downloaded("", None))
        dialog.canceled.connect(self._cancel)
        dialog.show()

    def _cancel(self) -> None:
        if self.download_job is not None:
            self.download_job.abandon()  # a file half-way finishes on its own thread, unheard
            self._downloaded("", None)

    def _downloaded(self, error: str | None, then) -> None:
        self.download_job = None
        if self.progress_dialog is not None:
            self.progress_dialog.canceled.disconnect()
            self.progress_dialog.close()
            self.progress_dialog.deleteLater()
            self.progress_dialog = None
        if error:
            self.window.show_error("Download failed", error)
        elif error is None:
            self.window.statusBar().showMessage("Downloaded.", 4000)
            if then is not None:
                then()

    def _abandon(self) -> None:
        if self.download_job is not None:
            self.download_job.abandon()
            self.download_job = None
        if self.progress_dialog is not None:
            self.progress_dialog.close()
            self.progress_dialog.deleteLater()
            self.progress_dialog = None


__all__ = ["CHOOSE", "DOWNLOAD", "SETTING", "DataFolder", "PreferencesDialog", "folder_report"]
