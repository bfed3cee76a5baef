"""The six networks' child process (``python -m cnnviz.core.inspect.comparison_child DATASET``).

Requests arrive on stdin and answers leave on stdout as length-prefixed pickles
between this process and the app that started it (never a file, never anyone
else's data). Anything else that would print goes to stderr, so stdout carries
only frames. See ``cnnviz.core.inspect.comparison_process``.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading

CHILD_NICENESS = 19  # far below the app: on a shared core the drawing gets ~98 % of it (at 5, ~75 %)
READY = "ready"
HEADER = struct.Struct("<Q")


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


def child_streams():
    """In a child process: its (frames in, frames out), with ``print`` sent to stderr (a stray print must not
    corrupt a frame), at ``CHILD_NICENESS``."""
    frames_in, frames_out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    try:
        os.nice(CHILD_NICENESS)
    except (AttributeError, OSError):  # not on every system; priority is a courtesy
        pass
    return frames_in, frames_out


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
    """In the app: a thread reading a child's frames (reads block): the first sets ``ready`` (an Event), the
    rest go to ``answers`` (a Queue); a child that ends or garbles puts ``("gone", None)``."""

    def read() -> None:
        try:
            while True:
                frame = read_frame(proc.stdout)
                if frame == READY:
                    ready.set()
                else:
                    answers.put(frame)
        except (EOFError, OSError, ValueError, pickle.UnpicklingError, AttributeError, ImportError):
            answers.put(("gone", None))

    threading.Thread(target=read, name=name, daemon=True).start()


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


def main(argv: list[str]) -> int:
    frames_in, frames_out = child_streams()
    import torch

    from cnnviz.core.inspect.comparison import ZooComparison

    torch.set_num_threads(1)
    dataset, names = argv[0], (argv[1].split(",") if len(argv) > 1 else None)
    zoo = ZooComparison(dataset, names)
    for name in zoo.names:  # load every network now, not during the first answer
        zoo._model(name)
    write_frame(frames_out, READY)
    for request in requests(frames_in):
        image, known = request
        try:
            write_frame(frames_out, ("ok", zoo.predict(image, known)))
        except (BrokenPipeError, OSError):
            return 0
        except Exception as exc:  # noqa: BLE001 (the parent answers this one itself, and says why)
            write_frame(frames_out, ("error", f"{type(exc).__name__}: {exc}"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
