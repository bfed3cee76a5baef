"""The single computations the unit inspector writes out: one ``Step`` each.

Each function explains the unit at ``idx`` of one module's output from that
module's input, recomputing the value in float64 so the inspector's numbers
can be checked against the captured float32 activations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from cnnviz.core.errors import CnnvizError
from cnnviz.core.models.blocks import Normalize
from cnnviz.core.models.lenet import EuclideanRBF, PartialConv2d, Squash, Subsampling

# Activation modules: display name and formula (the value is computed by the module itself).
ACTIVATIONS: dict[type, tuple[str, str]] = {
    nn.ReLU: ("ReLU", "max(0, a)"),
    Squash: ("LeNet-5 squash", "1.7159 tanh(2a/3)"),
    nn.Sigmoid: ("sigmoid", "1 / (1 + exp(-a))"),
    nn.Tanh: ("tanh", "tanh(a)"),
    nn.LeakyReLU: ("leaky ReLU", "max(0, a) + slope min(0, a)"),
    nn.ReLU6: ("ReLU6", "min(max(0, a), 6)"),
    nn.ELU: ("ELU", "a if a > 0 else exp(a) - 1"),
    nn.GELU: ("GELU", "a Phi(a)"),
    nn.SiLU: ("SiLU", "a sigmoid(a)"),
}


@dataclass
class Step:
    """One computation on the way to the unit.

    ``kind`` is one of: normalize, pad, flatten, batchnorm, activation, dropout,
    lrn, convolution, subsampling, max_pool, avg_pool, linear, rbf, inception,
    residual, other. ``value`` is the unit's value after the step; ``details``
    holds the step's own numbers (plain lists and floats).
    """

    kind: str
    module: str
    value: float
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "module": self.module, "value": self.value, "details": self.details}


def float64(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().double().numpy()


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _windows(x: np.ndarray, y: int, xx: int, k, s, p, d, fill: float) -> tuple[np.ndarray, int, int]:
    """The (C, kh, kw) window of a (C, H, W) input under output (y, xx), padding with ``fill``."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = _pair(k), _pair(s), _pair(p), _pair(d)
    top, left = y * sh - ph, xx * sw - pw
    padded = np.pad(x, ((0, 0), (ph, ph + kh * dh), (pw, pw + kw * dw)), constant_values=fill)
    win = padded[:, top + ph : top + ph + dh * (kh - 1) + 1 : dh, left + pw : left + pw + dw * (kw - 1) + 1 : dw]
    return win, top, left


def _cells(win: np.ndarray) -> list:
    """Window values as nested lists, padding (inf or nan) as None."""
    return [[None if not np.isfinite(v) else float(v) for v in row] for row in win]


# -- the mixing steps: each explains the unit at ``idx`` of ``module(x)`` -----------------
def conv_step(module: nn.Module, name: str, x: np.ndarray, idx: tuple) -> Step:
    c, y, xx = idx
    if isinstance(module, PartialConv2d):
        weight, k, s, p, d, groups = float64(module.dense_weight()), module.kernel_size, 1, 0, 1, 1
        connected = np.flatnonzero(module.connection_table[:, c].cpu().numpy()).tolist()
    else:
        if isinstance(module.padding, str) or module.padding_mode != "zeros":
            raise CnnvizError(
                f"The inspector cannot yet explain the convolution '{name}' (padding '{module.padding}')."
            )
        weight, k, s, p, d, groups = (
            float64(module.weight),
            module.kernel_size,
            module.stride,
            module.padding,
            module.dilation,
            module.groups,
        )
        per_group = weight.shape[1]
        g = c // (weight.shape[0] // groups)
        connected = list(range(g * per_group, (g + 1) * per_group))
    win, top, left = _windows(x, y, xx, k, s, p, d, 0.0)
    inputs, total = [], 0.0
    for i in connected:
        kernel = weight[c, i % weight.shape[1]]
        products = win[i] * kernel
        inputs.append(
            {
                "channel": i,
                "top": top,
                "left": left,
                "patch": win[i].tolist(),
                "kernel": kernel.tolist(),
                "products": products.tolist(),
                "sum": float(products.sum()),
            }  # fmt: skip
        )
        total += float(products.sum())
    bias = float(float64(module.bias)[c]) if module.bias is not None else 0.0
    details = {
        "inputs": inputs,
        "sum_of_products": total,
        "bias": bias,
        "stride": list(_pair(s)),
        "padding": list(_pair(p)),
    }
    if isinstance(module, PartialConv2d):
        details["connected_inputs"] = connected
    return Step("convolution", name, total + bias, details)


def subsampling_step(module: Subsampling, name: str, x: np.ndarray, idx: tuple) -> Step:
    c, y, xx = idx
    win = x[c, 2 * y : 2 * y + 2, 2 * xx : 2 * xx + 2]
    coef, bias = float(float64(module.weight)[c]), float(float64(module.bias)[c])
    total = float(win.sum())
    details = {"top": 2 * y, "left": 2 * xx, "window": win.tolist(), "sum": total, "coefficient": coef, "bias": bias}
    return Step("subsampling", name, total * coef + bias, details)


