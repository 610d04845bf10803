"""Stored first responses of commands sent with an Idempotency-Key (DESIGN.md §5)."""

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

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

Connect = Callable[[], AbstractContextManager[Any]]


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    status: int | None  # None while the first request is still being answered
    headers: list[tuple[str, str]]
    body: bytes


class IdempotencyStore:
    """One row per (caller, key): claimed before the command runs, completed after."""

    def __init__(self, connect: Connect):
        self._connect = connect

    def create_table(self) -> None:
        with self._connect() as conn:
            conn.execute(CREATE_TABLE)

    def claim(self, scope: str, key: str, fingerprint: str) -> StoredResponse | None:
        """None if this request is the first with that key (and now owns it), else what
        the first one stored (its response, or status None while it is running)."""
        with self._connect() as conn:
            claimed = conn.execute(
                f"INSERT INTO {TABLE} (scope, key, fingerprint) VALUES (%s, %s, %s) "
                "ON CONFLICT (scope, key) DO NOTHING RETURNING key",
                (scope, key, fingerprint)).fetchone()
            if claimed:
                return None
            row = conn.execute(f"SELECT fingerprint, status, headers, body FROM {TABLE} "
                               "WHERE scope = %s AND key = %s", (scope, key)).fetchone()
        row = dict(row) if not isinstance(row, dict) else row
        return StoredResponse(row["fingerprint"], row["status"],
                              [tuple(h) for h in row["headers"] or []],
                              bytes(row["body"] or b""))

    def complete(self, scope: str, key: str, status: int,
                 headers: list[tuple[str, str]], body: bytes) -> None:
        with self._connect() as conn:
            conn.execute(f"UPDATE {TABLE} SET status = %s, headers = %s, body = %s "
                         "WHERE scope = %s AND key = %s",
                         (status, json.dumps(headers), body, scope, key))

    def release(self, scope: str, key: str) -> None:
        """Forget a claim whose request failed on the server, so a retry can run."""
        with self._connect() as conn:
            conn.execute(f"DELETE FROM {TABLE} WHERE scope = %s AND key = %s "
                         "AND status IS NULL", (scope, key))
