"""The README's screenshots come from a command anyone can rerun."""

from PySide6.QtGui import QImage

from cnnviz.tools import screenshot_common, screenshots


def test_screenshot_command_draws_a_three_and_pauses_training(data_dir, tmp_path, capsys):
    assert screenshots.main(["--out", str(tmp_path), "--batches", "5"]) == 0
    assert "wrote" in capsys.readouterr().out
    for name in ("screenshot.png", "training.png"):
        image = QImage(str(tmp_path / name))
        assert (image.width(), image.height()) == screenshot_common.WINDOW_SIZE, name
    for name in ("inspector.png", "architecture.png"):
        assert not QImage(str(tmp_path / name)).isNull(), name


def test_the_drawn_three_is_read_as_a_three(qtbot, window):
    screenshots.draw(window.canvas, screenshots.three_outline())
    qtbot.waitUntil(
        lambda: window.session is not None and window.session.result.probabilities is not None, timeout=10_000
    )
    assert int(window.session.result.probabilities.argmax()) == 3
