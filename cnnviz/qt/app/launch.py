"""``cnnviz`` / ``cnnviz gui`` / ``python -m cnnviz``: start the desktop app."""

from __future__ import annotations

import os
import sys

APP_NAME = ORG_NAME = "cnnviz"
# How long a background thread (six networks, training) may keep the GIL while the GUI thread waits for it;
# Python's 5 ms default shows as a stroke's tail (p95) whenever a worker runs.
GIL_SWITCH_INTERVAL_S = 0.0005


def _install_excepthook() -> None:
    """Unexpected errors become one sentence in a message box, never a traceback."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    def hook(exc_type, exc, tb) -> None:
        from cnnviz.qt.app.errors import format_exception_for_people

        text = format_exception_for_people(exc_type, exc, tb)
        print(f"cnnviz: {text}", file=sys.stderr)
        if os.environ.get("CNNVIZ_DEBUG"):
            sys.__excepthook__(exc_type, exc, tb)
        app = QApplication.instance()
        if app is not None and not getattr(hook, "showing", False):
            hook.showing = True
            try:
                QMessageBox.warning(app.activeWindow(), "cnnviz", text)
            finally:
                hook.showing = False

    sys.excepthook = hook


def create_application(argv: list[str] | None = None):
    from PySide6.QtWidgets import QApplication

    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setApplicationDisplayName("cnnviz")
    if "QT_STYLE_OVERRIDE" not in os.environ:
        app.setStyle("Fusion")  # the same look on every system a class may use
    return app


EXIT_WAIT_S = 60.0  # the longest the app waits at exit for abandoned background jobs


def main(argv: list[str] | None = None, model: str | None = None, lesson: str | None = None) -> int:
    """Run the app; ``model`` (a zoo name or ``PATH.py:NAME``, as typed by the user) is opened first,
    and ``lesson`` (a lesson file) once the network is loaded."""
    app = create_application(argv)
    _install_excepthook()
    # The window and its canvas come up at once; torch and the model load in the background. A drawing
    # made meanwhile is answered by LeNet-5 in numpy (state.first_answers), then by the loaded network.
    from cnnviz.core.before_torch.model_argument import is_user_spec  # not models.user_model: it imports torch
    from cnnviz.qt.app.main_window import MainWindow

    # A user's network is opened like File > Open network, behind the probe's fence, once the window is up.
    user_model, model = (model, None) if model and is_user_spec(model) else (None, model)
    window = MainWindow(defer_model=True, initial_model=model)
    if user_model:
        _open_when_ready(window, user_model)
    if window.docks.compact and not window.settings.contains("geometry"):
        window.showMaximized()  # a projector: every pixel
    else:
        window.show()
    window.canvas.setFocus()
    if lesson:
        window.sessionReady.connect(lambda: window.open_lesson(lesson))
    code = app.exec()
    from cnnviz.qt.state import workers

    # Jobs abandoned at closing (the network still loading, maybe inside `import torch`) finish before
    # the interpreter exits: torch must not be torn down under a running thread. A job that never ends
    # (a user's network stuck in a loop) does not hold the exit up for ever.
    workers.wait_for_all(timeout=EXIT_WAIT_S)
    end_process_if_stuck(window, code)
    return code


def end_process_if_stuck(window, code: int) -> None:
    """After the window closed: end the process now if a run stuck in the user's code, a loader,
    or a thread the user's file started would keep it alive."""
    from cnnviz.core.process import exit_despite_threads
    from cnnviz.qt.state import workers

    if getattr(window.monitor, "abandoned_run", None) is not None or workers.active():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    exit_despite_threads(code)


def _open_when_ready(window, spec: str) -> None:
    """Open ``spec`` through File > Open network's fence as soon as the session is ready."""
    from PySide6.QtCore import QTimer

    from cnnviz.qt.app.network_actions import split_typed_spec

    def attempt() -> None:
        if window.session is None:
            QTimer.singleShot(100, attempt)
        else:
            window.open_network(*split_typed_spec(spec))

    QTimer.singleShot(0, attempt)


if __name__ == "__main__":
    sys.exit(main())
