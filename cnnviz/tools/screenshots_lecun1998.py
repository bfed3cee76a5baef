"""Screenshot of LeNet-5 trained the 1998 way, on screen, with the 1998 recipe chosen in the Training panel.

    ../shared/tools/xrun.sh 1280x720 python -m cnnviz.tools.screenshots_lecun1998 resources/screens

writes ``lecun1998-train-1280x720.png``: the Model picker on "LeNet-5 (1998 recipe)" (the shipped
weights/lenet5-lecun1998-mnist.safetensors), a drawn 3, the Train workspace with Recipe "LeCun 1998".
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings

from cnnviz.tools.screenshot_common import _dispose, _wait, _wait_until, draw, three_outline


def shoot(folder: Path) -> Path:
    from PySide6.QtGui import QGuiApplication

    from cnnviz.qt.app.main_window import MainWindow

    with tempfile.TemporaryDirectory() as settings_dir:
        settings = QSettings(str(Path(settings_dir) / "screen.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings)
        window.showMaximized() if window.docks.compact else window.show()
        _wait_until(lambda: window.session is not None and window.monitor is not None)
        window.switch_model("lenet5-lecun1998", "mnist")
        _wait_until(lambda: window.session.model_name == "lenet5-lecun1998")
        draw(window.canvas, three_outline())
        _wait_until(lambda: window.session.result.probabilities is not None)
        window.show_workspace("Train")
        form = window.monitor.settings
        form.recipe_combo.setCurrentIndex(form.recipe_combo.findData("lecun1998"))
        _wait(1500)  # the window manager places the window; the panels repaint
        screen = QGuiApplication.primaryScreen()
        size = screen.geometry().size() * screen.devicePixelRatio()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"lecun1998-train-{size.width()}x{size.height()}.png"
        screen.grabWindow(0).save(str(path))
        _dispose(window)
    return path


def main(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    args = sys.argv[1:] if argv is None else argv
    app = QApplication.instance() or QApplication([])  # noqa: F841 (kept alive while shooting)
    print(shoot(Path(args[0] if args else "resources/screens")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
