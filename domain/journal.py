"""What lets a retried request be answered from the event store after a crash: while a
request with an Idempotency-Key runs, a journal (kept by the API, see
infra/idempotency.py) numbers its commands and writes, with each save, a receipt of
what it stored. A retry whose first attempt stored a command's events gets, from that
command, what it returned the first time, rebuilt from those receipts (`Saved`) instead
of running it again."""

import contextvars
import dataclasses
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from eventsourcing.domain import Aggregate


@dataclasses.dataclass(frozen=True)
class Saved:
    """What a command stored the first time, as the event store holds it."""

    aggregates: tuple[Any, ...]  # in the order saved, at the version the command left them
    position: int  # of the last event it stored
    notes: Mapping[str, str]  # what it remembered for a retry (see `remember`)

    def last(self, kind: type) -> Any:
        """The last saved aggregate of that kind."""
        found = [aggregate for aggregate in self.aggregates if isinstance(aggregate, kind)]
        if not found:
            raise LookupError(f"the command stored no {kind.__name__}")
        return found[-1]


Replay = Callable[[Any, Saved], Any]  # (the application, what was saved) -> the result


class Journal(Protocol):
    def command(self, app: Any) -> AbstractContextManager[Saved | None]:
        """Around each command: what it stored the first time (answer from it, do not
        run it), or None (run it; a nested command always runs in its caller's turn)."""

    def note(self, name: str, value: str) -> None:
        """Keep a value with the command's next save (see `remember`)."""


_current_journal: contextvars.ContextVar[Journal | None] = contextvars.ContextVar(
    "arqium_journal", default=None)


@contextmanager
def journaling(journal: Journal) -> Iterator[Journal]:
    """Commands called inside the block (and in threads that copy its context) are
    numbered, receipted and, when their first attempt stored them, replayed."""
    token = _current_journal.set(journal)
    try:
        yield journal
    finally:
        _current_journal.reset(token)


def current_journal() -> Journal | None:
    return _current_journal.get()


def remember(name: str, value: str) -> str:
    """A value a command returns that its events do not hold (a secret shown once, an
    id picked before the save): kept, atomically with the save, for a retry."""
    journal = current_journal()
    if journal is not None:
        journal.note(name, value)
    return value


def derived_replay(method: Callable[..., Any]) -> Replay:
    """How to rebuild a command's result from what it saved, read off its return
    annotation: an aggregate class is the saved aggregate of that class, `int` the
    position, a tuple each of its parts. TypeError for anything else: such a command
    declares its own `replay`."""
    build = _builder(typing.get_type_hints(method).get("return"), method.__qualname__)
    return lambda app, saved: build(saved)


def _builder(hint: Any, name: str) -> Callable[[Saved], Any]:
    origin, parts = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        builders = [_builder(part, name) for part in parts]
        return lambda saved: tuple(build(saved) for build in builders)
    if origin in (typing.Union, types.UnionType) and type(None) in parts:
        (inner,) = [part for part in parts if part is not type(None)]
        return _builder(inner, name)  # it saved something, so it is not None
    if hint is int:
        return lambda saved: saved.position
    if isinstance(hint, type) and issubclass(hint, Aggregate):
        return lambda saved: saved.last(hint)
    raise TypeError(f"{name} returns {hint!r}, which cannot be rebuilt from what it "
                    "saved; give it @command(replay=...)")
