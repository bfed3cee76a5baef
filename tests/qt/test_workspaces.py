"""Workspaces (issue 17, item 1): the drawing and the answer always on screen, the rest one group at a time."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDockWidget, QTabBar

from cnnviz.qt.app.workspaces import ALWAYS, WORKSPACES
from cnnviz.qt.widgets.visibility import is_on_screen


def shown(window) -> set[str]:
    return {d.objectName() for d in window.findChildren(QDockWidget) if not d.isHidden()}


def names(window, attrs) -> set[str]:
    return {getattr(window, a).objectName() for a in attrs}


def test_each_workspace_shows_its_panels_beside_the_drawing_and_the_answer(qtbot, window):
    window.resize(1280, 720)
    for name, (_tip, docks) in WORKSPACES.items():
        window.show_workspace(name)
        assert window.current_workspace() == name
        assert shown(window) == names(window, ALWAYS) | names(window, docks), name
        assert window.docks.workspaces.actions[name].isChecked()


def test_ctrl_digits_switch_workspaces(qtbot, window):
    for k, name in enumerate(WORKSPACES, start=1):
        qtbot.keyClick(window.canvas, Qt.Key(Qt.Key.Key_0 + k), Qt.KeyboardModifier.ControlModifier)
        assert window.current_workspace() == name


def test_the_workspace_bar_has_a_large_button_per_workspace(window):
    bar = window.docks.workspaces.bar
    buttons = [bar.widgetForAction(a) for a in window.docks.workspaces.actions.values()]
    assert [b.text() for b in buttons] == list(WORKSPACES)
    assert all(b.font().pointSizeF() > window.font().pointSizeF() for b in buttons)
    with __import__("pytest").raises(ValueError):
        window.show_workspace("Nowhere")


def test_view_menu_brings_a_panel_forward_and_never_hides_it(qtbot, window):
    window.show()
    action = next(a for a in window.view_menu.actions() if a.text() == "Show Six networks")
    assert not action.isCheckable()
    for _ in range(2):  # the second choice does not hide it either
        action.trigger()
        assert window.current_workspace() == "Why"
        qtbot.waitUntil(lambda: is_on_screen(window.comparison), timeout=3000)
    next(a for a in window.view_menu.actions() if a.text() == "Show C3 table").trigger()
    assert window.current_workspace() == "Inside"
    qtbot.waitUntil(lambda: is_on_screen(window.c3), timeout=3000)
    assert window.dock_comparison.isHidden()


def test_selecting_a_unit_brings_the_inspector_forward_from_another_workspace(qtbot, window):
    window.show()
    window.show_workspace("Train")
    window.state.select_unit("C1", 0, 3, 3)
    assert window.current_workspace() == "Inside"
    qtbot.waitUntil(lambda: is_on_screen(window.inspector), timeout=3000)


def test_each_workspace_remembers_its_own_arrangement(qtbot, tmp_path):
    from cnnviz.qt import MainWindow

    path = str(tmp_path / "layouts.ini")
    w = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    w.dock_kernels.hide()  # the user closes a panel in Inside
    w.show_workspace("Why")
    assert not w.dock_kernels.isVisible()
    w.show_workspace("Inside")
    assert w.dock_kernels.isHidden() and not w.dock_maps.isHidden()  # Inside's own arrangement came back
    w.show_workspace("Train")
    w.close()

    again = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    again.show()
    assert again.current_workspace() == "Train" and not again.dock_training.isHidden()
    again.show_workspace("Inside")
    assert again.dock_kernels.isHidden()
    again.reset_layout()  # forgets every workspace's arrangement
    assert not again.dock_kernels.isHidden()


def test_presentation_pages_step_through_the_workspace_then_the_next(qtbot, window):
    window.show()
    window.set_presentation_mode(True)
    qtbot.wait(50)
    inside = window.docks.workspaces.docks("Inside")
    if window.docks.compact:  # offscreen screens are a projector's size: one panel at a time
        for dock in inside[1:]:
            window.act_next_panel.trigger()
            assert not dock.isHidden() and [d for d in inside if not d.isHidden()] == [dock]
    else:
        for _ in inside[1:]:
            window.act_next_panel.trigger()
    window.act_next_panel.trigger()
    assert window.current_workspace() == "Why"
    window.act_previous_panel.trigger()
    assert window.current_workspace() == "Inside"
    window.set_presentation_mode(False)


def test_leaving_presentation_restores_the_dock_state_exactly(qtbot, window):
    window.resize(760, 700)
    window.show()
    qtbot.wait(100)
    window.show_workspace("Why")
    qtbot.wait(300)  # the layout settles into the window's size
    before, size = bytes(window.saveState()), window.size()
    window.set_presentation_mode(True)
    qtbot.wait(100)
    window.show_workspace("Train")  # wandering off during the lecture
    window.set_presentation_mode(False)
    qtbot.wait(600)
    assert window.current_workspace() == "Why"
    assert window.size() == size
    assert bytes(window.saveState()) == before


def test_no_tab_strip_overflows_in_any_workspace(qtbot, window):
    window.resize(1024, 740)
    window.show()
    for name in WORKSPACES:
        window.show_workspace(name)
        qtbot.wait(100)
        for bar in window.findChildren(QTabBar):
            if is_on_screen(bar):
                assert bar.sizeHint().width() <= bar.width() + 1, (name, [bar.tabText(i) for i in range(bar.count())])


def test_lenet5s_six_kernels_grow_to_fill_their_page(qtbot, window):
    """Not 20-pixel specks in an empty page: the kernels follow the room they are given."""
    window.resize(700, 560)
    window.show()
    window.dock_kernels.raise_()
    qtbot.wait(200)
    view = window.kernels
    name = view.mosaic.block_names()[0]
    small = 5 * view.mosaic.block(name).scale
    assert small >= 20
    window.resize(1500, 1000)  # a bigger page: bigger kernels
    qtbot.waitUntil(lambda: 5 * view.mosaic.block(name).scale >= 1.5 * small, timeout=5000)
    assert view.scroll.viewport().width() // (5 * view.mosaic.block(name).scale) <= 6


def test_on_a_projector_the_one_panel_shown_says_where_the_others_are(qtbot, window, monkeypatch):
    """Presentation mode on a small screen shows one of Inside's six panels at a time: its title says which
    and how to reach the next, and leaving the mode gives the titles back."""
    monkeypatch.setattr(type(window.docks), "compact", property(lambda _self: True))
    window.show()
    window.set_presentation_mode(True)
    qtbot.wait(50)
    inside = window.docks.workspaces.docks("Inside")
    window.docks.show_focus_panel(0)
    assert inside[0].windowTitle().endswith(f"1 of {len(inside)}  ·  Page Down: next")
    window.act_next_panel.trigger()
    assert inside[1].windowTitle().endswith(f"2 of {len(inside)}  ·  Page Down: next")
    assert "of" not in inside[0].windowTitle()
    assert window.status_model.isHidden()  # the pickers say it: the status bar keeps room for the weights
    window.set_presentation_mode(False)
    assert not window.status_model.isHidden()
    qtbot.waitUntil(lambda: all("Page Down" not in d.windowTitle() for d in inside))
