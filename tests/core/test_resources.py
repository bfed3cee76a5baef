"""Shipped files are found in a checkout and in a regular (non-editable) install."""

from __future__ import annotations

import sys

from cnnviz.core import resources


def test_a_checkout_reads_its_own_folders():
    assert (resources.weights_dir() / "lenet5-mnist.safetensors").is_file()
    assert (resources.resources_dir() / "lenet5_rbf_bitmaps.txt").is_file()


def test_an_installed_package_reads_the_copies_in_its_prefix(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "_REPO_ROOT", tmp_path / "site-packages")  # no resources/ next to it
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))
    monkeypatch.delenv("CNNVIZ_WEIGHTS_DIR", raising=False)
    assert resources.weights_dir() == tmp_path / "venv" / "share" / "cnnviz" / "weights"
    assert resources.pretrained_path("vgg", "mnist").parent == resources.weights_dir()
    assert resources.resources_dir() == tmp_path / "venv" / "share" / "cnnviz" / "resources"
