"""What the unit inspector costs a stroke: stroke-to-screen with it hidden and open, interleaved.

    CNNVIZ_DATA_DIR=../shared/data QT_QPA_PLATFORM=offscreen python -m cnnviz.qt.bench_inspector

Measures as ``cnnviz bench --app`` does (cnnviz/qt/bench.py: one synthetic mouse move at a
time, the clock stops when the prediction bars and the feature maps have repainted), on the
real window, per model in alternating rounds: the inspector behind its tab (hidden), then
floating beside the maps with a unit selected (open). Alternating rounds let a busy machine's
noise fall on both alike. Also reports how often the open inspector caught up (explanations
per mouse move: it explains at most every ``STROKE_INTERVAL_MS`` while a stroke goes on).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from cnnviz.qt.bench import TARGET_STROKE_P95_MS, _percentile, _strokes

UNITS = {"lenet5": ("C3", 9, 4, 4), "lenet": ("conv2", 3, 4, 4), "alexnet": ("conv3", 3, 3, 3),
         "vgg": ("conv2_2", 3, 7, 7), "googlenet": ("inception3a", 20, 7, 7), "resnet": ("layer2", 3, 3, 3)}  # fmt: skip


def measure(models: list[str], rounds: int, moves: int) -> dict:
    from PySide6.QtCore import QEvent, QSettings, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    from cnnviz.qt.app import create_application

    app = create_application([])
    from cnnviz.qt.main_window import MainWindow

    tmp = tempfile.TemporaryDirectory()
    window = MainWindow(settings=QSettings(str(Path(tmp.name) / "bench.ini"), QSettings.Format.IniFormat))
    window.resize(1600, 1000)
    window.show()
    canvas, point = window.canvas, window.canvas.widget_point
    explained = []
    window.state.unitExplained.connect(lambda _data: explained.append(1))

    def send(kind, pos, buttons):
        button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
        event = QMouseEvent(kind, pos, canvas.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(canvas, event)

    def settle(n: int = 10) -> None:
        for _ in range(n):
            app.processEvents()

    def one_round() -> list[float]:
        samples = []
        for stroke in _strokes(moves):
            window.clear_canvas()
            settle(2)
            send(QEvent.Type.MouseButtonPress, point(*stroke[0]), Qt.MouseButton.LeftButton)
            app.processEvents()
            for u, v in stroke[1:]:
                count = window.inference_count
                bars, maps = window.prediction.bars.paint_count, window.feature_maps.mosaic.paint_count
                t0 = time.perf_counter()
                send(QEvent.Type.MouseMove, point(u, v), Qt.MouseButton.LeftButton)
                deadline = t0 + 2.0
                while time.perf_counter() < deadline:
                    app.processEvents()
                    if (window.inference_count > count and window.prediction.bars.paint_count > bars
                            and window.feature_maps.mosaic.paint_count > maps):  # fmt: skip
                        break
                samples.append((time.perf_counter() - t0) * 1000)
            send(QEvent.Type.MouseButtonRelease, point(*stroke[-1]), Qt.MouseButton.NoButton)
            settle(2)
        return samples

    results = {}
    dock = window.dock_inspector
    for model in models:
        window.switch_model(model, "mnist")
        settle()
        window.state.select_unit(*UNITS.get(model, (window.session.stage_names()[1], 0, 0, 0)))
        figures = {"hidden": [], "open": []}
        explained_open, moves_open = 0, 0
        one_round()  # warm-up: caches and layouts
        for _ in range(rounds):
            for mode in ("hidden", "open"):
                if mode == "open":
                    dock.setFloating(True)
                    dock.setGeometry(window.geometry().right() - 720, window.geometry().top() + 80, 700, 820)
                    dock.show()
                else:
                    dock.setFloating(False)
                    window.dock_maps.raise_()
                settle()
                before = len(explained)
                samples = one_round()
                figures[mode] += samples
                if mode == "open":
                    explained_open += len(explained) - before
                    moves_open += len(samples)
        results[model] = {
            mode: {"n": len(s), "p50_ms": _percentile(s, 0.5), "p95_ms": _percentile(s, 0.95)}
            for mode, s in figures.items()
        }
        results[model]["explanations_per_move"] = explained_open / max(1, moves_open)
    dock.setFloating(False)
    window.close()
    app.processEvents()
    tmp.cleanup()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnviz.qt.bench_inspector", description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="lenet5,lenet,googlenet,resnet", help="comma-separated zoo names")
    parser.add_argument("--rounds", type=int, default=3, help="hidden/open rounds per model")
    parser.add_argument("--moves", type=int, default=30, help="mouse moves per stroke")
    args = parser.parse_args(argv)
    import os

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"inspector cost per stroke ({os.cpu_count()} CPU cores, load average {load:.1f} at start)")
    print(f"   {'model':12s} {'hidden p50':>10s} {'p95':>7s}   {'open p50':>9s} {'p95':>7s}   explained/move")
    results = measure(args.models.split(","), args.rounds, args.moves)
    for model, r in results.items():
        h, o = r["hidden"], r["open"]
        target = f"  p95 <= {TARGET_STROKE_P95_MS:.0f} ms: {'met' if o['p95_ms'] <= TARGET_STROKE_P95_MS else 'MISSED'}"
        print(f"   {model:12s} {h['p50_ms']:10.2f} {h['p95_ms']:7.2f}   {o['p50_ms']:9.2f} {o['p95_ms']:7.2f}   "
              f"{r['explanations_per_move']:.2f}{target if model in ('lenet5', 'lenet') else ''}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
