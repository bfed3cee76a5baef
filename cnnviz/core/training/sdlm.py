"""Stochastic diagonal Levenberg-Marquardt (LeCun et al. 1998, appendix C).

Every parameter k gets its own step ``eta / (mu + h_kk)``, where ``h_kk`` is a
Gauss-Newton estimate of the loss's second derivative along that parameter,
re-estimated on a few hundred samples now and then (the paper: 500, before
each pass) and held fixed in between. Qt-free; works for any model.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


class SDLM(torch.optim.Optimizer):
    """``p -= lr / (mu + h) * grad`` per parameter; ``h`` from ``set_hessian`` (zero until then)."""

    def __init__(self, params, lr: float = 0.0005, mu: float = 0.02) -> None:
        if not lr > 0 or not mu > 0:
            raise ValueError("SDLM needs a learning rate and mu above 0")
        super().__init__(params, {"lr": lr, "mu": mu})

    @torch.no_grad()
    def set_hessian(self, diagonals: list[torch.Tensor]) -> None:
        """Hold these second-derivative estimates, one per parameter in the groups' order."""
        params = [p for group in self.param_groups for p in group["params"]]
        if len(diagonals) != len(params):
            raise ValueError(f"{len(diagonals)} Hessian diagonals for {len(params)} parameters")
        for p, h in zip(params, diagonals, strict=True):
            self.state[p]["hessian"] = h.detach().to(p.device, p.dtype).reshape(p.shape).clone()

    def step_sizes(self, p: torch.Tensor, group: dict) -> torch.Tensor:
        """The per-element step ``eta_k = lr / (mu + h_kk)`` of one parameter."""
        h = self.state[p].get("hessian")
        return group["lr"] / (group["mu"] + (h if h is not None else torch.zeros_like(p)))

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.sub_(self.step_sizes(p, group) * p.grad)
        return loss
