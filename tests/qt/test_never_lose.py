"""Issue 10, items 6 and 7: a trained network is never thrown away without asking, the accuracy
shown is that of the weights on screen, and test images go to the network as they are."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QCloseEvent

from cnnviz.core import RunEnd, build_model


def _train_quickly(window, accuracy=0.5):
    """What a finished run leaves behind, without the minutes: the session's own rules adopt it."""
    session = window.session
    model, _note = session.begin_training("lenet", "mnist", from_current=False)
    session.end_training(RunEnd("completed", "Trained.", steps=5, model=model,
                                metadata={"test_accuracy": accuracy}))  # fmt: skip
    assert session.has_unsaved_work
    return model


def test_the_shown_accuracy_is_that_of_the_weights_on_screen(window):
    assert window.status_accuracy.text().startswith("Test accuracy: 99.")  # shipped LeNet-5
    _train_quickly(window, accuracy=0.4321)
    assert window.status_accuracy.text() == "Test accuracy: 43.21%"
    assert window.model_picker.currentText().endswith("43.2% test acc.")  # not the shipped 99.5 %
    window.session.begin_training("lenet", "mnist", from_current=False)
    assert window.status_accuracy.text() == "Test accuracy: not evaluated"  # a run's live weights
    window.session.end_training(RunEnd("stopped", "Stopped.", steps=3, model=build_model("lenet")))
    assert window.status_accuracy.text() == "Test accuracy: not evaluated"  # stopped: never evaluated


@pytest.mark.parametrize("answer, switched", [("Cancel", False), ("Discard", True)])
def test_switching_network_asks_before_a_trained_network_is_lost(window, answer, switched):
    trained = _train_quickly(window)
    window.answers = [answer]
    assert window.switch_model("alexnet", "mnist") is switched
    ((title, text, buttons),) = window.asked
    assert buttons == ["Save…", "Discard", "Cancel"] and "not saved" in text
    assert (window.session.model_name == "alexnet") is switched
    assert (window.session.model is trained) is not switched


def test_saving_first_then_switching(window, tmp_path, monkeypatch):
    _train_quickly(window)
    saved = []
    monkeypatch.setattr(window.files, "save_weights", lambda path=None: saved.append(path) or True)
    window.answers = ["Save…"]
    assert window.switch_model("vgg", "mnist") and saved == [None]  # the Save dialog, then the switch
    assert window.session.model_name == "vgg"


def test_saved_weights_need_no_question(window, tmp_path):
    _train_quickly(window)
    assert window.save_weights(tmp_path / "run.safetensors")
    assert not window.session.has_unsaved_work
    assert window.switch_model("alexnet", "mnist") and window.asked == []


def test_opening_weights_and_quitting_ask_too(window, tmp_path):
    _train_quickly(window)
    window.answers = ["Cancel"]
    assert not window.open_weights(tmp_path / "whatever.safetensors")
    event = QCloseEvent()
    window.answers = ["Cancel"]
    window.closeEvent(event)
    assert not event.isAccepted() and window.isVisible()  # Cancel keeps the window and the network
    assert len(window.asked) == 2


def test_training_from_scratch_asks_first(window):
    trained = _train_quickly(window)
    window.answers = ["Cancel"]
    assert not window.monitor.start()
    assert window.session.model is trained and not window.monitor.is_running()


def test_random_test_images_go_to_the_network_unchanged(qtbot, window, data_dir):
    """Ctrl+R feeds the dataset's 28x28 image as it is: the app's answers are the network's own."""
    from cnnviz.core.data.datasets import load_split

    window.switch_model("lenet5", "fashion-mnist")
    window.files.test_image_rng = np.random.default_rng(0)
    images, labels = load_split("fashion-mnist", False, data_dir)
    qtbot.waitUntil(window.show_random_test_image, timeout=60_000)  # the first press reads the test set
    picks = np.random.default_rng(0).integers(len(images), size=40)
    window.files.test_image_rng = np.random.default_rng(0)
    app_right = net_right = 0
    for i in picks:
        assert window.show_random_test_image()
        window.settle()
        image = images[i].float().div(255).numpy()
        np.testing.assert_array_equal(window.session.result.image, image)  # no crop, no re-centring
        assert window.session.result.true_label == int(labels[i])
        app_right += int(np.argmax(window.session.result.probabilities)) == int(labels[i])
        net_right += int(np.argmax(window.session.predict(image))) == int(labels[i])
    assert app_right == net_right and app_right >= 30  # ~90 % of 40, as on the whole test set
