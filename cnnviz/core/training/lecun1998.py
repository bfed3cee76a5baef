"""LeNet-5 trained the 1998 way: the MAP criterion on the RBF outputs, SDLM, the paper's schedule.

LeCun, Bottou, Bengio, Haffner, "Gradient-Based Learning Applied to Document
Recognition", Proc. IEEE 86(11), 1998: section II.C (the loss, eq. 9),
section III.C (20 passes, the learning-rate schedule, distortions), appendix C
(stochastic diagonal Levenberg-Marquardt). Qt-free.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnviz.core.training.lenet5_hessian import diagonal_hessian
from cnnviz.core.training.recipe_defaults import RECIPE_MODELS
from cnnviz.core.training.sdlm import SDLM

RECIPES = tuple(RECIPE_MODELS)
MODEL = "lenet5"  # the recipe's loss reads the faithful LeNet-5's RBF outputs
# What it trains: LeNet-5 registered under the recipe's name, so that its weights ship apart (with --distort too).
VARIANT, DISTORT_VARIANT = "lenet5-lecun1998", "lenet5-lecun1998-distort"
# The global learning rate per pass (section III.C): 0.0005 for 2 passes, 0.0002 for 3,
# 0.0001 for 3, 0.00005 for 4, then 0.00001.
PAPER_ETA_SCHEDULE = ((2, 0.0005), (3, 0.0002), (3, 0.0001), (4, 0.00005))
PAPER_ETA_AFTER = 0.00001
# Ours: the paper's schedule / 50. With the paper's initialisation (+-2.4/fan-in) every
# h_kk below F6 starts far under mu, so the first steps are eta/mu = 0.025 x the gradient,
# and at the paper's 0.0005 (or 0.0001) the network saturated within ten samples and never
# recovered (per-sample updates too); 0.00003 did the same, 0.00002 trained. Half that is the
# default (20 passes: 1.21 % test error, against 1.53 % at 0.00002); --lr 0.0005 runs the
# paper's numbers as printed.
ETA_SCALE = 1 / 50
ETA_SCHEDULE = tuple((passes, eta * ETA_SCALE) for passes, eta in PAPER_ETA_SCHEDULE)
ETA_AFTER = PAPER_ETA_AFTER * ETA_SCALE
MU = 0.02  # appendix C: keeps the step bounded where the curvature is small
HESSIAN_SAMPLES = 500  # re-estimated on this many training samples before each pass
RUBBISH_J = 0.1  # eq. 9's positive constant j (the paper gives no value)


def eta_for_pass(epoch: int) -> float:
    """The global learning rate for pass ``epoch`` (0-based): the paper's schedule times ``ETA_SCALE``."""
    start = 0
    for passes, eta in ETA_SCHEDULE:
        if epoch < start + passes:
            return eta
        start += passes
    return ETA_AFTER


def map_loss(scores: torch.Tensor, labels: torch.Tensor, j: float = RUBBISH_J) -> torch.Tensor:
    """Eq. 9, averaged over the batch: ``E = y_D + log(e^-j + sum_i e^-y_i)``.

    ``scores`` are the LeNet-5's outputs, the negated RBF distances ``-y``
    (cnnviz.core.models.lenet.EuclideanRBF); ``e^-j`` is the "rubbish class"
    that stops already large distances from being pushed further up.
    """
    rubbish = scores.new_full((len(scores), 1), -j)
    correct = -scores.gather(1, labels[:, None])[:, 0]  # y_D
    return (correct + torch.logsumexp(torch.cat([rubbish, scores], 1), 1)).mean()


class PaperDistortion:
    """Random planar affine distortions (section III.C): horizontal and vertical translations,
    scaling, squeezing (compress one way, stretch the other) and horizontal shearing.

    The paper shows them (its Fig. 7) but gives no ranges; these are ours.
    """

    max_shift = 2.0  # pixels
    max_scale = 0.1
    max_squeeze = 0.15
    max_shear = 0.25

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        n, _, h, w = x.shape

        def uniform(bound: float) -> torch.Tensor:
            return (torch.rand(n, device=x.device, generator=generator) * 2 - 1) * bound

        scale, squeeze, shear = 1 + uniform(self.max_scale), 1 + uniform(self.max_squeeze), uniform(self.max_shear)
        tx, ty = uniform(self.max_shift * 2 / w), uniform(self.max_shift * 2 / h)
        # affine_grid maps output to input coordinates: the inverse of the distortion drawn.
        sx, sy = 1 / (scale * squeeze), squeeze / scale
        zero = torch.zeros_like(sx)
        theta = torch.stack([torch.stack([sx, -shear * sx, tx], 1), torch.stack([zero, sy, ty], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class Lecun1998:
    """The recipe's pieces for the training loop: optimizer, schedule, criterion, Hessian refresh.

    The paper updates after every sample. Here a batch of ``b`` samples makes one
    update with the gradient of their summed loss (``backward_scale``): the sum of
    the ``b`` per-sample steps at the paper's rates, taken from the batch's
    starting weights. A sample moves each weight by at most ``eta/mu`` times its
    gradient (0.0005 at the first rate), so ten at once stay in step. The epochs
    and batch size are the run's (RECIPE_DEFAULTS: 20 passes, batches of 10).
    """

    def __init__(self, model: torch.nn.Module, steps_per_epoch: int, lr: float | None = None) -> None:
        self.model = model
        # --lr scales the whole schedule (its first value replaced); by default ours, the paper's / 50.
        self.scale = (lr / ETA_SCHEDULE[0][1]) if lr is not None else 1.0
        self.optimizer = SDLM(model.parameters(), lr=eta_for_pass(0) * self.scale, mu=MU)
        self.steps_per_epoch = steps_per_epoch
        self.schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: eta_for_pass(step // steps_per_epoch) / ETA_SCHEDULE[0][1]
        )

    @staticmethod
    def criterion(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return map_loss(scores, labels)

    @staticmethod
    def backward_scale(batch: int) -> float:
        """The batch-mean loss times this is the summed loss: one paper step per sample."""
        return float(batch)

    def refresh_hessian(self, images: torch.Tensor) -> None:
        """Re-estimate every ``h_kk`` on these samples (float images, as the model takes them).

        The paper's diagonal Gauss-Newton estimate (cnnviz.core.training.lenet5_hessian);
        like the paper's, it does not depend on the labels.
        """
        self.optimizer.set_hessian(diagonal_hessian(self.model, images, RUBBISH_J))


def check_recipe(recipe: str | None, model: str, distort: bool) -> str | None:
    """One sentence for a recipe that cannot be used as asked, else None."""
    if recipe is None:
        return (
            "The paper's distortions are part of the lecun1998 recipe: choose that recipe to use them."
            if distort
            else None
        )
    if recipe not in RECIPES:
        return f"Recipe must be one of {', '.join(RECIPES)}, not '{recipe}'."
    if model not in RECIPE_MODELS[recipe]:
        return f"The lecun1998 recipe trains the faithful LeNet-5 ({MODEL}) only, not {model}: its loss reads the RBF outputs."
    return None


def hessian_sample(order: torch.Tensor) -> torch.Tensor:
    """The pass's Hessian samples: the first of its (random) order."""
    return order[: min(HESSIAN_SAMPLES, len(order))]
