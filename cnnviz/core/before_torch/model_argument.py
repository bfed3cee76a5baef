"""Whether a model argument names the user's Python file: asked at launch, before torch is wanted."""

from __future__ import annotations


def is_user_spec(arg: str) -> bool:
    """Whether a model argument names a Python file (``x.py`` or ``x.py:NAME``) rather than a zoo model."""
    return arg.endswith(".py") or ".py:" in arg
