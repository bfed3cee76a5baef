"""LeNet-5 the 1998 way: SDLM, the MAP loss, the paper's second derivatives, the recipe end to end."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from cnnviz.cli import commands as cli
from cnnviz.core.errors import CnnvizError
from cnnviz.core.models.lenet import LeNet5
from cnnviz.core.training import lecun1998
from cnnviz.core.training.config import TrainConfig
from cnnviz.core.training.lenet5_hessian import diagonal_hessian, rbf_map_second_derivatives
from cnnviz.core.training.recipe_defaults import RECIPE_DEFAULTS
from cnnviz.core.training.sdlm import SDLM


def test_sdlm_step_is_eta_over_mu_plus_h_times_the_gradient():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    optimizer = SDLM(model.parameters(), lr=0.01, mu=0.02)
    hessian = [torch.rand_like(p) for p in model.parameters()]
    optimizer.set_hessian(hessian)
    before = [p.detach().clone() for p in model.parameters()]
    model(torch.randn(5, 3)).pow(2).sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    optimizer.step()
    for p, w, g, h in zip(model.parameters(), before, grads, hessian, strict=True):
        expected = w - 0.01 / (0.02 + h) * g
        assert torch.allclose(p.detach(), expected, atol=1e-7)
    # Before any estimate h is 0: the step is lr / mu times the gradient.
    fresh = nn.Linear(2, 1)
    w = fresh.weight.detach().clone()
    fresh.weight.grad = torch.ones_like(w)
    SDLM([fresh.weight], lr=0.01, mu=0.02).step()
    assert torch.allclose(fresh.weight.detach(), w - 0.5)


def test_map_loss_is_equation_9():
    torch.manual_seed(1)
    distances = torch.rand(4, 10) * 20
    labels = torch.tensor([0, 3, 9, 5])
    j = 0.1
    by_hand = [
        distances[n, labels[n]].item() + math.log(math.exp(-j) + sum(math.exp(-d) for d in distances[n].tolist()))
        for n in range(4)
    ]
    assert lecun1998.map_loss(-distances, labels, j).item() == pytest.approx(sum(by_hand) / 4, rel=1e-5)


def test_rbf_second_derivatives_are_the_diagonal_of_the_exact_hessian():
    torch.manual_seed(2)
    centres = torch.randn(10, 6).sign()
    x, labels = torch.randn(3, 6), torch.tensor([1, 4, 7])
    diagonals = rbf_map_second_derivatives(x, centres, 0.1)
    for n in range(3):
        loss = lambda v, n=n: lecun1998.map_loss(-(v[None] - centres).pow(2).sum(1)[None], labels[n : n + 1], 0.1)  # noqa: E731
        hessian = torch.autograd.functional.hessian(loss, x[n])
        assert torch.allclose(diagonals[n], hessian.diagonal(), atol=1e-5)


def test_f6_second_derivatives_by_hand():
    """h for F6's weights: the mean over samples of d2E/da_k^2 x_j^2 (one connection per weight)."""
    torch.manual_seed(3)
    model = LeNet5()
    images = torch.rand(5, 1, 28, 28)
    h = dict(zip([n for n, _ in model.named_parameters()], diagonal_hessian(model, images, 0.1), strict=True))
    with torch.no_grad():
        c5 = model.C5(model.S4(model.C3(model.S2(model.C1(model.input(images))))))
        x = c5.flatten(1)
        a = model.F6[1](x)
        slope = 1.7159 * 2 / 3 * (1 - torch.tanh(a * 2 / 3) ** 2)
        d2a = rbf_map_second_derivatives(model.F6(c5), model.output.centres, 0.1) * slope**2  # (N, 84)
    assert torch.allclose(h["F6.1.bias"], d2a.mean(0), rtol=1e-4)
    assert torch.allclose(h["F6.1.weight"], (d2a[:, :, None] * x[:, None, :] ** 2).mean(0), rtol=1e-4, atol=1e-12)
    assert all((v >= 0).all() for v in h.values())
    assert all(v.shape == p.shape for v, p in zip(h.values(), model.parameters(), strict=True))


