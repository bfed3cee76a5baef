"""Rollback for a diverging run: weight copies kept on the device, and the checks that trust them.

A copy of the weights is only worth rolling back to once the loss computed
*with* those weights has been read back and found sound, so copies are taken
in two phases: a candidate at a report tick, promoted to "good" at the next
tick whose losses are all sound. A fallback copy (the weights from before the
run, later the latest epoch end whose test accuracy beat chance) sits behind it.
Every copy lives on the training device and is refreshed with one fused copy,
so no snapshot ever waits for the host.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import torch
from torch import nn

# A run whose loss climbs past this many times its starting loss (or past this
# many times log(classes), the loss of a network that guesses uniformly) has
# left any useful region: healthy runs stay far below it.
LOSS_GROWTH_LIMIT = 10.0
# The runaway check averages this many recent batches: one wild batch at the
# peak learning rate (LeNet-5's RBF loss spikes that way and recovers) is no divergence.
LOSS_WINDOW = 10
# Test accuracy at or below this multiple of 1/classes is chance: nothing learnt.
CHANCE_FACTOR = 1.5


# Runs shorter than this may end at chance level without having diverged.
SHORT_RUN_STEPS = 25


class WeightCopy:
    """Preallocated copy of a model's ``state_dict`` tensors (parameters and buffers) on their device."""

    def __init__(self, model: nn.Module) -> None:
        self._live = list(model.state_dict().values())
        self._saved = [t.detach().clone() for t in self._live]
        self.step: int | None = None  # the run's step the copy was taken after (0: before the run)
        self.test_accuracy: float | None = None

    def take(self, step: int, test_accuracy: float | None = None) -> None:
        with torch.no_grad():
            torch._foreach_copy_(self._saved, self._live)
        self.step, self.test_accuracy = step, test_accuracy

    def restore(self) -> None:
        with torch.no_grad():
            torch._foreach_copy_(self._live, self._saved)


class Rollback:
    """The run's weight copies and the rules that say when the run has diverged.

    Parameters
    ----------
    model
        The model being trained (its tensors are copied, never replaced).
    num_classes
        For the chance level and the uniform-guess loss ``log(num_classes)``.
    every
        Steps between candidate copies (taken only at report ticks).
    """

    def __init__(self, model: nn.Module, num_classes: int, every: int) -> None:
        self.every = max(1, every)
        self.chance = CHANCE_FACTOR / num_classes
        self._uniform_loss = math.log(num_classes)
        self.fallback = WeightCopy(model)  # before the run; later the latest epoch end above chance
        self.fallback.take(0)
        self.good = WeightCopy(model)  # the latest candidate whose losses were read back and sound
        self._candidate = WeightCopy(model)
        self._has_good = self._has_candidate = False
        self.reference_loss: float | None = None
        self._recent: deque[float] = deque(maxlen=LOSS_WINDOW)

    @property
    def loss_limit(self) -> float:
        """Recent mean losses above this count as divergence (``inf`` until a first loss is known)."""
        if self.reference_loss is None:
            return math.inf
        return LOSS_GROWTH_LIMIT * max(self.reference_loss, self._uniform_loss)

    def first_bad(self, losses: list[float]) -> int | None:
        """Index of the first non-finite loss of a group read back, or of the one that
        lifts the mean of the last ``LOSS_WINDOW`` losses above ``loss_limit``; else None."""
        if self.reference_loss is None and losses:
            self.reference_loss = losses[0]
        limit = self.loss_limit
        for i, loss in enumerate(losses):
            self._recent.append(loss)
            if not math.isfinite(loss) or sum(self._recent) / len(self._recent) > limit:
                return i
        return None

    def sound_up_to(self, step: int) -> None:
        """Every loss up to ``step`` (computed with the weights after ``step - 1``) was sound."""
        if self._has_candidate and self._candidate.step is not None and self._candidate.step < step:
            self.good, self._candidate = self._candidate, self.good  # promote without a copy
            self._has_good, self._has_candidate = True, False

    def maybe_take(self, step: int) -> None:
        """Take a candidate copy at a report tick if ``every`` steps have passed since the last."""
        last = max(c.step for c in (self.fallback, self.good, self._candidate) if c.step is not None)
        if not self._has_candidate and step - last >= self.every:
            self._candidate.take(step)
            self._has_candidate = True

    def epoch_passed(self, step: int, test_accuracy: float) -> None:
        """An epoch ended above chance on the test set: its weights are the new fallback."""
        self.fallback.take(step, test_accuracy)
        self._has_good = self._has_candidate = False

    def above_chance(self, test_accuracy: float) -> bool:
        return test_accuracy > self.chance

    def epoch_failed(self, step: int, test_accuracy: float) -> bool:
        """An epoch that ends at chance has diverged, unless the whole run is too short to have
        learned anything yet (a few steps of a lesson or a quick check are at chance by nature)."""
        return step >= SHORT_RUN_STEPS and not self.above_chance(test_accuracy)

    def candidates(self) -> list[WeightCopy]:
        """Copies to try on divergence, newest first; the last one is the fallback."""
        return [self.good, self.fallback] if self._has_good else [self.fallback]

    def restore_best(self, test_accuracy: Callable[[], float]) -> WeightCopy:
        """Restore the newest copy that beats chance on the test set, else the fallback.

        ``test_accuracy`` measures the model as it stands; the fallback needs no
        check (the weights from before the run, or an epoch end that passed it).
        """
        for copy in self.candidates():
            copy.restore()
            if copy is self.fallback:
                return copy
            copy.test_accuracy = test_accuracy()
            if self.above_chance(copy.test_accuracy):
                return copy
        raise AssertionError("the fallback is always a candidate")
