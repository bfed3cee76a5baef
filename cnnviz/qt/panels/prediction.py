"""What the model sees (the 28x28 input) and what it answers (ten probabilities)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetricsF, QImage, QPainter, QPen, QPixmap, QStaticText
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from cnnviz.qt.widgets.fitted_text import FittedLabel
from cnnviz.qt.widgets.style import ACCENT, BAR_COLOR, ERROR_STYLE, OverlayMixin, gray_image, scaled_font, widget_pixmap

TRUE_COLOR = QColor("#2b8a3e")  # the known true class of a test image
RIGHT_MIDDLE = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
MAX_LAID_OUT_TEXTS = 4096  # percentages kept laid out (1001 per font size: a projector's and the desk's)


class InputPreview(OverlayMixin, QWidget):
    """The 28 x 28 model input, scaled up with nearest-neighbour so each pixel is a visible square."""

    OUTLINE_UNITS = 28  # a receptive field is outlined in input pixels (bottom/right exclusive)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inputPreview")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # paints every pixel: the dock need not
        self.setAccessibleName("Model input, 28 by 28 pixels")
        self.setToolTip(
            "The 28×28 picture the network actually sees: your drawing cropped,\n"
            "scaled to fit 20×20 and centred by its centre of mass, as MNIST was made."
        )
        self.setMinimumSize(84, 84)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self._image = None
        self.values: np.ndarray | None = None
        self.paint_count = 0

    def sizeHint(self) -> QSize:
        return QSize(168, 168)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def follow(self, state) -> None:
        """Subscribe to the app's state: each result's model input, and the heat picture laid over it."""
        state.resultReady.connect(lambda result: self.set_input(result.image))
        state.first_answers.answered.connect(lambda result, _names: self.set_input(result.image))
        state.heatChanged.connect(lambda input_rgba, _drawing_rgba: self.set_heat(input_rgba))

    def set_input(self, image: np.ndarray | None) -> None:
        self.values = None if image is None else np.asarray(image, dtype=np.float32)
        # RGB32 once here, so each paint is a plain scaled blit.
        self._image = None if image is None else gray_image(self.values).convertToFormat(QImage.Format.Format_RGB32)
        self.update()

    def paintEvent(self, event) -> None:
        self.paint_count += 1
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().window())
        side = min(self.width(), self.height())
        side -= side % 28 if side >= 28 else 0  # whole screen pixels per input pixel
        r = QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
        p.fillRect(r, QColor(0, 0, 0))
        if self._image is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            p.drawImage(r, self._image)
            self.paint_overlay(p, r)
        else:
            p.setPen(QColor(140, 140, 140))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, "empty")
        p.setPen(QPen(QColor(120, 120, 120), 1))
        p.drawRect(r.adjusted(0, 0, -1, -1))
        p.end()


class ProbabilityBars(QWidget):
    """Ten horizontal bars with class names and percentages; the winner in the accent colour.

    A click on a row emits ``classClicked(index)`` (the class to explain in "Why this class?").
    """

    classClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("predictionBars")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # paints every pixel: the dock need not
        self.setAccessibleName("Class probabilities")
        self.setToolTip(
            "How sure the network is about each class (softmax probabilities, in %).\n"
            "Click a class to see why (or why not) it was chosen in the 'Why this class?' panel."
        )
        self.setMinimumHeight(200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.class_names: tuple[str, ...] = tuple(str(i) for i in range(10))
        self.probabilities: np.ndarray | None = None
        self.true_label: int | None = None  # outlined in green when known (a test image)
        self.paint_count = 0
        self._static: tuple | None = None  # (key, pixmap): see _static_layer
        self._texts: dict[tuple, QStaticText] = {}

    def sizeHint(self) -> QSize:
        return QSize(360, 320)

    def set_class_names(self, names) -> None:
        self.class_names = tuple(names)
        self.update()

    def set_probabilities(self, probs: np.ndarray | None) -> None:
        self.probabilities = None if probs is None else np.asarray(probs, dtype=np.float64)
        self.update()

    def row_at(self, y: float) -> int:
        """The class whose row is at height ``y`` (rows as ``paintEvent`` lays them out)."""
        n = len(self.class_names)
        return int(min(max((y - 4) / max((self.height() - 8) / n, 1e-6), 0), n - 1))

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.classClicked.emit(self.row_at(event.position().y()))
        super().mousePressEvent(event)

    def _layout(self) -> tuple:
        """(font, bold font, metrics, name width, row height, bar height, bars' left, bars' span)."""
        font = scaled_font(self.font(), 1.05)
        fm = QFontMetricsF(font)
        name_w = max(fm.horizontalAdvance(c) for c in self.class_names) + 14
        row_h = (self.height() - 8) / len(self.class_names)
        left = 8 + name_w
        span = max(10.0, self.width() - left - (fm.horizontalAdvance("100.0%") + 10) - 8)
        return font, scaled_font(self.font(), 1.05, bold=True), fm, name_w, row_h, max(4.0, row_h * 0.68), left, span

    def _static_layer(self, layout: tuple) -> QPixmap:
        """The background, the class names and the bars' tracks: they change with the size, the type and the
        classes, not with an answer, so a stroke's repaint is one blit and the bars (~0.35 ms, was ~1 ms)."""
        font, _bold, _fm, name_w, row_h, bar_h, left, span = layout
        dpr = self.devicePixelRatioF()
        key = (self.width(), self.height(), dpr, self.font().key(), self.palette().cacheKey(), self.class_names)
        if self._static is not None and self._static[0] == key:
            return self._static[1]
        pixmap = widget_pixmap(self)
        p = QPainter(pixmap)
        p.fillRect(self.rect(), self.palette().base())
        p.setFont(font)
        p.setPen(self.palette().text().color())
        for i, name in enumerate(self.class_names):
            y = 4 + i * row_h
            p.drawText(QRectF(6, y, name_w - 8, row_h), RIGHT_MIDDLE, name)
            p.fillRect(QRectF(left, y + (row_h - bar_h) / 2, span, bar_h), self.palette().alternateBase())
        p.end()
        self._static = (key, pixmap)
        return pixmap

    def _static_text(self, text: str, font) -> QStaticText:
        """A percentage laid out once (text layout was half of a repaint): at most 1001 per font."""
        key = (font.key(), text)
        if key not in self._texts:
            if len(self._texts) > MAX_LAID_OUT_TEXTS:
                self._texts.clear()
            static = QStaticText(text)
            static.prepare(font=font)
            self._texts[key] = static
        return self._texts[key]

    def paintEvent(self, event) -> None:
        self.paint_count += 1
        layout = self._layout()
        font, bold, fm, name_w, row_h, bar_h, left, span = layout
        p = QPainter(self)
        p.drawPixmap(0, 0, self._static_layer(layout))
        if self.probabilities is None:
            p.end()
            return
        top = int(np.argmax(self.probabilities))
        p.setPen(self.palette().text().color())
        for i in range(len(self.class_names)):
            y = 4 + i * row_h
            track = QRectF(left, y + (row_h - bar_h) / 2, span, bar_h)
            prob = float(self.probabilities[i])
            bar = QRectF(track.x(), track.y(), max(0.0, prob) * span, bar_h)
            p.fillRect(bar, ACCENT if i == top else BAR_COLOR)
            if i == self.true_label:
                p.setPen(QPen(TRUE_COLOR, 2))
                p.drawRect(track.adjusted(-2, -2, 2, 2))
                p.setPen(self.palette().text().color())
            row_font = bold if i == top else font
            p.setFont(row_font)
            p.drawStaticText(QPointF(bar.right() + 6, y + (row_h - fm.height()) / 2),
                             self._static_text(f"{100 * prob:.1f}%", row_font))  # fmt: skip
        name_cell = QRectF(6, 4 + top * row_h, name_w - 8, row_h)  # the answer's name, in bold over the plain one
        p.fillRect(name_cell, self.palette().base())
        p.setFont(bold)
        p.drawText(name_cell, RIGHT_MIDDLE, self.class_names[top])
        p.end()


