import numpy as np
import pytest

from cnnviz.core.data.datasets import load_split
from cnnviz.core.data.preprocess import drawing_to_input, prepare_drawing


def _centre_of_mass(img):
    ys, xs = np.indices(img.shape)
    return (ys * img).sum() / img.sum(), (xs * img).sum() / img.sum()


def _bbox(img, threshold=0.05):
    rows, cols = np.flatnonzero(img.max(1) > threshold), np.flatnonzero(img.max(0) > threshold)
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


@pytest.fixture(scope="module")
def digit(data_dir):
    images, labels = load_split("mnist", False, data_dir)
    return images[0].numpy().astype(np.float32) / 255, int(labels[0])


def test_centres_a_shifted_scaled_digit(digit):
    img, _ = digit
    # Draw it 5x larger, dark on light, far from the centre of a 300x300 page.
    big = np.kron(img, np.ones((5, 5), np.float32))
    page = np.ones((300, 300), np.float32)
    page[10:150, 150:290] = 1.0 - big
    out = drawing_to_input(page)
    assert out.shape == (28, 28) and out.dtype == np.float32
    cy, cx = _centre_of_mass(out)
    assert abs(cy - 13.5) <= 0.75 and abs(cx - 13.5) <= 0.75
    assert max(_bbox(out)) in (19, 20, 21)
    # and it still looks like the original digit
    reference = drawing_to_input(img)
    assert np.corrcoef(out.ravel(), reference.ravel())[0, 1] > 0.9


def test_light_ink_on_dark_and_dark_on_light_agree(digit):
    img, _ = digit
    a = drawing_to_input(img)
    b = drawing_to_input(1.0 - img)
    assert np.allclose(a, b, atol=1e-5)


def test_a_clean_canvas_takes_the_short_way_to_the_same_input(digit):
    img, _ = digit
    canvas = np.kron(img, np.ones((10, 10), np.float32)) * 255  # the canvas: white ink on clean black, 280x280
    told, guessed = prepare_drawing(canvas, ink_is_dark=False), prepare_drawing(canvas)
    assert np.array_equal(told.image, guessed.image) and told.transform == guessed.transform
    # Light ink on a noisy page still loses its noise: the short way is only for clean paper.
    noisy = canvas + np.random.default_rng(0).uniform(0, 40, canvas.shape).astype(np.float32)
    assert np.abs(prepare_drawing(noisy, ink_is_dark=False).image - told.image).max() < 0.2


def test_keeps_aspect_ratio():
    page = np.zeros((200, 200), np.float32)
    page[20:180, 95:105] = 1.0  # a tall thin bar: a "1"
    h, w = _bbox(drawing_to_input(page))
    assert h == 20 and w <= 3


def test_empty_drawing_is_empty_not_predicted():
    assert drawing_to_input(np.zeros((280, 280))) is None
    assert drawing_to_input(np.full((280, 280), 255, np.uint8)) is None
    speck = np.zeros((280, 280))
    speck[140, 140] = 1.0
    assert drawing_to_input(speck) is None


def _page_with_big_digit(img, top=10, left=150, factor=5):
    page = np.ones((300, 300), np.float32)
    big = np.kron(img, np.ones((factor, factor), np.float32))
    page[top : top + big.shape[0], left : left + big.shape[1]] = 1.0 - big
    return page


def test_prepare_drawing_gives_the_same_image_and_its_transform(digit):
    img, _ = digit
    page = _page_with_big_digit(img)
    prepared = prepare_drawing(page)
    np.testing.assert_array_equal(prepared.image, drawing_to_input(page))
    t = prepared.transform
    rows, cols = np.flatnonzero(img.max(1) > 0.05), np.flatnonzero(img.max(0) > 0.05)
    # The crop is the digit's inked box, 5x larger, where it was drawn.
    assert t.crop == (10 + 5 * rows[0], 150 + 5 * cols[0], 10 + 5 * (rows[-1] + 1), 150 + 5 * (cols[-1] + 1))
    assert t.drawing_shape == (300, 300) and max(t.size) == 20
    sy, sx = t.scale
    assert sy == pytest.approx(sx, rel=0.06) and sy == pytest.approx(20 / (5 * max(_bbox(img))), rel=0.06)
    assert prepare_drawing(np.zeros((50, 50))) is None


