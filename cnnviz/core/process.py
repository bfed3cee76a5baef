"""The process's end: threads a user's network file started never keep it alive."""

from __future__ import annotations

import os
import sys
import threading


def exit_despite_threads(code: int) -> None:
    """End the process now if a thread that a user's file started would keep it alive.

    Python waits for every non-daemon thread at exit; a network file may start one that never
    ends, and the command (or the closed window) would then hang for ever.
    """
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else 1)
