"""Plain-Python events, so the Qt-free core can announce changes (napari's ``EmitterGroup`` in small).

A view connects a callback to the event it shows, e.g.
``session.events.network_changed.connect(view.refresh)``; the owner emits and
never needs to know who listens. Callbacks run synchronously in the emitting
thread; the app only mutates its session in the GUI thread.

Three promises, so a view can never break the owner nor outlive itself:

- A bound method is held through a weak reference: a view that is deleted
  drops out by itself (plain functions and lambdas are held strongly, since
  nothing else would keep them alive; disconnect those yourself).
- Every subscriber is called even when one fails. The failure is reported
  once: logged, and announced as a ``CallbackFailure`` through the group's
  ``callback_failed`` event (the app shows it as one sentence), never raised
  into the emitter.
- Payloads are typed: an event declares what it carries
  (``Event("result_ready", DrawingResult)``), ``emit`` checks it, and the
  type checker sees ``Event[[DrawingResult]]``.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec

P = ParamSpec("P")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallbackFailure:
    """A subscriber raised: which event, which callback (its name), and the exception."""

    event: str
    callback: str
    error: BaseException

    def sentence(self) -> str:
        text = str(self.error).strip().splitlines()[0] if str(self.error).strip() else ""
        return f"A view could not follow '{self.event}' ({type(self.error).__name__}: {text})."


def _callback_name(callback: Callable) -> str:
    owner = getattr(callback, "__self__", None)
    name = getattr(callback, "__qualname__", None) or repr(callback)
    return name if owner is None or "." in name else f"{type(owner).__name__}.{name}"


class _Subscriber:
    """One connected callback: a weak reference for a bound method, the function itself otherwise."""

    __slots__ = ("_ref", "_strong", "name")

    def __init__(self, callback: Callable, on_dead: Callable[[_Subscriber], None]) -> None:
        self.name = _callback_name(callback)
        self._strong: Callable | None = None
        self._ref: weakref.WeakMethod | None = None
        if getattr(callback, "__self__", None) is not None and hasattr(callback, "__func__"):
            self._ref = weakref.WeakMethod(callback, lambda _ref: on_dead(self))
        else:
            self._strong = callback

    def get(self) -> Callable | None:
        return self._strong if self._ref is None else self._ref()

    def matches(self, callback: Callable) -> bool:
        target = self.get()
        return target is not None and target == callback


class Event(Generic[P]):
    """One kind of change; ``emit(*args)`` calls every live subscriber in connection order.

    ``types`` are the classes of the payload's arguments (``object`` accepts anything,
    ``None`` in a tuple of classes allows None), checked at each ``emit``.
    """

    def __init__(self, name: str, *types: Any, on_failure: Callable[[CallbackFailure], None] | None = None) -> None:
        self.name = name
        self.types = types
        self._subscribers: list[_Subscriber] = []
        self._on_failure = on_failure

    def connect(self, callback: Callable[P, object]) -> Callable[P, object]:
        if not callable(callback):
            raise TypeError(f"{self.name}: connect a callable, not {callback!r}")
        if not any(s.matches(callback) for s in self._subscribers):
            self._subscribers.append(_Subscriber(callback, self._forget))
        return callback

    def disconnect(self, callback: Callable) -> None:
        self._subscribers = [s for s in self._subscribers if not s.matches(callback)]

    def _forget(self, subscriber: _Subscriber) -> None:
        # Its object was collected: the weak reference's callback removes the entry at once.
        self._subscribers = [s for s in self._subscribers if s is not subscriber]

    def emit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        self._check(args)
        for subscriber in list(self._subscribers):  # a callback may (dis)connect others
            callback = subscriber.get()
            if callback is None:
                continue
            try:
                callback(*args, **kwargs)
            except Exception as exc:  # one view's bug must not silence the others
                self._report(CallbackFailure(self.name, subscriber.name, exc))

    def _check(self, args: tuple) -> None:
        if not self.types:
            return
        if len(args) != len(self.types):
            raise TypeError(f"{self.name} carries {len(self.types)} value(s), not {len(args)}")
        for value, expected in zip(args, self.types, strict=True):
            options = expected if isinstance(expected, tuple) else (expected,)
            if not isinstance(value, tuple(type(None) if t is None else t for t in options)):
                raise TypeError(f"{self.name} carries {expected}, not {type(value).__name__}")

    def _report(self, failure: CallbackFailure) -> None:
        log.error("%s failed on event '%s'", failure.callback, failure.event, exc_info=failure.error)
        if self._on_failure is not None:
            self._on_failure(failure)

    def __len__(self) -> int:
        """The live subscribers (a collected view's entry is gone already)."""
        return sum(1 for s in self._subscribers if s.get() is not None)


class EventGroup:
    """Named events as attributes: ``EventGroup(a=(), b=(int,)).b.connect(...)``.

    Every group has ``callback_failed(CallbackFailure)``: a subscriber of another
    event raised. A failure there is only logged (no loop of reports).
    """

    def __init__(self, *names: str, **typed: tuple) -> None:
        self.callback_failed: Event[[CallbackFailure]] = Event("callback_failed", CallbackFailure)
        declared = {name: () for name in names} | typed
        self.names = tuple(declared)
        for name, types in declared.items():
            setattr(self, name, Event(name, *types, on_failure=self.callback_failed.emit))

    def __getattr__(self, name: str) -> Event:
        """Only reached for a name not given to ``__init__`` (tells the type checker the names are events)."""
        raise AttributeError(f"no event named {name!r}")

    def disconnect_all(self, callback: Callable) -> None:
        for name in (*self.names, "callback_failed"):
            getattr(self, name).disconnect(callback)

    def subscriber_count(self) -> int:
        """Live subscribers of every event (a leak check counts them before and after)."""
        return sum(len(getattr(self, name)) for name in (*self.names, "callback_failed"))
