"""Suite-wide settings: offscreen Qt, and the real datasets in ../shared/data."""

import os
from pathlib import Path

import pytest

# Offscreen Qt on a 1920x1080 screen (the plugin's default is 800x800, smaller than any monitor);
# tests of other screen sizes start their own process with another screen (tests/qt/test_screen_fit.py).
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={Path(__file__).with_name('offscreen-1920x1080.json')}"
# One torch (OpenMP) thread per test process and its children: two xdist workers on a 2-core machine
# with a team of two threads each oversubscribe the cores, and OpenMP's spinning teams then crawl (one
# MNIST epoch: 7.5 s alone, 33 s beside a second such process, 7.7 s each with one thread).
os.environ.setdefault("OMP_NUM_THREADS", "1")
# The six networks answer in the window's own process: a child per window would import torch again
# (over a second of CPU each); tests/core/test_comparison_process.py and one panel test start children.
os.environ.setdefault("CNNVIZ_SIX_IN_PROCESS", "1")
# ... and so do the explanations (tests/core/test_background_process.py and the panel tests there start it).
os.environ.setdefault("CNNVIZ_BACKGROUND_IN_PROCESS", "1")
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if "CNNVIZ_DATA_DIR" not in os.environ and _SHARED.is_dir():
    os.environ["CNNVIZ_DATA_DIR"] = str(_SHARED)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real MNIST/Fashion-MNIST folder; skipped without it locally, an error in CI."""
    from cnnviz.core.data.datasets import DataMissingError, default_data_dir, load_split

    path = default_data_dir()
    try:  # present, or downloaded now by torchvision when online
        for dataset in ("mnist", "fashion-mnist"):
            load_split(dataset, False, path)
    except DataMissingError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have the real datasets: {exc}")
        pytest.skip(str(exc))
    return path


@pytest.fixture(scope="session")
def small_data_dir(tmp_path_factory) -> Path:
    """A data folder with small, learnable MNIST and Fashion-MNIST stand-ins (tests/synthetic_idx.py).

    1,200 training and 200 test images each (13 batches an epoch at the default batch size): for tests that need *a* dataset, not MNIST's accuracy.
    """
    from synthetic_idx import write_both

    return write_both(tmp_path_factory.mktemp("small-data"))


pytest_plugins = ["pytester"]  # tests/qt/test_leak_checks.py runs a leaking test in a child pytest
