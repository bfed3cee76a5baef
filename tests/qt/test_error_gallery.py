"""The confusion matrix as a way in: fitted counts, row percentages, and the error gallery behind each cell."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QCheckBox, QPushButton, QWidget

from cnnviz.core import evaluate, load_test_images
from cnnviz.qt.training.confusion_view import ConfusionMatrix
from cnnviz.qt.training.error_gallery import PAGE

TIMEOUT_MS = 120_000
# A diagonal of four-digit counts, as MNIST's test set has (1,135 ones), and a few mistakes.
CONFUSION = np.diag([980, 1127, 1032, 1010, 982, 892, 958, 1028, 974, 1009]) + np.eye(10, k=1, dtype=int) * 7


def _assert_every_cell_fits(matrix: ConfusionMatrix) -> int:
    """Every cell's text fits inside its own rectangle with the font it is drawn in; returns how many have text."""
    drawn = 0
    for t in range(10):
        for p in range(10):
            font = matrix.count_font(diagonal=t == p)
            if font is None:
                continue
            metrics, rect, text = QFontMetricsF(font), matrix.cell_rect(t, p), matrix.cell_text(t, p)
            assert metrics.horizontalAdvance(text) <= rect.width(), (t, p, text, rect)
            assert metrics.height() <= rect.height(), (t, p, text, rect)
            assert font.pointSizeF() <= matrix.font().pointSizeF()  # never larger than the panel's type
            drawn += 1
    return drawn


@pytest.mark.parametrize("size", [(0, 0), (420, 380), (900, 800)])  # (0, 0): its minimum size
@pytest.mark.parametrize("point_size", [12.0, 12.0 * 1.4])  # normal and presentation mode
def test_every_count_fits_its_cell(qtbot, size, point_size):
    matrix = ConfusionMatrix()
    qtbot.addWidget(matrix)
    font = QFont(matrix.font())
    font.setPointSizeF(point_size)
    matrix.setFont(font)
    matrix.show_matrix(CONFUSION)
    least = matrix.minimumSizeHint()  # a layout never makes it smaller
    matrix.resize(max(size[0], least.width()), max(size[1], least.height()))
    assert matrix.cell_text(1, 1) == "1,127" and matrix.cell_text(3, 7) == "0"
    assert _assert_every_cell_fits(matrix) == 100  # diagonal included
    # The mistakes (one digit) are not shrunk to the diagonal's four.
    off, diagonal = matrix.count_font(False).pointSizeF(), matrix.count_font(True).pointSizeF()
    assert off >= diagonal and (off > diagonal or size != (0, 0))
    matrix.set_row_percentages(True)
    assert matrix.cell_text(1, 2) == f"{100 * 7 / 1134:.1f}" and matrix.cell_text(9, 9) == "100"
    assert _assert_every_cell_fits(matrix) == 100
    image = matrix.grab().toImage()
    assert not image.isNull()


def test_cells_too_small_for_any_number_stay_colour_only(qtbot):
    matrix = ConfusionMatrix()
    qtbot.addWidget(matrix)
    matrix.resize(120, 110)  # below its minimum size hint: only a resize by hand gets there
    matrix.show_matrix(CONFUSION)
    assert matrix.count_font(True) is None  # rather nothing than a number spilling into its neighbours
    _assert_every_cell_fits(matrix)


def test_presentation_font_makes_the_numbers_grow(qtbot):
    matrix = ConfusionMatrix()
    qtbot.addWidget(matrix)
    matrix.resize(900, 800)
    matrix.show_matrix(CONFUSION)
    before = matrix.count_font(False).pointSizeF()
    font = QFont(matrix.font())
    font.setPointSizeF(font.pointSizeF() * 1.4)
    matrix.setFont(font)
    assert matrix.count_font(False).pointSizeF() == pytest.approx(before * 1.4)


@pytest.fixture
def evaluated(qtbot, window, data_dir):
    """The window with the pretrained LeNet-5's test-set evaluation in its matrix."""
    qtbot.waitUntil(lambda: window.monitor is not None, timeout=30_000)
    window.dock_training.raise_()
    panel = window.monitor.results
    with qtbot.waitSignal(panel.evaluationFinished, timeout=TIMEOUT_MS):
        panel.evaluate()
    qtbot.waitUntil(lambda: window.monitor.confusion_view.isVisible())
    return window


