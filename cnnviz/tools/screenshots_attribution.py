"""Screenshots of "Why this class?" and "Six networks" on a drawn 3, for the README.

    CNNVIZ_DATA_DIR=../shared/data QT_QPA_PLATFORM=offscreen python -m cnnviz.tools.screenshots_attribution

writes ``resources/attribution.png`` (the whole window: Grad-CAM for LeNet-5's
answer over the drawing and the model input, the panel's controls beside the
prediction) and ``resources/comparison.png`` (the whole window with the six
networks' cards). Same drawing as ``cnnviz.tools.screenshots``; the same pixels
every run. A separate module so the other screenshots need no changes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from cnnviz.qt.app.launch import create_application
from cnnviz.tools.screenshot_common import _dispose, _wait, _wait_until, _window, draw, three_outline


def _show_beside_prediction(window, dock) -> None:
    """The dock in the answer's column, in front, whatever the screen's layout put it with."""
    dock.show()
    dock.raise_()


def shoot_attribution(path: Path, settings_dir: Path) -> None:
    window = _window(settings_dir, "attribution")
    draw(window.canvas, three_outline())
    _wait_until(lambda: window.session is not None and window.session.result.probabilities is not None)
    _show_beside_prediction(window, window.dock_attribution)
    panel = window.attribution
    panel.method.setCurrentIndex(panel.method.findData("gradcam"))
    panel.enabled.setChecked(True)
    _wait_until(lambda: panel.result is not None)
    _wait(1000)
    window.grab().save(str(path))
    _dispose(window)


def shoot_comparison(path: Path, settings_dir: Path) -> None:
    window = _window(settings_dir, "comparison")
    _show_beside_prediction(window, window.dock_comparison)
    draw(window.canvas, three_outline())
    panel = window.comparison
    _wait_until(lambda: panel.view.answers and not panel.pending() and panel._pending_answers is None)
    _wait(1000)
    window.grab().save(str(path))
    _dispose(window)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cnnviz.tools.screenshots_attribution", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=Path("resources"), help="folder for the PNG files")
    args = parser.parse_args(argv)
    from cnnviz.tools.screenshot_common import use_a_monitor_sized_offscreen_screen

    use_a_monitor_sized_offscreen_screen()
    create_application([])
    with tempfile.TemporaryDirectory() as settings_dir:
        shoot_attribution(args.out / "attribution.png", Path(settings_dir))
        shoot_comparison(args.out / "comparison.png", Path(settings_dir))
    print(f"wrote {args.out / 'attribution.png'} and {args.out / 'comparison.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
