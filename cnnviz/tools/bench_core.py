"""Benchmarks that print figures: training throughput and per-model latency.

Speed is compared as ratios measured in one run, never asserted in tests.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from cnnviz.core.data.datasets import load_split, resolve_data_dir
from cnnviz.core.inspect.activations import activations
from cnnviz.core.models.registry import build_model, list_models
from cnnviz.core.training.loop import BatchStats, TrainConfig, train


def reference_images_per_second(data_dir, batches: int, batch_size: int = 64, warmup: int = 20) -> float:
    """The tutorial loop: torchvision MNIST + ToTensor + DataLoader(shuffle) + Adam."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    torch.manual_seed(0)
    ds = datasets.MNIST(str(resolve_data_dir(data_dir)), train=True, download=False, transform=transforms.ToTensor())
    loader = DataLoader(ds, batch_size=batch_size, shuffle=True)
    model = build_model("lenet").train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start, seen = None, 0
    for i, (x, y) in enumerate(loader):
        if i == warmup:
            start, seen = time.perf_counter(), 0
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        seen += len(y)
        if i == warmup + batches:
            break
    return seen / (time.perf_counter() - start)


def engine_images_per_second(data_dir, batches: int, batch_size: int = 64, warmup: int = 20) -> float:
    """The cnnviz engine on the same model, batch size and optimizer, on the CPU.

    The engine reports groups of batches (one read-back per ~30 Hz tick, as
    the app and ``cnnviz train`` run it), so the clock starts at the first
    report past ``warmup`` and stops at the first one ``batches`` later.
    """
    config = TrainConfig(
        model="lenet", batch_size=batch_size, optimizer="adam", lr=1e-3, schedule="constant", device="cpu"
    )
    load_split("mnist", True, data_dir)  # reading the files is not the loop's speed
    start = first = None
    for event in train(config, data_dir=data_dir):
        if isinstance(event, BatchStats):
            if start is None:
                if event.step >= warmup:  # that group ran before the clock started
                    start, first = time.perf_counter(), event.step
            elif event.step - first >= batches:
                return (event.step - first) * batch_size / (time.perf_counter() - start)
    raise RuntimeError("training ended before the benchmark's batches were done")


def inference_latency_ms(model_name: str, images: np.ndarray, runs: int = 200) -> tuple[float, float]:
    """Median and p95 of one prediction with every stage's activations captured."""
    model = build_model(model_name).eval()
    for img in images[:10]:
        activations(model, img)
    times = []
    for i in range(runs):
        t = time.perf_counter()
        activations(model, images[i % len(images)])
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), float(np.percentile(times, 95))


def evaluation_seconds(data_dir, rounds: int, n: int = 2000) -> dict:
    """Seconds to score ``n`` test images per shipped network: as stored (batch 1000) vs ``evaluate``'s
    channels-last copy (batch 250); interleaved, medians of ``rounds``."""
    from cnnviz.core.resources import pretrained_path
    from cnnviz.core.training.evaluate import CPU_BATCH, for_cpu_inference
    from cnnviz.core.weights.checkpoint import load_checkpoint

    test_x, _ = load_split("mnist", False, data_dir)
    x = test_x[:n].float().unsqueeze(1) / 255

    def seconds(net, batch) -> float:
        start = time.perf_counter()
        with torch.inference_mode():
            for i in range(0, n, batch):
                net(x[i : i + batch])
        return time.perf_counter() - start

    figures = {}
    print(f"{'model':<10} {'as stored s':>11} {'channels-last s':>16} {'speed-up':>9}   ({n} test images)")
    for spec in list_models():
        model, _ = load_checkpoint(pretrained_path(spec.name, "mnist"), spec.name)
        plain, fast = model.eval(), for_cpu_inference(model).eval()
        seconds(plain, 1000), seconds(fast, CPU_BATCH)  # warm-up: oneDNN picks its kernels
        a, b = [], []
        for _ in range(rounds):
            a.append(seconds(plain, 1000))
            b.append(seconds(fast, CPU_BATCH))
        figures[spec.name] = {"plain_s": statistics.median(a), "channels_last_s": statistics.median(b)}
        print(f"{spec.name:<10} {statistics.median(a):>11.2f} {statistics.median(b):>16.2f} "
              f"{statistics.median(a) / statistics.median(b):>8.1f}x")  # fmt: skip
    return figures


def run(data_dir=None, batches: int = 400, rounds: int = 3, runs: int = 200) -> dict:
    """Run every benchmark and print a table; returns the figures."""
    load_split("mnist", True, data_dir)  # a missing dataset: the one clear sentence, before any figure
    print(f"cnnviz bench: torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    ref, eng = [], []
    for r in range(rounds):  # interleaved, so a noisy neighbour hits both alike
        ref.append(reference_images_per_second(data_dir, batches))
        eng.append(engine_images_per_second(data_dir, batches))
        print(f"  round {r + 1}: reference {ref[-1]:,.0f} img/s, engine {eng[-1]:,.0f} img/s")
    ratio = statistics.median(e / r for e, r in zip(eng, ref, strict=True))
    print(
        f"training lenet, batch 64, Adam: engine {statistics.median(eng):,.0f} img/s, "
        f"reference {statistics.median(ref):,.0f} img/s, ratio {ratio:.2f}x"
    )
    test_x, _ = load_split("mnist", False, data_dir)
    images = (test_x[:100].float() / 255).numpy()
    latency = {}
    print(f"{'model':<10} {'median ms':>10} {'p95 ms':>8}   (one image, all activations)")
    for spec in list_models():
        med, p95 = inference_latency_ms(spec.name, images, runs)
        latency[spec.name] = {"median_ms": med, "p95_ms": p95}
        print(f"{spec.name:<10} {med:>10.2f} {p95:>8.2f}")
    evaluation = evaluation_seconds(data_dir, rounds)
    return {
        "evaluation": evaluation,
        "engine_ips": statistics.median(eng),
        "reference_ips": statistics.median(ref),
        "ratio": ratio,
        "latency": latency,
    }
