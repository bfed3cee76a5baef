"""Step mode's view: one batch and what its optimizer step did (a ``StepReport``, drawn).

Top: the step's loss and right answers, before -> after. Left: the batch, each
image with its label and the network's answers before and after (green when
right after the step, red when wrong; a changed answer is bold). Right: each
stage's gradient norm and update / weight ratio as bars, then the first
convolution's kernels before, after, and their change, enlarged, in signed
colours (red above 0, blue below; the change on its own scale).
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from cnnviz.qt.widgets.style import BAR_COLOR, DIVERGING, color_lut, gray_image, rgb32_image

RIGHT, WRONG, TEXT, MUTED = QColor("#2f9e44"), QColor("#e03131"), QColor("#e6e6e6"), QColor("#9a9a9a")
GRID_COLUMNS = 6
MAX_IMAGES = 24  # of the batch: enough to see answers change, each large enough to read


def _signed_pixels(kernels: np.ndarray, scale: float) -> np.ndarray:
    """out x kh x kw signed values -> uint32 RGB pixels on the diverging map, 0 on white, +-scale at the ends."""
    indices = np.clip(kernels / max(scale, 1e-12) * 127.0 + 127.0, 0, 254).astype(np.uint8)
    return color_lut(DIVERGING)[indices]


class StepView(QWidget):
    """Draws the latest ``StepReport`` (``show_step``); empty until the first step."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("trainStepView")
        self.setAccessibleName("One training step")
        self.setToolTip(
            "One batch and what its step did: the images with their labels and the network's answers before → after, "
            "the loss before → after, each layer's gradient and update size, and the first kernels before, after "
            "and their change (red above 0, blue below). Step again with F10."
        )
        self.setMinimumHeight(260)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.report = None
        self._images: list = []  # QImages of the batch, kept with their arrays
        self._kernel_images: list = []

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(620, 340)

    def show_step(self, report) -> None:
        self.report = report
        n = min(len(report.images), MAX_IMAGES)
        self._images = [gray_image(report.images[i, 0]) for i in range(n)]
        self._kernel_images = []
        if report.kernels_before is not None:
            before, after, change = report.kernels_before, report.kernels_after, report.kernels_change
            flat = [k.reshape(-1, *k.shape[-2:]) if k.ndim == 4 else k for k in (before, after, change)]
            scale = float(max(np.abs(flat[0]).max(), np.abs(flat[1]).max()))
            for kernels, s in ((flat[0], scale), (flat[1], scale), (flat[2], float(np.abs(flat[2]).max()))):
                pixels = _signed_pixels(kernels, s)
                self._kernel_images.append([rgb32_image(k).copy() for k in pixels[:16]])
        self.update()

    def headline(self) -> str:
        r = self.report
        if r is None:
            return "Press Step (F10) to run one batch and look at it here."
        n = len(r.labels)
        return (f"Batch {r.step:,}: loss {r.loss_before:.3f} → {r.loss_after:.3f} · right {r.right_before}/{n} → "
                f"{r.right_after}/{n} · learning rate {r.lr:.3g}")  # fmt: skip

    # -- painting ---------------------------------------------------------------------------
    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#1e1e1e"))
        font = QFont(self.font())
        p.setFont(font)
        line = p.fontMetrics().height()
        p.setPen(TEXT)
        p.drawText(QRectF(6, 2, self.width() - 12, line + 4), Qt.AlignmentFlag.AlignLeft, self.headline())
        if self.report is None:
            p.end()
            return
        top = line + 8
        split = int(self.width() * 0.52)
        self._paint_batch(p, QRectF(4, top, split - 8, self.height() - top - 4), line)
        right = QRectF(split + 4, top, self.width() - split - 8, self.height() - top - 4)
        bars_h = min(right.height() * 0.45, (len(self.report.stages) + 1) * line * 1.05)
        self._paint_bars(p, QRectF(right.x(), right.y(), right.width(), bars_h), line)
        kernels = QRectF(right.x(), right.y() + bars_h + 4, right.width(), right.height() - bars_h - 4)
        self._paint_kernels(p, kernels, line)
        p.end()

    def _paint_batch(self, p: QPainter, area: QRectF, line: int) -> None:
        r = self.report
        n = len(self._images)
        cols = min(GRID_COLUMNS, n)
        rows = math.ceil(n / cols)
        cell_w = area.width() / cols
        cell_h = area.height() / rows
        side = max(8.0, min(cell_w - 4, cell_h - line - 4))
        small = QFont(p.font())
        small.setPointSizeF(max(6.0, p.font().pointSizeF() * 0.8))
        for i, image in enumerate(self._images):
            x = area.x() + (i % cols) * cell_w + (cell_w - side) / 2
            y = area.y() + (i // cols) * cell_h
            p.drawImage(QRectF(x, y, side, side), image)
            label, before, after = int(r.labels[i]), int(r.answers_before[i]), int(r.answers_after[i])
            p.setFont(small)
            p.setPen(MUTED)  # the true label in the image's corner, the answers under it
            p.drawText(QRectF(x + 2, y, side, line), Qt.AlignmentFlag.AlignLeft, str(label))
            font = QFont(small)
            font.setBold(before != after)
            p.setFont(font)
            p.setPen(RIGHT if after == label else WRONG)
            p.drawText(QRectF(x - 6, y + side, side + 12, line), Qt.AlignmentFlag.AlignHCenter, f"{before}→{after}")
        p.setFont(QFont(self.font()))

    def _paint_bars(self, p: QPainter, area: QRectF, line: int) -> None:
        r = self.report
        p.setPen(MUTED)
        p.drawText(QRectF(area.x(), area.y(), area.width(), line), "layer · gradient norm · update/weight")
        if not r.stages:
            return
        name_w = area.width() * 0.18
        half = (area.width() - name_w) / 2
        top_norm = max(max(r.grad_norm), 1e-12)
        row_h = (area.height() - line) / len(r.stages)
        for i, stage in enumerate(r.stages):
            y = area.y() + line + i * row_h
            h = max(3.0, row_h * 0.7)
            p.setPen(TEXT)
            p.drawText(QRectF(area.x(), y, name_w, row_h), Qt.AlignmentFlag.AlignVCenter, stage)
            width = (half - 6) * 0.6 * r.grad_norm[i] / top_norm  # the rest of the half for the figure
            p.fillRect(QRectF(area.x() + name_w, y + (row_h - h) / 2, width, h), BAR_COLOR)
            p.drawText(QRectF(area.x() + name_w + width + 3, y, half, row_h), Qt.AlignmentFlag.AlignVCenter,
                       f"{r.grad_norm[i]:.3g}")  # fmt: skip
            # The update / weight ratio on a log scale from 1e-6 to 1 (1e-3 is the classic healthy size).
            ratio = r.update_ratio[i]
            share = min(max((math.log10(max(ratio, 1e-6)) + 6) / 6, 0.0), 1.0)
            x0 = area.x() + name_w + half
            width = (half - 6) * 0.6 * share
            p.fillRect(QRectF(x0, y + (row_h - h) / 2, width, h), QColor("#f08c00"))
            p.drawText(QRectF(x0 + width + 3, y, half, row_h), Qt.AlignmentFlag.AlignVCenter, f"{ratio:.2g}")

    def _paint_kernels(self, p: QPainter, area: QRectF, line: int) -> None:
        r = self.report
        if not self._kernel_images:
            p.setPen(MUTED)
            p.drawText(area, "This network has no convolution whose kernels could be shown.")
            return
        titles = (f"{r.kernel_stage} kernels before", "after", "change (own scale)")
        row_h = area.height() / 3
        for row, (title, images) in enumerate(zip(titles, self._kernel_images, strict=True)):
            y = area.y() + row * row_h
            p.setPen(MUTED)
            p.drawText(QRectF(area.x(), y, area.width(), line), title)
            side = max(6.0, min(row_h - line - 4, area.width() / max(len(images), 1) - 4))
            for i, image in enumerate(images):
                p.drawImage(QRectF(area.x() + i * (side + 4), y + line, side, side), image)
