"""The ledger as its readers see it: each object's current state, and every event of
every object (history, states as of a time or version). JSON is kept as canonical text:
numbers stay exactly as they were sent."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from psycopg import Cursor
from psycopg.sql import Composed

from arqium.domain.ledger.application import LedgerApplication
from arqium.domain.ledger.chain import canonical_json, exact_json
from arqium.domain.ledger.domainmodel import LedgerObject, entry
from arqium.domain.shared import merge_patch
from arqium.projections.base import BatchProjection, ReadModel
from arqium.projections.rows import Rows

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    id uuid PRIMARY KEY,
    owner_id text NOT NULL,
    type_name text NOT NULL,
    data text NOT NULL,
    status text,
    version bigint NOT NULL,
    transactions bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    created_by text NOT NULL,  -- the owner's user id, as seed 001 shows it
    updated_at timestamptz NOT NULL,
    position bigint NOT NULL
)"""
CREATE_OWNER_INDEX = """
CREATE INDEX IF NOT EXISTS {index} ON {table} (owner_id, type_name, created_at)"""
# An owner's objects in the order the ARQIUM face lists them (one page at a time).
CREATE_OWNER_ORDER_INDEX = """
CREATE INDEX IF NOT EXISTS {index} ON {table} (owner_id, created_at, position)"""
CREATE_EVENTS_TABLE = """
CREATE TABLE IF NOT EXISTS {events} (
    object_id uuid NOT NULL,
    version bigint NOT NULL,
    position bigint NOT NULL,
    owner_id text NOT NULL,
    type_name text NOT NULL,
    type text NOT NULL,
    transaction_id uuid,
    action text NOT NULL,
    data text NOT NULL,
    metadata text NOT NULL,
    actor text NOT NULL,
    recorded_at timestamptz NOT NULL,
    recorded_at_text text NOT NULL,
    hash text NOT NULL,
    prev_hash text NOT NULL,
    PRIMARY KEY (object_id, version)
)"""
CREATE_EVENTS_TIME_INDEX = """
CREATE INDEX IF NOT EXISTS {index} ON {events} (recorded_at, type_name)"""

# A batch's new objects, its changed ones and its events, each in one statement sent
# as JSON documents of rows (projections/rows.py).
NEW_OBJECTS = Rows(
    ("id", "uuid"), ("owner_id", "text"), ("type_name", "text"), ("data", "text"),
    ("status", "text"), ("version", "bigint"), ("transactions", "bigint"),
    ("created_at", "timestamptz"), ("updated_at", "timestamptz"), ("position", "bigint"))
INSERT_OBJECTS = f"""
INSERT INTO {{table}} (id, owner_id, type_name, data, status, version, transactions,
    created_at, created_by, updated_at, position)
SELECT id, owner_id, type_name, data, status, version, transactions, created_at, owner_id,
    updated_at, position
FROM {NEW_OBJECTS.relation} AS new
ON CONFLICT (id) DO NOTHING"""
SELECT_OBJECTS_BY_ID = """
SELECT id, owner_id, type_name, data, version FROM {table} WHERE id = ANY(%(ids)s)"""
CHANGED_OBJECTS = Rows(
    ("id", "uuid"), ("data", "text"), ("status", "text"), ("version", "bigint"),
    ("transactions", "bigint"), ("updated_at", "timestamptz"), ("position", "bigint"))
UPDATE_OBJECTS = f"""
UPDATE {{table}} AS o SET data = new.data, status = new.status, version = new.version,
    transactions = o.transactions + new.transactions, updated_at = new.updated_at,
    position = new.position
FROM {CHANGED_OBJECTS.relation} AS new
WHERE o.id = new.id AND o.version < new.version"""
NEW_EVENTS = Rows(
    ("object_id", "uuid"), ("version", "bigint"), ("position", "bigint"),
    ("owner_id", "text"), ("type_name", "text"), ("type", "text"),
    ("transaction_id", "uuid"), ("action", "text"), ("data", "text"), ("metadata", "text"),
    ("actor", "text"), ("recorded_at", "text"), ("hash", "text"), ("prev_hash", "text"))
INSERT_EVENTS = f"""
INSERT INTO {{events}} (object_id, version, position, owner_id, type_name, type,
    transaction_id, action, data, metadata, actor, recorded_at, recorded_at_text, hash,
    prev_hash)
SELECT object_id, version, position, owner_id, type_name, type, transaction_id, action,
    data, metadata, actor, recorded_at::timestamptz, recorded_at, hash, prev_hash
FROM {NEW_EVENTS.relation} AS new
ON CONFLICT (object_id, version) DO NOTHING"""

# Readers: None as owner means the whole ledger (auditors and admins).
VISIBLE = "(%(owner_id)s::text IS NULL OR owner_id = %(owner_id)s)"
OBJECT_COLUMNS = """id, owner_id, type_name, data, status, version, transactions,
    created_at, created_by, updated_at"""
