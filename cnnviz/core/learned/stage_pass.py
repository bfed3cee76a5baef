"""One stage's output for batches of test images, with the forward pass stopped after that stage.

Shared by the top images (``topk``) and the embedding (``embedding``): both run the
test set through the network up to one stage and need nothing after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

from cnnviz.core.errors import CnnvizError
from cnnviz.core.inspect.layers import first_tensor, model_device, stages

Progress = Callable[[int, int], bool | None]  # (images done, images in all) -> False to cancel
BATCH = 250  # the evaluation's CPU batch (cnnviz.core.training.evaluate.CPU_BATCH)


class Cancelled(CnnvizError):
    """The progress callback asked a test-set pass to stop."""


class _StageDone(BaseException):  # noqa: N818 - a signal, not an error: stops the forward pass early
    pass


def stage_module(model: nn.Module, stage: str) -> nn.Module:
    named = dict(stages(model))
    if stage not in named:
        raise CnnvizError(f"The network has no stage '{stage}'; choose one of: {', '.join(named)}.")
    return named[stage]


def stage_outputs(model: nn.Module, stage: str, images: torch.Tensor, *, grad: bool = False) -> torch.Tensor:
    """The stage's output (N x ...) for a float batch N x 1 x 28 x 28; the rest of the network is skipped.

    A stage called twice keeps its first output. Errors of a user's network become one sentence.
    With ``grad`` the output stays in the autograd graph (activation maximisation).
    """
    module = stage_module(model, stage)
    seen: list[torch.Tensor] = []

    def hook(_m, _inputs, output):
        out = first_tensor(output)
        if out is not None and not seen:
            seen.append(out if grad else out.detach())
            raise _StageDone

    handle = module.register_forward_hook(hook)
    try:
        with torch.set_grad_enabled(grad):
            model(images.to(model_device(model)))
    except _StageDone:
        pass
    except BaseException as exc:  # a user's network, SystemExit too: one sentence
        raise CnnvizError(f"The network failed on the test images ({type(exc).__name__}: {exc}).") from exc
    finally:
        handle.remove()
    if not seen:
        raise CnnvizError(f"Stage '{stage}' gives no tensor, so its units cannot be ranked.")
    return seen[0].float() if grad else seen[0].float().cpu()


def batches(images: torch.Tensor, progress: Progress | None, batch: int = BATCH) -> Iterator[tuple[int, torch.Tensor]]:
    """(start, float batch) over uint8 N x 28 x 28 images; raises ``Cancelled`` when ``progress`` says so."""
    n = len(images)
    for start in range(0, n, batch):
        yield start, images[start : start + batch].unsqueeze(1).float().div_(255.0)
        if progress is not None and progress(min(start + batch, n), n) is False:
            raise Cancelled("The pass over the test set was cancelled.")


def as_numpy(images: torch.Tensor) -> np.ndarray:
    return images.float().div(255).numpy()
