"""Back in time: a run's weights every N steps, memory-bounded and evenly spread as the run grows.

The run takes a CPU copy at step 0 (exactly the weights it started from), then
every ``every`` steps; when ``capacity`` copies are held, every other one goes
(step 0 stays) and ``every`` doubles, so however long the run, the copies stay
evenly spread over it. The run's last weights are kept apart (``final``) so the
end of the time line is exactly the network the run ended with.

A copy is first taken on the training device (no wait for it) and moved to the
CPU at the run's next report (``settle``), where the loop reads the device back
anyway: on a GPU the snapshots add no synchronisation of their own.

Written by the training thread, read by the GUI thread: every access holds a lock.
"""

from __future__ import annotations

import threading

from torch import nn

DEFAULT_EVERY = 10  # steps between snapshots at the start of a run
DEFAULT_CAPACITY = 40
MEMORY_BUDGET = 256 * 2**20  # bytes for all the copies of one run: a big network keeps fewer
MIN_CAPACITY = 4


def _cpu_copy(model: nn.Module) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _device_copy(model: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _nbytes(weights: dict) -> int:
    return sum(t.numel() * t.element_size() for t in weights.values())


class Snapshots:
    """A run's weight copies by step; see the module docstring."""

    def __init__(self, every: int = DEFAULT_EVERY, capacity: int = DEFAULT_CAPACITY) -> None:
        if every < 1 or capacity < 2:
            raise ValueError("snapshots need every >= 1 and capacity >= 2")
        self.every = every
        self.capacity = capacity
        self._copies: dict[int, dict] = {}
        self._final: tuple[int, dict] | None = None
        self._pending: list[tuple[int, dict]] = []  # copies still on the training device
        self._lock = threading.Lock()

    # -- the training thread -------------------------------------------------------------
    def start(self, model: nn.Module) -> None:
        """Step 0: the weights the run starts from; sets the capacity from the network's size."""
        weights = _cpu_copy(model)
        size = max(1, _nbytes(weights))
        with self._lock:
            self.capacity = max(MIN_CAPACITY, min(self.capacity, MEMORY_BUDGET // size))
            self._copies = {0: weights}
            self._final = None
        self._pending = []

    def after_step(self, step: int, model: nn.Module) -> None:
        """Called after every optimizer step; copies (on the device) only every ``every`` steps."""
        if step % self.every == 0:
            self._pending.append((step, _device_copy(model)))

    def settle(self) -> None:
        """Move the copies taken since the last report to the CPU (the loop calls it at each report)."""
        pending, self._pending = self._pending, []
        for step, weights in pending:
            weights = {k: v.to("cpu") for k, v in weights.items()}  # already a copy: no second one on the CPU
            with self._lock:
                if step % self.every:
                    continue  # thinned away meanwhile
                self._copies[step] = weights
                if len(self._copies) >= self.capacity:
                    self.every *= 2
                    self._copies = {s: w for s, w in self._copies.items() if s % self.every == 0}

    def finish(self, step: int, model: nn.Module) -> None:
        """The run's last weights (after its last step, or a rollback): the end of the time line."""
        self.settle()
        weights = _cpu_copy(model)
        with self._lock:
            self._final = (step, weights)

    # -- any thread ----------------------------------------------------------------------------
    def steps(self) -> list[int]:
        """The steps held, in order (the final one last, if taken and not already a regular copy)."""
        with self._lock:
            steps = sorted(self._copies)
            if self._final is not None and (not steps or self._final[0] > steps[-1]):
                steps.append(self._final[0])
            return steps

    def weights(self, step: int) -> dict:
        """The copy at ``step`` (KeyError if none); the final weights win at the final step."""
        with self._lock:
            if self._final is not None and self._final[0] == step:
                return self._final[1]
            return self._copies[step]

    def __len__(self) -> int:
        return len(self.steps())