SELECT_OBJECT = f"SELECT {OBJECT_COLUMNS} FROM {{table}} WHERE id = %(id)s AND {VISIBLE}"
OF_THE_QUERY = f"""{VISIBLE}
    AND (%(type_name)s::text IS NULL OR type_name = %(type_name)s)
    AND (%(ids)s::uuid[] IS NULL OR id = ANY(%(ids)s::uuid[]))"""
# A page past the end is one row of NULLs that still carries the total.
SELECT_OBJECTS = f"""
SELECT page.*, counted.total
FROM (SELECT count(*) AS total FROM {{table}} WHERE {OF_THE_QUERY}) AS counted
LEFT JOIN LATERAL (
    SELECT {OBJECT_COLUMNS}, position FROM {{table}} WHERE {OF_THE_QUERY}
    ORDER BY created_at, position LIMIT %(limit)s OFFSET %(offset)s
) AS page ON true
ORDER BY page.created_at, page.position"""
EVENT_COLUMNS = """object_id, version, position, type_name, type, transaction_id, action,
    data, metadata, actor, recorded_at_text AS recorded_at, hash, prev_hash"""
SELECT_HISTORY = f"""
SELECT {EVENT_COLUMNS} FROM {{events}}
WHERE object_id = %(id)s AND {VISIBLE}
    AND (%(version)s::bigint IS NULL OR version <= %(version)s)
    AND (%(as_of)s::timestamptz IS NULL OR recorded_at <= %(as_of)s)
ORDER BY version"""
# The ARQIUM face's pages: one statement (one snapshot) answers the page and how many
# there are in all; a page past the end is one row of NULLs that still carries the total.
# Times and hashes come from the objects' events, as GET /api/v1/ledger/objects/{id}
# shows them.
SELECT_OWNED_PAGE = """
SELECT page.*, counted.total
FROM (SELECT count(*) AS total FROM {table} WHERE owner_id = %(owner_id)s) AS counted
LEFT JOIN LATERAL (
    SELECT object.id, object.type_name, object.data, object.version,
        first.recorded_at_text AS created_at,
        last.recorded_at_text AS updated_at, last.hash, object.position,
        object.created_at AS created
    FROM {table} AS object
    JOIN {events} AS first ON first.object_id = object.id AND first.version = 1
    JOIN {events} AS last ON last.object_id = object.id AND last.version = object.version
    WHERE object.owner_id = %(owner_id)s
    ORDER BY object.created_at, object.position
    LIMIT %(limit)s OFFSET %(offset)s
) AS page ON true
ORDER BY page.created, page.position"""
# An object's transactions, oldest first: no row at all when the reader may not see it.
SELECT_TRANSACTIONS_PAGE = """
SELECT page.*, counted.total
FROM (
    SELECT object.id, (SELECT count(*) FROM {events}
                       WHERE object_id = object.id AND type = 'Transacted') AS total
    FROM {table} AS object
    WHERE object.id = %(id)s
        AND (%(owner_id)s::text IS NULL OR object.owner_id = %(owner_id)s)
) AS counted
LEFT JOIN LATERAL (
    SELECT transaction_id AS id, object_id, version, action, data, metadata, actor,
        recorded_at_text AS recorded_at, hash
    FROM {events}
    WHERE object_id = counted.id AND type = 'Transacted'
    ORDER BY version
    LIMIT %(limit)s OFFSET %(offset)s
) AS page ON true
ORDER BY page.version"""
WINDOW = """(%(type_name)s::text IS NULL OR type_name = %(type_name)s)
    AND (%(since)s::timestamptz IS NULL OR {created} >= %(since)s)
    AND (%(until)s::timestamptz IS NULL OR {created} <= %(until)s)"""
COUNT_BY_TYPE_AND_STATUS = f"""
SELECT type_name, coalesce(status, 'none') AS status, count(*) AS n FROM {{table}}
WHERE {VISIBLE} AND {WINDOW.format(created="created_at")}
GROUP BY type_name, status"""
COUNT_TRANSACTIONS = f"""
SELECT count(*) AS n FROM {{events}}
WHERE type = 'Transacted' AND {VISIBLE} AND {WINDOW.format(created="recorded_at")}"""


