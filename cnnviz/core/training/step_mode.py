"""Step mode: one batch, looked at closely, before and after its optimizer step.

The loop runs a step batch exactly as any other (same forward, loss, backward,
optimizer step, schedule: the run goes on from there unchanged) and around it
``StepProbe`` looks: the network's answers and loss on the batch before and
after (in evaluation mode and without gradients, so nothing of the run changes:
no batch-norm statistics, no dropout draw), each stage's gradient norm and
update / weight ratio, and the first convolution's kernels before and after.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.core.errors import CnnvizError
from cnnviz.core.training.layer_stats import copy_params, grad_norms, trainable_stages, update_ratios


@dataclass(frozen=True)
class StepReport:
    """One step of a run, seen closely (the run pauses after it)."""

    step: int  # the step this batch was (1-based over the run)
    images: np.ndarray  # N x C x H x W float32, exactly what the network was fed (after augmentation)
    labels: np.ndarray  # N, int
    answers_before: np.ndarray  # N, the network's answer before the step
    answers_after: np.ndarray
    loss_before: float  # the run's loss on this batch before the step (evaluation mode)
    loss_after: float
    train_loss: float  # the loss the step descended (training mode: dropout, batch statistics)
    lr: float  # the learning rate of the step
    stages: tuple[str, ...]
    grad_norm: tuple[float, ...]
    update_ratio: tuple[float, ...]
    kernel_stage: str = ""  # the first convolution's stage ("" without one)
    kernels_before: np.ndarray | None = None  # out x in x kh x kw
    kernels_after: np.ndarray | None = None

    @property
    def kernels_change(self) -> np.ndarray | None:
        if self.kernels_before is None or self.kernels_after is None:
            return None
        return self.kernels_after - self.kernels_before

    @property
    def right_before(self) -> int:
        return int((self.answers_before == self.labels).sum())

    @property
    def right_after(self) -> int:
        return int((self.answers_after == self.labels).sum())


class StepProbe:
    """Looks at one batch around its optimizer step: ``StepProbe(...)`` before, ``finish`` after."""

    def __init__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, label_smoothing: float) -> None:
        self.model, self.x, self.y, self.smoothing = model, x, y, label_smoothing
        self.stages = trainable_stages(model)
        self.before = copy_params(self.stages)
        self.answers_before, self.loss_before = self._look()
        self.kernels_before: np.ndarray | None
        try:
            from cnnviz.core.inspect.activations import first_conv_kernels

            self.kernel_stage, kernels = first_conv_kernels(model)
            self.kernels_before = kernels.copy()  # on the CPU the array shares the live weights' memory
        except CnnvizError:
            self.kernel_stage, self.kernels_before = "", None

    @torch.no_grad()
    def _look(self) -> tuple[np.ndarray, float]:
        was_training = self.model.training
        self.model.eval()
        try:
            scores = self.model(self.x)
            loss = F.cross_entropy(scores, self.y, label_smoothing=self.smoothing)
            return scores.argmax(1).cpu().numpy(), float(loss)
        finally:
            self.model.train(was_training)

    def finish(self, step: int, train_loss: float, lr: float) -> StepReport:
        """After the optimizer step (the gradients are still those of this batch)."""
        norms = [float(v) for v in torch.stack(grad_norms(self.stages)).cpu()] if self.stages else []
        ratios = [float(v) for v in torch.stack(update_ratios(self.stages, self.before)).cpu()] if self.stages else []
        answers_after, loss_after = self._look()
        kernels_after = None
        if self.kernels_before is not None:
            from cnnviz.core.inspect.activations import first_conv_kernels

            kernels_after = first_conv_kernels(self.model)[1].copy()
        return StepReport(
            step=step, images=self.x.detach().cpu().numpy().astype(np.float32), labels=self.y.cpu().numpy(),
            answers_before=self.answers_before, answers_after=answers_after,
            loss_before=self.loss_before, loss_after=loss_after, train_loss=train_loss, lr=lr,
            stages=tuple(name for name, _ in self.stages), grad_norm=tuple(norms), update_ratio=tuple(ratios),
            kernel_stage=self.kernel_stage, kernels_before=self.kernels_before, kernels_after=kernels_after,
        )  # fmt: skip
