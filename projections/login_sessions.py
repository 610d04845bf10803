"""Login sessions: listed per user, and the deny-list that refuses ended sessions' tokens."""

from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from psycopg import Cursor
from psycopg.sql import Composed

from arqium.domain.identity.application import IdentityApplication
from arqium.domain.identity.domainmodel import LoginSession, User
from arqium.projections.api_keys import NOTIFY_CREDENTIALS_ENDED
from arqium.projections.base import BatchProjection, ReadModel

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    id uuid PRIMARY KEY,
    user_id text NOT NULL,
    ip_address text NOT NULL,
    user_agent text NOT NULL,
    remember_me boolean NOT NULL,
    created_at timestamptz NOT NULL,
    last_activity timestamptz NOT NULL,
    ended_at timestamptz,
    end_reason text
)"""
CREATE_USER_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {table} (user_id, created_at)"
# Sessions of deleted users: their rows are removed, only these bare ids stay to refuse
# their tokens.
CREATE_REVOKED_TABLE = "CREATE TABLE IF NOT EXISTS {revoked} (id uuid PRIMARY KEY)"

INSERT_SESSION = """
INSERT INTO {table} (id, user_id, ip_address, user_agent, remember_me, created_at,
    last_activity)
VALUES (%(id)s, %(user_id)s, %(ip_address)s, %(user_agent)s, %(remember_me)s, %(at)s, %(at)s)
ON CONFLICT (id) DO NOTHING"""
TOUCH_SESSION = "UPDATE {table} SET last_activity = %(at)s WHERE id = %(id)s"
END_SESSION = """
UPDATE {table} SET ended_at = %(at)s, end_reason = %(reason)s
WHERE id = %(id)s AND ended_at IS NULL"""

REVOKE_USERS_SESSIONS = """
INSERT INTO {revoked} (id) SELECT id FROM {table} WHERE user_id = %(user_id)s
ON CONFLICT (id) DO NOTHING"""
DELETE_USERS_SESSIONS = "DELETE FROM {table} WHERE user_id = %(user_id)s"

SELECT_ENDED = """
SELECT EXISTS (SELECT 1 FROM {table} WHERE id = %(id)s AND ended_at IS NOT NULL)
    OR EXISTS (SELECT 1 FROM {revoked} WHERE id = %(id)s) AS ended"""
SELECT_SESSION = """
SELECT user_id, ended_at IS NOT NULL AS ended FROM {table} WHERE id = %(id)s
UNION ALL SELECT NULL, true FROM {revoked} WHERE id = %(id)s"""
# Which of these sessions have ended ('ended') or were revoked with their deleted user
# ('revoked'): the open sockets' periodic re-check, one query for all of them.
SELECT_ENDINGS_AMONG = """
SELECT id::text, 'revoked' AS why FROM {revoked} WHERE id = ANY(%(ids)s::uuid[])
UNION ALL
SELECT id::text, 'ended' AS why FROM {table}
WHERE id = ANY(%(ids)s::uuid[]) AND ended_at IS NOT NULL"""
SELECT_ACTIVE_FOR_USER = """
SELECT id, user_id, ip_address, user_agent, last_activity, created_at
FROM {table} WHERE user_id = %(user_id)s AND ended_at IS NULL
ORDER BY created_at, id"""


class LoginSessionsView(ReadModel):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.revoked = f"{self.name}_revoked"
        self.sql_create_statements.append(self.sql(CREATE_TABLE))
        self.sql_create_statements.append(
            self.sql(CREATE_USER_INDEX, index=f"{self.name}_user_idx"))
        self.sql_create_statements.append(self.sql(CREATE_REVOKED_TABLE))

    def sql(self, template: str, **names: str) -> Composed:
        """Its templates may also name {revoked}, the table of revoked session ids."""
        return super().sql(template, revoked=self.revoked, **names)

    def table_names(self) -> list[str]:
        return [*super().table_names(), self.revoked]

    def has_ended(self, session_id: str) -> bool:
        """True once the session's end is projected; unknown sessions are not ended."""
        return self.query(SELECT_ENDED, id=session_id)[0]["ended"]

    def session(self, session_id: str) -> dict | None:
        """{user_id, ended} of a login session (a deleted user's: ended); None if this
        read model does not know it."""
        rows = self.query(SELECT_SESSION, id=session_id)
        return rows[0] if rows else None
    def endings_among(self, session_ids: set[str]) -> dict[str, str]:
        """Those of the sessions that ended: 'ended', or 'revoked' (their user deleted)."""
        rows = self.query(SELECT_ENDINGS_AMONG, ids=sorted(session_ids))
        return {row["id"]: row["why"] for row in rows}

    def active_for_user(self, user_id: str) -> list[dict]:
        return self.query(SELECT_ACTIVE_FOR_USER, user_id=user_id)


class LoginSessionsProjection(BatchProjection):
    name = "login_sessions"
    application = IdentityApplication
    view_class = LoginSessionsView

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Other identity events do not change this read model."""

    @apply.register
    def _(self, domain_event: LoginSession.Started, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(INSERT_SESSION), {
            "id": domain_event.originator_id, "user_id": domain_event.user_id,
            "ip_address": domain_event.ip_address, "user_agent": domain_event.user_agent,
            "remember_me": domain_event.remember_me, "at": domain_event.at})

    @apply.register
    def _(self, domain_event: LoginSession.Refreshed, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(TOUCH_SESSION),
                     {"id": domain_event.originator_id, "at": domain_event.at})

    @apply.register
    def _(self, domain_event: LoginSession.Ended, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(END_SESSION), {
            "id": domain_event.originator_id, "at": domain_event.at,
            "reason": domain_event.reason})
        curs.execute(NOTIFY_CREDENTIALS_ENDED)

    @apply.register
    def _(self, domain_event: User.Deleted, position: int, curs: Cursor) -> None:
        user = {"user_id": str(domain_event.originator_id)}
        curs.execute(self.view.sql(REVOKE_USERS_SESSIONS), user)
        curs.execute(self.view.sql(DELETE_USERS_SESSIONS), user)
        curs.execute(NOTIFY_CREDENTIALS_ENDED)
