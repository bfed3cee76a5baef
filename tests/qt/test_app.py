"""Starting the app the way a user does: ``python -m cnnviz``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_app_starts_draws_and_quits_cleanly(tmp_path):
    code = textwrap.dedent(
        """
        import sys
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication
        import cnnviz.qt.app.launch as app_module

        def check():
            app = QApplication.instance()
            from cnnviz.qt import MainWindow
            window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
            print("shown", window.isVisible(), "ready", window.state.is_ready(), flush=True)

            def ready():
                print("name", app.applicationName(), app.organizationName())
                print("model", window.session.model_name, window.session.dataset)
                print("threads", __import__("torch").get_num_threads())  # in the GUI thread
                window.close()
                app.quit()

            if window.state.is_ready():
                ready()
            else:
                window.sessionReady.connect(ready)

        QTimer.singleShot(0, check)
        sys.exit(app_module.main([]))
        """
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path), "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert "shown True ready False" in out.stdout  # the window came before the model
    assert "name cnnviz cnnviz" in out.stdout
    assert "model lenet5 mnist" in out.stdout
    assert "threads 1" in out.stdout
    assert "Traceback" not in out.stderr
    saved = list(tmp_path.rglob("cnnviz*.conf")) + list(tmp_path.rglob("cnnviz*.ini"))
    assert saved, "settings were not written to the user's config folder"


_START_AND_QUIT = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    import cnnviz.qt.app.launch as app_module

    def check():
        app = QApplication.instance()
        from cnnviz.qt import MainWindow
        window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
        def ready():
            window.close()
            app.quit()
        window.sessionReady.connect(ready) if not window.state.is_ready() else ready()

    QTimer.singleShot(0, check)
    sys.exit(app_module.main([]))
    """
)


def test_starts_side_by_side_never_crash(tmp_path):
    """Three apps starting at once, twice: the loader's thread and the painting window must not race.

    superqt (and pyqtgraph) imported in the loader's thread while the window painted crashed one start in
    three this way (segmentation fault in PySide's lazy type set-up); they are imported on the GUI thread now.
    """
    codes = []
    for round_ in range(2):
        procs = []
        for i in range(3):
            home = tmp_path / f"{round_}-{i}"
            home.mkdir()
            env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(home), "HOME": str(home)}
            procs.append(subprocess.Popen([sys.executable, "-c", _START_AND_QUIT], cwd=REPO, env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))  # fmt: skip
        codes += [(p.wait(timeout=180), p.stderr.read()[-1500:]) for p in procs]
    assert [code for code, _ in codes] == [0] * 6, codes


def test_only_qt_free_modules_are_imported_off_the_gui_thread(qapp):
    import pytest

    from cnnviz.qt.state.app_state import AppState

    with pytest.raises(ValueError, match="off the GUI thread"):
        AppState(preload=("cnnviz.qt.training.monitor",))


def test_unexpected_errors_become_one_sentence(qapp, monkeypatch, capsys):
    from PySide6.QtWidgets import QMessageBox

    import cnnviz.qt.app.launch as app_module

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda parent, title, text: shown.append(text)))
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    app_module._install_excepthook()
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError:
        sys.excepthook(*sys.exc_info())
    assert shown == ["Something went wrong (ZeroDivisionError: division by zero)."]
    assert "Traceback" not in capsys.readouterr().err


def test_many_strokes_do_not_crash_the_interpreter():
    """PySide6 6.12.0 on Python < 3.12 dropped a reference to None/True per setText/emit and
    aborted after a few thousand; pyproject.toml excludes it. This catches any binding that does it again."""
    code = textwrap.dedent(
        """
        import numpy as np
        from cnnviz.qt.widgets.canvas import DrawingCanvas
        from PySide6.QtWidgets import QApplication, QLabel
        app = QApplication([])
        canvas, label = DrawingCanvas(), QLabel()
        canvas.drawingChanged.connect(lambda image: None)
        image = np.zeros((4, 4))
        for i in range(30_000):  # a long lesson's worth of mouse moves
            label.setText(str(i))
            canvas.drawingChanged.emit(image)
        print("survived", flush=True)
        """
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0 and "survived" in out.stdout, out.stderr[-2000:]
