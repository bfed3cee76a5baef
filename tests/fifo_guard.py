"""A FIFO that cannot hang the suite: for the tests that check a pipe is never opened as a file."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

_GUARD = """
import os, sys, time
path, flag = sys.argv[1], sys.argv[2]
while True:
    try:  # succeeds only while a reader has the FIFO open (or is blocked opening it)
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        time.sleep(0.02)
        continue
    open(flag, "w").close()
    os.close(fd)  # the reader sees end-of-file and goes on
"""


@contextlib.contextmanager
def fifo_guard(path):
    """A FIFO at ``path``, and a watcher process that releases (and records) any reader that opens it.

    Opening a FIFO for reading blocks until a writer comes. The watcher plays
    that writer, so code that wrongly opens the FIFO does not hang the suite,
    and ``guard["opened"]`` records the mistake. A process, not a thread: a
    reader blocked in native code may hold the GIL.
    """
    os.mkfifo(path)
    flag = f"{path}.opened"
    watcher = subprocess.Popen([sys.executable, "-c", _GUARD, str(path), flag])
    state = {"opened": False}
    try:
        yield state
    finally:
        watcher.terminate()
        watcher.wait()
        state["opened"] = os.path.exists(flag)
