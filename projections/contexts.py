"""Contexts as the native face lists and reads them."""

from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from psycopg import Cursor
from psycopg.types.json import Jsonb

from arqium.domain.memory.application import MemoryApplication
from arqium.domain.memory.contexts import Context
from arqium.domain.memory.domainmodel import MemoryOwner
from arqium.domain.shared import merge_patch
from arqium.projections.base import BatchProjection, ReadModel

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    id uuid PRIMARY KEY,
    owner_id text NOT NULL,
    name text NOT NULL,
    state jsonb NOT NULL,
    session_id text,
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    created_position bigint NOT NULL
)"""
CREATE_OWNER_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {table} (owner_id, created_at)"

INSERT_CONTEXT = """
INSERT INTO {table} (id, owner_id, name, state, session_id, version, created_at, updated_at,
    created_position)
VALUES (%(id)s, %(owner_id)s, %(name)s, %(state)s, %(session_id)s, %(version)s, %(at)s, %(at)s,
    %(position)s)
ON CONFLICT (id) DO NOTHING"""
REPLACE_CONTEXT = """
UPDATE {table} SET name = %(name)s, state = %(state)s, version = %(version)s,
    updated_at = %(at)s WHERE id = %(id)s AND version < %(version)s"""
SELECT_STATE = "SELECT state FROM {table} WHERE id = %(id)s"
SET_STATE = """
UPDATE {table} SET state = %(state)s, version = %(version)s, updated_at = %(at)s
WHERE id = %(id)s AND version < %(version)s"""
DELETE_CONTEXT = "DELETE FROM {table} WHERE id = %(id)s"
FORGET_OWNER = "DELETE FROM {table} WHERE owner_id = %(owner_id)s"

SELECT_PAGE = """
SELECT id, name, state, session_id, version, created_at, updated_at,
    count(*) OVER () AS total
FROM {table} WHERE owner_id = %(owner_id)s ORDER BY created_at, created_position
LIMIT %(limit)s OFFSET %(offset)s"""
COUNT = "SELECT count(*) AS total FROM {table} WHERE owner_id = %(owner_id)s"
SELECT_ONE = """
SELECT id, name, state, session_id, version, created_at, updated_at
FROM {table} WHERE id = %(id)s AND owner_id = %(owner_id)s"""
SELECT_BINDING = "SELECT owner_id, session_id FROM {table} WHERE id = %(id)s"
SELECT_FOR_SESSION = """
SELECT id, name, state, version FROM {table}
WHERE owner_id = %(owner_id)s AND session_id = %(session_id)s
ORDER BY created_at, created_position"""


class ContextsView(ReadModel):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.append(self.sql(CREATE_TABLE))
        self.sql_create_statements.append(
            self.sql(CREATE_OWNER_INDEX, index=f"{self.name}_owner_idx"))

    def page(self, owner_id: str, limit: int, offset: int) -> tuple[list[dict], int]:
        rows = self.query(SELECT_PAGE, owner_id=owner_id, limit=limit, offset=offset)
        total = rows[0]["total"] if rows else self.query(COUNT, owner_id=owner_id)[0]["total"]
        return rows, total

    def get(self, owner_id: str, context_id: Any) -> dict | None:
        rows = self.query(SELECT_ONE, owner_id=owner_id, id=context_id)
        return rows[0] if rows else None

    def binding(self, context_id: Any) -> dict | None:
        """Whose context it is and the session it is bound to (None if unknown)."""
        rows = self.query(SELECT_BINDING, id=context_id)
        return rows[0] if rows else None

    def for_session(self, owner_id: str, session_id: str) -> list[dict]:
        """The owner's contexts bound to that session, oldest first."""
        return self.query(SELECT_FOR_SESSION, owner_id=owner_id, session_id=session_id)


class ContextsProjection(BatchProjection):
    name = "contexts"
    application = MemoryApplication
    view_class = ContextsView

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Other memory events do not change this read model."""

    @apply.register
    def _(self, domain_event: Context.Created, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(INSERT_CONTEXT), {
            "id": domain_event.originator_id, "owner_id": domain_event.owner_id,
            "name": domain_event.name, "state": Jsonb(domain_event.state),
            "session_id": domain_event.session_id, "position": position,
            "version": domain_event.originator_version, "at": domain_event.at})

    @apply.register
    def _(self, domain_event: Context.Updated, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(REPLACE_CONTEXT), {
            "id": domain_event.originator_id, "name": domain_event.name,
            "state": Jsonb(domain_event.state), "version": domain_event.originator_version,
            "at": domain_event.at})

    @apply.register
    def _(self, domain_event: Context.Synced, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(SELECT_STATE), {"id": domain_event.originator_id})
        row = curs.fetchone()
        if row is not None:
            curs.execute(self.view.sql(SET_STATE), {
                "id": domain_event.originator_id,
                "state": Jsonb(merge_patch(row["state"], domain_event.changes)),
                "version": domain_event.originator_version, "at": domain_event.at})

    @apply.register
    def _(self, domain_event: Context.Deleted, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(DELETE_CONTEXT), {"id": domain_event.originator_id})

    @apply.register
    def _(self, domain_event: MemoryOwner.Forgotten, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(FORGET_OWNER), {"owner_id": domain_event.owner_id})
