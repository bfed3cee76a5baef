import numpy as np
import pytest

from cnnviz.core.data import load_split
from cnnviz.core.preprocess import drawing_to_input


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
