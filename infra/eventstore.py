"""Turns Settings into the eventsourcing `env` mapping (PostgreSQL persistence)."""

import psycopg.conninfo

from arqium.infra.settings import Settings

GROUP_COMMIT_RECORDER = "arqium.infra.group_commit:GroupCommitRecorder"
# A worker thread uses one connection at a time: its pools stay small, so that
# several API processes and the workers fit in the server's max_connections.
WORKER_POOL_SIZE = 2


def connection_params(database_url: str) -> dict[str, str]:
    """host, port, dbname, user, password of a postgresql:// URL (socket dirs work)."""
    params = psycopg.conninfo.conninfo_to_dict(database_url)
    return {
        "host": str(params.get("host") or "localhost"),
        "port": str(params.get("port") or "5432"),
        "dbname": str(params.get("dbname") or "postgres"),
        "user": str(params.get("user") or "postgres"),
        "password": str(params.get("password") or ""),
    }


def eventsourcing_env(settings: Settings, create_tables: bool = False,
                      pool_size: int | None = None) -> dict[str, str]:
    """Tables are created by `arqium migrate` only: concurrent DDL from several
    processes starting at once conflicts in PostgreSQL. Each pool opens `pool_size`
    connections (default ARQIUM_DB_POOL_SIZE) and up to 10 more under load."""
    params = connection_params(settings.database_url or "")
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": params["dbname"],
        "POSTGRES_HOST": params["host"],
        "POSTGRES_PORT": params["port"],
        "POSTGRES_USER": params["user"],
        "POSTGRES_PASSWORD": params["password"],
        "POSTGRES_POOL_SIZE": str(pool_size or settings.db_pool_size),
        "POSTGRES_MAX_OVERFLOW": "10",
        # Generous: concurrent commands queue behind the event table lock.
        "POSTGRES_LOCK_TIMEOUT": "10",
        "CREATE_TABLE": "yes" if create_tables else "no",
    }
    if settings.group_commit:
        env["APPLICATION_RECORDER_TOPIC"] = GROUP_COMMIT_RECORDER
    return env
