"""Accuracy of a network as one distortion grows: the LeNet-5 paper's robustness plot, for any network.

The N images are the first N of the test split (as ``cnnviz eval`` would take them
in order), each distorted by the same ``Distortion``, so at the identity value the
sweep's accuracy is exactly that of an evaluation on those N images.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn

from cnnviz.core.data.datasets import load_split, to_float
from cnnviz.core.errors import CnnvizError
from cnnviz.core.robust.distort import Distortion, check_transform, check_value
from cnnviz.core.training.evaluate import CPU_BATCH, for_cpu_inference

DEFAULT_N = 1000
DEFAULT_VALUES: dict[str, tuple[float, ...]] = {
    "rotate": (-60, -45, -30, -15, 0, 15, 30, 45, 60),
    "shift-x": (-8, -6, -4, -2, 0, 2, 4, 6, 8),
    "shift-y": (-8, -6, -4, -2, 0, 2, 4, 6, 8),
    "scale": (0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6),
    "thickness": (-2, -1, 0, 1, 2, 3),
    "noise": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
    "occlude": (0, 4, 8, 12, 16),
}

Progress = Callable[[int, int], bool | None]  # (steps done, steps in all) -> False to cancel


class SweepCancelled(CnnvizError):
    """The progress callback asked the sweep to stop."""


@dataclass
class SweepResult:
    transform: str
    values: list[float]
    accuracy: list[float]
    n: int

    def as_dict(self) -> dict:
        return {"transform": self.transform, "values": self.values, "accuracy": self.accuracy, "n": self.n}


def check_n(n: int, available: int | None = None) -> int:
    if not isinstance(n, int) or n < 1 or (available is not None and n > available):
        most = f" (the test split has {available})" if available is not None else ""
        raise CnnvizError(
            f"The number of test images must be from 1 to {available or 'the split size'}{most}, not {n}."
        )
    return n


def check_values(transform: str, values) -> list[float]:
    check_transform(transform)
    if not values:
        raise CnnvizError(f"Give at least one {transform} value to sweep.")
    return [check_value(transform, v) for v in values]


def test_images(dataset: str, n: int, data_dir=None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` test images (N x 1 x 28 x 28 float in [0, 1]) and labels."""
    images, labels = load_split(dataset, False, data_dir)
    check_n(n, len(images))
    return to_float(images[:n]), labels[:n]


@torch.no_grad()
def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of ``images`` the model (already made ready for inference) classifies as ``labels``."""
    device = next(model.parameters()).device
    right = 0
    for i in range(0, len(images), CPU_BATCH):
        scores = model(images[i : i + CPU_BATCH].to(device))
        right += int((scores.argmax(1).cpu() == labels[i : i + CPU_BATCH]).sum())
    return right / len(images)


def sweep_steps(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, transform: str, values
) -> Iterator[tuple[float, float]]:
    """(value, accuracy) for each value in turn: a generator, so a worker can report and cancel between them."""
    values = check_values(transform, values)
    on_cpu = next(model.parameters()).device.type == "cpu"
    net = for_cpu_inference(model) if on_cpu else model  # as ``evaluate`` runs it: the same answers
    was_training = model.training
    net.eval()
    try:
        for value in values:
            distorted = Distortion().with_value(transform, value).apply(images)
            yield value, accuracy(net, distorted, labels)
    finally:
        net.train(was_training)
        model.train(was_training)


def sweep(
    model: nn.Module,
    dataset: str,
    transform: str,
    values,
    n: int = DEFAULT_N,
    data_dir=None,
    progress: Progress | None = None,
) -> SweepResult:
    """Accuracy on the first ``n`` test images at each value of one distortion."""
    values = check_values(transform, values)
    images, labels = test_images(dataset, n, data_dir)
    result = SweepResult(transform, [], [], n)
    for value, acc in sweep_steps(model, images, labels, transform, values):
        result.values.append(value)
        result.accuracy.append(acc)
        if progress is not None and progress(len(result.values), len(values)) is False:
            raise SweepCancelled("The sweep was cancelled.")
    return result


def sweep_networks(
    dataset: str,
    transform: str,
    n: int = DEFAULT_N,
    data_dir=None,
    own: tuple[str, nn.Module] | None = None,
    report: Callable[[tuple], object] | None = None,
    values=None,
) -> dict[str, SweepResult]:
    """The sweep for every zoo network with its shipped weights, then ``own`` (display name, model) if given.

    ``report`` gets ``(fraction done, None, (), ())`` after each value and ``(fraction, display name,
    values, accuracies)`` after each network (a worker's progress: it may raise to cancel). A zoo
    network without shipped weights for ``dataset`` is left out.
    """
    from cnnviz.core.inspect.comparison import zoo_names
    from cnnviz.core.models.registry import get_spec
    from cnnviz.core.resources import pretrained_path
    from cnnviz.core.weights.checkpoint import load_checkpoint

    values = check_values(transform, values if values is not None else DEFAULT_VALUES[transform])
    images, labels = test_images(dataset, n, data_dir)
    networks: list[tuple[str, object]] = [
        (get_spec(name).display_name, name) for name in zoo_names() if pretrained_path(name, dataset).exists()
    ]
    if own is not None:
        networks.append(own)
    total, done, results = len(networks) * len(values), 0, {}
    for display, network in networks:
        model = load_checkpoint(pretrained_path(network, dataset), network)[0] if isinstance(network, str) else network
        result = SweepResult(transform, [], [], n)
        for value, acc in sweep_steps(model, images, labels, transform, values):
            result.values.append(value)
            result.accuracy.append(acc)
            done += 1
            if report is not None:
                report((done / total, None, (), ()))
        results[display] = result
        if report is not None:
            report((done / total, display, tuple(result.values), tuple(result.accuracy)))
    return results
