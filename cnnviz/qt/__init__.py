"""The desktop app: PySide6 + pyqtgraph views over ``cnnviz.core`` (which alone knows torch).

``MainWindow`` is imported on first use, so ``cnnviz.qt.app.launch`` can show a window
before torch is loaded.
"""

__all__ = ["MainWindow"]


def __getattr__(name: str):
    if name == "MainWindow":
        from cnnviz.qt.app.main_window import MainWindow

        return MainWindow
    raise AttributeError(f"module 'cnnviz.qt' has no attribute {name!r}")
