"""Locate files shipped in the repository's ``resources/`` and ``weights/`` folders."""

from __future__ import annotations

import os
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[2]


def resources_dir() -> Path:
    """Folder with shipped resources (bitmaps, screenshots)."""
    return _REPO_ROOT / "resources"


def weights_dir() -> Path:
    """Folder with the pretrained weights; ``CNNVIZ_WEIGHTS_DIR`` overrides it."""
    override = os.environ.get("CNNVIZ_WEIGHTS_DIR")
    return Path(override) if override else _REPO_ROOT / "weights"


def pretrained_path(model: str, dataset: str) -> Path:
    """Path of the shipped weights for one model/dataset pair (may not exist)."""
    return weights_dir() / f"{model}-{dataset}.safetensors"
