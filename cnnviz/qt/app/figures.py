"""Figures for slides: a panel's picture without its controls and hint text, as PNG at 2x or SVG.

Each panel exports its *figure part*: the feature maps' mosaic (not the stage
chooser and the hover line), the kernels' mosaic, the six networks' cards, the
training curves, the drawing's square. Vector panels (the architecture
diagram, the pyqtgraph curves) also export as SVG; "Why this class?" exports
the attribution over the digit with a colour key (the same figure as
``cnnviz explain --out``). Files are written atomically.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QRectF, QSize
from PySide6.QtGui import QColor, QImage, QPainter, QRegion
from PySide6.QtWidgets import QApplication, QDockWidget, QGraphicsView, QMenu, QWidget

from cnnviz.core.errors import CnnvizError
from cnnviz.qt.widgets.visibility import is_on_screen

SCALE = 2.0  # PNG figures have twice the pixels of the screen: sharp on a projector and in print
ATTRIBUTION = "Why this class?"


def figure_parts(window) -> dict[str, QWidget]:
    """Each exportable panel's name -> the widget its figure is made of (controls and hints left out)."""
    parts = {
        "Drawing": window.canvas,
        "Model input": window.preview,
        "Prediction": window.prediction,
        ATTRIBUTION: window.attribution,  # a figure of its own: see attribution_image
        "Six networks": window.comparison.view,
        "Feature maps": window.feature_maps.mosaic,
        "First-layer kernels": window.kernels.mosaic,
        "Layer table": window.layer_table,
        "C3 table": window.c3,
        "Inspector": window.inspector,
        "Architecture": window.architecture,
    }
    monitor = window.monitor
    if monitor is not None:
        parts["Training curves"] = monitor.curves
        parts["Confusion matrix"] = monitor.results.matrix
    return parts


def part_of(window, name: str, widget: QWidget) -> tuple[str, QWidget]:
    """The figure part for a panel named ``name`` (as ``window.panels()`` names it) or holding ``widget``."""
    parts = figure_parts(window)
    if name in parts:
        return name, parts[name]
    for part_name, part in parts.items():  # the part the widget is in (a right-click on the confusion matrix)
        if part is widget or part.isAncestorOf(widget):
            return part_name, part
    for part_name, part in parts.items():  # else the first part in the widget (a dock's frame)
        if widget.isAncestorOf(part):
            return part_name, part
    if window.monitor is not None and widget is window.monitor:
        return "Training curves", window.monitor.curves
    return name or "panel", widget


def is_vector(part: QWidget) -> bool:
    """Drawn as items of a scene (the architecture, the pyqtgraph plots): SVG keeps them sharp at any size."""
    return isinstance(part, QGraphicsView) and part.scene() is not None


def _is_plot(part: QWidget) -> bool:
    """A pyqtgraph view (the training curves): already imported when such a view exists."""
    pg = sys.modules.get("pyqtgraph")
    return pg is not None and isinstance(part, pg.GraphicsView)


def _scene_rect(view: QGraphicsView) -> QRectF:
    """The plots' visible rectangle; the whole diagram for the architecture (it may run below the fold)."""
    if _is_plot(view):
        return view.mapToScene(view.viewport().rect()).boundingRect()
    return view.scene().itemsBoundingRect().adjusted(-8, -8, 8, 8)


def _background(part: QWidget) -> QColor:
    if isinstance(part, QGraphicsView) and part.backgroundBrush().style().value:
        return part.backgroundBrush().color()
    return part.palette().window().color()


# Controls and hint text inside a panel's figure part, left out while it is painted.
LEFT_OUT = ("kernelEditor", "convAnimation", "c3Note")


@contextlib.contextmanager
def without_controls(part: QWidget):
    """Hide the part's controls (``LEFT_OUT``) while it is painted; the layout closes the gap, then all is
    put back before the event loop runs again, so nothing flickers on screen."""
    hidden = [w for w in part.findChildren(QWidget) if w.objectName() in LEFT_OUT and w.isVisible()]
    for widget in hidden:
        widget.setVisible(False)
    if hidden and part.layout() is not None:
        part.layout().activate()
    try:
        yield hidden
    finally:
        for widget in hidden:
            widget.setVisible(True)
        if hidden and part.layout() is not None:
            part.layout().activate()


def png_image(part: QWidget, scale: float = SCALE) -> QImage:
    """The part painted at ``scale`` times its pixels (text and scenes are drawn again, not enlarged)."""
    if is_vector(part) and not _is_plot(part):
        source = _scene_rect(part)
        image = QImage(round(source.width() * scale), round(source.height() * scale), QImage.Format.Format_ARGB32)
        image.fill(_background(part))
        painter = QPainter(image)
        painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        part.scene().render(painter, QRectF(image.rect()), source)
        painter.end()
        return image
    size = part.size()
    image = QImage(QSize(round(size.width() * scale), round(size.height() * scale)), QImage.Format.Format_ARGB32)
    image.setDevicePixelRatio(scale)
    image.fill(_background(part))
    painter = QPainter(image)
    try:  # QWidget's render: a view's own render() (pyqtgraph's, QGraphicsView's) paints only its scene
        flags = QWidget.RenderFlag.DrawChildren | QWidget.RenderFlag.DrawWindowBackground
        with without_controls(part) as hidden:
            QWidget.render(part, painter, QPoint(0, 0), QRegion(), flags)
    finally:
        painter.end()
    return _trim_bottom(image, _background(part)) if hidden else image


