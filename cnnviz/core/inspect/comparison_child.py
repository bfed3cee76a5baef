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
import sys

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


def main(argv: list[str]) -> int:
    frames_in, frames_out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt a frame
    try:
        os.nice(CHILD_NICENESS)
    except (AttributeError, OSError):  # not on every system; priority is a courtesy
        pass
    import torch

    from cnnviz.core.inspect.comparison import ZooComparison

    torch.set_num_threads(1)
    dataset, names = argv[0], (argv[1].split(",") if len(argv) > 1 else None)
    zoo = ZooComparison(dataset, names)
    for name in zoo.names:  # load every network now, not during the first answer
        zoo._model(name)
    write_frame(frames_out, READY)
    while True:
        try:
            request = read_frame(frames_in)
        except EOFError:  # the app is gone
            return 0
        if request is None:
            return 0
        image, known = request
        try:
            write_frame(frames_out, ("ok", zoo.predict(image, known)))
        except (BrokenPipeError, OSError):
            return 0
        except Exception as exc:  # noqa: BLE001 (the parent answers this one itself, and says why)
            write_frame(frames_out, ("error", f"{type(exc).__name__}: {exc}"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