class LedgerObjectsView(ReadModel):
    index_after_load = True  # its writes find objects by id, events by (object, version)

    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.events = f"{self.name}_events"
        self.sql_create_statements.extend([
            self.sql(CREATE_TABLE),
            self.sql(CREATE_OWNER_INDEX, index=f"{self.name}_owner_idx"),
            self.sql(CREATE_OWNER_ORDER_INDEX, index=f"{self.name}_owner_order_idx"),
            self.sql(CREATE_EVENTS_TABLE),
            self.sql(CREATE_EVENTS_TIME_INDEX, index=f"{self.events}_time_idx")])

    def sql(self, template: str, **names: str) -> Composed:
        """Its templates may also name {events}, every event of every object."""
        return super().sql(template, events=self.events, **names)

    def table_names(self) -> list[str]:
        return [*super().table_names(), self.events]

    def get(self, reader: str | None, object_id: Any) -> dict | None:
        """The object, if `reader` may see it (None: any object)."""
        rows = self.query(SELECT_OBJECT, id=object_id, owner_id=reader)
        return _with_exact_data(rows[0]) if rows else None

    def page(self, reader: str | None, type_name: str | None, limit: int, offset: int,
             ids: list[UUID] | None = None) -> tuple[list[dict], int]:
        """A page of the objects `reader` may see, oldest first (only `ids`, if given)."""
        rows = self.query(SELECT_OBJECTS, owner_id=reader, type_name=type_name,
                          limit=limit, offset=offset, ids=ids)
        return [_with_exact_data(row) for row in rows if row["id"]], rows[0]["total"]

    def owned_page(self, owner_id: str, limit: int, offset: int) -> tuple[list[dict], int]:
        """A page of the owner's objects, oldest first, and how many they are."""
        rows = self.query(SELECT_OWNED_PAGE, owner_id=owner_id, limit=limit, offset=offset)
        page = [{**_with_exact_data(row), "id": str(row["id"])} for row in rows if row["id"]]
        return [_without(row, "total", "position", "created") for row in page], \
            rows[0]["total"]

    def transactions_page(self, reader: str | None, object_id: Any, limit: int, offset: int
                          ) -> tuple[list[dict], int] | None:
        """A page of the object's transactions, oldest first, and how many it has
        (None if `reader` may not see the object)."""
        rows = self.query(SELECT_TRANSACTIONS_PAGE, id=object_id, owner_id=reader,
                          limit=limit, offset=offset)
        if not rows:
            return None
        page = [_without({**row, "id": str(row["id"]), "object_id": str(row["object_id"]),
                          "data": exact_json(row["data"]),
                          "metadata": exact_json(row["metadata"])}, "total")
                for row in rows if row["id"]]
        return page, rows[0]["total"]

    def history(self, reader: str | None, object_id: Any, version: int | None = None,
                as_of: datetime | None = None) -> list[dict]:
        """The object's events in order (up to a version or a time)."""
        rows = self.query(SELECT_HISTORY, id=object_id, owner_id=reader, version=version,
                          as_of=as_of)
        return [{**row, "object_id": str(row["object_id"]),
                 "transaction_id": row["transaction_id"] and str(row["transaction_id"]),
                 "data": exact_json(row["data"]), "metadata": exact_json(row["metadata"])}
                for row in rows]

    def aggregates(self, reader: str | None, type_name: str | None,
                   since: datetime | None, until: datetime | None) -> dict:
        """Objects created in the window by type and by current status, and the
        transactions recorded in it."""
        window = {"owner_id": reader, "type_name": type_name, "since": since, "until": until}
        counts = self.query(COUNT_BY_TYPE_AND_STATUS, **window)
        by_type: dict[str, int] = {}
        by_status: dict[str, int] = {}
        for row in counts:
            by_type[row["type_name"]] = by_type.get(row["type_name"], 0) + row["n"]
            by_status[row["status"]] = by_status.get(row["status"], 0) + row["n"]
        return {"totalObjects": sum(by_type.values()),
                "totalTransactions": self.query(COUNT_TRANSACTIONS, **window)[0]["n"],
                "byType": by_type, "byStatus": by_status}


def state_from(history: list[dict]) -> dict | None:
    """An object's data after the given events (None before its creation)."""
    if not history:
        return None
    data: Any = {}
    for event in history:
        data = event["data"] if event["type"] == "Created" else merge_patch(data, event["data"])
    return data


def _with_exact_data(row: dict) -> dict:
    return {**row, "data": exact_json(row["data"])}


def _without(row: dict, *names: str) -> dict:
    return {name: value for name, value in row.items() if name not in names}


def status_of(data: Any) -> str | None:
    status = data.get("status") if isinstance(data, dict) else None
    return None if status is None else str(status)


# What a projector remembers of the objects it wrote (their data's canonical JSON, and
# an allowance for each object's Python structures): a replay then reads back none of
# the objects it folded, and a busy ledger few.
KNOWN_OBJECTS_BYTES = 32 * 1024 * 1024
KNOWN_OBJECT_OVERHEAD_BYTES = 1024


