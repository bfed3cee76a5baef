"""The six networks' child process (``python -m cnnviz.core.inspect.comparison_child DATASET``).

Frames as in ``child_frames``: ``(image, known)`` in, ``("ok", answers)`` or ``("error", words)`` out.
See ``cnnviz.core.inspect.comparison_process``.
"""

from __future__ import annotations

import sys

from cnnviz.core.inspect.child_frames import READY, SIX_NETWORKS_NICENESS, child_streams, requests, write_frame


def main(argv: list[str]) -> int:
    frames_in, frames_out = child_streams(SIX_NETWORKS_NICENESS)
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
