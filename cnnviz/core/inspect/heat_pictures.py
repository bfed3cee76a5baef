"""The heat map's pictures: an attribution map coloured for the model input and for the drawing.

Numpy only, so the explanations' child process (``background_process``) colours the
map where it computed it and the app receives finished pictures: colouring on the
app's side held the interpreter lock beside every stroke (issue 23).
"""

from __future__ import annotations

import functools

import numpy as np

DRAWING_HEAT_SIDE = 140  # about the pixels of the canvas's heat picture (it is scaled to the square)
HEAT_ALPHA = 190  # the strongest pixel's opacity: the drawing always shows through


@functools.lru_cache(maxsize=2)
def _heat_lut(signed: bool) -> np.ndarray:
    """(2, 256, 4) uint8 RGBA for |value| / peak = i / 255: [0] for positive values, [1] for negative ones."""
    from cnnviz.core.inspect.attribution import heat_colors  # numpy only; the core module is loaded by now

    t = np.linspace(0.0, 1.0, 256)
    if signed:  # pure red for, blue against: white blends would grey the black canvas
        rgb = np.stack([np.repeat(heat_colors(np.array([s]), True), 256, axis=0) for s in (1.0, -1.0)])
    else:  # red to yellow: black says nothing on the black canvas, white would hide the ink
        rgb = np.repeat(heat_colors(np.append(0.34 + 0.4 * t, 1.0), False)[None, :-1], 2, axis=0)
    alpha = np.broadcast_to((HEAT_ALPHA * t**0.6 + 0.5).astype(np.uint8)[None, :, None], (2, 256, 1))
    return np.concatenate([rgb, alpha], axis=-1)


def heat_rgba(values: np.ndarray, peak: float, signed: bool) -> np.ndarray:
    """An H x W x 4 picture of a map: colour and opacity grow with |value| / ``peak``.

    Magnitudes run from red to yellow, signed maps are red for and blue against, and the
    faintest values are transparent, so the ink shows through wherever the map is weak.
    A lookup table, so colouring a 140 x 140 picture on every stroke costs well under a millisecond.
    """
    t = np.clip(np.abs(values) * (255.0 / max(peak, 1e-12)) + 0.5, 0, 255).astype(np.intp)
    return _heat_lut(signed)[(values < 0).astype(np.intp), t]


def heat_pictures(values: np.ndarray, transform) -> tuple[np.ndarray, np.ndarray]:
    """The map coloured for the 28x28 model input and for the drawing (``transform``: how the drawing became
    the input, None for a dataset image)."""
    signed = bool((values < 0).any())
    peak = float(np.abs(values).max())
    drawing = values if transform is None else transform.map_to_drawing(values, "bilinear")
    # Every other pixel of a 280 px drawing: a smooth map loses nothing, and colouring costs a quarter.
    step = max(1, min(drawing.shape) // DRAWING_HEAT_SIDE)
    return heat_rgba(values, peak, signed), heat_rgba(drawing[::step, ::step], peak, signed)


def attribute_with_pictures(model, image, method, target, stage, transform, progress=None):
    """``attribute(...)`` and its ``heat_pictures``, computed in one place (the explanations' child)."""
    from cnnviz.core.inspect.attribution import attribute

    answer = attribute(model, image, method, target, stage, progress)
    return answer, heat_pictures(answer.map, transform)
