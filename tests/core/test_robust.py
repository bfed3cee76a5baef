"""Issue 19's core: adversarial examples, distortions, sweeps and the sanity checks of attribution maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from cnnviz.core.errors import CnnvizError
from cnnviz.core.models.registry import build_model
from cnnviz.core.models.user_model import resolve_model_name
from cnnviz.core.resources import pretrained_path
from cnnviz.core.robust.attacks import attack
from cnnviz.core.robust.distort import Distortion, check_value
from cnnviz.core.robust.sanity import cascading_randomisation, ranks, spearman, weighted_stages
from cnnviz.core.robust.sweep import sweep
from cnnviz.core.training.evaluate import load_test_images
from cnnviz.core.weights.checkpoint import load_checkpoint

EXAMPLE = f"{Path(__file__).resolve().parents[2] / 'resources' / 'example_net.py'}:ExampleNet"


@pytest.fixture(scope="module")
def lenet():
    return load_checkpoint(pretrained_path("lenet", "mnist"), "lenet")[0].eval()


@pytest.fixture(scope="module")
def digits(data_dir):
    return load_test_images("mnist", range(20), data_dir)


def _answers(model, image) -> torch.Tensor:
    with torch.no_grad():
        return torch.softmax(model(torch.as_tensor(image, dtype=torch.float32).reshape(1, 1, 28, 28)), 1)[0]


@pytest.mark.parametrize("method", ["fgsm", "pgd"])
def test_the_adversarial_picture_stays_within_epsilon_and_the_answer_is_the_networks(lenet, digits, method):
    images, _ = digits
    for image in images[:5]:
        result = attack(lenet, image, method, 0.15)
        assert np.abs(result.adversarial - image).max() <= 0.15 + 1e-6
        assert result.adversarial.min() >= 0 and result.adversarial.max() <= 1
        assert result.adversarial.dtype == np.float32 and result.adversarial.shape == (28, 28)
        again = _answers(lenet, result.adversarial)  # re-run the network on the returned picture
        assert int(again.argmax()) == result.adversarial_class
        np.testing.assert_allclose(again.numpy(), result.adversarial_probabilities, atol=1e-6)
        assert result.original_class == int(_answers(lenet, image).argmax())
    assert not np.array_equal(result.adversarial, image)  # epsilon 0.15 moved the picture


def test_pgd_at_0_2_fools_the_modern_lenet_on_most_digits_and_reaches_targets(lenet, digits):
    images, _ = digits
    fooled = [attack(lenet, image, "pgd", 0.2).succeeded for image in images]
    targets = [(int(_answers(lenet, image).argmax()) + 3) % 10 for image in images]
    reached = [
        attack(lenet, image, "pgd", 0.2, target=t).adversarial_class == t
        for image, t in zip(images, targets, strict=True)
    ]
    assert sum(fooled) > 15, fooled
    assert sum(reached) > 10, reached


def test_epsilon_zero_changes_nothing_and_bad_attacks_are_one_sentence(lenet, digits):
    image = digits[0][0]
    result = attack(lenet, image, "fgsm", 0.0)
    assert np.array_equal(result.adversarial, image) and not result.succeeded
    answer = result.original_class
    for kwargs, message in [
        ({"epsilon": 1.5}, "Epsilon must be from 0 to 1"),
        ({"epsilon": float("nan")}, "Epsilon must be from 0 to 1"),
        ({"method": "deepfool"}, "Unknown attack 'deepfool'"),
        ({"target": answer}, f"already answers {answer}"),
        ({"target": 10}, "There is no class 10"),
    ]:
        with pytest.raises(CnnvizError, match=message):
            attack(lenet, image, **{"method": "fgsm", "epsilon": 0.1, **kwargs})


def _dot(row: int, col: int) -> np.ndarray:
    image = np.zeros((28, 28), np.float32)
    image[row, col] = 1.0
    return image


def _where(image: np.ndarray) -> tuple[int, int]:
    return tuple(int(i) for i in np.unravel_index(image.argmax(), image.shape))


def test_distortions_move_the_ink_where_they_say():
    dot = _dot(5, 20)  # up and right of the centre (13.5, 13.5)
    assert _where(Distortion(shift_x=3).apply_image(dot)) == (5, 23)
    assert _where(Distortion(shift_y=-2).apply_image(dot)) == (3, 20)
    assert _where(Distortion(rotate=90).apply_image(dot)) == (7, 5)  # counter-clockwise: up and left
    assert _where(Distortion(rotate=-90).apply_image(dot)) == (20, 22)
    half = Distortion(scale=0.5).apply_image(dot)
    assert _where(half) == (9, 17) and half.sum() == pytest.approx(0.25, abs=1e-5)
    assert Distortion(thickness=1).apply_image(dot).sum() == 9  # a 3x3 square
    bar = np.zeros((28, 28), np.float32)
    bar[10:13, 5:20] = 1
    thin = Distortion(thickness=-1).apply_image(bar)
    assert thin.sum() == 13 and thin[11, 6:19].all()  # one row of 13 pixels left
    assert Distortion(occlude=4, occlude_x=20, occlude_y=5).apply_image(dot).sum() == 0
    assert Distortion(occlude=4).apply_image(dot).sum() == 1  # the centre square misses the dot


def test_identity_is_exact_and_noise_is_repeatable(digits):
    x = torch.from_numpy(digits[0][:4]).reshape(-1, 1, 28, 28)
    assert torch.equal(Distortion().apply(x), x)
    for transform, value in [("rotate", 0), ("shift-x", 0), ("scale", 1), ("thickness", 0), ("noise", 0)]:
        assert torch.equal(Distortion().with_value(transform, value).apply(x), x)
    noisy = Distortion(noise=0.3)
    assert torch.equal(noisy.apply(x), noisy.apply(x)) and not torch.equal(noisy.apply(x), x)
    assert noisy.apply(x).min() >= 0 and noisy.apply(x).max() <= 1


@pytest.mark.parametrize(
    "transform, value, message",
    [("scale", 0, "from 0.1 to 4"), ("rotate", 400, "from -180 to 180"), ("thickness", 1.5, "whole number"),
     ("noise", float("inf"), "from 0 to 1"), ("occlude", -1, "from 0 to 28"), ("blur", 1, "Unknown distortion")],
)  # fmt: skip
def test_senseless_distortion_values_are_one_sentence(transform, value, message):
    with pytest.raises(CnnvizError, match=message) as info:
        check_value(transform, value)
    assert "\n" not in str(info.value)


def test_sweep_at_the_identity_equals_the_evaluation_of_the_same_images(small_data_dir):
    from cnnviz.core.training.evaluate import evaluate

    model = build_model("lenet", seed=3)  # untrained: about a tenth right, with ties broken as evaluate breaks them
    full = evaluate(model, "mnist", small_data_dir)
    n = 150
    expected = float((full.predictions[:n] == full.labels[:n]).mean())
    result = sweep(model, "mnist", "rotate", [0, 30], n=n, data_dir=small_data_dir)
    assert result.values == [0, 30] and result.n == n
    assert result.accuracy[0] == expected
    assert sweep(model, "mnist", "scale", [1.0], n=n, data_dir=small_data_dir).accuracy == [expected]


def test_sweep_shows_the_trained_lenet_losing_the_rotated_digits(lenet, data_dir):
    result = sweep(lenet, "mnist", "rotate", [0, 60], n=200, data_dir=data_dir)
    assert result.accuracy[0] > 0.95 and result.accuracy[1] < 0.7


def test_ranks_and_spearman():
    assert ranks(np.array([3.0, 1.0, 2.0, 1.0])).tolist() == [4.0, 1.5, 3.0, 1.5]
    a = np.arange(16.0).reshape(4, 4)
    assert spearman(a, a**3) == pytest.approx(1.0)
    assert spearman(a, -a) == pytest.approx(1.0)  # absolute values
    assert spearman(a, 15 - a) == pytest.approx(-1.0)
    assert spearman(a, np.zeros((4, 4))) == 0.0


def test_cascading_randomisation_destroys_lenet5_saliency_and_leaves_the_model(data_dir):
    model = load_checkpoint(pretrained_path("lenet5", "mnist"), "lenet5")[0].eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    images, _ = load_test_images("mnist", range(8), data_dir)
    result = cascading_randomisation(model, images, "saliency")
    assert result.stages == ["(original)", "F6", "C5", "S4", "C3", "S2", "C1"]
    assert result.correlation[0] == 1.0 and len(result.maps) == len(result.stages)
    assert result.correlation[-1] < 0.3 and result.correlation[1] < 0.9
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_the_sanity_check_can_be_cancelled(lenet, digits):
    from cnnviz.core.robust.sanity import SanityCancelled

    seen = []
    with pytest.raises(SanityCancelled):
        cascading_randomisation(lenet, digits[0][:2], "gradcam", progress=lambda d, t: seen.append((d, t)) or d < 2)
    assert seen == [(1, 6), (2, 6)]


def test_every_part_works_for_the_users_network(small_data_dir):
    model = build_model(resolve_model_name(EXAMPLE), seed=0).eval()
    image = load_test_images("mnist", [0], small_data_dir)[0][0]
    result = attack(model, image, "pgd", 0.1)
    assert np.abs(result.adversarial - image).max() <= 0.1 + 1e-6
    assert sweep(model, "mnist", "shift-x", [0, 2], n=20, data_dir=small_data_dir).n == 20
    assert [name for name, _ in weighted_stages(model)] == ["stem", "blocks.0", "blocks.1", "head"]
    sanity = cascading_randomisation(model, np.stack([image, image]), "gradcam")
    assert sanity.stages == ["(original)", "head", "blocks.1", "blocks.0", "stem"]
    assert all(np.isfinite(sanity.correlation))


def test_data_randomisation_trains_on_permuted_labels_with_the_engine(small_data_dir, tmp_path):
    from cnnviz.core.data.datasets import load_split
    from cnnviz.core.robust.shuffled import PASSES, compare_networks, shuffled_data_dir, train_on_shuffled_labels

    folder = shuffled_data_dir("mnist", small_data_dir, seed=1, dest=tmp_path / "shuffled", subset=100)
    x, y = load_split("mnist", False, folder)
    train_x, train_y = load_split("mnist", True, folder)
    assert len(x) == 100 and len(train_x) == 100 * PASSES and torch.equal(train_y[:100], y)
    real_x, real_y = load_split("mnist", True, small_data_dir)
    own = real_y[[int(torch.nonzero((real_x == image).all(2).all(1))[0]) for image in x]]
    assert sorted(y.tolist()) == sorted(own.tolist())  # the same labels, permuted:
    assert (own != y).float().mean() > 0.5  # most are not the image's own
    end = train_on_shuffled_labels("lenet", "mnist", small_data_dir, seed=1, dest=tmp_path / "shuffled", subset=100)
    assert end.model is not None and end.reason == "completed", end.message
    trained = build_model("lenet", seed=5).eval()
    corr = compare_networks(trained, end.model.eval(), x[:2].numpy() / 255.0, "saliency")
    assert -1 <= corr <= 1


def test_the_relabelled_copy_goes_to_the_cache_folder_never_the_data_folder(small_data_dir, tmp_path, monkeypatch):
    from cnnviz.core.robust.shuffled import shuffled_data_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    before = sorted(p.name for p in small_data_dir.rglob("*"))
    folder = shuffled_data_dir("mnist", small_data_dir, seed=2, subset=50)
    assert folder.is_relative_to(tmp_path / "cache") and (folder / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").exists()
    assert sorted(p.name for p in small_data_dir.rglob("*")) == before
    assert shuffled_data_dir("mnist", small_data_dir, seed=2, subset=50) == folder  # written once, then reused
