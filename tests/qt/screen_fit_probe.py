"""Run as a script on a given screen: open the app as a user would, report its geometry as JSON.

Used by test_screen_fit.py on offscreen screens of each projector size and on a real X
server with a window manager (../shared/tools/xrun.sh).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time

from PySide6.QtCore import QEventLoop, QRect, QSettings, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QAbstractScrollArea, QDockWidget, QTabBar, QToolBar


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def settle(window, ms: int) -> None:
    """Let the layout finish. A real window manager moves and resizes the window in its own time: there,
    wait the full ms. Offscreen nothing moves by itself: done (at most ms) once the network has answered
    the drawing, no answer or heat map is pending, and what the snapshot sees stayed the same for 0.2 s."""
    if QGuiApplication.platformName() != "offscreen":
        wait(ms)
        return
    deadline = time.monotonic() + ms / 1000
    last, still = None, 0
    while time.monotonic() < deadline and still < 2:
        wait(100)
        state = window.state
        idle = state.inference_count >= 1 and not state.inference_pending() and not window.attribution.busy()
        seen = json.dumps([snapshot(window), visible_docks(window), rect(window.geometry())])
        still = still + 1 if idle and seen == last else 0
        last = seen


def rect(r: QRect) -> list[int]:
    return [r.x(), r.y(), r.width(), r.height()]


def visible_docks(window) -> dict:
    """What the user sees of the layout: each dock in front, where, and which tab of each strip is in front."""
    from cnnviz.qt.widgets.visibility import is_on_screen

    docks = {d.objectName(): rect(d.geometry()) for d in window.findChildren(QDockWidget) if is_on_screen(d)}
    tabs = sorted(bar.tabText(bar.currentIndex()) for bar in window.findChildren(QTabBar) if is_on_screen(bar))
    return {"docks": docks, "tabs": tabs}


def snapshot(window) -> dict:
    from cnnviz.qt.widgets.visibility import is_on_screen

    # A dock behind another's tab is moved off the window, not hidden: only the ones in front count.
    visible = [d for d in window.findChildren(QDockWidget) if is_on_screen(d) and not d.isFloating()]
    inside = window.rect()
    return {
        "frame": rect(window.frameGeometry()),
        "geometry": rect(window.geometry()),
        "minimum": [window.minimumSizeHint().width(), window.minimumSizeHint().height()],
        "docks": {d.objectName(): rect(d.geometry()) for d in visible},
        "docks_inside": all(inside.contains(d.geometry()) for d in visible),
        "c3_shown": is_on_screen(window.c3.grid),
        "c3_scrolls": window.c3.grid.horizontalScrollBar().isVisible()
        or window.c3.grid.verticalScrollBar().isVisible(),
        "layers_scrolls": is_on_screen(window.layer_table) and window.layer_table.horizontalScrollBar().isVisible(),
        "headline_fits": window.prediction.label.fontMetrics().horizontalAdvance(window.prediction.label.text())
        <= window.prediction.label.width(),
        "tabs_overflowing": [
            [bar.tabText(i) for i in range(bar.count())]
            for bar in window.findChildren(QTabBar)
            if is_on_screen(bar) and bar.sizeHint().width() > bar.width() + 1
        ],
        "toolbars_overflowing": [  # a toolbar too narrow for its buttons shows "»"
            bar.objectName()
            for bar in window.findChildren(QToolBar)
            if bar.isVisible() and bar.sizeHint().width() > bar.width() + 1
        ],
        "scroll_areas_wider_than_view": [
            a.objectName()
            for a in window.findChildren(QAbstractScrollArea)
            if is_on_screen(a) and a.horizontalScrollBar().isVisible() and a.objectName()
        ],
    }


def main() -> int:
    from cnnviz.qt.app.launch import create_application
    from cnnviz.qt.app.main_window import MainWindow
    from cnnviz.tools.screenshots import draw, three_outline

    app = create_application([])
    with tempfile.TemporaryDirectory() as folder:
        window = MainWindow(settings=QSettings(f"{folder}/probe.ini", QSettings.Format.IniFormat))
        window.showMaximized() if window.docks.compact else window.show()  # what cnnviz.qt.app.launch does
        draw(window.canvas, three_outline())
        settle(window, 1200)
        screen = app.primaryScreen()
        report = {"screen": rect(screen.geometry()), "available": rect(screen.availableGeometry()),
                  "compact": window.docks.compact, "normal": snapshot(window),
                  "offscreen": app.platformName() == "offscreen"}  # fmt: skip
        for name in ("Why", "Train", "Learned", "Inside"):  # every workspace, normal then presentation
            window.show_workspace(name)
            settle(window, 500)
            report[f"normal-{name}"] = snapshot(window)
        before = visible_docks(window), rect(window.geometry())
        window.set_presentation_mode(True)
        settle(window, 1200)
        report["presentation"] = snapshot(window)
        if len(sys.argv) > 1 and sys.argv[1] == "--c3":  # the C3 table raised in presentation mode
            window.dock_c3.show()
            window.dock_c3.raise_()
            settle(window, 600)
            report["presentation_c3"] = snapshot(window)
        for name in ("Why", "Train", "Learned"):
            window.show_workspace(name)
            settle(window, 600)
            report[f"presentation-{name}"] = snapshot(window)
        window.set_presentation_mode(False)
        if QGuiApplication.platformName() == "offscreen":  # no window manager: the size may never come back
            settle(window, 5300)
        else:
            for _ in range(50):  # the window manager gives the window its size back (seconds, on a busy machine)
                wait(100)
                if rect(window.geometry()) == before[1]:
                    break
            wait(300)
        report["layout_before_after"] = [before, (visible_docks(window), rect(window.geometry()))]
        report["window_restored"] = rect(window.geometry()) == before[1]
        report["docks_restored"] = visible_docks(window) == before[0]
        report["workspace_after"] = window.current_workspace()
        window.close()
    print("PROBE " + json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
