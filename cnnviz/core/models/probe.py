"""The user's network, tried first in a child process with a time limit: the fence.

Opening ``PATH.py[:NAME]`` runs the user's code. Before the app's own process
does so, a child process runs the file, builds the network, and runs one
forward of 1 x 1 x 28 x 28 (and a training-mode batch of 2), checking the
output (N x 10, floating point, no NaN) and timing one image. Whatever the
code does there (``sys.exit``, ``os._exit``, a crash, an endless loop, a huge
allocation, a wrong output) is one sentence, and the app is untouched.

The parent never blocks: ``Probe.poll()`` answers at once (the window polls it
from a timer, with progress and Cancel); ``Probe.wait()`` is for the CLI.

The child itself is ``cnnviz.core.models.probe_child``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cnnviz.core.errors import UserModelError

PROBE_SECONDS = 30.0  # the child's whole life: starting Python and torch, the file, the build and the forwards
MARKER = "\x00cnnviz-probe:"  # the result line; anything else the user's code prints is ignored


def probe_seconds() -> float:
    """The probe's time limit (``CNNVIZ_PROBE_SECONDS`` overrides it, for tests and slow machines)."""
    try:
        return max(1.0, float(os.environ.get("CNNVIZ_PROBE_SECONDS", PROBE_SECONDS)))
    except ValueError:
        return PROBE_SECONDS


@dataclass
class ProbeResult:
    """What the child found: the chosen NAME (None when the file defines several networks and
    the user must choose one of ``networks``), the time per image, and warnings."""

    name: str | None
    networks: list[str] = field(default_factory=list)
    seconds_per_image: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def needs_choice(self) -> bool:
        return self.name is None and len(self.networks) > 1


class Probe:
    """One child process probing ``spec``; ``poll()`` or ``wait()`` for its answer, ``cancel()`` to end it."""

    def __init__(self, spec: str, limit_s: float | None = None, slow_seconds: float = 2.0) -> None:
        head, sep, tail = spec.rpartition(":")
        path, name = (head, tail) if sep and head.endswith(".py") else (spec, None)
        if not Path(path).expanduser().is_file():
            raise UserModelError(f"There is no network file '{path}'.")
        self.spec = f"{Path(path).expanduser().resolve()}" + (f":{name}" if name else "")
        self.shown = Path(path).name
        self.limit_s = limit_s if limit_s is not None else probe_seconds()
        self.started = time.monotonic()
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[3])  # the folder holding the cnnviz package
        env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
        env["CUDA_VISIBLE_DEVICES"] = ""  # the probe runs on the CPU: no driver start-up, no GPU memory
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "cnnviz.core.models.probe_child", self.spec, str(slow_seconds)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # its own process group: cancel ends whatever the file started too
        )
        self._result: ProbeResult | None = None

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def poll(self) -> ProbeResult | None:
        """The result when the child has ended (None while it runs); raises ``UserModelError`` with
        one sentence when the network failed, the child died, or it ran past the time limit."""
        if self._result is not None:
            return self._result
        if self._proc.poll() is None:
            if self.elapsed <= self.limit_s:
                return None
            self.cancel()
            raise UserModelError(
                f"{self.shown} did not finish building and running its network on one image within "
                f"{self.limit_s:.0f} s (an endless loop, or far too slow), so it was stopped."
            )
        out = ""
        if self._proc.stdout is not None:
            out = self._proc.stdout.read().decode("utf-8", "replace")
            self._proc.stdout.close()
        lines = [line[len(MARKER) :] for line in out.splitlines() if line.startswith(MARKER)]
        if not lines:
            raise UserModelError(self._died(self._proc.returncode))
        answer = json.loads(lines[-1])
        if "error" in answer:
            raise UserModelError(answer["error"])
        self._result = ProbeResult(
            name=answer.get("name"),
            networks=list(answer.get("networks", [])),
            seconds_per_image=float(answer.get("seconds_per_image", 0.0)),
            warnings=list(answer.get("warnings", [])),
        )
        return self._result

    def _died(self, code: int) -> str:
        if code < 0:
            try:
                why = f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                why = f"was killed by signal {-code}"
            if -code == signal.SIGKILL:
                why += " (out of memory?)"
        else:
            why = f"ended the process with exit code {code} (sys.exit or os._exit?)"
        return f"Checking {self.shown}: its code {why} before the network answered."

    def wait(self, tick: float = 0.05) -> ProbeResult:
        """Block until the answer (for the CLI); raises as ``poll``."""
        while True:
            result = self.poll()
            if result is not None:
                return result
            time.sleep(tick)

    def cancel(self) -> None:
        """End the child and everything it started."""
        if self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self._proc.kill()
            self._proc.wait()
        if self._proc.stdout and not self._proc.stdout.closed:
            self._proc.stdout.close()


def probe_network(spec: str, limit_s: float | None = None, slow_seconds: float = 2.0) -> ProbeResult:
    """Probe ``spec`` and wait for the answer (for the CLI and tests); ``slow_seconds``: the time
    per image above which the network is called slow."""
    probe = Probe(spec, limit_s, slow_seconds)
    try:
        return probe.wait()
    finally:
        probe.cancel()
