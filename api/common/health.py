"""Dependency checks behind every face's health endpoint: each answers within a second,
whatever its dependencies do."""

import socket
from urllib.parse import urlparse

from arqium.system.bootstrap import System
from arqium.system.status import worker_positions

VERSION = "0.1.0"
# How long each check may wait (PostgreSQL: for a connection, then for the answer;
# NATS: to connect, then for its INFO line): health answers within a second, a database
# or NATS that is gone or hangs included.
POSTGRES_WAIT_SECONDS = 0.3
NATS_WAIT_SECONDS = 0.15


def first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def check_postgres(system: System) -> dict:
    try:
        seconds = system.pool.ping(POSTGRES_WAIT_SECONDS)
    except Exception as error:  # a health check reports failures, it does not raise them
        return {"status": "down", "error": first_line(error)}
    return {"status": "up", "latency_ms": round(seconds * 1000, 2)}


def check_nats(nats_url: str | None) -> dict:
    """Connects and reads the server's INFO line: the server is really there."""
    if not nats_url:
        return {"status": "down", "error": "ARQIUM_NATS_URL is not set"}
    address = urlparse(nats_url.split(",")[0])
    try:
        with socket.create_connection((address.hostname, address.port or 4222),
                                      NATS_WAIT_SECONDS) as s:
            s.settimeout(NATS_WAIT_SECONDS)
            if not s.recv(4096).startswith(b"INFO"):
                return {"status": "down", "error": "not a NATS server"}
    except OSError as error:
        return {"status": "down", "error": str(error) or type(error).__name__}
    return {"status": "up"}


def worker_check(row: dict) -> dict:
    """up, down (not running) or failed (with the event it is stuck on and the error);
    the events an operator had it skip, if any."""
    status = {"running": "up", "stopped": "down"}.get(row["state"], row["state"])
    check = {"status": status, "position": row["position"], "lag": row["lag"]}
    if row["failure"]:
        check["failure"] = row["failure"]
    if row["skipped"]:
        check["skipped"] = row["skipped"]
    return check


def check_workers(system: System) -> dict[str, dict]:
    try:
        rows = worker_positions(system)
    except Exception:  # the database went away since its check: that check says so
        return {}
    return {f"{row['worker']}:{row['application']}": worker_check(row) for row in rows}


def health_report(system: System) -> dict:
    """`unhealthy` without PostgreSQL (nothing can be read or written), `degraded` when
    another component is down (NATS, a worker), else `healthy`."""
    checks = {"postgres": check_postgres(system), "nats": check_nats(system.settings.nats_url)}
    if checks["postgres"]["status"] == "up":
        checks |= check_workers(system)
    if checks["postgres"]["status"] != "up":
        status = "unhealthy"
    elif all(check["status"] == "up" for check in checks.values()):
        status = "healthy"
    else:
        status = "degraded"
    return {"status": status, "version": VERSION, "checks": checks}
