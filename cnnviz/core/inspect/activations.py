"""Looking inside a model: class probabilities and every stage's activations."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from cnnviz.core.inspect.description import first_conv, first_conv_stage
from cnnviz.core.inspect.layers import capture, model_device


def _as_batch(model: nn.Module, image: np.ndarray) -> torch.Tensor:
    device = model_device(model)
    return torch.as_tensor(np.asarray(image, dtype=np.float32), device=device).reshape(1, 1, 28, 28)


@torch.no_grad()
def predict(model: nn.Module, image: np.ndarray) -> np.ndarray:
    """Class probabilities (10,) for one 28x28 image in [0, 1]; the model must be in eval mode."""
    return torch.softmax(model(_as_batch(model, image)), 1)[0].cpu().numpy()


@torch.no_grad()
def activations(model: nn.Module, image: np.ndarray) -> tuple[np.ndarray, OrderedDict[str, np.ndarray]]:
    """Probabilities and each stage's output for one image, from one forward pass.

    Parameters
    ----------
    model
        Any network mapping N x 1 x 28 x 28 to N x 10 scores, in eval mode;
        its stages are those of ``cnnviz.core.inspect.layers.stages``.
    image
        28x28 image in [0, 1], ink = 1.

    Returns
    -------
    probabilities
        (10,) softmax of the model's output.
    activations
        Stage name -> numpy array without the batch axis (C x H x W for maps,
        (C,) for vectors), in the order the stages first ran. A stage called
        more than once (a shared block in a loop) holds its last output; a
        stage returning a tuple holds the first tensor in it; a stage that did
        not run is absent.
    """
    with capture(model) as (outputs, _):
        scores = model(_as_batch(model, image))
    return torch.softmax(scores, 1)[0].cpu().numpy(), outputs


def first_conv_kernels(model: nn.Module) -> tuple[str, np.ndarray]:
    """The name of the stage holding the first convolution ("C1", as every panel calls it, not the
    module path "C1.0") and its weights (out x in x kh x kw); ``CnnvizError`` without a convolution."""
    conv = first_conv(model)
    return first_conv_stage(model) or "", conv.weight.detach().cpu().numpy()


def c3_connection_table(model: nn.Module) -> np.ndarray | None:
    """LeNet-5's 6x16 S2->C3 table as read from the model's own mask, else None."""
    c3 = getattr(model, "c3", None)
    if c3 is None:
        return None
    return c3.connection_table.cpu().numpy().copy()
