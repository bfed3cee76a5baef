"""The child process of the probe (``cnnviz.core.models.probe``): runs the user's file, builds its
network and runs it once, and prints one result line for the parent. Started as
``python -m cnnviz.core.models.probe_child PATH.py[:NAME] SLOW_SECONDS``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from cnnviz.core.errors import UserModelError
from cnnviz.core.models import user_model as um
from cnnviz.core.models.probe import MARKER


def _child(spec: str) -> dict:
    """In the child: the checks of ``load_user_model``, timed; a dict for the parent."""
    import torch

    path_arg, name = um.parse_spec(spec)
    path = Path(path_arg)
    module = um._run_file(path, path.read_bytes())
    networks = um._networks_in(module)
    if name is None and not callable(getattr(module, um.BUILD_FUNCTION, None)) and len(networks) > 1:
        return {"name": None, "networks": networks}
    name, builder = um._pick(module, path, name)
    model = um._build(builder, name, path)
    warnings = um._check(model, name, path)
    model.eval()
    start = time.perf_counter()
    um._forward(model, torch.rand(1, 1, 28, 28), name, path)
    return {
        "name": name,
        "networks": networks,
        "seconds_per_image": time.perf_counter() - start,
        "warnings": warnings,
    }


def main(argv: list[str]) -> int:
    real_stdout = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # what the user's code prints, even with os.write(1, ...), is not the answer
    sys.stdout = sys.stderr
    um.SLOW_SECONDS = float(argv[1]) if len(argv) > 1 else um.SLOW_SECONDS  # the parent's rule
    try:
        answer = _child(argv[0])
    except UserModelError as exc:
        answer = {"error": str(exc)}
    except BaseException as exc:  # noqa: BLE001 - whatever the file does is reported, not raised
        answer = {"error": f"Checking {Path(argv[0].rpartition(':')[0] or argv[0]).name} failed: {type(exc).__name__}."}
    real_stdout.write(MARKER + json.dumps(answer) + "\n")
    real_stdout.flush()
    os._exit(0)  # threads the file started must not keep the child alive


if __name__ == "__main__":
    main(sys.argv[1:])
