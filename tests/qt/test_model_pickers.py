"""The toolbar's Model picker: sized to the network shown, on every screen."""


def test_the_model_picker_is_as_wide_as_the_network_shown_not_its_longest_entry(qtbot, window):
    # "LeNet-5 (1998 recipe, distortions)" sized the box once and pushed the toolbar past 1024 pixels (CI caught it)
    picker = window.model_picker
    metrics = picker.fontMetrics()
    widest = max(metrics.horizontalAdvance(picker.itemText(i)) for i in range(picker.count()))
    shown = metrics.horizontalAdvance(picker.currentText())
    assert shown < widest - 40
    assert shown < picker.sizeHint().width() < widest  # the text shown fits, the box stays narrow
    picker.showPopup()
    assert picker.view().width() > widest  # the open list shows every entry in full
    picker.hidePopup()
    # Another network, a longer name: the toolbar makes room for it (once the box kept its old size, cut short)
    window.switch_model("lenet5-lecun1998-distort", "mnist")
    qtbot.waitUntil(lambda: picker.currentText().startswith("LeNet-5 (1998 recipe, distortions)"))
    qtbot.waitUntil(lambda: picker.width() >= metrics.horizontalAdvance(picker.currentText()) + 20)
