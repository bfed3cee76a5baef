"""The paper's estimate of LeNet-5's diagonal second derivatives (LeCun et al. 1998, appendix C).

Second derivatives are back-propagated like gradients, with the weights
squared and every cross term dropped (the Gauss-Newton, diagonal approximation):

    d2E/da_i^2 = f'(a_i)^2 * d2E/dx_i^2          (through a squashing unit)
    d2E/dx_j^2 = sum_i w_ij^2 * d2E/da_i^2        (down a layer)
    h_kk       = sum over the connections (i, j) that share weight k of d2E/da_i^2 * x_j^2

At the top, d2E/dx^2 for F6's outputs is the diagonal of the MAP loss's exact
Hessian through the RBF units. All samples go through at once: nothing here
needs per-sample gradients. Qt-free.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

STAGES = ("C1", "S2", "C3", "S4", "C5", "F6")  # each: [Flatten,] a layer with weights, then Squash


def _pre_activation(layer: nn.Module, z: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The layer's weighted sums of ``z`` with ``weight`` in place of its own, bias left out."""
    from cnnviz.core.models.lenet import PartialConv2d, Subsampling

    if isinstance(layer, Subsampling):
        return F.avg_pool2d(z, 2) * 4.0 * weight.view(1, -1, 1, 1)
    if isinstance(layer, PartialConv2d):
        dense = weight.new_zeros(layer.mask.shape).masked_scatter(layer.mask, weight)
        return F.conv2d(z, dense)
    if isinstance(layer, nn.Conv2d):
        return F.conv2d(z, weight)
    if isinstance(layer, nn.Linear):
        return F.linear(z, weight)
    raise TypeError(f"no second-derivative rule for {type(layer).__name__}")


def _squash_slope(a: torch.Tensor) -> torch.Tensor:
    """f'(a) of the paper's f(a) = 1.7159 tanh(2a/3)."""
    return 1.7159 * (2.0 / 3.0) * (1 - torch.tanh(a * (2.0 / 3.0)) ** 2)


def rbf_map_second_derivatives(x: torch.Tensor, centres: torch.Tensor, j: float) -> torch.Tensor:
    """d2E/dx_k^2 of eq. 9 by F6's outputs x, per sample: the diagonal of its exact Hessian.

    With y_i = |x - w_i|^2, p the softmax over (-j, -y) and q = p without the rubbish
    class, the Hessian is ``2 p_rubbish I + G^T (diag(q) - q q^T) G``, G's rows 2 (x - w_i);
    its diagonal is never negative.
    """
    n = len(x)
    g = 2 * (x[:, None, :] - centres[None])  # (N, 10, 84): dy_i/dx
    y = (g / 2).pow(2).sum(2)
    p = torch.softmax(torch.cat([x.new_full((n, 1), -j), -y], 1), 1)
    q = p[:, 1:]
    mean_g = (q[:, :, None] * g).sum(1)  # q^T G
    return 2 * p[:, :1] + (q[:, :, None] * g * g).sum(1) - mean_g**2


@torch.no_grad()
def diagonal_hessian(model: nn.Module, images: torch.Tensor, j: float) -> list[torch.Tensor]:
    """Per-sample average of each parameter's h_kk, in ``model.parameters()`` order (a ``LeNet5``)."""
    was_training = model.training
    model.eval()
    try:
        x = model.input(images)
        records = []  # (layer, its input, its weighted sums)
        for name in STAGES:
            *before, layer, squash = getattr(model, name)
            for module in before:
                x = module(x)
            a = layer(x)
            records.append((layer, x, a))
            x = squash(a)
        d2 = rbf_map_second_derivatives(x, model.output.centres, j)
        h = {}
        with torch.enable_grad():
            for layer, inp, a in reversed(records):
                d2a = d2.view_as(a) * _squash_slope(a) ** 2
                weight = layer.weight.detach().requires_grad_()
                # Linear in the weight: the gradient of <d2a, sums of x^2> is sum over connections of d2a x^2.
                (h[layer.weight],) = torch.autograd.grad(
                    (d2a * _pre_activation(layer, inp * inp, weight)).sum(), weight
                )
                h[layer.bias] = d2a.sum(0) if d2a.dim() == 2 else d2a.sum((0, 2, 3))
                z = torch.zeros_like(inp, requires_grad=True)
                # Linear in z: the gradient of <d2a, sums of z with squared weights> sends d2a down.
                (d2,) = torch.autograd.grad((d2a * _pre_activation(layer, z, layer.weight.detach() ** 2)).sum(), z)
    finally:
        model.train(was_training)
    return [h[p] / len(images) for p in model.parameters()]
