"""The six networks in a child process, so they never hold the GIL the drawing needs.

In a thread, the other networks' forwards share the interpreter lock with the
GUI thread, and every stroke waited on them (``cnnviz bench --app``'s breakdown:
with Six networks showing, LeNet-5's stroke p95 rose about 1.7x, mostly
"GIL waits"). A child process has its own interpreter; the thread that asks it
only waits on a pipe, which releases the lock. The child runs at a lower
priority, off the drawing's core (``child_frames``), so on a busy machine the drawing gets the cores first.

``ZooComparisonProcess.predict`` keeps ``ZooComparison.predict``'s contract.
Until the child has loaded torch and its networks (a second or two), and if it
ever fails, the answers come from an in-process ``ZooComparison``: the first
drawing is answered as soon as before, and a broken child costs speed, never answers.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from cnnviz.core.inspect.child_frames import ChildPipe, end_child
from cnnviz.core.inspect.comparison import ZooComparison

ANSWER_TIMEOUT_S = 30.0  # a child that does not answer in this long is taken for dead
IN_PROCESS_ENV = "CNNVIZ_SIX_IN_PROCESS"  # "1": no child (a system that cannot start one, or a debugger)


class ZooComparisonProcess:
    """``ZooComparison`` answered by a child process; in-process until the child is ready, or if it fails.

    ``close()`` ends the child (the panel calls it when the window closes). ``pause`` goes to the
    in-process networks only: the child does not compete for the GIL.
    """

    def __init__(self, dataset: str, names: list[str] | None = None, pause=None) -> None:
        self.dataset = dataset
        self.local = ZooComparison(dataset, names, pause=pause)
        self.names = self.local.names
        self.failure: str | None = None  # why the child is not (or no longer) used
        self._proc: subprocess.Popen | None = None
        self._pipe: ChildPipe | None = None
        if os.environ.get(IN_PROCESS_ENV) == "1":
            self.failure = f"{IN_PROCESS_ENV}=1"
            return
        args = [sys.executable, "-m", "cnnviz.core.inspect.comparison_child", dataset]
        if names is not None:
            args.append(",".join(names))
        try:
            self._proc = subprocess.Popen(
                args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
        except OSError as exc:
            self.failure = f"could not start: {exc}"
            return
        self._pipe = ChildPipe(self._proc, f"six-networks-{dataset}-reader")

    @property
    def in_child(self) -> bool:
        """Whether answers now come from the child process."""
        pipe = self._pipe
        return self.failure is None and pipe is not None and pipe.ready()

    def predict(self, image: np.ndarray, known: dict[str, np.ndarray] | None = None) -> list[dict]:
        """Every network's answer for one 28x28 image in [0, 1] (see ``ZooComparison.predict``)."""
        image = np.asarray(image, dtype=np.float32)
        pipe = self._pipe
        if not self.in_child or pipe is None:
            return self.local.predict(image, known)
        self.local._models.clear()  # the child has them: free the in-process copies
        status, payload = pipe.ask((image, known), ANSWER_TIMEOUT_S)
        if status == "ok":
            return payload
        if status == "gone":
            self._fail("the child process ended" if payload is None else payload)
        return self.local.predict(image, known)  # an error there is the caller's to word

    def _fail(self, why: str) -> None:
        self.failure = why
        self.close()

    def close(self) -> None:
        """End the child now (``end_child``); an answer still on its way is dropped."""
        proc, self._proc, self._pipe = self._proc, None, None
        if proc is None:
            return
        if self.failure is None:
            self.failure = "closed"
        end_child(proc)
