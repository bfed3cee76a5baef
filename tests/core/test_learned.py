"""What each unit has learned: top test images, maximised pictures, the test set's map (issue 18)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnviz.core.data.datasets import load_split
from cnnviz.core.learned import cache
from cnnviz.core.learned.embedding import embed, features, penultimate_stage
from cnnviz.core.learned.maximise import maximise, strength_of
from cnnviz.core.learned.stage_pass import stage_outputs
from cnnviz.core.learned.topk import ranked, top_images
from cnnviz.core.models.registry import build_model
from cnnviz.core.resources import pretrained_path
from cnnviz.core.weights.checkpoint import load_checkpoint


def _shipped(name: str):
    return load_checkpoint(pretrained_path(name, "mnist"), name)[0].eval()


def _brute_force_top(model, stage: str, images: torch.Tensor, k: int = 9):
    """Every image's strength at once (one big batch, no incremental merge) and the ranking it gives."""
    out = stage_outputs(model, stage, images.unsqueeze(1).float() / 255)
    flat = out.reshape(len(out), out.shape[1], -1)
    values, means = flat.amax(2).numpy().T, flat.mean(2).numpy().T
    indices = np.broadcast_to(np.arange(len(out)), values.shape)
    order = ranked(values, means, indices)[:, :k]
    return np.take_along_axis(values, order, 1), order, flat.argmax(2).numpy().T


