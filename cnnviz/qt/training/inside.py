"""What the Training panel shows of a run beyond its curves: one step, the layers, the past, live changes.

``RunInside`` owns the step view, the layer view, the time slider and the live
learning-rate controls, and is fed by the panel (``run_started``, ``report``,
``run_finished``): the panel stays a thin face of the run. The time slider shows
a kept step through the session (``ModelSession.show_snapshot``), which announces
new weights as live weights do, so every panel that follows the network follows.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from cnnviz.core import CnnvizError
from cnnviz.core.training.live_changes import describe
from cnnviz.core.training.run import Progress
from cnnviz.core.training.step_mode import StepReport
from cnnviz.qt.training.layer_view import LayerView
from cnnviz.qt.training.live_controls import LiveControls
from cnnviz.qt.training.step_view import StepView
from cnnviz.qt.training.timeline import TimeSlider


class RunInside(QObject):
    """The step view, layer view, time slider and live controls of the Training panel, and their wiring."""

    def __init__(self, session, curves, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.curves = curves
        self.step_view = StepView()
        self.layer_view = LayerView()
        self.timeline = TimeSlider()
        self.live_controls = LiveControls()
        self._run = None
        self._snapshots = None
        self._run_model = None  # the network the ended run left on screen (its snapshots belong to it)
        curves.ticked.connect(self._on_tick)
        self.timeline.stepChosen.connect(self._show_step)
        self.timeline.liveChosen.connect(self._go_live)
        self.live_controls.changeAsked.connect(self._change)

    @property
    def following_live(self) -> bool:
        """Whether the other panels should follow the run's live weights (the slider is at Live)."""
        return self.timeline.live

    # -- the panel's run ---------------------------------------------------------------------
    def run_started(self, run) -> None:
        self._run, self._snapshots, self._run_model = run, run.snapshots, None
        self.layer_view.clear()
        self.timeline.go_live()
        self.timeline.set_steps([])
        self.live_controls.run_started(run.config)

    def report(self, report) -> None:
        if isinstance(report, Progress):
            if not self.layer_view.history:
                self.layer_view.set_run_length(report.total_steps)
            if report.layers is not None:
                self.layer_view.add(report.layers)
            for step, values in report.changes:
                self.curves.mark_change(step, describe(values))
        elif isinstance(report, StepReport):
            self.step_view.show_step(report)
            self.live_controls.show_current(report.lr)  # the rate of the step just made (a schedule moves it)

    def run_finished(self, end) -> None:
        self._run = None
        self.live_controls.run_finished()
        self._run_model = end.model if end.adopted else None
        self.layer_view.redraw_if_dirty()
        self._refresh_steps()
        if self._run_model is None:  # the run's network is not on screen: its past is not either
            self._snapshots = None
            self.timeline.go_live()
            self.timeline.set_steps([])
        elif not self.timeline.live:  # the ended run's network, at the step the slider shows
            self._show_step(self.timeline.shown_step())

    def network_changed(self) -> None:
        """Another network on screen: the slider has nothing more to show of the last run."""
        if self._run is None and self._run_model is not None and self.session.model is not self._run_model:
            self._run_model = self._snapshots = None
            self.timeline.go_live()
            self.timeline.set_steps([])

    # -- the controls ------------------------------------------------------------------------
    def _on_tick(self) -> None:
        self.layer_view.redraw_if_dirty()
        self._refresh_steps()

    def _refresh_steps(self) -> None:
        if self._snapshots is not None:
            self.timeline.set_steps(self._snapshots.steps())

    def _show_step(self, step) -> None:
        if self._snapshots is None or step is None:
            return
        try:
            weights = self._snapshots.weights(step)
        except KeyError:  # thinned away since: the nearest one still kept
            self._refresh_steps()
            return
        final = self._run is None and step == self._snapshots.steps()[-1]
        self.session.show_snapshot(weights, step, self._run_model, final=final)

    def _go_live(self) -> None:
        if self._run is None and self._snapshots is not None and self._snapshots.steps():
            self._show_step(self._snapshots.steps()[-1])  # after the run, "live" is the run's last weights
        # During the run the next live weights (about twice a second) bring the network back.

    def _change(self, values: dict) -> None:
        if self._run is None:
            return
        try:
            self._run.change(**values)
        except CnnvizError as exc:
            self.live_controls.say(str(exc))
            return
        self.live_controls.say(f"From the next batch: {describe(values)}.")
