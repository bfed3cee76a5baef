"""``cnnviz bench --app``: how fast the app answers a stroke, and how fast it starts.

1. Stroke latency. Scripted strokes on the real MainWindow's canvas, one
   synthetic mouse-move event at a time; for each move the clock runs from
   sending the event until the prediction bars and the feature maps have been
   repainted with the new answer (events processed until their paint counters
   move). Reported per model as p50/p95 in ms, next to the bare model forward
   pass for scale. Runs in a child process so its one-thread torch setting
   (what the app uses) does not leak into the training benchmark.
2. Cold start. A fresh ``python -c`` that builds and shows MainWindow and
   prints when the canvas is on screen and accepting input; timed from spawn.
3. If ``cnnviz.tools.bench_training`` exists, its ``run(data_dir, quick)``.

Figures are printed, not asserted. Offscreen unless a display is available.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from cnnviz.tools.bench_common import _child_env, _percentile, _strokes, time_strokes

TARGET_STROKE_P95_MS = 16.0  # one 60 Hz frame, for lenet5 and lenet

TARGET_COLD_START_S = 3.0


def stroke_latency(data_dir=None, quick: bool = False) -> dict:
    """Per-model stroke-to-screen latencies (ms), measured in this process."""
    from PySide6.QtCore import QSettings

    from cnnviz.qt.app.launch import create_application

    app = create_application([])
    from cnnviz.core import list_models
    from cnnviz.qt.app.main_window import MainWindow

    tmp = tempfile.TemporaryDirectory()
    window = MainWindow(
        data_dir=data_dir, settings=QSettings(str(Path(tmp.name) / "bench.ini"), QSettings.Format.IniFormat)
    )
    window.resize(1600, 1000)
    window.show()
    for _ in range(20):
        app.processEvents()
    moves = 30 if quick else 60
    repeats = 1 if quick else 3

    results = {}
    for spec in list_models():
        window.switch_model(spec.name, "mnist")
        for _ in range(5):
            app.processEvents()
        samples: list[float] = []
        missed = 0
        for rep in range(repeats + 1):  # the first round warms up caches and layouts
            got, miss = time_strokes(app, window, _strokes(moves))
            if rep > 0:
                samples += got
                missed += miss
        # The bare forward pass on the same input, for scale.
        x = window.result.image
        forward = []
        for _ in range(50):
            t0 = time.perf_counter()
            window.session.infer(x)
            forward.append((time.perf_counter() - t0) * 1000)
        results[spec.name] = {
            "display_name": spec.display_name,
            "n": len(samples),
            "p50_ms": _percentile(samples, 0.5),
            "p95_ms": _percentile(samples, 0.95),
            "max_ms": max(samples) if samples else float("nan"),
            "forward_p50_ms": _percentile(forward, 0.5),
            "missed": missed,
            "weights": window.session.source,
        }
    window.close()
    app.processEvents()
    tmp.cleanup()
    return {"platform": app.platformName(), "results": results}


_COLD_START = textwrap.dedent(
    """
    import sys, tempfile, time
    t0 = time.perf_counter()
    from cnnviz.qt.app.launch import create_application
    app = create_application([])
    from PySide6.QtCore import QSettings
    from cnnviz.qt.app.main_window import MainWindow
    folder = tempfile.TemporaryDirectory()  # removed when this process ends: no folder left per cold start
    tmp = folder.name
    window = MainWindow(settings=QSettings(tmp + "/cold.ini", QSettings.Format.IniFormat), defer_model=True)
    window.show()
    window.canvas.setFocus()
    while not (window.windowHandle() and window.windowHandle().isExposed() and window.canvas.isVisible()):
        app.processEvents()
    app.processEvents()
    print("READY", time.perf_counter() - t0, flush=True)
    if not window.is_ready():  # an idle event loop, as in the app
        from PySide6.QtCore import QEventLoop
        loop = QEventLoop()
        window.sessionReady.connect(loop.quit)
        loop.exec()
    app.processEvents()
    print("MODEL", time.perf_counter() - t0, flush=True)
    window.close()
    """
)


def cold_start(runs: int) -> list[tuple[float, float]]:
    """Seconds from spawning ``python -c`` to (window accepting strokes, model answering them)."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", _COLD_START],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=_child_env(),
        )
        ready = None
        for line in proc.stdout:
            if line.startswith("READY"):
                ready = time.perf_counter() - t0
            elif line.startswith("MODEL") and ready is not None:
                times.append((ready, time.perf_counter() - t0))
                break
        proc.wait(timeout=120)
    return times


