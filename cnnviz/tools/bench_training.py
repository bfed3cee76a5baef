"""How the app behaves while it trains: event-loop stalls and training throughput.

Run ``python -m cnnviz.tools.bench_training [--quick] [--data-dir DIR]``.

LeNet trains on MNIST on the CPU inside a shown ``TrainingMonitor`` (offscreen
unless a display is set) while a 10 ms ``QTimer`` records how late the event
loop serves it: a stall is an interval minus the 10 ms asked for. Throughput
inside the app is compared, as a ratio, with ``cnnviz.core.train`` run directly
on the same settings in the same process, the two interleaved so a noisy
neighbour slows both alike. the session's ``weights_changed`` is connected to a forward pass
over one image with every layer's activations, as the main window does.

Python threads share one interpreter lock: the training thread holds it
between torch ops, so the GUI thread can wait for it up to
``sys.getswitchinterval()`` each time. The app run is repeated with a shorter
switch interval to show how much that matters. The same run is made with the
per-stage figures (issue 20: histograms, gradient norms, dead units) measured
and their Layers tab shown, and without them. Figures are printed, never
asserted.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import threading
import time

import numpy as np

TARGETS = "targets: stall p99 <= 50 ms, max <= 200 ms; app/direct throughput >= 0.90x"
WARMUP = 20  # batches left out of the throughput (first batches run cold)


def _config(batches: int):
    from cnnviz.core import TrainConfig

    steps = -(-60_000 // TrainConfig().batch_size)  # an epoch of MNIST at the default batch size
    epochs = 1 if batches <= steps else -(-batches // steps)
    return TrainConfig(model="lenet", dataset="mnist", epochs=epochs, device="cpu")  # the app's defaults


def direct_images_per_second(data_dir, batches: int, **options) -> float:
    """``cnnviz.core.train`` alone, no Qt involved, as ``cnnviz train`` runs it.

    It runs in a thread of its own that ends afterwards, taking its OpenMP
    team with it: run in the GUI thread, that team would outlive it and slow
    the app's training thread (see ``cnnviz.core.training.device.set_cpu_threads``).
    """
    from cnnviz.core import BatchStats, train

    config = _config(batches)
    result: list[float] = []

    def measure() -> None:
        start = start_step = None
        for event in train(config, data_dir=data_dir, **options):  # options: layer_stats, snapshots
            if isinstance(event, BatchStats):  # a report covers every batch since the last (~30 Hz)
                if start is None and event.step >= WARMUP:
                    start, start_step = time.perf_counter(), event.step
                elif start is not None and event.step >= batches:
                    result.append((event.step - start_step) * config.batch_size / (time.perf_counter() - start))
                    return

    thread = threading.Thread(target=measure, name="direct-training")
    thread.start()
    thread.join()
    if not result:
        raise RuntimeError("training ended early")
    return result[0]


def app_run(
    data_dir,
    batches: int,
    switch_interval: float | None = None,
    inference: bool = True,
    visible: bool = True,
    layers: bool | None = None,
) -> dict:
    """One training run in a ``TrainingMonitor`` (shown, or hidden as when tabbed away); stalls and throughput.

    ``layers``: None as the panel comes (figures measured, Results tab in front); True with the Layers
    tab in front (its strips and curves redraw); False with no per-stage figures measured at all.
    """
    from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Slot
    from PySide6.QtWidgets import QApplication

    from cnnviz.core import ModelSession, set_cpu_threads
    from cnnviz.qt.training.monitor import TrainingMonitor

    app = QApplication.instance() or QApplication([])
    set_cpu_threads(1)  # the GUI thread predicts on one thread, as the main window sets
    session = ModelSession("lenet", data_dir=data_dir)
    monitor = TrainingMonitor(session)
    monitor.resize(1100, 850)
    if layers is not None:
        monitor.measure_layers = layers
        if layers:
            monitor.tabs.setCurrentWidget(monitor.inside.layer_view)
    if visible:
        monitor.show()
    monitor.settings.model_combo.setCurrentIndex(monitor.settings.model_combo.findData("lenet"))
    monitor.settings.epochs_spin.setValue(_config(batches).epochs)
    monitor.settings.device_combo.setCurrentIndex(monitor.settings.device_combo.findData("cpu"))
    image, _ = session.random_test_image(rng=np.random.default_rng(0))
    if inference:  # what the app's state does on weights_changed
        session.events.weights_changed.connect(lambda: session.infer(image))
    app.processEvents()

    class Probe(QObject):
        """Lives in the GUI thread: records the ticks and the worker's progress."""

        def __init__(self) -> None:
            super().__init__()
            self.ticks: list[float] = []
            self.first: tuple[int, float] | None = None  # (step, worker's elapsed seconds)
            self.last: tuple[int, float] | None = None
            self.measuring = False

        @Slot()
        def tick(self) -> None:
            if self.measuring:
                self.ticks.append(time.perf_counter())

        @Slot(object)
        def progress(self, p) -> None:
            if p.step >= WARMUP and self.first is None:
                self.first = (p.step, p.elapsed)
                self.measuring = True
            if p.step <= batches:
                self.last = (p.step, p.elapsed)
            if p.step >= batches:
                self.measuring = False
                monitor.stop()

    probe = Probe()
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(probe.tick)
    loop = QEventLoop()
    monitor.trainingFinished.connect(lambda result: loop.quit())

    old_interval = sys.getswitchinterval()
    if switch_interval is not None:
        sys.setswitchinterval(switch_interval)
    try:
        timer.start()
        monitor.progressed.connect(probe.progress)
        monitor.start()
        cpu0 = time.thread_time()
        wall0 = time.perf_counter()
        loop.exec()
        wall = time.perf_counter() - wall0
        gui_cpu = (time.thread_time() - cpu0) / wall
        plot_hz = monitor.curves._plot_redraws / wall
    finally:
        timer.stop()
        sys.setswitchinterval(old_interval)
        monitor.shutdown()
        monitor.close()
        monitor.deleteLater()
        app.processEvents()

    ticks = np.diff(np.asarray(probe.ticks)) * 1000 - 10  # ms late
    (s0, t0), (s1, t1) = probe.first, probe.last
    return {
        "images": (s1 - s0) * _config(batches).batch_size,  # the run's own batch size (96), not a constant
        "steps": s1 - s0,
        "images_per_second": (s1 - s0) * _config(batches).batch_size / (t1 - t0),
        "stall_p50_ms": float(np.percentile(ticks, 50)),
        "stall_p99_ms": float(np.percentile(ticks, 99)),
        "stall_max_ms": float(ticks.max()),
        "gui_cpu": gui_cpu,
        "plot_hz": plot_hz,
    }


