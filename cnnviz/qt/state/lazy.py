"""The core, imported on first use, and signals emitted from background threads.

Kept apart from ``app_state`` so a view that only needs these imports nothing else.
"""

from __future__ import annotations


def core():
    """``cnnviz.core``, imported on first use: it brings torch, seconds a window need not wait for."""
    import cnnviz.core as core_module

    return core_module


def emit_unless_gone(signal, *values) -> None:
    """Emit from a background thread; the receiver may have been deleted meanwhile."""
    try:
        signal.emit(*values)
    except RuntimeError:  # its C++ object is deleted
        pass
