"""Telling "the server has no connection slot left" from other database failures."""

import psycopg

# PostgreSQL refuses a connection beyond max_connections, or beyond a database's or a
# role's CONNECTION LIMIT, with SQLSTATE 53300 (too_many_connections). libpq reports a
# refused connection without its SQLSTATE, so the server's messages are matched.
NO_SLOT_MESSAGES = ("too many clients already", "too many connections for",
                    "remaining connection slots are reserved")
PROBE_TIMEOUT_SECONDS = 5


def _no_slot_left(error: BaseException) -> str | None:
    """The server's refusal, when `error` or what caused it is one for lack of slots."""
    for cause in _chain(error):
        message = str(cause)
        if any(text in message for text in NO_SLOT_MESSAGES):
            return message.rpartition("FATAL:")[2].strip()
    return None


def refusal_behind(error: BaseException, database_url: str) -> str | None:
    """The server's refusal for lack of slots, when that is what `error` comes from.
    A lost connection or a pool's timeout (PoolTimeout is an OperationalError) does not
    say why it failed: the server is then asked, with one connection attempt."""
    if refusal := _no_slot_left(error):
        return refusal
    if not any(isinstance(cause, psycopg.OperationalError) for cause in _chain(error)):
        return None
    try:
        psycopg.connect(database_url, connect_timeout=PROBE_TIMEOUT_SECONDS).close()
    except psycopg.OperationalError as probe_error:
        return _no_slot_left(probe_error)
    return None


def _chain(error: BaseException | None) -> list[BaseException]:
    """The error and its causes (the library re-raises psycopg's errors as its own)."""
    chain: list[BaseException] = []
    while error is not None and error not in chain:
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain
