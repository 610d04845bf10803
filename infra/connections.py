"""Telling "the server has no connection slot left", "the database is out of reach"
and the other database failures apart."""

import psycopg
from psycopg_pool import PoolTimeout

# PostgreSQL refuses a connection beyond max_connections, or beyond a database's or a
# role's CONNECTION LIMIT, with SQLSTATE 53300 (too_many_connections). libpq reports a
# refused connection without its SQLSTATE, so the server's messages are matched.
NO_SLOT_MESSAGES = ("too many clients already", "too many connections for",
                    "remaining connection slots are reserved")
OUTAGE_PROBE_TIMEOUT_SECONDS = 2
# For the connections a process keeps open on its own (advisory locks, LISTEN): an
# unreachable server fails their connect within 2 s, and a server gone silent (a
# network partition: no reset ever comes) is noticed within about 10 s.
DEDICATED_CONNECTION = {"connect_timeout": 2, "keepalives": 1, "keepalives_idle": 5,
                        "keepalives_interval": 2, "keepalives_count": 2}
# SQLSTATEs of a connection the server ended or refused: connection exceptions (08...),
# admin/crash shutdown, cannot connect now, too many connections.
CONNECTION_LOST_STATES = ("57P01", "57P02", "57P03", "53300")
# The server ending a session it found idle (idle_in_transaction_session_timeout,
# idle_session_timeout): psycopg raises these as InternalError, not OperationalError.
ENDED_IDLE_STATES = ("25P03", "57P05")
READ_ONLY_STATE = "25006"  # read_only_sql_transaction


def no_slot_left(message: str) -> str | None:
    """The server's refusal in a connection error's message, when it is one for lack of
    slots."""
    if any(text in message for text in NO_SLOT_MESSAGES):
        return message.rpartition("FATAL:")[2].strip()
    return None


def database_problem(database_url: str) -> str | None:
    """Why a new connection to the database fails right now (None: it does not). A
    cheap probe: it decides when workers waiting out an outage start again."""
    try:
        psycopg.connect(database_url, connect_timeout=OUTAGE_PROBE_TIMEOUT_SECONDS).close()
    except psycopg.OperationalError as error:
        return str(error).strip() or type(error).__name__
    return None


def connection_lost(error: BaseException) -> bool:
    """Whether `error` comes from a connection to the database that was lost, refused or
    not to be had (an outage, a restart, a pool waiting in vain), rather than from what
    was asked of the database."""
    for cause in _chain(error):
        if isinstance(cause, PoolTimeout | psycopg.InterfaceError):
            return True
        state = getattr(cause, "sqlstate", None)
        if isinstance(cause, psycopg.Error) and state in ENDED_IDLE_STATES:
            return True
        if isinstance(cause, psycopg.OperationalError):
            if state is None or state.startswith("08") or state in CONNECTION_LOST_STATES:
                return True
    return False


def database_read_only(error: BaseException) -> bool:
    """Whether `error` is the database refusing a write because it is read-only for now
    (a standby, or default_transaction_read_only): no fault of what was written."""
    return any(getattr(cause, "sqlstate", None) == READ_ONLY_STATE for cause in _chain(error))


def _chain(error: BaseException | None) -> list[BaseException]:
    """The error and its causes (the library re-raises psycopg's errors as its own)."""
    chain: list[BaseException] = []
    while error is not None and error not in chain:
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain
