"""Adversarial examples with captum.robust: FGSM (Goodfellow et al. 2014) and PGD (Madry et al. 2017).

The perturbation is an L-infinity ball of radius ``epsilon`` in the model input's own
pixel units: cnnviz feeds 28x28 images in [0, 1] and every network normalises
itself inside ``forward``, so an epsilon of 0.1 lets each pixel move by a tenth of
full ink. The result is projected back into the ball and into [0, 1] here as well
(captum clamps too; this guards its rounding), and the network's answers are
computed on exactly the float32 picture that is returned.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from captum.robust import FGSM, PGD
from torch import nn

from cnnviz.core.errors import CnnvizError

METHODS = {"fgsm": "FGSM (one step)", "pgd": "PGD (iterated steps)"}
PGD_STEPS = 20
PGD_STEP_FRACTION = 0.125  # each step moves pixels by epsilon / 8: 20 steps can cross the ball 2.5 times


@dataclass
class AttackResult:
    """One attack on one picture: both pictures (28x28 float32 in [0, 1]) and both answers."""

    method: str
    epsilon: float
    target: int | None  # the class the attack aimed at; None for untargeted
    original: np.ndarray
    adversarial: np.ndarray
    original_probabilities: np.ndarray  # (classes,)
    adversarial_probabilities: np.ndarray

    @property
    def original_class(self) -> int:
        return int(np.argmax(self.original_probabilities))

    @property
    def adversarial_class(self) -> int:
        return int(np.argmax(self.adversarial_probabilities))

    @property
    def perturbation(self) -> np.ndarray:
        """Adversarial minus original, signed, in [-epsilon, epsilon]."""
        return self.adversarial - self.original

    @property
    def succeeded(self) -> bool:
        """Untargeted: the answer changed. Targeted: the answer is the target."""
        if self.target is None:
            return self.adversarial_class != self.original_class
        return self.adversarial_class == self.target

    def as_dict(self) -> dict:
        return {
            "method": self.method,
            "epsilon": self.epsilon,
            "target": self.target,
            "original": {"class": self.original_class, "probabilities": self.original_probabilities.tolist()},
            "adversarial": {
                "class": self.adversarial_class,
                "probabilities": self.adversarial_probabilities.tolist(),
                "image": self.adversarial.astype(float).tolist(),
            },
        }


def _pausing(model: nn.Module, pause: Callable[[], object]) -> Callable[[torch.Tensor], torch.Tensor]:
    def forward(x: torch.Tensor) -> torch.Tensor:
        pause()
        return model(x)

    return forward


def _margin(scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The best other class's score minus the class ``target``'s (Carlini and Wagner's margin).

    Untargeted attacks raise it (away from the answer), targeted ones lower it (towards the
    target). Cross-entropy would do the same, but its gradient vanishes on a confident answer
    (1 - p of about 1e-8), and captum leaves pixels whose gradient is below 1e-6 untouched.
    """
    scores = scores.float()
    own = scores.gather(1, target[:, None])[:, 0]
    others = scores.scatter(1, target[:, None], float("-inf"))
    return others.max(1).values - own


def check_epsilon(epsilon: float) -> float:
    """Epsilon as a float in [0, 1], or one sentence."""
    try:
        value = float(epsilon)
    except (TypeError, ValueError):
        raise CnnvizError(f"Epsilon must be a number from 0 to 1, not '{epsilon}'.") from None
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise CnnvizError(f"Epsilon must be from 0 to 1 (a share of full ink), not {epsilon}.")
    return value


def _device(model: nn.Module) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


@torch.no_grad()
def probabilities(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Softmax of the model's scores for a batch N x 1 x 28 x 28."""
    return torch.softmax(model(images).float(), 1)


def attack(
    model: nn.Module,
    image: np.ndarray,
    method: str = "fgsm",
    epsilon: float = 0.1,
    target: int | None = None,
    pause: Callable[[], object] | None = None,
) -> AttackResult:
    """Perturb one 28x28 picture in [0, 1] within ``epsilon`` (L-infinity) to change the network's answer.

    Parameters
    ----------
    method
        ``fgsm`` or ``pgd`` (``PGD_STEPS`` steps of epsilon * ``PGD_STEP_FRACTION``, no random start,
        so the same picture gives the same result).
    target
        None: untargeted, away from the network's current answer. A class: towards that class;
        it must differ from the current answer.
    pause
        Called before each forward pass of the attack: a worker passes a function that waits
        while the app answers a stroke, so an attack on every drawing yields the cores (and the GIL).

    Raises
    ------
    CnnvizError
        For an unknown method, an epsilon outside [0, 1], or a target that is no class or is
        already the answer.
    """
    if method not in METHODS:
        raise CnnvizError(f"Unknown attack '{method}'; choose one of: {', '.join(METHODS)}.")
    epsilon = check_epsilon(epsilon)
    device = _device(model)
    x = torch.as_tensor(np.asarray(image, dtype=np.float32), device=device).reshape(1, 1, 28, 28).clamp(0, 1)
    was_training = model.training
    model.eval()
    try:
        before = probabilities(model, x)[0]
        answer = int(before.argmax())
        if target is not None:
            if not 0 <= target < before.numel():
                raise CnnvizError(f"There is no class {target}; the model has classes 0 to {before.numel() - 1}.")
            if target == answer:
                raise CnnvizError(
                    f"The network already answers {target}; aim at another class, or attack without a target."
                )
        aim = answer if target is None else int(target)
        aim_t = torch.tensor([aim], device=device)
        start = x.clone().requires_grad_(True)  # our own copy; captum would warn and set it itself
        # captum's default loss is -log(output), meant for probabilities: the networks give scores.
        kind, bounds = (FGSM if method == "fgsm" else PGD), {"lower_bound": 0.0, "upper_bound": 1.0}
        forward = model if pause is None else _pausing(model, pause)
        attacker = kind(forward, loss_func=_margin, **bounds)
        with torch.enable_grad(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")
            if method == "fgsm":
                adv = attacker.perturb(start, epsilon, aim_t, targeted=target is not None)
            else:
                step = epsilon * PGD_STEP_FRACTION
                adv = attacker.perturb(start, epsilon, step, PGD_STEPS, aim_t, targeted=target is not None)
        adv = torch.minimum(torch.maximum(adv.detach(), x - epsilon), x + epsilon).clamp(0.0, 1.0)
        after = probabilities(model, adv)[0]
    finally:
        model.train(was_training)
    return AttackResult(
        method,
        epsilon,
        None if target is None else int(target),
        x[0, 0].cpu().numpy(),
        adv[0, 0].cpu().numpy(),
        before.cpu().numpy(),
        after.cpu().numpy(),
    )


def answers(model: nn.Module, image: np.ndarray) -> np.ndarray:
    """A network's probabilities for one 28x28 picture (for the transfer table: the other networks)."""
    device = _device(model)
    x = torch.as_tensor(np.asarray(image, dtype=np.float32), device=device).reshape(1, 1, 28, 28)
    was_training = model.training
    model.eval()
    try:
        return probabilities(model, x)[0].cpu().numpy()
    finally:
        model.train(was_training)
