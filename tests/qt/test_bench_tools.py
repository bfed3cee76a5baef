"""The app benchmark's tools: the phase clock wraps the real stroke path; a cold start leaves no files."""

from __future__ import annotations

import os

import numpy as np

from cnnviz.tools.bench_phases import PHASES, PhaseClock


def test_phase_clock_wraps_each_phase_once_and_puts_them_back():
    from cnnviz.core.inspect.comparison import ZooComparison
    from cnnviz.qt.widgets.mosaic import MosaicView

    originals = (ZooComparison.__dict__["predict"], MosaicView.__dict__["paintEvent"])
    clock = PhaseClock()
    clock.install()
    try:
        clock.install()  # a second install does not wrap twice
        wrapped = ZooComparison.__dict__["predict"]
        assert wrapped.__wrapped__ is originals[0]
        assert MosaicView.__dict__["paintEvent"].__wrapped__ is originals[1]
        from cnnviz.qt.panels.attribution import AttributionPanel

        heat = np.zeros((28, 28), np.float32)
        heat[3, 4] = 1.0
        input_rgba, drawing_rgba = AttributionPanel._pictures(heat, None)  # a static method stays static
        assert input_rgba.shape == (28, 28, 4) and input_rgba[3, 4, 3] == input_rgba[..., 3].max() > 0
        assert {phase for *_rest, phase in PHASES} >= {
            "forward with hooks",
            "Grad-CAM",
            "inspector compute",
            "overlay colouring",
            "six networks (worker)",
            "maps repaint",
        }
    finally:
        clock.uninstall()
    assert (ZooComparison.__dict__["predict"], MosaicView.__dict__["paintEvent"]) == originals


def test_phase_clock_times_a_real_stroke(qapp, qtbot, settings):
    """Strokes through the real window: the forward and the maps are timed for every move."""
    from cnnviz.qt.app.main_window import MainWindow
    from cnnviz.tools.bench_common import _strokes, time_strokes

    clock = PhaseClock()
    clock.install()
    try:
        window = MainWindow(settings=settings)
        window.resize(1200, 800)
        window.show()
        qtbot.waitUntil(lambda: window.state.inference_count >= 1)
        samples, missed = time_strokes(qapp, window, _strokes(6)[:1], probe=clock)
        window.close()
        window.deleteLater()
        qtbot.wait(50)
    finally:
        clock.uninstall()
    assert missed == 0 and len(clock.moves) == len(samples) == 6
    assert all(move["forward with hooks"] > 0 and move["maps update"] > 0 for move in clock.moves)


def test_cold_start_leaves_no_folder_behind(tmp_path, monkeypatch):
    from cnnviz.tools.bench_app import cold_start

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    times = cold_start(1)
    assert len(times) == 1 and times[0][0] <= times[0][1]
    assert os.listdir(tmp_path) == []


def test_colour_tables_equal_pyqtgraphs_without_importing_it_at_start():
    """The maps' colours come from pyqtgraph's own files, byte for byte, with pyqtgraph left for later."""
    import pyqtgraph as pg

    from cnnviz.qt.widgets.style import DIVERGING, SEQUENTIAL, _lookup_table

    for name in (SEQUENTIAL, DIVERGING):
        expected = pg.colormap.get(name).getLookupTable(nPts=255, mode="byte", alpha=False)
        assert (_lookup_table(name, 255) == expected).all()


def test_the_first_screen_does_not_import_pyqtgraph_or_torch():
    import subprocess
    import sys

    code = (
        "import sys; import cnnviz.qt.app.main_window, cnnviz.qt.app.launch; "
        "print(sorted(m for m in ('pyqtgraph', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr


def test_the_training_bench_counts_the_images_it_trained_on(qapp, small_data_dir, monkeypatch):
    """Section 3 of ``cnnviz bench --app``: it once failed on a session call's changed arguments, and
    counted 128 images a batch while the run's batches held 96 (the app looked 1.2x faster than training alone)."""
    from cnnviz.core import TrainConfig
    from cnnviz.tools import bench_training

    monkeypatch.setattr(bench_training, "WARMUP", 2)  # the small set has 13 batches an epoch
    result = bench_training.app_run(small_data_dir, batches=10, visible=False)
    assert 0 < result["steps"] <= 10 and result["images"] == result["steps"] * TrainConfig().batch_size
    assert result["images_per_second"] > 0 and result["stall_max_ms"] >= result["stall_p50_ms"], result
