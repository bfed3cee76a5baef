"""The house rules hold for cnnviz/, and the checker really catches a broken one."""

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from layout_rules import violations  # noqa: E402

import cnnviz  # noqa: E402

PACKAGE = Path(cnnviz.__file__).parent


def test_the_package_keeps_the_house_rules():
    assert violations(PACKAGE) == []


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


BASE = {
    "pkg/__init__.py": "",
    "pkg/core/__init__.py": "",
    "pkg/core/a.py": "import torch\n",
    "pkg/qt/__init__.py": "",
    "pkg/qt/panels/__init__.py": "",
    "pkg/qt/panels/one.py": "from pkg.core import a\n",
    "pkg/qt/panels/two.py": "",
    "pkg/qt/widgets/__init__.py": "",
    "pkg/qt/widgets/w.py": "",
    "pkg/qt/app/__init__.py": "",
    "pkg/qt/app/window.py": "from pkg.qt.panels import one, two\n",
}


def test_a_clean_tree_passes(tmp_path):
    assert violations(_write(tmp_path, BASE)) == []


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        ("pkg/qt/panels/two.py", "from pkg.qt.panels.one import X\n", "a panel) imports another panel"),
        ("pkg/qt/panels/two.py", "from . import one\n", "a panel) imports another panel"),
        ("pkg/qt/panels/two.py", "import pkg.qt.app.window\n", "imports the window"),
        ("pkg/core/a.py", "from PySide6.QtCore import QObject\n", "(core) imports PySide6"),
        ("pkg/core/a.py", "def f():\n    import pyqtgraph\n", "(core) imports pyqtgraph"),
        ("pkg/core/a.py", "from pkg.qt.widgets import w\n", "(core) imports pkg.qt"),
        ("pkg/qt/widgets/w.py", "import torch\n", "imports torch itself"),
        ("pkg/qt/widgets/w.py", "from pkg.qt.panels import one\n", "sits above it"),
        ("pkg/core/b.py", "def f():\n    from pkg.core import a\n", None),
        # a package's __init__ reaching its submodule inside a function is a tie like any other
        ("pkg/core/__init__.py", "def f():\n    from pkg.core.a import g\n", "SUBMODULE"),
        ("pkg/qt/widgets/w.py", "\n" * 501, "lines (at most 500)"),
    ],
)
def test_the_checker_catches_each_broken_rule(tmp_path, path, text, expected):
    files = dict(BASE, **{path: text})
    if expected is None:  # a cycle: a imports b back
        files["pkg/core/a.py"] = "from pkg.core import b\n"
        expected = "import cycle: pkg.core.a -> pkg.core.b"
    if expected == "SUBMODULE":  # ... and the submodule imports its package back
        files["pkg/core/a.py"] = "import pkg.core\n"
        expected = "import cycle: pkg.core -> pkg.core.a"
    found = violations(_write(tmp_path, files))
    assert any(expected in line for line in found), found


def test_every_core_module_imports_without_qt():
    modules = sorted(
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        for p in (PACKAGE / "core").rglob("*.py")
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(','.join(m for m in ('PySide6', 'pyqtgraph', 'superqt') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
