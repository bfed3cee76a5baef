"""The session's explaining side: one unit's computation, the edited first-layer kernels, the diagram.

A mixin of ``ModelSession`` (kept in its own file so the session stays
readable): everything here works on ``self.model``, ``self.result`` and
``self.description`` (the diagram is ``description.architecture``) and
returns plain dicts and numpy arrays, so the Qt side never touches torch.
Kernel edits change the session's weights and announce ``weights_changed``
like live training does: feature maps, kernels and prediction follow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from cnnviz.core.errors import CnnvizError
from cnnviz.core.inspect import kernel_edit
from cnnviz.core.inspect.unit_inspector import inspect_unit_as_dict

NOT_WHILE_TRAINING = "Kernels cannot be edited while the network trains: stop the run first."


class ExplainMixin:
    """Methods of ``ModelSession`` for the unit inspector and the kernel editor."""

    if TYPE_CHECKING:  # ModelSession's attributes that these methods use
        model: Any
        result: Any
        events: Any
        description: Any

        @property
        def training(self) -> bool: ...

    # -- one unit --------------------------------------------------------------------------
    def explain_unit(self, stage: str, channel: int, y: int = 0, x: int = 0) -> dict | None:
        """How unit (channel, y, x) of ``stage`` got its value for the current input, as plain data.

        Returns ``UnitExplanation.as_dict()``, or None when nothing is drawn.

        Raises
        ------
        CnnvizError
            For a stage the network lacks or a unit outside the stage's output.
        """
        return self.explain_unit_task(stage, channel, y, x, self.model)()

    def explain_unit_task(self, stage: str, channel: int, y: int = 0, x: int = 0, model=None):
        """``explain_unit`` for the current input as a function that may run in any thread, on ``model``
        (a copy made with ``model_copy()``, so live weights loaded meanwhile never meet it)."""
        from cnnviz.core.inspect.background_process import ModelTask

        image, model = self.result.image, self.model if model is None else model
        if image is None:
            return lambda _progress=None: None
        return ModelTask(inspect_unit_as_dict, model, (image, stage, channel, y, x))

    # -- editing a first-layer kernel ------------------------------------------------------
    def kernel_for_editor(self, out_channel: int = 0, in_channel: int = 0) -> dict | None:
        """One first-layer kernel for the editor: ``{"out", "in", "kernel", "presets", "edited", "stage"}``.

        ``out_channel`` is clamped to the kernels there are; None without a convolution.
        """
        stage = self.description.first_conv_stage
        if stage is None:
            return None
        conv = kernel_edit.first_conv(self.model)
        out_channel = min(max(out_channel, 0), conv.weight.shape[0] - 1)
        in_channel = min(max(in_channel, 0), conv.weight.shape[1] - 1)
        kernel = kernel_edit.first_kernel(self.model, out_channel, in_channel)
        return {
            "out": out_channel,
            "in": in_channel,
            "kernel": kernel,
            "presets": kernel_edit.kernel_presets(kernel.shape),
            "edited": (out_channel, in_channel) in kernel_edit.edited_kernels(self.model),
            "stage": stage,
        }

    def edit_first_kernel(self, out_channel: int, in_channel: int, kernel: np.ndarray) -> None:
        """Overwrite one first-layer kernel (the trained one is remembered) and announce new weights.

        Raises
        ------
        CnnvizError
            While training (the run would overwrite the edit), or for a kernel of the wrong size.
        """
        if self.training:
            raise CnnvizError(NOT_WHILE_TRAINING)
        kernel_edit.set_first_kernel(self.model, out_channel, in_channel, kernel)
        self.events.weights_changed.emit()

    def reset_first_kernel(self, out_channel: int | None = None, in_channel: int = 0) -> None:
        """Put the trained kernel back (every edited one when ``out_channel`` is None) and announce it."""
        if self.training:
            raise CnnvizError(NOT_WHILE_TRAINING)
        kernel_edit.reset_first_kernel(self.model, out_channel, in_channel)
        self.events.weights_changed.emit()

    def edited_kernels(self) -> list[tuple[int, int]]:
        """(out, in) of every first-layer kernel edited and not reset: saving should warn."""
        return kernel_edit.edited_kernels(self.model)

    def forget_kernel_edits(self) -> None:
        """The weights now loaded count as the trained ones (called whenever new weights arrive)."""
        kernel_edit.forget_edits(self.model)
