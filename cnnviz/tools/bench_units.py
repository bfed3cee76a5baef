"""Timings of what each unit has learned (issue 18), printed, not asserted.

    CNNVIZ_DATA_DIR=../shared/data python -m cnnviz.tools.bench_units [--quick]
    CNNVIZ_DATA_DIR=../shared/data QT_QPA_PLATFORM=offscreen python -m cnnviz.tools.bench_units --strokes

- top-K (K = 9) over the whole test set (10,000 images), every channel of one stage at
  once, without the cache: LeNet-5's C3 and the largest zoo network's last convolution;
  and the same answered from the disk cache (a second start);
- one activation-maximisation picture (256 steps, four starts at once);
- the test set's map at the modern LeNet's penultimate layer (fc2): features, PCA and
  t-SNE of 2,000 and 10,000 points, and placing one new point (the drawing) into each;
- with ``--strokes`` (needs Qt; offscreen works), only LeNet-5's stroke-to-screen p50/p95 with
  the Embedding panel showing and hidden.

One torch thread, as the app's background jobs use on a busy classroom laptop; the load
average is printed beside the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def run(data_dir=None, quick: bool = False) -> dict:
    import torch

    from cnnviz.core.learned import cache
    from cnnviz.core.learned.embedding import embed, features
    from cnnviz.core.learned.maximise import maximise
    from cnnviz.core.learned.topk import top_images
    from cnnviz.core.models.registry import list_models
    from cnnviz.core.resources import pretrained_path
    from cnnviz.core.weights.checkpoint import load_checkpoint

    torch.set_num_threads(1)
    figures: dict = {}
    largest = max((s for s in list_models() if s.source_path is None), key=lambda s: s.num_params).name
    convs = {"lenet5": "C3", "alexnet": "conv5", "vgg": "conv3_2", "resnet": "layer3", "googlenet": "inception4b"}
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores; torch threads: 1")
    with tempfile.TemporaryDirectory() as folder:
        for name in ("lenet5", largest):
            model = load_checkpoint(pretrained_path(name, "mnist"), name)[0].eval()
            stage = convs.get(name, "C3")
            top_images(model, "mnist", stage, 9, data_dir, use_cache=False)  # the test set read once, warm
            top, seconds = _timed(
                lambda m=model, s=stage: top_images(m, "mnist", s, 9, data_dir, cache_folder=Path(folder))
            )
            cache.forget_memory()
            _, cached = _timed(
                lambda m=model, s=stage: top_images(m, "mnist", s, 9, data_dir, cache_folder=Path(folder))
            )
            figures[f"top9 {name} {stage}"] = seconds
            print(f"top-9 over 10,000 test images, {name} {stage} ({top.channels} channels): {seconds:.2f} s; "
                  f"from the disk cache (hash + read): {cached * 1000:.0f} ms")  # fmt: skip
            picture, seconds = _timed(lambda m=model, s=stage: list(maximise(m, s, 0))[-1])
            figures[f"maximise {name} {stage}"] = seconds
            print(f"one maximised picture, {name} {stage} channel 0 (256 steps x 4 starts): {seconds:.2f} s "
                  f"(value {picture.value:.3f}, best test image {top.values[0, 0]:.3f})")  # fmt: skip
    model = load_checkpoint(pretrained_path("lenet", "mnist"), "lenet")[0].eval()
    for n in (2_000,) if quick else (2_000, 10_000):
        feats, seconds = _timed(lambda n=n: features(model, "mnist", "fc2", n, data_dir))
        print(f"features of {n:,} test images at the modern LeNet's fc2: {seconds:.2f} s")
        for method in ("pca", "tsne"):
            emb, seconds = _timed(lambda f=feats, m=method: embed(f, m))
            figures[f"{method} {n}"] = seconds
            _, place = _timed(lambda e=emb, f=feats: e.place(f.values[0]))
            print(
                f"  {method.upper():4} of {n:,} points: {seconds:.2f} s; placing one new point: {place * 1000:.1f} ms"
            )
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")
    return figures


def stroke_with_embedding(data_dir=None, rounds: int = 3) -> dict:
    """LeNet-5's stroke-to-screen (ms, p50/p95) with the Embedding panel (a PCA map of 2,000 test images,
    the drawing a live star) showing and hidden, in turns so a busy machine slows both alike."""
    import statistics

    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QApplication

    from cnnviz.qt.app.launch import create_application
    from cnnviz.qt.app.main_window import MainWindow
    from cnnviz.tools.bench_common import _percentile, _strokes, time_strokes

    app = create_application([])
    with tempfile.TemporaryDirectory() as folder:
        w = MainWindow(data_dir=data_dir, settings=QSettings(str(Path(folder) / "b.ini"), QSettings.Format.IniFormat))
        w.resize(1600, 1000)
        w.show()
        while w.session is None:
            app.processEvents()
        w.splitDockWidget(w.dock_prediction, w.dock_embedding, Qt.Orientation.Vertical)
        w.dock_embedding.show()
        w.dock_maps.raise_()
        deadline = time.perf_counter() + 60
        while w.embedding.embedding is None and time.perf_counter() < deadline:
            QApplication.processEvents()
            time.sleep(0.01)
        samples: dict[str, list[float]] = {"hidden": [], "showing": []}
        for round_ in range(rounds + 1):  # round 0 warms up
            for scenario in samples:
                w.dock_embedding.setVisible(scenario == "showing")
                for _ in range(10):
                    app.processEvents()
                got, _missed = time_strokes(app, w, _strokes(30))
                if round_:
                    samples[scenario] += got
        w.close()
        app.processEvents()
    out = {k: (statistics.median(v), _percentile(v, 0.95)) for k, v in samples.items()}
    for k, (p50, p95) in out.items():
        print(
            f"LeNet-5 stroke-to-screen, Embedding panel {k}: p50 {p50:.2f} ms, p95 {p95:.2f} ms ({len(samples[k])} moves)"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnviz.tools.bench_units", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the maps of 2,000 points only")
    parser.add_argument("--data-dir", help="dataset folder (default: $CNNVIZ_DATA_DIR)")
    parser.add_argument("--strokes", action="store_true", help="only the stroke latency with the Embedding panel")
    args = parser.parse_args(argv)
    if args.strokes:
        stroke_with_embedding(args.data_dir)
        print(f"load average: {os.getloadavg()[0]:.2f} (1 min)")
        return 0
    run(args.data_dir, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
