"""LeNet-5's forward in numpy, from its shipped weights file: the app's answer to the first strokes.

``import torch`` alone takes 1.1-1.5 s on a 2-core machine, more than the window needs to open. Until the torch
network has loaded (in a background thread), the app answers a drawing with this forward of the same weights,
so a student who draws at once sees the answer at once. Its probabilities equal the torch model's to float32
rounding (``tests/core/test_before_torch.py``). Only the probabilities are shown: the maps and every other
panel come with the torch network.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnviz.core.before_torch.lenet5_paper import BACKGROUND, INK, SQUASH_A, SQUASH_S, c3_table, load_rbf_bitmaps

MODEL = "lenet5"  # the registered name of the network this forward is (the weights file says it too)


def _squash(a: np.ndarray) -> np.ndarray:
    return SQUASH_A * np.tanh(a * np.float32(SQUASH_S))


def _conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """A valid convolution (cross-correlation, as torch's): C x H x W by O x C x k x k -> O x H' x W'."""
    k = weight.shape[-1]
    windows = sliding_window_view(x, (k, k), axis=(1, 2))  # C x H' x W' x k x k
    return np.einsum("chwij,ocij->ohw", windows, weight, optimize=True) + bias[:, None, None]


def _subsample(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """S2/S4: each 2x2 block's sum times the map's coefficient, plus its bias."""
    c, h, w = x.shape
    block_sum = x.reshape(c, h // 2, 2, w // 2, 2).sum(axis=(2, 4))
    return block_sum * weight[:, None, None] + bias[:, None, None]


class NumpyLeNet5:
    """The 1998 LeNet-5 (``cnnviz.core.models.lenet.LeNet5``) with the weights of one safetensors file."""

    def __init__(self, tensors: dict[str, np.ndarray], dataset: str) -> None:
        self.dataset = dataset
        t = {name: np.asarray(value, np.float32) for name, value in tensors.items()}
        self.c1 = (t["C1.0.weight"], t["C1.0.bias"])
        self.s2 = (t["S2.0.weight"], t["S2.0.bias"])
        # C3 stores only the table's 1,500 weights, in the row-major order of the O x I x 5 x 5 mask.
        mask = np.broadcast_to(c3_table().T[:, :, None, None], (16, 6, 5, 5))
        dense = np.zeros(mask.shape, np.float32)
        dense[mask] = t["C3.0.weight"]
        self.c3 = (dense, t["C3.0.bias"])
        self.s4 = (t["S4.0.weight"], t["S4.0.bias"])
        self.c5 = (t["C5.0.weight"], t["C5.0.bias"])
        self.f6 = (t["F6.1.weight"], t["F6.1.bias"])
        self.centres = load_rbf_bitmaps().reshape(10, -1)

    @classmethod
    def from_file(cls, path: str | Path) -> NumpyLeNet5:
        """The network of a cnnviz weights file; ``ValueError`` if the file is not LeNet-5's (or unreadable)."""
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="np") as f:
                meta = json.loads((f.metadata() or {}).get("cnnviz", "{}"))
                tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118 (safe_open has no iter)
        except Exception as exc:  # a damaged or foreign file: the torch loader words it for the student
            raise ValueError(f"not readable: {exc}") from exc
        if meta.get("model") != MODEL:
            raise ValueError(f"the weights are for '{meta.get('model')}', not LeNet-5")
        try:
            return cls(tensors, str(meta.get("dataset", "mnist")))
        except (KeyError, ValueError) as exc:
            raise ValueError(f"not LeNet-5's weights: {exc}") from exc

    def scores(self, image: np.ndarray) -> np.ndarray:
        """The 10 scores (minus the RBF distances) for one 28x28 image in [0, 1], ink = 1."""
        x = np.asarray(image, np.float32)
        x = x * np.float32(INK - BACKGROUND) + np.float32(BACKGROUND)  # the paper's input range
        x = np.pad(x, 2, constant_values=np.float32(BACKGROUND))[None]  # 1 x 32 x 32, the paper's framing
        x = _squash(_conv(x, *self.c1))  # 6 x 28 x 28
        x = _squash(_subsample(x, *self.s2))  # 6 x 14 x 14
        x = _squash(_conv(x, *self.c3))  # 16 x 10 x 10
        x = _squash(_subsample(x, *self.s4))  # 16 x 5 x 5
        x = _squash(_conv(x, *self.c5)).reshape(-1)  # 120
        weight, bias = self.f6
        x = _squash(weight @ x + bias)  # 84
        return -((x[None, :] - self.centres) ** 2).sum(axis=1)

    def probabilities(self, image: np.ndarray) -> np.ndarray:
        """The softmax of the scores, as ``cnnviz.core.inspect.activations`` gives the torch model's."""
        s = self.scores(image).astype(np.float64)
        e = np.exp(s - s.max())
        return (e / e.sum()).astype(np.float32)
