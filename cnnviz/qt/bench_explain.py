"""``cnnviz bench --app``, the explanation panels: stroke-to-screen with them showing, and how stale
the six networks' answers get.

Scenarios, on the real MainWindow with the same scripted strokes as the plain
stroke benchmark (``cnnviz.qt.bench``), clock from the mouse event until the
prediction bars, the feature maps (and, with the overlay on, the model input
with its heat) have been repainted:

- ``six``: the Six networks panel showing (its five other networks and the
  current one run in their worker thread, off the drawing path); the current
  network's p95 must stay within one 60 Hz frame for LeNet-5.
- ``all``: the unit inspector open (when this build has one: a widget named
  ``unitInspector``), the Grad-CAM overlay on (computed on the GUI thread in
  the result's signal) and the Six networks panel showing; targets 16 ms for
  LeNet-5 and 33 ms for the largest network (most parameters).

Staleness is the time from an input reaching the Six networks panel to its
answers arriving back in the GUI thread (the panel then paints within 33 ms).
Runs in a child process like the plain benchmark; figures are printed, not asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cnnviz.qt.bench import _child_env, _percentile, _strokes

TARGETS_MS = {"none": {}, "six": {"lenet5": 16.0}, "all": {"lenet5": 16.0, "largest": 33.0}}


def _arrange(window, scenario: str) -> list[str]:
    """Put the scenario's panels on screen beside the feature maps; return the names of those showing."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDockWidget, QWidget

    vertical = Qt.Orientation.Vertical
    if scenario == "none":  # the reference: the same window and strokes with neither panel showing
        window.dock_comparison.hide()
        window.dock_attribution.hide()
        return ["Feature maps"] if window.feature_maps.mosaic.isVisible() else []
    window.splitDockWidget(window.dock_prediction, window.dock_comparison, vertical)
    wanted = [window.dock_comparison]
    if scenario == "all":
        window.splitDockWidget(window.dock_comparison, window.dock_attribution, vertical)
        wanted.append(window.dock_attribution)
        inspector = window.findChild(QWidget, "unitInspector")
        if inspector is not None:
            dock = inspector.parent()
            while dock is not None and not isinstance(dock, QDockWidget):
                dock = dock.parent()
            if dock is not None:
                window.splitDockWidget(window.dock_attribution, dock, vertical)
                wanted.append(dock)
            else:
                inspector.show()
        panel = window.attribution
        panel.method.setCurrentIndex(panel.method.findData("gradcam"))
        panel.enabled.setChecked(True)
    for dock in wanted:
        dock.show()
        dock.raise_()
    window.dock_maps.raise_()
    return [d.windowTitle() for d in wanted if d.widget().isVisible()] + (
        ["Feature maps"] if window.feature_maps.mosaic.isVisible() else []
    )


