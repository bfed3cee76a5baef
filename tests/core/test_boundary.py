import subprocess
import sys


def test_core_import_leaves_qt_out():
    code = "import cnnviz.core, sys; print(','.join(m for m in ('PySide6', 'pyqtgraph') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_qt_package_does_not_import_torch_itself():
    # cnnviz.qt may reach torch only through cnnviz.core; no module of it says "import torch".
    from pathlib import Path

    import cnnviz

    qt_dir = Path(cnnviz.__file__).parent / "qt"
    offenders = [
        p.name
        for p in qt_dir.glob("*.py")
        if any(line.strip().startswith(("import torch", "from torch")) for line in p.read_text().splitlines())
    ]
    assert offenders == []
