"""tests/gpu: a CUDA GPU is the only reason to skip (``python -m cnnviz.tools.gpu_check`` runs them).

The GPU machine has the core's dependencies only (no PySide6, no platformdirs),
so the data folder comes from ``CNNVIZ_DATA_DIR`` and only MNIST is needed.
"""

from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """MNIST's folder; where CUDA is, missing data fails the test instead of skipping it."""
    from cnnviz.core.data.datasets import DataMissingError, default_data_dir, load_split

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    try:
        path = default_data_dir()
    except ImportError:  # platformdirs, which knows the user's data folder, is not installed
        pytest.fail("set CNNVIZ_DATA_DIR to the folder holding MNIST/raw")
    try:
        load_split("mnist", False, path)
    except DataMissingError as exc:
        pytest.fail(f"the GPU tests need MNIST: {exc}")
    return path
