"""A drawing -> the 28x28 input the model sees, made the way MNIST was made.

MNIST digits were size-normalised to fit a 20x20 box keeping their aspect
ratio (anti-aliased), then placed in a 28x28 field so that their centre of
mass sits at the centre.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from cnnviz.core.data.pictures import border, drop_specks, otsu_threshold

# Below this much ink (in units of fully inked 28x28 pixels) a drawing is empty.
EMPTY_INK = 1.0
INK_THRESHOLD = 0.05
# Ink smaller than this share of the drawing is a dot or a slip of the pen, not a digit to read: blown up to
# 20x20 it would be "recognised".
MIN_DRAWING_EXTENT = 0.12


def _as_ink(drawing: np.ndarray, ink_is_dark: bool | None) -> np.ndarray:
    """Grayscale of any range -> float32 in [0, 1] with ink = 1 and the paper at 0."""
    img = np.asarray(drawing, dtype=np.float32)
    if img.ndim == 3:  # RGB(A) -> luminance
        img = img[..., :3].mean(axis=2)
    lo, hi = float(img.min()), float(img.max())
    if hi - lo < 1e-6:
        return np.zeros_like(img)
    img = (img - lo) / (hi - lo)
    # Otsu's split, not 0.5: on a grey photo the paper's level is anywhere. Found only when needed.
    threshold = None
    if ink_is_dark is None:
        threshold = otsu_threshold(img * 255.0) / 255.0
        # The border is background: a border mostly above the split means dark ink on light paper.
        ink_is_dark = float(np.median(border(img))) > threshold
    ink = 1.0 - img if ink_is_dark else img
    edge = border(ink)
    if not edge.any():
        return ink  # clean paper (a canvas drawing, on every mouse move): nothing to take away, no split needed
    if threshold is None:
        threshold = otsu_threshold(img * 255.0) / 255.0
    # The paper's noise is not faint ink: everything up to the border's upper noise level
    # (never beyond the split, in case the ink reaches the border) becomes 0, and so do
    # the isolated pixels of noise beyond it.
    paper = min(float(np.percentile(edge, 99)), 1.0 - threshold if ink_is_dark else threshold)
    if paper <= 0.0:
        return ink
    ink = np.clip((ink - paper) / (1.0 - paper), 0.0, 1.0)
    ink[~drop_specks(ink > 0)] = 0.0
    return ink


def drawing_to_input(drawing: np.ndarray, ink_is_dark: bool | None = None) -> np.ndarray | None:
    """MNIST-style 28x28 float32 image in [0, 1] (ink = 1), or ``None`` if empty: the image of
    ``prepare_drawing`` (same parameters), for callers that need no way back to the drawing."""
    prepared = prepare_drawing(drawing, ink_is_dark)
    return None if prepared is None else prepared.image


@dataclass(frozen=True)
class InputTransform:
    """How a drawing became the 28x28 input: crop, scale, shift, and the way back.

    Coordinates are continuous (row, column) with pixel (i, j) covering
    [i, i+1) x [j, j+1), so its centre is (i + 0.5, j + 0.5), in both the
    drawing and the 28x28 input.

    Attributes
    ----------
    drawing_shape
        (rows, columns) of the drawing.
    crop
        (top, left, bottom, right) of the inked box in drawing pixels; bottom
        and right are exclusive.
    size
        (rows, columns) the crop was resized to (the longer side is 20).
    offset
        (row, column) in the 28x28 input where the resized crop was placed.
    """

    drawing_shape: tuple[int, int]
    crop: tuple[int, int, int, int]
    size: tuple[int, int]
    offset: tuple[int, int]

    @property
    def scale(self) -> tuple[float, float]:
        """Input pixels per drawing pixel, (rows, columns): the aspect ratio is kept up to rounding."""
        top, left, bottom, right = self.crop
        return self.size[0] / (bottom - top), self.size[1] / (right - left)

    def to_drawing(self, row: float, col: float) -> tuple[float, float]:
        """A point of the 28x28 input in drawing coordinates."""
        sy, sx = self.scale
        return self.crop[0] + (row - self.offset[0]) / sy, self.crop[1] + (col - self.offset[1]) / sx

    def to_input(self, row: float, col: float) -> tuple[float, float]:
        """A point of the drawing in 28x28 input coordinates (the inverse of ``to_drawing``)."""
        sy, sx = self.scale
        return self.offset[0] + (row - self.crop[0]) * sy, self.offset[1] + (col - self.crop[1]) * sx

    def box_to_drawing(self, top: float, left: float, bottom: float, right: float) -> tuple[float, float, float, float]:
        """A box of the input (e.g. a receptive field, edges as above) as (top, left, bottom, right) in the drawing.

        It may reach past the drawing's edges: the 28x28 field is larger than the ink.
        """
        return (*self.to_drawing(top, left), *self.to_drawing(bottom, right))

    def map_to_drawing(self, values: np.ndarray, interpolation: str = "nearest") -> np.ndarray:
        """Resample a 28x28 map (a saliency map, a receptive field) onto the drawing's pixel grid.

        Parameters
        ----------
        values
            28x28 array, e.g. one value per input pixel.
        interpolation
            "nearest": each drawing pixel takes the value of the input pixel it
            falls in (blocky, the pixels the model sees); "bilinear": smooth.

        Returns
        -------
        float32 array of ``drawing_shape``; 0 where the drawing lies outside the 28x28 field.
        """
        values = np.asarray(values, dtype=np.float32)
        if values.shape != (28, 28):
            raise ValueError(f"expected a 28x28 map, got shape {values.shape}")
        rows = self._resampling(self.drawing_shape[0], 0, interpolation)
        cols = self._resampling(self.drawing_shape[1], 1, interpolation)
        # einsum, not ``@``, for the big product: BLAS threads an (n, 28) x (28, m) product, and on a
        # busy machine (a training run in the app) waiting for its threads takes ~40 ms instead of 0.4 ms.
        return np.einsum("ik,jk->ij", rows @ values, cols)

    def _resampling(self, n: int, axis: int, interpolation: str) -> np.ndarray:
        """(n, 28) weights: drawing pixel i along ``axis`` reads the input pixels of its row."""
        centres = np.arange(n) + 0.5
        pos = self.offset[axis] + (centres - self.crop[axis]) * self.scale[axis]  # in input coordinates
        weights = np.zeros((n, 28), np.float32)
        inside = (pos >= 0) & (pos < 28)
        if interpolation == "nearest":
            weights[np.flatnonzero(inside), np.floor(pos[inside]).astype(int)] = 1.0
        elif interpolation == "bilinear":
            # Between the two nearest input pixel centres, edge pixels held up to the field's border.
            p = np.clip(pos[inside] - 0.5, 0, 27)
            lo = np.floor(p).astype(int)
            hi = np.minimum(lo + 1, 27)
            frac = (p - lo).astype(np.float32)
            idx = np.flatnonzero(inside)
            np.add.at(weights, (idx, lo), 1 - frac)
            np.add.at(weights, (idx, hi), frac)
        else:
            raise ValueError(f"interpolation must be 'nearest' or 'bilinear', not {interpolation!r}")
        return weights


@dataclass(frozen=True)
class PreparedInput:
    """The model's 28x28 input and the transform that made it from the drawing."""

    image: np.ndarray
    transform: InputTransform

    @property
    def extent(self) -> float:
        """The ink's larger side as a fraction of the drawing's: a dot or a tiny scribble is small."""
        top, left, bottom, right = self.transform.crop
        return max(bottom - top, right - left) / max(self.transform.drawing_shape)


