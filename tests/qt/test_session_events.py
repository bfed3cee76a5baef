"""The session's events in the app: a failing view is reported once, a deleted view leaves, one description."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import torch
from PySide6.QtWidgets import QWidget


class _Broken:
    def on_network(self) -> None:
        raise RuntimeError("boom")


def test_a_view_that_fails_is_reported_in_one_sentence_and_every_panel_still_follows(window):
    messages = []
    window.state.statusMessage.connect(lambda text, _ms: messages.append(text))
    broken = _Broken()
    window.session.events.network_changed.connect(broken.on_network)
    window.session.load_untrained("lenet", "mnist")
    window.settle()
    assert messages.count("A view could not follow 'network_changed' (RuntimeError: boom).") == 1
    rows = [r.name for r in window.session.description.layers]
    assert "conv1" in rows and window.layer_table.rowCount() == len(rows) + 1
    assert window.kernels.mosaic.block("conv1") is not None


def test_a_deleted_view_is_not_called_and_leaves_the_session(window):
    class View(QWidget):
        calls = 0

        def on_weights(self) -> None:
            self.calls += 1

    events = window.session.events
    before = events.subscriber_count()
    view = View()
    events.weights_changed.connect(view.on_weights)
    kernel = window.session.kernel_for_editor(0)["kernel"]
    window.session.edit_first_kernel(0, 0, np.zeros_like(kernel))
    assert view.calls == 1 and events.subscriber_count() == before + 1
    gone = weakref.ref(view)
    del view
    gc.collect()
    assert gone() is None and events.subscriber_count() == before
    window.session.reset_first_kernel()  # announced to the panels only; nothing raises
    window.settle()


def test_a_network_change_runs_the_new_network_once_for_every_panel(window):
    window.attribution.enabled.setChecked(True)  # its stage list is part of the description too
    window.settle()
    passes = []

    def count(module, _inputs, _output) -> None:
        if module is window.session.model:
            passes.append(type(module).__name__)

    handle = torch.nn.modules.module.register_module_forward_hook(count)
    try:
        window.model_picker.setCurrentIndex(window.model_picker.findData("alexnet"))
        window.settle()
    finally:
        handle.remove()
    described = window.session.description
    assert len(passes) == 1  # the description's zero image; nothing is drawn, so no inference
    chooser = window.feature_maps.chooser
    assert [chooser.itemText(i) for i in range(1, chooser.count())] == list(described.stage_names)
    assert window.layer_table.rowCount() == len(described.layers) + 1
    assert window.architecture.stages() == list(described.stage_names)
    stage = window.attribution.stage
    assert [stage.itemData(i) for i in range(1, stage.count())] == list(described.attribution_stages)
