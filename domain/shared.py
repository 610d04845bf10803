"""What every bounded context shares: the aggregate base, who-and-why, domain errors."""

import contextvars
import dataclasses
import functools
import inspect
import random
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import construct_topic, register_topic

import arqium.domain
from arqium.domain.journal import Replay, current_journal, derived_replay

# Events stored before the code was installed as `arqium` name their classes by the old
# module paths ("domain.memory.domainmodel:MemoryItem.Upserted"): they resolve here.
register_topic("domain", arqium.domain)


def stored_topics(event_class: type) -> tuple[str, ...]:
    """Every topic events of the class can be stored under: its own, and for a domain
    event also the one it had before the code was installed as `arqium`."""
    topic = construct_topic(event_class)
    if topic.startswith("arqium.domain."):
        return topic, topic.removeprefix("arqium.")
    return (topic,)


Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


@dataclasses.dataclass(frozen=True)
class Cause:
    """Who acted (user, API key or worker) and which request or event caused it."""

    actor: str
    correlation_id: str = ""
    causation_id: str = ""


class NoCause(RuntimeError):
    """An aggregate was about to record an event outside an application command, so
    nobody said who acted."""


# Set only while a command runs (see `command`): an event recorded outside one is refused.
_current_cause: contextvars.ContextVar[Cause] = contextvars.ContextVar("arqium_cause")

Command = TypeVar("Command", bound=Callable[..., Any])


def command(method: Command | None = None, *, replay: Replay | None = None) -> Any:
    """An application command: it takes a required `cause=` keyword (who acts, and
    which request or event made them), recorded by every event the command triggers.
    A method that declares `cause` itself receives it too (to call other commands).
    Inside a request's journal (see domain/journal.py) a command its request's first
    attempt already stored returns what it returned then, rebuilt by `replay(app,
    saved)` (by default from its return annotation), instead of running again."""
    if method is None:
        return functools.partial(command, replay=replay)
    signature = inspect.signature(method)
    passes_cause = "cause" in signature.parameters

    @functools.cache
    def replaying() -> Replay:
        return replay or derived_replay(method)

    @functools.wraps(method)
    def with_cause(*args: Any, cause: Cause, **kwargs: Any) -> Any:
        if not isinstance(cause, Cause):
            raise TypeError(f"{method.__qualname__}() needs cause=Cause(actor=...), "
                            f"not {cause!r}")
        journal = current_journal()
        if journal is None:
            return _run(method, args, kwargs, cause, passes_cause)
        with journal.command(args[0]) as saved:
            if saved is not None:
                return replaying()(args[0], saved)
            return _run(method, args, kwargs, cause, passes_cause)

    if not passes_cause:
        required = inspect.Parameter("cause", inspect.Parameter.KEYWORD_ONLY,
                                     annotation=Cause)
        parameters = sorted([*signature.parameters.values(), required],
                            key=lambda parameter: parameter.kind)
        with_cause.__signature__ = signature.replace(parameters=parameters)
    with_cause.replaying = replaying  # type: ignore[attr-defined]
    return with_cause


def _run(method: Callable[..., Any], args: tuple, kwargs: dict, cause: Cause,
         passes_cause: bool) -> Any:
    with acting(cause):
        return method(*args, **kwargs, **({"cause": cause} if passes_cause else {}))


@contextmanager
def acting(cause: Cause) -> Iterator[Cause]:
    """Every event triggered inside this block records `cause` (commands open it; only
    domain tests that drive aggregates directly use it themselves)."""
    token = _current_cause.set(cause)
    try:
        yield cause
    finally:
        _current_cause.reset(token)


def current_cause() -> Cause:
    """The cause of the command running now; NoCause outside a command."""
    try:
        return _current_cause.get()
    except LookupError:
        raise NoCause("an event can only be recorded by an application command, called "
                      "with cause=Cause(actor=...)") from None


class ArqiumAggregate(Aggregate):
    """Base aggregate: every event carries its actor, correlation and causation ids."""

    class Event(Aggregate.Event):
        actor: str = dataclasses.field(default="system", kw_only=True)
        correlation_id: str = dataclasses.field(default="", kw_only=True)
        causation_id: str = dataclasses.field(default="", kw_only=True)

    class Created(Event, Aggregate.Created):
        pass

    def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None:
        super().trigger_event(event_class, **_with_cause(kwargs))

    @classmethod
    def _create(cls, event_class: type[Any], **kwargs: Any) -> Any:
        return super()._create(event_class, **_with_cause(kwargs))


