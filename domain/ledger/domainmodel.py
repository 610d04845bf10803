"""Ledger objects: created once, then changed only by transactions, each an event
hash-chained to the one before (see chain.py)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from arqium.domain.ledger import chain
from arqium.domain.shared import (
    ArqiumAggregate,
    Conflict,
    Invalid,
    NotFound,
    current_cause,
    merge_patch,
)

MAX_TYPE_NAME_LENGTH = 100
MAX_ACTION_LENGTH = 100
CREATE_ACTION = "create"


class LedgerObjectNotFound(NotFound):
    pass


class StaleLedgerVersion(Conflict):
    pass


class LedgerObject(ArqiumAggregate):
    @classmethod
    def open(cls, object_id: UUID, owner_id: str, type_name: str, data: dict, at: datetime
             ) -> "LedgerObject":
        """A new object, its creation hashed onto the genesis hash."""
        check_type_name(type_name)
        check_object("data", data)
        created = chain.record(
            object_id=object_id, type_name=type_name, version=1, type="Created",
            transaction_id=None, action=CREATE_ACTION, data=data, metadata={},
            actor=current_cause().actor, recorded_at=at)
        return cls(id=object_id, owner_id=owner_id, type_name=type_name, data=data, at=at,
                   prev_hash=chain.GENESIS, hash=chain.chain_hash(chain.GENESIS, created))

    @event("Created")
    def __init__(self, id: UUID, owner_id: str, type_name: str, data: dict, at: datetime,
                 prev_hash: str, hash: str):
        self.owner_id = owner_id
        self.type_name = type_name
        self.data = data
        self.head = hash
        self.created_at = self.updated_at = at
        self.transactions = 0

    def transact(self, transaction_id: UUID, action: str, data: dict, metadata: dict,
                 expected_version: int | None, at: datetime) -> None:
        """Merge `data` (JSON merge patch) into the object's data, hashed onto its chain."""
        self.check_version(expected_version)
        check_action(action)
        check_object("data", data)
        check_object("metadata", metadata)
        transacted = chain.record(
            object_id=self.id, type_name=self.type_name, version=self.version + 1,
            type="Transacted", transaction_id=transaction_id, action=action, data=data,
            metadata=metadata, actor=current_cause().actor, recorded_at=at)
        self._transacted(transaction_id=transaction_id, action=action, data=data,
                         metadata=metadata, at=at, prev_hash=self.head,
                         hash=chain.chain_hash(self.head, transacted))

    @event("Transacted")
    def _transacted(self, transaction_id: UUID, action: str, data: dict, metadata: dict,
                    at: datetime, prev_hash: str, hash: str) -> None:
        self.data = merge_patch(self.data, data)
        self.head = hash
        self.updated_at = at
        self.transactions += 1

    def check_version(self, expected_version: int | None) -> None:
        if expected_version is not None and expected_version != self.version:
            raise StaleLedgerVersion(
                f"the object is at version {self.version}, not {expected_version}; read it "
                "again and retry", current_version=self.version)


def entry(domain_event: Any, type_name: str, position: int | None) -> dict:
    """A ledger event as auditors see it (history, export, verification)."""
    created = isinstance(domain_event, LedgerObject.Created)
    return {
        "position": position, "object_id": str(domain_event.originator_id),
        "type_name": type_name, "version": domain_event.originator_version,
        "type": type(domain_event).__name__,
        "transaction_id": None if created else str(domain_event.transaction_id),
        "action": CREATE_ACTION if created else domain_event.action,
        "data": domain_event.data, "metadata": {} if created else domain_event.metadata,
        "actor": domain_event.actor, "recorded_at": domain_event.at.isoformat(),
        "hash": domain_event.hash, "prev_hash": domain_event.prev_hash}


def check_type_name(type_name: Any) -> None:
    if not isinstance(type_name, str) or not 1 <= len(type_name) <= MAX_TYPE_NAME_LENGTH:
        raise Invalid(f"typeName must be 1 to {MAX_TYPE_NAME_LENGTH} characters",
                      field="typeName")


def check_action(action: Any) -> None:
    if not isinstance(action, str) or not 1 <= len(action) <= MAX_ACTION_LENGTH:
        raise Invalid(f"action must be 1 to {MAX_ACTION_LENGTH} characters", field="action")


def check_object(field: str, value: Any) -> None:
    if not isinstance(value, dict):
        raise Invalid(f"{field} must be a JSON object", field=field)
    if has_float(value):
        raise Invalid(f"{field} holds a binary float: ledger numbers are exact decimals "
                      "(JSON numbers parsed as decimals), so hashes verify anywhere",
                      field=field)


def has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(has_float(item) for item in value.values())
    if isinstance(value, list):
        return any(has_float(item) for item in value)
    return False
