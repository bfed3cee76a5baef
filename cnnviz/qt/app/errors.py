"""Errors as one sentence for a person: the app never shows a traceback.

Kept free of heavy imports so the app's exception hook works even when
importing the rest of the app is what failed.
"""

from __future__ import annotations

import sys


def describe_error(exc: BaseException) -> str:
    """One sentence for a person, never a traceback."""
    errors = sys.modules.get("cnnviz.core.errors")  # not loaded yet: it cannot be one of ours
    if errors is not None and isinstance(exc, errors.CnnvizError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ('{exc.filename}')" if exc.filename else ""
        return f"{exc.strerror}{where}."
    return f"Something went wrong ({type(exc).__name__}: {exc})."


def format_exception_for_people(exc_type, exc, tb) -> str:
    """The sentence shown for an unexpected error; the traceback goes to stderr only in debug runs."""
    del tb
    return describe_error(exc) if exc is not None else f"Something went wrong ({exc_type.__name__})."