def _with_cause(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {**dataclasses.asdict(current_cause()), **kwargs}


def get_aggregate(repository: Any, aggregate_id: Any, kind: type, missing: Exception) -> Any:
    """The aggregate of that kind with that id, or `missing` raised (for a malformed id,
    an unknown one, or one of another kind alike)."""
    try:
        aggregate = repository.get(UUID(str(aggregate_id)))
    except (AggregateNotFoundError, ValueError):
        raise missing from None
    if not isinstance(aggregate, kind):
        raise missing
    return aggregate


def merge_patch(target: Any, patch: Any) -> Any:
    """JSON merge patch (RFC 7396): objects merge key by key, null removes a key,
    anything else replaces the target."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


SEALED = "$sealed"


def is_sealed(value: Any) -> bool:
    """Content sealed with its owner's data key (see infra/keys.py)."""
    return isinstance(value, dict) and SEALED in value


class DomainError(Exception):
    """Base of the errors a command can raise; faces map them to HTTP once.
    `code`, when set, overrides the face's code for the error's kind."""

    code: str | None = None

    def __init__(self, message: str, **details: Any):
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


class Invalid(DomainError):
    pass


class AuthenticationFailed(DomainError):
    pass


class InvalidToken(AuthenticationFailed):
    """A token (or key) was sent but is malformed, badly signed, expired or no longer
    valid, as opposed to no credentials at all."""


class Unavailable(DomainError):
    """Something the command needs is not there right now (e.g. no model configured)."""


class Forbidden(DomainError):
    pass


class Gone(DomainError):
    """What was asked for existed but has been destroyed (for instance crypto-shredded)."""


class KeyedLock:
    """One lock per key (an aggregate id), made when first asked for and dropped as soon
    as nobody holds or awaits it, so locking every aggregate ever seen keeps no memory."""

    def __init__(self) -> None:
        self._guard = threading.Lock()  # guards the table, never held while waiting
        self._entries: dict[Hashable, _Entry] = {}

    def __len__(self) -> int:
        """How many keys are held or awaited now."""
        return len(self._entries)

    @contextmanager
    def holding(self, key: Hashable, timeout: float = -1) -> Iterator[bool]:
        """Hold the key's lock inside the block; yields False (and holds nothing) when
        it stayed taken for `timeout` seconds, like Lock.acquire."""
        with self._guard:
            entry = self._entries.setdefault(key, _Entry())
            entry.users += 1
        acquired = False
        try:
            acquired = entry.lock.acquire(timeout=timeout)
            yield acquired
        finally:
            if acquired:
                entry.lock.release()
            with self._guard:
                entry.users -= 1
                if not entry.users:
                    del self._entries[key]


@dataclasses.dataclass
class _Entry:
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    users: int = 0  # holding or waiting: the entry goes when the last one leaves


# Generous: within a process commands on an aggregate take turns, so only another API
# process can take a version first, and while the database answers one writer wins
# every round. Reaching it takes a pathological load, not bad luck.
SAVE_DEADLINE_SECONDS = 30.0
# Well above a turn's length even with dozens queued (a turn is one save: milliseconds),
# yet short: when the database is gone, commands queued on one aggregate must not fail
# one after the other, each after its own timeout. Past it a command goes ahead without
# its turn, as one from another process would, and a clash is retried as above.
TURN_WAIT_SECONDS = 2.0
FIRST_PAUSE_SECONDS = 0.002
LONGEST_PAUSE_SECONDS = 0.1
Decided = TypeVar("Decided")


def until_saved(turns: KeyedLock, aggregate_id: Any, attempt: Callable[[], Decided],
                too_busy: Conflict) -> Decided:
    """Run `attempt` (load, decide, save) in turn with this process's other commands on
    the aggregate, so they do not clash, and again whenever another process took the
    aggregate's next version meanwhile, after a random pause that doubles up to
    LONGEST_PAUSE_SECONDS. `too_busy` only after SAVE_DEADLINE_SECONDS; any other error
    (a domain error, the database gone) is raised at once."""
    give_up_at = time.monotonic() + SAVE_DEADLINE_SECONDS
    with turns.holding(_lock_key(aggregate_id), timeout=TURN_WAIT_SECONDS):
        pause = FIRST_PAUSE_SECONDS
        while True:
            try:
                return attempt()
            except IntegrityError:
                if time.monotonic() >= give_up_at:
                    raise too_busy from None
                time.sleep(random.uniform(0, pause))
                pause = min(2 * pause, LONGEST_PAUSE_SECONDS)


def _lock_key(aggregate_id: Any) -> Hashable:
    """Every spelling of one id takes the same turn (a malformed one is not found)."""
    try:
        return UUID(str(aggregate_id))
    except ValueError:
        return str(aggregate_id)
