"""The core's static types are clean (mypy, configured in pyproject.toml's [tool.mypy])."""

from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api", reason="mypy is in the test extra: pip install -e '.[test]'")

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "pyproject.toml"


def _mypy(tmp_path: Path, *targets: str) -> tuple[str, int]:
    out, err, status = api.run(
        ["--config-file", str(CONFIG), "--cache-dir", str(tmp_path / "cache"), "--no-error-summary", *targets]
    )
    return out + err, status


def test_mypy_finds_no_error_in_the_core(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # the config's paths are relative to the checkout
    report, status = _mypy(tmp_path, str(REPO / "cnnviz" / "core"))
    assert status == 0, f"mypy on cnnviz/core:\n{report}"


def test_the_check_does_catch_a_type_error(tmp_path, monkeypatch):
    """The same configuration reports a wrong type, so the clean result above means something."""
    monkeypatch.chdir(REPO)
    bad = tmp_path / "bad_module.py"
    bad.write_text("def half(n: int) -> int:\n    return n / 2\n")
    report, status = _mypy(tmp_path, str(bad))
    assert status == 1
    assert "bad_module.py:2: error: Incompatible return value type" in report
