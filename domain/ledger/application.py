"""The ledger context's service layer."""

from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import Application
from eventsourcing.utils import TopicError

from arqium.domain.journal import Saved, remember
from arqium.domain.ledger.domainmodel import LedgerObject, LedgerObjectNotFound, entry
from arqium.domain.shared import (
    Conflict,
    Invalid,
    KeyedLock,
    command,
    get_aggregate,
    system_clock,
    until_saved,
)

READ_BATCH = 1000  # events read at a time by audits


def _transacted(app: Any, saved: Saved) -> tuple[LedgerObject, UUID, int]:
    """What `transact` returned, for a retry after a crash (domain/journal.py)."""
    return saved.last(LedgerObject), UUID(saved.notes["transaction_id"]), saved.position


class LedgerApplication(Application):
    name = "ledger"
    # Objects accumulate transactions: keep them in memory and read only the events
    # stored since (another process may have written some), rather than all of them.
    env = {"AGGREGATE_CACHE_MAXSIZE": "10000", "AGGREGATE_CACHE_FASTFORWARD": "y"}

    def __init__(self, env: Any = None, *, clock: Callable = system_clock,
                 new_id: Callable[[], UUID] = uuid4):
        super().__init__(env)
        self.clock = clock
        self.new_id = new_id
        self.aggregate_locks = KeyedLock()  # transactions on one object take turns

    @command
    def create_object(self, owner_id: str, type_name: str, data: dict
                      ) -> tuple[LedgerObject, int]:
        ledger_object = LedgerObject.open(self.new_id(), owner_id, type_name, data,
                                           self.clock())
        return ledger_object, self.save(ledger_object)[-1].notification.id

    @command(replay=_transacted)
    def transact(self, owner_id: str, object_id: Any, action: str, data: dict,
                 metadata: dict, expected_version: int | None = None
                 ) -> tuple[LedgerObject, UUID, int]:
        """Apply a transaction to one of the owner's objects; the object after it, the
        transaction id and the event's position. Transactions on an object take turns,
        each decided on the version before it: with `expected_version`, any other
        version is a conflict; without, it is applied however many arrive at once."""
        transaction_id = self.new_id()
        remember("transaction_id", str(transaction_id))

        def attempt() -> tuple[LedgerObject, UUID, int]:
            # After a clash with another process, the reloaded version decides again:
            # stale for an expected version, the next one for none.
            ledger_object = self.owned_object(owner_id, object_id)
            ledger_object.transact(transaction_id, action, data, metadata, expected_version,
                                   self.clock())
            position = self.save(ledger_object)[-1].notification.id
            return ledger_object, transaction_id, position

        return until_saved(self.aggregate_locks, object_id, attempt, Conflict(
            "this object is too busy right now; retry the transaction"))

    def owned_object(self, owner_id: str, object_id: Any) -> LedgerObject:
        """The owner's object; anyone else's is not found."""
        ledger_object = self.any_object(object_id)
        if ledger_object.owner_id != owner_id:
            raise LedgerObjectNotFound("no such ledger object")
        return ledger_object

    def any_object(self, object_id: Any) -> LedgerObject:
        return get_aggregate(self.repository, object_id, LedgerObject,
                             LedgerObjectNotFound("no such ledger object"))

    def object_at(self, object_id: Any, version: int) -> LedgerObject:
        """The object exactly as it was at `version`, rebuilt from its events."""
        current = self.any_object(object_id)
        if not 1 <= version <= current.version:
            raise Invalid(f"version must be 1 to {current.version}", field="version")
        return self.repository.get(current.id, version=version)

    def entries(self, start: int = 1, stop: int | None = None,
                type_names: dict[str, str] | None = None) -> Iterator[dict]:
        """Every object event from the store, in position order, as auditors see it
        (a damaged row as an `unreadable` entry); `type_names` carries each object's type
        from an earlier call that started before it."""
        type_names = {} if type_names is None else type_names
        while True:
            notifications = self.recorder.select_notifications(
                start, READ_BATCH, stop=stop, topics=())
            for notification in notifications:
                yield from self._entry(notification, notification.id, type_names)
            if len(notifications) < READ_BATCH:
                return
            start = notifications[-1].id + 1

    def object_entries(self, object_id: UUID) -> Iterator[dict]:
        """One object's events from the store, in version order, as auditors see them
        (positions unknown: None)."""
        type_names: dict[str, str] = {}
        for stored in self.recorder.select_events(object_id):
            yield from self._entry(stored, None, type_names)

    def _entry(self, notification: Any, position: int | None, type_names: dict[str, str]
               ) -> Iterator[dict]:
        try:
            domain_event = self.mapper.to_domain_event(notification)
        except (ValueError, KeyError, TypeError, TopicError) as error:  # a damaged row
            yield {"position": position, "object_id": str(notification.originator_id),
                   "version": notification.originator_version,
                   "unreadable": f"the stored event cannot be read ({error})"}
            return
        if not isinstance(domain_event, (LedgerObject.Created, LedgerObject.Transacted)):
            return  # e.g. digests: not links of an object's chain
        object_id = str(domain_event.originator_id)
        if isinstance(domain_event, LedgerObject.Created):
            type_names[object_id] = domain_event.type_name
        yield entry(domain_event, type_names.get(object_id, ""), position)
