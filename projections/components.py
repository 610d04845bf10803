"""Saved components as their lists show them: one row per component, newest first."""

from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from psycopg import Cursor
from psycopg.types.json import Jsonb

from arqium.domain.components.application import ComponentsApplication
from arqium.domain.components.domainmodel import Component, ComponentsOwner
from arqium.projections.base import BatchProjection, ReadModel

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    id uuid PRIMARY KEY,
    owner_id text NOT NULL,
    title text NOT NULL,
    type text NOT NULL,
    data jsonb NOT NULL,
    preview text,
    tags text[] NOT NULL,
    sources uuid[] NOT NULL,
    saved_at timestamptz NOT NULL,
    position bigint NOT NULL
)"""
CREATE_RECENT_INDEX = """
CREATE INDEX IF NOT EXISTS {index} ON {table} (owner_id, saved_at DESC, position DESC)"""
CREATE_TAGS_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {table} USING gin (tags)"

INSERT = """
INSERT INTO {table} (id, owner_id, title, type, data, preview, tags, sources, saved_at,
    position)
VALUES (%(id)s, %(owner_id)s, %(title)s, %(type)s, %(data)s, %(preview)s, %(tags)s,
    %(sources)s, %(saved_at)s, %(position)s)
ON CONFLICT (id) DO NOTHING"""
DELETE = "DELETE FROM {table} WHERE id = %(id)s"
FORGET = "DELETE FROM {table} WHERE owner_id = %(owner_id)s"

LISTED = "id, title, type, preview, tags, saved_at"
SELECT_PAGE = f"""
SELECT {LISTED}, count(*) OVER () AS total FROM {{table}}
WHERE owner_id = %(owner_id)s AND (%(tag)s::text IS NULL OR tags @> ARRAY[%(tag)s::text])
ORDER BY saved_at DESC, position DESC
LIMIT %(limit)s OFFSET %(offset)s"""
COUNT = """
SELECT count(*) AS total FROM {table}
WHERE owner_id = %(owner_id)s AND (%(tag)s::text IS NULL OR tags @> ARRAY[%(tag)s::text])"""
SELECT_ONE = f"""
SELECT {LISTED}, data, sources FROM {{table}}
WHERE id = %(id)s AND owner_id = %(owner_id)s"""


class ComponentsView(ReadModel):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.extend([
            self.sql(CREATE_TABLE),
            self.sql(CREATE_RECENT_INDEX, index=f"{self.name}_recent_idx"),
            self.sql(CREATE_TAGS_INDEX, index=f"{self.name}_tags_idx")])

    def page(self, owner_id: str, tag: str | None, limit: int, offset: int
             ) -> tuple[list[dict], int]:
        """The owner's components (those tagged `tag`, if given), newest first, without
        their data; and how many there are in all."""
        params = {"owner_id": owner_id, "tag": tag}
        rows = self.query(SELECT_PAGE, **params, limit=limit, offset=offset)
        if rows:
            return rows, rows[0]["total"]
        return rows, self.query(COUNT, **params)[0]["total"]

    def get(self, owner_id: str, component_id: Any) -> dict | None:
        rows = self.query(SELECT_ONE, owner_id=owner_id, id=component_id)
        return rows[0] if rows else None


class ComponentsProjection(BatchProjection):
    name = "components"
    application = ComponentsApplication
    view_class = ComponentsView

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Other components events do not change this read model."""

    @apply.register
    def _(self, domain_event: Component.Saved, position: int, curs: Cursor) -> None:
        """Saved, or Combined (a Saved naming its sources)."""
        curs.execute(self.view.sql(INSERT), {
            "id": domain_event.originator_id, "owner_id": domain_event.owner_id,
            "title": domain_event.title, "type": domain_event.type,
            "data": Jsonb(domain_event.data), "preview": domain_event.preview,
            "tags": domain_event.tags, "sources": getattr(domain_event, "sources", []),
            "saved_at": domain_event.at, "position": position})

    @apply.register
    def _(self, domain_event: Component.Deleted, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(DELETE), {"id": domain_event.originator_id})

    @apply.register
    def _(self, domain_event: ComponentsOwner.Forgotten, position: int,
          curs: Cursor) -> None:
        curs.execute(self.view.sql(FORGET), {"owner_id": domain_event.owner_id})
