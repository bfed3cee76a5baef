"""What the screenshot scripts share: waiting on the event loop, a fresh window, drawing a 3, a monitor-sized offscreen screen."""

from __future__ import annotations

import atexit
import json
import math
import os
import tempfile
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QSettings, QTimer

WINDOW_SIZE = (1600, 1000)


def _wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def _wait_until(condition, timeout_ms: int = 60_000) -> None:
    for _ in range(timeout_ms // 50):
        if condition():
            return
        _wait(50)
    raise TimeoutError("the window did not get there in time")


def _dispose(window) -> None:
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def three_outline() -> list[tuple[float, float]]:
    """A handwritten-looking 3 in one stroke, in canvas fractions (0..1)."""
    upper = [-0.85 + 1.35 * i / 30 for i in range(31)]
    lower = [-0.5 + 1.4 * i / 40 for i in range(41)]
    return [(0.47 + 0.2 * math.cos(math.pi * t), 0.32 + 0.15 * math.sin(math.pi * t)) for t in upper] + [
        (0.47 + 0.24 * math.cos(math.pi * t), 0.65 + 0.18 * math.sin(math.pi * t)) for t in lower
    ]


def draw(canvas, outline: list[tuple[float, float]]) -> None:
    """Draw a stroke through the canvas's own stroke API, as a mouse would."""
    points = [canvas.widget_point(u, v) for u, v in outline]
    canvas.begin_stroke(points[0])
    for point in points[1:]:
        canvas.extend_stroke(point)
    canvas.end_stroke()


def _window(settings_dir: Path, name: str):
    from cnnviz.qt.app.main_window import MainWindow

    settings = QSettings(str(settings_dir / f"{name}.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)  # loads LeNet-5 before returning
    window.resize(*WINDOW_SIZE)
    window.show()
    _wait(200)
    return window


def use_a_monitor_sized_offscreen_screen() -> None:
    """Qt's offscreen screen is 800x800 by default, a projector's size: the README shows a monitor's."""

    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        screen = {"name": "monitor", "x": 0, "y": 0, "width": 1920, "height": 1080, "logicalDpi": 96,
                  "logicalBaseDpi": 96, "dpr": 1}  # fmt: skip
        # A fresh name (never a fixed one, which a symlink planted in /tmp could redirect), removed at exit.
        fd, name = tempfile.mkstemp(prefix="cnnviz-offscreen-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps({"screens": [screen]}))
        atexit.register(lambda: Path(name).unlink(missing_ok=True))
        config = Path(name)
        os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"
