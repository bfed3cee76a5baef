"""What the convolution animation costs next to the inspector's own explanation, per convolution stage
of the six networks (best of 5, one torch thread; compare the ratio, not the milliseconds):

    python -m cnnviz.tools.bench_conv_sweep
"""

from __future__ import annotations

import time

import numpy as np
import torch

from cnnviz.core.inspect.conv_sweep import convolution_sweep, find_convolution
from cnnviz.core.inspect.unit_inspector import capture_stages, inspect_unit
from cnnviz.core.models.registry import build_model

ZOO = ("lenet5", "lenet", "alexnet", "vgg", "googlenet", "resnet")


def _best_ms(task, rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        task()
        times.append(time.perf_counter() - start)
    return 1000 * min(times)


def main() -> None:
    torch.set_num_threads(1)
    image = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    print(
        f"{'network':10} {'stage':12} {'convolution':24} {'positions':>9} {'maps':>5} {'explain':>9} {'sweep':>8} ratio"
    )
    for name in ZOO:
        model = build_model(name, seed=0).eval()
        named, _ins, outs = capture_stages(model, image)
        for (stage, _module), out in zip(named, outs, strict=True):
            if out.dim() != 4:
                continue
            c, h, w = out.shape[1:]
            unit = (stage, min(1, c - 1), min(1, h - 1), min(1, w - 1))
            explanation = inspect_unit(model, image, *unit)
            found = find_convolution([s.as_dict() for s in explanation.steps], explanation.channel)
            if found is None:
                continue
            sweep = convolution_sweep(model, image, *found)
            explain_ms = _best_ms(lambda model=model, unit=unit: inspect_unit(model, image, *unit))
            sweep_ms = _best_ms(lambda model=model, found=found: convolution_sweep(model, image, *found))
            print(f"{name:10} {stage:12} {found[0]:24} {sweep.positions:9d} {len(sweep.input_channels):5d} "
                  f"{explain_ms:7.1f}ms {sweep_ms:6.1f}ms {sweep_ms / explain_ms:5.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
