"""``evaluate``'s optional per-image probabilities, its progress/cancel callback, and the gallery's orderings."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from cnnviz.core import ModelSession
from cnnviz.core.training.evaluate import (
    EvaluationCancelled,
    count_test_images,
    evaluate,
    evaluate_copy,
    load_test_images,
)


@pytest.fixture(scope="module")
def lenet5(data_dir):
    session = ModelSession("lenet5", "mnist")
    assert session.load_pretrained("lenet5", "mnist")
    return session.model


def test_probabilities_agree_with_the_plain_path(lenet5, data_dir):
    plain = evaluate(lenet5, "mnist", data_dir)
    full = evaluate(lenet5, "mnist", data_dir, probabilities=True)
    assert plain.probabilities is None
    assert full.probabilities.shape == (10_000, 10) and full.probabilities.dtype == np.float32
    assert np.allclose(full.probabilities.sum(1), 1, atol=1e-4)
    assert (full.probabilities.argmax(1) == full.predictions).all()
    assert (full.confusion == plain.confusion).all() and full.accuracy == plain.accuracy
    _, labels = load_test_images("mnist", np.arange(10_000), data_dir)
    assert (full.labels == labels).all() and count_test_images("mnist", data_dir) == 10_000


def test_progress_reports_each_batch_and_false_cancels(lenet5, data_dir):
    seen = []
    evaluate(lenet5, "mnist", data_dir, batch_size=2500, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(2500, 10_000), (5000, 10_000), (7500, 10_000), (10_000, 10_000)]
    calls = []
    with pytest.raises(EvaluationCancelled):
        evaluate(lenet5, "mnist", data_dir, batch_size=1000, progress=lambda d, t: calls.append(d) or d < 3000)
    assert calls == [1000, 2000, 3000]  # stopped at once, not at the end


def test_pairs_and_mistakes_most_confident_first(lenet5, data_dir):
    result = evaluate_copy(copy.deepcopy(lenet5), "mnist", data_dir, device="cpu", probabilities=True)
    confidence = result.confidence()
    true, pred = np.unravel_index(np.argmax(result.confusion - np.diag(np.diag(result.confusion))), (10, 10))
    pair = result.pair_indices(true, pred)
    assert len(pair) == result.confusion[true, pred] > 0
    assert (result.labels[pair] == true).all() and (result.predictions[pair] == pred).all()
    assert (np.diff(confidence[pair]) <= 0).all()
    mistakes = result.confident_mistakes()
    assert sorted(mistakes.tolist()) == result.misclassified.tolist()
    assert (np.diff(confidence[mistakes]) <= 0).all()
    images, labels = load_test_images("mnist", mistakes[:3], data_dir)
    assert images.shape == (3, 28, 28) and images.dtype == np.float32 and 0 <= images.min() <= images.max() <= 1
    assert (labels == result.labels[mistakes[:3]]).all()
