"""Commands sent with an Idempotency-Key (DESIGN.md §5): one row per (caller, key),
claimed for a lease before the command runs and completed with its response after.

What a request stored is decided by the event store itself: with each save, in the
events' own transaction, the request's receipt (what it saved) is appended to its
claim, and only while the claim is still that request's (its token). A retry after a
crash (the lease ran out, no response) takes the claim over and, from the receipts,
either answers the stored commands again or runs them (domain/journal.py).

Responses and remembered values may carry credentials (token pairs, a new API key's
secret): both are stored sealed with the master key (infra/keys.py), bound to their
request's scope and key, so the table holds no secret in clear."""

import base64
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier
from psycopg.types.json import Jsonb

from arqium.domain.journal import Saved, current_journal
from arqium.infra.keys import MasterKey

TABLE = "idempotent_responses"
CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    scope text NOT NULL,
    key text NOT NULL,
    fingerprint text NOT NULL,
    status integer,
    headers jsonb,
    body bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
)"""
# Claims made before leases existed have none: they count as run out.
ADD_LEASES = f"""
ALTER TABLE {TABLE}
    ADD COLUMN IF NOT EXISTS token uuid,
    ADD COLUMN IF NOT EXISTS leased_until timestamptz,
    ADD COLUMN IF NOT EXISTS receipts jsonb NOT NULL DEFAULT '[]'"""
LEASE = "now() + make_interval(secs => %s)"
RUN_OUT = "(leased_until IS NULL OR leased_until <= now())"
UNANSWERED = "scope = %s AND key = %s AND token = %s AND status IS NULL"

Connect = Callable[[], AbstractContextManager[Any]]
Master = Callable[[], MasterKey]


class ClaimTakenOver(Exception):
    """A request's lease ran out and a retry took its key over: its save is refused,
    so the command is stored by one of the two only."""


@dataclass(frozen=True)
class Claim:
    """The key is this request's now; `receipts` are what earlier attempts stored."""

    token: UUID
    receipts: list[dict]


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    status: int | None  # None while another request holds the key
    headers: list[tuple[str, str]]
    body: bytes
    lease_left: float = 0.0  # seconds, while another request holds the key


class IdempotencyStore:
    def __init__(self, connect: Connect, master: Master, lease_seconds: float = 5.0):
        self._connect = connect
        self.master = master
        self.lease_seconds = lease_seconds

    def create_table(self) -> None:
        with self._connect() as conn:
            conn.execute(CREATE_TABLE)
            conn.execute(ADD_LEASES)

    def claim(self, scope: str, key: str, fingerprint: str) -> Claim | StoredResponse:
        """The key for this request: new, or taken over from an attempt whose lease ran
        out unanswered; else what holds it (a response, or a running request)."""
        token = uuid4()
        with self._connect() as conn:
            row = conn.execute(
                f"INSERT INTO {TABLE} (scope, key, fingerprint, token, leased_until) "
                f"VALUES (%s, %s, %s, %s, {LEASE}) ON CONFLICT (scope, key) DO NOTHING "
                "RETURNING receipts", (scope, key, fingerprint, token, self.lease_seconds)
            ).fetchone() or conn.execute(
                f"UPDATE {TABLE} SET token = %s, leased_until = {LEASE} "
                "WHERE scope = %s AND key = %s AND fingerprint = %s AND status IS NULL "
                f"AND {RUN_OUT} RETURNING receipts",
                (token, self.lease_seconds, scope, key, fingerprint)).fetchone()
            if row is not None:
                return Claim(token, _row(row)["receipts"])
            held = _row(conn.execute(
                "SELECT fingerprint, status, headers, body, greatest(0, extract(epoch "
                f"FROM leased_until - now()))::float AS lease_left FROM {TABLE} "
                "WHERE scope = %s AND key = %s", (scope, key)).fetchone())
        headers, body = self._opened(scope, key, held)
        return StoredResponse(held["fingerprint"], held["status"], headers, body,
                              held["lease_left"] or 0.0)

    def journal(self, scope: str, key: str, claim: Claim) -> "KeyJournal":
        """The journal of the request that holds the claim."""
        return KeyJournal(scope, key, claim.token, self.master, claim.receipts)

    def extend(self, scope: str, key: str, token: UUID) -> None:
        """A fresh lease for a request still running, so no retry takes it over."""
        with self._connect() as conn:
            conn.execute(f"UPDATE {TABLE} SET leased_until = {LEASE} WHERE {UNANSWERED}",
                         (self.lease_seconds, scope, key, token))

    def complete(self, scope: str, key: str, token: UUID, status: int,
                 headers: list[tuple[str, str]], body: bytes) -> None:
        """Store the response sealed, headers and body together (headers NULL)."""
        response = json.dumps({"headers": headers, "body": base64.b64encode(body).decode()})
        sealed = self.master().seal(response.encode(), _bound_to("response", scope, key))
        with self._connect() as conn:
            conn.execute(f"UPDATE {TABLE} SET status = %s, headers = NULL, body = %s "
                         f"WHERE {UNANSWERED}", (status, sealed, scope, key, token))

    def _opened(self, scope: str, key: str, held: dict
                ) -> tuple[list[tuple[str, str]], bytes]:
        """A stored response's headers and body (kept in clear before sealing began)."""
        if held["status"] is None or held["headers"] is not None:
            return [tuple(h) for h in held["headers"] or []], bytes(held["body"] or b"")
        response = json.loads(self.master().open(bytes(held["body"]),
                                                 _bound_to("response", scope, key)))
        return ([tuple(h) for h in response["headers"]],
                base64.b64decode(response["body"]))

    def release(self, scope: str, key: str, token: UUID) -> None:
        """End the lease of a request that failed on the server: a retry may take the
        key at once, and answers from what the failed one stored."""
        with self._connect() as conn:
            conn.execute(f"UPDATE {TABLE} SET leased_until = now() WHERE {UNANSWERED}",
                         (scope, key, token))


