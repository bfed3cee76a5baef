"""Errors as one sentence for a person: the app never shows a traceback.

Kept free of heavy imports so the app's exception hook works even when
importing the rest of the app is what failed. Lives with the state so that
background jobs (``cnnviz.qt.state.workers``) and the window share one wording.
"""

from __future__ import annotations

import sys

GENERIC = "Something went wrong"


def describe_error(exc: BaseException, failed: str = GENERIC) -> str:
    """One sentence for a person, never a traceback.

    ``failed`` opens the sentence for an error the app did not foresee (e.g. "The network could not
    run on the test set"); the core's own errors and the system's file errors say it better themselves.
    """
    errors = sys.modules.get("cnnviz.core.errors")  # not loaded yet: it cannot be one of ours
    if errors is not None and isinstance(exc, errors.CnnvizError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ('{exc.filename}')" if exc.filename else ""
        return f"{exc.strerror}{where}."
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return f"{failed} ({detail})."
