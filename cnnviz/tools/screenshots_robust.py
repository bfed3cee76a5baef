"""Screenshots of "Fool it", "Distort" and "Sanity check" (issue 19) at 1280x720, on a drawn 3.

    CNNVIZ_DATA_DIR=../shared/data QT_QPA_PLATFORM=offscreen python -m cnnviz.tools.screenshots_robust

writes ``resources/screens/robust-fool.png`` (PGD at epsilon 0.15 on LeNet-5's answer,
the six networks on the perturbed picture), ``robust-distort.png`` (the 3 turned by
30 degrees, and a rotation sweep of the six networks on 300 test images) and
``robust-sanity.png`` (cascading randomisation of LeNet-5's saliency maps, 5 images).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from cnnviz.qt.app.launch import create_application
from cnnviz.tools.screenshot_common import _dispose, _wait, _wait_until, _window, draw, three_outline

SIZE = (1280, 720)


def shoot(folder: Path, settings_dir: Path) -> list[Path]:
    paths = [folder / f"robust-{name}.png" for name in ("fool", "distort", "sanity")]
    window = _window(settings_dir, "fool")
    window.resize(*SIZE)
    window.docks.workspaces.show("Why")
    window.dock_fool.raise_()
    draw(window.canvas, three_outline())
    panel = window.fool_it
    panel.method.setCurrentIndex(panel.method.findData("pgd"))
    _wait_until(lambda: panel.answer is not None and not panel.runner.busy())
    _wait(800)
    window.grab().save(str(paths[0]))
    _dispose(window)

    window = _window(settings_dir, "distort")
    window.resize(*SIZE)
    window.docks.workspaces.show("Why")
    window.dock_distort.raise_()
    draw(window.canvas, three_outline())
    panel = window.distort
    panel.sliders["rotate"].setValue(30)
    panel.count.setValue(300)
    panel.start_sweep()
    _wait_until(lambda: panel._sweep_job is None, 300_000)
    _wait(500)
    bar = window.dock_distort.widget().verticalScrollBar()
    bar.setValue(bar.maximum())  # the sweep's curves, below the sliders
    _wait(500)
    window.grab().save(str(paths[1]))
    _dispose(window)

    window = _window(settings_dir, "sanity")
    window.resize(*SIZE)
    window.docks.workspaces.show("Why")
    window.dock_sanity.raise_()
    draw(window.canvas, three_outline())
    panel = window.sanity
    panel.count.setValue(5)
    panel.start_cascade()
    _wait_until(lambda: panel._job is None, 300_000)
    _wait(800)
    window.grab().save(str(paths[2]))
    _dispose(window)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnviz.tools.screenshots_robust",
                                     description=__doc__.split("\n")[0])  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("resources/screens"), help="folder for the PNG files")
    args = parser.parse_args(argv)
    from cnnviz.tools.screenshot_common import use_a_monitor_sized_offscreen_screen

    use_a_monitor_sized_offscreen_screen()
    create_application([])
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as settings_dir:
        paths = shoot(args.out, Path(settings_dir))
    print("wrote " + ", ".join(map(str, paths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
