"""A network's session, built where the app loads it: in the loader's thread, touching no widget.

``build_session`` imports the core (torch with it), builds the ``ModelSession`` for a zoo
name or a user's ``PATH.py:NAME`` with its shipped weights, and runs it once, so the first
stroke pays for none of that. What went wrong but still leaves a network to show (a user's
file that does not load, a damaged weights file) becomes a note, not an error.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from cnnviz.qt.state.lazy import core


def build_session(model: str, dataset: str, data_dir: Path | None, preload: tuple[str, ...] = ()) -> dict:
    """``{"session", "notes", "device"}`` for ``model`` on ``dataset``; ``preload``: modules to import too."""
    c = core()
    # One torch thread here: a thread that once ran a two-thread OpenMP team
    # keeps it for life, and libgomp then throttles every later team (the
    # training thread's) to sleep between ops, costing training ~40 %.
    c.set_cpu_threads(1)
    from cnnviz.core.models.user_model import is_user_spec, load_user_model

    notes, user_network = [], None
    if dataset not in c.DATASETS:
        dataset = "mnist"
    if is_user_spec(model):  # named on the command line (cnnviz --model PATH.py:NAME): the user asked
        try:
            user_network = load_user_model(model)
            notes.extend(user_network.warnings)
        except c.CnnvizError as exc:
            notes.append(f"Could not open your network, so LeNet-5 is shown: {exc}")
    if user_network is None and model not in [s.name for s in c.list_models()]:
        model = "lenet5"
    session = c.ModelSession("lenet5" if user_network else model, dataset, data_dir or c.default_data_dir())
    try:
        if user_network is not None:
            session.load_untrained(user_network.name, dataset)
        else:
            session.load_pretrained(model, dataset)
    except c.CnnvizError as exc:  # a damaged shipped file: keep random weights, say so
        notes.append(f"Pretrained weights could not be read: {exc}")
    session.infer(np.zeros((28, 28), np.float32))  # first-call costs, off the first stroke
    try:
        device = c.device_label(c.resolve_device("auto"))
    except Exception:  # a broken driver must not stop the app
        device = "CPU"
    for module in preload:  # e.g. the training run and evaluation the Training panel needs
        importlib.import_module(module)
    return {"session": session, "notes": notes, "device": device}
