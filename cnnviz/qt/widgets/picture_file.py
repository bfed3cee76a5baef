"""Reading a picture file with Qt: size checked before decoding, large pictures shrunk while decoding.

A 109-byte PNG can declare 30000x1 pixels; decoding it whole and padding it
to a square once took gigabytes. So the declared size is read from the
header first and refused over a limit, and anything larger than the canvas
needs is decoded straight to a smaller size (``QImageReader.setScaledSize``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize
from PySide6.QtGui import QImage, QImageReader

from cnnviz.core.data.files import read_regular
from cnnviz.core.data.pictures import (
    MAX_DIMENSION,
    MAX_FILE_BYTES,
    MAX_PIXELS,
    MAX_SIDE,
    check_declared_size,
    picture_to_canvas,
)
from cnnviz.core.errors import CnnvizError

__all__ = ["MAX_DIMENSION", "MAX_FILE_BYTES", "MAX_PIXELS", "picture_for_canvas", "read_picture"]


def _declared_size_ok(name: str, size: QSize) -> None:
    check_declared_size(name, size.width(), size.height())


def read_picture(path: str | os.PathLike) -> np.ndarray:
    """The pixels of a picture file as an H x W x 4 uint8 RGBA array, at most ``MAX_SIDE`` a side.

    The file is opened once (a regular file of at most 100 MB, never
    blocking) and decoded from memory. Raises ``CnnvizError`` with one
    sentence for anything that is not a readable picture of a sane size.
    """
    path = Path(path)
    name = f"'{path.name}'"
    data = read_regular(path, what="picture", limit=MAX_FILE_BYTES)
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    reader.setAutoTransform(True)  # photos from phones are stored sideways with an EXIF rotation
    size = reader.size()  # from the header: nothing is decoded yet
    if not size.isValid() or size.isEmpty():
        raise CnnvizError(f"{name} is not a picture cnnviz can read (try PNG or JPEG).")
    _declared_size_ok(name, size)
    longer = max(size.width(), size.height())
    if longer > MAX_SIDE:
        scale = MAX_SIDE / longer
        reader.setScaledSize(QSize(max(1, round(size.width() * scale)), max(1, round(size.height() * scale))))
    image = reader.read()
    if image.isNull():
        raise CnnvizError(f"{name} is not a picture cnnviz can read (try PNG or JPEG).")
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    h, w, bpl = image.height(), image.width(), image.bytesPerLine()
    rows = np.frombuffer(image.constBits(), dtype=np.uint8, count=h * bpl).reshape(h, bpl)
    return rows[:, : 4 * w].reshape(h, w, 4).copy()


def picture_for_canvas(path: str | os.PathLike) -> np.ndarray:
    """A picture file -> the canvas's square of white ink on black (see ``picture_to_canvas``)."""
    return picture_to_canvas(read_picture(path), f"'{Path(path).name}'")


def png_path(path: str | os.PathLike) -> Path:
    """The path with a ``.png`` ending (a name typed without one gets it)."""
    path = Path(path)
    return path if path.suffix.lower() == ".png" else path.with_name(path.name + ".png")


def write_png(picture, path: Path) -> None:
    """Encode a QPixmap/QImage as PNG and write it atomically: a failure leaves the old file as it was."""
    from cnnviz.core.data.files import write_atomic

    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not picture.save(buffer, "PNG"):
        raise CnnvizError(f"Could not encode the picture for '{path}'.")
    write_atomic(path, bytes(buffer.data()), what="picture")
