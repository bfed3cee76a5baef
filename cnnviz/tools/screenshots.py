"""Take the README's screenshots from the real main window.

    CNNVIZ_DATA_DIR=../shared/data QT_QPA_PLATFORM=offscreen python -m cnnviz.tools.screenshots

and, on a real X server of each size with a window manager (the whole screen,
normal and presentation mode, as a lecturer's projector shows it)::

    for size in 1024x768 1280x720 1366x768 1920x1080; do
        ../shared/tools/xrun.sh $size python -m cnnviz.tools.screenshots --screen resources/screens
    done
    QT_SCALE_FACTOR=2 ../shared/tools/xrun.sh 3840x2160 python -m cnnviz.tools.screenshots --screen resources/screens

writes ``resources/screenshot.png`` (a drawn 3, LeNet-5's feature maps and the
C3 table; the same pixels every run) and ``resources/training.png`` (that LeNet-5
retrained from scratch with the monitor's defaults and a seeded test image,
paused just past ``--batches``: the pause lands after the batch in flight, so
reruns may stop a batch or two apart), then ``inspector.png`` and ``architecture.png``
(cnnviz/tools/screenshots_explain.py). ``--screen`` shoots every workspace
(Inside, Why, Train) in normal and presentation mode. The window keeps its settings in a temporary
file, so the user's own layout is neither used nor changed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings

from cnnviz.qt.app.launch import create_application
from cnnviz.tools.screenshot_common import (
    _dispose,
    _wait,
    _wait_until,
    _window,
    draw,
    three_outline,
    use_a_monitor_sized_offscreen_screen,
)


def shoot_drawing(path: Path, settings_dir: Path) -> None:
    window = _window(settings_dir, "drawing")
    draw(window.canvas, three_outline())
    window.dock_c3.raise_()
    window.c3.select_column(9)  # C3 map 9 reads from four S2 maps: the table's point
    _wait_until(lambda: window.session is not None and window.session.result.probabilities is not None)
    _wait(1000)  # let the feature-map panels finish painting
    window.grab().save(str(path))
    _dispose(window)


def shoot_training(path: Path, settings_dir: Path, batches: int, image_seed: int) -> None:
    window = _window(settings_dir, "training")
    window.files.test_image_rng = np.random.default_rng(image_seed)  # the same test image every time
    _wait_until(window.show_random_test_image)
    window.dock_training.raise_()
    monitor = window.monitor
    window.switch_model("lenet", "mnist")  # the panel trains the network on screen: the modern LeNet here
    monitor.start()  # the panel's defaults: MNIST, one epoch from scratch, seed 0
    _wait_until(lambda: monitor.steps_done >= batches, timeout_ms=300_000)
    monitor.pause()
    _wait_until(monitor.is_paused)
    _wait(1000)  # the last weights reach the panels and the plots redraw
    window.grab().save(str(path))
    monitor.shutdown()
    _dispose(window)


def shoot_screen(folder: Path, settings_dir: Path, workspaces: list[str] | None = None) -> list[Path]:
    """The whole screen with the app as it opens (maximised on a projector), in every workspace,
    normal then presentation mode: ``{mode}-{workspace}-{WxH}.png``."""
    from PySide6.QtGui import QGuiApplication

    from cnnviz.qt.app.main_window import MainWindow
    from cnnviz.qt.app.workspaces import WORKSPACES

    settings = QSettings(str(settings_dir / "screen.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    window.showMaximized() if window.docks.compact else window.show()
    draw(window.canvas, three_outline())
    _wait_until(lambda: window.session is not None and window.session.result.probabilities is not None)
    _wait_until(lambda: window.monitor is not None)
    screen = QGuiApplication.primaryScreen()
    size = screen.geometry().size() * screen.devicePixelRatio()
    tag = f"{size.width()}x{size.height()}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for mode in ("normal", "presentation"):
        window.set_presentation_mode(mode == "presentation")
        for name in workspaces or list(WORKSPACES):
            window.show_workspace(name)
            _wait(1500)  # the window manager places the window; the panels repaint
            path = folder / f"{mode}-{name.lower()}-{tag}.png"
            screen.grabWindow(0).save(str(path))
            paths.append(path)
    window.set_presentation_mode(False)
    _dispose(window)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnviz.tools.screenshots", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("resources"), help="folder for the PNG files")
    parser.add_argument("--batches", type=int, default=400, help="training batches before the training shot")
    parser.add_argument("--image-seed", type=int, default=4, help="picks the test image of the training shot")
    parser.add_argument("--screen", type=Path, metavar="FOLDER", help="shoot the whole screen instead (needs X)")
    parser.add_argument("--workspace", action="append", help="with --screen: only this workspace (repeatable)")
    args = parser.parse_args(argv)
    use_a_monitor_sized_offscreen_screen()
    create_application([])
    from cnnviz.tools.screenshots_attribution import shoot_attribution, shoot_comparison
    from cnnviz.tools.screenshots_explain import shoot_architecture, shoot_inspector

    if args.screen is not None:
        with tempfile.TemporaryDirectory() as settings_dir:
            paths = shoot_screen(args.screen, Path(settings_dir), args.workspace)
        print("wrote " + " and ".join(map(str, paths)))
        return 0
    with tempfile.TemporaryDirectory() as settings_dir:
        shoot_drawing(args.out / "screenshot.png", Path(settings_dir))
        shoot_training(args.out / "training.png", Path(settings_dir), args.batches, args.image_seed)
        shoot_inspector(args.out / "inspector.png", Path(settings_dir))
        shoot_architecture(args.out / "architecture.png", Path(settings_dir))
        shoot_attribution(args.out / "attribution.png", Path(settings_dir))
        shoot_comparison(args.out / "comparison.png", Path(settings_dir))
    names = "screenshot, training, inspector, architecture, attribution and comparison"
    print(f"wrote {names} (.png) in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
