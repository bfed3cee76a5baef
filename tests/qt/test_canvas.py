"""The drawing canvas on its own: strokes from real mouse events, undo, clear, brush, pictures."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from cnnviz.core import drawing_to_input
from cnnviz.qt.widgets.canvas import MODEL_SIZE, DrawingCanvas


@pytest.fixture
def canvas(qtbot):
    c = DrawingCanvas()
    c.resize(280, 280)
    qtbot.addWidget(c)
    c.show()
    qtbot.waitExposed(c)
    return c


def test_a_stroke_puts_ink_where_the_mouse_went_and_emits_while_drawing(qtbot, canvas, draw, make_line):
    emitted = []
    canvas.drawingChanged.connect(emitted.append)
    points = make_line((0.2, 0.5), (0.8, 0.5), n=12)
    draw(canvas, points)
    # One image per press and per move, not just at release.
    assert len(emitted) >= len(points)
    img = canvas.image_array()
    assert img.shape == (MODEL_SIZE, MODEL_SIZE) and img.dtype == np.uint8
    row = MODEL_SIZE // 2
    assert img[row, int(0.3 * MODEL_SIZE) : int(0.7 * MODEL_SIZE)].min() == 255  # solid ink along the line
    assert img[int(0.2 * MODEL_SIZE)].max() == 0  # nothing far above it
    assert img[:, :20].max() == 0  # nor left of where it started
    assert canvas.stroke_count() == 1
    # Anti-aliased: a slanted stroke's edge has intermediate grey values.
    canvas.clear()
    draw(canvas, make_line((0.2, 0.2), (0.8, 0.7)))
    img = canvas.image_array()
    assert ((img > 20) & (img < 235)).sum() > 50


def test_moves_are_emitted_before_the_button_is_released(qtbot, canvas, make_line):
    from conftest import canvas_point

    seen = []
    canvas.drawingChanged.connect(lambda a: seen.append(int(a.sum())))
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(canvas, 0.5, 0.2))
    for u, v in make_line((0.5, 0.2), (0.5, 0.8), n=8)[1:]:
        qtbot.mouseMove(canvas, canvas_point(canvas, u, v))
    assert len(seen) >= 9 and seen[-1] > seen[0]  # growing ink, still mid-stroke
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(canvas, 0.5, 0.8))
    assert canvas.stroke_count() == 1


def test_undo_removes_only_the_last_stroke_and_clear_empties(qtbot, canvas, draw, make_line):
    draw(canvas, make_line((0.2, 0.3), (0.8, 0.3)))
    after_first = canvas.image_array()
    draw(canvas, make_line((0.5, 0.1), (0.5, 0.9)))
    assert not np.array_equal(canvas.image_array(), after_first)
    assert canvas.undo()
    assert np.array_equal(canvas.image_array(), after_first)
    draw(canvas, make_line((0.5, 0.1), (0.5, 0.9)))
    both = canvas.image_array()
    canvas.clear()
    assert canvas.is_empty() and canvas.image_array().max() == 0
    assert drawing_to_input(canvas.image_array()) is None
    draw(canvas, make_line((0.1, 0.5), (0.9, 0.5)))  # drawn after the clear: undone first
    assert canvas.undo() and canvas.is_empty()
    assert canvas.undo()  # then the clear itself: an Esc too many loses nothing
    assert np.array_equal(canvas.image_array(), both) and canvas.stroke_count() == 2
    assert canvas.undo() and canvas.undo() and canvas.is_empty()
    assert not canvas.undo()  # nothing left to undo


def test_a_cleared_picture_comes_back_with_undo(qtbot, canvas):
    picture = np.zeros((28, 28), np.float32)
    picture[6:22, 12:16] = 1.0
    canvas.set_picture(picture)
    shown = canvas.image_array()
    canvas.clear()
    assert canvas.undo() and np.array_equal(canvas.image_array(), shown)


def test_brush_size_sets_the_stroke_width(qtbot, canvas, draw, make_line):
    widths = {}
    for size in (6, 40):
        canvas.clear()
        canvas.set_brush_size(size)
        draw(canvas, make_line((0.5, 0.2), (0.5, 0.8)))
        widths[size] = int((canvas.image_array()[MODEL_SIZE // 2] > 127).sum())
    assert abs(widths[6] - 6) <= 2 and abs(widths[40] - 40) <= 2


def test_the_drawing_survives_a_resize(qtbot, canvas, draw, make_line):
    draw(canvas, make_line((0.2, 0.2), (0.8, 0.8)))
    before = canvas.image_array()
    canvas.resize(500, 400)
    qtbot.waitUntil(lambda: canvas.width() == 500)
    assert np.array_equal(canvas.image_array(), before)
    assert canvas._view_image.width() == 400  # the visible copy follows the widget


def test_a_picture_goes_under_new_strokes_and_undo_takes_strokes_first(qtbot, canvas, draw, make_line):
    picture = np.zeros((28, 28), np.float32)
    picture[5:23, 12:16] = 1.0
    canvas.set_picture(picture)
    with_picture = canvas.image_array()
    assert with_picture[MODEL_SIZE // 2, MODEL_SIZE // 2] > 200
    draw(canvas, make_line((0.1, 0.9), (0.3, 0.9)))
    canvas.undo()
    assert np.array_equal(canvas.image_array(), with_picture)
    canvas.undo()
    assert canvas.is_empty()


def test_widget_point_is_where_a_fraction_of_the_square_lies(qtbot, canvas):
    canvas.resize(500, 400)  # wider than tall: the drawing square is centred, 50 px in
    qtbot.waitUntil(lambda: canvas.width() == 500)
    assert canvas.widget_point(0.0, 0.0) == QPointF(50, 0)
    assert canvas.widget_point(1.0, 0.5) == QPointF(450, 200)
    u, v, _ = canvas._to_unit(canvas.widget_point(0.25, 0.75))
    assert (u, v) == pytest.approx((0.25, 0.75))


def test_tablet_pressure_sets_the_width(qtbot, canvas):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QPointingDevice, QTabletEvent

    device = QPointingDevice.primaryPointingDevice()

    def tablet(kind, u, v, pressure):
        pos = QPointF(u * canvas.width(), v * canvas.height())
        event = QTabletEvent(
            kind,
            device,
            pos,
            canvas.mapToGlobal(pos),
            pressure,
            0,
            0,
            0,
            0,
            0,
            Qt.KeyboardModifier.NoModifier,
            Qt.MouseButton.LeftButton,
            Qt.MouseButton.LeftButton,
        )
        canvas.tabletEvent(event)
        assert event.isAccepted()

    widths = []
    for pressure in (0.1, 1.0):
        canvas.clear()
        canvas.set_brush_size(30)
        tablet(QEvent.Type.TabletPress, 0.5, 0.2, pressure)
        for i in range(1, 11):
            tablet(QEvent.Type.TabletMove, 0.5, 0.2 + 0.06 * i, pressure)
        tablet(QEvent.Type.TabletRelease, 0.5, 0.8, pressure)
        widths.append(int((canvas.image_array()[MODEL_SIZE // 2] > 127).sum()))
    assert widths[0] < widths[1] / 2
    assert canvas.stroke_count() == 1


def test_on_a_hidpi_screen_the_ink_is_drawn_under_the_pointer():
    """At 200 % scaling the visible stroke lands where the mouse went, not twice as far."""
    import os
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import numpy as np
        from PySide6.QtCore import QPoint, Qt
        from PySide6.QtTest import QTest
        from PySide6.QtWidgets import QApplication
        from cnnviz.qt.widgets.canvas import DrawingCanvas
        app = QApplication([])
        canvas = DrawingCanvas()
        canvas.resize(280, 280)
        canvas.show()
        app.processEvents()
        button, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        QTest.mousePress(canvas, button, none, QPoint(100, 70))
        for x in range(100, 181, 4):
            QTest.mouseMove(canvas, QPoint(x, 70))
        QTest.mouseRelease(canvas, button, none, QPoint(180, 70))
        app.processEvents()
        image = canvas.grab().toImage()  # device pixels
        ink = np.array([[image.pixelColor(x, y).value() > 200 for x in range(image.width())]
                        for y in range(0, image.height(), 2)])
        ys, xs = np.nonzero(ink)
        print(canvas.devicePixelRatioF(), xs.mean() / image.width(), 2 * ys.mean() / image.height())
        """
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": "2"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    dpr, x, y = map(float, out.stdout.split())
    assert dpr == 2.0
    assert x == pytest.approx(140 / 280, abs=0.03) and y == pytest.approx(70 / 280, abs=0.03)


