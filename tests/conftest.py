"""Suite-wide settings: offscreen Qt, and the real datasets in ../shared/data."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if "CNNVIZ_DATA_DIR" not in os.environ and _SHARED.is_dir():
    os.environ["CNNVIZ_DATA_DIR"] = str(_SHARED)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real MNIST/Fashion-MNIST folder; skipped without it locally, an error in CI."""
    path = Path(os.environ.get("CNNVIZ_DATA_DIR", _SHARED))
    if not (path / "MNIST" / "raw" / "train-images-idx3-ubyte").exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must have the real datasets at {path}")
        pytest.skip(f"real MNIST not found in {path} (set CNNVIZ_DATA_DIR)")
    return path
