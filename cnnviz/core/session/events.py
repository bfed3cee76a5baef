"""Plain-Python events, so the Qt-free core can announce changes (napari's ``EmitterGroup`` in small).

A view connects a callback to the event it shows, e.g.
``session.events.network_changed.connect(view.refresh)``; the owner emits and
never needs to know who listens. Callbacks run synchronously in the emitting
thread; the app only mutates its session in the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable


class Event:
    """One kind of change; ``emit(*args)`` calls every connected callback in connection order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callable] = []

    def connect(self, callback: Callable) -> Callable:
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args) -> None:
        for callback in list(self._callbacks):  # a callback may disconnect itself
            callback(*args)

    def __len__(self) -> int:
        return len(self._callbacks)


class EventGroup:
    """Named events as attributes: ``EventGroup("a", "b").a.connect(...)``."""

    def __init__(self, *names: str) -> None:
        self.names = names
        for name in names:
            setattr(self, name, Event(name))

    def __getattr__(self, name: str) -> Event:
        """Only reached for a name not given to ``__init__`` (tells the type checker the names are events)."""
        raise AttributeError(f"no event named {name!r}")

    def disconnect_all(self, callback: Callable) -> None:
        for name in self.names:
            getattr(self, name).disconnect(callback)