def _worst_pair(confusion: np.ndarray) -> tuple[int, int]:
    off = confusion - np.diag(np.diag(confusion))
    return tuple(int(i) for i in np.unravel_index(np.argmax(off), off.shape))


def test_clicking_a_cell_lists_exactly_its_images_most_confident_first(qtbot, evaluated, data_dir):
    window = evaluated
    matrix = window.monitor.confusion_view
    true, pred = _worst_pair(matrix.confusion)
    qtbot.mouseClick(matrix, Qt.MouseButton.LeftButton, pos=matrix.cell_rect(true, pred).center().toPoint())
    gallery = window.monitor.results.gallery
    assert gallery is not None and gallery.isVisible() and gallery.objectName() == "errorGallery"
    # Independently: the same weights on the same test set.
    check = evaluate(window.session.model, "mnist", data_dir, probabilities=True)
    expected = np.flatnonzero((check.labels == true) & (check.predictions == pred))
    shown = gallery.shown_indices()
    assert sorted(shown) == sorted(expected.tolist()) and len(shown) == matrix.confusion[true, pred]
    confidence = check.probabilities[shown, pred]
    assert (np.diff(confidence) <= 1e-6).all()  # most confident first
    assert f"{matrix.confusion[true, pred]:,} image" in gallery.header.text()
    first = gallery.images.item(0)
    assert first.text() == f"{100 * confidence[0]:.0f}%" and str(pred) in first.toolTip()


def test_clicking_a_gallery_image_shows_the_mistake_everywhere(qtbot, evaluated, data_dir):
    window = evaluated
    matrix = window.monitor.confusion_view
    true, pred = _worst_pair(matrix.confusion)
    window.monitor.results.open_cell(true, pred)
    gallery = window.monitor.results.gallery
    index = gallery.shown_indices()[0]
    view = gallery.images
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualItemRect(view.item(0)).center())
    qtbot.waitUntil(
        lambda: window.session.result.true_label == true and not window.state.inference_pending(), timeout=10_000
    )
    image, _ = load_test_images("mnist", [index], data_dir)
    assert np.array_equal(window.session.result.image, image[0])  # fed as it is, not re-centred
    assert window.session.result.predicted == pred  # the network's mistake ...
    assert window.prediction.label.text().startswith(f"{pred} ")  # ... is what the prediction panel says
    assert f"true label: <b>{true}</b>" in window.canvas_panel.true_label.text()  # ... next to the truth
    assert not window.canvas.is_empty()


def test_most_confident_mistakes_across_all_classes_in_pages(qtbot, evaluated):
    window = evaluated
    panel = window.monitor.results
    button = window.findChild(QPushButton, "confidentMistakes")
    assert button.toolTip()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    gallery = panel.gallery
    result = panel.outcome.result
    mistakes = len(result.misclassified)
    assert mistakes > PAGE  # LeNet-5 makes 64 mistakes: a second page
    shown = gallery.shown_indices()
    assert len(shown) == PAGE and f"{mistakes} images" in gallery.header.text() and "first 60" in gallery.header.text()
    confidence = result.confidence()[shown]
    assert (np.diff(confidence) <= 0).all() and confidence[0] == result.confidence()[result.misclassified].max()
    assert all((result.labels[i] != result.predictions[i]) for i in shown)
    assert "→" in gallery.images.item(0).text()  # each tile names its (true, predicted) pair
    assert gallery.more_button.text() == (f"Show the last {mistakes - PAGE}" if mistakes < 2 * PAGE else "Show 60 more")
    # Beside the drawing, not over it: the canvas shows the image a click puts there.
    draw_dock = window.dock_draw
    left_part = draw_dock.mapToGlobal(draw_dock.rect().center())
    assert not gallery.frameGeometry().contains(left_part)
    qtbot.mouseClick(gallery.more_button, Qt.MouseButton.LeftButton)
    assert len(gallery.shown_indices()) == mistakes and not gallery.more_button.isVisible()