class LedgerObjectsProjection(BatchProjection):
    name = "ledger_objects"
    application = LedgerApplication
    view_class = LedgerObjectsView

    def __init__(self, view: LedgerObjectsView):
        super().__init__(view)
        # Objects as this projector last wrote them, with what each counts against
        # KNOWN_OBJECTS_BYTES, the latest written last; it is the only writer while it
        # is the active copy. Learnt once a batch has committed.
        self.known: dict[Any, tuple[dict, int]] = {}
        self.known_bytes = 0

    def process_batch(self, batch: Sequence[tuple[Any, Tracking]]) -> None:
        """Fold the batch in memory (one read of the objects it touches that the
        projector does not remember, one write per object and per event) and record its
        position, in one transaction: a replay costs a few round trips per batch, not
        three per event."""
        events = [(event, tracking.notification_id) for event, tracking in batch
                  if isinstance(event, (LedgerObject.Created, LedgerObject.Transacted))]
        written: list[tuple[Any, dict]] = []
        with self.view.writing() as curs:
            if events:
                objects, history = self._fold(curs, events)
                written = object_rows(objects)
                self._write(curs, [row for _, row in written], history)
            self.view.track(curs, batch[-1][1])
        for object_id, row in written:
            self._remember(object_id, objects[object_id], len(row["data"]))

    def _fold(self, curs: Cursor, events: list[tuple[Any, int]]
              ) -> tuple[dict[Any, dict], list[dict]]:
        """Each touched object's state after the batch, and the batch's history rows."""
        touched = {e.originator_id for e, _ in events
                   if isinstance(e, LedgerObject.Transacted)}
        stored = {object_id: self.known[object_id][0]
                  for object_id in touched if object_id in self.known}
        if unknown := list(touched - stored.keys()):
            curs.execute(self.view.sql(SELECT_OBJECTS_BY_ID), {"ids": unknown})
            stored.update({row["id"]: {**row, "data": exact_json(row["data"])}
                           for row in curs.fetchall()})
        objects = {object_id: {**state, "new": False, "transactions": 0}
                   for object_id, state in stored.items()}
        history = []
        for domain_event, position in events:
            state = fold_event(objects, domain_event, position)
            if state is not None:
                history.append({**entry(domain_event, state["type_name"], position),
                                "owner_id": state["owner_id"]})
        return objects, history

    def _write(self, curs: Cursor, rows: list[dict], history: list[dict]) -> None:
        for shape, statement, new in ((NEW_OBJECTS, INSERT_OBJECTS, True),
                                      (CHANGED_OBJECTS, UPDATE_OBJECTS, False)):
            shape.write(curs, self.view.sql(statement),
                        [row for row in rows if row["new"] is new])
        NEW_EVENTS.write(curs, self.view.sql(INSERT_EVENTS), [
            {**row, "data": canonical_json(row["data"]),
             "metadata": canonical_json(row["metadata"])} for row in history])

    def _remember(self, object_id: Any, state: dict, data_bytes: int) -> None:
        """Remember the object as written (the oldest forgotten past the bound)."""
        if object_id in self.known:
            self.known_bytes -= self.known.pop(object_id)[1]
        size = data_bytes + KNOWN_OBJECT_OVERHEAD_BYTES
        self.known[object_id] = ({name: state[name] for name in (
            "owner_id", "type_name", "data", "version")}, size)
        self.known_bytes += size
        while self.known_bytes > KNOWN_OBJECTS_BYTES:
            self.known_bytes -= self.known.pop(next(iter(self.known)))[1]


def object_rows(objects: dict[Any, dict]) -> list[tuple[Any, dict]]:
    """The row of each object the batch created or changed, by its id."""
    return [(object_id, {
        "id": str(object_id), "data": canonical_json(state["data"]),
        "status": status_of(state["data"]), "version": state["version"],
        "transactions": state["transactions"], "position": state["position"],
        "updated_at": state["updated_at"].isoformat(), "new": state["new"],
        **({"owner_id": state["owner_id"], "type_name": state["type_name"],
            "created_at": state["created_at"].isoformat()} if state["new"] else {})})
        for object_id, state in objects.items() if state["transactions"] or state["new"]]


def fold_event(objects: dict[Any, dict], domain_event: Any, position: int) -> dict | None:
    """Apply one ledger event to the folded objects; the object's state (None for a
    transaction on an object this read model never saw)."""
    object_id = domain_event.originator_id
    if isinstance(domain_event, LedgerObject.Created):
        objects[object_id] = {
            "owner_id": domain_event.owner_id, "type_name": domain_event.type_name,
            "data": domain_event.data, "version": 1, "transactions": 0, "new": True,
            "created_at": domain_event.at, "updated_at": domain_event.at,
            "position": position}
        return objects[object_id]
    state = objects.get(object_id)
    if state is None or domain_event.originator_version <= state["version"]:
        return state
    state.update(data=merge_patch(state["data"], domain_event.data),
                 version=domain_event.originator_version,
                 transactions=state["transactions"] + 1, updated_at=domain_event.at,
                 position=position)
    return state
