"""Each worker's position in its application's log, how far behind it is, whether it is
failing (and on what) and which events an operator had it skip."""

from dataclasses import asdict
from typing import Any

from psycopg.sql import SQL, Identifier

from arqium.infra.locks import REBUILDING, active_worker_ids, lock_id, worker_lock_name
from arqium.infra.worker_failures import Failure, Skip
from arqium.projections.base import SHADOW_SUFFIX, TRACKING_SUFFIX
from arqium.projections.catalog import PROJECTIONS
from arqium.system.bootstrap import APPLICATIONS, RELAY_NAME, System


def worker_positions(system: System) -> list[dict]:
    """One row per projection and relay, then one per other worker that is failing."""
    heads = {app.name: app.recorder.max_notification_id() or 0
             for app in system.applications()}
    with system.memory.recorder.datastore.transaction(commit=False) as curs:
        active = active_worker_ids(curs)
    failures = system.worker_failures.failures()
    skips = system.worker_failures.skips()
    rows = []
    for projection in PROJECTIONS:
        app_name = projection.application.name
        position = system.views[projection.name].position(app_name)
        rows.append(_row(projection.name, app_name, position, heads[app_name], active))
    for application in APPLICATIONS:
        position = system.relay_tracking.max_tracking_id(application.name) or 0
        rows.append(_row(RELAY_NAME, application.name, position, heads[application.name],
                         active))
    listed = {(row["worker"], row["application"]) for row in rows}
    rows += [{"worker": worker, "application": app_name, "running": True,
              "position": None, "head": heads.get(app_name), "lag": None}
             for worker, app_name in failures if (worker, app_name) not in listed]
    return [_with_failure_and_skips(row, failures, skips) for row in rows]


def _row(worker: str, application: str, position: int, head: int, active: set[int]) -> dict:
    running = lock_id(worker_lock_name(worker, application)) in active
    return {"worker": worker, "application": application, "running": running,
            "position": position, "head": head, "lag": max(head - position, 0)}


def _with_failure_and_skips(row: dict, failures: dict[tuple[str, str], Failure],
                            skips: list[Skip]) -> dict:
    """`state`: failed (with `failure`: the event it is stuck on, the error, attempts
    and times), running or stopped; `skipped`: the events an operator had it skip."""
    key = (row["worker"], row["application"])
    failure = failures.get(key)
    state = "failed" if failure else "running" if row["running"] else "stopped"
    return {**row, "state": state,
            "failure": _plain(asdict(failure), "worker", "application") if failure else None,
            "skipped": [_plain(asdict(skip), "worker", "application") for skip in skips
                        if (skip.worker, skip.application) == key]}


def _plain(fields: dict, *leave_out: str) -> dict:
    """JSON-ready: times as ISO 8601 text, without the fields the row already has."""
    return {name: value.isoformat() if hasattr(value, "isoformat") else value
            for name, value in fields.items() if name not in leave_out}


def projection_positions(system: System) -> list[dict]:
    """For each projection: its position, its application's head, whether it is failing
    and, while `arqium projections rebuild` replays it, the rebuild's position (else
    None). One query per application and per projection, one for the locks."""
    heads = {app.name: app.recorder.max_notification_id() or 0
             for app in system.applications()}
    failures = system.worker_failures.failures()
    datastore = system.memory.recorder.datastore
    schema = datastore.schema
    with datastore.transaction(commit=False) as curs:
        rebuilding = active_worker_ids(curs, REBUILDING)
        rows = []
        for projection in PROJECTIONS:
            app_name = projection.application.name
            lock = lock_id(worker_lock_name(projection.name, app_name))
            rows.append({
                "projection": projection.name, "application": app_name,
                "module": getattr(projection, "module", None),
                "position": system.views[projection.name].position(app_name),
                "head": heads[app_name], "failing": (projection.name, app_name) in failures,
                "rebuild_position": (
                    _shadow_position(curs, schema, projection.name, app_name)
                    if lock in rebuilding else None)})
    return rows


def _shadow_position(curs: Any, schema: str, name: str, application: str) -> int:
    """How far the rebuild's shadow read model got (0 before it made its tables)."""
    table = f"{name}{SHADOW_SUFFIX}{TRACKING_SUFFIX}"
    curs.execute("SELECT to_regclass(%s) AS found",
                 (f'"{schema}"."{table}"' if schema else f'"{table}"',))
    if curs.fetchone()["found"] is None:
        return 0
    curs.execute(SQL("SELECT max(notification_id) AS position FROM {0} "
                     "WHERE application_name = %s").format(Identifier(schema, table)
                                                           if schema else Identifier(table)),
                 (application,))
    return curs.fetchone()["position"] or 0