def run(data_dir=None, quick: bool = False, threads: int | None = None, rounds: int | None = None) -> dict:
    """Run the benchmark and print a table; returns the figures.

    ``threads``: torch's CPU threads for training, set through
    ``OMP_NUM_THREADS`` before torch loads (the Qt side never imports torch).
    None leaves torch's default (all cores), as the app does; the GUI thread
    uses one, as the main window sets.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if threads is not None:
        if "torch" in sys.modules:
            print("note: torch is already loaded; --threads has no effect", file=sys.stderr)
        os.environ["OMP_NUM_THREADS"] = str(threads)
    from PySide6.QtWidgets import QApplication

    from cnnviz.core import load_split, set_cpu_threads

    set_cpu_threads(1)  # the GUI thread, before its first torch op, as the main window does
    app = QApplication.instance() or QApplication([])  # noqa: F841  (kept alive for the runs)
    batches = 200 if quick else 469
    rounds = rounds or (1 if quick else 3)
    intervals = [None] if quick else [None, 0.001]
    load_split("mnist", True, data_dir)  # reading the files is not the loop's speed
    load_split("mnist", False, data_dir)

    print(f"cnnviz training-monitor bench: lenet, MNIST, batch {_config(batches).batch_size}, Adam, CPU, {batches} batches, "
          f"{rounds} round(s), OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"{os.cpu_count()} CPU(s), Qt platform {os.environ.get('QT_QPA_PLATFORM')}, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    direct: list[float] = []
    apps: dict[str, list[dict]] = {}
    variants = [
        (f"app, switch interval {1000 * (i or sys.getswitchinterval()):g} ms", i, True, None) for i in intervals
    ]
    variants += [("app, layer figures shown", None, True, True), ("app, no layer figures", None, True, False)]
    if not quick:
        variants.append(("app, monitor hidden", None, False, None))
    for r in range(rounds):  # interleaved, so a noisy neighbour hits every variant alike
        direct.append(direct_images_per_second(data_dir, batches))
        line = [f"direct {direct[-1]:,.0f} img/s"]
        for name, interval, visible, layers in variants:
            result = app_run(data_dir, batches, interval, visible=visible, layers=layers)
            apps.setdefault(name, []).append(result)
            line.append(f"{name}: {result['images_per_second']:,.0f} img/s, p99 stall {result['stall_p99_ms']:.1f} ms")
        print(f"  round {r + 1}: " + "; ".join(line), flush=True)

    direct_ips = statistics.median(direct)
    print()
    print(
        f"{'run':<32} {'images/s':>10} {'vs direct':>10} {'stall p50':>10} {'p99':>8} {'max':>8} {'GUI CPU':>8} {'plots':>7}"
    )
    print(f"{'direct cnnviz.core.train':<32} {direct_ips:>10,.0f} {'1.00x':>10}")
    figures = {"direct_images_per_second": direct_ips, "apps": {}}
    for name, results in apps.items():
        med = {key: statistics.median(r[key] for r in results) for key in results[0]}
        med["stall_max_ms"] = max(r["stall_max_ms"] for r in results)  # the worst, not the median
        ratio = med["images_per_second"] / direct_ips
        figures["apps"][name] = {**med, "ratio": ratio}
        print(f"{name:<32} {med['images_per_second']:>10,.0f} {ratio:>9.2f}x {med['stall_p50_ms']:>8.1f}ms "
              f"{med['stall_p99_ms']:>6.1f}ms {med['stall_max_ms']:>6.1f}ms {100 * med['gui_cpu']:>7.0f}% {med['plot_hz']:>5.0f}Hz")  # fmt: skip
    print(f"(median of {rounds} round(s), direct {min(direct):,.0f}-{max(direct):,.0f} img/s; stall = 10 ms timer "
          f"interval minus 10 ms, max over rounds; load average now {os.getloadavg()[0]:.1f}; {TARGETS})")  # fmt: skip
    return figures


def app_time_to_accuracy(data_dir, target: float = 0.99) -> tuple[float, float]:
    """Seconds from pressing Start (the Training panel's defaults: LeNet, one epoch) to the first
    test accuracy at or above ``target``, with the panel shown; and that accuracy."""
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from cnnviz.core import ModelSession, set_cpu_threads
    from cnnviz.qt.training.monitor import TrainingMonitor

    app = QApplication.instance() or QApplication([])
    set_cpu_threads(1)  # the GUI thread, as the main window sets it
    monitor = TrainingMonitor(ModelSession("lenet5", data_dir=data_dir))
    monitor.resize(1100, 850)
    monitor.show()
    app.processEvents()
    reached: list[tuple[float, float]] = []
    loop = QEventLoop()

    def on_epoch(epoch) -> None:
        if epoch.test_accuracy >= target and not reached:
            reached.append((time.perf_counter() - started, epoch.test_accuracy))

    monitor.trainingFinished.connect(lambda _result: loop.quit())
    started = time.perf_counter()
    monitor.epochEnded.connect(on_epoch)
    monitor.start()
    loop.exec()
    monitor.shutdown()
    monitor.close()
    return reached[0] if reached else (math.inf, 0.0)


def core_overhead(data_dir, batches: int = 300, rounds: int = 3) -> None:
    """``cnnviz.core.train`` alone, plain, measuring inside its layers, and also keeping snapshots (issue 20)."""
    import statistics

    from cnnviz.core.training.snapshots import Snapshots

    variants = {"plain": {}, "layer figures": {"layer_stats": True},
                "layer figures + snapshots": {"layer_stats": True, "snapshots": None}}  # fmt: skip
    rates: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):  # interleaved, so a noisy neighbour hits every variant alike
        for name, options in variants.items():
            if "snapshots" in options:
                options = {**options, "snapshots": Snapshots()}
            rates[name].append(direct_images_per_second(data_dir, batches, **options))
    plain = statistics.median(rates["plain"])
    for name, values in rates.items():
        print(f"{name:<28} {statistics.median(values):>8,.0f} img/s  {statistics.median(values) / plain:.2f}x "
              f"(rounds: {', '.join(f'{v:,.0f}' for v in values)})")  # fmt: skip
    print(f"(LeNet, MNIST, CPU, {batches} batches, median of {rounds}; load average {os.getloadavg()[0]:.1f})")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round of 200 batches")
    parser.add_argument("--data-dir", default=None, help="datasets folder (default: CNNVIZ_DATA_DIR)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads for training (default: torch's, all cores, as in the app)",
    )
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default: 3, --quick: 1)")
    parser.add_argument("--time-to-99", action="store_true", help="only: seconds from Start to 99 %% test accuracy")
    parser.add_argument("--core-overhead", action="store_true",
                        help="only: cnnviz.core.train with and without the layer figures and snapshots")  # fmt: skip
    args = parser.parse_args(argv)
    if args.core_overhead:
        if args.threads is not None:
            os.environ["OMP_NUM_THREADS"] = str(args.threads)
        core_overhead(args.data_dir, rounds=args.rounds or 3)
        return
    if args.time_to_99:
        seconds, accuracy = app_time_to_accuracy(args.data_dir)
        print(f"app, Training panel defaults: {100 * accuracy:.2f} % test accuracy {seconds:.2f} s after Start")
        return
    run(args.data_dir, quick=args.quick, threads=args.threads, rounds=args.rounds)


if __name__ == "__main__":
    main()
