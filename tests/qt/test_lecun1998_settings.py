"""The Training panel's recipe choice: LeNet-5 the 1998 way, offered for LeNet-5 only."""

from __future__ import annotations


def test_the_1998_recipe_is_offered_for_lenet5_only_and_becomes_the_config(qtbot):
    from cnnviz.qt.training.settings import TrainingSettings

    form = TrainingSettings()
    qtbot.addWidget(form)
    form.model_combo.setCurrentIndex(form.model_combo.findData("lenet"))
    assert not form.recipe_combo.isEnabled() and form.config().recipe is None
    form.model_combo.setCurrentIndex(form.model_combo.findData("lenet5"))
    assert form.recipe_combo.isEnabled()
    form.recipe_combo.setCurrentIndex(form.recipe_combo.findData("lecun1998"))
    assert (form.epochs_spin.value(), form.batch_spin.value()) == (20, 10)  # the paper's passes, ten samples a step
    assert not form.optimizer_combo.isEnabled() and not form.schedule_combo.isEnabled()
    assert "1998 schedule: 1e-05" in form.lr_note.text() and form.lr_spin.value() == 0.00001
    form.augment_check.setChecked(True)  # with the 1998 recipe: the paper's distortions
    config = form.config()
    assert (config.model, config.recipe, config.distort, config.augment) == ("lenet5", "lecun1998", True, False)
    assert config.lr is None  # the schedule's own rates
    # Another network: back to the modern recipe, its settings usable again.
    form.model_combo.setCurrentIndex(form.model_combo.findData("alexnet"))
    assert form.config().recipe is None and form.optimizer_combo.isEnabled() and form.config().augment


def test_the_panel_trains_lenet5_the_1998_way(qtbot, window, tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tiny_idx import write_idx_dataset

    qtbot.waitUntil(lambda: window.monitor is not None, timeout=120_000)
    monitor = window.monitor
    window.data_dir = write_idx_dataset(tmp_path, n_train=288, n_test=130)
    form = monitor.settings
    form.recipe_combo.setCurrentIndex(form.recipe_combo.findData("lecun1998"))
    form.epochs_spin.setValue(1)
    form.batch_spin.setValue(8)  # 288 images: 36 SDLM steps
    with qtbot.waitSignal(monitor.trainingFinished, timeout=120_000) as blocker:
        assert monitor.start()
    end = blocker.args[0]
    assert end.reason != "error" and end.steps == 36, end.message
    assert end.metadata["recipe"]["recipe"] == "lecun1998" and end.model_name == "lenet5"
