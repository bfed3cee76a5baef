"""Results keyed by the weights' SHA-256: in memory, and on disk so a second start is instant.

A key holds the weights' hash, so new weights (training, a kernel edit, a file)
simply miss the cache: nothing needs to be deleted for the answer to be right.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import nn

_MEMORY: OrderedDict[str, dict[str, np.ndarray]] = OrderedDict()
_LOCK = threading.Lock()
MEMORY_ENTRIES = 64


def weights_sha256(model: nn.Module) -> str:
    """SHA-256 of the network's class, parameter and buffer names, shapes and values."""
    digest = hashlib.sha256(type(model).__qualname__.encode())
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())  # any dtype, bfloat16 too
    return digest.hexdigest()


def cache_dir() -> Path:
    """``CNNVIZ_CACHE_DIR`` if set, else the platform's user cache folder."""
    env = os.environ.get("CNNVIZ_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("cnnviz", appauthor=False))


def _path(key: str, folder: Path | None) -> Path:
    return (folder or cache_dir()) / "learned" / f"{key}.npz"


def load(key: str, folder: Path | None = None) -> dict[str, np.ndarray] | None:
    """The arrays stored under ``key`` (memory first, then disk), or None."""
    with _LOCK:
        if key in _MEMORY:
            _MEMORY.move_to_end(key)
            return _MEMORY[key]
    try:
        with np.load(_path(key, folder), allow_pickle=False) as stored:
            arrays = {k: stored[k] for k in stored.files}
    except (OSError, ValueError, EOFError):  # absent, unreadable or half-written: computed again
        return None
    _remember(key, arrays)
    return arrays


def store(key: str, arrays: dict[str, np.ndarray], folder: Path | None = None) -> None:
    """Keep ``arrays`` under ``key``; a disk that refuses only costs the next start a recomputation."""
    _remember(key, arrays)
    path = _path(key, folder)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(partial, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stub reads the names as allow_pickle
        os.replace(partial, path)
    except OSError:
        pass


def _remember(key: str, arrays: dict[str, np.ndarray]) -> None:
    with _LOCK:
        _MEMORY[key] = arrays
        _MEMORY.move_to_end(key)
        while len(_MEMORY) > MEMORY_ENTRIES:
            _MEMORY.popitem(last=False)


def forget_memory() -> None:
    """Empty the in-memory cache (tests: the disk alone must answer)."""
    with _LOCK:
        _MEMORY.clear()
