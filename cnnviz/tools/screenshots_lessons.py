"""Screenshots of a lesson's scene list, a scene in presentation mode, and the convolution animation
mid-way, taken as a person sees them: run on a real X screen, e.g.

    /work/shared/tools/xrun.sh 1280x720 python -m cnnviz.tools.screenshots_lessons resources/screens
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from cnnviz.tools.screenshot_common import _dispose, _wait, _wait_until, draw, three_outline


def _grab(window, path: Path) -> None:
    _wait(400)
    screen = window.screen()
    screen.grabWindow(0).save(str(path))
    print(path)


def main(out: str = "resources/screens") -> int:
    from cnnviz.qt.app.launch import create_application
    from cnnviz.qt.app.main_window import MainWindow

    app = create_application([])
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    size = QApplication.primaryScreen().size()
    tag = f"{size.width()}x{size.height()}"
    with tempfile.TemporaryDirectory() as tmp:
        window = MainWindow(settings=QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat))
        window.showMaximized()
        _wait(600)
        draw(window.canvas, three_outline())
        _wait_until(lambda: not window.state.inference_pending())
        window.lessons.capture("A 3, drawn")
        window.state.select_unit("C1", 2, 12, 12)
        _wait(300)
        window.lessons.capture("C1: one unit of map 2")
        window.state.select_unit("C3", 0, 4, 4)
        _wait(300)
        window.lessons.capture("C3 adds three maps")
        window.lessons.set_quiz(True)
        window.lessons.capture("Quiz: what does it answer?")
        window.lessons.set_quiz(False)
        window.lessons.show_scene(1)
        window.dock_lesson.show()
        window.dock_lesson.raise_()
        _grab(window, folder / f"lesson-scenes-{tag}.png")
        # The convolution, animated, half-way through C1's map.
        window.dock_inspector.raise_()
        _wait(300)
        animation = window.inspector.animation
        animation.restart()
        for _ in range(400):
            animation.step()
        window.inspector_scroll.verticalScrollBar().setValue(animation.y())
        _grab(window, folder / f"conv-animation-{tag}.png")
        # Presentation mode: Page Down steps to the quiz scene, "Scene 4 of 4" below.
        window.set_presentation_mode(True)
        _wait(800)
        window.act_next_panel.trigger()
        window.act_next_panel.trigger()
        _grab(window, folder / f"lesson-presentation-{tag}.png")
        window.set_presentation_mode(False)
        _dispose(window)
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
