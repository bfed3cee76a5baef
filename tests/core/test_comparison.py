"""Six networks side by side: each answer is that network's own prediction."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core import ModelSession
from cnnviz.core.data.datasets import load_split
from cnnviz.core.errors import CnnvizError
from cnnviz.core.inspect.comparison import ZooComparison, zoo_names


@pytest.fixture(scope="module")
def images(data_dir) -> dict[str, np.ndarray]:
    return {d: load_split(d, False, data_dir)[0][:3].float().div(255).numpy() for d in ("mnist", "fashion-mnist")}


def test_the_zoo_is_the_six_networks():
    assert zoo_names() == ["lenet5", "lenet", "alexnet", "vgg", "googlenet", "resnet"]


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_side_by_side_answers_equal_each_networks_own_prediction(images, dataset):
    comparison = ZooComparison(dataset)
    session = ModelSession()
    for image in images[dataset]:
        answers = comparison.predict(image)
        assert [a["name"] for a in answers] == zoo_names()
        for answer in answers:
            assert session.load_pretrained(answer["name"], dataset)
            expected = session.predict(image)
            np.testing.assert_allclose(answer["probabilities"], expected, atol=1e-6)
            assert answer["top"] == int(np.argmax(expected))
            assert answer["confidence"] == pytest.approx(float(expected.max()))
            assert answer["trained"] and answer["note"] == ""
            assert answer["display_name"] == session.spec.display_name


def test_the_pretrained_networks_mostly_read_test_digits_right(data_dir):
    x, y = load_split("mnist", False, data_dir)
    comparison = ZooComparison("mnist")
    right = sum(a["top"] == int(y[i]) for i in range(20) for a in comparison.predict(x[i].float().div(255).numpy()))
    assert right >= 0.9 * 20 * 6


def test_weights_are_read_once_per_network(monkeypatch, images):
    import cnnviz.core.inspect.comparison as comparison_module

    calls = []
    real = comparison_module.load_checkpoint
    monkeypatch.setattr(comparison_module, "load_checkpoint", lambda *a: calls.append(a[1]) or real(*a))
    comparison = ZooComparison("mnist", ["lenet5", "lenet"])
    for image in images["mnist"]:
        comparison.predict(image)
    assert calls == ["lenet5", "lenet"]


def test_known_answers_are_taken_as_they_are(images):
    comparison = ZooComparison("mnist", ["lenet5", "lenet"])
    given = np.full(10, 0.1, np.float32)
    lenet5, lenet = comparison.predict(images["mnist"][0], known={"lenet5": given})
    np.testing.assert_array_equal(lenet5["probabilities"], given)
    assert "lenet5" not in comparison._models and "lenet" in comparison._models  # never loaded, never run
    assert lenet["confidence"] > 0.5


def test_a_missing_weights_file_gives_random_weights_and_says_so(tmp_path, monkeypatch, images):
    monkeypatch.setenv("CNNVIZ_WEIGHTS_DIR", str(tmp_path))
    (answer,) = ZooComparison("mnist", ["lenet"]).predict(images["mnist"][0])
    assert not answer["trained"] and "random weights" in answer["note"]
    assert answer["probabilities"].shape == (10,) and abs(float(answer["probabilities"].sum()) - 1) < 1e-5


def test_a_wrong_shape_is_one_sentence():
    with pytest.raises(CnnvizError, match="28x28"):
        ZooComparison("mnist").predict(np.zeros((32, 32)))


def test_pause_is_called_between_every_networks_stages_and_changes_no_answer(images):
    """The worker's yield to the drawing: called before each network and each of its stages."""
    calls = []
    plain = ZooComparison("mnist", names=["lenet5", "resnet"])
    pausing = ZooComparison("mnist", names=["lenet5", "resnet"], pause=lambda: calls.append(1))
    image = images["mnist"][0]
    a, b = plain.predict(image), pausing.predict(image)
    stages = sum(len(list(pausing._model(n)[0].children())) for n in pausing.names)
    assert len(calls) >= stages + 2
    assert all(np.allclose(x["probabilities"], y["probabilities"]) for x, y in zip(a, b, strict=True))
