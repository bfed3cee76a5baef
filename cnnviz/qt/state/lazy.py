"""The core, imported on first use.

Kept apart from ``app_state`` so a view that only needs it imports nothing else.
(Signals from background threads go through ``cnnviz.qt.state.workers``.)
"""

from __future__ import annotations


def core():
    """``cnnviz.core``, imported on first use: it brings torch, seconds a window need not wait for."""
    import cnnviz.core as core_module

    return core_module