def _trim_bottom(image: QImage, background: QColor) -> QImage:
    """The image without the empty rows at its bottom (where the left-out controls were)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB32)
    rows = np.frombuffer(rgb.constBits(), np.uint32, rgb.sizeInBytes() // 4).reshape(rgb.height(), -1)[:, : rgb.width()]
    filled = np.flatnonzero((rows != (background.rgb() & 0xFFFFFFFF)).any(axis=1))
    if not len(filled):
        return image
    return image.copy(
        0, 0, image.width(), min(image.height(), int(filled[-1]) + 1 + round(8 * image.devicePixelRatio()))
    )


def svg_bytes(part: QWidget) -> bytes:
    """A vector part as an SVG document: pyqtgraph's own exporter for plots, QSvgGenerator for a scene."""
    if _is_plot(part):
        from pyqtgraph.exporters import SVGExporter  # loaded with the plots, on the GUI thread

        try:
            return SVGExporter(part.scene()).export(toBytes=True)
        except ValueError:  # pyqtgraph 0.14 misreads Qt 6.11's SVG path data: Qt's own generator draws it
            pass
    from PySide6.QtSvg import QSvgGenerator

    source = _scene_rect(part)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(source.size().toSize())
    generator.setViewBox(QRectF(0, 0, source.width(), source.height()))
    generator.setTitle("cnnviz figure")
    painter = QPainter(generator)
    painter.fillRect(QRectF(0, 0, source.width(), source.height()), _background(part))
    part.scene().render(painter, QRectF(0, 0, source.width(), source.height()), source)
    painter.end()
    return bytes(buffer.data())


def attribution_image(window, scale: float = SCALE) -> QImage:
    """The heat map on screen over the model input, with a colour key and a title (like ``explain --out``)."""
    from cnnviz.core.inspect.attribution import METHODS, SIGNED_METHODS
    from cnnviz.qt.widgets.attribution_figure import attribution_figure

    answer, session = window.attribution.result, window.session
    result = session.result if session is not None else None
    if answer is None or result is None or result.image is None:
        raise CnnvizError("Turn the heat map on in 'Why this class?' (and draw a digit) to export it as a figure.")
    names = session.class_names
    where = f" at {answer.stage}" if answer.stage else ""
    sure = f" ({100 * float(result.probabilities[answer.target]):.1f} %)" if result.probabilities is not None else ""
    title = f"{METHODS[answer.method]}{where} for class {names[answer.target]}{sure}"
    return attribution_figure(result.image, answer.map, signed=answer.method in SIGNED_METHODS, title=title,
                              scale=scale)  # fmt: skip


def figure_bytes(window, name: str, part: QWidget, svg: bool) -> bytes:
    """The file's contents: an SVG document or PNG bytes. Raises CnnvizError with one sentence."""
    if svg:
        if not is_vector(part):
            raise CnnvizError(f"{name} is a picture, not a drawing: export it as PNG (SVG is for plots and diagrams).")
        return svg_bytes(part)
    image = attribution_image(window) if name == ATTRIBUTION else png_image(part)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise CnnvizError(f"Could not encode the {name} figure as PNG.")
    return bytes(QByteArray(buffer.data()))


def bring_to_front(window, part: QWidget) -> QDockWidget | None:
    """Raise the part's dock if it hides behind a tab (hidden widgets are not laid out); returns the tab
    that was in front, to raise again afterwards."""
    dock = next((d for d in window.findChildren(QDockWidget) if d.widget() is not None
                 and (d.widget() is part or d.widget().isAncestorOf(part))), None)  # fmt: skip
    if dock is None or is_on_screen(part):
        return None
    front = next((d for d in window.tabifiedDockWidgets(dock) if is_on_screen(d)), None)
    dock.raise_()
    for _ in range(3):  # the raise, the catch-up repaint, the layout
        QApplication.processEvents()
    return front


def dock_menu(window, dock: QDockWidget, pos: QPoint) -> QMenu:
    """A dock's right-click menu: export the figure of the part under the mouse (or the dock's panel)."""
    under = dock.childAt(pos) or dock.widget()
    name, part = part_of(window, "", under if under is not None else dock)
    menu = QMenu(dock)
    menu.setObjectName("figureMenu")
    action = menu.addAction(f"Export {name} as a figure…")
    action.setObjectName("actionExportFigure")
    action.setToolTip("Without its controls: PNG at 2x" + (", or SVG" if is_vector(part) else ""))
    action.triggered.connect(lambda: window.files.export_figure(widget=part, name=name))
    return menu


def show_dock_menu(window, dock: QDockWidget, event) -> None:
    menu = dock_menu(window, dock, event.pos())
    menu.exec(event.globalPos())
    menu.deleteLater()


def figure_path(path: str | Path, vector: bool) -> tuple[Path, bool]:
    """The path with an ending: ``.svg`` asks for SVG; anything else becomes ``.png``."""
    path = Path(path)
    if path.suffix.lower() == ".svg":
        return path, True
    return (path if path.suffix.lower() == ".png" else path.with_name(path.name + ".png")), False


__all__ = ["ATTRIBUTION", "SCALE", "figure_bytes", "figure_parts", "figure_path", "is_vector", "part_of", "png_image",
           "svg_bytes", "attribution_image", "bring_to_front", "dock_menu", "show_dock_menu"]  # fmt: skip