def test_schedule_is_the_papers_shape():
    paper = [0.0005] * 2 + [0.0002] * 3 + [0.0001] * 3 + [0.00005] * 4 + [0.00001] * 8
    ours = [lecun1998.eta_for_pass(p) for p in range(20)]
    assert ours == pytest.approx([eta * lecun1998.ETA_SCALE for eta in paper])
    assert RECIPE_DEFAULTS["lecun1998"]["first_lr"] == lecun1998.eta_for_pass(0)  # what the panel shows
    recipe = lecun1998.Lecun1998(LeNet5(), steps_per_epoch=3, lr=0.0005)  # --lr: the paper's numbers as printed
    rates = []
    for _ in range(9):
        rates.append(recipe.optimizer.param_groups[0]["lr"])
        recipe.optimizer.step()
        recipe.schedule.step()
    assert rates == pytest.approx([0.0005] * 6 + [0.0002] * 3)


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"model": "lenet", "recipe": "lecun1998"}, "trains the faithful LeNet-5 (lenet5) only"),
        ({"model": "lenet5", "recipe": "adam1998"}, "Recipe must be one of lecun1998"),
        ({"model": "lenet5", "distort": True}, "distortions are part of the lecun1998 recipe"),
    ],
)
def test_recipe_refused_with_one_sentence(fields, words):
    with pytest.raises(CnnvizError) as caught:
        TrainConfig(**fields)
    message = str(caught.value)
    assert words in message and "\n" not in message and message.count(". ") == 0


def test_cli_refuses_the_recipe_for_another_model(capsys, monkeypatch):
    monkeypatch.setattr("cnnviz.core.training.loop.train", lambda *a, **k: pytest.fail("training started"))
    assert cli.main(["train", "--model", "alexnet", "--recipe", "lecun1998"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("cnnviz: error: The lecun1998 recipe trains the faithful LeNet-5") and "\n" not in err


def test_recipe_end_to_end_writes_weights_that_name_it(small_data_dir, tmp_path, capsys):
    from cnnviz.core.weights.checkpoint import load_checkpoint

    out = tmp_path / "w.safetensors"
    argv = ["train", "--model", "lenet5", "--recipe", "lecun1998", "--distort", "--epochs", "2", "--lr", "0.00002"]
    code = cli.main([*argv, "--data-dir", str(small_data_dir), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    model, meta = load_checkpoint(out)
    assert meta["model"] == lecun1998.DISTORT_VARIANT and isinstance(model, LeNet5)  # ships apart from lenet5's
    recipe = meta["recipe"]
    assert (recipe["recipe"], recipe["distort"], recipe["epochs"], recipe["batch_size"]) == ("lecun1998", True, 2, 10)
    assert meta["test_accuracy"] > 0.3  # learned something in 240 small steps (chance: 0.1)
    assert recipe["lr"] == 0.00002  # --lr: the schedule scaled to start there
    # The recorded command names the recipe, not the settings it replaces, and runs as written.
    command = cli.train_command(recipe, "weights/x.safetensors")
    assert "--recipe lecun1998" in command and "--distort" in command and "--optimizer" not in command
    args = cli._parser().parse_args(command.split()[1:])
    assert cli.config_from_args(args).as_dict() == recipe


def test_recipe_defaults_on_the_command_line():
    args = cli._parser().parse_args(["train", "--model", "lenet5", "--recipe", "lecun1998"])
    assert (args.epochs, args.batch_size) == (20, 10)
    args = cli._parser().parse_args(["train", "--recipe", "lecun1998", "--epochs", "3", "--batch-size", "1"])
    assert (args.epochs, args.batch_size) == (3, 1)
    args = cli._parser().parse_args(["train"])
    assert (args.epochs, args.batch_size) == (TrainConfig().epochs, TrainConfig().batch_size)


def test_paper_distortion_keeps_the_shape_and_moves_the_ink():
    torch.manual_seed(4)
    images = torch.zeros(8, 1, 28, 28)
    images[:, :, 8:20, 12:16] = 1.0
    distorted = lecun1998.PaperDistortion()(images, torch.Generator().manual_seed(0))
    assert distorted.shape == images.shape
    assert (distorted - images).abs().sum((1, 2, 3)).min() > 0  # every image moved
    assert distorted.sum((1, 2, 3)).sub(images.sum((1, 2, 3))).abs().max() < 0.35 * images[0].sum()  # still the stroke


def test_the_runs_list_names_the_recipe_not_the_unused_optimizer():
    from cnnviz.core.training.run_log import describe, difference_labels

    recipe = TrainConfig(model="lenet5", recipe="lecun1998", epochs=20, batch_size=10).as_dict()
    assert describe(recipe) == "LeNet-5 (1998) · MNIST · 1998 recipe (SDLM) lr 1e-05 · 20 epochs"
    modern = TrainConfig(model="lenet5", epochs=20, batch_size=10).as_dict()
    distorted = {**recipe, "distort": True}
    labels = difference_labels([recipe, distorted, modern])
    assert "distorted" in labels[1] and "not distorted" in labels[0] and labels[2].startswith("Adam")
