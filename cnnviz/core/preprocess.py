"""A drawing -> the 28x28 input the model sees, made the way MNIST was made.

MNIST digits were size-normalised to fit a 20x20 box keeping their aspect
ratio (anti-aliased), then placed in a 28x28 field so that their centre of
mass sits at the centre.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnviz.core.pictures import border, drop_specks, otsu_threshold

# Below this much ink (in units of fully inked 28x28 pixels) a drawing is empty.
EMPTY_INK = 1.0
INK_THRESHOLD = 0.05


def _as_ink(drawing: np.ndarray, ink_is_dark: bool | None) -> np.ndarray:
    """Grayscale of any range -> float32 in [0, 1] with ink = 1 and the paper at 0."""
    img = np.asarray(drawing, dtype=np.float32)
    if img.ndim == 3:  # RGB(A) -> luminance
        img = img[..., :3].mean(axis=2)
    lo, hi = float(img.min()), float(img.max())
    if hi - lo < 1e-6:
        return np.zeros_like(img)
    img = (img - lo) / (hi - lo)
    # Otsu's split, not 0.5: on a grey photo the paper's level is anywhere.
    threshold = otsu_threshold(img * 255.0) / 255.0
    if ink_is_dark is None:
        # The border is background: a border mostly above the split means dark ink on light paper.
        ink_is_dark = float(np.median(border(img))) > threshold
    ink = 1.0 - img if ink_is_dark else img
    # The paper's noise is not faint ink: everything up to the border's upper noise level
    # (never beyond the split, in case the ink reaches the border) becomes 0, and so do
    # the isolated pixels of noise beyond it.
    paper = min(float(np.percentile(border(ink), 99)), 1.0 - threshold if ink_is_dark else threshold)
    if paper <= 0.0:
        return ink  # clean paper (a canvas drawing): nothing to take away
    ink = np.clip((ink - paper) / (1.0 - paper), 0.0, 1.0)
    ink[~drop_specks(ink > 0)] = 0.0
    return ink


def drawing_to_input(drawing: np.ndarray, ink_is_dark: bool | None = None) -> np.ndarray | None:
    """MNIST-style 28x28 float32 image in [0, 1] (ink = 1), or ``None`` if empty.

    Parameters
    ----------
    drawing
        2-D grayscale array of any size and dtype (an RGB array is averaged).
    ink_is_dark
        True for dark ink on light paper, False for light on dark, None to guess
        from the border.
    """
    ink = _as_ink(drawing, ink_is_dark)
    scale_to_28 = 28.0 / max(ink.shape)
    if ink.sum() * scale_to_28**2 < EMPTY_INK:
        return None
    rows = np.flatnonzero(ink.max(axis=1) > INK_THRESHOLD)
    cols = np.flatnonzero(ink.max(axis=0) > INK_THRESHOLD)
    if rows.size == 0:
        return None
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]

    h, w = crop.shape
    factor = 20.0 / max(h, w)
    new_h, new_w = max(1, round(h * factor)), max(1, round(w * factor))
    small = (
        F.interpolate(
            torch.from_numpy(np.ascontiguousarray(crop))[None, None],
            size=(new_h, new_w),
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )[0, 0]
        .clamp_(0, 1)
        .numpy()
    )

    total = small.sum()
    if total <= 0:
        return None
    ys, xs = np.indices(small.shape)
    com_y, com_x = (ys * small).sum() / total, (xs * small).sum() / total
    # Pixel centres: the image centre of a 28-wide field is at 13.5.
    top, left = int(round(13.5 - com_y)), int(round(13.5 - com_x))
    top, left = min(max(top, 0), 28 - new_h), min(max(left, 0), 28 - new_w)
    out = np.zeros((28, 28), dtype=np.float32)
    out[top : top + new_h, left : left + new_w] = small
    return out
