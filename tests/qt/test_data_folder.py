"""Data where the user is: Preferences' data folder, used everywhere at once and remembered; a missing
dataset is offered for download (progress, Cancel, one sentence when offline) or a folder choice."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.error import URLError

import pytest

from cnnviz.qt.app.data_folder import CHOOSE, DOWNLOAD, PreferencesDialog


@pytest.fixture
def empty(tmp_path) -> Path:
    folder = tmp_path / "no-datasets-here"
    folder.mkdir()
    return folder


def _test_image_shown(window) -> bool:
    return "Test image #" in window.canvas_panel.true_label.text()


def test_the_folder_is_used_at_once_and_remembered(qtbot, window, settings, small_data_dir):
    window.data.set_folder(small_data_dir)
    assert window.data_dir == small_data_dir and window.session.data_dir == small_data_dir
    assert window.monitor.results.data_dir == small_data_dir
    assert settings.value("dataDir") == str(small_data_dir)
    window.files.test_image_rng = __import__("numpy").random.default_rng(0)
    window.act_random.trigger()  # the small data set's test images, not MNIST's 10,000
    qtbot.waitUntil(lambda: _test_image_shown(window), timeout=10000)
    assert window.asked == [] and window.shown_errors == []
    assert int(window.canvas_panel.true_label.text().split("#")[1].split()[0].replace(",", "")) < 200
    window.data.set_folder(None)  # Default: $CNNVIZ_DATA_DIR again
    assert window.data_dir is None and settings.value("dataDir") == ""


def test_a_new_window_starts_with_the_remembered_folder(qtbot, settings, small_data_dir):
    from cnnviz.qt import MainWindow

    settings.setValue("dataDir", str(small_data_dir))
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    assert w.data_dir == small_data_dir
    qtbot.waitUntil(lambda: w.session is not None)
    assert w.session.data_dir == small_data_dir


def test_preferences_dialog_says_which_datasets_a_folder_holds(window, data_dir, empty):
    dialog = PreferencesDialog(window)
    dialog.folder.setText(str(data_dir))
    assert "MNIST: there" in dialog.report.text() and "Fashion-MNIST: there" in dialog.report.text()
    dialog.folder.setText(str(empty))
    assert "MNIST: missing" in dialog.report.text()
    assert dialog.chosen() == empty
    dialog.folder.setText(str(empty / "not-yet"))
    assert "not a folder" in dialog.report.text()
    dialog.folder.clear()
    assert dialog.chosen() is None
    dialog.deleteLater()


def test_a_missing_dataset_offers_a_folder_choice(qtbot, window, data_dir, empty):
    window.data.set_folder(empty)
    window.answers = [CHOOSE]
    window.data.choose_folder = lambda: data_dir
    window.act_random.trigger()
    title, text, buttons = window.asked[-1]
    assert title == "MNIST is missing" and buttons == [DOWNLOAD, CHOOSE, "Cancel"]
    assert str(empty) in text and "download it" in text
    qtbot.waitUntil(lambda: _test_image_shown(window), timeout=20000)
    assert window.data_dir == data_dir and window.shown_errors == []


def test_download_offline_says_one_sentence(qtbot, window, empty, monkeypatch):
    import torchvision.datasets.utils as tv_utils

    def offline(*_args, **_kwargs):
        raise URLError("no network")

    monkeypatch.setattr(tv_utils, "download_and_extract_archive", offline)
    window.data.set_folder(empty)
    window.answers = [DOWNLOAD]
    window.act_random.trigger()
    assert window.data.progress_dialog is not None  # progress with Cancel while it tries
    qtbot.waitUntil(lambda: bool(window.shown_errors), timeout=20000)
    title, text = window.shown_errors[-1]
    assert title == "Download failed" and "could not be downloaded (URLError)" in text and "\n" not in text
    assert window.data.progress_dialog is None and not _test_image_shown(window)


def test_download_fetches_the_files_then_shows_the_image(qtbot, window, data_dir, empty, monkeypatch):
    import torchvision.datasets.utils as tv_utils

    fetched = []

    def fake(url, download_root, filename, md5):  # "downloads" by linking the real file
        name = filename.removesuffix(".gz")
        os.symlink(data_dir / "MNIST" / "raw" / name, Path(download_root) / name)
        fetched.append(url)

    monkeypatch.setattr(tv_utils, "download_and_extract_archive", fake)
    window.data.set_folder(empty)
    window.answers = [DOWNLOAD]
    window.act_random.trigger()
    qtbot.waitUntil(lambda: _test_image_shown(window), timeout=30000)
    assert len(fetched) == 4 and window.shown_errors == []
    assert (empty / "MNIST" / "raw" / "t10k-images-idx3-ubyte").exists()


def test_cancel_stops_waiting_for_the_download(qtbot, window, empty, monkeypatch):
    import threading

    import torchvision.datasets.utils as tv_utils

    release = threading.Event()
    monkeypatch.setattr(tv_utils, "download_and_extract_archive", lambda *a, **k: release.wait(10))
    window.data.set_folder(empty)
    window.answers = [DOWNLOAD]
    window.act_random.trigger()
    job = window.data.download_job
    from PySide6.QtWidgets import QPushButton

    button = next(b for b in window.data.progress_dialog.findChildren(QPushButton) if b.text() == "Cancel")
    button.click()
    assert window.data.download_job is None and window.data.progress_dialog is None
    assert window.shown_errors == [] and window.act_random.isEnabled()
    release.set()
    job.wait(10)


def test_evaluate_and_train_ask_before_reading_a_missing_dataset(window, empty):
    window.data.set_folder(empty)
    window.answers = ["Cancel", "Cancel"]
    assert not window.monitor.results.evaluate()
    assert not window.monitor.start()
    assert [question[0] for question in window.asked] == ["MNIST is missing", "MNIST is missing"]
    assert not window.monitor.is_running() and not window.monitor.results.runner.is_running()
    assert window.shown_errors == []
