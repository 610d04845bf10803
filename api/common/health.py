"""Dependency checks behind every face's health endpoint."""

import socket
import time
from urllib.parse import urlparse

from arqium.system.bootstrap import System
from arqium.system.status import worker_positions

VERSION = "0.1.0"


def check_postgres(system: System) -> dict:
    started = time.perf_counter()
    try:
        with system.memory.recorder.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT 1")
    except Exception as error:  # a health check reports failures, it does not raise them
        return {"status": "down", "error": str(error)}
    return {"status": "up", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def check_nats(nats_url: str | None) -> dict:
    """Connects and reads the server's INFO line: the server is really there."""
    if not nats_url:
        return {"status": "down", "error": "ARQIUM_NATS_URL is not set"}
    address = urlparse(nats_url.split(",")[0])
    try:
        with socket.create_connection((address.hostname, address.port or 4222), 1.0) as s:
            s.settimeout(1.0)
            if not s.recv(4096).startswith(b"INFO"):
                return {"status": "down", "error": "not a NATS server"}
    except OSError as error:
        return {"status": "down", "error": str(error)}
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


def health_report(system: System) -> dict:
    checks = {"postgres": check_postgres(system), "nats": check_nats(system.settings.nats_url)}
    if checks["postgres"]["status"] == "up":
        for row in worker_positions(system):
            checks[f"{row['worker']}:{row['application']}"] = worker_check(row)
    healthy = all(c["status"] == "up" for c in checks.values())
    return {"status": "healthy" if healthy else "degraded", "version": VERSION,
            "checks": checks}