def _row(row: Any) -> dict:
    return row if isinstance(row, dict) else dict(row)


def _bound_to(kind: str, scope: str, key: str) -> str:
    """What a sealed value belongs to: moved to another request's row, it won't open."""
    return json.dumps([kind, scope, key])


# --- the journal of one keyed request -------------------------------------------------

@dataclass(frozen=True)
class Receipt:
    """What one save of a keyed request stored, to append to its claim."""

    scope: str
    key: str
    token: UUID
    entry: dict  # {"command": n, "saved": [[aggregate id, version], ...], "notes": {...}}


@dataclass
class KeyJournal:
    """One keyed request's journal (see domain/journal.py): numbers its commands,
    receipts their saves, and answers those an earlier attempt stored from its
    receipts."""

    scope: str
    key: str
    token: UUID
    master: Master  # seals the notes (values remembered for a retry, maybe secrets)
    receipts: list[dict] = field(default_factory=list)
    replayed: int = 0  # commands answered from the receipts
    saves: int = 0  # saves this attempt tried
    _number: int = 0
    _depth: int = 0
    _notes: dict[str, str] = field(default_factory=dict)

    @contextmanager
    def command(self, app: Any) -> Iterator[Saved | None]:
        self._depth += 1
        try:
            if self._depth > 1:
                yield None  # a command called by another belongs to its caller
                return
            self._number += 1
            mine = [r for r in self.receipts if r["command"] == self._number]
            if mine:
                self.replayed += 1
                yield saved_by(app, [{**r, "notes": self._opened_notes(r["notes"])}
                                     for r in mine])
            else:
                yield None
        finally:
            self._depth -= 1
            if not self._depth:
                self._notes = {}

    def note(self, name: str, value: str) -> None:
        self._notes[name] = value

    def receipt(self, stored_events: Sequence[StoredEvent]) -> Receipt:
        versions: dict[str, int] = {}
        for stored in stored_events:
            versions[str(stored.originator_id)] = stored.originator_version
        # Every save of the command carries its notes: a save refused on a version
        # clash is tried again, and the one that lands must have them.
        entry = {"command": self._number, "saved": [list(v) for v in versions.items()],
                 "notes": self._sealed_notes()}
        self.saves += 1
        return Receipt(self.scope, self.key, self.token, entry)


    def _sealed_notes(self) -> dict[str, str]:
        bound_to = _bound_to("note", self.scope, self.key)
        return {name: base64.b64encode(self.master().seal(value.encode(), bound_to)
                                       ).decode() for name, value in self._notes.items()}

    def _opened_notes(self, notes: dict[str, str]) -> dict[str, str]:
        bound_to = _bound_to("note", self.scope, self.key)
        return {name: self.master().open(base64.b64decode(value), bound_to).decode()
                for name, value in notes.items()}


