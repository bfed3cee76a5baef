"""What the app benchmarks share: stroke paths, timing strokes through the window, percentiles, a child's environment."""

from __future__ import annotations

import os
import time

import numpy as np


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, 100 * q)) if values else float("nan")


def _child_env() -> dict:
    env = dict(os.environ)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def _strokes(moves: int) -> list[list[tuple[float, float]]]:
    """Digit-like strokes in canvas units: a one, a zero, a seven's bar and slant."""
    import math

    one = [(0.5, 0.15 + 0.7 * i / moves) for i in range(moves + 1)]
    zero = [
        (0.5 + 0.28 * math.sin(2 * math.pi * i / moves), 0.5 - 0.33 * math.cos(2 * math.pi * i / moves))
        for i in range(moves + 1)
    ]
    seven = [(0.25 + 0.5 * i / moves, 0.22) for i in range(moves // 2 + 1)] + [
        (0.75 - 0.35 * i / moves, 0.22 + 0.6 * i / moves) for i in range(1, moves + 1)
    ]
    return [one, zero, seven]


def time_strokes(app, window, strokes, heat: bool = False, probe=None) -> tuple[list[float], int]:
    """Milliseconds from each synthetic mouse move on the canvas until the new answer is on screen
    (prediction bars and feature maps repainted; with ``heat`` the model input's overlay too), and
    how many moves never got there within 2 s. ``probe`` (a ``bench_phases.PhaseClock``) brackets each move."""
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    canvas, point = window.canvas, window.canvas.widget_point

    def send(kind, pos, buttons) -> None:
        button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
        event = QMouseEvent(kind, pos, canvas.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(canvas, event)

    def marks() -> tuple[int, int, int, int]:
        return (window.state.inference_count, window.prediction.bars.paint_count, window.feature_maps.mosaic.paint_count,
                window.preview.paint_count)  # fmt: skip

    samples, missed = [], 0
    for stroke in strokes:
        window.clear_canvas()
        app.processEvents()
        send(QEvent.Type.MouseButtonPress, point(*stroke[0]), Qt.MouseButton.LeftButton)
        app.processEvents()
        for u, v in stroke[1:]:
            before = marks()
            if probe is not None:
                probe.start()
            t0 = time.perf_counter()
            send(QEvent.Type.MouseMove, point(u, v), Qt.MouseButton.LeftButton)
            ok = False
            while time.perf_counter() - t0 < 2.0:
                app.processEvents()
                now = marks()
                if all(n > b for n, b in zip(now[:3], before[:3], strict=True)) and (not heat or now[3] > before[3]):
                    ok = True
                    break
            samples.append((time.perf_counter() - t0) * 1000)
            if probe is not None:
                probe.stop()
            missed += not ok
        send(QEvent.Type.MouseButtonRelease, point(*stroke[-1]), Qt.MouseButton.NoButton)
        app.processEvents()
    return samples, missed