def explain_latency(data_dir=None, quick: bool = False) -> dict:
    """Stroke-to-screen (ms) per scenario and model, and the six networks' staleness, in this process."""
    from PySide6.QtCore import QEvent, QSettings, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication, QWidget

    from cnnviz.qt.app import create_application

    app = create_application([])
    from cnnviz.core import build_model, count_parameters, list_models
    from cnnviz.qt.main_window import MainWindow

    zoo = [s.name for s in list_models() if s.source_path is None]
    largest = max(zoo, key=lambda n: count_parameters(build_model(n)))
    plan = {"none": ["lenet5", largest], "six": ["lenet5", largest], "all": ["lenet5", largest] + ([] if quick else ["googlenet"])}
    only = [s for s in os.environ.get("CNNVIZ_BENCH_SCENARIOS", "").split(",") if s in plan]
    plan = {k: v for k, v in plan.items() if not only or k in only}  # CNNVIZ_BENCH_SCENARIOS=none,six: a subset
    moves, repeats = (30, 1) if quick else (60, 2)
    out: dict = {"largest": largest, "inspector": None, "results": {}}
    for scenario, models in plan.items():
        tmp = tempfile.TemporaryDirectory()
        window = MainWindow(data_dir=data_dir,
                            settings=QSettings(str(Path(tmp.name) / "b.ini"), QSettings.Format.IniFormat))  # fmt: skip
        window.resize(1600, 1000)
        window.show()
        for _ in range(20):
            app.processEvents()
        showing = _arrange(window, scenario)
        if scenario == "all":
            out["inspector"] = window.findChild(QWidget, "unitInspector") is not None
        for _ in range(20):
            app.processEvents()
        canvas, point = window.canvas, window.canvas.widget_point

        def send(kind, pos, buttons, canvas=canvas):
            button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
            event = QMouseEvent(kind, pos, canvas.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
            QApplication.sendEvent(canvas, event)

        for name in models:
            window.switch_model(name, "mnist")
            for _ in range(5):
                app.processEvents()
            window.comparison.latencies_ms.clear()
            samples, missed = [], 0
            for rep in range(repeats + 1):  # the first round warms caches, layouts and the six networks' weights
                if rep == 1:
                    window.comparison.latencies_ms.clear()
                for stroke in _strokes(moves):
                    window.clear_canvas()
                    app.processEvents()
                    send(QEvent.Type.MouseButtonPress, point(*stroke[0]), Qt.MouseButton.LeftButton)
                    app.processEvents()
                    for u, v in stroke[1:]:
                        count = window.inference_count
                        marks = (window.prediction.bars.paint_count, window.feature_maps.mosaic.paint_count,
                                 window.preview.paint_count)  # fmt: skip
                        t0 = time.perf_counter()
                        send(QEvent.Type.MouseMove, point(u, v), Qt.MouseButton.LeftButton)
                        ok = False
                        while time.perf_counter() - t0 < 2.0:
                            app.processEvents()
                            now = (window.prediction.bars.paint_count, window.feature_maps.mosaic.paint_count,
                                   window.preview.paint_count)  # fmt: skip
                            heat = scenario != "all" or now[2] > marks[2]
                            if window.inference_count > count and now[0] > marks[0] and now[1] > marks[1] and heat:
                                ok = True
                                break
                        if rep > 0:
                            samples.append((time.perf_counter() - t0) * 1000)
                            missed += not ok
                    send(QEvent.Type.MouseButtonRelease, point(*stroke[-1]), Qt.MouseButton.NoButton)
                    app.processEvents()
            deadline = time.perf_counter() + 5  # let the last answers arrive
            while window.comparison.pending() and time.perf_counter() < deadline:
                app.processEvents()
            stale = list(window.comparison.latencies_ms)
            out["results"][f"{scenario}/{name}"] = {
                "scenario": scenario, "model": name, "showing": showing, "n": len(samples), "missed": missed,
                "p50_ms": _percentile(samples, 0.5), "p95_ms": _percentile(samples, 0.95),
                "stale_n": len(stale), "stale_p50_ms": _percentile(stale, 0.5), "stale_p95_ms": _percentile(stale, 0.95),
                "overlay_stage": getattr(window.attribution.result, "stage", None),
            }  # fmt: skip
        window.close()
        app.processEvents()
        tmp.cleanup()
    return out


def run(data_dir=None, quick: bool = False) -> dict:
    """Run ``explain_latency`` in a child process and print its table."""
    code = (
        "import json, sys; from cnnviz.qt.bench_explain import explain_latency; "
        "print('JSON' + json.dumps(explain_latency(sys.argv[1] or None, sys.argv[2] == '1')))"
    )
    args = [sys.executable, "-c", code, str(data_dir or ""), "1" if quick else "0"]
    proc = subprocess.run(args, capture_output=True, text=True, env=_child_env(), timeout=1800)
    figures = next((json.loads(line[4:]) for line in proc.stdout.splitlines() if line.startswith("JSON")), None)
    if figures is None:
        print(f"   the explanation benchmark failed: {proc.stderr.strip().splitlines()[-1:]}")
        return {}
    inspector = "open" if figures["inspector"] else "not in this build (no widget named unitInspector): left out"
    print("   none: neither panel showing (the reference, same run)")
    print("   six: the Six networks panel showing (the six zoo networks in a worker thread)")
    print(f"   all: unit inspector {inspector}; Grad-CAM overlay on; Six networks showing")
    print(f"   {'scenario/model':<18} {'moves':>6} {'p50 ms':>8} {'p95 ms':>8}  {'target':<22} "
          f"{'six networks answer, ms after input: p50 / p95':>10}")  # fmt: skip
    for key, r in figures["results"].items():
        targets = TARGETS_MS[r["scenario"]]
        limit = targets.get(r["model"], targets.get("largest") if r["model"] == figures["largest"] else None)
        target = f"p95 <= {limit:.0f} ms: {'met' if r['p95_ms'] <= limit else 'MISSED'}" if limit else ""
        missed = f" ({r['missed']} timed out)" if r["missed"] else ""
        print(f"   {key:<18} {r['n']:>6} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f}  {target:<22} "
              + (f"{r['stale_p50_ms']:.1f} / {r['stale_p95_ms']:.1f} ({r['stale_n']} answers)" if r["stale_n"] else "")
              + missed)  # fmt: skip
    showing = {r["scenario"]: ", ".join(r["showing"]) for r in figures["results"].values()}
    print(f"   largest network (parameters): {figures['largest']}; showing: "
          + "; ".join(f"{k}: {v}" for k, v in showing.items()))
    return figures


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