def saved_by(app: Any, receipts: list[dict]) -> Saved:
    """What a command stored, by its receipts: each aggregate at the version it left
    it, and the position of its last event."""
    versions: dict[str, int] = {}
    notes: dict[str, str] = {}
    for receipt in receipts:
        versions.update(dict(receipt["saved"]))
        notes.update(receipt["notes"])
    aggregates = tuple(app.repository.get(UUID(aggregate_id), version=version)
                       for aggregate_id, version in versions.items())
    return Saved(aggregates, _last_position(app.recorder, versions), notes)


def _last_position(recorder: Any, versions: dict[str, int]) -> int:
    statement = SQL(
        "SELECT max(notification_id) AS position FROM {}.{} WHERE (originator_id, "
        "originator_version) IN (SELECT * FROM unnest(%s::uuid[], %s::bigint[]))"
    ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
    with recorder.datastore.get_connection() as conn:
        row = conn.execute(statement, ([UUID(i) for i in versions],
                                       list(versions.values()))).fetchone()
    return _row(row)["position"]


# --- the recorder that writes receipts ------------------------------------------------

def with_receipt(stored_events: Sequence[StoredEvent], kwargs: dict[str, Any]
                 ) -> dict[str, Any]:
    """The append's arguments with the receipt of the keyed request saving it, taken
    in the saving thread (a group commit may write it from another)."""
    if "receipt" in kwargs:
        return kwargs
    journal = current_journal()
    keyed = isinstance(journal, KeyJournal) and len(stored_events) > 0
    return {**kwargs, "receipt": journal.receipt(stored_events) if keyed else None}


# psycopg (3.3.9) can deadlock syncing an explicit pipeline that holds a parameter of a
# megabyte or so: the server waits for the rest of it, the client for results. Appends
# this large skip the pipeline (a few more round trips, for rare appends).
PIPELINED_MAX_BYTES = 128 * 1024

FENCED_RECEIPT = (f"UPDATE {TABLE} SET receipts = receipts || %s WHERE {UNANSWERED} "
                  "RETURNING 1")


class ReceiptRecorder(PostgresApplicationRecorder):
    """The library's application recorder, appending a keyed request's receipt to its
    claim in the events' transaction: both are stored, or neither."""

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any
                      ) -> Sequence[int] | None:
        kwargs = with_receipt(stored_events, kwargs)
        if sum(len(event.state) for event in stored_events) > PIPELINED_MAX_BYTES:
            return self._insert_unpipelined(stored_events, **kwargs)
        return super().insert_events(stored_events, **kwargs)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _insert_unpipelined(self, stored_events: Sequence[StoredEvent], **kwargs: Any
                            ) -> Sequence[int] | None:
        """What the library's insert_events does, without its explicit pipeline."""
        with self.datastore.get_connection() as conn, conn.transaction():
            with conn.cursor() as curs:
                self._insert_events(curs, stored_events, **kwargs)
            if not stored_events:
                return None
            with conn.cursor() as curs:
                self._insert_stored_events(curs, stored_events, **kwargs)
                return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> None:
        receipt: Receipt | None = kwargs.get("receipt")
        if receipt is not None:
            curs.execute(FENCED_RECEIPT, (Jsonb([receipt.entry]), receipt.scope,
                                          receipt.key, receipt.token))
            # Raised here, before the events, it rolls their transaction back.
            if curs.fetchone() is None:
                raise ClaimTakenOver("a retry with this Idempotency-Key took this "
                                     "request over after its lease ran out")
        super()._insert_events(curs, stored_events, **kwargs)
