"""API keys: listed per user (never the secret), and found by the hash of a presented key."""

from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from psycopg import Cursor
from psycopg.types.json import Jsonb

from arqium.domain.identity.application import IdentityApplication
from arqium.domain.identity.domainmodel import ApiKey, User
from arqium.projections.base import BatchProjection, ReadModel

# Sent (at commit) by every transaction that ends credentials: a revoked key, an ended
# login session, a deleted user. The API processes then drop the credentials they keep
# (api/principals.py), as this read model and login_sessions change.
CREDENTIALS_ENDED = "arqium_credentials_ended"
NOTIFY_CREDENTIALS_ENDED = f"NOTIFY {CREDENTIALS_ENDED}"

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    id uuid PRIMARY KEY,
    user_id text NOT NULL,
    name text NOT NULL,
    scopes jsonb NOT NULL,
    prefix text NOT NULL,
    key_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
)"""
CREATE_USER_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {table} (user_id, created_at)"

INSERT_KEY = """
INSERT INTO {table} (id, user_id, name, scopes, prefix, key_hash, created_at)
VALUES (%(id)s, %(user_id)s, %(name)s, %(scopes)s, %(prefix)s, %(key_hash)s, %(at)s)
ON CONFLICT (id) DO NOTHING"""
REVOKE_KEY = "UPDATE {table} SET revoked_at = %(at)s WHERE id = %(id)s"
DELETE_USERS_KEYS = "DELETE FROM {table} WHERE user_id = %(user_id)s"

SELECT_BY_HASH = """
SELECT id, user_id, scopes FROM {table} WHERE key_hash = %(key_hash)s AND revoked_at IS NULL"""
SELECT_ACTIVE_AMONG = """
SELECT id::text FROM {table} WHERE id = ANY(%(ids)s::uuid[]) AND revoked_at IS NULL"""
SELECT_FOR_USER = """
SELECT id, name, prefix, scopes, created_at, count(*) OVER () AS total FROM {table}
WHERE user_id = %(user_id)s AND revoked_at IS NULL ORDER BY created_at, id
LIMIT %(limit)s OFFSET %(offset)s"""

COUNT_FOR_USER = """
SELECT count(*) AS total FROM {table} WHERE user_id = %(user_id)s AND revoked_at IS NULL"""


class ApiKeysView(ReadModel):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.append(self.sql(CREATE_TABLE))
        self.sql_create_statements.append(
            self.sql(CREATE_USER_INDEX, index=f"{self.name}_user_idx"))

    def active_by_hash(self, key_hash: str) -> dict | None:
        rows = self.query(SELECT_BY_HASH, key_hash=key_hash)
        return rows[0] if rows else None

    def active_among(self, key_ids: set[str]) -> set[str]:
        """Those of the keys that are neither revoked nor gone with their user."""
        return {row["id"] for row in self.query(SELECT_ACTIVE_AMONG, ids=sorted(key_ids))}

    def for_user(self, user_id: str, limit: int, offset: int) -> tuple[list[dict], int]:
        """One page of the user's live keys, and how many there are in all."""
        rows = self.query(SELECT_FOR_USER, user_id=user_id, limit=limit, offset=offset)
        return rows, rows[0]["total"] if rows else self._count(user_id)

    def _count(self, user_id: str) -> int:
        return self.query(COUNT_FOR_USER, user_id=user_id)[0]["total"]


class ApiKeysProjection(BatchProjection):
    name = "api_keys"
    application = IdentityApplication
    view_class = ApiKeysView

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Other identity events do not change this read model."""

    @apply.register
    def _(self, domain_event: ApiKey.Issued, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(INSERT_KEY), {
            "id": domain_event.originator_id, "user_id": domain_event.user_id,
            "name": domain_event.name, "scopes": Jsonb(domain_event.scopes),
            "prefix": domain_event.prefix, "key_hash": domain_event.key_hash,
            "at": domain_event.at})

    @apply.register
    def _(self, domain_event: ApiKey.Revoked, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(REVOKE_KEY),
                     {"id": domain_event.originator_id, "at": domain_event.at})
        curs.execute(NOTIFY_CREDENTIALS_ENDED)

    @apply.register
    def _(self, domain_event: User.Deleted, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(DELETE_USERS_KEYS),
                     {"user_id": str(domain_event.originator_id)})
        curs.execute(NOTIFY_CREDENTIALS_ENDED)
