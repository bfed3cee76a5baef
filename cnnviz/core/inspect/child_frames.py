"""What the app's two child processes (the six networks', the explanations') and the app share.

Requests arrive on a child's stdin and answers leave on its stdout as
length-prefixed pickles between it and the app that started it (never a file,
never anyone else's data). Anything else that would print goes to stderr, so
stdout carries only frames. The children run at a low priority and off the
drawing's core (``child_streams``); the app asks through a ``ChildPipe`` and
ends a child with ``end_child``.
"""

from __future__ import annotations

import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import threading

CHILD_NICENESS = 19  # far below the app: on a shared core the drawing gets ~98 % of it (at 5, ~75 %)
# The six networks' child, above the explanations' (Fool it's attack is 20 passes) on the core they share:
# ~88 % of it when both compute, so the cards keep up with the pen (at 15, ~70 %: with every panel open a round
# took 24 ms instead of 17, p50); a core shared with the drawing (off it: leave_one_core) is still ~90 % its.
SIX_NETWORKS_NICENESS = 10
READY = "ready"
HEADER = struct.Struct("<Q")
GARBLED = (EOFError, OSError, ValueError, pickle.UnpicklingError, AttributeError, ImportError)  # a child gone


def write_frame(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def read_frame(stream):
    """The next object, or EOFError when the other side is gone."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        raise EOFError
    size = HEADER.unpack(header)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)  # noqa: S301 (our own parent's frames, on our own pipe)


def child_streams(niceness: int = CHILD_NICENESS):
    """In a child process: its (frames in, frames out), with ``print`` sent to stderr (a stray print must not
    corrupt a frame), at ``niceness``, off the app's core (``leave_one_core``)."""
    frames_in, frames_out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    try:
        os.nice(niceness)
    except (AttributeError, OSError):  # not on every system; priority is a courtesy
        pass
    leave_one_core()
    return frames_in, frames_out


def leave_one_core() -> None:
    """Run this process (and the threads it starts later: torch's) on every allowed core but the first, when
    it may use two or more.

    A low priority alone did not keep the children off the drawing's core: on 2 cores, with every panel open,
    a stroke's slowest tenth spent ~5 ms runnable but not running (GUI thread CPU time against wall clock),
    as the scheduler gives even a nice-19 task its slice on a busy core; with the children on the second core
    that wait fell to ~1 ms (issue 23). The app's threads stay free, so the scheduler moves the GUI thread to
    the core left to it."""
    try:
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) >= 2:
            os.sched_setaffinity(0, cores[1:])
    except (AttributeError, OSError):  # not on every system (macOS, Windows): the priority still helps
        pass


def requests(frames_in):
    """In a child: the app's requests, until it says stop (None) or is gone."""
    while True:
        try:
            request = read_frame(frames_in)
        except EOFError:  # the app is gone
            return
        if request is None:
            return
        yield request


def start_reader(proc, name: str, ready, answers) -> None:
    """In the app, where ``select`` cannot wait on a pipe (Windows): a thread reading a child's frames (reads
    block): the first sets ``ready`` (an Event), the rest go to ``answers`` (a Queue); a child that ends or
    garbles puts ``("gone", None)``."""

    def read() -> None:
        try:
            while True:
                frame = read_frame(proc.stdout)
                if frame == READY:
                    ready.set()
                else:
                    answers.put(frame)
        except GARBLED:
            answers.put(("gone", None))

    threading.Thread(target=read, name=name, daemon=True).start()


READ_SIZE = 1 << 20  # at most this much per read (a frame larger than the pipe's buffer arrives in parts)


class ChildPipe:
    """In the app: one child's frames, answered to the thread that asks.

    On POSIX the asking thread reads the answer itself (``select`` for the timeout, ``os.read`` on the
    descriptor, never the buffered file): no reader thread to wake per answer, each wake-up of which took the
    interpreter lock from the drawing once more (issue 23). Elsewhere a reader thread (``start_reader``).
    Callers take turns (one request, then its answer); ``ready()`` may be asked from any thread.
    """

    def __init__(self, proc, name: str) -> None:
        self.proc = proc
        self.gone: str | None = None  # why the child cannot answer any more
        self._ready = threading.Event()
        self._poll = threading.Lock()  # one thread at a time looks for the "ready" frame
        self._threaded = os.name == "nt"
        self._buffer = bytearray()  # bytes read past the last whole frame
        if self._threaded:
            self._answers: queue.Queue = queue.Queue()
            start_reader(proc, name, self._ready, self._answers)

    def ready(self) -> bool:
        """Whether the child has said it is ready (looked for without waiting)."""
        if self._ready.is_set() or self._threaded or self.gone is not None:
            return self._ready.is_set()
        with self._poll:
            if not self._ready.is_set() and self.gone is None:
                try:
                    frame = self._read(0.0)
                except TimeoutError:
                    return False
                except GARBLED as exc:
                    self.gone = f"the child process ended ({type(exc).__name__})"
                    return False
                if frame == READY:
                    self._ready.set()
                else:
                    self.gone = "the child process said something before it was ready"
        return self._ready.is_set()

    def ask(self, request, timeout: float):
        """Send ``request`` and return the child's answer, or ``("gone", why)``."""
        try:
            if self._threaded:
                write_frame(self.proc.stdin, request)
                return self._answers.get(timeout=timeout)
            data = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
            _write_all(self.proc.stdin.fileno(), HEADER.pack(len(data)) + data)
            return self._read(timeout)
        except (TimeoutError, queue.Empty):
            return "gone", f"no answer in {timeout:.0f} s"
        except GARBLED as exc:
            return "gone", str(exc) or f"the child process ended ({type(exc).__name__})"

    def _read(self, timeout: float):
        # Whatever has arrived, in one read: each system call lets the interpreter lock go, and taking it back
        # while the drawing holds it is what costs the drawing (a frame usually arrives whole, in one read).
        fd = self.proc.stdout.fileno()
        while True:
            if len(self._buffer) >= HEADER.size:
                end = HEADER.size + HEADER.unpack_from(self._buffer)[0]
                if len(self._buffer) >= end:
                    frame = pickle.loads(self._buffer[HEADER.size : end])  # noqa: S301 (our own child's frames)
                    del self._buffer[:end]
                    return frame
            if not select.select([fd], [], [], timeout)[0]:
                raise TimeoutError
            chunk = os.read(fd, READ_SIZE)
            if not chunk:
                raise EOFError
            self._buffer += chunk


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def end_child(proc) -> None:
    """In the app: end a child now. Its work is disposable (answers to drawings), so it is killed, not asked:
    a child at nice 19 on a busy machine took seconds to read a request to end, and the window must not wait
    for torch to tear down there either. It is reaped at once (a killed process ends in milliseconds)."""
    try:
        if proc.stdin is not None:
            proc.stdin.close()
    except (OSError, ValueError):
        pass
    proc.kill()
    try:
        proc.wait(timeout=1.0)
    except subprocess.TimeoutExpired:  # reaped by the next Popen, or at exit
        pass
