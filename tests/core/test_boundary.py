import subprocess
import sys


def test_core_import_leaves_qt_out():
    code = "import cnnviz.core, sys; print(','.join(m for m in ('PySide6', 'pyqtgraph') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_command_lines_help_imports_no_torch():
    # `cnnviz --help` answers at once: its parser needs names and defaults, not torch (seconds to import).
    code = (
        "import sys; from cnnviz.cli.commands import _parser; _parser().format_help(); "
        "print(','.join(m for m in ('torch', 'torchvision', 'PySide6') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