@functools.lru_cache(maxsize=512)
def _resize_weights(size: int, new_size: int) -> np.ndarray:
    """(new_size, size) weights of a bilinear resize with antialiasing: torch's ``F.interpolate(mode="bilinear",
    antialias=True, align_corners=False)`` (PIL's triangle filter, widened by the scale when shrinking), in numpy
    so a drawing becomes the model input before torch has loaded (the first strokes' answers)."""
    scale = size / new_size
    support, stretch = (scale, 1.0 / scale) if scale >= 1.0 else (1.0, 1.0)
    weights = np.zeros((new_size, size), np.float32)
    for i in range(new_size):
        centre = scale * (i + 0.5)
        first = max(int(centre - support + 0.5), 0)  # int() truncates toward zero, as the C++ cast does
        last = min(int(centre + support + 0.5), size)
        taps = np.maximum(0.0, 1.0 - np.abs((np.arange(first, last) - centre + 0.5) * stretch))
        weights[i, first:last] = taps / taps.sum()
    return weights


def prepare_drawing(drawing: np.ndarray, ink_is_dark: bool | None = None) -> PreparedInput | None:
    """The MNIST-style 28x28 input of a drawing and how it was made, or ``None`` if empty.

    The ink's bounding box is cropped, resized to fit 20x20 keeping its aspect
    ratio, and placed in the 28x28 field with its centre of mass at the centre;
    ``.transform`` maps input points, boxes and maps back onto the drawing.

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
    crop_box = (int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)
    crop = ink[crop_box[0] : crop_box[2], crop_box[1] : crop_box[3]]

    h, w = crop.shape
    factor = 20.0 / max(h, w)
    new_h, new_w = max(1, round(h * factor)), max(1, round(w * factor))
    small = np.clip(_resize_weights(h, new_h) @ crop @ _resize_weights(w, new_w).T, 0, 1).astype(np.float32)

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
    transform = InputTransform(
        drawing_shape=(int(ink.shape[0]), int(ink.shape[1])), crop=crop_box, size=(new_h, new_w), offset=(top, left)
    )
    return PreparedInput(out, transform)


def too_small_note(prepared: PreparedInput, dataset: str) -> str | None:
    """Why a drawing gets no answer ("Draw a bigger digit"), or None when it is big enough to read."""
    if prepared.extent >= MIN_DRAWING_EXTENT:
        return None
    return "Draw a bigger digit" if dataset == "mnist" else "Draw bigger"
