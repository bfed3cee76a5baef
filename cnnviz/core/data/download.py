"""Downloading a dataset on request, file by file, with progress and a place to stop.

``load_split`` downloads silently on first use (the command line); the app asks
first and calls ``download`` in a background job: each of the four files is a
step of the progress, and between files is where Cancel takes effect.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from cnnviz.core.data.catalog import dataset_info
from cnnviz.core.data.datasets import _TORCHVISION_CLASS, is_available, resolve_data_dir
from cnnviz.core.errors import DataMissingError


def raw_folder(dataset: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Where the dataset's four IDX files are (or would be) kept."""
    return resolve_data_dir(data_dir) / dataset_info(dataset).folder / "raw"


def download(
    dataset: str, data_dir: str | os.PathLike | None = None, progress: Callable[[float], None] = lambda _f: None
) -> Path:
    """Fetch the dataset's missing files from torchvision's mirrors into ``data_dir``; returns the folder.

    ``progress(fraction)`` is called before each file and at the end (raising there stops the
    download between files). Raises ``DataMissingError`` with one sentence when offline.
    """
    from torchvision import datasets as tv_datasets  # ~1.5 s: only when a download is asked for
    from torchvision.datasets.utils import download_and_extract_archive

    info = dataset_info(dataset)
    source = getattr(tv_datasets, _TORCHVISION_CLASS[dataset])
    raw = raw_folder(dataset, data_dir)
    try:
        raw.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = "permission denied" if isinstance(exc, PermissionError) else (exc.strerror or type(exc).__name__).lower()
        raise DataMissingError(f"Could not make the folder {raw} for {info.display_name} ({why}).") from None
    for i, (archive, md5) in enumerate(source.resources):
        progress(i / len(source.resources))
        if os.path.lexists(raw / archive.removesuffix(".gz")):
            continue
        failure = None
        for mirror in source.mirrors:
            try:
                download_and_extract_archive(f"{mirror}{archive}", download_root=str(raw), filename=archive, md5=md5)
                failure = None
                break
            except Exception as exc:  # URLError, OSError, a bad checksum: try the next mirror
                failure = exc
        if failure is not None:
            raise DataMissingError(
                f"{info.display_name} could not be downloaded ({type(failure).__name__}): connect to the internet, "
                f"or choose a folder that has it."
            )
    progress(1.0)
    if not is_available(dataset, data_dir):
        raise DataMissingError(f"{info.display_name} was downloaded, but its files are not all in {raw}.")
    return raw


__all__ = ["download", "raw_folder"]