def _stroke_latency_in_child(data_dir, quick: bool) -> dict:
    code = (
        "import json, sys; from cnnviz.tools.bench_app import stroke_latency; "
        "print('JSON' + json.dumps(stroke_latency(sys.argv[1] or None, sys.argv[2] == '1')))"
    )
    args = [sys.executable, "-c", code, str(data_dir or ""), "1" if quick else "0"]
    out = subprocess.run(args, capture_output=True, text=True, env=_child_env(), timeout=1800)
    for line in out.stdout.splitlines():
        if line.startswith("JSON"):
            return json.loads(line[4:])
    raise RuntimeError(f"stroke benchmark failed: {out.stderr.strip().splitlines()[-1:]}")


def run(data_dir=None, quick: bool = False) -> dict:
    """Run the app benchmark and print a table; returns the figures."""
    import platform

    print(
        f"cnnviz bench --app{' --quick' if quick else ''}: Python {platform.python_version()}, "
        f"{os.cpu_count()} CPU cores, torch threads for drawing: 1 (GUI thread), for training: all"
    )
    print("\n1) stroke -> new prediction and feature maps on screen (per mouse move)")
    stroke = _stroke_latency_in_child(data_dir, quick)
    print(f"   Qt platform: {stroke['platform']}; feature maps panel showing all layers")
    print(f"   {'model':<24} {'moves':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'forward p50':>12}  target")
    for name, r in stroke["results"].items():
        target = ""
        if name in ("lenet5", "lenet"):
            target = (
                f"p95 <= {TARGET_STROKE_P95_MS:.0f} ms: {'met' if r['p95_ms'] <= TARGET_STROKE_P95_MS else 'MISSED'}"
            )
        missed = f" ({r['missed']} timed out)" if r["missed"] else ""
        print(
            f"   {r['display_name']:<24} {r['n']:>6} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} {r['max_ms']:>8.1f} "
            f"{r['forward_p50_ms']:>10.2f}ms  {target}{missed}"
        )

    print("\n1b) the same with the explanation panels: Six networks, Grad-CAM overlay (cnnviz.tools.bench_explain)")
    from cnnviz.tools import bench_explain

    explain = bench_explain.run(data_dir, quick)

    print("\n2) cold start from spawning python (median of runs):")
    starts = cold_start(1 if quick else 3)
    if starts:
        window = statistics.median(t[0] for t in starts)
        model = statistics.median(t[1] for t in starts)
        verdict = "met" if window <= TARGET_COLD_START_S else "MISSED"
        print(
            f"   window shown, canvas taking strokes: {window:.2f} s (target <= {TARGET_COLD_START_S:.0f} s: {verdict})"
        )
        print(f"   model loaded (background thread), strokes answered: {model:.2f} s")
        print(f"   runs: {'; '.join(f'{a:.2f} / {b:.2f}' for a, b in starts)} s")
    else:
        print("   the window did not start")
    figures = {"stroke": stroke, "explain": explain, "cold_start_s": starts}

    try:
        from cnnviz.tools import bench_training
    except ImportError:
        bench_training = None
    if bench_training is not None:
        print("\n3) training inside the app (cnnviz.tools.bench_training)")
        sys.stdout.flush()
        figures["training"] = bench_training.run(data_dir, quick)
    return figures


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
