"""The explanations' work in a child process, so it never holds the GIL (or the core) a stroke needs.

Grad-CAM, the unit inspector, Fool it's attack and Distort's answer follow every
drawing. In worker threads they shared the interpreter lock with the GUI thread:
with every panel open, a LeNet-5 stroke's p95 rose about 3x, most of it "GIL waits"
(``cnnviz bench --app``, section 1c). Here they run in one child process at a lower
priority (``background_child``); the worker thread that asks only waits on a pipe,
which releases the lock.

``ModelProcess.run(model, fn, *args)`` returns ``fn(model, *args)``: ``fn`` is a
module-level function (it travels by name), ``model`` a copy of the network that is
sent once and kept there while this process holds it. Until the child has loaded
torch, for a network whose class the child cannot import (a user's file), and if
the child ever fails, ``fn`` runs right here as before: a broken child costs speed,
never answers. An error ``fn`` raises in the child is raised here, as it was.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cnnviz.core.inspect.child_frames import ChildPipe, end_child


@dataclass(frozen=True)
class ModelTask:
    """``fn(model, *args)`` as a task: ``task(progress)`` runs it here (``fn`` then also gets ``progress``
    when ``takes_progress``); ``ModelProcess.run_task`` sends it to the child."""

    fn: Callable
    model: Any
    args: tuple = ()
    takes_progress: bool = False
    here: dict = field(default_factory=dict)  # keywords only when it runs in this process (a pause for strokes)

    def __call__(self, progress=None):
        return self.fn(self.model, *self.args, *((progress,) if self.takes_progress else ()), **self.here)


ANSWER_TIMEOUT_S = 60.0  # a child that does not answer in this long is taken for dead
IN_PROCESS_ENV = "CNNVIZ_BACKGROUND_IN_PROCESS"  # "1": no child (tests, a debugger, a system without one)


class ModelProcess:
    """Functions on copies of networks, run by a child process started at the first ``run``.

    Thread-safe: callers take turns (one child, one core's worth of background work).
    ``close()`` ends the child (the window closing).
    """

    def __init__(self) -> None:
        self.failure: str | None = (
            "no child (" + IN_PROCESS_ENV + "=1)" if os.environ.get(IN_PROCESS_ENV) == "1" else None
        )
        self.runs_in_child = 0  # how many answers came from the child (tests and the benchmark read it)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._pipe: ChildPipe | None = None
        self._sent: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> its token in the child
        self._local: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # models the child cannot load
        self._tokens = 0

    @property
    def in_child(self) -> bool:
        """Whether work now goes to the child process."""
        pipe = self._pipe
        return self.failure is None and pipe is not None and pipe.ready()

    def run(self, model, fn, *args):
        """``fn(model, *args)``, in the child when it can be; blocks the calling thread (not the GIL)."""
        return self.run_task(ModelTask(fn, model, args))

    def run_task(self, task):
        """A ``ModelTask`` in the child when it can be, else here; any other task (a function of ``progress``) here."""
        if not isinstance(task, ModelTask):
            return task(None)
        if self.failure is None and self._proc is None:
            self._start()
        if not self.in_child or task.model in self._local:
            return task()
        with self._lock:
            answer = self._ask(task.model, task.fn, task.args)
        if answer is None:  # the child could not take this network, or is gone: here, as before
            return task()
        status, value = answer
        if status == "error":
            raise value
        self.runs_in_child += 1
        return value

    def _ask(self, model, fn, args):
        pipe = self._pipe
        if pipe is None or not self.in_child:
            return None
        token = self._sent.get(model)
        sending = token is None
        if sending:
            self._tokens += 1
            token = self._tokens
        try:  # a function or arguments pickle refuses (a lambda): this call runs here
            call = pickle.dumps((fn, args), pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001
            return None
        try:  # the network apart: the child says "no model" when it cannot unpickle it
            blob = pickle.dumps(model, pickle.HIGHEST_PROTOCOL) if sending else None
        except Exception:  # noqa: BLE001 (a network pickle refuses: it always runs here)
            self._local[model] = True
            return None
        status, value = pipe.ask(("run", token, blob, call), ANSWER_TIMEOUT_S)
        if status == "gone":
            self._fail(value or "the child process ended")
            return None
        if status == "no model":
            if not sending:  # the child let it go (it keeps the few most recent): send it again
                del self._sent[model]
                return self._ask(model, fn, args)
            self._local[model] = True  # its class is not importable there (a user's network file)
            return None
        if sending:
            self._sent[model] = token
        return status, value

    def _start(self) -> None:
        with self._lock:
            if self._proc is not None or self.failure is not None:
                return
            try:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "cnnviz.core.inspect.background_child"],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                )  # fmt: skip
            except OSError as exc:
                self.failure = f"could not start: {exc}"
                return
            self._pipe = ChildPipe(self._proc, "background-reader")

    def _fail(self, why: str) -> None:
        self.failure = why
        self.close()

    def close(self) -> None:
        """End the child now (``end_child``); a task still on its way is answered in the app."""
        proc, self._proc, self._pipe = self._proc, None, None
        if proc is None:
            return
        if self.failure is None:
            self.failure = "closed"
        end_child(proc)