def test_a_moving_outline_repaints_where_it_was_and_where_it_goes_not_the_whole_canvas(qtbot, canvas):
    from PySide6.QtCore import QEvent, QObject, QRect

    class Paints(QObject):
        def __init__(self) -> None:
            super().__init__(canvas)
            self.rects: list[QRect] = []

        def eventFilter(self, _obj, event) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.rects.append(event.rect())
            return False

    old, new = (0.1, 0.1, 0.3, 0.3), (0.2, 0.25, 0.4, 0.45)  # top, left, bottom, right in fractions
    canvas.set_outline(old)
    qtbot.wait(20)
    paints = Paints()
    canvas.installEventFilter(paints)
    canvas.set_outline(new)  # an answer re-cropped the drawing: the box moved
    qtbot.waitUntil(lambda: bool(paints.rects))
    painted = QRect()
    for rect in paints.rects:
        painted = painted.united(rect)
    square = canvas.overlay_square()
    for box in (old, new):  # both outlines, with the pen's width around them
        edges = canvas._outline_rect(box, square).toAlignedRect().adjusted(-2, -2, 2, 2)
        assert painted.contains(edges), (box, painted, edges)
    assert painted.width() * painted.height() < 0.3 * canvas.width() * canvas.height()
    canvas.set_outline(None)  # gone: repainted whole, as before
    qtbot.waitUntil(lambda: paints.rects[-1] == canvas.rect())
