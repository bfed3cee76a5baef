"""Checks of the numbers a training run is given: one sentence per problem, shared by the CLI and the app."""

from __future__ import annotations

import math
import numbers


def number_problem(label: str, value, *, integer: bool = False) -> str | None:
    """Why ``value`` is not a finite number (or a whole number), or None if it is one."""
    if integer:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            return f"{label} must be a whole number"
    elif isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        return f"{label} must be a finite number"
    return None