def test_points_and_boxes_round_trip(digit):
    t = prepare_drawing(_page_with_big_digit(digit[0])).transform
    for point in [(0.0, 0.0), (13.5, 13.5), (27.9, 3.2), (t.offset[0], t.offset[1])]:
        assert t.to_input(*t.to_drawing(*point)) == pytest.approx(point)
        assert t.to_drawing(*t.to_input(*point)) == pytest.approx(point)
    # The placed digit's box in the input is the crop in the drawing.
    placed = (t.offset[0], t.offset[1], t.offset[0] + t.size[0], t.offset[1] + t.size[1])
    assert t.box_to_drawing(*placed) == pytest.approx(t.crop)


def test_a_single_hot_pixel_lands_on_its_square_of_ink():
    page = np.zeros((300, 300), np.float32)
    page[100:160, 40:100] = 1.0  # a 60x60 square: 3 drawing pixels per input pixel
    prepared = prepare_drawing(page)
    t = prepared.transform
    assert t.crop == (100, 40, 160, 100) and t.size == (20, 20) and t.offset == (4, 4)
    hot = np.zeros((28, 28), np.float32)
    hot[4, 4] = 1.0  # the square's top-left input pixel
    back = t.map_to_drawing(hot)
    assert back.shape == (300, 300)
    assert np.argwhere(back > 0).min(0).tolist() == [100, 40] and np.argwhere(back > 0).max(0).tolist() == [102, 42]
    assert back.sum() == 9
    hot[:] = 0
    hot[23, 12] = 1.0  # bottom row of the square, 8 pixels in
    rows, cols = np.nonzero(t.map_to_drawing(hot))
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (157, 159, 64, 66)


def test_hot_pixels_of_a_digit_land_on_its_ink(digit):
    img, _ = digit
    page = _page_with_big_digit(img)
    prepared = prepare_drawing(page)
    ink = 1.0 - page
    inked = np.argwhere(prepared.image > 0.8)
    blank = np.argwhere(prepared.image == 0)
    assert len(inked) > 20
    for (r, c), expect_ink in [*((p, True) for p in inked), *((p, False) for p in blank[::7])]:
        hot = np.zeros((28, 28), np.float32)
        hot[r, c] = 1.0
        under = ink[prepared.transform.map_to_drawing(hot) > 0]
        if expect_ink:
            assert under.size and under.mean() > 0.4, (r, c)
        elif under.size:
            assert under.mean() < 0.6, (r, c)


def test_a_whole_map_resamples_onto_the_drawing(digit):
    page = _page_with_big_digit(digit[0])
    prepared = prepare_drawing(page)
    t = prepared.transform
    for interpolation in ("nearest", "bilinear"):
        back = t.map_to_drawing(prepared.image, interpolation)
        inside = (slice(t.crop[0], t.crop[2]), slice(t.crop[1], t.crop[3]))
        # The input resampled back looks like the ink it came from.
        assert np.corrcoef(back[inside].ravel(), (1.0 - page)[inside].ravel())[0, 1] > 0.8
    uniform = t.map_to_drawing(np.ones((28, 28)), "bilinear")
    top, left, bottom, right = t.box_to_drawing(0, 0, 28, 28)
    assert uniform[
        int(np.ceil(max(top, 0))) : int(min(bottom, 300)), int(np.ceil(max(left, 0))) : int(min(right, 300))
    ].min() == pytest.approx(1)
    with pytest.raises(ValueError, match="28x28"):
        t.map_to_drawing(np.ones((14, 14)))