def test_row_percentages_checkbox_and_keyboard_way_in(qtbot, evaluated):
    window = evaluated
    matrix = window.monitor.confusion_view
    check = window.findChild(QCheckBox, "confusionPercent")
    assert check.toolTip() and window.findChild(QWidget, "confusionMatrix") is matrix
    row = matrix.confusion[0]
    check.setChecked(True)
    assert matrix.cell_text(0, 0) == f"{100 * row[0] / row.sum():.1f}"
    check.setChecked(False)
    assert matrix.cell_text(0, 0) == f"{row[0]:,}"
    true, pred = _worst_pair(matrix.confusion)
    matrix.setFocus()
    for _ in range(true):
        qtbot.keyClick(matrix, Qt.Key.Key_Down)
    for _ in range(pred):
        qtbot.keyClick(matrix, Qt.Key.Key_Right)
    qtbot.keyClick(matrix, Qt.Key.Key_Return)
    gallery = window.monitor.results.gallery
    assert gallery.isVisible() and f"{true} seen as {pred}" in gallery.header.text()


def test_a_runs_matrix_opens_the_gallery_after_evaluating_its_weights(qtbot, window):
    qtbot.waitUntil(lambda: window.monitor is not None, timeout=30_000)
    panel = window.monitor.results
    model = window.session.model
    from cnnviz.core import RunEnd

    fake = RunEnd("completed", "Trained.", confusion=CONFUSION.tolist(), class_names=[str(i) for i in range(10)],
                  test_accuracy=0.99, model_name="lenet5", adopted=True)  # fmt: skip
    panel.run_finished(1, fake)
    assert panel.caption.text().startswith("Run 1")
    with qtbot.waitSignal(panel.evaluationFinished, timeout=TIMEOUT_MS):
        assert not panel.open_cell(1, 1)  # no per-image results yet: they are computed first
    assert panel.gallery is not None and panel.gallery.isVisible()
    assert window.session.model is model
    window.session.load_untrained("lenet5", "mnist")  # other weights now: this matrix has no images to show
    fake.adopted = False
    panel.run_finished(2, fake)
    assert not panel.open_cell(1, 2) and "not the ones this matrix is for" in panel.caption.text()


def test_a_gallery_image_of_another_dataset_is_refused_in_one_sentence(qtbot, window):
    qtbot.waitUntil(lambda: window.session is not None, timeout=30_000)
    assert not window.files.show_test_image(3, "fashion-mnist")
    assert window.shown_errors and window.shown_errors[-1][1].count(".") == 1
    assert window.files.show_test_image(3, "mnist") and window.canvas_panel.true_label.text().startswith(
        "Test image #3"
    )


def test_the_gallery_grows_with_the_font(qtbot, evaluated):
    window = evaluated
    window.monitor.results.open_mistakes()
    gallery = window.monitor.results.gallery
    before = gallery.images.iconSize().width()
    window.set_presentation_mode(True)
    qtbot.waitUntil(lambda: gallery.images.iconSize().width() > before, timeout=5000)
    assert gallery.images.gridSize().width() >= gallery.images.iconSize().width()  # captions still under their tiles
    window.set_presentation_mode(False)


def test_the_matrix_names_its_axes_and_outlines_the_diagonal(qtbot):
    """A student reads "true class" down the side and "predicted" along the top, and finds the right answers."""
    view = ConfusionMatrix()
    qtbot.addWidget(view)
    view.resize(520, 480)
    confusion = np.full((10, 10), 3) + np.eye(10, dtype=int) * 900
    view.show_matrix(confusion)
    image = view.grab().toImage()
    area, side = view.geometry_of_cells()
    fm = QFontMetricsF(view.font())
    background = view.palette().base().color().rgb()
    strip = {
        image.pixel(x, y) for x in range(2, int(fm.height()) + 2) for y in range(int(area.top()), int(area.bottom()))
    }
    assert strip - {background}, "no 'true class' label up the left edge"
    ink = view.palette().text().color().rgb()
    corner = view.cell_rect(4, 4)
    assert image.pixel(int(corner.left()) + 1, int(corner.center().y())) == ink  # the diagonal cell's outline
    off = view.cell_rect(4, 5)
    assert image.pixel(int(off.left()) + 2, int(off.center().y())) != ink  # a mistake's cell is not outlined
