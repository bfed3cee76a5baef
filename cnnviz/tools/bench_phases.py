"""Where a stroke's time goes: per-phase milliseconds for each mouse move, for ``cnnviz bench --app``.

``PhaseClock.install()`` wraps the functions that make up a stroke's work (the
forward with hooks, the maps' refresh and repaint, Grad-CAM, the inspector,
the overlay's colouring, the six networks' paint) *in their classes*, before
the window is built, so every connection made later calls the timed version.
Time is exclusive: a phase that runs inside another (a panel's slot inside
the signal the forward emits) counts once, in the inner phase. Work in other
threads (the six networks' worker, a background attribution) is summed apart,
as "worker": it does not block the GUI thread but competes with it for the
cores and the GIL. Qt's layout passes are counted (``LayoutRequest`` events);
"other" is what the stroke took beyond the timed phases: event dispatch,
layouts, style, waiting for the GIL.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import defaultdict

from cnnviz.tools.bench_common import _percentile

# (module, class, method, phase): the stroke's work, innermost phases win.
PHASES = [
    ("cnnviz.core.session.session", "ModelSession", "_result_for", "forward with hooks"),
    ("cnnviz.qt.panels.prediction", "PredictionPanel", "show_result", "prediction update"),
    ("cnnviz.qt.panels.prediction", "ProbabilityBars", "paintEvent", "prediction repaint"),
    ("cnnviz.qt.panels.feature_maps", "FeatureMapsView", "set_activations", "maps update"),
    ("cnnviz.qt.widgets.mosaic", "MosaicView", "paintEvent", "maps repaint"),
    ("cnnviz.qt.panels.prediction", "InputPreview", "paintEvent", "model input repaint"),
    ("cnnviz.qt.widgets.canvas", "DrawingCanvas", "paintEvent", "canvas repaint"),
    ("cnnviz.core.session.session", "ModelSession", "attribution_task", "Grad-CAM (model copy)"),
    ("cnnviz.core.inspect.attribution", None, "attribute", "Grad-CAM"),
    ("cnnviz.core.inspect.heat_pictures", None, "heat_pictures", "overlay colouring"),
    ("cnnviz.core.session.explain", "ExplainMixin", "explain_unit", "inspector compute"),
    ("cnnviz.qt.panels.inspector", "InspectorPanel", "_on_explained", "inspector display"),
    ("cnnviz.qt.widgets.unit_inspector_view", "_InputView", "paintEvent", "inspector display"),
    ("cnnviz.qt.panels.comparison", "ComparisonPanel", "set_input", "six networks hand-off"),
    ("cnnviz.qt.panels.comparison", "ComparisonView", "paintEvent", "six networks repaint"),
    ("cnnviz.qt.panels.comparison", "ComparisonPanel", "_on_answers", "six networks display"),
    ("cnnviz.qt.panels.comparison", "ComparisonPanel", "_show", "six networks display"),
    ("cnnviz.qt.panels.attribution", "AttributionPanel", "_on_result", "Grad-CAM hand-off"),
    ("cnnviz.qt.panels.attribution", "AttributionPanel", "_on_live_result", "Grad-CAM display"),
    ("cnnviz.qt.panels.fool_it", "FoolItPanel", "_on_result", "Fool it hand-off"),
    ("cnnviz.qt.panels.fool_it", "FoolItPanel", "_on_answer", "Fool it display"),
    ("cnnviz.qt.panels.distort", "DistortPanel", "_on_result", "Distort hand-off"),
    ("cnnviz.qt.panels.distort", "DistortPanel", "_on_answer", "Distort display"),
    ("cnnviz.qt.panels.embedding", "EmbeddingPanel", "_on_result", "embedding point"),
    ("cnnviz.qt.panels.embedding", "EmbeddingPanel", "_on_placed", "embedding point"),
    ("cnnviz.core.inspect.comparison", "ZooComparison", "predict", "six networks (worker)"),
    ("cnnviz.qt.state.app_state", "AppState", "wait_for_drawing", "yielding to a stroke (any worker)"),
    ("cnnviz.core.inspect.background_process", "ModelProcess", "_ask", "waiting on the explanations' child (no GIL)"),
]


class PhaseClock:
    """Exclusive time per phase, GUI thread and workers apart; ``start()``/``stop()`` bracket one move."""

    def __init__(self) -> None:
        self.gui = threading.get_ident()
        self.local = threading.local()
        self.lock = threading.Lock()
        self.current: dict[str, float] = defaultdict(float)
        self.moves: list[dict[str, float]] = []
        self.layouts = 0
        self.active = False
        self._t0 = 0.0
        self._installed: list[tuple[object, str, object]] = []  # (owner, name, original) to put back

    def _stack(self) -> list:
        if not hasattr(self.local, "stack"):
            self.local.stack = []
        return self.local.stack

    def wrap(self, fn, phase: str):
        clock = self

        @functools.wraps(fn)  # its name too: a wrapped function still pickles by name (to a child process)
        def timed(*args, **kwargs):
            stack = clock._stack()
            frame = [time.perf_counter(), 0.0]
            stack.append(frame)
            try:
                return fn(*args, **kwargs)
            finally:
                stack.pop()
                elapsed = time.perf_counter() - frame[0]
                if stack:
                    stack[-1][1] += elapsed
                if clock.active:
                    name = phase if threading.get_ident() == clock.gui else f"worker: {phase}"
                    with clock.lock:
                        clock.current[name] += (elapsed - frame[1]) * 1000

        timed._phase = phase
        return timed

    def install(self) -> None:
        """Wrap every phase's function in its class (or module); call before the window is built."""
        import importlib

        for module_name, cls_name, attr, phase in PHASES:
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            owner = getattr(module, cls_name, None) if cls_name else module
            fn = owner.__dict__.get(attr) if owner is not None and cls_name else getattr(owner, attr, None)
            if fn is None or getattr(getattr(fn, "__func__", fn), "_phase", None):  # wrapped already
                continue
            if isinstance(fn, staticmethod | classmethod):  # keep the kind, or a static one gets ``self``
                timed = type(fn)(self.wrap(fn.__func__, phase))
            else:
                timed = self.wrap(fn, phase)
            owners = [owner]
            if cls_name is None:  # a module function: rebind it where it was imported by name too
                import sys

                owners += [m for m in list(sys.modules.values()) if m is not owner
                           and getattr(m, "__name__", "").startswith("cnnviz") and getattr(m, attr, None) is fn]  # fmt: skip
            for where in owners:
                self._installed.append((where, attr, fn))
                setattr(where, attr, timed)

    def uninstall(self) -> None:
        """Put every wrapped function back."""
        for owner, attr, fn in reversed(self._installed):
            setattr(owner, attr, fn)
        self._installed = []

    def count_layouts(self, app) -> None:
        from PySide6.QtCore import QEvent, QObject

        clock = self

        class _Layouts(QObject):
            def eventFilter(self, _obj, event) -> bool:  # noqa: N802 (Qt override)
                if clock.active and event.type() == QEvent.Type.LayoutRequest:
                    clock.layouts += 1
                return False

        self._filter = _Layouts()
        app.installEventFilter(self._filter)

    def start(self) -> None:
        with self.lock:
            self.current = defaultdict(float)
        self.layouts = 0
        self.active = True
        self._t0 = time.perf_counter()

    def stop(self) -> None:
        total = (time.perf_counter() - self._t0) * 1000
        self.active = False
        with self.lock:
            move = dict(self.current)
        gui = sum(v for k, v in move.items() if not k.startswith("worker"))
        move["other (events, layouts, GIL waits)"] = max(0.0, total - gui)
        move["layout passes (count)"] = float(self.layouts)
        move["stroke"] = total
        self.moves.append(move)

    def summary(self) -> dict[str, dict[str, float]]:
        """Phase -> {"p50", "p95", "mean", "slowest"} milliseconds per move (a phase absent from a move counts 0);
        "slowest" is its mean over the slowest 5% of moves: what makes a stroke's p95."""
        names = sorted({k for m in self.moves for k in m}, key=lambda k: (k == "stroke", k.startswith("worker"), k))
        cut = _percentile([m["stroke"] for m in self.moves], 0.95) if self.moves else 0.0
        slowest = [m for m in self.moves if m["stroke"] >= cut] or [{}]
        out = {}
        for name in names:
            values = [m.get(name, 0.0) for m in self.moves]
            out[name] = {"p50": _percentile(values, 0.5), "p95": _percentile(values, 0.95),
                         "mean": sum(values) / len(values),
                         "slowest": sum(m.get(name, 0.0) for m in slowest) / len(slowest)}  # fmt: skip
        return out


def print_breakdown(phases: dict[str, dict[str, dict[str, float]]]) -> None:
    """One table per model: each phase's median (p50) and p95 ms per move, scenario by scenario."""
    models: dict[str, list[str]] = {}
    for key in phases:
        scenario, model = key.split("/", 1)
        models.setdefault(model, []).append(scenario)
    for model, scenarios in models.items():
        print(f"   {model}: ms per mouse move, p50 / p95 / mean over the slowest 5% of moves (exclusive: nested "
              "work counts in its own phase)")  # fmt: skip
        print(f"   {'phase':<44}" + "".join(f" {s:>21}" for s in scenarios))
        names: list[str] = []
        for s in scenarios:
            names += [n for n in phases[f"{s}/{model}"] if n not in names]
        names.sort(key=lambda k: (k == "stroke", k.startswith("worker"), k.startswith(("other", "layout")), k))
        for name in names:
            cells = []
            for s in scenarios:
                v = phases[f"{s}/{model}"].get(name)
                cells.append(f"{v['p50']:.2f} / {v['p95']:.2f} / {v.get('slowest', 0.0):.2f}" if v else "-")
            print(f"   {name:<44}" + "".join(f" {c:>21}" for c in cells))
