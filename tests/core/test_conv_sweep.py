"""The convolution animation's numbers: for every convolution stage of every zoo network, the swept
output map is the convolution's own output, and each position's channel sums are the inspector's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnviz.core.errors import CnnvizError
from cnnviz.core.inspect.conv_sweep import convolution_sweep, find_convolution
from cnnviz.core.inspect.unit_inspector import capture_stages, inspect_unit
from cnnviz.core.models.lenet import PartialConv2d
from cnnviz.core.models.registry import build_model

ZOO = ("lenet5", "lenet", "alexnet", "vgg", "googlenet", "resnet")


def _conv_output(model, name: str, image: np.ndarray) -> np.ndarray:
    out = []
    hook = model.get_submodule(name).register_forward_hook(lambda _m, _a, o: out.append(o.detach().double()))
    with torch.no_grad():
        model(torch.as_tensor(image, dtype=torch.float32).reshape(1, 1, 28, 28))
    hook.remove()
    return out[0][0].numpy()


@pytest.mark.parametrize("name", ZOO)
def test_every_convolution_stage_sweeps_to_its_own_output(name):
    model = build_model(name, seed=1).eval()
    image = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    swept = 0
    named, _ins, outs = capture_stages(model, image)
    for (stage, _module), out in zip(named, outs, strict=True):
        if out.dim() != 4:
            continue
        c, h, w = out.shape[1:]  # channel 1 where there is one (GoogLeNet's branches), else 0
        explanation = inspect_unit(model, image, stage, channel=min(1, c - 1), y=min(1, h - 1), x=min(1, w - 1))
        found = find_convolution([s.as_dict() for s in explanation.steps], explanation.channel)
        if found is None:
            continue
        module, channel = found
        sweep = convolution_sweep(model, image, module, channel)
        expected = _conv_output(model, module, image)[channel]
        np.testing.assert_allclose(sweep.output, expected, rtol=1e-5, atol=1e-5)
        # The inspector's own numbers for one position: the same channel sums and value.
        conv = next(s for s in _walk([s.as_dict() for s in explanation.steps]) if s["kind"] == "convolution")
        step = next(k for k in range(sweep.positions) if sweep.window(k)[2:] == (
            conv["details"]["inputs"][0]["top"] + sweep.padding[0], conv["details"]["inputs"][0]["left"] + sweep.padding[1]))  # fmt: skip
        assert sweep.value(step) == pytest.approx(
            conv["details"]["sum_of_products"] + conv["details"]["bias"], abs=1e-9
        )
        assert [c["channel"] for c in conv["details"]["inputs"]] == list(sweep.input_channels)
        np.testing.assert_allclose(sweep.sums[step], [c["sum"] for c in conv["details"]["inputs"]], atol=1e-9)
        np.testing.assert_allclose(sweep.patch(step, 0), conv["details"]["inputs"][0]["patch"], atol=1e-9)
        filled = sweep.filled(step + 1)
        assert np.isfinite(filled.reshape(-1)[: step + 1]).all() and np.isnan(filled.reshape(-1)[step + 1 :]).all()
        swept += 1
    assert swept >= 2, f"{name}: only {swept} convolution stages"


def _walk(steps):
    for s in steps:
        yield s
        details = s.get("details") or {}
        yield from _walk(details.get("steps", []) + details.get("main_steps", []))


def test_lenet5_c3_sums_only_its_connected_maps():
    model = build_model("lenet5", seed=2).eval()
    image = np.random.default_rng(1).random((28, 28)).astype(np.float32)
    c3 = next(n for n, m in model.named_modules() if isinstance(m, PartialConv2d))
    sweep = convolution_sweep(model, image, c3, 0)
    assert sweep.input_channels == (0, 1, 2)  # C3's map 0 reads S2's maps 0, 1, 2 only
    assert sweep.output.shape == (10, 10)


def test_what_is_not_a_convolution_is_one_sentence():
    model = build_model("lenet", seed=0)
    with pytest.raises(CnnvizError, match="no module"):
        convolution_sweep(model, np.zeros((28, 28)), "nope", 0)
    linear = next(n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear))
    with pytest.raises(CnnvizError, match="not a convolution"):
        convolution_sweep(model, np.zeros((28, 28)), linear, 0)