class PredictionPanel(QWidget):
    """The big answer ("7  (98.2%)") over the bar chart, plus a warning for random weights."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("predictionPanel")
        self.setAccessibleName("Prediction")
        self.label = FittedLabel("Draw a digit", scale=2.6, min_scale=1.0)
        self.label.setObjectName("predictionLabel")
        self.label.setAccessibleName("Predicted class")
        self.label.setToolTip("The class the network rates most likely, and its probability")
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.untrained = QLabel("Random weights (untrained): the answer is a guess.")
        self.untrained.setObjectName("untrainedNote")
        self.untrained.setAccessibleName("Untrained model warning")
        self.untrained.setToolTip(
            "No pretrained weights are loaded for this model and dataset; train it or open a weights file"
        )
        self.untrained.setStyleSheet(ERROR_STYLE)
        self.untrained.setWordWrap(True)
        self.untrained.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.untrained.hide()
        # A test image's known label: a wrong answer says so (the true class's row is outlined too).
        self.wrong = QLabel("")
        self.wrong.setObjectName("wrongAnswerNote")
        self.wrong.setAccessibleName("Wrong answer")
        self.wrong.setToolTip("The picture is a test image with a known label, and the network's answer differs")
        self.wrong.setStyleSheet(ERROR_STYLE)
        self.wrong.setWordWrap(True)
        self.wrong.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.wrong.hide()
        self.bars = ProbabilityBars()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.label)
        layout.addWidget(self.untrained)
        layout.addWidget(self.wrong)
        layout.addWidget(self.bars, 1)
        self._empty_text = "Draw a digit"
        self._apply_fonts()

    def _apply_fonts(self) -> None:
        self.label.refit()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:
            self._apply_fonts()

    def set_class_names(self, names) -> None:
        self.bars.set_class_names(names)
        self._empty_text = (
            "Draw a digit" if tuple(names) == tuple(str(i) for i in range(10)) else "Draw a clothing item"
        )
        if self.bars.probabilities is None:
            self.label.setText(self._empty_text)

    def follow(self, state) -> None:
        """Subscribe to the app's state: class names and the random-weights warning from the network,
        the answer from each result; a click on a class's bar picks it for the panels that explain one."""
        self.bars.classClicked.connect(state.pick_class)

        def network() -> None:
            self.set_class_names(state.session.class_names)
            self.set_untrained(state.session.source_kind == "untrained")

        def first_answer(result, names) -> None:  # LeNet-5 in numpy, while torch loads
            self.set_class_names(names)
            self.show_result(result)

        state.networkChanged.connect(network)
        state.resultReady.connect(self.show_result)
        state.first_answers.answered.connect(first_answer)

    def show_result(self, result) -> None:
        self.bars.true_label = result.true_label
        self.set_probabilities(result.probabilities)
        probs, true = result.probabilities, result.true_label
        wrong = probs is not None and true is not None and int(np.argmax(probs)) != true
        names = self.bars.class_names
        self.wrong.setText(f"Wrong: the true label is {names[true]}" if wrong and true < len(names) else "")
        self.wrong.setVisible(wrong)
        if result.probabilities is None and result.note:
            self.label.setText(result.note)

    def set_untrained(self, untrained: bool) -> None:
        self.untrained.setVisible(untrained)

    def set_probabilities(self, probs: np.ndarray | None) -> None:
        self.bars.set_probabilities(probs)
        if probs is None:
            self.label.setText(self._empty_text)
            return
        top = int(np.argmax(probs))
        self.label.setText(f"{self.bars.class_names[top]}  ({100 * float(probs[top]):.1f}%)")
