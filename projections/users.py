"""Users as the profile endpoints show them, with their last login."""

from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from psycopg import Cursor
from psycopg.types.json import Jsonb

from arqium.domain.identity.application import IdentityApplication
from arqium.domain.identity.domainmodel import LoginSession, User
from arqium.projections.base import BatchProjection, ReadModel

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    id uuid PRIMARY KEY,
    email text NOT NULL,
    name text NOT NULL,
    roles jsonb NOT NULL,
    preferences jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    last_login timestamptz
)"""
# Memory Service v0 users: the userId (handle) an account claimed, with its profile there.
ADD_HANDLE_COLUMNS = """
ALTER TABLE {table} ADD COLUMN IF NOT EXISTS handle text,
    ADD COLUMN IF NOT EXISTS display_name text, ADD COLUMN IF NOT EXISTS time_zone text"""
CREATE_HANDLE_INDEX = "CREATE UNIQUE INDEX IF NOT EXISTS {index} ON {table} (handle)"

INSERT_USER = """
INSERT INTO {table} (id, email, name, roles, preferences, created_at, updated_at)
VALUES (%(id)s, %(email)s, %(name)s, %(roles)s, '{{}}', %(at)s, %(at)s)
ON CONFLICT (id) DO NOTHING"""
UPDATE_PROFILE = """
UPDATE {table} SET name = %(name)s, preferences = %(preferences)s, updated_at = %(at)s
WHERE id = %(id)s"""
GRANT_ROLE = """
UPDATE {table} SET roles = roles || %(role)s, updated_at = %(at)s
WHERE id = %(id)s AND NOT roles ? %(role_name)s"""
RECORD_LOGIN = "UPDATE {table} SET last_login = %(at)s WHERE id = %(id)s"
DELETE_USER = "DELETE FROM {table} WHERE id = %(id)s"
CLAIM_HANDLE = """
UPDATE {table} SET handle = %(handle)s, display_name = %(display_name)s,
    time_zone = %(time_zone)s, updated_at = %(at)s
WHERE id = %(id)s"""

SELECT_USER = """
SELECT id, email, name, roles, preferences, created_at, updated_at, last_login
FROM {table} WHERE id = %(id)s"""
SELECT_BY_HANDLE = """
SELECT id, email, handle, display_name, time_zone, created_at, updated_at
FROM {table} WHERE handle = %(handle)s"""


class UsersView(ReadModel):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.extend([
            self.sql(CREATE_TABLE), self.sql(ADD_HANDLE_COLUMNS),
            self.sql(CREATE_HANDLE_INDEX, index=f"{self.name}_handle_idx")])

    def get(self, user_id: str) -> dict | None:
        rows = self.query(SELECT_USER, id=user_id)
        return rows[0] if rows else None

    def by_handle(self, handle: str) -> dict | None:
        """The user whose Memory Service v0 userId is `handle`."""
        rows = self.query(SELECT_BY_HANDLE, handle=handle)
        return rows[0] if rows else None


class UsersProjection(BatchProjection):
    name = "users"
    application = IdentityApplication
    view_class = UsersView

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Other identity events do not change this read model."""

    @apply.register
    def _(self, domain_event: User.Registered, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(INSERT_USER), {
            "id": domain_event.originator_id, "email": domain_event.email,
            "name": domain_event.name, "roles": Jsonb(domain_event.roles),
            "at": domain_event.registered_at})

    @apply.register
    def _(self, domain_event: User.ProfileUpdated, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(UPDATE_PROFILE), {
            "id": domain_event.originator_id, "name": domain_event.name,
            "preferences": Jsonb(domain_event.preferences), "at": domain_event.at})

    @apply.register
    def _(self, domain_event: User.RoleGranted, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(GRANT_ROLE), {
            "id": domain_event.originator_id, "role": Jsonb([domain_event.role]),
            "role_name": domain_event.role, "at": domain_event.at})

    @apply.register
    def _(self, domain_event: LoginSession.Started, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(RECORD_LOGIN),
                     {"id": domain_event.user_id, "at": domain_event.at})

    @apply.register
    def _(self, domain_event: User.HandleClaimed, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(CLAIM_HANDLE), {
            "id": domain_event.originator_id, "handle": domain_event.handle,
            "display_name": domain_event.display_name,
            "time_zone": domain_event.time_zone, "at": domain_event.at})

    @apply.register
    def _(self, domain_event: User.Deleted, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(DELETE_USER), {"id": domain_event.originator_id})
