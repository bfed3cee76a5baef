"""Screenshots of the Learned workspace at 1280x720, and the lecture slide of LeNet-5's maximised pictures.

    CNNVIZ_DATA_DIR=../shared/data QT_QPA_PLATFORM=offscreen python -m cnnviz.tools.screenshots_learned

writes ``resources/screens/learned-units-1280x720.png`` (C3 map 4's nine strongest test
images with the spot outlined, and its maximised picture), ``learned-classes-1280x720.png``
(the output unit of class 3: "what does LeNet-5 think a perfect 3 is?"),
``learned-embedding-1280x720.png`` (the t-SNE map of 2,000 test images at F6, the drawn 3 a
star), ``learned-presentation.png`` (the Units panel in presentation mode, the window
maximised on a 1920x1080 screen) and, without Qt, ``resources/screens/lenet5-c3-classes-maximised.png``: the 16 C3
maps' and the 10 classes' maximised pictures side by side (``--slide-only`` makes only that).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

SIZE = (1280, 720)
SCALE = 6  # each input pixel of the slide becomes a 6x6 block
GAP = 4


def slide(out: Path, data_dir=None) -> Path:
    """LeNet-5's 16 C3 maps (top row) and 10 classes (bottom row) maximised, as one PNG."""
    from cnnviz.cli.explain import png_bytes
    from cnnviz.core.data.files import write_atomic
    from cnnviz.core.learned.maximise import maximise
    from cnnviz.core.resources import pretrained_path
    from cnnviz.core.weights.checkpoint import load_checkpoint

    model = load_checkpoint(pretrained_path("lenet5", "mnist"), "lenet5")[0].eval()
    rows = []
    for stage, channels in (("C3", 16), ("output", 10)):
        tiles = [list(maximise(model, stage, c))[-1].image for c in range(channels)]
        rows.append(tiles)
    side = 28 * SCALE
    width = 16 * side + 15 * GAP
    canvas = np.full((2 * side + GAP, width), 0.35, np.float32)  # grey gaps
    for r, tiles in enumerate(rows):
        left = (width - (len(tiles) * side + (len(tiles) - 1) * GAP)) // 2
        for c, tile in enumerate(tiles):
            x, y = left + c * (side + GAP), r * (side + GAP)
            canvas[y : y + side, x : x + side] = np.kron(tile, np.ones((SCALE, SCALE), np.float32))
    grey = (np.clip(canvas, 0, 1) * 255).round().astype(np.uint8)
    write_atomic(out, png_bytes(np.ascontiguousarray(np.stack([grey] * 3, -1))), what="picture")
    return out


def _shoot_units(folder: Path, settings_dir: Path) -> None:
    from cnnviz.tools.screenshot_common import _dispose, _wait, _wait_until, _window, draw, three_outline

    window = _window(settings_dir, "learned")
    window.resize(*SIZE)
    draw(window.canvas, three_outline())
    _wait_until(lambda: window.session is not None and window.session.result.probabilities is not None)
    panel = window.units
    for (stage, channel), name in ((("C3", 4), "learned-units"), (("output", 3), "learned-classes")):
        window.state.select_unit(stage, channel)
        window.show_workspace("Learned")
        window.dock_units.raise_()
        _wait_until(
            lambda s=stage: panel.top is not None and panel.top.stage == s and panel.tiles[0].pixels is not None
        )
        _wait_until(lambda: panel.picture is not None and panel.picture.done)
        _wait(500)
        window.grab().save(str(folder / f"{name}-{SIZE[0]}x{SIZE[1]}.png"))
    window.dock_embedding.raise_()
    embedding = window.embedding
    _wait_until(lambda: embedding.embedding is not None)
    embedding.method.setCurrentIndex(embedding.method.findData("tsne"))
    embedding.mistakes.setChecked(True)
    embedding.map_button.click()
    _wait_until(lambda: embedding.embedding is not None and embedding.embedding.method == "tsne", 120_000)
    _wait_until(lambda: embedding.drawing_point is not None and not embedding.placer.busy())
    embedding.plot.hovered.emit(int(np.flatnonzero(embedding.features.labels == 3)[0]))
    _wait(500)
    window.grab().save(str(folder / f"learned-embedding-{SIZE[0]}x{SIZE[1]}.png"))
    window.docks.set_presentation_mode(True)  # F11: large type for a lecture hall
    window.dock_units.raise_()
    _wait(1500)
    window.grab().save(str(folder / "learned-presentation.png"))
    _dispose(window)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cnnviz.tools.screenshots_learned", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=Path("resources/screens"), help="folder for the PNG files")
    parser.add_argument("--slide-only", action="store_true", help="only the maximised pictures' slide (no Qt)")
    args = parser.parse_args(argv)
    print(f"wrote {slide(args.out / 'lenet5-c3-classes-maximised.png')}")
    if args.slide_only:
        return 0
    from cnnviz.qt.app.launch import create_application
    from cnnviz.tools.screenshot_common import use_a_monitor_sized_offscreen_screen

    use_a_monitor_sized_offscreen_screen()
    create_application([])
    with tempfile.TemporaryDirectory() as settings_dir:
        _shoot_units(args.out, Path(settings_dir))
    print(f"wrote the Learned workspace's screenshots to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
