"""The fixed parts of the 1998 LeNet-5 (LeCun, Bottou, Bengio, Haffner, Proc. IEEE 86(11), section II.B).

Torch-free, so the numpy forward (``lenet5_numpy``) and the torch model (``cnnviz.core.models.lenet``) share them.
"""

from __future__ import annotations

import numpy as np

from cnnviz.core.resources import resources_dir

# Table I of the paper: the S2 maps (rows of the published table) that feed
# each C3 map. Maps 0-5 see 3 contiguous maps, 6-11 see 4 contiguous, 12-14
# see 4 discontinuous, 15 sees all six.
C3_INPUTS: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)  # fmt: skip

# Background and ink after normalisation (paper, section II.B): mean ~0, variance ~1.
BACKGROUND, INK = -0.1, 1.175

# The squashing function f(a) = A tanh(S a) (paper, appendix A).
SQUASH_A, SQUASH_S = 1.7159, 2.0 / 3.0


def c3_table() -> np.ndarray:
    """Boolean 6x16 table: ``table[i, j]`` is True when S2 map i feeds C3 map j."""
    table = np.zeros((6, 16), dtype=bool)
    for j, inputs in enumerate(C3_INPUTS):
        table[list(inputs), j] = True
    return table


def load_rbf_bitmaps() -> np.ndarray:
    """The 10 fixed output centres as a (10, 12, 7) array of +1/-1."""
    glyphs: dict[int, list[str]] = {}
    current: list[str] | None = None
    for line in (resources_dir() / "lenet5_rbf_bitmaps.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("# "):  # rows themselves may start with "#"
            continue
        if line.isdigit():
            current = glyphs.setdefault(int(line), [])
        else:
            assert current is not None and len(line) == 7, "malformed bitmap file"
            current.append(line)
    bitmaps = np.array([[[1.0 if c == "#" else -1.0 for c in row] for row in glyphs[d]] for d in range(10)])
    assert bitmaps.shape == (10, 12, 7), bitmaps.shape
    return bitmaps.astype(np.float32)
