"""The memory read model: one row per live memory item, newest first."""

import json
from datetime import datetime
from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.memory.application import MemoryApplication
from domain.memory.domainmodel import MemoryItem, MemoryOwner
from domain.shared import Gone, is_sealed
from infra.keys import OwnerKeys
from projections.base import BatchProjection, ReadModel

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    id uuid PRIMARY KEY,
    owner_id text NOT NULL,
    key text NOT NULL,
    content jsonb NOT NULL,
    layer text NOT NULL,
    confidence double precision,
    sensitivity text NOT NULL,
    tags jsonb NOT NULL,
    metadata jsonb NOT NULL,
    session_id text,
    context_id text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    expires_at timestamptz,
    version bigint NOT NULL,
    position bigint NOT NULL,
    actor text NOT NULL,
    correlation_id text NOT NULL
)"""
CREATE_RECENT_INDEX = """
CREATE INDEX IF NOT EXISTS {index} ON {table} (owner_id, updated_at DESC, position DESC)"""

INSERT_ITEM = """
INSERT INTO {table} (id, owner_id, key, content, layer, confidence, sensitivity, tags,
    metadata, session_id, context_id, created_at, updated_at, expires_at, version,
    position, actor, correlation_id)
VALUES (%(id)s, %(owner_id)s, %(key)s, %(content)s, %(layer)s, %(confidence)s,
    %(sensitivity)s, %(tags)s, %(metadata)s, %(session_id)s, %(context_id)s, %(at)s,
    %(at)s, %(expires_at)s, %(version)s, %(position)s, %(actor)s, %(correlation_id)s)
ON CONFLICT (id) DO NOTHING"""

REVISE_ITEM = """
UPDATE {table} SET content = %(content)s, confidence = %(confidence)s,
    sensitivity = %(sensitivity)s, tags = %(tags)s, metadata = %(metadata)s,
    updated_at = %(at)s, expires_at = %(expires_at)s, version = %(version)s,
    position = %(position)s, actor = %(actor)s, correlation_id = %(correlation_id)s
WHERE id = %(id)s AND version < %(version)s"""

FORGET_OWNER = "DELETE FROM {table} WHERE owner_id = %(owner_id)s"

SELECT_OWNER = "SELECT owner_id FROM {table} WHERE id = %(id)s"

SELECT_RECENT = """
SELECT id, key, content, layer, confidence, sensitivity, tags, metadata, session_id,
    context_id, created_at, updated_at, expires_at
FROM {table}
WHERE owner_id = %(owner_id)s AND (expires_at IS NULL OR expires_at > %(now)s)
ORDER BY updated_at DESC, position DESC
LIMIT %(limit)s"""


class MemoryItemsView(ReadModel):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        index = f"{self.name}_recent_idx"
        self.sql_create_statements.append(self.sql(CREATE_TABLE))
        self.sql_create_statements.append(self.sql(CREATE_RECENT_INDEX, index=index))

    def recent(self, owner_id: str, limit: int, now: datetime) -> list[dict]:
        return self.query(SELECT_RECENT, owner_id=owner_id, limit=limit, now=now)


class MemoryItemsProjection(BatchProjection):
    name = "memory_items"
    application = MemoryApplication
    view_class = MemoryItemsView

    def __init__(self, view: MemoryItemsView):
        super().__init__(view)
        self.keys = OwnerKeys(view.datastore.get_connection)

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Other memory events do not change this read model."""

    @apply.register
    def _(self, domain_event: MemoryItem.Upserted, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(INSERT_ITEM), {
            **self._revision(domain_event, position, domain_event.owner_id),
            "owner_id": domain_event.owner_id, "key": domain_event.key,
            "layer": domain_event.layer, "session_id": domain_event.session_id,
            "context_id": domain_event.context_id})

    @apply.register
    def _(self, domain_event: MemoryItem.Revised, position: int, curs: Cursor) -> None:
        owner_id = self._owner_of(domain_event.originator_id, curs)
        curs.execute(self.view.sql(REVISE_ITEM),
                     self._revision(domain_event, position, owner_id))

    @apply.register
    def _(self, domain_event: MemoryOwner.Forgotten, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(FORGET_OWNER), {"owner_id": domain_event.owner_id})

    def _revision(self, domain_event: Any, position: int, owner_id: str | None) -> dict:
        return {**_revision(domain_event, position),
                "content": Jsonb(self._readable(owner_id, domain_event.content))}

    def _readable(self, owner_id: str | None, content: Any) -> Any:
        """Sealed content is opened for the read model; once its owner's key is
        destroyed it stays unreadable (null) here too."""
        if not is_sealed(content):
            return content
        try:
            return json.loads(self.keys.open(owner_id, content))
        except Gone:
            return None

    def _owner_of(self, item_id: Any, curs: Cursor) -> str | None:
        curs.execute(self.view.sql(SELECT_OWNER), {"id": item_id})
        row = curs.fetchone()
        return row["owner_id"] if row else None


def _revision(domain_event: Any, position: int) -> dict:
    return {
        "id": domain_event.originator_id,
        "confidence": domain_event.confidence, "sensitivity": domain_event.sensitivity,
        "tags": Jsonb(domain_event.tags), "metadata": Jsonb(domain_event.metadata),
        "at": domain_event.at, "expires_at": domain_event.expires_at,
        "version": domain_event.originator_version,
        "position": position, "actor": domain_event.actor,
        "correlation_id": domain_event.correlation_id,
    }
