"""Presentation mode's larger type never clips a label: the Training form's combo boxes, the six cards' titles."""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QComboBox

from cnnviz.qt.widgets.style import BASE_POINT_SIZE, PRESENTATION_SCALE


def test_training_form_takes_one_column_rather_than_clip_a_choice(qtbot):
    from PySide6.QtWidgets import QApplication

    from cnnviz.qt.training.settings import TrainingSettings

    form = TrainingSettings()
    qtbot.addWidget(form)
    font = QFont(form.font())
    font.setPointSizeF(BASE_POINT_SIZE)
    form.setFont(font)
    form.show()  # the combo boxes measure themselves once, at the normal type
    qtbot.waitExposed(form)
    font.setPointSizeF(BASE_POINT_SIZE * PRESENTATION_SCALE)
    form.setFont(font)  # what presentation mode does
    columns = set()
    for width in range(form.minimumSizeHint().width(), 2 * form._two_column_width(), 16):
        form.resize(width, 600)
        QApplication.processEvents()
        columns.add(form._columns)
        for combo in form.findChildren(QComboBox):
            text = QFontMetrics(combo.font()).horizontalAdvance(combo.currentText())
            assert combo.width() > text + 20, (width, combo.currentText())  # the text and the arrow fit
    assert columns == {1, 2}


def test_a_narrow_card_shortens_its_title_before_cutting_it(qtbot):
    from cnnviz.qt.panels.comparison import _fitting_name

    font = QFont()
    font.setPointSizeF(BASE_POINT_SIZE * PRESENTATION_SCALE)
    wide = QFontMetrics(font).horizontalAdvance("GoogLeNet (Inception)") * 2
    assert _fitting_name("GoogLeNet (Inception)", font, wide)[0] == "GoogLeNet (Inception)"
    name, title = _fitting_name("GoogLeNet (Inception)", font, QFontMetrics(font).horizontalAdvance("GoogLeNet  "))
    assert name == "GoogLeNet" and QFontMetrics(title).horizontalAdvance(name) <= wide
    assert title.pointSizeF() < font.pointSizeF()  # smaller type was tried first
    name, _ = _fitting_name(
        "LeNet-5 (1998) (untrained)", font, QFontMetrics(font).horizontalAdvance("LeNet-5 (untrained)")
    )
    assert name == "LeNet-5 (untrained)"
