"""Chat sessions as their lists show them: one row per session, and its checkpoints."""

from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from psycopg import Cursor
from psycopg.sql import Composed
from psycopg.types.json import Jsonb

from arqium.domain.sessions.application import SessionsApplication
from arqium.domain.sessions.domainmodel import ACTIVE, ARCHIVED, ChatSession, SessionsOwner
from arqium.projections.base import BatchProjection, ReadModel

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    id uuid PRIMARY KEY,
    owner_id text NOT NULL,
    title text NOT NULL,
    status text NOT NULL,
    metadata jsonb NOT NULL,
    message_count integer NOT NULL DEFAULT 0,
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    last_position bigint NOT NULL
)"""
CREATE_RECENT_INDEX = """
CREATE INDEX IF NOT EXISTS {index} ON {table} (owner_id, updated_at DESC, last_position DESC)"""
CREATE_CHECKPOINTS_TABLE = """
CREATE TABLE IF NOT EXISTS {checkpoints} (
    id uuid PRIMARY KEY,
    session_id uuid NOT NULL,
    owner_id text NOT NULL,
    label text,
    message_count integer NOT NULL,
    position integer NOT NULL,
    created_at timestamptz NOT NULL,
    recorded_position bigint NOT NULL
)"""
CREATE_CHECKPOINTS_INDEX = """
CREATE INDEX IF NOT EXISTS {index} ON {checkpoints} (session_id, recorded_position)"""

INSERT_SESSION = """
INSERT INTO {table} (id, owner_id, title, status, metadata, version, created_at,
    updated_at, last_position)
VALUES (%(id)s, %(owner_id)s, %(title)s, 'active', %(metadata)s, %(version)s, %(at)s,
    %(at)s, %(position)s)
ON CONFLICT (id) DO NOTHING"""
COUNT_MESSAGE = """
UPDATE {table} SET message_count = message_count + 1, version = %(version)s,
    updated_at = %(at)s, last_position = %(position)s
WHERE id = %(id)s AND version < %(version)s"""
TOUCH = """
UPDATE {table} SET version = %(version)s, updated_at = %(at)s, last_position = %(position)s
WHERE id = %(id)s AND version < %(version)s"""
RESUME = """
UPDATE {table} SET status = 'active', message_count = %(message_count)s,
    version = %(version)s, updated_at = %(at)s, last_position = %(position)s
WHERE id = %(id)s AND version < %(version)s"""
ARCHIVE = """
UPDATE {table} SET status = 'archived', version = %(version)s, updated_at = %(at)s,
    last_position = %(position)s
WHERE id = %(id)s AND version < %(version)s"""
INSERT_CHECKPOINT = """
INSERT INTO {checkpoints} (id, session_id, owner_id, label, message_count, position,
    created_at, recorded_position)
SELECT %(checkpoint_id)s, id, owner_id, %(label)s, %(message_count)s, %(thread_position)s,
    %(at)s, %(position)s
