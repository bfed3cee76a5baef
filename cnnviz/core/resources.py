"""Locate the files shipped in the repository's ``resources/`` and ``weights/`` folders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[2]


def _shipped(folder: str) -> Path:
    """The checkout's folder (also for ``pip install -e``), else the copy a regular install put in the prefix."""
    in_checkout = _REPO_ROOT / folder
    return in_checkout if in_checkout.is_dir() else Path(sys.prefix) / "share" / "cnnviz" / folder


def resources_dir() -> Path:
    """Folder with shipped resources (bitmaps, screenshots)."""
    return _shipped("resources")


def weights_dir() -> Path:
    """Folder with the pretrained weights; ``CNNVIZ_WEIGHTS_DIR`` overrides it."""
    override = os.environ.get("CNNVIZ_WEIGHTS_DIR")
    return Path(override) if override else _shipped("weights")


def pretrained_path(model: str, dataset: str) -> Path:
    """Path of the shipped weights for one model/dataset pair (may not exist)."""
    return weights_dir() / f"{model}-{dataset}.safetensors"
