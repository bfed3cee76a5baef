"""Pictures that are not neat drawings: transparent, noisy, huge, blank."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core.data.pictures import MAX_SIDE, otsu_threshold, picture_to_canvas
from cnnviz.core.data.preprocess import drawing_to_input
from cnnviz.core.errors import CnnvizError


def _seven(size=200) -> np.ndarray:
    """A boolean mask of a thick "7" on a size x size page."""
    mask = np.zeros((size, size), bool)
    s = size // 10
    mask[2 * s : 3 * s, 3 * s : 8 * s] = True  # the bar
    for i in range(2 * s, 8 * s):  # the diagonal, down to the left
        x = 8 * s - (i - 2 * s) * 4 // 6
        mask[i, x - s // 2 : x + s // 2] = True
    return mask


def _noisy_grey_photo(seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    page = rng.normal(128, 20, (200, 200))
    page[_seven()] = rng.normal(25, 8, _seven().sum())
    return np.clip(page, 0, 255).astype(np.uint8)


def _clean() -> np.ndarray:
    return np.where(_seven(), 255, 0).astype(np.uint8)  # white ink on black, as the canvas draws


def test_otsu_splits_two_levels():
    values = np.r_[np.full(100, 40), np.full(100, 200)]
    assert 40 <= otsu_threshold(values) < 200


def test_a_dark_digit_on_a_noisy_grey_photo_is_the_digit_not_the_noise():
    canvas = picture_to_canvas(_noisy_grey_photo())
    assert canvas.shape == (200, 200) and canvas.dtype == np.uint8
    ink, paper = canvas[_seven()], canvas[~_seven()]
    assert np.median(ink) > 200
    assert np.mean(paper == 0) > 0.99  # the paper's noise is not ink
    assert np.corrcoef(drawing_to_input(canvas).ravel(), drawing_to_input(_clean()).ravel())[0, 1] > 0.95


def test_preprocessing_a_noisy_photo_directly_ignores_the_noise():
    # drawing_to_input guesses the ink's side and the paper level from the border, robustly.
    out = drawing_to_input(_noisy_grey_photo())
    assert np.corrcoef(out.ravel(), drawing_to_input(_clean()).ravel())[0, 1] > 0.95


@pytest.mark.parametrize("hidden_rgb", [0, 255], ids=["black-behind", "white-behind"])
def test_white_ink_on_a_transparent_background_is_ink(hidden_rgb):
    rgba = np.full((200, 200, 4), hidden_rgb, np.uint8)
    rgba[..., 3] = 0
    rgba[_seven()] = (255, 255, 255, 255)
    canvas = picture_to_canvas(rgba)
    assert canvas[_seven()].min() == 255 and canvas[~_seven()].max() == 0


def test_dark_ink_on_a_transparent_background_is_ink():
    rgba = np.zeros((200, 200, 4), np.uint8)
    rgba[_seven()] = (10, 10, 10, 255)
    canvas = picture_to_canvas(rgba)
    assert canvas[_seven()].min() == 255 and canvas[~_seven()].max() == 0


def test_a_transparent_hole_in_opaque_paper_is_paper():
    rgba = np.full((200, 200, 4), 255, np.uint8)  # white paper
    rgba[_seven(), :3] = 0  # black ink
    rgba[:20, 150:, 3] = 0  # a transparent corner patch
    canvas = picture_to_canvas(rgba)
    assert canvas[:20, 150:].max() == 0 and np.median(canvas[_seven()]) == 255


def test_colour_pictures_use_their_luminance():
    rgb = np.zeros((200, 200, 3), np.uint8)
    rgb[...] = (250, 240, 200)  # cream paper
    rgb[_seven()] = (20, 20, 120)  # blue ink
    canvas = picture_to_canvas(rgb)
    assert canvas[_seven()].min() > 200 and canvas[~_seven()].max() == 0


@pytest.mark.parametrize(
    "pixels",
    [
        np.zeros((50, 50), np.uint8),
        np.full((50, 50, 4), 255, np.uint8),
        np.zeros((50, 50, 4), np.uint8),  # fully transparent
        np.random.default_rng(0).integers(120, 136, (50, 50)).astype(np.uint8),  # faint noise only
    ],
    ids=["black", "white", "transparent", "faint-noise"],
)
def test_a_picture_without_ink_says_no_ink_found(pixels):
    with pytest.raises(CnnvizError, match="^No ink found in 'x.png'") as err:
        picture_to_canvas(pixels, "'x.png'")
    assert "\n" not in str(err.value)


def test_a_long_strip_is_shrunk_before_it_is_padded_to_a_square():
    strip = np.full((1, 30000), 255, np.uint8)
    strip[0, 14000:16000] = 0
    canvas = picture_to_canvas(strip)
    assert max(canvas.shape) <= MAX_SIDE and canvas.shape[0] == canvas.shape[1]
    assert canvas.max() == 255


def test_shapes_that_are_no_picture_are_refused():
    for bad in (np.zeros((0, 5), np.uint8), np.zeros((4, 4, 2), np.uint8), np.zeros((2, 2, 2, 2), np.uint8)):
        with pytest.raises(CnnvizError, match="not a grey or colour picture"):
            picture_to_canvas(bad)
