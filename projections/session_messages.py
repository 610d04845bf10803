"""Session messages, oldest first, abandoned ones kept and marked."""

from datetime import datetime
from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from psycopg import Cursor
from psycopg.sql import Composed
from psycopg.types.json import Jsonb

from arqium.domain.sessions.application import SessionsApplication
from arqium.domain.sessions.domainmodel import ChatSession, SessionsOwner
from arqium.projections.base import BatchProjection, ReadModel

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    session_id uuid NOT NULL,
    id uuid NOT NULL,
    owner_id text NOT NULL,
    seq integer NOT NULL,
    role text NOT NULL,
    content text NOT NULL,
    components jsonb,
    incomplete boolean NOT NULL,
    abandoned boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    actor text NOT NULL,
    correlation_id text NOT NULL,
    PRIMARY KEY (session_id, id),
    UNIQUE (session_id, seq)
)"""
# Whose each session is, so that a message row carries its owner and an empty session
# is told apart from someone else's.
CREATE_SESSIONS_TABLE = """
CREATE TABLE IF NOT EXISTS {sessions} (
    session_id uuid PRIMARY KEY,
    owner_id text NOT NULL
)"""
CREATE_OWNER_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {sessions} (owner_id)"

INSERT_SESSION = """
INSERT INTO {sessions} (session_id, owner_id) VALUES (%(session_id)s, %(owner_id)s)
ON CONFLICT (session_id) DO NOTHING"""
INSERT_MESSAGE = """
INSERT INTO {table} (session_id, id, owner_id, seq, role, content, components, incomplete,
    created_at, actor, correlation_id)
SELECT session_id, %(id)s, owner_id, %(seq)s, %(role)s, %(content)s, %(components)s,
    %(incomplete)s, %(at)s, %(actor)s, %(correlation_id)s
FROM {sessions} WHERE session_id = %(session_id)s
ON CONFLICT DO NOTHING"""
MARK_ABANDONED = """
UPDATE {table} SET abandoned = %(abandoned)s
WHERE session_id = %(session_id)s AND id = ANY(%(ids)s::uuid[])"""
DELETE_MESSAGES = "DELETE FROM {table} WHERE session_id = %(session_id)s"
DELETE_SESSION = "DELETE FROM {sessions} WHERE session_id = %(session_id)s"
FORGET_MESSAGES = "DELETE FROM {table} WHERE owner_id = %(owner_id)s"
FORGET_SESSIONS = "DELETE FROM {sessions} WHERE owner_id = %(owner_id)s"

COLUMNS = """session_id, id, seq, role, content, components, incomplete, abandoned,
    created_at"""
HAS_SESSION = """
SELECT 1 FROM {sessions} WHERE session_id = %(session_id)s AND owner_id = %(owner_id)s"""
SELECT_PAGE = f"""
SELECT {COLUMNS}, count(*) OVER () AS total FROM {{table}}
WHERE session_id = %(session_id)s AND owner_id = %(owner_id)s
    AND (%(include_abandoned)s OR NOT abandoned)
ORDER BY seq LIMIT %(limit)s OFFSET %(offset)s"""
COUNT = """
SELECT count(*) AS total FROM {table}
WHERE session_id = %(session_id)s AND owner_id = %(owner_id)s
    AND (%(include_abandoned)s OR NOT abandoned)"""
# Newest first, one more than asked for: whether there is more before them.
SELECT_BEFORE = f"""
SELECT {COLUMNS} FROM {{table}}
WHERE session_id = %(session_id)s AND owner_id = %(owner_id)s AND NOT abandoned
    AND (%(before)s::timestamptz IS NULL OR created_at < %(before)s)
ORDER BY seq DESC LIMIT %(limit)s + 1"""


class SessionMessagesView(ReadModel):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.sessions = f"{self.name}_sessions"
        self.sql_create_statements.extend([
            self.sql(CREATE_TABLE),
            self.sql(CREATE_SESSIONS_TABLE),
            self.sql(CREATE_OWNER_INDEX, index=f"{self.sessions}_owner_idx")])

    def sql(self, template: str, **names: str) -> Composed:
        """Its templates may also name {sessions}, each session's owner."""
        return super().sql(template, sessions=self.sessions, **names)

    def table_names(self) -> list[str]:
        return [*super().table_names(), self.sessions]

    def has_session(self, owner_id: str, session_id: Any) -> bool:
        """Whether the owner has this (undeleted) session."""
        return bool(self.query(HAS_SESSION, owner_id=owner_id, session_id=session_id))

    def page(self, owner_id: str, session_id: Any, limit: int, offset: int,
             include_abandoned: bool = False) -> tuple[list[dict], int]:
        """The session's active thread (or its whole history), oldest first."""
        params = {"owner_id": owner_id, "session_id": session_id,
                  "include_abandoned": include_abandoned}
        rows = self.query(SELECT_PAGE, limit=limit, offset=offset, **params)
        return rows, rows[0]["total"] if rows else self.query(COUNT, **params)[0]["total"]

    def before(self, owner_id: str, session_id: Any, before: datetime | None, limit: int
               ) -> tuple[list[dict], bool]:
        """The last `limit` messages of the active thread written before `before`,
        oldest first, and whether older ones remain."""
        rows = self.query(SELECT_BEFORE, owner_id=owner_id, session_id=session_id,
                          before=before, limit=limit)
        return rows[:limit][::-1], len(rows) > limit


class SessionMessagesProjection(BatchProjection):
    name = "session_messages"
    application = SessionsApplication
    view_class = SessionMessagesView

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Other sessions events do not change this read model."""

    @apply.register
    def _(self, domain_event: ChatSession.Created, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(INSERT_SESSION), {
            "session_id": domain_event.originator_id, "owner_id": domain_event.owner_id})

    @apply.register
    def _(self, domain_event: ChatSession.MessageAppended, position: int,
          curs: Cursor) -> None:
        curs.execute(self.view.sql(INSERT_MESSAGE), {
            "session_id": domain_event.originator_id, "id": domain_event.message_id,
            "seq": domain_event.seq, "role": domain_event.role,
            "content": domain_event.content,
            "components": None if domain_event.components is None
            else Jsonb(domain_event.components),
            "incomplete": domain_event.incomplete, "at": domain_event.at,
            "actor": domain_event.actor, "correlation_id": domain_event.correlation_id})

    @apply.register
    def _(self, domain_event: ChatSession.Resumed, position: int, curs: Cursor) -> None:
        for ids, abandoned in ((domain_event.abandoned, True),
                               (domain_event.restored, False)):
            if ids:
                curs.execute(self.view.sql(MARK_ABANDONED), {
                    "session_id": domain_event.originator_id, "ids": ids,
                    "abandoned": abandoned})

    @apply.register
    def _(self, domain_event: ChatSession.Deleted, position: int, curs: Cursor) -> None:
        params = {"session_id": domain_event.originator_id}
        curs.execute(self.view.sql(DELETE_MESSAGES), params)
        curs.execute(self.view.sql(DELETE_SESSION), params)

    @apply.register
    def _(self, domain_event: SessionsOwner.Forgotten, position: int, curs: Cursor) -> None:
        params = {"owner_id": domain_event.owner_id}
        curs.execute(self.view.sql(FORGET_MESSAGES), params)
        curs.execute(self.view.sql(FORGET_SESSIONS), params)
