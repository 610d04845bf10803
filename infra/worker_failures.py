"""What operators see of workers that fail (the supervisor reports them) and of the events
they told a projection to step over (`arqium projections skip`), kept in PostgreSQL so
that every process (the API's health, the CLI) sees what the worker process saw."""

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

FAILURES = "worker_failures"
SKIPS = "projection_skips"
CREATE_TABLES = (
    f"""CREATE TABLE IF NOT EXISTS {FAILURES} (
        worker text NOT NULL,
        application text NOT NULL,
        position bigint,
        error text NOT NULL,
        attempts integer NOT NULL,
        first_failed_at timestamptz NOT NULL DEFAULT now(),
        last_failed_at timestamptz NOT NULL DEFAULT now(),
        retry_at timestamptz NOT NULL,
        PRIMARY KEY (worker, application))""",
    f"""CREATE TABLE IF NOT EXISTS {SKIPS} (
        id bigserial PRIMARY KEY,
        worker text NOT NULL,
        application text NOT NULL,
        position bigint NOT NULL,
        reason text NOT NULL,
        actor text NOT NULL,
        error text,
        skipped_at timestamptz NOT NULL DEFAULT now())""",
)
ERROR_CHARS = 300
# Credentials a driver may quote in its messages (a conninfo's password, a URL's).
SECRETS = re.compile(r"(password\s*=\s*)\S+|(://[^:/@\s]+:)[^@\s]+(@)", re.IGNORECASE)

Connect = Callable[[], AbstractContextManager[Any]]


def describe(error: BaseException) -> str:
    """The error's type and the first line of its message, without credentials."""
    first_line = (str(error).strip().splitlines() or [""])[0]
    text = f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
    return SECRETS.sub(lambda m: f"{m[1] or m[2]}***{m[3] or ''}", text)[:ERROR_CHARS]


@dataclass(frozen=True)
class Failure:
    worker: str
    application: str
    position: int | None  # the event it cannot get past, when it is an event's fault
    error: str
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    retry_at: datetime


@dataclass(frozen=True)
class Skip:
    worker: str
    application: str
    position: int
    reason: str
    actor: str
    error: str | None
    skipped_at: datetime


class WorkerFailures:
    """One row per failing worker (gone once it moves again) and one per skipped event."""

    def __init__(self, connect: Connect):
        self._connect = connect

    def create_tables(self) -> None:
        with self._connect() as conn:
            for statement in CREATE_TABLES:
                conn.execute(statement)

    def record(self, worker: str, application: str, position: int | None, error: str,
               retry_in_seconds: float) -> int:
        """Note one more failed attempt; how many attempts failed in a row."""
        with self._connect() as conn:
            row = conn.execute(
                f"INSERT INTO {FAILURES} AS f (worker, application, position, error, "
                "attempts, retry_at) VALUES (%(worker)s, %(application)s, %(position)s, "
                "%(error)s, 1, now() + make_interval(secs => %(delay)s)) "
                "ON CONFLICT (worker, application) DO UPDATE SET position = "
                "excluded.position, error = excluded.error, attempts = f.attempts + 1, "
                "last_failed_at = now(), retry_at = excluded.retry_at RETURNING attempts",
                {"worker": worker, "application": application, "position": position,
                 "error": error, "delay": retry_in_seconds}).fetchone()
        return _value(row, "attempts")

    def clear(self, worker: str, application: str) -> None:
        with self._connect() as conn:
            conn.execute(f"DELETE FROM {FAILURES} WHERE worker = %s AND application = %s",
                         (worker, application))

    def failures(self) -> dict[tuple[str, str], Failure]:
        with self._connect() as conn:
            rows = conn.execute(f"SELECT * FROM {FAILURES}").fetchall()
        return {(r["worker"], r["application"]): Failure(**r) for r in map(dict, rows)}

    def skips(self) -> list[Skip]:
        """Every skip, oldest first."""
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT worker, application, position, reason, actor, error, skipped_at "
                f"FROM {SKIPS} ORDER BY id").fetchall()
        return [Skip(**r) for r in map(dict, rows)]

    @staticmethod
    def record_skip(curs: Any, skip: Skip) -> None:
        """Within the transaction that moves the projection past the event, so that the
        skip and its record happen together or not at all; the failure is resolved."""
        curs.execute(
            f"INSERT INTO {SKIPS} (worker, application, position, reason, actor, error, "
            "skipped_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (skip.worker, skip.application, skip.position, skip.reason, skip.actor,
             skip.error, skip.skipped_at))
        curs.execute(f"DELETE FROM {FAILURES} WHERE worker = %s AND application = %s",
                     (skip.worker, skip.application))


def _value(row: Any, column: str) -> Any:
    return row[column] if isinstance(row, dict) else row[0]
