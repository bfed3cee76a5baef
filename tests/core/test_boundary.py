import subprocess
import sys


def test_core_import_leaves_qt_out():
    code = "import cnnviz.core, sys; print(','.join(m for m in ('PySide6', 'pyqtgraph') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