FROM {table} WHERE id = %(id)s
ON CONFLICT (id) DO NOTHING"""
DELETE_SESSION = "DELETE FROM {table} WHERE id = %(id)s"
DELETE_CHECKPOINTS = "DELETE FROM {checkpoints} WHERE session_id = %(id)s"
FORGET_SESSIONS = "DELETE FROM {table} WHERE owner_id = %(owner_id)s"
FORGET_CHECKPOINTS = "DELETE FROM {checkpoints} WHERE owner_id = %(owner_id)s"

COLUMNS = "id, title, status, metadata, message_count, created_at, updated_at"
SELECT_PAGE = f"""
SELECT {COLUMNS}, count(*) OVER () AS total FROM {{table}}
WHERE owner_id = %(owner_id)s AND status = ANY(%(statuses)s)
ORDER BY updated_at DESC, last_position DESC
LIMIT %(limit)s OFFSET %(offset)s"""
COUNT = """
SELECT count(*) AS total FROM {table}
WHERE owner_id = %(owner_id)s AND status = ANY(%(statuses)s)"""
SELECT_ONE = f"SELECT {COLUMNS} FROM {{table}} WHERE id = %(id)s AND owner_id = %(owner_id)s"
SELECT_CHECKPOINTS = """
SELECT id AS checkpoint_id, session_id, label, message_count, position, created_at
FROM {checkpoints} WHERE session_id = %(id)s AND owner_id = %(owner_id)s
ORDER BY recorded_position"""


class ChatSessionsView(ReadModel):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.checkpoints = f"{self.name}_checkpoints"
        self.sql_create_statements.extend([
            self.sql(CREATE_TABLE),
            self.sql(CREATE_RECENT_INDEX, index=f"{self.name}_recent_idx"),
            self.sql(CREATE_CHECKPOINTS_TABLE),
            self.sql(CREATE_CHECKPOINTS_INDEX, index=f"{self.checkpoints}_session_idx")])

    def sql(self, template: str, **names: str) -> Composed:
        """Its templates may also name {checkpoints}, the sessions' checkpoints."""
        return super().sql(template, checkpoints=self.checkpoints, **names)

    def table_names(self) -> list[str]:
        return [*super().table_names(), self.checkpoints]

    def page(self, owner_id: str, limit: int, offset: int, archived: bool = True
             ) -> tuple[list[dict], int]:
        """The owner's sessions, most recently active first (archived ones too, unless
        `archived` is False)."""
        statuses = [ACTIVE, ARCHIVED] if archived else [ACTIVE]
        rows = self.query(SELECT_PAGE, owner_id=owner_id, statuses=statuses, limit=limit,
                          offset=offset)
        if rows:
            return rows, rows[0]["total"]
        return rows, self.query(COUNT, owner_id=owner_id, statuses=statuses)[0]["total"]

    def get(self, owner_id: str, session_id: Any) -> dict | None:
        rows = self.query(SELECT_ONE, owner_id=owner_id, id=session_id)
        return rows[0] if rows else None

    def checkpoints_of(self, owner_id: str, session_id: Any) -> list[dict]:
        """The session's checkpoints, oldest first."""
        return self.query(SELECT_CHECKPOINTS, owner_id=owner_id, id=session_id)


class ChatSessionsProjection(BatchProjection):
    name = "chat_sessions"
    application = SessionsApplication
    view_class = ChatSessionsView

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Other sessions events do not change this read model."""

    @apply.register
    def _(self, domain_event: ChatSession.Created, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(INSERT_SESSION), {
            **_fields(domain_event, position), "owner_id": domain_event.owner_id,
            "title": domain_event.title, "metadata": Jsonb(domain_event.metadata)})

    @apply.register
    def _(self, domain_event: ChatSession.MessageAppended, position: int,
          curs: Cursor) -> None:
        curs.execute(self.view.sql(COUNT_MESSAGE), _fields(domain_event, position))

    @apply.register
    def _(self, domain_event: ChatSession.Checkpointed, position: int, curs: Cursor) -> None:
        fields = _fields(domain_event, position)
        curs.execute(self.view.sql(INSERT_CHECKPOINT), {
            **fields, "checkpoint_id": domain_event.checkpoint_id,
            "label": domain_event.label, "message_count": domain_event.message_count,
            "thread_position": domain_event.position})
        curs.execute(self.view.sql(TOUCH), fields)

    @apply.register
    def _(self, domain_event: ChatSession.Resumed, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(RESUME), {
            **_fields(domain_event, position), "message_count": domain_event.message_count})

    @apply.register
    def _(self, domain_event: ChatSession.Archived, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(ARCHIVE), _fields(domain_event, position))

    @apply.register
    def _(self, domain_event: ChatSession.Deleted, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(DELETE_CHECKPOINTS), {"id": domain_event.originator_id})
        curs.execute(self.view.sql(DELETE_SESSION), {"id": domain_event.originator_id})

    @apply.register
    def _(self, domain_event: SessionsOwner.Forgotten, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(FORGET_CHECKPOINTS), {"owner_id": domain_event.owner_id})
        curs.execute(self.view.sql(FORGET_SESSIONS), {"owner_id": domain_event.owner_id})


def _fields(domain_event: Any, position: int) -> dict:
    return {"id": domain_event.originator_id, "version": domain_event.originator_version,
            "at": domain_event.at, "position": position}
