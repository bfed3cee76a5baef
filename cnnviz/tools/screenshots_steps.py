"""Screenshots of issue 20 in the Train workspace: step mode, the layers over time, the time slider.

Run on a real X screen of the size to show (the README's are 1280x720)::

    /work/shared/tools/xrun.sh 1280x720 python -m cnnviz.tools.screenshots_steps --out resources/screens

It trains the modern LeNet on MNIST from scratch (the panel's defaults): two
Steps (``train-step.png``), then on to ``--batches`` batches
(``train-layers.png``), to the end of the epoch, and back to an early batch
with the time slider while a 3 is drawn (``train-timeline.png``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from PySide6.QtGui import QGuiApplication

from cnnviz.tools.screenshot_common import _dispose, _wait, _wait_until, draw, three_outline


def _shoot(path: Path) -> None:
    _wait(1200)  # the panels repaint
    QGuiApplication.primaryScreen().grabWindow(0).save(str(path))
    print(f"wrote {path}")


def shoot(folder: Path, settings_dir: Path, batches: int) -> None:
    from PySide6.QtCore import QSettings

    from cnnviz.qt.app.main_window import MainWindow

    folder.mkdir(parents=True, exist_ok=True)
    window = MainWindow(settings=QSettings(str(settings_dir / "steps.ini"), QSettings.Format.IniFormat))
    window.showMaximized()
    _wait_until(lambda: window.session is not None and window.monitor is not None)
    window.switch_model("lenet", "mnist")
    draw(window.canvas, three_outline())
    window.show_workspace("Train")
    monitor = window.monitor
    inside = monitor.inside
    monitor.step()
    _wait_until(lambda: inside.step_view.report is not None, timeout_ms=300_000)
    first = inside.step_view.report
    monitor.step()
    _wait_until(lambda: inside.step_view.report is not first, timeout_ms=300_000)
    window.training_scroll.ensureWidgetVisible(monitor.tabs, 0, 0)
    _shoot(folder / "train-step.png")

    monitor.toggle_pause()
    _wait_until(lambda: monitor.steps_done >= batches, timeout_ms=300_000)
    monitor.pause()
    _wait_until(monitor.is_paused)
    monitor.tabs.setCurrentWidget(inside.layer_view)
    window.training_scroll.ensureWidgetVisible(monitor.tabs, 0, 0)
    _shoot(folder / "train-layers.png")

    monitor.toggle_pause()
    _wait_until(lambda: not monitor.is_running(), timeout_ms=600_000)
    inside.timeline.move_to(20)
    window.training_scroll.ensureWidgetVisible(inside.timeline, 0, 0)
    _shoot(folder / "train-timeline.png")
    _dispose(window)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cnnviz.tools.screenshots_steps", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=Path("resources/screens"), help="folder for the PNG files")
    parser.add_argument("--batches", type=int, default=200, help="batches before the layers shot")
    args = parser.parse_args(argv)
    from cnnviz.qt.app.launch import create_application

    create_application([])
    with tempfile.TemporaryDirectory() as settings_dir:
        shoot(args.out, Path(settings_dir), args.batches)
    return 0


if __name__ == "__main__":
    sys.exit(main())