@pytest.mark.parametrize(("name", "stage"), [("lenet5", "C3"), ("lenet", "conv2")])
def test_top_nine_are_the_true_top_nine_over_the_whole_test_set(data_dir, tmp_path, name, stage):
    model = _shipped(name)
    images, labels = load_split("mnist", False, data_dir)
    found = top_images(model, "mnist", stage, 9, data_dir, cache_folder=tmp_path)
    values, order, where = _brute_force_top(model, stage, images)
    assert found.values.shape == (16, 9) and found.map_shape == (10, 10) and len(images) == 10_000
    np.testing.assert_allclose(found.values, values, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(found.indices, order)
    np.testing.assert_array_equal(found.labels, labels.numpy()[order])
    spots = np.take_along_axis(where, order, 1)
    np.testing.assert_array_equal(found.ys * 10 + found.xs, spots)
    assert np.all(np.diff(found.values, axis=1) <= 0)  # strongest first


@pytest.mark.parametrize(("name", "stage", "channels"), [("lenet5", "C3", (0, 2, 9)), ("lenet", "conv2", (0, 5))])
def test_the_maximised_picture_beats_the_best_test_image(data_dir, tmp_path, name, stage, channels):
    model = _shipped(name)
    best = top_images(model, "mnist", stage, 1, data_dir, cache_folder=tmp_path)
    for channel in channels:
        pictures = list(maximise(model, stage, channel, steps=128))
        assert [p.step for p in pictures] == list(range(16, 129, 16)) and pictures[-1].done
        final = pictures[-1]
        assert final.image.shape == (28, 28) and 0 <= final.image.min() and final.image.max() <= 1
        assert final.value == pytest.approx(float(strength_of(model, stage, channel, final.image)[0]), rel=1e-5)
        # LeNet-5's squashing saturates at 1.7159: a saturated best image is matched to 1e-4
        assert final.value >= best.values[channel, 0] - 1e-4 * abs(best.values[channel, 0])


def test_a_class_output_is_maximised_too():
    model = build_model("lenet").eval()
    pictures = list(maximise(model, "fc3", 3, steps=64))
    start = float(strength_of(model, "fc3", 3, np.full((28, 28), 0.2))[0])
    assert pictures[-1].value > start


def test_the_tsne_map_keeps_classes_apart_and_places_a_drawing_among_its_class(data_dir):
    model = _shipped("lenet")
    stage = penultimate_stage([n for n in ("conv1", "pool1", "conv2", "pool2", "fc1", "fc2", "fc3")])
    assert stage == "fc2"
    feats = features(model, "mnist", stage, 2000, data_dir)
    assert feats.values.shape == (2000, 84) and len(set(feats.indices)) == 2000
    seen = []
    emb = embed(feats, "tsne", progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (750, 750)
    p = emb.points
    d = ((p[:, None] - p[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    votes = np.array([np.bincount(feats.labels[row], minlength=10).argmax() for row in np.argsort(d, 1)[:, :5]])
    assert (votes == feats.labels).mean() >= 0.90
    images, labels = load_split("mnist", False, data_dir)
    outside = [i for i in range(40) if i not in set(feats.indices.tolist())][:5]
    for i in outside:  # a "drawing": a test image the map does not hold
        drawn = stage_outputs(model, stage, images[i : i + 1].unsqueeze(1).float() / 255)[0].numpy()
        point = emb.place(drawn)
        nearest = feats.labels[np.argsort(((p - point) ** 2).sum(1))[:10]]
        assert np.bincount(nearest, minlength=10).argmax() == labels[i]


def test_pca_places_a_point_where_its_features_project(small_data_dir):
    model = build_model("lenet").eval()
    feats = features(model, "mnist", "fc1", 150, small_data_dir)
    emb = embed(feats, "pca")
    assert emb.points.shape == (150, 2)
    np.testing.assert_allclose(emb.place(feats.values[:3]), emb.points[:3], atol=1e-3)
    assert emb.points[:, 0].var() >= emb.points[:, 1].var()  # first axis: the most variance


def test_the_cache_answers_a_second_start_and_new_weights_miss_it(small_data_dir, tmp_path):
    model = build_model("lenet", seed=1).eval()
    calls = []

    def progress(done, total):
        calls.append(done)

    first = top_images(model, "mnist", "conv2", 4, small_data_dir, progress=progress, cache_folder=tmp_path)
    assert calls and list((tmp_path / "learned").glob("top-*.npz"))
    calls.clear()
    cache.forget_memory()  # a new start: only the disk can answer
    again = top_images(model, "mnist", "conv2", 4, small_data_dir, progress=progress, cache_folder=tmp_path)
    assert calls == [] and np.array_equal(again.indices, first.indices) and again.map_shape == first.map_shape
    with torch.no_grad():  # a kernel edit, a training step: other weights
        model.conv2[0].weight[0].mul_(-1)
    changed = top_images(model, "mnist", "conv2", 4, small_data_dir, progress=progress, cache_folder=tmp_path)
    assert calls and not np.array_equal(changed.values[0], first.values[0])


def test_every_stage_of_the_users_network(small_data_dir, tmp_path):
    from cnnviz.core.inspect.description import describe
    from cnnviz.core.models.user_model import resolve_model_name

    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    model = build_model(resolve_model_name(f"{root}/resources/example_net.py:ExampleNet")).eval()
    names = describe(model).stage_names
    for stage in names:
        top = top_images(model, "mnist", stage, 3, small_data_dir, cache_folder=tmp_path)
        assert top.indices.shape[1] == 3 and np.all(top.indices >= 0)
        assert next(maximise(model, stage, 0, steps=16)).image.shape == (28, 28)
    emb = embed(features(model, "mnist", penultimate_stage(names), 60, small_data_dir), "pca")
    assert emb.points.shape == (60, 2)


def test_fashion_mnist_too(small_data_dir, tmp_path):
    model = build_model("lenet5").eval()
    top = top_images(model, "fashion-mnist", "C3", 5, small_data_dir, cache_folder=tmp_path)
    labels = load_split("fashion-mnist", False, small_data_dir)[1].numpy()
    np.testing.assert_array_equal(top.labels, labels[top.indices])
    assert top_images(model, "mnist", "C3", 5, small_data_dir, cache_folder=tmp_path) is not top  # its own key
    assert len(list((tmp_path / "learned").glob("top-*.npz"))) == 2
    assert embed(features(model, "fashion-mnist", "F6", 50, small_data_dir), "pca").points.shape == (50, 2)
