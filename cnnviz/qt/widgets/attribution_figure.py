"""An attribution map as a figure for a slide: the digit, the heat over it, a colour key and a title.

The same picture in the app (File > Export panel…, on "Why this class?") and
from ``cnnviz explain --out fig.png``; drawn with QPainter on a QImage, so it
needs a QGuiApplication but no window (the CLI starts an offscreen one).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QLinearGradient, QPainter, QPen

CELL = 10  # each input pixel becomes a 10x10 square: 280x280, readable on a slide
KEY_WIDTH = 18
MAX_ALPHA = 0.8  # the strongest pixel's opacity: the digit always shows through


def heat_overlay(values: np.ndarray, signed: bool) -> np.ndarray:
    """(H, W, 4) float RGBA in 0..1: red for (blue against, if signed), opacity growing with |value|."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64))
    peak = float(np.abs(v).max()) or 1.0
    t = np.clip(np.abs(v) / peak, 0.0, 1.0)
    if signed:
        rgb = np.where((v < 0)[..., None], [0.1, 0.3, 0.84], [0.84, 0.1, 0.1])
    else:  # red to yellow: the same ramp as the app's overlay on the canvas
        s = 0.34 + 0.4 * t
        rgb = np.stack([np.clip(3 * s, 0, 1), np.clip(3 * s - 1, 0, 1), np.clip(3 * s - 2, 0, 1)], axis=-1)
    return np.concatenate([rgb, (MAX_ALPHA * t**0.6)[..., None]], axis=-1)


def blend_rgb(image: np.ndarray, values: np.ndarray, signed: bool) -> np.ndarray:
    """(H, W, 3) uint8: the grey digit (as the network sees it) with the heat laid over it."""
    img = np.nan_to_num(np.asarray(image, dtype=np.float64))
    low, high = float(img.min()), float(img.max())
    grey = (img - low) / (high - low) if high > low else np.zeros_like(img)
    heat = heat_overlay(values, signed)
    alpha = heat[..., 3:]
    rgb = grey[..., None] * (1 - alpha) + heat[..., :3] * alpha
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def _qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb)
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()  # copy: owns its pixels


def _key_gradient(rect: QRectF, signed: bool) -> QLinearGradient:
    """The key, strongest "for" at the top, as the overlay looks over the digit's black paper."""
    grad = QLinearGradient(rect.topLeft(), rect.bottomLeft())
    stops = np.linspace(1.0, -1.0 if signed else 0.0, 9)
    for i, value in enumerate(stops):
        r, g, b = blend_rgb(np.zeros((1, 2)), np.array([[value, 1.0]]), signed)[0, 0]  # the peak is 1
        grad.setColorAt(i / (len(stops) - 1), QColor(int(r), int(g), int(b)))
    return grad


def attribution_figure(
    image: np.ndarray, values: np.ndarray, *, signed: bool, title: str, scale: float = 1.0
) -> QImage:
    """The figure as a QImage (``scale`` 2: twice the pixels, the same layout, for a sharp slide).

    Parameters
    ----------
    image
        The 28x28 model input (any range: shown from its darkest to its lightest value).
    values
        The attribution map, the same size.
    signed
        Blue-white-red around zero (Guided Backprop, IG, occlusion) instead of a magnitude ramp.
    title
        One line over the picture, e.g. "Grad-CAM for class 7 (99.8 %)".
    """
    h, w = np.shape(values)
    side_w, side_h = w * CELL, h * CELL
    font = QFont()
    font.setPixelSize(14)
    pad, text_h, label_w = 12, 20, 96
    width, height = pad + side_w + pad + KEY_WIDTH + 6 + label_w, pad + text_h + 6 + side_h + pad
    picture = QImage(round(width * scale), round(height * scale), QImage.Format.Format_RGB32)
    picture.setDevicePixelRatio(scale)
    picture.fill(QColor("white"))
    p = QPainter(picture)
    try:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        p.setFont(font)
        p.setPen(QColor("#202020"))
        p.drawText(QRectF(pad, pad, width - 2 * pad, text_h), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   title)  # fmt: skip
        top = pad + text_h + 6
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # crisp pixel squares
        p.drawImage(QRectF(pad, top, side_w, side_h), _qimage(blend_rgb(image, values, signed)))
        key = QRectF(pad + side_w + pad, top, KEY_WIDTH, side_h)
        p.fillRect(key, _key_gradient(key, signed))
        p.setPen(QPen(QColor("#606060"), 1))
        p.drawRect(key)
        p.setPen(QColor("#202020"))
        labels = (("for the class", 0.0), ("no effect", 0.5), ("against it", 1.0)) if signed else \
            (("strongest", 0.0), ("none", 1.0))  # fmt: skip
        for text, at in labels:
            y = top + at * side_h
            box = QRectF(key.right() + 6, y - text_h / 2, label_w, text_h)
            box.moveTop(min(max(box.top(), top - 4), top + side_h - text_h + 4))
            p.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
    finally:
        p.end()
    return picture


__all__ = ["CELL", "attribution_figure", "blend_rgb", "heat_overlay"]
