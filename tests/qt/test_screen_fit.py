"""The app fits the screen it opens on (issue 10, item 1), in normal and presentation mode.

Each size runs the app in a process of its own (tests/qt/screen_fit_probe.py): on an
offscreen screen of that size always, and on a real X server with a window manager
(Xvfb + openbox through ../shared/tools/xrun.sh) where those are installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("screen_fit_probe.py")
XRUN = REPO.parent / "shared" / "tools" / "xrun.sh"
SIZES = [(1024, 768, 1), (1280, 720, 1), (1366, 768, 1), (1920, 1080, 1), (3840, 2160, 2)]


def _probe(env: dict, command: list[str]) -> dict:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, cwd=REPO)
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    assert lines, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(lines[-1][6:])


def _inside(outer: list[int], inner: list[int]) -> bool:
    ox, oy, ow, oh = outer
    x, y, w, h = inner
    return ox <= x and oy <= y and x + w <= ox + ow and y + h <= oy + oh


def _check(report: dict, c3_checked: bool) -> None:
    available = report["available"]
    shots = [m for m in report if m.startswith(("normal", "presentation")) and "_" not in m]
    assert len(shots) == 9  # as it opens, then each of the four workspaces; presentation: each of them
    for mode in shots:
        shot = report[mode]
        assert shot["tabs_overflowing"] == [] and shot["toolbars_overflowing"] == [], (mode, shot)
        assert _inside(available, shot["frame"]), (mode, shot["frame"], available)
        assert shot["minimum"][0] <= available[2] and shot["minimum"][1] <= available[3], (mode, shot["minimum"])
        assert shot["docks_inside"], (mode, shot["docks"])  # every panel in front is on the screen
        assert shot["headline_fits"], mode  # "Draw a d" no more
        assert not shot["layers_scrolls"] and not shot["c3_scrolls"], mode
        assert shot["scroll_areas_wider_than_view"] == [], (mode, shot["scroll_areas_wider_than_view"])
    assert report["workspace_after"] == "Inside"  # leaving F11 puts it all back: the workspace,
    # and each panel where it was. (Offscreen, a first "maximised" window can be taller than its screen,
    # which the window's size after full screen rightly is not: there only the docks count.)
    assert report["docks_restored"] or not report["window_restored"], report
    if not report["offscreen"]:
        assert report["window_restored"] and report["docks_restored"]
    presentation = report["presentation"]
    assert presentation["geometry"][2:] == report["screen"][2:]  # full screen
    if report["compact"]:  # a projector: the drawing, the answer and one chosen panel
        assert set(presentation["docks"]) == {"dockDraw", "dockPrediction", "dockFeatureMaps"}
    else:
        assert {"dockDraw", "dockInput", "dockPrediction", "dockFeatureMaps"} <= set(presentation["docks"])
    if c3_checked:  # the whole 6x16 C3 table, no scroll bar
        assert report["presentation_c3"]["c3_shown"] and not report["presentation_c3"]["c3_scrolls"]


@pytest.mark.parametrize("width, height, dpr", SIZES, ids=[f"{w}x{h}@{d}x" for w, h, d in SIZES])
def test_fits_an_offscreen_screen_of_each_size(tmp_path, width, height, dpr):
    config = tmp_path / "screen.json"
    screen = {"name": "projector", "x": 0, "y": 0, "width": width // dpr, "height": height // dpr,
              "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": dpr}  # fmt: skip
    config.write_text(json.dumps({"screens": [screen]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}", "XDG_CONFIG_HOME": str(tmp_path)}
    c3 = (width // dpr, height // dpr) == (1920, 1080)
    report = _probe(env, [sys.executable, str(PROBE), *(["--c3"] if c3 else [])])
    assert report["screen"][2:] == [width // dpr, height // dpr]
    _check(report, c3_checked=c3)


needs_x = pytest.mark.skipif(
    not (XRUN.exists() and shutil.which("Xvfb") and shutil.which("openbox")),
    reason="needs Xvfb and openbox (apt-get install xvfb openbox) and ../shared/tools/xrun.sh",
)


# xrun.sh picks a free display number by its lock file: tests that start X servers run on one worker.
# (The offscreen sizes above start no X server: xdist spreads them over both workers.)
@needs_x
@pytest.mark.xdist_group("xserver")
@pytest.mark.parametrize("size", ["1024x768", "1280x720"])
def test_fits_a_real_x_screen_with_a_window_manager(size):
    """Under a real window manager the frame (title bar, borders) must fit too, maximised and full screen."""
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    report = _probe(env, ["bash", str(XRUN), size, sys.executable, str(PROBE)])
    assert report["screen"][2:] == [int(v) for v in size.split("x")]
    _check(report, c3_checked=False)
