"""The README's screenshots of the unit inspector and the architecture view (issue 11).

Called by ``python -m cnnviz.tools.screenshots`` (see there); each takes the real
main window with a drawn 3:

- ``inspector.png``: LeNet-5, a C3 unit selected as a click would, its receptive
  field outlined on the canvas and the model input, the inspector in front;
- ``architecture.png``: the architecture panel of GoogLeNet (an Inception block's
  four branches) and of ResNet (skip paths, 1x1 projections) side by side.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QImage, QPainter

C3_UNIT = ("C3", 9, 4, 4)  # map 9 reads four S2 maps; its field covers the 3's middle


def shoot_inspector(path: Path, settings_dir: Path) -> None:
    from cnnviz.tools.screenshot_common import _dispose, _wait, _wait_until, _window, draw, three_outline

    window = _window(settings_dir, "inspector")
    draw(window.canvas, three_outline())
    _wait_until(lambda: window.session is not None and window.session.result.probabilities is not None)
    window.state.select_unit(*C3_UNIT)
    _wait_until(lambda: window.inspector.data is not None)
    window.inspector.steps.setCurrentItem(window.inspector.steps.topLevelItem(0).child(0))  # map 0's patch
    _wait(1000)  # the panels finish painting
    window.grab().save(str(path))
    _dispose(window)


def shoot_architecture(path: Path, settings_dir: Path) -> None:
    from cnnviz.tools.screenshot_common import _dispose, _wait, _wait_until, _window, draw, three_outline

    window = _window(settings_dir, "architecture")
    draw(window.canvas, three_outline())
    window.dock_architecture.raise_()
    shots = []
    for model, stage in (("googlenet", "inception3a"), ("resnet", "layer2")):
        window.switch_model(model, "mnist")
        _wait_until(
            lambda: (
                window.session is not None
                and window.session.result.probabilities is not None
                and not window.state.inference_pending()
            )
        )
        _wait(500)  # the thumbnails catch up
        view = window.architecture
        view.select_stage(stage)
        view.centerOn(view.items_by_id[stage].rect().center().x(), view.items_by_id[stage].rect().top())
        _wait(300)
        shots.append(window.dock_architecture.grab().toImage())
    width = sum(s.width() for s in shots) + 8 * (len(shots) - 1)
    image = QImage(width, max(s.height() for s in shots), QImage.Format.Format_RGB32)
    image.fill(QColor("#adb5bd"))
    painter = QPainter(image)
    x = 0
    for shot in shots:
        painter.drawImage(QPoint(x, 0), shot)
        x += shot.width() + 8
    painter.end()
    image.save(str(path))
    _dispose(window)