def pool_step(module: nn.Module, name: str, x: np.ndarray, idx: tuple) -> Step:
    c, y, xx = idx
    if isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        out = _pair(module.output_size if module.output_size is not None else x.shape[1:])
        h, w = x.shape[1:]
        r0, r1 = y * h // out[0], -(-(y + 1) * h // out[0])
        c0, c1 = xx * w // out[1], -(-(xx + 1) * w // out[1])
        win, top, left, divisor = x[c, r0:r1, c0:c1], r0, c0, (r1 - r0) * (c1 - c0)
        is_max = isinstance(module, nn.AdaptiveMaxPool2d)
    else:
        is_max = isinstance(module, nn.MaxPool2d)
        stride = module.stride if module.stride is not None else module.kernel_size
        fill = -np.inf if is_max else np.nan
        win3, top, left = _windows(
            x[c : c + 1], y, xx, module.kernel_size, stride, module.padding, getattr(module, "dilation", 1), fill
        )
        win = win3[0]
        divisor = getattr(module, "divisor_override", None) or (
            win.size if getattr(module, "count_include_pad", True) else int(np.isfinite(win).sum())
        )
    details = {"top": top, "left": left, "window": _cells(win)}
    if is_max:
        wy, wx = np.unravel_index(int(np.argmax(np.where(np.isfinite(win), win, -np.inf))), win.shape)
        details["winner"] = [top + int(wy), left + int(wx)]
        return Step("max_pool", name, float(win[wy, wx]), details)
    total = float(np.nansum(win))
    details.update(sum=total, divisor=int(divisor))
    return Step("avg_pool", name, total / divisor, details)


def _source_label(i: int, source_shape: tuple[int, ...] | None) -> list[int]:
    return [int(v) for v in np.unravel_index(i, source_shape)] if source_shape else [int(i)]


def linear_step(module: nn.Module, name: str, x: np.ndarray, idx: tuple, source_shape, top: int) -> Step:
    (j,) = idx
    if isinstance(module, EuclideanRBF):
        centre = float64(module.centres)[j]
        terms = (x - centre) ** 2
        order = np.argsort(-terms, kind="stable")[:top]
        listed = [{"index": int(i), "source": _source_label(i, source_shape), "input": float(x[i]),
                   "centre": float(centre[i]), "squared_difference": float(terms[i])} for i in order]  # fmt: skip
        rest = float(terms.sum() - terms[order].sum())
        details = {"distance": float(terms.sum()), "top": listed, "rest": rest, "n_inputs": int(x.size),
                   "note": "the score is minus the squared distance to the class's fixed centre"}  # fmt: skip
        return Step("rbf", name, -float(terms.sum()), details)
    weight = float64(module.weight)[j]
    terms = weight * x
    order = np.argsort(-np.abs(terms), kind="stable")[:top]
    listed = [{"index": int(i), "source": _source_label(i, source_shape), "input": float(x[i]),
               "weight": float(weight[i]), "contribution": float(terms[i])} for i in order]  # fmt: skip
    bias = float(float64(module.bias)[j]) if module.bias is not None else 0.0
    details = {"top": listed, "rest": float(terms.sum() - terms[order].sum()), "sum_of_products": float(terms.sum()),
               "bias": bias, "n_inputs": int(x.size)}  # fmt: skip
    return Step("linear", name, float(terms.sum()) + bias, details)


def _activation(module: nn.Module, a: float) -> float:
    """The activation computed from its formula in float64 (the module's own code for others)."""
    if isinstance(module, nn.ReLU):
        return max(a, 0.0)
    if isinstance(module, Squash):
        return 1.7159 * float(np.tanh(a * 2.0 / 3.0))
    if isinstance(module, nn.Sigmoid):
        return float(1.0 / (1.0 + np.exp(-a)))
    if isinstance(module, nn.Tanh):
        return float(np.tanh(a))
    has_params = any(True for _ in module.parameters())
    with torch.no_grad():
        return float(module(torch.tensor([a], dtype=torch.float32 if has_params else torch.float64))[0])


def pointwise_step(module: nn.Module, name: str, a: float, xin: torch.Tensor, idx: tuple) -> Step:
    """An element-wise step applied to ``a``, the value the previous step computed."""
    details: dict = {"input": a}
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        c = idx[0]
        mean, var = float64(module.running_mean)[c], float64(module.running_var)[c]
        gamma = float64(module.weight)[c] if module.weight is not None else 1.0
        beta = float64(module.bias)[c] if module.bias is not None else 0.0
        # Folded: (a - mean) / sqrt(var + eps) * gamma + beta = a * scale + shift.
        scale = gamma / np.sqrt(var + module.eps)
        shift = beta - mean * scale
        details.update(mean=float(mean), var=float(var), eps=module.eps, gamma=float(gamma), beta=float(beta),
                       scale=float(scale), shift=float(shift))  # fmt: skip
        return Step("batchnorm", name, a * float(scale) + float(shift), details)
    if isinstance(module, Normalize):
        details.update(mean=module.mean, std=module.std)
        return Step("normalize", name, (a - module.mean) / module.std, details)
    if isinstance(module, nn.LocalResponseNorm):
        c = idx[0]
        lo, hi = max(c - module.size // 2, 0), min(c + (module.size - 1) // 2, xin.shape[1] - 1)
        neigh = float64(xin[0, lo : hi + 1, idx[1], idx[2]])
        neigh[c - lo] = a
        divisor = (module.k + module.alpha / module.size * float((neigh**2).sum())) ** module.beta
        details.update(channels=[lo, hi + 1], neighbours=neigh.tolist(), size=module.size, alpha=module.alpha,
                       beta=module.beta, k=module.k, divisor=divisor)  # fmt: skip
        return Step("lrn", name, a / divisor, details)
    if isinstance(module, nn.Dropout | nn.Dropout2d | nn.Identity):
        details["note"] = "identity in eval mode"
        return Step("identity" if isinstance(module, nn.Identity) else "dropout", name, a, details)
    label, formula = ACTIVATIONS.get(type(module), (type(module).__name__, ""))
    details.update(function=label, formula=formula)
    return Step("activation", name, _activation(module, a), details)
