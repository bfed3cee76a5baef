"""The explanations' child process (``python -m cnnviz.core.inspect.background_child``).

Frames as in ``child_frames``: ``("run", token, network or None, (fn, args))`` in,
``("ok", value)``, ``("error", exception)`` or ``("no model", why)`` out. The networks
arrive pickled once each and are kept by token (the few most recent). See
``cnnviz.core.inspect.background_process``.
"""

from __future__ import annotations

import pickle
import sys
from collections import OrderedDict

from cnnviz.core.inspect.child_frames import READY, child_streams, requests, write_frame

KEEP_MODELS = 6  # the copies the panels hold at once (Grad-CAM, inspector, Fool it, Distort, ...)


def _error(exc: BaseException):
    """The exception itself when it pickles (the caller words it as before), else its words."""
    try:
        pickle.dumps(exc)
        return exc
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def main() -> int:
    frames_in, frames_out = child_streams()
    import torch

    import cnnviz.core.inspect.attribution  # noqa: F401 (captum, the zoo: loaded before "ready", not in a job)
    import cnnviz.core.inspect.heat_pictures  # noqa: F401
    import cnnviz.core.inspect.unit_inspector  # noqa: F401
    import cnnviz.core.models  # noqa: F401
    import cnnviz.core.robust.attacks  # noqa: F401
    import cnnviz.core.robust.distort  # noqa: F401

    torch.set_num_threads(1)
    models: OrderedDict[int, object] = OrderedDict()
    write_frame(frames_out, READY)
    for request in requests(frames_in):
        _kind, token, blob, call = request
        try:
            if blob is not None:
                try:
                    models[token] = pickle.loads(blob)  # noqa: S301 (our parent's own copy of its network)
                except Exception as exc:  # noqa: BLE001 (a class only the app can import: it runs there)
                    write_frame(frames_out, ("no model", f"{type(exc).__name__}: {exc}"))
                    continue
                while len(models) > KEEP_MODELS:
                    models.popitem(last=False)
            if token not in models:
                write_frame(frames_out, ("no model", "forgotten"))
                continue
            models.move_to_end(token)
            try:
                fn, args = pickle.loads(call)  # noqa: S301
                answer = ("ok", fn(models[token], *args))
            except BaseException as exc:  # noqa: BLE001 (SystemExit from a network too: the app words it)
                answer = ("error", _error(exc))
            write_frame(frames_out, answer)
        except (BrokenPipeError, OSError):
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
