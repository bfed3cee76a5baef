"""Errors as one sentence for a person: the app never shows a traceback (the wording: ``cnnviz.qt.state.errors``).

Kept free of heavy imports so the app's exception hook works even when
importing the rest of the app is what failed.
"""

from __future__ import annotations

from cnnviz.qt.state.errors import describe_error

__all__ = ["describe_error", "format_exception_for_people"]


def format_exception_for_people(exc_type, exc, tb) -> str:
    """The sentence shown for an unexpected error; the traceback goes to stderr only in debug runs."""
    del tb
    return describe_error(exc) if exc is not None else f"Something went wrong ({exc_type.__name__})."
